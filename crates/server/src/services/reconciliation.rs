//! Reconciliation: each payment, once settled, is compared with what the card processor recorded under its
//! idempotency key. Drift BuyNow can fix, it fixes: a hold the processor made for a payment we had given up on
//! (declined on a lost answer, or cancelled while its authorization was on its way) is voided, and the
//! customer is told. Drift it cannot fix — a payment we hold as authorized that the processor does not know —
//! opens a support case that holds the order.

use super::support;
use crate::error::ApiError;
use crate::state::AppState;
use buynow_domain::{CaseReason, EventKind, PaymentStatus};
use buynow_payments::{AuthorizeOutcome, Recorded};
use buynow_store::orders::{self, TimelineEntry};
use buynow_store::payments::{self, Payment};
use std::time::Duration;

/// What one pass found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub checked: usize,
    /// Holds the processor kept for payments we had given up on, released.
    pub released: usize,
    /// Payments the processor does not know as we do: their orders held for staff.
    pub flagged: usize,
}

/// A payment is compared once it has not changed for this long (its jobs are done with it).
const SETTLED: Duration = Duration::from_secs(60);
const BATCH: u32 = 200;

/// One pass over the payments settled since the last. Stops early, leaving the rest for the next pass, when
/// the processor cannot be reached.
pub async fn run(state: &AppState) -> Result<Report, ApiError> {
    let now = state.now_micros();
    let settled_before = now - i64::try_from(SETTLED.as_micros()).unwrap_or(0);
    let due = payments::to_reconcile(&mut state.store.read().await?.conn(), settled_before, BATCH).await?;
    let mut report = Report::default();
    let mut consistent = Vec::new();
    for payment in due {
        if payment.authorization.as_deref() == Some(payments::GIFT_CARD_ONLY) {
            // Paid whole by the gift card balance: the processor was never asked, and rightly knows nothing.
            consistent.push(payment.id);
            continue;
        }
        let recorded = match state.gateway.lookup(&payment.id.to_string()).await {
            Ok(r) => r,
            Err(e) => {
                tracing::info!(error = %e, "reconciliation: the card processor cannot be reached; next pass");
                break;
            }
        };
        let approved = match recorded {
            Some(Recorded::Authorization(AuthorizeOutcome::Approved { authorization })) => Some(authorization),
            _ => None,
        };
        report.checked += 1;
        let ours_holds = !matches!(payment.status, PaymentStatus::Declined | PaymentStatus::Cancelled);
        match (ours_holds, approved) {
            (true, Some(_)) | (false, None) => consistent.push(payment.id),
            (false, Some(authorization)) => {
                let key = format!("reconcile-void:{}", payment.id);
                if let Err(e) = state.gateway.void(&authorization, &key).await {
                    tracing::info!(payment = %payment.id, error = %e, "reconciliation: the void did not go through; next pass");
                    continue;
                }
                tracing::warn!(payment = %payment.id, "reconciliation: released a hold the processor kept for a payment we had given up on");
                let note =
                    format!("A hold of {} the card processor had kept on your card was released", payment.amount);
                mark(state, &payment, Some((EventKind::AuthorizationVoided, note))).await?;
                report.released += 1;
            }
            (true, None) => {
                tracing::warn!(payment = %payment.id, "reconciliation: the card processor has no authorization for a payment we hold as authorized");
                flag(state, &payment).await?;
                report.flagged += 1;
            }
        }
    }
    // Those that agree are marked together: one statement for the pass, not one per payment.
    if !consistent.is_empty() {
        let mut tx = state.store.write().await?;
        payments::mark_all_reconciled(&mut tx.conn(), &consistent, now).await?;
        tx.commit().await?;
    }
    Ok(report)
}

/// Marks the payment compared, with what the order's timeline says of it.
async fn mark(state: &AppState, payment: &Payment, told: Option<(EventKind, String)>) -> Result<(), ApiError> {
    let now = state.now_micros();
    let mut tx = state.store.write().await?;
    payments::mark_reconciled(&mut tx.conn(), payment.id, now).await?;
    if let Some((event, note)) = told {
        let order = orders::lock(&mut tx.conn(), payment.order_id).await?.ok_or(ApiError::NotFound("order"))?;
        orders::add_timeline(&mut tx.conn(), order.id, &TimelineEntry::new(now, order.status, event, note)).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Marks the payment compared and opens a support case that holds its order: drift staff must settle.
async fn flag(state: &AppState, payment: &Payment) -> Result<(), ApiError> {
    let now = state.now_micros();
    let mut tx = state.store.write().await?;
    payments::mark_reconciled(&mut tx.conn(), payment.id, now).await?;
    let order = orders::lock(&mut tx.conn(), payment.order_id).await?.ok_or(ApiError::NotFound("order"))?;
    let summary = format!(
        "Reconciliation: the card processor has no authorization for payment {} ({}), which we hold as {}",
        payment.id,
        payment.amount,
        payment.status.as_str()
    );
    let id = payment.id.to_string();
    let trouble = support::Trouble {
        reason: CaseReason::PaymentDrift,
        subject: Some(&id),
        summary: &summary,
        told: "We are checking your payment with the card processor. Our support team is looking into it.",
    };
    support::open(&mut tx.conn(), &order, trouble, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Reconciles once a minute while the workers run.
pub fn spawn(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                _ = tokio::time::sleep(SETTLED) => {}
            }
            if *stop.borrow() {
                return;
            }
            // Pass after pass while there is a full batch, paced, so a busy shop's payments do not pile up.
            loop {
                match run(&state).await {
                    Ok(r) => {
                        if r.released + r.flagged > 0 {
                            tracing::warn!(?r, "reconciliation found drift");
                        }
                        if r.checked < BATCH as usize || *stop.borrow() {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "reconciliation failed; next pass");
                        break;
                    }
                }
            }
        }
    })
}
