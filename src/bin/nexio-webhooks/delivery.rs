//! Building a signed delivery with the library's `Signer` (optionally stale or
//! deliberately broken), and writing it out as raw HTTP, header lines or curl.

use std::io::Read as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use nexio_webhooks::{Signer, sample};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use sha2::Digest as _;
use zeroize::Zeroizing;

use crate::args::{DeliveryArgs, SampleKind, Tamper};
use crate::fail::UsageError;
use crate::secrets;

/// Everything needed to sign deliveries of one body, again and again.
pub struct Blueprint {
    signer: Signer,
    body: Vec<u8>,
    timestamp: Option<i64>,
    stale: i64,
    tamper: Option<Tamper>,
    bearer: Option<Zeroizing<String>>,
    delivery_id: Option<String>,
    /// `--fresh-id`: the body as JSON, given a new `id` for each delivery.
    fresh_id: Option<Json>,
}

/// One delivery, ready to write or send: headers in the order Nexio sends them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Blueprint {
    pub fn from_args(args: &DeliveryArgs) -> Result<Self, UsageError> {
        let body = match (args.sample, &args.body) {
            (Some(SampleKind::RunCompleted), _) => sample::RUN_COMPLETED.as_bytes().to_vec(),
            (Some(SampleKind::RunFailed), _) => sample::RUN_FAILED.as_bytes().to_vec(),
            (None, Some(path)) => read_body(path)?,
            (None, None) => {
                return Err(UsageError::new(
                    "give a body file (or - for stdin) or --sample run.completed|run.failed",
                ));
            }
        };
        let bearer = match &args.bearer_env {
            Some(name) => Some(secrets::bearer_from_env(name)?),
            None => None,
        };
        let mut fresh_id = None;
        let body = if args.set.is_empty() && !args.fresh_id {
            body
        } else {
            let mut json: Json = serde_json::from_slice(&body).map_err(|e| {
                UsageError::new(format!(
                    "--set and --fresh-id need a JSON body; this one is not JSON ({e})"
                ))
            })?;
            for assignment in &args.set {
                json.assign(assignment)?;
            }
            if args.fresh_id {
                if !matches!(json, Json::Object(_)) {
                    return Err(UsageError::new(
                        "--fresh-id needs a JSON object body (its \"id\" is replaced)",
                    ));
                }
                fresh_id = Some(json.clone());
            }
            json.to_vec()?
        };
        Ok(Self {
            signer: secrets::signer(&args.secrets)?,
            body,
            timestamp: args.timestamp,
            stale: args
                .stale
                .map_or(0, |s| i64::try_from(s).unwrap_or(i64::MAX)),
            tamper: args.tamper,
            bearer,
            delivery_id: args.delivery_id.clone(),
            fresh_id,
        })
    }

    /// Signs a delivery at `--timestamp` (else `now`), minus `--stale`, then applies
    /// `--tamper`.
    pub fn build(&self, now: i64) -> Prepared {
        let t = self.timestamp.unwrap_or(now).saturating_sub(self.stale);
        let body = match &self.fresh_id {
            Some(json) => {
                let mut json = json.clone();
                // The body was checked to be an object at start-up, so this succeeds.
                json.set(&["id"], Json::String(new_event_id()))
                    .ok()
                    .and_then(|()| json.to_vec().ok())
                    .unwrap_or_else(|| self.body.clone())
            }
            None => self.body.clone(),
        };
        let mut builder = self.signer.delivery(body).timestamp(t);
        if let Some(id) = &self.delivery_id {
            builder = builder.delivery_id(id.as_str());
        }
        if let Some(token) = &self.bearer {
            builder = builder.bearer_token(token.as_str());
        }
        let (headers, body) = builder.build().into_parts();
        let mut prepared = Prepared { headers, body };
        if let Some(how) = self.tamper {
            prepared.tamper(how, t);
        }
        prepared
    }
}

fn read_body(path: &Path) -> Result<Vec<u8>, UsageError> {
    if path == Path::new("-") {
        let mut body = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut body)
            .map_err(|e| UsageError::new(format!("cannot read the body from stdin: {e}")))?;
        Ok(body)
    } else {
        std::fs::read(path)
            .map_err(|e| UsageError::new(format!("cannot read body file {}: {e}", path.display())))
    }
}

impl Prepared {
    fn header_mut(&mut self, name: &str) -> Option<&mut String> {
        self.headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    fn tamper(&mut self, how: Tamper, t: i64) {
        match how {
            Tamper::Body => tamper_body(&mut self.body),
            Tamper::Signature => {
                if let Some(value) = self.header_mut("X-Nexio-Signature") {
                    *value = value
                        .split(',')
                        .map(|element| match element.strip_prefix("v1=") {
                            Some(hex) => format!("v1={}", flip_last_hex(hex)),
                            None => element.to_owned(),
                        })
                        .collect::<Vec<_>>()
                        .join(",");
                }
            }
            Tamper::Timestamp => {
                let moved = t.checked_add(1).unwrap_or(t.saturating_sub(1));
                if let Some(value) = self.header_mut("X-Nexio-Signature") {
                    *value = value
                        .split(',')
                        .map(|element| {
                            if element.starts_with("t=") {
                                format!("t={moved}")
                            } else {
                                element.to_owned()
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(",");
                }
                // Keep the unsigned copy consistent, so the receiver's verdict is the
                // signature, not a header mismatch.
                if let Some(value) = self.header_mut("X-Nexio-Timestamp") {
                    *value = moved.to_string();
                }
            }
        }
    }

    /// The raw HTTP/1.1 request, as `Delivery::to_http1` writes it.
    pub fn to_http1(&self, target: &Target) -> Vec<u8> {
        let mut head = format!("POST {} HTTP/1.1\r\nHost: {}\r\n", target.path, target.host);
        for (name, value) in &self.headers {
            head.push_str(name);
            head.push_str(": ");
            head.push_str(value);
            head.push_str("\r\n");
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", self.body.len()));
        let mut out = head.into_bytes();
        out.extend_from_slice(&self.body);
        out
    }

    /// The request head alone, announcing the body with `Expect: 100-continue`: what
    /// `send` writes to learn an early answer the full request could not get.
    pub fn head_http1(&self, target: &Target) -> Vec<u8> {
        let mut head = format!("POST {} HTTP/1.1\r\nHost: {}\r\n", target.path, target.host);
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!(
            "Content-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
            self.body.len()
        ));
        head.into_bytes()
    }

    /// `Name: value` lines.
    pub fn header_lines(&self) -> String {
        self.headers
            .iter()
            .map(|(name, value)| format!("{name}: {value}\n"))
            .collect()
    }

    /// A POSIX-shell curl command that sends exactly these headers and body bytes.
    pub fn to_curl(&self, url: &str) -> Result<String, UsageError> {
        let mut out = format!("curl -sS -X POST {}", shell_quote(url));
        for (name, value) in &self.headers {
            out.push_str(" \\\n  -H ");
            out.push_str(&shell_quote(&format!("{name}: {value}")));
        }
        // --data-raw: byte for byte, and no special meaning for a leading `@`.
        out.push_str(" \\\n  --data-raw ");
        out.push_str(&shell_quote_bytes(&self.body)?);
        out.push('\n');
        Ok(out)
    }
}

/// Changes the last ASCII digit of the body (so sample JSON stays valid), or appends
/// a space when there is none.
fn tamper_body(body: &mut Vec<u8>) {
    match body.iter_mut().rev().find(|b| b.is_ascii_digit()) {
        Some(digit) => {
            *digit = if *digit == b'9' {
                b'0'
            } else {
                digit.saturating_add(1)
            }
        }
        None => body.push(b' '),
    }
}

fn flip_last_hex(hex: &str) -> String {
    let mut chars: Vec<char> = hex.chars().collect();
    match chars.last_mut() {
        Some(c) => *c = if *c == '0' { '1' } else { '0' },
        None => chars.push('0'),
    }
    chars.into_iter().collect()
}

/// `'…'` with embedded `'` as `'\''`.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Single quotes for UTF-8 text; bash/zsh `$'…'` with `\xHH` escapes otherwise. A NUL
/// byte cannot be passed in an argument at all.
fn shell_quote_bytes(bytes: &[u8]) -> Result<String, UsageError> {
    if bytes.contains(&0) {
        return Err(UsageError::new(
            "the body contains a NUL byte, which a shell argument cannot carry: use --format http",
        ));
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(shell_quote(text));
    }
    let mut out = String::from("$'");
    for &b in bytes {
        match b {
            b'\\' => out.push_str(r"\\"),
            b'\'' => out.push_str(r"\'"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('\'');
    Ok(out)
}

/// Where a delivery goes.
#[derive(Debug, Clone)]
pub struct Target {
    pub uri: http::Uri,
    /// `host[:port]`, for the `Host` header.
    pub host: String,
    /// Path and query, for the request line.
    pub path: String,
    pub https: bool,
}

impl Target {
    pub fn parse(url: &str) -> Result<Self, UsageError> {
        let bad = |why: &str| UsageError::new(format!("--url {url:?}: {why}"));
        let uri: http::Uri = url.parse().map_err(|_| bad("not a valid URL"))?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            Some(_) => return Err(bad("only http:// and https:// URLs")),
            None => return Err(bad("needs a scheme, e.g. http://127.0.0.1:3000/webhooks")),
        };
        let host = uri
            .authority()
            .map(|a| a.as_str().to_owned())
            .ok_or_else(|| bad("needs a host"))?;
        if host.contains('@') {
            return Err(bad("credentials in the URL are not supported"));
        }
        let path = uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
        Ok(Self {
            uri,
            host,
            path,
            https,
        })
    }
}

/// A new event id for `--fresh-id`: `evt_` and 26 uppercase hex digits, unique per
/// process (a counter) and across processes (the process id and the clock).
fn new_event_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut h = sha2::Sha256::new();
    h.update(std::process::id().to_le_bytes());
    h.update(nanos.to_le_bytes());
    h.update(n.to_le_bytes());
    let digest = h.finalize();
    let head = digest.get(..13).unwrap_or_default();
    format!("evt_{}", hex::encode_upper(head))
}

/// A JSON value whose objects keep their keys in the order read (`serde_json`'s map
/// sorts them), so `--set` changes one field and nothing else moves.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Compact JSON.
    pub fn to_vec(&self) -> Result<Vec<u8>, UsageError> {
        serde_json::to_vec(self).map_err(|e| UsageError::new(format!("cannot write JSON: {e}")))
    }

    /// `PATH=VALUE` from `--set`: VALUE as JSON when it parses, else as a string.
    pub fn assign(&mut self, assignment: &str) -> Result<(), UsageError> {
        let bad = |why: &str| UsageError::new(format!("--set {assignment:?}: {why}"));
        let (path, value) = assignment
            .split_once('=')
            .ok_or_else(|| bad("expected PATH=VALUE, e.g. data.run.status=degraded"))?;
        let segments: Vec<&str> = path.split('.').collect();
        if segments.iter().any(|s| s.is_empty()) {
            return Err(bad("PATH has an empty segment"));
        }
        let value =
            serde_json::from_str::<Json>(value).unwrap_or_else(|_| Json::String(value.to_owned()));
        self.set(&segments, value).map_err(|why| bad(&why))
    }

    /// Sets the field at `path`, adding missing object fields on the way; array items
    /// by index (the length itself appends).
    pub fn set(&mut self, path: &[&str], value: Json) -> Result<(), String> {
        let Some((first, rest)) = path.split_first() else {
            *self = value;
            return Ok(());
        };
        match self {
            Json::Object(fields) => {
                let slot = match fields.iter().position(|(k, _)| k == first) {
                    Some(i) => fields.get_mut(i),
                    None => {
                        fields.push(((*first).to_owned(), Json::Object(Vec::new())));
                        fields.last_mut()
                    }
                };
                let (_, slot) = slot.ok_or_else(|| format!("cannot reach {first:?}"))?;
                slot.set(rest, value)
            }
            Json::Array(items) => {
                let index: usize = first
                    .parse()
                    .map_err(|_| format!("{first:?} is not an index into an array"))?;
                if index == items.len() {
                    items.push(Json::Null);
                }
                let len = items.len();
                let item = items
                    .get_mut(index)
                    .ok_or_else(|| format!("index {index} is past the array's {len} items"))?;
                item.set(rest, value)
            }
            other => Err(format!(
                "{first:?} is inside a {}, not an object or array",
                other.kind()
            )),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "boolean",
            Json::Number(_) => "number",
            Json::String(_) => "string",
            Json::Array(_) => "array",
            Json::Object(_) => "object",
        }
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(b) => s.serialize_bool(*b),
            Json::Number(n) => n.serialize(s),
            Json::String(v) => s.serialize_str(v),
            Json::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Object(fields) => {
                let mut map = s.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Json;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_none<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
                Ok(Json::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
                Ok(Json::Number(v.into()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
                Ok(Json::Number(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json, E> {
                serde_json::Number::from_f64(v)
                    .map(Json::Number)
                    .ok_or_else(|| E::custom("a number JSON cannot hold"))
            }
            fn visit_str<E>(self, v: &str) -> Result<Json, E> {
                Ok(Json::String(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Json, E> {
                Ok(Json::String(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Json::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
                let mut fields: Vec<(String, Json)> = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Json>()? {
                    // A repeated key: the last one wins, as in serde_json, in place.
                    match fields.iter_mut().find(|(name, _)| *name == k) {
                        Some(slot) => slot.1 = v,
                        None => fields.push((k, v)),
                    }
                }
                Ok(Json::Object(fields))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use nexio_webhooks::{Secret, Verifier, VerifyError};

    fn blueprint(tamper: Option<Tamper>) -> Blueprint {
        Blueprint {
            signer: Signer::new(Secret::new("whsec_abc123def456").unwrap()),
            body: sample::RUN_COMPLETED.as_bytes().to_vec(),
            timestamp: Some(1_774_180_800),
            stale: 0,
            tamper,
            bearer: None,
            delivery_id: None,
            fresh_id: None,
        }
    }

    #[test]
    fn untampered_http_is_byte_for_byte_the_librarys() {
        let prepared = blueprint(None).build(0);
        let target = Target::parse("http://127.0.0.1:3000/webhooks").unwrap();
        let delivery = Signer::new(Secret::new("whsec_abc123def456").unwrap())
            .delivery(sample::RUN_COMPLETED)
            .timestamp(1_774_180_800)
            .build();
        assert_eq!(
            prepared.to_http1(&target),
            delivery.to_http1("/webhooks", "127.0.0.1:3000")
        );
    }

    #[test]
    fn each_tamper_is_rejected_with_a_signature_mismatch() {
        let verifier = Verifier::new(Secret::new("whsec_abc123def456").unwrap());
        for how in [Tamper::Body, Tamper::Signature, Tamper::Timestamp] {
            let p = blueprint(Some(how)).build(0);
            let err = verifier
                .verify_at(&p.headers, &p.body, 1_774_180_800)
                .unwrap_err();
            assert_eq!(err, VerifyError::SignatureMismatch, "{how:?}");
            // Sample JSON stays JSON.
            serde_json::from_slice::<serde_json::Value>(&p.body).unwrap();
        }
        let good = blueprint(None).build(0);
        verifier
            .verify_at(&good.headers, &good.body, 1_774_180_800)
            .unwrap();
    }

    #[test]
    fn tamper_body_without_digits_appends_a_space() {
        let mut body = b"{}".to_vec();
        tamper_body(&mut body);
        assert_eq!(body, b"{} ");
        let mut body = b"9".to_vec();
        tamper_body(&mut body);
        assert_eq!(body, b"0");
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote_bytes(b"a'b").unwrap(), r"'a'\''b'");
        assert_eq!(shell_quote_bytes(b"\xff\\'x").unwrap(), r"$'\xff\\\'x'");
        assert!(shell_quote_bytes(b"a\0b").is_err());
    }

    #[test]
    fn urls() {
        let t = Target::parse("http://localhost:8080/hooks?x=1").unwrap();
        assert_eq!(
            (t.host.as_str(), t.path.as_str(), t.https),
            ("localhost:8080", "/hooks?x=1", false)
        );
        let t = Target::parse("https://example.com").unwrap();
        assert_eq!((t.path.as_str(), t.https), ("/", true));
        assert!(Target::parse("ftp://x/").is_err());
        assert!(Target::parse("/webhooks").is_err());
        assert!(Target::parse("http://user:pw@host/").is_err());
    }

    #[test]
    fn set_keeps_key_order_and_adds_fields() {
        let mut j: Json = serde_json::from_str(sample::RUN_COMPLETED).unwrap();
        j.assign("data.run.status=degraded").unwrap();
        j.assign("data.run.output.degradation_reason=\"slow\"")
            .unwrap();
        j.assign("data.run.duration_ms=5").unwrap();
        j.assign("data.run.solutions.0.rank=7").unwrap();
        let out = String::from_utf8(j.to_vec().unwrap()).unwrap();
        let want = sample::RUN_COMPLETED
            .replace("\"status\":\"completed\"", "\"status\":\"degraded\"")
            .replace("\"duration_ms\":83886", "\"duration_ms\":5")
            .replace("{\"rank\":1,", "{\"rank\":7,")
            .replace("\"gaps\":[{\"requirement\":\"REQ-014\",\"severity\":\"high\",\"detail\":\"no test exercises the retry path\"}]}",
                     "\"gaps\":[{\"requirement\":\"REQ-014\",\"severity\":\"high\",\"detail\":\"no test exercises the retry path\"}],\"degradation_reason\":\"slow\"}");
        assert_eq!(out, want);
        for bad in [
            "nope",
            "=1",
            "a..b=1",
            "id.x=1",
            "data.run.solutions.9=1",
            "data.run.solutions.x=1",
        ] {
            assert!(j.assign(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fresh_ids_differ_and_look_like_event_ids() {
        let a = new_event_id();
        let b = new_event_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 30);
        assert!(a.starts_with("evt_"));
    }
}
