//! Support cases: opened when something about an order cannot finish by itself (a job failed for good, a
//! payment drift, a lost or damaged parcel, a message that could not be delivered, an order with no progress
//! past its expected time) or when its customer asks; closed by a staff action whose effect is real (a refund,
//! a new shipment, a cancellation). The customer is told on both ends. This is how invariant 5 holds.

use super::lifecycle;
use crate::auth::StaffMember;
use crate::error::ApiError;
use crate::jobs;
use crate::state::AppState;
use buynow_domain::order::Waiting;
use buynow_domain::support::{refund_amount, stalled_after};
use buynow_domain::{
    CaseAction, CaseId, CaseReason, EventKind, JobId, Money, OrderId, OrderStatus, PaymentStatus, ShipmentEvent,
    ShipmentStatus,
};
use buynow_store::cases::{self, Case, NewCase};
use buynow_store::jobs::NewJob;
use buynow_store::orders::{self, Order, TimelineEntry};
use buynow_store::payments::{self, Refund};
use buynow_store::shipments::{self, Shipment};
use buynow_store::{notifications, Conn};
use std::time::Duration;

/// Who opens a system case.
pub const SYSTEM: &str = "system";

/// A case the system opens about `order`.
pub struct Trouble<'a> {
    pub reason: CaseReason,
    /// What it is about besides the order (a job, a payment, a parcel): one open case per order, reason and
    /// subject (a lost parcel holding two customers' orders opens a case for each).
    pub subject: Option<&'a str>,
    /// What happened, for staff.
    pub summary: &'a str,
    /// What the customer is told (and shown beside the order while it is held).
    pub told: &'a str,
}

/// Opens a case about `order` unless the same trouble has one open, in the caller's transaction: holds the order
/// when the reason does, writes it on the timeline and tells the customer (a message that failed to arrive is
/// not told by another message: staff reach the customer). Returns the case when it is new.
pub async fn open(c: &mut Conn<'_>, order: &Order, t: Trouble<'_>, now: i64) -> Result<Option<Case>, ApiError> {
    let key = format!("{}:{}:{}", t.reason.as_str(), order.id, t.subject.unwrap_or(""));
    let new = NewCase {
        order_id: order.id,
        customer_id: order.customer_id,
        reason: t.reason,
        summary: t.summary,
        subject: t.subject,
        open_key: Some(key),
        opened_by: SYSTEM,
    };
    let Some(case) = cases::open(c, &new, now).await? else { return Ok(None) };
    // A finished order (a cancelled one whose void failed) has nothing left to hold.
    if case.holds_order && order.status.waiting_on() != Waiting::Nobody {
        orders::set_hold(c, order.id, Some(t.told), now).await?;
    }
    let payload =
        serde_json::json!({ "order_id": order.id, "case_id": case.id, "reason": t.reason.as_str(), "message": t.told });
    if t.reason == CaseReason::MessageDeadLettered {
        let entry = TimelineEntry::new(now, order.status, EventKind::SupportCaseOpened, t.told);
        orders::add_timeline(c, order.id, &entry).await?;
    } else {
        lifecycle::record(c, order, order.status, EventKind::SupportCaseOpened, t.told, payload, now).await?;
    }
    tracing::warn!(case = %case.id, order = %order.id, reason = t.reason.as_str(), "support case opened");
    Ok(Some(case))
}

/// The customer asks for help with their order: a new case, or their message joins the one they have open.
/// Returns the case and whether it is new.
pub async fn ask(c: &mut Conn<'_>, order: &Order, message: &str, now: i64) -> Result<(Case, bool), ApiError> {
    let customer = order.customer_id.to_string();
    if let Some(open) = cases::open_by_customer(c, order.id).await? {
        let open = cases::lock(c, open.id).await?.ok_or(ApiError::NotFound("support case"))?;
        cases::add_note(c, open.id, now, &customer, "message", message).await?;
        return Ok((open, false));
    }
    let new = NewCase {
        order_id: order.id,
        customer_id: order.customer_id,
        reason: CaseReason::CustomerRequest,
        summary: message,
        subject: None,
        open_key: None,
        opened_by: &customer,
    };
    let case = cases::open(c, &new, now).await?.ok_or_else(|| ApiError::internal("a new case was not written"))?;
    let told = "We have your message about this order; our support team answers within a day.";
    let payload =
        serde_json::json!({ "order_id": order.id, "case_id": case.id, "reason": "customer_request", "message": told });
    lifecycle::record(c, order, order.status, EventKind::SupportCaseOpened, told, payload, now).await?;
    Ok((case, true))
}

/// What staff asked for.
#[derive(Debug, Clone)]
pub struct Request {
    pub action: CaseAction,
    /// A refund's amount; all that is left when `None`.
    pub amount: Option<Money>,
    /// For the case's record (staff only).
    pub note: String,
    /// For the customer, with the resolution; a plain sentence of the action's own when `None`.
    pub message: Option<String>,
    /// Whom to give the case to (`assign`); the one acting when `None`.
    pub assignee: Option<String>,
}

/// Does `req` to the case, with its effect, in one transaction; returns the jobs to run at once (a refund, a
/// void, a retried payment).
pub async fn act(
    c: &mut Conn<'_>,
    state: &AppState,
    id: CaseId,
    staff: &StaffMember,
    req: &Request,
    now: i64,
) -> Result<Vec<JobId>, ApiError> {
    let case = cases::lock(c, id).await?.ok_or(ApiError::NotFound("support case"))?;
    if !req.action.allowed_on(case.status) {
        return Err(ApiError::Conflict(
            "case_resolved",
            format!("the case is resolved: only a note can be added (it was asked to {})", req.action.as_str()),
        ));
    }
    let order = orders::lock(c, case.order_id).await?.ok_or(ApiError::NotFound("order"))?;
    let mut run = Vec::new();
    let mut record = req.note.clone();
    // What the customer is told when the case closes: `None` when the action tells them itself.
    let mut told: Option<String> = None;
    match req.action {
        CaseAction::Assign => {
            let to = req.assignee.clone().unwrap_or_else(|| staff.who.clone());
            cases::assign(c, case.id, &to, now).await?;
            record = format!("Assigned to {to}. {}", req.note).trim().to_string();
        }
        CaseAction::Note => {}
        CaseAction::RetryPayment => {
            let job = failed_payment_job(c, &case).await?;
            jobs::retry(c, job, now).await?;
            run.push(job);
            told = Some("We are trying your payment again.".into());
        }
        CaseAction::RetryDelivery => {
            let mut again = 0;
            for d in notifications::for_order(c, order.id).await? {
                if notifications::send_again(c, &d.id, now).await? {
                    again += 1;
                }
            }
            if again == 0 {
                return Err(not_applicable("no message of this order is dead-lettered"));
            }
            record = format!("{again} message(s) sent again. {}", req.note).trim().to_string();
            told = Some("We have sent you our messages about this order again.".into());
        }
        CaseAction::Refund => {
            let (refund, job) = refund(c, &order, req.amount, now).await?;
            run.extend(job);
            record = format!("Refund of {refund}. {}", req.note).trim().to_string();
        }
        CaseAction::Reship => {
            let note = reship(c, state, &order, &case, now).await?;
            record = format!("{note}. {}", req.note).trim().to_string();
            told = Some(format!("{note}, at no charge."));
        }
        CaseAction::Cancel => {
            let reason = req.message.clone().unwrap_or_else(|| "Cancelled by our support team".into());
            run.extend(lifecycle::cancel(c, &order, &reason, now).await?);
        }
        CaseAction::Resolve => {
            told = Some("Our support team has sorted out the problem with your order.".into());
        }
    }
    cases::add_note(c, case.id, now, &staff.who, req.action.as_str(), &record).await?;
    if req.action.resolves() {
        cases::resolve(c, case.id, now).await?;
        run.extend(lift_hold(c, &case, now).await?);
        let order = orders::get(c, order.id).await?.ok_or(ApiError::NotFound("order"))?;
        let message = req.message.clone().or(told);
        if let Some(message) = message.filter(|_| req.action != CaseAction::Cancel) {
            let payload = serde_json::json!({ "order_id": order.id, "case_id": case.id, "message": message });
            lifecycle::record(c, &order, order.status, EventKind::SupportCaseResolved, &message, payload, now).await?;
        }
    }
    // Taking a case and writing in it stay on the case: its notes are for staff, the order's timeline is the
    // customer's.
    Ok(run)
}

fn not_applicable(why: &str) -> ApiError {
    ApiError::Conflict("action_not_applicable", why.to_string())
}

/// The failed payment job the case is about.
async fn failed_payment_job(c: &mut Conn<'_>, case: &Case) -> Result<JobId, ApiError> {
    let none = || not_applicable("this case is not about a payment job that failed for good");
    let id = case.subject.as_deref().and_then(|s| JobId::parse(s).ok()).ok_or_else(none)?;
    let (job, status) = buynow_store::jobs::get(c, id).await?.ok_or_else(none)?;
    let payment_job = [jobs::AUTHORIZE, jobs::CAPTURE, jobs::VOID, jobs::REFUND].contains(&job.kind.as_str());
    if !payment_job || status != "failed" {
        return Err(none());
    }
    Ok(id)
}

/// Takes the case's hold off its order, unless another open case holds it; a paid order that was held back
/// from the warehouse is released again (at the end of its hold window, if that is still to come).
async fn lift_hold(c: &mut Conn<'_>, case: &Case, now: i64) -> Result<Option<JobId>, ApiError> {
    if !case.holds_order {
        return Ok(None);
    }
    let order = orders::lock(c, case.order_id).await?.ok_or(ApiError::NotFound("order"))?;
    let other = cases::other_hold(c, order.id, case.id).await?;
    orders::set_hold(c, order.id, other.as_deref(), now).await?;
    if other.is_some() || order.status != OrderStatus::PaymentAuthorized {
        return Ok(None);
    }
    let release = NewJob {
        dedup_key: Some(format!("{}:{}:after:{}", jobs::RELEASE, order.id, case.id)),
        ..jobs::release(order.id, order.hold_until.max(now))
    };
    jobs::enqueue(c, release).await
}

/// A refund of `amount` (all that was paid and not given back when `None`), split between the card and the gift
/// card balance as a return's is; its job does it and tells the customer.
async fn refund(
    c: &mut Conn<'_>,
    order: &Order,
    amount: Option<Money>,
    now: i64,
) -> Result<(Money, Option<JobId>), ApiError> {
    let nothing = || not_applicable("nothing was charged for this order yet: cancel it instead");
    let payment = payments::authorized_for_order(c, order.id).await?.ok_or_else(nothing)?;
    let payment = payments::lock(c, payment.id).await?.ok_or(ApiError::NotFound("payment"))?;
    let captured: i64 = payments::captures(c, payment.id).await?.iter().map(|cap| cap.amount.minor()).sum();
    let (card_owed, gift_owed) = payments::refunds_owed(c, payment.id).await?;
    let gift_paid =
        if payment.status == PaymentStatus::Cancelled { 0 } else { payment.gift_amount.map_or(0, |g| g.minor()) };
    let left = Money::new(captured - card_owed + gift_paid - gift_owed, order.total.currency());
    let amount = refund_amount(left, amount).map_err(|e| match e {
        buynow_domain::support::RefundRefusal::NothingLeft if captured == 0 && gift_paid == 0 => nothing(),
        other => ApiError::Unprocessable("refund_refused", other.to_string()),
    })?;
    let (card, gift) = super::returns::refund_sources(c, &payment, amount).await?;
    let refund = Refund {
        id: format!("rfd_{}", uuid::Uuid::now_v7().simple()),
        payment_id: payment.id,
        return_id: None,
        amount: card,
        gift_amount: gift,
        status: "pending".into(),
    };
    payments::add_refund(c, &refund, now).await?;
    Ok((amount, jobs::enqueue(c, jobs::refund(&refund.id, now)).await?))
}

/// Sends again, at no charge, this order's items of its parcels the carrier reported lost or damaged (the
/// case's parcel, when it names one): from the same center when it has them, else from another of the same
/// seller. The lost rows are written off; the new shipments go straight to their centers.
async fn reship(c: &mut Conn<'_>, state: &AppState, order: &Order, case: &Case, now: i64) -> Result<String, ApiError> {
    let rows = shipments::for_order(c, order.id).await?;
    let named = case.subject.as_deref().and_then(|s| buynow_domain::ShipmentId::parse(s).ok());
    let mut lost: Vec<Shipment> = rows
        .into_iter()
        .filter(|s| s.status == ShipmentStatus::Exception && named.is_none_or(|p| s.parcel() == p))
        .collect();
    if lost.is_empty() {
        return Err(not_applicable("no parcel of this order is reported lost or damaged"));
    }
    // The same lock order as placement: by (SKU, center).
    lost.sort_by(|a, b| (&a.sku, &a.center).cmp(&(&b.sku, &b.center)));
    let mut sent = Vec::new();
    for row in &lost {
        buynow_domain::shipment::transition(row.status, ShipmentEvent::Replace)
            .map_err(|e| ApiError::Conflict("invalid_state", e.to_string()))?;
        let from = super::warehouse::reserve_elsewhere(c, state, &row.sku, row.quantity, &row.center, true).await?;
        let Some(from) = from else {
            return Err(ApiError::Conflict(
                "out_of_stock",
                format!("no center has {} × {} to send again: refund the order instead", row.quantity, row.sku),
            ));
        };
        shipments::move_row(c, row.id, ShipmentStatus::Exception, ShipmentStatus::Cancelled, now).await?;
        let mut again = Shipment::pending(order.id, &from, &row.sku, row.quantity);
        again.status = ShipmentStatus::Released;
        again.released_at = Some(now);
        again.replaces = Some(row.id);
        shipments::insert(c, &again, now).await?;
        sent.push(format!("{} × {} from {from}", row.quantity, row.sku));
    }
    let note = format!("We are sending {} again", sent.join(", "));
    let payload = serde_json::json!({ "order_id": order.id, "case_id": case.id });
    lifecycle::record(c, order, order.status, EventKind::ShipmentReshipped, &note, payload, now).await?;
    Ok(note)
}

/// The order of a job, for a case about it: what its payload names.
pub async fn order_of_job(c: &mut Conn<'_>, kind: &str, payload: &str) -> Result<Option<OrderId>, ApiError> {
    let v: serde_json::Value = serde_json::from_str(payload).unwrap_or_default();
    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    let payment = |id: Option<String>| id.and_then(|s| buynow_domain::PaymentId::parse(&s).ok());
    let order = match kind {
        jobs::RELEASE => text("order_id").and_then(|s| OrderId::parse(&s).ok()),
        jobs::AUTHORIZE | jobs::VOID => match payment(text("payment_id")) {
            Some(p) => payments::get(c, p).await?.map(|p| p.order_id),
            None => None,
        },
        jobs::CAPTURE => {
            let id = text("capture_id").and_then(|s| buynow_domain::CaptureId::parse(&s).ok());
            let capture = match id {
                Some(id) => payments::get_capture(c, id).await?,
                None => None,
            };
            match capture {
                Some(cap) => payments::get(c, cap.payment_id).await?.map(|p| p.order_id),
                None => None,
            }
        }
        jobs::REFUND => match text("refund_id") {
            Some(id) => match payments::get_refund(c, &id).await? {
                Some(r) => payments::get(c, r.payment_id).await?.map(|p| p.order_id),
                None => None,
            },
            None => None,
        },
        _ => None,
    };
    Ok(order)
}

/// A job failed for good: its order gets a case, held, and its customer is told, in the transaction that
/// records the failure.
pub async fn job_failed(
    c: &mut Conn<'_>,
    job: &buynow_store::jobs::Job,
    error: &str,
    now: i64,
) -> Result<Option<Case>, ApiError> {
    let Some(order_id) = order_of_job(c, &job.kind, &job.payload).await? else { return Ok(None) };
    let Some(order) = orders::lock(c, order_id).await? else { return Ok(None) };
    let told = match job.kind.as_str() {
        jobs::AUTHORIZE => "We could not finish taking payment for your order. Our support team is looking into it.",
        jobs::CAPTURE => "We could not finish charging for your order. Our support team is looking into it.",
        jobs::REFUND => "Your refund is held up. Our support team is looking into it.",
        jobs::VOID => "The hold on your card is not released yet. Our support team is looking into it.",
        _ => "Your order is held up. Our support team is looking into it.",
    };
    let summary = format!("The {} job failed for good after {} attempts: {error}", job.kind, job.attempt);
    let id = job.id.to_string();
    let t = Trouble { reason: CaseReason::JobFailed, subject: Some(&id), summary: &summary, told };
    open(c, &order, t, now).await
}

/// One pass of the sweeper: every order in a state that waits on the system, unchanged past its expected
/// time and not already held, gets a case. Returns how many were opened.
pub async fn sweep(state: &AppState) -> Result<usize, ApiError> {
    let now = state.now_micros();
    let mut opened = 0;
    for status in OrderStatus::ALL {
        let hold_window = state.config.hold_store.max(state.config.hold_seller).to_std().unwrap_or_default();
        let Some(after) = stalled_after(status, hold_window) else { continue };
        let before = now - i64::try_from(after.as_micros()).unwrap_or(i64::MAX / 2);
        let due = orders::unchanged_since(&mut state.store.read().await?.conn(), status, before, 100).await?;
        for stale in due {
            let mut tx = state.store.write().await?;
            let Some(order) = orders::lock(&mut tx.conn(), stale.id).await? else { continue };
            // Moved on, or held, since it was read: not stalled.
            if order.status != status || order.updated_at >= before || order.on_hold {
                continue;
            }
            let idle = Duration::from_micros(u64::try_from(now - order.updated_at).unwrap_or(0));
            let summary = format!("No progress for {} while {}", human(idle), status.as_str());
            let told = "Your order is taking longer than it should. Our support team is looking into it.";
            let t = Trouble { reason: CaseReason::Stalled, subject: None, summary: &summary, told };
            if open(&mut tx.conn(), &order, t, now).await?.is_some() {
                opened += 1;
            }
            tx.commit().await?;
        }
    }
    Ok(opened)
}

fn human(d: Duration) -> String {
    let minutes = d.as_secs() / 60;
    match minutes {
        m if m < 120 => format!("{m} minutes"),
        m if m < 48 * 60 => format!("{} hours", m / 60),
        m => format!("{} days", m / (24 * 60)),
    }
}

/// Sweeps every few minutes while the workers run.
pub fn spawn_sweeper(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                _ = tokio::time::sleep(state.config.sweep_interval) => {}
            }
            if *stop.borrow() {
                return;
            }
            match sweep(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(cases = n, "sweeper: orders with no progress past their expected time"),
                Err(e) => tracing::warn!(error = %e, "sweeper failed; next pass"),
            }
        }
    })
}
