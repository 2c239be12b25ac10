//! Transitions that touch more than the order row, shared by the API and the jobs. Each runs inside the
//! caller's transaction and writes the state, the timeline entry and the outbox event together.

use crate::error::ApiError;
use crate::jobs;
use buynow_domain::{transition, JobId, OrderEvent, OrderStatus};
use buynow_store::orders::{self, Order};
use buynow_store::payments::{self, PaymentStatus};
use buynow_store::{catalog, outbox, Conn};

/// Moves `order` by `event`, guarded: fails if the order is no longer in the state the caller saw.
pub async fn apply(
    c: &mut Conn<'_>,
    order: &Order,
    event: OrderEvent,
    note: &str,
    now: i64,
) -> Result<OrderStatus, ApiError> {
    let to = transition(order.status, event).map_err(|e| ApiError::Conflict("invalid_state", e.to_string()))?;
    if !orders::set_status(c, order.id, order.status, to, now).await? {
        return Err(ApiError::Conflict("invalid_state", "the order changed meanwhile; reload it and try again".into()));
    }
    orders::add_timeline(c, order.id, now, to, note).await?;
    Ok(to)
}

/// Cancels: the reservation goes back to stock, a pending payment is dropped and an authorization hold is
/// voided by a job. `reason` is told to the customer.
/// Returns the void job, if one was enqueued, so the caller may run it inline.
pub async fn cancel(c: &mut Conn<'_>, order: &Order, reason: &str, now: i64) -> Result<Option<JobId>, ApiError> {
    apply(c, order, OrderEvent::Cancel, reason, now).await?;
    let mut shipments = orders::shipments(c, order.id).await?;
    // The same lock order as placement: by center.
    shipments.sort_by(|a, b| (&a.sku, &a.center).cmp(&(&b.sku, &b.center)));
    for s in shipments {
        if s.status != "cancelled" {
            catalog::release(c, &s.sku, &s.center, s.quantity).await?;
        }
    }
    orders::set_shipments_status(c, order.id, "cancelled").await?;
    let mut void_job = None;
    if let Some(p) = payments::latest_for_order(c, order.id).await? {
        match p.status {
            PaymentStatus::Pending => {
                payments::set_status(c, p.id, PaymentStatus::Pending, PaymentStatus::Cancelled, None, None, now)
                    .await?;
            }
            PaymentStatus::Authorized => void_job = jobs::enqueue(c, jobs::void(p.id, now)).await?,
            PaymentStatus::Declined | PaymentStatus::Voided | PaymentStatus::Cancelled => {}
        }
    }
    let event = serde_json::json!({ "order_id": order.id, "reason": reason });
    outbox::add(c, order.id, order.customer_id, "order_cancelled", &event.to_string(), now).await?;
    Ok(void_job)
}
