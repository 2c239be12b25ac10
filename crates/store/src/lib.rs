//! BuyNow persistence, on SQLite (the embedded default) or PostgreSQL (for scale), behind one API.
//!
//! SQLite: one writer, many readers. SQLite allows a single writer at a time anyway, so every write
//! transaction runs on one dedicated connection, taken in turn (`Store::write`), with `BEGIN IMMEDIATE` so a
//! transaction never has to upgrade a read lock; reads use a pool of their own connections and never wait for
//! the writer (WAL). Durability is `synchronous=FULL`: a transaction that returned from `commit` survives
//! power loss.
//!
//! PostgreSQL: a pool; each write transaction takes a connection of its own (READ COMMITTED, with every
//! contended update written as a guarded, conditional statement), `synchronous_commit=on`. The group commits
//! (see `batch`) have connections of their own, planned for key lookups only, and so do reads (see
//! `pg_readers`). Any number of processes may share the database.

pub mod audit;
mod batch;
pub mod carriers;
pub mod cases;
pub mod catalog;
pub mod customers;
pub mod db;
pub mod gift_cards;
pub mod idempotency;
pub mod jobs;
pub mod metrics;
mod migrate;
pub mod notifications;
pub mod order_jobs;
pub mod orders;
pub mod outbox;
pub mod payment_settings;
pub mod payments;
mod pg_group_conn;
mod pg_readers;
pub mod placement;
pub mod prefill;
pub mod retention;
pub mod returns;
pub mod sandbox;
pub mod sealed;
pub mod shipments;
mod sqlite;
pub mod staff;
pub mod testing;
mod time;
pub mod tracking;

pub use db::{Arg, Backend, Conn, Row, Write};

pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
pub use time::{from_micros, now_micros, to_micros};

use db::ConnInner;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Postgres, Transaction};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(sqlx::Error),
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("row not found")]
    NotFound,
    #[error("stored data cannot be read back: {0}")]
    Corrupt(String),
    #[error("the write's batch did not commit: {0}")]
    BatchFailed(String),
    /// The batch met a concurrent transaction (a deadlock, a serialization failure) and was rolled back whole:
    /// the same write, sent again, may well go through.
    #[error("the write's batch met a concurrent transaction and did not commit: {0}")]
    BatchConflict(String),
    /// A thread the store runs work on stopped before the work ended: the runtime is shutting down.
    #[error("the database work was stopped: {0}")]
    Stopped(String),
    #[error("not supported on this back end: {0}")]
    Unsupported(&'static str),
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
}

impl StoreError {
    /// A unique or primary-key constraint was violated: the caller's duplicate, not our failure.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Db(sqlx::Error::Database(e)) => e.is_unique_violation(),
            StoreError::Sqlite(_) => matches!(
                self.sqlite_code(),
                Some(rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
            ),
            _ => false,
        }
    }

    /// PostgreSQL's SQLSTATE for the error, if it came from PostgreSQL.
    pub fn pg_code(&self) -> Option<String> {
        match self {
            StoreError::Db(sqlx::Error::Database(e)) => e.code().map(|c| c.into_owned()),
            _ => None,
        }
    }

    fn sqlite_code(&self) -> Option<std::ffi::c_int> {
        match self {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => Some(e.extended_code),
            _ => None,
        }
    }

    /// A deadlock or a serialization failure: the transaction lost a race, and running it again is the cure
    /// (DESIGN.md asks for it, for the PostgreSQL-speaking engines that report these often).
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::BatchConflict(_) => true,
            StoreError::Db(sqlx::Error::Database(e)) => matches!(e.code().as_deref(), Some("40001" | "40P01")),
            _ => false,
        }
    }

    /// The database is out of reach, too busy, or lost a race: worth a 503 and a retry, not a 500.
    pub fn is_unavailable(&self) -> bool {
        if self.is_retryable() {
            return true;
        }
        match self {
            StoreError::BatchFailed(_) | StoreError::Stopped(_) => true,
            StoreError::Db(sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed) => true,
            StoreError::Db(e) => pg_readers::connection_lost(e),
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            }
            _ => false,
        }
    }

    /// A CHECK constraint refused the write (for stock: it would oversell).
    pub fn is_check_violation(&self) -> bool {
        match self {
            StoreError::Db(sqlx::Error::Database(e)) => e.is_check_violation(),
            StoreError::Sqlite(_) => self.sqlite_code() == Some(rusqlite::ffi::SQLITE_CONSTRAINT_CHECK),
            _ => false,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        pg_readers::note_fault(&e);
        StoreError::Db(e)
    }
}

struct Writer {
    conn: rusqlite::Connection,
    /// A transaction was begun and neither committed nor rolled back: its owner was dropped mid-way (an error
    /// or a cancelled request). The next writer rolls it back before starting its own.
    in_tx: bool,
}

#[derive(Clone)]
enum Engine {
    Sqlite {
        read: Arc<sqlite::ReadPool>,
        writer: Arc<Mutex<Writer>>,
    },
    /// `pool` is for writes, `readers` for reads (see `pg_readers`); `groups` lives on `group_thread`'s
    /// runtime, as do the group writers, each of which keeps one of its connections (see `pg_group_conn`).
    Postgres {
        pool: PgPool,
        readers: Arc<pg_readers::Readers>,
        groups: PgPool,
        group_thread: Arc<batch::GroupThread>,
    },
}

#[derive(Clone)]
pub struct Store {
    engine: Engine,
    batch: batch::Queue,
}

/// How many connections one process keeps to PostgreSQL, the group writers' own included.
const PG_CONNECTIONS: u32 = 24;
/// The connections of the group writers (see `open_postgres`) and of reads; the pool for other writes has
/// the rest.
const PG_GROUP_CONNECTIONS: u32 = 3 * batch::PG_GROUP_WRITERS as u32;
const PG_READ_CONNECTIONS: u32 = 10;
const PG_POOL_SIZE: u32 = PG_CONNECTIONS - PG_GROUP_CONNECTIONS - PG_READ_CONNECTIONS;

impl Store {
    /// Opens and migrates the database at `url`: `sqlite://PATH` (created if missing) or `postgres://…`.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        Self::open_with(url, sqlite::Durability::Full, i64::MAX).await
    }

    /// Opens the database migrated only up to `version`: for tests of an upgrade from a database an earlier
    /// version wrote.
    #[doc(hidden)]
    pub async fn open_at_version(url: &str, version: i64) -> Result<Store, StoreError> {
        Self::open_with(url, sqlite::Durability::Full, version).await
    }

    /// Opens a SQLite database whose commits return once the operating system has them, without waiting for
    /// the disk: they survive a crash of any process, not of the machine. Only the sandbox card processor's
    /// records are kept so (in a file of their own beside the shop's): they stand in for another company's
    /// system, and a Buy Now waits for one of their commits between the two of its order (what a durable one
    /// cost is in docs/performance.md). PostgreSQL URLs open as `open` does.
    pub async fn open_relaxed(url: &str) -> Result<Store, StoreError> {
        Self::open_with(url, sqlite::Durability::Relaxed, i64::MAX).await
    }

    async fn open_with(url: &str, durability: sqlite::Durability, version: i64) -> Result<Store, StoreError> {
        // See `batch` for what is grouped on which back end.
        let (engine, writers) = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Self::open_postgres(url, version).await?, PG_POOL_SIZE as usize - 4)
        } else {
            (Self::open_sqlite(url, durability, version).await?, 1)
        };
        let batch = batch::start(engine.clone(), writers);
        Ok(Store { engine, batch })
    }

    async fn open_sqlite(url: &str, durability: sqlite::Durability, version: i64) -> Result<Engine, StoreError> {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .filter(|p| !p.is_empty() && !p.contains(":memory:"))
            .ok_or_else(|| StoreError::UnsupportedUrl(redact_url(url)))?;
        let path = std::path::Path::new(path);
        let mut conn = sqlite::open_writer(path, durability)?;
        migrate::run(&mut Conn(ConnInner::Sqlite(&mut conn)), version).await?;
        let read = sqlite::ReadPool::new(path);
        sqlite::spawn_checkpointer(path, Arc::downgrade(&read))?;
        Ok(Engine::Sqlite { read, writer: Arc::new(Mutex::new(Writer { conn, in_tx: false })) })
    }

    /// Says so when the server's autovacuum is off: the space of the rows BuyNow deletes (past their retention)
    /// and of every row's old versions is then never used again, and its tables grow without bound.
    async fn warn_without_autovacuum(c: &mut Conn<'_>) {
        let on = c.one("SELECT current_setting('autovacuum')", vec![]).await.and_then(|r| r.text(0));
        if on.is_ok_and(|on| on == "off") {
            tracing::warn!(
                "autovacuum is off on this PostgreSQL server: the space of deleted and updated rows is never \
                 reused and the tables grow without bound; turn it on (docs/performance.md, Growth)"
            );
        }
    }

    async fn open_postgres(url: &str, version: i64) -> Result<Engine, StoreError> {
        let options = PgConnectOptions::from_str(url)?
            .statement_cache_capacity(256)
            .options([("synchronous_commit", "on")])
            .log_statements(tracing::log::LevelFilter::Trace);
        let pool = pg_pool(PG_POOL_SIZE).min_connections(1).connect_with(options.clone()).await?;
        let mut conn = pool.acquire().await?;
        migrate::run(&mut Conn(ConnInner::Pg(&mut conn)), version).await?;
        Self::warn_without_autovacuum(&mut Conn(ConnInner::Pg(&mut conn))).await;
        drop(conn);
        let readers = pg_readers::Readers::new(pg_pool(PG_READ_CONNECTIONS).connect_with(options.clone()).await?);
        // The group statements reach every row by primary key, whatever the tables' size. A prepared
        // statement is planned once for all (a generic plan), and on a young database that plan is made while
        // the tables are nearly empty and have no statistics: PostgreSQL then scanned payments whole and
        // walked every dead entry of `jobs_due` in each group, for as long as the process lived, its write
        // growing with the table. Without sequential and bitmap scans the only plans left are the index lookups these
        // statements are written for. Those plans are then kept: left to choose, PostgreSQL planned the stock
        // lock (`sku = ANY($1)`) afresh for every group, which took twice as long as running it.
        // Named, so that an operator can tell them apart in `pg_stat_activity`.
        let keyed = options.application_name("buynow group writer").options([
            ("enable_seqscan", "off"),
            ("enable_bitmapscan", "off"),
            ("plan_cache_mode", "force_generic_plan"),
        ]);
        let group_thread = Arc::new(batch::GroupThread::start()?);
        // Connected from the group thread, so that its runtime is the one that hears these sockets.
        let groups = group_thread
            .handle()
            .spawn(async move { pg_pool(PG_GROUP_CONNECTIONS).connect_with(keyed).await })
            .await
            .map_err(|e| StoreError::BatchFailed(format!("the group thread stopped: {e}")))??;
        Ok(Engine::Postgres { pool, readers, groups, group_thread })
    }

    pub fn backend(&self) -> Backend {
        match self.engine {
            Engine::Sqlite { .. } => Backend::Sqlite,
            Engine::Postgres { .. } => Backend::Postgres,
        }
    }

    /// A pooled connection for reads.
    pub fn read(&self) -> BoxFuture<'_, Result<ReadConn, StoreError>> {
        Box::pin(async move {
            Ok(match &self.engine {
                Engine::Sqlite { read, .. } => ReadConn::Sqlite(read.acquire()?),
                Engine::Postgres { readers, .. } => ReadConn::Pg(readers.lend().await?),
            })
        })
    }

    /// Runs `f` on a pooled read connection where a long read cannot hold up requests. SQLite's statements run
    /// on the thread that calls them, so a read of many rows (a `/metrics` scrape's counts over a backlog, a
    /// report) would take one of the few async workers that serve HTTP for as long as it lasts; here it runs on
    /// a blocking thread instead. PostgreSQL's reads wait on the network without a thread: as `read`.
    pub async fn read_apart<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: for<'a, 'c> FnOnce(&'a mut Conn<'c>) -> BoxFuture<'a, Result<T, StoreError>> + Send + 'static,
        T: Send + 'static,
    {
        match &self.engine {
            Engine::Sqlite { read, .. } => {
                let read = read.clone();
                let ran = tokio::task::spawn_blocking(move || {
                    let mut reader = read.acquire()?;
                    futures::executor::block_on(f(&mut Conn(ConnInner::Sqlite(reader.conn()))))
                })
                .await;
                match ran {
                    Ok(result) => result,
                    Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                    Err(e) => Err(StoreError::Stopped(e.to_string())),
                }
            }
            Engine::Postgres { .. } => {
                let mut read = self.read().await?;
                f(&mut read.conn()).await
            }
        }
    }

    /// Begins a write transaction. On SQLite writers take turns on the one writer connection. The time it
    /// waited and was held counts in `metrics::WRITE_WAITED` and `WRITE_HELD` under the caller's source line.
    #[track_caller]
    pub fn write(&self) -> BoxFuture<'_, Result<WriteTx, StoreError>> {
        self.engine.begin()
    }

    /// Runs `f` as one write of a group commit (see `batch`), inside a transaction shared with the other writes
    /// queued at the time. `Ok` is returned only once that transaction has committed. `f` must check before it
    /// writes: an `Err` from it before its first change leaves the others be, and one after fails them all.
    pub async fn write_batched<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: for<'a, 'c> FnOnce(&'a mut Conn<'c>) -> BoxFuture<'a, Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        batch::enqueue(&self.batch, f)
            .await
            .unwrap_or_else(|_| Err(E::from(StoreError::BatchFailed("the write was dropped unfinished".into()))))
    }

    /// Places an order as one of a group (see `placement`): `Ok` once the group's transaction has committed,
    /// with the order written or the order its key already names; `Err` with the plan's own refusal, which
    /// leaves nothing behind, or with why the group did not commit (safe to retry with the same key).
    pub async fn place<E>(&self, request: placement::Request<E>) -> Result<placement::Placed, E>
    where
        E: From<StoreError> + Send + 'static,
    {
        batch::enqueue_placement(&self.batch, request)
            .await
            .unwrap_or_else(|_| Err(E::from(StoreError::BatchFailed("the placement was dropped unfinished".into()))))
    }

    /// Finishes a job that acts on one order, as one of a group (see `order_jobs`): `Ok` once the group's
    /// transaction has committed, with the value its decision gave or `LostLease`; `Err` with the decision's
    /// own refusal (nothing written, the job not marked done) or with why the group did not commit.
    pub async fn finish_order_job<T, E>(&self, job: order_jobs::OrderJob<T, E>) -> Result<order_jobs::Finished<T>, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        batch::enqueue_order_job(&self.batch, job)
            .await
            .unwrap_or_else(|_| Err(E::from(StoreError::BatchFailed("the job was dropped unfinished".into()))))
    }

    /// Records an authorization of the sandbox processor, as one of a group (see `batch`), unless its key has
    /// one; returns the one that stands, once its group has committed. On PostgreSQL the group is the
    /// sandbox's own and commits without waiting for the disk: the record is there for every process at once
    /// and survives any of them crashing, only not a crash of the PostgreSQL server in the moment after. The
    /// sandbox stands in for another company's system, and a Buy Now waits for this commit between the two of
    /// its order (what a durable one cost is in docs/performance.md).
    pub async fn record_authorization(&self, a: sandbox::Authorization) -> Result<sandbox::Authorization, StoreError> {
        batch::enqueue_authorization(&self.batch, a)
            .await
            .unwrap_or_else(|_| Err(StoreError::BatchFailed("the authorization record was dropped unfinished".into())))
    }

    /// On SQLite, empties the write-ahead log's file (see `sqlite::truncate_wal`); nothing on PostgreSQL, whose
    /// old row versions go with VACUUM.
    pub async fn truncate_log(&self) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Sqlite { read, .. } => {
                let path = read.path().to_path_buf();
                tokio::task::spawn_blocking(move || sqlite::truncate_wal(&path))
                    .await
                    .map_err(|e| StoreError::Corrupt(format!("the checkpoint thread stopped: {e}")))?
            }
            Engine::Postgres { .. } => Ok(()),
        }
    }

    /// The connection pools' use now, for `/metrics`.
    pub fn pools(&self) -> Vec<metrics::PoolUse> {
        let sqlx_pool = |name, pool: &PgPool| {
            let idle = pool.num_idle() as i64;
            metrics::PoolUse { name, idle, in_use: Some(i64::from(pool.size()) - idle) }
        };
        match &self.engine {
            Engine::Sqlite { read, .. } => vec![metrics::PoolUse { name: "readers", idle: read.idle(), in_use: None }],
            Engine::Postgres { pool, readers, groups, .. } => {
                let (idle, in_use) = readers.use_now();
                vec![
                    sqlx_pool("writers", pool),
                    metrics::PoolUse { name: "readers", idle, in_use: Some(in_use) },
                    sqlx_pool("group_writers", groups),
                ]
            }
        }
    }

    pub async fn close(&self) {
        match &self.engine {
            Engine::Sqlite { read, .. } => read.close(),
            Engine::Postgres { pool, readers, groups, .. } => {
                groups.close().await;
                readers.close().await;
                pool.close().await
            }
        }
    }
}

/// A pool that checks a connection before lending it only if it sat idle a while. sqlx's default is a round
/// trip to the server (a ping) on every acquire, on top of the one it makes on every release: about one more
/// round trip per Buy Now, for connections that had answered a moment before (docs/performance.md has what
/// it cost). A connection that broke meanwhile fails its statement instead: an I/O error, a 503, safe to
/// retry, and the pool drops it.
/// How long a request waits for a PostgreSQL connection (connecting included) before it is refused with a 503:
/// with the database out of reach a client hears so in about this long, and may retry, rather than waiting
/// out its own timeout.
pub(crate) const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

fn pg_pool(max: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > Duration::from_secs(10) {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
}

impl Engine {
    /// Begins a write transaction of its own. PostgreSQL's group writers keep connections of their own instead
    /// (see `pg_group_conn`).
    #[track_caller]
    fn begin(&self) -> BoxFuture<'_, Result<WriteTx, StoreError>> {
        let site = std::panic::Location::caller();
        let asked = std::time::Instant::now();
        Box::pin(async move {
            match self {
                Engine::Sqlite { writer, .. } => {
                    let mut w = writer.clone().lock_owned().await;
                    let held = metrics::Held::begun(site, asked);
                    if w.in_tx {
                        db::sqlite_control(&w.conn, "ROLLBACK")?;
                    }
                    db::sqlite_control(&w.conn, "BEGIN IMMEDIATE")?;
                    w.in_tx = true;
                    Ok(WriteTx { inner: WriteInner::Sqlite(Some(w)), _held: held })
                }
                Engine::Postgres { pool, .. } => {
                    let tx = pool.begin().await?;
                    Ok(WriteTx { inner: WriteInner::Pg(Some(tx)), _held: metrics::Held::begun(site, asked) })
                }
            }
        })
    }
}

pub enum ReadConn {
    Sqlite(sqlite::PooledReader),
    Pg(pg_readers::Reader),
}

impl ReadConn {
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            ReadConn::Sqlite(c) => Conn(ConnInner::Sqlite(c.conn())),
            ReadConn::Pg(c) => Conn(ConnInner::Pg(c.conn())),
        }
    }
}

enum WriteInner {
    Sqlite(Option<OwnedMutexGuard<Writer>>),
    // sqlx's transaction rolls itself back when dropped uncommitted.
    Pg(Option<Transaction<'static, Postgres>>),
}

/// The open write transaction. Dropping it without `commit` rolls it back. Its time open is counted when it
/// is dropped, after the writer or connection it held was let go.
pub struct WriteTx {
    inner: WriteInner,
    _held: metrics::Held,
}

impl WriteTx {
    pub fn conn(&mut self) -> Conn<'_> {
        match &mut self.inner {
            WriteInner::Sqlite(w) => Conn(ConnInner::Sqlite(&mut w.as_mut().expect("held until consumed").conn)),
            WriteInner::Pg(tx) => Conn(ConnInner::Pg(tx.as_mut().expect("held until consumed"))),
        }
    }

    fn end(mut self, commit: bool) -> BoxFuture<'static, Result<(), StoreError>> {
        Box::pin(async move {
            match &mut self.inner {
                WriteInner::Sqlite(w) => {
                    let w = w.as_mut().expect("held until consumed");
                    db::sqlite_control(&w.conn, if commit { "COMMIT" } else { "ROLLBACK" })?;
                    w.in_tx = false;
                }
                WriteInner::Pg(tx) => {
                    let tx = tx.take().expect("held until consumed");
                    if commit {
                        tx.commit().await?;
                    } else {
                        tx.rollback().await?;
                    }
                }
            }
            Ok(())
        })
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        self.end(true).await
    }

    pub async fn rollback(self) -> Result<(), StoreError> {
        self.end(false).await
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        let WriteInner::Sqlite(slot) = &mut self.inner else { return };
        let Some(mut w) = slot.take() else { return };
        // Dropped mid-way (an error, a cancelled request): roll back now, so the write lock is not held on
        // behalf of nobody. Should that fail, the next writer rolls back first.
        if w.in_tx && w.conn.execute_batch("ROLLBACK").is_ok() {
            w.in_tx = false;
        }
    }
}

/// A database URL as it may be printed or logged: without a password, whether in its authority
/// (`postgres://user:secret@host`) or as a `password=` parameter.
pub fn redact_url(url: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let mut out = match (base.find("://"), base.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let user = base[scheme + 3..at].split(':').next().unwrap_or("");
            format!("{}{user}{}", &base[..scheme + 3], &base[at..])
        }
        _ => base.to_string(),
    };
    if let Some(query) = query {
        let kept: Vec<&str> = query.split('&').filter(|p| !p.to_ascii_lowercase().starts_with("password=")).collect();
        if !kept.is_empty() {
            out.push('?');
            out.push_str(&kept.join("&"));
        }
    }
    out
}

#[cfg(test)]
mod redact_tests {
    use super::redact_url;

    #[test]
    fn a_printed_url_holds_no_password() {
        assert_eq!(redact_url("postgres://shop:secret@db:5432/buynow"), "postgres://shop@db:5432/buynow");
        assert_eq!(redact_url("postgres://shop:p@ss@db/buynow"), "postgres://shop@db/buynow");
        assert_eq!(
            redact_url("postgres://db/buynow?user=shop&password=secret&sslmode=require"),
            "postgres://db/buynow?user=shop&sslmode=require"
        );
        assert_eq!(redact_url("sqlite://buynow.db"), "sqlite://buynow.db");
        assert_eq!(redact_url("mysql://root:secret@localhost"), "mysql://root@localhost");
    }
}
