//! The signing side, for your own tests: the `X-Nexio-Signature` value and complete
//! test deliveries (the receiving side's equivalent of Stripe's
//! `generateTestHeaderString`).

#[allow(unused_imports)]
use crate::prelude::*;

use core::fmt::Write as _;

#[cfg(feature = "std")]
use sha2::{Digest, Sha256};

#[cfg(feature = "std")]
use crate::event::WEBHOOK_VERSION;
#[cfg(feature = "std")]
use crate::head;
#[cfg(feature = "std")]
use crate::headers::{HeaderLookup, HeaderSource};
use crate::mac::PreparedKey;
use crate::secret::{KeyId, Secret};

/// Signs bodies the way Nexio does: `v1 = hex(HMAC-SHA256(secret, "<t>.<body>"))`,
/// one `v1` per secret (several during a rotation).
///
/// ```
/// use nexio_webhooks::{Secret, Signer};
///
/// let signer = Signer::new(Secret::new("whsec_abc123def456")?);
/// let header = signer.signature_header(1774180800, br#"{"id":"evt_123","type":"run.completed"}"#);
/// assert_eq!(header, "t=1774180800,v1=3681e63d3330eadf2ef7bc7d443ab1ce01bcddeaec56b110db5d4f80c95fa4b4");
/// # Ok::<(), nexio_webhooks::SecretError>(())
/// ```
#[derive(Clone)]
pub struct Signer {
    keys: Vec<PreparedKey>,
}

impl core::fmt::Debug for Signer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let ids: Vec<KeyId> = self.keys.iter().map(PreparedKey::id).collect();
        f.debug_struct("Signer").field("keys", &ids).finish()
    }
}

impl Signer {
    /// A signer with one secret.
    pub fn new(secret: Secret) -> Self {
        Self {
            keys: vec![PreparedKey::new(&secret)],
        }
    }

    /// Adds a secret: each signature header then carries one `v1` per secret, in
    /// the order they were added (as during a rotation overlap).
    #[must_use]
    pub fn with_secret(mut self, secret: Secret) -> Self {
        self.keys.push(PreparedKey::new(&secret));
        self
    }

    /// The `v1` digests of `<timestamp>.<body>`, one per secret, as lowercase hex.
    pub fn signatures(&self, timestamp: i64, body: &[u8]) -> Vec<String> {
        let t = timestamp.to_string();
        self.keys
            .iter()
            .map(|k| hex::encode(k.sign(t.as_bytes(), body)))
            .collect()
    }

    /// The complete `X-Nexio-Signature` value: `t=<timestamp>,v1=<hex>[,v1=…]`.
    ///
    /// A negative timestamp is written as Nexio never would (`t=-5`), which every
    /// verifier rejects as malformed: useful for negative tests.
    pub fn signature_header(&self, timestamp: i64, body: &[u8]) -> String {
        let mut out = format!("t={timestamp}");
        for sig in self.signatures(timestamp, body) {
            let _ = write!(out, ",v1={sig}");
        }
        out
    }

    #[cfg(feature = "std")]
    /// Starts a complete test delivery of `body`.
    pub fn delivery(&self, body: impl Into<Vec<u8>>) -> DeliveryBuilder<'_> {
        DeliveryBuilder {
            signer: self,
            body: body.into(),
            timestamp: None,
            event_type: None,
            delivery_id: None,
            webhook_version: None,
            bearer_token: None,
        }
    }
}

#[cfg(feature = "std")]
/// Builds a [`Delivery`]: every header Nexio sends, signed.
///
/// Unset headers default to what Nexio would send: the current time, the body's own
/// `type` and `webhook_version` (or `2026-03-22`), and a delivery id derived from the
/// body (so it is the same across "retries" of one body).
#[must_use]
pub struct DeliveryBuilder<'s> {
    signer: &'s Signer,
    body: Vec<u8>,
    timestamp: Option<i64>,
    event_type: Option<String>,
    delivery_id: Option<String>,
    webhook_version: Option<String>,
    bearer_token: Option<String>,
}

#[cfg(feature = "std")]
impl core::fmt::Debug for DeliveryBuilder<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DeliveryBuilder")
            .field("signer", self.signer)
            .field("body_len", &self.body.len())
            .field("timestamp", &self.timestamp)
            .field("event_type", &self.event_type)
            .field("delivery_id", &self.delivery_id)
            .field("webhook_version", &self.webhook_version)
            .field("bearer_token", &self.bearer_token.as_ref().map(|_| ".."))
            .finish()
    }
}

#[cfg(feature = "std")]
impl DeliveryBuilder<'_> {
    /// The signing time, in Unix seconds (default: now).
    pub fn timestamp(mut self, timestamp: i64) -> Self {
        self.timestamp = Some(timestamp);
        self
    }

    /// The `X-Nexio-Event` header (default: the body's `type`).
    pub fn event_type(mut self, event_type: impl Into<String>) -> Self {
        self.event_type = Some(event_type.into());
        self
    }

    /// The `X-Nexio-Delivery` header (default: a UUID derived from the body).
    pub fn delivery_id(mut self, id: impl Into<String>) -> Self {
        self.delivery_id = Some(id.into());
        self
    }

    /// The `X-Nexio-Webhook-Version` header (default: the body's `webhook_version`,
    /// else `2026-03-22`).
    pub fn webhook_version(mut self, version: impl Into<String>) -> Self {
        self.webhook_version = Some(version.into());
        self
    }

    /// Adds `Authorization: Bearer <token>`.
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer_token = Some(token.into());
        self
    }

    /// Signs and assembles the delivery.
    ///
    /// Without [`timestamp`](Self::timestamp) it signs at the current time. On
    /// `wasm32-unknown-unknown` without the `wasm` feature there is no clock to read:
    /// set the timestamp there, or the delivery is signed at `t=0`, which every
    /// receiver's window rejects as stale (rather than a panic).
    pub fn build(self) -> Delivery {
        let timestamp = self.timestamp.unwrap_or_else(now_or_epoch);
        let head = head::scan(&self.body);
        let from_body = |field: Option<head::RawStr<'_>>| {
            field.and_then(|s| s.decode()).map(|s| s.into_owned())
        };
        let event_type = self
            .event_type
            .or_else(|| from_body(head.and_then(|h| h.event_type)))
            .unwrap_or_else(|| "unknown".to_owned());
        let version = self
            .webhook_version
            .or_else(|| from_body(head.and_then(|h| h.version)))
            .unwrap_or_else(|| WEBHOOK_VERSION.to_owned());
        let delivery_id = self.delivery_id.unwrap_or_else(|| uuid_from(&self.body));
        let mut headers = vec![
            ("Content-Type", "application/json".to_owned()),
            ("User-Agent", "Nexio-Webhooks/1.0".to_owned()),
            ("X-Nexio-Event", event_type),
            ("X-Nexio-Delivery", delivery_id),
            ("X-Nexio-Timestamp", timestamp.to_string()),
            ("X-Nexio-Webhook-Version", version),
            (
                "X-Nexio-Signature",
                self.signer.signature_header(timestamp, &self.body),
            ),
        ];
        if let Some(token) = self.bearer_token {
            headers.push(("Authorization", format!("Bearer {token}")));
        }
        Delivery {
            headers,
            body: self.body,
            timestamp,
        }
    }
}

#[cfg(feature = "std")]
/// A UUID-shaped id derived from the body (version nibble 4, RFC 4122 variant).
fn uuid_from(body: &[u8]) -> String {
    let d = Sha256::digest(body);
    let mut b = [0u8; 16];
    b.copy_from_slice(d.get(..16).unwrap_or(&[0; 16]));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        h.get(0..8).unwrap_or_default(),
        h.get(8..12).unwrap_or_default(),
        h.get(12..16).unwrap_or_default(),
        h.get(16..20).unwrap_or_default(),
        h.get(20..32).unwrap_or_default()
    )
}

#[cfg(feature = "std")]
/// A signed test delivery: headers as Nexio sends them, and the body.
///
/// It is a [`HeaderSource`], so it can be verified directly. Its `Debug` output
/// redacts the `Authorization` value and shows the body's length only.
#[derive(Clone, PartialEq, Eq)]
pub struct Delivery {
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    timestamp: i64,
}

#[cfg(feature = "std")]
impl Delivery {
    /// The headers, in the order Nexio sends them.
    pub fn headers(&self) -> &[(&'static str, String)] {
        &self.headers
    }

    /// The value of one header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body, as signed.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The signing time.
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// The headers as an [`http::HeaderMap`]. Header values that are not valid HTTP
    /// (possible only through builder input) are left out.
    pub fn header_map(&self) -> http::HeaderMap {
        let mut map = http::HeaderMap::with_capacity(self.headers.len());
        for (name, value) in &self.headers {
            if let (Ok(n), Ok(v)) = (
                http::HeaderName::try_from(*name),
                http::HeaderValue::try_from(value.as_str()),
            ) {
                map.append(n, v);
            }
        }
        map
    }

    /// The delivery as an [`http::Request`] for `uri` (a `POST`).
    pub fn to_request(&self, uri: &str) -> Result<http::Request<Vec<u8>>, http::Error> {
        let mut builder = http::Request::post(uri);
        for (name, value) in &self.headers {
            builder = builder.header(*name, value.as_str());
        }
        builder.body(self.body.clone())
    }

    /// The delivery as a raw HTTP/1.1 request, byte for byte as it would cross the
    /// wire (`\r\n` line endings, `Content-Length`).
    pub fn to_http1(&self, path: &str, host: &str) -> Vec<u8> {
        let mut head = format!("POST {path} HTTP/1.1\r\nHost: {host}\r\n");
        for (name, value) in &self.headers {
            let _ = write!(head, "{name}: {value}\r\n");
        }
        let _ = write!(head, "Content-Length: {}\r\n\r\n", self.body.len());
        let mut out = head.into_bytes();
        out.extend_from_slice(&self.body);
        out
    }

    /// Splits the delivery into its headers and body.
    pub fn into_parts(self) -> (Vec<(&'static str, String)>, Vec<u8>) {
        (self.headers, self.body)
    }
}

#[cfg(feature = "std")]
impl core::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| {
                if n.eq_ignore_ascii_case("authorization") {
                    (*n, "Bearer ..")
                } else {
                    (*n, v.as_str())
                }
            })
            .collect();
        f.debug_struct("Delivery")
            .field("headers", &headers)
            .field("body_len", &self.body.len())
            .field("timestamp", &self.timestamp)
            .finish()
    }
}

#[cfg(feature = "std")]
impl HeaderSource for Delivery {
    fn lookup(&self, name: &str) -> HeaderLookup<'_> {
        self.headers.as_slice().lookup(name)
    }

    fn lookup_many<'s>(&'s self, names: &[&str], found: &mut [HeaderLookup<'s>]) {
        self.headers.as_slice().lookup_many(names, found);
    }
}

/// The signing time when none is set: the clock's.
#[cfg(feature = "std")]
#[cfg(any(
    not(all(target_arch = "wasm32", target_os = "unknown")),
    feature = "wasm"
))]
fn now_or_epoch() -> i64 {
    crate::time::unix_now()
}

/// The signing time when none is set, where there is no clock to read.
#[cfg(feature = "std")]
#[cfg(not(any(
    not(all(target_arch = "wasm32", target_os = "unknown")),
    feature = "wasm"
)))]
fn now_or_epoch() -> i64 {
    0
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    #[test]
    fn rotation_header_has_one_v1_per_secret_in_order() {
        let a = Secret::new("whsec_abc123def456").unwrap();
        let b = Secret::new("whsec_Zt9mQ2vX8pL4nR7sK1wE5yU3iO6aD0fG").unwrap();
        let body = br#"{"id":"evt_123","type":"run.completed"}"#;
        let h = Signer::new(b)
            .with_secret(a)
            .signature_header(1774180800, body);
        assert_eq!(
            h,
            "t=1774180800,v1=36726979e4c2450930997f0fc97ee0f0301bb0d9d3e5888bca962c702db5d73c,v1=3681e63d3330eadf2ef7bc7d443ab1ce01bcddeaec56b110db5d4f80c95fa4b4"
        );
    }

    #[test]
    fn delivery_defaults_from_body() {
        let signer = Signer::new(Secret::new("whsec_abc").unwrap());
        let d = signer
            .delivery(crate::sample::RUN_FAILED)
            .timestamp(5)
            .bearer_token("tok")
            .build();
        assert_eq!(d.header("x-nexio-event"), Some("run.failed"));
        assert_eq!(d.header("X-Nexio-Webhook-Version"), Some("2026-03-22"));
        assert_eq!(d.header("X-Nexio-Timestamp"), Some("5"));
        assert_eq!(d.header("authorization"), Some("Bearer tok"));
        let id = d.header("X-Nexio-Delivery").unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_eq!(d.header_map().len(), 8);
        let raw = d.to_http1("/webhooks", "127.0.0.1:3000");
        assert!(raw.starts_with(b"POST /webhooks HTTP/1.1\r\nHost: 127.0.0.1:3000\r\n"));
        assert!(raw.ends_with(crate::sample::RUN_FAILED.as_bytes()));
        let req = d.to_request("http://127.0.0.1/webhooks").unwrap();
        assert_eq!(req.headers().len(), 8);
        // Same body, same delivery id (as for retries).
        let again = signer
            .delivery(crate::sample::RUN_FAILED)
            .timestamp(99)
            .build();
        assert_eq!(again.header("X-Nexio-Delivery"), Some(id));
    }
}
