//! The core as a `no_std` user has it (`default-features = false`): only names that
//! exist without the `std` feature, headers as `(name, value)` pairs, the time given
//! by the caller. CI runs this file with `--no-default-features` (and it runs with the
//! defaults too, where the same calls must give the same answers).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use core::time::Duration;

use nexio_webhooks::{
    BearerToken, EventKind, RunStatus, Secret, SignatureHeader, Signer, Tolerance, Verifier,
    VerifyError, WEBHOOK_VERSION, WindowError, sample,
};

const SECRET: &str = "whsec_abc123def456";
const T: i64 = 1_774_180_800;

fn secret(s: &str) -> Secret {
    Secret::new(s).unwrap()
}

/// The headers Nexio sends for `body`, signed by `signer` at `t`, as pairs.
fn headers(signer: &Signer, t: i64, body: &str, event_type: &str) -> Vec<(&'static str, String)> {
    vec![
        ("Content-Type", "application/json".to_owned()),
        (
            "X-Nexio-Signature",
            signer.signature_header(t, body.as_bytes()),
        ),
        ("X-Nexio-Timestamp", t.to_string()),
        ("X-Nexio-Event", event_type.to_owned()),
        ("X-Nexio-Webhook-Version", WEBHOOK_VERSION.to_owned()),
        (
            "X-Nexio-Delivery",
            "0b1c2d3e-4f50-4617-8829-3a4b5c6d7e8f".to_owned(),
        ),
    ]
}

#[test]
fn a_signed_delivery_verifies_and_its_event_parses() {
    let verifier = Verifier::new(secret(SECRET));
    let body = sample::RUN_COMPLETED;
    let h = headers(&Signer::new(secret(SECRET)), T, body, "run.completed");

    let verified = verifier.verify_at(&h, body.as_bytes(), T + 30).unwrap();
    assert_eq!(verified.skew(), 30);
    assert_eq!(verified.timestamp(), T);
    assert_eq!(verified.key_id(), secret(SECRET).key_id());
    assert_eq!(verified.body(), body.as_bytes());
    assert_eq!(
        verified.delivery_id(),
        Some("0b1c2d3e-4f50-4617-8829-3a4b5c6d7e8f")
    );
    assert!(verified.mismatches().is_empty());
    assert_eq!(
        verified.dedupe_key().unwrap(),
        "evt_01JQ7R2M4X9K3T5V8B6N1C0D2E"
    );

    let event = verified.event().unwrap();
    assert_eq!(event.kind(), EventKind::RunCompleted);
    assert_eq!(event.id(), "evt_01JQ7R2M4X9K3T5V8B6N1C0D2E");
    assert_eq!(event.webhook_version(), Some(WEBHOOK_VERSION));
    // chrono without its clock still parses the timestamps.
    assert_eq!(
        event.created_at().unwrap().timestamp_millis(),
        1_774_180_805_482
    );
    let run = event.run().unwrap();
    assert_eq!(run.run_id, "3f8e2a1c-7b4d-4e9f-a6c2-1d5b8e7f9a03");
    assert_eq!(run.status, Some(RunStatus::Completed));
    // Without `std`, `raw` borrows a fresh scan instead of a kept copy: the same text.
    assert_eq!(event.raw().get(), body);
    assert_eq!(event.raw().get(), body);
}

#[test]
fn a_failed_run_and_an_unknown_type_parse() {
    let verifier = Verifier::new(secret(SECRET));
    let signer = Signer::new(secret(SECRET));

    let body = sample::RUN_FAILED;
    let h = headers(&signer, T, body, "run.failed");
    let event = verifier
        .verify_at(&h, body.as_bytes(), T)
        .unwrap()
        .event()
        .unwrap();
    assert_eq!(event.kind(), EventKind::RunFailed);
    assert_eq!(
        event.run().unwrap().error.as_deref(),
        Some("input document could not be parsed")
    );

    let body = r#"{"id":"evt_2","type":"endpoint.paused","webhook_version":"2026-03-22","data":{"x":[1,2]}}"#;
    let h = headers(&signer, T, body, "endpoint.paused");
    let event = verifier
        .verify_at(&h, body.as_bytes(), T)
        .unwrap()
        .event()
        .unwrap();
    assert_eq!(event.kind(), EventKind::Unknown);
    assert_eq!(event.event_type(), "endpoint.paused");
    assert!(event.run().is_none());
    assert_eq!(event.raw().get(), body);
}

#[test]
fn the_window_is_judged_against_the_callers_time() {
    let verifier = Verifier::new(secret(SECRET));
    let body = sample::RUN_COMPLETED;
    let h = headers(&Signer::new(secret(SECRET)), T, body, "run.completed");

    assert!(verifier.verify_at(&h, body.as_bytes(), T + 300).is_ok());
    assert!(verifier.verify_at(&h, body.as_bytes(), T - 300).is_ok());
    assert!(matches!(
        verifier.verify_at(&h, body.as_bytes(), T + 301),
        Err(VerifyError::TimestampTooOld { .. })
    ));
    assert!(matches!(
        verifier.verify_at(&h, body.as_bytes(), T - 301),
        Err(VerifyError::TimestampTooNew { .. })
    ));
    let narrow = verifier.with_max_age(Duration::from_secs(10));
    assert!(matches!(
        narrow.verify_at(&h, body.as_bytes(), T + 11),
        Err(VerifyError::TimestampTooOld { .. })
    ));

    let tolerance = Tolerance::default();
    assert_eq!(tolerance.check(T, T + 5), Ok(5));
    assert_eq!(
        tolerance.check(T, T + 400),
        Err(WindowError::TooOld { age_secs: 400 })
    );
    assert_eq!(
        tolerance.check(i64::MIN, i64::MAX),
        Err(WindowError::TooOld { age_secs: u64::MAX })
    );
}

#[test]
fn tampering_and_the_wrong_secret_are_refused() {
    let verifier = Verifier::new(secret(SECRET));
    let body = sample::RUN_COMPLETED;
    let h = headers(&Signer::new(secret(SECRET)), T, body, "run.completed");

    let mut changed = body.as_bytes().to_vec();
    changed[10] ^= 1;
    assert_eq!(
        verifier.verify_at(&h, &changed, T).err(),
        Some(VerifyError::SignatureMismatch)
    );

    let other = headers(
        &Signer::new(secret("whsec_not_the_secret")),
        T,
        body,
        "run.completed",
    );
    assert_eq!(
        verifier.verify_at(&other, body.as_bytes(), T).err(),
        Some(VerifyError::SignatureMismatch)
    );

    let mut malformed = h.clone();
    malformed[1].1 = format!("t=+{T},v1={}", "0".repeat(64));
    assert!(matches!(
        verifier.verify_at(&malformed, body.as_bytes(), T),
        Err(VerifyError::MalformedSignature(_))
    ));
    let none: [(&str, &str); 0] = [];
    assert_eq!(
        verifier.verify_at(&none, body.as_bytes(), T).err(),
        Some(VerifyError::MissingSignature)
    );
}

#[test]
fn rotation_and_the_bearer_token() {
    let old = secret("whsec_old_secret_value");
    let verifier = Verifier::new(secret(SECRET)).with_secret(old.clone());
    let body = sample::RUN_COMPLETED;
    let h = headers(&Signer::new(old.clone()), T, body, "run.completed");
    assert_eq!(
        verifier.verify_at(&h, body.as_bytes(), T).unwrap().key_id(),
        old.key_id()
    );

    let guarded =
        Verifier::new(secret(SECRET)).with_bearer_token(BearerToken::new("tok-123").unwrap());
    let mut h = headers(&Signer::new(secret(SECRET)), T, body, "run.completed");
    assert_eq!(
        guarded.verify_at(&h, body.as_bytes(), T).err(),
        Some(VerifyError::MissingBearerToken)
    );
    h.push(("Authorization", "Bearer tok-124".to_owned()));
    assert_eq!(
        guarded.verify_at(&h, body.as_bytes(), T).err(),
        Some(VerifyError::BearerTokenMismatch)
    );
    h.last_mut().unwrap().1 = "Bearer tok-123".to_owned();
    assert!(guarded.verify_at(&h, body.as_bytes(), T).is_ok());
}

#[test]
fn the_header_parser_and_secrets_redacted() {
    let signer = Signer::new(secret(SECRET)).with_secret(secret("whsec_second"));
    let value = signer.signature_header(T, b"{}");
    let parsed = SignatureHeader::parse(value.as_bytes()).unwrap();
    assert_eq!(parsed.timestamp(), T);
    assert_eq!(parsed.signature_count(), 2);
    assert_eq!(parsed.digests().count(), 2);
    assert!(SignatureHeader::parse(b"v1=00").is_err());

    let shown = format!("{:?} {:?}", secret(SECRET), Verifier::new(secret(SECRET)));
    assert!(!shown.contains("abc123def456"), "{shown}");
    let shown = format!("{:?}", BearerToken::new("tok-123").unwrap());
    assert!(!shown.contains("tok-123"), "{shown}");
}
