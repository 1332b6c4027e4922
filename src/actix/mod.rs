//! [actix-web](https://docs.rs/actix-web) 4 integration (feature `actix-web`).
//!
//! Register a [`Receiver`] with `app_data` — as `web::Data<Receiver>` or as a plain
//! `Receiver` — on the app, a scope or the resource, and take [`NexioWebhook`] as a
//! handler argument:
//!
//! ```no_run
//! # #[cfg(feature = "actix-web")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use actix_web::{App, HttpServer, web};
//! use nexio_webhooks::{InMemoryReplayGuard, Receiver, Secret, Verifier};
//! use nexio_webhooks::actix::NexioWebhook;
//!
//! async fn webhook(hook: NexioWebhook) -> &'static str {
//!     println!("{} {}", hook.event.event_type(), hook.event.id());
//!     "ok"
//! }
//!
//! let receiver = Receiver::new(Verifier::new(Secret::new("whsec_abc123def456")?))
//!     .with_replay_guard(InMemoryReplayGuard::new(100_000));
//! HttpServer::new(move || {
//!     App::new()
//!         .app_data(web::Data::new(receiver.clone()))
//!         .route("/webhooks", web::post().to(webhook))
//! })
//! .bind(("127.0.0.1", 3001))?
//! .run()
//! .await?;
//! # Ok(())
//! # }
//! ```
//!
//! Without a [`Receiver`] in `app_data`, every delivery is answered 500
//! `receiver_misconfigured`.
//!
//! With a replay guard, the extractor claims the delivery and the handler completes
//! it with [`NexioWebhook::complete`] once processed (dropped unsettled, the claim is
//! released). For handlers that keep `web::Json<T>`, `web::Bytes` or their own
//! extractors, and for completion decided by the response's status, wrap the
//! resource in [`NexioWebhookMiddleware`]; behind it, [`NexioWebhook`] takes the
//! middleware's claim rather than claiming again, and [`VerifiedDelivery`] hands on
//! the metadata.
//!
//! Also here: [`HeaderSource`] for actix-web's `HeaderMap` (which uses `http` 0.2
//! types), so [`Verifier::verify`](crate::Verifier::verify) takes `req.headers()`
//! directly.

use core::future::Future;
use core::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap};
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, HttpResponse, ResponseError, web};
use futures_core::Stream;

use crate::extract::{FromVerified, LayerVerified};
use crate::headers::{HeaderLookup, HeaderSource};
use crate::rejection::{REJECTION_CONTENT_TYPE, rejected};

mod middleware;

pub use crate::extract::{NexioWebhook, VerifiedDelivery};
pub use crate::receiver::Receiver;
pub use crate::rejection::Rejection;
pub use middleware::{NexioWebhookMiddleware, NexioWebhookMiddlewareService};

impl HeaderSource for HeaderMap {
    fn lookup(&self, name: &str) -> HeaderLookup<'_> {
        HeaderLookup::from_values(self.get_all(name).map(header::HeaderValue::as_bytes))
    }

    /// One pass over the values for a map of up to 16 of them (as for `http`'s map),
    /// hashed lookups above that.
    fn lookup_many<'s>(&'s self, names: &[&str], found: &mut [HeaderLookup<'s>]) {
        if self.len() <= crate::headers::HEADER_MAP_SCAN_MAX {
            crate::headers::scan_pairs(
                self.iter().map(|(n, v)| (n.as_str(), v.as_bytes())),
                names,
                found,
            );
        } else {
            for (name, slot) in names.iter().zip(found.iter_mut()) {
                *slot = self.lookup(name);
            }
        }
    }
}

/// The receiver registered with `app_data`, plain or as `web::Data`.
pub(crate) fn receiver_of(req: &HttpRequest) -> Option<Receiver> {
    req.app_data::<Receiver>().cloned().or_else(|| {
        req.app_data::<web::Data<Receiver>>()
            .map(|data| data.get_ref().clone())
    })
}

/// A valid `Content-Length`, if any.
pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// Extracts a verified, parsed delivery.
///
/// In order: the [`Receiver`] from `app_data` (500 without one); the signature header,
/// replay window and bearer token (before the body is read); `Content-Length`
/// against the body limit (413 at once); the body, read chunk by chunk and abandoned
/// at the first byte past the limit (413); the MAC over the exact bytes; the parse
/// into `T`; the replay guard. Any failure is a [`Rejection`], which is a
/// `ResponseError`.
impl<T: FromVerified + 'static> FromRequest for NexioWebhook<T> {
    type Error = Rejection;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Rejection>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let Some(receiver) = receiver_of(req) else {
            return Box::pin(core::future::ready(Err(rejected(
                Rejection::Misconfigured,
                None,
            ))));
        };
        let content_length = content_length(req.headers());
        if let Err(rejection) =
            receiver.check_head_at(req.headers(), content_length, receiver.now())
        {
            return Box::pin(core::future::ready(Err(rejection)));
        }
        let layer = req.extensions().get::<LayerVerified>().copied();
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            let mut buffer = receiver.body_buffer(content_length)?;
            read_payload(&receiver, payload, &mut buffer).await?;
            // The bytes stay counted against the memory budget until the delivery is
            // handed to the handler.
            let (bytes, _reservation) = buffer.into_parts();
            if let Some(layer) = layer {
                return receiver
                    .accept_behind_layer(req.headers(), &bytes, layer.now)
                    .await;
            }
            // The clock is read again: a body trickled in slowly is judged at the time
            // it is complete, so it cannot outlast the replay guard's memory.
            receiver
                .accept_at(req.headers(), &bytes, receiver.now())
                .await
        })
    }
}

/// The metadata the verifying middleware put in the request's extensions. A handler
/// that asks for it on a resource without the middleware is answered 500
/// `receiver_misconfigured`: failing closed, since a 2xx would tell Nexio to stop
/// retrying a delivery nobody verified.
impl FromRequest for VerifiedDelivery {
    type Error = Rejection;
    type Future = core::future::Ready<Result<Self, Rejection>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        core::future::ready(
            req.extensions()
                .get::<VerifiedDelivery>()
                .cloned()
                .ok_or_else(|| rejected(Rejection::Misconfigured, None)),
        )
    }
}

/// Reads the payload into `buffer` within the receiver's body-read deadline.
pub(crate) async fn read_payload<S>(
    receiver: &Receiver,
    payload: Payload<S>,
    buffer: &mut crate::limit::BodyBuffer,
) -> Result<(), Rejection>
where
    Payload<S>: Stream<Item = Result<web::Bytes, PayloadError>>,
{
    let mut payload = core::pin::pin!(payload);
    let read = async {
        while let Some(chunk) = core::future::poll_fn(|cx| payload.as_mut().poll_next(cx)).await {
            let chunk = chunk.map_err(|e| {
                rejected(
                    match e {
                        PayloadError::Overflow => Rejection::PayloadTooLarge {
                            limit: receiver.body_limit(),
                        },
                        _ => Rejection::BodyRead,
                    },
                    None,
                )
            })?;
            buffer.push(&chunk)?;
        }
        Ok(())
    };
    actix_web::rt::time::timeout(receiver.body_read_timeout(), read)
        .await
        .unwrap_or_else(|_| Err(rejected(Rejection::BodyTimeout, None)))
}

/// The status, `{"error":"<code>"}` body (`200 {"status":"duplicate"}` for a
/// duplicate) and `Retry-After` where one is due.
impl ResponseError for Rejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status().as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.content_type(REJECTION_CONTENT_TYPE);
        if let Some(secs) = self.retry_after() {
            response.insert_header((header::RETRY_AFTER, secs));
        }
        response.body(self.body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    #[test]
    fn lookup_many_answers_as_lookup_does() {
        let names = [
            crate::headers::SIGNATURE,
            crate::headers::TIMESTAMP,
            crate::headers::EVENT,
            crate::headers::DELIVERY,
            crate::headers::AUTHORIZATION,
            "x-other",
        ];
        for filler in [0, 5, 40] {
            let mut map = HeaderMap::new();
            for (n, v) in [
                ("X-Nexio-Signature", "s"),
                ("x-nexio-event", "e1"),
                ("X-NEXIO-EVENT", "e2"),
                ("authorization", "a"),
                ("content-type", "c"),
            ] {
                map.append(
                    HeaderName::from_bytes(n.as_bytes()).unwrap(),
                    HeaderValue::from_static(v),
                );
            }
            for i in 0..filler {
                map.append(
                    HeaderName::from_bytes(format!("x-filler-{i}").as_bytes()).unwrap(),
                    HeaderValue::from_static("f"),
                );
            }
            let want: Vec<_> = names.iter().map(|n| map.lookup(n)).collect();
            assert_eq!(want[0], HeaderLookup::One(b"s"));
            assert_eq!(want[2], HeaderLookup::Repeated);
            assert_eq!(want[3], HeaderLookup::Absent);
            assert_eq!(want[4], HeaderLookup::One(b"a"));
            let mut found = [HeaderLookup::One(b"stale"); 6];
            map.lookup_many(&names, &mut found);
            assert_eq!(found.as_slice(), want.as_slice(), "{filler}");
        }
    }
}
