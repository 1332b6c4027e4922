#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
// The lint wall (no unwrap/expect/panic/indexing/unchecked arithmetic) guards the
// library code; unit tests may assert freely.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

mod claim;
mod diagnose;
mod endpoint;
mod error;
mod event;
mod extract;
mod head;
mod header;
mod headers;
mod limit;
mod mac;
mod receiver;
mod rejection;
mod replay;
mod secret;
mod signer;
mod time;
mod verified;
mod verifier;

pub mod dangerous;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub mod postgres;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis;
pub mod sample;

#[cfg(feature = "actix-web")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix-web")))]
pub mod actix;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;

pub use claim::{AsyncReplayGuard, BoxFuture, Claim};
pub use diagnose::{Diagnosis, Hint};
pub use endpoint::{Endpoint, EndpointError};
pub use error::{InvalidEventReason, MalformedReason, ParseError, VerifyError};
pub use event::{Environment, Event, EventKind, Run, RunStatus, VersionPolicy, WEBHOOK_VERSION};
pub use extract::{FromVerified, NexioWebhook, RawBody, VerifiedDelivery};
pub use header::{MAX_HEADER_LEN, MAX_SIGNATURES, SignatureHeader, SignatureHeaderError};
pub use headers::{HeaderLookup, HeaderSource};
pub use limit::{
    BodyBuffer, DEFAULT_BODY_LIMIT, DEFAULT_BODY_READ_TIMEOUT, DEFAULT_MEMORY_BUDGET, MemoryBudget,
    Reservation,
};
pub use receiver::Receiver;
pub use rejection::{GUARD_RETRY_AFTER_SECS, REJECTION_CONTENT_TYPE, Rejection};
pub use replay::{
    ClaimOutcome, DEFAULT_LEASE, DEFAULT_RETENTION, InMemoryReplayGuard, MAX_KEY_LEN, OwnerToken,
    ReplayGuard, ReplayGuardError, Ticket,
};
pub use secret::{BearerToken, KeyId, MAX_BEARER_TOKEN_LEN, SECRET_PREFIX, Secret, SecretError};
pub use signer::{Delivery, DeliveryBuilder, Signer};
pub use time::{DEFAULT_MAX_AGE, DEFAULT_MAX_FUTURE, Tolerance, WindowError};
// No clock on `wasm32-unknown-unknown` without the `wasm` feature: see `unix_now`.
#[cfg(any(
    not(all(target_arch = "wasm32", target_os = "unknown")),
    feature = "wasm"
))]
pub use time::unix_now;
pub use verified::{DeliveryInfo, HeaderMismatches, Verified};
pub use verifier::Verifier;

/// Header names, lowercase, as `http::HeaderName` spells them.
pub mod header_names {
    pub use crate::headers::{
        AUTHORIZATION, DELIVERY, EVENT, SIGNATURE, TIMESTAMP, WEBHOOK_VERSION,
    };
}
