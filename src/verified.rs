//! A verified delivery: the only way to the typed events.

#[allow(unused_imports)]
use crate::prelude::*;

use alloc::borrow::Cow;
use alloc::sync::Arc;

use crate::endpoint::Expectations;
use crate::error::{InvalidEventReason, ParseError, VerifyError};
use crate::event::{self, Environment, Event, VersionPolicy};
use crate::head;
use crate::headers::HeaderLookup;
use crate::secret::KeyId;

/// A delivery whose signature, timestamp (and bearer token, if configured) checked
/// out.
///
/// It borrows the exact bytes that were verified: [`Verified::event`] and
/// [`Verified::json`] parse those bytes, never a second copy. Getting one is the
/// only way to parse an event (apart from the explicit [`crate::dangerous`] module).
///
/// Its `Debug` output shows the body's length, not its content, so logging it does not
/// copy payloads into logs.
#[derive(Clone)]
pub struct Verified<'a> {
    body: &'a [u8],
    timestamp: i64,
    skew: i64,
    key_id: KeyId,
    /// `X-Nexio-Delivery` as received; checked for UTF-8 when it is asked for.
    delivery: Option<&'a [u8]>,
    unsigned: UnsignedHeaders<'a>,
    replayable_until: i64,
    version_policy: VersionPolicy,
    /// The endpoint whose secret matched, when the verifier was built from endpoints.
    endpoint: Option<SignedBy>,
}

/// The endpoint that signed, and whether its checks against the body are still to
/// run (non-strict mode) or already passed (strict mode).
#[derive(Clone)]
pub(crate) struct SignedBy {
    pub(crate) expectations: Arc<Expectations>,
    pub(crate) pending: bool,
}

/// The unsigned headers' agreement with the signed data, as far as it has been
/// checked: the `X-Nexio-Timestamp` verdict (a byte comparison, done at verification)
/// and the raw `X-Nexio-Event` / `X-Nexio-Webhook-Version` values, compared with the
/// body's `type` / `webhook_version` only when [`Verified::mismatches`] asks. That
/// comparison needs a scan of the body, which the default (non-strict) verify path
/// should not pay for a report nobody may read; strict mode checks eagerly instead.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UnsignedHeaders<'a> {
    /// Mismatches already known (the timestamp's, or everything in strict mode).
    pub(crate) known: HeaderMismatches,
    /// `X-Nexio-Event`, still to compare with the body's `type`.
    pub(crate) event: HeaderLookup<'a>,
    /// `X-Nexio-Webhook-Version`, still to compare with the body's `webhook_version`.
    pub(crate) version: HeaderLookup<'a>,
}

impl UnsignedHeaders<'_> {
    /// Nothing to report, nothing left to check.
    pub(crate) const NONE: Self = Self {
        known: HeaderMismatches(0),
        event: HeaderLookup::Absent,
        version: HeaderLookup::Absent,
    };

    /// Every mismatch, comparing the pending headers with `body` (the verified body).
    pub(crate) fn resolve(&self, body: &[u8]) -> HeaderMismatches {
        let mut m = self.known;
        if self.event == HeaderLookup::Absent && self.version == HeaderLookup::Absent {
            return m;
        }
        // Only now look into the (verified) body, and only at its top-level fields.
        let head = head::scan(body);
        if differs(self.event, head.and_then(|h| h.event_type)) {
            m.set_event();
        }
        if differs(self.version, head.and_then(|h| h.version)) {
            m.set_version();
        }
        m
    }
}

/// A header that is present and does not equal the signed value. When the signed
/// value cannot be read (the body is not a JSON object), nothing is reported here:
/// parsing the event will fail with its own error.
fn differs(header: HeaderLookup<'_>, signed: Option<head::RawStr<'_>>) -> bool {
    match header {
        HeaderLookup::Absent => false,
        HeaderLookup::Repeated => true,
        HeaderLookup::One(v) => match signed {
            Some(s) => s.eq_bytes(v) != Some(true),
            None => false,
        },
    }
}

impl core::fmt::Debug for Verified<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut d = f.debug_struct("Verified");
        d.field("body_len", &self.body.len())
            .field("timestamp", &self.timestamp)
            .field("skew", &self.skew)
            .field("key_id", &self.key_id)
            .field("delivery_id", &self.delivery_id())
            .field("mismatches", &self.mismatches())
            .field("replayable_until", &self.replayable_until)
            .field("version_policy", &self.version_policy);
        // Only for a verifier built from endpoints.
        if let Some(id) = self.endpoint_id() {
            d.field("endpoint_id", &id);
        }
        d.finish()
    }
}

impl<'a> Verified<'a> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        body: &'a [u8],
        timestamp: i64,
        skew: i64,
        key_id: KeyId,
        delivery: Option<&'a [u8]>,
        unsigned: UnsignedHeaders<'a>,
        replayable_until: i64,
        version_policy: VersionPolicy,
        endpoint: Option<SignedBy>,
    ) -> Self {
        Self {
            body,
            timestamp,
            skew,
            key_id,
            delivery,
            unsigned,
            replayable_until,
            version_policy,
            endpoint,
        }
    }

    /// The id of the endpoint whose secret matched, when the verifier was built with
    /// [`crate::Verifier::for_endpoint`] or [`crate::Verifier::for_endpoints`]: with
    /// several endpoints on one URL, which of them signed this delivery.
    pub fn endpoint_id(&self) -> Option<&str> {
        self.endpoint.as_ref().map(|e| e.expectations.id.as_str())
    }

    /// The environment of the endpoint whose secret matched, if it is known (see
    /// [`Verified::endpoint_id`]). Not read from the body: the run's own environment
    /// is compared with it, and a difference is
    /// [`HeaderMismatches::environment_mismatch`].
    pub fn endpoint_environment(&self) -> Option<&Environment> {
        self.endpoint
            .as_ref()
            .and_then(|e| e.expectations.environment.as_ref())
    }

    /// The verified raw body.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The signed Unix timestamp (`t=`).
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// `now - timestamp` in seconds when it was verified: positive when the delivery
    /// was that old, negative when it was signed ahead of the receiver's clock.
    pub fn skew(&self) -> i64 {
        self.skew
    }

    /// Which configured secret matched: watch this to see when an old secret stops
    /// being used after a rotation.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The `X-Nexio-Delivery` header, if present once and UTF-8.
    ///
    /// **Not signed**: anyone replaying a captured request can change it. Use
    /// [`Verified::dedupe_key`] to deduplicate.
    pub fn delivery_id(&self) -> Option<&'a str> {
        self.delivery.and_then(|v| core::str::from_utf8(v).ok())
    }

    /// Unsigned headers that disagreed with the signed data, and (for a verifier
    /// built from endpoints) a body the signing endpoint did not promise: an event
    /// type outside its subscription, a run from another environment (non-strict
    /// mode; strict mode refuses them).
    ///
    /// `X-Nexio-Event` and `X-Nexio-Webhook-Version` are compared with the body here,
    /// on each call (a scan of the body's top-level fields, no allocation), not during
    /// verification; so are the endpoint's `events` and `environment`.
    pub fn mismatches(&self) -> HeaderMismatches {
        let m = self.unsigned.resolve(self.body);
        match &self.endpoint {
            Some(e) if e.pending => m.union(e.expectations.check(self.body)),
            _ => m,
        }
    }

    /// The last Unix second at which this same signed delivery would still pass the
    /// replay window (`timestamp + max_age`): how long a replay guard must remember
    /// it.
    pub fn replayable_until(&self) -> i64 {
        self.replayable_until
    }

    /// The dedupe key: the event `id` from the **signed** body (never the unsigned
    /// `X-Nexio-Delivery` header). Reads only the top-level fields, without parsing
    /// the whole event; borrowed from the body unless the id contains JSON escapes.
    pub fn dedupe_key(&self) -> Result<Cow<'a, str>, ParseError> {
        let envelope = ParseError::InvalidEvent {
            reason: InvalidEventReason::Envelope,
        };
        let head = head::scan(self.body).ok_or(envelope)?;
        head.id.and_then(|id| id.decode()).ok_or(envelope)
    }

    /// What the verifying layer and middleware check before any handler runs: the
    /// envelope. `Ok` when the body is a JSON object whose top-level `id` and `type`
    /// are strings and whose `webhook_version` is `2026-03-22` (any version, under
    /// [`VersionPolicy::AcceptOther`]); otherwise the error the typed parse gives
    /// ([`Verified::event`]), so a body refused here gets the same code either way.
    ///
    /// The rest of the payload is not looked at: the handler behind the layer parses
    /// it into its own type, and a `run` that the typed model would refuse must not
    /// stop a delivery that handler can process. It costs a scan of the first few
    /// dozen bytes where Nexio puts these fields, not a parse.
    #[cfg_attr(not(any(feature = "tower", feature = "actix-web")), allow(dead_code))]
    pub(crate) fn check_envelope(&self) -> Result<(), ParseError> {
        let usable = head::scan(self.body).is_some_and(|head| {
            let string =
                |field: Option<head::RawStr<'_>>| field.is_some_and(|f| f.decode().is_some());
            string(head.id)
                && string(head.event_type)
                && match self.version_policy {
                    VersionPolicy::AcceptOther => true,
                    _ => head
                        .version
                        .and_then(|v| v.eq_bytes(event::WEBHOOK_VERSION.as_bytes()))
                        .unwrap_or(false),
                }
        });
        if usable {
            return Ok(());
        }
        // Only for a body refused above (or one whose fields the scan did not reach):
        // the typed parse names the problem.
        self.event().map(|_| ())
    }

    /// Parses the typed `2026-03-22` event, under the verifier's version policy.
    pub fn event(&self) -> Result<Event, ParseError> {
        event::parse(self.body, self.version_policy)
    }

    /// Parses the typed event under an explicit version policy.
    pub fn event_with(&self, policy: VersionPolicy) -> Result<Event, ParseError> {
        event::parse(self.body, policy)
    }

    /// Deserializes the verified body into a type of your own (borrowing from it
    /// where the type allows).
    pub fn json<T: serde::Deserialize<'a>>(&self) -> Result<T, ParseError> {
        serde_json::from_slice(self.body).map_err(|e| {
            ParseError::from_json(
                &e,
                InvalidEventReason::Schema {
                    line: e.line(),
                    column: e.column(),
                },
            )
        })
    }

    /// The metadata as an owned value, for handing on after the body is gone.
    pub fn info(&self) -> DeliveryInfo {
        DeliveryInfo {
            timestamp: self.timestamp,
            skew: self.skew,
            key_id: self.key_id,
            delivery_id: self.delivery_id().map(str::to_owned),
            mismatches: self.mismatches(),
            replayable_until: self.replayable_until,
            endpoint_id: self.endpoint_id().map(str::to_owned),
            endpoint_environment: self.endpoint_environment().cloned(),
        }
    }
}

/// The owned metadata of a verified delivery (see [`Verified`]).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryInfo {
    /// The signed Unix timestamp.
    pub timestamp: i64,
    /// `now - timestamp` at verification, in seconds.
    pub skew: i64,
    /// Which configured secret matched.
    pub key_id: KeyId,
    /// The unsigned `X-Nexio-Delivery` header, if present.
    pub delivery_id: Option<String>,
    /// Unsigned headers that disagreed with the signed data.
    pub mismatches: HeaderMismatches,
    /// How long a replay guard must remember this delivery (Unix seconds).
    pub replayable_until: i64,
    /// The endpoint whose secret matched (see [`Verified::endpoint_id`]).
    pub endpoint_id: Option<String>,
    /// That endpoint's environment (see [`Verified::endpoint_environment`]).
    pub endpoint_environment: Option<Environment>,
}

/// Which unsigned headers disagreed with the signed data, and what in the signed
/// body the signing endpoint did not promise.
///
/// `X-Nexio-Timestamp` is compared with `t=`; `X-Nexio-Event` and
/// `X-Nexio-Webhook-Version` with the signed body's `type` and `webhook_version`. A
/// header that is absent is not a mismatch; one that is repeated is. For a verifier
/// built from endpoints, the body's `type` is compared with the endpoint's `events`
/// and its `data.run.environment` with the endpoint's `environment`; a body where
/// either is missing is not a mismatch (its parse says what is wrong).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct HeaderMismatches(u8);

const TIMESTAMP: u8 = 1;
const EVENT: u8 = 2;
const VERSION: u8 = 4;
const NOT_SUBSCRIBED: u8 = 8;
const ENVIRONMENT: u8 = 16;

impl HeaderMismatches {
    /// Nothing disagreed.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// `X-Nexio-Timestamp` differs from `t=`.
    pub fn timestamp(&self) -> bool {
        self.0 & TIMESTAMP != 0
    }

    /// `X-Nexio-Event` differs from the body's `type`.
    pub fn event(&self) -> bool {
        self.0 & EVENT != 0
    }

    /// `X-Nexio-Webhook-Version` differs from the body's `webhook_version`.
    pub fn version(&self) -> bool {
        self.0 & VERSION != 0
    }

    /// The signed body's `type` is not in the signing endpoint's `events` (an alias
    /// such as `evaluation.completed` counts as its event).
    pub fn event_not_subscribed(&self) -> bool {
        self.0 & NOT_SUBSCRIBED != 0
    }

    /// The signed body's `data.run.environment` is not the signing endpoint's
    /// environment (compared exactly).
    pub fn environment_mismatch(&self) -> bool {
        self.0 & ENVIRONMENT != 0
    }

    /// The mismatches as the errors strict mode would raise, in that order.
    pub fn errors(&self) -> impl Iterator<Item = VerifyError> + use<> {
        let bits = self.0;
        [
            (TIMESTAMP, VerifyError::TimestampHeaderMismatch),
            (EVENT, VerifyError::EventHeaderMismatch),
            (VERSION, VerifyError::VersionHeaderMismatch),
            (NOT_SUBSCRIBED, VerifyError::EventNotSubscribed),
            (ENVIRONMENT, VerifyError::EnvironmentMismatch),
        ]
        .into_iter()
        .filter(move |(bit, _)| bits & bit != 0)
        .map(|(_, e)| e)
    }

    pub(crate) fn first_error(&self) -> Option<VerifyError> {
        self.errors().next()
    }

    pub(crate) fn set_timestamp(&mut self) {
        self.0 |= TIMESTAMP;
    }

    pub(crate) fn set_event(&mut self) {
        self.0 |= EVENT;
    }

    pub(crate) fn set_version(&mut self) {
        self.0 |= VERSION;
    }

    pub(crate) fn set_event_not_subscribed(&mut self) {
        self.0 |= NOT_SUBSCRIBED;
    }

    pub(crate) fn set_environment_mismatch(&mut self) {
        self.0 |= ENVIRONMENT;
    }

    pub(crate) fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}
