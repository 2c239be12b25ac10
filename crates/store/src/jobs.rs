//! The durable job queue.
//!
//! A job is claimed with a lease (`locked_until`) and its attempt number; it is finished in the same
//! transaction as its effects, and only by the holder of the current attempt (the attempt number is the
//! fencing token). A process that dies mid-job leaves a lease that expires, and the job runs again — so every
//! job is written to be idempotent.

use crate::{args, Arg, Backend, Conn, Row, StoreError, Write};
use buynow_domain::JobId;

#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: &'static str,
    pub payload: String,
    /// At most one job with this key exists, ever: enqueueing it twice is a no-op.
    pub dedup_key: Option<String>,
    pub run_at: i64,
    pub max_attempts: u32,
    /// The request that made it (`x-request-id`), or the one that made the job that did.
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub payload: String,
    pub attempt: i64,
    pub max_attempts: i64,
    pub request_id: Option<String>,
}

/// Adds a job; `None` when its dedup key was already used.
pub async fn enqueue(c: &mut Conn<'_>, job: &NewJob, now: i64) -> Result<Option<JobId>, StoreError> {
    let (write, written) = insert_write(&[Enqueue { job, now, lease_until: None }]);
    let added = c.together(vec![write]).await?;
    Ok((added[0] == 1).then(|| written[0].id))
}

/// A job to add: with `lease_until`, already claimed by the caller, who runs it right after the commit (the
/// inline fast path; should the caller die first, the lease runs out and a worker runs it), and due at once.
pub struct Enqueue<'a> {
    pub job: &'a NewJob,
    pub now: i64,
    pub lease_until: Option<i64>,
}

/// The write of jobs among others (see `Conn::together`), and the jobs as it writes them. Its count says how
/// many were new: a job whose dedup key was used already is left out.
pub fn insert_write(jobs: &[Enqueue<'_>]) -> (Write<'static>, Vec<Job>) {
    let (rows, written) = rows(jobs);
    (Write::Rows { table: "jobs", columns: COLUMNS, rows, tail: "ON CONFLICT (dedup_key) DO NOTHING" }, written)
}

const COLUMNS: &[&str] = &[
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
    "request_id",
];

fn rows(jobs: &[Enqueue<'_>]) -> (Vec<Vec<Arg>>, Vec<Job>) {
    jobs.iter()
        .map(|e| {
            let (status, attempts, run_at) = match e.lease_until {
                Some(_) => ("running", 1, e.now),
                None => ("queued", 0, e.job.run_at),
            };
            let j = e.job;
            let written = Job {
                id: JobId::new(),
                kind: j.kind.to_string(),
                payload: j.payload.clone(),
                attempt: attempts,
                max_attempts: i64::from(j.max_attempts),
                request_id: j.request_id.clone(),
            };
            let row = args![
                written.id.to_string(),
                j.kind,
                &j.payload,
                j.dedup_key.clone(),
                status,
                run_at,
                attempts,
                j.max_attempts,
                e.lease_until,
                e.now,
                j.request_id.clone()
            ];
            (row, written)
        })
        .unzip()
}

fn job(r: &Row) -> Result<Job, StoreError> {
    Ok(Job {
        id: r.parsed("id", JobId::parse)?,
        kind: r.text("kind")?,
        payload: r.text("payload")?,
        attempt: r.int("attempts")?,
        max_attempts: r.int("max_attempts")?,
        request_id: r.opt_text("request_id")?,
    })
}

/// Claims up to `limit` due jobs: queued ones whose time has come, and running ones whose lease ran out.
/// On PostgreSQL, rows another worker is claiming right now are skipped, not waited for.
///
/// Every order keeps a job queued for later (its release after the hold window), so at any moment most queued
/// jobs are not due. Each test repeats `jobs_due`'s own condition word for word, which is how SQLite knows that
/// index holds every row asked for. The two kinds are two walks of that index in `run_at` order, each bounded by
/// its own `LIMIT`: written as one `OR`, SQLite walked every queued job, due or not, on every claim, so a claim
/// took longer the more orders were inside their hold window. PostgreSQL planned the `OR` as a bitmap scan, which
/// visits every index entry of a running job, and under load most of those are of jobs finished since the last
/// vacuum; an ordered index scan marks the entries of rows it finds dead, so the next claim skips them. On
/// PostgreSQL the rows found are locked in a query of their own, which checks the same conditions again, as
/// `FOR UPDATE` cannot stand beside `UNION`.
pub async fn claim_due(c: &mut Conn<'_>, now: i64, lease_until: i64, limit: u32) -> Result<Vec<Job>, StoreError> {
    const QUEUED: &str = "SELECT id, run_at FROM jobs WHERE status IN ('queued', 'running') \
                          AND status = 'queued' AND run_at <= $1 ORDER BY run_at LIMIT $3";
    const LEASE_ENDED: &str = "SELECT id, run_at FROM jobs WHERE status IN ('queued', 'running') \
                               AND status = 'running' AND locked_until < $1 ORDER BY run_at LIMIT $3";
    let due = match c.backend() {
        Backend::Postgres => format!(
            "SELECT id FROM jobs \
             WHERE id = ANY(ARRAY(SELECT id FROM ({QUEUED}) q) || ARRAY(SELECT id FROM ({LEASE_ENDED}) l)) \
             AND status IN ('queued', 'running') \
             AND ((status = 'queued' AND run_at <= $1) OR (status = 'running' AND locked_until < $1)) \
             ORDER BY run_at LIMIT $3 FOR UPDATE SKIP LOCKED"
        ),
        Backend::Sqlite => format!(
            "SELECT id FROM (SELECT * FROM ({QUEUED}) UNION ALL SELECT * FROM ({LEASE_ENDED})) \
             ORDER BY run_at LIMIT $3"
        ),
    };
    let sql = format!(
        "UPDATE jobs SET status = 'running', locked_until = $2, attempts = attempts + 1 WHERE id IN ({due}) \
         RETURNING id, kind, payload, attempts, max_attempts, request_id"
    );
    let rows = c.all(&sql, args![now, lease_until, limit]).await?;
    rows.iter().map(job).collect()
}

/// Claims one job by id if it is waiting (the inline fast path); `None` if a worker has it or it is done.
pub async fn claim_one(c: &mut Conn<'_>, id: JobId, lease_until: i64) -> Result<Option<Job>, StoreError> {
    let row = c
        .opt(
            "UPDATE jobs SET status = 'running', locked_until = $2, attempts = attempts + 1 \
             WHERE id = $1 AND status = 'queued' RETURNING id, kind, payload, attempts, max_attempts, request_id",
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

/// Moves this attempt's lease on to `lease_until` while its work runs; `false` if it no longer holds the job.
pub async fn renew(c: &mut Conn<'_>, j: &Job, lease_until: i64) -> Result<bool, StoreError> {
    let n = c
        .exec(
            "UPDATE jobs SET locked_until = $3 WHERE id = $1 AND attempts = $2 AND status = 'running'",
            args![j.id.to_string(), j.attempt, lease_until],
        )
        .await?;
    Ok(n == 1)
}

/// Marks the job done; `false` if this attempt no longer holds it (its lease expired and it was re-claimed).
pub async fn complete(c: &mut Conn<'_>, j: &Job, now: i64) -> Result<bool, StoreError> {
    Ok(c.exec(COMPLETE, args![j.id.to_string(), j.attempt, now]).await? == 1)
}

const COMPLETE: &str = "UPDATE jobs SET status = 'done', finished_at = $3, locked_until = NULL \
    WHERE id = $1 AND attempts = $2 AND status = 'running'";

/// The writes that mark `held` done: on PostgreSQL one statement. Only for jobs this transaction has locked
/// and found running under their attempt (see `order_jobs`), so the statement checks the attempt alone: a
/// test of `status` there led PostgreSQL to walk `jobs_due` over every running job, live or dead, instead of
/// reaching each row by its key.
pub fn complete_writes(backend: Backend, held: &[Job], now: i64) -> Vec<Write<'static>> {
    if held.is_empty() {
        return Vec::new();
    }
    match backend {
        Backend::Postgres => {
            let (ids, attempts) = held.iter().map(|j| (j.id.to_string(), j.attempt)).unzip();
            vec![Write::Sql {
                sql: "UPDATE jobs SET status = 'done', finished_at = $3, locked_until = NULL \
                      FROM UNNEST($1::text[], $2::bigint[]) AS h(id, attempts) \
                      WHERE jobs.id = ANY($1::text[]) AND jobs.id = h.id AND jobs.attempts = h.attempts",
                args: vec![Arg::Texts(ids), Arg::Ints(attempts), Arg::Int(now)],
            }]
        }
        Backend::Sqlite => {
            held.iter().map(|j| Write::Sql { sql: COMPLETE, args: args![j.id.to_string(), j.attempt, now] }).collect()
        }
    }
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

/// The job and its status (`queued`, `running`, `done` or `failed`).
pub async fn get(c: &mut Conn<'_>, id: JobId) -> Result<Option<(Job, String)>, StoreError> {
    let row = c
        .opt(
            "SELECT id, kind, payload, attempts, max_attempts, request_id, status FROM jobs WHERE id = $1",
            args![id.to_string()],
        )
        .await?;
    row.map(|r| Ok((job(&r)?, r.text("status")?))).transpose()
}

/// Puts a job that failed for good back in the queue, due now, with as many attempts again as it had (support
/// retries it once the cause is fixed). Its attempts are counted on, not reset: a handler past its first attempt
/// looks up what an earlier one may have done at the gateway before it calls again. False if it is not failed.
pub async fn run_again(c: &mut Conn<'_>, id: JobId, now: i64) -> Result<bool, StoreError> {
    let n = c
        .exec(
            "UPDATE jobs SET status = 'queued', run_at = $2, max_attempts = attempts + max_attempts, \
             locked_until = NULL, finished_at = NULL WHERE id = $1 AND status = 'failed'",
            args![id.to_string(), now],
        )
        .await?;
    Ok(n == 1)
}
