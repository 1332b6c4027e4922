//! The built binary's `verify --explain`, `replay`, `sign`/`send --set` and
//! `--fresh-id`, and `send`'s reports (early 413, nothing connected, duplicates, no
//! body), against a small receiver in the test that verifies with the library.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use nexio_webhooks::{Secret, Signer, Verifier, sample, unix_now};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_nexio-webhooks");
const SECRET: &str = "whsec_abc123def456";
const T: i64 = 1_774_180_800;

fn run(args: &[&str]) -> Output {
    let out = Command::new(BIN)
        .env("NEXIO_WEBHOOK_SECRET", SECRET)
        .stdin(Stdio::null())
        .args(args)
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&out);
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET));
    out
}

fn texts(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cli_diagnose")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A raw HTTP file whose headers are signed over `signed` (at `t`) but whose body is
/// `received`: a delivery changed on its way.
fn capture(dir: &Path, name: &str, signed: &[u8], received: &[u8], t: i64) -> String {
    let d = Signer::new(Secret::new(SECRET).unwrap())
        .delivery(signed)
        .timestamp(t)
        .build();
    let mut raw = b"POST /webhooks HTTP/1.1\r\nHost: 127.0.0.1\r\n".to_vec();
    for (n, v) in d.headers() {
        raw.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    raw.extend_from_slice(format!("Content-Length: {}\r\n\r\n", received.len()).as_bytes());
    raw.extend_from_slice(received);
    let path = dir.join(name);
    std::fs::write(&path, raw).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn verify_explain_prints_hints_and_every_rejection_its_age() {
    let dir = scratch("explain");
    let body = sample::RUN_COMPLETED.as_bytes();
    let pretty =
        serde_json::to_vec_pretty(&serde_json::from_slice::<Value>(body).unwrap()).unwrap();
    // Signed pretty (as serde sorts keys), received compact in that same order.
    let compact = serde_json::to_vec(&serde_json::from_slice::<Value>(&pretty).unwrap()).unwrap();
    let reformatted = capture(&dir, "reformatted.http", &pretty, &compact, T);
    let newline = capture(&dir, "newline.http", body, &[body, b"\n"].concat(), T);
    let stale = capture(&dir, "stale.http", body, body, T - 3600);
    let good = capture(&dir, "good.http", body, body, T);

    // Without --explain: the plain line, and the age on stderr.
    let out = run(&[
        "verify",
        "--now",
        &(T + 30).to_string(),
        &reformatted,
        &stale,
    ]);
    let (stdout, stderr) = texts(&out);
    assert_eq!(code(&out), 1);
    assert_eq!(
        stdout,
        format!(
            "{reformatted}: rejected signature_mismatch\n{stale}: rejected timestamp_too_old\n"
        )
    );
    assert!(
        stderr.contains(&format!(
            "{reformatted}: signed 30 s ago (window: 300 s past, 300 s future)"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{stale}: signed 3630 s ago")),
        "{stderr}"
    );
    let out = run(&["verify", "--now", &(T - 400).to_string(), &good]);
    assert!(
        texts(&out).1.contains("signed 400 s in the future"),
        "{}",
        texts(&out).1
    );

    // --explain, text.
    let now = (T + 30).to_string();
    let out = run(&[
        "verify",
        "--explain",
        "--now",
        &now,
        &reformatted,
        &newline,
        &stale,
        &good,
    ]);
    let (stdout, _) = texts(&out);
    assert_eq!(code(&out), 1);
    assert!(
        stdout.contains(&format!("{reformatted}: rejected signature_mismatch\n  hint body_reformatted: the body verifies re-serialized as JSON indented by 2 spaces")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "{newline}: rejected signature_mismatch\n  hint trailing_newline_changed: "
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "{stale}: rejected timestamp_too_old\n  hint old_capture: "
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{good}: ok run.completed")),
        "{stdout}"
    );

    // --explain, JSON: a hints array of {code, message}, and the skew.
    let out = run(&[
        "verify",
        "--explain",
        "--format",
        "json",
        "--now",
        &now,
        &reformatted,
        &good,
    ]);
    let lines: Vec<Value> = texts(&out)
        .0
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["code"], "signature_mismatch");
    assert_eq!(lines[0]["skew_secs"], 30);
    assert_eq!(lines[0]["hints"][0]["code"], "body_reformatted");
    assert!(
        lines[0]["hints"][0]["message"]
            .as_str()
            .unwrap()
            .contains("raw body")
    );
    assert_eq!(lines[1]["ok"], true);
    assert_eq!(lines[1]["hints"], Value::Array(vec![]));
    // Without --explain the JSON lines keep their fields.
    let out = run(&["verify", "--format", "json", "--now", &now, &reformatted]);
    let line: Value = serde_json::from_str(texts(&out).0.trim()).unwrap();
    assert!(
        line.get("hints").is_none() && line.get("skew_secs").is_none(),
        "{line}"
    );
}

/// What the test receiver saw: (event id, X-Nexio-Delivery, t=, verified).
type Seen = Arc<Mutex<Vec<(String, String, i64, bool)>>>;

/// A receiver that verifies with the library, answers `{"status":"processed"}` the
/// first time an event id verifies and `{"status":"duplicate"}` after, 401 when it
/// does not verify, and 413 — without reading the body — past 1024 bytes.
fn receiver() -> (SocketAddr, Seen) {
    let seen: Seen = Arc::default();
    let record = Arc::clone(&seen);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let verifier = Verifier::new(Secret::new(SECRET).unwrap());
            let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
                let (record, verifier) = (Arc::clone(&record), verifier.clone());
                async move {
                    let reply = |status: u16, text: &str| {
                        axum::response::Response::builder()
                            .status(status)
                            .body(axum::body::Body::from(text.to_owned()))
                            .unwrap()
                    };
                    let too_large = req
                        .headers()
                        .get("content-length")
                        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                        .is_some_and(|n| n > 1024);
                    if too_large {
                        return reply(413, r#"{"error":"payload_too_large"}"#);
                    }
                    let (parts, body) = req.into_parts();
                    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
                    let verified = verifier.verify_at(&parts.headers, &body, unix_now());
                    let id = serde_json::from_slice::<Value>(&body)
                        .ok()
                        .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_owned));
                    let delivery = parts
                        .headers
                        .get("x-nexio-delivery")
                        .map(|v| v.to_str().unwrap().to_owned())
                        .unwrap_or_default();
                    let mut seen = record.lock().unwrap();
                    let t = verified.as_ref().map_or(0, |v| v.timestamp());
                    let duplicate = seen
                        .iter()
                        .any(|(i, _, _, ok)| *ok && Some(i) == id.as_ref());
                    seen.push((id.unwrap_or_default(), delivery, t, verified.is_ok()));
                    match verified {
                        Err(e) => reply(401, &format!(r#"{{"error":"{}"}}"#, e.code())),
                        Ok(_) if duplicate => reply(200, r#"{"status":"duplicate"}"#),
                        Ok(_) => reply(200, r#"{"status":"processed"}"#),
                    }
                }
            });
            axum::serve(listener, app).await.unwrap();
        });
    });
    (rx.recv().unwrap(), seen)
}

#[test]
fn replay_re_signs_a_stale_capture_with_the_same_body() {
    let (addr, seen) = receiver();
    let dir = scratch("replay");
    let url = format!("http://{addr}/webhooks");
    let out = run(&[
        "sign",
        "--sample",
        "run.failed",
        "--stale",
        "7200",
        "--url",
        &url,
    ]);
    let file = dir.join("old.http");
    std::fs::write(&file, &out.stdout).unwrap();
    let file = file.to_str().unwrap();

    // Sent as captured, it is refused (too old); replayed, it verifies.
    let out = run(&["verify", file]);
    assert_eq!(code(&out), 1);
    let before = unix_now();
    let out = run(&["replay", file, "--url", &url]);
    let (stdout, stderr) = texts(&out);
    assert_eq!(code(&out), 0, "{stderr}");
    assert!(
        stdout.starts_with(&format!("{file}: 200 OK {{\"status\":\"processed\"}} (t=")),
        "{stdout}"
    );
    let captured = nexio_webhooks::dangerous::parse_unverified_event(
        sample::RUN_FAILED.as_bytes(),
        nexio_webhooks::VersionPolicy::Exact,
    )
    .unwrap();
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        let (id, delivery, t, ok) = &seen[0];
        assert!(ok);
        assert_eq!(id, captured.id());
        assert!(*t >= before, "fresh timestamp");
        let raw = std::fs::read_to_string(file).unwrap();
        assert!(
            raw.contains(&format!("X-Nexio-Delivery: {delivery}\r\n")),
            "delivery id kept"
        );
    }
    // Again: same body, so a deduplicating receiver says duplicate.
    let out = run(&["replay", file, "--url", &url]);
    assert!(
        texts(&out).0.contains("{\"status\":\"duplicate\"}"),
        "{}",
        texts(&out).0
    );

    // Signed with another secret: the receiver answers 401, exit 1.
    let out = Command::new(BIN)
        .env("NEXIO_WEBHOOK_SECRET", "whsec_another_secret")
        .args(["replay", file, "--url", &url])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    assert!(texts(&out).0.contains("401"), "{}", texts(&out).0);
    // Not a capture: a usage error.
    let garbage = dir.join("garbage.http");
    std::fs::write(&garbage, b"hello").unwrap();
    let out = run(&["replay", garbage.to_str().unwrap(), "--url", &url]);
    assert_eq!(code(&out), 2);
}

#[test]
fn set_overrides_fields_and_keeps_the_rest() {
    let out = run(&[
        "sign",
        "--sample",
        "run.completed",
        "--set",
        "data.run.status=degraded",
        "--set",
        "data.run.output.degradation_reason=engine timeout",
        "--set",
        "data.run.duration_ms=12",
        "--timestamp",
        &T.to_string(),
    ]);
    assert_eq!(code(&out), 0, "{}", texts(&out).1);
    let raw = out.stdout.clone();
    let body_at = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let body = std::str::from_utf8(&raw[body_at..]).unwrap();
    let event: Value = serde_json::from_str(body).unwrap();
    assert_eq!(event["data"]["run"]["status"], "degraded");
    assert_eq!(
        event["data"]["run"]["output"]["degradation_reason"],
        "engine timeout"
    );
    assert_eq!(event["data"]["run"]["duration_ms"], 12);
    // Key order as in the sample.
    assert!(
        body.starts_with(
            r#"{"id":"evt_01JQ7R2M4X9K3T5V8B6N1C0D2E","type":"run.completed","webhook_version""#
        ),
        "{body}"
    );
    // And it verifies: the signature is over the changed body.
    let dir = scratch("set");
    let file = dir.join("d.http");
    std::fs::write(&file, &raw).unwrap();
    let out = run(&["verify", "--now", &T.to_string(), file.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", texts(&out).1);

    for (bad, expect) in [
        ("data.run.status", "PATH=VALUE"),
        ("id.inner=1", "not an object or array"),
    ] {
        let out = run(&["sign", "--sample", "run.completed", "--set", bad]);
        assert_eq!(code(&out), 2);
        assert!(texts(&out).1.contains(expect), "{bad}: {}", texts(&out).1);
    }
    let dir = scratch("set_text");
    let text = dir.join("body.txt");
    std::fs::write(&text, b"not json").unwrap();
    let out = run(&["sign", text.to_str().unwrap(), "--set", "a=1"]);
    assert_eq!(code(&out), 2);
    assert!(
        texts(&out).1.contains("need a JSON body"),
        "{}",
        texts(&out).1
    );
}

#[test]
fn send_fresh_id_and_the_duplicate_summary() {
    let (addr, seen) = receiver();
    let url = format!("http://{addr}/webhooks");
    let out = run(&[
        "send",
        "--sample",
        "run.completed",
        "--count",
        "3",
        "--url",
        &url,
    ]);
    let (stdout, stderr) = texts(&out);
    assert_eq!(code(&out), 0, "{stderr}");
    assert!(stdout.contains(": 3 answered\n"), "{stdout}");
    assert!(
        stdout.contains("status: 200 duplicate x2, 200 processed x1"),
        "{stdout}"
    );

    let out = run(&[
        "send",
        "--sample",
        "run.completed",
        "--count",
        "3",
        "--fresh-id",
        "--url",
        &url,
    ]);
    let (stdout, _) = texts(&out);
    assert!(stdout.contains("status: 200 processed x3"), "{stdout}");
    let seen = seen.lock().unwrap();
    let ids: HashSet<&str> = seen[3..].iter().map(|(id, ..)| id.as_str()).collect();
    assert_eq!(ids.len(), 3, "{seen:?}");
    assert!(ids.iter().all(|id| id.starts_with("evt_")));
    let deliveries: HashSet<&str> = seen[3..].iter().map(|(_, d, ..)| d.as_str()).collect();
    assert_eq!(deliveries.len(), 3, "a new body, a new delivery id");
}

#[test]
fn send_reports_early_413_not_a_broken_pipe() {
    let (addr, _) = receiver();
    let url = format!("http://{addr}/webhooks");
    let dir = scratch("large");
    let big = dir.join("big.json");
    let mut body = b"{\"id\":\"evt_big\",\"pad\":\"".to_vec();
    body.extend(std::iter::repeat_n(b'x', 8 * 1024 * 1024));
    body.extend_from_slice(b"\"}");
    std::fs::write(&big, &body).unwrap();
    for _ in 0..5 {
        let out = run(&["send", big.to_str().unwrap(), "--url", &url]);
        let (stdout, stderr) = texts(&out);
        assert_eq!(code(&out), 1);
        assert!(
            stdout.starts_with("413 Payload Too Large\n"),
            "stdout {stdout:?} stderr {stderr:?}"
        );
        assert!(!stderr.contains("Broken pipe"), "{stderr}");
    }
}

#[test]
fn send_says_when_nothing_connected_and_names_sample() {
    let out = run(&[
        "send",
        "--sample",
        "run.completed",
        "--count",
        "2",
        "--url",
        "http://127.0.0.1:9/",
    ]);
    let (stdout, _) = texts(&out);
    assert_eq!(code(&out), 1);
    assert!(
        stdout.starts_with("no delivery reached http://127.0.0.1:9/: all 2 attempts failed"),
        "{stdout}"
    );
    assert!(!stdout.contains("/s,"), "{stdout}");

    let out = run(&["send"]);
    assert_eq!(code(&out), 2);
    assert!(texts(&out).1.contains("--sample"), "{}", texts(&out).1);
}
