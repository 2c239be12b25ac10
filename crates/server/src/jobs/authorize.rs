//! Authorize a payment with the gateway and move the order on: authorized, declined (the customer is asked to
//! revise payment; a second decline cancels the order), or waiting for the customer to authenticate with their
//! bank. With split tender the gift card balance is spent first, and only the rest is asked of the card.

use super::{finish_idle, parse, AuthorizeRef, JobError};
use crate::services::lifecycle;
use crate::state::AppState;
use buynow_domain::{transition, EventKind, OrderEvent, OrderStatus};
use buynow_payments::{AuthorizeOutcome, AuthorizeRequest, DeclineCode, GatewayError, Recorded as GatewayRecord};
use buynow_store::customers::SavedCard;
use buynow_store::jobs::Job;
use buynow_store::order_jobs::{Decide, Decision, Effects, Finished, OrderJob, OrderMove, PaymentMove};
use buynow_store::orders::{Order, TimelineEntry};
use buynow_store::payments::{self, Payment, PaymentStatus};
use buynow_store::{customers, gift_cards, orders};
use tokio::sync::oneshot;

/// What the writer of a fresh authorization job already holds, so the inline run need not read it back, and
/// where to tell what the answer changed, so the placement's response need not read that back either.
pub struct Known {
    pub payment: Payment,
    pub card: SavedCard,
    /// The gift card balance pays first.
    pub gift_card: bool,
    pub tell: oneshot::Sender<Recorded>,
}

/// An answer recorded on a placed order: its new state, the payment as it now stands, the timeline entry (and
/// the one of the gift card balance applied before it, if any).
pub struct Recorded {
    pub order: Order,
    pub payment: Payment,
    pub entry: TimelineEntry,
    pub applied: Option<TimelineEntry>,
}

impl Recorded {
    /// The order's whole timeline, after its placement's `placed` entry.
    pub fn timeline(&self, placed: TimelineEntry) -> Vec<TimelineEntry> {
        std::iter::once(placed).chain(self.applied.clone()).chain([self.entry.clone()]).collect()
    }
}

pub async fn run(state: &AppState, job: &Job, known: Option<Known>) -> Result<(), JobError> {
    let (mut payment, card, gift_card, tell) = match known {
        // Written in the transaction that just committed: pending, on a placed order.
        Some(Known { payment, card, gift_card, tell }) => (payment, card, gift_card, Some(tell)),
        None => {
            let AuthorizeRef { payment_id, gift_card } = parse(job)?;
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
            (payment, card, gift_card, None)
        }
    };
    let mut applied = None;
    if gift_card && payment.gift_amount.is_none() {
        // The split is settled, once, before the card is asked for its part: a retry asks for the same amount.
        match tender(state, &payment).await? {
            Some((tendered, entry)) => (payment, applied) = (tendered, entry),
            None => return finish_idle(state, job).await,
        }
    }
    let answer = if payment.gift_card_only() {
        Ok(AuthorizeOutcome::Approved { authorization: payments::GIFT_CARD_ONLY.to_string() })
    } else {
        let (number, expiry) = super::open_card(state, &card)?;
        let idempotency_key = payment.id.to_string();
        let request =
            AuthorizeRequest { idempotency_key: &idempotency_key, amount: payment.amount, card: &number, expiry };
        match super::settled(state, job, &idempotency_key).await? {
            Some(GatewayRecord::Authorization(outcome)) => Ok(outcome),
            Some(other) => {
                return Err(JobError::Fatal(format!("the gateway holds {other:?} under an authorization's key")))
            }
            None => state.gateway.authorize(request).await,
        }
    };
    let outcome = match answer {
        Ok(outcome) => outcome,
        // The processor kept saying it could not process the card (which moves no money): rather than leave the
        // order waiting unseen, ask the customer (invariant 5).
        Err(GatewayError::Processing) if job.attempt >= job.max_attempts => {
            tracing::warn!(payment = %payment.id, "authorization kept failing; asking the customer");
            AuthorizeOutcome::Declined { code: DeclineCode::ProcessingError }
        }
        Err(e @ GatewayError::Processing) => return Err(JobError::Retry(e.to_string())),
        // No answer: the hold may exist. Never decided by a guess; looked up at the next attempt.
        Err(e @ (GatewayError::Timeout | GatewayError::Unavailable(_))) => {
            return Err(JobError::Unknown(e.to_string()))
        }
    };

    let declined = matches!(outcome, AuthorizeOutcome::Declined { .. });
    let card_label = format!("{} ending {}", card.brand.as_str(), card.last4);
    let (order, payment_id, now) = (payment.order_id, payment.id, state.now_micros());
    let decide: Decide<Option<Recorded>, JobError> =
        Box::new(move |order, current| decide(order, current, payment, card_label, outcome, now));
    // One job of a group commit: the answers recorded together share a transaction and its fsync.
    match state.store.finish_order_job(OrderJob { job: job.clone(), order, payment: payment_id, decide }).await? {
        Finished::Done(recorded) => {
            tracing::info!(%order, payment = %payment_id, declined, "authorization answered");
            if declined {
                state.metrics.payments_declined.inc();
            }
            if let (Some(recorded), Some(tell)) = (recorded, tell) {
                let _ = tell.send(Recorded { applied, ..recorded });
            }
        }
        Finished::LostLease => {
            tracing::warn!(job = %job.id, attempt = job.attempt, "lost the job's lease; its effects are rolled back")
        }
    }
    Ok(())
}

/// Takes what it can of the customer's gift card balance for the payment's order, and leaves the rest for the
/// card: the payment as it then stands and what the timeline was told, or `None` if the order moved on without
/// it (cancelled meanwhile).
async fn tender(state: &AppState, payment: &Payment) -> Result<Option<(Payment, Option<TimelineEntry>)>, JobError> {
    let (id, order_id, now) = (payment.id, payment.order_id, state.now_micros());
    state
        .store
        .write_batched(move |c| {
            Box::pin(async move {
                let order = orders::lock(c, order_id).await?.ok_or_else(|| JobError::Fatal("no such order".into()))?;
                let current = payments::lock(c, id).await?.ok_or_else(|| JobError::Fatal("no such payment".into()))?;
                if current.gift_amount.is_some() {
                    return Ok(Some((current, None)));
                }
                if order.status != OrderStatus::Placed || current.status != PaymentStatus::Pending {
                    return Ok(None);
                }
                let txn = format!("spend:{order_id}");
                let gift = gift_cards::spend_up_to(c, order.customer_id, order_id, current.amount, &txn, now).await?;
                let card = current.amount.checked_sub(gift).map_err(|e| JobError::Fatal(e.to_string()))?;
                if !payments::set_tender(c, id, gift, card, now).await? {
                    return Err(JobError::Fatal("the payment changed under its lock".into()));
                }
                let mut applied = None;
                if !gift.is_zero() {
                    let note = format!("{gift} of your gift card balance applied; {card} goes on the card");
                    let entry = TimelineEntry::new(now, order.status, EventKind::GiftCardApplied, note);
                    orders::add_timeline(c, order_id, &entry).await?;
                    applied = Some(entry);
                }
                Ok(Some((Payment { amount: card, gift_amount: Some(gift), ..current }, applied)))
            })
        })
        .await
}

/// What the answer changes, decided on the order and payment as they are under the order's lock (the customer
/// may have cancelled while the gateway was answering).
fn decide(
    order: Option<&Order>,
    current: Option<&Payment>,
    payment: Payment,
    card_label: String,
    outcome: AuthorizeOutcome,
    now: i64,
) -> Result<Decision<Option<Recorded>, JobError>, JobError> {
    let order = order.ok_or_else(|| JobError::Fatal("no such order".into()))?.clone();
    if let (Some(PaymentStatus::Cancelled), AuthorizeOutcome::Approved { authorization }) =
        (current.map(|p| p.status), &outcome)
    {
        // Dropped by a cancel while this was on its way, and approved all the same: the hold is kept on the
        // payment and voided, not left on the customer's card for a week.
        let (id, reference) = (payment.id, authorization.clone());
        return Ok(Decision::Run(Box::new(move |c| {
            Box::pin(async move {
                if payments::set_late_authorization(c, id, &reference, now).await? {
                    super::enqueue(c, super::void(id, now)).await?;
                }
                Ok(None)
            })
        })));
    }
    if current.map(|p| p.status) != Some(PaymentStatus::Pending) {
        // Answered already (this is a re-run), or dropped by a cancel: nothing more to record.
        return Ok(Decision::Write(Effects { at: now, ..Effects::default() }, None));
    }
    let placed = order.status == OrderStatus::Placed;
    let illegal = |e: buynow_domain::IllegalTransition| JobError::Fatal(e.to_string());
    match outcome {
        AuthorizeOutcome::Approved { authorization } => {
            let moved = PaymentMove {
                from: PaymentStatus::Pending,
                to: PaymentStatus::Authorized,
                authorization: Some(authorization.clone()),
                decline_code: None,
            };
            if !placed {
                // Cancelled while we were asking: give the hold straight back.
                let jobs = vec![super::void(payment.id, now)];
                return Ok(Decision::Write(
                    Effects { at: now, payment: Some(moved), jobs, ..Effects::default() },
                    None,
                ));
            }
            let to = transition(order.status, OrderEvent::PaymentAuthorized).map_err(illegal)?;
            let gift = payment.gift_amount.filter(|g| !g.is_zero());
            let note = match gift {
                None => format!("Payment of {} authorized on {card_label}", payment.amount),
                Some(gift) if payment.amount.is_zero() => format!("Paid with {gift} of your gift card balance"),
                Some(gift) => {
                    format!(
                        "Payment of {} authorized on {card_label}, besides {gift} of gift card balance",
                        payment.amount
                    )
                }
            };
            let mut event = serde_json::json!({ "order_id": order.id, "amount": payment.amount });
            if let Some(gift) = gift {
                event["gift_card_amount"] = serde_json::json!(gift);
            }
            let effects = Effects {
                at: now,
                payment: Some(moved),
                order: Some(OrderMove { from: order.status, to, declines: order.declines }),
                timeline: vec![TimelineEntry::new(now, to, EventKind::PaymentAuthorized, note.clone())],
                events: vec![(EventKind::PaymentAuthorized, event.to_string())],
                jobs: vec![super::release(order.id, order.hold_until.max(now))],
            };
            let payment = Payment { status: PaymentStatus::Authorized, authorization: Some(authorization), ..payment };
            Ok(Decision::Write(
                effects,
                Some(Recorded::new(order, to, payment, EventKind::PaymentAuthorized, note, now)),
            ))
        }
        AuthorizeOutcome::Declined { code } => {
            let moved = PaymentMove {
                from: PaymentStatus::Pending,
                to: PaymentStatus::Declined,
                authorization: None,
                decline_code: Some(code.as_str().to_string()),
            };
            if !placed {
                return Ok(Decision::Write(Effects { at: now, payment: Some(moved), ..Effects::default() }, None));
            }
            let declines = order.declines + 1;
            if declines >= 2 {
                // A cancel gives back stock and more: a write of its own, in the same transaction.
                let reason = format!("Cancelled: the payment was declined again ({})", code.as_str());
                return Ok(Decision::Run(Box::new(move |c| {
                    Box::pin(async move {
                        let (from, to) = (PaymentStatus::Pending, PaymentStatus::Declined);
                        payments::set_status(c, payment.id, from, to, None, Some(code.as_str()), now).await?;
                        orders::count_decline(c, order.id).await?;
                        lifecycle::cancel(c, &order, &reason, now).await?;
                        Ok(None)
                    })
                })));
            }
            let to = transition(order.status, OrderEvent::PaymentDeclined).map_err(illegal)?;
            let note =
                format!("Payment declined ({}): waiting for the customer to choose a payment method", code.as_str());
            let event = serde_json::json!({ "order_id": order.id, "decline_code": code.as_str() });
            let effects = Effects {
                at: now,
                payment: Some(moved),
                order: Some(OrderMove { from: order.status, to, declines }),
                timeline: vec![TimelineEntry::new(now, to, EventKind::PaymentActionRequired, note.clone())],
                events: vec![(EventKind::PaymentActionRequired, event.to_string())],
                jobs: Vec::new(),
            };
            let payment =
                Payment { status: PaymentStatus::Declined, decline_code: Some(code.as_str().to_string()), ..payment };
            let order = Order { declines, ..order };
            Ok(Decision::Write(
                effects,
                Some(Recorded::new(order, to, payment, EventKind::PaymentActionRequired, note, now)),
            ))
        }
        AuthorizeOutcome::AuthenticationRequired { challenge } => {
            if !placed {
                // Cancelled while we were asking: nothing is held until the customer authenticates.
                let moved = PaymentMove {
                    from: PaymentStatus::Pending,
                    to: PaymentStatus::Cancelled,
                    authorization: None,
                    decline_code: None,
                };
                return Ok(Decision::Write(Effects { at: now, payment: Some(moved), ..Effects::default() }, None));
            }
            // The customer is asked, not counted as declined: a write of its own, for the challenge it keeps.
            let to = transition(order.status, OrderEvent::AuthenticationRequired).map_err(illegal)?;
            let note = "Your bank asks you to confirm this payment: waiting for you to authenticate".to_string();
            let payment =
                Payment { status: PaymentStatus::RequiresAuthentication, challenge: Some(challenge), ..payment };
            let recorded =
                Recorded::new(order.clone(), to, payment.clone(), EventKind::PaymentActionRequired, note, now);
            Ok(Decision::Run(Box::new(move |c| {
                Box::pin(async move {
                    let challenge = payment.challenge.as_deref().unwrap_or_default();
                    if !payments::require_authentication(c, payment.id, challenge, now).await? {
                        return Ok(None);
                    }
                    let (event, kind) = (OrderEvent::AuthenticationRequired, EventKind::PaymentActionRequired);
                    lifecycle::apply(c, &order, event, kind, &recorded.entry.note, now).await?;
                    Ok(Some(recorded))
                })
            })))
        }
    }
}

impl Recorded {
    fn new(order: Order, to: OrderStatus, payment: Payment, kind: EventKind, note: String, now: i64) -> Recorded {
        let entry = TimelineEntry::new(now, to, kind, note);
        Recorded { order: Order { status: to, updated_at: now, ..order }, payment, entry, applied: None }
    }
}
