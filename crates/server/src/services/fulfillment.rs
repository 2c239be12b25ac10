//! The hold window is over: an order's shipments go to their centers, each travelling with the other pending
//! shipments of the same customer, address and speed at that center whose orders were placed inside the
//! window (DESIGN.md: consolidation). Each order keeps its items, payment and timeline.

use super::lifecycle;
use crate::error::ApiError;
use buynow_domain::{OrderId, OrderStatus, ShipmentStatus};
use buynow_store::orders;
use buynow_store::shipments;
use buynow_store::Conn;
use std::collections::BTreeSet;

/// What a release came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Released {
    /// The shipments went to their centers; these orders were released with it (the order itself first).
    Done(Vec<OrderId>),
    /// The window is still open until this time (µs).
    NotYet(i64),
    /// Nothing to release: the order was cancelled, is not paid for, is on hold, or went already.
    Nothing,
}

pub async fn release(c: &mut Conn<'_>, order: OrderId, now: i64) -> Result<Released, ApiError> {
    let Some(order) = orders::lock(c, order).await? else { return Err(ApiError::NotFound("order")) };
    if order.status != OrderStatus::PaymentAuthorized || order.on_hold {
        return Ok(Released::Nothing);
    }
    if now < order.hold_until {
        return Ok(Released::NotYet(order.hold_until));
    }
    let pending: Vec<_> =
        shipments::for_order(c, order.id).await?.into_iter().filter(|s| s.status == ShipmentStatus::Pending).collect();
    let mut others = BTreeSet::new();
    for row in &pending {
        let candidates = shipments::consolidation_candidates(
            c,
            &order.customer_id.to_string(),
            &order.address_id.to_string(),
            order.delivery_speed.as_str(),
            &row.center,
            order.hold_until,
        )
        .await?;
        // The oldest row names the parcel; a row of this order goes first only when it is the oldest.
        let mut together: Vec<_> = candidates.into_iter().filter(|s| s.id != row.id).collect();
        together.push(row.clone());
        together.sort_by_key(|s| s.id);
        let head = together[0].id;
        let ids: Vec<_> = together.iter().map(|s| s.id).collect();
        shipments::consolidate(c, head, &ids).await?;
        for s in &together {
            shipments::move_row(c, s.id, ShipmentStatus::Pending, ShipmentStatus::Released, now).await?;
            if s.order_id != order.id {
                others.insert(s.order_id);
            }
        }
    }
    lifecycle::follow_shipments(c, &order, now).await?;
    let mut released = vec![order.id];
    for other in others {
        if let Some(o) = orders::lock(c, other).await? {
            lifecycle::follow_shipments(c, &o, now).await?;
            released.push(other);
        }
    }
    Ok(Released::Done(released))
}
