//! Running jobs: the worker loop, and the inline fast path right after a placement.

use super::{authorize, capture, refund, release, void, JobError, AUTHORIZE, CAPTURE, REFUND, RELEASE, VOID};
use crate::state::AppState;
use buynow_domain::JobId;
use buynow_store::jobs::{self, Job};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

const BATCH: u32 = 16;

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// Runs one job, and records a failure as a retry with exponential backoff (or as failed for good).
pub async fn execute(state: AppState, job: Job) {
    execute_with(state, job, None).await
}

/// Runs a job inside its own span, which names the request that made it: its log lines, and the jobs it makes,
/// carry that request's id.
async fn execute_with(state: AppState, job: Job, known: Option<authorize::Known>) {
    use tracing::Instrument;
    let request_id: std::sync::Arc<str> = job.request_id.as_deref().unwrap_or("").into();
    let span = tracing::info_span!(
        "job",
        id = %job.id,
        kind = %job.kind,
        attempt = job.attempt,
        request_id = job.request_id.as_deref().unwrap_or("-"),
    );
    let renewing = keep_lease(state.clone(), job.clone());
    let work = crate::error::REQUEST_ID.scope(request_id, run(state, job, known)).instrument(span);
    tokio::pin!(work);
    tokio::select! {
        () = &mut work => {}
        () = renewing => work.await,
    }
}

/// Renews the job's lease every third of it for as long as its work runs, so that leases can be short: should
/// this process die, another takes the job over within one lease, not after the longest a job may take. Ends
/// (and the work goes on without it) once the lease is lost or cannot be renewed.
async fn keep_lease(state: AppState, job: Job) {
    let lease = state.config.job_lease;
    loop {
        tokio::time::sleep(lease / 3).await;
        let renewed = async {
            let mut tx = state.store.write().await?;
            let held = jobs::renew(&mut tx.conn(), &job, state.now_micros() + micros(lease)).await?;
            tx.commit().await?;
            Ok::<_, buynow_store::StoreError>(held)
        }
        .await;
        match renewed {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                tracing::warn!(job = %job.id, error = %e, "could not renew the job's lease");
                return;
            }
        }
    }
}

async fn run(state: AppState, job: Job, known: Option<authorize::Known>) {
    let started = std::time::Instant::now();
    let result = match job.kind.as_str() {
        AUTHORIZE => authorize::run(&state, &job, known).await,
        VOID => void::run(&state, &job).await,
        RELEASE => release::run(&state, &job).await,
        CAPTURE => capture::run(&state, &job).await,
        REFUND => refund::run(&state, &job).await,
        other => Err(JobError::Fatal(format!("unknown job kind {other}"))),
    };
    let error = match result {
        Ok(()) => {
            tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "job done");
            return;
        }
        Err(JobError::LostLease) => {
            tracing::info!("job taken over by another worker after its lease ran out");
            return;
        }
        Err(error) => error,
    };
    let now = state.now_micros();
    let exponent = u32::try_from(job.attempt.clamp(1, 16) - 1).unwrap_or(0);
    let backoff = state.config.job_backoff.saturating_mul(2u32.saturating_pow(exponent)).min(Duration::from_secs(600));
    // Jitter: the jobs a gateway outage failed together do not all come back at the same instant.
    let backoff = backoff.mul_f64(rand::Rng::gen_range(&mut rand::thread_rng(), 0.5..=1.0));
    let (run_at, give_up) = match error {
        JobError::NotYet(at) => (at, false),
        JobError::Unknown(_) => (now + micros(backoff), false),
        JobError::Fatal(_) => (now, true),
        _ => (now + micros(backoff), job.attempt >= job.max_attempts),
    };
    let outcome = async {
        let mut tx = state.store.write().await?;
        jobs::retry_or_fail(&mut tx.conn(), &job, give_up, run_at, &error.to_string(), now).await?;
        if give_up {
            // Invariant 5: what cannot finish by itself waits on a person, the customer told, never unseen.
            crate::services::support::job_failed(&mut tx.conn(), &job, &error.to_string(), now).await?;
        }
        tx.commit().await.map_err(crate::error::ApiError::from)
    }
    .await
    .map(|()| give_up);
    match outcome {
        Ok(true) => tracing::error!(%error, "job failed for good"),
        Ok(false) => tracing::warn!(%error, "job will be retried"),
        // The lease will expire and the job will be claimed again.
        Err(e) => tracing::error!(%error, store_error = %e, "could not record a job failure"),
    }
}

/// Runs `job` now if no worker has it yet (else waits for the worker's run), for at most the configured
/// budget. Past the budget the job goes on in the background, and the answer simply says `placed`. A zero
/// budget leaves every job to the workers.
pub async fn run_inline(state: &AppState, job: Option<JobId>) {
    let budget = state.config.inline_authorization_budget;
    let Some(id) = job.filter(|_| !budget.is_zero()) else { return };
    let claimed = async {
        let mut tx = state.store.write().await?;
        let job = jobs::claim_one(&mut tx.conn(), id, state.now_micros() + micros(state.config.job_lease)).await?;
        tx.commit().await?;
        Ok::<_, buynow_store::StoreError>(job)
    }
    .await;
    match claimed {
        Ok(Some(job)) => run_claimed(state, job).await,
        Ok(None) => {
            let _ = tokio::time::timeout(budget, wait_until_finished(state, id)).await;
        }
        Err(e) => tracing::warn!(job = %id, error = %e, "inline run skipped; a worker will run the job"),
    }
}

/// Runs a job this process claimed when it wrote it, waiting at most the inline budget for it to finish.
pub async fn run_claimed(state: &AppState, job: Job) {
    wait_inline(state, tokio::spawn(execute(state.clone(), job))).await
}

/// `run_claimed` for the authorization job just written with its placement, from what the placement knows.
pub async fn run_claimed_authorization(state: &AppState, job: Job, known: authorize::Known) {
    wait_inline(state, tokio::spawn(execute_with(state.clone(), job, Some(known)))).await
}

async fn wait_inline(state: &AppState, task: tokio::task::JoinHandle<()>) {
    let _ = tokio::time::timeout(state.config.inline_authorization_budget, task).await;
}

/// A worker got there first: wait for its run rather than answer with a state about to change.
async fn wait_until_finished(state: &AppState, id: JobId) {
    loop {
        let status = match state.store.read().await {
            Ok(mut read) => jobs::status(&mut read.conn(), id).await.ok().flatten(),
            Err(_) => None,
        };
        if !matches!(status.as_deref(), Some("queued" | "running")) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn claim_batch(state: &AppState) -> Result<Vec<Job>, buynow_store::StoreError> {
    let now = state.now_micros();
    let mut tx = state.store.write().await?;
    let jobs = jobs::claim_due(&mut tx.conn(), now, now + micros(state.config.job_lease), BATCH).await?;
    tx.commit().await?;
    Ok(jobs)
}

/// Starts the worker loop; it stops when `shutdown` turns true, after the jobs in hand are done.
pub fn spawn_workers(state: AppState, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let _running = crate::health::Workers::running(&state, crate::health::JOB_WORKER);
        tracing::info!("job worker started");
        loop {
            if *shutdown.borrow() {
                break;
            }
            match claim_batch(&state).await {
                Ok(batch) if !batch.is_empty() => {
                    futures::future::join_all(batch.into_iter().map(|job| execute(state.clone(), job))).await;
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not claim jobs"),
            }
            tokio::select! {
                _ = shutdown.changed() => {}
                _ = tokio::time::sleep(state.config.worker_poll) => {}
            }
        }
        tracing::info!("job worker stopped");
    })
}
