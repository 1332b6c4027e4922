//! A Nexio webhook receiver on axum that processes each event exactly once with
//! PostgreSQL: the delivery's claim and the receiver's own row commit in one
//! transaction.
//!
//! ```sh
//! DATABASE_URL=postgres://user:password@127.0.0.1/app \
//! NEXIO_WEBHOOK_SECRET=whsec_... \
//!     cargo run -p nexio-webhooks-examples --bin postgres_receiver
//! ```
//!
//! Listens on `127.0.0.1:$PORT` (default 3002) and takes `POST /webhooks`. At start it
//! creates the deliveries table and `processed_runs (event_id, run_id, status)`. For
//! each `run.completed` / `run.failed` it inserts a row into `processed_runs` in the
//! same transaction as its claim, and answers 200 only once that transaction has
//! committed; other events are acknowledged (their claim committed alone). A retry
//! of a processed event is answered `200 {"status":"duplicate"}`; a copy arriving
//! while the first is still in its transaction waits for it; the database away is a
//! 503 (Nexio retries).

use std::process::ExitCode;
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRef, State};
use axum::routing::post;
use nexio_webhooks::axum::{NexioWebhook, Rejection};
use nexio_webhooks::postgres::PostgresReplayGuard;
use nexio_webhooks::{EventKind, Receiver, ReplayGuardError, Secret, Verifier};
use sqlx::postgres::PgPoolOptions;

#[derive(Clone)]
struct App {
    /// Without a replay guard: the claim is made in the handler's transaction.
    receiver: Receiver,
    guard: PostgresReplayGuard,
}

impl FromRef<App> for Receiver {
    fn from_ref(app: &App) -> Receiver {
        app.receiver.clone()
    }
}

const BUSINESS_TABLE: &str = "CREATE TABLE IF NOT EXISTS processed_runs (
    event_id text PRIMARY KEY,
    run_id   text NOT NULL,
    status   text
)";

async fn webhook(State(app): State<App>, hook: NexioWebhook) -> Result<&'static str, Rejection> {
    let mut tx = app.guard.begin().await?;
    // Duplicate → 200 duplicate; in progress → 409; database away → 503.
    app.guard
        .claim_delivery_in(&mut tx, &hook, app.receiver.now())
        .await?;
    let event = &hook.event;
    if matches!(event.kind(), EventKind::RunCompleted | EventKind::RunFailed)
        && let Some(run) = event.run()
    {
        sqlx::query("INSERT INTO processed_runs (event_id, run_id, status) VALUES ($1, $2, $3)")
            .bind(event.id())
            .bind(&run.run_id)
            .bind(run.status.as_ref().map(|s| s.as_str()))
            .execute(&mut *tx)
            .await
            // The transaction is dropped: rolled back, claim included; Nexio retries.
            .map_err(|_| Rejection::ReplayGuard(ReplayGuardError::Unavailable))?;
    }
    app.guard.commit(tx).await?;
    println!("{} {} processed", event.event_type(), event.id());
    Ok("ok")
}

async fn start() -> Result<(App, u16), String> {
    let url = std::env::var("DATABASE_URL")
        .map_err(|_| "DATABASE_URL is not set (postgres://user:password@host/db)".to_owned())?;
    let secret = std::env::var("NEXIO_WEBHOOK_SECRET").map_err(|_| {
        "NEXIO_WEBHOOK_SECRET is not set: export the endpoint's signing secret \
         (whsec_…) exactly as Nexio returned it"
            .to_owned()
    })?;
    let secret = Secret::new(&secret).map_err(|e| format!("NEXIO_WEBHOOK_SECRET: {e}"))?;
    let port = match std::env::var("PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| format!("PORT must be a port number, got {p:?}"))?,
        Err(_) => 3002,
    };
    // Never print the URL or sqlx's connect error verbatim: both may carry a password.
    let pool = PgPoolOptions::new()
        .max_connections(20)
        .acquire_timeout(Duration::from_secs(2))
        .connect(&url)
        .await
        .map_err(|_| "cannot connect to the database at DATABASE_URL".to_owned())?;
    let guard = PostgresReplayGuard::new(pool.clone());
    guard
        .migrate()
        .await
        .map_err(|e| format!("creating the deliveries table: {e}"))?;
    sqlx::raw_sql(BUSINESS_TABLE)
        .execute(&pool)
        .await
        .map_err(|_| "creating processed_runs failed".to_owned())?;
    // Rows past their retention (72 h) are deleted every ten minutes.
    let _sweeper = guard.spawn_sweeper(Duration::from_secs(600));
    let receiver = Receiver::new(Verifier::new(secret));
    Ok((App { receiver, guard }, port))
}

#[tokio::main]
async fn main() -> ExitCode {
    let (app, port) = match start().await {
        Ok(started) => started,
        Err(e) => {
            eprintln!("postgres_receiver: refusing to start: {e}");
            return ExitCode::from(2);
        }
    };
    let router = Router::new()
        .route("/webhooks", post(webhook))
        .with_state(app);
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("postgres_receiver: cannot listen on 127.0.0.1:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("listening on http://127.0.0.1:{port}/webhooks");
    if let Err(e) = axum::serve(listener, router).await {
        eprintln!("postgres_receiver: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
