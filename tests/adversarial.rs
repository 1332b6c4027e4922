//! The adversarial catalogue (`tests/data/adversarial.json`) through the verification
//! core: 0 false accepts, 0 panics, every code as expected. The loader and runner in
//! `tests/common/adversarial.rs` are shared with the adapter and CLI runners.
#![cfg(feature = "std")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use common::adversarial::{self, Front, Observed, expected_status};
use nexio_webhooks::VerifyError;

fn observe_core(case: &adversarial::Case) -> Observed {
    let verifier = match case.verifier() {
        Ok(v) => v,
        Err(e) => {
            return Observed {
                outcome: e.code().to_owned(),
                ..Observed::default()
            };
        }
    };
    let headers = case.header_pairs();
    match verifier.verify_at(&headers, &case.body, case.now) {
        Ok(verified) => {
            let m = verified.mismatches();
            let mut mismatches = Vec::new();
            if m.timestamp() {
                mismatches.push("timestamp".to_owned());
            }
            if m.event() {
                mismatches.push("event".to_owned());
            }
            if m.version() {
                mismatches.push("version".to_owned());
            }
            Observed {
                outcome: "accept".to_owned(),
                key_id: Some(verified.key_id()),
                event: Some(match verified.event() {
                    Ok(_) => "ok".to_owned(),
                    Err(e) => e.code().to_owned(),
                }),
                mismatches: Some(mismatches),
            }
        }
        Err(e) => Observed {
            outcome: e.code().to_owned(),
            ..Observed::default()
        },
    }
}

#[test]
fn catalogue_through_the_core() {
    let cases = adversarial::load();
    assert!(cases.len() >= 120, "only {} cases", cases.len());
    let report = adversarial::run_catalogue(&cases, Front::Core, observe_core);
    assert_eq!(report.run, cases.len());
    report.assert_clean();
}

#[test]
fn catalogue_is_well_formed() {
    let cases = adversarial::load();
    let mut names = std::collections::HashSet::new();
    for c in &cases {
        assert!(names.insert(c.name.as_str()), "duplicate name {:?}", c.name);
        assert!(!c.source.is_empty(), "{}", c.name);
        // Every expected outcome has a status (so adapter runners can check it).
        let _ = expected_status(&c.expect);
        if let Some(h) = &c.expect_http {
            let _ = expected_status(h);
        }
        if c.expect == "accept" {
            assert!(
                c.expect_key.is_some(),
                "{}: accept needs expect_key",
                c.name
            );
        } else {
            assert!(c.expect_key.is_none(), "{}", c.name);
        }
    }
    // The catalogue covers every verification error code.
    let codes = [
        "missing_signature",
        "malformed_signature",
        "signature_header_too_large",
        "too_many_signatures",
        "signature_mismatch",
        "timestamp_too_old",
        "timestamp_too_new",
        "missing_bearer_token",
        "bearer_token_mismatch",
        "timestamp_header_mismatch",
        "event_header_mismatch",
        "version_header_mismatch",
        "invalid_secret",
    ];
    for code in codes {
        assert!(cases.iter().any(|c| c.expect == code), "no case for {code}");
    }
    for code in ["ok", "invalid_json", "invalid_event", "unsupported_version"] {
        assert!(
            cases
                .iter()
                .any(|c| c.expect_event.as_deref() == Some(code)),
            "no event case for {code}"
        );
    }
}

#[test]
fn catalogue_statuses_agree_with_the_crate() {
    // The runner's independent status table and the crate's `status()` agree.
    let all = [
        VerifyError::MissingSignature,
        VerifyError::SignatureHeaderTooLarge,
        VerifyError::TooManySignatures,
        VerifyError::SignatureMismatch,
        VerifyError::TimestampTooOld { age_secs: 1 },
        VerifyError::TimestampTooNew { ahead_secs: 1 },
        VerifyError::MissingBearerToken,
        VerifyError::BearerTokenMismatch,
        VerifyError::TimestampHeaderMismatch,
        VerifyError::EventHeaderMismatch,
        VerifyError::VersionHeaderMismatch,
    ];
    for e in all {
        assert_eq!(expected_status(e.code()), e.status().as_u16(), "{e:?}");
    }
}

#[test]
fn the_runner_catches_a_false_accept_and_a_panic() {
    // The harness itself can fail: an always-accepting front end and a panicking one
    // are both reported.
    let cases = adversarial::load();
    let accepting = adversarial::run_catalogue(&cases, Front::Core, |_| Observed {
        outcome: "accept".into(),
        ..Observed::default()
    });
    assert!(accepting.false_accepts.len() > 100);
    let panicking = adversarial::run_catalogue(&cases[..3], Front::Http, |_| panic!("boom"));
    assert_eq!(panicking.panics.len(), 3);
}
