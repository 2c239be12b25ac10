//! The hold window is over: send the order's shipments to their centers (see `services::fulfillment`).

use super::{finish, parse, JobError, OrderRef};
use crate::services::fulfillment::{self, Released};
use crate::state::AppState;
use buynow_store::jobs::Job;

pub async fn run(state: &AppState, job: &Job) -> Result<(), JobError> {
    let OrderRef { order_id } = parse(job)?;
    let now = state.now_micros();
    let released = finish(state, job, move |c| {
        Box::pin(async move {
            match fulfillment::release(c, order_id, now).await? {
                // Checked before anything is written, so nothing of this attempt is kept.
                Released::NotYet(until) => Err(JobError::NotYet(until)),
                other => Ok(other),
            }
        })
    })
    .await?;
    if let Some(Released::Done(orders)) = released {
        tracing::info!(order = %order_id, released = orders.len(), "released to the warehouse");
    }
    Ok(())
}
