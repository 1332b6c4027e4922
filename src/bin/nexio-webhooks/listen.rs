//! `listen`: a local receiver that verifies every delivery, processes it exactly once,
//! and prints it — or, with `--forward-to`, a verifying proxy in front of an app.
//!
//! The verification and the claim are the library's `tower` layer
//! ([`NexioWebhookLayer`]) on the delivery route: signature header, window and bearer
//! token before the body is read; the body limit; the MAC over the exact bytes; the
//! event's envelope; the claim on its id with the replay guard (in memory, or shared
//! in Redis with `--redis`). Its answers are the library's: 400/401 for malformed or
//! unauthenticated deliveries, 413 past the body limit, 422 for a verified but
//! unusable payload, `200 {"status":"duplicate"}` for a processed one, 409 with
//! `Retry-After` for one still in progress.
//!
//! Behind the layer, each verified delivery is printed and answered 200, or forwarded
//! with its exact body and headers to `--forward-to`; the app's status is the answer,
//! and decides whether the delivery counts as processed (2xx: completed) or not
//! (anything else: released, so Nexio's retry is processed). An app that cannot be
//! reached, or does not answer within `--forward-timeout`, is answered 502 and the
//! delivery released.

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{SecondsFormat, Utc};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use nexio_webhooks::axum::VerifiedDelivery;
use nexio_webhooks::redis::RedisReplayGuard;
use nexio_webhooks::tower::NexioWebhookLayer;
use nexio_webhooks::{
    AsyncReplayGuard, InMemoryReplayGuard, Receiver, Rejection, VersionPolicy, dangerous,
};

use crate::args::ListenArgs;
use crate::fail::{Outcome, UsageError};
use crate::secrets;

/// How many event ids the in-memory replay guard holds (claims and completed keys).
const REPLAY_CAPACITY: usize = 100_000;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

#[derive(Clone)]
struct AppState {
    print_body: bool,
    forward: Option<Forward>,
}

#[derive(Clone)]
struct Forward {
    url: hyper::Uri,
    timeout: Duration,
    client: HttpClient,
}

/// Behind the layer: the delivery is verified and claimed. Print it, then answer 200
/// (or the forwarded app's answer).
async fn receive(
    State(state): State<AppState>,
    delivery: VerifiedDelivery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(forward) = &state.forward else {
        // The layer checked the envelope only; this receiver reads the typed event, so
        // a payload it cannot parse is refused as the extractor refuses it (422: the
        // claim is released and Nexio retries).
        if let Err(e) = dangerous::parse_unverified_event(&body, VersionPolicy::AcceptOther) {
            say(&format!(
                "{} rejected {} -> {} (signature verified)\n",
                now_text(),
                e.code(),
                e.status().as_u16()
            ));
            return answer(e.status(), format!(r#"{{"error":"{}"}}"#, e.code()));
        }
        print_accepted(&delivery, &body, "ok", state.print_body);
        return answer(StatusCode::OK, r#"{"status":"ok"}"#.to_owned());
    };
    let response = forward_delivery(forward, &headers, body.clone()).await;
    let verdict = if response.status().is_success() {
        format!("forwarded -> {}", response.status().as_u16())
    } else {
        format!("forwarded -> {} (released)", response.status().as_u16())
    };
    print_accepted(&delivery, &body, &verdict, state.print_body);
    response
}

/// Sends the exact body and the delivery's headers to the app; its answer, or 502.
async fn forward_delivery(forward: &Forward, headers: &HeaderMap, body: Bytes) -> Response {
    let mut request = hyper::Request::builder()
        .method(hyper::Method::POST)
        .uri(forward.url.clone());
    for (name, value) in headers {
        // Hop-by-hop and framing headers belong to each connection, not the delivery.
        if matches!(
            name.as_str(),
            "host"
                | "connection"
                | "content-length"
                | "transfer-encoding"
                | "expect"
                | "keep-alive"
        ) {
            continue;
        }
        request = request.header(name, value);
    }
    let Ok(request) = request.body(Full::new(body)) else {
        return bad_gateway("the delivery could not be forwarded");
    };
    let exchange = async {
        let response = forward.client.request(request).await.ok()?;
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.ok()?.to_bytes();
        Some((parts, bytes))
    };
    match tokio::time::timeout(forward.timeout, exchange).await {
        Ok(Some((parts, bytes))) => {
            let mut response = Response::new(axum::body::Body::from(bytes));
            *response.status_mut() = parts.status;
            if let Some(content_type) = parts.headers.get(header::CONTENT_TYPE) {
                response
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, content_type.clone());
            }
            response
        }
        Ok(None) => bad_gateway("the app could not be reached"),
        Err(_) => bad_gateway("the app did not answer in time"),
    }
}

fn bad_gateway(why: &str) -> Response {
    say(&format!("{} forward failed: {why} -> 502\n", now_text()));
    answer(
        StatusCode::BAD_GATEWAY,
        r#"{"error":"forward_failed"}"#.to_owned(),
    )
}

/// A JSON answer.
fn answer(status: StatusCode, json: String) -> Response {
    let mut response = (status, json).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn now_text() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// One line: time, verdict, event type, event id, run id, run status, key id (and
/// the pretty-printed payload with `--print-body`). The body was verified by the
/// layer before this handler ran.
fn print_accepted(delivery: &VerifiedDelivery, body: &[u8], verdict: &str, print_body: bool) {
    let event = dangerous::parse_unverified_event(body, VersionPolicy::AcceptOther).ok();
    let run = event.as_ref().and_then(|e| e.run());
    let mut text = format!(
        "{} {verdict} {} {} run={} status={} key={}\n",
        now_text(),
        event.as_ref().map_or("-", |e| e.event_type()),
        delivery.dedupe_key.as_deref().unwrap_or("-"),
        run.map_or("-", |r| r.run_id.as_str()),
        run.and_then(|r| r.status.as_ref())
            .map_or("-", |s| s.as_str()),
        delivery.info.key_id,
    );
    if print_body {
        text.push_str(&pretty_json(&String::from_utf8_lossy(body)));
        text.push('\n');
    }
    say(&text);
}

/// What the layer answered itself. A duplicate or a delivery in progress was verified:
/// it is printed with its (unsigned) `X-Nexio-Event` and `X-Nexio-Delivery` headers.
fn print_rejection(rejection: &Rejection, parts: &axum::http::request::Parts) {
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map_or_else(|| "-".to_owned(), |v| v.escape_debug().to_string())
    };
    let text = match rejection {
        Rejection::Duplicate => format!(
            "{} duplicate {} delivery={} -> 200\n",
            now_text(),
            header("x-nexio-event"),
            header("x-nexio-delivery")
        ),
        Rejection::InProgress { retry_after_secs } => format!(
            "{} in-progress {} delivery={} -> 409 (retry after {retry_after_secs} s)\n",
            now_text(),
            header("x-nexio-event"),
            header("x-nexio-delivery")
        ),
        Rejection::Parse(_) => format!(
            "{} rejected {} -> {} (signature verified)\n",
            now_text(),
            rejection.code(),
            rejection.status().as_u16()
        ),
        _ => format!(
            "{} rejected {} -> {}\n",
            now_text(),
            rejection.code(),
            rejection.status().as_u16()
        ),
    };
    say(&text);
}

/// Anything but `POST --path`: 404, and a hint, since a wrong URL in the sender is
/// the usual reason.
#[allow(clippy::unused_async)]
async fn not_found(method: Method, uri: Uri, path: String) -> Response {
    say(&format!(
        "{} {method} {uri} -> 404 (deliveries go to POST {path})\n",
        now_text()
    ));
    answer(StatusCode::NOT_FOUND, r#"{"error":"not_found"}"#.to_owned())
}

/// Another method on the delivery path: 405, logged.
#[allow(clippy::unused_async)]
async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    say(&format!(
        "{} {method} {uri} -> 405 (deliveries are POSTed)\n",
        now_text()
    ));
    let mut response = answer(
        StatusCode::METHOD_NOT_ALLOWED,
        r#"{"error":"method_not_allowed"}"#.to_owned(),
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    response
}

/// Re-indents valid JSON text with two spaces, keeping the keys in the order they
/// were signed (re-serializing a parsed value would sort them).
fn pretty_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len().saturating_mul(2));
    let mut depth: usize = 0;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = json.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.extend(std::iter::repeat_n("  ", depth));
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                while chars.next_if(|n| n.is_ascii_whitespace()).is_some() {}
                if let Some(close) = chars.next_if(|n| matches!(n, '}' | ']')) {
                    out.push(close);
                } else {
                    depth = depth.saturating_add(1);
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_ascii_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

/// Writes to stdout, ignoring a closed pipe (a receiver must not die of it).
fn say(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}

pub async fn run(args: &ListenArgs) -> Result<Outcome, UsageError> {
    if !args.path.starts_with('/') {
        return Err(UsageError::new(format!(
            "--path {:?} must start with /",
            args.path
        )));
    }
    let verifier = secrets::verifier(&args.policy)?;
    let lease = Duration::from_secs(args.lease);
    let retention = Duration::from_secs(args.retention);
    let guard: Arc<dyn AsyncReplayGuard> = match &args.redis {
        Some(url) => Arc::new(
            RedisReplayGuard::connect(url)
                .await
                .map_err(|e| UsageError::new(format!("--redis: {e}")))?
                .with_lease(lease)
                .with_retention(retention),
        ),
        None => Arc::new(
            InMemoryReplayGuard::new(REPLAY_CAPACITY)
                .with_lease(lease)
                .with_retention(retention),
        ),
    };
    let forward = match &args.forward_to {
        None => None,
        Some(url) => {
            let uri: hyper::Uri = url
                .parse()
                .map_err(|_| UsageError::new(format!("--forward-to {url:?} is not a URL")))?;
            if uri.scheme_str() != Some("http") || uri.host().is_none() {
                return Err(UsageError::new(format!(
                    "--forward-to {url:?}: an http:// URL of the app is expected"
                )));
            }
            Some(Forward {
                url: uri,
                timeout: Duration::from_secs_f64(args.forward_timeout.max(0.001)),
                client: Client::builder(TokioExecutor::new()).build_http(),
            })
        }
    };
    let observer = Observer {
        verifier: verifier.clone(),
        record: match &args.record {
            None => None,
            Some(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| UsageError::new(format!("--record {}: {e}", dir.display())))?;
                Some(Arc::new(dir.clone()))
            }
        },
        seq: Arc::new(AtomicU64::new(0)),
    };
    let receiver = Receiver::new(verifier)
        .with_body_limit(args.max_body)
        .with_shared_replay_guard(guard);
    let layer = NexioWebhookLayer::new(receiver).inspect_rejections(print_rejection);
    let state = AppState {
        print_body: args.print_body,
        forward,
    };
    let path = args.path.clone();
    let app = Router::new()
        .route(
            &args.path,
            post(receive)
                .route_layer(layer)
                .fallback(method_not_allowed)
                .layer(axum::middleware::from_fn_with_state(observer, observe)),
        )
        .fallback(move |method: Method, uri: Uri| not_found(method, uri, path.clone()))
        .with_state(state);
    let socket = tokio::net::TcpListener::bind(SocketAddr::new(args.host, args.port))
        .await
        .map_err(|e| {
            UsageError::new(format!("cannot listen on {}:{}: {e}", args.host, args.port))
        })?;
    let addr = socket
        .local_addr()
        .map_err(|e| UsageError::new(format!("cannot read the bound address: {e}")))?;
    say(&format!(
        "listening on http://{addr}{} (Ctrl-C to stop)\n",
        args.path
    ));
    serve(socket, app, shutdown_signal()).await;
    say("stopped\n");
    Ok(Outcome::Success)
}

/// Around the verifying layer: sees the bytes the layer reads (never more: it copies
/// them as they pass), then logs the hint codes of a rejection (`Verifier::diagnose`)
/// and, with `--record DIR`, writes the delivery as a raw `.http` file.
#[derive(Clone)]
struct Observer {
    verifier: nexio_webhooks::Verifier,
    record: Option<Arc<std::path::PathBuf>>,
    seq: Arc<AtomicU64>,
}

/// A request body that copies what is read of it.
struct Tee {
    inner: axum::body::Body,
    seen: Arc<std::sync::Mutex<(Vec<u8>, bool)>>,
}

impl axum::body::HttpBody for Tee {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        if let std::task::Poll::Ready(frame) = &polled {
            let mut seen = self
                .seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match frame {
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        seen.0.extend_from_slice(data);
                    }
                }
                None => seen.1 = true,
                Some(Err(_)) => {}
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

async fn observe(
    State(observer): State<Observer>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let head = (
        parts.method.clone(),
        parts.uri.clone(),
        parts.headers.clone(),
    );
    let seen = Arc::new(std::sync::Mutex::new((Vec::new(), false)));
    let tee = Tee {
        inner: body,
        seen: Arc::clone(&seen),
    };
    let response = next
        .run(axum::extract::Request::from_parts(
            parts,
            axum::body::Body::new(tee),
        ))
        .await;
    let (body, complete) = std::mem::take(
        &mut *seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    let status = response.status();
    if matches!(status.as_u16(), 400 | 401) {
        let now = nexio_webhooks::unix_now();
        let hints: Vec<&'static str> = if complete {
            let diagnosis = observer.verifier.diagnose(&head.2, &body, now);
            diagnosis.hints().iter().map(|h| h.code()).collect()
        } else {
            observer
                .verifier
                .diagnose_headers(&head.2, now)
                .iter()
                .map(|h| h.code())
                .collect()
        };
        if !hints.is_empty() {
            say(&format!("{}   hints: {}\n", now_text(), hints.join(", ")));
        }
    }
    if let Some(dir) = &observer.record {
        let n = observer.seq.fetch_add(1, Ordering::Relaxed);
        record_http(dir, n, status, &head, &body, complete);
    }
    response
}

/// Writes one received request as a raw `.http` file (what `verify` and `replay`
/// read): `<time>-<n>-<status>.http`. A body not read to its end (refused before or
/// while it was read) is written as far as it was read, and `.partial` is added to
/// the name.
fn record_http(
    dir: &std::path::Path,
    n: u64,
    status: StatusCode,
    (method, uri, headers): &(Method, Uri, HeaderMap),
    body: &[u8],
    complete: bool,
) {
    let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
    let name = format!(
        "{stamp}-{n:06}-{}{}.http",
        status.as_u16(),
        if complete { "" } else { ".partial" }
    );
    let mut file = format!("{method} {uri} HTTP/1.1\r\n").into_bytes();
    for (name, value) in headers {
        if name == header::CONTENT_LENGTH || name == header::TRANSFER_ENCODING {
            continue;
        }
        file.extend_from_slice(name.as_str().as_bytes());
        file.extend_from_slice(b": ");
        file.extend_from_slice(value.as_bytes());
        file.extend_from_slice(b"\r\n");
    }
    file.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    file.extend_from_slice(body);
    let path = dir.join(&name);
    match std::fs::write(&path, &file) {
        Ok(()) => say(&format!("{}   recorded {name}\n", now_text())),
        Err(e) => say(&format!("{}   could not record {name}: {e}\n", now_text())),
    }
}

/// How long a client may take to send a request's head: a sender trickling its
/// headers is cut off (the body has its own deadline, the receiver's body-read
/// timeout).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `app` until `shutdown`, each connection with hyper's header-read timeout
/// (which `axum::serve` does not set). Connections still open at shutdown are
/// dropped with the runtime: a delivery cut off that way is released, not lost.
async fn serve(socket: tokio::net::TcpListener, app: Router, shutdown: impl Future<Output = ()>) {
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = socket.accept() => accepted,
            () = &mut shutdown => return,
        };
        let Ok((stream, _)) = accepted else {
            // Out of file descriptors or a connection reset before accept: pause
            // rather than spin.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT);
            let _ = builder
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Ctrl-C (SIGINT), or SIGTERM on Unix.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

#[cfg(test)]
mod tests {
    use super::pretty_json;

    #[test]
    fn pretty_json_keeps_key_order_and_strings() {
        let raw = r#"{"z":1, "a":[1,{"s":"a,b:{}[]\"\\"}],"e":{},"l":[ ]}"#;
        let want = "{\n  \"z\": 1,\n  \"a\": [\n    1,\n    {\n      \"s\": \"a,b:{}[]\\\"\\\\\"\n    }\n  ],\n  \"e\": {},\n  \"l\": []\n}";
        assert_eq!(pretty_json(raw), want);
        // Same JSON value as the input.
        let a: serde_json::Value = serde_json::from_str(raw).unwrap_or_default();
        let b: serde_json::Value = serde_json::from_str(&pretty_json(raw)).unwrap_or_default();
        assert_eq!(a, b);
    }
}
