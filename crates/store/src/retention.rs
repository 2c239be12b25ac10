//! Retention: what the pipeline only needed for a while is deleted once it is old, so the database grows with
//! the orders kept and not with the work done for them.
//!
//! A sweep deletes a bounded batch of each kind per transaction, found by an index on its age, so that it never
//! holds the writer long (on SQLite the one writer every Buy Now waits for) however much is due.

use crate::{args, Arg, Conn, StoreError};

/// Where each kind's retention ends (µs): rows older than these are deleted.
#[derive(Debug, Clone, Copy)]
pub struct Cutoffs {
    /// Published outbox events, sent deliveries (with their attempts), finished jobs.
    pub finished_before: i64,
    /// Idempotency keys last used before this (after it, a retry of the key is a new purchase).
    pub keys_last_used_before: i64,
    /// Sessions that ended (expired, or went unused past their idle limit) before this, on the wall clock as
    /// sessions' times are.
    pub sessions_ended_before: i64,
}

/// Deletes up to `limit` rows of each kind past its cutoff. Returns how many rows went; fewer than `limit` of
/// every kind means nothing more is due.
pub async fn sweep(c: &mut Conn<'_>, cutoffs: Cutoffs, limit: u32) -> Result<Swept, StoreError> {
    let limit = i64::from(limit);
    let before = cutoffs.finished_before;
    let deliveries: Vec<String> = c
        .all(
            "SELECT id FROM deliveries WHERE status = 'sent' AND sent_at < $1 ORDER BY sent_at LIMIT $2",
            args![before, limit],
        )
        .await?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<_, _>>()?;
    let mut swept = Swept { deliveries: deliveries.len() as u64, ..Swept::default() };
    if !deliveries.is_empty() {
        let list = crate::db::placeholders(deliveries.len());
        let ids: Vec<Arg> = deliveries.into_iter().map(Arg::Text).collect();
        c.exec(&format!("DELETE FROM delivery_attempts WHERE delivery_id IN ({list})"), ids.clone()).await?;
        c.exec(&format!("DELETE FROM deliveries WHERE id IN ({list})"), ids).await?;
    }
    swept.events = c
        .exec(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox \
             WHERE published_at IS NOT NULL AND published_at < $1 ORDER BY published_at LIMIT $2)",
            args![before, limit],
        )
        .await?;
    swept.jobs = c
        .exec(
            "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs \
             WHERE status IN ('done', 'failed') AND finished_at < $1 ORDER BY finished_at LIMIT $2)",
            args![before, limit],
        )
        .await?;
    swept.keys = c
        .exec(
            "DELETE FROM idempotency_keys WHERE (customer, key_digest) IN (SELECT customer, key_digest FROM idempotency_keys \
             WHERE last_used_at < $1 ORDER BY last_used_at LIMIT $2)",
            args![cutoffs.keys_last_used_before, limit],
        )
        .await?;
    // A session ends at whichever of its two limits comes first; each is found by its own index.
    let mut sessions_more = false;
    for ended_at in ["expires_at", "idle_until"] {
        let n = c
            .exec(
                &format!(
                    "DELETE FROM sessions WHERE token_hash IN (SELECT token_hash FROM sessions \
                     WHERE {ended_at} < $1 ORDER BY {ended_at} LIMIT $2)"
                ),
                args![cutoffs.sessions_ended_before, limit],
            )
            .await?;
        swept.sessions += n;
        sessions_more |= n as i64 >= limit;
    }
    swept.more =
        sessions_more || [swept.deliveries, swept.events, swept.jobs, swept.keys].iter().any(|&n| n as i64 >= limit);
    Ok(swept)
}

/// What one sweep deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub deliveries: u64,
    pub events: u64,
    pub jobs: u64,
    pub keys: u64,
    pub sessions: u64,
    /// A kind filled its batch: more may be due.
    pub more: bool,
}

impl Swept {
    pub fn rows(&self) -> u64 {
        self.deliveries + self.events + self.jobs + self.keys + self.sessions
    }
}
