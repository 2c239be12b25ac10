//! Shipments: each order's part from one center, and the parcels they travel in.
//!
//! A placement writes one shipment row per center an order ships from. When the hold window ends, rows of one
//! customer to one address at one speed from one center are consolidated: each keeps its order, SKU and
//! quantity, and all but one name that one in `consolidated_into`. The parcel goes by that one's id, and its
//! row carries the box, weight, carrier and tracking number. A parcel's status is written to all its rows.

use crate::{args, Backend, Conn, Row, StoreError};
use buynow_domain::{OrderId, ShipmentId, ShipmentStatus};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shipment {
    pub id: ShipmentId,
    pub order_id: OrderId,
    pub center: String,
    pub sku: String,
    pub quantity: u32,
    pub status: ShipmentStatus,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    /// The shipment whose parcel this one travels in, once consolidated.
    pub consolidated_into: Option<ShipmentId>,
    pub box_code: Option<String>,
    pub weight_grams: Option<u32>,
    pub service: Option<String>,
    pub released_at: Option<i64>,
    pub shipped_at: Option<i64>,
    pub delivered_at: Option<i64>,
    /// The lost or damaged shipment whose items this one sends again, at no charge (a support reship).
    pub replaces: Option<ShipmentId>,
}

impl Shipment {
    /// A new shipment in the hold window.
    pub fn pending(order_id: OrderId, center: &str, sku: &str, quantity: u32) -> Shipment {
        Shipment {
            id: ShipmentId::new(),
            order_id,
            center: center.to_string(),
            sku: sku.to_string(),
            quantity,
            status: ShipmentStatus::Pending,
            carrier: None,
            tracking_number: None,
            consolidated_into: None,
            box_code: None,
            weight_grams: None,
            service: None,
            released_at: None,
            shipped_at: None,
            delivered_at: None,
            replaces: None,
        }
    }

    /// The id of the parcel it travels in.
    pub fn parcel(&self) -> ShipmentId {
        self.consolidated_into.unwrap_or(self.id)
    }
}

const COLS: &str = "id, order_id, center, sku, quantity, status, carrier, tracking_number, consolidated_into, box, \
    weight_grams, service, released_at, shipped_at, delivered_at, replaces";

fn shipment(r: &Row) -> Result<Shipment, StoreError> {
    let count = |name: &str| {
        r.opt_int(name)?.map(|n| u32::try_from(n).map_err(|e| StoreError::Corrupt(format!("{name}: {e}")))).transpose()
    };
    Ok(Shipment {
        id: r.parsed("id", ShipmentId::parse)?,
        order_id: r.parsed("order_id", OrderId::parse)?,
        center: r.text("center")?,
        sku: r.text("sku")?,
        quantity: count("quantity")?.unwrap_or(0),
        status: r.parsed("status", |s| ShipmentStatus::parse(s).ok_or("unknown shipment status"))?,
        carrier: r.opt_text("carrier")?,
        tracking_number: r.opt_text("tracking_number")?,
        consolidated_into: r
            .opt_text("consolidated_into")?
            .map(|s| ShipmentId::parse(&s))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("consolidated_into: {e}")))?,
        box_code: r.opt_text("box")?,
        weight_grams: count("weight_grams")?,
        service: r.opt_text("service")?,
        released_at: r.opt_int("released_at")?,
        shipped_at: r.opt_int("shipped_at")?,
        delivered_at: r.opt_int("delivered_at")?,
        replaces: r
            .opt_text("replaces")?
            .map(|s| ShipmentId::parse(&s))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("replaces: {e}")))?,
    })
}

fn for_update(c: &Conn<'_>) -> &'static str {
    match c.backend() {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    }
}

/// The order's shipment rows, oldest first.
pub async fn for_order(c: &mut Conn<'_>, order: OrderId) -> Result<Vec<Shipment>, StoreError> {
    Ok(for_orders(c, &[order]).await?.remove(&order).unwrap_or_default())
}

/// The shipment rows of each of `orders`, by id.
pub async fn for_orders(
    c: &mut Conn<'_>,
    orders: &[OrderId],
) -> Result<std::collections::HashMap<OrderId, Vec<Shipment>>, StoreError> {
    let select = |of: &str| format!("SELECT {COLS} FROM shipments WHERE {of} ORDER BY id");
    crate::db::grouped_where(c, "order_id", orders, select, |r| shipment(r).map(|s| (s.order_id, s))).await
}

pub async fn get(c: &mut Conn<'_>, id: ShipmentId) -> Result<Option<Shipment>, StoreError> {
    let sql = format!("SELECT {COLS} FROM shipments WHERE id = $1");
    c.opt(&sql, args![id.to_string()]).await?.as_ref().map(shipment).transpose()
}

/// The rows of the parcel `id` (its own first), locked until the transaction ends.
pub async fn lock_parcel(c: &mut Conn<'_>, id: ShipmentId) -> Result<Vec<Shipment>, StoreError> {
    let lock = for_update(c);
    let sql = format!(
        "SELECT {COLS} FROM shipments WHERE id = $1 OR consolidated_into = $1 \
         ORDER BY CASE WHEN id = $1 THEN 0 ELSE 1 END, id{lock}"
    );
    c.all(&sql, args![id.to_string()]).await?.iter().map(shipment).collect()
}

/// The rows of the parcel `id` (its own first).
pub async fn parcel(c: &mut Conn<'_>, id: ShipmentId) -> Result<Vec<Shipment>, StoreError> {
    let sql = format!(
        "SELECT {COLS} FROM shipments WHERE id = $1 OR consolidated_into = $1 \
         ORDER BY CASE WHEN id = $1 THEN 0 ELSE 1 END, id"
    );
    c.all(&sql, args![id.to_string()]).await?.iter().map(shipment).collect()
}

/// The rows at `center` that are at the warehouse (released, picking or packed), oldest first.
pub async fn at_center(c: &mut Conn<'_>, center: &str) -> Result<Vec<Shipment>, StoreError> {
    let sql = format!(
        "SELECT {COLS} FROM shipments WHERE center = $1 AND status IN ('released', 'picking', 'packed') ORDER BY id"
    );
    c.all(&sql, args![center]).await?.iter().map(shipment).collect()
}

/// The parcel a carrier knows by `tracking_number`.
pub async fn by_tracking(
    c: &mut Conn<'_>,
    carrier: &str,
    tracking_number: &str,
) -> Result<Option<Shipment>, StoreError> {
    let sql = format!("SELECT {COLS} FROM shipments WHERE carrier = $1 AND tracking_number = $2");
    c.opt(&sql, args![carrier, tracking_number]).await?.as_ref().map(shipment).transpose()
}

/// Moves every row of the parcel `parcel` that is in `from` to `to`, stamping the time it was released,
/// shipped or delivered; returns how many moved.
pub async fn move_parcel(
    c: &mut Conn<'_>,
    parcel: ShipmentId,
    from: ShipmentStatus,
    to: ShipmentStatus,
    at: i64,
) -> Result<u64, StoreError> {
    c.exec(
        "UPDATE shipments SET status = $3, updated_at = $4, \
         released_at = CASE WHEN $3 = 'released' THEN $4 ELSE released_at END, \
         shipped_at = CASE WHEN $3 = 'shipped' THEN $4 ELSE shipped_at END, \
         delivered_at = CASE WHEN $3 = 'delivered' THEN $4 ELSE delivered_at END \
         WHERE (id = $1 OR consolidated_into = $1) AND status = $2",
        args![parcel.to_string(), from.as_str(), to.as_str(), at],
    )
    .await
}

/// Moves one row (not its parcel) from `from` to `to`; `false` if it was no longer in `from`.
pub async fn move_row(
    c: &mut Conn<'_>,
    id: ShipmentId,
    from: ShipmentStatus,
    to: ShipmentStatus,
    at: i64,
) -> Result<bool, StoreError> {
    let n = c
        .exec(
            "UPDATE shipments SET status = $3, updated_at = $4, \
             released_at = CASE WHEN $3 = 'released' THEN $4 ELSE released_at END \
             WHERE id = $1 AND status = $2",
            args![id.to_string(), from.as_str(), to.as_str(), at],
        )
        .await?;
    Ok(n == 1)
}

/// `rows` travel in `into`'s parcel from now on.
pub async fn consolidate(c: &mut Conn<'_>, into: ShipmentId, rows: &[ShipmentId]) -> Result<(), StoreError> {
    for id in rows.iter().filter(|id| **id != into) {
        c.exec(
            "UPDATE shipments SET consolidated_into = $2 WHERE id = $1 AND consolidated_into IS NULL",
            args![id.to_string(), into.to_string()],
        )
        .await?;
    }
    Ok(())
}

/// The box and weight of the packed parcel.
pub async fn set_packed(
    c: &mut Conn<'_>,
    parcel: ShipmentId,
    box_code: &str,
    weight_grams: u32,
) -> Result<(), StoreError> {
    c.exec(
        "UPDATE shipments SET box = $2, weight_grams = $3 WHERE id = $1",
        args![parcel.to_string(), box_code, weight_grams],
    )
    .await
    .map(drop)
}

/// The carrier, service and tracking number the parcel left with (on its own row).
pub async fn set_carrier(
    c: &mut Conn<'_>,
    parcel: ShipmentId,
    carrier: &str,
    service: &str,
    tracking_number: &str,
) -> Result<(), StoreError> {
    c.exec(
        "UPDATE shipments SET carrier = $2, service = $3, tracking_number = $4 WHERE id = $1",
        args![parcel.to_string(), carrier, service, tracking_number],
    )
    .await
    .map(drop)
}

/// A row's quantity after a short pick.
pub async fn set_quantity(c: &mut Conn<'_>, id: ShipmentId, quantity: u32) -> Result<(), StoreError> {
    c.exec("UPDATE shipments SET quantity = $2 WHERE id = $1", args![id.to_string(), quantity]).await.map(drop)
}

/// A row added after placement (what a short pick re-sourced from another center).
pub async fn insert(c: &mut Conn<'_>, s: &Shipment, at: i64) -> Result<(), StoreError> {
    c.exec(
        "INSERT INTO shipments (id, order_id, center, sku, quantity, status, created_at, updated_at, released_at, \
         replaces) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9)",
        args![
            s.id.to_string(),
            s.order_id.to_string(),
            &s.center,
            &s.sku,
            s.quantity,
            s.status.as_str(),
            at,
            s.released_at,
            s.replaces.map(|r| r.to_string())
        ],
    )
    .await
    .map(drop)
}

/// Pending rows of other orders at `center` that a newly released one may travel with: same customer, address
/// and speed, on orders whose payment is authorized.
/// Only orders placed by `placed_by` count: inside the window of the order being released.
pub async fn consolidation_candidates(
    c: &mut Conn<'_>,
    customer: &str,
    address: &str,
    speed: &str,
    center: &str,
    placed_by: i64,
) -> Result<Vec<Shipment>, StoreError> {
    let cols = crate::db::qualified("s", COLS).join(", ");
    let sql = format!(
        "SELECT {cols} FROM orders o JOIN shipments s ON s.order_id = o.id \
         WHERE o.customer_id = $1 AND o.address_id = $2 AND o.delivery_speed = $3 AND o.created_at <= $5 \
         AND o.status = 'payment_authorized' AND o.on_hold = 0 AND s.center = $4 AND s.status = 'pending' ORDER BY s.id"
    );
    let rows = c.all(&sql, args![customer, address, speed, center, placed_by]).await?;
    rows.iter().map(shipment).collect()
}
