//! The layer's service.

use core::fmt;
use core::task::{Context, Poll};

use bytes::{Buf as _, Bytes};
use http::{Request, Response, StatusCode};
use http_body::Body;
use http_body_util::BodyExt as _;
use tower_service::Service;

use super::body::{ResponseBody, VerifiedBody};
use super::future::ResponseFuture;
use super::layer::Inspect;
use crate::claim::{PANICKED_BODY, Settled, run_and_settle};
use crate::extract::LayerVerified;
use crate::receiver::Receiver;
use crate::rejection::{REJECTION_CONTENT_TYPE, Rejection, rejected};

/// The service [`NexioWebhookLayer`](super::NexioWebhookLayer) wraps around an inner
/// service.
#[derive(Clone)]
pub struct NexioWebhookService<S> {
    inner: S,
    receiver: Receiver,
    inspect: Option<Inspect>,
}

impl<S> NexioWebhookService<S> {
    pub(crate) fn new(inner: S, receiver: Receiver, inspect: Option<Inspect>) -> Self {
        Self {
            inner,
            receiver,
            inspect,
        }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: fmt::Debug> fmt::Debug for NexioWebhookService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NexioWebhookService")
            .field("inner", &self.inner)
            .field("receiver", &self.receiver)
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for NexioWebhookService<S>
where
    S: Service<Request<VerifiedBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ResBody: Body<Data = Bytes> + Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        // The service that was polled ready is the one to call; leave its clone.
        let clone = self.inner.clone();
        let inner = core::mem::replace(&mut self.inner, clone);
        ResponseFuture {
            inner: Box::pin(handle(
                self.receiver.clone(),
                self.inspect.clone(),
                inner,
                req,
            )),
        }
    }
}

async fn handle<S, ReqBody, ResBody>(
    receiver: Receiver,
    inspect: Option<Inspect>,
    mut inner: S,
    req: Request<ReqBody>,
) -> Result<Response<ResponseBody<ResBody>>, S::Error>
where
    S: Service<Request<VerifiedBody>, Response = Response<ResBody>>,
    ReqBody: Body,
{
    let (mut parts, body) = req.into_parts();
    let refuse = |rejection: Rejection, parts: &http::request::Parts| {
        if let Some(inspect) = &inspect {
            inspect(&rejection, parts);
        }
        Ok(rejection.to_http_response(ResponseBody::reply))
    };

    let content_length = content_length(&parts.headers);
    if let Err(rejection) = receiver.check_head_at(&parts.headers, content_length, receiver.now()) {
        return refuse(rejection, &parts);
    }

    let mut buffer = match receiver.body_buffer(content_length) {
        Ok(buffer) => buffer,
        Err(rejection) => return refuse(rejection, &parts),
    };
    let mut body = core::pin::pin!(body);
    let read = async {
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else {
                return Err(rejected(Rejection::BodyRead, None));
            };
            if let Ok(mut data) = frame.into_data() {
                while data.has_remaining() {
                    let chunk = data.chunk();
                    let len = chunk.len();
                    buffer.push(chunk)?;
                    data.advance(len);
                }
            }
        }
        Ok(())
    };
    let read = crate::limit::within(receiver.body_read_timeout(), read)
        .await
        .unwrap_or_else(|| Err(rejected(Rejection::BodyTimeout, None)));
    if let Err(rejection) = read {
        return refuse(rejection, &parts);
    }
    // Counted against the memory budget until the inner service is done.
    let (bytes, _reservation) = buffer.into_parts();

    // The clock is read again: a body trickled in slowly is judged at the time it is
    // complete.
    let now = receiver.now();
    let (delivery, claim) = match receiver.accept_for_layer(&parts.headers, &bytes, now).await {
        Ok(accepted) => accepted,
        Err(rejection) => return refuse(rejection, &parts),
    };
    parts.extensions.insert(delivery);
    parts.extensions.insert(LayerVerified { now });
    // From the parts, so extensions and everything else set before the layer survive.
    let req = Request::from_parts(parts, VerifiedBody::new(Bytes::from(bytes)));

    match run_and_settle(inner.call(req), claim, |res: &Response<ResBody>| {
        res.status().is_success()
    })
    .await
    {
        Settled::Answered(Ok(res)) => Ok(res.map(ResponseBody::inner)),
        Settled::Answered(Err(e)) => Err(e),
        Settled::Panicked => {
            let mut res = Response::new(ResponseBody::reply(PANICKED_BODY.to_owned()));
            *res.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            res.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static(REJECTION_CONTENT_TYPE),
            );
            Ok(res)
        }
    }
}

/// A valid `Content-Length`, if any.
fn content_length(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}
