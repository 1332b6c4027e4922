//! Exactly-once processing with PostgreSQL (feature `postgres`): the delivery's
//! "processed" record and the receiver's own writes in **one transaction**.
//!
//! A replay guard in a separate store knows whether a delivery was *answered*; it
//! cannot know whether the receiver's own write committed. When the record
//! "event `evt_…` processed" and the rows that event caused commit together — both
//! or neither — a crash at any instant loses nothing and repeats nothing, with no
//! lease to tune. [`PostgresReplayGuard`] offers two ways to use one table:
//!
//! - **Transactional mode** ([`PostgresReplayGuard::claim_delivery_in`], or
//!   [`claim_in`](PostgresReplayGuard::claim_in) with explicit arguments): the handler
//!   opens its own `sqlx::Transaction`, claims the delivery *in it* — an insert of a
//!   `done` row that conflicts on the event id — does its writes, and commits.
//!   Committing is the completion; rolling back, returning early, or crashing is the
//!   release. A concurrent copy of the same delivery waits on the row (up to
//!   [`with_lock_wait`](PostgresReplayGuard::with_lock_wait), default 5 s), then sees
//!   it done (`200 {"status":"duplicate"}`) or, if the first rolled back, takes it.
//!   The handler answers 2xx only after its commit, so nothing is acknowledged that
//!   is not durable.
//! - **Guard mode**: the guard is an [`AsyncReplayGuard`], so
//!   `Receiver::with_replay_guard(guard)` plugs it into the `tower` layer, the
//!   `actix-web` middleware and the extractors exactly as the Redis guard: claim with
//!   a lease, complete on a 2xx, release otherwise, owner tokens against stale owners.
//!   This shares the claims among replicas, but — as with any separate guard — a
//!   crash between the receiver's own commit and the completion leaves the claim to
//!   expire with its lease, and the retry is processed again.
//!
//! # Transactional mode, in an axum handler
//!
//! Use a [`Receiver`](crate::Receiver) **without** a replay guard: the extractor
//! verifies and parses, the handler claims in its transaction.
//!
//! ```no_run
//! # #[cfg(feature = "axum")]
//! # mod m {
//! use axum::extract::{FromRef, State};
//! use nexio_webhooks::axum::{NexioWebhook, Rejection};
//! use nexio_webhooks::postgres::PostgresReplayGuard;
//! use nexio_webhooks::{EventKind, Receiver, ReplayGuardError};
//!
//! #[derive(Clone)]
//! struct App {
//!     receiver: Receiver, // no replay guard: the claim is in the transaction
//!     guard: PostgresReplayGuard, // holds the pool: `guard.pool()`
//! }
//!
//! impl FromRef<App> for Receiver {
//!     fn from_ref(app: &App) -> Receiver {
//!         app.receiver.clone()
//!     }
//! }
//!
//! const UNAVAILABLE: Rejection = Rejection::ReplayGuard(ReplayGuardError::Unavailable);
//!
//! async fn webhook(State(app): State<App>, hook: NexioWebhook) -> Result<&'static str, Rejection> {
//!     let mut tx = app.guard.begin().await?; // 503 when the database is away: retried
//!     // A duplicate is `Err(Rejection::Duplicate)` (200 duplicate), a copy in progress
//!     // `Err(Rejection::InProgress { .. })` (409), the database away a 503.
//!     app.guard.claim_delivery_in(&mut *tx, &hook, app.receiver.now()).await?;
//!     let wanted = matches!(hook.event.kind(), EventKind::RunCompleted | EventKind::RunFailed);
//!     if let (true, Some(run)) = (wanted, hook.event.run()) {
//!         sqlx::query("INSERT INTO processed_runs (event_id, run_id, status) VALUES ($1, $2, $3)")
//!             .bind(hook.event.id())
//!             .bind(&run.run_id)
//!             .bind(run.status.as_ref().map(|s| s.as_str()))
//!             .execute(&mut *tx)
//!             .await
//!             .map_err(|_| UNAVAILABLE)?; // dropped: rolled back, claim and all
//!     }
//!     app.guard.commit(tx).await?; // the completion
//!     Ok("processed") // 2xx only after the commit
//! }
//! # }
//! ```
//!
//! [`begin`](PostgresReplayGuard::begin) and [`commit`](PostgresReplayGuard::commit)
//! are the pool's, bounded by the guard's timeout and answering 503 on failure; your
//! own `pool.begin()` works as well (give the pool an `acquire_timeout`: sqlx waits
//! 30 s by default for a connection to a database that is down).
//!
//! Start-up: `PostgresReplayGuard::new(pool.clone())`, then
//! [`migrate`](PostgresReplayGuard::migrate) (or run [`schema_sql`] in your own
//! migrations), and [`spawn_sweeper`](PostgresReplayGuard::spawn_sweeper) to delete
//! rows past their retention. The transactional claim needs PostgreSQL's default
//! isolation, `READ COMMITTED`: under `REPEATABLE READ` or `SERIALIZABLE`, a copy that
//! waited on the first one's row fails to serialize and is answered 409 (retried).
//!
//! # The table
//!
//! One row per dedupe key (the signed event id; ids longer than
//! [`MAX_KEY_LEN`](crate::MAX_KEY_LEN) bytes are stored as their SHA-256):
//!
//! ```sql
//! CREATE TABLE IF NOT EXISTS nexio_webhook_deliveries (
//!     key        text   PRIMARY KEY,
//!     state      text   NOT NULL CHECK (state IN ('claimed', 'done')),
//!     owner      text   NOT NULL,
//!     expires_at bigint NOT NULL,
//!     updated_at bigint NOT NULL
//! );
//! CREATE INDEX IF NOT EXISTS nexio_webhook_deliveries_expires_at
//!     ON nexio_webhook_deliveries (expires_at);
//! ```
//!
//! `owner` is the claim's owner token (32 hex digits); `expires_at` (Unix seconds,
//! inclusive) the end of the lease of a `claimed` row, or of the retention of a
//! `done` one — the later of `now + retention` (default 72 h) and the end of the
//! delivery's replay window. A row past `expires_at` is taken over by the next claim
//! and deleted by [`sweep`](PostgresReplayGuard::sweep), whose batches the index
//! serves. Times come from the caller's clock, never from the database's `now()`, so
//! a receiver with an injected clock and the table agree.
//!
//! # Failures
//!
//! Every call is bounded by a timeout (default 1 s; the transactional claim also by
//! the lock wait). When the database cannot be reached, the [`FailurePolicy`]
//! decides in guard mode (default: reject, 503 `replay_guard_unavailable`, so Nexio
//! retries and nothing is processed); in transactional mode the receiver's own
//! transaction cannot proceed either, and the answer is always 503.
//!
//! TLS to the database is the choice of your sqlx features (e.g. `tls-rustls`): this
//! crate turns none on. Neither the guard's `Debug` nor any error shows the
//! connection string.
//!
//! This lives at the edge, like the framework adapters: the verification core stays
//! I/O-free.

use core::fmt;
use std::sync::Arc;
use std::time::Duration;

use sqlx::{PgConnection, PgPool, Row as _};

use crate::claim::{AsyncReplayGuard, BoxFuture};
use crate::error::{InvalidEventReason, ParseError};
use crate::extract::NexioWebhook;
use crate::rejection::{Rejection, rejected};
use crate::replay::{
    ClaimOutcome, DEFAULT_LEASE, DEFAULT_RETENTION, OwnerToken, ReplayGuardError, Ticket,
    normalize_key, retry_after,
};

/// The default table: `nexio_webhook_deliveries`.
pub const DEFAULT_TABLE: &str = "nexio_webhook_deliveries";

/// The default bound on every database call (acquiring a connection included).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// The default time a transactional claim waits for a concurrent copy of the same
/// delivery to commit or roll back: 5 s. Past it, the copy is answered 409.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(5);

/// The default number of rows one [`sweep`](PostgresReplayGuard::sweep) batch deletes.
pub const DEFAULT_SWEEP_BATCH: u32 = 1_000;

/// The longest table name part (schema or table) accepted, in bytes: room is left for
/// the index name derived from it within PostgreSQL's 63-byte identifiers.
pub const MAX_TABLE_NAME_LEN: usize = 48;

/// What to do when PostgreSQL cannot be reached (or does not answer within the
/// timeout), in guard mode.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailurePolicy {
    /// Refuse the delivery with [`ReplayGuardError::Unavailable`] (HTTP 503), so Nexio
    /// retries it later. Nothing is lost and nothing is processed twice. The default.
    #[default]
    Reject,
    /// Process the delivery as if it were claimed: at-least-once processing
    /// downstream while the database is away (a duplicate may be processed twice,
    /// and concurrent copies are not held back). Not used by the transactional claim,
    /// which cannot proceed without the database.
    FailOpen,
}

/// Why a table could not be named, created or swept.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostgresGuardError {
    /// The table name is not `name` or `schema.name`, each part 1 to
    /// [`MAX_TABLE_NAME_LEN`] bytes of `a-z`, `0-9` and `_`, not starting with a digit.
    InvalidTableName,
    /// PostgreSQL could not be reached, or did not answer within the timeout.
    Unavailable,
    /// PostgreSQL refused the statement (permissions, a conflicting table of that
    /// name, …). The cause is logged under the `tracing` feature.
    Refused,
}

impl PostgresGuardError {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidTableName => "postgres_invalid_table_name",
            Self::Unavailable => "postgres_unavailable",
            Self::Refused => "postgres_refused",
        }
    }
}

impl fmt::Display for PostgresGuardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::InvalidTableName => "invalid table name for the deliveries table",
            Self::Unavailable => "postgres is unavailable",
            Self::Refused => "postgres refused the statement",
        })
    }
}

impl std::error::Error for PostgresGuardError {}

/// The answer to a transactional claim ([`PostgresReplayGuard::claim_in`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "process the delivery and commit on Claimed; answer Done and InProgress"]
pub enum TxClaimOutcome {
    /// The delivery is recorded as done **in your transaction**: do your writes in it
    /// and commit (the completion), or roll back (the release).
    Claimed(TxClaim),
    /// Another request holds the delivery (a transaction that did not finish within
    /// the lock wait, or a guard-mode claim with a live lease): answer 409 with
    /// `Retry-After: retry_after_secs`.
    InProgress {
        /// Seconds until a retry is worth it (at least 1).
        retry_after_secs: u64,
    },
    /// The delivery was processed and committed within the retention horizon: answer
    /// `200 {"status":"duplicate"}` without processing it again.
    Done,
}

/// A delivery claimed inside the caller's transaction: it becomes "processed" when,
/// and only if, that transaction commits.
#[derive(Clone, PartialEq, Eq)]
pub struct TxClaim {
    key: Box<str>,
    owner: OwnerToken,
}

impl TxClaim {
    /// The stored form of the dedupe key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The owner token written with the row.
    pub fn owner(&self) -> OwnerToken {
        self.owner
    }
}

impl fmt::Debug for TxClaim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TxClaim")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// The SQL of every statement, with the table name interpolated once (validated).
struct Statements {
    table: String,
    schema: String,
    claim: String,
    complete: String,
    release: String,
    sweep: String,
}

impl Statements {
    fn new(table: &str) -> Self {
        let t = table;
        // The row is taken over only when it expired; otherwise it is left as it is
        // (the update then only locks it), and RETURNING says whose it is.
        let take = "cur.expires_at < $5";
        let claim = format!(
            "INSERT INTO {t} AS cur (key, state, owner, expires_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (key) DO UPDATE SET \
             state = CASE WHEN {take} THEN EXCLUDED.state ELSE cur.state END, \
             owner = CASE WHEN {take} THEN EXCLUDED.owner ELSE cur.owner END, \
             expires_at = CASE WHEN {take} THEN EXCLUDED.expires_at ELSE cur.expires_at END, \
             updated_at = CASE WHEN {take} THEN EXCLUDED.updated_at ELSE cur.updated_at END \
             RETURNING owner, state, expires_at"
        );
        // Completed when the row is this owner's claim, or expired (or absent): the
        // delivery was processed all the same. Another owner's row is left alone.
        let mine = "(cur.expires_at < $4 OR (cur.owner = $2 AND cur.state = 'claimed'))";
        let complete = format!(
            "INSERT INTO {t} AS cur (key, state, owner, expires_at, updated_at) \
             VALUES ($1, 'done', $2, $3, $4) \
             ON CONFLICT (key) DO UPDATE SET \
             state = CASE WHEN {mine} THEN 'done' ELSE cur.state END, \
             owner = CASE WHEN {mine} THEN EXCLUDED.owner ELSE cur.owner END, \
             expires_at = CASE WHEN {mine} THEN EXCLUDED.expires_at ELSE cur.expires_at END, \
             updated_at = CASE WHEN {mine} THEN EXCLUDED.updated_at ELSE cur.updated_at END \
             RETURNING owner"
        );
        // The outer SELECT sees the row as it was before the DELETE: absent, or this
        // owner's (claimed and now deleted, or done), is a success.
        let release = format!(
            "WITH gone AS (DELETE FROM {t} WHERE key = $1 AND owner = $2 AND state = 'claimed' \
             RETURNING 1) \
             SELECT (SELECT owner FROM {t} WHERE key = $1) AS owner, \
             (SELECT count(*) FROM gone) AS deleted"
        );
        let sweep = format!(
            "DELETE FROM {t} WHERE key IN (SELECT key FROM {t} WHERE expires_at < $1 \
             ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
        );
        Self {
            table: table.to_owned(),
            schema: schema_for(table),
            claim,
            complete,
            release,
            sweep,
        }
    }
}

/// Restores the caller's `lock_timeout` after the claim (`SET LOCAL` semantics).
const SET_LOCK_TIMEOUT: &str = "WITH old AS MATERIALIZED (SELECT current_setting('lock_timeout') AS v) \
     SELECT v, set_config('lock_timeout', $1, true) FROM old";
const RESTORE_LOCK_TIMEOUT: &str = "SELECT set_config('lock_timeout', $1, true)";

/// Serializes concurrent [`PostgresReplayGuard::migrate`] calls from several replicas.
const MIGRATE_LOCK: i64 = 0x6e65_7869_6f5f_7768; // "nexio_wh"

fn schema_for(table: &str) -> String {
    let index = table.rsplit('.').next().unwrap_or(table);
    format!(
        "CREATE TABLE IF NOT EXISTS {table} (\n    \
         key        text   PRIMARY KEY,\n    \
         state      text   NOT NULL CHECK (state IN ('claimed', 'done')),\n    \
         owner      text   NOT NULL,\n    \
         expires_at bigint NOT NULL,\n    \
         updated_at bigint NOT NULL\n\
         );\n\
         CREATE INDEX IF NOT EXISTS {index}_expires_at\n    ON {table} (expires_at);\n"
    )
}

/// The SQL that creates the deliveries table and its expiry index, idempotent
/// (`IF NOT EXISTS`): for receivers that run their own migrations.
///
/// ```
/// use nexio_webhooks::postgres::{DEFAULT_TABLE, schema_sql};
///
/// let sql = schema_sql(DEFAULT_TABLE)?;
/// assert!(sql.starts_with("CREATE TABLE IF NOT EXISTS nexio_webhook_deliveries ("));
/// assert!(schema_sql("deliveries; DROP TABLE users").is_err());
/// # Ok::<(), nexio_webhooks::postgres::PostgresGuardError>(())
/// ```
pub fn schema_sql(table: &str) -> Result<String, PostgresGuardError> {
    validate_table_name(table)?;
    Ok(schema_for(table))
}

/// Checks a table name before it is interpolated into SQL: `name` or `schema.name`,
/// each part 1 to [`MAX_TABLE_NAME_LEN`] bytes of lowercase ASCII letters, digits and
/// `_`, not starting with a digit. Nothing else — no quotes, spaces, upper case or
/// Unicode — so the name means the same quoted or not.
pub fn validate_table_name(table: &str) -> Result<(), PostgresGuardError> {
    let mut parts = table.split('.');
    let mut count = 0usize;
    for part in parts.by_ref() {
        count = count.saturating_add(1);
        let bytes = part.as_bytes();
        let valid = !bytes.is_empty()
            && bytes.len() <= MAX_TABLE_NAME_LEN
            && bytes
                .first()
                .is_some_and(|b| b.is_ascii_lowercase() || *b == b'_')
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_');
        if !valid || count > 2 {
            return Err(PostgresGuardError::InvalidTableName);
        }
    }
    Ok(())
}

/// The claim → complete | release protocol in one PostgreSQL table, shared by every
/// replica of a receiver, and the claim inside the receiver's own transaction. See
/// the [module documentation](self) for both modes, the table and the guarantees.
///
/// - Guard mode: an [`AsyncReplayGuard`] for `Receiver::with_replay_guard`; a claim
///   lives for the lease (default [`DEFAULT_LEASE`], 30 s), a completed key for the
///   retention (default [`DEFAULT_RETENTION`], 72 h) or through the end of its replay
///   window, whichever is later.
/// - Transactional mode: [`claim_delivery_in`](Self::claim_delivery_in) /
///   [`claim_in`](Self::claim_in) on `&mut *tx`.
/// - Every call is bounded by a timeout (default 1 s). `Clone` is cheap (the pool is
///   shared).
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use nexio_webhooks::postgres::PostgresReplayGuard;
///
/// let pool = sqlx::PgPool::connect(&std::env::var("DATABASE_URL")?).await?;
/// let guard = PostgresReplayGuard::new(pool)
///     .with_table("webhooks.nexio_deliveries")?
///     .with_retention(Duration::from_secs(7 * 24 * 3600));
/// guard.migrate().await?;
/// let _sweeper = guard.spawn_sweeper(Duration::from_secs(600));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PostgresReplayGuard {
    pool: PgPool,
    sql: Arc<Statements>,
    timeout: Duration,
    lock_wait: Duration,
    policy: FailurePolicy,
    lease: Duration,
    retention: Duration,
    sweep_batch: u32,
}

impl fmt::Debug for PostgresReplayGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The pool's connection options (host, user, password) are not shown.
        f.debug_struct("PostgresReplayGuard")
            .field("table", &self.sql.table)
            .field("timeout", &self.timeout)
            .field("lock_wait", &self.lock_wait)
            .field("policy", &self.policy)
            .field("lease", &self.lease)
            .field("retention", &self.retention)
            .field("sweep_batch", &self.sweep_batch)
            .finish_non_exhaustive()
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// Logs the cause of a database failure (with the `tracing` feature): the error's
/// message, never the connection string (sqlx's errors do not carry it).
fn log_failure(_what: &str, _error: &sqlx::Error) {
    #[cfg(feature = "tracing")]
    tracing::warn!(step = _what, error = %_error, "postgres replay guard call failed");
}

fn log_timeout(_what: &str) {
    #[cfg(feature = "tracing")]
    tracing::warn!(step = _what, "postgres replay guard call timed out");
}

/// The SQLSTATE of a database error, if the database answered one.
fn sqlstate(error: &sqlx::Error) -> Option<String> {
    match error {
        sqlx::Error::Database(e) => e.code().map(|c| c.into_owned()),
        _ => None,
    }
}

impl PostgresReplayGuard {
    /// A guard on `pool` with the defaults: table `nexio_webhook_deliveries`, 1 s
    /// timeout, 5 s lock wait, 30 s lease, 72 h retention, [`FailurePolicy::Reject`].
    ///
    /// Nothing is sent to the database until the first call; create the table with
    /// [`migrate`](Self::migrate) or [`schema_sql`].
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            sql: Arc::new(Statements::new(DEFAULT_TABLE)),
            timeout: DEFAULT_TIMEOUT,
            lock_wait: DEFAULT_LOCK_WAIT,
            policy: FailurePolicy::Reject,
            lease: DEFAULT_LEASE,
            retention: DEFAULT_RETENTION,
            sweep_batch: DEFAULT_SWEEP_BATCH,
        }
    }

    /// Uses the table `table` (`name` or `schema.name`; see [`validate_table_name`]),
    /// e.g. one per endpoint when several endpoints share a database.
    pub fn with_table(mut self, table: &str) -> Result<Self, PostgresGuardError> {
        validate_table_name(table)?;
        self.sql = Arc::new(Statements::new(table));
        Ok(self)
    }

    /// Sets the lease (whole seconds, at least 1) of a guard-mode claim: how long it
    /// blocks other copies of its delivery before its owner is presumed crashed. The
    /// transactional claim needs none.
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

    /// Sets the bound on each database call (default 1 s).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets how long a transactional claim waits for a concurrent copy's transaction
    /// to commit or roll back (default 5 s, at least 1 ms) before answering
    /// [`InProgress`](TxClaimOutcome::InProgress).
    #[must_use]
    pub fn with_lock_wait(mut self, wait: Duration) -> Self {
        self.lock_wait = wait.max(Duration::from_millis(1));
        self
    }

    /// Sets what happens in guard mode when the database cannot be reached (default
    /// [`FailurePolicy::Reject`]).
    #[must_use]
    pub fn with_failure_policy(mut self, policy: FailurePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets how many rows one sweep batch deletes (default 1,000, at least 1).
    #[must_use]
    pub fn with_sweep_batch(mut self, rows: u32) -> Self {
        self.sweep_batch = rows.max(1);
        self
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.sql.table
    }

    /// The lease.
    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// The retention.
    pub fn retention(&self) -> Duration {
        self.retention
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The SQL that creates this guard's table and index (see [`schema_sql`]).
    pub fn schema_sql(&self) -> &str {
        &self.sql.schema
    }

    /// Creates the table and its index if they do not exist. Idempotent, and safe to
    /// run from several replicas at once (an advisory lock serializes them).
    pub async fn migrate(&self) -> Result<(), PostgresGuardError> {
        let work = async {
            let mut tx = self.pool.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(MIGRATE_LOCK)
                .execute(&mut *tx)
                .await?;
            sqlx::raw_sql(&self.sql.schema).execute(&mut *tx).await?;
            tx.commit().await
        };
        // Creating a table may wait on another replica's migration: allow more time.
        match tokio::time::timeout(self.timeout.saturating_mul(10), work).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                log_failure("migrate", &e);
                Err(match e {
                    sqlx::Error::Database(_) => PostgresGuardError::Refused,
                    _ => PostgresGuardError::Unavailable,
                })
            }
            Err(_) => {
                log_timeout("migrate");
                Err(PostgresGuardError::Unavailable)
            }
        }
    }

    /// Deletes the rows that expired before `now` (Unix seconds): done rows past
    /// their retention, and claims whose owner crashed past their lease. Works in
    /// batches of [`with_sweep_batch`](Self::with_sweep_batch) rows, each its own
    /// short statement (rows another transaction holds are skipped, not waited for),
    /// until a batch comes back short. Returns how many rows were deleted.
    pub async fn sweep(&self, now: i64) -> Result<u64, PostgresGuardError> {
        let mut total = 0u64;
        loop {
            let batch = self.sweep_batch_at(now).await?;
            total = total.saturating_add(batch);
            if batch < u64::from(self.sweep_batch) {
                return Ok(total);
            }
        }
    }

    /// One batch of [`sweep`](Self::sweep): at most `with_sweep_batch` rows.
    pub async fn sweep_batch_at(&self, now: i64) -> Result<u64, PostgresGuardError> {
        let query = sqlx::query(&self.sql.sweep)
            .bind(now)
            .bind(i64::from(self.sweep_batch))
            .execute(&self.pool);
        match tokio::time::timeout(self.timeout, query).await {
            Ok(Ok(done)) => Ok(done.rows_affected()),
            Ok(Err(e)) => {
                log_failure("sweep", &e);
                Err(match e {
                    sqlx::Error::Database(_) => PostgresGuardError::Refused,
                    _ => PostgresGuardError::Unavailable,
                })
            }
            Err(_) => {
                log_timeout("sweep");
                Err(PostgresGuardError::Unavailable)
            }
        }
    }

    /// Runs [`sweep`](Self::sweep) every `every` (at least 1 s) on the current tokio
    /// runtime, by the system clock, until the returned task is aborted. A failed
    /// sweep is logged (with the `tracing` feature) and tried again at the next tick.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, as `tokio::spawn` does.
    pub fn spawn_sweeper(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let guard = self.clone();
        let every = every.max(Duration::from_secs(1));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let _result = guard.sweep(crate::time::unix_now()).await;
                #[cfg(feature = "tracing")]
                match _result {
                    Ok(deleted) => {
                        tracing::debug!(deleted, "nexio webhook deliveries swept");
                    }
                    Err(e) => tracing::warn!(code = e.code(), "nexio webhook sweep failed"),
                }
            }
        })
    }

    fn keep_until(&self, replayable_until: i64, now: i64) -> i64 {
        now.saturating_add(secs(self.retention))
            .max(replayable_until)
    }

    /// Claims `dedupe_key` **inside the caller's transaction** (pass `&mut *tx`), at
    /// `now` (Unix seconds, the receiver's clock).
    ///
    /// Inserts a `done` row for the key in the transaction: commit it with your own
    /// writes and the delivery is processed, once; roll it back (or drop the
    /// transaction, or crash) and it is as if the claim never happened, so Nexio's
    /// retry is processed. A concurrent copy of the delivery blocks on the row until
    /// this transaction ends (at most the lock wait), then sees it
    /// [`Done`](TxClaimOutcome::Done) or takes it. A row that expired — a
    /// guard-mode claim whose owner crashed, or a done row past its retention — is
    /// taken over.
    ///
    /// On an error, and on [`InProgress`](TxClaimOutcome::InProgress) after a lock
    /// wait, the transaction is aborted: drop it and answer the rejection.
    ///
    /// ```no_run
    /// # async fn run(pool: sqlx::PgPool, guard: nexio_webhooks::postgres::PostgresReplayGuard)
    /// # -> Result<(), Box<dyn std::error::Error>> {
    /// use nexio_webhooks::postgres::TxClaimOutcome;
    ///
    /// let now = nexio_webhooks::unix_now();
    /// let mut tx = pool.begin().await?;
    /// match guard.claim_in(&mut *tx, "evt_123", now + 300, now).await? {
    ///     TxClaimOutcome::Claimed(_) => {
    ///         sqlx::query("INSERT INTO audit (event_id) VALUES ($1)")
    ///             .bind("evt_123")
    ///             .execute(&mut *tx)
    ///             .await?;
    ///         tx.commit().await?; // processed, exactly once
    ///     }
    ///     TxClaimOutcome::Done => {}                 // answer 200 duplicate
    ///     TxClaimOutcome::InProgress { .. } => {}    // answer 409, Retry-After
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn claim_in(
        &self,
        conn: &mut PgConnection,
        dedupe_key: &str,
        replayable_until: i64,
        now: i64,
    ) -> Result<TxClaimOutcome, ReplayGuardError> {
        let owner = OwnerToken::generate();
        let stored = normalize_key(dedupe_key);
        let wait_ms = u64::try_from(self.lock_wait.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let work = async {
            let old: String = sqlx::query(SET_LOCK_TIMEOUT)
                .bind(format!("{wait_ms}ms"))
                .fetch_one(&mut *conn)
                .await?
                .try_get(0)?;
            let row = sqlx::query(&self.sql.claim)
                .bind(&*stored)
                .bind("done")
                .bind(owner.to_hex())
                .bind(self.keep_until(replayable_until, now))
                .bind(now)
                .fetch_one(&mut *conn)
                .await?;
            sqlx::query(RESTORE_LOCK_TIMEOUT)
                .bind(old)
                .execute(&mut *conn)
                .await?;
            Ok::<_, sqlx::Error>(row)
        };
        let bound = self.timeout.saturating_add(self.lock_wait);
        let row = match tokio::time::timeout(bound, work).await {
            Ok(Ok(row)) => row,
            Ok(Err(e)) => {
                return match sqlstate(&e).as_deref() {
                    // lock_not_available: the other copy's transaction outlasted the
                    // lock wait. serialization_failure / deadlock_detected: under a
                    // stricter isolation, the other copy committed first. Retry later.
                    Some("55P03") => Ok(TxClaimOutcome::InProgress {
                        retry_after_secs: self.lock_wait.as_secs().max(1),
                    }),
                    Some("40001" | "40P01") => Ok(TxClaimOutcome::InProgress {
                        retry_after_secs: 1,
                    }),
                    _ => {
                        log_failure("claim_in", &e);
                        Err(ReplayGuardError::Unavailable)
                    }
                };
            }
            Err(_) => {
                log_timeout("claim_in");
                return Err(ReplayGuardError::Unavailable);
            }
        };
        match decode_claim(&row, owner, now) {
            Ok(Decoded::Mine) => Ok(TxClaimOutcome::Claimed(TxClaim { key: stored, owner })),
            Ok(Decoded::Done) => Ok(TxClaimOutcome::Done),
            Ok(Decoded::InProgress(retry_after_secs)) => {
                Ok(TxClaimOutcome::InProgress { retry_after_secs })
            }
            Err(e) => {
                log_failure("claim_in", &e);
                Err(ReplayGuardError::Unavailable)
            }
        }
    }

    /// [`claim_in`](Self::claim_in) for a verified delivery, with the answers as the
    /// handler gives them: `Ok` when the delivery is now claimed in the transaction
    /// (process it, commit, then answer 2xx), and otherwise the [`Rejection`] to
    /// return — [`Duplicate`](Rejection::Duplicate) (200 duplicate),
    /// [`InProgress`](Rejection::InProgress) (409), [`ReplayGuard`](Rejection::ReplayGuard)
    /// (503), or 422 `invalid_event` for a body without an `id`.
    ///
    /// `now` is the receiver's clock ([`Receiver::now`](crate::Receiver::now)). See the
    /// [module documentation](self) for a whole handler.
    pub async fn claim_delivery_in<T>(
        &self,
        conn: &mut PgConnection,
        hook: &NexioWebhook<T>,
        now: i64,
    ) -> Result<TxClaim, Rejection> {
        let Some(key) = hook.dedupe_key.as_deref() else {
            return Err(rejected(
                Rejection::Parse(ParseError::InvalidEvent {
                    reason: InvalidEventReason::Envelope,
                }),
                Some(&hook.info),
            ));
        };
        match self
            .claim_in(conn, key, hook.info.replayable_until, now)
            .await
        {
            Ok(TxClaimOutcome::Claimed(claim)) => Ok(claim),
            Ok(TxClaimOutcome::Done) => Err(rejected(Rejection::Duplicate, Some(&hook.info))),
            Ok(TxClaimOutcome::InProgress { retry_after_secs }) => Err(rejected(
                Rejection::InProgress { retry_after_secs },
                Some(&hook.info),
            )),
            Err(e) => Err(rejected(Rejection::ReplayGuard(e), Some(&hook.info))),
        }
    }

    /// Begins a transaction on the guard's pool, bounded by the timeout: the
    /// transaction to claim the delivery in, with [`claim_delivery_in`](Self::claim_delivery_in).
    /// When the database cannot be reached, the answer is
    /// `Rejection::ReplayGuard(Unavailable)` (503): nothing was processed, and Nexio
    /// retries.
    pub async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, Rejection> {
        match tokio::time::timeout(self.timeout, self.pool.begin()).await {
            Ok(Ok(tx)) => Ok(tx),
            Ok(Err(e)) => {
                log_failure("begin", &e);
                Err(rejected(
                    Rejection::ReplayGuard(ReplayGuardError::Unavailable),
                    None,
                ))
            }
            Err(_) => {
                log_timeout("begin");
                Err(rejected(
                    Rejection::ReplayGuard(ReplayGuardError::Unavailable),
                    None,
                ))
            }
        }
    }

    /// Commits `tx`, bounded by the timeout: the completion of a delivery claimed in
    /// it. `Ok` means the claim and your writes are durable: answer 2xx. An error
    /// (503) means the commit did not happen, or its answer was lost: Nexio's retry is
    /// then processed, or — if the commit did land — answered as a duplicate.
    pub async fn commit(
        &self,
        tx: sqlx::Transaction<'static, sqlx::Postgres>,
    ) -> Result<(), Rejection> {
        match tokio::time::timeout(self.timeout, tx.commit()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                log_failure("commit", &e);
                Err(rejected(
                    Rejection::ReplayGuard(ReplayGuardError::Unavailable),
                    None,
                ))
            }
            Err(_) => {
                log_timeout("commit");
                Err(rejected(
                    Rejection::ReplayGuard(ReplayGuardError::Unavailable),
                    None,
                ))
            }
        }
    }

    /// Runs one statement on the pool, bounded by the timeout.
    async fn on_pool<'q>(
        &self,
        what: &str,
        query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> Result<sqlx::postgres::PgRow, ReplayGuardError> {
        match tokio::time::timeout(self.timeout, query.fetch_one(&self.pool)).await {
            Ok(Ok(row)) => Ok(row),
            Ok(Err(e)) => {
                log_failure(what, &e);
                Err(ReplayGuardError::Unavailable)
            }
            Err(_) => {
                log_timeout(what);
                Err(ReplayGuardError::Unavailable)
            }
        }
    }

    /// Claims `dedupe_key` at `now` in guard mode: one statement that inserts a
    /// `claimed` row with the lease, or takes over an expired row, and otherwise
    /// reports the key done or in progress (with the lease's remaining time).
    pub async fn claim(
        &self,
        dedupe_key: &str,
        replayable_until: i64,
        now: i64,
    ) -> Result<ClaimOutcome, ReplayGuardError> {
        let owner = OwnerToken::generate();
        let stored = normalize_key(dedupe_key);
        let lease_until = now.saturating_add(secs(self.lease));
        let query = sqlx::query(&self.sql.claim)
            .bind(&*stored)
            .bind("claimed")
            .bind(owner.to_hex())
            .bind(lease_until)
            .bind(now);
        let ticket =
            || ClaimOutcome::Claimed(Ticket::new(&stored, owner, lease_until, replayable_until));
        let decoded = match self.on_pool("claim", query).await {
            Ok(row) => decode_claim(&row, owner, now).map_err(|e| {
                log_failure("claim", &e);
                ReplayGuardError::Unavailable
            }),
            Err(e) => Err(e),
        };
        match decoded {
            Ok(Decoded::Mine) => Ok(ticket()),
            Ok(Decoded::Done) => Ok(ClaimOutcome::Done),
            Ok(Decoded::InProgress(retry_after_secs)) => {
                Ok(ClaimOutcome::InProgress { retry_after_secs })
            }
            Err(e) => match self.policy {
                FailurePolicy::Reject => Err(e),
                FailurePolicy::FailOpen => Ok(ticket()),
            },
        }
    }

    /// Completes the ticket at `now`: one statement that marks the row done for the
    /// retention (or through the replay window, if later) when it is still this
    /// ticket's claim, or has expired, or is gone. Another owner's row is left alone:
    /// [`ReplayGuardError::LeaseLost`].
    pub async fn complete(&self, ticket: &Ticket, now: i64) -> Result<(), ReplayGuardError> {
        let token = ticket.owner().to_hex();
        let query = sqlx::query(&self.sql.complete)
            .bind(ticket.key())
            .bind(&token)
            .bind(self.keep_until(ticket.replayable_until(), now))
            .bind(now);
        let row = self.on_pool("complete", query).await?;
        let owner: String = row.try_get("owner").map_err(|e| {
            log_failure("complete", &e);
            ReplayGuardError::Unavailable
        })?;
        if owner == token {
            Ok(())
        } else {
            Err(ReplayGuardError::LeaseLost)
        }
    }

    /// Releases the ticket: one statement that deletes the row only while it is this
    /// ticket's claim (never a completed row, never a newer owner's claim).
    pub async fn release(&self, ticket: &Ticket) -> Result<(), ReplayGuardError> {
        let token = ticket.owner().to_hex();
        let query = sqlx::query(&self.sql.release)
            .bind(ticket.key())
            .bind(&token);
        let row = self.on_pool("release", query).await?;
        let owner: Option<String> = row.try_get("owner").map_err(|e| {
            log_failure("release", &e);
            ReplayGuardError::Unavailable
        })?;
        match owner {
            Some(owner) if owner != token => Err(ReplayGuardError::LeaseLost),
            _ => Ok(()),
        }
    }
}

enum Decoded {
    Mine,
    Done,
    InProgress(u64),
}

/// Reads the `RETURNING owner, state, expires_at` of a claim.
fn decode_claim(
    row: &sqlx::postgres::PgRow,
    owner: OwnerToken,
    now: i64,
) -> Result<Decoded, sqlx::Error> {
    let row_owner: String = row.try_get("owner")?;
    if row_owner == owner.to_hex() {
        return Ok(Decoded::Mine);
    }
    let state: String = row.try_get("state")?;
    let expires_at: i64 = row.try_get("expires_at")?;
    Ok(if state == "done" {
        Decoded::Done
    } else {
        Decoded::InProgress(retry_after(expires_at, now))
    })
}

/// The guard as the layer, the middleware and the extractors take it:
/// `Receiver::with_replay_guard(postgres_guard)`.
impl AsyncReplayGuard for PostgresReplayGuard {
    fn claim<'a>(
        &'a self,
        key: &'a str,
        replayable_until: i64,
        now: i64,
    ) -> BoxFuture<'a, Result<ClaimOutcome, ReplayGuardError>> {
        Box::pin(PostgresReplayGuard::claim(self, key, replayable_until, now))
    }

    fn complete<'a>(
        &'a self,
        ticket: &'a Ticket,
        now: i64,
    ) -> BoxFuture<'a, Result<(), ReplayGuardError>> {
        Box::pin(PostgresReplayGuard::complete(self, ticket, now))
    }

    fn release<'a>(&'a self, ticket: &'a Ticket) -> BoxFuture<'a, Result<(), ReplayGuardError>> {
        Box::pin(PostgresReplayGuard::release(self, ticket))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_validated_strictly() {
        for ok in [
            "nexio_webhook_deliveries",
            "_t",
            "a1",
            "webhooks.deliveries",
            &"a".repeat(MAX_TABLE_NAME_LEN),
        ] {
            assert_eq!(validate_table_name(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            ".",
            "a.",
            ".a",
            "a.b.c",
            "1abc",
            "Deliveries",
            "a b",
            "a;drop table x",
            "\"quoted\"",
            "a-b",
            "tablé",
            "a\0",
            &"a".repeat(MAX_TABLE_NAME_LEN + 1),
        ] {
            assert_eq!(
                validate_table_name(bad),
                Err(PostgresGuardError::InvalidTableName),
                "{bad:?}"
            );
            assert!(schema_sql(bad).is_err());
        }
    }

    #[test]
    fn the_schema_names_the_table_and_its_index() {
        let sql = schema_sql("webhooks.deliveries").unwrap();
        assert!(sql.contains("CREATE TABLE IF NOT EXISTS webhooks.deliveries ("));
        assert!(sql.contains(
            "CREATE INDEX IF NOT EXISTS deliveries_expires_at\n    ON webhooks.deliveries (expires_at);"
        ));
        let s = Statements::new("webhooks.deliveries");
        assert!(
            s.claim
                .starts_with("INSERT INTO webhooks.deliveries AS cur (key")
        );
    }

    #[test]
    fn error_messages_and_codes() {
        let cases = [
            (
                PostgresGuardError::InvalidTableName,
                "postgres_invalid_table_name",
                "invalid table name for the deliveries table",
            ),
            (
                PostgresGuardError::Unavailable,
                "postgres_unavailable",
                "postgres is unavailable",
            ),
            (
                PostgresGuardError::Refused,
                "postgres_refused",
                "postgres refused the statement",
            ),
        ];
        for (e, code, message) in cases {
            assert_eq!(e.code(), code);
            assert_eq!(e.to_string(), message);
        }
    }

    #[test]
    fn public_types_are_send_and_sync() {
        fn both<T: Send + Sync>() {}
        both::<PostgresReplayGuard>();
        both::<TxClaim>();
        both::<TxClaimOutcome>();
        both::<PostgresGuardError>();
    }
}
