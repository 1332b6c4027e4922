//! What the axum and actix-web adapter tests share: the routes (each with its own
//! `Receiver`), what the handlers record, a real HTTP client, a raw TCP client for
//! the cases a well-behaved client cannot send, and every adapter case written once
//! against a running server's address.
//!
//! Each framework's test file starts a real server on 127.0.0.1 with these routes and
//! calls the cases below.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

/// The adversarial catalogue: loader and runner shared by the core, adapter and CLI
/// runners (the library's `tests/common/`).
#[path = "../common/adversarial.rs"]
pub mod adversarial;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use nexio_webhooks::{
    AsyncReplayGuard, BearerToken, BoxFuture, ClaimOutcome, Delivery, Event, EventKind,
    InMemoryReplayGuard, NexioWebhook, RawBody, Receiver, ReplayGuard, ReplayGuardError, Secret,
    Signer, Ticket, Verifier, sample, unix_now,
};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const SECRET: &str = "whsec_abc123def456";
pub const OLD_SECRET: &str = "whsec_Zt9mQ2vX8pL4nR7sK1wE5yU3iO6aD0fG";
pub const WRONG_SECRET: &str = "whsec_not_the_endpoint_secret";
pub const TOKEN: &str = "tok_0123456789abcdef_bearer";
/// The body limit of the `/small` route.
pub const SMALL_LIMIT: usize = 1024;

pub fn secret(s: &str) -> Secret {
    Secret::new(s).unwrap()
}

pub fn signer() -> Signer {
    Signer::new(secret(SECRET))
}

/// How a route's handler treats the delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `NexioWebhook<Event>`: records the typed event, answers 200.
    Event,
    /// `NexioWebhook<RawBody>`: records the exact verified bytes, answers 200.
    Raw,
    /// `NexioWebhook<Event>` whose first call fails: it forgets the key and answers
    /// 500; later calls answer 200.
    Flaky,
    /// `NexioWebhook<MyEvent>` (a serde type of the user's own).
    Custom,
}

/// A user's own event type, deserialized from the verified body.
#[derive(Debug, Deserialize)]
pub struct MyEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
}

/// What a handler saw.
#[derive(Debug, Clone)]
pub struct Record {
    pub route: String,
    pub event_type: String,
    pub kind: Option<EventKind>,
    pub event_id: Option<String>,
    pub run_id: Option<String>,
    pub run_error: Option<String>,
    pub key_id: String,
    pub skew: i64,
    pub delivery_id: Option<String>,
    pub dedupe_key: Option<String>,
    pub body: Option<Vec<u8>>,
}

/// Shared by every route of one server.
#[derive(Clone, Default)]
pub struct Seen {
    records: Arc<Mutex<Vec<Record>>>,
    flaky_failed: Arc<AtomicBool>,
}

impl Seen {
    pub fn all(&self) -> Vec<Record> {
        self.records.lock().unwrap().clone()
    }

    pub fn on(&self, route: &str) -> Vec<Record> {
        self.all()
            .into_iter()
            .filter(|r| r.route == route)
            .collect()
    }

    fn push(&self, r: Record) {
        self.records.lock().unwrap().push(r);
    }

    pub fn event(&self, route: &str, hook: &NexioWebhook<Event>) {
        let run = hook.event.run();
        self.push(Record {
            route: route.to_owned(),
            event_type: hook.event.event_type().to_owned(),
            kind: Some(hook.event.kind()),
            event_id: Some(hook.event.id().to_owned()),
            run_id: run.map(|r| r.run_id.clone()),
            run_error: run.and_then(|r| r.error.clone()),
            key_id: hook.info.key_id.to_string(),
            skew: hook.info.skew,
            delivery_id: hook.info.delivery_id.clone(),
            dedupe_key: hook.dedupe_key.clone(),
            body: None,
        });
    }

    pub fn raw(&self, route: &str, hook: &NexioWebhook<RawBody>) {
        self.push(Record {
            route: route.to_owned(),
            event_type: String::new(),
            kind: None,
            event_id: None,
            run_id: None,
            run_error: None,
            key_id: hook.info.key_id.to_string(),
            skew: hook.info.skew,
            delivery_id: hook.info.delivery_id.clone(),
            dedupe_key: hook.dedupe_key.clone(),
            body: Some(hook.event.as_bytes().to_vec()),
        });
    }

    pub fn custom(&self, route: &str, hook: &NexioWebhook<MyEvent>) {
        self.push(Record {
            route: route.to_owned(),
            event_type: hook.event.event_type.clone(),
            kind: None,
            event_id: Some(hook.event.id.clone()),
            run_id: None,
            run_error: None,
            key_id: hook.info.key_id.to_string(),
            skew: hook.info.skew,
            delivery_id: hook.info.delivery_id.clone(),
            dedupe_key: hook.dedupe_key.clone(),
            body: None,
        });
    }

    /// The flaky route's handler: records, then fails the first time (returning
    /// without completing the claim, which releases it). Returns the status to answer.
    pub async fn flaky(&self, route: &str, hook: NexioWebhook<Event>) -> u16 {
        self.event(route, &hook);
        if !self.flaky_failed.swap(true, Ordering::SeqCst) {
            drop(hook);
            500
        } else {
            hook.complete().await.unwrap();
            200
        }
    }
}

/// An `AsyncReplayGuard` implemented downstream (as a Redis guard would be), counting
/// its calls.
#[derive(Clone, Default)]
pub struct CountingGuard {
    inner: Arc<InMemoryReplayGuardWrapper>,
    pub calls: Arc<AtomicUsize>,
}

pub struct InMemoryReplayGuardWrapper(InMemoryReplayGuard);

impl Default for InMemoryReplayGuardWrapper {
    fn default() -> Self {
        Self(InMemoryReplayGuard::new(100))
    }
}

impl AsyncReplayGuard for CountingGuard {
    fn claim<'a>(
        &'a self,
        key: &'a str,
        replayable_until: i64,
        now: i64,
    ) -> BoxFuture<'a, Result<ClaimOutcome, ReplayGuardError>> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await; // a real await point
            ReplayGuard::claim(&self.inner.0, key, replayable_until, now)
        })
    }

    fn complete<'a>(
        &'a self,
        ticket: &'a Ticket,
        now: i64,
    ) -> BoxFuture<'a, Result<(), ReplayGuardError>> {
        Box::pin(async move {
            tokio::task::yield_now().await;
            ReplayGuard::complete(&self.inner.0, ticket, now)
        })
    }

    fn release<'a>(&'a self, ticket: &'a Ticket) -> BoxFuture<'a, Result<(), ReplayGuardError>> {
        Box::pin(async move { ReplayGuard::release(&self.inner.0, ticket) })
    }

    fn release_detached(&self, ticket: Ticket) {
        let _ = ReplayGuard::release(&self.inner.0, &ticket);
    }
}

/// One route: its path, its receiver, and its handler kind.
pub struct Route {
    pub path: String,
    pub receiver: Receiver,
    pub kind: Kind,
}

/// The routes every test server has. The in-memory guard of `/webhooks` is
/// returned too, to look into.
pub fn routes() -> (Vec<Route>, Arc<InMemoryReplayGuard>, CountingGuard) {
    let guard = Arc::new(InMemoryReplayGuard::new(100));
    let counting = CountingGuard::default();
    let verifier = Verifier::new(secret(SECRET));
    let mut routes = vec![
        Route {
            path: "/webhooks".into(),
            receiver: Receiver::new(verifier.clone()).with_replay_guard(Arc::clone(&guard)),
            kind: Kind::Event,
        },
        Route {
            path: "/unguarded".into(),
            receiver: Receiver::new(verifier.clone()),
            kind: Kind::Event,
        },
        Route {
            path: "/rotation".into(),
            receiver: Receiver::new(
                Verifier::new(secret(SECRET)).with_secret_expiring(secret(OLD_SECRET), i64::MAX),
            ),
            kind: Kind::Event,
        },
        Route {
            path: "/bearer".into(),
            receiver: Receiver::new(
                verifier
                    .clone()
                    .with_bearer_token(BearerToken::new(TOKEN).unwrap()),
            ),
            kind: Kind::Event,
        },
        Route {
            path: "/small".into(),
            receiver: Receiver::new(verifier.clone()).with_body_limit(SMALL_LIMIT),
            kind: Kind::Raw,
        },
        Route {
            path: "/flaky".into(),
            receiver: Receiver::new(verifier.clone())
                .with_replay_guard(InMemoryReplayGuard::new(100)),
            kind: Kind::Flaky,
        },
        Route {
            path: "/full".into(),
            receiver: Receiver::new(verifier.clone())
                .with_replay_guard(InMemoryReplayGuard::new(1)),
            kind: Kind::Event,
        },
        Route {
            path: "/custom".into(),
            receiver: Receiver::new(verifier).with_replay_guard(counting.clone()),
            kind: Kind::Custom,
        },
    ];
    for (i, case) in vectors().into_iter().enumerate() {
        let now = case.now;
        let mut secrets = case.secrets.iter().map(|s| secret(s));
        let mut v = Verifier::new(secrets.next().unwrap());
        for s in secrets {
            v = v.with_secret(s);
        }
        routes.push(Route {
            path: format!("/vector/{i}"),
            receiver: Receiver::new(v).with_clock(move || now),
            kind: Kind::Raw,
        });
    }
    (routes, guard, counting)
}

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    pub seen: Seen,
    pub guard: Arc<InMemoryReplayGuard>,
    pub counting: CountingGuard,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

/// A reply as the client saw it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

impl Reply {
    /// Asserts a rejection: status, `application/json`, and exactly
    /// `{"error":"<code>"}`.
    #[track_caller]
    pub fn rejected(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(
            self.content_type.as_deref(),
            Some("application/json"),
            "{self:?}"
        );
        let v: serde_json::Value = serde_json::from_str(&self.body).unwrap();
        assert_eq!(v, serde_json::json!({ "error": code }), "{self:?}");
    }

    #[track_caller]
    pub fn ok(&self) {
        assert_eq!(self.status, 200, "{self:?}");
        assert_eq!(self.body, "ok", "{self:?}");
    }

    #[track_caller]
    pub fn duplicate(&self) {
        assert_eq!(self.status, 200, "{self:?}");
        let v: serde_json::Value = serde_json::from_str(&self.body).unwrap();
        assert_eq!(v, serde_json::json!({ "status": "duplicate" }));
    }
}

/// No response body may carry a secret, a bearer token, an expected MAC, or the
/// payload.
#[track_caller]
pub fn assert_clean(reply_body: &str, timestamp: i64, body: &[u8]) {
    for s in [SECRET, OLD_SECRET, WRONG_SECRET, TOKEN] {
        assert!(!reply_body.contains(s), "secret in {reply_body:?}");
        let mac = Signer::new(secret_or_raw(s)).signatures(timestamp, body);
        for m in mac {
            assert!(!reply_body.contains(&m), "MAC in {reply_body:?}");
            assert!(!reply_body.to_ascii_lowercase().contains(&m));
        }
    }
    if body.len() >= 8 && body != b"ok" {
        let text = String::from_utf8_lossy(body);
        assert!(!reply_body.contains(text.as_ref()), "payload in reply");
    }
    assert!(!reply_body.contains("evt_"), "event id in {reply_body:?}");
}

fn secret_or_raw(s: &str) -> Secret {
    Secret::new(s).unwrap_or_else(|_| Secret::from_raw_key(s.as_bytes()).unwrap())
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// POSTs `body` with `headers` through a real HTTP client; checks the reply is clean.
pub async fn post_raw(url: &str, headers: &[(&str, String)], body: &[u8], t: i64) -> Reply {
    let mut req = client().post(url).body(body.to_vec());
    for (n, v) in headers {
        req = req.header(*n, v.as_str());
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let body_text = res.text().await.unwrap();
    assert_clean(&body_text, t, body);
    Reply {
        status,
        content_type,
        body: body_text,
    }
}

/// POSTs a signed delivery.
pub async fn post(url: &str, d: &Delivery) -> Reply {
    let headers: Vec<(&str, String)> = d.headers().iter().map(|(n, v)| (*n, v.clone())).collect();
    post_raw(url, &headers, d.body(), d.timestamp()).await
}

/// The delivery's headers without (or replacing) one.
pub fn headers_without(d: &Delivery, name: &str) -> Vec<(&'static str, String)> {
    d.headers()
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case(name))
        .map(|(n, v)| (*n, v.clone()))
        .collect()
}

/// Writes `request` on a raw connection without closing it (the request stays "in
/// flight") and reads one response; panics if none comes within 10 s.
pub async fn raw_exchange(addr: SocketAddr, request: &[u8]) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let read = async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = find(&buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let len = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map(|v| v.trim().parse::<usize>().unwrap());
                if let Some(len) = len
                    && buf.len() >= end + 4 + len
                {
                    break;
                }
            }
            let n = stream.read(&mut chunk).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        buf
    };
    let buf = tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("no response while the request body was still incomplete");
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The head of a raw HTTP/1.1 request for `d`, with `extra` header lines.
fn raw_head(d: &Delivery, path: &str, addr: SocketAddr, extra: &str, skip: &str) -> Vec<u8> {
    let mut head = format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\n");
    for (n, v) in d.headers() {
        if !n.eq_ignore_ascii_case(skip) {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
    }
    head.push_str(extra);
    head.push_str("\r\n");
    head.into_bytes()
}

// ---------------------------------------------------------------------------
// The adapter cases, each against a running server.
// ---------------------------------------------------------------------------

pub async fn valid_run_completed(s: &Server) {
    let d = signer().delivery(sample::RUN_COMPLETED).build();
    post(&s.url("/webhooks"), &d).await.ok();
    let seen = s.seen.on("/webhooks");
    assert_eq!(seen.len(), 1);
    let r = &seen[0];
    assert_eq!(r.kind, Some(EventKind::RunCompleted));
    assert_eq!(r.event_type, "run.completed");
    assert_eq!(
        r.event_id.as_deref(),
        Some("evt_01JQ7R2M4X9K3T5V8B6N1C0D2E")
    );
    assert_eq!(r.dedupe_key, r.event_id);
    assert_eq!(
        r.run_id.as_deref(),
        Some("3f8e2a1c-7b4d-4e9f-a6c2-1d5b8e7f9a03")
    );
    assert_eq!(r.key_id, secret(SECRET).key_id().to_string());
    assert_eq!(r.delivery_id.as_deref(), d.header("X-Nexio-Delivery"));
    assert!((0..=5).contains(&r.skew), "{r:?}");
}

pub async fn valid_run_failed(s: &Server) {
    let d = signer().delivery(sample::RUN_FAILED).build();
    post(&s.url("/webhooks"), &d).await.ok();
    let seen = s.seen.on("/webhooks");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].kind, Some(EventKind::RunFailed));
    assert_eq!(
        seen[0].run_error.as_deref(),
        Some("input document could not be parsed")
    );
}

pub async fn rotation_header(s: &Server) {
    // Nexio during the overlap: one v1 per valid secret (old first).
    let rotating = Signer::new(secret(OLD_SECRET)).with_secret(secret(SECRET));
    let d = rotating.delivery(sample::RUN_COMPLETED).build();
    assert_eq!(
        d.header("X-Nexio-Signature")
            .unwrap()
            .matches("v1=")
            .count(),
        2
    );
    post(&s.url("/webhooks"), &d).await.ok();
    // A receiver holding both secrets, only the old one signed.
    let old_only = Signer::new(secret(OLD_SECRET))
        .delivery(sample::RUN_FAILED)
        .build();
    post(&s.url("/rotation"), &old_only).await.ok();
    assert_eq!(
        s.seen.on("/rotation")[0].key_id,
        secret(OLD_SECRET).key_id().to_string()
    );
    assert_eq!(
        s.seen.on("/webhooks")[0].key_id,
        secret(SECRET).key_id().to_string()
    );
}

pub async fn tampered_body(s: &Server) {
    let d = signer().delivery(sample::RUN_COMPLETED).build();
    let tampered = sample::RUN_COMPLETED.replace("\"coverage\":0.75", "\"coverage\":0.99");
    assert_ne!(tampered, sample::RUN_COMPLETED);
    let headers = headers_without(&d, "");
    post_raw(
        &s.url("/webhooks"),
        &headers,
        tampered.as_bytes(),
        d.timestamp(),
    )
    .await
    .rejected(401, "signature_mismatch");
    assert!(s.seen.all().is_empty());
}

pub async fn wrong_secret(s: &Server) {
    let d = Signer::new(secret(WRONG_SECRET))
        .delivery(sample::RUN_COMPLETED)
        .build();
    post(&s.url("/webhooks"), &d)
        .await
        .rejected(401, "signature_mismatch");
    assert!(s.seen.all().is_empty());
}

pub async fn stale(s: &Server) {
    let d = signer()
        .delivery(sample::RUN_COMPLETED)
        .timestamp(unix_now() - 301 - 5)
        .build();
    post(&s.url("/webhooks"), &d)
        .await
        .rejected(401, "timestamp_too_old");
    assert!(s.seen.all().is_empty());
}

pub async fn future(s: &Server) {
    let d = signer()
        .delivery(sample::RUN_COMPLETED)
        .timestamp(unix_now() + 301 + 5)
        .build();
    post(&s.url("/webhooks"), &d)
        .await
        .rejected(401, "timestamp_too_new");
    assert!(s.seen.all().is_empty());
}

pub async fn missing_signature(s: &Server) {
    let d = signer().delivery(sample::RUN_COMPLETED).build();
    let headers = headers_without(&d, "X-Nexio-Signature");
    post_raw(&s.url("/webhooks"), &headers, d.body(), d.timestamp())
        .await
        .rejected(400, "missing_signature");
    assert!(s.seen.all().is_empty());
}

pub async fn malformed_signature(s: &Server) {
    let d = signer().delivery(sample::RUN_COMPLETED).build();
    for bad in [
        "garbage".to_owned(),
        format!("t={},v1", d.timestamp()),
        format!("t=+{},v1={}", d.timestamp(), "a".repeat(64)),
        format!("v1={}", "a".repeat(64)),
    ] {
        let mut headers = headers_without(&d, "X-Nexio-Signature");
        headers.push(("X-Nexio-Signature", bad));
        post_raw(&s.url("/webhooks"), &headers, d.body(), d.timestamp())
            .await
            .rejected(400, "malformed_signature");
    }
    // Repeated header.
    let mut headers = headers_without(&d, "");
    headers.push((
        "X-Nexio-Signature",
        d.header("X-Nexio-Signature").unwrap().to_owned(),
    ));
    post_raw(&s.url("/webhooks"), &headers, d.body(), d.timestamp())
        .await
        .rejected(400, "malformed_signature");
    // Over 16 v1 entries: refused before hashing, as malformed input.
    let mut many = format!("t={}", d.timestamp());
    for _ in 0..17 {
        many.push_str(&format!(",v1={}", "b".repeat(64)));
    }
    let mut headers = headers_without(&d, "X-Nexio-Signature");
    headers.push(("X-Nexio-Signature", many));
    post_raw(&s.url("/webhooks"), &headers, d.body(), d.timestamp())
        .await
        .rejected(400, "too_many_signatures");
    assert!(s.seen.all().is_empty());
}

/// A valid signature but a `Content-Length` of 1 GiB, of which only a few bytes are
/// sent: the 413 must come while the body is still incomplete.
pub async fn oversized_content_length(s: &Server) {
    let d = signer().delivery(sample::RUN_COMPLETED).build();
    for path in ["/webhooks", "/small"] {
        let mut req = raw_head(
            &d,
            path,
            s.addr,
            "Content-Length: 1073741824\r\n",
            "__none__",
        );
        req.extend_from_slice(&d.body()[..16]);
        let (status, body) = raw_exchange(s.addr, &req).await;
        assert_eq!(status, 413, "{path}: {body}");
        assert_eq!(body, r#"{"error":"payload_too_large"}"#);
    }
    assert!(s.seen.all().is_empty());
}

/// A chunked body that goes past the limit and never ends: the server stops reading
/// at the limit and answers 413 while the client is still "sending".
pub async fn oversized_chunked(s: &Server) {
    let body = vec![b' '; SMALL_LIMIT + 1];
    let d = signer().delivery(body.clone()).build();
    let mut req = raw_head(
        &d,
        "/small",
        s.addr,
        "Transfer-Encoding: chunked\r\n",
        "__none__",
    );
    for part in body.chunks(100) {
        req.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        req.extend_from_slice(part);
        req.extend_from_slice(b"\r\n");
    }
    // More chunks follow in a real attack; the terminating `0\r\n\r\n` never comes.
    let (status, reply) = raw_exchange(s.addr, &req).await;
    assert_eq!(status, 413, "{reply}");
    assert_eq!(reply.trim_end(), r#"{"error":"payload_too_large"}"#);
    assert!(s.seen.all().is_empty());
}

/// A body of exactly the limit is accepted; one byte more is not (real client).
pub async fn body_limit_boundary(s: &Server) {
    let at_limit = format!(r#"{{"id":"evt_edge"{}}}"#, " ".repeat(SMALL_LIMIT - 17));
    assert_eq!(at_limit.len(), SMALL_LIMIT);
    let d = signer().delivery(at_limit.clone()).build();
    post(&s.url("/small"), &d).await.ok();
    assert_eq!(
        s.seen.on("/small")[0].body.as_deref(),
        Some(at_limit.as_bytes())
    );
    // One byte more, announced by Content-Length: refused before reading; the client
    // may see the 413 or a reset while still writing, both prove the point, so this
    // goes through the raw path.
    let over = format!("{at_limit} ");
    let d = signer().delivery(over).build();
    let mut req = raw_head(
        &d,
        "/small",
        s.addr,
        &format!("Content-Length: {}\r\n", SMALL_LIMIT + 1),
        "__none__",
    );
    req.extend_from_slice(d.body());
    let (status, _) = raw_exchange(s.addr, &req).await;
    assert_eq!(status, 413);
    assert_eq!(s.seen.on("/small").len(), 1);
}

/// Header problems are answered before the body is read: a huge announced body with
/// a bad signature header gets its 400/401 at once.
pub async fn headers_checked_before_body(s: &Server) {
    let d = signer()
        .delivery(sample::RUN_COMPLETED)
        .timestamp(unix_now() - 3600)
        .build();
    let mut req = raw_head(
        &d,
        "/webhooks",
        s.addr,
        "Content-Length: 1073741824\r\n",
        "__none__",
    );
    req.extend_from_slice(b"{");
    let (status, body) = raw_exchange(s.addr, &req).await;
    assert_eq!(
        (status, body.as_str()),
        (401, r#"{"error":"timestamp_too_old"}"#)
    );

    let mut req = raw_head(
        &d,
        "/webhooks",
        s.addr,
        "Content-Length: 1073741824\r\n",
        "X-Nexio-Signature",
    );
    req.extend_from_slice(b"{");
    let (status, body) = raw_exchange(s.addr, &req).await;
    assert_eq!(
        (status, body.as_str()),
        (400, r#"{"error":"missing_signature"}"#)
    );
    assert!(s.seen.all().is_empty());
}

/// One keep-alive client: a request refused before its body was read must not
/// leave that body to be parsed as the next request.
pub async fn keep_alive_after_early_rejection(s: &Server) {
    let client = client();
    let send = |d: Delivery, path: &str| {
        let mut req = client.post(s.url(path));
        for (n, v) in d.headers() {
            req = req.header(*n, v.as_str());
        }
        let req = req.body(d.body().to_vec());
        async move {
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    let padding = " ".repeat(8 * 1024);
    for i in 0..3 {
        let body = format!(r#"{{"id":"evt_keepalive_{i}","type":"x"}}{padding}"#);
        let stale = signer()
            .delivery(body.clone())
            .timestamp(unix_now() - 3600)
            .build();
        let (status, _) = send(stale, "/small").await;
        assert!(status == 401 || status == 413, "{status}");
        let fresh = signer()
            .delivery(format!(r#"{{"id":"evt_keepalive_{i}"}}"#))
            .build();
        assert_eq!(send(fresh, "/small").await, (200, "ok".to_owned()));
    }
    assert_eq!(s.seen.on("/small").len(), 3);
}

pub async fn invalid_json(s: &Server) {
    let d = signer()
        .delivery(r#"{"id":"evt_1","type":"run.completed",,"#)
        .build();
    post(&s.url("/webhooks"), &d)
        .await
        .rejected(422, "invalid_json");
    let d = signer()
        .delivery(
            r#"{"id":"evt_2","type":"run.completed","webhook_version":"2026-03-22","data":{}}"#,
        )
        .build();
    post(&s.url("/webhooks"), &d)
        .await
        .rejected(422, "invalid_event");
    assert!(s.seen.all().is_empty());
    // Not recorded by the guard: a fixed receiver processes the retry.
    assert!(s.guard.is_empty());
}

pub async fn unsupported_version(s: &Server) {
    let body =
        sample::RUN_COMPLETED.replace("2026-03-22\",\"created_at", "2027-01-01\",\"created_at");
    assert_ne!(body, sample::RUN_COMPLETED);
    let d = signer().delivery(body).build();
    post(&s.url("/webhooks"), &d)
        .await
        .rejected(422, "unsupported_version");
    assert!(s.seen.all().is_empty());
    assert!(s.guard.is_empty());
}

pub async fn duplicate_with_guard(s: &Server) {
    let d = signer().delivery(sample::RUN_COMPLETED).build();
    post(&s.url("/webhooks"), &d).await.ok();
    post(&s.url("/webhooks"), &d).await.duplicate();
    // A retry: new timestamp and signature, same signed event id.
    let retry = signer()
        .delivery(sample::RUN_COMPLETED)
        .timestamp(unix_now() + 1)
        .build();
    post(&s.url("/webhooks"), &retry).await.duplicate();
    assert_eq!(s.seen.on("/webhooks").len(), 1, "handler called once");
    assert_eq!(s.guard.len(), 1);
    // Without a guard, nothing is deduplicated.
    post(&s.url("/unguarded"), &d).await.ok();
    post(&s.url("/unguarded"), &d).await.ok();
    assert_eq!(s.seen.on("/unguarded").len(), 2);
}

/// The documented release path: the handler fails without completing its claim and
/// answers 500; Nexio's retry is then processed.
pub async fn failed_handler_releases_the_key(s: &Server) {
    let d = signer().delivery(sample::RUN_FAILED).build();
    let first = post(&s.url("/flaky"), &d).await;
    assert_eq!(first.status, 500);
    post(&s.url("/flaky"), &d).await.ok();
    post(&s.url("/flaky"), &d).await.duplicate();
    assert_eq!(s.seen.on("/flaky").len(), 2);
}

pub async fn guard_full(s: &Server) {
    let a = signer().delivery(sample::RUN_COMPLETED).build();
    let b = signer().delivery(sample::RUN_FAILED).build();
    post(&s.url("/full"), &a).await.ok();
    post(&s.url("/full"), &b)
        .await
        .rejected(503, "replay_guard_full");
    assert_eq!(s.seen.on("/full").len(), 1);
}

pub async fn bearer_token(s: &Server) {
    let url = s.url("/bearer");
    let good = signer()
        .delivery(sample::RUN_COMPLETED)
        .bearer_token(TOKEN)
        .build();
    post(&url, &good).await.ok();
    let wrong = signer()
        .delivery(sample::RUN_COMPLETED)
        .bearer_token("tok_wrong")
        .build();
    post(&url, &wrong)
        .await
        .rejected(401, "bearer_token_mismatch");
    let missing = signer().delivery(sample::RUN_COMPLETED).build();
    post(&url, &missing)
        .await
        .rejected(401, "missing_bearer_token");
    // The token is a second factor: a right token with a wrong signature fails.
    let forged = Signer::new(secret(WRONG_SECRET))
        .delivery(sample::RUN_COMPLETED)
        .bearer_token(TOKEN)
        .build();
    post(&url, &forged)
        .await
        .rejected(401, "signature_mismatch");
    assert_eq!(s.seen.on("/bearer").len(), 1);
}

/// A user's serde type, and a replay guard implemented downstream with a real await.
pub async fn custom_type_and_async_guard(s: &Server) {
    let d = signer().delivery(sample::RUN_FAILED).build();
    post(&s.url("/custom"), &d).await.ok();
    post(&s.url("/custom"), &d).await.duplicate();
    let seen = s.seen.on("/custom");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].event_type, "run.failed");
    assert_eq!(s.counting.calls.load(Ordering::SeqCst), 2);
}

// ---------------------------------------------------------------------------
// The shared known-answer vectors, through the adapter.
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
struct File {
    cases: Vec<Vector>,
}

#[derive(Deserialize, Clone)]
pub struct Vector {
    pub name: String,
    pub secrets: Vec<String>,
    pub header: String,
    pub body_base64: String,
    pub now: i64,
    pub expect: String,
}

pub fn vectors() -> Vec<Vector> {
    let text = include_str!("../data/known-answer.json");
    serde_json::from_str::<File>(text).unwrap().cases
}

pub async fn known_answer_vectors(s: &Server) {
    let cases = vectors();
    assert!(cases.len() >= 37, "vectors file truncated: {}", cases.len());
    for (i, case) in cases.iter().enumerate() {
        let body = base64::engine::general_purpose::STANDARD
            .decode(&case.body_base64)
            .unwrap();
        let t = 1_774_180_800;
        let headers = [("X-Nexio-Signature", case.header.clone())];
        let reply = post_raw(&s.url(&format!("/vector/{i}")), &headers, &body, t).await;
        let expected = match case.expect.as_str() {
            "ok" => 200,
            "malformed" => 400,
            "no_match" | "too_old" | "too_new" => 401,
            other => panic!("unknown expectation {other}"),
        };
        assert_eq!(reply.status, expected, "case {:?}: {reply:?}", case.name);
        if expected == 200 {
            let seen = s.seen.on(&format!("/vector/{i}"));
            assert_eq!(seen.len(), 1, "case {:?}", case.name);
            assert_eq!(seen[0].body.as_deref(), Some(&body[..]), "exact bytes");
        } else {
            let v: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
            let code = v["error"].as_str().unwrap();
            let class = match code {
                "signature_mismatch" => "no_match",
                "timestamp_too_old" => "too_old",
                "timestamp_too_new" => "too_new",
                "malformed_signature" | "signature_header_too_large" | "too_many_signatures" => {
                    "malformed"
                }
                other => panic!("case {:?}: unexpected code {other}", case.name),
            };
            assert_eq!(class, case.expect, "case {:?}", case.name);
        }
    }
}
