//! Release an authorization hold (the order was cancelled).

use super::{finish, finish_idle, parse, JobError, PaymentRef};
use crate::state::AppState;
use buynow_store::jobs::Job;
use buynow_store::payments::{self, PaymentStatus};
use buynow_store::{now_micros, orders};

pub async fn run(state: &AppState, job: &Job) -> Result<(), JobError> {
    let PaymentRef { payment_id } = parse(job)?;
    let payment = payments::get(&mut state.store.read().await?.conn(), payment_id)
        .await?
        .ok_or_else(|| JobError::Fatal("no such payment".into()))?;
    if payment.status != PaymentStatus::Authorized {
        return finish_idle(state, job).await;
    }
    let authorization =
        payment.authorization.clone().ok_or_else(|| JobError::Fatal("authorized without a reference".into()))?;
    let key = format!("void:{payment_id}");
    state.gateway.void(&authorization, &key).await.map_err(|e| JobError::Retry(e.to_string()))?;
    finish(state, job, move |c| {
        Box::pin(async move {
            let now = now_micros();
            if payments::set_status(c, payment_id, PaymentStatus::Authorized, PaymentStatus::Voided, None, None, now)
                .await?
            {
                if let Some(order) = orders::get(c, payment.order_id).await? {
                    let note = format!("Authorization of {} released", payment.amount);
                    orders::add_timeline(c, order.id, now, order.status, &note).await?;
                }
            }
            Ok(())
        })
    })
    .await
    .map(drop)
}
