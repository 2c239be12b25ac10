//! The durable job queue.
//!
//! A job is claimed with a lease (`locked_until`) and its attempt number; it is finished in the same
//! transaction as its effects, and only by the holder of the current attempt (the attempt number is the
//! fencing token). A process that dies mid-job leaves a lease that expires, and the job runs again — so every
//! job is written to be idempotent.

use crate::{args, Backend, Conn, Row, StoreError};
use buynow_domain::JobId;

#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: &'static str,
    pub payload: String,
    /// At most one job with this key exists, ever: enqueueing it twice is a no-op.
    pub dedup_key: Option<String>,
    pub run_at: i64,
    pub max_attempts: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub payload: String,
    pub attempt: i64,
    pub max_attempts: i64,
}

/// Adds a job; `None` when its dedup key was already used.
pub async fn enqueue(c: &mut Conn<'_>, job: &NewJob, now: i64) -> Result<Option<JobId>, StoreError> {
    let added = insert_all(c, &[Enqueue { job, now, lease_until: None }]).await?;
    Ok(added[0].as_ref().map(|j| j.id))
}

/// Adds a job already claimed by the caller, who runs it right after the commit (the inline fast path).
/// Should the caller die first, the lease runs out and a worker runs it.
pub async fn enqueue_claimed(
    c: &mut Conn<'_>,
    job: &NewJob,
    now: i64,
    lease_until: i64,
) -> Result<Option<Job>, StoreError> {
    let mut added = insert_all(c, &[Enqueue { job, now, lease_until: Some(lease_until) }]).await?;
    Ok(added.pop().flatten())
}

/// A job to add: with `lease_until`, already claimed by the caller (and due at once).
pub struct Enqueue<'a> {
    pub job: &'a NewJob,
    pub now: i64,
    pub lease_until: Option<i64>,
}

/// Adds jobs in one statement (see `Conn::insert_rows`). For each, in order: the job as written (attempt 1
/// when claimed, else 0), or `None` when its dedup key was already used.
pub async fn insert_all(c: &mut Conn<'_>, jobs: &[Enqueue<'_>]) -> Result<Vec<Option<Job>>, StoreError> {
    let ids: Vec<JobId> = jobs.iter().map(|_| JobId::new()).collect();
    let rows = jobs
        .iter()
        .zip(&ids)
        .map(|(e, id)| {
            let (status, attempts, run_at) = match e.lease_until {
                Some(_) => ("running", 1, e.now),
                None => ("queued", 0, e.job.run_at),
            };
            let j = e.job;
            args![
                id.to_string(),
                j.kind,
                &j.payload,
                j.dedup_key.clone(),
                status,
                run_at,
                attempts,
                j.max_attempts,
                e.lease_until,
                e.now
            ]
        })
        .collect();
    let columns = [
        "id",
        "kind",
        "payload",
        "dedup_key",
        "status",
        "run_at",
        "attempts",
        "max_attempts",
        "locked_until",
        "created_at",
    ];
    let added = c.insert_rows("jobs", &columns, rows, "ON CONFLICT (dedup_key) DO NOTHING RETURNING id").await?;
    let added = added.iter().map(|r| r.parsed(0, JobId::parse)).collect::<Result<Vec<_>, _>>()?;
    Ok(jobs
        .iter()
        .zip(ids)
        .map(|(e, id)| {
            added.contains(&id).then(|| Job {
                id,
                kind: e.job.kind.to_string(),
                payload: e.job.payload.clone(),
                attempt: i64::from(e.lease_until.is_some()),
                max_attempts: i64::from(e.job.max_attempts),
            })
        })
        .collect())
}

fn job(r: &Row) -> Result<Job, StoreError> {
    Ok(Job {
        id: r.parsed(0, JobId::parse)?,
        kind: r.text(1)?,
        payload: r.text(2)?,
        attempt: r.int(3)?,
        max_attempts: r.int(4)?,
    })
}

/// Claims up to `limit` due jobs: queued ones whose time has come, and running ones whose lease ran out.
/// On PostgreSQL, rows another worker is claiming right now are skipped, not waited for.
pub async fn claim_due(c: &mut Conn<'_>, now: i64, lease_until: i64, limit: u32) -> Result<Vec<Job>, StoreError> {
    let skip_locked = match c.backend() {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE jobs SET status = 'running', locked_until = $2, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM jobs WHERE (status = 'queued' AND run_at <= $1) \
                      OR (status = 'running' AND locked_until < $1) ORDER BY run_at LIMIT $3 {skip_locked}) \
         RETURNING id, kind, payload, attempts, max_attempts"
    );
    let rows = c.all(&sql, args![now, lease_until, limit]).await?;
    rows.iter().map(job).collect()
}

/// Claims one job by id if it is waiting (the inline fast path); `None` if a worker has it or it is done.
pub async fn claim_one(c: &mut Conn<'_>, id: JobId, lease_until: i64) -> Result<Option<Job>, StoreError> {
    let row = c
        .opt(
            "UPDATE jobs SET status = 'running', locked_until = $2, attempts = attempts + 1 \
             WHERE id = $1 AND status = 'queued' RETURNING id, kind, payload, attempts, max_attempts",
            args![id.to_string(), lease_until],
        )
        .await?;
    row.as_ref().map(job).transpose()
}

/// Whether this attempt still holds the job (no other worker took it over after its lease ran out).
pub async fn holds(c: &mut Conn<'_>, j: &Job) -> Result<bool, StoreError> {
    let row = c
        .opt(
            "SELECT 1 FROM jobs WHERE id = $1 AND attempts = $2 AND status = 'running'",
            args![j.id.to_string(), j.attempt],
        )
        .await?;
    Ok(row.is_some())
}

/// Marks the job done; `false` if this attempt no longer holds it (its lease expired and it was re-claimed).
pub async fn complete(c: &mut Conn<'_>, j: &Job, now: i64) -> Result<bool, StoreError> {
    let n = c
        .exec(
            "UPDATE jobs SET status = 'done', finished_at = $3, locked_until = NULL WHERE id = $1 AND attempts = $2 AND status = 'running'",
            args![j.id.to_string(), j.attempt, now],
        )
        .await?;
    Ok(n == 1)
}

/// Puts the job back to run again at `run_at`, or, with `give_up`, marks it failed for good.
pub async fn retry_or_fail(
    c: &mut Conn<'_>,
    j: &Job,
    give_up: bool,
    run_at: i64,
    error: &str,
    now: i64,
) -> Result<(), StoreError> {
    let error: String = error.chars().take(500).collect();
    let (status, finished) = if give_up { ("failed", Some(now)) } else { ("queued", None) };
    c.exec(
        "UPDATE jobs SET status = $3, run_at = $4, last_error = $5, locked_until = NULL, finished_at = $6 \
         WHERE id = $1 AND attempts = $2 AND status = 'running'",
        args![j.id.to_string(), j.attempt, status, run_at, error, finished],
    )
    .await
    .map(drop)
}

/// `queued`, `running`, `done` or `failed`.
pub async fn status(c: &mut Conn<'_>, id: JobId) -> Result<Option<String>, StoreError> {
    c.opt("SELECT status FROM jobs WHERE id = $1", args![id.to_string()]).await?.map(|r| r.text(0)).transpose()
}
