//! The layer's configuration.

use core::fmt;
use std::sync::Arc;

use tower_layer::Layer;

use super::service::NexioWebhookService;
use crate::receiver::Receiver;
use crate::rejection::Rejection;

/// Called with each rejection the layer answers itself (before the inner service).
pub(crate) type Inspect = Arc<dyn Fn(&Rejection, &http::request::Parts) + Send + Sync>;

/// A tower [`Layer`] that verifies each delivery, claims it, hands the exact
/// verified bytes to the inner service, and settles the claim from the inner
/// service's response: see the [module documentation](super).
#[derive(Clone)]
pub struct NexioWebhookLayer {
    receiver: Receiver,
    inspect: Option<Inspect>,
}

impl NexioWebhookLayer {
    /// A layer for `receiver` (its verifier, body limit, replay guard and clock).
    pub fn new(receiver: Receiver) -> Self {
        Self {
            receiver,
            inspect: None,
        }
    }

    /// Calls `f` with every rejection the layer answers itself — including
    /// [`Rejection::Duplicate`] and [`Rejection::InProgress`] — and the request's
    /// head: for logging or metrics. `f` runs on the request's task; keep it short.
    #[must_use]
    pub fn inspect_rejections<F>(mut self, f: F) -> Self
    where
        F: Fn(&Rejection, &http::request::Parts) + Send + Sync + 'static,
    {
        self.inspect = Some(Arc::new(f));
        self
    }

    /// The receiver.
    pub fn receiver(&self) -> &Receiver {
        &self.receiver
    }
}

impl fmt::Debug for NexioWebhookLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NexioWebhookLayer")
            .field("receiver", &self.receiver)
            .field("inspect", &self.inspect.is_some())
            .finish()
    }
}

impl<S> Layer<S> for NexioWebhookLayer {
    type Service = NexioWebhookService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        NexioWebhookService::new(inner, self.receiver.clone(), self.inspect.clone())
    }
}
