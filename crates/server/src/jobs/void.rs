//! Release what is left of an authorization hold (the order, or its rest, was cancelled).

use super::{finish, finish_idle, parse, JobError, PaymentRef};
use crate::services::payments::record_void;
use crate::state::AppState;
use buynow_store::jobs::Job;
use buynow_store::payments;

pub async fn run(state: &AppState, job: &Job) -> Result<(), JobError> {
    let PaymentRef { payment_id } = parse(job)?;
    let payment = payments::get(&mut state.store.read().await?.conn(), payment_id)
        .await?
        .ok_or_else(|| JobError::Fatal("no such payment".into()))?;
    // A hold, or the late hold of a payment a cancel dropped while its authorization was on its way.
    let late = payment.status == buynow_domain::PaymentStatus::Cancelled && payment.authorization.is_some();
    if !payment.status.holds_funds() && !late {
        return finish_idle(state, job).await;
    }
    let authorization =
        payment.authorization.clone().ok_or_else(|| JobError::Fatal("authorized without a reference".into()))?;
    let key = format!("void:{payment_id}:{authorization}");
    // A payment the gift card balance paid for whole holds nothing at the processor to release.
    if authorization != payments::GIFT_CARD_ONLY && super::settled(state, job, &key).await?.is_none() {
        state.gateway.void(&authorization, &key).await.map_err(|e| JobError::Unknown(e.to_string()))?;
    }
    let now = state.now_micros();
    finish(state, job, move |c| Box::pin(async move { Ok(record_void(c, payment_id, now).await?) })).await.map(drop)
}
