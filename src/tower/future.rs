//! The layer's response future.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use super::body::ResponseBody;

type Boxed<B, E> = Pin<Box<dyn Future<Output = Result<http::Response<ResponseBody<B>>, E>> + Send>>;

/// The future of [`NexioWebhookService`](super::NexioWebhookService): the whole
/// delivery — body read, verification, claim, inner call, settlement.
///
/// Dropping it (the client went away) drops the claim unsettled, which releases it.
pub struct ResponseFuture<B, E> {
    pub(crate) inner: Boxed<B, E>,
}

impl<B, E> Future for ResponseFuture<B, E> {
    type Output = Result<http::Response<ResponseBody<B>>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl<B, E> fmt::Debug for ResponseFuture<B, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
