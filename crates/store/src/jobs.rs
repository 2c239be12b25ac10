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
    let id = JobId::new();
    let n = c
        .exec(
            "INSERT INTO jobs (id, kind, payload, dedup_key, status, run_at, attempts, max_attempts, created_at) \
             VALUES ($1, $2, $3, $4, 'queued', $5, 0, $6, $7) ON CONFLICT (dedup_key) DO NOTHING",
            args![id.to_string(), job.kind, &job.payload, job.dedup_key.clone(), job.run_at, job.max_attempts, now],
        )
        .await?;
    Ok((n == 1).then_some(id))
}

/// Adds a job already claimed by the caller, who runs it right after the commit (the inline fast path).
/// Should the caller die first, the lease runs out and a worker runs it.
pub async fn enqueue_claimed(
    c: &mut Conn<'_>,
    job: &NewJob,
    now: i64,
    lease_until: i64,
) -> Result<Option<Job>, StoreError> {
    let id = JobId::new();
    let n = c
        .exec(
            "INSERT INTO jobs (id, kind, payload, dedup_key, status, run_at, attempts, max_attempts, locked_until, created_at) \
             VALUES ($1, $2, $3, $4, 'running', $5, 1, $6, $7, $5) ON CONFLICT (dedup_key) DO NOTHING",
            args![id.to_string(), job.kind, &job.payload, job.dedup_key.clone(), now, job.max_attempts, lease_until],
        )
        .await?;
    Ok((n == 1).then(|| Job {
        id,
        kind: job.kind.to_string(),
        payload: job.payload.clone(),
        attempt: 1,
        max_attempts: i64::from(job.max_attempts),
    }))
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
