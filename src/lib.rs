// The README is the crate documentation; its examples use the `std` feature.
#![cfg_attr(feature = "std", doc = include_str!("../README.md"))]
//!
//! ## Without `std`
//!
//! The `std` feature (on by default) brings the clock, the `http` types, the replay
//! guards, the receiver and the adapters. With `default-features = false` the crate is
//! `#![no_std]` over `alloc`: parse the header, check the window, the MAC and the
//! event with [`Verifier::verify_at`], giving it the time. See `docs/no_std.md`.
#![cfg_attr(not(feature = "std"), no_std)]
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

extern crate alloc;
// The unit tests run without the `std` feature too; they, not the library, use `std`.
#[cfg(all(test, not(feature = "std")))]
extern crate std;

/// The `alloc` names the `std` prelude would bring, for the modules that also build
/// without `std`.
#[allow(unused_imports)]
mod prelude {
    pub(crate) use alloc::borrow::ToOwned;
    pub(crate) use alloc::boxed::Box;
    pub(crate) use alloc::format;
    pub(crate) use alloc::string::{String, ToString};
    pub(crate) use alloc::vec;
    pub(crate) use alloc::vec::Vec;
}

#[cfg(feature = "std")]
mod claim;
mod diagnose;
mod endpoint;
mod error;
mod event;
#[cfg(feature = "std")]
mod extract;
mod head;
mod header;
mod headers;
#[cfg(feature = "std")]
mod limit;
mod mac;
#[cfg(feature = "std")]
mod receiver;
#[cfg(feature = "std")]
mod rejection;
#[cfg(feature = "std")]
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

#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub use claim::{AsyncReplayGuard, BoxFuture, Claim};
pub use diagnose::{Diagnosis, Hint};
pub use endpoint::{Endpoint, EndpointError};
pub use error::{InvalidEventReason, MalformedReason, ParseError, VerifyError};
pub use event::{Environment, Event, EventKind, Run, RunStatus, VersionPolicy, WEBHOOK_VERSION};
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub use extract::{FromVerified, NexioWebhook, RawBody, VerifiedDelivery};
pub use header::{MAX_HEADER_LEN, MAX_SIGNATURES, SignatureHeader, SignatureHeaderError};
pub use headers::{HeaderLookup, HeaderSource};
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub use limit::{
    BodyBuffer, DEFAULT_BODY_LIMIT, DEFAULT_BODY_READ_TIMEOUT, DEFAULT_MEMORY_BUDGET, MemoryBudget,
    Reservation,
};
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub use receiver::Receiver;
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub use rejection::{GUARD_RETRY_AFTER_SECS, REJECTION_CONTENT_TYPE, Rejection};
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub use replay::{
    ClaimOutcome, DEFAULT_LEASE, DEFAULT_RETENTION, InMemoryReplayGuard, MAX_KEY_LEN, OwnerToken,
    ReplayGuard, ReplayGuardError, Ticket,
};
pub use secret::{BearerToken, KeyId, MAX_BEARER_TOKEN_LEN, SECRET_PREFIX, Secret, SecretError};
pub use signer::Signer;
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub use signer::{Delivery, DeliveryBuilder};
// No clock on `wasm32-unknown-unknown` without the `wasm` feature: see `unix_now`.
#[cfg(feature = "std")]
#[cfg(any(
    not(all(target_arch = "wasm32", target_os = "unknown")),
    feature = "wasm"
))]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub use time::unix_now;
pub use time::{DEFAULT_MAX_AGE, DEFAULT_MAX_FUTURE, Tolerance, WindowError};
pub use verified::{DeliveryInfo, HeaderMismatches, Verified};
pub use verifier::Verifier;

/// The example of `docs/no_std.md`, run as a doctest with and without `std`.
#[cfg(doctest)]
#[doc = include_str!("../docs/no_std.md")]
struct NoStdDocs;

/// Header names, lowercase, as `http::HeaderName` spells them.
pub mod header_names {
    pub use crate::headers::{
        AUTHORIZATION, DELIVERY, EVENT, SIGNATURE, TIMESTAMP, WEBHOOK_VERSION,
    };
}
