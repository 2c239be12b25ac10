//! History for `buynow bench --prefill`: orders placed through the placement writer, then moved in bulk to where
//! a delivered order's lifecycle leaves them, as if it had run long ago.
//!
//! This is not the lifecycle's own code path (that runs a job, a warehouse scan and a carrier event per
//! shipment, far too slowly to fill millions of orders): it writes the rows those leave behind, so that the
//! tables Buy Now writes and reads are as large as a shop's after that many orders. What it does not write (the
//! carrier's tracking events, the messages sent, the processor's own records) is named in docs/performance.md.

use crate::orders::{self, TimelineEntry};
use crate::{Arg, Conn, StoreError};
use buynow_domain::{EventKind, JobId, OrderId, OrderStatus};
use std::collections::{BTreeMap, HashMap};

const CAPTURE_COLUMNS: [&str; 9] =
    ["id", "payment_id", "shipment_id", "amount", "currency", "status", "gateway_ref", "created_at", "updated_at"];

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("prefill: {what} is missing"))
}

/// An order the prefill placed: its authorization job was written claimed, for no worker to take.
#[derive(Debug, Clone, Copy)]
pub struct Prefilled {
    pub order: OrderId,
    pub job: JobId,
    /// When it was placed (µs).
    pub at: i64,
}

/// When each step of a prefilled order happened, after its placement (µs).
const AUTHORIZED_AFTER: i64 = 1_000_000;
const RELEASED_AFTER: i64 = 90 * 60 * 1_000_000;
const SHIPPED_AFTER: i64 = 20 * 3600 * 1_000_000;
const DELIVERED_AFTER: i64 = 3 * 24 * 3600 * 1_000_000;

/// Moves these orders, as the prefill placed them, to delivered: payment authorized, captured in full and
/// reconciled; each shipment released, shipped by UPS and delivered; the stock they reserved shipped; their
/// timelines written; their job done and their event published, at the times a real order's would be. The rows
/// kept only for a while are then past the retention, for the sweep to delete.
pub async fn deliver(c: &mut Conn<'_>, placed: &[Prefilled]) -> Result<(), StoreError> {
    if placed.is_empty() {
        return Ok(());
    }
    let ids: Vec<Arg> = placed.iter().map(|p| Arg::Text(p.order.to_string())).collect();
    let list = crate::db::placeholders(ids.len());
    let n = ids.len() + 1;
    let with_after = |after: i64| {
        let mut args = ids.clone();
        args.push(Arg::Int(after));
        args
    };
    c.exec(
        &format!("UPDATE orders SET status = 'delivered', updated_at = created_at + ${n} WHERE id IN ({list})"),
        with_after(DELIVERED_AFTER),
    )
    .await?;
    c.exec(
        &format!(
            "UPDATE payments SET status = 'captured', captured = amount, authorization_ref = 'auth_sbx_' || id, \
             authorized_at = created_at + {AUTHORIZED_AFTER}, reconciled_at = created_at + ${n}, \
             updated_at = created_at + ${n} WHERE order_id IN ({list})"
        ),
        with_after(SHIPPED_AFTER),
    )
    .await?;
    c.exec(
        &format!(
            "UPDATE shipments SET status = 'delivered', carrier = 'ups', service = 'ground', box = 'M', \
             weight_grams = 500, tracking_number = '1Z' || substr(id, 5), \
             released_at = created_at + {RELEASED_AFTER}, shipped_at = created_at + {SHIPPED_AFTER}, \
             delivered_at = created_at + ${n}, updated_at = created_at + ${n} WHERE order_id IN ({list})"
        ),
        with_after(DELIVERED_AFTER),
    )
    .await?;
    // Read back and written from here rather than by one INSERT … SELECT joining shipments to payments: over an
    // IN list of hundreds, PostgreSQL's plan for that join walked the whole payments index.
    let payments = c
        .all(&format!("SELECT order_id, id, amount, currency FROM payments WHERE order_id IN ({list})"), ids.clone())
        .await?;
    let mut payment_of = HashMap::new();
    for r in &payments {
        payment_of.insert(r.text(0)?, (r.text(1)?, r.int(2)?, r.text(3)?));
    }
    let shipments = c
        .all(
            &format!(
                "SELECT id, order_id, sku, center, quantity, created_at FROM shipments WHERE order_id IN ({list})"
            ),
            ids.clone(),
        )
        .await?;
    let mut captures = Vec::with_capacity(shipments.len());
    let mut by_stock = BTreeMap::new();
    for r in &shipments {
        let (id, order) = (r.text(0)?, r.text(1)?);
        let (payment, amount, currency) = payment_of.get(&order).ok_or_else(|| corrupt("a shipment's payment"))?;
        let suffix = id.get(4..).unwrap_or_default();
        let at = r.int(5)? + SHIPPED_AFTER;
        captures.push(crate::args![
            format!("cap_{suffix}"),
            payment,
            &id,
            *amount,
            currency,
            "captured",
            format!("cap_sbx_{suffix}"),
            at,
            at
        ]);
        *by_stock.entry((r.text(2)?, r.text(3)?)).or_insert(0) += r.int(4)?;
    }
    c.insert_rows("captures", &CAPTURE_COLUMNS, captures, "").await?;
    for ((sku, center), quantity) in by_stock {
        c.exec(
            "UPDATE stock SET on_hand = on_hand - $3, reserved = reserved - $3 WHERE sku = $1 AND center = $2",
            crate::args![sku, center, quantity],
        )
        .await?;
    }
    let steps = [
        (AUTHORIZED_AFTER, OrderStatus::PaymentAuthorized, EventKind::PaymentAuthorized, "Payment authorized"),
        (RELEASED_AFTER, OrderStatus::Released, EventKind::OrderReleased, "Released to the fulfillment center"),
        (SHIPPED_AFTER, OrderStatus::Shipped, EventKind::ShipmentShipped, "Shipped with UPS Ground"),
        (SHIPPED_AFTER, OrderStatus::Shipped, EventKind::PaymentCaptured, "Charged for the items shipped"),
        (DELIVERED_AFTER, OrderStatus::Delivered, EventKind::ShipmentDelivered, "Delivered"),
    ];
    let entries: Vec<(OrderId, TimelineEntry)> = placed
        .iter()
        .flat_map(|p| {
            steps.iter().map(move |&(after, status, event, note)| {
                (p.order, TimelineEntry::new(p.at + after, status, event, note))
            })
        })
        .collect();
    let refs: Vec<(OrderId, &TimelineEntry)> = entries.iter().map(|(id, e)| (*id, e)).collect();
    c.together(vec![orders::timeline_write(&refs)]).await?;
    let jobs: Vec<Arg> = placed.iter().map(|p| Arg::Text(p.job.to_string())).collect();
    c.exec(
        &format!(
            "UPDATE jobs SET status = 'done', attempts = 1, locked_until = NULL, finished_at = run_at + {AUTHORIZED_AFTER} \
             WHERE id IN ({list})"
        ),
        jobs,
    )
    .await?;
    c.exec(
        &format!(
            "UPDATE outbox SET published_at = created_at + {AUTHORIZED_AFTER} \
             WHERE published_at IS NULL AND order_id IN ({list})"
        ),
        ids,
    )
    .await?;
    Ok(())
}
