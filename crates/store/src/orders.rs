//! Orders, their items, shipments and timeline.

use crate::{args, Arg, Backend, Conn, Row, StoreError};
use buynow_domain::{AddressId, Currency};
use buynow_domain::{CustomerId, DeliverySpeed, Money, OrderId, OrderStatus, PaymentMethodId, ShipmentId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: OrderId,
    pub customer_id: CustomerId,
    pub status: OrderStatus,
    pub delivery_speed: DeliverySpeed,
    pub subtotal: Money,
    pub shipping: Money,
    pub tax: Money,
    pub total: Money,
    pub address_id: AddressId,
    /// The address as it was at placement, JSON.
    pub ship_to: String,
    pub payment_method_id: PaymentMethodId,
    pub estimated_earliest: String,
    pub estimated_latest: String,
    /// End of the hold window (µs): until then the order stays with us and can be changed or cancelled.
    pub hold_until: i64,
    pub declines: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub sku: String,
    pub title: String,
    pub quantity: u32,
    pub unit_price: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shipment {
    pub id: ShipmentId,
    pub center: String,
    pub sku: String,
    pub quantity: u32,
    pub status: String,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    pub at: i64,
    pub status: String,
    pub note: String,
}

const ORDER_COLS: &str =
    "id, customer_id, status, delivery_speed, currency, subtotal, shipping, tax, total, address_id, \
    ship_to, payment_method_id, estimated_earliest, estimated_latest, hold_until, declines, created_at, updated_at";

fn order(r: &Row) -> Result<Order, StoreError> {
    let currency = r.parsed(4, Currency::parse)?;
    let money = |i| r.int(i).map(|m| Money::new(m, currency));
    Ok(Order {
        id: r.parsed(0, OrderId::parse)?,
        customer_id: r.parsed(1, CustomerId::parse)?,
        status: r.parsed(2, |s| OrderStatus::parse(s).ok_or("unknown status"))?,
        delivery_speed: r.parsed(3, |s| DeliverySpeed::parse(s).ok_or("unknown speed"))?,
        subtotal: money(5)?,
        shipping: money(6)?,
        tax: money(7)?,
        total: money(8)?,
        address_id: r.parsed(9, AddressId::parse)?,
        ship_to: r.text(10)?,
        payment_method_id: r.parsed(11, PaymentMethodId::parse)?,
        estimated_earliest: r.text(12)?,
        estimated_latest: r.text(13)?,
        hold_until: r.int(14)?,
        declines: r.int(15)?,
        created_at: r.int(16)?,
        updated_at: r.int(17)?,
    })
}

fn columns(list: &str) -> Vec<&str> {
    list.split(',').map(str::trim).collect()
}

fn order_row(o: &Order) -> Vec<Arg> {
    args![
        o.id.to_string(),
        o.customer_id.to_string(),
        o.status.as_str(),
        o.delivery_speed.as_str(),
        o.total.currency().code(),
        o.subtotal.minor(),
        o.shipping.minor(),
        o.tax.minor(),
        o.total.minor(),
        o.address_id.to_string(),
        &o.ship_to,
        o.payment_method_id.to_string(),
        &o.estimated_earliest,
        &o.estimated_latest,
        o.hold_until,
        o.declines,
        o.created_at,
        o.updated_at
    ]
}

/// A new order with what it is made of.
pub struct NewOrderRows<'a> {
    pub order: &'a Order,
    pub items: &'a [Item],
    pub shipments: &'a [Shipment],
}

/// Writes new orders, their items and their shipments: one statement per table however many orders there are
/// (see `Conn::insert_rows`), which is what lets a group commit of placements cost a handful of round trips.
pub async fn insert_all(c: &mut Conn<'_>, orders: &[NewOrderRows<'_>]) -> Result<(), StoreError> {
    let rows = orders.iter().map(|n| order_row(n.order)).collect();
    c.insert_rows("orders", &columns(ORDER_COLS), rows, "").await?;
    let items = orders
        .iter()
        .flat_map(|n| {
            n.items.iter().map(|i| args![n.order.id.to_string(), &i.sku, &i.title, i.quantity, i.unit_price.minor()])
        })
        .collect();
    c.insert_rows("order_items", &["order_id", "sku", "title", "quantity", "unit_price"], items, "").await?;
    let shipments = orders
        .iter()
        .flat_map(|n| {
            n.shipments.iter().map(|s| {
                args![
                    s.id.to_string(),
                    n.order.id.to_string(),
                    &s.center,
                    &s.sku,
                    s.quantity,
                    &s.status,
                    s.carrier.clone(),
                    s.tracking_number.clone(),
                    n.order.created_at
                ]
            })
        })
        .collect();
    let shipment_columns =
        ["id", "order_id", "center", "sku", "quantity", "status", "carrier", "tracking_number", "created_at"];
    c.insert_rows("shipments", &shipment_columns, shipments, "").await?;
    Ok(())
}

pub async fn insert(c: &mut Conn<'_>, o: &Order, items: &[Item], shipments: &[Shipment]) -> Result<(), StoreError> {
    insert_all(c, &[NewOrderRows { order: o, items, shipments }]).await
}

pub async fn get(c: &mut Conn<'_>, id: OrderId) -> Result<Option<Order>, StoreError> {
    let sql = format!("SELECT {ORDER_COLS} FROM orders WHERE id = $1");
    c.opt(&sql, args![id.to_string()]).await?.as_ref().map(order).transpose()
}

/// The order, locked for the rest of the transaction. Every transaction that changes an order and its payment
/// locks the order first, so two of them (a cancel, an authorization answer) cannot deadlock on PostgreSQL. On
/// SQLite the writer holds the whole database already.
pub async fn lock(c: &mut Conn<'_>, id: OrderId) -> Result<Option<Order>, StoreError> {
    let for_update = match c.backend() {
        Backend::Postgres => "FOR UPDATE",
        Backend::Sqlite => "",
    };
    let sql = format!("SELECT {ORDER_COLS} FROM orders WHERE id = $1 {for_update}");
    c.opt(&sql, args![id.to_string()]).await?.as_ref().map(order).transpose()
}

/// Newest first.
pub async fn for_customer(c: &mut Conn<'_>, customer: CustomerId, limit: u32) -> Result<Vec<Order>, StoreError> {
    let sql =
        format!("SELECT {ORDER_COLS} FROM orders WHERE customer_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2");
    c.all(&sql, args![customer.to_string(), limit]).await?.iter().map(order).collect()
}

pub async fn items(c: &mut Conn<'_>, id: OrderId) -> Result<Vec<Item>, StoreError> {
    let rows = c
        .all(
            "SELECT i.sku, i.title, i.quantity, i.unit_price, o.currency FROM order_items i JOIN orders o ON o.id = i.order_id \
             WHERE i.order_id = $1 ORDER BY i.sku",
            args![id.to_string()],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Item {
                sku: r.text(0)?,
                title: r.text(1)?,
                quantity: u32::try_from(r.int(2)?).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                unit_price: Money::new(r.int(3)?, r.parsed(4, Currency::parse)?),
            })
        })
        .collect()
}

pub async fn shipments(c: &mut Conn<'_>, id: OrderId) -> Result<Vec<Shipment>, StoreError> {
    let rows = c
        .all(
            "SELECT id, center, sku, quantity, status, carrier, tracking_number FROM shipments WHERE order_id = $1 ORDER BY id",
            args![id.to_string()],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Shipment {
                id: r.parsed(0, ShipmentId::parse)?,
                center: r.text(1)?,
                sku: r.text(2)?,
                quantity: u32::try_from(r.int(3)?).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                status: r.text(4)?,
                carrier: r.opt_text(5)?,
                tracking_number: r.opt_text(6)?,
            })
        })
        .collect()
}

pub async fn timeline(c: &mut Conn<'_>, id: OrderId) -> Result<Vec<TimelineEntry>, StoreError> {
    let rows = c
        .all("SELECT at, status, note FROM order_timeline WHERE order_id = $1 ORDER BY seq", args![id.to_string()])
        .await?;
    rows.iter().map(|r| Ok(TimelineEntry { at: r.int(0)?, status: r.text(1)?, note: r.text(2)? })).collect()
}

pub async fn add_timeline(
    c: &mut Conn<'_>,
    id: OrderId,
    at: i64,
    status: OrderStatus,
    note: &str,
) -> Result<(), StoreError> {
    let entry = TimelineEntry { at, status: status.as_str().to_string(), note: note.to_string() };
    add_timeline_all(c, &[(id, &entry)]).await
}

/// Adds entries to orders' timelines, in one statement (see `Conn::insert_rows`).
pub async fn add_timeline_all(c: &mut Conn<'_>, entries: &[(OrderId, &TimelineEntry)]) -> Result<(), StoreError> {
    let rows = entries.iter().map(|(id, e)| args![id.to_string(), e.at, &e.status, &e.note]).collect();
    c.insert_rows("order_timeline", &["order_id", "at", "status", "note"], rows, "").await.map(drop)
}

/// Moves the order from `from` to `to` only if it is still in `from`: `false` when someone else moved it first.
pub async fn set_status(
    c: &mut Conn<'_>,
    id: OrderId,
    from: OrderStatus,
    to: OrderStatus,
    at: i64,
) -> Result<bool, StoreError> {
    let n = c
        .exec(
            "UPDATE orders SET status = $3, updated_at = $4 WHERE id = $1 AND status = $2",
            args![id.to_string(), from.as_str(), to.as_str(), at],
        )
        .await?;
    Ok(n == 1)
}

pub async fn set_payment_method(c: &mut Conn<'_>, id: OrderId, pm: PaymentMethodId) -> Result<(), StoreError> {
    c.exec("UPDATE orders SET payment_method_id = $2 WHERE id = $1", args![id.to_string(), pm.to_string()])
        .await
        .map(drop)
}

pub async fn count_decline(c: &mut Conn<'_>, id: OrderId) -> Result<i64, StoreError> {
    c.exec("UPDATE orders SET declines = declines + 1 WHERE id = $1", args![id.to_string()]).await?;
    c.one("SELECT declines FROM orders WHERE id = $1", args![id.to_string()]).await?.int(0)
}

pub async fn set_shipments_status(c: &mut Conn<'_>, id: OrderId, status: &str) -> Result<(), StoreError> {
    c.exec("UPDATE shipments SET status = $2 WHERE order_id = $1", args![id.to_string(), status]).await.map(drop)
}
