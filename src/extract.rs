//! What the handler receives: the verified delivery parsed as `T`
//! ([`NexioWebhook`]), the conversions from verified bytes ([`FromVerified`]), and
//! the metadata the verifying layer and middleware hand on ([`VerifiedDelivery`]).

use core::fmt;

use serde::de::DeserializeOwned;

use crate::claim::Claim;
use crate::error::ParseError;
use crate::event::Event;
use crate::replay::ReplayGuardError;
use crate::verified::{DeliveryInfo, Verified};

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

/// The verifying layer's check of a verified body (see `Verified::check_envelope`):
/// nothing kept, since the inner service parses the body itself.
#[cfg_attr(not(any(feature = "tower", feature = "actix-web")), allow(dead_code))]
pub(crate) struct Envelope;

impl FromVerified for Envelope {
    fn from_verified(verified: &Verified<'_>) -> Result<Self, ParseError> {
        verified.check_envelope().map(|()| Self)
    }
}

/// A verified, parsed delivery: what the `axum` and `actix-web` extractors hand to
/// the handler.
///
/// `event` is the body as `T` (default [`Event`]); `info` the owned metadata (signed
/// timestamp, skew, matched key id, unsigned delivery id, header mismatches);
/// `dedupe_key` the signed event id.
///
/// **Exactly once.** With a replay guard, the extractor *claims* the delivery before
/// the handler runs: concurrent copies are answered 409 (retry later), copies of a
/// processed delivery `200 {"status":"duplicate"}`. Once your processing succeeded,
/// call [`complete`](Self::complete) before answering 2xx; if you return without
/// it — an error, an early return, a panic, a dropped request — the claim is
/// released and Nexio's retry is processed. Nothing is lost; a delivery you
/// completed is never processed again within the retention.
///
/// ```
/// # #[cfg(feature = "axum")]
/// # mod m {
/// use nexio_webhooks::axum::NexioWebhook;
///
/// # async fn store(_: &nexio_webhooks::Event) -> Result<(), ()> { Ok(()) }
/// async fn webhook(hook: NexioWebhook) -> Result<&'static str, http::StatusCode> {
///     store(&hook.event)
///         .await
///         .map_err(|_| http::StatusCode::INTERNAL_SERVER_ERROR)?; // released: retried
///     let _ = hook.complete().await; // processed: retries are duplicates from now on
///     Ok("ok")
/// }
/// # }
/// ```
///
/// **Behind the verifying layer or middleware** the extractor does not claim again:
/// the layer holds the claim and settles it from your response's status (complete on
/// 2xx, release otherwise), and [`complete`](Self::complete) is a no-op.
pub struct NexioWebhook<T = Event> {
    /// The verified body, parsed.
    pub event: T,
    /// The delivery's metadata.
    pub info: DeliveryInfo,
    /// The signed event id (`None` only when the body has none and no replay guard is
    /// configured).
    pub dedupe_key: Option<String>,
    claim: Option<Claim>,
    behind_layer: bool,
}

impl<T> NexioWebhook<T> {
    pub(crate) fn new(
        event: T,
        info: DeliveryInfo,
        dedupe_key: Option<String>,
        claim: Option<Claim>,
        behind_layer: bool,
    ) -> Self {
        Self {
            event,
            info,
            dedupe_key,
            claim,
            behind_layer,
        }
    }

    /// The parsed body. An unsettled claim is released.
    pub fn into_event(self) -> T {
        self.event
    }

    /// The parts: body, metadata, and the claim (if this extractor holds one) to
    /// settle later — for work that finishes after the response.
    pub fn into_parts(self) -> (T, DeliveryInfo, Option<Claim>) {
        (self.event, self.info, self.claim)
    }

    /// The metadata as the layer hands it on, and the claim.
    #[cfg_attr(not(any(feature = "tower", feature = "actix-web")), allow(dead_code))]
    pub(crate) fn into_parts_with_key(self) -> (T, VerifiedDelivery, Option<Claim>) {
        (
            self.event,
            VerifiedDelivery {
                info: self.info,
                dedupe_key: self.dedupe_key,
            },
            self.claim,
        )
    }

    /// Whether this extractor holds a claim on the delivery's key (it has a replay
    /// guard and is not behind the verifying layer, which holds the claim instead).
    pub fn is_claimed(&self) -> bool {
        self.claim.is_some()
    }

    /// Whether the verifying layer or middleware verified and claimed this delivery
    /// (and will settle the claim from the response).
    pub fn is_behind_layer(&self) -> bool {
        self.behind_layer
    }

    /// The claim, if this extractor holds one.
    pub fn claim(&self) -> Option<&Claim> {
        self.claim.as_ref()
    }

    /// Takes the claim out, to settle it elsewhere (e.g. in a task).
    pub fn take_claim(&mut self) -> Option<Claim> {
        self.claim.take()
    }

    /// Records the delivery as processed: its retries are answered
    /// `200 {"status":"duplicate"}` for the retention horizon. Call it once your
    /// processing succeeded, before answering 2xx. A no-op without a claim.
    ///
    /// An error means the record could not be written although the delivery was
    /// processed: answer 2xx all the same (see [`Claim::complete`]).
    pub async fn complete(self) -> Result<(), ReplayGuardError> {
        match self.claim {
            Some(claim) => claim.complete().await,
            None => Ok(()),
        }
    }

    /// Releases the claim now (it would be released on drop anyway), so Nexio's
    /// retry is processed. A no-op without a claim.
    pub async fn release(self) -> Result<(), ReplayGuardError> {
        match self.claim {
            Some(claim) => claim.release().await,
            None => Ok(()),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for NexioWebhook<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NexioWebhook")
            .field("event", &self.event)
            .field("info", &self.info)
            .field("dedupe_key", &self.dedupe_key)
            .field("claim", &self.claim)
            .field("behind_layer", &self.behind_layer)
            .finish()
    }
}

/// What the verifying layer (feature `tower`) and middleware (feature `actix-web`)
/// put in the request's extensions for the handler: the delivery's metadata and its
/// dedupe key. Take it with the extractor of your framework
/// (`nexio_webhooks::axum::VerifiedDelivery` is this type); a handler asking for it
/// without the layer in front is answered 500 `receiver_misconfigured`, never a
/// default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedDelivery {
    /// The delivery's metadata.
    pub info: DeliveryInfo,
    /// The signed event id (`None` only when the body has none and no replay guard is
    /// configured).
    pub dedupe_key: Option<String>,
}

/// Marks a request the layer or middleware verified and claimed: the instant of the
/// verification, so an extractor behind it verifies at the same instant (a body
/// judged fresh by the layer is not judged stale a moment later) and does not claim
/// again.
#[cfg_attr(not(any(feature = "tower", feature = "actix-web")), allow(dead_code))]
#[derive(Debug, Clone, Copy)]
pub(crate) struct LayerVerified {
    // Read by the extractors (features `axum`, `actix-web`); the layer alone only
    // writes it.
    #[cfg_attr(not(any(feature = "axum", feature = "actix-web")), allow(dead_code))]
    pub(crate) now: i64,
}
