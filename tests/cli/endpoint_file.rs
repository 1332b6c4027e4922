//! `--endpoint-file`, run as the built binary: `endpoint create` writes Nexio's
//! answer without the secret (mode 0600); `sign`, `verify` and `listen` read it. A
//! live-signed delivery carrying a `test` run and an unsubscribed event type are
//! reported by default and refused under `--strict` (422 from `listen`); an endpoint
//! with `auth_token_configured: true` and no `--bearer-env` is a usage error naming
//! `bearer_token_required`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_nexio-webhooks");
const API_KEY: &str = "nx_test_4f9a2b7c1d";
const SECRET: &str = "whsec_EndpointFileSecret0123456789";
const TOKEN: &str = "tok_endpoint_file_bearer_42";

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cli_endpoint_file")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn cmd() -> Command {
    let mut c = Command::new(BIN);
    c.env_remove("NEXIO_API_KEY")
        .env_remove("NEXIO_API_BASE")
        .env("NEXIO_WEBHOOK_SECRET", SECRET)
        .stdin(Stdio::null());
    c
}

fn run(env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = cmd();
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.args(args).output().unwrap();
    let (stdout, stderr) = texts(&out);
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    for s in [SECRET, API_KEY, TOKEN] {
        assert!(
            !stdout.contains(s) && !stderr.contains(s),
            "{args:?} printed {s}"
        );
    }
    out
}

fn texts(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write_endpoint(dir: &Path, name: &str, endpoint: &Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, endpoint.to_string()).unwrap();
    path.to_str().unwrap().to_owned()
}

fn live_endpoint(auth: bool) -> Value {
    json!({
        "id": "wh_live_1",
        "url": "https://hooks.example.com/nexio",
        "environment": "live",
        "events": ["run.completed"],
        "active": true,
        "auth_token_configured": auth,
        "webhook_version": "2026-03-22",
        "created_at": "2026-03-22T12:00:00Z"
    })
}

/// A signed capture (raw HTTP) of `--sample SAMPLE` with `sets`, written to `path`.
fn capture(path: &Path, sample: &str, sets: &[&str]) {
    let mut args = vec!["sign", "--sample", sample, "--timestamp", "1774180800"];
    for s in sets {
        args.extend(["--set", s]);
    }
    let out = run(&[], &args);
    assert!(out.status.success(), "{:?}", texts(&out));
    std::fs::write(path, &out.stdout).unwrap();
}

fn json_lines(out: &Output) -> Vec<Value> {
    texts(out)
        .0
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(not(unix))]
fn mode(_: &Path) -> u32 {
    0o600
}

/// A stand-in of Nexio's API answering `POST /api/v1/webhooks` as documented.
fn fake_api() -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let app = axum::Router::new().fallback(|req: axum::extract::Request| async move {
                let body = axum::body::to_bytes(req.into_body(), 1 << 20)
                    .await
                    .unwrap();
                let req: Value = serde_json::from_slice(&body).unwrap();
                let answer = json!({
                    "id": "wh_01JQ8ZK3",
                    "url": req["url"],
                    "environment": "test",
                    "events": req["events"],
                    "active": true,
                    "auth_token_configured": false,
                    "webhook_version": "2026-03-22",
                    "secret": SECRET,
                    "created_at": "2026-03-22T12:00:00Z",
                    "description": null
                });
                axum::response::Response::builder()
                    .status(201)
                    .header("content-type", "application/json")
                    .body(axum::body::Body::from(answer.to_string()))
                    .unwrap()
            });
            axum::serve(listener, app).await.unwrap();
        });
    });
    format!("http://{}", rx.recv().unwrap())
}

#[test]
fn create_writes_the_answer_without_the_secret_and_verify_uses_it() {
    let dir = scratch("create");
    let api = fake_api();
    let secret_file = dir.join("secret");
    let endpoint_file = dir.join("endpoint.json");
    let out = run(
        &[("NEXIO_API_KEY", API_KEY)],
        &[
            "endpoint",
            "create",
            "--url",
            "https://hooks.example.com/nexio",
            "--events",
            "run.completed",
            "--api-base",
            &api,
            "--secret-file",
            secret_file.to_str().unwrap(),
            "--endpoint-file",
            endpoint_file.to_str().unwrap(),
        ],
    );
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!(
            "  endpoint: written to {} (mode 0600",
            endpoint_file.display()
        )),
        "{stdout}"
    );
    assert_eq!(mode(&endpoint_file), 0o600);
    let text = std::fs::read_to_string(&endpoint_file).unwrap();
    assert!(!text.contains(SECRET) && !text.contains("secret"), "{text}");
    let saved: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(saved["id"], "wh_01JQ8ZK3");
    assert_eq!(saved["environment"], "test");
    assert_eq!(saved["created_at"], "2026-03-22T12:00:00Z");

    // An existing endpoint file is kept unless forced.
    let again = run(
        &[("NEXIO_API_KEY", API_KEY)],
        &[
            "endpoint",
            "create",
            "--url",
            "https://hooks.example.com/nexio",
            "--events",
            "run.completed",
            "--api-base",
            &api,
            "--secret-file",
            dir.join("other").to_str().unwrap(),
            "--endpoint-file",
            endpoint_file.to_str().unwrap(),
        ],
    );
    assert_eq!(again.status.code(), Some(2));
    assert!(texts(&again).1.contains("exists"));
    assert!(!dir.join("other").exists());

    // `sign --endpoint-file` signs the run as the endpoint's environment: it verifies
    // clean, attributed to the endpoint.
    let ep = endpoint_file.to_str().unwrap();
    let out = run(
        &[],
        &[
            "sign",
            "--sample",
            "run.completed",
            "--timestamp",
            "1774180800",
            "--endpoint-file",
            ep,
        ],
    );
    assert!(out.status.success(), "{:?}", texts(&out));
    let file = dir.join("signed.http");
    std::fs::write(&file, &out.stdout).unwrap();
    let out = run(
        &[],
        &[
            "verify",
            "--format",
            "json",
            "--now",
            "1774180800",
            "--strict",
            "--secret-file",
            secret_file.to_str().unwrap(),
            "--endpoint-file",
            ep,
            file.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{:?}", texts(&out));
    let line = &json_lines(&out)[0];
    assert_eq!(line["ok"], true);
    assert_eq!(line["endpoint_id"], "wh_01JQ8ZK3");
    assert_eq!(line["environment"], "test");
    assert_eq!(line["mismatches"], json!([]));

    // Text output names the endpoint too.
    let out = run(
        &[],
        &[
            "verify",
            "--now",
            "1774180800",
            "--endpoint-file",
            ep,
            file.to_str().unwrap(),
        ],
    );
    assert!(
        texts(&out)
            .0
            .contains("endpoint=wh_01JQ8ZK3 environment=test"),
        "{:?}",
        texts(&out)
    );
}

#[test]
fn verify_reports_by_default_and_refuses_under_strict() {
    let dir = scratch("verify");
    let ep = write_endpoint(&dir, "live.json", &live_endpoint(false));
    let test_run = dir.join("test_run.http");
    capture(&test_run, "run.completed", &["data.run.environment=test"]);
    let unsubscribed = dir.join("unsubscribed.http");
    capture(&unsubscribed, "run.failed", &["data.run.environment=live"]);
    let good = dir.join("good.http");
    capture(&good, "run.completed", &[]);
    let files = [&good, &test_run, &unsubscribed].map(|p| p.to_str().unwrap().to_owned());

    let mut args = vec![
        "verify",
        "--format",
        "json",
        "--now",
        "1774180800",
        "--endpoint-file",
        &ep,
    ];
    args.extend(files.iter().map(String::as_str));
    let out = run(&[], &args);
    assert!(out.status.success(), "{:?}", texts(&out));
    let lines = json_lines(&out);
    for line in &lines {
        assert_eq!(line["ok"], true, "{line}");
        assert_eq!(line["endpoint_id"], "wh_live_1");
        assert_eq!(line["environment"], "live");
    }
    assert_eq!(lines[0]["mismatches"], json!([]));
    assert_eq!(lines[1]["mismatches"], json!(["environment_mismatch"]));
    assert_eq!(lines[2]["mismatches"], json!(["event_not_subscribed"]));
    let stderr = texts(&out).1;
    assert!(
        stderr.contains(
            "the signed run's environment is not the endpoint's (rejected with --strict)"
        ),
        "{stderr}"
    );

    args.insert(1, "--strict");
    let out = run(&[], &args);
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&out);
    assert_eq!(lines[0]["ok"], true);
    assert_eq!(lines[1]["code"], "environment_mismatch");
    assert_eq!(lines[2]["code"], "event_not_subscribed");
    assert_eq!(lines[2]["ok"], false);
    // A strict refusal is a verification failure: nothing is attributed.
    assert_eq!(lines[1]["endpoint_id"], Value::Null);

    // Without --endpoint-file, nothing of this is checked or added.
    let out = run(
        &[],
        &[
            "verify",
            "--format",
            "json",
            "--now",
            "1774180800",
            &files[1],
        ],
    );
    let line = &json_lines(&out)[0];
    assert_eq!(line["ok"], true);
    assert!(line.get("endpoint_id").is_none() && line.get("mismatches").is_none());
}

#[test]
fn a_configured_token_without_bearer_env_is_a_usage_error() {
    let dir = scratch("token");
    let ep = write_endpoint(&dir, "auth.json", &live_endpoint(true));
    let good = dir.join("good.http");
    capture(&good, "run.completed", &[]);
    let good = good.to_str().unwrap();
    for args in [
        vec!["verify", "--endpoint-file", &ep, good],
        vec!["listen", "--port", "0", "--endpoint-file", &ep],
        vec!["sign", "--sample", "run.completed", "--endpoint-file", &ep],
    ] {
        let out = run(&[], &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = texts(&out).1;
        assert!(stderr.contains("bearer_token_required"), "{stderr}");
        assert!(stderr.contains("--bearer-env"), "{stderr}");
    }
    // With the token, verify checks it.
    let out = run(
        &[("TOKEN", TOKEN)],
        &[
            "verify",
            "--now",
            "1774180800",
            "--bearer-env",
            "TOKEN",
            "--endpoint-file",
            &ep,
            good,
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(texts(&out).0.contains("missing_bearer_token"));

    // A file that is not an endpoint: the place, never a value.
    let bad = write_endpoint(&dir, "bad.json", &json!({"events": SECRET}));
    let out = run(&[], &["verify", "--endpoint-file", &bad, good]);
    assert_eq!(out.status.code(), Some(2));
    assert!(texts(&out).1.contains("is not an endpoint"));
}

struct Listen {
    child: Child,
    url: String,
}

impl Drop for Listen {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn listen(args: &[&str]) -> Listen {
    let mut child = cmd()
        .args(["listen", "--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    let url = first
        .strip_prefix("listening on ")
        .and_then(|r| r.split(' ').next())
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    // Keep draining what it prints so it never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    Listen { child, url }
}

fn send(url: &str, sample: &str, sets: &[&str]) -> String {
    let mut args = vec!["send", "--url", url, "--sample", sample, "--fresh-id"];
    for s in sets {
        args.extend(["--set", s]);
    }
    texts(&run(&[], &args)).0
}

#[test]
fn listen_answers_422_under_strict() {
    let dir = scratch("listen");
    let ep = write_endpoint(&dir, "live.json", &live_endpoint(false));
    let strict = listen(&["--strict", "--endpoint-file", &ep]);
    let out = send(&strict.url, "run.completed", &[]);
    assert!(out.starts_with("200"), "{out}");
    let out = send(&strict.url, "run.completed", &["data.run.environment=test"]);
    assert_eq!(
        out,
        "422 Unprocessable Entity\n{\"error\":\"environment_mismatch\"}\n"
    );
    let out = send(&strict.url, "run.failed", &["data.run.environment=live"]);
    assert_eq!(
        out,
        "422 Unprocessable Entity\n{\"error\":\"event_not_subscribed\"}\n"
    );

    let lenient = listen(&["--endpoint-file", &ep]);
    let out = send(
        &lenient.url,
        "run.completed",
        &["data.run.environment=test"],
    );
    assert!(out.starts_with("200"), "{out}");
}
