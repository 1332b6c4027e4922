//! Replay protection beyond the signature: remembering dedupe keys (CONTRACT §1, §7).
//!
//! Nexio delivers at least once, so the same event can arrive again (a retry, or a
//! captured request replayed within the window). A [`ReplayGuard`] records each
//! verified delivery's dedupe key until the delivery can no longer pass the replay
//! window, and answers `Duplicate` for a key it already holds.

use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Mutex};

use core::cmp::Reverse;
use core::fmt;

/// Whether a dedupe key was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayStatus {
    /// First time seen: it is now recorded; process the delivery.
    Fresh,
    /// Already recorded and not yet expired: answer 2xx without processing again.
    Duplicate,
}

/// Why a guard could not answer.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayGuardError {
    /// The guard is at capacity with entries that have not expired. The delivery is
    /// neither recorded nor processed; answer 503 so Nexio retries later.
    Full,
    /// The guard's store could not be reached (for guards backed by a service).
    Unavailable,
}

impl ReplayGuardError {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Full => "replay_guard_full",
            Self::Unavailable => "replay_guard_unavailable",
        }
    }

    /// Always 503: nothing was processed, and a retry is welcome.
    pub fn status(&self) -> http::StatusCode {
        http::StatusCode::SERVICE_UNAVAILABLE
    }
}

impl fmt::Display for ReplayGuardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Full => "replay guard is full",
            Self::Unavailable => "replay guard store is unavailable",
        })
    }
}

impl std::error::Error for ReplayGuardError {}

/// Check-and-record of dedupe keys, with an expiry. Synchronous and I/O-free here;
/// guards backed by a network store live at the edge.
pub trait ReplayGuard: Send + Sync {
    /// Atomically: if `key` is recorded and not expired at `now`, answers
    /// `Duplicate`; otherwise records it until `remember_until` (Unix seconds,
    /// inclusive) and answers `Fresh`.
    fn check_and_record(
        &self,
        key: &str,
        remember_until: i64,
        now: i64,
    ) -> Result<ReplayStatus, ReplayGuardError>;

    /// Forgets `key`, so a later delivery of it is processed: call it when handling
    /// a `Fresh` delivery failed and you want Nexio's retry to be processed.
    fn forget(&self, key: &str);
}

impl<G: ReplayGuard + ?Sized> ReplayGuard for Arc<G> {
    fn check_and_record(
        &self,
        key: &str,
        remember_until: i64,
        now: i64,
    ) -> Result<ReplayStatus, ReplayGuardError> {
        (**self).check_and_record(key, remember_until, now)
    }

    fn forget(&self, key: &str) {
        (**self).forget(key);
    }
}

/// A bounded, in-memory [`ReplayGuard`] for a single receiver process.
///
/// Each entry lives until its `remember_until` (pass
/// [`Verified::replayable_until`](crate::Verified::replayable_until): `t + max_age`).
/// Expired entries are dropped as new ones arrive (amortised `O(log n)` per call).
/// Memory is bounded by `capacity` entries (each a key of at most
/// [`MAX_KEY_LEN`] bytes, stored twice, plus a few words).
///
/// **When full** — `capacity` entries, none expired — a new key is refused with
/// [`ReplayGuardError::Full`] (answer 503; Nexio retries later) rather than
/// evicting a live entry, which would let a replay of it through. Only verified
/// deliveries reach a guard, so only real traffic can fill it: size it for your peak
/// deliveries per `max_age` window. Several replicas need a shared guard (the
/// `redis` feature's `RedisReplayGuard`).
///
/// ```
/// use nexio_webhooks::{InMemoryReplayGuard, ReplayGuard, ReplayStatus};
///
/// let guard = InMemoryReplayGuard::new(10_000);
/// assert_eq!(guard.check_and_record("evt_1", 1_300, 1_000), Ok(ReplayStatus::Fresh));
/// assert_eq!(guard.check_and_record("evt_1", 1_300, 1_010), Ok(ReplayStatus::Duplicate));
/// assert_eq!(guard.check_and_record("evt_1", 1_600, 1_301), Ok(ReplayStatus::Fresh)); // expired
/// ```
pub struct InMemoryReplayGuard {
    state: Mutex<State>,
    capacity: usize,
}

/// Keys longer than this are hashed (SHA-256, hex) before being stored, so a
/// hostile-but-signed id cannot blow the memory bound.
pub const MAX_KEY_LEN: usize = 128;

#[derive(Default)]
struct State {
    live: HashMap<Box<str>, i64>,
    by_expiry: BinaryHeap<Reverse<(i64, Box<str>)>>,
}

impl State {
    /// `forget` and re-recording leave stale heap entries behind; rebuild the heap
    /// from the live map when they outnumber it, so memory stays within
    /// `2 × capacity` heap entries.
    fn compact(&mut self, capacity: usize) {
        if self.by_expiry.len() > capacity.saturating_mul(2) {
            self.by_expiry = self
                .live
                .iter()
                .map(|(k, &exp)| Reverse((exp, k.clone())))
                .collect();
        }
    }

    fn purge(&mut self, now: i64) {
        while let Some(Reverse((exp, _))) = self.by_expiry.peek() {
            if *exp >= now {
                break;
            }
            if let Some(Reverse((exp, key))) = self.by_expiry.pop() {
                // Only remove if the live entry is this one (not re-recorded later).
                if self.live.get(&key) == Some(&exp) {
                    self.live.remove(&key);
                }
            }
        }
    }
}

impl InMemoryReplayGuard {
    /// A guard holding at most `capacity` live keys (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(State::default()),
            capacity: capacity.max(1),
        }
    }

    /// How many keys are recorded (expired ones may linger until the next call).
    pub fn len(&self) -> usize {
        self.lock().live.len()
    }

    /// Whether no key is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity given at construction.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave `State` inconsistent in a way
        // that matters here; keep serving.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The stored form of a dedupe key: itself, or `sha256:<hex>` when longer than
/// [`MAX_KEY_LEN`].
pub(crate) fn normalize_key(key: &str) -> Box<str> {
    if key.len() <= MAX_KEY_LEN {
        Box::from(key)
    } else {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(key.as_bytes());
        format!("sha256:{}", hex::encode(digest)).into_boxed_str()
    }
}

impl ReplayGuard for InMemoryReplayGuard {
    fn check_and_record(
        &self,
        key: &str,
        remember_until: i64,
        now: i64,
    ) -> Result<ReplayStatus, ReplayGuardError> {
        let key = normalize_key(key);
        let mut state = self.lock();
        state.purge(now);
        if let Some(&exp) = state.live.get(&key)
            && exp >= now
        {
            return Ok(ReplayStatus::Duplicate);
        }
        if remember_until < now {
            // Already outside the window: nothing to remember, nothing to refuse.
            return Ok(ReplayStatus::Fresh);
        }
        if state.live.len() >= self.capacity && !state.live.contains_key(&key) {
            return Err(ReplayGuardError::Full);
        }
        state.live.insert(key.clone(), remember_until);
        state.by_expiry.push(Reverse((remember_until, key)));
        state.compact(self.capacity);
        Ok(ReplayStatus::Fresh)
    }

    fn forget(&self, key: &str) {
        let key = normalize_key(key);
        self.lock().live.remove(&key);
    }
}

impl fmt::Debug for InMemoryReplayGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryReplayGuard")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_duplicate_expiry() {
        let g = InMemoryReplayGuard::new(10);
        assert_eq!(g.check_and_record("a", 100, 0), Ok(ReplayStatus::Fresh));
        assert_eq!(
            g.check_and_record("a", 100, 100),
            Ok(ReplayStatus::Duplicate)
        );
        assert_eq!(g.check_and_record("a", 200, 101), Ok(ReplayStatus::Fresh));
        assert_eq!(
            g.check_and_record("a", 200, 150),
            Ok(ReplayStatus::Duplicate)
        );
        g.forget("a");
        assert_eq!(g.check_and_record("a", 200, 150), Ok(ReplayStatus::Fresh));
    }

    #[test]
    fn full_refuses_rather_than_evicting_live_entries() {
        let g = InMemoryReplayGuard::new(2);
        assert_eq!(g.check_and_record("a", 100, 0), Ok(ReplayStatus::Fresh));
        assert_eq!(g.check_and_record("b", 50, 0), Ok(ReplayStatus::Fresh));
        assert_eq!(g.check_and_record("c", 100, 0), Err(ReplayGuardError::Full));
        // Still remembers both.
        assert_eq!(g.check_and_record("a", 100, 1), Ok(ReplayStatus::Duplicate));
        assert_eq!(g.check_and_record("b", 100, 1), Ok(ReplayStatus::Duplicate));
        // Once b expires there is room again.
        assert_eq!(g.check_and_record("c", 100, 51), Ok(ReplayStatus::Fresh));
        assert_eq!(g.len(), 2);
    }

    #[test]
    fn memory_stays_bounded_under_churn() {
        let g = InMemoryReplayGuard::new(100);
        for i in 0..10_000i64 {
            let _ = g.check_and_record(&format!("k{i}"), i + 10, i);
        }
        assert!(g.len() <= 100);
        assert!(g.lock().by_expiry.len() <= 100 + 1);
    }

    #[test]
    fn forget_churn_keeps_the_heap_bounded() {
        let g = InMemoryReplayGuard::new(4);
        for i in 0..1_000 {
            let key = format!("k{i}");
            assert_eq!(
                g.check_and_record(&key, 1_000_000, 0),
                Ok(ReplayStatus::Fresh)
            );
            g.forget(&key);
        }
        assert!(g.lock().by_expiry.len() <= 8);
    }

    #[test]
    fn long_keys_are_hashed() {
        let g = InMemoryReplayGuard::new(10);
        let long = "x".repeat(100_000);
        assert_eq!(g.check_and_record(&long, 10, 0), Ok(ReplayStatus::Fresh));
        assert_eq!(
            g.check_and_record(&long, 10, 0),
            Ok(ReplayStatus::Duplicate)
        );
        assert!(g.lock().live.keys().all(|k| k.len() <= 71));
    }

    #[test]
    fn already_expired_is_not_recorded() {
        let g = InMemoryReplayGuard::new(1);
        assert_eq!(g.check_and_record("a", 5, 10), Ok(ReplayStatus::Fresh));
        assert!(g.is_empty());
    }
}
