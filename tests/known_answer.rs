//! Every known-answer vector (computed outside this project with Python's `hmac`),
//! through the public API with the `now` each case gives.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use base64::Engine as _;
use nexio_webhooks::{Secret, Verifier, VerifyError};
use serde::Deserialize;

#[derive(Deserialize)]
struct File {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    secrets: Vec<String>,
    header: String,
    body_base64: String,
    now: i64,
    expect: String,
}

fn cases() -> Vec<Case> {
    let text = include_str!("data/known-answer.json");
    serde_json::from_str::<File>(text).unwrap().cases
}

fn verifier(secrets: &[String]) -> Verifier {
    let mut it = secrets.iter().map(|s| Secret::new(s).unwrap());
    let mut v = Verifier::new(it.next().unwrap());
    for s in it {
        v = v.with_secret(s);
    }
    v
}

fn class(result: &Result<nexio_webhooks::Verified<'_>, VerifyError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(VerifyError::SignatureMismatch) => "no_match",
        Err(VerifyError::TimestampTooOld { .. }) => "too_old",
        Err(VerifyError::TimestampTooNew { .. }) => "too_new",
        Err(
            VerifyError::MalformedSignature(_)
            | VerifyError::SignatureHeaderTooLarge
            | VerifyError::TooManySignatures,
        ) => "malformed",
        Err(other) => panic!("unexpected error class {other:?}"),
    }
}

#[test]
fn every_vector_through_verify_at_with_headers() {
    let cases = cases();
    assert!(cases.len() >= 37, "vectors file truncated: {}", cases.len());
    for case in &cases {
        let body = base64::engine::general_purpose::STANDARD
            .decode(&case.body_base64)
            .unwrap();
        let headers = [("X-Nexio-Signature", case.header.as_str())];
        let v = verifier(&case.secrets);
        let result = v.verify_at(&headers, &body, case.now);
        assert_eq!(
            class(&result),
            case.expect,
            "case {:?}: {result:?}",
            case.name
        );
        if let Ok(verified) = result {
            assert_eq!(verified.body(), &body[..]);
            assert_eq!(verified.timestamp(), 1774180800, "{}", case.name);
        }
    }
}

#[test]
fn every_vector_through_the_lowest_level_call() {
    for case in cases() {
        let body = base64::engine::general_purpose::STANDARD
            .decode(&case.body_base64)
            .unwrap();
        let result =
            verifier(&case.secrets).verify_signature_at(case.header.as_bytes(), &body, case.now);
        assert_eq!(class(&result), case.expect, "case {:?}", case.name);
    }
}

// `http::HeaderMap` is a header source with the `std` feature only.
#[cfg(feature = "std")]
#[test]
fn every_vector_through_an_http_header_map() {
    for case in cases() {
        let body = base64::engine::general_purpose::STANDARD
            .decode(&case.body_base64)
            .unwrap();
        let mut map = http::HeaderMap::new();
        map.insert(
            "x-nexio-signature",
            http::HeaderValue::from_bytes(case.header.as_bytes()).unwrap(),
        );
        let result = verifier(&case.secrets).verify_at(&map, &body, case.now);
        assert_eq!(class(&result), case.expect, "case {:?}", case.name);
    }
}

#[test]
fn the_known_answer_vector_reports_the_matching_key() {
    let secret = Secret::new("whsec_abc123def456").unwrap();
    let id = secret.key_id();
    let other = Secret::new("whsec_Zt9mQ2vX8pL4nR7sK1wE5yU3iO6aD0fG").unwrap();
    let other_id = other.key_id();
    let v = Verifier::new(other).with_secret(secret);
    let body = br#"{"id":"evt_123","type":"run.completed"}"#;
    let header = "t=1774180800,v1=3681e63d3330eadf2ef7bc7d443ab1ce01bcddeaec56b110db5d4f80c95fa4b4";
    let verified = v
        .verify_signature_at(header.as_bytes(), body, 1774180800)
        .unwrap();
    assert_eq!(verified.key_id(), id);
    assert_ne!(verified.key_id(), other_id);
    assert_eq!(verified.dedupe_key().unwrap(), "evt_123");
}
