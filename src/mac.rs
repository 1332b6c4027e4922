//! HMAC-SHA256 over `<t>.<raw body>` with key state prepared once, and the
//! constant-time comparison against every `v1` entry (CONTRACT §2).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq};

use crate::secret::{KeyId, Secret};

/// Length of an HMAC-SHA256 digest.
pub const DIGEST_LEN: usize = 32;

/// A secret's HMAC state with the key already absorbed (ipad/opad blocks hashed), so
/// each request only clones it: building the key per call costs as much as hashing
/// a small body.
#[derive(Clone)]
pub(crate) struct PreparedKey {
    mac: Hmac<Sha256>,
    id: KeyId,
}

impl PreparedKey {
    pub(crate) fn new(secret: &Secret) -> Self {
        // HMAC accepts keys of any length; `new_from_slice` cannot fail for it. The
        // fallback keeps the lint wall (no unwrap) without a reachable panic path.
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.key_bytes())
            .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
        Self {
            mac,
            id: secret.key_id(),
        }
    }

    pub(crate) fn id(&self) -> KeyId {
        self.id
    }

    /// The MAC of `<timestamp>.<body>`, fed in pieces: no concatenated copy.
    pub(crate) fn sign(&self, timestamp: &[u8], body: &[u8]) -> [u8; DIGEST_LEN] {
        let mut mac = self.mac.clone();
        mac.update(timestamp);
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }
}

/// Constant-time equality of two 32-byte values: four 64-bit XORs folded together,
/// turned into a `subtle::Choice` (which hides the value from the optimizer). No
/// data-dependent branch or early exit.
#[inline]
pub(crate) fn ct_eq_32_choice(a: &[u8; DIGEST_LEN], b: &[u8; DIGEST_LEN]) -> Choice {
    let mut acc = 0u64;
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        acc |= u64_of(x) ^ u64_of(y);
    }
    acc.ct_eq(&0)
}

/// [`ct_eq_32_choice`] as a `bool`, for callers that only need the verdict.
pub(crate) fn ct_eq_32(a: &[u8; DIGEST_LEN], b: &[u8; DIGEST_LEN]) -> bool {
    bool::from(ct_eq_32_choice(a, b))
}

#[inline]
fn u64_of(chunk: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(chunk.get(..8).unwrap_or(&[0; 8]));
    u64::from_le_bytes(word)
}

/// Whether `expected` equals any of `candidates`, in time that depends only on how
/// many candidates there are (public), never on where or whether one matches.
pub(crate) fn matches_any(expected: &[u8; DIGEST_LEN], candidates: &[[u8; DIGEST_LEN]]) -> bool {
    let mut found = Choice::from(0);
    for candidate in candidates {
        found |= ct_eq_32_choice(expected, candidate);
    }
    bool::from(found)
}

/// Decodes 64 hex digits (either case) into 32 bytes, or `None`.
///
/// Branch-free per digit: the digest arrives from the network, so its timing is not
/// secret, but a branch-free decoder is also the fastest one for 64 digits (about a
/// fifth of the `hex` crate's cost here).
pub(crate) fn decode_hex_32(hex: &[u8; 64]) -> Option<[u8; DIGEST_LEN]> {
    // Two passes the compiler vectorizes: every digit to its value (a plain map), then
    // each pair of values to a byte through a 16-bit view. Decoding pair by pair in
    // one loop made it gather bytes one at a time (measured: about four times slower
    // when not inlined).
    let mut values = [0u8; 64];
    let mut invalid = 0u8;
    for (value, &c) in values.iter_mut().zip(hex) {
        let (v, bad) = nibble(c);
        *value = v;
        invalid |= bad;
    }
    let mut out = [0u8; DIGEST_LEN];
    for (byte, pair) in out.iter_mut().zip(values.as_chunks::<2>().0) {
        // Little-endian: the first digit (the high nibble) is the low byte.
        let word = u16::from_le_bytes(*pair);
        let [combined, _] = ((word << 4) | (word >> 8)).to_le_bytes();
        *byte = combined;
    }
    (invalid == 0).then_some(out)
}

/// One hex digit: (value, 0) if valid, (_, 1) if not. No branches, no table.
#[inline]
fn nibble(c: u8) -> (u8, u8) {
    let digit = c.wrapping_sub(b'0');
    let letter = (c | 0x20).wrapping_sub(b'a');
    // mask = 0xff when the value is below the bound, else 0x00.
    let is_digit = below(digit, 10);
    let is_letter = below(letter, 6);
    let value = (digit & is_digit) | (letter.wrapping_add(10) & is_letter);
    (value & 0x0f, !(is_digit | is_letter) & 1)
}

/// 0xff if `x < bound`, else 0 (both < 256), without a branch.
#[inline]
fn below(x: u8, bound: u8) -> u8 {
    let diff = u16::from(x).wrapping_sub(u16::from(bound));
    // diff's high byte is 0xff exactly when x < bound.
    diff.to_be_bytes()[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_decoder_agrees_with_hex_crate_on_every_byte_pair() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let mut input = [b'0'; 64];
                input[10] = a;
                input[63] = b;
                let ours = decode_hex_32(&input);
                let theirs = hex::decode(input).ok();
                assert_eq!(ours.map(|o| o.to_vec()), theirs, "{a} {b}");
            }
        }
    }

    #[test]
    fn hex_decoder_refuses_a_pair_with_both_digits_invalid() {
        // Both digits of one pair invalid must not cancel out (mutation testing found
        // that a `^` here would go unnoticed by the single-bad-digit tests).
        for bad in [b"zz", b"g!", b"  ", b"\xff\x00"] {
            for pair in [0, 15, 31] {
                let mut input = [b'0'; 64];
                input[pair * 2] = bad[0];
                input[pair * 2 + 1] = bad[1];
                assert_eq!(decode_hex_32(&input), None, "{bad:?} at pair {pair}");
            }
        }
    }

    #[test]
    fn hex_decoder_both_cases() {
        assert_eq!(decode_hex_32(&[b'a'; 64]), Some([0xaa; 32]));
        assert_eq!(decode_hex_32(&[b'F'; 64]), Some([0xff; 32]));
    }

    #[test]
    fn comparison() {
        let a = [7u8; 32];
        for i in 0..32 {
            let mut b = a;
            b[i] ^= 0x80;
            assert!(!ct_eq_32(&a, &b));
            b[i] ^= 0x80;
            assert!(ct_eq_32(&a, &b));
        }
        assert!(matches_any(&a, &[[0; 32], a]));
        assert!(matches_any(&a, &[a, [0; 32]]));
        assert!(!matches_any(&a, &[[0; 32], [1; 32]]));
        assert!(!matches_any(&a, &[]));
    }

    #[test]
    fn prepared_key_matches_fresh_hmac() {
        let secret = Secret::new("whsec_abc123def456").unwrap();
        let key = PreparedKey::new(&secret);
        let body = br#"{"id":"evt_123","type":"run.completed"}"#;
        let mut fresh = <Hmac<Sha256> as KeyInit>::new_from_slice(b"whsec_abc123def456").unwrap();
        fresh.update(b"1774180800.");
        fresh.update(body);
        let want: [u8; 32] = fresh.finalize().into_bytes().into();
        assert_eq!(key.sign(b"1774180800", body), want);
        assert_eq!(
            hex::encode(want),
            "3681e63d3330eadf2ef7bc7d443ab1ce01bcddeaec56b110db5d4f80c95fa4b4"
        );
    }
}
