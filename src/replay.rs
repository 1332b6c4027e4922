//! Processing each delivery once: the claim → complete | release protocol.
//!
//! Nexio delivers at least once: it retries every delivery not answered 2xx, with the
//! same body (so the same signed event `id`) and a fresh `t=`. A receiver that must
//! act on each event exactly once needs more than "have I seen this id?": if it
//! records the id *before* processing and processing then fails, the retry is
//! dropped as a duplicate and the event is lost; if it records it only for the
//! replay window, a retry re-signed later is processed again.
//!
//! So a dedupe key goes through three steps:
//!
//! 1. [`claim`](ReplayGuard::claim): the first request for a key gets a [`Ticket`] and
//!    a **lease** (default [`DEFAULT_LEASE`], 30 s). A concurrent copy is told the key
//!    is [`InProgress`](ClaimOutcome::InProgress) (answer 409 with `Retry-After`: the
//!    first may yet fail); a copy of a completed key is told it is
//!    [`Done`](ClaimOutcome::Done) (answer `200 {"status":"duplicate"}`).
//! 2. [`complete`](ReplayGuard::complete), once the delivery was processed: the key is
//!    kept as done for the **retention** horizon (default [`DEFAULT_RETENTION`], 72 h —
//!    longer than Nexio's retry schedule, and independent of the replay window).
//! 3. [`release`](ReplayGuard::release), when processing failed: the key is forgotten,
//!    so Nexio's retry is processed.
//!
//! A claim whose owner crashed is neither completed nor released: it expires with its
//! lease, after which a retry is processed. Every ticket carries an **owner token**: a
//! late `complete` or `release` from an owner whose lease ran out cannot overwrite a
//! newer owner's claim ([`ReplayGuardError::LeaseLost`]).
//!
//! [`InMemoryReplayGuard`] implements this for one process; the `redis` feature's
//! `RedisReplayGuard` for several replicas sharing a Redis. The framework adapters
//! (the `tower` layer, the `actix-web` middleware, the extractors) drive the three
//! steps; see [`Receiver`](crate::Receiver).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use core::fmt;

/// How long a claim blocks other copies of its delivery before a crashed owner is
/// presumed dead: 30 s. Set it above your handler's longest run.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// How long a completed key is remembered: 72 hours, longer than Nexio's retry
/// schedule, so a retry re-signed hours after the first attempt is still recognised.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(72 * 60 * 60);

/// Keys longer than this are hashed (SHA-256, hex) before being stored, so a
/// hostile-but-signed id cannot blow the memory bound.
pub const MAX_KEY_LEN: usize = 128;

/// The answer to a [`claim`](ReplayGuard::claim).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The key is now held by the caller until [`Ticket::lease_until`]: process the
    /// delivery, then [`complete`](ReplayGuard::complete) or
    /// [`release`](ReplayGuard::release) the ticket.
    Claimed(Ticket),
    /// Another request holds the key and has neither completed nor released it. Answer
    /// 409 with `Retry-After: retry_after_secs`; Nexio retries.
    InProgress {
        /// Seconds until the current lease ends (at least 1).
        retry_after_secs: u64,
    },
    /// The key was completed within the retention horizon: answer
    /// `200 {"status":"duplicate"}` without processing again.
    Done,
}

/// An owner's hold on a dedupe key, as returned by [`ReplayGuard::claim`].
///
/// It names the key, the owner (a token unique to this claim) and the end of the
/// lease. It holds no secret; `Debug` shows the key and the lease only.
#[derive(Clone, PartialEq, Eq)]
pub struct Ticket {
    key: Box<str>,
    owner: OwnerToken,
    lease_until: i64,
    replayable_until: i64,
}

impl Ticket {
    /// A ticket for `key`, owned by `owner`: for guards implemented outside this crate.
    pub fn new(key: &str, owner: OwnerToken, lease_until: i64, replayable_until: i64) -> Self {
        Self {
            key: normalize_key(key),
            owner,
            lease_until,
            replayable_until,
        }
    }

    /// The stored form of the dedupe key (the key itself, or `sha256:<hex>` past
    /// [`MAX_KEY_LEN`] bytes).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The owner token of this claim.
    pub fn owner(&self) -> OwnerToken {
        self.owner
    }

    /// When the lease ends (Unix seconds, inclusive).
    pub fn lease_until(&self) -> i64 {
        self.lease_until
    }

    /// The end of the delivery's replay window (`t + max_age`): until then, a copy
    /// of it could still pass verification.
    pub fn replayable_until(&self) -> i64 {
        self.replayable_until
    }
}

impl fmt::Debug for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticket")
            .field("key", &self.key)
            .field("lease_until", &self.lease_until)
            .finish_non_exhaustive()
    }
}

/// A token unique to one claim, telling its owner apart from a later one.
///
/// Unique, not secret: no request can present one, it only stops a stale owner from
/// completing or releasing a newer claim. 128 bits from a per-process random seed
/// (the operating system's, through `std`'s `RandomState`), the process id, the
/// start time and a counter, hashed with SHA-256: distinct across claims, processes
/// and replicas.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OwnerToken([u8; 16]);

/// What makes this process's tokens differ from another's: the hasher keys the
/// standard library draws from the OS, the process id and the start time.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
fn seed_from_host(h: &mut sha2::Sha256) {
    use sha2::Digest as _;
    use std::hash::{BuildHasher as _, Hasher as _};
    for i in 0u64..4 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(i);
        h.update(hasher.finish().to_le_bytes());
    }
    h.update(std::process::id().to_le_bytes());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.update(nanos.to_le_bytes());
}

/// `wasm32-unknown-unknown` has no process id, OS randomness or system clock (the
/// standard library panics for each), so only the host's clock, where the `wasm`
/// feature reads it. Tokens stay distinct within the module through the counter,
/// which is what the in-memory guard, the one usable there, needs.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
fn seed_from_host(h: &mut sha2::Sha256) {
    #[cfg(feature = "wasm")]
    {
        use sha2::Digest as _;
        h.update(crate::time::unix_now().to_le_bytes());
    }
    #[cfg(not(feature = "wasm"))]
    let _ = h;
}

impl OwnerToken {
    /// A new token, distinct from every other one this process or another makes.
    pub fn generate() -> Self {
        use sha2::Digest as _;
        static SEED: OnceLock<[u8; 32]> = OnceLock::new();
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let seed = SEED.get_or_init(|| {
            let mut h = sha2::Sha256::new();
            seed_from_host(&mut h);
            h.finalize().into()
        });
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut h = sha2::Sha256::new();
        h.update(seed);
        h.update(n.to_le_bytes());
        let digest: [u8; 32] = h.finalize().into();
        let mut token = [0u8; 16];
        for (t, d) in token.iter_mut().zip(digest.iter()) {
            *t = *d;
        }
        Self(token)
    }

    /// The token's bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The token from its bytes (as a store returns them).
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// Lowercase hex, 32 digits: the form stores keep.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for OwnerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OwnerToken({})", self.to_hex())
    }
}

/// Why a guard could not answer, or could not carry out a step.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayGuardError {
    /// The guard is at capacity with entries it must keep (claims in progress, and
    /// completed keys whose replay window is still open). The delivery is neither
    /// claimed nor processed; answer 503 so Nexio retries later.
    Full,
    /// The guard's store could not be reached, or did not answer in time.
    Unavailable,
    /// The ticket's lease ran out and the key is now another owner's (or was
    /// completed by one): this owner's `complete`/`release` changed nothing.
    LeaseLost,
}

impl ReplayGuardError {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Full => "replay_guard_full",
            Self::Unavailable => "replay_guard_unavailable",
            Self::LeaseLost => "claim_lease_lost",
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
            Self::LeaseLost => "the claim's lease ran out and the key has a newer owner",
        })
    }
}

impl std::error::Error for ReplayGuardError {}

/// The claim → complete | release protocol, synchronous and I/O-free. Guards that do
/// I/O implement [`AsyncReplayGuard`](crate::AsyncReplayGuard) instead; every
/// `ReplayGuard` is one through a blanket impl.
///
/// Implementations must make each step atomic with respect to the others.
pub trait ReplayGuard: Send + Sync {
    /// Claims `key` at `now` for the guard's lease. `replayable_until` is the end of
    /// the delivery's replay window ([`Verified::replayable_until`](crate::Verified::replayable_until)):
    /// a completed key is kept at least that long, whatever the retention.
    fn claim(
        &self,
        key: &str,
        replayable_until: i64,
        now: i64,
    ) -> Result<ClaimOutcome, ReplayGuardError>;

    /// Marks the ticket's key as processed, for the retention horizon from `now`.
    ///
    /// A ticket whose lease ran out is still completed when nobody else claimed the
    /// key since; if someone did, nothing changes and the answer is
    /// [`ReplayGuardError::LeaseLost`].
    fn complete(&self, ticket: &Ticket, now: i64) -> Result<(), ReplayGuardError>;

    /// Forgets the ticket's key if this ticket still holds it, so Nexio's retry is
    /// processed. A completed key is never released.
    fn release(&self, ticket: &Ticket) -> Result<(), ReplayGuardError>;
}

impl<G: ReplayGuard + ?Sized> ReplayGuard for Arc<G> {
    fn claim(
        &self,
        key: &str,
        replayable_until: i64,
        now: i64,
    ) -> Result<ClaimOutcome, ReplayGuardError> {
        (**self).claim(key, replayable_until, now)
    }

    fn complete(&self, ticket: &Ticket, now: i64) -> Result<(), ReplayGuardError> {
        (**self).complete(ticket, now)
    }

    fn release(&self, ticket: &Ticket) -> Result<(), ReplayGuardError> {
        (**self).release(ticket)
    }
}

/// A bounded, in-memory [`ReplayGuard`] for a single receiver process.
///
/// - A claim holds its key for the lease ([`DEFAULT_LEASE`], 30 s; see
///   [`with_lease`](Self::with_lease)); a completed key is kept until the later of
///   `now + retention` ([`DEFAULT_RETENTION`], 72 h; see
///   [`with_retention`](Self::with_retention)) and the end of its replay window.
/// - Memory is bounded by `capacity` entries, each a key of at most [`MAX_KEY_LEN`]
///   bytes plus a few words. Expired entries go first.
/// - **When full**, a completed entry whose replay window has closed may be evicted,
///   oldest window first: a retry of that event re-signed later could then be
///   processed a second time. Each such eviction is counted
///   ([`evicted`](Self::evicted)) and, with the `tracing` feature, logged at `warn`.
///   A claim in progress, or a completed entry still inside its replay window, is
///   **never** evicted — evicting it would let a captured replay through — so when
///   only such entries remain, a new key is refused with [`ReplayGuardError::Full`]
///   (answer 503; Nexio retries later). Size `capacity` for your deliveries per
///   retention period to avoid evictions altogether.
/// - Several replicas need a shared guard (the `redis` feature's `RedisReplayGuard`).
///
/// ```
/// use nexio_webhooks::{ClaimOutcome, InMemoryReplayGuard, ReplayGuard};
///
/// let guard = InMemoryReplayGuard::new(10_000);
/// let ClaimOutcome::Claimed(ticket) = guard.claim("evt_1", 1_300, 1_000)? else {
///     unreachable!()
/// };
/// // A concurrent copy waits for the first to finish.
/// assert!(matches!(guard.claim("evt_1", 1_300, 1_001)?, ClaimOutcome::InProgress { .. }));
/// guard.complete(&ticket, 1_002)?;
/// // A retry re-signed hours later is still a duplicate.
/// assert_eq!(guard.claim("evt_1", 22_000, 21_700)?, ClaimOutcome::Done);
/// # Ok::<(), nexio_webhooks::ReplayGuardError>(())
/// ```
pub struct InMemoryReplayGuard {
    state: Mutex<State>,
    capacity: usize,
    lease: i64,
    retention: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    InProgress,
    Done,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    phase: Phase,
    owner: OwnerToken,
    /// When the entry may be dropped: the lease's end, or the retention's.
    expires_at: i64,
    replayable_until: i64,
    /// Tells index entries of this key apart from those of an earlier entry of it.
    seq: u64,
}

#[derive(Default)]
struct State {
    entries: HashMap<Arc<str>, Entry>,
    /// Every entry, by `(expires_at, seq)`.
    by_expiry: BTreeMap<(i64, u64), Arc<str>>,
    /// Completed entries, by `(replayable_until, seq)`: the eviction order.
    done_by_window: BTreeMap<(i64, u64), Arc<str>>,
    next_seq: u64,
    evicted: u64,
}

impl State {
    fn remove(&mut self, key: &str) -> Option<Entry> {
        let entry = self.entries.remove(key)?;
        self.by_expiry.remove(&(entry.expires_at, entry.seq));
        if entry.phase == Phase::Done {
            self.done_by_window
                .remove(&(entry.replayable_until, entry.seq));
        }
        Some(entry)
    }

    fn insert(
        &mut self,
        key: Arc<str>,
        phase: Phase,
        owner: OwnerToken,
        expires_at: i64,
        replayable_until: i64,
    ) {
        self.remove(&key);
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.by_expiry.insert((expires_at, seq), Arc::clone(&key));
        if phase == Phase::Done {
            self.done_by_window
                .insert((replayable_until, seq), Arc::clone(&key));
        }
        self.entries.insert(
            key,
            Entry {
                phase,
                owner,
                expires_at,
                replayable_until,
                seq,
            },
        );
    }

    /// Drops every entry that expired before `now`.
    fn purge(&mut self, now: i64) {
        while let Some((&(expires_at, _), key)) = self.by_expiry.first_key_value() {
            if expires_at >= now {
                break;
            }
            let key = Arc::clone(key);
            self.remove(&key);
        }
    }

    /// Makes room for one entry: evicts the completed entry whose replay window
    /// closed first, if it has closed. `false` when nothing may be evicted.
    fn evict_one(&mut self, now: i64) -> bool {
        let Some((&(replayable_until, _), key)) = self.done_by_window.first_key_value() else {
            return false;
        };
        if replayable_until >= now {
            return false;
        }
        let key = Arc::clone(key);
        self.remove(&key);
        self.evicted = self.evicted.saturating_add(1);
        #[cfg(feature = "tracing")]
        tracing::warn!(
            evicted_total = self.evicted,
            "in-memory replay guard full: evicted a completed key past its replay window; \
             a retry of that event re-signed later would be processed again"
        );
        true
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl InMemoryReplayGuard {
    /// A guard holding at most `capacity` keys (at least 1), with the default lease
    /// (30 s) and retention (72 h).
    pub fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(State::default()),
            capacity: capacity.max(1),
            lease: secs(DEFAULT_LEASE),
            retention: secs(DEFAULT_RETENTION),
        }
    }

    /// Sets the lease (whole seconds, at least 1): how long a claim blocks other copies
    /// of its delivery before its owner is presumed crashed.
    #[must_use]
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = secs(lease).max(1);
        self
    }

    /// Sets the retention (whole seconds): how long a completed key is remembered.
    /// Keep it longer than Nexio's retry schedule.
    #[must_use]
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = secs(retention);
        self
    }

    /// The lease.
    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease.unsigned_abs())
    }

    /// The retention.
    pub fn retention(&self) -> Duration {
        Duration::from_secs(self.retention.unsigned_abs())
    }

    /// How many keys are held, claimed or completed (expired ones may linger until the
    /// next call).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity given at construction.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many completed keys were evicted, past their replay window, to make room:
    /// each is an event whose late retry would be processed again. Zero when
    /// `capacity` suits the traffic.
    pub fn evicted(&self) -> u64 {
        self.lock().evicted
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Every step leaves `State` consistent before it can panic (it cannot: no
        // indexing, no unwrap); keep serving after a poisoning elsewhere.
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

/// Seconds until `until` (inclusive) from `now`, at least 1.
pub(crate) fn retry_after(until: i64, now: i64) -> u64 {
    let left = i128::from(until)
        .saturating_sub(i128::from(now))
        .saturating_add(1);
    if left < 1 {
        1
    } else {
        u64::try_from(left).unwrap_or(u64::MAX)
    }
}

impl ReplayGuard for InMemoryReplayGuard {
    fn claim(
        &self,
        key: &str,
        replayable_until: i64,
        now: i64,
    ) -> Result<ClaimOutcome, ReplayGuardError> {
        let key: Arc<str> = Arc::from(normalize_key(key));
        let mut state = self.lock();
        state.purge(now);
        if let Some(entry) = state.entries.get(&key) {
            return Ok(match entry.phase {
                Phase::Done => ClaimOutcome::Done,
                Phase::InProgress => ClaimOutcome::InProgress {
                    retry_after_secs: retry_after(entry.expires_at, now),
                },
            });
        }
        if state.entries.len() >= self.capacity && !state.evict_one(now) {
            return Err(ReplayGuardError::Full);
        }
        let owner = OwnerToken::generate();
        let lease_until = now.saturating_add(self.lease);
        state.insert(
            Arc::clone(&key),
            Phase::InProgress,
            owner,
            lease_until,
            replayable_until,
        );
        Ok(ClaimOutcome::Claimed(Ticket {
            key: Box::from(&*key),
            owner,
            lease_until,
            replayable_until,
        }))
    }

    fn complete(&self, ticket: &Ticket, now: i64) -> Result<(), ReplayGuardError> {
        let key: Arc<str> = Arc::from(ticket.key());
        let mut state = self.lock();
        state.purge(now);
        match state.entries.get(&key) {
            Some(entry) if entry.owner != ticket.owner => return Err(ReplayGuardError::LeaseLost),
            Some(entry) if entry.phase == Phase::Done => return Ok(()),
            Some(_) => {}
            // The lease ran out and nobody claimed the key since: the delivery was
            // processed all the same, so it is recorded as done.
            None => {
                if state.entries.len() >= self.capacity && !state.evict_one(now) {
                    return Err(ReplayGuardError::Full);
                }
            }
        }
        let keep_until = now
            .saturating_add(self.retention)
            .max(ticket.replayable_until);
        state.insert(
            key,
            Phase::Done,
            ticket.owner,
            keep_until,
            ticket.replayable_until,
        );
        Ok(())
    }

    fn release(&self, ticket: &Ticket) -> Result<(), ReplayGuardError> {
        let mut state = self.lock();
        match state.entries.get(ticket.key()) {
            None => Ok(()),
            Some(entry) if entry.owner != ticket.owner => Err(ReplayGuardError::LeaseLost),
            Some(entry) if entry.phase == Phase::Done => Ok(()),
            Some(_) => {
                state.remove(ticket.key());
                Ok(())
            }
        }
    }
}

impl fmt::Debug for InMemoryReplayGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryReplayGuard")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .field("lease", &self.lease)
            .field("retention", &self.retention)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: i64 = 300;

    fn claimed(outcome: Result<ClaimOutcome, ReplayGuardError>) -> Ticket {
        match outcome {
            Ok(ClaimOutcome::Claimed(t)) => t,
            other => panic!("expected a claim, got {other:?}"),
        }
    }

    #[test]
    fn claim_complete_duplicate() {
        let g = InMemoryReplayGuard::new(10);
        let t = claimed(g.claim("a", WINDOW, 0));
        assert_eq!(t.lease_until(), 30);
        assert_eq!(
            g.claim("a", WINDOW, 10),
            Ok(ClaimOutcome::InProgress {
                retry_after_secs: 21
            })
        );
        g.complete(&t, 11).unwrap();
        assert_eq!(g.claim("a", WINDOW, 12), Ok(ClaimOutcome::Done));
        // Six hours later: still done. Past retention: fresh.
        assert_eq!(
            g.claim("a", 6 * 3600 + WINDOW, 6 * 3600),
            Ok(ClaimOutcome::Done)
        );
        let retention = secs(DEFAULT_RETENTION);
        assert_eq!(g.claim("a", 0, 11 + retention), Ok(ClaimOutcome::Done));
        claimed(g.claim("a", 0, 12 + retention));
    }

    #[test]
    fn release_lets_the_retry_through() {
        let g = InMemoryReplayGuard::new(10);
        let t = claimed(g.claim("a", WINDOW, 0));
        g.release(&t).unwrap();
        assert!(g.is_empty());
        let t2 = claimed(g.claim("a", WINDOW, 1));
        assert_ne!(t.owner(), t2.owner());
    }

    #[test]
    fn a_lease_that_ran_out_frees_the_key_and_loses_to_the_new_owner() {
        let g = InMemoryReplayGuard::new(10).with_lease(Duration::from_secs(5));
        let old = claimed(g.claim("a", WINDOW, 0));
        assert!(matches!(
            g.claim("a", WINDOW, 5),
            Ok(ClaimOutcome::InProgress {
                retry_after_secs: 1
            })
        ));
        let new = claimed(g.claim("a", WINDOW, 6));
        // The stale owner can neither release nor complete the new claim.
        assert_eq!(g.release(&old), Err(ReplayGuardError::LeaseLost));
        assert_eq!(g.complete(&old, 7), Err(ReplayGuardError::LeaseLost));
        assert!(matches!(
            g.claim("a", WINDOW, 7),
            Ok(ClaimOutcome::InProgress { .. })
        ));
        g.complete(&new, 8).unwrap();
        assert_eq!(g.claim("a", WINDOW, 9), Ok(ClaimOutcome::Done));
        // Nor can it undo the completion.
        assert_eq!(g.release(&old), Err(ReplayGuardError::LeaseLost));
        assert_eq!(g.release(&new), Ok(()));
        assert_eq!(g.claim("a", WINDOW, 10), Ok(ClaimOutcome::Done));
    }

    #[test]
    fn a_late_complete_with_nobody_else_is_recorded() {
        let g = InMemoryReplayGuard::new(10).with_lease(Duration::from_secs(5));
        let t = claimed(g.claim("a", WINDOW, 0));
        g.complete(&t, 100).unwrap();
        assert_eq!(g.claim("a", WINDOW, 101), Ok(ClaimOutcome::Done));
        // Completing twice is harmless.
        g.complete(&t, 102).unwrap();
    }

    #[test]
    fn done_is_kept_at_least_through_the_replay_window() {
        let g = InMemoryReplayGuard::new(10).with_retention(Duration::from_secs(10));
        let t = claimed(g.claim("a", 1_000, 0));
        g.complete(&t, 1).unwrap();
        assert_eq!(g.claim("a", 1_000, 999), Ok(ClaimOutcome::Done));
        assert_eq!(g.claim("a", 1_000, 1_000), Ok(ClaimOutcome::Done));
        claimed(g.claim("a", 2_000, 1_001));
    }

    #[test]
    fn full_refuses_rather_than_evicting_entries_inside_the_window() {
        let g = InMemoryReplayGuard::new(2);
        let a = claimed(g.claim("a", WINDOW, 0));
        let b = claimed(g.claim("b", WINDOW, 0));
        assert_eq!(g.claim("c", WINDOW, 0), Err(ReplayGuardError::Full));
        g.complete(&a, 1).unwrap();
        g.complete(&b, 1).unwrap();
        // Completed, but still inside their replay window: kept.
        assert_eq!(g.claim("c", WINDOW + 10, 10), Err(ReplayGuardError::Full));
        assert_eq!(g.claim("a", WINDOW, 10), Ok(ClaimOutcome::Done));
        assert_eq!(g.evicted(), 0);
    }

    #[test]
    fn full_evicts_the_oldest_window_past_it_and_counts() {
        let g = InMemoryReplayGuard::new(2);
        let a = claimed(g.claim("a", 100, 0));
        let b = claimed(g.claim("b", 200, 0));
        g.complete(&a, 1).unwrap();
        g.complete(&b, 1).unwrap();
        // At 150 only a's window has closed: a goes, b stays.
        claimed(g.claim("c", 450, 150));
        assert_eq!(g.evicted(), 1);
        assert_eq!(g.claim("b", 200, 151), Ok(ClaimOutcome::Done));
        // The evicted key is fresh again: the documented cost of a small capacity.
        assert_eq!(g.claim("a", 500, 160), Err(ReplayGuardError::Full));
        assert_eq!(g.len(), 2);
        // A claim in progress is never evicted, even past its window.
        let g = InMemoryReplayGuard::new(1);
        let _t = claimed(g.claim("x", 10, 0));
        assert_eq!(g.claim("y", 400, 20), Err(ReplayGuardError::Full));
    }

    #[test]
    fn memory_stays_bounded_under_churn() {
        let g = InMemoryReplayGuard::new(100).with_retention(Duration::from_secs(5));
        for i in 0..10_000i64 {
            let key = format!("k{i}");
            match g.claim(&key, i + 2, i) {
                Ok(ClaimOutcome::Claimed(t)) => {
                    if i % 3 == 0 {
                        g.release(&t).unwrap();
                    } else {
                        g.complete(&t, i).unwrap();
                    }
                }
                other => panic!("{other:?}"),
            }
        }
        let state = g.lock();
        assert!(state.entries.len() <= 100);
        assert_eq!(state.by_expiry.len(), state.entries.len());
        assert!(state.done_by_window.len() <= state.entries.len());
    }

    #[test]
    fn long_keys_are_hashed() {
        let g = InMemoryReplayGuard::new(10);
        let long = "x".repeat(100_000);
        let t = claimed(g.claim(&long, 10, 0));
        assert!(t.key().starts_with("sha256:"));
        g.complete(&t, 0).unwrap();
        assert_eq!(g.claim(&long, 10, 1), Ok(ClaimOutcome::Done));
        assert!(g.lock().entries.keys().all(|k| k.len() <= 71));
    }

    #[test]
    fn owner_tokens_are_distinct() {
        let tokens: std::collections::HashSet<_> =
            (0..10_000).map(|_| OwnerToken::generate()).collect();
        assert_eq!(tokens.len(), 10_000);
    }

    #[test]
    fn retry_after_is_at_least_one_second() {
        assert_eq!(retry_after(10, 0), 11);
        assert_eq!(retry_after(0, 10), 1);
        assert_eq!(retry_after(i64::MAX, i64::MIN), u64::MAX);
    }

    #[test]
    fn hostile_clocks_do_not_panic() {
        let g = InMemoryReplayGuard::new(2)
            .with_lease(Duration::MAX)
            .with_retention(Duration::MAX);
        let t = claimed(g.claim("a", i64::MAX, i64::MAX));
        g.complete(&t, i64::MAX).unwrap();
        let t = claimed(g.claim("b", i64::MIN, i64::MIN));
        g.release(&t).unwrap();
    }
}
