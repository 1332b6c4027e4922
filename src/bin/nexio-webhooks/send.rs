//! `send`: sign deliveries and POST them to a receiver, one or many, concurrently.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use indicatif::{ProgressBar, ProgressStyle};
use nexio_webhooks::unix_now;
use tokio::task::JoinSet;

use crate::args::SendArgs;
use crate::delivery::{Blueprint, Target};
use crate::fail::{Outcome, UsageError};

/// How much of a response body is kept for printing.
const MAX_RESPONSE_BODY: usize = 64 * 1024;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// What came back for one request.
#[derive(Debug, Clone)]
struct Answer {
    /// The status, or why there was none.
    result: Result<http::StatusCode, String>,
    body: Bytes,
    latency: Duration,
}

impl Answer {
    fn is_success(&self) -> bool {
        self.result.as_ref().is_ok_and(http::StatusCode::is_success)
    }
}

pub async fn run(args: &SendArgs) -> Result<Outcome, UsageError> {
    let target = Target::parse(&args.url)?;
    if target.https {
        return Err(UsageError::new(format!(
            "--url {}: https is not supported by this build (it has no TLS); send to a local http:// receiver, or use `sign --format curl --url {}`",
            args.url, args.url
        )));
    }
    let blueprint = Arc::new(Blueprint::from_args(&args.delivery)?);
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let timeout = Duration::from_secs(args.timeout);

    if args.count == 1 {
        let answer = send_one(&client, &blueprint, &target, timeout).await;
        let mut stdout = std::io::stdout().lock();
        let written = match &answer.result {
            Ok(status) => writeln!(stdout, "{status}").and_then(|()| {
                stdout.write_all(&answer.body)?;
                if !answer.body.is_empty() && !answer.body.ends_with(b"\n") {
                    writeln!(stdout)?;
                }
                stdout.flush()
            }),
            Err(e) => {
                eprintln!("error: {}: {e}", args.url);
                Ok(())
            }
        };
        written.map_err(|e| UsageError::new(format!("cannot write to stdout: {e}")))?;
        return Ok(if answer.is_success() {
            Outcome::Success
        } else {
            Outcome::Rejected
        });
    }

    let progress = ProgressBar::new(args.count).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} [{elapsed}] eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = JoinSet::new();
    for _ in 0..args.concurrency.min(args.count) {
        let (client, blueprint, target) = (client.clone(), Arc::clone(&blueprint), target.clone());
        let (next, progress, count) = (Arc::clone(&next), progress.clone(), args.count);
        workers.spawn(async move {
            let mut answers = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < count {
                answers.push(send_one(&client, &blueprint, &target, timeout).await);
                progress.inc(1);
            }
            answers
        });
    }
    let mut answers = Vec::new();
    while let Some(joined) = workers.join_next().await {
        answers.extend(joined.map_err(|e| UsageError::new(format!("a sending task failed: {e}")))?);
    }
    progress.finish_and_clear();
    let elapsed = started.elapsed();
    let summary = summarize(&answers, elapsed, &args.url, args.concurrency);
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(summary.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| UsageError::new(format!("cannot write to stdout: {e}")))?;
    Ok(if answers.iter().all(Answer::is_success) {
        Outcome::Success
    } else {
        Outcome::Rejected
    })
}

async fn send_one(
    client: &HttpClient,
    blueprint: &Blueprint,
    target: &Target,
    timeout: Duration,
) -> Answer {
    let prepared = blueprint.build(unix_now());
    let started = Instant::now();
    let mut builder = http::Request::post(target.uri.clone());
    for (name, value) in &prepared.headers {
        builder = builder.header(*name, value.as_str());
    }
    let head = prepared.head_http1(target);
    let request = match builder.body(Full::new(Bytes::from(prepared.body))) {
        Ok(r) => r,
        Err(e) => {
            return Answer {
                result: Err(format!("cannot build the request: {e}")),
                body: Bytes::new(),
                latency: Duration::ZERO,
            };
        }
    };
    let exchange = async {
        let response = match client.request(request).await {
            Ok(response) => response,
            // The receiver answered before the body was all sent (an early 413 or
            // 401) and closed the connection; the answer went down with it. Ask
            // again with the head only to learn what it was.
            Err(e) if is_cut_off(&e) => return probe_head(target, &head, &e).await,
            Err(e) => return Err(describe_client_error(&e)),
        };
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_RESPONSE_BODY)
            .collect()
            .await
            .map(http_body_util::Collected::to_bytes)
            .unwrap_or_else(|_| Bytes::from_static(b"(response body too large or cut off)"));
        Ok::<_, String>((status, body))
    };
    let result = tokio::time::timeout(timeout, exchange).await;
    let latency = started.elapsed();
    match result {
        Ok(Ok((status, body))) => Answer {
            result: Ok(status),
            body,
            latency,
        },
        Ok(Err(e)) => Answer {
            result: Err(e),
            body: Bytes::new(),
            latency,
        },
        Err(_) => Answer {
            result: Err(format!("no answer within {} s", timeout.as_secs())),
            body: Bytes::new(),
            latency,
        },
    }
}

/// Whether the connection broke while the request was being written (the
/// receiver closed it early), as opposed to never connecting.
fn is_cut_off(e: &hyper_util::client::legacy::Error) -> bool {
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            );
        }
        source = err.source();
    }
    false
}

/// Sends the request head alone, with `Expect: 100-continue`, and reads the
/// receiver's answer: a receiver that rejects on the headers (a too-large
/// Content-Length, a bad signature header) answers at once with its final status.
/// Only that status and its body are kept; on a `100 Continue` nothing more is sent.
async fn probe_head(
    target: &Target,
    head: &[u8],
    cause: &hyper_util::client::legacy::Error,
) -> Result<(http::StatusCode, Bytes), String> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let fallback = || describe_client_error(cause);
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(target.host.as_str())
            .await
            .ok()?;
        stream.write_all(head).await.ok()?;
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = stream.read(&mut buf).await.ok()?;
            if n == 0 {
                break;
            }
            answer.extend_from_slice(buf.get(..n)?);
            if answer.len() > MAX_RESPONSE_BODY || answer_is_complete(&answer) {
                break;
            }
        }
        Some(answer)
    };
    let answer = tokio::time::timeout(Duration::from_secs(2), exchange)
        .await
        .ok()
        .flatten()
        .ok_or_else(fallback)?;
    let (status, body) = parse_answer(&answer).ok_or_else(fallback)?;
    if status == http::StatusCode::CONTINUE {
        return Err(format!(
            "the receiver accepted the headers but closed the connection while the body was sent ({})",
            fallback()
        ));
    }
    Ok((status, body))
}

/// A status line and a head, and as much body as Content-Length says.
fn answer_is_complete(answer: &[u8]) -> bool {
    let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(answer.get(..end).unwrap_or_default()).to_ascii_lowercase();
    if head.starts_with("http/1.1 100") || head.starts_with("http/1.0 100") {
        return true;
    }
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    answer.len() >= end.saturating_add(4).saturating_add(length)
}

fn parse_answer(answer: &[u8]) -> Option<(http::StatusCode, Bytes)> {
    let end = answer.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(answer.get(..end)?).ok()?;
    let code = head.lines().next()?.split(' ').nth(1)?;
    let status = http::StatusCode::from_bytes(code.as_bytes()).ok()?;
    let body = answer.get(end.saturating_add(4)..).unwrap_or_default();
    Some((status, Bytes::copy_from_slice(body)))
}

/// The innermost cause, e.g. "Connection refused (os error 111)".
pub fn describe_client_error(e: &hyper_util::client::legacy::Error) -> String {
    let mut source: &dyn std::error::Error = e;
    while let Some(inner) = source.source() {
        source = inner;
    }
    if e.is_connect() {
        format!("cannot connect: {source}")
    } else {
        source.to_string()
    }
}

/// The `status` string of a JSON answer body (`{"status":"duplicate"}`), when
/// short and plain.
fn answer_label(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let label = value.get("status")?.as_str()?;
    let plain = !label.is_empty()
        && label.len() <= 32
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    plain.then(|| label.to_owned())
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The `q`-quantile (0..=1) of sorted latencies, nearest rank.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let last = sorted.len().saturating_sub(1);
    // Truncation is intended: a rank in 0..=last.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let rank = ((last as f64) * q).round() as usize;
    sorted.get(rank.min(last)).copied().unwrap_or_default()
}

fn summarize(answers: &[Answer], elapsed: Duration, url: &str, concurrency: u64) -> String {
    let mut out = String::new();
    let n = answers.len();
    #[allow(clippy::cast_precision_loss)]
    let rate = if elapsed.is_zero() {
        0.0
    } else {
        n as f64 / elapsed.as_secs_f64()
    };
    let answered = answers.iter().filter(|a| a.result.is_ok()).count();
    if answered == 0 {
        out.push_str(&format!(
            "no delivery reached {url}: all {n} attempts failed in {:.2} s\n",
            elapsed.as_secs_f64()
        ));
    } else {
        let failed = n.saturating_sub(answered);
        let unanswered = if failed == 0 {
            String::new()
        } else {
            format!(", {failed} got no answer")
        };
        out.push_str(&format!(
            "sent {n} deliveries to {url} in {:.2} s ({rate:.1}/s, concurrency {concurrency}): {answered} answered{unanswered}\n",
            elapsed.as_secs_f64()
        ));
    }
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    for a in answers {
        let key = match &a.result {
            // A receiver that deduplicates answers 2xx both times; the JSON
            // `status` it gives (e.g. "duplicate") tells fresh from repeated.
            Ok(status) => match answer_label(&a.body) {
                Some(label) => format!("{} {label}", status.as_u16()),
                None => status.as_u16().to_string(),
            },
            Err(e) => format!("error ({e})"),
        };
        let slot = statuses.entry(key).or_default();
        *slot = slot.saturating_add(1);
    }
    let statuses: Vec<String> = statuses.iter().map(|(k, v)| format!("{k} x{v}")).collect();
    out.push_str(&format!("status: {}\n", statuses.join(", ")));
    let mut latencies: Vec<Duration> = answers
        .iter()
        .filter(|a| a.result.is_ok())
        .map(|a| a.latency)
        .collect();
    latencies.sort_unstable();
    if let (Some(min), Some(max)) = (latencies.first(), latencies.last()) {
        out.push_str(&format!(
            "latency ms: min {:.1}  p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}\n",
            millis(*min),
            millis(quantile(&latencies, 0.5)),
            millis(quantile(&latencies, 0.9)),
            millis(quantile(&latencies, 0.99)),
            millis(*max),
        ));
    }
    if let Some(first) = answers
        .iter()
        .find(|a| matches!(a.result, Ok(s) if !s.is_success()))
    {
        out.push_str(&format!(
            "first non-2xx answer: {}\n",
            String::from_utf8_lossy(&first.body).trim_end()
        ));
    }
    out
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_and_summary() {
        let ms = |n| Duration::from_millis(n);
        let sorted: Vec<Duration> = (1..=100).map(ms).collect();
        assert_eq!(quantile(&sorted, 0.5), ms(51));
        assert_eq!(quantile(&sorted, 0.99), ms(99));
        assert_eq!(quantile(&sorted, 1.0), ms(100));
        assert_eq!(quantile(&[], 0.5), Duration::ZERO);
        let answers = vec![
            Answer {
                result: Ok(http::StatusCode::OK),
                body: Bytes::new(),
                latency: ms(2),
            },
            Answer {
                result: Ok(http::StatusCode::UNAUTHORIZED),
                body: Bytes::from_static(b"{\"error\":\"signature_mismatch\"}"),
                latency: ms(4),
            },
            Answer {
                result: Err("cannot connect: refused".into()),
                body: Bytes::new(),
                latency: ms(1),
            },
        ];
        let s = summarize(&answers, Duration::from_secs(1), "http://x/", 2);
        assert!(
            s.contains("sent 3 deliveries to http://x/ in 1.00 s (3.0/s, concurrency 2): 2 answered, 1 got no answer"),
            "{s}"
        );
        assert!(
            s.contains("status: 200 x1, 401 x1, error (cannot connect: refused) x1"),
            "{s}"
        );
        assert!(s.contains("min 2.0"), "{s}");
        assert!(
            s.contains("first non-2xx answer: {\"error\":\"signature_mismatch\"}"),
            "{s}"
        );
    }

    #[test]
    fn summary_when_nothing_connected_and_duplicates() {
        let failed = Answer {
            result: Err("cannot connect: refused".into()),
            body: Bytes::new(),
            latency: Duration::ZERO,
        };
        let s = summarize(
            &[failed.clone(), failed],
            Duration::from_secs(1),
            "http://x/",
            1,
        );
        assert!(
            s.starts_with("no delivery reached http://x/: all 2 attempts failed"),
            "{s}"
        );
        assert!(!s.contains("/s"), "{s}");
        let ok = |body: &'static [u8]| Answer {
            result: Ok(http::StatusCode::OK),
            body: Bytes::from_static(body),
            latency: Duration::from_millis(1),
        };
        let s = summarize(
            &[
                ok(b"{\"status\":\"duplicate\"}"),
                ok(b"{\"status\":\"processed\"}"),
                ok(b"ok"),
            ],
            Duration::from_secs(1),
            "http://x/",
            1,
        );
        assert!(
            s.contains("status: 200 x1, 200 duplicate x1, 200 processed x1"),
            "{s}"
        );
    }

    #[test]
    fn early_answers_are_parsed() {
        let raw = b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 5\r\n\r\nlarge";
        assert!(answer_is_complete(raw));
        assert!(!answer_is_complete(&raw[..raw.len() - 1]));
        assert_eq!(
            parse_answer(raw),
            Some((
                http::StatusCode::PAYLOAD_TOO_LARGE,
                Bytes::from_static(b"large")
            ))
        );
        assert!(answer_is_complete(b"HTTP/1.1 100 Continue\r\n\r\n"));
        assert_eq!(parse_answer(b"garbage"), None);
    }
}
