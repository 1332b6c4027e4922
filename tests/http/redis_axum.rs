//! Two real axum replicas sharing one real Redis: a delivery is processed once however
//! many times, and on whichever replica, it arrives.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use crate::support_redis;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRef, State};
use axum::routing::post;
use nexio_webhooks::axum::NexioWebhook;
use nexio_webhooks::redis::RedisReplayGuard;
use nexio_webhooks::{Delivery, Receiver, Secret, Signer, Verifier, sample, unix_now};

const SECRET: &str = "whsec_abc123def456";

#[derive(Clone)]
struct App {
    receiver: Receiver,
    calls: Arc<AtomicUsize>,
    finished: Arc<AtomicBool>,
}

impl FromRef<App> for Receiver {
    fn from_ref(app: &App) -> Receiver {
        app.receiver.clone()
    }
}

async fn handle(State(app): State<App>, hook: NexioWebhook) -> &'static str {
    assert_eq!(hook.event.event_type(), "run.completed");
    app.calls.fetch_add(1, Ordering::SeqCst);
    // Long enough for the other copies to arrive while this one is in progress.
    tokio::time::sleep(Duration::from_millis(150)).await;
    app.finished.store(true, Ordering::SeqCst);
    hook.complete().await.unwrap();
    "processed"
}

async fn replica(
    redis_url: &str,
    calls: Arc<AtomicUsize>,
    finished: Arc<AtomicBool>,
) -> SocketAddr {
    let guard = RedisReplayGuard::connect_with_timeout(redis_url, Duration::from_millis(300))
        .await
        .unwrap();
    let receiver =
        Receiver::new(Verifier::new(Secret::new(SECRET).unwrap())).with_replay_guard(guard);
    let app = Router::new()
        .route("/webhooks", post(handle))
        .with_state(App {
            receiver,
            calls,
            finished,
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn send(client: &reqwest::Client, addr: SocketAddr, d: &Delivery) -> (u16, String) {
    let mut req = client
        .post(format!("http://{addr}/webhooks"))
        .body(d.body().to_vec());
    for (name, value) in d.headers() {
        req = req.header(*name, value);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_hundred_identical_deliveries_across_two_replicas_are_processed_once() {
    let Some(mut redis) = support_redis::start() else {
        return;
    };
    let calls = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicBool::new(false));
    let a = replica(&redis.url(), calls.clone(), finished.clone()).await;
    let b = replica(&redis.url(), calls.clone(), finished.clone()).await;
    let client = reqwest::Client::new();
    let delivery = Arc::new(
        Signer::new(Secret::new(SECRET).unwrap())
            .delivery(sample::RUN_COMPLETED)
            .timestamp(unix_now())
            .build(),
    );

    let mut tasks = Vec::new();
    for i in 0..100 {
        let (client, delivery, finished) = (client.clone(), delivery.clone(), finished.clone());
        let addr = if i % 2 == 0 { a } else { b };
        tasks.push(tokio::spawn(async move {
            let reply = send(&client, addr, &delivery).await;
            (reply, finished.load(Ordering::SeqCst))
        }));
    }
    let (mut processed, mut duplicates, mut in_progress) = (0, 0, 0);
    for t in tasks {
        let ((status, body), winner_finished) = t.await.unwrap();
        match (status, body.as_str()) {
            (200, "processed") => processed += 1,
            (200, b) if b.contains("duplicate") => {
                assert!(winner_finished, "a 2xx before the winner finished");
                duplicates += 1;
            }
            (409, r#"{"error":"delivery_in_progress"}"#) => in_progress += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!(processed, 1);
    assert_eq!(duplicates + in_progress, 99);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "handler called more than once"
    );

    // Redis down: the default policy answers 503 (Nexio retries) and processes nothing.
    redis.stop();
    let other = Signer::new(Secret::new(SECRET).unwrap())
        .delivery(sample::RUN_FAILED.replace("run.failed", "run.completed"))
        .timestamp(unix_now())
        .build();
    let (status, body) = send(&client, a, &other).await;
    assert_eq!(
        (status, body.as_str()),
        (503, r#"{"error":"replay_guard_unavailable"}"#)
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // Back up: the retry is processed, once.
    redis.restart();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let (status, body) = loop {
        let (status, body) = send(&client, b, &other).await;
        if status != 503 || std::time::Instant::now() > deadline {
            break (status, body);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!((status, body.as_str()), (200, "processed"));
    let (status, body) = send(&client, a, &other).await;
    assert_eq!(status, 200);
    assert!(body.contains("duplicate"), "{body}");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}
