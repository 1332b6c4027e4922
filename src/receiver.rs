//! The framework-free half of the HTTP adapters (CONTRACT §8): the receiver
//! configuration, the body limit, the async replay guard, the rejection classes and
//! their JSON bodies — written once, used by the `axum` and `actix-web` extractors
//! alike, and usable from any other HTTP stack.
//!
//! Nothing here does I/O: the frameworks read the body, this module decides.
//!
//! The order every adapter follows:
//!
//! 1. [`Receiver::check_head_at`] — the checks that need no body (signature header,
//!    replay window, bearer token, `Content-Length` against the limit). A missing,
//!    malformed, stale or future signature is refused **before the body is read**.
//! 2. The body is read into a [`BodyBuffer`], which refuses the first byte past the
//!    limit (a chunked body is not read further).
//! 3. [`Receiver::accept_at`] — verify the MAC against the exact bytes, parse, then
//!    ask the replay guard.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use std::sync::Arc;

use http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::{InvalidEventReason, ParseError, VerifyError};
use crate::event::Event;
use crate::headers::HeaderSource;
use crate::replay::{ReplayGuard, ReplayGuardError, ReplayStatus};
use crate::time::unix_now;
use crate::verified::{DeliveryInfo, Verified};
use crate::verifier::Verifier;

/// The default body limit: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// The `Content-Type` of every rejection body.
pub const REJECTION_CONTENT_TYPE: &str = "application/json";

/// Never pre-allocate more than this from a `Content-Length` the sender announced:
/// the buffer grows as bytes actually arrive.
const MAX_PREALLOCATION: usize = 64 * 1024;

/// A boxed, `Send` future, as [`AsyncReplayGuard`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A replay guard as the adapters use it: [`ReplayGuard`] with async methods, so a
/// guard backed by a network store (Redis, a database) plugs into the same
/// extractors.
///
/// Every synchronous [`ReplayGuard`] — [`InMemoryReplayGuard`](crate::InMemoryReplayGuard),
/// an `Arc` of one, your own — is an `AsyncReplayGuard` through a blanket impl.
///
/// ```
/// use nexio_webhooks::{AsyncReplayGuard, BoxFuture, ReplayGuardError, ReplayStatus};
///
/// struct RemoteGuard; // e.g. a connection pool
///
/// impl AsyncReplayGuard for RemoteGuard {
///     fn check_and_record<'a>(
///         &'a self,
///         key: &'a str,
///         remember_until: i64,
///         now: i64,
///     ) -> BoxFuture<'a, Result<ReplayStatus, ReplayGuardError>> {
///         Box::pin(async move {
///             // SET key 1 NX EXAT remember_until → Fresh; otherwise Duplicate.
///             let _ = (key, remember_until, now);
///             Err(ReplayGuardError::Unavailable)
///         })
///     }
///
///     fn forget<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()> {
///         Box::pin(async move {
///             let _ = key; // DEL key
///         })
///     }
/// }
/// ```
pub trait AsyncReplayGuard: Send + Sync {
    /// Atomically: if `key` is recorded and not expired at `now`, answers
    /// `Duplicate`; otherwise records it until `remember_until` (Unix seconds,
    /// inclusive) and answers `Fresh`. See [`ReplayGuard::check_and_record`].
    fn check_and_record<'a>(
        &'a self,
        key: &'a str,
        remember_until: i64,
        now: i64,
    ) -> BoxFuture<'a, Result<ReplayStatus, ReplayGuardError>>;

    /// Forgets `key`, so a later delivery of it is processed again.
    fn forget<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()>;
}

impl<G: ReplayGuard + ?Sized> AsyncReplayGuard for G {
    fn check_and_record<'a>(
        &'a self,
        key: &'a str,
        remember_until: i64,
        now: i64,
    ) -> BoxFuture<'a, Result<ReplayStatus, ReplayGuardError>> {
        Box::pin(async move { ReplayGuard::check_and_record(self, key, remember_until, now) })
    }

    fn forget<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move { ReplayGuard::forget(self, key) })
    }
}

type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

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
    replay_guard: Option<Arc<dyn AsyncReplayGuard>>,
    clock: Option<Clock>,
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("verifier", &self.verifier)
            .field("body_limit", &self.body_limit)
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
            replay_guard: None,
            clock: None,
        }
    }

    /// Sets the body limit in bytes: a longer body is answered 413 without being
    /// buffered past the limit.
    #[must_use]
    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Deduplicates with `guard`: a delivery whose dedupe key (the signed event id) was
    /// already accepted is answered `200 {"status":"duplicate"}` without calling the
    /// handler. Any synchronous [`ReplayGuard`] fits, as does an [`AsyncReplayGuard`].
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
    pub fn now(&self) -> i64 {
        match &self.clock {
            Some(clock) => clock(),
            None => unix_now(),
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
    pub fn body_buffer(&self, content_length: Option<u64>) -> BodyBuffer {
        BodyBuffer::new(self.body_limit, content_length)
    }

    /// Verifies the complete delivery at `now`, parses it as `T`, then asks the
    /// replay guard (if any).
    ///
    /// Parse failures (422) are not recorded by the guard, so Nexio's retry is
    /// processed once the receiver is fixed.
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

        let guard = match &self.replay_guard {
            None => None,
            Some(guard) => {
                let Some(key) = dedupe_key.as_deref() else {
                    return Err(rejected(
                        Rejection::Parse(ParseError::InvalidEvent {
                            reason: InvalidEventReason::Envelope,
                        }),
                        Some(&info),
                    ));
                };
                match guard
                    .check_and_record(key, info.replayable_until, now)
                    .await
                {
                    Ok(ReplayStatus::Fresh) => Some(Arc::clone(guard)),
                    Ok(ReplayStatus::Duplicate) => {
                        return Err(rejected(Rejection::Duplicate, Some(&info)));
                    }
                    Err(e) => return Err(rejected(Rejection::ReplayGuard(e), Some(&info))),
                }
            }
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

        Ok(NexioWebhook {
            event,
            info,
            dedupe_key,
            guard,
        })
    }
}

/// Logs a rejection (with the `tracing` feature) and hands it back.
///
/// Authentication failures at `warn`, everything else at `debug`; the fields are the
/// code, the status, and the key id and skew when known. Never the secret, a MAC or
/// the body.
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
pub(crate) fn rejected(rejection: Rejection, info: Option<&DeliveryInfo>) -> Rejection {
    #[cfg(feature = "tracing")]
    {
        let code = rejection.code();
        let status = rejection.status().as_u16();
        let key_id = info.map(|i| tracing::field::display(i.key_id));
        let skew = info.map(|i| i.skew).or_else(|| rejection.skew());
        if rejection.is_authentication_failure() {
            tracing::warn!(code, status, key_id, skew, "nexio webhook rejected");
        } else {
            tracing::debug!(code, status, key_id, skew, "nexio webhook rejected");
        }
    }
    rejection
}

/// A body being read, bounded by the receiver's limit.
///
/// [`BodyBuffer::push`] refuses the chunk that would take the body past the limit,
/// so an adapter stops reading at the first byte too many.
#[derive(Debug)]
pub struct BodyBuffer {
    bytes: Vec<u8>,
    limit: usize,
}

impl BodyBuffer {
    /// An empty buffer for at most `limit` bytes. The announced `content_length` only
    /// sizes the first allocation (capped at 64 KiB); it is never trusted beyond that.
    pub fn new(limit: usize, content_length: Option<u64>) -> Self {
        let hint = content_length
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(0)
            .min(limit)
            .min(MAX_PREALLOCATION);
        Self {
            bytes: Vec::with_capacity(hint),
            limit,
        }
    }

    /// Appends a chunk, or refuses it with [`Rejection::PayloadTooLarge`] if the body
    /// would then exceed the limit.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), Rejection> {
        let room = self.limit.saturating_sub(self.bytes.len());
        if chunk.len() > room {
            return Err(rejected(
                Rejection::PayloadTooLarge { limit: self.limit },
                None,
            ));
        }
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }

    /// How many bytes have been read.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether nothing has been read.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The body read so far.
    pub fn into_vec(self) -> Vec<u8> {
        self.bytes
    }
}

/// Why an adapter did not hand a delivery to the handler, and the reply it gives
/// (CONTRACT §8).
///
/// Each rejection has a stable [`code`](Self::code), a [`status`](Self::status) and a
/// short JSON [`body`](Self::body) naming the code only — never the secret, the
/// expected MAC or the payload. With the `axum` feature it is an
/// `IntoResponse`; with `actix-web`, a `ResponseError`.
///
/// | rejection | status | body |
/// | --- | --- | --- |
/// | [`Verify`](Self::Verify): malformed or missing signature header | 400 | `{"error":"<code>"}` |
/// | [`Verify`](Self::Verify): bad signature, stale/future timestamp, bearer token | 401 | `{"error":"<code>"}` |
/// | [`PayloadTooLarge`](Self::PayloadTooLarge) | 413 | `{"error":"payload_too_large"}` |
/// | [`BodyRead`](Self::BodyRead): the body could not be read | 400 | `{"error":"body_read_failed"}` |
/// | [`Parse`](Self::Parse): verified, but unparseable or unsupported version | 422 | `{"error":"<code>"}` |
/// | [`Misconfigured`](Self::Misconfigured): no [`Receiver`] in app state | 500 | `{"error":"receiver_misconfigured"}` |
/// | [`ReplayGuard`](Self::ReplayGuard): guard full or unreachable | 503 | `{"error":"<code>"}` |
/// | [`Duplicate`](Self::Duplicate): already accepted | **200** | `{"status":"duplicate"}` |
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The delivery failed verification (400 or 401, see [`VerifyError::status`]).
    Verify(VerifyError),
    /// The body is longer than the limit (413). Not read past the limit.
    PayloadTooLarge {
        /// The configured limit, in bytes.
        limit: usize,
    },
    /// The body could not be read (the client went away, or sent a broken
    /// encoding): 400.
    BodyRead,
    /// Verified, but not a usable event (422): Nexio retries; the operator must act.
    Parse(ParseError),
    /// No [`Receiver`] was found in the application state (500).
    Misconfigured,
    /// The replay guard could not answer (503): nothing was processed; Nexio retries.
    ReplayGuard(ReplayGuardError),
    /// A duplicate of a delivery already accepted: answered **200** so Nexio stops
    /// retrying, without calling the handler again.
    Duplicate,
}

impl Rejection {
    /// The stable machine code, e.g. `signature_mismatch`, `payload_too_large`,
    /// `duplicate`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Verify(e) => e.code(),
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::BodyRead => "body_read_failed",
            Self::Parse(e) => e.code(),
            Self::Misconfigured => "receiver_misconfigured",
            Self::ReplayGuard(e) => e.code(),
            Self::Duplicate => "duplicate",
        }
    }

    /// The HTTP status to answer with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Verify(e) => e.status(),
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyRead => StatusCode::BAD_REQUEST,
            Self::Parse(e) => e.status(),
            Self::Misconfigured => StatusCode::INTERNAL_SERVER_ERROR,
            Self::ReplayGuard(e) => e.status(),
            Self::Duplicate => StatusCode::OK,
        }
    }

    /// The JSON response body: `{"error":"<code>"}`, or `{"status":"duplicate"}`.
    ///
    /// ```
    /// use nexio_webhooks::{Rejection, VerifyError};
    ///
    /// let r = Rejection::Verify(VerifyError::SignatureMismatch);
    /// assert_eq!(r.status(), 401);
    /// assert_eq!(r.body(), r#"{"error":"signature_mismatch"}"#);
    /// assert_eq!(Rejection::Duplicate.body(), r#"{"status":"duplicate"}"#);
    /// ```
    pub fn body(&self) -> String {
        // Codes are static snake_case ASCII: nothing to escape.
        match self {
            Self::Duplicate => String::from(r#"{"status":"duplicate"}"#),
            other => format!(r#"{{"error":"{}"}}"#, other.code()),
        }
    }

    /// Whether this is an authentication failure (401), logged at `warn`.
    pub fn is_authentication_failure(&self) -> bool {
        matches!(self, Self::Verify(e) if e.is_authentication_failure())
    }

    /// The skew carried by a stale or future timestamp, as in
    /// [`Verified::skew`] (positive: old; negative: ahead).
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    fn skew(&self) -> Option<i64> {
        match self {
            Self::Verify(VerifyError::TimestampTooOld { age_secs }) => {
                Some(i64::try_from(*age_secs).unwrap_or(i64::MAX))
            }
            Self::Verify(VerifyError::TimestampTooNew { ahead_secs }) => {
                Some(i64::try_from(*ahead_secs).map_or(i64::MIN, |a| a.saturating_neg()))
            }
            _ => None,
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Verify(e) => write!(f, "delivery not verified: {e}"),
            Self::PayloadTooLarge { limit } => {
                write!(f, "body is larger than the {limit}-byte limit")
            }
            Self::BodyRead => f.write_str("the body could not be read"),
            Self::Parse(e) => write!(f, "verified delivery not usable: {e}"),
            Self::Misconfigured => {
                f.write_str("receiver misconfigured: no nexio_webhooks::Receiver in app state")
            }
            Self::ReplayGuard(e) => write!(f, "replay guard could not answer: {e}"),
            Self::Duplicate => f.write_str("duplicate of a delivery already accepted"),
        }
    }
}

impl std::error::Error for Rejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Verify(e) => Some(e),
            Self::Parse(e) => Some(e),
            Self::ReplayGuard(e) => Some(e),
            _ => None,
        }
    }
}

impl From<VerifyError> for Rejection {
    fn from(e: VerifyError) -> Self {
        Self::Verify(e)
    }
}

impl From<ParseError> for Rejection {
    fn from(e: ParseError) -> Self {
        Self::Parse(e)
    }
}

impl From<ReplayGuardError> for Rejection {
    fn from(e: ReplayGuardError) -> Self {
        Self::ReplayGuard(e)
    }
}

/// What a verified body is turned into for the handler.
///
/// Implemented for [`Event`] (the typed event, under the verifier's
/// [`VersionPolicy`](crate::VersionPolicy)), for [`RawBody`] (the verified bytes,
/// unparsed), and for every `serde::de::DeserializeOwned` type (your own event type,
/// or `serde_json::Value`), deserialized from the verified bytes.
pub trait FromVerified: Sized {
    /// Builds `Self` from the verified delivery; a failure is answered 422.
    fn from_verified(verified: &Verified<'_>) -> Result<Self, ParseError>;
}

impl FromVerified for Event {
    fn from_verified(verified: &Verified<'_>) -> Result<Self, ParseError> {
        verified.event()
    }
}

impl<T: DeserializeOwned> FromVerified for T {
    fn from_verified(verified: &Verified<'_>) -> Result<Self, ParseError> {
        verified.json()
    }
}

/// The verified body bytes, exactly as signed and unparsed: for receivers that queue
/// the raw delivery and parse it later (for example with
/// [`dangerous::parse_unverified_event`](crate::dangerous::parse_unverified_event)
/// in a worker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawBody(Vec<u8>);

impl RawBody {
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The bytes, owned.
    pub fn into_vec(self) -> Vec<u8> {
        self.0
    }
}

impl AsRef<[u8]> for RawBody {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl FromVerified for RawBody {
    fn from_verified(verified: &Verified<'_>) -> Result<Self, ParseError> {
        Ok(Self(verified.body().to_vec()))
    }
}

/// A verified, parsed delivery: what the `axum` and `actix-web` extractors hand to
/// the handler.
///
/// `event` is the body as `T` (default [`Event`]); `info` the owned metadata (signed
/// timestamp, skew, matched key id, unsigned delivery id, header mismatches);
/// `dedupe_key` the signed event id.
///
/// **Releasing the key.** With a replay guard, the dedupe key is recorded *before*
/// the handler runs, so a concurrent retry is answered `duplicate`. If your
/// processing then fails and you want Nexio's retry to be processed, call
/// [`NexioWebhook::forget`] (or keep a [`NexioWebhook::replay_key`] for work done
/// later) before answering a non-2xx status.
pub struct NexioWebhook<T = Event> {
    /// The verified body, parsed.
    pub event: T,
    /// The delivery's metadata.
    pub info: DeliveryInfo,
    /// The signed event id (`None` only when the body has none and no replay guard is
    /// configured).
    pub dedupe_key: Option<String>,
    guard: Option<Arc<dyn AsyncReplayGuard>>,
}

impl<T: fmt::Debug> fmt::Debug for NexioWebhook<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NexioWebhook")
            .field("event", &self.event)
            .field("info", &self.info)
            .field("dedupe_key", &self.dedupe_key)
            .field("recorded", &self.guard.is_some())
            .finish()
    }
}

impl<T> NexioWebhook<T> {
    /// The parsed body.
    pub fn into_event(self) -> T {
        self.event
    }

    /// Whether a replay guard recorded this delivery's key.
    pub fn is_recorded(&self) -> bool {
        self.guard.is_some()
    }

    /// Forgets this delivery's key in the replay guard (no-op without one), so
    /// Nexio's next retry of it is processed. Call it when handling failed.
    ///
    /// The future owns what it needs: it can be awaited in the handler or moved into
    /// a task.
    pub fn forget(&self) -> BoxFuture<'static, ()> {
        let key = self.replay_key();
        Box::pin(async move {
            if let Some(key) = key {
                key.forget().await;
            }
        })
    }

    /// An owned handle on the recorded key, for processing that finishes after the
    /// response (`None` without a replay guard).
    pub fn replay_key(&self) -> Option<ReplayKey> {
        match (&self.guard, &self.dedupe_key) {
            (Some(guard), Some(key)) => Some(ReplayKey {
                key: key.clone(),
                guard: Arc::clone(guard),
            }),
            _ => None,
        }
    }
}

/// A dedupe key recorded in a replay guard, detached from the request.
#[derive(Clone)]
pub struct ReplayKey {
    key: String,
    guard: Arc<dyn AsyncReplayGuard>,
}

impl ReplayKey {
    /// The key (the signed event id).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Forgets the key, so Nexio's next retry of the delivery is processed.
    pub async fn forget(self) {
        self.guard.forget(&self.key).await;
    }
}

impl fmt::Debug for ReplayKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayKey").field("key", &self.key).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{InMemoryReplayGuard, Secret, Signer, sample};

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
        both::<ReplayKey>();
        both::<NexioWebhook<Event>>();
        both::<NexioWebhook<RawBody>>();
        both::<Arc<dyn AsyncReplayGuard>>();
    }

    #[test]
    fn body_buffer_stops_at_the_first_byte_past_the_limit() {
        let mut b = BodyBuffer::new(10, Some(u64::MAX));
        assert!(b.bytes.capacity() <= 10);
        b.push(b"12345").unwrap();
        b.push(b"12345").unwrap();
        assert_eq!(b.push(b"x"), Err(Rejection::PayloadTooLarge { limit: 10 }));
        assert_eq!(b.len(), 10);
        let big = BodyBuffer::new(DEFAULT_BODY_LIMIT, Some(u64::MAX));
        assert!(big.bytes.capacity() <= MAX_PREALLOCATION);
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
    fn accept_then_duplicate_then_forget() {
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
        assert!(ok.is_recorded());
        let dup = block_on(r.accept_at::<Event, _>(&d, d.body(), T0 + 2));
        assert_eq!(dup.unwrap_err(), Rejection::Duplicate);
        block_on(ok.forget());
        assert!(guard.is_empty());
        assert!(block_on(r.accept_at::<Event, _>(&d, d.body(), T0 + 3)).is_ok());
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
        assert!(raw.replay_key().is_none());
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
                Rejection::Duplicate,
                "duplicate of a delivery already accepted",
            ),
        ];
        for (r, message) in cases {
            assert_eq!(r.to_string(), message);
        }
    }
}
