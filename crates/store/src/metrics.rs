//! What the server's `/metrics` reads of the store: the size of each group commit and the time write
//! transactions were open and waited for, as they happen, and the backlogs (jobs, the outbox, failing
//! deliveries) and connection pools when scraped.

use crate::{args, Conn, StoreError};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use std::panic::Location;
use std::sync::atomic::AtomicU64;
use std::sync::LazyLock;
use std::time::Instant;

/// Writes per group-commit transaction, in this process (every store of it: there is one outside tests).
pub static GROUP_SIZES: LazyLock<Histogram> =
    LazyLock::new(|| Histogram::new([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0]));

/// Where a write transaction was begun: the source line that called `Store::write`, or the group commit's own
/// (`crates/store/src/batch.rs`). On SQLite every one of them takes the one writer in turn, so the time each
/// holds it says who keeps the others waiting.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WriteSite {
    pub file: &'static str,
    pub line: u32,
}

impl From<&'static Location<'static>> for WriteSite {
    fn from(l: &'static Location<'static>) -> Self {
        WriteSite { file: l.file(), line: l.line() }
    }
}

pub type Seconds = Family<WriteSite, Counter<f64, AtomicU64>>;

/// Seconds write transactions were open (from their `BEGIN` to their commit or rollback), by where they began.
pub static WRITE_HELD: LazyLock<Seconds> = LazyLock::new(Seconds::default);
/// Seconds write transactions waited to begin: for the SQLite writer, or for a PostgreSQL connection.
pub static WRITE_WAITED: LazyLock<Seconds> = LazyLock::new(Seconds::default);

/// An open write transaction's time, added to `WRITE_HELD` when it ends (dropped).
#[derive(Debug)]
pub(crate) struct Held {
    site: &'static Location<'static>,
    since: Instant,
}

impl Held {
    /// Starts the clock of a transaction begun now, after waiting since `asked`.
    pub(crate) fn begun(site: &'static Location<'static>, asked: Instant) -> Held {
        let since = Instant::now();
        WRITE_WAITED.get_or_create(&site.into()).inc_by(since.duration_since(asked).as_secs_f64());
        Held { site, since }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        WRITE_HELD.get_or_create(&self.site.into()).inc_by(self.since.elapsed().as_secs_f64());
    }
}

/// Jobs not finished of one kind in one state: `due` (queued, its time has come), `scheduled` (queued for
/// later) or `running`; for due ones, when the oldest was due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobBacklog {
    pub kind: String,
    pub state: &'static str,
    pub count: i64,
    pub oldest_due: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backlog {
    pub jobs: Vec<JobBacklog>,
    pub outbox_unpublished: i64,
    /// Pending deliveries that failed at least once, and dead ones (every attempt failed; staff may resend).
    pub deliveries_retrying: i64,
    pub deliveries_dead: i64,
}

/// The backlogs at `now`. Each count reads an index of its own (`jobs_due`, `outbox_unpublished`,
/// `deliveries_due`, `deliveries_dead`), never a table through.
pub async fn backlog(c: &mut Conn<'_>, now: i64) -> Result<Backlog, StoreError> {
    let rows = c
        .all(
            "SELECT kind, status, CAST(CASE WHEN run_at <= $1 THEN 1 ELSE 0 END AS BIGINT) AS due, COUNT(*) AS n, \
             MIN(run_at) AS oldest FROM jobs WHERE status IN ('queued', 'running') \
             GROUP BY kind, status, CAST(CASE WHEN run_at <= $1 THEN 1 ELSE 0 END AS BIGINT)",
            args![now],
        )
        .await?;
    let mut jobs: Vec<JobBacklog> = Vec::new();
    for r in &rows {
        let due = r.int("due")? != 0;
        let state = match (r.text("status")?.as_str(), due) {
            ("running", _) => "running",
            (_, true) => "due",
            (_, false) => "scheduled",
        };
        let (kind, count) = (r.text("kind")?, r.int("n")?);
        let oldest_due = (state == "due").then(|| r.int("oldest")).transpose()?;
        // Running jobs come in two groups (their `run_at` passed or not): one line for both.
        match jobs.iter_mut().find(|j| j.kind == kind && j.state == state) {
            Some(j) => j.count += count,
            None => jobs.push(JobBacklog { kind, state, count, oldest_due }),
        }
    }
    let outbox_unpublished = c.one("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL", vec![]).await?.int(0)?;
    let deliveries_retrying =
        c.one("SELECT COUNT(*) FROM deliveries WHERE status = 'pending' AND attempts > 0", vec![]).await?.int(0)?;
    let deliveries_dead = c.one("SELECT COUNT(*) FROM deliveries WHERE status = 'dead'", vec![]).await?.int(0)?;
    Ok(Backlog { jobs, outbox_unpublished, deliveries_retrying, deliveries_dead })
}

/// One connection pool's connections now; `in_use` where the pool counts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolUse {
    pub name: &'static str,
    pub idle: i64,
    pub in_use: Option<i64>,
}
