//! The `X-Nexio-Signature` tokenizer (`docs/verification.md`, *The signature header*):
//! zero allocation, bounds enforced before any hashing; each `v1` is decoded into a
//! fixed `[u8; 32]` when it is compared.

#[allow(unused_imports)]
use crate::prelude::*;

use core::fmt;

use crate::mac::{DIGEST_LEN, decode_hex_32};

/// The longest `X-Nexio-Signature` value accepted, in bytes.
pub const MAX_HEADER_LEN: usize = 4096;

/// The most `v1` entries accepted in one header.
pub const MAX_SIGNATURES: usize = 16;

/// Hex digits in a well-formed `v1` value.
const HEX_LEN: usize = DIGEST_LEN * 2;

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
/// Parsing borrows the header and allocates nothing; the value lives on the stack
/// (about 90 bytes). It keeps each 64-character `v1` value as borrowed text and
/// decodes it into a `[u8; 32]` only when it is compared ([`SignatureHeader::digests`]):
/// a header is usually parsed once and its digests read once, so deciding hex validity
/// there costs nothing extra and keeps the parsed value small.
///
/// ```
/// use nexio_webhooks::SignatureHeader;
///
/// let header = SignatureHeader::parse(b"t=1774180800,v1=3681e63d3330eadf2ef7bc7d443ab1ce01bcddeaec56b110db5d4f80c95fa4b4")?;
/// assert_eq!(header.timestamp(), 1774180800);
/// assert_eq!(header.signature_count(), 1);
/// assert_eq!(header.digests().count(), 1);
/// # Ok::<(), nexio_webhooks::SignatureHeaderError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SignatureHeader<'a> {
    timestamp: i64,
    timestamp_text: &'a [u8],
    /// The `v1` values that are exactly 64 bytes long, in header order; whether they
    /// are hex is decided when they are decoded.
    /// The header value, which `candidates` index into.
    value: &'a [u8],
    /// Where each such value starts in `value` (the header is at most 4096 bytes);
    /// offsets keep this struct small enough to move without a `memcpy` call.
    candidates: [u16; MAX_SIGNATURES],
    /// How many of `candidates` are filled.
    filled: u8,
    /// How many `v1` entries the header carried (well-formed or not).
    entries: u8,
}

/// The usual header's content, read by [`SignatureHeader::parse_single`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SingleSignature<'a> {
    pub(crate) timestamp: i64,
    pub(crate) timestamp_text: &'a [u8],
    pub(crate) v1: &'a [u8; HEX_LEN],
}

impl<'a> SignatureHeader<'a> {
    /// Tokenizes a header value. See the type's documentation for the grammar.
    ///
    /// The shape Nexio sends, `t=<digits>,v1=<64 characters>[,v1=…]` with no spaces,
    /// is read in one forward pass without searching for element ends; anything else
    /// (spaces, other keys, another order, any error) goes through the general rule,
    /// which gives the same result for the canonical shape.
    #[inline]
    pub fn parse(value: &'a [u8]) -> Result<Self, SignatureHeaderError> {
        if value.len() > MAX_HEADER_LEN {
            return Err(SignatureHeaderError::TooLarge);
        }
        match Self::parse_canonical(value) {
            Some(header) => Ok(header),
            None => Self::parse_general(value),
        }
    }

    fn empty(value: &'a [u8]) -> Self {
        Self {
            timestamp: 0,
            timestamp_text: &[],
            value,
            candidates: [0; MAX_SIGNATURES],
            filled: 0,
            entries: 0,
        }
    }

    /// `t=<digits>,v1=<64>[,v1=<64>…]` exactly, or `None` for the general rule to
    /// decide (it also reports every error).
    #[inline]
    fn parse_canonical(value: &'a [u8]) -> Option<Self> {
        let (timestamp, digits, mut rest) = canonical_timestamp(value)?;
        // The fields are kept in locals and the value is built once at the end: a
        // byte-wide increment of a field followed by the value's copy (wide loads over
        // the same bytes) stalls on store forwarding (perf, AMD EPYC: about 10 ns).
        let mut candidates = [0u16; MAX_SIGNATURES];
        let mut count = 0u8;
        loop {
            let (hex, tail) = canonical_v1(rest)?;
            // More than 16 entries: the general rule refuses the header.
            *candidates.get_mut(usize::from(count))? = offset_in(value, hex)?;
            count = count.wrapping_add(1);
            match tail.split_first() {
                None => break,
                Some((&b',', next)) => rest = next,
                Some(_) => return None,
            }
        }
        Some(Self {
            timestamp,
            timestamp_text: digits,
            value,
            candidates,
            filled: count,
            entries: count,
        })
    }

    /// The header Nexio sends, `t=<digits>,v1=<64 characters>` and nothing more, read
    /// without building a [`SignatureHeader`]: the verifier's usual case, whose few
    /// values stay in registers where the 80-byte header would be copied between
    /// frames. `None` for any other value, which [`SignatureHeader::parse`] then reads;
    /// for this one it gives the same timestamp and the same single candidate.
    #[inline(always)]
    pub(crate) fn parse_single(value: &'a [u8]) -> Option<SingleSignature<'a>> {
        if value.len() > MAX_HEADER_LEN {
            return None;
        }
        let (timestamp, timestamp_text, rest) = canonical_timestamp(value)?;
        let (v1, tail) = canonical_v1(rest)?;
        tail.is_empty().then_some(SingleSignature {
            timestamp,
            timestamp_text,
            v1,
        })
    }

    fn parse_general(value: &'a [u8]) -> Result<Self, SignatureHeaderError> {
        if value.iter().all(|&b| b == b' ' || b == b'\t') {
            return Err(SignatureHeaderError::Empty);
        }
        let mut out = Self::empty(value);
        let mut seen_timestamp = false;
        let mut rest = value;
        loop {
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
                b"v1" => out.push_v1(val.try_into().ok())?,
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

    /// Counts one `v1` entry, keeping its value when it is 64 characters long.
    #[inline]
    fn push_v1(&mut self, value: Option<&'a [u8; HEX_LEN]>) -> Result<(), SignatureHeaderError> {
        if usize::from(self.entries) >= MAX_SIGNATURES {
            return Err(SignatureHeaderError::TooManySignatures);
        }
        self.entries = self.entries.wrapping_add(1);
        if let Some(value) = value
            && let Some(slot) = self.candidates.get_mut(usize::from(self.filled))
            // Always within `self.value` and below 4096, so this cannot fail.
            && let Some(offset) = offset_in(self.value, value)
        {
            *slot = offset;
            self.filled = self.filled.wrapping_add(1);
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
        usize::from(self.entries)
    }

    /// The well-formed `v1` digests (64 hex digits, either case), decoded, in header
    /// order; entries that are not well-formed are skipped.
    ///
    /// Each call decodes again (branch-free, about 30 instructions a digest); the
    /// verifier reads them once.
    pub fn digests(&self) -> impl Iterator<Item = [u8; DIGEST_LEN]> + '_ {
        self.candidates
            .get(..usize::from(self.filled))
            .unwrap_or_default()
            .iter()
            .filter_map(|&at| {
                let hex = self
                    .value
                    .get(usize::from(at)..)?
                    .first_chunk::<HEX_LEN>()?;
                decode_hex_32(hex)
            })
    }

    /// The `v1` values that are 64 characters long, undecoded, in header order.
    pub(crate) fn candidates_hex(&self) -> impl Iterator<Item = &'a [u8; HEX_LEN]> + '_ {
        self.candidates
            .get(..usize::from(self.filled))
            .unwrap_or_default()
            .iter()
            .filter_map(|&at| self.value.get(usize::from(at)..)?.first_chunk::<HEX_LEN>())
    }

    /// How many `v1` entries are 64 characters long (digests that could match).
    pub(crate) fn candidate_count(&self) -> usize {
        usize::from(self.filled)
    }
}

impl fmt::Debug for SignatureHeader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The digests are not secret (they arrived on the wire) but are noise in logs.
        f.debug_struct("SignatureHeader")
            .field("timestamp", &self.timestamp)
            .field("signatures", &self.entries)
            .field("well_formed", &self.digests().count())
            .finish()
    }
}

/// Where `part` (a subslice of `value`, at most 4096 bytes long) starts in `value`.
#[inline(always)]
fn offset_in(value: &[u8], part: &[u8]) -> Option<u16> {
    u16::try_from(part.as_ptr().addr().wrapping_sub(value.as_ptr().addr())).ok()
}

/// `t=<1 to 19 digits>,` at the start of a header value: the timestamp, its digits
/// and what follows the comma; `None` otherwise (the general rule decides, and
/// reports the error).
#[inline(always)]
fn canonical_timestamp(value: &[u8]) -> Option<(i64, &[u8], &[u8])> {
    let rest = value.strip_prefix(b"t=")?;
    // The digits, read and summed in one loop; they must end at the comma.
    let mut timestamp: u64 = 0;
    let mut end = 0usize;
    for &b in rest {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            break;
        }
        timestamp = timestamp.wrapping_mul(10).wrapping_add(u64::from(digit));
        end = end.wrapping_add(1);
    }
    // Up to 19 digits nothing wrapped (see `parse_timestamp`); more, or none, is
    // the general rule's to refuse.
    if !(1..=19).contains(&end) {
        return None;
    }
    let (digits, rest) = rest.split_at_checked(end)?;
    let rest = rest.strip_prefix(b",")?;
    Some((i64::try_from(timestamp).ok()?, digits, rest))
}

/// `v1=<64 bytes>` at the start of `rest`, when the general rule would read those 64
/// bytes as the whole value: the value and what follows it.
#[inline(always)]
fn canonical_v1(rest: &[u8]) -> Option<(&[u8; HEX_LEN], &[u8])> {
    let (hex, tail) = rest.strip_prefix(b"v1=")?.split_first_chunk::<HEX_LEN>()?;
    // The general rule would end this element at a comma inside the 64 bytes, and
    // trim a space or tab at their end.
    // (A fold the compiler vectorizes: `contains` calls `memchr`, which cost more
    // than the rest of the reader for 64 bytes.)
    let comma = hex.iter().fold(false, |seen, &b| seen | (b == b','));
    if comma || matches!(hex.last(), Some(b' ' | b'\t')) {
        return None;
    }
    Some((hex, tail))
}

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
    let mut value: u64 = 0;
    let mut invalid = false;
    for &c in digits {
        let digit = c.wrapping_sub(b'0');
        invalid |= digit > 9;
        value = value.wrapping_mul(10).wrapping_add(u64::from(digit));
    }
    // Nineteen digits of at most 9 stay below 10^19 < 2^64: when every byte is a
    // digit, nothing wrapped, and only the sign bit is left to check.
    if invalid {
        return Err(SignatureHeaderError::InvalidTimestamp);
    }
    i64::try_from(value).map_err(|_| SignatureHeaderError::InvalidTimestamp)
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

impl core::error::Error for SignatureHeaderError {}

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
        assert_eq!(h.digests().count(), 1);
        let s = format!(" \tt=1774180800 ,\tv1={SIG} , v2=zz,v0=1");
        let h = parse(&s).unwrap();
        assert_eq!(h.digests().count(), 1);
        let s = format!("v1={SIG},t=0");
        let h = parse(&s).unwrap();
        assert_eq!(h.timestamp(), 0);
        let h = parse("t=9223372036854775807,v1=").unwrap();
        assert_eq!(h.timestamp(), i64::MAX);
        assert_eq!(h.signature_count(), 1);
        assert_eq!(h.digests().count(), 0);
        let s = format!("t=1,v1=abc,v1={},v1={SIG}", SIG.to_uppercase());
        let h = parse(&s).unwrap();
        assert_eq!(h.signature_count(), 3);
        assert_eq!(h.digests().count(), 2);
        let d: Vec<_> = h.digests().collect();
        assert_eq!(d[0], d[1]);
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
        let d = |s: &str| parse(s).map(|h| (h.signature_count(), h.digests().count()));
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
    fn canonical_shape_reads_as_the_general_rule_does() {
        // Every header built from these pieces, two to five of them: wherever the
        // one-pass reader accepts, the general rule gives the same value.
        let pieces = [
            "t=1774180800".to_string(),
            "t=".into(),
            "t=99999999999999999999".into(),
            format!("v1={SIG}"),
            format!("v1={}", SIG.to_uppercase()),
            format!("v1={}", &SIG[1..]),
            format!("v1={SIG}0"),
            format!("v1={}g", &SIG[1..]),
            format!("v1={} ", &SIG[1..]),
            format!("v1= {}", &SIG[1..]),
            format!("v1={}\t", &SIG[1..]),
            "v1=".into(),
            " ".into(),
            "x=1".into(),
            "".into(),
        ];
        let mut checked = 0;
        let mut canonical = 0;
        let mut singles = 0;
        let mut stack = vec![Vec::<usize>::new()];
        while let Some(seq) = stack.pop() {
            if seq.len() >= 2 {
                let header = seq
                    .iter()
                    .map(|&i| pieces[i].as_str())
                    .collect::<Vec<_>>()
                    .join(",");
                let general = SignatureHeader::parse_general(header.as_bytes());
                if let Some(fast) = SignatureHeader::parse_canonical(header.as_bytes()) {
                    assert_eq!(Ok(fast), general, "{header:?}");
                    canonical += 1;
                }
                if let Some(single) = SignatureHeader::parse_single(header.as_bytes()) {
                    let general = general.expect("the single reader accepted it");
                    assert_eq!(single.timestamp, general.timestamp(), "{header:?}");
                    assert_eq!(single.timestamp_text, general.timestamp_text());
                    assert_eq!(general.signature_count(), 1, "{header:?}");
                    assert_eq!(general.candidates_hex().collect::<Vec<_>>(), [single.v1]);
                    singles += 1;
                }
                assert_eq!(parse(&header), general, "{header:?}");
                checked += 1;
            }
            if seq.len() < 5 {
                for i in 0..pieces.len() {
                    let mut next = seq.clone();
                    next.push(i);
                    stack.push(next);
                }
            }
        }
        assert!(
            checked > 200_000 && canonical > 100 && singles > 0,
            "{checked} {canonical} {singles}"
        );
    }

    #[test]
    fn canonical_reader_takes_the_canonical_shape() {
        // Every digit, one to sixteen `v1`, either case: the one-pass reader's.
        for t in ["0", "9", "1234567890", "9223372036854775807"] {
            for n in [1, 2, 16] {
                let header = format!("t={t}{}", format!(",v1={SIG}").repeat(n));
                let fast = SignatureHeader::parse_canonical(header.as_bytes());
                assert_eq!(fast.map(|h| h.digests().count()), Some(n), "{header}");
                // The single reader takes exactly the one-`v1` header.
                let single = SignatureHeader::parse_single(header.as_bytes());
                assert_eq!(single.is_some(), n == 1, "{header}");
            }
        }
        let upper = format!("t=1,v1={}", SIG.to_uppercase());
        assert!(SignatureHeader::parse_canonical(upper.as_bytes()).is_some());
        // Anything else is the general rule's.
        for header in [
            format!("t=1 ,v1={SIG}"),
            format!("v1={SIG},t=1"),
            format!("t=1,v1={SIG},x=1"),
            format!("t=9223372036854775808,v1={SIG}"),
            format!("t=1{}", format!(",v1={SIG}").repeat(17)),
        ] {
            assert!(
                SignatureHeader::parse_canonical(header.as_bytes()).is_none(),
                "{header}"
            );
            assert!(
                SignatureHeader::parse_single(header.as_bytes()).is_none(),
                "{header}"
            );
        }
        // A value over the length bound is the general rule's to refuse.
        let long = format!("t=1,v1={SIG}");
        let padded = format!("{long}{}", " ".repeat(MAX_HEADER_LEN));
        assert!(SignatureHeader::parse_single(padded.as_bytes()).is_none());
    }

    #[test]
    fn bounds_at_the_limit() {
        let sixteen = format!("t=1{}", format!(",v1={SIG}").repeat(16));
        assert_eq!(parse(&sixteen).unwrap().digests().count(), 16);
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
