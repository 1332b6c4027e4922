//! [axum](https://docs.rs/axum) 0.8 integration (feature `axum`, built on `axum-core`).
//!
//! Put a [`Receiver`] in the router's state — as the state itself, or as a field of
//! your state with `FromRef` — and take [`NexioWebhook`] as the handler's **last**
//! argument (it reads the body):
//!
//! ```no_run
//! # #[cfg(feature = "axum")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Router, routing::post};
//! use nexio_webhooks::{InMemoryReplayGuard, Receiver, Secret, Verifier};
//! use nexio_webhooks::axum::NexioWebhook;
//!
//! async fn webhook(hook: NexioWebhook) -> &'static str {
//!     println!("{} {}", hook.event.event_type(), hook.event.id());
//!     "ok"
//! }
//!
//! let receiver = Receiver::new(Verifier::new(Secret::new("whsec_abc123def456")?))
//!     .with_replay_guard(InMemoryReplayGuard::new(100_000));
//! let app = Router::new()
//!     .route("/webhooks", post(webhook))
//!     .with_state(receiver);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```
//!
//! In a larger state, derive `FromRef` (axum's `macros` feature) or write it:
//!
//! ```
//! # #[cfg(feature = "axum")]
//! # mod m {
//! use axum::extract::FromRef;
//! use nexio_webhooks::Receiver;
//!
//! #[derive(Clone)]
//! struct AppState {
//!     nexio: Receiver,
//!     // db: Pool, ...
//! }
//!
//! impl FromRef<AppState> for Receiver {
//!     fn from_ref(state: &AppState) -> Receiver {
//!         state.nexio.clone()
//!     }
//! }
//! # }
//! ```
//!
//! A router whose state has no [`Receiver`] does not compile — the axum counterpart
//! of the actix-web adapter's 500 `receiver_misconfigured`:
//!
//! ```compile_fail
//! use axum::{Router, routing::post};
//! use nexio_webhooks::axum::NexioWebhook;
//!
//! async fn webhook(_hook: NexioWebhook) {}
//!
//! // No `.with_state(receiver)`: `Receiver: FromRef<()>` does not hold.
//! let app: Router = Router::new().route("/webhooks", post(webhook));
//! ```
//!
//! The extractor's own body limit ([`Receiver::with_body_limit`], default 1 MiB)
//! applies; axum's `DefaultBodyLimit` layer does not.
//!
//! With a replay guard, the extractor claims the delivery and the handler completes
//! it with [`NexioWebhook::complete`] once processed (dropped unsettled, the claim is
//! released). For a handler that keeps `Json<T>`, `Bytes` or its own extractors, and
//! for completion decided by the response's status, use the `tower` feature's
//! `NexioWebhookLayer` instead; behind it, [`NexioWebhook`] takes the layer's claim
//! rather than claiming again, and [`VerifiedDelivery`] hands on the metadata.

use axum_core::body::Body;
use axum_core::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum_core::response::{IntoResponse, Response};
use http::header::CONTENT_LENGTH;
use http::request::Parts;
use http_body_util::BodyExt as _;

use crate::extract::{FromVerified, LayerVerified};
use crate::rejection::rejected;

pub use crate::extract::{NexioWebhook, VerifiedDelivery};
pub use crate::receiver::Receiver;
pub use crate::rejection::Rejection;

/// Extracts a verified, parsed delivery.
///
/// In order: the signature header, replay window and bearer token (before the body is
/// read); `Content-Length` against the body limit (413 at once); the body, read
/// frame by frame and abandoned at the first byte past the limit (413); the MAC over
/// the exact bytes; the parse into `T`; the claim with the replay guard. Any failure
/// is a [`Rejection`], which is the response.
///
/// Behind the `tower` feature's `NexioWebhookLayer`, the body is the one the layer
/// verified; the extractor verifies it at the layer's instant and does not claim
/// again (the layer holds the claim).
impl<S, T> FromRequest<S> for NexioWebhook<T>
where
    Receiver: FromRef<S>,
    S: Send + Sync,
    T: FromVerified + Send,
{
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let receiver = Receiver::from_ref(state);
        let (parts, mut body) = req.into_parts();
        let layer = parts.extensions.get::<LayerVerified>().copied();
        let content_length = content_length(&parts.headers);
        receiver.check_head_at(&parts.headers, content_length, receiver.now())?;

        let mut buffer = receiver.body_buffer(content_length)?;
        let read = async {
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|_| rejected(Rejection::BodyRead, None))?;
                if let Some(data) = frame.data_ref() {
                    buffer.push(data)?;
                }
            }
            Ok::<(), Rejection>(())
        };
        crate::limit::within(receiver.body_read_timeout(), read)
            .await
            .unwrap_or_else(|| Err(rejected(Rejection::BodyTimeout, None)))?;
        drop(body);
        // The bytes stay counted against the memory budget until the delivery is
        // handed to the handler.
        let (bytes, _reservation) = buffer.into_parts();
        if let Some(layer) = layer {
            return receiver
                .accept_behind_layer(&parts.headers, &bytes, layer.now)
                .await;
        }
        // The clock is read again: a body trickled in slowly is judged at the time it
        // is complete, so it cannot outlast the replay guard's memory.
        receiver
            .accept_at(&parts.headers, &bytes, receiver.now())
            .await
    }
}

/// The metadata the verifying layer put in the request's extensions. A handler that
/// asks for it on a route without the layer is answered 500
/// `receiver_misconfigured`: failing closed, since a 2xx would tell Nexio to stop
/// retrying a delivery nobody verified.
impl<S: Send + Sync> FromRequestParts<S> for VerifiedDelivery {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<VerifiedDelivery>()
            .cloned()
            .ok_or_else(|| rejected(Rejection::Misconfigured, None))
    }
}

/// A valid `Content-Length`, if any (hyper has already refused invalid ones).
fn content_length(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// The status, `{"error":"<code>"}` body (`200 {"status":"duplicate"}` for a
/// duplicate) and `Retry-After` where one is due.
impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        self.to_http_response(Body::from)
    }
}
