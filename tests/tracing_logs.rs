//! With the `tracing` feature, the adapters' shared steps log every rejection (`warn`
//! for authentication failures, `debug` otherwise) with code, key id and skew, and
//! every acceptance at `info` with event type, event id and delivery id — never the
//! secret, a MAC or the body. Captured with a minimal subscriber.
#![cfg(feature = "tracing")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::fmt::Write as _;
use std::future::Future;
use std::sync::{Arc, Mutex};

use nexio_webhooks::{
    Event, InMemoryReplayGuard, Receiver, Rejection, Secret, Signer, Verifier, sample,
};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Level, Metadata, Subscriber};

const SECRET: &str = "whsec_abc123def456";
const T0: i64 = 1_774_180_800;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<(Level, String)>>>);

struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

impl Subscriber for Capture {
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        m.target().starts_with("nexio_webhooks")
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut line = Line(String::new());
        event.record(&mut line);
        self.0
            .lock()
            .unwrap()
            .push((*event.metadata().level(), line.0));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

impl Capture {
    fn take(&self) -> Vec<(Level, String)> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn block_on<F: Future>(f: F) -> F::Output {
    // The in-memory guard answers at once: every future here is ready when polled.
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("not ready"),
    }
}

#[test]
fn levels_fields_and_nothing_secret() {
    let capture = Capture::default();
    let secret = Secret::new(SECRET).unwrap();
    let key_id = secret.key_id().to_string();
    let receiver = Receiver::new(Verifier::new(secret.clone()))
        .with_replay_guard(InMemoryReplayGuard::new(10));
    let signer = Signer::new(secret);
    let good = signer
        .delivery(sample::RUN_COMPLETED)
        .timestamp(T0)
        .delivery_id("d-123")
        .build();
    let mut all = Vec::new();

    tracing::subscriber::with_default(capture.clone(), || {
        // Accepted: info with type, event id, delivery id; then completed.
        let hook = block_on(receiver.accept_at::<Event, _>(&good, good.body(), T0 + 3)).unwrap();
        let logs = capture.take();
        assert_eq!(logs.len(), 1, "{logs:?}");
        block_on(hook.complete()).unwrap();
        assert_eq!(logs[0].0, Level::INFO);
        for part in [
            "event_type=\"run.completed\"",
            "event_id=\"evt_01JQ7R2M4X9K3T5V8B6N1C0D2E\"",
            "delivery_id=\"d-123\"",
            &format!("key_id={key_id}"),
        ] {
            assert!(logs[0].1.contains(part), "{part} in {logs:?}");
        }
        all.extend(logs);

        // A claim dropped unsettled is released, at debug, naming the key only.
        let other = signer.delivery(sample::RUN_FAILED).timestamp(T0).build();
        drop(block_on(receiver.accept_at::<Event, _>(&other, other.body(), T0 + 3)).unwrap());
        let logs = capture.take();
        assert_eq!(logs.len(), 2, "{logs:?}");
        assert_eq!(logs[1].0, Level::DEBUG);
        assert!(
            logs[1].1.contains("claim dropped unsettled: released"),
            "{logs:?}"
        );
        all.extend(logs);

        // Duplicate: debug.
        let dup = block_on(receiver.accept_at::<Event, _>(&good, good.body(), T0 + 4));
        assert_eq!(dup.unwrap_err(), Rejection::Duplicate);
        let logs = capture.take();
        assert_eq!(logs[0].0, Level::DEBUG);
        assert!(logs[0].1.contains("code=\"duplicate\""), "{logs:?}");
        all.extend(logs);

        // Tampered: warn, code, no key id (nothing matched).
        let r = block_on(receiver.accept_at::<Event, _>(&good, b"{\"id\":\"evt_x\"}", T0));
        assert_eq!(r.unwrap_err().code(), "signature_mismatch");
        let logs = capture.take();
        assert_eq!(logs[0].0, Level::WARN);
        assert!(logs[0].1.contains("code=\"signature_mismatch\""));
        assert!(!logs[0].1.contains("key_id"));
        all.extend(logs);

        // Stale, before the body: warn with the skew.
        let r = receiver.check_head_at(&good, None, T0 + 400);
        assert_eq!(r.unwrap_err().code(), "timestamp_too_old");
        let logs = capture.take();
        assert_eq!(logs[0].0, Level::WARN);
        assert!(logs[0].1.contains("skew=400"), "{logs:?}");
        all.extend(logs);

        // Malformed input: debug.
        let none: [(&str, &str); 0] = [];
        assert!(receiver.check_head_at(&none[..], None, T0).is_err());
        let logs = capture.take();
        assert_eq!(logs[0].0, Level::DEBUG);
        assert!(logs[0].1.contains("code=\"missing_signature\""));
        all.extend(logs);

        // Verified but unusable: debug, with key id and skew.
        let bad = signer
            .delivery(r#"{"id":"evt_9","type":"run.completed","webhook_version":"1999-01-01"}"#)
            .timestamp(T0)
            .build();
        let r = block_on(receiver.accept_at::<Event, _>(&bad, bad.body(), T0 + 2));
        assert_eq!(r.unwrap_err().code(), "unsupported_version");
        let logs = capture.take();
        assert_eq!(logs[0].0, Level::DEBUG);
        assert!(logs[0].1.contains(&format!("key_id={key_id}")), "{logs:?}");
        assert!(logs[0].1.contains("skew=2"), "{logs:?}");
        all.extend(logs);

        // Too large: debug.
        let small = receiver.clone().with_body_limit(4);
        assert!(small.check_head_at(&good, Some(5), T0).is_err());
        let logs = capture.take();
        assert_eq!(logs[0].0, Level::DEBUG);
        assert!(logs[0].1.contains("code=\"payload_too_large\""));
        all.extend(logs);
    });

    let text = format!("{all:?}");
    let mac = Signer::new(Secret::new(SECRET).unwrap()).signatures(T0, good.body());
    assert!(!text.contains(SECRET));
    assert!(!text.contains(&mac[0]));
    assert!(!text.contains("coverage"), "payload in logs: {text}");
    assert!(
        !text.contains("3f8e2a1c"),
        "run id (payload) in logs: {text}"
    );
}
