//! Exactly-once processing against a real PostgreSQL: the transactional claim in real
//! axum receivers (concurrent copies over two pools, a failing business write, a
//! receiver SIGKILLed inside its transaction, late retries, the database going away),
//! the guard mode through the tower layer, the protocol's steps, the sweep, the schema.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use crate::support_postgres;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use nexio_webhooks::axum::{NexioWebhook, Rejection};
use nexio_webhooks::postgres::{
    PostgresGuardError, PostgresReplayGuard, TxClaimOutcome, validate_table_name,
};
use nexio_webhooks::tower::NexioWebhookLayer;
use nexio_webhooks::{
    ClaimOutcome, DEFAULT_RETENTION, Delivery, Receiver, ReplayGuardError, Secret, Signer,
    Verifier, sample, unix_now,
};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

const SECRET: &str = "whsec_abc123def456";
const BUSINESS_TABLE: &str = "CREATE TABLE IF NOT EXISTS processed_runs (\
     event_id text NOT NULL, run_id text NOT NULL, status text)";
/// Set in the child process of the SIGKILL test: the database URL it serves with.
const CHILD_VAR: &str = "NEXIO_PG_TEST_CHILD_RECEIVER";

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

async fn pool(url: &str, max: u32) -> PgPool {
    PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(2))
        .connect(url)
        .await
        .unwrap()
}

/// The guard and the business table, created as a receiver does at start.
async fn setup(url: &str, max: u32) -> (PgPool, PostgresReplayGuard) {
    let pool = pool(url, max).await;
    let guard = PostgresReplayGuard::new(pool.clone());
    guard.migrate().await.unwrap();
    sqlx::raw_sql(BUSINESS_TABLE).execute(&pool).await.unwrap();
    (pool, guard)
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

async fn business_rows(pool: &PgPool) -> i64 {
    count(pool, "SELECT count(*) FROM processed_runs").await
}

#[derive(Clone)]
struct App {
    receiver: Receiver,
    guard: PostgresReplayGuard,
    /// How long the handler holds its transaction open before committing.
    hold: Duration,
    /// Set just before the winner commits: no duplicate may be answered before.
    committing: Arc<AtomicBool>,
    /// When set, the next business write fails (and the transaction rolls back).
    fail_next: Arc<AtomicBool>,
    /// When set (child process), the handler stops inside its transaction forever.
    block_inside: bool,
    calls: Arc<AtomicUsize>,
}

impl FromRef<App> for Receiver {
    fn from_ref(app: &App) -> Receiver {
        app.receiver.clone()
    }
}

/// The transactional handler: claim in the transaction, write, commit, answer.
async fn transactional(
    State(app): State<App>,
    hook: NexioWebhook,
) -> Result<&'static str, Response> {
    let mut tx = app
        .guard
        .begin()
        .await
        .map_err(IntoResponse::into_response)?;
    app.guard
        .claim_delivery_in(&mut tx, &hook, app.receiver.now())
        .await
        .map_err(IntoResponse::into_response)?;
    app.calls.fetch_add(1, Ordering::SeqCst);
    let run = hook.event.run().expect("a run event");
    let run_id = if app.fail_next.swap(false, Ordering::SeqCst) {
        None // violates NOT NULL: the business write fails
    } else {
        Some(run.run_id.clone())
    };
    sqlx::query("INSERT INTO processed_runs (event_id, run_id, status) VALUES ($1, $2, $3)")
        .bind(hook.event.id())
        .bind(run_id)
        .bind(run.status.as_ref().map(|s| s.as_str()))
        .execute(&mut *tx)
        .await
        .map_err(|_| (StatusCode::INTERNAL_SERVER_ERROR, "write failed").into_response())?;
    if app.block_inside {
        println!("INSIDE_TRANSACTION");
        std::future::pending::<()>().await;
    }
    tokio::time::sleep(app.hold).await;
    app.committing.store(true, Ordering::SeqCst);
    app.guard
        .commit(tx)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok("processed")
}

fn receiver(clock: &Clock) -> Receiver {
    let clock = clock.clone();
    Receiver::new(Verifier::new(Secret::new(SECRET).unwrap())).with_clock(move || clock.now())
}

fn app(guard: PostgresReplayGuard, clock: &Clock) -> App {
    App {
        receiver: receiver(clock),
        guard,
        hold: Duration::ZERO,
        committing: Arc::default(),
        fail_next: Arc::default(),
        block_inside: false,
        calls: Arc::default(),
    }
}

async fn serve(app: App) -> SocketAddr {
    let router = Router::new()
        .route("/webhooks", post(transactional))
        .with_state(app);
    serve_router(router).await
}

async fn serve_router(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

fn signed(body: &str, t: i64) -> Delivery {
    Signer::new(Secret::new(SECRET).unwrap())
        .delivery(body)
        .timestamp(t)
        .build()
}

fn event_id(body: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    v["id"].as_str().unwrap().to_owned()
}

fn run_event(id: &str) -> String {
    sample::RUN_COMPLETED.replacen("evt_", &format!("evt_{id}_"), 1)
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

fn is_duplicate(reply: &(u16, String)) -> bool {
    reply.0 == 200 && reply.1 == r#"{"status":"duplicate"}"#
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_hundred_copies_over_two_receivers_make_one_business_row() {
    let Some(pg) = support_postgres::start() else {
        return;
    };
    let clock = Clock::default();
    let (pool_a, guard_a) = setup(&pg.url(), 40).await;
    let (_pool_b, guard_b) = setup(&pg.url(), 40).await;
    let committing = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicUsize::new(0));
    let mut a = app(guard_a, &clock);
    let mut b = app(guard_b, &clock);
    for app in [&mut a, &mut b] {
        app.hold = Duration::from_millis(200);
        app.committing = committing.clone();
        app.calls = calls.clone();
    }
    let (a, b) = (serve(a).await, serve(b).await);
    let client = reqwest::Client::new();
    let delivery = Arc::new(signed(&run_event("concurrent"), clock.now()));

    let mut tasks = Vec::new();
    for i in 0..100 {
        let (client, delivery, committing) = (client.clone(), delivery.clone(), committing.clone());
        let addr = if i % 2 == 0 { a } else { b };
        tasks.push(tokio::spawn(async move {
            let reply = send(&client, addr, &delivery).await;
            (reply, committing.load(Ordering::SeqCst))
        }));
    }
    let (mut processed, mut duplicates, mut in_progress) = (0, 0, 0);
    for t in tasks {
        let (reply, winner_committing) = t.await.unwrap();
        if is_duplicate(&reply) {
            assert!(
                winner_committing,
                "a duplicate answered before the winner's commit"
            );
            duplicates += 1;
            continue;
        }
        match (reply.0, reply.1.as_str()) {
            (200, "processed") => processed += 1,
            (409, r#"{"error":"delivery_in_progress"}"#) => in_progress += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!(processed, 1);
    assert_eq!(duplicates + in_progress, 99);
    assert_eq!(calls.load(Ordering::SeqCst), 1, "processed more than once");
    assert_eq!(business_rows(&pool_a).await, 1);
    // A copy arriving later is a duplicate on either receiver.
    for addr in [a, b] {
        assert!(is_duplicate(&send(&client, addr, &delivery).await));
    }
    assert_eq!(business_rows(&pool_a).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_business_write_rolls_back_the_claim_and_the_retry_is_processed() {
    let Some(pg) = support_postgres::start() else {
        return;
    };
    let clock = Clock::default();
    let (pool, guard) = setup(&pg.url(), 5).await;
    let app = app(guard, &clock);
    let fail_next = app.fail_next.clone();
    let addr = serve(app).await;
    let client = reqwest::Client::new();
    let body = run_event("rollback");

    fail_next.store(true, Ordering::SeqCst);
    let reply = send(&client, addr, &signed(&body, clock.now())).await;
    assert_eq!((reply.0, reply.1.as_str()), (500, "write failed"));
    assert_eq!(business_rows(&pool).await, 0);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM nexio_webhook_deliveries").await,
        0,
        "the claim rolled back with the write"
    );
    // Nexio's retry, re-signed: processed, once.
    clock.advance(60);
    let reply = send(&client, addr, &signed(&body, clock.now())).await;
    assert_eq!((reply.0, reply.1.as_str()), (200, "processed"));
    clock.advance(60);
    assert!(is_duplicate(
        &send(&client, addr, &signed(&body, clock.now())).await
    ));
    assert_eq!(business_rows(&pool).await, 1);
}

/// Kills the child receiver however the test ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Not a test of its own: the body of the receiver process that
/// `a_receiver_killed_inside_its_transaction_…` starts (this test binary, re-run with
/// `NEXIO_PG_TEST_CHILD_RECEIVER` set) and SIGKILLs. Without the variable it returns.
#[test]
fn child_receiver_process() {
    let Ok(url) = std::env::var(CHILD_VAR) else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async move {
        let (_pool, guard) = setup(&url, 2).await;
        let mut app = app(guard, &Clock::default());
        app.block_inside = true;
        let addr = serve(app).await;
        println!("LISTENING {}", addr.port());
        std::future::pending::<()>().await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_killed_inside_its_transaction_leaves_nothing_and_the_retry_is_processed() {
    let Some(pg) = support_postgres::start() else {
        return;
    };
    let (pool, guard) = setup(&pg.url(), 5).await;
    let mut child = KillOnDrop(
        Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                // The test's path in this binary, whose tests are modules of one crate.
                concat!(module_path!(), "::child_receiver_process")
                    .split_once("::")
                    .map_or("child_receiver_process", |(_, path)| path),
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_VAR, pg.url())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    let stdout = child.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let wait_for = |prefix: &'static str| {
        tokio::task::block_in_place(|| {
            loop {
                let line = lines
                    .recv_timeout(Duration::from_secs(30))
                    .expect("the child receiver exited or did not answer in time");
                // libtest's "test child_receiver_process ... " may start the line.
                if let Some(at) = line.find(prefix) {
                    return line[at + prefix.len()..].trim().to_owned();
                }
            }
        })
    };
    let port: u16 = wait_for("LISTENING").parse().unwrap();
    let child_addr = SocketAddr::from(([127, 0, 0, 1], port));

    let clock = Clock::default();
    let body = run_event("killed");
    let client = reqwest::Client::new();
    let first = signed(&body, clock.now());
    let pending = {
        let client = client.clone();
        tokio::spawn(async move {
            let mut req = client
                .post(format!("http://{child_addr}/webhooks"))
                .body(first.body().to_vec());
            for (name, value) in first.headers() {
                req = req.header(*name, value);
            }
            req.send().await
        })
    };
    wait_for("INSIDE_TRANSACTION");
    // The claim and the business row are written, uncommitted: nobody else sees them.
    assert_eq!(business_rows(&pool).await, 0);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM nexio_webhook_deliveries").await,
        0
    );
    // A copy arriving now waits on the row lock, and is answered 409 after the wait.
    let short = guard.clone().with_lock_wait(Duration::from_millis(300));
    let mut tx = pool.begin().await.unwrap();
    let id = event_id(&body);
    assert!(matches!(
        short
            .claim_in(&mut tx, &id, clock.now() + 300, clock.now())
            .await,
        Ok(TxClaimOutcome::InProgress {
            retry_after_secs: 1
        })
    ));
    drop(tx);

    child.0.kill().unwrap(); // SIGKILL, inside the transaction
    child.0.wait().unwrap();
    assert!(
        pending.await.unwrap().is_err(),
        "the killed receiver answered"
    );

    // The database rolls the dead connection's transaction back; a new receiver
    // process the retry.
    let addr = serve(app(guard, &clock)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let reply = loop {
        clock.advance(1);
        let reply = send(&client, addr, &signed(&body, clock.now())).await;
        if reply.0 != 409 || Instant::now() > deadline {
            break reply;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!((reply.0, reply.1.as_str()), (200, "processed"));
    assert!(is_duplicate(
        &send(&client, addr, &signed(&body, clock.now())).await
    ));
    assert_eq!(business_rows(&pool).await, 1);
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM processed_runs WHERE run_id IS NULL"
        )
        .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_re_signed_hours_later_is_a_duplicate_and_after_retention_and_a_sweep_it_is_fresh()
{
    let Some(pg) = support_postgres::start() else {
        return;
    };
    let clock = Clock::default();
    let (pool, guard) = setup(&pg.url(), 5).await;
    let addr = serve(app(guard.clone(), &clock)).await;
    let client = reqwest::Client::new();
    let body = run_event("late");

    let reply = send(&client, addr, &signed(&body, clock.now())).await;
    assert_eq!((reply.0, reply.1.as_str()), (200, "processed"));
    // Six hours later, re-signed (a fresh `t=` that passes verification).
    clock.advance(6 * 3600);
    assert!(is_duplicate(
        &send(&client, addr, &signed(&body, clock.now())).await
    ));
    // A sweep now deletes nothing: the row is inside its retention.
    assert_eq!(guard.sweep(clock.now()).await.unwrap(), 0);
    // Past the retention, a sweep deletes the row, and the delivery is fresh again.
    clock.advance(DEFAULT_RETENTION.as_secs() as i64);
    assert_eq!(guard.sweep(clock.now()).await.unwrap(), 1);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM nexio_webhook_deliveries").await,
        0
    );
    let reply = send(&client, addr, &signed(&body, clock.now())).await;
    assert_eq!((reply.0, reply.1.as_str()), (200, "processed"));
    assert_eq!(business_rows(&pool).await, 2);
}

/// Guard mode, through the tower layer: the handler's status settles the claim.
async fn layered(State(calls): State<Arc<AtomicUsize>>) -> (StatusCode, &'static str) {
    match calls.fetch_add(1, Ordering::SeqCst) {
        0 => (StatusCode::INTERNAL_SERVER_ERROR, "failed"),
        _ => (StatusCode::OK, "processed"),
    }
}

async fn serve_layered(
    guard: PostgresReplayGuard,
    clock: &Clock,
) -> (SocketAddr, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let router = Router::new()
        .route(
            "/webhooks",
            post(layered).route_layer(NexioWebhookLayer::new(
                receiver(clock).with_replay_guard(guard),
            )),
        )
        .with_state(calls.clone());
    (serve_router(router).await, calls)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guard_mode_through_the_tower_layer_retries_a_failure_and_answers_the_duplicate() {
    let Some(pg) = support_postgres::start() else {
        return;
    };
    let clock = Clock::default();
    let (pool, guard) = setup(&pg.url(), 5).await;
    let (addr, calls) = serve_layered(guard, &clock).await;
    let client = reqwest::Client::new();
    let body = run_event("layer");

    let reply = send(&client, addr, &signed(&body, clock.now())).await;
    assert_eq!((reply.0, reply.1.as_str()), (500, "failed"));
    assert_eq!(
        count(&pool, "SELECT count(*) FROM nexio_webhook_deliveries").await,
        0
    );
    clock.advance(30);
    let reply = send(&client, addr, &signed(&body, clock.now())).await;
    assert_eq!((reply.0, reply.1.as_str()), (200, "processed"));
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM nexio_webhook_deliveries WHERE state = 'done'"
        )
        .await,
        1
    );
    clock.advance(3600);
    assert!(is_duplicate(
        &send(&client, addr, &signed(&body, clock.now())).await
    ));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_mid_test_is_503_and_recovers_without_restarting_the_receiver() {
    let Some(mut pg) = support_postgres::start() else {
        return;
    };
    let clock = Clock::default();
    let (pool, guard) = setup(&pg.url(), 5).await;
    let guard = guard.with_timeout(Duration::from_millis(500));
    let tx_addr = serve(app(guard.clone(), &clock)).await;
    let (layer_addr, layer_calls) = serve_layered(guard, &clock).await;
    let client = reqwest::Client::new();
    let before = run_event("before");
    let reply = send(&client, tx_addr, &signed(&before, clock.now())).await;
    assert_eq!(reply.0, 200);

    pg.stop();
    let body = run_event("outage");
    let layer_body = run_event("outage_layer");
    for (addr, body) in [(tx_addr, &body), (layer_addr, &layer_body)] {
        let started = Instant::now();
        let reply = send(&client, addr, &signed(body, clock.now())).await;
        assert_eq!(
            (reply.0, reply.1.as_str()),
            (503, r#"{"error":"replay_guard_unavailable"}"#)
        );
        assert!(started.elapsed() < Duration::from_secs(5), "not bounded");
    }
    assert_eq!(
        layer_calls.load(Ordering::SeqCst),
        0,
        "processed without a claim"
    );

    pg.restart();
    for (addr, body) in [(tx_addr, &body), (layer_addr, &layer_body)] {
        let deadline = Instant::now() + Duration::from_secs(15);
        let reply = loop {
            clock.advance(1);
            let reply = send(&client, addr, &signed(body, clock.now())).await;
            // The first attempts may meet connections the restart broke: 503, or 500
            // when the break came after the claim (rolled back, nothing kept).
            let retry = if addr == tx_addr {
                reply.0 != 200
            } else {
                reply.0 == 503
            };
            if !retry || Instant::now() > deadline {
                break reply;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        if addr == tx_addr {
            assert_eq!((reply.0, reply.1.as_str()), (200, "processed"));
        } else {
            // The layer's first call fails by design (500); the next is processed.
            assert_eq!(reply.0, 500);
            let reply = send(&client, addr, &signed(body, clock.now())).await;
            assert_eq!((reply.0, reply.1.as_str()), (200, "processed"));
        }
    }
    assert!(is_duplicate(
        &send(&client, tx_addr, &signed(&body, clock.now())).await
    ));
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM processed_runs WHERE event_id LIKE 'evt_outage_%'"
        )
        .await,
        1
    );
}

/// The protocol's steps, as the in-memory guard defines them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guard_steps_follow_the_protocol_leases_owner_tokens_retention_and_takeovers() {
    let Some(pg) = support_postgres::start() else {
        return;
    };
    let (pool, guard) = setup(&pg.url(), 5).await;
    let guard = guard
        .with_lease(Duration::from_secs(5))
        .with_retention(Duration::from_secs(100));
    const W: i64 = 1_000; // replay window end
    let claimed = |o: Result<ClaimOutcome, ReplayGuardError>| match o {
        Ok(ClaimOutcome::Claimed(t)) => t,
        other => panic!("expected a claim, got {other:?}"),
    };

    let t = claimed(guard.claim("a", W, 0).await);
    assert_eq!(t.lease_until(), 5);
    assert_eq!(
        guard.claim("a", W, 2).await,
        Ok(ClaimOutcome::InProgress {
            retry_after_secs: 4
        })
    );
    guard.complete(&t, 3).await.unwrap();
    assert_eq!(guard.claim("a", W, 4).await, Ok(ClaimOutcome::Done));
    // Kept through the replay window (1000), past the retention (3 + 100).
    assert_eq!(guard.claim("a", W, W).await, Ok(ClaimOutcome::Done));
    claimed(guard.claim("a", W, W + 1).await);

    // Release lets the retry through; a second release is harmless.
    let t = claimed(guard.claim("b", W, 0).await);
    guard.release(&t).await.unwrap();
    guard.release(&t).await.unwrap();
    let t2 = claimed(guard.claim("b", W, 1).await);
    assert_ne!(t.owner(), t2.owner());

    // A lease that ran out: the new owner wins; the stale one changes nothing.
    let old = claimed(guard.claim("c", W, 0).await);
    assert!(matches!(
        guard.claim("c", W, 5).await,
        Ok(ClaimOutcome::InProgress {
            retry_after_secs: 1
        })
    ));
    let new = claimed(guard.claim("c", W, 6).await);
    assert_eq!(guard.release(&old).await, Err(ReplayGuardError::LeaseLost));
    assert_eq!(
        guard.complete(&old, 7).await,
        Err(ReplayGuardError::LeaseLost)
    );
    guard.complete(&new, 8).await.unwrap();
    assert_eq!(guard.release(&old).await, Err(ReplayGuardError::LeaseLost));
    assert_eq!(guard.release(&new).await, Ok(()));
    assert_eq!(guard.claim("c", W, 9).await, Ok(ClaimOutcome::Done));
    guard.complete(&new, 10).await.unwrap(); // completing twice is harmless

    // A late complete with nobody else since is recorded.
    let t = claimed(guard.claim("d", W, 0).await);
    guard.complete(&t, 50).await.unwrap();
    assert_eq!(guard.claim("d", W, 51).await, Ok(ClaimOutcome::Done));

    // Long keys are hashed, as in the in-memory guard.
    let long = "x".repeat(10_000);
    let t = claimed(guard.claim(&long, W, 0).await);
    assert!(t.key().starts_with("sha256:"));
    guard.complete(&t, 0).await.unwrap();
    assert_eq!(guard.claim(&long, W, 1).await, Ok(ClaimOutcome::Done));

    // The transactional claim takes over a crashed guard-mode owner's expired claim,
    // and then that owner can neither complete nor release.
    let crashed = claimed(guard.claim("e", W, 0).await);
    let mut tx = pool.begin().await.unwrap();
    assert!(matches!(
        guard.claim_in(&mut tx, "e", W, 3).await,
        Ok(TxClaimOutcome::InProgress {
            retry_after_secs: 3
        })
    ));
    drop(tx);
    let mut tx = pool.begin().await.unwrap();
    let TxClaimOutcome::Claimed(claim) = guard.claim_in(&mut tx, "e", W, 6).await.unwrap() else {
        panic!("expected the takeover");
    };
    assert_eq!(claim.key(), "e");
    tx.commit().await.unwrap();
    assert_eq!(
        guard.complete(&crashed, 7).await,
        Err(ReplayGuardError::LeaseLost)
    );
    assert_eq!(
        guard.release(&crashed).await,
        Err(ReplayGuardError::LeaseLost)
    );
    assert_eq!(guard.claim("e", W, 8).await, Ok(ClaimOutcome::Done));

    // Transactional: rolled back is forgotten; committed is done; a waiter on an
    // open transaction is told it is in progress after the lock wait, and the
    // caller's own lock_timeout is restored after a claim.
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SET LOCAL lock_timeout = '42s'")
        .execute(&mut *tx)
        .await
        .unwrap();
    assert!(matches!(
        guard.claim_in(&mut tx, "f", W, 0).await,
        Ok(TxClaimOutcome::Claimed(_))
    ));
    let setting: String = sqlx::query_scalar("SELECT current_setting('lock_timeout')")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(setting, "42s");
    let short = guard.clone().with_lock_wait(Duration::from_millis(200));
    let mut other = pool.begin().await.unwrap();
    let started = Instant::now();
    assert_eq!(
        short.claim_in(&mut other, "f", W, 0).await,
        Ok(TxClaimOutcome::InProgress {
            retry_after_secs: 1
        })
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    drop(other);
    tx.rollback().await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    assert!(matches!(
        guard.claim_in(&mut tx, "f", W, 1).await,
        Ok(TxClaimOutcome::Claimed(_))
    ));
    tx.commit().await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    assert_eq!(
        guard.claim_in(&mut tx, "f", W, 2).await,
        Ok(TxClaimOutcome::Done)
    );
    // A Done answer still locks the row until the transaction ends.
    tx.rollback().await.unwrap();
    assert_eq!(guard.claim("f", W, 2).await, Ok(ClaimOutcome::Done));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_deletes_expired_rows_in_bounded_batches_and_keeps_live_ones() {
    let Some(pg) = support_postgres::start() else {
        return;
    };
    let (pool, guard) = setup(&pg.url(), 5).await;
    let guard = guard.with_sweep_batch(1_000);
    sqlx::query(
        "INSERT INTO nexio_webhook_deliveries (key, state, owner, expires_at, updated_at) \
         SELECT 'old' || i, CASE WHEN i % 2 = 0 THEN 'done' ELSE 'claimed' END, 'x', i, 0 \
         FROM generate_series(1, 2500) AS i",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO nexio_webhook_deliveries (key, state, owner, expires_at, updated_at) \
         SELECT 'live' || i, 'done', 'x', 10000, 0 FROM generate_series(1, 100) AS i",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(guard.sweep_batch_at(5_000).await.unwrap(), 1_000);
    // The oldest first.
    assert_eq!(
        count(
            &pool,
            "SELECT min(expires_at) FROM nexio_webhook_deliveries"
        )
        .await,
        1_001
    );
    assert_eq!(guard.sweep(5_000).await.unwrap(), 1_500);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM nexio_webhook_deliveries").await,
        100
    );
    // The boundary is kept (inclusive expiry); past it, gone.
    assert_eq!(guard.sweep(10_000).await.unwrap(), 0);
    assert_eq!(guard.sweep(10_001).await.unwrap(), 100);
    // The sweep's batches are served by the expiry index.
    let plan: Vec<String> = sqlx::query_scalar(
        "EXPLAIN SELECT key FROM nexio_webhook_deliveries WHERE expires_at < 5 ORDER BY expires_at LIMIT 10",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        plan.iter()
            .any(|l| l.contains("nexio_webhook_deliveries_expires_at")),
        "{plan:?}"
    );

    // The periodic sweeper runs on its own (system clock: these rows are long expired).
    sqlx::query(
        "INSERT INTO nexio_webhook_deliveries (key, state, owner, expires_at, updated_at) \
         VALUES ('ancient', 'done', 'x', 1, 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    let sweeper = guard.spawn_sweeper(Duration::from_secs(1));
    let deadline = Instant::now() + Duration::from_secs(10);
    while count(&pool, "SELECT count(*) FROM nexio_webhook_deliveries").await > 0 {
        assert!(Instant::now() < deadline, "the sweeper did not run");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sweeper.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_is_idempotent_concurrent_and_takes_a_named_table() {
    let Some(pg) = support_postgres::start() else {
        return;
    };
    let pool = pool(&pg.url(), 10).await;
    sqlx::raw_sql("CREATE SCHEMA webhooks")
        .execute(&pool)
        .await
        .unwrap();
    let guard = PostgresReplayGuard::new(pool.clone())
        .with_table("webhooks.endpoint_a")
        .unwrap();
    assert_eq!(guard.table(), "webhooks.endpoint_a");
    let (a, b, c) = tokio::join!(guard.migrate(), guard.migrate(), guard.migrate());
    assert_eq!((a, b, c), (Ok(()), Ok(()), Ok(())));
    guard.migrate().await.unwrap();
    assert!(matches!(
        guard.claim("k", 100, 0).await,
        Ok(ClaimOutcome::Claimed(_))
    ));
    assert_eq!(
        count(&pool, "SELECT count(*) FROM webhooks.endpoint_a").await,
        1
    );
    // The SQL users run in their own migrations is what migrate() ran.
    assert_eq!(
        guard.schema_sql(),
        nexio_webhooks::postgres::schema_sql("webhooks.endpoint_a").unwrap()
    );

    for bad in [
        "Robert'); DROP TABLE students;--",
        "a b",
        "x.y.z",
        "",
        "\"t\"",
    ] {
        assert_eq!(
            PostgresReplayGuard::new(pool.clone()).with_table(bad).err(),
            Some(PostgresGuardError::InvalidTableName)
        );
        assert!(validate_table_name(bad).is_err());
    }
    // A table of that name that is not the deliveries table: the database refuses.
    sqlx::raw_sql("CREATE TABLE other (x int)")
        .execute(&pool)
        .await
        .unwrap();
    let clash = PostgresReplayGuard::new(pool.clone())
        .with_table("other")
        .unwrap();
    assert_eq!(clash.migrate().await, Err(PostgresGuardError::Refused));
}

#[tokio::test]
async fn debug_and_errors_never_show_the_connection_string() {
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(300))
        .connect_lazy("postgres://nexio:hunter2-secret@127.0.0.1:1/payments")
        .unwrap();
    let guard = PostgresReplayGuard::new(pool).with_timeout(Duration::from_millis(500));
    let debug = format!("{guard:?}");
    assert!(debug.contains("nexio_webhook_deliveries"), "{debug}");
    for secret in ["hunter2", "nexio:", "payments", "127.0.0.1"] {
        assert!(!debug.contains(secret), "{debug}");
    }
    // Nobody listens on port 1: every step is Unavailable, quickly, and says nothing.
    let started = Instant::now();
    let e = guard.claim("k", 0, 0).await.unwrap_err();
    assert_eq!(e, ReplayGuardError::Unavailable);
    assert!(started.elapsed() < Duration::from_secs(3));
    let m = guard.migrate().await.unwrap_err();
    for text in [
        e.to_string(),
        format!("{e:?}"),
        m.to_string(),
        format!("{m:?}"),
    ] {
        assert!(
            !text.contains("hunter2") && !text.contains("127.0.0.1"),
            "{text}"
        );
    }
    let rejection = guard.begin().await.err().unwrap();
    assert_eq!(
        rejection,
        Rejection::ReplayGuard(ReplayGuardError::Unavailable)
    );
    // Fail-open processes instead (at least once while the database is away).
    let open = guard.with_failure_policy(nexio_webhooks::postgres::FailurePolicy::FailOpen);
    assert!(matches!(
        open.claim("k", 0, 0).await,
        Ok(ClaimOutcome::Claimed(_))
    ));
}
