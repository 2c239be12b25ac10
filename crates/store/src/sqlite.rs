//! SQLite connections: the one writer and a small pool of readers, opened with the same settings.

use crate::StoreError;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// Readers kept open between uses; more are opened when needed and closed when they come back to a full pool.
const IDLE_READERS: usize = 64;

/// Settings every connection shares: a generous page cache, and no memory-mapped reads. In WAL mode a reader
/// that finds the database changed since its last read (under Buy Now traffic, nearly every read) drops its
/// whole mapping and maps it again, and each unmap interrupts the other cores to flush their TLBs; in
/// `buynow bench` that cost more than the copies it saves (docs/performance.md has the figures).
fn tune(c: &Connection) -> Result<(), StoreError> {
    c.busy_timeout(Duration::from_secs(10))?;
    c.set_prepared_statement_cache_capacity(256);
    // A stable query plan: without it a statement whose planning looked at a bound value (here, those with an
    // ORDER BY) is compiled again on every use, once its cached copy's bindings are cleared. The bench profile
    // showed a third of read time spent re-parsing SQL.
    c.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    c.execute_batch("PRAGMA cache_size = -32768; PRAGMA temp_store = MEMORY;")?;
    Ok(())
}

fn configure(c: &Connection, durability: Durability) -> Result<(), StoreError> {
    tune(c)?;
    // WAL: readers never wait for the writer. FULL: a commit that returned is on disk. NORMAL (see
    // `Durability::Relaxed`): it survives the process, not a power loss.
    let synchronous = match durability {
        Durability::Full => "FULL",
        Durability::Relaxed => "NORMAL",
    };
    // secure_delete FAST: a deleted or rewritten row's bytes are zeroed in its page when that costs no extra
    // write, so personal data replaced (a legacy row sealed, say) does not linger in the file.
    c.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = ON; \
         PRAGMA secure_delete = FAST;"
    ))?;
    Ok(())
}

/// How far a commit goes before it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// On disk: survives a crash of the process, of the machine and a power loss. BuyNow's own data.
    Full,
    /// In the operating system's hands: survives a crash of the process, not of the machine. For the sandbox's
    /// records, which stand in for another company's system (see `Store::open_relaxed`).
    Relaxed,
}

pub(crate) fn open_writer(path: &Path, durability: Durability) -> Result<Connection, StoreError> {
    let c = Connection::open(path)?;
    configure(&c, durability)?;
    // The checkpointer thread copies the WAL back; the writer does it itself only if that falls far behind.
    c.execute_batch(&format!("PRAGMA wal_autocheckpoint = {WRITER_CHECKPOINT_PAGES};"))?;
    Ok(c)
}

/// How often the checkpointer copies the WAL back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(50);
/// WAL pages past which the writer checkpoints in its own commit after all (SQLite's default is 1,000).
const WRITER_CHECKPOINT_PAGES: u32 = 20_000;

/// Copies the WAL back into the database from a thread of its own, so the writer's commits do not wait for
/// that copy and its fsync: SQLite's automatic checkpoint runs inside whichever commit crosses 1,000 pages,
/// and took a tenth of the writer's time in `buynow bench` profiles. A passive checkpoint never blocks the
/// writer or the readers. The thread ends when the store's last handle is gone.
pub(crate) fn spawn_checkpointer(path: &Path, alive: Weak<ReadPool>) -> Result<(), StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(1))?;
    std::thread::Builder::new()
        .name("buynow-sqlite-checkpoint".into())
        .spawn(move || {
            while alive.strong_count() > 0 {
                std::thread::sleep(CHECKPOINT_EVERY);
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!(error = %e, "WAL checkpoint failed; the next one tries again");
                }
            }
        })
        .expect("the checkpointer thread starts");
    Ok(())
}

/// Copies the whole write-ahead log back and empties its file: what it held (an older version of a page, say
/// one with personal data in clear) is gone from the disk, not just superseded. Waits up to 5 s for readers.
pub(crate) fn truncate_wal(path: &Path) -> Result<(), StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
    if busy != 0 {
        return Err(StoreError::Corrupt("the write-ahead log could not be emptied: readers held it".into()));
    }
    Ok(())
}

pub(crate) struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReadPool {
    pub(crate) fn new(path: &Path) -> Arc<ReadPool> {
        Arc::new(ReadPool { path: path.to_path_buf(), idle: Mutex::new(Vec::new()) })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Readers opened and not lent now.
    pub(crate) fn idle(&self) -> i64 {
        self.idle.lock().map(|idle| idle.len() as i64).unwrap_or(0)
    }

    pub(crate) fn acquire(self: &Arc<Self>) -> Result<PooledReader, StoreError> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match idle {
            Some(c) => c,
            None => {
                let flags =
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
                let c = Connection::open_with_flags(&self.path, flags)?;
                tune(&c)?;
                c
            }
        };
        Ok(PooledReader { conn: Some(conn), pool: self.clone() })
    }

    pub(crate) fn close(&self) {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

pub struct PooledReader {
    conn: Option<Connection>,
    pool: Arc<ReadPool>,
}

impl PooledReader {
    pub(crate) fn conn(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("held until dropped")
    }
}

impl Drop for PooledReader {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            let mut idle = self.pool.idle.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < IDLE_READERS {
                idle.push(c);
            }
        }
    }
}
