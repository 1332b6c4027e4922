//! `listen`: a local receiver that verifies every delivery and prints it.
//!
//! It answers as CONTRACT §8 says a receiver should: 200 for a verified delivery
//! (and for a duplicate of one already accepted), 400/401 for malformed or
//! unauthenticated ones, 413 past the body limit, 422 for a verified but unusable
//! payload; the body names the error class only.
//!
//! The HTTP side is axum; the decision is [`judge`], which only calls the library's
//! core (`Verifier::verify_at`, `Verified::event`, the replay guard), so it can be
//! replaced by the library's axum extractor without touching the printing.

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{SecondsFormat, Utc};
use nexio_webhooks::{
    Event, InMemoryReplayGuard, ReplayGuard as _, ReplayStatus, Verifier, unix_now,
};

use crate::args::ListenArgs;
use crate::fail::{Outcome, UsageError};
use crate::secrets;

/// How many event ids the replay guard remembers (each until its replay window ends).
const REPLAY_CAPACITY: usize = 100_000;

struct Listener {
    verifier: Verifier,
    guard: InMemoryReplayGuard,
    print_body: bool,
}

/// What the receiver decided about one request.
#[derive(Debug)]
enum Verdict {
    Accepted {
        event: Box<Event>,
        key_id: String,
        duplicate: bool,
    },
    Rejected {
        code: &'static str,
        status: StatusCode,
        /// Which secret matched, when the signature verified but the payload did not
        /// parse.
        key_id: Option<String>,
    },
}

impl Verdict {
    fn rejected(code: &'static str, status: StatusCode) -> Self {
        Self::Rejected {
            code,
            status,
            key_id: None,
        }
    }
}

/// The receiver's decision: verify the exact bytes at `now`, parse, deduplicate.
fn judge(listener: &Listener, headers: &HeaderMap, body: &[u8], now: i64) -> Verdict {
    let verified = match listener.verifier.verify_at(headers, body, now) {
        Ok(v) => v,
        Err(e) => return Verdict::rejected(e.code(), e.status()),
    };
    let key_id = verified.key_id().to_string();
    let event = match verified.event() {
        Ok(event) => event,
        Err(e) => {
            return Verdict::Rejected {
                code: e.code(),
                status: e.status(),
                key_id: Some(key_id),
            };
        }
    };
    let duplicate =
        match listener
            .guard
            .check_and_record(event.id(), verified.replayable_until(), now)
        {
            Ok(ReplayStatus::Fresh) => false,
            Ok(ReplayStatus::Duplicate) => true,
            Err(e) => return Verdict::rejected(e.code(), e.status()),
        };
    Verdict::Accepted {
        event: Box::new(event),
        key_id,
        duplicate,
    }
}

/// `{"error":"<code>"}` or `{"status":"ok"|"duplicate"}`.
fn answer(status: StatusCode, json: String) -> Response {
    let mut response = (status, json).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

async fn receive(
    State(listener): State<Arc<Listener>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let now = unix_now();
    let verdict = match body {
        Ok(body) => judge(&listener, &headers, &body, now),
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Verdict::rejected("body_too_large", StatusCode::PAYLOAD_TOO_LARGE)
        }
        Err(e) => Verdict::rejected("body_read_failed", e.status()),
    };
    print_verdict(&verdict, listener.print_body);
    match verdict {
        Verdict::Accepted { duplicate, .. } => answer(
            StatusCode::OK,
            format!(
                r#"{{"status":"{}"}}"#,
                if duplicate { "duplicate" } else { "ok" }
            ),
        ),
        Verdict::Rejected { code, status, .. } => {
            answer(status, format!(r#"{{"error":"{code}"}}"#))
        }
    }
}

/// Anything but `POST --path`: 404, and a hint, since a wrong URL in the sender is
/// the usual reason.
#[allow(clippy::unused_async)]
async fn not_found(method: Method, uri: Uri, path: String) -> Response {
    let time = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    say(&format!(
        "{time} {method} {uri} -> 404 (deliveries go to POST {path})\n"
    ));
    answer(StatusCode::NOT_FOUND, r#"{"error":"not_found"}"#.to_owned())
}

/// One line per request (and the pretty-printed payload with `--print-body`).
fn print_verdict(verdict: &Verdict, print_body: bool) {
    let time = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut text = match verdict {
        Verdict::Accepted {
            event,
            key_id,
            duplicate,
        } => {
            let run = event.run();
            format!(
                "{time} {} {} {} run={} status={} key={key_id}\n",
                if *duplicate { "duplicate" } else { "ok" },
                event.event_type(),
                event.id(),
                run.map_or("-", |r| r.run_id.as_str()),
                run.and_then(|r| r.status.as_ref())
                    .map_or("-", |s| s.as_str()),
            )
        }
        Verdict::Rejected {
            code,
            status,
            key_id,
        } => match key_id {
            Some(key) => format!(
                "{time} rejected {code} -> {} (signature verified, key={key})\n",
                status.as_u16()
            ),
            None => format!("{time} rejected {code} -> {}\n", status.as_u16()),
        },
    };
    if print_body && let Verdict::Accepted { event, .. } = verdict {
        text.push_str(&pretty_json(event.raw().get()));
        text.push('\n');
    }
    say(&text);
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
    let listener = Arc::new(Listener {
        verifier: secrets::verifier(&args.policy)?,
        guard: InMemoryReplayGuard::new(REPLAY_CAPACITY),
        print_body: args.print_body,
    });
    let path = args.path.clone();
    let app = Router::new()
        .route(&args.path, post(receive))
        .fallback(move |method: Method, uri: Uri| not_found(method, uri, path.clone()))
        .layer(DefaultBodyLimit::max(args.max_body))
        .with_state(listener);
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
    axum::serve(socket, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| UsageError::new(format!("the server stopped: {e}")))?;
    say("stopped\n");
    Ok(Outcome::Success)
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
