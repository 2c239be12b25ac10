//! BuyNow persistence.
//!
//! One writer, many readers. SQLite allows a single writer at a time anyway, so every write transaction runs
//! on one dedicated connection, taken in turn (`Store::write`), with `BEGIN IMMEDIATE` so a transaction never
//! has to upgrade a read lock; reads use a pool of their own connections and never wait for the writer (WAL).
//! Durability is `synchronous=FULL`: a transaction that returned from `commit` survives power loss.

pub mod catalog;
pub mod customers;
pub mod db;
pub mod idempotency;
pub mod jobs;
mod migrate;
pub mod orders;
pub mod outbox;
pub mod payments;
mod time;

pub use db::{Arg, Conn, Row};

type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
pub use time::{from_micros, now_micros, to_micros};

use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Sqlite};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("row not found")]
    NotFound,
    #[error("stored data cannot be read back: {0}")]
    Corrupt(String),
    #[error("unsupported database URL {0:?}: use sqlite://PATH")]
    UnsupportedUrl(String),
}

impl StoreError {
    /// A unique or primary-key constraint was violated: the caller's duplicate, not our failure.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Db(sqlx::Error::Database(e)) if e.is_unique_violation())
    }

    /// The database is out of reach or too busy: worth a 503 and a retry, not a 500.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Db(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed) => true,
            StoreError::Db(sqlx::Error::Database(db)) => {
                let m = db.message();
                m.contains("database is locked") || m.contains("database is busy")
            }
            _ => false,
        }
    }

    /// A CHECK constraint refused the write (for stock: it would oversell).
    pub fn is_check_violation(&self) -> bool {
        matches!(self, StoreError::Db(sqlx::Error::Database(e)) if e.is_check_violation())
    }
}

struct Writer {
    conn: SqliteConnection,
    /// A transaction was begun and neither committed nor rolled back: its owner was dropped mid-way (an error
    /// or a cancelled request). The next writer rolls it back before starting its own.
    in_tx: bool,
}

#[derive(Clone)]
pub struct Store {
    read: SqlitePool,
    writer: Arc<Mutex<Writer>>,
    url: Arc<str>,
}

impl Store {
    /// Opens (creating if missing) and migrates the database at `url` (`sqlite://PATH`).
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .filter(|p| !p.is_empty() && !p.contains(":memory:"))
            .ok_or_else(|| StoreError::UnsupportedUrl(url.to_string()))?;
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .statement_cache_capacity(256)
            .log_statements(tracing::log::LevelFilter::Trace);
        let mut conn = options.connect().await?;
        migrate::run(&mut conn).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .connect_with(options.clone().read_only(true))
            .await?;
        Ok(Store { read, writer: Arc::new(Mutex::new(Writer { conn, in_tx: false })), url: url.into() })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// A pooled connection for reads.
    pub fn read(&self) -> BoxFuture<'_, Result<ReadConn, StoreError>> {
        Box::pin(async move { Ok(ReadConn(self.read.acquire().await?)) })
    }

    /// Begins the one write transaction; others wait their turn.
    pub fn write(&self) -> BoxFuture<'_, Result<WriteTx, StoreError>> {
        Box::pin(async move {
            let mut w = self.writer.clone().lock_owned().await;
            let in_tx = w.in_tx;
            let conn: &mut SqliteConnection = &mut w.conn;
            if in_tx {
                sqlx::Executor::execute(&mut *conn, "ROLLBACK").await?;
            }
            sqlx::Executor::execute(&mut *conn, "BEGIN IMMEDIATE").await?;
            w.in_tx = true;
            Ok(WriteTx { w: Some(w) })
        })
    }

    pub async fn close(&self) {
        self.read.close().await;
    }
}

pub struct ReadConn(PoolConnection<Sqlite>);

impl ReadConn {
    pub fn conn(&mut self) -> Conn<'_> {
        Conn(&mut self.0)
    }
}

/// The open write transaction. Dropping it without `commit` rolls it back: at once on a spawned task (so the
/// write lock is not held on behalf of nobody), or at the latest when the next writer starts.
pub struct WriteTx {
    w: Option<OwnedMutexGuard<Writer>>,
}

impl WriteTx {
    fn writer(&mut self) -> &mut Writer {
        self.w.as_mut().expect("a WriteTx holds the writer until it is consumed")
    }

    pub fn conn(&mut self) -> Conn<'_> {
        Conn(&mut self.writer().conn)
    }

    fn end(mut self, statement: &'static str) -> BoxFuture<'static, Result<(), StoreError>> {
        Box::pin(async move {
            let w = self.writer();
            let conn: &mut SqliteConnection = &mut w.conn;
            sqlx::Executor::execute(conn, statement).await?;
            w.in_tx = false;
            Ok(())
        })
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        self.end("COMMIT").await
    }

    pub async fn rollback(self) -> Result<(), StoreError> {
        self.end("ROLLBACK").await
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        let Some(w) = self.w.take() else { return };
        if !w.in_tx {
            return;
        }
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(rollback_abandoned(w));
        }
    }
}

fn rollback_abandoned(mut w: OwnedMutexGuard<Writer>) -> BoxFuture<'static, ()> {
    Box::pin(async move {
        let conn: &mut SqliteConnection = &mut w.conn;
        if sqlx::Executor::execute(conn, "ROLLBACK").await.is_ok() {
            w.in_tx = false;
        }
    })
}
