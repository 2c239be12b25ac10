//! Order transitions that touch more than the order row: recorded with their timeline entry and, for the
//! customer-facing ones, their outbox event.

use crate::error::ApiError;
use crate::jobs;
use buynow_domain::{
    transition, EventKind, JobId, OrderEvent, OrderStatus, PaymentStatus, ShipmentEvent, ShipmentStatus,
};
use buynow_store::gift_cards::{self, GiveBack};
use buynow_store::orders::{self, Order, TimelineEntry};
use buynow_store::{catalog, outbox, payments, shipments, Conn};

/// Writes what happened to the order: its timeline entry, and for a customer-facing event its outbox event
/// with `payload` (JSON).
pub async fn record(
    c: &mut Conn<'_>,
    order: &Order,
    status: OrderStatus,
    kind: EventKind,
    note: &str,
    payload: serde_json::Value,
    now: i64,
) -> Result<(), ApiError> {
    orders::add_timeline(c, order.id, &TimelineEntry::new(now, status, kind, note)).await?;
    if kind.is_customer_facing() {
        outbox::add(c, order.id, order.customer_id, kind, &payload.to_string(), now).await?;
    }
    Ok(())
}

/// Moves `order` by `event`, guarded: fails if the order is no longer in the state the caller saw.
pub async fn apply(
    c: &mut Conn<'_>,
    order: &Order,
    event: OrderEvent,
    kind: EventKind,
    note: &str,
    now: i64,
) -> Result<OrderStatus, ApiError> {
    let to = transition(order.status, event).map_err(|e| ApiError::Conflict("invalid_state", e.to_string()))?;
    if !orders::set_status(c, order.id, order.status, to, now).await? {
        return Err(ApiError::Conflict("invalid_state", "the order changed meanwhile; reload it and try again".into()));
    }
    let payload = serde_json::json!({ "order_id": order.id, "status": to });
    record(c, order, to, kind, note, payload, now).await?;
    Ok(to)
}

/// Whether the order can still be cancelled: its state allows it and none of its shipments has started
/// picking (DESIGN.md: "an order can be cancelled until its shipment starts picking").
pub async fn cancellable(c: &mut Conn<'_>, order: &Order) -> Result<bool, ApiError> {
    if !order.status.is_cancellable() {
        return Ok(false);
    }
    let rows = shipments::for_order(c, order.id).await?;
    Ok(rows
        .iter()
        .all(|s| matches!(s.status, ShipmentStatus::Pending | ShipmentStatus::Released | ShipmentStatus::Cancelled)))
}

/// Cancels: the reservation goes back to stock, a pending payment is dropped, an authorization hold is
/// voided by a job, and what the order took of the gift card balance goes back to it. `reason` is told to the
/// customer. Returns the void job, if one was enqueued, so the caller may run it inline.
pub async fn cancel(c: &mut Conn<'_>, order: &Order, reason: &str, now: i64) -> Result<Option<JobId>, ApiError> {
    if !cancellable(c, order).await? {
        return Err(ApiError::Conflict(
            "not_cancellable",
            format!(
                "the order is {} and its items are being picked: it can no longer be cancelled",
                order.status.as_str()
            ),
        ));
    }
    let to =
        transition(order.status, OrderEvent::Cancel).map_err(|e| ApiError::Conflict("invalid_state", e.to_string()))?;
    if !orders::set_status(c, order.id, order.status, to, now).await? {
        return Err(ApiError::Conflict("invalid_state", "the order changed meanwhile; reload it and try again".into()));
    }
    let mut rows = shipments::for_order(c, order.id).await?;
    // The same lock order as placement: by (SKU, center).
    rows.sort_by(|a, b| (&a.sku, &a.center).cmp(&(&b.sku, &b.center)));
    for s in rows {
        if buynow_domain::shipment::transition(s.status, ShipmentEvent::Cancel).is_ok() {
            catalog::release(c, &s.sku, &s.center, s.quantity).await?;
            shipments::move_row(c, s.id, s.status, ShipmentStatus::Cancelled, now).await?;
        }
    }
    let mut void_job = None;
    let mut gift_back = None;
    if let Some(p) = payments::latest_for_order(c, order.id).await? {
        if p.gift_amount.is_some_and(|g| !g.is_zero()) {
            let (reverse, txn) = (GiveBack::Reverse(order.total.currency()), format!("reverse:{}", order.id));
            gift_back = Some(gift_cards::give_back(c, order.id, order.customer_id, reverse, &txn, now).await?);
        }
        match p.status {
            PaymentStatus::Pending | PaymentStatus::RequiresAuthentication => {
                payments::set_status(c, p.id, p.status, PaymentStatus::Cancelled, None, None, now).await?;
            }
            PaymentStatus::Authorized | PaymentStatus::PartiallyCaptured => {
                void_job = jobs::enqueue(c, jobs::void(p.id, now)).await?
            }
            PaymentStatus::Declined
            | PaymentStatus::Voided
            | PaymentStatus::Cancelled
            | PaymentStatus::Captured
            | PaymentStatus::PartiallyRefunded
            | PaymentStatus::Refunded => {}
        }
    }
    let payload = serde_json::json!({ "order_id": order.id, "reason": reason });
    record(c, order, to, EventKind::OrderCancelled, reason, payload, now).await?;
    if let Some(back) = gift_back.filter(|b| !b.is_zero()) {
        let note = format!("{back} returned to your gift card balance");
        orders::add_timeline(c, order.id, &TimelineEntry::new(now, to, EventKind::GiftCardReturned, note)).await?;
    }
    Ok(void_job)
}

/// The states an order passes through from the payment to the door, in order.
const ON_THE_WAY: [OrderStatus; 6] = [
    OrderStatus::PaymentAuthorized,
    OrderStatus::Released,
    OrderStatus::Picking,
    OrderStatus::Packed,
    OrderStatus::Shipped,
    OrderStatus::Delivered,
];

/// Brings the order's state up to its least advanced live shipment (DESIGN.md: "an order is as far as its
/// least advanced shipment"), one transition at a time, each on the timeline. Returns the order as it now is.
pub async fn follow_shipments(c: &mut Conn<'_>, order: &Order, now: i64) -> Result<Order, ApiError> {
    let rows = shipments::for_order(c, order.id).await?;
    let least = rows.iter().filter(|s| s.status != ShipmentStatus::Cancelled).map(|s| s.status.progress()).min();
    let Some(least) = least else { return Ok(order.clone()) };
    let target = match least {
        0 | 1 => return Ok(order.clone()),
        2 => OrderStatus::Released,
        3 => OrderStatus::Picking,
        4 => OrderStatus::Packed,
        5 | 6 => OrderStatus::Shipped,
        _ => OrderStatus::Delivered,
    };
    // Never backwards: a support reship's new shipment starts at the warehouse while the order is shipped.
    let rank = |s: OrderStatus| ON_THE_WAY.iter().position(|&w| w == s);
    if rank(target) <= rank(order.status) {
        return Ok(order.clone());
    }
    let mut current = order.clone();
    while current.status != target {
        let (event, kind, note) = match current.status {
            OrderStatus::PaymentAuthorized => {
                (OrderEvent::Release, EventKind::OrderReleased, "Released to the fulfillment center")
            }
            OrderStatus::Released => {
                (OrderEvent::StartPicking, EventKind::PickingStarted, "Your items are being picked")
            }
            OrderStatus::Picking => (OrderEvent::Pack, EventKind::ShipmentPacked, "Packed"),
            OrderStatus::Packed => (OrderEvent::Ship, EventKind::OrderShipped, "Every item has shipped"),
            OrderStatus::Shipped => (OrderEvent::Deliver, EventKind::OrderDelivered, "Delivered"),
            // Anything else is not on the way from the warehouse to the door: nothing to follow.
            _ => return Ok(current),
        };
        let Ok(to) = transition(current.status, event) else { return Ok(current) };
        if !orders::set_status(c, current.id, current.status, to, now).await? {
            return Err(ApiError::Conflict("invalid_state", "the order changed meanwhile".into()));
        }
        let payload = serde_json::json!({ "order_id": current.id, "status": to });
        record(c, &current, to, kind, note, payload, now).await?;
        current = Order { status: to, updated_at: now, ..current };
    }
    Ok(current)
}
