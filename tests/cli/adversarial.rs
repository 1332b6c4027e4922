//! The adversarial catalogue through the command-line tool: each case written as a raw
//! HTTP request file and checked by the built binary's `verify --format json`, with
//! the case's secrets, window, strictness and bearer token passed as the tool takes
//! them. 0 false accepts, 0 panics, every code as expected.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::adversarial::{self, Case, Front, Observed, SecretSpec};

const BIN: &str = env!("CARGO_BIN_EXE_nexio-webhooks");
const PARSE_CODES: [&str; 3] = ["invalid_json", "invalid_event", "unsupported_version"];

/// Whether the tool can be configured as the case says: it takes `whsec_` strings
/// (no raw keys), has no per-secret expiry option, and passes secrets and tokens
/// through the environment (no NUL byte).
fn expressible(case: &Case) -> bool {
    let text_secrets = case.secrets.iter().all(|(spec, exp)| {
        exp.is_none()
            && matches!(spec, SecretSpec::Text(t) if !t.contains('\0') && !t.contains(','))
    });
    text_secrets
        && case
            .bearer_token
            .as_deref()
            .is_none_or(|t| !t.contains('\0'))
}

fn request_file(dir: &Path, index: usize, case: &Case) -> PathBuf {
    let mut raw = b"POST /webhooks HTTP/1.1\r\nHost: 127.0.0.1\r\n".to_vec();
    for (name, value) in &case.headers {
        raw.extend_from_slice(name.as_bytes());
        raw.extend_from_slice(b": ");
        raw.extend_from_slice(value);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(format!("Content-Length: {}\r\n\r\n", case.body.len()).as_bytes());
    raw.extend_from_slice(&case.body);
    let path = dir.join(format!("case-{index}.http"));
    std::fs::write(&path, raw).unwrap();
    path
}

fn observe(dir: &Path, index: usize, case: &Case) -> Observed {
    let file = request_file(dir, index, case);
    let secrets: Vec<&str> = case
        .secrets
        .iter()
        .map(|(spec, _)| match spec {
            SecretSpec::Text(t) => t.as_str(),
            SecretSpec::Raw(_) => unreachable!("filtered out"),
        })
        .collect();
    let mut cmd = Command::new(BIN);
    cmd.env_remove("NEXIO_WEBHOOK_SECRET")
        .env("NEXIO_WEBHOOK_SECRET", secrets.join(","))
        .stdin(Stdio::null())
        .args(["verify", "--format", "json", "--now", &case.now.to_string()]);
    if let Some(a) = case.max_age {
        cmd.args(["--max-age", &a.to_string()]);
    }
    if let Some(f) = case.max_future {
        cmd.args(["--max-future", &f.to_string()]);
    }
    if case.strict {
        cmd.arg("--strict");
    }
    if let Some(t) = &case.bearer_token {
        cmd.env("NEXIO_CATALOGUE_TOKEN", t)
            .args(["--bearer-env", "NEXIO_CATALOGUE_TOKEN"]);
    }
    let out = cmd.arg(&file).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked"),
        "{}: the tool panicked: {stderr}",
        case.name
    );
    match out.status.code() {
        Some(2) => {
            // A usage error: the only ones a case can cause are a refused secret or
            // bearer token.
            assert!(
                stderr.contains("invalid secret") || stderr.contains("invalid bearer token"),
                "{}: unexpected usage error: {stderr}",
                case.name
            );
            return Observed {
                outcome: "invalid_secret".to_owned(),
                ..Observed::default()
            };
        }
        Some(0 | 1) => {}
        other => panic!("{}: exit status {other:?}: {stderr}", case.name),
    }
    let line = String::from_utf8(out.stdout).unwrap();
    let json: serde_json::Value = serde_json::from_str(line.trim())
        .unwrap_or_else(|_| panic!("{}: not one JSON line: {line:?}", case.name));
    let key_id = || {
        let id = json["key_id"].as_str()?;
        case.secrets()
            .ok()?
            .into_iter()
            .map(|(s, _)| s.key_id())
            .find(|k| k.to_string() == id)
    };
    if json["ok"] == true {
        assert_eq!(out.status.code(), Some(0), "{}", case.name);
        return Observed {
            outcome: "accept".to_owned(),
            key_id: key_id(),
            event: Some("ok".to_owned()),
            mismatches: None,
        };
    }
    assert_eq!(out.status.code(), Some(1), "{}", case.name);
    let code = json["code"].as_str().unwrap().to_owned();
    if PARSE_CODES.contains(&code.as_str()) {
        // Verified, but the event did not parse: `ok` is false with the parse code.
        return Observed {
            outcome: "accept".to_owned(),
            key_id: key_id(),
            event: Some(code),
            mismatches: None,
        };
    }
    Observed {
        outcome: code,
        ..Observed::default()
    }
}

#[test]
fn catalogue_through_the_cli() {
    let all = adversarial::load();
    let total = all.len();
    let cases: Vec<Case> = all.into_iter().filter(expressible).collect();
    let dir = std::env::temp_dir().join(format!("nexio-catalogue-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let routes: std::collections::HashMap<String, usize> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.clone(), i))
        .collect();
    let report = adversarial::run_catalogue(&cases, Front::Cli, |case| {
        observe(&dir, routes[&case.name], case)
    });
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!(
        "cli: {} cases run; {} not expressible in HTTP/1.1 skipped; {} need raw keys or secret expiry, which the tool does not take",
        report.run,
        report.skipped,
        total - cases.len()
    );
    assert!(report.run >= 180, "only {} cases ran", report.run);
    report.assert_clean();
}
