//! The body limit and the memory budget: a buffer that refuses the first byte past
//! the limit, and a bound on the bytes all requests together may hold while their
//! bodies are read.

use core::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::rejection::{Rejection, rejected};

/// The default body limit: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// The default memory budget shared by every request of a [`Receiver`](crate::Receiver):
/// 64 MiB of bodies being read at once.
pub const DEFAULT_MEMORY_BUDGET: usize = 64 * 1024 * 1024;

/// The default deadline for receiving a whole body: 30 s.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Without an announced length, the buffer and its share of the budget grow in steps
/// of at least this much.
const GROWTH_STEP: usize = 64 * 1024;

/// A bound on the bytes that the requests of one receiver hold while their bodies are
/// read: shared by every clone of the [`Receiver`](crate::Receiver) (its extractors,
/// its layer, its middleware).
///
/// A request reserves its announced `Content-Length` (capped at the body limit)
/// before reading a byte of its body, and a body of unknown length reserves as it
/// grows. A request that would exceed the budget is answered 503 with `Retry-After`
/// ([`Rejection::Busy`]): nothing is processed and Nexio retries. Without a budget,
/// each connection could make the server buffer a body-limit's worth of bytes before
/// the MAC can refuse it — a well-formed header with a fresh `t=` and a wrong `v1`
/// costs an attacker nothing.
#[derive(Clone)]
pub struct MemoryBudget {
    limit: usize,
    used: Arc<AtomicUsize>,
}

impl MemoryBudget {
    /// A budget of `bytes`.
    pub fn new(bytes: usize) -> Self {
        Self {
            limit: bytes,
            used: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The budget, in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The bytes reserved now by requests reading their bodies.
    pub fn in_use(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Reserves `bytes` more, all or nothing.
    fn try_take(&self, bytes: usize) -> bool {
        if bytes == 0 {
            return true;
        }
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|total| *total <= self.limit)
            })
            .is_ok()
    }

    fn give_back(&self, bytes: usize) {
        // Never below zero, whatever the order of returns.
        let _ = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                Some(used.saturating_sub(bytes))
            });
    }
}

impl fmt::Debug for MemoryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryBudget")
            .field("limit", &self.limit)
            .field("in_use", &self.in_use())
            .finish()
    }
}

/// One request's share of a [`MemoryBudget`], given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    budget: Option<MemoryBudget>,
    bytes: usize,
}

impl Reservation {
    /// The bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    fn grow_to(&mut self, bytes: usize) -> bool {
        if bytes <= self.bytes {
            return true;
        }
        let Some(budget) = &self.budget else {
            self.bytes = bytes;
            return true;
        };
        if budget.try_take(bytes.saturating_sub(self.bytes)) {
            self.bytes = bytes;
            true
        } else {
            false
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(budget) = &self.budget {
            budget.give_back(self.bytes);
        }
    }
}

/// A body being read, bounded by the receiver's limit and counted against its memory
/// budget.
///
/// [`BodyBuffer::push`] refuses the chunk that would take the body past the limit
/// (413), or past what the budget can still give (503), so an adapter stops reading
/// at the first byte too many.
#[derive(Debug)]
pub struct BodyBuffer {
    bytes: Vec<u8>,
    limit: usize,
    reservation: Reservation,
}

impl BodyBuffer {
    /// An empty buffer for at most `limit` bytes, outside any budget. The announced
    /// `content_length` only sizes the first allocation (capped at 64 KiB); it is
    /// never trusted beyond that.
    pub fn new(limit: usize, content_length: Option<u64>) -> Self {
        let hint = announced(content_length, limit).min(GROWTH_STEP);
        Self {
            bytes: Vec::with_capacity(hint),
            limit,
            reservation: Reservation {
                budget: None,
                bytes: hint,
            },
        }
    }

    /// An empty buffer for at most `limit` bytes whose memory is reserved from
    /// `budget`: the announced `content_length` (capped at `limit`) at once, or
    /// [`Rejection::Busy`] if the budget cannot give it.
    pub fn reserve(
        limit: usize,
        content_length: Option<u64>,
        budget: &MemoryBudget,
    ) -> Result<Self, Rejection> {
        let want = match content_length {
            Some(_) => announced(content_length, limit),
            None => 0,
        };
        if !budget.try_take(want) {
            return Err(rejected(Rejection::Busy, None));
        }
        Ok(Self {
            // Reserved, so allocated: the budget, not the allocation, is what bounds a
            // sender that announces more than it sends.
            bytes: Vec::with_capacity(want),
            limit,
            reservation: Reservation {
                budget: Some(budget.clone()),
                bytes: want,
            },
        })
    }

    /// Appends a chunk, or refuses it with [`Rejection::PayloadTooLarge`] if the body
    /// would then exceed the limit, or [`Rejection::Busy`] if the memory budget
    /// cannot hold it.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), Rejection> {
        let room = self.limit.saturating_sub(self.bytes.len());
        if chunk.len() > room {
            return Err(rejected(
                Rejection::PayloadTooLarge { limit: self.limit },
                None,
            ));
        }
        let needed = self.bytes.len().saturating_add(chunk.len());
        if needed > self.bytes.capacity() {
            // Grow in steps, never past the limit, and only with the budget's leave.
            let target = needed
                .max(self.bytes.capacity().saturating_mul(2))
                .max(GROWTH_STEP)
                .min(self.limit)
                .max(needed);
            if !self.reservation.grow_to(target) {
                return Err(rejected(Rejection::Busy, None));
            }
            self.bytes
                .reserve_exact(target.saturating_sub(self.bytes.len()));
        }
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }

    /// How many bytes have been read.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether nothing has been read.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The body read so far (its share of the budget is given back).
    pub fn into_vec(self) -> Vec<u8> {
        self.bytes
    }

    /// The body read so far, and its share of the budget, to keep for as long as
    /// the bytes are held.
    pub fn into_parts(self) -> (Vec<u8>, Reservation) {
        (self.bytes, self.reservation)
    }
}

/// Runs `read` within `timeout` on the tokio runtime's timer: `None` when the deadline
/// passed first. Outside a tokio runtime there is no timer to read, and the deadline
/// is not applied. A runtime built without its time driver panics here (tokio's
/// rule); `#[tokio::main]` and `axum::serve` runtimes have it.
#[cfg(any(feature = "axum", feature = "tower"))]
pub(crate) async fn within<F: core::future::Future>(
    timeout: Duration,
    read: F,
) -> Option<F::Output> {
    if tokio::runtime::Handle::try_current().is_ok() {
        tokio::time::timeout(timeout, read).await.ok()
    } else {
        Some(read.await)
    }
}

/// The announced length, capped at `limit`.
fn announced(content_length: Option<u64>, limit: usize) -> usize {
    content_length
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0)
        .min(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_buffer_stops_at_the_first_byte_past_the_limit() {
        let mut b = BodyBuffer::new(10, Some(u64::MAX));
        assert!(b.bytes.capacity() <= 10);
        b.push(b"12345").unwrap();
        b.push(b"12345").unwrap();
        assert_eq!(b.push(b"x"), Err(Rejection::PayloadTooLarge { limit: 10 }));
        assert_eq!(b.len(), 10);
        let big = BodyBuffer::new(DEFAULT_BODY_LIMIT, Some(u64::MAX));
        assert!(big.bytes.capacity() <= GROWTH_STEP);
    }

    #[test]
    fn the_budget_is_reserved_before_the_body_and_given_back() {
        let budget = MemoryBudget::new(1000);
        let a = BodyBuffer::reserve(600, Some(600), &budget).unwrap();
        assert_eq!(budget.in_use(), 600);
        // The announced length is capped at the body limit.
        let b = BodyBuffer::reserve(300, Some(u64::MAX), &budget).unwrap();
        assert_eq!(budget.in_use(), 900);
        assert_eq!(
            BodyBuffer::reserve(600, Some(200), &budget).unwrap_err(),
            Rejection::Busy
        );
        drop(a);
        assert_eq!(budget.in_use(), 300);
        let (bytes, reservation) = b.into_parts();
        assert!(bytes.is_empty());
        assert_eq!(reservation.bytes(), 300);
        drop(reservation);
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn a_body_of_unknown_length_reserves_as_it_grows() {
        let budget = MemoryBudget::new(200 * 1024);
        let mut a = BodyBuffer::reserve(1024 * 1024, None, &budget).unwrap();
        assert_eq!(budget.in_use(), 0);
        a.push(&[0; 1000]).unwrap();
        assert_eq!(budget.in_use(), GROWTH_STEP);
        assert!(a.bytes.capacity() <= budget.in_use());
        a.push(&vec![0; 100 * 1024]).unwrap();
        assert!(a.bytes.capacity() <= budget.in_use());
        assert!(budget.in_use() <= 200 * 1024);
        // Past what the budget can give: 503, and nothing more is held.
        assert_eq!(a.push(&vec![0; 150 * 1024]), Err(Rejection::Busy));
        drop(a);
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn a_zero_budget_refuses_every_announced_body() {
        let budget = MemoryBudget::new(0);
        assert_eq!(
            BodyBuffer::reserve(10, Some(1), &budget).unwrap_err(),
            Rejection::Busy
        );
        // An empty body needs nothing.
        let empty = BodyBuffer::reserve(10, Some(0), &budget).unwrap();
        assert!(empty.is_empty());
    }
}
