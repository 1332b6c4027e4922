//! A Redis-backed replay guard for receivers running as several replicas
//! (feature `redis`).
//!
//! Deliveries are at least once and a retry — or a replayed capture — can land on any
//! replica behind a load balancer, so an in-memory guard stops being enough once a
//! receiver runs on more than one machine. [`RedisReplayGuard`] keeps the dedupe keys in
//! Redis with `SET key 1 NX PX <ttl>`: one atomic command, so when two replicas receive
//! the same delivery at the same instant exactly one of them gets `Fresh` (first writer
//! wins) and the other `Duplicate`.
//!
//! This lives at the edge, like the framework adapters: the verification core stays
//! I/O-free.

use core::fmt;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::receiver::{AsyncReplayGuard, BoxFuture};
use crate::replay::{ReplayGuardError, ReplayStatus, normalize_key};

/// The default key prefix: keys are `nexio:webhook:<dedupe key>`.
pub const DEFAULT_PREFIX: &str = "nexio:webhook:";

/// The default bound on every Redis call (connect, `SET`, `DEL`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);

/// What to do when Redis cannot be reached (or does not answer within the timeout).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailurePolicy {
    /// Refuse the delivery with [`ReplayGuardError::Unavailable`] (HTTP 503), so Nexio
    /// retries it later. Nothing is lost and nothing is processed twice. The default.
    #[default]
    Reject,
    /// Process the delivery as if it were fresh: at-least-once processing downstream
    /// while Redis is away (a duplicate may be processed twice).
    FailOpen,
}

/// A [`ReplayGuard`](crate::ReplayGuard)-like store of dedupe keys in Redis, shared by
/// every replica of a receiver.
///
/// - Keys are `<prefix><dedupe key>` (default prefix `nexio:webhook:`); dedupe keys longer
///   than [`MAX_KEY_LEN`](crate::MAX_KEY_LEN) bytes are replaced by their SHA-256, as in
///   the in-memory guard.
/// - Each key carries a TTL derived from the verifier's window exactly as the in-memory
///   guard's expiry: it lives through `remember_until` (pass
///   [`Verified::replayable_until`](crate::Verified::replayable_until), `t + max_age`).
/// - The connection is a [`ConnectionManager`]: it reconnects by itself after Redis
///   restarts or fails over. Every call is bounded by a timeout (default 500 ms).
/// - When Redis is unreachable, the [`FailurePolicy`] decides (default: reject, 503).
///
/// `Clone` is cheap (the connection is shared).
#[derive(Clone)]
pub struct RedisReplayGuard {
    conn: ConnectionManager,
    prefix: String,
    timeout: Duration,
    policy: FailurePolicy,
}

impl fmt::Debug for RedisReplayGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may hold a password: it is not kept, and not shown.
        f.debug_struct("RedisReplayGuard")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// Why a [`RedisReplayGuard`] could not be created.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedisGuardError {
    /// The URL is not a Redis URL (`redis://host:port/db`).
    InvalidUrl,
    /// Redis did not answer within the timeout, or refused the connection.
    Unreachable,
}

impl RedisGuardError {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidUrl => "redis_invalid_url",
            Self::Unreachable => "redis_unreachable",
        }
    }
}

impl fmt::Display for RedisGuardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the URL: it may carry a password.
        f.write_str(match self {
            Self::InvalidUrl => "invalid redis url",
            Self::Unreachable => "redis is unreachable",
        })
    }
}

impl std::error::Error for RedisGuardError {}

impl RedisReplayGuard {
    /// Connects to Redis at `url` (e.g. `redis://127.0.0.1:6379/0`) with the defaults:
    /// prefix `nexio:webhook:`, 500 ms timeout, [`FailurePolicy::Reject`].
    ///
    /// Fails if Redis cannot be reached now; once connected, the guard reconnects by
    /// itself.
    pub async fn connect(url: &str) -> Result<Self, RedisGuardError> {
        Self::connect_with_timeout(url, DEFAULT_TIMEOUT).await
    }

    /// [`connect`](Self::connect) with another bound on each call.
    pub async fn connect_with_timeout(
        url: &str,
        timeout: Duration,
    ) -> Result<Self, RedisGuardError> {
        let client = redis::Client::open(url).map_err(|_| RedisGuardError::InvalidUrl)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let conn =
            tokio::time::timeout(timeout, ConnectionManager::new_with_config(client, config))
                .await
                .map_err(|_| RedisGuardError::Unreachable)?
                .map_err(|_| RedisGuardError::Unreachable)?;
        Ok(Self {
            conn,
            prefix: DEFAULT_PREFIX.to_owned(),
            timeout,
            policy: FailurePolicy::Reject,
        })
    }

    /// Sets the key prefix (default `nexio:webhook:`), e.g. one per endpoint when
    /// several endpoints share a Redis.
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets the bound on each Redis call (default 500 ms).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets what happens when Redis cannot be reached (default
    /// [`FailurePolicy::Reject`]).
    #[must_use]
    pub fn with_failure_policy(mut self, policy: FailurePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The Redis key for a dedupe key.
    pub fn key_for(&self, dedupe_key: &str) -> String {
        let mut key = String::with_capacity(self.prefix.len().saturating_add(dedupe_key.len()));
        key.push_str(&self.prefix);
        key.push_str(&normalize_key(dedupe_key));
        key
    }

    /// Atomically: `Duplicate` if the key is held, else records it until
    /// `remember_until` (inclusive) and answers `Fresh`. One `SET … NX PX` round trip.
    pub async fn check_and_record(
        &self,
        dedupe_key: &str,
        remember_until: i64,
        now: i64,
    ) -> Result<ReplayStatus, ReplayGuardError> {
        let Some(ttl_ms) = ttl_millis(remember_until, now) else {
            // Already outside the window: nothing to remember, nothing to refuse.
            return Ok(ReplayStatus::Fresh);
        };
        let key = self.key_for(dedupe_key);
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("SET");
        cmd.arg(&key).arg(now).arg("NX").arg("PX").arg(ttl_ms);
        let reply =
            tokio::time::timeout(self.timeout, cmd.query_async::<Option<String>>(&mut conn)).await;
        match reply {
            Ok(Ok(Some(_))) => Ok(ReplayStatus::Fresh),
            Ok(Ok(None)) => Ok(ReplayStatus::Duplicate),
            Ok(Err(_)) | Err(_) => match self.policy {
                FailurePolicy::Reject => Err(ReplayGuardError::Unavailable),
                FailurePolicy::FailOpen => Ok(ReplayStatus::Fresh),
            },
        }
    }

    /// Deletes the key, so a later delivery of it is processed. Best effort: an
    /// unreachable Redis is ignored (the key then expires with its TTL).
    pub async fn forget(&self, dedupe_key: &str) {
        let key = self.key_for(dedupe_key);
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("DEL");
        cmd.arg(&key);
        let _ = tokio::time::timeout(self.timeout, cmd.query_async::<i64>(&mut conn)).await;
    }
}

/// The extractors take it like the in-memory guard:
/// `Receiver::with_replay_guard(redis_guard)`.
impl AsyncReplayGuard for RedisReplayGuard {
    fn check_and_record<'a>(
        &'a self,
        key: &'a str,
        remember_until: i64,
        now: i64,
    ) -> BoxFuture<'a, Result<ReplayStatus, ReplayGuardError>> {
        Box::pin(RedisReplayGuard::check_and_record(
            self,
            key,
            remember_until,
            now,
        ))
    }

    fn forget<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(RedisReplayGuard::forget(self, key))
    }
}

/// Milliseconds from `now` through the end of second `remember_until`, or `None` when
/// that is already past.
fn ttl_millis(remember_until: i64, now: i64) -> Option<u64> {
    let secs = i128::from(remember_until)
        .saturating_sub(i128::from(now))
        .saturating_add(1);
    if secs <= 0 {
        return None;
    }
    let ms = secs.saturating_mul(1000);
    // Redis accepts PX up to i64::MAX ms minus the current time; keep far below it.
    Some(u64::try_from(ms).unwrap_or(u64::MAX).min(1 << 50))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_covers_the_whole_window() {
        assert_eq!(ttl_millis(1_300, 1_000), Some(301_000));
        assert_eq!(ttl_millis(1_000, 1_000), Some(1_000));
        assert_eq!(ttl_millis(999, 1_000), None);
        assert_eq!(ttl_millis(i64::MAX, i64::MIN), Some(1 << 50));
        assert_eq!(ttl_millis(i64::MIN, i64::MAX), None);
    }
}
