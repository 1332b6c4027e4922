//! The endpoint as configuration: Nexio's answer to `POST /api/v1/webhooks` (and to
//! the update and get requests) as a value a [`crate::Verifier`] is built from
//! (`docs/endpoint.md`).
//!
//! The answer says what every delivery to the endpoint will be: signed with its
//! `secret`, carrying a bearer token when `auth_token_configured` is true, for a run in
//! its `environment`, of one of its `events`. A verifier built with
//! [`crate::Verifier::for_endpoint`] knows all of it: a forgotten bearer token is a
//! construction error, and a delivery for another environment or an unsubscribed
//! event type is reported (strict mode: refused).

#[allow(unused_imports)]
use crate::prelude::*;

use alloc::sync::Arc;
use core::fmt;

use serde::{Deserialize, Deserializer};
use zeroize::Zeroizing;

use crate::event::Environment;
use crate::head;
use crate::secret::{BearerToken, Secret};
use crate::verified::HeaderMismatches;

/// A Nexio webhook endpoint, as the API returns it.
///
/// Deserializes from the JSON of the create, update and get answers (also when the
/// object is wrapped in `data`); unknown fields are ignored, and only `id` is
/// required. The `secret` is present only in the answers that show it (create,
/// `rotate-secret`): give it with [`Endpoint::with_secret`] otherwise. The bearer
/// token is never in an answer: give the `auth_token` the endpoint was created with
/// with [`Endpoint::with_bearer_token`].
///
/// `Debug` shows the secret's key id and whether a token is set, never either value.
///
/// ```
/// use nexio_webhooks::{Endpoint, Environment};
///
/// let endpoint: Endpoint = serde_json::from_str(r#"{
///     "id": "wh_01JQ8ZK3", "url": "https://hooks.example.com/nexio",
///     "environment": "live", "events": ["run.completed", "run.failed"],
///     "active": true, "auth_token_configured": false,
///     "webhook_version": "2026-03-22", "secret": "whsec_abc123def456",
///     "created_at": "2026-03-22T12:00:00Z"
/// }"#)?;
/// assert_eq!(endpoint.id(), "wh_01JQ8ZK3");
/// assert_eq!(endpoint.environment(), Some(&Environment::Live));
/// assert!(endpoint.secret().is_some());
/// assert!(!format!("{endpoint:?}").contains("abc123"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone)]
pub struct Endpoint {
    id: String,
    url: Option<String>,
    environment: Option<Environment>,
    events: Option<Vec<String>>,
    active: Option<bool>,
    auth_token_configured: bool,
    webhook_version: Option<String>,
    secret: Option<Secret>,
    bearer: Option<BearerToken>,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("environment", &self.environment)
            .field("events", &self.events)
            .field("active", &self.active)
            .field("auth_token_configured", &self.auth_token_configured)
            .field("webhook_version", &self.webhook_version)
            .field("secret", &self.secret.as_ref().map(Secret::key_id))
            .field("bearer_token", &self.bearer.is_some())
            .finish()
    }
}

impl Endpoint {
    /// An endpoint with this id and nothing else known: no environment, no
    /// subscription, no token configured, no secret.
    ///
    /// ```
    /// use nexio_webhooks::{Endpoint, Environment, Secret};
    ///
    /// let endpoint = Endpoint::new("wh_live")
    ///     .with_environment(Environment::Live)
    ///     .with_events(["run.completed"])
    ///     .with_secret(Secret::new("whsec_abc123def456")?);
    /// assert_eq!(endpoint.events(), Some(&["run.completed".to_owned()][..]));
    /// # Ok::<(), nexio_webhooks::SecretError>(())
    /// ```
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            url: None,
            environment: None,
            events: None,
            active: None,
            auth_token_configured: false,
            webhook_version: None,
            secret: None,
            bearer: None,
        }
    }

    /// Sets the URL deliveries are sent to.
    #[must_use]
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// Sets the environment whose runs the endpoint receives (`live`, `test`, or a
    /// custom slug, compared exactly).
    #[must_use]
    pub fn with_environment(mut self, environment: Environment) -> Self {
        self.environment = Some(environment);
        self
    }

    /// Sets the event types the endpoint subscribed to.
    #[must_use]
    pub fn with_events<I, S>(mut self, events: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.events = Some(events.into_iter().map(Into::into).collect());
        self
    }

    /// Sets whether the endpoint is active.
    #[must_use]
    pub fn with_active(mut self, active: bool) -> Self {
        self.active = Some(active);
        self
    }

    /// Sets whether the endpoint was created with an `auth_token` (so every delivery
    /// carries `Authorization: Bearer <token>`).
    #[must_use]
    pub fn with_auth_token_configured(mut self, configured: bool) -> Self {
        self.auth_token_configured = configured;
        self
    }

    /// Sets the payload version the endpoint sends.
    #[must_use]
    pub fn with_webhook_version(mut self, version: impl Into<String>) -> Self {
        self.webhook_version = Some(version.into());
        self
    }

    /// Sets the signing secret (for answers that do not show it).
    #[must_use]
    pub fn with_secret(mut self, secret: Secret) -> Self {
        self.secret = Some(secret);
        self
    }

    /// Sets the `auth_token` the endpoint was created with, required as
    /// `Authorization: Bearer <token>` on every delivery. Nexio never returns it.
    #[must_use]
    pub fn with_bearer_token(mut self, token: BearerToken) -> Self {
        self.bearer = Some(token);
        self
    }

    /// The endpoint's id (a numeric id in the answer is kept as its decimal text).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The URL deliveries are sent to, if the answer had it.
    pub fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }

    /// The environment whose runs the endpoint receives, if known.
    pub fn environment(&self) -> Option<&Environment> {
        self.environment.as_ref()
    }

    /// The subscribed event types, if known.
    pub fn events(&self) -> Option<&[String]> {
        self.events.as_deref()
    }

    /// Whether the endpoint is active, if known.
    pub fn active(&self) -> Option<bool> {
        self.active
    }

    /// Whether deliveries carry a bearer token.
    pub fn auth_token_configured(&self) -> bool {
        self.auth_token_configured
    }

    /// The payload version the endpoint sends, if known.
    pub fn webhook_version(&self) -> Option<&str> {
        self.webhook_version.as_deref()
    }

    /// The signing secret, if the answer showed it or it was set.
    pub fn secret(&self) -> Option<&Secret> {
        self.secret.as_ref()
    }

    /// The bearer token, if set.
    pub fn bearer_token(&self) -> Option<&BearerToken> {
        self.bearer.as_ref()
    }

    /// What a verifier checks against each delivery this endpoint signed.
    pub(crate) fn expectations(&self) -> Arc<Expectations> {
        Arc::new(Expectations {
            id: self.id.clone(),
            environment: self.environment.clone(),
            events: self.events.clone().map(Vec::into_boxed_slice),
        })
    }
}

/// The answer as it comes: every field optional, so the `data` wrapper can be told
/// apart. The secret's text is wiped once it is checked.
#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    id: Option<Id>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    environment: Option<Environment>,
    #[serde(default)]
    events: Option<Vec<String>>,
    #[serde(default)]
    active: Option<bool>,
    #[serde(default)]
    auth_token_configured: Option<bool>,
    #[serde(default)]
    webhook_version: Option<String>,
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    data: Option<Box<Answer>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Id {
    Text(String),
    Number(u64),
}

impl<'de> Deserialize<'de> for Endpoint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut answer = Answer::deserialize(d)?;
        // Some answers wrap the object in `data`; the top level then has no id.
        if answer.id.is_none()
            && let Some(inner) = answer.data.take()
        {
            answer = *inner;
        }
        let id = match answer.id {
            Some(Id::Text(s)) => s,
            Some(Id::Number(n)) => n.to_string(),
            None => return Err(serde::de::Error::missing_field("id")),
        };
        let raw = answer.secret.map(Zeroizing::new);
        let secret = match raw.as_deref() {
            // The message names the class of problem only, never the value.
            Some(s) => Some(Secret::new(s).map_err(serde::de::Error::custom)?),
            None => None,
        };
        Ok(Self {
            id,
            url: answer.url,
            environment: answer.environment,
            events: answer.events,
            active: answer.active,
            auth_token_configured: answer.auth_token_configured.unwrap_or(false),
            webhook_version: answer.webhook_version,
            secret,
            bearer: None,
        })
    }
}

/// What one endpoint promises about its deliveries, checked against the signed body.
#[derive(Debug)]
pub(crate) struct Expectations {
    pub(crate) id: String,
    pub(crate) environment: Option<Environment>,
    pub(crate) events: Option<Box<[String]>>,
}

impl Expectations {
    /// The body's `type` against the subscription and its `data.run.environment`
    /// against the endpoint's environment. A body where either cannot be read is not
    /// reported here: parsing the event says what is wrong with it.
    pub(crate) fn check(&self, body: &[u8]) -> HeaderMismatches {
        let mut m = HeaderMismatches::default();
        if let Some(events) = &self.events
            && let Some(event_type) = head::scan(body).and_then(|h| h.event_type)
            && !subscribed(events, event_type)
        {
            m.set_event_not_subscribed();
        }
        if let Some(environment) = &self.environment
            && let Some(run) = head::run_environment(body)
            && run.eq_bytes(environment.as_str().as_bytes()) != Some(true)
        {
            m.set_environment_mismatch();
        }
        m
    }
}

/// Whether `event_type` is one of `events`, an alias counting as its event
/// (`evaluation.completed` is `run.completed`, `evaluation.failed` is `run.failed`).
fn subscribed(events: &[String], event_type: head::RawStr<'_>) -> bool {
    events.iter().any(|listed| {
        event_type.eq_bytes(listed.as_bytes()) == Some(true)
            || alias(listed)
                .is_some_and(|other| event_type.eq_bytes(other.as_bytes()) == Some(true))
    })
}

fn alias(event_type: &str) -> Option<&'static str> {
    match event_type {
        "run.completed" => Some("evaluation.completed"),
        "evaluation.completed" => Some("run.completed"),
        "run.failed" => Some("evaluation.failed"),
        "evaluation.failed" => Some("run.failed"),
        _ => None,
    }
}

/// Why a verifier could not be built from endpoints.
///
/// Each variant has a stable snake_case [`code`](Self::code) and maps to HTTP 500
/// (the receiver is misconfigured); the message never contains a secret or token.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointError {
    /// The endpoint has no secret: the answer did not show it and none was given.
    MissingSecret,
    /// The endpoint has `auth_token_configured: true` and no bearer token was given:
    /// every delivery would carry a token this receiver does not check.
    BearerTokenRequired,
    /// Endpoints on one URL disagree on the bearer token (one has a token, another
    /// none or a different one); one verifier checks one token.
    BearerTokensDiffer,
    /// Two endpoints have the same secret: a delivery could not be attributed.
    SharedSecret,
    /// No endpoint was given.
    NoEndpoints,
}

impl EndpointError {
    /// The stable machine code, e.g. `bearer_token_required`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingSecret => "missing_secret",
            Self::BearerTokenRequired => "bearer_token_required",
            Self::BearerTokensDiffer => "bearer_tokens_differ",
            Self::SharedSecret => "shared_secret",
            Self::NoEndpoints => "no_endpoints",
        }
    }

    #[cfg(feature = "std")]
    #[cfg_attr(docsrs, doc(cfg(feature = "std")))]
    /// The HTTP status a receiver answers with: 500, the receiver is misconfigured.
    pub fn status(&self) -> http::StatusCode {
        http::StatusCode::INTERNAL_SERVER_ERROR
    }
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MissingSecret => "the endpoint has no secret: give the one Nexio showed",
            Self::BearerTokenRequired => {
                "the endpoint has auth_token_configured: true, and no bearer token was given"
            }
            Self::BearerTokensDiffer => "the endpoints do not all have the same bearer token",
            Self::SharedSecret => "two endpoints have the same secret",
            Self::NoEndpoints => "no endpoint was given",
        })
    }
}

impl core::error::Error for EndpointError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn expect(environment: Option<Environment>, events: Option<&[&str]>) -> Expectations {
        Expectations {
            id: "wh_1".into(),
            environment,
            events: events.map(|e| e.iter().map(|s| (*s).to_owned()).collect()),
        }
    }

    #[test]
    fn checks_type_and_environment() {
        let body = br#"{"id":"evt_1","type":"run.failed","data":{"run":{"run_id":"r","environment":"test"}}}"#;
        let both = expect(Some(Environment::Live), Some(&["run.completed"]));
        let m = both.check(body);
        assert!(m.event_not_subscribed() && m.environment_mismatch());
        let ok = expect(Some(Environment::Test), Some(&["run.failed"]));
        assert!(ok.check(body).is_empty());
        let alias = expect(None, Some(&["evaluation.failed"]));
        assert!(alias.check(body).is_empty());
        let none = expect(None, None);
        assert!(none.check(body).is_empty());
        // Unreadable parts are not reported.
        assert!(both.check(b"[1]").is_empty());
        assert!(
            both.check(br#"{"type":"run.completed","data":{}}"#)
                .is_empty()
        );
        let unknown = expect(None, Some(&["thing.happened"]));
        assert!(
            unknown
                .check(br#"{"id":"e","type":"thing.happened"}"#)
                .is_empty()
        );
    }

    #[test]
    fn answers_parse() {
        let e: Endpoint =
            serde_json::from_str(r#"{"data":{"id":42,"auth_token_configured":true}}"#).unwrap();
        assert_eq!(e.id(), "42");
        assert!(e.auth_token_configured());
        assert!(serde_json::from_str::<Endpoint>(r#"{"url":"x"}"#).is_err());
        let bad = serde_json::from_str::<Endpoint>(r#"{"id":"a","secret":"nx_live_abc123"}"#)
            .unwrap_err()
            .to_string();
        assert!(!bad.contains("abc123"), "{bad}");
    }
}
