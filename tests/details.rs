//! Details of the public API that the rule-by-rule tests leave implicit, pinned so
//! that mutation testing (`cargo mutants`, see the README's Robustness section)
//! catches a change to any of them: event accessors and open enums, the replay
//! guard's edges, and the exact `Debug` / `Display` output of the redacting types.
#![cfg(feature = "std")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::sync::Arc;

use nexio_webhooks::{
    BearerToken, ClaimOutcome, Environment, InMemoryReplayGuard, ReplayGuard, ReplayGuardError,
    RunStatus, Secret, SignatureHeader, Signer, VersionPolicy, dangerous, sample,
};

fn event_with_run(run: &str) -> nexio_webhooks::Event {
    let body = format!(
        r#"{{"id":"evt_1","type":"run.completed","webhook_version":"2026-03-22","created_at":"2026-03-22T10:00:00Z","data":{{"run":{run}}}}}"#
    );
    dangerous::parse_unverified_event(body.as_bytes(), VersionPolicy::Exact).unwrap()
}

#[test]
fn envelope_created_at_is_exposed() {
    let e = event_with_run(r#"{"run_id":"r","created_at":"2026-03-22T09:00:00Z"}"#);
    assert_eq!(
        e.created_at().unwrap().to_rfc3339(),
        "2026-03-22T10:00:00+00:00"
    );
}

#[test]
fn every_run_status_round_trips_and_knows_if_it_is_terminal() {
    for (text, status, terminal) in [
        ("queued", RunStatus::Queued, false),
        ("processing", RunStatus::Processing, false),
        ("completed", RunStatus::Completed, true),
        ("degraded", RunStatus::Degraded, true),
        ("failed", RunStatus::Failed, true),
        ("paused", RunStatus::Other("paused".into()), false),
    ] {
        let e = event_with_run(&format!(
            r#"{{"run_id":"r","created_at":"2026-03-22T09:00:00Z","status":"{text}"}}"#
        ));
        let got = e.run().unwrap().status.clone().unwrap();
        assert_eq!(got, status, "{text}");
        assert_eq!(got.as_str(), text);
        assert_eq!(got.to_string(), text);
        assert_eq!(got.is_terminal(), terminal, "{text}");
    }
}

#[test]
fn every_environment_round_trips() {
    for (text, env) in [
        ("live", Environment::Live),
        ("test", Environment::Test),
        ("staging_eu", Environment::Other("staging_eu".into())),
    ] {
        let e = event_with_run(&format!(
            r#"{{"run_id":"r","created_at":"2026-03-22T09:00:00Z","environment":"{text}"}}"#
        ));
        let got = e.run().unwrap().environment.clone().unwrap();
        assert_eq!(got, env, "{text}");
        assert_eq!(got.as_str(), text);
        assert_eq!(got.to_string(), text);
    }
}

#[test]
fn replay_guard_error_codes_statuses_and_messages() {
    assert_eq!(ReplayGuardError::Full.code(), "replay_guard_full");
    assert_eq!(
        ReplayGuardError::Unavailable.code(),
        "replay_guard_unavailable"
    );
    assert_eq!(ReplayGuardError::LeaseLost.code(), "claim_lease_lost");
    for e in [
        ReplayGuardError::Full,
        ReplayGuardError::Unavailable,
        ReplayGuardError::LeaseLost,
    ] {
        assert_eq!(e.status().as_u16(), 503);
    }
    assert_eq!(ReplayGuardError::Full.to_string(), "replay guard is full");
    assert_eq!(
        ReplayGuardError::Unavailable.to_string(),
        "replay guard store is unavailable"
    );
    assert_eq!(
        ReplayGuardError::LeaseLost.to_string(),
        "the claim's lease ran out and the key has a newer owner"
    );
}

#[test]
fn replay_guard_edges() {
    let g = InMemoryReplayGuard::new(3);
    assert!(g.is_empty());
    assert_eq!(g.capacity(), 3);
    assert_eq!(InMemoryReplayGuard::new(0).capacity(), 1);
    assert_eq!(g.lease(), nexio_webhooks::DEFAULT_LEASE);
    assert_eq!(g.retention(), nexio_webhooks::DEFAULT_RETENTION);
    let ClaimOutcome::Claimed(ticket) = g.claim("k", 10, 10).unwrap() else {
        panic!("not claimed")
    };
    assert_eq!(ticket.key(), "k");
    assert_eq!(ticket.lease_until(), 40);
    assert_eq!(ticket.replayable_until(), 10);
    assert_eq!(
        format!("{ticket:?}"),
        "Ticket { key: \"k\", lease_until: 40, .. }"
    );
    assert!(!g.is_empty());
    assert_eq!(g.len(), 1);
    // The lease ends inclusively.
    assert_eq!(
        g.claim("k", 10, 40),
        Ok(ClaimOutcome::InProgress {
            retry_after_secs: 1
        })
    );
    assert!(matches!(g.claim("k", 10, 41), Ok(ClaimOutcome::Claimed(_))));
    assert_eq!(
        format!("{g:?}"),
        "InMemoryReplayGuard { len: 1, capacity: 3, lease: 30, retention: 259200 }"
    );
    // Through an Arc, every step reaches the guard.
    let shared: Arc<InMemoryReplayGuard> = Arc::new(InMemoryReplayGuard::new(2));
    let ClaimOutcome::Claimed(t) = ReplayGuard::claim(&shared, "a", 100, 0).unwrap() else {
        panic!("not claimed")
    };
    ReplayGuard::release(&shared, &t).unwrap();
    let ClaimOutcome::Claimed(t) = ReplayGuard::claim(&shared, "a", 100, 1).unwrap() else {
        panic!("not claimed")
    };
    ReplayGuard::complete(&shared, &t, 2).unwrap();
    assert_eq!(
        ReplayGuard::claim(&shared, "a", 100, 3),
        Ok(ClaimOutcome::Done)
    );
}

#[test]
fn redacting_debug_and_display_output_is_exact() {
    let secret = Secret::new("whsec_abc123def456").unwrap();
    let id = secret.key_id();
    assert_eq!(id.as_str().len(), 8);
    assert_eq!(id.to_string(), id.as_str());
    assert_eq!(format!("{id:?}"), format!("KeyId({})", id.as_str()));
    assert_eq!(format!("{secret:?}"), format!("Secret({id})"));
    assert_eq!(
        format!("{:?}", BearerToken::new("tok").unwrap()),
        "BearerToken(..)"
    );
    let signer = Signer::new(secret);
    assert_eq!(
        format!("{signer:?}"),
        format!("Signer {{ keys: [{id:?}] }}")
    );
    let header = signer.signature_header(5, b"{}");
    let parsed = SignatureHeader::parse(header.as_bytes()).unwrap();
    assert_eq!(
        format!("{parsed:?}"),
        "SignatureHeader { timestamp: 5, signatures: 1, well_formed: 1 }"
    );
}

#[test]
fn delivery_ids_are_rfc4122_version_4_shaped() {
    let signer = Signer::new(Secret::new("whsec_abc123def456").unwrap());
    for body in [sample::RUN_COMPLETED, sample::RUN_FAILED, "", "x", "{}"] {
        let d = signer.delivery(body).timestamp(1).build();
        let id = d.header("X-Nexio-Delivery").unwrap().as_bytes().to_vec();
        assert_eq!(id.len(), 36);
        assert_eq!(id[14], b'4', "version nibble");
        assert!(b"89ab".contains(&id[19]), "variant nibble in {id:?}");
    }
}

#[test]
fn delivery_accessors_and_parts() {
    let signer = Signer::new(Secret::new("whsec_abc123def456").unwrap());
    let d = signer
        .delivery(sample::RUN_FAILED)
        .timestamp(1_774_180_800)
        .build();
    assert_eq!(d.timestamp(), 1_774_180_800);
    let headers = d.headers().to_vec();
    let (parts_headers, body) = d.into_parts();
    assert_eq!(parts_headers, headers);
    assert_eq!(body, sample::RUN_FAILED.as_bytes());
}

#[test]
fn tolerance_getters() {
    use std::time::Duration;
    let t = nexio_webhooks::Tolerance::default()
        .with_max_age(Duration::from_secs(42))
        .with_max_future(Duration::from_secs(7));
    assert_eq!(t.max_age(), Duration::from_secs(42));
    assert_eq!(t.max_future(), Duration::from_secs(7));
    let v =
        nexio_webhooks::Verifier::new(Secret::new("whsec_abc123def456").unwrap()).with_tolerance(t);
    assert_eq!(v.tolerance().max_age(), Duration::from_secs(42));
}

#[test]
fn verified_metadata_and_each_mismatch_flag() {
    use nexio_webhooks::Verifier;
    const T: i64 = 1_774_180_800;
    let secret = Secret::new("whsec_abc123def456").unwrap();
    let v = Verifier::new(secret.clone()).with_max_age(std::time::Duration::from_secs(60));
    let d = Signer::new(secret)
        .delivery(sample::RUN_COMPLETED)
        .timestamp(T)
        .build();
    let ok = v.verify_at(&d, d.body(), T + 5).unwrap();
    assert_eq!(ok.replayable_until(), T + 60);
    assert!(ok.mismatches().is_empty());
    let info = ok.info();
    assert_eq!(
        (info.timestamp, info.skew, info.replayable_until),
        (T, 5, T + 60)
    );
    assert_eq!(info.key_id, ok.key_id());
    assert_eq!(info.delivery_id.as_deref(), d.header("X-Nexio-Delivery"));

    let replace = |name: &str, value: &str| -> Vec<(String, String)> {
        d.headers()
            .iter()
            .map(|(n, v)| {
                let v = if n.eq_ignore_ascii_case(name) {
                    value.to_owned()
                } else {
                    v.clone()
                };
                (n.to_string(), v)
            })
            .collect()
    };
    for (name, value, flags) in [
        ("X-Nexio-Timestamp", "1", (true, false, false)),
        ("X-Nexio-Event", "run.failed", (false, true, false)),
        (
            "X-Nexio-Webhook-Version",
            "2000-01-01",
            (false, false, true),
        ),
    ] {
        let h = replace(name, value);
        let m = v.verify_at(&h, d.body(), T).unwrap().mismatches();
        assert!(!m.is_empty(), "{name}");
        assert_eq!((m.timestamp(), m.event(), m.version()), flags, "{name}");
    }
}

#[test]
fn verifier_debug_shows_configuration_but_no_secret() {
    use nexio_webhooks::Verifier;
    let secret = Secret::new("whsec_abc123def456").unwrap();
    let id = secret.key_id();
    let v = Verifier::new(secret)
        .with_bearer_token(BearerToken::new("tok").unwrap())
        .with_strict(true);
    assert_eq!(
        format!("{v:?}"),
        format!(
            "Verifier {{ keys: [({id:?}, None)], tolerance: Tolerance {{ max_age: 300, max_future: 300 }}, bearer_token: true, strict: true, version_policy: Exact }}"
        )
    );
}

#[test]
fn verified_debug_shows_metadata_not_the_body() {
    let secret = Secret::new("whsec_abc123def456").unwrap();
    let id = secret.key_id();
    let d = Signer::new(secret.clone())
        .delivery(sample::RUN_COMPLETED)
        .timestamp(1_774_180_800)
        .build();
    let verifier = nexio_webhooks::Verifier::new(secret);
    let verified = verifier.verify_at(&d, d.body(), 1_774_180_830).unwrap();
    let delivery = d.header("X-Nexio-Delivery").unwrap().to_owned();
    assert_eq!(
        format!("{verified:?}"),
        format!(
            "Verified {{ body_len: {}, timestamp: 1774180800, skew: 30, key_id: {id:?}, \
             delivery_id: Some({delivery:?}), mismatches: HeaderMismatches(0), \
             replayable_until: 1774181100, version_policy: Exact }}",
            d.body().len()
        )
    );
    // A delivery id that is not UTF-8 is not shown (nor returned).
    let headers: Vec<(String, Vec<u8>)> = d
        .headers()
        .iter()
        .map(|(name, value)| {
            let value = if name.eq_ignore_ascii_case("X-Nexio-Delivery") {
                vec![0xff, 0xfe]
            } else {
                value.as_bytes().to_vec()
            };
            (name.to_string(), value)
        })
        .collect();
    let verified = verifier
        .verify_at(&headers, d.body(), 1_774_180_830)
        .unwrap();
    assert_eq!(verified.delivery_id(), None);
    assert!(format!("{verified:?}").contains("delivery_id: None"));
}
