//! The receiver: what an HTTP endpoint needs to take deliveries — the verifier, the
//! body limit, the replay guard, the clock — and the steps every adapter follows.
//!
//! Nothing here does I/O but the guard's: the frameworks read the body, this module
//! decides.
//!
//! 1. [`Receiver::check_head_at`] — the checks that need no body (signature header,
//!    replay window, bearer token, `Content-Length` against the limit). A missing,
//!    malformed, stale or future signature is refused **before the body is read**.
//! 2. The body is read into a [`BodyBuffer`], which refuses the first byte past the
//!    limit (a chunked body is not read further).
//! 3. [`Receiver::accept_at`] — verify the MAC against the exact bytes, parse, then
//!    claim the dedupe key with the replay guard.
//! 4. The handler runs; the claim is completed once the delivery was processed, or
//!    released (see [`Claim`]).

use core::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::claim::{AsyncReplayGuard, Claim, Clock};
use crate::error::{InvalidEventReason, ParseError};
use crate::extract::{FromVerified, NexioWebhook};
use crate::headers::HeaderSource;
use crate::limit::{
    BodyBuffer, DEFAULT_BODY_LIMIT, DEFAULT_BODY_READ_TIMEOUT, DEFAULT_MEMORY_BUDGET, MemoryBudget,
};
use crate::rejection::{Rejection, rejected};
use crate::replay::ClaimOutcome;
use crate::verified::DeliveryInfo;
use crate::verifier::Verifier;

/// What a webhook endpoint needs to receive deliveries: the [`Verifier`], a body
/// limit (default [`DEFAULT_BODY_LIMIT`], 1 MiB) and, optionally, a replay guard.
///
/// Built once at start-up, then put in the framework's application state (axum:
/// `State`/`FromRef`; actix-web: `app_data`) or given to the verifying layer or
/// middleware. `Clone` is a few `Arc` bumps.
///
/// ```
/// use std::sync::Arc;
/// use nexio_webhooks::{InMemoryReplayGuard, Receiver, Secret, Verifier};
///
/// let receiver = Receiver::new(Verifier::new(Secret::new("whsec_abc123def456")?))
///     .with_body_limit(256 * 1024)
///     .with_replay_guard(InMemoryReplayGuard::new(100_000));
/// assert_eq!(receiver.body_limit(), 256 * 1024);
/// # Ok::<(), nexio_webhooks::SecretError>(())
/// ```
/// What a webhook endpoint needs to receive deliveries: the [`Verifier`], a body
/// limit (default [`DEFAULT_BODY_LIMIT`], 1 MiB) and, optionally, a replay guard.
///
/// Built once at start-up, then put in the framework's application state (axum:
/// `State`/`FromRef`; actix-web: `app_data`). `Clone` is a few `Arc` bumps.
///
/// ```
/// use std::sync::Arc;
/// use nexio_webhooks::{InMemoryReplayGuard, Receiver, Secret, Verifier};
///
/// let receiver = Receiver::new(Verifier::new(Secret::new("whsec_abc123def456")?))
///     .with_body_limit(256 * 1024)
///     .with_replay_guard(InMemoryReplayGuard::new(100_000));
/// assert_eq!(receiver.body_limit(), 256 * 1024);
/// # Ok::<(), nexio_webhooks::SecretError>(())
/// ```
#[derive(Clone)]
pub struct Receiver {
    verifier: Verifier,
    body_limit: usize,
    budget: MemoryBudget,
    body_read_timeout: Duration,
    replay_guard: Option<Arc<dyn AsyncReplayGuard>>,
    clock: Option<Clock>,
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("verifier", &self.verifier)
            .field("body_limit", &self.body_limit)
            .field("budget", &self.budget)
            .field("body_read_timeout", &self.body_read_timeout)
            .field("replay_guard", &self.replay_guard.is_some())
            .field(
                "clock",
                &if self.clock.is_some() {
                    "custom"
                } else {
                    "system"
                },
            )
            .finish()
    }
}

impl Receiver {
    /// A receiver for `verifier`, with a 1 MiB body limit and no replay guard.
    pub fn new(verifier: Verifier) -> Self {
        Self {
            verifier,
            body_limit: DEFAULT_BODY_LIMIT,
            budget: MemoryBudget::new(DEFAULT_MEMORY_BUDGET),
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            replay_guard: None,
            clock: None,
        }
    }

    /// Sets the memory budget (default [`DEFAULT_MEMORY_BUDGET`], 64 MiB): the bytes
    /// that all requests of this receiver (and its clones) may hold at once while
    /// their bodies are read. A request whose announced `Content-Length` does not fit
    /// is answered 503 with `Retry-After` before a byte of its body is read.
    ///
    /// How it relates to the rest: the body limit bounds one request; the budget
    /// bounds them all, so it also bounds how many bodies are read at once (64 MiB /
    /// 1 MiB = 64 full-size bodies, or thousands of typical 1–4 KiB deliveries).
    /// Size it at least a few body limits, and within the memory you give the
    /// process; the server's own connection limit bounds the rest.
    #[must_use]
    pub fn with_memory_budget(mut self, bytes: usize) -> Self {
        self.budget = MemoryBudget::new(bytes);
        self
    }

    /// Sets the body-read deadline (default [`DEFAULT_BODY_READ_TIMEOUT`], 30 s): a
    /// body not received in full within it is answered 408, and its share of the
    /// memory budget given back. Applies where a timer is available: the tokio
    /// runtime (axum, the tower layer under tokio) and actix-web's.
    #[must_use]
    pub fn with_body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// The memory budget shared by this receiver's requests.
    pub fn memory_budget(&self) -> &MemoryBudget {
        &self.budget
    }

    /// The body-read deadline.
    pub fn body_read_timeout(&self) -> Duration {
        self.body_read_timeout
    }

    /// Sets the body limit in bytes: a longer body is answered 413 without being
    /// buffered past the limit.
    #[must_use]
    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Processes each delivery once with `guard`: its dedupe key (the signed event id)
    /// is claimed before the handler runs and completed once it was processed (see
    /// [`NexioWebhook`] for the extractors, the `tower` layer and `actix-web`
    /// middleware for the response-driven form). A copy of a processed delivery is
    /// answered `200 {"status":"duplicate"}`, a copy of one in progress 409 with
    /// `Retry-After`. Any synchronous [`ReplayGuard`](crate::ReplayGuard) fits, as does
    /// an [`AsyncReplayGuard`].
    ///
    /// With a guard configured, a body without a top-level string `id` is answered
    /// 422 `invalid_event` (it cannot be deduplicated).
    #[must_use]
    pub fn with_replay_guard<G: AsyncReplayGuard + 'static>(self, guard: G) -> Self {
        self.with_shared_replay_guard(Arc::new(guard))
    }

    /// Like [`Receiver::with_replay_guard`], for a guard already behind an `Arc`.
    #[must_use]
    pub fn with_shared_replay_guard(mut self, guard: Arc<dyn AsyncReplayGuard>) -> Self {
        self.replay_guard = Some(guard);
        self
    }

    /// Reads "now" (Unix seconds) from `clock` instead of the system clock: for tests
    /// that replay recorded deliveries.
    #[must_use]
    pub fn with_clock<F: Fn() -> i64 + Send + Sync + 'static>(mut self, clock: F) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// The verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The body limit in bytes.
    pub fn body_limit(&self) -> usize {
        self.body_limit
    }

    /// The replay guard, if one is configured.
    pub fn replay_guard(&self) -> Option<&Arc<dyn AsyncReplayGuard>> {
        self.replay_guard.as_ref()
    }

    /// The current Unix time, from the configured clock.
    ///
    /// Not compiled on `wasm32-unknown-unknown` without the `wasm` feature, where there
    /// is no system clock to fall back on (see [`unix_now`](crate::unix_now)).
    #[cfg(any(
        not(all(target_arch = "wasm32", target_os = "unknown")),
        feature = "wasm"
    ))]
    pub fn now(&self) -> i64 {
        match &self.clock {
            Some(clock) => clock(),
            None => crate::time::unix_now(),
        }
    }

    /// The checks that need no body, at `now`: the signature header, the replay
    /// window, the bearer token, then the announced `Content-Length` against the body
    /// limit. Call it before reading a byte of the body.
    pub fn check_head_at<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        content_length: Option<u64>,
        now: i64,
    ) -> Result<(), Rejection> {
        self.verifier
            .check_headers_at(headers, now)
            .map_err(|e| rejected(Rejection::Verify(e), None))?;
        let limit = u64::try_from(self.body_limit).unwrap_or(u64::MAX);
        match content_length {
            Some(len) if len > limit => Err(rejected(
                Rejection::PayloadTooLarge {
                    limit: self.body_limit,
                },
                None,
            )),
            _ => Ok(()),
        }
    }

    /// An empty buffer for the body, bounded by the body limit.
    ///
    /// The announced length is reserved from the memory budget at once:
    /// [`Rejection::Busy`] (503) when it does not fit.
    pub fn body_buffer(&self, content_length: Option<u64>) -> Result<BodyBuffer, Rejection> {
        BodyBuffer::reserve(self.body_limit, content_length, &self.budget)
    }

    /// Verifies the complete delivery at `now`, parses it as `T`, then claims its
    /// dedupe key with the replay guard (if any).
    ///
    /// Parse failures (422) are not claimed, so Nexio's retry is processed once the
    /// receiver is fixed. The returned [`NexioWebhook`] holds the claim: see there
    /// how it is settled.
    pub async fn accept_at<T, H>(
        &self,
        headers: &H,
        body: &[u8],
        now: i64,
    ) -> Result<NexioWebhook<T>, Rejection>
    where
        T: FromVerified,
        H: HeaderSource + ?Sized,
    {
        self.accept_inner(headers, body, now, true).await
    }

    /// [`accept_at`](Self::accept_at) for a request the verifying layer or middleware
    /// has already claimed: verified at the layer's instant, parsed, not claimed again.
    #[cfg_attr(not(any(feature = "axum", feature = "actix-web")), allow(dead_code))]
    pub(crate) async fn accept_behind_layer<T, H>(
        &self,
        headers: &H,
        body: &[u8],
        now: i64,
    ) -> Result<NexioWebhook<T>, Rejection>
    where
        T: FromVerified,
        H: HeaderSource + ?Sized,
    {
        self.accept_inner(headers, body, now, false).await
    }

    async fn accept_inner<T, H>(
        &self,
        headers: &H,
        body: &[u8],
        now: i64,
        claim: bool,
    ) -> Result<NexioWebhook<T>, Rejection>
    where
        T: FromVerified,
        H: HeaderSource + ?Sized,
    {
        let verified = self
            .verifier
            .verify_at(headers, body, now)
            .map_err(|e| rejected(Rejection::Verify(e), None))?;
        let info = verified.info();
        let dedupe_key = verified.dedupe_key().ok().map(|k| k.into_owned());
        #[cfg(feature = "tracing")]
        let event_type = crate::head::scan(body)
            .and_then(|h| h.event_type)
            .and_then(|t| t.decode())
            .map(|t| t.into_owned());
        let event =
            T::from_verified(&verified).map_err(|e| rejected(Rejection::Parse(e), Some(&info)))?;
        let held = if claim {
            self.claim_at(dedupe_key.as_deref(), &info, now).await?
        } else {
            None
        };

        #[cfg(feature = "tracing")]
        tracing::info!(
            event_type = event_type.as_deref(),
            event_id = dedupe_key.as_deref(),
            delivery_id = info.delivery_id.as_deref(),
            key_id = %info.key_id,
            skew = info.skew,
            "nexio webhook accepted"
        );

        Ok(NexioWebhook::new(event, info, dedupe_key, held, !claim))
    }

    /// What the verifying layer and middleware do with a complete body: verify at
    /// `now`, check the envelope (`id`, `type`, `webhook_version` under the
    /// verifier's version policy; see `Verified::check_envelope`), so a delivery
    /// nobody can process is 422 before any handler runs, and claim its dedupe key.
    #[cfg_attr(not(any(feature = "tower", feature = "actix-web")), allow(dead_code))]
    pub(crate) async fn accept_for_layer<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
        now: i64,
    ) -> Result<(crate::extract::VerifiedDelivery, Option<Claim>), Rejection> {
        let hook: NexioWebhook<crate::extract::Envelope> =
            self.accept_at(headers, body, now).await?;
        let (_, delivery, claim) = hook.into_parts_with_key();
        Ok((delivery, claim))
    }

    /// Claims `dedupe_key` for a verified delivery (nothing without a guard).
    ///
    /// `Ok(None)` without a guard; `Ok(Some(claim))` when this request now holds the
    /// key; [`Rejection::Duplicate`] (200) for a processed key,
    /// [`Rejection::InProgress`] (409) for a held one, [`Rejection::ReplayGuard`]
    /// (503) when the guard cannot answer, and 422 `invalid_event` for a body without
    /// an `id` when a guard is configured.
    pub(crate) async fn claim_at(
        &self,
        dedupe_key: Option<&str>,
        info: &DeliveryInfo,
        now: i64,
    ) -> Result<Option<Claim>, Rejection> {
        let Some(guard) = &self.replay_guard else {
            return Ok(None);
        };
        let Some(key) = dedupe_key else {
            return Err(rejected(
                Rejection::Parse(ParseError::InvalidEvent {
                    reason: InvalidEventReason::Envelope,
                }),
                Some(info),
            ));
        };
        match guard.claim(key, info.replayable_until, now).await {
            Ok(ClaimOutcome::Claimed(ticket)) => {
                Ok(Some(Claim::new(ticket, Arc::clone(guard), self.clock(now))))
            }
            Ok(ClaimOutcome::Done) => Err(rejected(Rejection::Duplicate, Some(info))),
            Ok(ClaimOutcome::InProgress { retry_after_secs }) => Err(rejected(
                Rejection::InProgress { retry_after_secs },
                Some(info),
            )),
            Err(e) => Err(rejected(Rejection::ReplayGuard(e), Some(info))),
        }
    }

    /// The configured clock, or the system's; where there is none
    /// (`wasm32-unknown-unknown` without the `wasm` feature), the time of the claim,
    /// so that completing it records that time instead of panicking.
    pub(crate) fn clock(&self, claimed_at: i64) -> Clock {
        match &self.clock {
            Some(clock) => Arc::clone(clock),
            #[cfg(any(
                not(all(target_arch = "wasm32", target_os = "unknown")),
                feature = "wasm"
            ))]
            None => {
                let _ = claimed_at;
                Arc::new(crate::time::unix_now)
            }
            #[cfg(not(any(
                not(all(target_arch = "wasm32", target_os = "unknown")),
                feature = "wasm"
            )))]
            None => Arc::new(move || claimed_at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::VerifyError;
    use crate::event::Event;
    use crate::extract::RawBody;
    use crate::replay::ReplayGuardError;
    use crate::{InMemoryReplayGuard, Secret, Signer, sample};
    use core::future::Future;

    const T0: i64 = 1_774_180_800;

    fn receiver() -> Receiver {
        Receiver::new(Verifier::new(Secret::new("whsec_abc123def456").unwrap()))
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        // Every future here is ready at its first poll (sync guards, no I/O).
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("future not ready"),
        }
    }

    #[test]
    fn public_types_are_send_and_sync() {
        fn both<T: Send + Sync>() {}
        both::<Receiver>();
        both::<Rejection>();
        both::<BodyBuffer>();
        both::<RawBody>();
        both::<Claim>();
        both::<crate::VerifiedDelivery>();
        both::<NexioWebhook<Event>>();
        both::<NexioWebhook<RawBody>>();
        both::<Arc<dyn AsyncReplayGuard>>();
    }

    #[test]
    fn content_length_over_the_limit_is_refused_after_the_header_checks() {
        let secret = Secret::new("whsec_abc123def456").unwrap();
        let d = Signer::new(secret)
            .delivery(sample::RUN_COMPLETED)
            .timestamp(T0)
            .build();
        let r = receiver().with_body_limit(100);
        assert_eq!(
            r.check_head_at(&d, Some(101), T0),
            Err(Rejection::PayloadTooLarge { limit: 100 })
        );
        assert_eq!(r.check_head_at(&d, Some(100), T0), Ok(()));
        assert_eq!(r.check_head_at(&d, None, T0), Ok(()));
        // A missing signature is reported first.
        let none: [(&str, &str); 0] = [];
        assert_eq!(
            r.check_head_at(&none[..], Some(u64::MAX), T0),
            Err(Rejection::Verify(VerifyError::MissingSignature))
        );
    }

    #[test]
    fn claim_then_in_progress_then_complete_then_duplicate() {
        let guard = Arc::new(InMemoryReplayGuard::new(10));
        let r = receiver().with_replay_guard(Arc::clone(&guard));
        let d = Signer::new(Secret::new("whsec_abc123def456").unwrap())
            .delivery(sample::RUN_FAILED)
            .timestamp(T0)
            .build();
        let ok: NexioWebhook = block_on(r.accept_at(&d, d.body(), T0 + 1)).unwrap();
        assert_eq!(ok.event.event_type(), "run.failed");
        assert_eq!(ok.dedupe_key.as_deref(), Some(ok.event.id()));
        assert_eq!(ok.info.skew, 1);
        assert!(ok.is_claimed());
        assert!(!ok.is_behind_layer());
        let busy = block_on(r.accept_at::<Event, _>(&d, d.body(), T0 + 2)).unwrap_err();
        assert_eq!(busy.status(), 409);
        assert!(busy.retry_after().is_some());
        block_on(ok.complete()).unwrap();
        let dup = block_on(r.accept_at::<Event, _>(&d, d.body(), T0 + 3));
        assert_eq!(dup.unwrap_err(), Rejection::Duplicate);
    }

    #[test]
    fn a_claim_dropped_unsettled_is_released() {
        let guard = Arc::new(InMemoryReplayGuard::new(10));
        let r = receiver().with_replay_guard(Arc::clone(&guard));
        let d = Signer::new(Secret::new("whsec_abc123def456").unwrap())
            .delivery(sample::RUN_FAILED)
            .timestamp(T0)
            .build();
        {
            let hook: NexioWebhook = block_on(r.accept_at(&d, d.body(), T0)).unwrap();
            // Moving the event out leaves the claim to be dropped with the rest, at
            // the end of the scope.
            let event = hook.event;
            assert_eq!(event.event_type(), "run.failed");
            assert_eq!(guard.len(), 1);
        }
        assert!(guard.is_empty());
        let again: NexioWebhook = block_on(r.accept_at(&d, d.body(), T0)).unwrap();
        block_on(again.release()).unwrap();
        assert!(guard.is_empty());
        // A claim taken out lives on after the extractor.
        let mut hook: NexioWebhook = block_on(r.accept_at(&d, d.body(), T0)).unwrap();
        let claim = hook.take_claim().unwrap();
        drop(hook);
        assert_eq!(guard.len(), 1);
        block_on(claim.complete()).unwrap();
        assert_eq!(
            block_on(r.accept_at::<Event, _>(&d, d.body(), T0)).unwrap_err(),
            Rejection::Duplicate
        );
    }

    #[test]
    fn behind_the_layer_nothing_is_claimed_again() {
        let guard = Arc::new(InMemoryReplayGuard::new(10));
        let r = receiver().with_replay_guard(Arc::clone(&guard));
        let d = Signer::new(Secret::new("whsec_abc123def456").unwrap())
            .delivery(sample::RUN_FAILED)
            .timestamp(T0)
            .build();
        let hook: NexioWebhook = block_on(r.accept_behind_layer(&d, d.body(), T0)).unwrap();
        assert!(!hook.is_claimed());
        assert!(hook.is_behind_layer());
        assert!(guard.is_empty());
        block_on(hook.complete()).unwrap();
        assert!(guard.is_empty());
    }

    #[test]
    fn a_full_guard_is_503_with_retry_after() {
        let guard = Arc::new(InMemoryReplayGuard::new(1));
        let r = receiver().with_replay_guard(Arc::clone(&guard));
        let signer = Signer::new(Secret::new("whsec_abc123def456").unwrap());
        let a = signer
            .delivery(r#"{"id":"evt_a","type":"x"}"#)
            .timestamp(T0)
            .build();
        let b = signer
            .delivery(r#"{"id":"evt_b","type":"x"}"#)
            .timestamp(T0)
            .build();
        let _held = block_on(r.accept_at::<RawBody, _>(&a, a.body(), T0)).unwrap();
        let e = block_on(r.accept_at::<RawBody, _>(&b, b.body(), T0)).unwrap_err();
        assert_eq!(e, Rejection::ReplayGuard(ReplayGuardError::Full));
        assert_eq!(e.status(), 503);
        assert_eq!(
            e.retry_after(),
            Some(crate::rejection::GUARD_RETRY_AFTER_SECS)
        );
    }

    #[test]
    fn parse_failures_are_not_recorded() {
        let guard = Arc::new(InMemoryReplayGuard::new(10));
        let r = receiver().with_replay_guard(Arc::clone(&guard));
        let d = Signer::new(Secret::new("whsec_abc123def456").unwrap())
            .delivery(r#"{"id":"evt_1","type":"run.completed","webhook_version":"2099-01-01"}"#)
            .timestamp(T0)
            .build();
        let e = block_on(r.accept_at::<Event, _>(&d, d.body(), T0)).unwrap_err();
        assert_eq!(e, Rejection::Parse(ParseError::UnsupportedVersion));
        assert_eq!(e.status(), 422);
        assert!(guard.is_empty());
        // No id: cannot be deduplicated.
        let d = Signer::new(Secret::new("whsec_abc123def456").unwrap())
            .delivery(r#"{"type":"x"}"#)
            .timestamp(T0)
            .build();
        let e = block_on(r.accept_at::<RawBody, _>(&d, d.body(), T0)).unwrap_err();
        assert_eq!(e.code(), "invalid_event");
        // Without a guard, a raw body needs no id.
        let raw = block_on(receiver().accept_at::<RawBody, _>(&d, d.body(), T0)).unwrap();
        assert_eq!(raw.event.as_bytes(), d.body());
        assert_eq!(raw.dedupe_key, None);
        assert!(!raw.is_claimed());
    }

    #[test]
    fn every_rejection_code_status_and_body() {
        let cases = [
            (
                Rejection::Verify(VerifyError::MissingSignature),
                400,
                "missing_signature",
            ),
            (
                Rejection::Verify(VerifyError::SignatureMismatch),
                401,
                "signature_mismatch",
            ),
            (
                Rejection::PayloadTooLarge { limit: 1 },
                413,
                "payload_too_large",
            ),
            (Rejection::BodyRead, 400, "body_read_failed"),
            (Rejection::BodyTimeout, 408, "body_read_timeout"),
            (Rejection::Busy, 503, "receiver_busy"),
            (
                Rejection::Parse(ParseError::UnsupportedVersion),
                422,
                "unsupported_version",
            ),
            (Rejection::Misconfigured, 500, "receiver_misconfigured"),
            (
                Rejection::ReplayGuard(ReplayGuardError::Full),
                503,
                "replay_guard_full",
            ),
            (
                Rejection::ReplayGuard(ReplayGuardError::Unavailable),
                503,
                "replay_guard_unavailable",
            ),
            (
                Rejection::InProgress {
                    retry_after_secs: 3,
                },
                409,
                "delivery_in_progress",
            ),
            (Rejection::Duplicate, 200, "duplicate"),
        ];
        for (r, status, code) in cases {
            assert_eq!(r.status(), status, "{r:?}");
            assert_eq!(r.code(), code);
            let body: serde_json::Value = serde_json::from_str(&r.body()).unwrap();
            let expected = if r == Rejection::Duplicate {
                serde_json::json!({ "status": "duplicate" })
            } else {
                serde_json::json!({ "error": code })
            };
            assert_eq!(body, expected);
            assert!(!r.to_string().is_empty());
        }
        assert_eq!(
            Rejection::Verify(VerifyError::TimestampTooNew { ahead_secs: 7 }).skew(),
            Some(-7)
        );
    }

    #[test]
    fn every_rejection_message_is_pinned() {
        let cases = [
            (
                Rejection::Verify(VerifyError::SignatureMismatch),
                "delivery not verified: no signature matches any configured secret",
            ),
            (
                Rejection::PayloadTooLarge { limit: 1024 },
                "body is larger than the 1024-byte limit",
            ),
            (Rejection::BodyRead, "the body could not be read"),
            (
                Rejection::BodyTimeout,
                "the body did not arrive within the read deadline",
            ),
            (
                Rejection::Busy,
                "the receiver's memory budget for bodies is exhausted",
            ),
            (
                Rejection::Parse(ParseError::UnsupportedVersion),
                "verified delivery not usable: unsupported webhook_version: expected 2026-03-22",
            ),
            (
                Rejection::Misconfigured,
                "receiver misconfigured: no nexio_webhooks::Receiver in app state",
            ),
            (
                Rejection::ReplayGuard(ReplayGuardError::Full),
                "replay guard could not answer: replay guard is full",
            ),
            (
                Rejection::InProgress {
                    retry_after_secs: 3,
                },
                "delivery is being processed by another request; retry in 3 s",
            ),
            (
                Rejection::ReplayGuard(ReplayGuardError::LeaseLost),
                "replay guard could not answer: the claim's lease ran out and the key has a newer owner",
            ),
            (
                Rejection::Duplicate,
                "duplicate of a delivery already processed",
            ),
        ];
        for (r, message) in cases {
            assert_eq!(r.to_string(), message);
        }
    }
}
