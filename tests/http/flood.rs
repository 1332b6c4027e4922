//! Under a flood, over real HTTP on 127.0.0.1: the memory budget refuses (503 with
//! `Retry-After`, before the body is read) what would exceed it, and later deliveries
//! are fine; a trickled body is answered 408 within the deadline; a 100-continue
//! request with a bad signature header is refused before `100 Continue` (axum).
//! Through the axum extractor, the tower layer and the actix-web middleware.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use nexio_webhooks::{Delivery, Receiver, Secret, Signer, Verifier, unix_now};

const SECRET: &str = "whsec_abc123def456";
const LIMIT: usize = 64 * 1024;
const BUDGET: usize = 4 * LIMIT;

fn receiver() -> Receiver {
    Receiver::new(Verifier::new(Secret::new(SECRET).unwrap()))
        .with_body_limit(LIMIT)
        .with_memory_budget(BUDGET)
        .with_body_read_timeout(Duration::from_secs(1))
}

fn delivery(body: &str) -> Delivery {
    Signer::new(Secret::new(SECRET).unwrap())
        .delivery(body.to_owned())
        .timestamp(unix_now())
        .build()
}

fn valid(n: usize) -> Delivery {
    delivery(
        &nexio_webhooks::sample::RUN_COMPLETED
            .replace("evt_01JQ7R2M4X9K3T5V8B6N1C0D2E", &format!("evt_flood_{n}")),
    )
}

mod servers {
    use super::*;
    use actix_web::{App, HttpServer, web};
    use axum::Router;
    use axum::body::Bytes;
    use axum::routing::post;
    use nexio_webhooks::actix::NexioWebhookMiddleware;
    use nexio_webhooks::axum::NexioWebhook;
    use nexio_webhooks::tower::NexioWebhookLayer;

    async fn extractor(_hook: NexioWebhook<nexio_webhooks::RawBody>) -> &'static str {
        "ok"
    }

    async fn behind_layer(_body: Bytes) -> &'static str {
        "ok"
    }

    /// `/extractor` and `/layer`, each with its own receiver (and budget).
    pub async fn axum() -> SocketAddr {
        let app = Router::new()
            .route("/extractor", post(extractor).with_state(receiver()))
            .route(
                "/layer",
                post(behind_layer).route_layer(NexioWebhookLayer::new(receiver())),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    }

    pub fn actix() -> SocketAddr {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let receiver = receiver();
                let server = HttpServer::new(move || {
                    App::new().service(
                        web::resource("/layer")
                            .wrap(NexioWebhookMiddleware::new(receiver.clone()))
                            .route(web::post().to(|_: web::Bytes| async { "ok" })),
                    )
                })
                .workers(1)
                .bind(("127.0.0.1", 0))
                .unwrap();
                tx.send(server.addrs()[0]).unwrap();
                server.run().await.unwrap();
            });
        });
        rx.recv().unwrap()
    }
}

/// The head of a request for `d` on `path`, announcing `content_length`.
fn head(addr: SocketAddr, path: &str, d: &Delivery, content_length: usize, extra: &str) -> Vec<u8> {
    let mut req = format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\n").into_bytes();
    for (name, value) in d.headers() {
        req.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    req.extend_from_slice(format!("{extra}Content-Length: {content_length}\r\n\r\n").as_bytes());
    req
}

/// Reads until a whole response head (and its short body) arrived, or `timeout`.
fn read_reply(stream: &mut TcpStream, timeout: Duration) -> String {
    stream.set_read_timeout(Some(timeout)).unwrap();
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                reply.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&reply);
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length: ")
                                .map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    if !head.contains(" 100 Continue") && body.len() >= len {
                        break;
                    }
                }
            }
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&reply).into_owned()
}

fn status(reply: &str) -> u16 {
    reply
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {reply:?}"))
}

/// Forged uploads announcing a full body and sending none: the budget holds four;
/// the rest are refused at once with 503 and `Retry-After`; once they go, a valid
/// delivery is accepted.
fn budget_refuses_what_would_exceed_it(addr: SocketAddr, path: &str) {
    let forged = Signer::new(Secret::new("whsec_not_the_endpoint_secret").unwrap())
        .delivery("x")
        .timestamp(unix_now())
        .build();
    let mut held = Vec::new();
    for _ in 0..BUDGET / LIMIT {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(&head(addr, path, &forged, LIMIT, "")).unwrap();
        held.push(s);
    }
    // Give the server a moment to read those heads and reserve for them.
    std::thread::sleep(Duration::from_millis(300));
    let mut refused = 0;
    for _ in 0..8 {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(&head(addr, path, &forged, LIMIT, "")).unwrap();
        let reply = read_reply(&mut s, Duration::from_secs(5));
        assert_eq!(status(&reply), 503, "{path}: {reply}");
        assert!(
            reply.to_ascii_lowercase().contains("retry-after: 5"),
            "{reply}"
        );
        assert!(reply.ends_with(r#"{"error":"receiver_busy"}"#), "{reply}");
        refused += 1;
    }
    assert_eq!(refused, 8);
    // A small valid delivery does not fit either while the budget is taken...
    let d = valid(1);
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(&head(addr, path, &d, d.body().len(), ""))
        .unwrap();
    s.write_all(d.body()).unwrap();
    assert_eq!(status(&read_reply(&mut s, Duration::from_secs(5))), 503);
    // ...and is accepted once the held uploads are gone.
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let d = valid(2);
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(&head(addr, path, &d, d.body().len(), ""))
            .unwrap();
        s.write_all(d.body()).unwrap();
        let reply = read_reply(&mut s, Duration::from_secs(5));
        if status(&reply) == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{path}: budget never came back: {reply}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A body trickled in slower than the deadline allows: 408 within deadline + 1 s.
fn trickled_body_gets_408(addr: SocketAddr, path: &str) {
    let d = valid(3);
    let mut s = TcpStream::connect(addr).unwrap();
    let started = Instant::now();
    s.write_all(&head(addr, path, &d, d.body().len(), ""))
        .unwrap();
    s.write_all(&d.body()[..5]).unwrap();
    let writer = {
        let mut s = s.try_clone().unwrap();
        let rest = d.body()[5..].to_vec();
        std::thread::spawn(move || {
            for b in rest {
                std::thread::sleep(Duration::from_millis(200));
                if s.write_all(&[b]).is_err() {
                    break;
                }
            }
        })
    };
    let reply = read_reply(&mut s, Duration::from_secs(5));
    let elapsed = started.elapsed();
    assert_eq!(status(&reply), 408, "{path}: {reply}");
    assert!(
        reply.ends_with(r#"{"error":"body_read_timeout"}"#),
        "{reply}"
    );
    assert!(elapsed < Duration::from_secs(2), "{path}: {elapsed:?}");
    drop(s);
    let _ = writer.join();
}

/// `Expect: 100-continue` with a malformed signature: the 400 comes first, and no
/// `100 Continue` ever invites the body.
fn expect_continue_is_refused_before_the_body(addr: SocketAddr, path: &str) {
    let d = valid(4);
    let mut req = format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\n").into_bytes();
    for (name, value) in d.headers() {
        let value = if name.eq_ignore_ascii_case("x-nexio-signature") {
            "t=nope,v1=00"
        } else {
            value.as_str()
        };
        req.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    req.extend_from_slice(
        format!(
            "Expect: 100-continue\r\nContent-Length: {}\r\n\r\n",
            d.body().len()
        )
        .as_bytes(),
    );
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(&req).unwrap();
    let reply = read_reply(&mut s, Duration::from_secs(5));
    assert!(!reply.contains("100 Continue"), "{path}: {reply}");
    assert_eq!(status(&reply), 400, "{path}: {reply}");
}

#[test]
fn axum_extractor_and_tower_layer_hold_under_a_flood() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let addr = rt.block_on(servers::axum());
    for path in ["/extractor", "/layer"] {
        budget_refuses_what_would_exceed_it(addr, path);
        trickled_body_gets_408(addr, path);
        expect_continue_is_refused_before_the_body(addr, path);
    }
}

#[test]
fn actix_middleware_holds_under_a_flood() {
    let addr = servers::actix();
    budget_refuses_what_would_exceed_it(addr, "/layer");
    trickled_body_gets_408(addr, "/layer");
}
