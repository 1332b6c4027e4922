//! Why an adapter did not hand a delivery on, and the reply it gives: status, stable
//! code, a JSON body naming the code only, and `Retry-After` where a retry is due.

use core::fmt;

use http::StatusCode;

use crate::error::{ParseError, VerifyError};
use crate::replay::ReplayGuardError;
use crate::verified::DeliveryInfo;

/// The `Content-Type` of every rejection body.
pub const REJECTION_CONTENT_TYPE: &str = "application/json";

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

/// Why an adapter did not hand a delivery to the handler, and the reply it gives.
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
/// | [`BodyTimeout`](Self::BodyTimeout): the body did not arrive within the read deadline | 408 | `{"error":"body_read_timeout"}` |
/// | [`Busy`](Self::Busy): the memory budget for bodies being read is exhausted | 503 + `Retry-After` | `{"error":"receiver_busy"}` |
/// | [`Parse`](Self::Parse): verified, but unparseable or unsupported version | 422 | `{"error":"<code>"}` |
/// | [`Misconfigured`](Self::Misconfigured): no [`Receiver`](crate::Receiver) in app state | 500 | `{"error":"receiver_misconfigured"}` |
/// | [`InProgress`](Self::InProgress): another request holds the delivery's claim | 409 + `Retry-After` | `{"error":"delivery_in_progress"}` |
/// | [`ReplayGuard`](Self::ReplayGuard): guard full or unreachable | 503 + `Retry-After` | `{"error":"<code>"}` |
/// | [`Duplicate`](Self::Duplicate): already processed | **200** | `{"status":"duplicate"}` |
///
/// None but [`Duplicate`](Self::Duplicate) is a 2xx: nothing is acknowledged that
/// was not processed, and Nexio retries every other answer.
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
    /// The whole body did not arrive within the receiver's body-read deadline (408):
    /// a slow or stalled sender; Nexio retries.
    BodyTimeout,
    /// The memory budget shared by the requests being read is exhausted (503, with
    /// `Retry-After`), decided before the body is read: nothing was processed; Nexio
    /// retries.
    Busy,
    /// Verified, but not a usable event (422): Nexio retries; the operator must act.
    Parse(ParseError),
    /// No [`Receiver`](crate::Receiver) was found in the application state (500).
    Misconfigured,
    /// The replay guard could not answer (503): nothing was processed; Nexio retries.
    ReplayGuard(ReplayGuardError),
    /// Another request holds this delivery's claim and has not finished (409, with
    /// `Retry-After`): the first may yet fail, so this copy is not acknowledged.
    InProgress {
        /// Seconds until the other request's lease ends.
        retry_after_secs: u64,
    },
    /// A duplicate of a delivery already processed: answered **200** so Nexio stops
    /// retrying, without calling the handler again.
    Duplicate,
}

/// The `Retry-After` of a 503 (replay guard, memory budget), in seconds.
pub const GUARD_RETRY_AFTER_SECS: u64 = 5;

impl Rejection {
    /// The stable machine code, e.g. `signature_mismatch`, `payload_too_large`,
    /// `duplicate`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Verify(e) => e.code(),
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::BodyRead => "body_read_failed",
            Self::BodyTimeout => "body_read_timeout",
            Self::Busy => "receiver_busy",
            Self::Parse(e) => e.code(),
            Self::Misconfigured => "receiver_misconfigured",
            Self::ReplayGuard(e) => e.code(),
            Self::InProgress { .. } => "delivery_in_progress",
            Self::Duplicate => "duplicate",
        }
    }

    /// The HTTP status to answer with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Verify(e) => e.status(),
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyRead => StatusCode::BAD_REQUEST,
            Self::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Self::Parse(e) => e.status(),
            Self::Misconfigured => StatusCode::INTERNAL_SERVER_ERROR,
            Self::ReplayGuard(e) => e.status(),
            Self::InProgress { .. } => StatusCode::CONFLICT,
            Self::Duplicate => StatusCode::OK,
        }
    }

    /// The `Retry-After` to send, in seconds: the other request's remaining lease
    /// for [`InProgress`](Self::InProgress), [`GUARD_RETRY_AFTER_SECS`] for
    /// [`ReplayGuard`](Self::ReplayGuard) and [`Busy`](Self::Busy), none otherwise.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::InProgress { retry_after_secs } => Some(*retry_after_secs),
            Self::ReplayGuard(_) | Self::Busy => Some(GUARD_RETRY_AFTER_SECS),
            _ => None,
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
    pub(crate) fn skew(&self) -> Option<i64> {
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

impl Rejection {
    /// The whole reply as an `http::Response`: status, `Content-Type:
    /// application/json`, `Retry-After` where one is due, and the body made by
    /// `body` from [`Rejection::body`].
    pub fn to_http_response<B>(&self, body: impl FnOnce(String) -> B) -> http::Response<B> {
        let mut response = http::Response::new(body(self.body()));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(REJECTION_CONTENT_TYPE),
        );
        if let Some(secs) = self.retry_after() {
            headers.insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
        }
        response
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
            Self::BodyTimeout => f.write_str("the body did not arrive within the read deadline"),
            Self::Busy => f.write_str("the receiver's memory budget for bodies is exhausted"),
            Self::Parse(e) => write!(f, "verified delivery not usable: {e}"),
            Self::Misconfigured => {
                f.write_str("receiver misconfigured: no nexio_webhooks::Receiver in app state")
            }
            Self::ReplayGuard(e) => write!(f, "replay guard could not answer: {e}"),
            Self::InProgress { retry_after_secs } => write!(
                f,
                "delivery is being processed by another request; retry in {retry_after_secs} s"
            ),
            Self::Duplicate => f.write_str("duplicate of a delivery already processed"),
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
