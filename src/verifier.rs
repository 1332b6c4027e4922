//! The verifier: headers + raw body + `now` in, a [`Verified`] delivery or a
//! [`VerifyError`] out. Pure, synchronous, no I/O.

#[allow(unused_imports)]
use crate::prelude::*;

use alloc::sync::Arc;
use core::time::Duration;

use crate::endpoint::{Endpoint, EndpointError, Expectations};
use crate::error::{MalformedReason, VerifyError};
use crate::event::VersionPolicy;
use crate::header::{MAX_SIGNATURES, SignatureHeader};
use crate::headers::{self, HeaderLookup, HeaderSource, VERIFY_HEADERS};
use crate::mac::{DIGEST_LEN, PreparedKey, hex_matches, matches_any};
use crate::secret::{BearerToken, KeyId, Secret};
use crate::time::{Tolerance, WindowError};
use crate::verified::{HeaderMismatches, SignedBy, UnsignedHeaders, Verified};

/// Verifies Nexio deliveries for one endpoint.
///
/// Built once at start-up with [`Verifier::new`] and the consuming `with_*` options,
/// then shared: it is `Send + Sync`, and `Clone` is an `Arc` bump. Each secret's HMAC
/// key state is prepared at construction and cloned per request.
///
/// Per request the work is bounded: the signature header is refused above 4096 bytes
/// or 16 `v1` entries before any hashing, and exactly one HMAC is computed per
/// configured, unexpired secret (stopping at the first that matches), however many
/// `v1` entries arrive. Each HMAC is compared against every `v1` in constant time.
///
/// ```
/// # #[cfg(feature = "std")] {
/// use nexio_webhooks::{Secret, Signer, Verifier};
///
/// let secret = Secret::new("whsec_abc123def456")?;
/// let verifier = Verifier::new(secret.clone());
/// let delivery = Signer::new(secret)
///     .delivery(nexio_webhooks::sample::RUN_COMPLETED)
///     .timestamp(1_774_180_800)
///     .build();
///
/// let verified = verifier.verify_at(&delivery, delivery.body(), 1_774_180_830)?;
/// assert_eq!(verified.skew(), 30);
/// let event = verified.event()?;
/// assert_eq!(event.event_type(), "run.completed");
/// # }
/// # Ok::<(), Box<dyn core::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Verifier {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Clone)]
pub(crate) struct Inner {
    pub(crate) keys: Vec<KeyEntry>,
    pub(crate) tolerance: Tolerance,
    bearer: Option<BearerToken>,
    strict: bool,
    version_policy: VersionPolicy,
}

#[derive(Clone)]
pub(crate) struct KeyEntry {
    pub(crate) key: PreparedKey,
    /// Unix second after which this secret is no longer tried (`None`: never).
    pub(crate) expires_at: Option<i64>,
    /// The secret under other key conventions, for [`Verifier::diagnose`] only;
    /// behind an `Arc` so the entries the hot path walks stay small.
    pub(crate) alternates: Arc<crate::diagnose::Alternates>,
    /// The endpoint this secret belongs to, for a verifier built from endpoints.
    pub(crate) endpoint: Option<Arc<Expectations>>,
}

impl core::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let keys: Vec<_> = self
            .inner
            .keys
            .iter()
            .map(|k| (k.key.id(), k.expires_at))
            .collect();
        f.debug_struct("Verifier")
            .field("keys", &keys)
            .field("tolerance", &self.inner.tolerance)
            .field("bearer_token", &self.inner.bearer.is_some())
            .field("strict", &self.inner.strict)
            .field("version_policy", &self.inner.version_policy)
            .finish()
    }
}

impl Verifier {
    /// A verifier for the endpoint's current (primary) secret, with the defaults:
    /// 300 s past and future, no bearer token, strict mode off, exact version policy.
    pub fn new(secret: Secret) -> Self {
        Self {
            inner: Arc::new(Inner {
                keys: vec![KeyEntry {
                    key: PreparedKey::new(&secret),
                    expires_at: None,
                    alternates: crate::diagnose::Alternates::of(&secret),
                    endpoint: None,
                }],
                tolerance: Tolerance::default(),
                bearer: None,
                strict: false,
                version_policy: VersionPolicy::Exact,
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Inner)) -> Self {
        f(Arc::make_mut(&mut self.inner));
        self
    }

    /// A verifier for one endpoint as Nexio returned it: its secret, its bearer token
    /// (required when `auth_token_configured` is true), and its expectations of every
    /// delivery — the run's environment is the endpoint's, the event type is one it
    /// subscribed to. A delivery that breaks them is reported in
    /// [`Verified::mismatches`] (`event_not_subscribed`, `environment_mismatch`), and
    /// refused with a 422 in strict mode. [`Verified::endpoint_id`] names the endpoint.
    ///
    /// Errors: [`EndpointError::MissingSecret`] when the endpoint has no secret (give
    /// it with [`Endpoint::with_secret`] or [`Verifier::for_endpoint_with_secret`]),
    /// [`EndpointError::BearerTokenRequired`] when `auth_token_configured` is true and
    /// no token was given with [`Endpoint::with_bearer_token`]: the misconfiguration
    /// is found at start-up, not at the first delivery.
    ///
    /// The other options chain as usual; a secret added with
    /// [`Verifier::with_secret`] belongs to the first endpoint.
    ///
    /// ```
    /// use nexio_webhooks::{Endpoint, EndpointError, Verifier};
    ///
    /// let answer = r#"{"id": "wh_1", "environment": "live", "events": ["run.completed"],
    ///     "auth_token_configured": false, "secret": "whsec_abc123def456"}"#;
    /// let endpoint: Endpoint = serde_json::from_str(answer)?;
    /// let verifier = Verifier::for_endpoint(&endpoint)?.with_strict(true);
    ///
    /// let with_token = endpoint.with_auth_token_configured(true);
    /// assert_eq!(
    ///     Verifier::for_endpoint(&with_token).err(),
    ///     Some(EndpointError::BearerTokenRequired)
    /// );
    /// # Ok::<(), Box<dyn core::error::Error>>(())
    /// ```
    pub fn for_endpoint(endpoint: &Endpoint) -> Result<Self, EndpointError> {
        Self::for_endpoints(core::slice::from_ref(endpoint))
    }

    /// [`Verifier::for_endpoint`] with the secret given separately, for an answer that
    /// does not show it (update, get). It replaces any secret the endpoint holds.
    pub fn for_endpoint_with_secret(
        endpoint: &Endpoint,
        secret: Secret,
    ) -> Result<Self, EndpointError> {
        Self::for_endpoint(&endpoint.clone().with_secret(secret))
    }

    /// A verifier for several endpoints on one URL (say the `test` and the `live`
    /// one), each with its own secret: a delivery verifies with any of them, and
    /// [`Verified::endpoint_id`] / [`Verified::endpoint_environment`] say which
    /// endpoint signed it. Each delivery is checked against the expectations of the
    /// endpoint whose secret matched, as in [`Verifier::for_endpoint`].
    ///
    /// Errors, besides those of [`Verifier::for_endpoint`] for each endpoint:
    /// [`EndpointError::NoEndpoints`], [`EndpointError::SharedSecret`] (two endpoints
    /// with one secret could not be told apart), and
    /// [`EndpointError::BearerTokensDiffer`]: the bearer token is checked before the
    /// signature, so the endpoints on one URL must all have the same token or none.
    ///
    /// ```
    /// # #[cfg(feature = "std")] {
    /// use nexio_webhooks::{Endpoint, Environment, Secret, Signer, Verifier};
    ///
    /// let live = Endpoint::new("wh_live")
    ///     .with_environment(Environment::Live)
    ///     .with_secret(Secret::new("whsec_live")?);
    /// let test = Endpoint::new("wh_test")
    ///     .with_environment(Environment::Test)
    ///     .with_secret(Secret::new("whsec_test")?);
    /// let verifier = Verifier::for_endpoints(&[live, test])?;
    ///
    /// let delivery = Signer::new(Secret::new("whsec_test")?)
    ///     .delivery(nexio_webhooks::sample::RUN_COMPLETED)
    ///     .timestamp(1_774_180_800)
    ///     .build();
    /// let verified = verifier.verify_at(&delivery, delivery.body(), 1_774_180_800)?;
    /// assert_eq!(verified.endpoint_id(), Some("wh_test"));
    /// assert_eq!(verified.endpoint_environment(), Some(&Environment::Test));
    /// # }
    /// # Ok::<(), Box<dyn core::error::Error>>(())
    /// ```
    pub fn for_endpoints(endpoints: &[Endpoint]) -> Result<Self, EndpointError> {
        let (first, rest) = endpoints.split_first().ok_or(EndpointError::NoEndpoints)?;
        let mut keys = Vec::with_capacity(endpoints.len());
        for endpoint in endpoints {
            let secret = endpoint.secret().ok_or(EndpointError::MissingSecret)?;
            if endpoint.auth_token_configured() && endpoint.bearer_token().is_none() {
                return Err(EndpointError::BearerTokenRequired);
            }
            if keys
                .iter()
                .any(|k: &KeyEntry| k.key.id() == secret.key_id())
            {
                return Err(EndpointError::SharedSecret);
            }
            keys.push(KeyEntry {
                key: PreparedKey::new(secret),
                expires_at: None,
                alternates: crate::diagnose::Alternates::of(secret),
                endpoint: Some(endpoint.expectations()),
            });
        }
        let bearer = first.bearer_token();
        if rest.iter().any(|e| !same_token(e.bearer_token(), bearer)) {
            return Err(EndpointError::BearerTokensDiffer);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                keys,
                tolerance: Tolerance::default(),
                bearer: bearer.cloned(),
                strict: false,
                version_policy: VersionPolicy::Exact,
            }),
        })
    }

    /// Also accepts signatures made with `secret`, with no expiry (secret rotation).
    #[must_use]
    pub fn with_secret(self, secret: Secret) -> Self {
        self.edit(|i| {
            let endpoint = i.keys.first().and_then(|k| k.endpoint.clone());
            i.keys.push(KeyEntry {
                key: PreparedKey::new(&secret),
                expires_at: None,
                alternates: crate::diagnose::Alternates::of(&secret),
                endpoint,
            });
        })
    }

    /// Also accepts signatures made with `secret` until the Unix second `expires_at`
    /// (inclusive); after it the secret is no longer tried. Nexio keeps the previous
    /// secret valid for 24 h after `rotate-secret`.
    ///
    /// ```
    /// use nexio_webhooks::{Secret, Verifier};
    ///
    /// let rotated_at = 1_774_180_800;
    /// let verifier = Verifier::new(Secret::new("whsec_new")?)
    ///     .with_secret_expiring(Secret::new("whsec_old")?, rotated_at + 24 * 3600);
    /// # Ok::<(), nexio_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn with_secret_expiring(self, secret: Secret, expires_at: i64) -> Self {
        self.edit(|i| {
            let endpoint = i.keys.first().and_then(|k| k.endpoint.clone());
            i.keys.push(KeyEntry {
                key: PreparedKey::new(&secret),
                expires_at: Some(expires_at),
                alternates: crate::diagnose::Alternates::of(&secret),
                endpoint,
            });
        })
    }

    /// Sets both bounds of the replay window at once.
    #[must_use]
    pub fn with_tolerance(self, tolerance: Tolerance) -> Self {
        self.edit(|i| i.tolerance = tolerance)
    }

    /// Sets how old a delivery may be (default 300 s, inclusive).
    #[must_use]
    pub fn with_max_age(self, max_age: Duration) -> Self {
        self.edit(|i| i.tolerance = i.tolerance.with_max_age(max_age))
    }

    /// Sets how far in the future a delivery's timestamp may be (default 300 s,
    /// inclusive).
    #[must_use]
    pub fn with_max_future(self, max_future: Duration) -> Self {
        self.edit(|i| i.tolerance = i.tolerance.with_max_future(max_future))
    }

    /// Requires `Authorization: Bearer <token>` with this token, in addition to the
    /// signature.
    #[must_use]
    pub fn with_bearer_token(self, token: BearerToken) -> Self {
        self.edit(|i| i.bearer = Some(token))
    }

    /// Strict mode: reject (instead of only reporting) a delivery whose unsigned
    /// `X-Nexio-Timestamp`, `X-Nexio-Event` or `X-Nexio-Webhook-Version` header
    /// disagrees with the signed data, and, for a verifier built from endpoints, one
    /// whose signed body the signing endpoint did not promise
    /// (`event_not_subscribed`, `environment_mismatch`, answered 422). Default: off.
    #[must_use]
    pub fn with_strict(self, strict: bool) -> Self {
        self.edit(|i| i.strict = strict)
    }

    /// What [`Verified::event`] does with a `webhook_version` other than
    /// `2026-03-22`. Default: [`VersionPolicy::Exact`].
    #[must_use]
    pub fn with_version_policy(self, policy: VersionPolicy) -> Self {
        self.edit(|i| i.version_policy = policy)
    }

    /// The replay window.
    pub fn tolerance(&self) -> Tolerance {
        self.inner.tolerance
    }

    /// Whether strict mode is on.
    pub fn is_strict(&self) -> bool {
        self.inner.strict
    }

    /// The ids of the configured secrets, primary first.
    pub fn key_ids(&self) -> impl Iterator<Item = KeyId> + '_ {
        self.inner.keys.iter().map(|k| k.key.id())
    }

    #[cfg(feature = "std")]
    #[cfg_attr(docsrs, doc(cfg(feature = "std")))]
    /// Verifies a delivery against the system clock. See [`Verifier::verify_at`].
    ///
    /// On `wasm32-unknown-unknown` the clock is the host's `Date.now()` with the `wasm`
    /// feature; without it this method is not compiled there (no clock to read), and
    /// [`Verifier::verify_at`] takes the time from the caller.
    #[cfg(any(
        not(all(target_arch = "wasm32", target_os = "unknown")),
        feature = "wasm"
    ))]
    pub fn verify<'a, H: HeaderSource + ?Sized>(
        &self,
        headers: &'a H,
        body: &'a [u8],
    ) -> Result<Verified<'a>, VerifyError> {
        self.verify_at(headers, body, crate::time::unix_now())
    }

    /// Verifies a delivery at `now` (Unix seconds): the primitive every other entry
    /// point calls.
    ///
    /// In order: the signature header (present once, well-formed, within bounds), the
    /// replay window, the bearer token if one is configured, the HMAC of `t.body`
    /// against every `v1`, then the unsigned headers (`X-Nexio-Timestamp`,
    /// `X-Nexio-Event`, `X-Nexio-Webhook-Version`) against the signed data: reported
    /// in [`Verified::mismatches`], or rejected in strict mode. Outside strict mode the
    /// event and version headers are compared with the body only when
    /// [`Verified::mismatches`] (or [`Verified::info`]) is called, so verification
    /// itself never looks into the body beyond hashing it.
    ///
    /// Allocates nothing.
    pub fn verify_at<'a, H: HeaderSource + ?Sized>(
        &self,
        headers: &'a H,
        body: &'a [u8],
        now: i64,
    ) -> Result<Verified<'a>, VerifyError> {
        // Every header this reads, in one call (one pass for the common sources);
        // `Authorization` only when a bearer token is configured.
        let mut found = [HeaderLookup::Absent; 6];
        let wanted = if self.inner.bearer.is_some() { 6 } else { 5 };
        if let (Some(names), Some(slots)) = (VERIFY_HEADERS.get(..wanted), found.get_mut(..wanted))
        {
            headers.lookup_many(names, slots);
        }
        let [
            signature,
            timestamp,
            event,
            version,
            delivery,
            authorization,
        ] = &found;
        // Read in place, by reference: copying the array out right after it was
        // written (wide loads over narrower stores) waits on store forwarding.
        let signed = self.check_signed(signature, Some(authorization), body, now)?;
        let entry = signed.entry;
        let mut unsigned = unsigned_headers(*timestamp, *event, *version, &signed);
        if self.inner.strict {
            // Strict mode rejects on any mismatch, so it compares with the body now;
            // non-strict mode only reports, when `Verified::mismatches` is asked.
            if let Some(e) = unsigned.resolve(body).first_error() {
                return Err(e);
            }
            unsigned = UnsignedHeaders::NONE;
        }
        // A verifier not built from endpoints pays one `None` test here.
        let endpoint = match &entry.endpoint {
            None => None,
            Some(expectations) => {
                if self.inner.strict
                    && let Some(e) = expectations.check(body).first_error()
                {
                    return Err(e);
                }
                Some(SignedBy {
                    expectations: Arc::clone(expectations),
                    pending: !self.inner.strict,
                })
            }
        };
        let delivery = match *delivery {
            HeaderLookup::One(v) => Some(v),
            _ => None,
        };
        Ok(Verified::new(
            body,
            signed.timestamp,
            signed.skew,
            entry.key.id(),
            delivery,
            unsigned,
            self.inner.tolerance.replayable_until(signed.timestamp),
            self.inner.version_policy,
            endpoint,
        ))
    }

    /// The checks that need no body: signature header, replay window, bearer token.
    ///
    /// Framework adapters call this before reading the body, so a missing, malformed,
    /// stale or future signature is refused without buffering anything.
    /// [`Verifier::verify_at`] repeats these checks; calling this first is optional.
    pub fn check_headers_at<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        now: i64,
    ) -> Result<(), VerifyError> {
        let mut found = [HeaderLookup::Absent; 2];
        let names = [headers::SIGNATURE, headers::AUTHORIZATION];
        let wanted = if self.inner.bearer.is_some() { 2 } else { 1 };
        if let (Some(names), Some(slots)) = (names.get(..wanted), found.get_mut(..wanted)) {
            headers.lookup_many(names, slots);
        }
        let [signature, authorization] = found;
        self.check_headers_inner(signature, authorization, now)
            .map(|_| ())
    }

    /// The checks every verification makes, in order: the signature header, the
    /// replay window, the bearer token (when `authorization` is given and a token is
    /// configured), the MAC.
    ///
    /// The header Nexio sends (`t=…,v1=…`, one signature) is read by
    /// [`SignatureHeader::parse_single`] and checked without building a
    /// [`SignatureHeader`]; any other goes through the general tokenizer, with the same
    /// errors in the same order.
    #[inline(always)]
    fn check_signed<'h>(
        &self,
        signature: &HeaderLookup<'h>,
        authorization: Option<&HeaderLookup<'_>>,
        body: &[u8],
        now: i64,
    ) -> Result<Signed<'h, '_>, VerifyError> {
        if let HeaderLookup::One(value) = *signature
            && let Some(single) = SignatureHeader::parse_single(value)
        {
            let skew = self.check_window(single.timestamp, now)?;
            if let (Some(token), Some(authorization)) = (&self.inner.bearer, authorization) {
                check_bearer(token, *authorization)?;
            }
            let entry = self.check_mac_one(single.timestamp_text, single.v1, body, now)?;
            return Ok(Signed {
                timestamp: single.timestamp,
                timestamp_text: single.timestamp_text,
                skew,
                entry,
            });
        }
        self.check_signed_general(*signature, authorization.copied(), body, now)
    }

    /// [`Verifier::check_signed`] for any header but the usual one.
    #[inline(never)]
    fn check_signed_general<'h>(
        &self,
        signature: HeaderLookup<'h>,
        authorization: Option<HeaderLookup<'_>>,
        body: &[u8],
        now: i64,
    ) -> Result<Signed<'h, '_>, VerifyError> {
        let (signature, skew) = match authorization {
            Some(authorization) => self.check_headers_inner(signature, authorization, now)?,
            None => {
                let value = signature_value(signature)?;
                let signature = SignatureHeader::parse(value).map_err(VerifyError::from_header)?;
                let skew = self.check_window(signature.timestamp(), now)?;
                (signature, skew)
            }
        };
        let entry = self.check_mac(&signature, body, now)?;
        Ok(Signed {
            timestamp: signature.timestamp(),
            timestamp_text: signature.timestamp_text(),
            skew,
            entry,
        })
    }

    /// `authorization` is only read when a bearer token is configured.
    ///
    /// Inlined so the parsed header (about 560 bytes) is built in the caller's frame
    /// instead of being copied out twice.
    #[inline(always)]
    fn check_headers_inner<'h>(
        &self,
        signature: HeaderLookup<'h>,
        authorization: HeaderLookup<'_>,
        now: i64,
    ) -> Result<(SignatureHeader<'h>, i64), VerifyError> {
        let value = signature_value(signature)?;
        let signature = SignatureHeader::parse(value).map_err(VerifyError::from_header)?;
        let skew = self.check_window(signature.timestamp(), now)?;
        if let Some(token) = &self.inner.bearer {
            check_bearer(token, authorization)?;
        }
        Ok((signature, skew))
    }

    fn check_window(&self, timestamp: i64, now: i64) -> Result<i64, VerifyError> {
        self.inner
            .tolerance
            .check(timestamp, now)
            .map_err(|e| match e {
                WindowError::TooOld { age_secs } => VerifyError::TimestampTooOld { age_secs },
                WindowError::TooNew { ahead_secs } => VerifyError::TimestampTooNew { ahead_secs },
            })
    }

    /// One HMAC per unexpired secret, each compared with every well-formed `v1`.
    ///
    /// Several `v1` values are decoded once, into fixed arrays on the stack, before any
    /// hashing, and a header with none well-formed is refused without hashing. The
    /// usual single `v1` is compared in hex instead (see [`Verifier::check_mac_one`]).
    fn check_mac(
        &self,
        signature: &SignatureHeader<'_>,
        body: &[u8],
        now: i64,
    ) -> Result<&KeyEntry, VerifyError> {
        match signature.candidate_count() {
            0 => Err(VerifyError::SignatureMismatch),
            // One `v1`: no array of 16 to fill.
            1 => match signature.candidates_hex().next() {
                Some(v1) => self.check_mac_one(signature.timestamp_text(), v1, body, now),
                None => Err(VerifyError::SignatureMismatch),
            },
            _ => self.check_mac_several(signature, body, now),
        }
    }

    /// The usual header: one 64-character `v1`, compared with the MAC's hex encoding
    /// (either case, constant time; see `mac::hex_matches`) rather than decoded. A
    /// `v1` that is not hex costs one HMAC before it is refused, as a well-formed
    /// forged one does.
    #[inline]
    fn check_mac_one(
        &self,
        timestamp_text: &[u8],
        v1: &[u8; 2 * DIGEST_LEN],
        body: &[u8],
        now: i64,
    ) -> Result<&KeyEntry, VerifyError> {
        for entry in &self.inner.keys {
            if entry.expires_at.is_some_and(|exp| now > exp) {
                continue;
            }
            let expected = entry.key.sign(timestamp_text, body);
            if bool::from(hex_matches(&expected, v1)) {
                return Ok(entry);
            }
        }
        Err(VerifyError::SignatureMismatch)
    }

    #[inline(never)]
    fn check_mac_several(
        &self,
        signature: &SignatureHeader<'_>,
        body: &[u8],
        now: i64,
    ) -> Result<&KeyEntry, VerifyError> {
        let mut decoded = [[0u8; DIGEST_LEN]; MAX_SIGNATURES];
        let mut count = 0usize;
        for (slot, digest) in decoded.iter_mut().zip(signature.digests()) {
            *slot = digest;
            count = count.wrapping_add(1);
        }
        match decoded.get(..count) {
            Some(candidates) if !candidates.is_empty() => {
                self.mac_against(signature, candidates, body, now)
            }
            // No well-formed digest: nothing could match; skip the hashing.
            _ => Err(VerifyError::SignatureMismatch),
        }
    }

    /// One HMAC per unexpired secret, stopping at the first that matches.
    #[inline]
    fn mac_against(
        &self,
        signature: &SignatureHeader<'_>,
        candidates: &[[u8; DIGEST_LEN]],
        body: &[u8],
        now: i64,
    ) -> Result<&KeyEntry, VerifyError> {
        for entry in &self.inner.keys {
            if entry.expires_at.is_some_and(|exp| now > exp) {
                continue;
            }
            let expected = entry.key.sign(signature.timestamp_text(), body);
            if matches_any(&expected, candidates) {
                return Ok(entry);
            }
        }
        Err(VerifyError::SignatureMismatch)
    }

    /// The lowest-level check: a signature header value and the raw body, at `now`.
    ///
    /// Checks the header grammar, the replay window and the HMAC only. It does **not**
    /// check the bearer token or any other header (it has none to look at): use
    /// [`Verifier::verify_at`] when a bearer token is configured. For a verifier built
    /// from endpoints, the endpoint's checks against the body are reported in
    /// [`Verified::mismatches`] (never refused here, even in strict mode).
    pub fn verify_signature_at<'a>(
        &self,
        signature_header: &'a [u8],
        body: &'a [u8],
        now: i64,
    ) -> Result<Verified<'a>, VerifyError> {
        let signed = self.check_signed(&HeaderLookup::One(signature_header), None, body, now)?;
        let entry = signed.entry;
        Ok(Verified::new(
            body,
            signed.timestamp,
            signed.skew,
            entry.key.id(),
            None,
            UnsignedHeaders::NONE,
            self.inner.tolerance.replayable_until(signed.timestamp),
            self.inner.version_policy,
            entry.endpoint.as_ref().map(|e| SignedBy {
                expectations: Arc::clone(e),
                pending: true,
            }),
        ))
    }
}

/// What [`Verifier::check_signed`] established: the signed timestamp (and its
/// digits), how far it is from `now`, and the secret whose MAC matched.
struct Signed<'h, 'v> {
    timestamp: i64,
    timestamp_text: &'h [u8],
    skew: i64,
    entry: &'v KeyEntry,
}

/// The signature header's one value, or why there is none to read.
#[inline(always)]
fn signature_value(signature: HeaderLookup<'_>) -> Result<&[u8], VerifyError> {
    match signature {
        HeaderLookup::Absent => Err(VerifyError::MissingSignature),
        HeaderLookup::Repeated => Err(VerifyError::MalformedSignature(MalformedReason::Repeated)),
        HeaderLookup::One(v) => Ok(v),
    }
}

/// Whether two optional tokens are the same (constant time on their digests).
fn same_token(a: Option<&BearerToken>, b: Option<&BearerToken>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a.same_as(b),
        _ => false,
    }
}

fn check_bearer(token: &BearerToken, authorization: HeaderLookup<'_>) -> Result<(), VerifyError> {
    let value = match authorization {
        HeaderLookup::Absent => return Err(VerifyError::MissingBearerToken),
        HeaderLookup::Repeated => return Err(VerifyError::BearerTokenMismatch),
        HeaderLookup::One(v) => v,
    };
    // `Bearer` is matched case-insensitively (RFC 7235), followed by one space.
    let presented = match value.split_at_checked(7) {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case(b"bearer ") => rest,
        _ => return Err(VerifyError::BearerTokenMismatch),
    };
    if token.matches(presented) {
        Ok(())
    } else {
        Err(VerifyError::BearerTokenMismatch)
    }
}

/// `X-Nexio-Timestamp` checked against `t=` (bytes, cheap); `X-Nexio-Event` and
/// `X-Nexio-Webhook-Version` kept for comparison with the body when asked.
///
/// Inlined: as a call, its result came back through memory written a byte at a time
/// and was copied out with wider loads, which wait on store forwarding.
#[inline(always)]
fn unsigned_headers<'h>(
    timestamp: HeaderLookup<'_>,
    event: HeaderLookup<'h>,
    version: HeaderLookup<'h>,
    signed: &Signed<'_, '_>,
) -> UnsignedHeaders<'h> {
    let mut known = HeaderMismatches::default();
    match timestamp {
        HeaderLookup::Absent => {}
        HeaderLookup::Repeated => known.set_timestamp(),
        HeaderLookup::One(v) => {
            // Nexio sends the same digits as `t=`: compare bytes first, parse only
            // when they differ (leading zeros or spaces may still be equal). A fold,
            // not `!=`: comparing slices calls `memcmp`, dearer than ten bytes.
            let t = signed.timestamp_text;
            let same =
                v.len() == t.len() && v.iter().zip(t).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0;
            if !same && parse_unix(v) != Some(signed.timestamp) {
                known.set_timestamp();
            }
        }
    }
    UnsignedHeaders {
        known,
        event,
        version,
    }
}

pub(crate) fn parse_unix(v: &[u8]) -> Option<i64> {
    let v = v.trim_ascii();
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    core::str::from_utf8(v).ok()?.parse().ok()
}
