//! The verifying middleware for actix-web: the `tower` layer's behaviour, as an
//! actix-web `Transform`.

use core::fmt;
use core::future::{Ready, ready};
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::web::Bytes;
use actix_web::{Error, HttpMessage as _, HttpResponse, ResponseError as _};
use futures_core::future::LocalBoxFuture;

use super::{content_length, read_payload, receiver_of};
use crate::claim::{PANICKED_BODY, Settled, run_and_settle};
use crate::extract::{LayerVerified, VerifiedDelivery};
use crate::receiver::Receiver;
use crate::rejection::{REJECTION_CONTENT_TYPE, Rejection, rejected};

/// Verifies every delivery and processes it exactly once, around any actix-web
/// service (a resource, a scope, an app).
///
/// For each request, in order: the checks that need no body (signature header,
/// window, bearer token; `Content-Length` against the limit); the body, read chunk by
/// chunk and abandoned at the first byte past the limit; the MAC over the exact
/// bytes; the event's envelope (`id`, `type`, `webhook_version` under the version
/// policy; the rest of the payload is the handler's to parse); the claim on its
/// dedupe key (a duplicate
/// of a processed delivery → `200 {"status":"duplicate"}`, one in progress → 409
/// with `Retry-After`, neither reaching the handler). Then the inner service runs on
/// **the exact verified bytes** (put back as the request's payload, so `web::Bytes`,
/// `web::Json<T>` or [`NexioWebhook`](super::NexioWebhook) read them), with
/// [`VerifiedDelivery`] in the request's extensions. Its answer settles the claim:
/// **completed on a 2xx**, released on any other status, an error, a panic (answered
/// 500 `{"error":"handler_panicked"}`) or a dropped request.
///
/// ```no_run
/// # #[cfg(feature = "actix-web")]
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use actix_web::{App, HttpResponse, HttpServer, web};
/// use nexio_webhooks::actix::NexioWebhookMiddleware;
/// use nexio_webhooks::{InMemoryReplayGuard, Receiver, Secret, Verifier};
///
/// async fn webhook(body: web::Json<serde_json::Value>) -> HttpResponse {
///     println!("{}", body["type"]);
///     HttpResponse::Ok().finish() // a 2xx completes the claim
/// }
///
/// let receiver = Receiver::new(Verifier::new(Secret::new("whsec_abc123def456")?))
///     .with_replay_guard(InMemoryReplayGuard::new(100_000));
/// HttpServer::new(move || {
///     App::new().service(
///         web::resource("/webhooks")
///             .wrap(NexioWebhookMiddleware::new(receiver.clone()))
///             .route(web::post().to(webhook)),
///     )
/// })
/// .bind(("127.0.0.1", 3001))?
/// .run()
/// .await?;
/// # Ok(())
/// # }
/// ```
///
/// The middleware reads the whole body (bounded by the receiver's limit): wrap the
/// webhook resource only.
#[derive(Clone)]
pub struct NexioWebhookMiddleware {
    receiver: Option<Receiver>,
}

impl NexioWebhookMiddleware {
    /// Middleware with its own `receiver`.
    pub fn new(receiver: Receiver) -> Self {
        Self {
            receiver: Some(receiver),
        }
    }

    /// Middleware that takes the [`Receiver`] from `app_data` (plain or as
    /// `web::Data`) on each request; without one, every delivery is answered 500
    /// `receiver_misconfigured`.
    pub fn from_app_data() -> Self {
        Self { receiver: None }
    }
}

impl fmt::Debug for NexioWebhookMiddleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NexioWebhookMiddleware")
            .field("receiver", &self.receiver)
            .finish()
    }
}

impl<S, B> Transform<S, ServiceRequest> for NexioWebhookMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = NexioWebhookMiddlewareService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(NexioWebhookMiddlewareService {
            service: Rc::new(service),
            receiver: self.receiver.clone(),
        }))
    }
}

/// The service [`NexioWebhookMiddleware`] wraps around the inner one.
pub struct NexioWebhookMiddlewareService<S> {
    service: Rc<S>,
    receiver: Option<Receiver>,
}

impl<S> fmt::Debug for NexioWebhookMiddlewareService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NexioWebhookMiddlewareService")
            .field("receiver", &self.receiver)
            .finish_non_exhaustive()
    }
}

fn refuse<B>(req: ServiceRequest, rejection: Rejection) -> ServiceResponse<EitherBody<B>> {
    req.into_response(rejection.error_response())
        .map_into_right_body()
}

impl<S, B> Service<ServiceRequest> for NexioWebhookMiddlewareService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let receiver = self.receiver.clone().or_else(|| receiver_of(req.request()));
        Box::pin(async move {
            let Some(receiver) = receiver else {
                return Ok(refuse(req, rejected(Rejection::Misconfigured, None)));
            };
            let content_length = content_length(req.headers());
            if let Err(rejection) =
                receiver.check_head_at(req.headers(), content_length, receiver.now())
            {
                return Ok(refuse(req, rejection));
            }

            let mut buffer = match receiver.body_buffer(content_length) {
                Ok(buffer) => buffer,
                Err(rejection) => return Ok(refuse(req, rejection)),
            };
            if let Err(rejection) = read_payload(&receiver, req.take_payload(), &mut buffer).await {
                return Ok(refuse(req, rejection));
            }
            // Counted against the memory budget until the inner service is done.
            let (bytes, _reservation) = buffer.into_parts();

            // The clock is read again: a body trickled in slowly is judged at the
            // time it is complete.
            let now = receiver.now();
            let (delivery, claim) =
                match receiver.accept_for_layer(req.headers(), &bytes, now).await {
                    Ok(accepted) => accepted,
                    Err(rejection) => return Ok(refuse(req, rejection)),
                };
            req.extensions_mut().insert::<VerifiedDelivery>(delivery);
            req.extensions_mut().insert(LayerVerified { now });
            req.set_payload(Payload::from(Bytes::from(bytes)));
            let http_req = req.request().clone();

            match run_and_settle(service.call(req), claim, |res: &ServiceResponse<B>| {
                res.status().is_success()
            })
            .await
            {
                Settled::Answered(Ok(res)) => Ok(res.map_into_left_body()),
                Settled::Answered(Err(e)) => Err(e),
                Settled::Panicked => Ok(ServiceResponse::new(
                    http_req,
                    HttpResponse::InternalServerError()
                        .content_type(REJECTION_CONTENT_TYPE)
                        .body(PANICKED_BODY),
                )
                .map_into_right_body()),
            }
        })
    }
}
