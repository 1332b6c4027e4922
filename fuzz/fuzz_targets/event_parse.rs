//! (d) Event parsing on arbitrary bytes: through `dangerous::parse_unverified_event`
//! and through a verified delivery (the body signed, then verified, then parsed).
//! Never panics; the zero-allocation head scan (dedupe key, header comparison) never
//! disagrees with the full parse.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nexio_webhooks::{Secret, Signer, Verifier, VersionPolicy, dangerous};

const T: i64 = 1_774_180_800;

fuzz_target!(|body: &[u8]| {
    let exact = dangerous::parse_unverified_event(body, VersionPolicy::Exact);
    let other = dangerous::parse_unverified_event(body, VersionPolicy::AcceptOther);
    if exact.is_ok() {
        assert!(other.is_ok());
    }
    if let Err(e) = &exact {
        assert_eq!(e.status().as_u16(), 422);
        let _ = e.to_string();
    }

    let secret = Secret::new("whsec_abc123def456").unwrap();
    let verifier = Verifier::new(secret.clone()).with_strict(true);
    let header = Signer::new(secret).signature_header(T, body);
    let verified = verifier
        .verify_signature_at(header.as_bytes(), body, T)
        .expect("a signed body verifies");
    let event = verified.event_with(VersionPolicy::AcceptOther);
    let key = verified.dedupe_key();
    let _ = verified.json::<serde_json::Value>();
    assert_eq!(event.is_ok(), other.is_ok());
    if let (Ok(event), Ok(key)) = (&event, &key) {
        // The dedupe key is the signed event id.
        assert_eq!(event.id(), key.as_ref());
    }
    if let Ok(event) = &event {
        let _ = event.run().map(|r| r.degradation_reason());
        // Strict mode: unsigned headers equal to the parsed values are no mismatch.
        let mut headers = vec![
            ("x-nexio-signature", header.clone()),
            ("x-nexio-event", event.event_type().to_owned()),
        ];
        if let Some(version) = event.webhook_version() {
            headers.push(("x-nexio-webhook-version", version.to_owned()));
        }
        let strict = verifier.verify_at(&headers, body, T);
        assert!(strict.is_ok(), "{strict:?}");
    }
});
