//! The `X-Nexio-Signature` tokenizer (CONTRACT §3): zero allocation, digests decoded
//! into fixed `[u8; 32]` arrays, bounds enforced before any hashing.

use core::fmt;

use crate::mac::{DIGEST_LEN, decode_hex_32};

/// The longest `X-Nexio-Signature` value accepted, in bytes.
pub const MAX_HEADER_LEN: usize = 4096;

/// The most `v1` entries accepted in one header.
pub const MAX_SIGNATURES: usize = 16;

/// A parsed `X-Nexio-Signature: t=<unix>,v1=<hex>[,v1=…]` value.
///
/// Grammar (the crate's decision where Nexio's docs are silent):
/// - elements are separated by `,`; ASCII spaces and tabs around an element are ignored;
/// - each element is `key=value`; an element without `=` (an empty one included) makes
///   the header malformed;
/// - exactly one `t`, at least one `v1`; other keys (`v0`, a future `v2`) are ignored;
/// - `t` is 1–19 ASCII digits that fit in `i64` (no sign, space or exponent);
/// - a `v1` that is not exactly 64 hex digits (either case) is kept as a non-match:
///   it can never match, and it cannot mask a valid entry;
/// - more than 4096 bytes, or more than 16 `v1` entries, is refused before any
///   hashing.
///
/// Parsing borrows the header and allocates nothing; the value lives on the stack.
///
/// ```
/// use nexio_webhooks::SignatureHeader;
///
/// let header = SignatureHeader::parse(b"t=1774180800,v1=3681e63d3330eadf2ef7bc7d443ab1ce01bcddeaec56b110db5d4f80c95fa4b4")?;
/// assert_eq!(header.timestamp(), 1774180800);
/// assert_eq!(header.signature_count(), 1);
/// # Ok::<(), nexio_webhooks::SignatureHeaderError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SignatureHeader<'a> {
    timestamp: i64,
    timestamp_text: &'a [u8],
    digests: [[u8; DIGEST_LEN]; MAX_SIGNATURES],
    /// How many of `digests` are filled with well-formed `v1` values.
    valid: usize,
    /// How many `v1` entries the header carried (well-formed or not).
    entries: usize,
}

impl<'a> SignatureHeader<'a> {
    /// Tokenizes a header value. See the type's documentation for the grammar.
    pub fn parse(value: &'a [u8]) -> Result<Self, SignatureHeaderError> {
        if value.len() > MAX_HEADER_LEN {
            return Err(SignatureHeaderError::TooLarge);
        }
        if value.iter().all(|&b| b == b' ' || b == b'\t') {
            return Err(SignatureHeaderError::Empty);
        }
        let mut timestamp: Option<(i64, &'a [u8])> = None;
        let mut digests = [[0u8; DIGEST_LEN]; MAX_SIGNATURES];
        let mut valid = 0usize;
        let mut entries = 0usize;
        for element in value.split(|&b| b == b',') {
            let element = trim(element);
            let Some(eq) = element.iter().position(|&b| b == b'=') else {
                return Err(SignatureHeaderError::ElementWithoutEquals);
            };
            let (key, rest) = element.split_at(eq);
            let val = rest.get(1..).unwrap_or_default();
            match key {
                b"t" => {
                    if timestamp.is_some() {
                        return Err(SignatureHeaderError::DuplicateTimestamp);
                    }
                    timestamp = Some((parse_timestamp(val)?, val));
                }
                b"v1" => {
                    if entries >= MAX_SIGNATURES {
                        return Err(SignatureHeaderError::TooManySignatures);
                    }
                    entries = entries.wrapping_add(1);
                    if let Some(digest) = decode_hex_32(val)
                        && let Some(slot) = digests.get_mut(valid)
                    {
                        *slot = digest;
                        valid = valid.wrapping_add(1);
                    }
                }
                _ => {}
            }
        }
        let Some((timestamp, timestamp_text)) = timestamp else {
            return Err(SignatureHeaderError::MissingTimestamp);
        };
        if entries == 0 {
            return Err(SignatureHeaderError::MissingSignature);
        }
        Ok(Self {
            timestamp,
            timestamp_text,
            digests,
            valid,
            entries,
        })
    }

    /// The signed Unix timestamp from `t=`.
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// The `t=` digits exactly as they were signed.
    pub fn timestamp_text(&self) -> &'a [u8] {
        self.timestamp_text
    }

    /// How many `v1` entries the header carried, well-formed or not.
    pub fn signature_count(&self) -> usize {
        self.entries
    }

    /// The well-formed `v1` digests (64 hex digits each), in header order.
    pub fn digests(&self) -> &[[u8; DIGEST_LEN]] {
        self.digests.get(..self.valid).unwrap_or_default()
    }
}

impl fmt::Debug for SignatureHeader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The digests are not secret (they arrived on the wire) but are noise in logs.
        f.debug_struct("SignatureHeader")
            .field("timestamp", &self.timestamp)
            .field("signatures", &self.entries)
            .field("well_formed", &self.valid)
            .finish()
    }
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// 1–19 ASCII digits that fit in `i64`.
fn parse_timestamp(digits: &[u8]) -> Result<i64, SignatureHeaderError> {
    if digits.is_empty() || digits.len() > 19 {
        return Err(SignatureHeaderError::InvalidTimestamp);
    }
    let mut value: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return Err(SignatureHeaderError::InvalidTimestamp);
        }
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(c.wrapping_sub(b'0'))))
            .ok_or(SignatureHeaderError::InvalidTimestamp)?;
    }
    Ok(value)
}

/// Why an `X-Nexio-Signature` value could not be tokenized.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureHeaderError {
    /// The value is empty (or only spaces and tabs).
    Empty,
    /// The value is longer than 4096 bytes.
    TooLarge,
    /// An element has no `=` (an empty element between commas included).
    ElementWithoutEquals,
    /// There is no `t=` element.
    MissingTimestamp,
    /// There is more than one `t=` element.
    DuplicateTimestamp,
    /// `t=` is not 1–19 ASCII digits fitting in `i64`.
    InvalidTimestamp,
    /// There is no `v1=` element.
    MissingSignature,
    /// There are more than 16 `v1=` elements.
    TooManySignatures,
}

impl fmt::Display for SignatureHeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "signature header is empty",
            Self::TooLarge => "signature header is longer than 4096 bytes",
            Self::ElementWithoutEquals => "signature header has an element without `=`",
            Self::MissingTimestamp => "signature header has no `t=` element",
            Self::DuplicateTimestamp => "signature header has more than one `t=` element",
            Self::InvalidTimestamp => {
                "signature header `t=` is not 1 to 19 digits fitting a signed 64-bit integer"
            }
            Self::MissingSignature => "signature header has no `v1=` element",
            Self::TooManySignatures => "signature header has more than 16 `v1=` elements",
        })
    }
}

impl std::error::Error for SignatureHeaderError {}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: &str = "3681e63d3330eadf2ef7bc7d443ab1ce01bcddeaec56b110db5d4f80c95fa4b4";

    fn parse(s: &str) -> Result<SignatureHeader<'_>, SignatureHeaderError> {
        SignatureHeader::parse(s.as_bytes())
    }

    #[test]
    fn grammar_accepts() {
        let s = format!("t=1774180800,v1={SIG}");
        let h = parse(&s).unwrap();
        assert_eq!(h.timestamp(), 1774180800);
        assert_eq!(h.timestamp_text(), b"1774180800");
        assert_eq!(h.digests().len(), 1);
        let s = format!(" \tt=1774180800 ,\tv1={SIG} , v2=zz,v0=1");
        let h = parse(&s).unwrap();
        assert_eq!(h.digests().len(), 1);
        let s = format!("v1={SIG},t=0");
        let h = parse(&s).unwrap();
        assert_eq!(h.timestamp(), 0);
        let h = parse("t=9223372036854775807,v1=").unwrap();
        assert_eq!(h.timestamp(), i64::MAX);
        assert_eq!(h.signature_count(), 1);
        assert!(h.digests().is_empty());
        let s = format!("t=1,v1=abc,v1={},v1={SIG}", SIG.to_uppercase());
        let h = parse(&s).unwrap();
        assert_eq!(h.signature_count(), 3);
        assert_eq!(h.digests().len(), 2);
        assert_eq!(h.digests()[0], h.digests()[1]);
        // Leading zeros are digits like any other.
        assert_eq!(parse("t=0001,v1=x").unwrap().timestamp(), 1);
    }

    #[test]
    fn grammar_refuses() {
        use SignatureHeaderError as E;
        let cases: Vec<(String, E)> = vec![
            ("".into(), E::Empty),
            ("  \t ".into(), E::Empty),
            (format!("t=1,v1={SIG},"), E::ElementWithoutEquals),
            (format!("t=1,,v1={SIG}"), E::ElementWithoutEquals),
            (format!("t=1,v1={SIG},garbage"), E::ElementWithoutEquals),
            (format!("v1={SIG}"), E::MissingTimestamp),
            (format!("T=1,v1={SIG}"), E::MissingTimestamp),
            (format!("t=1,t=1,v1={SIG}"), E::DuplicateTimestamp),
            (format!("t=+1,v1={SIG}"), E::InvalidTimestamp),
            (format!("t=-1,v1={SIG}"), E::InvalidTimestamp),
            (format!("t=,v1={SIG}"), E::InvalidTimestamp),
            (format!("t= 1,v1={SIG}"), E::InvalidTimestamp),
            (format!("t=1e9,v1={SIG}"), E::InvalidTimestamp),
            (format!("t=1.5,v1={SIG}"), E::InvalidTimestamp),
            (
                format!("t=9223372036854775808,v1={SIG}"),
                E::InvalidTimestamp,
            ),
            (
                format!("t=00000000000000000001,v1={SIG}"),
                E::InvalidTimestamp,
            ),
            (
                format!("t=99999999999999999999,v1={SIG}"),
                E::InvalidTimestamp,
            ),
            ("t=1,v0=abc".into(), E::MissingSignature),
            ("t=1".into(), E::MissingSignature),
            (format!("t=1{}", ",v1=x".repeat(17)), E::TooManySignatures),
            (format!("t=1,v1={SIG},x={}", "a".repeat(4096)), E::TooLarge),
        ];
        for (input, want) in cases {
            assert_eq!(parse(&input).err(), Some(want), "{input:?}");
        }
    }

    #[test]
    fn bounds_at_the_limit() {
        let sixteen = format!("t=1{}", format!(",v1={SIG}").repeat(16));
        assert_eq!(parse(&sixteen).unwrap().digests().len(), 16);
        let base = format!("t=1,v1={SIG},x=");
        let exact = format!("{base}{}", "a".repeat(MAX_HEADER_LEN - base.len()));
        assert_eq!(exact.len(), MAX_HEADER_LEN);
        assert!(parse(&exact).is_ok());
        let over = format!("{exact}a");
        assert_eq!(parse(&over).err(), Some(SignatureHeaderError::TooLarge));
    }

    #[test]
    fn non_ascii_bytes_do_not_panic() {
        assert!(SignatureHeader::parse(b"t=1,v1=\xff\xfe,\xc3=\x80").is_ok());
        assert_eq!(
            SignatureHeader::parse(b"t=\xd9\xa1,v1=x").err(),
            Some(SignatureHeaderError::InvalidTimestamp)
        );
    }
}
