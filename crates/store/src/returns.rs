//! Returns: what the customer sends back, its label, and where it stands.

use crate::{args, Conn, Row, StoreError};
use buynow_domain::{Currency, Money, OrderId, ReturnId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Return {
    pub id: ReturnId,
    pub order_id: OrderId,
    /// `requested`, `received` or `refunded`.
    pub status: String,
    pub reason: String,
    /// JSON `[{sku, quantity}]`.
    pub lines: String,
    pub refund: Money,
    pub center: String,
    pub carrier: String,
    pub tracking_number: String,
    pub condition: Option<String>,
    pub created_at: i64,
}

const COLS: &str = "id, order_id, status, reason, lines, refund_amount, currency, center, carrier, tracking_number, \
    condition, created_at";

fn ret(r: &Row) -> Result<Return, StoreError> {
    Ok(Return {
        id: r.parsed("id", ReturnId::parse)?,
        order_id: r.parsed("order_id", OrderId::parse)?,
        status: r.text("status")?,
        reason: r.text("reason")?,
        lines: r.text("lines")?,
        refund: Money::new(r.int("refund_amount")?, r.parsed("currency", Currency::parse)?),
        center: r.text("center")?,
        carrier: r.text("carrier")?,
        tracking_number: r.text("tracking_number")?,
        condition: r.opt_text("condition")?,
        created_at: r.int("created_at")?,
    })
}

pub async fn insert(c: &mut Conn<'_>, r: &Return) -> Result<(), StoreError> {
    c.exec(
        "INSERT INTO returns (id, order_id, status, reason, lines, refund_amount, currency, center, carrier, \
         tracking_number, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        args![
            r.id.to_string(),
            r.order_id.to_string(),
            &r.status,
            &r.reason,
            &r.lines,
            r.refund.minor(),
            r.refund.currency().code(),
            &r.center,
            &r.carrier,
            &r.tracking_number,
            r.created_at
        ],
    )
    .await
    .map(drop)
}

pub async fn get(c: &mut Conn<'_>, id: ReturnId) -> Result<Option<Return>, StoreError> {
    let sql = format!("SELECT {COLS} FROM returns WHERE id = $1");
    c.opt(&sql, args![id.to_string()]).await?.as_ref().map(ret).transpose()
}

/// The returns of each of `orders`, by id.
pub async fn for_orders(
    c: &mut Conn<'_>,
    orders: &[OrderId],
) -> Result<std::collections::HashMap<OrderId, Vec<Return>>, StoreError> {
    let select = |of: &str| format!("SELECT {COLS} FROM returns WHERE {of} ORDER BY id");
    crate::db::grouped_where(c, "order_id", orders, select, |r| ret(r).map(|x| (x.order_id, x))).await
}

/// Moves the return from `from` to `to`; `false` if it had moved already.
pub async fn set_status(
    c: &mut Conn<'_>,
    id: ReturnId,
    from: &str,
    to: &str,
    condition: Option<&str>,
    at: i64,
) -> Result<bool, StoreError> {
    let n = c
        .exec(
            "UPDATE returns SET status = $3, condition = COALESCE($4, condition), \
             received_at = CASE WHEN $3 = 'received' THEN $5 ELSE received_at END, \
             refunded_at = CASE WHEN $3 = 'refunded' THEN $5 ELSE refunded_at END \
             WHERE id = $1 AND status = $2",
            args![id.to_string(), from, to, condition, at],
        )
        .await?;
    Ok(n == 1)
}
