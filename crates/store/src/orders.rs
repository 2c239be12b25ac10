//! Orders, their items, shipments and timeline.

use crate::db::Cols;
pub use crate::shipments::Shipment;
use crate::{args, Arg, Backend, Conn, Row, StoreError, Write};
use buynow_domain::{AddressId, Currency, EventKind};
use buynow_domain::{CustomerId, DeliverySpeed, Money, OrderId, OrderStatus, PaymentMethodId};
use std::collections::HashMap;

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
    /// The address as it was at placement: its sealed blob, copied from the address (and bound to its id).
    pub ship_to: Vec<u8>,
    pub payment_method_id: PaymentMethodId,
    pub estimated_earliest: String,
    pub estimated_latest: String,
    /// End of the hold window (µs): until then the order stays with us and can be changed or cancelled.
    pub hold_until: i64,
    pub declines: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// Held by something that needs a person (a short pick nothing could make up for).
    pub on_hold: bool,
    pub hold_reason: Option<String>,
}

/// An order moves from `from` to `to`, and its decline count becomes `declines`.
#[derive(Debug, Clone)]
pub struct OrderMove {
    pub from: OrderStatus,
    pub to: OrderStatus,
    pub declines: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub sku: String,
    pub title: String,
    pub quantity: u32,
    pub unit_price: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    pub at: i64,
    /// The order's state once this happened.
    pub status: OrderStatus,
    pub event: EventKind,
    pub note: String,
}

impl TimelineEntry {
    pub fn new(at: i64, status: OrderStatus, event: EventKind, note: impl Into<String>) -> TimelineEntry {
        TimelineEntry { at, status, event, note: note.into() }
    }
}

/// The columns a new order is written with (`on_hold` and `hold_reason` start at their defaults).
const INSERT_COLUMNS: &[&str] = &[
    "id",
    "customer_id",
    "status",
    "delivery_speed",
    "currency",
    "subtotal",
    "shipping",
    "tax",
    "total",
    "address_id",
    "ship_to",
    "legacy_ship_to",
    "payment_method_id",
    "estimated_earliest",
    "estimated_latest",
    "hold_until",
    "declines",
    "created_at",
    "updated_at",
];

/// The columns an order is read with, in `order_at`'s order.
pub(crate) const ORDER_COLS: &str =
    "id, customer_id, status, delivery_speed, currency, subtotal, shipping, tax, total, address_id, \
    ship_to, payment_method_id, estimated_earliest, estimated_latest, hold_until, declines, created_at, updated_at, \
    on_hold, hold_reason";

fn order(r: &Row) -> Result<Order, StoreError> {
    order_at(r, 0)
}

/// The order in the columns from `at` on (`ORDER_COLS`' order).
pub(crate) fn order_at(r: &Row, at: usize) -> Result<Order, StoreError> {
    let c = Cols::new(ORDER_COLS, at);
    let currency = r.parsed(c.get("currency"), Currency::parse)?;
    let money = |i| r.int(i).map(|m| Money::new(m, currency));
    Ok(Order {
        id: r.parsed(c.get("id"), OrderId::parse)?,
        customer_id: r.parsed(c.get("customer_id"), CustomerId::parse)?,
        status: r.parsed(c.get("status"), |s| OrderStatus::parse(s).ok_or("unknown status"))?,
        delivery_speed: r.parsed(c.get("delivery_speed"), |s| DeliverySpeed::parse(s).ok_or("unknown speed"))?,
        subtotal: money(c.get("subtotal"))?,
        shipping: money(c.get("shipping"))?,
        tax: money(c.get("tax"))?,
        total: money(c.get("total"))?,
        address_id: r.parsed(c.get("address_id"), AddressId::parse)?,
        ship_to: r.blob(c.get("ship_to"))?,
        payment_method_id: r.parsed(c.get("payment_method_id"), PaymentMethodId::parse)?,
        estimated_earliest: r.text(c.get("estimated_earliest"))?,
        estimated_latest: r.text(c.get("estimated_latest"))?,
        hold_until: r.int(c.get("hold_until"))?,
        declines: r.int(c.get("declines"))?,
        created_at: r.int(c.get("created_at"))?,
        updated_at: r.int(c.get("updated_at"))?,
        on_hold: r.flag(c.get("on_hold"))?,
        hold_reason: r.opt_text(c.get("hold_reason"))?,
    })
}

const ITEM_COLUMNS: &[&str] = &["order_id", "sku", "title", "quantity", "unit_price"];
const SHIPMENT_COLUMNS: &[&str] =
    &["id", "order_id", "center", "sku", "quantity", "status", "carrier", "tracking_number", "created_at"];
const TIMELINE_COLUMNS: &[&str] = &["order_id", "at", "status", "event", "note"];

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
        o.ship_to.clone(),
        "",
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

/// The writes of new orders, their items and their shipments: one per table however many orders there are
/// (see `Conn::together`), which is what lets a group commit of placements cost a handful of round trips.
pub fn insert_writes(orders: &[NewOrderRows<'_>]) -> Vec<Write<'static>> {
    let rows = orders.iter().map(|n| order_row(n.order)).collect();
    let items = orders
        .iter()
        .flat_map(|n| {
            n.items.iter().map(|i| args![n.order.id.to_string(), &i.sku, &i.title, i.quantity, i.unit_price.minor()])
        })
        .collect();
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
                    s.status.as_str(),
                    s.carrier.clone(),
                    s.tracking_number.clone(),
                    n.order.created_at
                ]
            })
        })
        .collect();
    vec![
        Write::Rows { table: "orders", columns: INSERT_COLUMNS, rows, tail: "" },
        Write::Rows { table: "order_items", columns: ITEM_COLUMNS, rows: items, tail: "" },
        Write::Rows { table: "shipments", columns: SHIPMENT_COLUMNS, rows: shipments, tail: "" },
    ]
}

pub async fn get(c: &mut Conn<'_>, id: OrderId) -> Result<Option<Order>, StoreError> {
    let sql = format!("SELECT {ORDER_COLS} FROM orders WHERE id = $1");
    c.opt(&sql, args![id.to_string()]).await?.as_ref().map(order).transpose()
}

/// The orders of `ids` that exist, in no set order.
pub async fn get_many(c: &mut Conn<'_>, ids: &[OrderId]) -> Result<Vec<Order>, StoreError> {
    let (of, args) = crate::db::one_of(c.backend(), "id", ids, 1);
    c.all(&format!("SELECT {ORDER_COLS} FROM orders WHERE {of}"), args).await?.iter().map(order).collect()
}

/// The writes that move each order on, guarded by the state it was decided on (among others, see
/// `Conn::together`; their counts say how many moved): on PostgreSQL one statement, on SQLite one per order.
pub fn move_writes(backend: Backend, moves: &[(OrderId, &OrderMove, i64)]) -> Vec<Write<'static>> {
    if moves.is_empty() {
        return Vec::new();
    }
    match backend {
        Backend::Postgres => {
            let mut cols = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for (id, m, at) in moves {
                cols.0.push(id.to_string());
                cols.1.push(m.from.as_str().to_string());
                cols.2.push(m.to.as_str().to_string());
                cols.3.push(m.declines);
                cols.4.push(*at);
            }
            vec![Write::Sql {
                sql: "UPDATE orders SET status = m.to_status, declines = m.declines, updated_at = m.at \
                      FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[]) \
                      AS m(id, from_status, to_status, declines, at) \
                      WHERE orders.id = ANY($1::text[]) AND orders.id = m.id AND orders.status = m.from_status",
                args: vec![
                    Arg::Texts(cols.0),
                    Arg::Texts(cols.1),
                    Arg::Texts(cols.2),
                    Arg::Ints(cols.3),
                    Arg::Ints(cols.4),
                ],
            }]
        }
        Backend::Sqlite => moves
            .iter()
            .map(|(id, m, at)| Write::Sql {
                sql: "UPDATE orders SET status = $3, declines = $4, updated_at = $5 WHERE id = $1 AND status = $2",
                args: args![id.to_string(), m.from.as_str(), m.to.as_str(), m.declines, *at],
            })
            .collect(),
    }
}

/// Newest first.
pub async fn for_customer(c: &mut Conn<'_>, customer: CustomerId, limit: u32) -> Result<Vec<Order>, StoreError> {
    let sql =
        format!("SELECT {ORDER_COLS} FROM orders WHERE customer_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2");
    c.all(&sql, args![customer.to_string(), limit]).await?.iter().map(order).collect()
}

pub async fn items(c: &mut Conn<'_>, order: &Order) -> Result<Vec<Item>, StoreError> {
    Ok(items_of(c, std::slice::from_ref(order)).await?.remove(&order.id).unwrap_or_default())
}

/// The items of each of `orders`, by SKU, priced in the currency of the order in hand: the query reads
/// `order_items` alone, not each order's row again.
pub async fn items_of(c: &mut Conn<'_>, orders: &[Order]) -> Result<HashMap<OrderId, Vec<Item>>, StoreError> {
    let currency: HashMap<OrderId, Currency> = orders.iter().map(|o| (o.id, o.total.currency())).collect();
    let ids: Vec<OrderId> = orders.iter().map(|o| o.id).collect();
    let select = |of: &str| {
        format!("SELECT order_id, sku, title, quantity, unit_price FROM order_items WHERE {of} ORDER BY order_id, sku")
    };
    crate::db::grouped_where(c, "order_id", &ids, select, |r| {
        let order = r.parsed("order_id", OrderId::parse)?;
        let currency = *currency.get(&order).ok_or_else(|| StoreError::Corrupt("an item of no order asked".into()))?;
        let item = Item {
            sku: r.text("sku")?,
            title: r.text("title")?,
            quantity: u32::try_from(r.int("quantity")?).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            unit_price: Money::new(r.int("unit_price")?, currency),
        };
        Ok((order, item))
    })
    .await
}

/// The timeline of each of `ids`, oldest entry first.
pub async fn timelines_of(
    c: &mut Conn<'_>,
    ids: &[OrderId],
) -> Result<HashMap<OrderId, Vec<TimelineEntry>>, StoreError> {
    let select = |of: &str| {
        format!("SELECT order_id, at, status, event, note FROM order_timeline WHERE {of} ORDER BY order_id, seq")
    };
    crate::db::grouped_where(c, "order_id", ids, select, |r| {
        let entry = TimelineEntry {
            at: r.int("at")?,
            status: r.parsed("status", |s| OrderStatus::parse(s).ok_or("unknown status"))?,
            // Entries written before events were typed have none: they were state changes.
            event: match r.text("event")?.as_str() {
                "" => EventKind::OrderPlaced,
                e => EventKind::parse(e).ok_or_else(|| StoreError::Corrupt(format!("unknown event {e:?}")))?,
            },
            note: r.text("note")?,
        };
        Ok((r.parsed("order_id", OrderId::parse)?, entry))
    })
    .await
}

pub async fn add_timeline(c: &mut Conn<'_>, id: OrderId, entry: &TimelineEntry) -> Result<(), StoreError> {
    c.together(vec![timeline_write(&[(id, entry)])]).await.map(drop)
}

/// The write of entries to orders' timelines, among others (see `Conn::together`).
pub fn timeline_write(entries: &[(OrderId, &TimelineEntry)]) -> Write<'static> {
    let rows = entries
        .iter()
        .map(|(id, e)| args![id.to_string(), e.at, e.status.as_str(), e.event.as_str(), &e.note])
        .collect();
    Write::Rows { table: "order_timeline", columns: TIMELINE_COLUMNS, rows, tail: "" }
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

/// Puts the order on hold (or takes it off), with the reason the customer and staff are shown.
pub async fn set_hold(c: &mut Conn<'_>, id: OrderId, reason: Option<&str>, at: i64) -> Result<(), StoreError> {
    c.exec(
        "UPDATE orders SET on_hold = $2, hold_reason = $3, updated_at = $4 WHERE id = $1",
        args![id.to_string(), reason.is_some(), reason, at],
    )
    .await
    .map(drop)
}

/// Orders in `status`, not on hold, unchanged since before `before`, the longest unchanged first: what the
/// sweeper looks at.
pub async fn unchanged_since(
    c: &mut Conn<'_>,
    status: OrderStatus,
    before: i64,
    limit: u32,
) -> Result<Vec<Order>, StoreError> {
    let sql = format!(
        "SELECT {ORDER_COLS} FROM orders WHERE status = $1 AND updated_at < $2 AND on_hold = 0 \
         ORDER BY updated_at LIMIT $3"
    );
    c.all(&sql, args![status.as_str(), before, limit]).await?.iter().map(order).collect()
}

/// A revised delivery estimate (a carrier's delay).
pub async fn set_estimate(
    c: &mut Conn<'_>,
    id: OrderId,
    earliest: &str,
    latest: &str,
    at: i64,
) -> Result<(), StoreError> {
    c.exec(
        "UPDATE orders SET estimated_earliest = $2, estimated_latest = $3, updated_at = $4 WHERE id = $1",
        args![id.to_string(), earliest, latest, at],
    )
    .await
    .map(drop)
}

/// Locks the order row until the transaction ends (PostgreSQL; SQLite's one writer holds everything) and reads it.
pub async fn lock(c: &mut Conn<'_>, id: OrderId) -> Result<Option<Order>, StoreError> {
    let lock = match c.backend() {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let sql = format!("SELECT {ORDER_COLS} FROM orders WHERE id = $1{lock}");
    c.opt(&sql, args![id.to_string()]).await?.as_ref().map(order).transpose()
}
