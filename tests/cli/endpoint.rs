//! `nexio-webhooks endpoint create` and `endpoint rotate-secret`, run as the built
//! binary against a local stand-in of Nexio's API that implements the documented
//! requests and answers: the request line, headers and JSON body are checked, the
//! secret file's content and mode, and that no secret, API key or auth token ever
//! reaches stdout or stderr.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use nexio_webhooks::{Secret, Signer};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_nexio-webhooks");
const API_KEY: &str = "nx_test_4f9a2b7c1d";
const TOKEN: &str = "tok_endpoint_bearer_0123456789";
const NEW_SECRET: &str = "whsec_NewSecretFromTheApi0123456789";
const OLD_SECRET: &str = "whsec_OldSecretInTheFile9876543210";
const ROTATED: &str = "whsec_RotatedSecretFromTheApi55555";

/// One request the stand-in API received.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

type Answer = fn(&Seen) -> (u16, String);

/// The documented answers: create returns the endpoint with its once-only secret
/// (and a field this tool does not know), rotate-secret the new secret.
fn documented(seen: &Seen) -> (u16, String) {
    if seen.path == "/api/v1/webhooks" {
        let req = seen.json();
        let answer = json!({
            "id": "wh_01JQ8ZK3",
            "url": req["url"],
            "environment": "test",
            "events": req["events"],
            "active": req.get("active").cloned().unwrap_or(Value::Bool(true)),
            "auth_token_configured": req.get("auth_token").is_some(),
            "webhook_version": "2026-03-22",
            "secret": NEW_SECRET,
            "created_at": "2026-03-22T12:00:00Z",
            "description": req.get("description").cloned().unwrap_or(Value::Null),
        });
        (201, answer.to_string())
    } else if let Some(id) = seen
        .path
        .strip_prefix("/api/v1/webhooks/")
        .and_then(|p| p.strip_suffix("/rotate-secret"))
    {
        let answer = json!({
            "id": id,
            "secret": ROTATED,
            "previous_secret_expires_at": "2026-03-23T12:00:00Z",
        });
        (200, answer.to_string())
    } else {
        (
            404,
            json!({"error": {"message": "no such route"}}).to_string(),
        )
    }
}

/// A stand-in of Nexio's API on an ephemeral 127.0.0.1 port, in its own thread.
struct FakeApi {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeApi {
    fn start(answer: Answer) -> Self {
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let (tx, rx) = std::sync::mpsc::channel();
        let record = Arc::clone(&seen);
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
                    let record = Arc::clone(&record);
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
                        let seen = Seen {
                            method: parts.method.to_string(),
                            path: parts.uri.path().to_owned(),
                            headers: parts
                                .headers
                                .iter()
                                .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("?").to_owned()))
                                .collect(),
                            body: body.to_vec(),
                        };
                        let (status, text) = answer(&seen);
                        record.lock().unwrap().push(seen);
                        axum::response::Response::builder()
                            .status(status)
                            .header("content-type", "application/json")
                            .body(axum::body::Body::from(text))
                            .unwrap()
                    }
                });
                axum::serve(listener, app).await.unwrap();
            });
        });
        Self {
            addr: rx.recv().unwrap(),
            seen,
        }
    }

    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cli_endpoint")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = Command::new(BIN);
    c.env_remove("NEXIO_API_KEY")
        .env_remove("NEXIO_API_BASE")
        .env_remove("NEXIO_WEBHOOK_SECRET")
        .stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.args(args).output().unwrap();
    let (stdout, stderr) = texts(&out);
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    // Nothing secret, ever, on either stream (unless --print-secret asked for it).
    if !args.contains(&"--print-secret") {
        for s in [NEW_SECRET, OLD_SECRET, ROTATED] {
            assert!(
                !stdout.contains(s) && !stderr.contains(s),
                "{args:?} printed a secret"
            );
        }
    }
    for s in [API_KEY, TOKEN] {
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

fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
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

fn create_args<'a>(api: &'a str, file: &'a str) -> Vec<&'a str> {
    vec![
        "endpoint",
        "create",
        "--url",
        "https://hooks.example.com/nexio",
        "--events",
        "run.completed,run.failed",
        "--api-base",
        api,
        "--secret-file",
        file,
    ]
}

#[test]
fn create_sends_the_documented_request_and_stores_the_secret_0600() {
    let api = FakeApi::start(documented);
    let dir = scratch("create");
    let file = dir.join("secret");
    let file_s = file.to_str().unwrap();
    let base = api.base();
    let mut args = create_args(&base, file_s);
    args.extend([
        "--description",
        "staging receiver",
        "--auth-token-env",
        "MY_TOKEN",
        "--inactive",
    ]);
    let out = run(&[("NEXIO_API_KEY", API_KEY), ("MY_TOKEN", TOKEN)], &args);
    let (stdout, stderr) = texts(&out);
    assert_eq!(code(&out), 0, "{stderr}");

    let requests = api.requests();
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("POST", "/api/v1/webhooks")
    );
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {API_KEY}").as_str())
    );
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(req.header("accept"), Some("application/json"));
    assert!(
        req.header("user-agent")
            .unwrap()
            .starts_with("nexio-webhooks/")
    );
    assert_eq!(
        req.json(),
        json!({
            "url": "https://hooks.example.com/nexio",
            "events": ["run.completed", "run.failed"],
            "description": "staging receiver",
            "auth_token": TOKEN,
            "active": false,
        })
    );

    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!("{NEW_SECRET}\n")
    );
    assert_eq!(mode(&file), 0o600);
    let key = Secret::new(NEW_SECRET).unwrap().key_id().to_string();
    for line in [
        "created endpoint wh_01JQ8ZK3",
        "  url: https://hooks.example.com/nexio",
        "  environment: test",
        "  events: run.completed, run.failed",
        "  active: false",
        "  webhook_version: 2026-03-22",
        "  auth_token_configured: true",
    ] {
        assert!(
            stdout.contains(&format!("{line}\n")),
            "{line:?} missing:\n{stdout}"
        );
    }
    assert!(
        stdout.contains(&format!("written to {file_s} (mode 0600, key {key})")),
        "{stdout}"
    );

    // The file is what `verify --secret-file` reads.
    let delivery = Signer::new(Secret::new(NEW_SECRET).unwrap())
        .delivery(nexio_webhooks::sample::RUN_COMPLETED)
        .timestamp(1_774_180_800)
        .build();
    let capture = dir.join("d.http");
    std::fs::write(&capture, delivery.to_http1("/webhooks", "127.0.0.1")).unwrap();
    let out = run(
        &[],
        &[
            "verify",
            "--now",
            "1774180801",
            "--secret-file",
            file_s,
            capture.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), 0, "{}", texts(&out).1);
}

#[test]
fn an_existing_secret_file_is_kept_unless_forced() {
    let api = FakeApi::start(documented);
    let dir = scratch("force");
    let file = dir.join("secret");
    std::fs::write(&file, format!("{OLD_SECRET}\n")).unwrap();
    let base = api.base();
    let env = [("NEXIO_API_KEY", API_KEY)];
    let out = run(&env, &create_args(&base, file.to_str().unwrap()));
    assert_eq!(code(&out), 2);
    assert!(texts(&out).1.contains("--force"), "{}", texts(&out).1);
    assert!(
        api.requests().is_empty(),
        "refused before anything was sent"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!("{OLD_SECRET}\n")
    );

    let mut args = create_args(&base, file.to_str().unwrap());
    args.push("--force");
    let out = run(&env, &args);
    assert_eq!(code(&out), 0, "{}", texts(&out).1);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!("{NEW_SECRET}\n")
    );
    assert_eq!(mode(&file), 0o600);
    // No temporary file left beside it.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}

#[test]
fn print_secret_prints_it() {
    let api = FakeApi::start(documented);
    let dir = scratch("print");
    let file = dir.join("secret");
    let base = api.base();
    let mut args = create_args(&base, file.to_str().unwrap());
    args.push("--print-secret");
    let out = run(&[("NEXIO_API_KEY", API_KEY)], &args);
    assert_eq!(code(&out), 0);
    let (stdout, stderr) = texts(&out);
    assert!(
        stdout.contains(&format!("secret value: {NEW_SECRET}\n")),
        "{stdout}"
    );
    assert!(!stderr.contains(NEW_SECRET));
}

#[test]
fn everything_checkable_is_checked_before_sending() {
    let api = FakeApi::start(documented);
    let dir = scratch("checks");
    let file = dir.join("secret");
    let file_s = file.to_str().unwrap();
    let base = api.base();
    let long_description = "d".repeat(257);
    let long_token = "t".repeat(1025);
    // (environment, options replacing or added to the defaults, expected message)
    type Case<'a> = (Vec<(&'a str, &'a str)>, Vec<&'a str>, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (vec![], vec![], "NEXIO_API_KEY is not set"),
        (
            vec![("NEXIO_API_KEY", "whsec_abc")],
            vec![],
            "signing secret",
        ),
        (
            vec![("NEXIO_API_KEY", "sk_live_123")],
            vec![],
            "not a Nexio API key",
        ),
        (
            vec![("NEXIO_API_KEY", API_KEY)],
            vec!["--url", "http://hooks.example.com/"],
            "https:// URLs only",
        ),
        (
            vec![("NEXIO_API_KEY", API_KEY)],
            vec!["--events", "run.started"],
            "not an event Nexio sends",
        ),
        (
            vec![("NEXIO_API_KEY", API_KEY)],
            vec!["--events", ","],
            "at least one",
        ),
        (
            vec![("NEXIO_API_KEY", API_KEY)],
            vec!["--description", &long_description],
            "at most 256",
        ),
        (
            vec![("NEXIO_API_KEY", API_KEY), ("LONG", &long_token)],
            vec!["--auth-token-env", "LONG"],
            "at most 1024",
        ),
        (
            vec![("NEXIO_API_KEY", API_KEY)],
            vec!["--auth-token-env", "UNSET_TOKEN_VAR"],
            "UNSET_TOKEN_VAR is not set",
        ),
        (
            vec![("NEXIO_API_KEY", API_KEY)],
            vec!["--api-base", "http://api.example.com"],
            "in the clear",
        ),
    ];
    for (env, extra, expect) in cases {
        // The case's --url, --events or --api-base instead of the default one.
        let mut args = create_args(&base, file_s);
        for pair in extra.chunks(2) {
            match args.iter().position(|a| *a == pair[0]) {
                Some(i) => args[i + 1] = pair[1],
                None => args.extend_from_slice(pair),
            }
        }
        let out = run(&env, &args);
        let (_, stderr) = texts(&out);
        assert_eq!(code(&out), 2, "{extra:?}: {stderr}");
        assert!(stderr.contains(expect), "{extra:?}: {stderr}");
        assert!(!file.exists(), "{extra:?} left a file");
    }
    assert!(api.requests().is_empty(), "{:?}", api.requests());
}

#[test]
fn api_errors_show_status_and_message_and_leave_no_file() {
    fn refuse(_: &Seen) -> (u16, String) {
        (
            422,
            json!({"error": {"code": "invalid_url", "message": "url is not reachable"}})
                .to_string(),
        )
    }
    let api = FakeApi::start(refuse);
    let dir = scratch("api_error");
    let file = dir.join("secret");
    let base = api.base();
    let out = run(
        &[("NEXIO_API_KEY", API_KEY)],
        &create_args(&base, file.to_str().unwrap()),
    );
    let (_, stderr) = texts(&out);
    assert_eq!(code(&out), 1, "{stderr}");
    assert!(
        stderr.contains("422 Unprocessable Entity: url is not reachable"),
        "{stderr}"
    );
    assert!(!file.exists());

    // Nothing listening: a transport error, exit 1, no file.
    let out = run(
        &[("NEXIO_API_KEY", API_KEY)],
        &create_args("http://127.0.0.1:9", file.to_str().unwrap()),
    );
    assert_eq!(code(&out), 1, "{}", texts(&out).1);
    assert!(texts(&out).1.contains("cannot reach"), "{}", texts(&out).1);
    assert!(!file.exists());
}

#[test]
fn rotate_secret_puts_the_new_secret_first_and_keeps_the_previous() {
    let api = FakeApi::start(documented);
    let dir = scratch("rotate");
    let file = dir.join("secret");
    std::fs::write(&file, format!("{OLD_SECRET}\n")).unwrap();
    let file_s = file.to_str().unwrap();
    let base = api.base();
    let args = [
        "endpoint",
        "rotate-secret",
        "wh_01JQ8ZK3",
        "--secret-file",
        file_s,
        "--api-base",
        &base,
    ];
    let out = run(&[("NEXIO_API_KEY", API_KEY)], &args);
    let (stdout, stderr) = texts(&out);
    assert_eq!(code(&out), 0, "{stderr}");
    let requests = api.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(
        requests[0].path,
        "/api/v1/webhooks/wh_01JQ8ZK3/rotate-secret"
    );
    assert_eq!(
        requests[0].header("authorization"),
        Some(format!("Bearer {API_KEY}").as_str())
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!("{ROTATED}\n{OLD_SECRET}\n")
    );
    assert_eq!(mode(&file), 0o600);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    let new_key = Secret::new(ROTATED).unwrap().key_id().to_string();
    let old_key = Secret::new(OLD_SECRET).unwrap().key_id().to_string();
    assert!(
        stdout.contains(&new_key) && stdout.contains(&old_key),
        "{stdout}"
    );

    // Across the overlap, deliveries signed with either secret verify with the file.
    for (secret, name) in [(OLD_SECRET, "old.http"), (ROTATED, "new.http")] {
        let d = Signer::new(Secret::new(secret).unwrap())
            .delivery(nexio_webhooks::sample::RUN_FAILED)
            .timestamp(1_774_180_800)
            .build();
        let capture = dir.join(name);
        std::fs::write(&capture, d.to_http1("/webhooks", "127.0.0.1")).unwrap();
        let out = run(
            &[],
            &[
                "verify",
                "--now",
                "1774180801",
                "--secret-file",
                file_s,
                capture.to_str().unwrap(),
            ],
        );
        assert_eq!(code(&out), 0, "{name}: {}", texts(&out).1);
        std::fs::remove_file(&capture).unwrap();
    }
}

#[test]
fn rotate_secret_refusals_leave_the_file_alone() {
    fn missing(_: &Seen) -> (u16, String) {
        (404, json!({"message": "webhook not found"}).to_string())
    }
    let api = FakeApi::start(missing);
    let dir = scratch("rotate_refused");
    let file = dir.join("secret");
    std::fs::write(&file, format!("{OLD_SECRET}\n")).unwrap();
    let file_s = file.to_str().unwrap();
    let base = api.base();
    let env = [("NEXIO_API_KEY", API_KEY)];
    let rotate = |id: &str| {
        run(
            &env,
            &[
                "endpoint",
                "rotate-secret",
                id,
                "--secret-file",
                file_s,
                "--api-base",
                &base,
            ],
        )
    };
    let out = rotate("wh_missing");
    assert_eq!(code(&out), 1);
    assert!(
        texts(&out).1.contains("404 Not Found: webhook not found"),
        "{}",
        texts(&out).1
    );
    // An id that would change the path is refused before sending.
    let out = rotate("../users");
    assert_eq!(code(&out), 2);
    assert_eq!(api.requests().len(), 1);
    // A file whose first line is not a secret is not rotated over.
    std::fs::write(&file, "nx_live_oops\n").unwrap();
    let out = rotate("wh_1");
    assert_eq!(code(&out), 2);
    assert!(
        texts(&out).1.contains("first line is not a signing secret"),
        "{}",
        texts(&out).1
    );
    assert_eq!(api.requests().len(), 1);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "nx_live_oops\n");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "no temporary file left"
    );
}
