//! `nexio-webhooks listen --forward-to` as a verifying proxy, run as the built binary
//! in front of a real app on 127.0.0.1: the app's status decides complete or release;
//! an unreachable or slow app is 502 and released; a listener killed with SIGKILL
//! while the app works leaves the claim to its lease in a shared Redis, after which
//! the retry is processed — once.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use crate::support_redis;

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post as route_post;
use nexio_webhooks::{Delivery, Secret, Signer, sample, unix_now};

const BIN: &str = env!("CARGO_BIN_EXE_nexio-webhooks");
const SECRET: &str = "whsec_abc123def456";

/// One request the app received: its path, body and `X-Nexio-Signature`.
type Received = (String, Vec<u8>, Option<String>);

/// The app behind the proxy: what it received, and how it answers.
#[derive(Default)]
struct App {
    /// Requests received, per path.
    received: Mutex<Vec<Received>>,
    /// Requests whose processing ran to its end, per path.
    finished: Mutex<Vec<String>>,
    fail_first: AtomicUsize,
    slow_first: AtomicUsize,
}

impl App {
    fn received(&self, path: &str) -> Vec<Vec<u8>> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _, _)| p == path)
            .map(|(_, b, _)| b.clone())
            .collect()
    }

    fn finished(&self, path: &str) -> usize {
        self.finished
            .lock()
            .unwrap()
            .iter()
            .filter(|p| *p == path)
            .count()
    }
}

async fn record(app: &App, path: &str, headers: &HeaderMap, body: &Bytes) {
    let signature = headers
        .get("x-nexio-signature")
        .map(|v| v.to_str().unwrap().to_owned());
    app.received
        .lock()
        .unwrap()
        .push((path.to_owned(), body.to_vec(), signature));
}

/// 500 on the first delivery, 200 after.
async fn flaky(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    record(&app, "/flaky", &headers, &body).await;
    if app.fail_first.fetch_add(1, Ordering::SeqCst) == 0 {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    app.finished.lock().unwrap().push("/flaky".into());
    StatusCode::OK
}

/// Takes 30 s on the first delivery (its future is dropped if the connection goes),
/// answers at once after.
async fn slow(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    record(&app, "/slow", &headers, &body).await;
    if app.slow_first.fetch_add(1, Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    app.finished.lock().unwrap().push("/slow".into());
    StatusCode::OK
}

async fn start_app(app: Arc<App>) -> SocketAddr {
    let router = Router::new()
        .route("/flaky", route_post(flaky))
        .route("/slow", route_post(slow))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// A running `listen`; killed with SIGKILL when dropped.
struct Listen {
    child: Child,
    url: String,
    output: Arc<Mutex<String>>,
}

impl Listen {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .env("NEXIO_WEBHOOK_SECRET", SECRET)
            .args(["listen", "--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
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
        // Keep draining stdout so the listener never blocks on a full pipe.
        let output = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&output);
        std::thread::spawn(move || {
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                sink.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        Self { child, url, output }
    }

    /// SIGKILL: as abrupt as a crash; nothing runs in the listener after it.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Listen {
    fn drop(&mut self) {
        self.kill();
    }
}

fn delivery(body: &str) -> Delivery {
    Signer::new(Secret::new(SECRET).unwrap())
        .delivery(body.to_owned())
        .timestamp(unix_now())
        .build()
}

async fn send(url: &str, d: &Delivery, timeout: Duration) -> Result<(u16, String), String> {
    send_parts(url, d.headers(), d.body(), timeout).await
}

/// POSTs `body` with `headers` over a fresh HTTP/1.1 connection; the status and the
/// answer's text, or why there is none within `timeout`.
async fn send_parts(
    url: &str,
    headers: &[(&str, String)],
    body: &[u8],
    timeout: Duration,
) -> Result<(u16, String), String> {
    use http_body_util::{BodyExt as _, Full};
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let mut req = axum::http::Request::post(url);
    for (name, value) in headers {
        req = req.header(*name, value.as_str());
    }
    let req = req
        .body(Full::new(Bytes::copy_from_slice(body)))
        .map_err(|e| e.to_string())?;
    let exchange = async {
        let res = client.request(req).await.map_err(|e| e.to_string())?;
        let status = res.status().as_u16();
        let body = res.into_body().collect().await.map_err(|e| e.to_string())?;
        Ok((
            status,
            String::from_utf8_lossy(&body.to_bytes()).into_owned(),
        ))
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("no answer within {timeout:?}"))?
}

async fn post(url: &str, d: &Delivery) -> (u16, String) {
    send(url, d, Duration::from_secs(20)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_to_settles_from_the_apps_status() {
    let app = Arc::new(App::default());
    let app_addr = start_app(app.clone()).await;
    let listen = Listen::start(&["--forward-to", &format!("http://{app_addr}/flaky")]);

    // The app fails: 500 to Nexio, released; the re-signed retry is processed; the
    // next copy is a duplicate and never reaches the app.
    let first = delivery(sample::RUN_COMPLETED);
    assert_eq!(post(&listen.url, &first).await.0, 500);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let retry = delivery(sample::RUN_COMPLETED);
    assert_ne!(retry.headers(), first.headers(), "the retry is re-signed");
    assert_eq!(post(&listen.url, &retry).await.0, 200);
    let (status, body) = post(&listen.url, &delivery(sample::RUN_COMPLETED)).await;
    assert_eq!((status, body.as_str()), (200, r#"{"status":"duplicate"}"#));
    // The app got the exact signed bytes and the delivery's own signature header.
    let received = app.received("/flaky");
    assert_eq!(received, vec![first.body().to_vec(), retry.body().to_vec()]);
    let signatures: Vec<_> = app
        .received
        .lock()
        .unwrap()
        .iter()
        .map(|(_, _, s)| s.clone().unwrap())
        .collect();
    assert_eq!(
        signatures[1],
        retry
            .headers()
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("x-nexio-signature"))
            .unwrap()
            .1
    );
    assert_eq!(app.finished("/flaky"), 1);

    // Forged deliveries never reach the app.
    let forged = Signer::new(Secret::new("whsec_not_the_endpoint_secret").unwrap())
        .delivery(sample::RUN_FAILED)
        .timestamp(unix_now())
        .build();
    assert_eq!(post(&listen.url, &forged).await.0, 401);
    assert_eq!(app.received("/flaky").len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_or_slow_app_is_502_and_the_delivery_is_released() {
    // Nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = Listen::start(&["--forward-to", &format!("http://127.0.0.1:{port}/hook")]);
    let d = delivery(sample::RUN_FAILED);
    let (status, body) = post(&listen.url, &d).await;
    assert_eq!(
        (status, body.as_str()),
        (502, r#"{"error":"forward_failed"}"#)
    );
    drop(listen);

    let app = Arc::new(App::default());
    let app_addr = start_app(app.clone()).await;
    let listen = Listen::start(&[
        "--forward-to",
        &format!("http://{app_addr}/slow"),
        "--forward-timeout",
        "0.5",
    ]);
    let started = Instant::now();
    assert_eq!(post(&listen.url, &d).await.0, 502);
    assert!(started.elapsed() < Duration::from_secs(5));
    // Released: the retry is processed (the app answers at once now), then duplicate.
    assert_eq!(
        post(&listen.url, &delivery(sample::RUN_FAILED)).await.0,
        200
    );
    let (status, body) = post(&listen.url, &delivery(sample::RUN_FAILED)).await;
    assert_eq!((status, body.as_str()), (200, r#"{"status":"duplicate"}"#));
    assert_eq!(app.received("/slow").len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_killed_mid_delivery_leaves_the_retry_to_its_lease() {
    let Some(redis) = support_redis::start() else {
        return;
    };
    let app = Arc::new(App::default());
    let app_addr = start_app(app.clone()).await;
    let args = [
        "--forward-to".to_owned(),
        format!("http://{app_addr}/slow"),
        "--redis".to_owned(),
        redis.url(),
        "--lease".to_owned(),
        "3".to_owned(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut first_listener = Listen::start(&args);

    // The first attempt reaches the app, which works on it...
    let url = first_listener.url.clone();
    let first = tokio::spawn(async move {
        send(
            &url,
            &delivery(sample::RUN_COMPLETED),
            Duration::from_secs(60),
        )
        .await
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.received("/slow").is_empty() {
        assert!(Instant::now() < deadline, "the app never got the delivery");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let claimed_at = Instant::now();
    // ...when the listener dies.
    first_listener.kill();
    assert!(
        first.await.unwrap().is_err(),
        "no answer from a killed listener"
    );

    // A new listener on the same Redis: the crashed owner's claim holds until its
    // lease ends (409 with Retry-After), then the retry is processed.
    let second_listener = Listen::start(&args);
    let (status, body) = post(&second_listener.url, &delivery(sample::RUN_COMPLETED)).await;
    assert_eq!(
        (status, body.as_str()),
        (409, r#"{"error":"delivery_in_progress"}"#)
    );
    assert!(claimed_at.elapsed() < Duration::from_secs(3));
    tokio::time::sleep(Duration::from_secs(3).saturating_sub(claimed_at.elapsed())).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let processed = loop {
        let (status, body) = post(&second_listener.url, &delivery(sample::RUN_COMPLETED)).await;
        match status {
            409 if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            _ => break (status, body),
        }
    };
    assert_eq!(processed.0, 200, "{}", processed.1);
    let (status, body) = post(&second_listener.url, &delivery(sample::RUN_COMPLETED)).await;
    assert_eq!((status, body.as_str()), (200, r#"{"status":"duplicate"}"#));
    // Processed once: the first attempt's work was cut off with its connection.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.received("/slow").len(), 2);
    assert_eq!(app.finished("/slow"), 1);
}

#[test]
fn listen_closes_a_connection_whose_head_trickles() {
    use std::io::{Read as _, Write as _};
    let listen = Listen::start(&[]);
    let addr = listen
        .url
        .strip_prefix("http://")
        .and_then(|r| r.split('/').next())
        .unwrap()
        .to_owned();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let started = Instant::now();
    stream
        .write_all(b"POST /webhooks HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    // One more header byte a second, never the end of the head.
    let mut writer = stream.try_clone().unwrap();
    std::thread::spawn(move || {
        for _ in 0..30 {
            std::thread::sleep(Duration::from_secs(1));
            if writer.write_all(b"X").is_err() {
                break;
            }
        }
    });
    let mut buf = [0u8; 1024];
    let closed = loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break started.elapsed(),
            Ok(_) => {}
        }
    };
    assert!(
        closed >= Duration::from_secs(9) && closed <= Duration::from_secs(13),
        "closed after {closed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_writes_http_files_and_rejections_log_their_hints() {
    let dir = std::env::temp_dir().join(format!("nexio-record-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let listen = Listen::start(&["--record", dir.to_str().unwrap()]);
    let good = delivery(sample::RUN_COMPLETED);
    assert_eq!(post(&listen.url, &good).await.0, 200);
    // A proxy added a final newline: 401, and listen says so.
    let mut body = good.body().to_vec();
    body.push(b'\n');
    let changed = send_parts(&listen.url, good.headers(), &body, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(changed.0, 401);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let printed = listen.output.lock().unwrap().clone();
    assert!(
        printed.contains("hints: trailing_newline_changed"),
        "{printed}"
    );

    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(
        files[0].to_str().unwrap().ends_with("-000000-200.http"),
        "{files:?}"
    );
    assert!(
        files[1].to_str().unwrap().ends_with("-000001-401.http"),
        "{files:?}"
    );
    // The recorded files are what `verify` reads: the first verifies, the second is
    // the same rejection, with the same hint.
    let out = Command::new(BIN)
        .env("NEXIO_WEBHOOK_SECRET", SECRET)
        .args(["verify", "--explain"])
        .args(&files)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains(": ok run.completed"), "{stdout}{stderr}");
    assert!(
        format!("{stdout}{stderr}").contains("trailing_newline_changed"),
        "{stdout}{stderr}"
    );
    // And `replay` re-signs the recorded delivery: a duplicate of the processed one.
    let out = Command::new(BIN)
        .env("NEXIO_WEBHOOK_SECRET", SECRET)
        .args(["replay", "--url", &listen.url])
        .arg(&files[0])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("duplicate"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
