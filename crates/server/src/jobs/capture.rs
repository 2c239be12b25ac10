//! Take a shipment's share of its order's payment (written when the shipment shipped). A hold older than the
//! 7 days a hold lives is authorized again, for what is left of it, before the capture.

use super::{finish, finish_idle, parse, CaptureRef, JobError};
use crate::services::payments::record_capture;
use crate::state::AppState;
use buynow_domain::EventKind;
use buynow_payments::gateway::HOLD_LIFETIME_DAYS;
use buynow_payments::{AuthorizeOutcome, AuthorizeRequest, GatewayError, MoveOutcome, Recorded, Refusal};
use buynow_store::customers;
use buynow_store::jobs::Job;
use buynow_store::orders::{self, TimelineEntry};
use buynow_store::payments::{self, Payment};

const DAY_MICROS: i64 = 86_400_000_000;

pub async fn run(state: &AppState, job: &Job) -> Result<(), JobError> {
    let CaptureRef { capture_id } = parse(job)?;
    let (cap, payment) = {
        let mut read = state.store.read().await?;
        let mut c = read.conn();
        let cap = payments::get_capture(&mut c, capture_id)
            .await?
            .ok_or_else(|| JobError::Fatal("no such capture".into()))?;
        let payment =
            payments::get(&mut c, cap.payment_id).await?.ok_or_else(|| JobError::Fatal("no such payment".into()))?;
        (cap, payment)
    };
    if cap.status == "captured" {
        return finish_idle(state, job).await;
    }
    let now = state.now_micros();
    if cap.amount.is_zero() {
        // The gift card balance paid for these items: there is nothing to take from the card.
        return finish(state, job, move |c| {
            Box::pin(async move { Ok(record_capture(c, capture_id, payments::GIFT_CARD_ONLY, now).await?) })
        })
        .await
        .map(drop);
    }
    let mut authorization =
        payment.authorization.clone().ok_or_else(|| JobError::Fatal("a capture without an authorization".into()))?;
    if payment.authorized_at.is_some_and(|at| now - at > HOLD_LIFETIME_DAYS * DAY_MICROS) {
        authorization = reauthorize(state, &payment, now).await?;
    }
    // One key per capture and hold: a capture refused on a lapsed hold is tried afresh on the new one.
    let key = format!("{capture_id}:{authorization}");
    let answer = match super::settled(state, job, &key).await? {
        Some(Recorded::Movement { outcome, .. }) => Ok(outcome),
        Some(other) => return Err(JobError::Fatal(format!("the gateway holds {other:?} under a capture's key"))),
        None => state.gateway.capture(&authorization, cap.amount, &key).await,
    };
    match answer {
        Ok(MoveOutcome::Done { reference }) => {
            finish(state, job, move |c| {
                Box::pin(async move { Ok(record_capture(c, capture_id, &reference, now).await?) })
            })
            .await?;
            tracing::info!(capture = %capture_id, amount = %cap.amount, "captured");
            Ok(())
        }
        Ok(MoveOutcome::Refused(Refusal::HoldExpired)) => {
            reauthorize(state, &payment, now).await?;
            Err(JobError::Retry("the hold had lapsed; authorized again".into()))
        }
        Ok(MoveOutcome::Refused(r)) => Err(JobError::Fatal(format!("the gateway refused the capture: {}", r.as_str()))),
        Err(e) => Err(JobError::Unknown(e.to_string())),
    }
}

/// A new hold for what is left to capture, recorded on the payment; returns its reference.
async fn reauthorize(state: &AppState, payment: &Payment, now: i64) -> Result<String, JobError> {
    let (order, card) = {
        let mut read = state.store.read().await?;
        let mut c = read.conn();
        let order =
            orders::get(&mut c, payment.order_id).await?.ok_or_else(|| JobError::Fatal("no such order".into()))?;
        let card = customers::card(&mut c, order.customer_id, payment.payment_method_id)
            .await?
            .ok_or_else(|| JobError::Fatal("the payment's card is gone".into()))?;
        (order, card)
    };
    let (number, expiry) = super::open_card(state, &card)?;
    let left = payment.amount.checked_sub(payment.captured).map_err(|e| JobError::Fatal(e.to_string()))?;
    let key = format!("{}:reauth:{}", payment.id, payment.authorized_at.unwrap_or(0));
    let request = AuthorizeRequest { idempotency_key: &key, amount: left, card: &number, expiry };
    let answer = state.gateway.authorize(request).await.map_err(|e| match e {
        GatewayError::Processing => JobError::Retry(e.to_string()),
        GatewayError::Timeout | GatewayError::Unavailable(_) => JobError::Unknown(e.to_string()),
    })?;
    let authorization = match answer {
        AuthorizeOutcome::Approved { authorization } => authorization,
        AuthorizeOutcome::Declined { code } => {
            return Err(JobError::Fatal(format!(
                "the card was declined when the lapsed hold was renewed: {}",
                code.as_str()
            )))
        }
        AuthorizeOutcome::AuthenticationRequired { .. } => {
            return Err(JobError::Fatal(
                "the card's bank asked the customer to authenticate when the lapsed hold was renewed".into(),
            ))
        }
    };
    let (payment_id, reference) = (payment.id, authorization.clone());
    let order_id = order.id;
    let note = format!("The card hold lapsed after {HOLD_LIFETIME_DAYS} days; {left} authorized again");
    state
        .store
        .write_batched(move |c| {
            Box::pin(async move {
                payments::set_authorization(c, payment_id, &reference, now).await?;
                let order = orders::get(c, order_id).await?.ok_or(buynow_store::StoreError::NotFound)?;
                let entry = TimelineEntry::new(now, order.status, EventKind::PaymentReauthorized, note);
                orders::add_timeline(c, order_id, &entry).await?;
                Ok::<_, JobError>(())
            })
        })
        .await?;
    Ok(authorization)
}
