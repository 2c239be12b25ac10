//! Payment attempts: one row per authorization, keyed by the id the gateway sees as its idempotency key.

use crate::order_jobs::PaymentMove;
use crate::{args, Arg, Backend, Conn, Row, StoreError, Write};
use buynow_domain::{Currency, Money, OrderId, PaymentId, PaymentMethodId};
use std::sync::LazyLock;

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

pub(crate) const COLS: &str =
    "id, order_id, payment_method_id, amount, currency, status, authorization_ref, decline_code";

fn payment(r: &Row) -> Result<Payment, StoreError> {
    payment_at(r, 0)
}

/// The payment in the columns from `at` on (`COLS`' order).
pub(crate) fn payment_at(r: &Row, at: usize) -> Result<Payment, StoreError> {
    Ok(Payment {
        id: r.parsed(at, PaymentId::parse)?,
        order_id: r.parsed(at + 1, OrderId::parse)?,
        payment_method_id: r.parsed(at + 2, PaymentMethodId::parse)?,
        amount: Money::new(r.int(at + 3)?, r.parsed(at + 4, Currency::parse)?),
        status: r.parsed(at + 5, |s| PaymentStatus::parse(s).ok_or("unknown payment status"))?,
        authorization: r.opt_text(at + 6)?,
        decline_code: r.opt_text(at + 7)?,
    })
}

pub async fn insert(c: &mut Conn<'_>, p: &Payment, at: i64) -> Result<(), StoreError> {
    c.together(vec![insert_write(&[(p, at)])]).await.map(drop)
}

static INSERT_COLUMNS: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| COLS.split(',').map(str::trim).chain(["created_at", "updated_at"]).collect());

/// The write of new payments, each with when it was made, among others (see `Conn::together`).
pub fn insert_write(payments: &[(&Payment, i64)]) -> Write<'static> {
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
    Write::Rows { table: "payments", columns: &INSERT_COLUMNS, rows, tail: "" }
}

pub async fn get(c: &mut Conn<'_>, id: PaymentId) -> Result<Option<Payment>, StoreError> {
    let sql = format!("SELECT {COLS} FROM payments WHERE id = $1");
    c.opt(&sql, args![id.to_string()]).await?.as_ref().map(payment).transpose()
}

/// The payments of `ids` there are.
pub async fn get_all(c: &mut Conn<'_>, ids: &[PaymentId]) -> Result<Vec<Payment>, StoreError> {
    match c.backend() {
        Backend::Postgres => {
            let sql = format!("SELECT {COLS} FROM payments WHERE id = ANY($1)");
            let ids = ids.iter().map(|id| id.to_string()).collect();
            c.all(&sql, vec![Arg::Texts(ids)]).await?.iter().map(payment).collect()
        }
        Backend::Sqlite => {
            let mut found = Vec::with_capacity(ids.len());
            for id in ids {
                found.extend(get(c, *id).await?);
            }
            Ok(found)
        }
    }
}

const SET_STATUS: &str = "UPDATE payments SET status = $3, authorization_ref = COALESCE($4, authorization_ref), \
    decline_code = COALESCE($5, decline_code), updated_at = $6 WHERE id = $1 AND status = $2";

/// The writes that move each payment on, guarded by the state it was decided on as `set_status` is (among
/// others, see `Conn::together`; their counts say how many moved): on PostgreSQL one statement, on SQLite one
/// per payment.
pub fn move_writes(backend: Backend, moves: &[(PaymentId, &PaymentMove, i64)]) -> Vec<Write<'static>> {
    if moves.is_empty() {
        return Vec::new();
    }
    match backend {
        Backend::Postgres => {
            let mut cols = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for (id, m, at) in moves {
                cols.0.push(id.to_string());
                cols.1.push(m.from.as_str().to_string());
                cols.2.push(m.to.as_str().to_string());
                cols.3.push(m.authorization.clone());
                cols.4.push(m.decline_code.clone());
                cols.5.push(*at);
            }
            vec![Write::Sql {
                sql: "UPDATE payments SET status = m.to_status, \
                      authorization_ref = COALESCE(m.authorization_ref, payments.authorization_ref), \
                      decline_code = COALESCE(m.decline_code, payments.decline_code), updated_at = m.at \
                      FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[]) \
                      AS m(id, from_status, to_status, authorization_ref, decline_code, at) \
                      WHERE payments.id = ANY($1::text[]) AND payments.id = m.id AND payments.status = m.from_status",
                args: vec![
                    Arg::Texts(cols.0),
                    Arg::Texts(cols.1),
                    Arg::Texts(cols.2),
                    Arg::OptTexts(cols.3),
                    Arg::OptTexts(cols.4),
                    Arg::Ints(cols.5),
                ],
            }]
        }
        Backend::Sqlite => moves
            .iter()
            .map(|(id, m, at)| Write::Sql {
                sql: SET_STATUS,
                args: args![
                    id.to_string(),
                    m.from.as_str(),
                    m.to.as_str(),
                    m.authorization.clone(),
                    m.decline_code.clone(),
                    *at
                ],
            })
            .collect(),
    }
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
    let n =
        c.exec(SET_STATUS, args![id.to_string(), from.as_str(), to.as_str(), authorization, decline_code, at]).await?;
    Ok(n == 1)
}
