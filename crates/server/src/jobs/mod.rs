//! Durable background jobs: what happens after a placement commits (authorize, release, capture, void,
//! refund).
//!
//! A job's effects and its completion are written in one transaction; a job that dies half-way runs again
//! when its lease expires, so every handler checks where things stand before it acts, and every gateway call
//! carries an idempotency key.

pub mod authorize;
mod capture;
mod refund;
mod release;
mod void;
mod worker;

pub use worker::{run_claimed, run_claimed_authorization, run_inline, spawn_workers};

use crate::error::ApiError;
use crate::state::AppState;
use buynow_domain::card::{CardNumber, Expiry};
use buynow_domain::{CaptureId, JobId, OrderId, PaymentId};
use buynow_store::customers::SavedCard;
use buynow_store::jobs::{self, Job, NewJob};
use buynow_store::{BoxFuture, Conn, StoreError};
use serde::{Deserialize, Serialize};

pub const AUTHORIZE: &str = "authorize_payment";
pub const VOID: &str = "void_authorization";
pub const RELEASE: &str = "release_order";
pub const CAPTURE: &str = "capture_payment";
pub const REFUND: &str = "refund_payment";
/// Every kind of job there is.
pub const KINDS: [&str; 5] = [AUTHORIZE, VOID, RELEASE, CAPTURE, REFUND];

#[derive(Serialize, Deserialize)]
struct PaymentRef {
    payment_id: PaymentId,
}

/// An authorization's job: with `gift_card`, the customer's gift card balance pays first (split tender).
#[derive(Serialize, Deserialize)]
struct AuthorizeRef {
    payment_id: PaymentId,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    gift_card: bool,
}

#[derive(Serialize, Deserialize)]
struct OrderRef {
    order_id: OrderId,
}

#[derive(Serialize, Deserialize)]
struct CaptureRef {
    capture_id: CaptureId,
}

#[derive(Serialize, Deserialize)]
struct RefundRef {
    refund_id: String,
}

fn payload<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("job payloads serialize")
}

/// Authorize a payment now; with `gift_card`, spend the gift card balance first and authorize the rest.
pub fn authorize(payment_id: PaymentId, gift_card: bool, now: i64) -> NewJob {
    NewJob {
        kind: AUTHORIZE,
        payload: payload(&AuthorizeRef { payment_id, gift_card }),
        dedup_key: Some(format!("{AUTHORIZE}:{payment_id}")),
        run_at: now,
        // With the default backoff (1 s, doubling) the last try is about two minutes after the first.
        max_attempts: 8,
        request_id: crate::error::current_request_id(),
    }
}

/// Ask for an authorization's answer again, once the customer is back from authenticating with their bank (a
/// job each time they come back; the payment's state keeps it to one at a time).
pub fn authorize_again(payment_id: PaymentId, now: i64) -> NewJob {
    NewJob {
        dedup_key: Some(format!("{AUTHORIZE}:{payment_id}:authenticated:{now}")),
        ..authorize(payment_id, false, now)
    }
}

/// Release a payment's authorization hold.
pub fn void(payment_id: PaymentId, now: i64) -> NewJob {
    NewJob {
        kind: VOID,
        payload: payload(&PaymentRef { payment_id }),
        dedup_key: Some(format!("{VOID}:{payment_id}")),
        run_at: now,
        max_attempts: 10,
        request_id: crate::error::current_request_id(),
    }
}

/// Send the order to the warehouse when its hold window ends.
pub fn release(order_id: OrderId, at: i64) -> NewJob {
    NewJob {
        kind: RELEASE,
        payload: payload(&OrderRef { order_id }),
        dedup_key: Some(format!("{RELEASE}:{order_id}")),
        run_at: at,
        max_attempts: 10,
        request_id: crate::error::current_request_id(),
    }
}

/// Take a shipment's share of its order's payment.
pub fn capture(capture_id: CaptureId, now: i64) -> NewJob {
    NewJob {
        kind: CAPTURE,
        payload: payload(&CaptureRef { capture_id }),
        dedup_key: Some(format!("{CAPTURE}:{capture_id}")),
        run_at: now,
        max_attempts: 12,
        request_id: crate::error::current_request_id(),
    }
}

/// Give money back to the card.
pub fn refund(refund_id: &str, now: i64) -> NewJob {
    NewJob {
        kind: REFUND,
        payload: payload(&RefundRef { refund_id: refund_id.to_string() }),
        dedup_key: Some(format!("{REFUND}:{refund_id}")),
        run_at: now,
        max_attempts: 12,
        request_id: crate::error::current_request_id(),
    }
}

/// Enqueues in the caller's transaction. A job whose dedup key exists already is not added twice; its id
/// is then `None` (there is nothing new to run inline).
pub async fn enqueue(c: &mut Conn<'_>, job: NewJob) -> Result<Option<JobId>, ApiError> {
    Ok(jobs::enqueue(c, &job, buynow_store::now_micros()).await?)
}

/// Runs a job that failed for good once more (support, once its cause is fixed).
pub async fn retry(c: &mut Conn<'_>, id: JobId, now: i64) -> Result<(), ApiError> {
    if !jobs::run_again(c, id, now).await? {
        return Err(ApiError::Conflict("action_not_applicable", "the job has not failed for good".into()));
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Did not finish; try again later, until the job's attempts run out (the database was busy, the processor
    /// could not process the card). A gateway call without an answer is `Unknown` instead.
    #[error("{0}")]
    Retry(String),
    /// Cannot ever succeed (a payload that does not parse).
    #[error("{0}")]
    Fatal(String),
    /// Another worker holds the job now: this attempt's work is void.
    #[error("the job's lease was lost")]
    LostLease,
    /// Not due yet: run again at this time (µs), without counting it a failure.
    #[error("not due until {0}")]
    NotYet(i64),
    /// A gateway call got no answer (or could not be looked up): money may have moved. Tried again after the
    /// backoff and never given up for this, however many attempts it takes, so an order never ends on a guess.
    #[error("the gateway's outcome is unknown: {0}")]
    Unknown(String),
}

impl From<StoreError> for JobError {
    fn from(e: StoreError) -> Self {
        JobError::Retry(e.to_string())
    }
}

impl From<ApiError> for JobError {
    fn from(e: ApiError) -> Self {
        match e {
            // What it acts on is not there: running it again will not make it so.
            ApiError::NotFound(what) => JobError::Fatal(format!("{what} not found")),
            other => JobError::Retry(other.to_string()),
        }
    }
}

/// The card's number, out of the vault, and its expiry: what the gateway is sent. A card that does not open
/// never will (a key gone, a tampered row): that is for good.
fn open_card(state: &AppState, card: &SavedCard) -> Result<(CardNumber, Expiry), JobError> {
    let number = state
        .vault
        .open(&card.id.to_string(), &buynow_payments::Envelope::from(card))
        .map_err(|e| JobError::Fatal(e.to_string()))
        .and_then(|n| CardNumber::parse(&n).map_err(|_| JobError::Fatal("the vault holds a bad card number".into())))?;
    let expiry = Expiry::parse(i64::from(card.exp_month), i64::from(card.exp_year))
        .map_err(|e| JobError::Fatal(e.to_string()))?;
    Ok((number, expiry))
}

/// What the processor recorded for `key` when an earlier attempt of this job may have reached it (a timeout,
/// an answer lost on the way): a call whose outcome is unknown is settled by a look-up, never by a blind retry.
/// `None` on a first attempt, or when the processor has no record (the call never arrived: try it).
async fn settled(state: &AppState, job: &Job, key: &str) -> Result<Option<buynow_payments::Recorded>, JobError> {
    if job.attempt <= 1 {
        return Ok(None);
    }
    state.gateway.lookup(key).await.map_err(|e| JobError::Unknown(format!("looking up {key} at the gateway: {e}")))
}

fn parse<T: for<'de> Deserialize<'de>>(job: &Job) -> Result<T, JobError> {
    serde_json::from_str(&job.payload).map_err(|e| JobError::Fatal(format!("bad payload: {e}")))
}

/// Runs `effects` and marks the job done, together, as one write of a group commit; answers what `effects`
/// returned once that is committed. If this attempt no longer holds the job (its lease ran out and another
/// worker took it), none of it is kept and the answer is `None`.
async fn finish<F, T>(state: &AppState, job: &Job, effects: F) -> Result<Option<T>, JobError>
where
    F: for<'a, 'c> FnOnce(&'a mut Conn<'c>) -> BoxFuture<'a, Result<T, JobError>> + Send + 'static,
    T: Send + 'static,
{
    let held = job.clone();
    let result = state
        .store
        .write_batched(move |c| {
            Box::pin(async move {
                // Checked first, so a lost lease is refused before anything is written (see the batch writer).
                if !jobs::holds(c, &held).await? {
                    return Err(JobError::LostLease);
                }
                let value = effects(c).await?;
                if jobs::complete(c, &held, buynow_store::now_micros()).await? {
                    Ok(value)
                } else {
                    Err(JobError::LostLease)
                }
            })
        })
        .await;
    match result {
        Err(JobError::LostLease) => {
            tracing::warn!(job = %job.id, attempt = job.attempt, "lost the job's lease; its effects are rolled back");
            Ok(None)
        }
        other => other.map(Some),
    }
}

/// `finish` for a job with nothing (more) to do.
async fn finish_idle(state: &AppState, job: &Job) -> Result<(), JobError> {
    finish(state, job, |_| Box::pin(async { Ok(()) })).await.map(drop)
}
