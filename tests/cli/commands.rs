//! The `nexio-webhooks` binary, run as a user would: sign→verify round trips, every known-answer vector as an HTTP file, exit codes,
//! JSON output, secrets by env and by file, rotation, `send` against `listen` on an
//! ephemeral 127.0.0.1 port, garbage files, and the bundled sample deliveries.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use nexio_webhooks::Secret;
use serde::Deserialize;
use serde_json::Value;

const SECRET: &str = "whsec_abc123def456";
const T: i64 = 1_774_180_800;
const BIN: &str = env!("CARGO_BIN_EXE_nexio-webhooks");

fn cmd() -> Command {
    let mut c = Command::new(BIN);
    c.env_remove("NEXIO_WEBHOOK_SECRET")
        .env_remove("CUSTOM_SECRET")
        .env_remove("NEXIO_TOKEN")
        .stdin(Stdio::null());
    c
}

/// Runs the binary with `NEXIO_WEBHOOK_SECRET=secret` (unless `None`).
fn run(secret: Option<&str>, args: &[&str]) -> Output {
    let mut c = cmd();
    if let Some(s) = secret {
        c.env("NEXIO_WEBHOOK_SECRET", s);
    }
    let out = c.args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    out
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited normally")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cli")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_owned()
}

fn key_id(secret: &str) -> String {
    Secret::new(secret).unwrap().key_id().to_string()
}

fn sign_http(secret: &str, extra: &[&str]) -> Vec<u8> {
    let mut args = vec!["sign", "--timestamp", "1774180800"];
    args.extend_from_slice(extra);
    let out = run(Some(secret), &args);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    out.stdout
}

fn json_lines(out: &Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn sign_then_verify_round_trip_for_both_samples() {
    let dir = scratch("round_trip");
    let a = write(
        &dir,
        "completed.http",
        &sign_http(SECRET, &["--sample", "run.completed"]),
    );
    let b = write(
        &dir,
        "failed.http",
        &sign_http(SECRET, &["--sample", "run.failed"]),
    );
    let out = run(Some(SECRET), &["verify", "--now", "1774180802", &a, &b]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let key = key_id(SECRET);
    assert_eq!(
        stdout(&out),
        format!(
            "{a}: ok run.completed evt_01JQ7R2M4X9K3T5V8B6N1C0D2E key={key}\n\
             {b}: ok run.failed evt_01JQ7R5P8Z2W4Y6A9C3E5G7J1K key={key}\n"
        )
    );
    assert_eq!(stderr(&out), "");

    // The same through stdin, and with `sign -` reading the body from stdin.
    let mut child = cmd()
        .env("NEXIO_WEBHOOK_SECRET", SECRET)
        .args(["sign", "--timestamp", "1774180800", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(nexio_webhooks::sample::RUN_FAILED.as_bytes())
        .unwrap();
    let signed = child.wait_with_output().unwrap();
    assert_eq!(signed.stdout, std::fs::read(&b).unwrap());
    let mut child = cmd()
        .env("NEXIO_WEBHOOK_SECRET", SECRET)
        .args(["verify", "--now", "1774180802", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&signed.stdout)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).starts_with("-: ok run.failed "));
}

#[test]
fn sign_formats_headers_and_curl() {
    let out = run(
        Some(SECRET),
        &[
            "sign",
            "--sample",
            "run.failed",
            "--timestamp",
            "1774180800",
            "--format",
            "headers",
        ],
    );
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    let names: Vec<&str> = text.lines().map(|l| l.split(':').next().unwrap()).collect();
    assert_eq!(
        names,
        [
            "Content-Type",
            "User-Agent",
            "X-Nexio-Event",
            "X-Nexio-Delivery",
            "X-Nexio-Timestamp",
            "X-Nexio-Webhook-Version",
            "X-Nexio-Signature"
        ]
    );
    let signer = nexio_webhooks::Signer::new(Secret::new(SECRET).unwrap());
    let header = signer.signature_header(T, nexio_webhooks::sample::RUN_FAILED.as_bytes());
    assert!(text.contains(&format!("X-Nexio-Signature: {header}\n")));
    assert!(text.contains("X-Nexio-Timestamp: 1774180800\n"));

    // With a bearer token; curl format.
    let out = cmd()
        .env("NEXIO_WEBHOOK_SECRET", SECRET)
        .env("NEXIO_TOKEN", "tok-123")
        .args([
            "sign",
            "--sample",
            "run.failed",
            "--timestamp",
            "1774180800",
            "--format",
            "curl",
            "--bearer-env",
            "NEXIO_TOKEN",
            "--url",
            "http://127.0.0.1:9/hook",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let curl = stdout(&out);
    assert!(
        curl.starts_with("curl -sS -X POST 'http://127.0.0.1:9/hook'"),
        "{curl}"
    );
    assert!(
        curl.contains(&format!("-H 'X-Nexio-Signature: {header}'")),
        "{curl}"
    );
    assert!(
        curl.contains("-H 'Authorization: Bearer tok-123'"),
        "{curl}"
    );
    assert!(curl.contains(&format!(
        "--data-raw '{}'",
        nexio_webhooks::sample::RUN_FAILED
    )));

    // --format http honours --url's path and host.
    let raw = sign_http(
        SECRET,
        &[
            "--sample",
            "run.failed",
            "--url",
            "http://example.test:8080/in?x=1",
        ],
    );
    assert!(raw.starts_with(b"POST /in?x=1 HTTP/1.1\r\nHost: example.test:8080\r\n"));
}

#[derive(Deserialize)]
struct Vectors {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    secrets: Vec<String>,
    header: String,
    body_base64: String,
    now: i64,
    expect: String,
}

#[test]
fn every_known_answer_vector_as_an_http_file() {
    let dir = scratch("vectors");
    let vectors: Vectors = serde_json::from_str(include_str!("../data/known-answer.json")).unwrap();
    assert!(vectors.cases.len() >= 30);
    for (i, case) in vectors.cases.iter().enumerate() {
        let body = base64::engine::general_purpose::STANDARD
            .decode(&case.body_base64)
            .unwrap();
        let mut raw = format!(
            "POST /webhooks HTTP/1.1\r\nHost: 127.0.0.1:3000\r\nContent-Type: application/json\r\nX-Nexio-Signature: {}\r\nContent-Length: {}\r\n\r\n",
            case.header,
            body.len()
        )
        .into_bytes();
        raw.extend_from_slice(&body);
        let file = write(&dir, &format!("case{i:02}.http"), &raw);
        let secrets = case.secrets.join(",");
        let now = case.now.to_string();
        let out = run(
            Some(&secrets),
            &["verify", "--format", "json", "--now", &now, &file],
        );
        let lines = json_lines(&out);
        assert_eq!(lines.len(), 1, "{}", case.name);
        let line = &lines[0];
        assert_eq!(line["file"], file.as_str());
        let got = line["code"].as_str();
        match case.expect.as_str() {
            // Verified; these minimal bodies are not full 2026-03-22 events, so the
            // verdict may be a parse error — never a verification error.
            "ok" => {
                assert_eq!(
                    line["key_id"].as_str().map(str::len),
                    Some(8),
                    "{}",
                    case.name
                );
                assert!(
                    matches!(
                        got,
                        None | Some("invalid_json" | "invalid_event" | "unsupported_version")
                    ),
                    "{}: {line}",
                    case.name
                );
            }
            "malformed" => assert!(
                matches!(
                    got,
                    Some(
                        "malformed_signature"
                            | "signature_header_too_large"
                            | "too_many_signatures"
                    )
                ),
                "{}: {line}",
                case.name
            ),
            "no_match" => assert_eq!(got, Some("signature_mismatch"), "{}", case.name),
            "too_old" => assert_eq!(got, Some("timestamp_too_old"), "{}", case.name),
            "too_new" => assert_eq!(got, Some("timestamp_too_new"), "{}", case.name),
            other => panic!("unknown expectation {other}"),
        }
        if case.expect != "ok" {
            assert_eq!(line["key_id"], Value::Null, "{}", case.name);
        }
        assert_eq!(line["ok"], got.is_none(), "{}", case.name);
        assert_eq!(
            code(&out),
            if got.is_none() { 0 } else { 1 },
            "{}",
            case.name
        );
    }
}

#[test]
fn exit_codes() {
    let dir = scratch("exit_codes");
    let good = write(
        &dir,
        "good.http",
        &sign_http(SECRET, &["--sample", "run.completed"]),
    );
    let bad = write(
        &dir,
        "bad.http",
        &sign_http(
            SECRET,
            &["--sample", "run.completed", "--tamper", "signature"],
        ),
    );
    let now = ["verify", "--now", "1774180802"];
    fn with<'a>(now: &[&'a str], files: &[&'a str]) -> Vec<&'a str> {
        let mut a = now.to_vec();
        a.extend_from_slice(files);
        a
    }
    // 0: every file verified and parsed.
    assert_eq!(code(&run(Some(SECRET), &with(&now, &[&good]))), 0);
    // 1: any rejected.
    let out = run(Some(SECRET), &with(&now, &[&good, &bad]));
    assert_eq!(code(&out), 1);
    assert_eq!(
        stdout(&out).lines().nth(1),
        Some(format!("{bad}: rejected signature_mismatch").as_str())
    );
    // 2: no secret, an unreadable file, a refused secret, a clap usage error.
    let out = run(None, &with(&now, &[&good]));
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("NEXIO_WEBHOOK_SECRET"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stdout(&out), "");
    let missing = dir.join("missing.http");
    let out = run(
        Some(SECRET),
        &with(&now, &[&good, missing.to_str().unwrap()]),
    );
    assert_eq!(code(&out), 2);
    assert!(
        stdout(&out).contains(": ok run.completed"),
        "other files are still verified"
    );
    assert_eq!(code(&run(Some("nx_live_abc"), &with(&now, &[&good]))), 2);
    assert_eq!(code(&run(Some(SECRET), &["verify"])), 2);
    assert_eq!(
        code(&run(Some(SECRET), &["verify", "--format", "yaml", &good])),
        2
    );
    // Secrets are never accepted as a plain argument.
    let out = run(None, &["verify", "--secret", SECRET, &good]);
    assert_eq!(code(&out), 2);
    assert!(!stderr(&out).contains("abc123def456"));
    // Help works everywhere.
    for sub in ["sign", "send", "verify", "listen"] {
        let out = run(None, &[sub, "--help"]);
        assert_eq!(code(&out), 0);
        assert!(stdout(&out).contains("--secret-env"), "{sub}");
    }
}

#[test]
fn json_output_for_ok_rejected_and_unparseable() {
    let dir = scratch("json");
    let good = write(
        &dir,
        "good.http",
        &sign_http(SECRET, &["--sample", "run.completed"]),
    );
    let stale = write(
        &dir,
        "stale.http",
        &sign_http(SECRET, &["--sample", "run.failed", "--stale", "301"]),
    );
    let body = write(&dir, "not-json.txt", b"not json \xff");
    let unparseable = write(&dir, "unparseable.http", &sign_http(SECRET, &[&body]));
    let garbage = write(&dir, "garbage.http", b"hello");
    let out = run(
        Some(SECRET),
        &[
            "verify",
            "--format",
            "json",
            "--now",
            "1774180802",
            &good,
            &stale,
            &unparseable,
            &garbage,
        ],
    );
    assert_eq!(code(&out), 1);
    let lines = json_lines(&out);
    let key = key_id(SECRET);
    let expect = [
        serde_json::json!({"file": good, "ok": true, "code": null, "event_type": "run.completed",
            "event_id": "evt_01JQ7R2M4X9K3T5V8B6N1C0D2E", "key_id": key}),
        serde_json::json!({"file": stale, "ok": false, "code": "timestamp_too_old", "event_type": null,
            "event_id": null, "key_id": null}),
        serde_json::json!({"file": unparseable, "ok": false, "code": "invalid_json", "event_type": null,
            "event_id": null, "key_id": key}),
        serde_json::json!({"file": garbage, "ok": false, "code": "invalid_request", "event_type": null,
            "event_id": null, "key_id": null}),
    ];
    assert_eq!(lines, expect);
    // Field order as the README documents it.
    assert!(stdout(&out).starts_with(&format!(
        "{{\"file\":\"{good}\",\"ok\":true,\"code\":null,\"event_type\""
    )));
}

#[test]
fn secrets_from_env_and_from_files() {
    let dir = scratch("secrets");
    let file = write(
        &dir,
        "good.http",
        &sign_http(SECRET, &["--sample", "run.completed"]),
    );
    let verify = ["verify", "--now", "1774180802"];
    // A custom variable.
    let out = cmd()
        .env("CUSTOM_SECRET", SECRET)
        .args(verify)
        .args(["--secret-env", "CUSTOM_SECRET", &file])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // A file with a trailing newline (as `echo` writes it); the environment is not
    // read when a file is given.
    let secret_file = write(&dir, "secret", format!("{SECRET}\n").as_bytes());
    let out = cmd()
        .env("NEXIO_WEBHOOK_SECRET", "nx_live_would_be_refused")
        .args(verify)
        .args(["--secret-file", &secret_file, &file])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // An explicit --secret-env adds the variable to the files.
    let out = cmd()
        .env("NEXIO_WEBHOOK_SECRET", "nx_live_would_be_refused")
        .args(verify)
        .args([
            "--secret-file",
            &secret_file,
            "--secret-env",
            "NEXIO_WEBHOOK_SECRET",
            &file,
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains(
            "NEXIO_WEBHOOK_SECRET, secret 1: invalid secret: this looks like a Nexio API key"
        ),
        "{}",
        stderr(&out)
    );
    // Refused secrets are named, never shown.
    let hidden = "whsec_do_not_print_me\n";
    for (env, expect) in [
        (
            format!("{SECRET},{hidden}"),
            "NEXIO_WEBHOOK_SECRET, secret 2: invalid secret: it contains a line break",
        ),
        (
            // No trimming around the commas: surrounding whitespace is refused, as in
            // the library.
            format!("{SECRET}, whsec_do_not_print_me"),
            "NEXIO_WEBHOOK_SECRET, secret 2: invalid secret: it has leading or trailing whitespace",
        ),
        (
            format!("{SECRET},"),
            "NEXIO_WEBHOOK_SECRET, secret 2: invalid secret: it is empty",
        ),
    ] {
        let out = run(Some(&env), &["verify", &file]);
        assert_eq!(code(&out), 2);
        assert!(stderr(&out).contains(expect), "{}", stderr(&out));
        assert!(
            !stderr(&out).contains("do_not_print_me") && !stdout(&out).contains("do_not_print_me")
        );
    }
    let bad_file = write(&dir, "bad", b"whsec_ok_one\n\twhsec_do_not_print_me\n");
    let out = run(None, &["verify", "--secret-file", &bad_file, &file]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("line 2: invalid secret"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("do_not_print_me"));
    let out = run(
        None,
        &[
            "verify",
            "--secret-file",
            dir.join("nope").to_str().unwrap(),
            &file,
        ],
    );
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("cannot read secret file"));
    // The secret appears nowhere in what sign and verify print.
    for args in [
        &["sign", "--sample", "run.failed"][..],
        &["sign", "--sample", "run.failed", "--format", "curl"],
        &["verify", &file],
    ] {
        let out = run(Some(SECRET), args);
        assert!(
            !stdout(&out).contains(SECRET) && !stderr(&out).contains(SECRET),
            "{args:?}"
        );
    }
}

#[test]
fn rotation_with_two_secrets() {
    let dir = scratch("rotation");
    let new = "whsec_new_Zt9mQ2vX8pL4";
    let old = "whsec_old_Rk3sT7uW1yB5";
    // Signed during the overlap: one v1 per secret.
    let both = sign_http(&format!("{new},{old}"), &["--sample", "run.completed"]);
    let text = String::from_utf8_lossy(&both);
    let sig = text
        .lines()
        .find(|l| l.starts_with("X-Nexio-Signature:"))
        .unwrap();
    assert_eq!(sig.matches(",v1=").count(), 2, "{sig}");
    let both = write(&dir, "both.http", &both);
    let only_old = write(
        &dir,
        "old.http",
        &sign_http(old, &["--sample", "run.failed"]),
    );
    let verify = |secrets: &str, file: &str| {
        let out = run(
            Some(secrets),
            &["verify", "--format", "json", "--now", "1774180802", file],
        );
        json_lines(&out).remove(0)
    };
    // A receiver that only knows one secret still verifies, and says which matched.
    assert_eq!(verify(new, &both)["key_id"], key_id(new).as_str());
    assert_eq!(verify(old, &both)["key_id"], key_id(old).as_str());
    // A receiver holding both: the old secret's delivery matches the old key.
    assert_eq!(
        verify(&format!("{new},{old}"), &only_old)["key_id"],
        key_id(old).as_str()
    );
    assert_eq!(verify(&format!("{new},{old}"), &only_old)["ok"], true);
    assert_eq!(verify(new, &only_old)["code"], "signature_mismatch");
    // Two files, the flag repeated.
    let f_new = write(&dir, "new.secret", new.as_bytes());
    let f_old = write(&dir, "old.secret", old.as_bytes());
    let out = run(
        None,
        &[
            "verify",
            "--now",
            "1774180802",
            "--secret-file",
            &f_new,
            "--secret-file",
            &f_old,
            &only_old,
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).ends_with(&format!("key={}\n", key_id(old))));
}

#[test]
fn verify_options_strict_window_and_bearer() {
    let dir = scratch("options");
    let file = write(
        &dir,
        "d.http",
        &sign_http(SECRET, &["--sample", "run.completed"]),
    );
    let v = |extra: &[&str]| {
        let mut a = vec!["verify", "--format", "json"];
        a.extend_from_slice(extra);
        a.push(&file);
        let out = run(Some(SECRET), &a);
        (
            code(&out),
            json_lines(&out).remove(0)["code"].clone(),
            stderr(&out),
        )
    };
    assert_eq!(v(&["--now", "1774181100"]).1, Value::Null);
    assert_eq!(v(&["--now", "1774181101"]).1, "timestamp_too_old");
    assert_eq!(
        v(&["--now", "1774181101", "--max-age", "301"]).1,
        Value::Null
    );
    assert_eq!(v(&["--now", "1774180499"]).1, "timestamp_too_new");
    assert_eq!(
        v(&["--now", "1774180700", "--max-future", "100"]).1,
        Value::Null
    );
    assert_eq!(
        v(&["--now", "1774180699", "--max-future", "100"]).1,
        "timestamp_too_new"
    );
    // Unsigned header disagreeing with the signed data: a warning, or with --strict
    // a rejection.
    let raw = std::fs::read(&file).unwrap();
    let edited = String::from_utf8(raw).unwrap().replace(
        "X-Nexio-Timestamp: 1774180800",
        "X-Nexio-Timestamp: 1774180801",
    );
    std::fs::write(&file, edited).unwrap();
    let (c, got, err) = v(&["--now", "1774180802"]);
    assert_eq!((c, got), (0, Value::Null));
    assert!(
        err.contains("warning:") && err.contains("X-Nexio-Timestamp differs"),
        "{err}"
    );
    assert_eq!(
        v(&["--now", "1774180802", "--strict"]).1,
        "timestamp_header_mismatch"
    );
    // Bearer token required but absent.
    let out = cmd()
        .env("NEXIO_WEBHOOK_SECRET", SECRET)
        .env("NEXIO_TOKEN", "tok")
        .args([
            "verify",
            "--now",
            "1774180802",
            "--bearer-env",
            "NEXIO_TOKEN",
            &file,
        ])
        .output()
        .unwrap();
    assert_eq!(
        stdout(&out),
        format!("{file}: rejected missing_bearer_token\n")
    );
}

#[test]
fn garbage_files_get_a_code_never_a_panic() {
    let dir = scratch("garbage");
    let binary: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    let mut ten_mb_garbage = Vec::with_capacity(10 << 20);
    let mut x: u32 = 0x1234_5678;
    while ten_mb_garbage.len() < 10 << 20 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        ten_mb_garbage.extend_from_slice(&x.to_le_bytes());
    }
    let mut ten_mb_head = b"POST /webhooks HTTP/1.1\r\nX-Pad: ".to_vec();
    ten_mb_head.resize(10 << 20, b'a');
    let mut ten_mb_lines = b"POST /webhooks HTTP/1.1\n".to_vec();
    while ten_mb_lines.len() < 10 << 20 {
        ten_mb_lines.extend_from_slice(b"X-A: b\n");
    }
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "invalid_request"),
        ("binary", binary, "invalid_request"),
        (
            "header-only",
            b"X-Nexio-Signature: t=1774180800,v1=00\r\n\r\n".to_vec(),
            "invalid_request",
        ),
        (
            "head-only",
            b"POST /webhooks HTTP/1.1\r\nHost: x\r\n".to_vec(),
            "invalid_request",
        ),
        (
            "no-blank-line",
            b"POST /webhooks HTTP/1.1\r\nHost: x\r\n{\"id\":1}".to_vec(),
            "invalid_request",
        ),
        (
            "request-line-only",
            b"POST /webhooks HTTP/1.1".to_vec(),
            "invalid_request",
        ),
        (
            "no-signature",
            b"POST /webhooks HTTP/1.1\r\nHost: x\r\n\r\n{}".to_vec(),
            "missing_signature",
        ),
        (
            "chunked",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n".to_vec(),
            "invalid_request",
        ),
        ("10mb-garbage", ten_mb_garbage, "invalid_request"),
        ("10mb-head", ten_mb_head, "invalid_request"),
        ("10mb-header-lines", ten_mb_lines, "invalid_request"),
    ];
    let mut files = Vec::new();
    for (name, bytes, _) in &cases {
        files.push(write(&dir, name, bytes));
    }
    // A 10 MB body, correctly signed: past the default 1 MiB limit it is refused as
    // the receivers would; with the limit raised it is verified (the MAC covers every
    // byte), then refused as not JSON.
    let big_body = write(&dir, "big-body.txt", &vec![b'x'; 10 << 20]);
    files.push(write(&dir, "10mb-signed", &sign_http(SECRET, &[&big_body])));
    let out = run(
        Some(SECRET),
        &[
            "verify",
            "--format",
            "json",
            "--now",
            "1774180802",
            files.last().unwrap(),
        ],
    );
    assert_eq!(json_lines(&out)[0]["code"], "payload_too_large");
    let mut args = vec![
        "verify",
        "--format",
        "json",
        "--now",
        "1774180802",
        "--max-body",
        "11000000",
    ];
    args.extend(files.iter().map(String::as_str));
    let started = Instant::now();
    let out = run(Some(SECRET), &args);
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(code(&out), 1);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), cases.len() + 1);
    for ((name, _, want), line) in cases.iter().zip(&lines) {
        assert_eq!(line["code"], *want, "{name}: {line}");
        assert_eq!(line["ok"], false);
    }
    let last = lines.last().unwrap();
    assert_eq!(last["code"], "invalid_json");
    assert_eq!(last["key_id"], key_id(SECRET).as_str());
    // Text mode explains invalid_request on stderr.
    let out = run(Some(SECRET), &["verify", &files[3]]);
    assert_eq!(
        stdout(&out),
        format!("{}: rejected invalid_request\n", files[3])
    );
    assert!(
        stderr(&out).contains("no blank line after the headers"),
        "{}",
        stderr(&out)
    );
}

/// The bundled sample deliveries are what `sign` produces today, and verify as the
/// README says.
#[test]
fn bundled_deliveries_are_current_and_verify() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/deliveries");
    let other = "whsec_not_the_endpoint_secret";
    let expected: [(&str, &str, &[&str]); 5] = [
        ("run_completed.http", SECRET, &["--sample", "run.completed"]),
        ("run_failed.http", SECRET, &["--sample", "run.failed"]),
        (
            "rejected/tampered_body.http",
            SECRET,
            &["--sample", "run.completed", "--tamper", "body"],
        ),
        (
            "rejected/stale.http",
            SECRET,
            &["--sample", "run.failed", "--stale", "600"],
        ),
        (
            "rejected/wrong_secret.http",
            other,
            &["--sample", "run.completed"],
        ),
    ];
    for (file, secret, args) in expected {
        let bundled = std::fs::read(root.join(file)).unwrap();
        assert_eq!(
            bundled,
            sign_http(secret, args),
            "{file} is stale: run examples/deliveries/generate.sh"
        );
    }
    let path = |f: &str| root.join(f).to_str().unwrap().to_owned();
    let (a, b) = (path("run_completed.http"), path("run_failed.http"));
    // The README's first command.
    let out = run(Some(SECRET), &["verify", "--now", "1774180802", &a, &b]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let key = key_id(SECRET);
    assert_eq!(
        stdout(&out),
        format!(
            "{a}: ok run.completed evt_01JQ7R2M4X9K3T5V8B6N1C0D2E key={key}\n\
             {b}: ok run.failed evt_01JQ7R5P8Z2W4Y6A9C3E5G7J1K key={key}\n"
        )
    );
    let (s, t, w) = (
        path("rejected/stale.http"),
        path("rejected/tampered_body.http"),
        path("rejected/wrong_secret.http"),
    );
    let out = run(Some(SECRET), &["verify", "--now", "1774180802", &s, &t, &w]);
    assert_eq!(code(&out), 1);
    assert_eq!(
        stdout(&out),
        format!(
            "{s}: rejected timestamp_too_old\n{t}: rejected signature_mismatch\n{w}: rejected signature_mismatch\n"
        )
    );
}

/// A running `listen`, its output collected in the background.
struct Listen {
    child: Child,
    url: String,
    output: Arc<Mutex<String>>,
}

impl Listen {
    fn start(extra_env: &[(&str, &str)], args: &[&str]) -> Self {
        let mut c = cmd();
        c.env("NEXIO_WEBHOOK_SECRET", SECRET)
            .args(["listen", "--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in extra_env {
            c.env(k, v);
        }
        let mut child = c.spawn().unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        reader.read_line(&mut first).unwrap();
        let url = first
            .strip_prefix("listening on ")
            .and_then(|r| r.split(' ').next())
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_owned();
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        let output = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&output);
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Self { child, url, output }
    }

    fn send(&self, secret: &str, args: &[&str]) -> Output {
        let mut a = vec!["send", "--url", &self.url];
        a.extend_from_slice(args);
        run(Some(secret), &a)
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Ctrl-C, and wait for a clean exit.
    fn interrupt(mut self) -> String {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "listen exited with {status}");
                break;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("listen did not stop on SIGINT");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(100));
        self.output()
    }
}

impl Drop for Listen {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn send_against_listen() {
    let listen = Listen::start(&[], &["--print-body"]);

    let out = listen.send(SECRET, &["--sample", "run.completed"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "200 OK\n{\"status\":\"ok\"}\n");

    // Many, one after the other: every one answered 200 (the same event id again is a
    // duplicate, which a receiver also acknowledges with 200). Concurrent copies
    // would meet the first one in progress and be answered 409; tests/http/layer.rs and
    // tests/http/redis_axum.rs cover those.
    let out = listen.send(
        SECRET,
        &[
            "--sample",
            "run.failed",
            "--count",
            "200",
            "--concurrency",
            "1",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let summary = stdout(&out);
    assert!(summary.contains("sent 200 deliveries to "), "{summary}");
    assert!(
        summary.contains("status: 200 duplicate x199, 200 ok x1\n"),
        "{summary}"
    );
    assert!(summary.contains("latency ms: min "), "{summary}");

    // The bad deliveries a receiver must reject: 4xx, and exit 1.
    for (args, want) in [
        (
            &["--tamper", "body"][..],
            "401 Unauthorized\n{\"error\":\"signature_mismatch\"}\n",
        ),
        (
            &["--tamper", "signature"],
            "401 Unauthorized\n{\"error\":\"signature_mismatch\"}\n",
        ),
        (
            &["--tamper", "timestamp"],
            "401 Unauthorized\n{\"error\":\"signature_mismatch\"}\n",
        ),
        (
            &["--stale", "600"],
            "401 Unauthorized\n{\"error\":\"timestamp_too_old\"}\n",
        ),
        (
            &["--timestamp", "1"],
            "401 Unauthorized\n{\"error\":\"timestamp_too_old\"}\n",
        ),
    ] {
        let mut a = vec!["--sample", "run.completed"];
        a.extend_from_slice(args);
        let out = listen.send(SECRET, &a);
        assert_eq!(code(&out), 1, "{args:?}");
        assert_eq!(stdout(&out), want, "{args:?}");
    }
    let out = listen.send("whsec_some_other_secret", &["--sample", "run.completed"]);
    assert_eq!(code(&out), 1);
    let out = listen.send(
        SECRET,
        &[
            "--sample",
            "run.failed",
            "--count",
            "20",
            "--concurrency",
            "4",
            "--tamper",
            "body",
        ],
    );
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).contains("status: 401 x20\n"),
        "{}",
        stdout(&out)
    );
    // A verified but unparseable payload: 422.
    let dir = scratch("send_listen");
    let body = write(&dir, "body.json", b"[1,2,3]");
    let out = listen.send(SECRET, &[&body]);
    assert_eq!(
        stdout(&out),
        "422 Unprocessable Entity\n{\"error\":\"invalid_event\"}\n"
    );
    // An envelope the layer lets through, with a payload `listen` cannot read: its
    // handler refuses it the same way.
    let body = write(
        &dir,
        "no_run.json",
        br#"{"id":"evt_no_run","type":"run.failed","webhook_version":"2026-03-22","data":{}}"#,
    );
    let out = listen.send(SECRET, &[&body]);
    assert_eq!(
        stdout(&out),
        "422 Unprocessable Entity\n{\"error\":\"invalid_event\"}\n"
    );

    let printed = listen.interrupt();
    let lines: Vec<&str> = printed.lines().collect();
    let ok = lines.iter().filter(|l| l.contains(" ok run.")).count();
    let dup = lines
        .iter()
        .filter(|l| l.contains(" duplicate run.failed "))
        .count();
    assert_eq!((ok, dup), (2, 199), "{printed}");
    assert!(printed.contains(" ok run.completed evt_01JQ7R2M4X9K3T5V8B6N1C0D2E run=3f8e2a1c-7b4d-4e9f-a6c2-1d5b8e7f9a03 status=completed key="), "{printed}");
    assert!(
        printed.contains("\"run_id\": \"3f8e2a1c-7b4d-4e9f-a6c2-1d5b8e7f9a03\""),
        "--print-body: {printed}"
    );
    assert!(
        printed.contains(" rejected timestamp_too_old -> 401\n"),
        "{printed}"
    );
    assert!(
        printed.contains(" rejected signature_mismatch -> 401\n"),
        "{printed}"
    );
    assert_eq!(
        printed
            .matches(" rejected invalid_event -> 422 (signature verified)\n")
            .count(),
        2,
        "{printed}"
    );
    assert!(printed.ends_with("stopped\n"), "{printed}");
}

#[test]
fn listen_with_bearer_token_and_body_limit() {
    let listen = Listen::start(
        &[("NEXIO_TOKEN", "tok-123")],
        &["--bearer-env", "NEXIO_TOKEN", "--max-body", "1000"],
    );
    let out = listen.send(SECRET, &["--sample", "run.failed"]);
    assert_eq!(
        stdout(&out),
        "401 Unauthorized\n{\"error\":\"missing_bearer_token\"}\n"
    );
    let out = cmd()
        .env("NEXIO_WEBHOOK_SECRET", SECRET)
        .env("NEXIO_TOKEN", "tok-123")
        .args([
            "send",
            "--url",
            &listen.url,
            "--sample",
            "run.failed",
            "--bearer-env",
            "NEXIO_TOKEN",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let dir = scratch("limit");
    let big = write(&dir, "big.json", &vec![b' '; 2000]);
    let out = cmd()
        .env("NEXIO_WEBHOOK_SECRET", SECRET)
        .env("NEXIO_TOKEN", "tok-123")
        .args([
            "send",
            "--url",
            &listen.url,
            &big,
            "--bearer-env",
            "NEXIO_TOKEN",
        ])
        .output()
        .unwrap();
    assert_eq!(
        stdout(&out),
        "413 Payload Too Large\n{\"error\":\"payload_too_large\"}\n"
    );
    assert_eq!(code(&out), 1);
    // A wrong path: 404, and listen says where deliveries go.
    let wrong = listen.url.replace("/webhooks", "/hooks");
    let out = run(
        Some(SECRET),
        &["send", "--url", &wrong, "--sample", "run.failed"],
    );
    assert_eq!(code(&out), 1);
    assert_eq!(stdout(&out), "404 Not Found\n{\"error\":\"not_found\"}\n");
    let printed = listen.interrupt();
    assert!(
        printed.contains(" POST /hooks -> 404 (deliveries go to POST /webhooks)\n"),
        "{printed}"
    );
    assert!(
        printed.contains(" rejected payload_too_large -> 413\n"),
        "{printed}"
    );
    assert!(
        printed.contains(" rejected missing_bearer_token -> 401\n"),
        "{printed}"
    );
}

#[test]
fn send_reports_connection_failures_and_refuses_https() {
    // A port nothing listens on: bind, note the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/webhooks");
    let out = run(
        Some(SECRET),
        &["send", "--url", &url, "--sample", "run.completed"],
    );
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("cannot connect"), "{}", stderr(&out));
    let out = run(
        Some(SECRET),
        &[
            "send",
            "--url",
            &url,
            "--sample",
            "run.completed",
            "--count",
            "3",
        ],
    );
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).contains("status: error (cannot connect"),
        "{}",
        stdout(&out)
    );
    let out = run(
        Some(SECRET),
        &[
            "send",
            "--url",
            "https://127.0.0.1:1/",
            "--sample",
            "run.completed",
        ],
    );
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("https is not supported"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        code(&run(
            Some(SECRET),
            &["send", "--url", "nonsense", "--sample", "run.completed"]
        )),
        2
    );
    assert_eq!(
        code(&run(
            Some(SECRET),
            &["send", "--sample", "run.completed", "--count", "0"]
        )),
        2
    );
}
