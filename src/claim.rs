//! The claim protocol as the adapters drive it: [`AsyncReplayGuard`] (the protocol
//! with async steps, for stores that do I/O) and [`Claim`] (an owned hold on one
//! delivery's key that releases itself when dropped unsettled).

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use std::sync::Arc;

use crate::replay::{ClaimOutcome, ReplayGuard, ReplayGuardError, Ticket};

/// A boxed, `Send` future, as [`AsyncReplayGuard`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The claim → complete | release protocol of [`ReplayGuard`], with async steps, so
/// a guard backed by a network store (Redis, a database) plugs into the same layer,
/// middleware and extractors.
///
/// Every synchronous [`ReplayGuard`] —
/// [`InMemoryReplayGuard`](crate::InMemoryReplayGuard), an `Arc` of one, your own —
/// is an `AsyncReplayGuard` through a blanket impl. The trait is object-safe: the
/// adapters hold an `Arc<dyn AsyncReplayGuard>`.
///
/// ```
/// use nexio_webhooks::{AsyncReplayGuard, BoxFuture, ClaimOutcome, ReplayGuardError, Ticket};
///
/// struct RemoteGuard; // e.g. a connection pool
///
/// impl AsyncReplayGuard for RemoteGuard {
///     fn claim<'a>(
///         &'a self,
///         key: &'a str,
///         replayable_until: i64,
///         now: i64,
///     ) -> BoxFuture<'a, Result<ClaimOutcome, ReplayGuardError>> {
///         Box::pin(async move {
///             let _ = (key, replayable_until, now); // insert-if-absent with a lease
///             Err(ReplayGuardError::Unavailable)
///         })
///     }
///
///     fn complete<'a>(
///         &'a self,
///         ticket: &'a Ticket,
///         now: i64,
///     ) -> BoxFuture<'a, Result<(), ReplayGuardError>> {
///         Box::pin(async move {
///             let _ = (ticket, now); // compare owner, then mark done with the retention
///             Err(ReplayGuardError::Unavailable)
///         })
///     }
///
///     fn release<'a>(&'a self, ticket: &'a Ticket) -> BoxFuture<'a, Result<(), ReplayGuardError>> {
///         Box::pin(async move {
///             let _ = ticket; // compare owner, then delete
///             Err(ReplayGuardError::Unavailable)
///         })
///     }
/// }
/// ```
pub trait AsyncReplayGuard: Send + Sync {
    /// See [`ReplayGuard::claim`].
    fn claim<'a>(
        &'a self,
        key: &'a str,
        replayable_until: i64,
        now: i64,
    ) -> BoxFuture<'a, Result<ClaimOutcome, ReplayGuardError>>;

    /// See [`ReplayGuard::complete`].
    fn complete<'a>(
        &'a self,
        ticket: &'a Ticket,
        now: i64,
    ) -> BoxFuture<'a, Result<(), ReplayGuardError>>;

    /// See [`ReplayGuard::release`].
    fn release<'a>(&'a self, ticket: &'a Ticket) -> BoxFuture<'a, Result<(), ReplayGuardError>>;

    /// Releases `ticket` without being awaited: called when a [`Claim`] is dropped
    /// unsettled (a handler that returned early, panicked, or whose request was
    /// dropped). Synchronous guards release at once; the Redis guard spawns the
    /// release on the current tokio runtime.
    ///
    /// The default does nothing, leaving the claim to expire with its lease: a retry
    /// then waits (409) until the lease ends, and is processed.
    fn release_detached(&self, ticket: Ticket) {
        let _ = ticket;
    }
}

impl<G: ReplayGuard + ?Sized> AsyncReplayGuard for G {
    fn claim<'a>(
        &'a self,
        key: &'a str,
        replayable_until: i64,
        now: i64,
    ) -> BoxFuture<'a, Result<ClaimOutcome, ReplayGuardError>> {
        Box::pin(core::future::ready(ReplayGuard::claim(
            self,
            key,
            replayable_until,
            now,
        )))
    }

    fn complete<'a>(
        &'a self,
        ticket: &'a Ticket,
        now: i64,
    ) -> BoxFuture<'a, Result<(), ReplayGuardError>> {
        Box::pin(core::future::ready(ReplayGuard::complete(
            self, ticket, now,
        )))
    }

    fn release<'a>(&'a self, ticket: &'a Ticket) -> BoxFuture<'a, Result<(), ReplayGuardError>> {
        Box::pin(core::future::ready(ReplayGuard::release(self, ticket)))
    }

    fn release_detached(&self, ticket: Ticket) {
        let _ = ReplayGuard::release(self, &ticket);
    }
}

pub(crate) type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// An owned hold on one delivery's dedupe key, from a successful claim.
///
/// Settle it once the delivery is handled: [`complete`](Self::complete) after it was
/// processed (its retries are then answered `200 {"status":"duplicate"}` for the
/// retention horizon), [`release`](Self::release) when it was not (the retry is
/// processed). **Dropped unsettled, it releases itself** (through
/// [`AsyncReplayGuard::release_detached`]), so an early return, an error, a panic or
/// a dropped request leaves the delivery to Nexio's retry — never lost.
///
/// `Claim` is `'static`: it can be moved into a task that finishes the work after
/// the response.
pub struct Claim {
    ticket: Ticket,
    guard: Arc<dyn AsyncReplayGuard>,
    clock: Clock,
    settled: bool,
}

impl Claim {
    pub(crate) fn new(ticket: Ticket, guard: Arc<dyn AsyncReplayGuard>, clock: Clock) -> Self {
        Self {
            ticket,
            guard,
            clock,
            settled: false,
        }
    }

    /// The ticket: the stored key, the owner token and the lease.
    pub fn ticket(&self) -> &Ticket {
        &self.ticket
    }

    /// The stored form of the dedupe key.
    pub fn key(&self) -> &str {
        self.ticket.key()
    }

    /// Records the delivery as processed, now (by the receiver's clock).
    ///
    /// An error means the record could not be written: the delivery *was*
    /// processed, so answer 2xx all the same (a 5xx would have Nexio deliver it
    /// again); the claim then expires with its lease.
    pub async fn complete(mut self) -> Result<(), ReplayGuardError> {
        let now = (self.clock)();
        let result = self.guard.complete(&self.ticket, now).await;
        // Whatever the answer, do not release on drop: a completion the store did
        // apply must not be undone, and a release could not undo one anyway.
        self.settled = true;
        result
    }

    /// Forgets the key, so Nexio's retry is processed.
    pub async fn release(mut self) -> Result<(), ReplayGuardError> {
        let result = self.guard.release(&self.ticket).await;
        self.settled = true;
        result
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if !self.settled {
            #[cfg(feature = "tracing")]
            tracing::debug!(
                key = self.ticket.key(),
                "nexio webhook claim dropped unsettled: released"
            );
            self.guard.release_detached(self.ticket.clone());
        }
    }
}

impl fmt::Debug for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Claim")
            .field("ticket", &self.ticket)
            .field("settled", &self.settled)
            .finish_non_exhaustive()
    }
}

/// The inner service's outcome as the layer and middleware see it.
#[cfg_attr(not(any(feature = "tower", feature = "actix-web")), allow(dead_code))]
pub(crate) enum Settled<T, E> {
    /// The inner service answered (any status) or failed with its own error.
    Answered(Result<T, E>),
    /// The inner service panicked; the panic was caught and the claim released.
    Panicked,
}

/// Runs `inner` to completion, catching a panic, then settles `claim`: completed when
/// the answer `is_processed` (a 2xx), released otherwise — on another status, on an
/// error, on a panic. Dropping the returned future drops the claim unsettled, which
/// releases it.
#[cfg_attr(not(any(feature = "tower", feature = "actix-web")), allow(dead_code))]
pub(crate) async fn run_and_settle<F, T, E>(
    inner: F,
    claim: Option<Claim>,
    is_processed: impl FnOnce(&T) -> bool,
) -> Settled<T, E>
where
    F: Future<Output = Result<T, E>>,
{
    use core::task::Poll;
    use std::panic::{AssertUnwindSafe, catch_unwind};

    let mut inner = core::pin::pin!(inner);
    // AssertUnwindSafe: after a panic the inner future is dropped, never polled again,
    // so no state it left half-updated is observed.
    let caught = core::future::poll_fn(|cx| {
        match catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(result)) => Poll::Ready(Some(result)),
            Err(_) => Poll::Ready(None),
        }
    })
    .await;
    let Some(result) = caught else {
        #[cfg(feature = "tracing")]
        tracing::error!("nexio webhook handler panicked: claim released, answered 500");
        if let Some(claim) = claim {
            let _ = claim.release().await;
        }
        return Settled::Panicked;
    };
    if let Some(claim) = claim {
        let processed = matches!(&result, Ok(answer) if is_processed(answer));
        if processed {
            if let Err(_e) = claim.complete().await {
                // The delivery was processed: the 2xx stands (a 5xx would have it
                // delivered again); the claim expires with its lease.
                #[cfg(feature = "tracing")]
                tracing::warn!(
                    code = _e.code(),
                    "nexio webhook processed but not recorded as done"
                );
            }
        } else {
            let _ = claim.release().await;
        }
    }
    Settled::Answered(result)
}

/// The body of the 500 answered when the handler panicked.
#[cfg_attr(not(any(feature = "tower", feature = "actix-web")), allow(dead_code))]
pub(crate) const PANICKED_BODY: &str = r#"{"error":"handler_panicked"}"#;
