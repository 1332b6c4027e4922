//! `verify` run as a user would, on what a receiver would refuse: the body limit
//! (`--max-body`, default 1 MiB, `payload_too_large`, the file not read past it; the
//! same for `replay`),
//! control characters in file names and values (escaped, never reaching the terminal
//! raw), and header lines parsed as hyper and actix-web parse them (only spaces and
//! tabs around a value; a form feed is refused, not trimmed).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use nexio_webhooks::{Delivery, Secret, Signer, sample};

const SECRET: &str = "whsec_abc123def456";
const T: i64 = 1_774_180_800;
const BIN: &str = env!("CARGO_BIN_EXE_nexio-webhooks");

fn cmd() -> Command {
    let mut c = Command::new(BIN);
    c.env_remove("NEXIO_WEBHOOK_SECRET")
        .env("NEXIO_WEBHOOK_SECRET", SECRET)
        .stdin(Stdio::null());
    c
}

fn verify(args: &[&str]) -> Output {
    let out = cmd()
        .arg("verify")
        .args(["--now", &(T + 2).to_string()])
        .args(args)
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cli_limits")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn signed(body: impl Into<Vec<u8>>) -> Delivery {
    Signer::new(Secret::new(SECRET).unwrap())
        .delivery(body)
        .timestamp(T)
        .build()
}

fn http(d: &Delivery) -> Vec<u8> {
    d.to_http1("/webhooks", "localhost")
}

/// Has any byte that would start or be part of a terminal escape sequence.
fn has_raw_controls(s: &str) -> bool {
    s.chars()
        .any(|c| (c.is_control() && c != '\n') || ('\u{202a}'..='\u{202e}').contains(&c))
}

#[test]
fn body_limit_is_the_receivers_and_configurable() {
    let dir = scratch("limit");
    let body = sample::RUN_COMPLETED;
    let path = dir.join("d.http");
    std::fs::write(&path, http(&signed(body))).unwrap();
    let path = path.to_str().unwrap();
    let len = body.len().to_string();
    let short = (body.len() - 1).to_string();

    let out = verify(&["--max-body", &len, path]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = verify(&["--max-body", &short, path]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        format!("{path}: rejected payload_too_large\n")
    );
    assert!(stderr(&out).contains("--max-body"), "{}", stderr(&out));

    // The default is 1 MiB, as a receiver's: a correctly signed 2 MiB body is
    // refused as too large, not verified.
    let mut large = sample::RUN_COMPLETED.as_bytes().to_vec();
    large.truncate(large.len() - 1);
    large.extend_from_slice(format!(",\"pad\":\"{}\"}}", "x".repeat(2 << 20)).as_bytes());
    let big = dir.join("big.http");
    std::fs::write(&big, http(&signed(large))).unwrap();
    let big = big.to_str().unwrap();
    let out = verify(&["--format", "json", big]);
    assert_eq!(out.status.code(), Some(1));
    let line: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(line["code"], "payload_too_large");
    let out = verify(&["--max-body", "4194304", big]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// Runs the tool with `args`, its stdin a delivery head announcing 10 GiB and then
/// bytes without end, until it exits (at most 30 s). Returns its output and how many
/// body bytes it took from stdin.
fn with_endless_stdin(args: &[&str]) -> (Output, usize) {
    let d = signed(sample::RUN_COMPLETED);
    let mut head = Vec::new();
    head.extend_from_slice(b"POST /webhooks HTTP/1.1\r\nHost: localhost\r\n");
    for (name, value) in d.headers() {
        head.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    head.extend_from_slice(b"Content-Length: 10737418240\r\n\r\n");
    let mut child = cmd()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let chunk = vec![b'x'; 64 * 1024];
        let mut sent = 0usize;
        if stdin.write_all(&head).is_err() {
            return sent;
        }
        // Until the reader goes away (or far more than any limit, as a backstop).
        while sent < 1 << 30 && stdin.write_all(&chunk).is_ok() {
            sent += chunk.len();
        }
        sent
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "{args:?} kept reading stdin");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (out, writer.join().unwrap())
}

#[test]
fn a_file_is_not_read_past_the_limit() {
    // `verify` must stop after the limit and answer, not read (or buffer) the rest.
    let (out, sent) = with_endless_stdin(&["verify", "--now", &(T + 2).to_string(), "-"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stdout(&out), "-: rejected payload_too_large\n");
    // The pipe holds at most a little more than the limit, plus the pipe's buffer.
    assert!(sent < 4 << 20, "{sent} bytes were taken from stdin");
}

#[test]
fn file_names_and_values_print_with_control_characters_escaped() {
    let dir = scratch("escape");
    let evil_id = "evt_\u{1b}]0;owned\u{7}\u{1b}[2J\u{9b}31m\u{202e}";
    // The id as JSON (escaped in the body), so the parsed event id holds raw ESC.
    let body = sample::RUN_COMPLETED.replace(
        "\"evt_01JQ7R2M4X9K3T5V8B6N1C0D2E\"",
        &serde_json::to_string(evil_id).unwrap(),
    );
    let name = "d\u{1b}[31mred\u{7}\u{9b}\u{202e}.http";
    std::fs::write(dir.join(name), http(&signed(body))).unwrap();
    let rejected = "bad\u{1b}[1A\r.http";
    std::fs::write(dir.join(rejected), b"not http\n\n").unwrap();
    let missing = "gone\u{1b}[2K.http";
    let paths: Vec<String> = [name, rejected, missing]
        .iter()
        .map(|n| dir.join(n).to_str().unwrap().to_owned())
        .collect();
    let args: Vec<&str> = paths.iter().map(String::as_str).collect();

    let out = verify(&args);
    let (text, err) = (stdout(&out), stderr(&out));
    assert!(!has_raw_controls(&text), "{text:?}");
    assert!(!has_raw_controls(&err), "{err:?}");
    assert!(
        text.contains(r"d\x1b[31mred\x07\u{9b}\u{202e}.http: ok"),
        "{text}"
    );
    assert!(
        text.contains(r"bad\x1b[1A\x0d.http: rejected invalid_request"),
        "{text}"
    );
    assert!(err.contains(r"cannot read "), "{err}");
    assert!(err.contains(r"gone\x1b[2K.http"), "{err}");
    // A value taken from the delivery (the event id) is escaped the same way.
    assert!(
        text.contains(r" ok run.completed evt_\x1b]0;owned\x07\x1b[2J\u{9b}31m\u{202e} key="),
        "{text}"
    );

    // JSON: the same strings, every control character as a \u escape.
    let out = verify(&["--format", "json", &paths[0], &paths[1]]);
    let text = stdout(&out);
    assert!(!has_raw_controls(&text), "{text:?}");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["file"], paths[0].as_str());
    assert_eq!(lines[1]["file"], paths[1].as_str());
}

#[test]
fn header_values_are_trimmed_of_spaces_and_tabs_only() {
    let dir = scratch("ows");
    let d = signed(sample::RUN_COMPLETED);
    let sig = d.header("X-Nexio-Signature").unwrap().to_owned();
    let raw = http(&d);
    let text = String::from_utf8(raw).unwrap();
    let with = |value: &str| {
        text.replace(
            &format!("X-Nexio-Signature: {sig}\r\n"),
            &format!("X-Nexio-Signature:{value}\r\n"),
        )
    };
    let mut paths = Vec::new();
    for (i, value) in [
        format!(" \t{sig}\t "),
        sig.clone(),
        format!("\x0c{sig}"),
        format!(" {sig}\x0c"),
        format!(" {sig} \x0b"),
    ]
    .iter()
    .enumerate()
    {
        let path = dir.join(format!("{i}.http"));
        std::fs::write(&path, with(value)).unwrap();
        paths.push(path.to_str().unwrap().to_owned());
    }
    let args: Vec<&str> = paths.iter().map(String::as_str).collect();
    let out = verify(&args);
    let lines: Vec<&str> = stdout(&out).leak().lines().collect();
    assert!(lines[0].ends_with(&format!(
        ": ok run.completed evt_01JQ7R2M4X9K3T5V8B6N1C0D2E key={}",
        Secret::new(SECRET).unwrap().key_id()
    )));
    assert!(lines[1].contains(": ok "), "{lines:?}");
    for line in &lines[2..] {
        assert!(line.ends_with(": rejected invalid_request"), "{lines:?}");
    }
    assert!(
        stderr(&out).contains("is not a header line"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn replay_applies_the_same_body_limit() {
    // Nothing listens at this address: a capture over the limit is refused before any
    // connection is tried, and one within it fails only at the connection.
    let url = "http://127.0.0.1:9/webhooks";
    let dir = scratch("replay");
    let body = sample::RUN_COMPLETED;
    let path = dir.join("d.http");
    std::fs::write(&path, http(&signed(body))).unwrap();
    let path = path.to_str().unwrap();
    let short = (body.len() - 1).to_string();
    let out = cmd()
        .args(["replay", "--url", url, "--max-body", &short, path])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("the body is larger than {short} bytes")),
        "{}",
        stderr(&out)
    );
    let len = body.len().to_string();
    let out = cmd()
        .args([
            "replay",
            "--url",
            url,
            "--timeout",
            "2",
            "--max-body",
            &len,
            path,
        ])
        .output()
        .unwrap();
    assert!(!stderr(&out).contains("larger than"), "{}", stderr(&out));

    // On stdin, a head announcing 10 GiB and bytes without end: refused after the
    // limit, without reading the rest.
    let (out, sent) = with_endless_stdin(&["replay", "--url", url, "-"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("larger than"), "{}", stderr(&out));
    assert!(sent < 4 << 20, "{sent} bytes were taken from stdin");
}
