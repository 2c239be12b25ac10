//! The retention sweep: deletes what is kept only for a while (published events, sent deliveries, finished
//! jobs, idempotency keys past their last use, ended sessions) so the database grows with the orders kept, not
//! with the work done for them (see `buynow_store::retention`).

use crate::state::AppState;
use buynow_store::retention::{self, Cutoffs, Swept};
use buynow_store::StoreError;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Rows of each kind deleted per transaction: small enough that Buy Now hardly waits for the writer.
const BATCH: u32 = 500;
/// With more due, the sweep rests three times as long as its last batch took (waiting for the writer
/// included): at most a quarter of the writer's time. Half, taken while Buy Now already kept SQLite's one
/// writer busy, queued orders faster than they were answered (docs/performance.md, "What set off SQLite's
/// stalls"); a quarter is still more than deleting as fast as rows were written took there.
const REST_PER_WORK: u32 = 3;
/// How often the sweep looks again once nothing is due: often, so that what comes due is deleted as it comes,
/// a few seconds' worth at a time, not a minute's at once.
const EVERY: Duration = Duration::from_secs(5);

/// Starts the sweep; it stops when `stop` turns true.
pub fn spawn(state: AppState, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let started = Instant::now();
            let rest = match sweep_once(&state).await {
                Ok(swept) if swept.more => started.elapsed() * REST_PER_WORK,
                Ok(_) => EVERY,
                Err(e) => {
                    tracing::warn!(error = %e, "could not delete rows past their retention; next pass");
                    EVERY
                }
            };
            tokio::select! {
                _ = stop.changed() => {}
                _ = tokio::time::sleep(rest) => {}
            }
            if *stop.borrow() {
                return;
            }
        }
    })
}

/// Deletes everything past its retention now, batch after batch; returns how many rows went. For tests and
/// the bench (the running sweep rests between batches).
pub async fn purge(state: &AppState) -> Result<u64, StoreError> {
    let mut rows = 0;
    loop {
        let swept = sweep_once(state).await?;
        rows += swept.rows();
        if !swept.more {
            return Ok(rows);
        }
    }
}

async fn sweep_once(state: &AppState) -> Result<Swept, StoreError> {
    let now = state.now_micros();
    let cutoffs = Cutoffs {
        finished_before: now.saturating_sub(micros(state.config.retention)),
        keys_last_used_before: now.saturating_sub(micros(state.config.idempotency_retention)),
        sessions_ended_before: buynow_store::now_micros().saturating_sub(micros(state.config.retention)),
    };
    let mut tx = state.store.write().await?;
    let swept = retention::sweep(&mut tx.conn(), cutoffs, BATCH).await?;
    tx.commit().await?;
    if swept.rows() > 0 {
        tracing::debug!(
            deliveries = swept.deliveries,
            events = swept.events,
            jobs = swept.jobs,
            keys = swept.keys,
            sessions = swept.sessions,
            "deleted rows past their retention"
        );
    }
    Ok(swept)
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX / 2)
}
