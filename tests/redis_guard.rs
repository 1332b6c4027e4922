//! The Redis replay guard against a real Redis on 127.0.0.1.
#![cfg(feature = "redis")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod support_redis;

use std::sync::Arc;
use std::time::Duration;

use nexio_webhooks::redis::{FailurePolicy, RedisReplayGuard};
use nexio_webhooks::{ReplayGuardError, ReplayStatus};

const NOW: i64 = 1_774_180_800;

#[tokio::test]
async fn two_replicas_share_one_redis() {
    let Some(server) = support_redis::start() else {
        return;
    };
    let a = RedisReplayGuard::connect(&server.url()).await.unwrap();
    let b = RedisReplayGuard::connect(&server.url()).await.unwrap();
    assert_eq!(
        a.check_and_record("evt_1", NOW + 300, NOW).await,
        Ok(ReplayStatus::Fresh)
    );
    assert_eq!(
        b.check_and_record("evt_1", NOW + 300, NOW + 1).await,
        Ok(ReplayStatus::Duplicate)
    );
    assert_eq!(
        a.check_and_record("evt_1", NOW + 300, NOW + 2).await,
        Ok(ReplayStatus::Duplicate)
    );
    assert_eq!(
        b.check_and_record("evt_2", NOW + 300, NOW).await,
        Ok(ReplayStatus::Fresh)
    );
    // forget on one replica is seen by the other.
    a.forget("evt_1").await;
    assert_eq!(
        b.check_and_record("evt_1", NOW + 300, NOW + 3).await,
        Ok(ReplayStatus::Fresh)
    );
}

#[tokio::test]
async fn keys_are_namespaced_and_carry_the_window_as_ttl() {
    let Some(server) = support_redis::start() else {
        return;
    };
    let guard = RedisReplayGuard::connect(&server.url()).await.unwrap();
    assert_eq!(
        guard.check_and_record("evt_ttl", NOW + 300, NOW).await,
        Ok(ReplayStatus::Fresh)
    );
    let ttl: i64 = server
        .command(&["TTL", "nexio:webhook:evt_ttl"])
        .unwrap()
        .trim_start_matches(':')
        .parse()
        .unwrap();
    assert!((299..=301).contains(&ttl), "TTL {ttl}");
    assert_eq!(server.command(&["EXISTS", "evt_ttl"]).unwrap(), ":0");

    let custom = guard.clone().with_prefix("acme:endpoint-7:");
    assert_eq!(
        custom.check_and_record("evt_ttl", NOW + 60, NOW).await,
        Ok(ReplayStatus::Fresh)
    );
    let ttl: i64 = server
        .command(&["TTL", "acme:endpoint-7:evt_ttl"])
        .unwrap()
        .trim_start_matches(':')
        .parse()
        .unwrap();
    assert!((59..=61).contains(&ttl), "TTL {ttl}");

    // Long dedupe keys are hashed, as in the in-memory guard.
    let long = "x".repeat(10_000);
    assert_eq!(
        guard.check_and_record(&long, NOW + 300, NOW).await,
        Ok(ReplayStatus::Fresh)
    );
    assert_eq!(
        guard.check_and_record(&long, NOW + 300, NOW).await,
        Ok(ReplayStatus::Duplicate)
    );
    assert!(guard.key_for(&long).len() < 100);
    let hashed = guard.key_for(&long);
    assert_eq!(server.command(&["EXISTS", &hashed]).unwrap(), ":1");
}

#[tokio::test]
async fn entries_expire_after_the_ttl() {
    let Some(server) = support_redis::start() else {
        return;
    };
    let guard = RedisReplayGuard::connect(&server.url()).await.unwrap();
    // remember_until == now: kept through this second only (TTL 1 s).
    assert_eq!(
        guard.check_and_record("evt_short", NOW, NOW).await,
        Ok(ReplayStatus::Fresh)
    );
    assert_eq!(
        guard.check_and_record("evt_short", NOW, NOW).await,
        Ok(ReplayStatus::Duplicate)
    );
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(
        server
            .command(&["EXISTS", "nexio:webhook:evt_short"])
            .unwrap(),
        ":0"
    );
    assert_eq!(
        guard.check_and_record("evt_short", NOW + 1, NOW + 1).await,
        Ok(ReplayStatus::Fresh)
    );
    // Already past the window: not stored at all.
    assert_eq!(
        guard.check_and_record("evt_past", NOW - 1, NOW).await,
        Ok(ReplayStatus::Fresh)
    );
    assert_eq!(
        server
            .command(&["EXISTS", "nexio:webhook:evt_past"])
            .unwrap(),
        ":0"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn first_writer_wins_under_concurrency() {
    let Some(server) = support_redis::start() else {
        return;
    };
    let a = Arc::new(RedisReplayGuard::connect(&server.url()).await.unwrap());
    let b = Arc::new(RedisReplayGuard::connect(&server.url()).await.unwrap());
    let mut tasks = Vec::new();
    for i in 0..100 {
        let g = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            g.check_and_record("evt_race", NOW + 300, NOW).await
        }));
    }
    let mut fresh = 0;
    let mut dup = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(ReplayStatus::Fresh) => fresh += 1,
            Ok(ReplayStatus::Duplicate) => dup += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((fresh, dup), (1, 99));
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
    assert_eq!(
        reject.check_and_record("evt_a", NOW + 300, NOW).await,
        Ok(ReplayStatus::Fresh)
    );

    server.stop();
    let started = std::time::Instant::now();
    assert_eq!(
        reject.check_and_record("evt_b", NOW + 300, NOW).await,
        Err(ReplayGuardError::Unavailable)
    );
    // Fail-open processes it (at-least-once downstream), even a known key.
    assert_eq!(
        open.check_and_record("evt_a", NOW + 300, NOW).await,
        Ok(ReplayStatus::Fresh)
    );
    open.forget("evt_a").await; // best effort, no error, no hang
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "calls were not bounded: {:?}",
        started.elapsed()
    );

    server.restart();
    // The connection manager reconnects by itself; allow it a moment.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match reject.check_and_record("evt_b", NOW + 300, NOW).await {
            Ok(status) => {
                assert_eq!(status, ReplayStatus::Fresh);
                break;
            }
            Err(_) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("no recovery after restart: {e}"),
        }
    }
    assert_eq!(
        reject.check_and_record("evt_b", NOW + 300, NOW).await,
        Ok(ReplayStatus::Duplicate)
    );
    // The restarted Redis is empty (no persistence): evt_a is fresh again, as documented.
    assert_eq!(
        reject.check_and_record("evt_a", NOW + 300, NOW).await,
        Ok(ReplayStatus::Fresh)
    );
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
