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
    ///
    /// One forward pass over the value. An element of the canonical shape
    /// `v1=<64 hex digits>` followed by `,` or the end is taken without searching for
    /// its end (hex digits contain no `,`, space or tab, so the general rule would
    /// read the same digest); anything else goes through the general element rule.
    #[inline]
    pub fn parse(value: &'a [u8]) -> Result<Self, SignatureHeaderError> {
        if value.len() > MAX_HEADER_LEN {
            return Err(SignatureHeaderError::TooLarge);
        }
        if value.iter().all(|&b| b == b' ' || b == b'\t') {
            return Err(SignatureHeaderError::Empty);
        }
        // Built in place: unused digest slots stay zero (so `Eq` is by content).
        let mut out = Self {
            timestamp: 0,
            timestamp_text: &[],
            digests: [[0u8; DIGEST_LEN]; MAX_SIGNATURES],
            valid: 0,
            entries: 0,
        };
        let mut seen_timestamp = false;
        let mut rest = value;
        loop {
            let lead = trim_start(rest);
            if let Some(after) = lead.strip_prefix(b"v1=")
                && let Some((hex, tail)) = after.split_first_chunk::<HEX_LEN>()
                && let (true, tail) = match tail.split_first() {
                    None => (true, None),
                    Some((&b',', next)) => (true, Some(next)),
                    Some(_) => (false, None),
                }
                && let Some(digest) = decode_hex_32(hex)
            {
                out.push_v1(Some(digest))?;
                match tail {
                    Some(next) => {
                        rest = next;
                        continue;
                    }
                    None => break,
                }
            }
            let (element, next) = match rest.iter().position(|&b| b == b',') {
                Some(comma) => match rest.split_at_checked(comma) {
                    Some((element, tail)) => (element, tail.get(1..)),
                    None => (rest, None),
                },
                None => (rest, None),
            };
            let element = trim(element);
            let Some(eq) = element.iter().position(|&b| b == b'=') else {
                return Err(SignatureHeaderError::ElementWithoutEquals);
            };
            let (key, val) = match element.split_at_checked(eq) {
                Some((key, rest)) => (key, rest.get(1..).unwrap_or_default()),
                None => (element, &[][..]),
            };
            match key {
                b"t" => {
                    if seen_timestamp {
                        return Err(SignatureHeaderError::DuplicateTimestamp);
                    }
                    seen_timestamp = true;
                    out.timestamp = parse_timestamp(val)?;
                    out.timestamp_text = val;
                }
                b"v1" => out.push_v1(decode_hex_32(val))?,
                _ => {}
            }
            match next {
                Some(next) => rest = next,
                None => break,
            }
        }
        if !seen_timestamp {
            return Err(SignatureHeaderError::MissingTimestamp);
        }
        if out.entries == 0 {
            return Err(SignatureHeaderError::MissingSignature);
        }
        Ok(out)
    }

    /// Counts one `v1` entry, keeping its digest when it is well-formed.
    #[inline]
    fn push_v1(&mut self, digest: Option<[u8; DIGEST_LEN]>) -> Result<(), SignatureHeaderError> {
        if self.entries >= MAX_SIGNATURES {
            return Err(SignatureHeaderError::TooManySignatures);
        }
        self.entries = self.entries.wrapping_add(1);
        if let Some(digest) = digest
            && let Some(slot) = self.digests.get_mut(self.valid)
        {
            *slot = digest;
            self.valid = self.valid.wrapping_add(1);
        }
        Ok(())
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

/// Hex digits in a well-formed `v1` value.
const HEX_LEN: usize = DIGEST_LEN * 2;

#[inline]
fn trim_start(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    s
}

fn trim(s: &[u8]) -> &[u8] {
    let mut s = trim_start(s);
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
    fn canonical_fast_path_agrees_with_the_general_rule() {
        // Near-canonical `v1` elements: the fast path must hand each of these to the
        // general rule (or read them exactly as it would).
        let d = |s: &str| parse(s).map(|h| (h.signature_count(), h.digests().len()));
        assert_eq!(d(&format!("t=1,v1={SIG}")), Ok((1, 1)));
        assert_eq!(d(&format!("t=1, v1={SIG} ,v1={SIG}\t")), Ok((2, 2)));
        assert_eq!(d(&format!("t=1,v1={SIG}0")), Ok((1, 0)));
        assert_eq!(d(&format!("t=1,v1={SIG} x")), Ok((1, 0)));
        assert_eq!(d(&format!("t=1,v1={SIG}=")), Ok((1, 0)));
        assert_eq!(d(&format!("t=1,v1={}", &SIG[1..])), Ok((1, 0)));
        assert_eq!(d(&format!("t=1,v1={}g", &SIG[1..])), Ok((1, 0)));
        assert_eq!(d(&format!("v1={SIG},t=1")), Ok((1, 1)));
        assert_eq!(
            d(&format!("t=1,v1={SIG},")),
            Err(SignatureHeaderError::ElementWithoutEquals)
        );
        assert_eq!(
            d(&format!("v1={SIG}")),
            Err(SignatureHeaderError::MissingTimestamp)
        );
        assert_eq!(
            d(&format!("t=1{}", format!(",v1={SIG}").repeat(17))),
            Err(SignatureHeaderError::TooManySignatures)
        );
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
