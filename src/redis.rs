//! A Redis-backed replay guard for receivers running as several replicas
//! (feature `redis`).
//!
//! Deliveries are at least once and a retry — or a replayed capture — can land on any
//! replica behind a load balancer, so an in-memory guard stops being enough once a
//! receiver runs on more than one machine. [`RedisReplayGuard`] keeps the claims and
//! completed keys in Redis, each step of the claim → complete | release protocol one
//! atomic Lua script, so when two replicas receive the same delivery at the same
//! instant exactly one of them claims it and the other is told it is in progress.
//!
//! Each key holds `p:<owner token>` while claimed (with the lease as its TTL) and
//! `d:<owner token>` once completed (with the retention, or the rest of the replay
//! window if longer, as its TTL): every key expires by itself, and a late
//! `complete`/`release` from an owner whose lease ran out compares its token and
//! changes nothing of a newer owner's claim.
//!
//! This lives at the edge, like the framework adapters: the verification core stays
//! I/O-free.

use core::fmt;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::claim::{AsyncReplayGuard, BoxFuture};
use crate::replay::{
    ClaimOutcome, DEFAULT_LEASE, DEFAULT_RETENTION, OwnerToken, ReplayGuardError, Ticket,
    normalize_key, retry_after,
};

/// The default key prefix: keys are `nexio:webhook:<dedupe key>`.
pub const DEFAULT_PREFIX: &str = "nexio:webhook:";

/// The default bound on every Redis call (connect, and each step's script).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);

/// What to do when Redis cannot be reached (or does not answer within the timeout).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailurePolicy {
    /// Refuse the delivery with [`ReplayGuardError::Unavailable`] (HTTP 503), so Nexio
    /// retries it later. Nothing is lost and nothing is processed twice. The default.
    #[default]
    Reject,
    /// Process the delivery as if it were claimed: at-least-once processing
    /// downstream while Redis is away (a duplicate may be processed twice, and
    /// concurrent copies are not held back).
    FailOpen,
}

/// The claim → complete | release protocol in Redis, shared by every replica of a
/// receiver: an [`AsyncReplayGuard`].
///
/// - Keys are `<prefix><dedupe key>` (default prefix `nexio:webhook:`); dedupe keys longer
///   than [`MAX_KEY_LEN`](crate::MAX_KEY_LEN) bytes are replaced by their SHA-256, as in
///   the in-memory guard.
/// - A claim lives for the lease (default [`DEFAULT_LEASE`], 30 s); a completed key for
///   the retention (default [`DEFAULT_RETENTION`], 72 h) or through the end of its
///   replay window, whichever is later. Redis expires both by itself.
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
    lease: Duration,
    retention: Duration,
}

impl fmt::Debug for RedisReplayGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may hold a password: it is not kept, and not shown.
        f.debug_struct("RedisReplayGuard")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("policy", &self.policy)
            .field("lease", &self.lease)
            .field("retention", &self.retention)
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
            lease: DEFAULT_LEASE,
            retention: DEFAULT_RETENTION,
        })
    }

    /// Sets the lease (whole seconds, at least 1): how long a claim blocks other
    /// copies of its delivery before its owner is presumed crashed.
    #[must_use]
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = Duration::from_secs(lease.as_secs().max(1));
        self
    }

    /// Sets the retention: how long a completed key is remembered. Keep it longer
    /// than Nexio's retry schedule.
    #[must_use]
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// The lease.
    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// The retention.
    pub fn retention(&self) -> Duration {
        self.retention
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
        self.key_for_stored(&normalize_key(dedupe_key))
    }

    fn key_for_stored(&self, stored: &str) -> String {
        let mut key = String::with_capacity(self.prefix.len().saturating_add(stored.len()));
        key.push_str(&self.prefix);
        key.push_str(stored);
        key
    }

    async fn run<T: redis::FromRedisValue>(
        &self,
        script: &redis::Script,
        key: &str,
        args: &[&str],
    ) -> Result<T, ReplayGuardError> {
        let mut conn = self.conn.clone();
        let mut invocation = script.key(key);
        for arg in args {
            invocation.arg(*arg);
        }
        match tokio::time::timeout(self.timeout, invocation.invoke_async::<T>(&mut conn)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_e)) => {
                #[cfg(feature = "tracing")]
                tracing::warn!(error = %_e, "redis replay guard call failed");
                Err(ReplayGuardError::Unavailable)
            }
            Err(_) => {
                #[cfg(feature = "tracing")]
                tracing::warn!("redis replay guard call timed out");
                Err(ReplayGuardError::Unavailable)
            }
        }
    }

    /// Claims `dedupe_key` at `now`: one script that sets `p:<token>` with the lease
    /// as TTL when the key is absent, and otherwise reports it done or in progress
    /// (with the lease's remaining time).
    pub async fn claim(
        &self,
        dedupe_key: &str,
        replayable_until: i64,
        now: i64,
    ) -> Result<ClaimOutcome, ReplayGuardError> {
        let owner = OwnerToken::generate();
        let stored = normalize_key(dedupe_key);
        let key = self.key_for_stored(&stored);
        let lease_ms = millis(self.lease).to_string();
        let value = format!("p:{}", owner.to_hex());
        let reply: Result<(i64, i64), _> =
            self.run(claim_script(), &key, &[&value, &lease_ms]).await;
        let lease_secs = i64::try_from(self.lease.as_secs()).unwrap_or(i64::MAX);
        let ticket = || {
            ClaimOutcome::Claimed(Ticket::new(
                &stored,
                owner,
                now.saturating_add(lease_secs),
                replayable_until,
            ))
        };
        match reply {
            Ok((0, _)) => Ok(ticket()),
            Ok((2, _)) => Ok(ClaimOutcome::Done),
            Ok((_, pttl_ms)) => Ok(ClaimOutcome::InProgress {
                retry_after_secs: retry_after(pttl_ms.div_euclid(1000), 0),
            }),
            Err(e) => match self.policy {
                FailurePolicy::Reject => Err(e),
                FailurePolicy::FailOpen => Ok(ticket()),
            },
        }
    }

    /// Completes the ticket at `now`: one script that, if the key is absent or still
    /// holds this ticket's token, sets `d:<token>` with the retention as TTL.
    pub async fn complete(&self, ticket: &Ticket, now: i64) -> Result<(), ReplayGuardError> {
        let key = self.key_for_stored(ticket.key());
        let window_ms = u64::try_from(
            i128::from(ticket.replayable_until())
                .saturating_sub(i128::from(now))
                .saturating_add(1)
                .saturating_mul(1000)
                .max(0),
        )
        .unwrap_or(u64::MAX);
        let keep_ms = millis(self.retention).max(window_ms).clamp(1, MAX_TTL_MS);
        let token = ticket.owner().to_hex();
        let reply: i64 = self
            .run(complete_script(), &key, &[&token, &keep_ms.to_string()])
            .await?;
        if reply == 1 {
            Ok(())
        } else {
            Err(ReplayGuardError::LeaseLost)
        }
    }

    /// Releases the ticket: one script that deletes the key only while it still holds
    /// this ticket's claim (never a completed key, never a newer owner's claim).
    pub async fn release(&self, ticket: &Ticket) -> Result<(), ReplayGuardError> {
        let key = self.key_for_stored(ticket.key());
        let token = ticket.owner().to_hex();
        let reply: i64 = self.run(release_script(), &key, &[&token]).await?;
        if reply == 1 {
            Ok(())
        } else {
            Err(ReplayGuardError::LeaseLost)
        }
    }
}

/// The guard as the layer, the middleware and the extractors take it:
/// `Receiver::with_replay_guard(redis_guard)`.
impl AsyncReplayGuard for RedisReplayGuard {
    fn claim<'a>(
        &'a self,
        key: &'a str,
        replayable_until: i64,
        now: i64,
    ) -> BoxFuture<'a, Result<ClaimOutcome, ReplayGuardError>> {
        Box::pin(RedisReplayGuard::claim(self, key, replayable_until, now))
    }

    fn complete<'a>(
        &'a self,
        ticket: &'a Ticket,
        now: i64,
    ) -> BoxFuture<'a, Result<(), ReplayGuardError>> {
        Box::pin(RedisReplayGuard::complete(self, ticket, now))
    }

    fn release<'a>(&'a self, ticket: &'a Ticket) -> BoxFuture<'a, Result<(), ReplayGuardError>> {
        Box::pin(RedisReplayGuard::release(self, ticket))
    }

    /// Spawns the release on the current tokio runtime; outside one, the claim
    /// expires with its lease.
    fn release_detached(&self, ticket: Ticket) {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let guard = self.clone();
            runtime.spawn(async move {
                let _ = guard.release(&ticket).await;
            });
        }
    }
}

/// Redis accepts PX up to i64::MAX ms minus the current time; keep far below it.
const MAX_TTL_MS: u64 = 1 << 50;

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_TTL_MS)
}

// Values: `p:<token>` while claimed, `d:<token>` once completed.
// claim → {0, 0} claimed; {1, pttl} in progress; {2, 0} done.
const CLAIM: &str = r"
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {0, 0}
end
if string.sub(v, 1, 2) == 'd:' then
  return {2, 0}
end
return {1, redis.call('PTTL', KEYS[1])}
";

// complete → 1 done (by this owner, now or before); 0 the key is another owner's.
const COMPLETE: &str = r"
local v = redis.call('GET', KEYS[1])
if v == 'd:' .. ARGV[1] then
  return 1
end
if v and v ~= 'p:' .. ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], 'd:' .. ARGV[1], 'PX', ARGV[2])
return 1
";

// release → 1 released (or already gone, or completed by this owner); 0 another owner's.
const RELEASE: &str = r"
local v = redis.call('GET', KEYS[1])
if v == 'p:' .. ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
if (not v) or v == 'd:' .. ARGV[1] then
  return 1
end
return 0
";

fn claim_script() -> &'static redis::Script {
    static SCRIPT: std::sync::OnceLock<redis::Script> = std::sync::OnceLock::new();
    SCRIPT.get_or_init(|| redis::Script::new(CLAIM))
}

fn complete_script() -> &'static redis::Script {
    static SCRIPT: std::sync::OnceLock<redis::Script> = std::sync::OnceLock::new();
    SCRIPT.get_or_init(|| redis::Script::new(COMPLETE))
}

fn release_script() -> &'static redis::Script {
    static SCRIPT: std::sync::OnceLock<redis::Script> = std::sync::OnceLock::new();
    SCRIPT.get_or_init(|| redis::Script::new(RELEASE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_become_bounded_milliseconds() {
        assert_eq!(millis(Duration::from_secs(30)), 30_000);
        assert_eq!(millis(Duration::ZERO), 1);
        assert_eq!(millis(Duration::MAX), MAX_TTL_MS);
    }
}
