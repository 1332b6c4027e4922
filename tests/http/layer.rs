//! The tower layer (in an axum server) and the actix-web middleware, over real HTTP on
//! 127.0.0.1: each delivery processed exactly once across failures, panics, dropped
//! requests and late retries; the inner service sees exactly the signed bytes; nothing
//! unverified reaches it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nexio_webhooks::{Delivery, InMemoryReplayGuard, Receiver, Secret, Signer, Verifier, unix_now};

const SECRET: &str = "whsec_abc123def456";
const SMALL_LIMIT: usize = 2048;

/// What the handlers saw, shared by every route of one server.
#[derive(Default)]
struct Seen {
    calls: Mutex<HashMap<String, usize>>,
    bodies: Mutex<Vec<(String, Vec<u8>)>>,
}

impl Seen {
    /// Counts a call on `route` and returns how many there were before it.
    fn call(&self, route: &str) -> usize {
        let mut calls = self.calls.lock().unwrap();
        let n = calls.entry(route.to_owned()).or_default();
        *n += 1;
        *n - 1
    }

    fn calls(&self, route: &str) -> usize {
        self.calls.lock().unwrap().get(route).copied().unwrap_or(0)
    }

    fn body(&self, route: &str, body: &[u8]) {
        self.bodies
            .lock()
            .unwrap()
            .push((route.to_owned(), body.to_vec()));
    }

    fn bodies(&self, route: &str) -> Vec<Vec<u8>> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .filter(|(r, _)| r == route)
            .map(|(_, b)| b.clone())
            .collect()
    }
}

/// A clock the test moves: the receivers read `unix_now() + offset`.
#[derive(Clone, Default)]
struct Clock(Arc<AtomicI64>);

impl Clock {
    fn now(&self) -> i64 {
        unix_now() + self.0.load(Ordering::SeqCst)
    }

    fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

/// The receivers, one per route, each with its own in-memory guard.
fn receiver(clock: &Clock, limit: usize) -> Receiver {
    let clock = clock.clone();
    Receiver::new(Verifier::new(Secret::new(SECRET).unwrap()))
        .with_body_limit(limit)
        .with_replay_guard(InMemoryReplayGuard::new(1_000))
        .with_clock(move || clock.now())
}

#[derive(serde::Deserialize)]
struct MyEvent {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
}

mod axum_server {
    use super::*;
    use axum::Json;
    use axum::Router;
    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::StatusCode;
    use axum::routing::post;
    use nexio_webhooks::axum::{NexioWebhook, VerifiedDelivery};
    use nexio_webhooks::tower::NexioWebhookLayer;

    type S = State<Arc<Seen>>;

    async fn fail_first(State(seen): S) -> (StatusCode, &'static str) {
        match seen.call("fail500") {
            0 => (StatusCode::INTERNAL_SERVER_ERROR, "failed"),
            _ => (StatusCode::OK, "ok"),
        }
    }

    async fn error_first(State(seen): S) -> Result<&'static str, StatusCode> {
        match seen.call("error") {
            0 => Err(StatusCode::SERVICE_UNAVAILABLE),
            _ => Ok("ok"),
        }
    }

    async fn panic_first(State(seen): S) -> &'static str {
        if seen.call("panic") == 0 {
            panic!("the handler failed");
        }
        "ok"
    }

    async fn json(State(seen): S, Json(event): Json<MyEvent>) -> String {
        seen.call("json");
        format!("{} {}", event.event_type, event.id)
    }

    async fn bytes(State(seen): S, delivery: VerifiedDelivery, body: Bytes) -> &'static str {
        seen.call("bytes");
        assert!(delivery.dedupe_key.is_some());
        seen.body("bytes", &body);
        "ok"
    }

    async fn slow(State(seen): S) -> &'static str {
        seen.call("slow");
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        "ok"
    }

    /// The extractor route's state: the receiver, found through `FromRef`.
    #[derive(Clone)]
    struct WithReceiver {
        seen: Arc<Seen>,
        receiver: Receiver,
    }

    impl axum::extract::FromRef<WithReceiver> for Receiver {
        fn from_ref(state: &WithReceiver) -> Receiver {
            state.receiver.clone()
        }
    }

    async fn extractor(State(state): State<WithReceiver>, hook: NexioWebhook) -> &'static str {
        state.seen.call("extractor");
        assert!(hook.is_behind_layer());
        assert!(!hook.is_claimed());
        // A no-op here: the layer completes on the 2xx.
        hook.complete().await.unwrap();
        "ok"
    }

    async fn no_layer(_delivery: VerifiedDelivery) -> &'static str {
        "unreachable: answered 500 before"
    }

    pub async fn start(seen: Arc<Seen>, clock: &Clock) -> SocketAddr {
        let layer = |limit| NexioWebhookLayer::new(receiver(clock, limit));
        let big = 1024 * 1024;
        let app = Router::new()
            .route("/fail500", post(fail_first).route_layer(layer(big)))
            .route("/error", post(error_first).route_layer(layer(big)))
            .route("/panic", post(panic_first).route_layer(layer(big)))
            .route("/json", post(json).route_layer(layer(big)))
            .route("/bytes", post(bytes).route_layer(layer(SMALL_LIMIT)))
            .route("/slow", post(slow).route_layer(layer(big)))
            .route("/no-layer", post(no_layer))
            .with_state(seen.clone());
        let receiver = receiver(clock, big);
        let app = app.merge(
            Router::new()
                .route(
                    "/extractor",
                    post(extractor).route_layer(NexioWebhookLayer::new(receiver.clone())),
                )
                .with_state(WithReceiver { seen, receiver }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    }
}

mod actix_server {
    use super::*;
    use actix_web::{App, HttpResponse, HttpServer, web};
    use nexio_webhooks::actix::{NexioWebhook, NexioWebhookMiddleware, VerifiedDelivery};

    type S = web::Data<Arc<Seen>>;

    async fn fail_first(seen: S) -> HttpResponse {
        match seen.call("fail500") {
            0 => HttpResponse::InternalServerError().body("failed"),
            _ => HttpResponse::Ok().body("ok"),
        }
    }

    async fn error_first(seen: S) -> Result<&'static str, actix_web::Error> {
        match seen.call("error") {
            0 => Err(actix_web::error::ErrorServiceUnavailable("not now")),
            _ => Ok("ok"),
        }
    }

    async fn panic_first(seen: S) -> &'static str {
        if seen.call("panic") == 0 {
            panic!("the handler failed");
        }
        "ok"
    }

    async fn json(seen: S, event: web::Json<MyEvent>) -> String {
        seen.call("json");
        format!("{} {}", event.event_type, event.id)
    }

    async fn bytes(seen: S, delivery: VerifiedDelivery, body: web::Bytes) -> &'static str {
        seen.call("bytes");
        assert!(delivery.dedupe_key.is_some());
        seen.body("bytes", &body);
        "ok"
    }

    async fn slow(seen: S) -> &'static str {
        seen.call("slow");
        actix_web::rt::time::sleep(Duration::from_millis(1_500)).await;
        "ok"
    }

    async fn extractor(seen: S, hook: NexioWebhook) -> &'static str {
        seen.call("extractor");
        assert!(hook.is_behind_layer());
        assert!(!hook.is_claimed());
        hook.complete().await.unwrap();
        "ok"
    }

    async fn no_layer(_delivery: VerifiedDelivery) -> &'static str {
        "unreachable: answered 500 before"
    }

    pub fn start(seen: Arc<Seen>, clock: &Clock) -> SocketAddr {
        let clock = clock.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let big = 1024 * 1024;
                let receivers: Vec<(&str, Receiver)> = [
                    ("/fail500", big),
                    ("/error", big),
                    ("/panic", big),
                    ("/json", big),
                    ("/bytes", SMALL_LIMIT),
                    ("/slow", big),
                    ("/extractor", big),
                ]
                .into_iter()
                .map(|(p, limit)| (p, receiver(&clock, limit)))
                .collect();
                let server = HttpServer::new(move || {
                    let mut app = App::new().app_data(web::Data::new(seen.clone()));
                    for (path, r) in &receivers {
                        let handler = match *path {
                            "/fail500" => web::post().to(fail_first),
                            "/error" => web::post().to(error_first),
                            "/panic" => web::post().to(panic_first),
                            "/json" => web::post().to(json),
                            "/bytes" => web::post().to(bytes),
                            "/slow" => web::post().to(slow),
                            _ => web::post().to(extractor),
                        };
                        app = app.service(
                            web::resource(*path)
                                .app_data(r.clone())
                                .wrap(NexioWebhookMiddleware::new(r.clone()))
                                .route(handler),
                        );
                    }
                    app.route("/no-layer", web::post().to(no_layer))
                })
                .workers(2)
                .bind(("127.0.0.1", 0))
                .unwrap();
                tx.send(server.addrs()[0]).unwrap();
                server.run().await.unwrap();
            });
        });
        rx.recv().unwrap()
    }
}

struct Reply {
    status: u16,
    retry_after: Option<String>,
    body: String,
}

async fn post(addr: SocketAddr, path: &str, d: &Delivery) -> Reply {
    let mut req = reqwest::Client::new()
        .post(format!("http://{addr}{path}"))
        .timeout(Duration::from_secs(20))
        .body(d.body().to_vec());
    for (name, value) in d.headers() {
        req = req.header(*name, value);
    }
    let res = req.send().await.unwrap();
    Reply {
        status: res.status().as_u16(),
        retry_after: res
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned()),
        body: res.text().await.unwrap(),
    }
}

fn delivery(clock: &Clock, id: &str) -> Delivery {
    let body = format!(
        r#"{{"id":"{id}","type":"run.completed","webhook_version":"2026-03-22","created_at":"2026-03-22T09:00:00Z","data":{{"run":{{"run_id":"3f8e2a1c-7b4d-4e9f-a6c2-1d5b8e7f9a03","status":"completed","created_at":"2026-03-22T09:00:00Z"}}}}}}"#
    );
    Signer::new(Secret::new(SECRET).unwrap())
        .delivery(body)
        .timestamp(clock.now())
        .build()
}

fn assert_duplicate(r: &Reply) {
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, r#"{"status":"duplicate"}"#);
}

/// Every scenario, against one server.
async fn scenarios(front: &str, addr: SocketAddr, seen: &Seen, clock: &Clock) {
    // A failure on the first attempt (a 500, an error, a panic) releases the claim: the
    // re-signed retry is processed; a third attempt is a duplicate, not processed.
    for route in ["fail500", "error", "panic"] {
        let path = format!("/{route}");
        let id = format!("evt_{route}_{front}");
        let first = post(addr, &path, &delivery(clock, &id)).await;
        assert!(first.status >= 500, "{front} {route}: {}", first.status);
        if route == "panic" {
            assert_eq!(first.body, r#"{"error":"handler_panicked"}"#, "{front}");
        }
        clock.advance(1);
        let retry = post(addr, &path, &delivery(clock, &id)).await;
        assert_eq!(
            (retry.status, retry.body.as_str()),
            (200, "ok"),
            "{front} {route}"
        );
        clock.advance(1);
        assert_duplicate(&post(addr, &path, &delivery(clock, &id)).await);
        assert_eq!(seen.calls(route), 2, "{front} {route}");
    }

    // `Json<T>` and `Bytes` handlers get exactly the signed bytes.
    let d = delivery(clock, &format!("evt_json_{front}"));
    let r = post(addr, "/json", &d).await;
    assert_eq!(
        (r.status, r.body),
        (200, format!("run.completed evt_json_{front}"))
    );
    let d = delivery(clock, &format!("evt_bytes_{front}"));
    assert_eq!(post(addr, "/bytes", &d).await.status, 200);
    assert_eq!(seen.bodies("bytes"), vec![d.body().to_vec()]);

    // Forged, stale, malformed and oversized deliveries never reach the inner service.
    let before = seen.calls("bytes");
    let forged = Signer::new(Secret::new("whsec_not_the_endpoint_secret").unwrap())
        .delivery(d.body().to_vec())
        .timestamp(clock.now())
        .build();
    assert_eq!(post(addr, "/bytes", &forged).await.status, 401);
    let stale = Signer::new(Secret::new(SECRET).unwrap())
        .delivery(d.body().to_vec())
        .timestamp(clock.now() - 3_600)
        .build();
    let r = post(addr, "/bytes", &stale).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (401, r#"{"error":"timestamp_too_old"}"#)
    );
    let mut req = reqwest::Client::new()
        .post(format!("http://{addr}/bytes"))
        .body(d.body().to_vec());
    for (name, value) in d.headers() {
        let value = if name.eq_ignore_ascii_case("x-nexio-signature") {
            "t=abc,v1=00".to_owned()
        } else {
            value.clone()
        };
        req = req.header(*name, value);
    }
    assert_eq!(req.send().await.unwrap().status().as_u16(), 400);
    let big = delivery(clock, &format!("evt_{}", "x".repeat(SMALL_LIMIT)));
    let r = post(addr, "/bytes", &big).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (413, r#"{"error":"payload_too_large"}"#)
    );
    // A verified body that is not an event: 422, before the handler.
    let not_event = Signer::new(Secret::new(SECRET).unwrap())
        .delivery("[1,2,3]")
        .timestamp(clock.now())
        .build();
    assert_eq!(post(addr, "/bytes", &not_event).await.status, 422);
    let other_version = Signer::new(Secret::new(SECRET).unwrap())
        .delivery(format!(
            r#"{{"id":"evt_v_{front}","type":"run.completed","webhook_version":"2027-01-01"}}"#
        ))
        .timestamp(clock.now())
        .build();
    let r = post(addr, "/bytes", &other_version).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (422, r#"{"error":"unsupported_version"}"#)
    );
    assert_eq!(
        seen.calls("bytes"),
        before,
        "{front}: an unverified request reached the handler"
    );

    // A usable envelope with a payload the crate's typed model refuses (a failed run
    // without its `run`): the handler, which parses the body into its own type,
    // decides. The layer does not stop a delivery it could process.
    let envelope_only = Signer::new(Secret::new(SECRET).unwrap())
        .delivery(format!(
            r#"{{"id":"evt_envelope_{front}","type":"run.failed","webhook_version":"2026-03-22","data":{{}}}}"#
        ))
        .timestamp(clock.now())
        .build();
    assert!(
        nexio_webhooks::dangerous::parse_unverified_event(
            envelope_only.body(),
            nexio_webhooks::VersionPolicy::Exact
        )
        .is_err()
    );
    assert_eq!(post(addr, "/bytes", &envelope_only).await.status, 200);
    assert_eq!(seen.calls("bytes"), before + 1);
    assert_eq!(
        seen.bodies("bytes").last(),
        Some(&envelope_only.body().to_vec())
    );

    // A copy arriving while the first is processed: 409 with Retry-After, and the
    // handler is not called for it.
    let d = delivery(clock, &format!("evt_slow_{front}"));
    let first = {
        let d = d.clone();
        tokio::spawn(async move { post(addr, "/slow", &d).await })
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    let busy = post(addr, "/slow", &d).await;
    assert_eq!(busy.status, 409, "{front}: {}", busy.body);
    assert_eq!(busy.body, r#"{"error":"delivery_in_progress"}"#);
    let secs: u64 = busy.retry_after.unwrap().parse().unwrap();
    assert!((1..=31).contains(&secs), "{secs}");
    assert_eq!(first.await.unwrap().status, 200);
    assert_duplicate(&post(addr, "/slow", &d).await);
    assert_eq!(seen.calls("slow"), 1);

    // The client goes away while the handler works: the claim is released, and the
    // retry is processed.
    let d = delivery(clock, &format!("evt_gone_{front}"));
    let gone = reqwest::Client::new()
        .post(format!("http://{addr}/slow"))
        .timeout(Duration::from_millis(300))
        .body(d.body().to_vec());
    let gone = d
        .headers()
        .iter()
        .fold(gone, |req, (name, value)| req.header(*name, value));
    assert!(
        gone.send().await.is_err(),
        "the client was meant to give up"
    );
    // The handler's future is dropped with the connection (or runs to its end, and
    // completes); either way the retry is processed or a duplicate, never lost.
    tokio::time::sleep(Duration::from_millis(1_800)).await;
    clock.advance(1);
    let retry = post(
        addr,
        "/slow",
        &delivery(clock, &format!("evt_gone_{front}")),
    )
    .await;
    assert_eq!(retry.status, 200, "{front}: {}", retry.body);
    let processed = seen.calls("slow");
    assert!(
        (retry.body == "ok" && processed == 3)
            || (retry.body.contains("duplicate") && processed == 2),
        "{front}: {} after {processed} calls",
        retry.body
    );

    // Behind the layer the extractor does not claim again: it runs, and the layer
    // completes on its 2xx.
    let d = delivery(clock, &format!("evt_extractor_{front}"));
    assert_eq!(post(addr, "/extractor", &d).await.status, 200);
    assert_duplicate(&post(addr, "/extractor", &d).await);
    assert_eq!(seen.calls("extractor"), 1);

    // The layer's metadata asked for on a route without the layer: 500, never a 2xx.
    let r = post(addr, "/no-layer", &d).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (500, r#"{"error":"receiver_misconfigured"}"#)
    );

    // A retry re-signed 6 hours later is a duplicate; after the retention, fresh.
    let id = format!("evt_late_{front}");
    assert_eq!(post(addr, "/json", &delivery(clock, &id)).await.status, 200);
    clock.advance(6 * 3600);
    assert_duplicate(&post(addr, "/json", &delivery(clock, &id)).await);
    clock.advance(67 * 3600);
    let fresh = post(addr, "/json", &delivery(clock, &id)).await;
    assert_eq!(fresh.status, 200);
    assert_eq!(fresh.body, format!("run.completed {id}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_once_through_the_tower_layer_in_axum() {
    let seen = Arc::new(Seen::default());
    let clock = Clock::default();
    let addr = axum_server::start(seen.clone(), &clock).await;
    scenarios("axum", addr, &seen, &clock).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_once_through_the_actix_web_middleware() {
    let seen = Arc::new(Seen::default());
    let clock = Clock::default();
    let addr = actix_server::start(seen.clone(), &clock);
    scenarios("actix", addr, &seen, &clock).await;
}
