//! Give money back: a received return's refund, to the card and to the gift card balance it was paid with.

use super::{finish, finish_idle, parse, JobError, RefundRef};
use crate::services::payments::record_refund;
use crate::state::AppState;
use buynow_payments::{MoveOutcome, Recorded};
use buynow_store::jobs::Job;
use buynow_store::payments;

pub async fn run(state: &AppState, job: &Job) -> Result<(), JobError> {
    let RefundRef { refund_id } = parse(job)?;
    let (refund, payment) = {
        let mut read = state.store.read().await?;
        let mut c = read.conn();
        let refund =
            payments::get_refund(&mut c, &refund_id).await?.ok_or_else(|| JobError::Fatal("no such refund".into()))?;
        let payment =
            payments::get(&mut c, refund.payment_id).await?.ok_or_else(|| JobError::Fatal("no such payment".into()))?;
        (refund, payment)
    };
    if refund.status == "refunded" {
        return finish_idle(state, job).await;
    }
    let authorization =
        payment.authorization.clone().ok_or_else(|| JobError::Fatal("a refund without an authorization".into()))?;
    let answer = if refund.amount.is_zero() {
        // All of it goes back to the gift card balance: the card is not asked.
        Ok(MoveOutcome::Done { reference: payments::GIFT_CARD_ONLY.to_string() })
    } else {
        match super::settled(state, job, &refund_id).await? {
            Some(Recorded::Movement { outcome, .. }) => Ok(outcome),
            Some(other) => return Err(JobError::Fatal(format!("the gateway holds {other:?} under a refund's key"))),
            None => state.gateway.refund(&authorization, refund.amount, &refund_id).await,
        }
    };
    match answer {
        Ok(MoveOutcome::Done { reference }) => {
            let now = state.now_micros();
            finish(state, job, move |c| {
                Box::pin(async move { Ok(record_refund(c, &refund_id, &reference, now).await?) })
            })
            .await
            .map(drop)
        }
        Ok(MoveOutcome::Refused(r)) => Err(JobError::Fatal(format!("the gateway refused the refund: {}", r.as_str()))),
        Err(e) => Err(JobError::Unknown(e.to_string())),
    }
}
