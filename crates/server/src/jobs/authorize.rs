//! Authorize a payment with the gateway and move the order on: authorized, or declined (the customer is asked
//! to revise payment; a second decline cancels the order).

use super::{finish, finish_idle, parse, JobError, PaymentRef};
use crate::orders::lifecycle;
use crate::state::AppState;
use buynow_domain::card::{CardNumber, Expiry};
use buynow_domain::{OrderEvent, OrderStatus};
use buynow_payments::{AuthorizeOutcome, AuthorizeRequest, DeclineCode, GatewayError};
use buynow_store::customers::SavedCard;
use buynow_store::jobs::Job;
use buynow_store::orders::{Order, TimelineEntry};
use buynow_store::payments::{self, Payment, PaymentStatus};
use buynow_store::{customers, now_micros, orders, outbox, Conn};
use tokio::sync::oneshot;

/// What the writer of a fresh authorization job already holds, so the inline run need not read it back, and
/// where to tell what the answer changed, so the placement's response need not read that back either.
pub struct Known {
    pub payment: Payment,
    pub card: SavedCard,
    pub tell: oneshot::Sender<Recorded>,
}

/// An answer recorded on a placed order: its new state, the payment as it now stands, the timeline entry.
pub struct Recorded {
    pub order: Order,
    pub payment: Payment,
    pub entry: TimelineEntry,
}

pub async fn run(state: &AppState, job: &Job, known: Option<Known>) -> Result<(), JobError> {
    let (payment, card, tell) = match known {
        // Written in the transaction that just committed: pending, on a placed order.
        Some(Known { payment, card, tell }) => (payment, card, Some(tell)),
        None => {
            let PaymentRef { payment_id } = parse(job)?;
            let mut read = state.store.read().await?;
            let mut c = read.conn();
            let payment =
                payments::get(&mut c, payment_id).await?.ok_or_else(|| JobError::Fatal("no such payment".into()))?;
            let order =
                orders::get(&mut c, payment.order_id).await?.ok_or_else(|| JobError::Fatal("no such order".into()))?;
            let card = customers::card(&mut c, order.customer_id, payment.payment_method_id)
                .await?
                .ok_or_else(|| JobError::Fatal("the payment's card is gone".into()))?;
            if payment.status != PaymentStatus::Pending || order.status != OrderStatus::Placed {
                // Answered already (this is a re-run), or the order moved on without it (cancelled).
                drop(read);
                return finish_idle(state, job).await;
            }
            (payment, card, None)
        }
    };
    let number = state
        .vault
        .open(&card.key_id, &card.id.to_string(), &card.sealed)
        .map_err(|e| JobError::Fatal(e.to_string()))
        .and_then(|n| CardNumber::parse(&n).map_err(|_| JobError::Fatal("the vault holds a bad card number".into())))?;
    let expiry = Expiry::parse(i64::from(card.exp_month), i64::from(card.exp_year))
        .map_err(|e| JobError::Fatal(e.to_string()))?;
    let idempotency_key = payment.id.to_string();
    let request = AuthorizeRequest { idempotency_key: &idempotency_key, amount: payment.amount, card: &number, expiry };
    let outcome = match state.gateway.authorize(request).await {
        Ok(outcome) => outcome,
        // Out of retries: rather than leave the order waiting unseen, ask the customer (invariant 5).
        Err(e) if job.attempt >= job.max_attempts => {
            tracing::warn!(payment = %payment.id, error = %e, "authorization kept failing; asking the customer");
            AuthorizeOutcome::Declined { code: DeclineCode::ProcessingError }
        }
        Err(e @ (GatewayError::Processing | GatewayError::Timeout | GatewayError::Unavailable(_))) => {
            return Err(JobError::Retry(e.to_string()))
        }
    };

    let card_label = format!("{} ending {}", card.brand.as_str(), card.last4);
    let recorded = finish(state, job, move |c| Box::pin(record(c, payment, card_label, outcome))).await?;
    if let (Some(Some(recorded)), Some(tell)) = (recorded, tell) {
        let _ = tell.send(recorded);
    }
    Ok(())
}

/// The answer's effects, in the transaction that completes the job.
async fn record(
    c: &mut Conn<'_>,
    payment: Payment,
    card_label: String,
    outcome: AuthorizeOutcome,
) -> Result<Option<Recorded>, JobError> {
    let now = now_micros();
    // Read again inside the transaction (the customer may have cancelled while the gateway was answering), and
    // lock the order before the payment, in the order every other writer uses.
    let order = orders::lock(c, payment.order_id).await?.ok_or_else(|| JobError::Fatal("no such order".into()))?;
    let (order_id, payment_id) = (order.id, payment.id);
    let mut recorded = None;
    match outcome {
        AuthorizeOutcome::Approved { authorization } => {
            let from = PaymentStatus::Pending;
            if !payments::set_status(c, payment.id, from, PaymentStatus::Authorized, Some(&authorization), None, now)
                .await?
            {
                return Ok(None);
            }
            if order.status == OrderStatus::Placed {
                let note = format!("Payment of {} authorized on {card_label}", payment.amount);
                let to = lifecycle::apply(c, &order, OrderEvent::PaymentAuthorized, &note, now).await?;
                let event = serde_json::json!({ "order_id": order.id, "amount": payment.amount });
                outbox::add(c, order.id, order.customer_id, "order_confirmed", &event.to_string(), now).await?;
                super::enqueue(c, super::release(order.id, order.hold_until.max(now))).await?;
                let payment =
                    Payment { status: PaymentStatus::Authorized, authorization: Some(authorization), ..payment };
                recorded = Some(Recorded::new(order, to, payment, note, now));
            } else {
                // Cancelled while we were asking: give the hold straight back.
                super::enqueue(c, super::void(payment.id, now)).await?;
            }
        }
        AuthorizeOutcome::Declined { code } => {
            let from = PaymentStatus::Pending;
            if !payments::set_status(c, payment.id, from, PaymentStatus::Declined, None, Some(code.as_str()), now)
                .await?
            {
                return Ok(None);
            }
            if order.status == OrderStatus::Placed {
                let declines = orders::count_decline(c, order.id).await?;
                if declines >= 2 {
                    let reason = format!("Cancelled: the payment was declined again ({})", code.as_str());
                    lifecycle::cancel(c, &order, &reason, now).await?;
                } else {
                    let note = format!(
                        "Payment declined ({}): waiting for the customer to choose a payment method",
                        code.as_str()
                    );
                    let to = lifecycle::apply(c, &order, OrderEvent::PaymentDeclined, &note, now).await?;
                    let event = serde_json::json!({ "order_id": order.id, "decline_code": code.as_str() });
                    outbox::add(c, order.id, order.customer_id, "payment_action_required", &event.to_string(), now)
                        .await?;
                    let payment = Payment {
                        status: PaymentStatus::Declined,
                        decline_code: Some(code.as_str().to_string()),
                        ..payment
                    };
                    let order = Order { declines, ..order };
                    recorded = Some(Recorded::new(order, to, payment, note, now));
                }
            }
        }
    }
    tracing::info!(order = %order_id, payment = %payment_id, "authorization answered");
    Ok(recorded)
}

impl Recorded {
    fn new(order: Order, to: OrderStatus, payment: Payment, note: String, now: i64) -> Recorded {
        let entry = TimelineEntry { at: now, status: to.as_str().to_string(), note };
        Recorded { order: Order { status: to, updated_at: now, ..order }, payment, entry }
    }
}
