//! `replay`: send captured deliveries again, re-signed with a fresh timestamp.
//!
//! The body is sent byte for byte as captured, so the event id — the receiver's
//! dedupe key — is unchanged: a receiver that processed the delivery answers
//! "duplicate", one that released it processes it again. `t=` and
//! `X-Nexio-Timestamp` are replaced by the current second and signed with the
//! configured secret(s); the other headers go as captured, except those that
//! describe the captured connection rather than the delivery.

use std::io::Write as _;
use std::time::Duration;

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use nexio_webhooks::unix_now;

use crate::args::ReplayArgs;
use crate::delivery::Target;
use crate::fail::{Outcome, UsageError};
use crate::{request, secrets, send, verify};

/// How much of an answer is printed.
const MAX_ANSWER: usize = 64 * 1024;

/// Headers about the captured connection, not the delivery, and the two that are
/// signed again.
const DROPPED: [&str; 11] = [
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "upgrade",
    "expect",
    "proxy-connection",
    "x-nexio-signature",
    "x-nexio-timestamp",
];

pub async fn run(args: &ReplayArgs) -> Result<Outcome, UsageError> {
    let target = Target::parse(&args.url)?;
    if target.https {
        return Err(UsageError::new(format!(
            "--url {}: replay sends to http:// receivers only (as send does)",
            args.url
        )));
    }
    let signer = secrets::signer(&args.secrets)?;
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let timeout = Duration::from_secs(args.timeout);
    let mut outcome = Outcome::Success;
    let mut stdout = std::io::stdout().lock();
    for path in &args.files {
        let name = path.to_string_lossy();
        let bytes = verify::read_capture(path, args.max_body)
            .map_err(|e| UsageError::new(format!("cannot read {name}: {e}")))?;
        let req = request::parse_with_limit(&bytes, args.max_body).map_err(|e| match e {
            request::RequestError::BodyTooLarge { .. } => UsageError::new(format!("{name}: {e}")),
            _ => UsageError::new(format!("{name}: not a captured request: {e}")),
        })?;
        let t = unix_now();
        let mut builder = http::Request::post(target.uri.clone());
        for (header, value) in &req.headers {
            if !DROPPED.iter().any(|d| header.eq_ignore_ascii_case(d)) {
                builder = builder.header(*header, *value);
            }
        }
        builder = builder
            .header("X-Nexio-Timestamp", t.to_string())
            .header("X-Nexio-Signature", signer.signature_header(t, req.body));
        let request = builder
            .body(Full::new(Bytes::copy_from_slice(req.body)))
            .map_err(|e| UsageError::new(format!("{name}: cannot build the request: {e}")))?;
        let exchange = async {
            let response = client
                .request(request)
                .await
                .map_err(|e| send::describe_client_error(&e))?;
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_ANSWER)
                .collect()
                .await
                .map(http_body_util::Collected::to_bytes)
                .unwrap_or_else(|_| Bytes::from_static(b"(answer too large or cut off)"));
            Ok::<_, String>((status, body))
        };
        let line = match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok((status, body))) => {
                if !status.is_success() {
                    outcome = Outcome::Rejected;
                }
                let text = String::from_utf8_lossy(&body);
                let text = text.trim();
                if text.is_empty() {
                    format!("{name}: {status} (t={t})")
                } else {
                    format!("{name}: {status} {text} (t={t})")
                }
            }
            Ok(Err(e)) => {
                outcome = Outcome::Rejected;
                eprintln!("error: {name}: {}: {e}", args.url);
                continue;
            }
            Err(_) => {
                outcome = Outcome::Rejected;
                eprintln!("error: {name}: no answer within {} s", timeout.as_secs());
                continue;
            }
        };
        writeln!(stdout, "{line}")
            .and_then(|()| stdout.flush())
            .map_err(|e| UsageError::new(format!("cannot write to stdout: {e}")))?;
    }
    Ok(outcome)
}
