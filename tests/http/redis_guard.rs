//! The Redis replay guard's claim → complete | release protocol against a real Redis
//! on 127.0.0.1.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use crate::support_redis;

use std::sync::Arc;
use std::time::Duration;

use nexio_webhooks::redis::{FailurePolicy, RedisReplayGuard};
use nexio_webhooks::{ClaimOutcome, ReplayGuardError, Ticket};

const NOW: i64 = 1_774_180_800;

fn claimed(outcome: Result<ClaimOutcome, ReplayGuardError>) -> Ticket {
    match outcome {
        Ok(ClaimOutcome::Claimed(t)) => t,
        other => panic!("expected a claim, got {other:?}"),
    }
}

fn ttl(server: &support_redis::RedisServer, key: &str) -> i64 {
    server
        .command(&["PTTL", key])
        .unwrap()
        .trim_start_matches(':')
        .parse()
        .unwrap()
}

#[tokio::test]
async fn two_replicas_share_claims_and_completions() {
    let Some(server) = support_redis::start() else {
        return;
    };
    let a = RedisReplayGuard::connect(&server.url()).await.unwrap();
    let b = RedisReplayGuard::connect(&server.url()).await.unwrap();
    let t = claimed(a.claim("evt_1", NOW + 300, NOW).await);
    match b.claim("evt_1", NOW + 300, NOW + 1).await {
        Ok(ClaimOutcome::InProgress { retry_after_secs }) => {
            assert!((1..=31).contains(&retry_after_secs), "{retry_after_secs}")
        }
        other => panic!("{other:?}"),
    }
    // A release on one replica is seen by the other.
    a.release(&t).await.unwrap();
    let t = claimed(b.claim("evt_1", NOW + 300, NOW + 2).await);
    b.complete(&t, NOW + 3).await.unwrap();
    assert_eq!(
        a.claim("evt_1", NOW + 300, NOW + 4).await,
        Ok(ClaimOutcome::Done)
    );
    // Six hours on, a re-signed retry is still a duplicate.
    assert_eq!(
        a.claim("evt_1", NOW + 6 * 3600 + 300, NOW + 6 * 3600).await,
        Ok(ClaimOutcome::Done)
    );
}

#[tokio::test]
async fn keys_carry_the_lease_then_the_retention_as_ttl() {
    let Some(server) = support_redis::start() else {
        return;
    };
    let guard = RedisReplayGuard::connect(&server.url())
        .await
        .unwrap()
        .with_lease(Duration::from_secs(20))
        .with_retention(Duration::from_secs(3_600));
    assert_eq!(guard.lease(), Duration::from_secs(20));
    assert_eq!(guard.retention(), Duration::from_secs(3_600));
    let t = claimed(guard.claim("evt_ttl", NOW + 300, NOW).await);
    let key = "nexio:webhook:evt_ttl";
    assert!((19_000..=20_000).contains(&ttl(&server, key)));
    let value = server.command(&["GET", key]).unwrap();
    assert_eq!(value, format!("p:{}", t.owner().to_hex()));
    guard.complete(&t, NOW + 1).await.unwrap();
    assert!((3_599_000..=3_600_000).contains(&ttl(&server, key)));
    assert_eq!(
        server.command(&["GET", key]).unwrap(),
        format!("d:{}", t.owner().to_hex())
    );
    // Completing again is harmless; releasing a completed key changes nothing.
    guard.complete(&t, NOW + 2).await.unwrap();
    guard.release(&t).await.unwrap();
    assert_eq!(
        guard.claim("evt_ttl", NOW + 300, NOW + 3).await,
        Ok(ClaimOutcome::Done)
    );

    // The replay window outlasts a short retention: the key lives through it.
    let short = guard.clone().with_retention(Duration::from_secs(1));
    let t = claimed(short.claim("evt_window", NOW + 600, NOW).await);
    short.complete(&t, NOW).await.unwrap();
    assert!(ttl(&server, "nexio:webhook:evt_window") > 590_000);

    let custom = guard.clone().with_prefix("acme:endpoint-7:");
    claimed(custom.claim("evt_ttl", NOW + 60, NOW).await);
    assert!(ttl(&server, "acme:endpoint-7:evt_ttl") > 0);

    // Long dedupe keys are hashed, as in the in-memory guard.
    let long = "x".repeat(10_000);
    let t = claimed(guard.claim(&long, NOW + 300, NOW).await);
    assert!(t.key().starts_with("sha256:"));
    assert!(guard.key_for(&long).len() < 100);
    assert!(matches!(
        guard.claim(&long, NOW + 300, NOW).await,
        Ok(ClaimOutcome::InProgress { .. })
    ));
    assert_eq!(
        server.command(&["EXISTS", &guard.key_for(&long)]).unwrap(),
        ":1"
    );
}

#[tokio::test]
async fn a_lease_that_ran_out_frees_the_key_and_the_stale_owner_loses() {
    let Some(server) = support_redis::start() else {
        return;
    };
    let guard = RedisReplayGuard::connect(&server.url())
        .await
        .unwrap()
        .with_lease(Duration::from_secs(1));
    let old = claimed(guard.claim("evt_lease", NOW + 300, NOW).await);
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let new = claimed(guard.claim("evt_lease", NOW + 300, NOW + 1).await);
    assert_ne!(old.owner(), new.owner());
    assert_eq!(guard.release(&old).await, Err(ReplayGuardError::LeaseLost));
    assert_eq!(
        guard.complete(&old, NOW + 2).await,
        Err(ReplayGuardError::LeaseLost)
    );
    assert!(matches!(
        guard.claim("evt_lease", NOW + 300, NOW + 2).await,
        Ok(ClaimOutcome::InProgress { .. })
    ));
    guard.complete(&new, NOW + 2).await.unwrap();
    assert_eq!(guard.release(&old).await, Err(ReplayGuardError::LeaseLost));
    assert_eq!(
        guard.claim("evt_lease", NOW + 300, NOW + 3).await,
        Ok(ClaimOutcome::Done)
    );

    // A late completion with nobody else in between is still recorded.
    let late = claimed(guard.claim("evt_late", NOW + 300, NOW).await);
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    guard.complete(&late, NOW + 2).await.unwrap();
    assert_eq!(
        guard.claim("evt_late", NOW + 300, NOW + 3).await,
        Ok(ClaimOutcome::Done)
    );
}

#[tokio::test]
async fn completed_keys_expire_after_the_retention() {
    let Some(server) = support_redis::start() else {
        return;
    };
    let guard = RedisReplayGuard::connect(&server.url())
        .await
        .unwrap()
        .with_retention(Duration::from_secs(1));
    let t = claimed(guard.claim("evt_short", NOW, NOW).await);
    guard.complete(&t, NOW).await.unwrap();
    assert_eq!(
        guard.claim("evt_short", NOW, NOW).await,
        Ok(ClaimOutcome::Done)
    );
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    assert_eq!(
        server
            .command(&["EXISTS", "nexio:webhook:evt_short"])
            .unwrap(),
        ":0"
    );
    claimed(guard.claim("evt_short", NOW + 1, NOW + 1).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_one_claim_under_concurrency() {
    let Some(server) = support_redis::start() else {
        return;
    };
    let a = Arc::new(RedisReplayGuard::connect(&server.url()).await.unwrap());
    let b = Arc::new(RedisReplayGuard::connect(&server.url()).await.unwrap());
    let mut tasks = Vec::new();
    for i in 0..100 {
        let g = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            g.claim("evt_race", NOW + 300, NOW).await
        }));
    }
    let (mut claims, mut busy) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(ClaimOutcome::Claimed(_)) => claims += 1,
            Ok(ClaimOutcome::InProgress { .. }) => busy += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((claims, busy), (1, 99));
}

#[tokio::test]
async fn redis_down_follows_the_policy_then_recovers() {
    let Some(mut server) = support_redis::start() else {
        return;
    };
    let reject = RedisReplayGuard::connect_with_timeout(&server.url(), Duration::from_millis(300))
        .await
        .unwrap();
    let open = reject.clone().with_failure_policy(FailurePolicy::FailOpen);
    let held = claimed(reject.claim("evt_a", NOW + 300, NOW).await);

    server.stop();
    let started = std::time::Instant::now();
    assert_eq!(
        reject.claim("evt_b", NOW + 300, NOW).await,
        Err(ReplayGuardError::Unavailable)
    );
    assert_eq!(
        reject.complete(&held, NOW).await,
        Err(ReplayGuardError::Unavailable)
    );
    // Fail-open hands out a claim (at-least-once downstream), even for a held key.
    let t = claimed(open.claim("evt_a", NOW + 300, NOW).await);
    assert_eq!(open.release(&t).await, Err(ReplayGuardError::Unavailable));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "calls were not bounded: {:?}",
        started.elapsed()
    );

    server.restart();
    // The connection manager reconnects by itself; allow it a moment.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let t = loop {
        match reject.claim("evt_b", NOW + 300, NOW).await {
            Ok(outcome) => break claimed(Ok(outcome)),
            Err(_) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("no recovery after restart: {e}"),
        }
    };
    reject.complete(&t, NOW).await.unwrap();
    assert_eq!(
        reject.claim("evt_b", NOW + 300, NOW).await,
        Ok(ClaimOutcome::Done)
    );
    // The restarted Redis is empty (no persistence): evt_a is claimable again.
    claimed(reject.claim("evt_a", NOW + 300, NOW).await);
}

#[tokio::test]
async fn connect_failures_are_typed_and_quiet() {
    let err = RedisReplayGuard::connect("not a url").await.unwrap_err();
    assert_eq!(err.code(), "redis_invalid_url");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = RedisReplayGuard::connect_with_timeout(
        &format!("redis://:hunter2@127.0.0.1:{port}/0"),
        Duration::from_millis(300),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "redis_unreachable");
    assert!(!format!("{err} {err:?}").contains("hunter2"));
}
