//! A tower [`Layer`](tower_layer::Layer) that verifies every delivery and processes
//! it exactly once (feature `tower`).
//!
//! [`NexioWebhookLayer`] wraps any tower/hyper service — an axum `Router` or route
//! with `.layer` / `.route_layer`, a hyper `service_fn` — and for each request:
//!
//! 1. refuses what needs no body to refuse: a missing, malformed, stale or future
//!    signature, a wrong bearer token (400/401), an announced `Content-Length` over
//!    the body limit (413) — before reading a byte of the body;
//! 2. reads the body, stopping at the first byte past the limit (413);
//! 3. verifies the MAC over the exact bytes (401), checks the event's envelope — a
//!    JSON object whose `id` and `type` are strings and whose `webhook_version` the
//!    verifier's version policy accepts (422 otherwise) — and claims its dedupe key
//!    (the signed event `id`) with the receiver's replay guard: a copy of a processed
//!    delivery is answered `200 {"status":"duplicate"}` and a copy of one in
//!    progress `409` with `Retry-After`, both without calling the inner service;
//! 4. calls the inner service with **the exact verified bytes** as the body
//!    ([`VerifiedBody`]), the request rebuilt from its parts (extensions set
//!    before the layer survive), and [`VerifiedDelivery`](crate::VerifiedDelivery)
//!    in the request's extensions;
//! 5. settles the claim from the inner service's answer: **completed on a 2xx**,
//!    **released** on any other status, on an error, on a panic (answered 500
//!    `{"error":"handler_panicked"}`), and when the response future is dropped
//!    (the client went away). A crash leaves the claim to expire with its lease.
//!
//! So a 2xx never leaves the layer for a delivery that was not processed, and a
//! delivery that was processed is never processed again within the guard's
//! retention. Forged, stale, malformed and oversized deliveries never reach the
//! inner service.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Json, Router, routing::post};
//! use nexio_webhooks::tower::NexioWebhookLayer;
//! use nexio_webhooks::{InMemoryReplayGuard, Receiver, Secret, Verifier};
//!
//! #[derive(serde::Deserialize)]
//! struct Delivery {
//!     id: String,
//!     r#type: String,
//! }
//!
//! // A 2xx completes the claim; any other answer releases it, so Nexio retries.
//! async fn webhook(Json(event): Json<Delivery>) -> Result<&'static str, http::StatusCode> {
//!     println!("{} {}", event.r#type, event.id);
//!     Ok("ok")
//! }
//!
//! let receiver = Receiver::new(Verifier::new(Secret::new("whsec_abc123def456")?))
//!     .with_replay_guard(InMemoryReplayGuard::new(100_000));
//! let app = Router::new()
//!     .route("/webhooks", post(webhook))
//!     .route_layer(NexioWebhookLayer::new(receiver));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```
//!
//! Behind the layer, a handler may take `Json<T>`, `Bytes`, `String`, its own
//! extractors, the layer's [`VerifiedDelivery`](crate::VerifiedDelivery) (axum:
//! `nexio_webhooks::axum::VerifiedDelivery`; answered 500 `receiver_misconfigured`
//! on a route without the layer), or the `axum` feature's `NexioWebhook<T>`, which
//! then takes the layer's claim instead of claiming again.
//!
//! The rest of the payload is the inner service's to parse, into its own type: the
//! layer does not refuse a delivery over a `run` the crate's typed model would
//! reject, which the handler may well process (a refusal there would be retried by
//! Nexio until it gave up). A handler that fails to parse it answers non-2xx, which
//! releases the claim.
//!
//! The layer reads the whole body (bounded by the receiver's body limit), so put it
//! on the webhook route only (`route_layer`), not in front of unrelated routes.

mod body;
mod future;
mod layer;
mod service;

pub use body::{ResponseBody, VerifiedBody};
pub use future::ResponseFuture;
pub use layer::NexioWebhookLayer;
pub use service::NexioWebhookService;
