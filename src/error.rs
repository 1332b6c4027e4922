//! Verification errors and parse errors: separate types, stable codes, HTTP statuses
//! (`docs/verification.md`, *Replies*). No message ever contains the secret, the
//! expected MAC or the body.

#[allow(unused_imports)]
use crate::prelude::*;

use core::fmt;

#[cfg(feature = "std")]
use http::StatusCode;

use crate::header::SignatureHeaderError;

/// Why a delivery was not verified.
///
/// Each variant has a stable snake_case [`code`](Self::code) (never renamed), the HTTP
/// [`status`](Self::status) a receiver should answer with, and a lowercase message
/// naming the class of problem. The caller still owns the raw headers and body.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyError {
    /// No `X-Nexio-Signature` header.
    MissingSignature,
    /// The `X-Nexio-Signature` header does not follow the grammar, or is repeated.
    MalformedSignature(MalformedReason),
    /// The `X-Nexio-Signature` header is longer than 4096 bytes.
    SignatureHeaderTooLarge,
    /// The `X-Nexio-Signature` header has more than 16 `v1` entries.
    TooManySignatures,
    /// No `v1` entry matches any configured, unexpired secret.
    SignatureMismatch,
    /// The signed timestamp is older than the configured maximum age.
    TimestampTooOld {
        /// How old the delivery is, in seconds.
        age_secs: u64,
    },
    /// The signed timestamp is further in the future than the configured allowance.
    TimestampTooNew {
        /// How far ahead of the receiver's clock it is, in seconds.
        ahead_secs: u64,
    },
    /// A bearer token is configured and no `Authorization: Bearer …` header came.
    MissingBearerToken,
    /// The `Authorization` header does not carry the configured bearer token.
    BearerTokenMismatch,
    /// Strict mode: `X-Nexio-Timestamp` differs from the signed `t=`.
    TimestampHeaderMismatch,
    /// Strict mode: `X-Nexio-Event` differs from the signed body's `type`.
    EventHeaderMismatch,
    /// Strict mode: `X-Nexio-Webhook-Version` differs from the signed body's
    /// `webhook_version`.
    VersionHeaderMismatch,
    /// Strict mode, a verifier built from endpoints: the signed body's `type` is not
    /// in the signing endpoint's `events`. Verified, but not for this receiver: 422.
    EventNotSubscribed,
    /// Strict mode, a verifier built from endpoints: the signed body's
    /// `data.run.environment` is not the signing endpoint's environment (a `test` run
    /// at a `live` endpoint). Verified, but not for this receiver: 422.
    EnvironmentMismatch,
}

/// The grammar rule a malformed `X-Nexio-Signature` header broke.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MalformedReason {
    /// The tokenizer refused the value.
    Header(SignatureHeaderError),
    /// The header appeared more than once.
    Repeated,
}

impl VerifyError {
    /// The stable machine code, e.g. `signature_mismatch`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingSignature => "missing_signature",
            Self::MalformedSignature(_) => "malformed_signature",
            Self::SignatureHeaderTooLarge => "signature_header_too_large",
            Self::TooManySignatures => "too_many_signatures",
            Self::SignatureMismatch => "signature_mismatch",
            Self::TimestampTooOld { .. } => "timestamp_too_old",
            Self::TimestampTooNew { .. } => "timestamp_too_new",
            Self::MissingBearerToken => "missing_bearer_token",
            Self::BearerTokenMismatch => "bearer_token_mismatch",
            Self::TimestampHeaderMismatch => "timestamp_header_mismatch",
            Self::EventHeaderMismatch => "event_header_mismatch",
            Self::VersionHeaderMismatch => "version_header_mismatch",
            Self::EventNotSubscribed => "event_not_subscribed",
            Self::EnvironmentMismatch => "environment_mismatch",
        }
    }

    #[cfg(feature = "std")]
    #[cfg_attr(docsrs, doc(cfg(feature = "std")))]
    /// The HTTP status a receiver should answer with: 400 for malformed input, 401 for
    /// authentication failures (bad signature, stale or future timestamp, bearer token),
    /// 422 for a verified delivery the signing endpoint did not promise
    /// (`event_not_subscribed`, `environment_mismatch`).
    pub fn status(&self) -> StatusCode {
        if matches!(self, Self::EventNotSubscribed | Self::EnvironmentMismatch) {
            StatusCode::UNPROCESSABLE_ENTITY
        } else if self.is_authentication_failure() {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        }
    }

    /// Whether this is an authentication failure (401) rather than malformed input
    /// (400). Useful for choosing a log level.
    pub fn is_authentication_failure(&self) -> bool {
        matches!(
            self,
            Self::SignatureMismatch
                | Self::TimestampTooOld { .. }
                | Self::TimestampTooNew { .. }
                | Self::MissingBearerToken
                | Self::BearerTokenMismatch
        )
    }

    pub(crate) fn from_header(e: SignatureHeaderError) -> Self {
        match e {
            SignatureHeaderError::TooLarge => Self::SignatureHeaderTooLarge,
            SignatureHeaderError::TooManySignatures => Self::TooManySignatures,
            other => Self::MalformedSignature(MalformedReason::Header(other)),
        }
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingSignature => f.write_str("missing X-Nexio-Signature header"),
            Self::MalformedSignature(MalformedReason::Header(e)) => {
                write!(f, "malformed signature: {e}")
            }
            Self::MalformedSignature(MalformedReason::Repeated) => {
                f.write_str("malformed signature: more than one X-Nexio-Signature header")
            }
            Self::SignatureHeaderTooLarge => {
                f.write_str("signature header is longer than 4096 bytes")
            }
            Self::TooManySignatures => f.write_str("signature header has more than 16 v1 entries"),
            Self::SignatureMismatch => f.write_str("no signature matches any configured secret"),
            Self::TimestampTooOld { age_secs } => {
                write!(f, "timestamp too old: signed {age_secs} s ago")
            }
            Self::TimestampTooNew { ahead_secs } => {
                write!(f, "timestamp too new: signed {ahead_secs} s in the future")
            }
            Self::MissingBearerToken => f.write_str("missing bearer token"),
            Self::BearerTokenMismatch => f.write_str("bearer token does not match"),
            Self::TimestampHeaderMismatch => {
                f.write_str("X-Nexio-Timestamp differs from the signed timestamp")
            }
            Self::EventHeaderMismatch => {
                f.write_str("X-Nexio-Event differs from the signed event type")
            }
            Self::VersionHeaderMismatch => {
                f.write_str("X-Nexio-Webhook-Version differs from the signed payload version")
            }
            Self::EventNotSubscribed => {
                f.write_str("the signed event type is not one the endpoint subscribed to")
            }
            Self::EnvironmentMismatch => {
                f.write_str("the signed run's environment is not the endpoint's")
            }
        }
    }
}

impl core::error::Error for VerifyError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::MalformedSignature(MalformedReason::Header(e)) => Some(e),
            _ => None,
        }
    }
}

/// Why a verified body could not be turned into an event.
///
/// Never a signature failure: by the time this type appears, the delivery is
/// authentic. A receiver answers 422 (Nexio retries; the operator must act).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// The body is not JSON (or not UTF-8 JSON).
    InvalidJson {
        /// 1-based line of the first error.
        line: usize,
        /// 1-based column of the first error.
        column: usize,
    },
    /// The body is JSON but not a `2026-03-22` event (a required field is missing or
    /// has the wrong type).
    InvalidEvent {
        /// Which part of the event is wrong.
        reason: InvalidEventReason,
    },
    /// The body's `webhook_version` is not `2026-03-22` (or is missing) and the
    /// version policy is exact.
    UnsupportedVersion,
}

/// Which part of an event failed to parse.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidEventReason {
    /// The top level is not an object with a string `id` and `type`.
    Envelope,
    /// `data.run` is missing or does not match the run schema.
    Run,
    /// The event does not match the caller's own type (`Verified::json`).
    Schema {
        /// 1-based line of the first error.
        line: usize,
        /// 1-based column of the first error.
        column: usize,
    },
}

impl ParseError {
    /// The stable machine code: `invalid_json`, `invalid_event` or
    /// `unsupported_version`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidJson { .. } => "invalid_json",
            Self::InvalidEvent { .. } => "invalid_event",
            Self::UnsupportedVersion => "unsupported_version",
        }
    }

    /// Always 422: verified, but unusable.
    #[cfg(feature = "std")]
    #[cfg_attr(docsrs, doc(cfg(feature = "std")))]
    pub fn status(&self) -> StatusCode {
        StatusCode::UNPROCESSABLE_ENTITY
    }

    /// Maps a serde_json error without copying its message, which can quote the
    /// payload.
    pub(crate) fn from_json(e: &serde_json::Error, reason: InvalidEventReason) -> Self {
        match e.classify() {
            serde_json::error::Category::Data => Self::InvalidEvent { reason },
            _ => Self::InvalidJson {
                line: e.line(),
                column: e.column(),
            },
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidJson { line, column } => {
                write!(f, "invalid json at line {line} column {column}")
            }
            Self::InvalidEvent { reason } => match reason {
                InvalidEventReason::Envelope => {
                    f.write_str("invalid event: the envelope needs a string `id` and `type`")
                }
                InvalidEventReason::Run => {
                    f.write_str("invalid event: `data.run` does not match the run schema")
                }
                InvalidEventReason::Schema { line, column } => write!(
                    f,
                    "invalid event: does not match the expected type at line {line} column {column}"
                ),
            },
            Self::UnsupportedVersion => {
                f.write_str("unsupported webhook_version: expected 2026-03-22")
            }
        }
    }
}

impl core::error::Error for ParseError {}
