//! `nexio-webhooks` for WebAssembly hosts: verification of a delivery, exported
//! through `wasm-bindgen`, for Node, Workers runtimes and browsers.
//!
//! Every function takes the receiver's configuration as JSON (see [`Options`]) and
//! the request's headers as one byte string with their lengths (so that header
//! values that are not UTF-8 reach the verifier unchanged), and answers a JSON
//! [`Outcome`]: `ok`, the HTTP status and body the library's replies table gives, and
//! on acceptance what was verified. None of them throws or panics on any input; a
//! secret never appears in an answer.

use nexio_webhooks::{
    BearerToken, DEFAULT_BODY_LIMIT, Receiver, Rejection, Secret, SecretError, Verified, Verifier,
    VerifyError,
};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use wasm_bindgen::prelude::wasm_bindgen;

/// The receiver's configuration.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// The secrets, primary first.
    pub secrets: Vec<SecretOption>,
    /// The `Authorization: Bearer` token every delivery must carry, if any.
    #[serde(default)]
    pub bearer_token: Option<String>,
    /// Strict mode ([`Verifier::with_strict`]).
    #[serde(default)]
    pub strict: bool,
    /// The oldest accepted delivery, in seconds (default 300).
    #[serde(default)]
    pub max_age: Option<u64>,
    /// How far ahead of the clock a timestamp may be, in seconds (default 300).
    #[serde(default)]
    pub max_future: Option<u64>,
    /// The largest body accepted, in bytes (default 1 MiB).
    #[serde(default)]
    pub body_limit: Option<usize>,
}

/// One secret: a `whsec_…` string, or the raw key in hex, with an optional expiry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretOption {
    /// A `whsec_…` secret.
    #[serde(default)]
    pub secret: Option<String>,
    /// The key bytes, in hex.
    #[serde(default)]
    pub raw_key_hex: Option<String>,
    /// Unix second after which this (non-primary) secret is no longer accepted.
    #[serde(default)]
    pub expires_at: Option<i64>,
}

/// What a call answers, serialized as JSON.
#[derive(Serialize, Default)]
pub struct Outcome {
    /// Whether the delivery is accepted (so far, for [`check_head`]).
    pub ok: bool,
    /// The HTTP status to answer with.
    pub status: u16,
    /// `accept`, or the library's error code (`signature_mismatch`, …).
    pub code: String,
    /// The JSON body to answer a rejection with (`{"error":"<code>"}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
    /// The id of the secret that matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// The ids of the configured secrets, in the order given.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub key_ids: Vec<String>,
    /// The signed Unix timestamp.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    /// The body's `type`, when it parses as an event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// The unsigned `X-Nexio-Delivery` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_id: Option<String>,
    /// `ok`, or why the verified body is not a usable event (`invalid_json`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// The unsigned headers that disagree with the signed data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mismatches: Option<Vec<&'static str>>,
}

impl Outcome {
    fn rejected(rejection: Rejection) -> Self {
        Self {
            ok: false,
            status: rejection.status().as_u16(),
            code: rejection.code().to_owned(),
            reply: Some(rejection.body()),
            ..Self::default()
        }
    }

    fn invalid_options(code: &str) -> Self {
        Self {
            ok: false,
            status: 500,
            code: code.to_owned(),
            reply: Some(format!(r#"{{"error":"{code}"}}"#)),
            ..Self::default()
        }
    }

    fn accepted(verified: &Verified<'_>, key_ids: Vec<String>) -> Self {
        let m = verified.mismatches();
        let mut mismatches = Vec::new();
        if m.timestamp() {
            mismatches.push("timestamp");
        }
        if m.event() {
            mismatches.push("event");
        }
        if m.version() {
            mismatches.push("version");
        }
        let (event, event_type) = match verified.event() {
            Ok(e) => ("ok".to_owned(), Some(e.event_type().to_owned())),
            Err(e) => (e.code().to_owned(), None),
        };
        Self {
            ok: true,
            status: 200,
            code: "accept".to_owned(),
            key_id: Some(verified.key_id().to_string()),
            key_ids,
            timestamp: Some(verified.timestamp()),
            event_type,
            delivery_id: verified.delivery_id().map(str::to_owned),
            event: Some(event),
            mismatches: Some(mismatches),
            ..Self::default()
        }
    }

    fn to_json(&self) -> String {
        // Serializing plain strings, numbers and booleans cannot fail; should it, the
        // answer is still a rejection, never an acceptance.
        serde_json::to_string(self)
            .unwrap_or_else(|_| String::from(r#"{"ok":false,"status":500,"code":"internal"}"#))
    }
}

/// The configured receiver, and the ids of its secrets in the order given.
struct Configured {
    receiver: Receiver,
    key_ids: Vec<String>,
}

fn configure(options_json: &str) -> Result<Configured, Outcome> {
    // The error's text is not passed on: it could quote part of a secret.
    let options: Options = serde_json::from_str(options_json)
        .map_err(|_| Outcome::invalid_options("invalid_options"))?;
    let secret_error = |e: SecretError| Outcome::invalid_options(e.code());
    let mut secrets = Vec::with_capacity(options.secrets.len());
    for s in &options.secrets {
        let secret = match (&s.secret, &s.raw_key_hex) {
            (Some(text), None) => Secret::new(text).map_err(secret_error)?,
            (None, Some(key)) => {
                let bytes =
                    hex::decode(key).map_err(|_| Outcome::invalid_options("invalid_options"))?;
                Secret::from_raw_key(&bytes).map_err(secret_error)?
            }
            _ => return Err(Outcome::invalid_options("invalid_options")),
        };
        secrets.push((secret, s.expires_at));
    }
    let key_ids = secrets
        .iter()
        .map(|(s, _)| s.key_id().to_string())
        .collect();
    let mut secrets = secrets.into_iter();
    let Some((first, _)) = secrets.next() else {
        return Err(Outcome::invalid_options("invalid_options"));
    };
    let mut verifier = Verifier::new(first);
    for (s, expires_at) in secrets {
        verifier = match expires_at {
            Some(e) => verifier.with_secret_expiring(s, e),
            None => verifier.with_secret(s),
        };
    }
    if let Some(t) = &options.bearer_token {
        verifier = verifier.with_bearer_token(BearerToken::new(t).map_err(secret_error)?);
    }
    if let Some(a) = options.max_age {
        verifier = verifier.with_max_age(Duration::from_secs(a));
    }
    if let Some(f) = options.max_future {
        verifier = verifier.with_max_future(Duration::from_secs(f));
    }
    let receiver = Receiver::new(verifier.with_strict(options.strict))
        .with_body_limit(options.body_limit.unwrap_or(DEFAULT_BODY_LIMIT));
    Ok(Configured { receiver, key_ids })
}

/// The header pairs from `bytes`, cut by `lens` (name, value, name, value, …); `None`
/// if the lengths do not match the bytes or a name is not UTF-8.
fn header_pairs<'a>(bytes: &'a [u8], lens: &[u32]) -> Option<Vec<(&'a str, &'a [u8])>> {
    let mut rest = bytes;
    let mut take = |len: u32| -> Option<&'a [u8]> {
        let len = usize::try_from(len).ok()?;
        let (head, tail) = rest.split_at_checked(len)?;
        rest = tail;
        Some(head)
    };
    let mut pairs = Vec::with_capacity(lens.len() / 2);
    for pair in lens.chunks(2) {
        let [name_len, value_len] = pair else {
            return None;
        };
        let name = core::str::from_utf8(take(*name_len)?).ok()?;
        let value = take(*value_len)?;
        pairs.push((name, value));
    }
    rest.is_empty().then_some(pairs)
}

fn bad_headers() -> Outcome {
    Outcome::invalid_options("invalid_headers")
}

/// Verifies a delivery: at `now` (Unix seconds) when given, otherwise against the
/// host's clock through [`Verifier::verify`]. Returns the [`Outcome`] as JSON.
#[wasm_bindgen]
pub fn verify(
    options_json: &str,
    header_bytes: &[u8],
    header_lens: &[u32],
    body: &[u8],
    now: Option<i64>,
) -> String {
    let configured = match configure(options_json) {
        Ok(c) => c,
        Err(outcome) => return outcome.to_json(),
    };
    let Some(headers) = header_pairs(header_bytes, header_lens) else {
        return bad_headers().to_json();
    };
    let verifier = configured.receiver.verifier();
    let result = match now {
        Some(now) => verifier.verify_at(&headers, body, now),
        None => verifier.verify(&headers, body),
    };
    outcome_of(result, configured.key_ids).to_json()
}

fn outcome_of(result: Result<Verified<'_>, VerifyError>, key_ids: Vec<String>) -> Outcome {
    match result {
        Ok(verified) => Outcome::accepted(&verified, key_ids),
        Err(e) => {
            let mut outcome = Outcome::rejected(Rejection::Verify(e));
            outcome.key_ids = key_ids;
            outcome
        }
    }
}

/// The checks to make before reading a byte of the body, against the host's clock:
/// the signature header, the window, the bearer token, then `content_length` (the
/// announced `Content-Length`, if any) against the body limit (413
/// `payload_too_large`). `ok` means: read the body, at most
/// [`body_limit`] bytes.
#[wasm_bindgen]
pub fn check_head(
    options_json: &str,
    header_bytes: &[u8],
    header_lens: &[u32],
    content_length: Option<u64>,
) -> String {
    let configured = match configure(options_json) {
        Ok(c) => c,
        Err(outcome) => return outcome.to_json(),
    };
    let Some(headers) = header_pairs(header_bytes, header_lens) else {
        return bad_headers().to_json();
    };
    let receiver = &configured.receiver;
    match receiver.check_head_at(&headers, content_length, receiver.now()) {
        Ok(()) => Outcome {
            ok: true,
            status: 200,
            code: "accept".to_owned(),
            ..Outcome::default()
        }
        .to_json(),
        Err(rejection) => Outcome::rejected(rejection).to_json(),
    }
}

/// The body limit the options configure, in bytes (0 for options that do not
/// parse, so that nothing is read for them).
#[wasm_bindgen]
pub fn body_limit(options_json: &str) -> f64 {
    match configure(options_json) {
        // Limits above 2^53 are not exact as a JS number; they are far past any body.
        Ok(c) => c.receiver.body_limit() as f64,
        Err(_) => 0.0,
    }
}

/// The reply to a body that turned out longer than the limit while it was read
/// (413 `payload_too_large`), as an [`Outcome`].
#[wasm_bindgen]
pub fn payload_too_large(options_json: &str) -> String {
    let limit = configure(options_json).map_or(0, |c| c.receiver.body_limit());
    Outcome::rejected(Rejection::PayloadTooLarge { limit }).to_json()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn header_lengths_must_cover_the_bytes_exactly() {
        assert_eq!(header_pairs(b"ab", &[1, 1]), Some(vec![("a", &b"b"[..])]));
        assert_eq!(header_pairs(b"abc", &[1, 1]), None);
        assert_eq!(header_pairs(b"ab", &[1, 2]), None);
        assert_eq!(header_pairs(b"ab", &[1]), None);
        assert_eq!(header_pairs(b"\xffb", &[1, 1]), None);
        assert_eq!(header_pairs(b"", &[]), Some(vec![]));
    }

    #[test]
    fn a_refused_secret_is_not_quoted() {
        let out = verify(
            r#"{"secrets":[{"secret":"whsec_SHORT"}]}"#,
            b"",
            &[],
            b"",
            Some(0),
        );
        assert!(!out.contains("SHORT"), "{out}");
        assert!(out.contains(r#""ok":false"#), "{out}");
    }
}
