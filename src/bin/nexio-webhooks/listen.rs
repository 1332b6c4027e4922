//! `listen`: a local receiver that verifies every delivery and prints it.
//!
//! The verification is the library's axum integration: the [`NexioWebhook`]
//! extractor with a [`Receiver`] in the router state (signature header, window and
//! bearer token before the body is read; the body limit; the MAC over the exact
//! bytes; the parse). Its [`Rejection`] is the answer, as CONTRACT §8 says: 400/401
//! for malformed or unauthenticated deliveries, 413 past the body limit, 422 for a
//! verified but unusable payload, the body naming the error class only.
//!
//! Deduplication is done here, after the extractor, with the library's in-memory
//! replay guard, so a duplicate can be printed with its event (answered 200 with
//! `{"status":"duplicate"}`, as the extractor's own guard would).

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{SecondsFormat, Utc};
use nexio_webhooks::axum::NexioWebhook;
use nexio_webhooks::{InMemoryReplayGuard, Receiver, Rejection, ReplayGuard as _, ReplayStatus};

use crate::args::ListenArgs;
use crate::fail::{Outcome, UsageError};
use crate::secrets;

/// How many event ids the replay guard remembers (each until its replay window ends).
const REPLAY_CAPACITY: usize = 100_000;

#[derive(Clone)]
struct AppState {
    receiver: Receiver,
    guard: Arc<InMemoryReplayGuard>,
    print_body: bool,
}

impl FromRef<AppState> for Receiver {
    fn from_ref(state: &AppState) -> Self {
        state.receiver.clone()
    }
}

async fn receive(State(state): State<AppState>, hook: Result<NexioWebhook, Rejection>) -> Response {
    let hook = match hook {
        Ok(hook) => hook,
        Err(rejection) => {
            print_rejection(&rejection);
            return rejection.into_response();
        }
    };
    let now = state.receiver.now();
    let duplicate =
        match state
            .guard
            .check_and_record(hook.event.id(), hook.info.replayable_until, now)
        {
            Ok(ReplayStatus::Fresh) => false,
            Ok(ReplayStatus::Duplicate) => true,
            Err(e) => {
                let rejection = Rejection::ReplayGuard(e);
                print_rejection(&rejection);
                return rejection.into_response();
            }
        };
    print_accepted(&hook, duplicate, state.print_body);
    let body = if duplicate {
        r#"{"status":"duplicate"}"#
    } else {
        r#"{"status":"ok"}"#
    };
    answer(StatusCode::OK, body.to_owned())
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
/// the pretty-printed payload with `--print-body`).
fn print_accepted(hook: &NexioWebhook, duplicate: bool, print_body: bool) {
    let event = &hook.event;
    let run = event.run();
    let mut text = format!(
        "{} {} {} {} run={} status={} key={}\n",
        now_text(),
        if duplicate { "duplicate" } else { "ok" },
        event.event_type(),
        event.id(),
        run.map_or("-", |r| r.run_id.as_str()),
        run.and_then(|r| r.status.as_ref())
            .map_or("-", |s| s.as_str()),
        hook.info.key_id,
    );
    if print_body {
        text.push_str(&pretty_json(event.raw().get()));
        text.push('\n');
    }
    say(&text);
}

fn print_rejection(rejection: &Rejection) {
    let note = match rejection {
        Rejection::Parse(_) => " (signature verified)",
        _ => "",
    };
    say(&format!(
        "{} rejected {} -> {}{note}\n",
        now_text(),
        rejection.code(),
        rejection.status().as_u16()
    ));
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
    let state = AppState {
        receiver: Receiver::new(verifier).with_body_limit(args.max_body),
        guard: Arc::new(InMemoryReplayGuard::new(REPLAY_CAPACITY)),
        print_body: args.print_body,
    };
    let path = args.path.clone();
    let app = Router::new()
        .route(&args.path, post(receive))
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
