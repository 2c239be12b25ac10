//! Idempotency keys: one key of one customer names at most one order (DESIGN.md invariant 1).
//!
//! The key row is written in the same transaction as the order, under a primary key, so two requests with
//! one key — on one server or on two — can never both create an order: the second waits for or sees the
//! first's row and gets a replay (same body) or a conflict (another body).

use crate::{args, Conn, StoreError};
use buynow_domain::{CustomerId, OrderId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is ours now; go on and create the order.
    New,
    /// The key was used with the same request: answer with that order.
    Replay(OrderId),
    /// The key was used with a different request.
    Conflict,
}

/// What a key already names, without claiming it (a read-side shortcut for retries).
pub async fn lookup(
    c: &mut Conn<'_>,
    customer: CustomerId,
    key: &str,
    request_hash: &str,
) -> Result<Option<Claim>, StoreError> {
    let row = c
        .opt(
            "SELECT request_hash, order_id FROM idempotency_keys WHERE customer_id = $1 AND key = $2",
            args![customer.to_string(), key],
        )
        .await?;
    row.map(|r| {
        Ok(if r.text(0)? == request_hash { Claim::Replay(r.parsed(1, OrderId::parse)?) } else { Claim::Conflict })
    })
    .transpose()
}

pub async fn claim(
    c: &mut Conn<'_>,
    customer: CustomerId,
    key: &str,
    request_hash: &str,
    order: OrderId,
    at: i64,
) -> Result<Claim, StoreError> {
    let inserted = c
        .exec(
            "INSERT INTO idempotency_keys (customer_id, key, request_hash, order_id, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (customer_id, key) DO NOTHING",
            args![customer.to_string(), key, request_hash, order.to_string(), at],
        )
        .await?;
    if inserted == 1 {
        return Ok(Claim::New);
    }
    lookup(c, customer, key, request_hash).await?.ok_or_else(|| StoreError::Corrupt("idempotency key vanished".into()))
}
