//! Payment attempts: one row per authorization, keyed by the id the gateway sees as its idempotency key.

use crate::{args, Conn, Row, StoreError};
use buynow_domain::{Currency, Money, OrderId, PaymentId, PaymentMethodId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStatus {
    /// Written with the order; the authorization has not been answered yet.
    Pending,
    Authorized,
    Declined,
    /// The authorization hold was released (order cancelled).
    Voided,
    /// Never sent to the gateway: the order was cancelled first.
    Cancelled,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::Authorized => "authorized",
            PaymentStatus::Declined => "declined",
            PaymentStatus::Voided => "voided",
            PaymentStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        use PaymentStatus::*;
        [Pending, Authorized, Declined, Voided, Cancelled].into_iter().find(|p| p.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub id: PaymentId,
    pub order_id: OrderId,
    pub payment_method_id: PaymentMethodId,
    pub amount: Money,
    pub status: PaymentStatus,
    pub authorization: Option<String>,
    pub decline_code: Option<String>,
}

const COLS: &str = "id, order_id, payment_method_id, amount, currency, status, authorization_ref, decline_code";

fn payment(r: &Row) -> Result<Payment, StoreError> {
    Ok(Payment {
        id: r.parsed(0, PaymentId::parse)?,
        order_id: r.parsed(1, OrderId::parse)?,
        payment_method_id: r.parsed(2, PaymentMethodId::parse)?,
        amount: Money::new(r.int(3)?, r.parsed(4, Currency::parse)?),
        status: r.parsed(5, |s| PaymentStatus::parse(s).ok_or("unknown payment status"))?,
        authorization: r.opt_text(6)?,
        decline_code: r.opt_text(7)?,
    })
}

pub async fn insert(c: &mut Conn<'_>, p: &Payment, at: i64) -> Result<(), StoreError> {
    insert_all(c, &[(p, at)]).await
}

/// Writes new payments, each with when it was made, in one statement (see `Conn::insert_rows`).
pub async fn insert_all(c: &mut Conn<'_>, payments: &[(&Payment, i64)]) -> Result<(), StoreError> {
    let rows = payments
        .iter()
        .map(|&(p, at)| {
            args![
                p.id.to_string(),
                p.order_id.to_string(),
                p.payment_method_id.to_string(),
                p.amount.minor(),
                p.amount.currency().code(),
                p.status.as_str(),
                p.authorization.clone(),
                p.decline_code.clone(),
                at,
                at
            ]
        })
        .collect();
    let columns: Vec<&str> = COLS.split(',').map(str::trim).chain(["created_at", "updated_at"]).collect();
    c.insert_rows("payments", &columns, rows, "").await.map(drop)
}

pub async fn get(c: &mut Conn<'_>, id: PaymentId) -> Result<Option<Payment>, StoreError> {
    let sql = format!("SELECT {COLS} FROM payments WHERE id = $1");
    c.opt(&sql, args![id.to_string()]).await?.as_ref().map(payment).transpose()
}

/// The order's latest attempt.
pub async fn latest_for_order(c: &mut Conn<'_>, order: OrderId) -> Result<Option<Payment>, StoreError> {
    let sql = format!("SELECT {COLS} FROM payments WHERE order_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1");
    c.opt(&sql, args![order.to_string()]).await?.as_ref().map(payment).transpose()
}

/// Moves a payment on only from `from`; `false` if it had already moved (a retried job, a race).
pub async fn set_status(
    c: &mut Conn<'_>,
    id: PaymentId,
    from: PaymentStatus,
    to: PaymentStatus,
    authorization: Option<&str>,
    decline_code: Option<&str>,
    at: i64,
) -> Result<bool, StoreError> {
    let n = c
        .exec(
            "UPDATE payments SET status = $3, authorization_ref = COALESCE($4, authorization_ref), decline_code = COALESCE($5, decline_code), \
             updated_at = $6 WHERE id = $1 AND status = $2",
            args![id.to_string(), from.as_str(), to.as_str(), authorization, decline_code, at],
        )
        .await?;
    Ok(n == 1)
}
