//! A complete Nexio webhook receiver on axum.
//!
//! ```sh
//! NEXIO_WEBHOOK_SECRET=whsec_... cargo run -p nexio-webhooks-examples --bin axum_receiver
//! ```
//!
//! Listens on `127.0.0.1:$PORT` (default 3000) and takes `POST /webhooks`. The secret
//! is the endpoint's signing secret exactly as Nexio returns it (`whsec_…`); if the
//! endpoint was created with an `auth_token`, set `NEXIO_WEBHOOK_AUTH_TOKEN` too.
//! Each verified event is logged with its type, run id and status; a retry of an
//! event already processed is answered `200 {"status":"duplicate"}` without running
//! the handler again.

use std::process::ExitCode;

use axum::Router;
use axum::routing::post;
use nexio_webhooks::axum::NexioWebhook;
use nexio_webhooks::{BearerToken, InMemoryReplayGuard, Receiver, Secret, Verifier};

async fn webhook(hook: NexioWebhook) -> &'static str {
    let event = &hook.event;
    let run = event.run();
    println!(
        "{} {} run={} status={} key={} delivery={}",
        event.event_type(),
        event.id(),
        run.map_or("-", |r| r.run_id.as_str()),
        run.and_then(|r| r.status.as_ref())
            .map_or("-", |s| s.as_str()),
        hook.info.key_id,
        hook.info.delivery_id.as_deref().unwrap_or("-"),
    );
    // Processed: record it, so Nexio's retries of this event are answered
    // "duplicate". Returning without this (an error, a panic) releases the claim and
    // the retry is processed. If the record cannot be written the delivery was still
    // processed, so answer 2xx all the same.
    let _ = hook.complete().await;
    "ok"
}

/// The receiver, from the environment; a message saying what is wrong otherwise.
fn receiver_from_env() -> Result<Receiver, String> {
    let secret = std::env::var("NEXIO_WEBHOOK_SECRET").map_err(|_| {
        "NEXIO_WEBHOOK_SECRET is not set: export the endpoint's signing secret \
         (whsec_…) exactly as Nexio returned it"
            .to_owned()
    })?;
    let secret = Secret::new(&secret).map_err(|e| format!("NEXIO_WEBHOOK_SECRET: {e}"))?;
    let mut verifier = Verifier::new(secret);
    if let Ok(token) = std::env::var("NEXIO_WEBHOOK_AUTH_TOKEN") {
        let token =
            BearerToken::new(&token).map_err(|e| format!("NEXIO_WEBHOOK_AUTH_TOKEN: {e}"))?;
        verifier = verifier.with_bearer_token(token);
    }
    Ok(Receiver::new(verifier).with_replay_guard(InMemoryReplayGuard::new(100_000)))
}

fn port_from_env(default: u16) -> Result<u16, String> {
    match std::env::var("PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| format!("PORT must be a port number, got {p:?}")),
        Err(_) => Ok(default),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let (receiver, port) = match (receiver_from_env(), port_from_env(3000)) {
        (Ok(r), Ok(p)) => (r, p),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("axum_receiver: refusing to start: {e}");
            return ExitCode::from(2);
        }
    };
    let app = Router::new()
        .route("/webhooks", post(webhook))
        .with_state(receiver);
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("axum_receiver: cannot listen on 127.0.0.1:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("listening on http://127.0.0.1:{port}/webhooks");
    // `axum::serve` sets no header-read timeout: serve each connection with hyper
    // directly, so a client trickling its request head is cut off after 10 s (the
    // receiver's body-read deadline, 30 s by default, bounds the body).
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(std::time::Duration::from_secs(10));
            let _ = builder
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}
