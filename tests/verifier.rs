//! The public API of the verification core, rule by rule (`docs/verification.md`).
#![cfg(feature = "std")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::time::Duration;

use nexio_webhooks::{
    BearerToken, Delivery, EventKind, HeaderSource, MalformedReason, ParseError, Secret,
    SignatureHeaderError, Signer, Verifier, VerifyError, VersionPolicy, sample,
};

const T: i64 = 1_774_180_800;
const SECRET: &str = "whsec_abc123def456";
const OLD: &str = "whsec_Zt9mQ2vX8pL4nR7sK1wE5yU3iO6aD0fG";

fn secret(s: &str) -> Secret {
    Secret::new(s).unwrap()
}

fn delivery(body: &str) -> Delivery {
    Signer::new(secret(SECRET))
        .delivery(body)
        .timestamp(T)
        .build()
}

fn with_header(d: &Delivery, name: &str, value: &str) -> Vec<(String, String)> {
    let mut h: Vec<(String, String)> = d
        .headers()
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case(name))
        .map(|(n, v)| (n.to_string(), v.clone()))
        .collect();
    h.push((name.to_string(), value.to_string()));
    h
}

fn without_header(d: &Delivery, name: &str) -> Vec<(String, String)> {
    d.headers()
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case(name))
        .map(|(n, v)| (n.to_string(), v.clone()))
        .collect()
}

#[test]
fn sample_deliveries_verify_and_parse() {
    let v = Verifier::new(secret(SECRET));
    for (body, kind) in [
        (sample::RUN_COMPLETED, EventKind::RunCompleted),
        (sample::RUN_FAILED, EventKind::RunFailed),
    ] {
        let d = delivery(body);
        let verified = v.verify_at(&d, d.body(), T).unwrap();
        assert!(verified.mismatches().is_empty());
        assert_eq!(verified.delivery_id(), d.header("X-Nexio-Delivery"));
        let event = verified.event().unwrap();
        assert_eq!(event.kind(), kind);
        assert_eq!(verified.dedupe_key().unwrap(), event.id());
        let run = event.run().unwrap();
        assert!(run.status.as_ref().unwrap().is_terminal());
    }
}

#[test]
fn tolerance_boundaries_both_sides() {
    let v = Verifier::new(secret(SECRET));
    let d = delivery(sample::RUN_COMPLETED);
    let at = |now| v.verify_at(&d, d.body(), now).map(|x| x.skew());
    assert_eq!(at(T), Ok(0));
    assert_eq!(at(T + 1), Ok(1));
    assert_eq!(at(T - 1), Ok(-1));
    assert_eq!(at(T + 300), Ok(300));
    assert_eq!(at(T - 300), Ok(-300));
    assert_eq!(
        at(T + 301),
        Err(VerifyError::TimestampTooOld { age_secs: 301 })
    );
    assert_eq!(
        at(T - 301),
        Err(VerifyError::TimestampTooNew { ahead_secs: 301 })
    );

    let custom = Verifier::new(secret(SECRET))
        .with_max_age(Duration::from_secs(60))
        .with_max_future(Duration::from_secs(5));
    let at = |now| custom.verify_at(&d, d.body(), now).map(|x| x.skew());
    assert_eq!(at(T + 60), Ok(60));
    assert_eq!(
        at(T + 61),
        Err(VerifyError::TimestampTooOld { age_secs: 61 })
    );
    assert_eq!(at(T - 5), Ok(-5));
    assert_eq!(
        at(T - 6),
        Err(VerifyError::TimestampTooNew { ahead_secs: 6 })
    );
}

#[test]
fn timestamp_extremes_and_a_clock_before_1970() {
    let signer = Signer::new(secret(SECRET));
    let v = Verifier::new(secret(SECRET));
    let body = b"{}";
    for (t, now) in [
        (0, T),
        (i64::MAX, T),
        (i64::MAX, i64::MIN),
        (0, i64::MAX),
        (T, -1),
        (T, i64::MIN),
    ] {
        let h = signer.signature_header(t, body);
        let r = v.verify_signature_at(h.as_bytes(), body, now);
        assert!(
            matches!(
                r,
                Err(VerifyError::TimestampTooOld { .. } | VerifyError::TimestampTooNew { .. })
            ),
            "t={t} now={now}: {r:?}"
        );
    }
    // A clock before 1970 verifying a delivery signed "then" works like any other.
    let h = signer.signature_header(0, body);
    assert_eq!(
        v.verify_signature_at(h.as_bytes(), body, -300)
            .unwrap()
            .skew(),
        -300
    );
    // Negative t can be produced by the signer but is never accepted.
    let h = signer.signature_header(-5, body);
    assert!(matches!(
        v.verify_signature_at(h.as_bytes(), body, -5),
        Err(VerifyError::MalformedSignature(MalformedReason::Header(
            SignatureHeaderError::InvalidTimestamp
        )))
    ));
}

#[test]
fn rotation_old_first_new_first_and_key_id() {
    let new = secret(SECRET);
    let old = secret(OLD);
    let body = sample::RUN_COMPLETED.as_bytes();
    let old_first = Signer::new(old.clone())
        .with_secret(new.clone())
        .signature_header(T, body);
    let new_first = Signer::new(new.clone())
        .with_secret(old.clone())
        .signature_header(T, body);
    let only_old = Signer::new(old.clone()).signature_header(T, body);

    // Receiver already switched to the new secret only.
    let v_new = Verifier::new(new.clone());
    for h in [&old_first, &new_first] {
        assert_eq!(
            v_new
                .verify_signature_at(h.as_bytes(), body, T)
                .unwrap()
                .key_id(),
            new.key_id()
        );
    }
    assert_eq!(
        v_new
            .verify_signature_at(only_old.as_bytes(), body, T)
            .err(),
        Some(VerifyError::SignatureMismatch)
    );

    // Receiver holds both during the overlap; reports which matched.
    let expiry = T + 24 * 3600;
    let v_both = Verifier::new(new.clone()).with_secret_expiring(old.clone(), expiry);
    assert_eq!(
        v_both
            .verify_signature_at(only_old.as_bytes(), body, T)
            .unwrap()
            .key_id(),
        old.key_id()
    );
    assert_eq!(
        v_both
            .verify_signature_at(new_first.as_bytes(), body, T)
            .unwrap()
            .key_id(),
        new.key_id()
    );

    // At the expiry instant the old secret is still tried; one second later it is not.
    let at_expiry = Signer::new(old.clone()).signature_header(expiry, body);
    assert!(
        v_both
            .verify_signature_at(at_expiry.as_bytes(), body, expiry)
            .is_ok()
    );
    let after = Signer::new(old.clone()).signature_header(expiry + 1, body);
    assert_eq!(
        v_both
            .verify_signature_at(after.as_bytes(), body, expiry + 1)
            .err(),
        Some(VerifyError::SignatureMismatch)
    );
    let ids: Vec<_> = v_both.key_ids().collect();
    assert_eq!(ids, vec![new.key_id(), old.key_id()]);
}

#[test]
fn bearer_token_is_a_second_factor() {
    let v = Verifier::new(secret(SECRET)).with_bearer_token(BearerToken::new("tok-123").unwrap());
    let signer = Signer::new(secret(SECRET));
    let good = signer
        .delivery(sample::RUN_COMPLETED)
        .timestamp(T)
        .bearer_token("tok-123")
        .build();
    assert!(v.verify_at(&good, good.body(), T).is_ok());
    let lower = with_header(&good, "authorization", "bearer tok-123");
    assert!(v.verify_at(&lower, good.body(), T).is_ok());

    let none = signer.delivery(sample::RUN_COMPLETED).timestamp(T).build();
    assert_eq!(
        v.verify_at(&none, none.body(), T).err(),
        Some(VerifyError::MissingBearerToken)
    );
    for bad in [
        "Bearer tok-124",
        "Bearer tok-12",
        "Bearer ",
        "Basic dG9rLTEyMw==",
        "tok-123",
        "Bearer  tok-123",
    ] {
        let h = with_header(&good, "Authorization", bad);
        assert_eq!(
            v.verify_at(&h, good.body(), T).err(),
            Some(VerifyError::BearerTokenMismatch),
            "{bad}"
        );
    }
    // The token never replaces the signature.
    let forged = with_header(
        &good,
        "X-Nexio-Signature",
        &format!("t={T},v1={}", "0".repeat(64)),
    );
    assert_eq!(
        v.verify_at(&forged, good.body(), T).err(),
        Some(VerifyError::SignatureMismatch)
    );
    // Headers-only precheck sees it too.
    assert_eq!(
        v.check_headers_at(&none, T),
        Err(VerifyError::MissingBearerToken)
    );
}

#[test]
fn unsigned_headers_reported_or_rejected_in_strict_mode() {
    let lenient = Verifier::new(secret(SECRET));
    let strict = Verifier::new(secret(SECRET)).with_strict(true);
    let d = delivery(sample::RUN_COMPLETED);
    let cases = [
        (
            "X-Nexio-Timestamp",
            "1774180801",
            VerifyError::TimestampHeaderMismatch,
        ),
        (
            "X-Nexio-Timestamp",
            "not-a-number",
            VerifyError::TimestampHeaderMismatch,
        ),
        (
            "X-Nexio-Event",
            "run.failed",
            VerifyError::EventHeaderMismatch,
        ),
        (
            "X-Nexio-Webhook-Version",
            "2025-01-01",
            VerifyError::VersionHeaderMismatch,
        ),
    ];
    for (name, value, err) in cases {
        let h = with_header(&d, name, value);
        let verified = lenient.verify_at(&h, d.body(), T).unwrap();
        assert_eq!(
            verified.mismatches().errors().collect::<Vec<_>>(),
            vec![err],
            "{name}"
        );
        assert_eq!(strict.verify_at(&h, d.body(), T).err(), Some(err), "{name}");
    }
    // Absent unsigned headers are no mismatch; matching ones neither.
    for name in [
        "X-Nexio-Timestamp",
        "X-Nexio-Event",
        "X-Nexio-Webhook-Version",
        "X-Nexio-Delivery",
    ] {
        let h = without_header(&d, name);
        assert!(
            strict
                .verify_at(&h, d.body(), T)
                .unwrap()
                .mismatches()
                .is_empty()
        );
    }
    assert!(strict.verify_at(&d, d.body(), T).is_ok());
    // Repeated unsigned header: a mismatch.
    let mut h = without_header(&d, "");
    h.push(("X-Nexio-Event".into(), "run.completed".into()));
    assert_eq!(
        strict.verify_at(&h, d.body(), T).err(),
        Some(VerifyError::EventHeaderMismatch)
    );
}

#[test]
fn missing_and_repeated_signature_headers() {
    let v = Verifier::new(secret(SECRET));
    let d = delivery(sample::RUN_COMPLETED);
    let h = without_header(&d, "X-Nexio-Signature");
    assert_eq!(
        v.verify_at(&h, d.body(), T).err(),
        Some(VerifyError::MissingSignature)
    );
    let mut h = without_header(&d, "");
    h.push((
        "x-nexio-signature".into(),
        d.header("X-Nexio-Signature").unwrap().into(),
    ));
    assert_eq!(
        v.verify_at(&h, d.body(), T).err(),
        Some(VerifyError::MalformedSignature(MalformedReason::Repeated))
    );
}

#[test]
fn tampering_is_rejected_and_the_caller_keeps_the_bytes() {
    let v = Verifier::new(secret(SECRET));
    let d = delivery(sample::RUN_COMPLETED);
    let mut body = d.body().to_vec();
    body[10] ^= 1;
    assert_eq!(
        v.verify_at(&d, &body, T).err(),
        Some(VerifyError::SignatureMismatch)
    );
    // The body is the caller's, untouched.
    body[10] ^= 1;
    assert_eq!(body, d.body());
}

#[test]
fn version_policy_and_unknown_events() {
    let body = sample::RUN_COMPLETED.replace("\"2026-03-22\"", "\"2027-01-01\"");
    let d = delivery(&body);
    let exact = Verifier::new(secret(SECRET));
    let verified = exact.verify_at(&d, d.body(), T).unwrap();
    assert_eq!(verified.event().err(), Some(ParseError::UnsupportedVersion));
    assert_eq!(verified.event().unwrap_err().code(), "unsupported_version");
    assert!(verified.event_with(VersionPolicy::AcceptOther).is_ok());
    let accept = Verifier::new(secret(SECRET)).with_version_policy(VersionPolicy::AcceptOther);
    let event = accept.verify_at(&d, d.body(), T).unwrap().event().unwrap();
    assert_eq!(event.webhook_version(), Some("2027-01-01"));

    let unknown =
        r#"{"id":"evt_9","type":"run.cancelled","webhook_version":"2026-03-22","data":{"run":{}}}"#;
    let d = delivery(unknown);
    let event = exact.verify_at(&d, d.body(), T).unwrap().event().unwrap();
    assert_eq!(event.kind(), EventKind::Unknown);
    assert_eq!(event.event_type(), "run.cancelled");
    assert_eq!(event.raw().get(), unknown);
}

#[test]
fn parse_errors_are_not_signature_errors() {
    let v = Verifier::new(secret(SECRET));
    let d = delivery("this is not json");
    let verified = v.verify_at(&d, d.body(), T).unwrap();
    let e = verified.event().unwrap_err();
    assert_eq!(e.code(), "invalid_json");
    assert_eq!(e.status(), 422);
    assert!(verified.dedupe_key().is_err());
    #[derive(serde::Deserialize)]
    struct Mine<'a> {
        id: &'a str,
    }
    let d = delivery(sample::RUN_FAILED);
    let verified = v.verify_at(&d, d.body(), T).unwrap();
    let mine: Mine<'_> = verified.json().unwrap();
    assert!(mine.id.starts_with("evt_"));
}

#[test]
fn every_error_message_and_code_is_pinned() {
    use SignatureHeaderError as H;
    let cases: Vec<(VerifyError, &str, &str, u16)> = vec![
        (
            VerifyError::MissingSignature,
            "missing_signature",
            "missing X-Nexio-Signature header",
            400,
        ),
        (
            VerifyError::MalformedSignature(MalformedReason::Header(H::Empty)),
            "malformed_signature",
            "malformed signature: signature header is empty",
            400,
        ),
        (
            VerifyError::MalformedSignature(MalformedReason::Header(H::ElementWithoutEquals)),
            "malformed_signature",
            "malformed signature: signature header has an element without `=`",
            400,
        ),
        (
            VerifyError::MalformedSignature(MalformedReason::Header(H::MissingTimestamp)),
            "malformed_signature",
            "malformed signature: signature header has no `t=` element",
            400,
        ),
        (
            VerifyError::MalformedSignature(MalformedReason::Header(H::DuplicateTimestamp)),
            "malformed_signature",
            "malformed signature: signature header has more than one `t=` element",
            400,
        ),
        (
            VerifyError::MalformedSignature(MalformedReason::Header(H::InvalidTimestamp)),
            "malformed_signature",
            "malformed signature: signature header `t=` is not 1 to 19 digits fitting a signed 64-bit integer",
            400,
        ),
        (
            VerifyError::MalformedSignature(MalformedReason::Header(H::MissingSignature)),
            "malformed_signature",
            "malformed signature: signature header has no `v1=` element",
            400,
        ),
        (
            VerifyError::MalformedSignature(MalformedReason::Repeated),
            "malformed_signature",
            "malformed signature: more than one X-Nexio-Signature header",
            400,
        ),
        (
            VerifyError::SignatureHeaderTooLarge,
            "signature_header_too_large",
            "signature header is longer than 4096 bytes",
            400,
        ),
        (
            VerifyError::TooManySignatures,
            "too_many_signatures",
            "signature header has more than 16 v1 entries",
            400,
        ),
        (
            VerifyError::SignatureMismatch,
            "signature_mismatch",
            "no signature matches any configured secret",
            401,
        ),
        (
            VerifyError::TimestampTooOld { age_secs: 301 },
            "timestamp_too_old",
            "timestamp too old: signed 301 s ago",
            401,
        ),
        (
            VerifyError::TimestampTooNew { ahead_secs: 301 },
            "timestamp_too_new",
            "timestamp too new: signed 301 s in the future",
            401,
        ),
        (
            VerifyError::MissingBearerToken,
            "missing_bearer_token",
            "missing bearer token",
            401,
        ),
        (
            VerifyError::BearerTokenMismatch,
            "bearer_token_mismatch",
            "bearer token does not match",
            401,
        ),
        (
            VerifyError::TimestampHeaderMismatch,
            "timestamp_header_mismatch",
            "X-Nexio-Timestamp differs from the signed timestamp",
            400,
        ),
        (
            VerifyError::EventHeaderMismatch,
            "event_header_mismatch",
            "X-Nexio-Event differs from the signed event type",
            400,
        ),
        (
            VerifyError::VersionHeaderMismatch,
            "version_header_mismatch",
            "X-Nexio-Webhook-Version differs from the signed payload version",
            400,
        ),
    ];
    for (e, code, msg, status) in cases {
        assert_eq!(e.code(), code);
        assert_eq!(e.to_string(), msg);
        assert_eq!(e.status().as_u16(), status, "{code}");
        assert!(!msg.ends_with('.'));
    }
    let parse: Vec<(ParseError, &str, &str)> = vec![
        (
            ParseError::InvalidJson { line: 1, column: 2 },
            "invalid_json",
            "invalid json at line 1 column 2",
        ),
        (
            ParseError::InvalidEvent {
                reason: nexio_webhooks::InvalidEventReason::Envelope,
            },
            "invalid_event",
            "invalid event: the envelope needs a string `id` and `type`",
        ),
        (
            ParseError::InvalidEvent {
                reason: nexio_webhooks::InvalidEventReason::Run,
            },
            "invalid_event",
            "invalid event: `data.run` does not match the run schema",
        ),
        (
            ParseError::UnsupportedVersion,
            "unsupported_version",
            "unsupported webhook_version: expected 2026-03-22",
        ),
    ];
    for (e, code, msg) in parse {
        assert_eq!(
            (e.code(), e.to_string().as_str(), e.status().as_u16()),
            (code, msg, 422)
        );
    }
    let s = Secret::new("").unwrap_err();
    assert_eq!((s.code(), s.status().as_u16()), ("invalid_secret", 500));
    assert_eq!(s.to_string(), "invalid secret: it is empty");
}

#[test]
fn no_message_or_debug_output_contains_a_secret_or_the_expected_mac() {
    let body = sample::RUN_COMPLETED.as_bytes();
    let expected_mac = Signer::new(secret(SECRET)).signatures(T, body).remove(0);
    let v = Verifier::new(secret(SECRET))
        .with_secret_expiring(secret(OLD), T)
        .with_bearer_token(BearerToken::new("tok-SECRET-123").unwrap());
    let signer = Signer::new(secret(OLD));
    let forged = signer
        .delivery(body.to_vec())
        .timestamp(T)
        .bearer_token("tok-SECRET-123")
        .build();
    let mut outputs = vec![
        format!("{v:?}"),
        format!("{signer:?}"),
        format!("{:?}", secret(SECRET)),
    ];
    let headers_variants = [
        forged
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.clone()))
            .collect::<Vec<_>>(),
        with_header(&forged, "Authorization", "Bearer nope"),
        with_header(&forged, "X-Nexio-Signature", "garbage"),
    ];
    for h in &headers_variants {
        for now in [T, T + 10_000, T - 10_000] {
            if let Err(e) = v.verify_at(h, forged.body(), now) {
                outputs.push(e.to_string());
                outputs.push(format!("{e:?}"));
            }
        }
    }
    for bad in ["", " whsec_x", "whsec_", "nx_live_abc", "abc", "whsec_a\nb"] {
        let e = Secret::new(bad).unwrap_err();
        outputs.push(e.to_string());
        outputs.push(format!("{e:?}"));
    }
    assert!(outputs.len() > 10);
    for out in outputs {
        for needle in [
            SECRET,
            OLD,
            "abc123def456",
            "tok-SECRET-123",
            expected_mac.as_str(),
            &expected_mac[..16],
        ] {
            assert!(!out.contains(needle), "{out:?} contains {needle:?}");
        }
    }
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Verifier>();
    check::<Secret>();
    check::<BearerToken>();
    check::<Signer>();
    check::<nexio_webhooks::Verified<'static>>();
    check::<nexio_webhooks::DeliveryInfo>();
    check::<VerifyError>();
    check::<ParseError>();
    check::<nexio_webhooks::SecretError>();
    check::<nexio_webhooks::Event>();
    check::<nexio_webhooks::InMemoryReplayGuard>();
    check::<nexio_webhooks::SignatureHeader<'static>>();
    check::<Delivery>();
}

#[test]
fn verifier_clone_is_cheap_and_shares_configuration() {
    let v = Verifier::new(secret(SECRET)).with_strict(true);
    let c = v.clone();
    assert!(c.is_strict());
    assert_eq!(v.tolerance(), c.tolerance());
    // Changing a clone does not change the original.
    let c = c.with_strict(false);
    assert!(v.is_strict() && !c.is_strict());
}

#[test]
fn custom_header_source_is_one_method() {
    struct Map(std::collections::HashMap<String, Vec<u8>>);
    impl HeaderSource for Map {
        fn lookup(&self, name: &str) -> nexio_webhooks::HeaderLookup<'_> {
            nexio_webhooks::HeaderLookup::from_values(self.0.get(name).map(Vec::as_slice))
        }
    }
    let d = delivery(sample::RUN_COMPLETED);
    let map = Map(d
        .headers()
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.clone().into_bytes()))
        .collect());
    assert!(
        Verifier::new(secret(SECRET))
            .verify_at(&map, d.body(), T)
            .is_ok()
    );
}
