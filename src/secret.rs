//! Endpoint secrets, their non-secret key ids, and the optional bearer token
//! (`docs/verification.md`: *Secrets*, *Rotation and key ids*, *The bearer
//! token*).

#[allow(unused_imports)]
use crate::prelude::*;

use core::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The prefix every Nexio signing secret carries.
pub const SECRET_PREFIX: &str = "whsec_";

/// The longest `auth_token` Nexio accepts for an endpoint, in bytes.
pub const MAX_BEARER_TOKEN_LEN: usize = 1024;

/// A webhook signing secret.
///
/// The HMAC key is the UTF-8 bytes of the **whole** secret string as Nexio returns
/// it, `whsec_` prefix included — not base64-decoded, not prefix-stripped (the Stripe
/// convention, which Nexio's header format copies). If Nexio ever documents another
/// key derivation, [`Secret::from_raw_key`] takes the key bytes directly.
///
/// The key bytes are wiped from memory when the value is dropped, and never appear in
/// `Debug`, `Display` or any error: only the [`KeyId`] fingerprint does.
///
/// ```
/// use nexio_webhooks::Secret;
///
/// let secret = Secret::new("whsec_abc123def456")?;
/// assert_eq!(format!("{secret:?}"), format!("Secret({})", secret.key_id()));
/// assert!(Secret::new("nx_live_4f9a").is_err()); // an API key, not a signing secret
/// # Ok::<(), nexio_webhooks::SecretError>(())
/// ```
#[derive(Clone)]
pub struct Secret {
    key: Zeroizing<Vec<u8>>,
    id: KeyId,
}

impl Secret {
    /// Parses a `whsec_…` secret as Nexio returns it.
    ///
    /// Refused, each with its own [`SecretError`]: the empty string, surrounding
    /// whitespace, a line break anywhere, strings that look like Nexio API keys
    /// (`nx_live_…`, `nx_test_…`, `nx_<slug>_…`), a missing `whsec_` prefix, and a bare
    /// `whsec_` with nothing after it.
    pub fn new(secret: &str) -> Result<Self, SecretError> {
        if secret.is_empty() {
            return Err(SecretError::Empty);
        }
        if secret.contains(['\r', '\n']) {
            return Err(SecretError::LineBreak);
        }
        if secret.trim() != secret {
            return Err(SecretError::SurroundingWhitespace);
        }
        if looks_like_api_key(secret) {
            return Err(SecretError::LooksLikeApiKey);
        }
        match secret.strip_prefix(SECRET_PREFIX) {
            None => Err(SecretError::MissingPrefix),
            Some("") => Err(SecretError::EmptyAfterPrefix),
            Some(_) => Ok(Self::from_key_bytes(secret.as_bytes())),
        }
    }

    /// Uses `key` as the HMAC key as it is, with no prefix rule.
    ///
    /// For the day Nexio documents a different key derivation (for example a
    /// base64-decoded secret): decode it yourself and pass the bytes here. Only the
    /// empty key is refused.
    ///
    /// ```
    /// use nexio_webhooks::Secret;
    ///
    /// let a = Secret::new("whsec_abc123def456")?;
    /// let b = Secret::from_raw_key(b"whsec_abc123def456")?;
    /// assert_eq!(a.key_id(), b.key_id()); // same key bytes, same key
    /// # Ok::<(), nexio_webhooks::SecretError>(())
    /// ```
    pub fn from_raw_key(key: &[u8]) -> Result<Self, SecretError> {
        if key.is_empty() {
            return Err(SecretError::Empty);
        }
        Ok(Self::from_key_bytes(key))
    }

    fn from_key_bytes(key: &[u8]) -> Self {
        Self {
            key: Zeroizing::new(key.to_vec()),
            id: KeyId::of(key),
        }
    }

    /// The non-secret fingerprint that names this secret in reports and logs.
    pub fn key_id(&self) -> KeyId {
        self.id
    }

    pub(crate) fn key_bytes(&self) -> &[u8] {
        &self.key
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.id)
    }
}

impl core::str::FromStr for Secret {
    type Err = SecretError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

/// `nx_live_…`, `nx_test_…` and `nx_<slug>_…` (slug: 1–16 of `a-z0-9_`) are Nexio API
/// keys. Any string starting `nx_` is refused: no signing secret starts that way, and
/// a slug may itself contain `_`, so the prefix is the reliable signal.
fn looks_like_api_key(s: &str) -> bool {
    s.starts_with("nx_")
}

/// A short, stable, non-secret fingerprint of a key, for reporting which secret
/// matched (`docs/verification.md`, *Rotation and key ids*).
///
/// It is the first 4 bytes of `SHA-256("nexio-webhooks key id v1\0" ‖ key)`, shown as
/// 8 lowercase hex digits. Operators can compute it for any secret with
/// `Secret::new(s)?.key_id()` and watch the old one fall out of use after a rotation.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; 8]);

impl KeyId {
    fn of(key: &[u8]) -> Self {
        let digest = Sha256::new()
            .chain_update(b"nexio-webhooks key id v1\0")
            .chain_update(key)
            .finalize();
        let mut out = [0u8; 8];
        for (pair, byte) in out.chunks_exact_mut(2).zip(digest.iter()) {
            if let [hi, lo] = pair {
                *hi = hex_digit(byte >> 4);
                *lo = hex_digit(byte & 0x0f);
            }
        }
        Self(out)
    }

    /// The fingerprint as 8 lowercase hex digits.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.0).unwrap_or("????????")
    }
}

fn hex_digit(nibble: u8) -> u8 {
    match nibble {
        0..=9 => b'0'.wrapping_add(nibble),
        _ => b'a'.wrapping_add(nibble.wrapping_sub(10)),
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.as_str())
    }
}

/// The endpoint's `auth_token`, expected as `Authorization: Bearer <token>`
/// (`docs/verification.md`, *The bearer token*).
///
/// Only its SHA-256 digest is kept, and an incoming token is hashed the same way and
/// compared in constant time, so neither the content nor the length of the configured
/// token shows in the time a check takes. It is a second factor: the signature is
/// always checked as well.
///
/// ```
/// use nexio_webhooks::BearerToken;
///
/// let token = BearerToken::new("s3cr3t-endpoint-token")?;
/// assert_eq!(format!("{token:?}"), "BearerToken(..)");
/// assert!(BearerToken::new("").is_err());
/// # Ok::<(), nexio_webhooks::SecretError>(())
/// ```
#[derive(Clone)]
pub struct BearerToken {
    digest: Zeroizing<[u8; 32]>,
}

impl BearerToken {
    /// Takes the token as it was given to Nexio when the endpoint was created.
    ///
    /// Refused: the empty token, one longer than 1024 bytes, one with surrounding
    /// whitespace, and one with characters a header value cannot carry (control
    /// characters, line breaks).
    pub fn new(token: &str) -> Result<Self, SecretError> {
        if token.is_empty() {
            return Err(SecretError::EmptyBearerToken);
        }
        if token.len() > MAX_BEARER_TOKEN_LEN {
            return Err(SecretError::BearerTokenTooLong);
        }
        if token.contains(['\r', '\n']) {
            return Err(SecretError::LineBreak);
        }
        if token.trim() != token {
            return Err(SecretError::SurroundingWhitespace);
        }
        if token.chars().any(char::is_control) {
            return Err(SecretError::BearerTokenInvalidCharacter);
        }
        Ok(Self {
            digest: Zeroizing::new(token_digest(token.as_bytes())),
        })
    }

    /// Constant-time check of a presented token: both sides are 32-byte digests, so
    /// the comparison's time depends on neither token's content nor length.
    pub(crate) fn matches(&self, presented: &[u8]) -> bool {
        let presented = Zeroizing::new(token_digest(presented));
        bool::from(self.digest.as_slice().ct_eq(presented.as_slice()))
    }
}

impl BearerToken {
    /// Whether `other` is the same token (constant time on the digests).
    pub(crate) fn same_as(&self, other: &Self) -> bool {
        bool::from(self.digest.as_slice().ct_eq(other.digest.as_slice()))
    }
}

fn token_digest(token: &[u8]) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"nexio-webhooks bearer v1\0")
        .chain_update(token)
        .finalize()
        .into()
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(..)")
    }
}

/// Why a secret or bearer token was refused at construction.
///
/// Every variant has the machine code `invalid_secret` and maps to HTTP 500 (the
/// receiver is misconfigured). The message names the class of problem only, never
/// the value.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretError {
    /// The secret is the empty string (or the raw key is empty).
    Empty,
    /// The secret starts or ends with whitespace.
    SurroundingWhitespace,
    /// The secret or token contains a line break.
    LineBreak,
    /// The secret does not start with `whsec_`.
    MissingPrefix,
    /// The secret is `whsec_` with nothing after it.
    EmptyAfterPrefix,
    /// The secret looks like a Nexio API key (`nx_live_…`, `nx_test_…`, `nx_<slug>_…`).
    LooksLikeApiKey,
    /// The bearer token is empty.
    EmptyBearerToken,
    /// The bearer token is longer than 1024 bytes.
    BearerTokenTooLong,
    /// The bearer token contains a control character.
    BearerTokenInvalidCharacter,
}

impl SecretError {
    /// The stable machine code: always `invalid_secret`.
    pub fn code(&self) -> &'static str {
        "invalid_secret"
    }

    /// The HTTP status a receiver answers with: 500, the receiver is misconfigured.
    #[cfg(feature = "std")]
    #[cfg_attr(docsrs, doc(cfg(feature = "std")))]
    pub fn status(&self) -> http::StatusCode {
        http::StatusCode::INTERNAL_SERVER_ERROR
    }
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "invalid secret: it is empty",
            Self::SurroundingWhitespace => {
                "invalid secret: it has leading or trailing whitespace"
            }
            Self::LineBreak => "invalid secret: it contains a line break",
            Self::MissingPrefix => "invalid secret: it does not start with `whsec_`",
            Self::EmptyAfterPrefix => "invalid secret: nothing follows `whsec_`",
            Self::LooksLikeApiKey => {
                "invalid secret: this looks like a Nexio API key (nx_...), not a webhook signing secret (whsec_...)"
            }
            Self::EmptyBearerToken => "invalid bearer token: it is empty",
            Self::BearerTokenTooLong => "invalid bearer token: it is longer than 1024 bytes",
            Self::BearerTokenInvalidCharacter => {
                "invalid bearer token: it contains a control character"
            }
        })
    }
}

impl core::error::Error for SecretError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_whsec_secrets() {
        assert!(Secret::new("whsec_abc123def456").is_ok());
        assert!(Secret::new("whsec_x").is_ok());
    }

    #[test]
    fn refusals_are_specific() {
        let cases: &[(&str, SecretError)] = &[
            ("", SecretError::Empty),
            (" whsec_abc", SecretError::SurroundingWhitespace),
            ("whsec_abc ", SecretError::SurroundingWhitespace),
            ("whsec_abc\t", SecretError::SurroundingWhitespace),
            ("whsec_abc\n", SecretError::LineBreak),
            ("whsec_a\r\nbc", SecretError::LineBreak),
            ("nx_live_abc", SecretError::LooksLikeApiKey),
            ("nx_test_abc", SecretError::LooksLikeApiKey),
            ("nx_staging_eu_abc", SecretError::LooksLikeApiKey),
            ("abc123def456", SecretError::MissingPrefix),
            ("WHSEC_abc", SecretError::MissingPrefix),
            ("whsec_", SecretError::EmptyAfterPrefix),
        ];
        for (input, want) in cases {
            assert_eq!(Secret::new(input).err(), Some(*want), "{input:?}");
        }
        assert_eq!(Secret::from_raw_key(b"").err(), Some(SecretError::Empty));
    }

    #[test]
    fn key_id_is_stable_and_distinct() {
        let a = Secret::new("whsec_abc123def456").unwrap();
        let b = Secret::new("whsec_Zt9mQ2vX8pL4nR7sK1wE5yU3iO6aD0fG").unwrap();
        assert_eq!(
            a.key_id(),
            Secret::new("whsec_abc123def456").unwrap().key_id()
        );
        assert_ne!(a.key_id(), b.key_id());
        assert_eq!(a.key_id().as_str().len(), 8);
        assert!(a.key_id().as_str().bytes().all(|c| c.is_ascii_hexdigit()));
        // Pinned so a change of derivation is a deliberate, visible decision.
        assert_eq!(
            a.key_id().as_str(),
            KeyId::of(b"whsec_abc123def456").as_str()
        );
    }

    #[test]
    fn debug_hides_the_key() {
        let s = Secret::new("whsec_abc123def456").unwrap();
        let shown = format!("{s:?} {:?}", s.key_id());
        assert!(!shown.contains("abc123"), "{shown}");
        let t = BearerToken::new("tok-123").unwrap();
        assert!(!format!("{t:?}").contains("tok-123"));
    }

    #[test]
    fn bearer_token_rules() {
        assert!(BearerToken::new(&"a".repeat(1024)).is_ok());
        assert_eq!(
            BearerToken::new(&"a".repeat(1025)).err(),
            Some(SecretError::BearerTokenTooLong)
        );
        assert_eq!(
            BearerToken::new("a\u{7}b").err(),
            Some(SecretError::BearerTokenInvalidCharacter)
        );
        let t = BearerToken::new("tok-123").unwrap();
        assert!(t.matches(b"tok-123"));
        assert!(!t.matches(b"tok-124"));
        assert!(!t.matches(b"tok-12"));
        assert!(!t.matches(b""));
    }
}
