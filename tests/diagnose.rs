//! `Verifier::diagnose`: every hint code produced by a delivery broken the way the
//! hint describes, none on a valid delivery, the HMAC bound, and no secret, expected
//! MAC or body in any message.
#![cfg(feature = "std")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use base64::Engine as _;
use nexio_webhooks::{Diagnosis, Hint, Secret, Signer, Verifier, VerifyError, sample};
use proptest::prelude::*;
use serde_json::Value;

const SECRET: &str = "whsec_abc123def456";
const OTHER: &str = "whsec_not_the_endpoint_secret";
const T: i64 = 1_774_180_800;
const NOW: i64 = T + 30;

type Headers = Vec<(&'static str, String)>;

fn secret(s: &str) -> Secret {
    Secret::new(s).unwrap()
}

fn verifier() -> Verifier {
    Verifier::new(secret(SECRET))
}

/// Headers signed over `signed`, with key `key`, at `t`.
fn signed_with(key: Secret, t: i64, signed: &[u8]) -> Headers {
    Signer::new(key)
        .delivery(signed)
        .timestamp(t)
        .build()
        .into_parts()
        .0
}

fn signed(signed: &[u8]) -> Headers {
    signed_with(secret(SECRET), T, signed)
}

fn codes(d: &Diagnosis) -> Vec<&'static str> {
    d.hints().iter().map(Hint::code).collect()
}

fn set(headers: &mut Headers, name: &str, value: String) {
    let slot = headers
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .unwrap();
    slot.1 = value;
}

/// Every secret-derived string a message must never contain, and the body.
fn assert_clean(d: &Diagnosis, received: &[u8], secrets: &[&str]) {
    for hint in d.hints() {
        let m = hint.message();
        assert_eq!(m, hint.to_string());
        assert!(!m.is_empty() && !m.ends_with('.'), "{m}");
        for s in secrets {
            assert!(!m.contains(s), "{m} contains a secret");
            assert!(
                !m.contains(&s["whsec_".len()..]),
                "{m} contains a secret's remainder"
            );
            // The MAC the verifier expected over the received body.
            let expected = Signer::new(secret(s)).signatures(T, received);
            for v1 in expected {
                assert!(!m.contains(&v1[3..]), "{m} contains an expected MAC");
            }
        }
        if received.len() >= 8 {
            let text = String::from_utf8_lossy(received);
            assert!(!m.contains(text.as_ref()), "{m} contains the body");
        }
        assert!(!format!("{d:?}").contains(secrets[0]));
    }
}

fn diagnose(headers: &Headers, body: &[u8]) -> Diagnosis {
    let d = verifier().diagnose(headers, body, NOW);
    assert_clean(&d, body, &[SECRET]);
    assert!(d.hmacs() <= 14, "{} HMACs for one secret", d.hmacs());
    d
}

#[test]
fn valid_deliveries_get_no_hints() {
    for body in [
        sample::RUN_COMPLETED,
        sample::RUN_FAILED,
        "",
        "{}",
        "not json\r\n",
    ] {
        let headers = signed(body.as_bytes());
        let d = diagnose(&headers, body.as_bytes());
        assert_eq!(d.verdict(), Ok(secret(SECRET).key_id()), "{body}");
        assert!(d.is_verified());
        assert!(d.hints().is_empty(), "{body}: {:?}", codes(&d));
        assert_eq!((d.timestamp(), d.skew()), (Some(T), Some(30)));
        assert_eq!(d.hmacs(), 0);
    }
    // A rotation header with the old secret first.
    let v = verifier().with_secret(secret(OTHER));
    let delivery = Signer::new(secret(OTHER))
        .with_secret(secret(SECRET))
        .delivery(sample::RUN_COMPLETED)
        .timestamp(T)
        .build();
    let d = v.diagnose(&delivery, delivery.body(), NOW);
    assert!(d.is_verified() && d.hints().is_empty());
}

#[test]
fn body_reformatted_in_each_json_form() {
    // Keys in sorted order, so serde_json's own printers (which sort) are a reference
    // independent of the crate's walk.
    let value: Value = serde_json::from_str(
        r#"{"data":{"run":{"ok":true,"score":0.5,"tags":["a","b"],"x":{}}},"id":"evt_1","type":"run.completed"}"#,
    )
    .unwrap();
    let compact = serde_json::to_vec(&value).unwrap();
    let two = serde_json::to_vec_pretty(&value).unwrap();
    let mut four = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    serde::Serialize::serialize(
        &value,
        &mut serde_json::Serializer::with_formatter(&mut four, fmt),
    )
    .unwrap();
    let spaced = br#"{"data": {"run": {"ok": true, "score": 0.5, "tags": ["a", "b"], "x": {}}}, "id": "evt_1", "type": "run.completed"}"#.to_vec();
    let forms = [&compact, &spaced, &two, &four];
    for signed_form in forms {
        for received in forms {
            if signed_form == received {
                continue;
            }
            let d = diagnose(&signed(signed_form), received);
            assert_eq!(d.verdict(), Err(VerifyError::SignatureMismatch));
            assert_eq!(codes(&d), ["body_reformatted"]);
            assert_eq!(d.hints()[0].key_id(), Some(secret(SECRET).key_id()));
        }
    }
    // Keys stay in the order received: the sample, signed compact, received pretty.
    let pretty = "{\n  \"id\": \"evt_9\",\n  \"type\": \"run.completed\",\n  \"data\": {\n    \"run\": {\n      \"status\": \"completed\",\n      \"run_id\": \"r\"\n    }\n  }\n}";
    let compact: String = pretty
        .split('\n')
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("")
        .replace("\": ", "\":");
    let d = diagnose(&signed(compact.as_bytes()), pretty.as_bytes());
    assert_eq!(codes(&d), ["body_reformatted"]);
    assert!(
        d.hints()[0].message().contains("compact JSON"),
        "{}",
        d.hints()[0]
    );
}

#[test]
fn line_endings_changed_both_ways() {
    let crlf = b"first line\r\nsecond line\r\nlast";
    let lf = b"first line\nsecond line\nlast";
    let d = diagnose(&signed(crlf), lf);
    assert_eq!(codes(&d), ["line_endings_changed"]);
    assert!(
        d.hints()[0]
            .message()
            .contains("LF line endings turned into CRLF")
    );
    let d = diagnose(&signed(lf), crlf);
    assert_eq!(codes(&d), ["line_endings_changed"]);
    assert!(
        d.hints()[0]
            .message()
            .contains("CRLF line endings turned into LF")
    );
}

#[test]
fn trailing_newline_added_or_removed() {
    let body = sample::RUN_COMPLETED.as_bytes();
    for (signed_body, received) in [
        (body.to_vec(), [body, b"\n"].concat()),
        (body.to_vec(), [body, b"\r\n"].concat()),
        ([body, b"\n"].concat(), body.to_vec()),
        ([body, b"\r\n"].concat(), body.to_vec()),
        (b"plain text".to_vec(), b"plain text\n".to_vec()),
    ] {
        let d = diagnose(&signed(&signed_body), &received);
        assert_eq!(codes(&d), ["trailing_newline_changed"]);
    }
}

#[test]
fn bom_added() {
    let body = sample::RUN_FAILED.as_bytes();
    let received = [&b"\xEF\xBB\xBF"[..], body].concat();
    let d = diagnose(&signed(body), &received);
    assert_eq!(codes(&d), ["bom_added"]);
}

#[test]
fn key_convention_prefix_stripped_or_base64_decoded() {
    let body = sample::RUN_COMPLETED.as_bytes();
    // The sender keyed its HMAC with the part after `whsec_`.
    let headers = signed_with(Secret::from_raw_key(b"abc123def456").unwrap(), T, body);
    let d = diagnose(&headers, body);
    assert_eq!(codes(&d), ["key_convention"]);
    assert!(d.hints()[0].message().contains("Secret::from_raw_key"));
    assert!(d.hints()[0].message().contains("the part after `whsec_`"));

    // The Standard Webhooks convention: `whsec_` + base64 of random key bytes.
    for (i, engine) in [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ]
    .iter()
    .enumerate()
    {
        let key: Vec<u8> = (0..24u8)
            .map(|b| b.wrapping_mul(97).wrapping_add(i as u8))
            .collect();
        let text = format!("whsec_{}", engine.encode(&key));
        let v = Verifier::new(secret(&text));
        let headers = signed_with(Secret::from_raw_key(&key).unwrap(), T, body);
        let d = v.diagnose(&headers, body, NOW);
        assert_clean(&d, body, &[&text]);
        assert_eq!(codes(&d), ["key_convention"], "{text}");
        assert!(d.hints()[0].message().contains("base64 decoding"));
    }
}

#[test]
fn timestamp_header_used() {
    let body = sample::RUN_COMPLETED.as_bytes();
    // Signed over X-Nexio-Timestamp's value, while t= says another second.
    let mut headers = signed_with(secret(SECRET), T - 7, body);
    let sig = headers
        .iter()
        .find(|(n, _)| *n == "X-Nexio-Signature")
        .unwrap()
        .1
        .clone();
    set(
        &mut headers,
        "X-Nexio-Signature",
        sig.replace(&format!("t={}", T - 7), &format!("t={T}")),
    );
    let d = diagnose(&headers, body);
    assert_eq!(codes(&d), ["timestamp_header_used"]);
    assert!(d.hints()[0].message().contains(&(T - 7).to_string()));
}

#[test]
fn clock_skew_and_old_capture() {
    let body = sample::RUN_COMPLETED.as_bytes();
    let headers = signed(body);
    let v = verifier();
    let at = |now| v.diagnose(&headers, body, now);
    for (now, want) in [
        (T + 301, "clock_skew"),
        (T + 300 + 600, "clock_skew"),
        (T + 300 + 601, "old_capture"),
        (T + 86_400, "old_capture"),
        (T - 301, "clock_skew"),
        (T - 300 - 3_600, "clock_skew"),
    ] {
        let d = at(now);
        assert!(!d.is_verified());
        assert_eq!(codes(&d), [want], "now = t{:+}", now - T);
        assert_eq!(d.signature_key(), Some(secret(SECRET).key_id()));
        assert_eq!(d.skew(), Some(now - T));
        assert!(
            d.hints()[0]
                .message()
                .contains("the signature itself is valid")
        );
        assert_eq!(d.hmacs(), 1);
    }
    // Out of the window and signed with another secret: both are said.
    let d = verifier().diagnose(&signed_with(secret(OTHER), T, body), body, T + 5_000);
    assert_eq!(codes(&d), ["old_capture", "wrong_secret"]);
    assert!(!d.hints()[0].message().contains("signature itself is valid"));
    // Extreme timestamps are ordinary answers.
    for t in [0, i64::MAX] {
        let headers = signed_with(secret(SECRET), t, body);
        for now in [i64::MIN, -1, 0, i64::MAX] {
            let _ = verifier().diagnose(&headers, body, now);
        }
    }
}

#[test]
fn no_v1_entries_and_malformed_v1() {
    let body = sample::RUN_COMPLETED.as_bytes();
    let mut headers = signed(body);
    set(
        &mut headers,
        "X-Nexio-Signature",
        format!("t={T},v0=abc,v2={}", "0".repeat(64)),
    );
    let d = diagnose(&headers, body);
    assert!(matches!(
        d.verdict(),
        Err(VerifyError::MalformedSignature(_))
    ));
    assert_eq!(codes(&d), ["no_v1_entries"]);
    assert!(
        d.hints()[0].message().contains("v0, v2"),
        "{}",
        d.hints()[0]
    );
    assert_eq!(d.hmacs(), 0);

    set(
        &mut headers,
        "X-Nexio-Signature",
        format!("t={T},v1=abc,v1=zz"),
    );
    let d = diagnose(&headers, body);
    assert_eq!(codes(&d), ["malformed_v1"]);
    assert_eq!(d.hmacs(), 0);
}

#[test]
fn empty_body() {
    let headers = signed(sample::RUN_COMPLETED.as_bytes());
    let d = diagnose(&headers, b"");
    assert_eq!(codes(&d), ["empty_body", "wrong_secret"]);
}

#[test]
fn wrong_secret_lists_the_key_ids_tried() {
    let body = sample::RUN_COMPLETED.as_bytes();
    let headers = signed_with(secret(OTHER), T, body);
    let second = secret("whsec_second_one");
    let v = verifier().with_secret(second.clone());
    let d = v.diagnose(&headers, body, NOW);
    assert_clean(&d, body, &[SECRET, "whsec_second_one"]);
    assert_eq!(codes(&d), ["wrong_secret"]);
    let tried = [secret(SECRET).key_id(), second.key_id()];
    assert_eq!(d.hints()[0].keys_tried(), tried);
    assert_eq!(d.hints()[0].key_id(), None);
    for id in tried {
        assert!(d.hints()[0].message().contains(id.as_str()));
    }
    assert!(d.hmacs() <= 2 * 14);
}

#[test]
fn secret_expired() {
    let body = sample::RUN_COMPLETED.as_bytes();
    let old = secret(OTHER);
    let v = verifier().with_secret_expiring(old.clone(), T);
    let d = v.diagnose(&signed_with(old.clone(), T, body), body, NOW);
    assert_eq!(d.verdict(), Err(VerifyError::SignatureMismatch));
    assert_eq!(codes(&d), ["secret_expired"]);
    assert_eq!(d.signature_key(), Some(old.key_id()));
    assert_eq!(d.hints()[0].key_id(), Some(old.key_id()));
}

#[test]
fn the_verdict_is_verify_at_s() {
    let body = sample::RUN_COMPLETED.as_bytes();
    let headers = signed(body);
    let v = verifier().with_bearer_token(nexio_webhooks::BearerToken::new("tok_1").unwrap());
    let d = v.diagnose(&headers, body, NOW);
    assert_eq!(d.verdict(), Err(VerifyError::MissingBearerToken));
    assert_eq!(d.signature_key(), Some(secret(SECRET).key_id()));
    assert!(d.hints().is_empty());
    let d = verifier().diagnose(&Vec::<(&str, &str)>::new(), body, NOW);
    assert_eq!(d.verdict(), Err(VerifyError::MissingSignature));
    assert!(d.hints().is_empty() && d.timestamp().is_none());
}

#[test]
fn hmac_work_is_bounded_per_secret() {
    // A body for which every change applies: JSON, CRLF and lone LF, final newline.
    let body = b"{\"a\": \"x\",\r\n\"b\": [1,\n2]}\n";
    let keys = ["whsec_k1", "whsec_k2", "whsec_k3"];
    let expired = secret("whsec_gone");
    let mut v = Verifier::new(secret(keys[0]));
    for k in &keys[1..] {
        v = v.with_secret(secret(k));
    }
    let v = v.with_secret_expiring(expired, T - 1);
    let mut headers = signed_with(secret(OTHER), T - 5, body);
    // 16 v1 entries, and an X-Nexio-Timestamp that differs from t=.
    let entries: Vec<String> = (0..16).map(|i| format!("v1={i:064x}")).collect();
    set(
        &mut headers,
        "X-Nexio-Signature",
        format!("t={T},{}", entries.join(",")),
    );
    let d = v.diagnose(&headers, body, NOW);
    assert_clean(&d, body, &keys);
    assert_eq!(codes(&d), ["wrong_secret"]);
    assert!(d.hmacs() <= 3 * 14 + 1, "{}", d.hmacs());
    assert!(
        d.hmacs() >= 3 * 10,
        "{}: the changes were not all tried",
        d.hmacs()
    );
}

#[test]
fn bodies_over_a_mebibyte_are_not_tried_changed() {
    let mut big = vec![b'x'; 1024 * 1024];
    big.push(b'\n');
    let headers = signed(&big[..big.len() - 1]);
    let d = diagnose(&headers, &big);
    assert_eq!(codes(&d), ["wrong_secret"]);
    assert_eq!(
        d.hmacs(),
        1 + 2,
        "the body as received and the two key conventions"
    );
    assert!(
        d.hints()[0]
            .message()
            .contains("over 1 MiB, was not tried changed")
    );
    let d = diagnose(&headers, &big[..big.len() - 1]);
    assert!(d.is_verified());
}

#[test]
fn diagnosis_and_hint_are_send_sync_and_clone() {
    fn check<T: Send + Sync + Clone + std::fmt::Debug + 'static>() {}
    check::<Diagnosis>();
    check::<Hint>();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn never_panics(sig in proptest::collection::vec(any::<u8>(), 0..200),
                    ts in proptest::collection::vec(any::<u8>(), 0..24),
                    body in proptest::collection::vec(any::<u8>(), 0..300),
                    now in any::<i64>()) {
        let headers = vec![("X-Nexio-Signature", sig), ("X-Nexio-Timestamp", ts)];
        let d = verifier().diagnose(&headers, &body, now);
        prop_assert!(d.hmacs() <= 14);
        for h in d.hints() {
            prop_assert!(!h.message().contains(SECRET));
        }
    }

    #[test]
    fn json_bodies_reformatted_by_serde_are_recognized(
        keys in proptest::collection::btree_map("[a-z]{1,6}", any::<i32>(), 1..6)
    ) {
        // Sorted keys: serde_json's printers keep this order.
        let value = serde_json::to_value(&keys).unwrap();
        let compact = serde_json::to_vec(&value).unwrap();
        let pretty = serde_json::to_vec_pretty(&value).unwrap();
        let d = verifier().diagnose(&signed(&compact), &pretty, NOW);
        prop_assert_eq!(codes(&d), ["body_reformatted"]);
        let d = verifier().diagnose(&signed(&pretty), &compact, NOW);
        prop_assert_eq!(codes(&d), ["body_reformatted"]);
    }
}

#[test]
fn header_only_hints_compute_no_hmac() {
    let body = sample::RUN_COMPLETED.as_bytes();
    let headers = signed(body);
    let v = verifier();
    let codes_at = |h: &Headers, now| -> Vec<&'static str> {
        v.diagnose_headers(h, now).iter().map(Hint::code).collect()
    };
    assert!(codes_at(&headers, NOW).is_empty());
    assert_eq!(codes_at(&headers, T + 400), ["clock_skew"]);
    assert_eq!(codes_at(&headers, T + 5000), ["old_capture"]);
    assert_eq!(codes_at(&headers, T - 400), ["clock_skew"]);
    let msg = v.diagnose_headers(&headers, T + 400)[0].message();
    assert!(!msg.contains("signature"), "{msg}");
    let mut h = signed(body);
    set(&mut h, "X-Nexio-Signature", format!("t={T},v2=abc"));
    assert_eq!(codes_at(&h, NOW), ["no_v1_entries"]);
    set(&mut h, "X-Nexio-Signature", format!("t={T},v1=abc"));
    assert_eq!(codes_at(&h, NOW), ["malformed_v1"]);
    set(&mut h, "X-Nexio-Signature", "garbage".into());
    assert!(codes_at(&h, NOW).is_empty());
    assert!(codes_at(&Vec::new(), NOW).is_empty());
}

/// Every message, pinned: operators and log searches depend on them.
#[test]
fn every_message_is_pinned() {
    let body = sample::RUN_COMPLETED.as_bytes();
    let pretty =
        serde_json::to_vec_pretty(&serde_json::from_slice::<Value>(body).unwrap()).unwrap();
    let compact = serde_json::to_vec(&serde_json::from_slice::<Value>(&pretty).unwrap()).unwrap();
    let headers = signed(body);
    let mut no_v1 = signed(body);
    set(&mut no_v1, "X-Nexio-Signature", format!("t={T},v0=abc"));
    let mut bad_v1 = signed(body);
    set(&mut bad_v1, "X-Nexio-Signature", format!("t={T},v1=abc"));
    let mut ts = signed_with(secret(SECRET), T - 7, body);
    let sig = ts[ts
        .iter()
        .position(|(n, _)| *n == "X-Nexio-Signature")
        .unwrap()]
    .1
    .clone();
    set(
        &mut ts,
        "X-Nexio-Signature",
        sig.replace(&format!("t={}", T - 7), &format!("t={T}")),
    );
    let old = secret(OTHER);
    let expiring = verifier().with_secret_expiring(old.clone(), T);
    let k = secret(SECRET).key_id().to_string();
    let o = old.key_id().to_string();
    let cases: Vec<(Diagnosis, String)> = vec![
        (diagnose(&signed(&pretty), &compact), format!("body_reformatted: the body verifies re-serialized as JSON indented by 2 spaces (secret {k}): the JSON was parsed and serialized again before the check (a framework's JSON body parser); verify the raw body bytes, before any parsing")),
        (diagnose(&signed(b"a\r\nb"), b"a\nb"), format!("line_endings_changed: the body verifies with its LF line endings turned into CRLF (secret {k}): something converted the line endings (git autocrlf, a text-mode read or write); read and store the body as bytes")),
        (diagnose(&signed(body), &[body, b"\n"].concat()), format!("trailing_newline_changed: the body verifies with its final \"\\n\" removed (secret {k}): a proxy, an editor or a logging step added it; verify the body byte for byte as received")),
        (diagnose(&signed(&[body, b"\r\n"].concat()), body), format!("trailing_newline_changed: the body verifies with a final \"\\r\\n\" added (secret {k}): something stripped it (a trim, a line-based read); verify the body byte for byte as received")),
        (diagnose(&signed(body), &[&b"\xEF\xBB\xBF"[..], body].concat()), format!("bom_added: the body verifies without its leading UTF-8 byte order mark (secret {k}): something added the mark (a text encoder, an editor); verify the body byte for byte as received")),
        (diagnose(&signed_with(Secret::from_raw_key(b"abc123def456").unwrap(), T, body), body), format!("key_convention: the signature verifies with the part after `whsec_` of secret {k} as the HMAC key: the sender uses another key convention than this crate (the whole secret string); if that is Nexio's documented convention, build the secret with `Secret::from_raw_key`")),
        (diagnose(&ts, body), format!("timestamp_header_used: the signature verifies over X-Nexio-Timestamp ({}) instead of t= ({T}) (secret {k}): the sender signs with the wrong timestamp; t= is the one that is signed", T - 7)),
        (verifier().diagnose(&headers, body, T + 400), "clock_skew: signed 400 s ago, 100 s beyond the 300 s window (the signature itself is valid): probably a clock off on this host or the sender; check both (NTP) before widening the window".into()),
        (verifier().diagnose(&headers, body, T - 400), "clock_skew: signed 400 s in the future, 100 s beyond the 300 s allowance (the signature itself is valid): probably a clock off on this host or the sender; check both (NTP) before widening the window".into()),
        (verifier().diagnose(&headers, body, T - 3600), "clock_skew: signed 3600 s in the future, 3300 s beyond the 300 s allowance (the signature itself is valid): a clock is far off (this host's behind or the sender's ahead), or the timestamp was made up; check both clocks (NTP)".into()),
        (verifier().diagnose(&headers, body, T + 5000), "old_capture: signed 5000 s ago, 4700 s beyond the 300 s window (the signature itself is valid): a stored or replayed request, not a live delivery; for a test, re-sign it with a fresh timestamp (`nexio-webhooks replay`)".into()),
        (expiring.diagnose(&signed_with(old, T, body), body, NOW), format!("secret_expired: the signature matches secret {o}, which expired at {T} (Unix): the sender still signs with the previous secret; extend its expiry or check the endpoint's rotation")),
        (diagnose(&no_v1, body), "no_v1_entries: the signature header has no v1 entry (it has: v0): this crate checks v1 (HMAC-SHA256) only; the sender uses another scheme".into()),
        (diagnose(&bad_v1, body), "malformed_v1: none of the 1 v1 entries is 64 hex digits: the signature header was cut or altered on the way".into()),
        (diagnose(&signed_with(secret(OTHER), T, body), body), format!("wrong_secret: no configured secret signed this delivery (tried {k}), nor would any after the usual body, key or timestamp changes: it is signed with another secret (another endpoint's, or one rotated away); check which endpoint sent it and use that endpoint's secret")),
    ];
    for (d, want) in cases {
        let got: Vec<String> = d
            .hints()
            .iter()
            .map(|h| format!("{}: {h}", h.code()))
            .collect();
        assert_eq!(got, [want]);
    }
    let d = diagnose(&signed(body), b"");
    assert_eq!(
        d.hints()[0].message(),
        "the body is empty: a framework or middleware probably read it before the check (give the check the raw body), or the capture lost it"
    );
}
