//! The server `flood` floods: one axum app on 127.0.0.1 behind `NexioWebhookLayer`,
//! with the receiver's defaults (1 MiB body limit, 64 MiB memory budget, 30 s
//! body-read deadline) and an in-memory replay guard.
//!
//! `POST /webhooks` verifies (the layer), then the handler records the event id as
//! processed and answers 200; `GET /health` answers `ok`; `GET /processed` lists the
//! processed event ids, one a line. Prints `listening on <addr>` once bound, and
//! exits when its stdin closes (so it never outlives `flood`).

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use nexio_webhooks::tower::NexioWebhookLayer;
use nexio_webhooks::{InMemoryReplayGuard, Receiver, Secret, Verifier};
use std::io::Read as _;

/// The secret the valid deliveries of `flood` are signed with.
const SECRET: &str = "whsec_abc123def456";

type Processed = Arc<Mutex<Vec<String>>>;

async fn handle(State(processed): State<Processed>, body: Bytes) -> StatusCode {
    let id = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("id").and_then(|id| id.as_str()).map(str::to_owned));
    match id {
        Some(id) => {
            processed.lock().unwrap_or_else(|e| e.into_inner()).push(id);
            StatusCode::OK
        }
        None => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

async fn list(State(processed): State<Processed>) -> String {
    let ids = processed.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = String::new();
    for id in ids.iter() {
        out.push_str(id);
        out.push('\n');
    }
    out
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let receiver = Receiver::new(Verifier::new(Secret::new(SECRET)?))
        .with_replay_guard(InMemoryReplayGuard::new(100_000));
    let processed = Processed::default();
    let app = Router::new()
        .route(
            "/webhooks",
            post(handle).route_layer(NexioWebhookLayer::new(receiver)),
        )
        .route("/health", get(|| async { "ok" }))
        .route("/processed", get(list))
        .with_state(processed);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on {}", listener.local_addr()?);
    std::thread::spawn(|| {
        let mut sink = [0u8; 64];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        std::process::exit(0);
    });
    axum::serve(listener, app).await?;
    Ok(())
}
