//! PostgreSQL read connections, kept between reads outside sqlx's pool.
//!
//! sqlx tests every connection given back to its pool with a round trip to the server, whatever the pool's
//! options. Each Buy Now reads once, so that was one more round trip per Buy Now, and on PostgreSQL Buy Now
//! runs short of the server's CPU, not of connections (see README, Performance). A reader here stays checked
//! out of its pool and is lent again as it is; the pool, of readers only, still opens them, so writers never
//! wait for a connection kept idle here. As returned readers go back to the list here rather than to the pool,
//! a read waits for a permit of this list's own, never in the pool's queue, which nothing would wake.
//!
//! What the pool's test was for is done otherwise:
//! - a read cancelled half-way leaves its answer unread: sqlx reads it off before the connection's next
//!   statement;
//! - a broken connection: a connection-level error anywhere in this process (see `note_fault`) retires every
//!   reader lent or kept before it, the one that met it among them;
//! - a connection left idle for long (a server or proxy may have closed it): pinged before it is lent again,
//!   as the pool does;
//! - a connection's lifetime: one lent for the first time over 30 minutes ago goes back to the pool, which
//!   closes it (sqlx's `max_lifetime`), so that a server's memory per session and a proxy's balance are renewed.

use crate::StoreError;
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgPool;
use sqlx::{Connection, PgConnection, Postgres};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Idle longer than this, a reader is pinged before it is lent again.
const PING_AFTER: Duration = Duration::from_secs(10);
/// Lent for the first time longer ago than this, a reader goes back to the pool rather than being kept (sqlx's
/// default `max_lifetime`, which the pool then applies).
pub(crate) const RENEW_AFTER: Duration = Duration::from_secs(30 * 60);
/// How long a read waits for a reader before it is refused, as the pools' own acquire timeout.
const WAIT_AT_MOST: Duration = crate::ACQUIRE_TIMEOUT;

/// Connection-level errors this process has met on PostgreSQL.
static FAULTS: AtomicU64 = AtomicU64::new(0);

/// An error after which the connection cannot be trusted: it broke, or the server ended the session.
pub(crate) fn connection_lost(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed => true,
        // Class 08: connection exception; class 57: the server is shutting down or ended the session.
        sqlx::Error::Database(e) => e.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57")),
        _ => false,
    }
}

/// Called for every sqlx error: one that lost its connection retires the kept readers.
pub(crate) fn note_fault(e: &sqlx::Error) {
    if connection_lost(e) {
        FAULTS.fetch_add(1, Ordering::Relaxed);
    }
}

struct Kept {
    conn: PoolConnection<Postgres>,
    since: Instant,
    first_lent: Instant,
    faults: u64,
}

pub(crate) struct Readers {
    pool: PgPool,
    /// One per reader the pool may open: a read holds one for as long as it has its reader.
    permits: Arc<Semaphore>,
    /// `None` once closed: readers given back then go back to the pool, to be closed with it.
    kept: Mutex<Option<Vec<Kept>>>,
}

impl Readers {
    /// Readers opened by `pool`: as many permits as it may open connections.
    pub(crate) fn new(pool: PgPool) -> Arc<Readers> {
        let permits = Arc::new(Semaphore::new(pool.options().get_max_connections() as usize));
        Arc::new(Readers { pool, permits, kept: Mutex::new(Some(Vec::new())) })
    }

    /// Readers kept idle here, and readers lent now.
    pub(crate) fn use_now(&self) -> (i64, i64) {
        let idle = self.kept.lock().map(|k| k.as_ref().map_or(0, Vec::len)).unwrap_or(0) as i64;
        let lent = self.pool.options().get_max_connections() as usize - self.permits.available_permits();
        (idle, lent as i64)
    }

    pub(crate) async fn lend(self: &Arc<Self>) -> Result<Reader, StoreError> {
        let permit = match tokio::time::timeout(WAIT_AT_MOST, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(StoreError::Db(sqlx::Error::PoolClosed)),
            Err(_) => return Err(StoreError::Db(sqlx::Error::PoolTimedOut)),
        };
        loop {
            let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner()).as_mut().and_then(Vec::pop);
            let Some(mut k) = kept else { break };
            if k.faults != FAULTS.load(Ordering::Relaxed) {
                continue;
            }
            if k.since.elapsed() > PING_AFTER && k.conn.ping().await.is_err() {
                continue;
            }
            let (home, faults, first_lent) = (self.clone(), k.faults, k.first_lent);
            return Ok(Reader { conn: Some(k.conn), home, faults, first_lent, _permit: permit });
        }
        let faults = FAULTS.load(Ordering::Relaxed);
        let conn = self.pool.acquire().await?;
        Ok(Reader { conn: Some(conn), home: self.clone(), faults, first_lent: Instant::now(), _permit: permit })
    }

    /// Gives every kept reader back to the pool, and any lent one as it comes back, so the pool can close.
    pub(crate) async fn close(&self) {
        self.kept.lock().unwrap_or_else(|p| p.into_inner()).take();
        self.permits.close();
        self.pool.close().await;
    }
}

/// A lent reader; dropped, it is kept for the next read.
pub struct Reader {
    conn: Option<PoolConnection<Postgres>>,
    home: Arc<Readers>,
    /// `FAULTS` when it was lent: any fault since, and it is not kept.
    faults: u64,
    first_lent: Instant,
    /// Given back after `drop` has kept the reader, so the read it lets in finds it there.
    _permit: OwnedSemaphorePermit,
}

impl Reader {
    pub(crate) fn conn(&mut self) -> &mut PgConnection {
        self.conn.as_mut().expect("held until dropped")
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        let stale = self.faults != FAULTS.load(Ordering::Relaxed) || self.first_lent.elapsed() > RENEW_AFTER;
        if stale || conn.is_in_transaction() {
            return;
        }
        if let Some(kept) = self.home.kept.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            kept.push(Kept { conn, since: Instant::now(), first_lent: self.first_lent, faults: self.faults });
        }
    }
}
