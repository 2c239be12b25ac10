//! Idempotency keys: one key of one customer names at most one order (DESIGN.md invariant 1).
//!
//! The key row is written in the same transaction as the order, under a primary key, so two requests with
//! one key — on one server or on two — can never both create an order: the second waits for or sees the
//! first's row and gets a replay (same body) or a conflict (another body).

use crate::{args, Arg, Backend, Conn, StoreError};
use buynow_domain::{CustomerId, OrderId};
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is ours now; go on and create the order.
    New,
    /// The key was used with the same request: answer with that order.
    Replay(OrderId),
    /// The key was used with a different request.
    Conflict,
}

pub async fn claim(
    c: &mut Conn<'_>,
    customer: CustomerId,
    key: &str,
    request_hash: &str,
    order: OrderId,
    at: i64,
) -> Result<Claim, StoreError> {
    let wanted = KeyClaim { customer, key: key.to_string(), request_hash: request_hash.to_string(), order, at };
    let mut claims = claim_all(c, std::slice::from_ref(&wanted)).await?;
    claims.pop().ok_or_else(|| StoreError::Corrupt("a claim went unanswered".into()))
}

/// A key one request wants for the order it would create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyClaim {
    pub customer: CustomerId,
    pub key: String,
    pub request_hash: String,
    pub order: OrderId,
    pub at: i64,
}

/// Claims keys, answering for each, in order. The keys are written in one statement, sorted, so that two
/// transactions claiming some of the same keys wait for each other in one order and never deadlock. A key
/// claimed twice in `wanted` goes to the first; the second is answered as a replay of (or conflict with) it.
pub async fn claim_all(c: &mut Conn<'_>, wanted: &[KeyClaim]) -> Result<Vec<Claim>, StoreError> {
    let inserted = c.insert_rows("idempotency_keys", &CLAIM_COLUMNS, claim_rows(wanted), CLAIM_TAIL).await?;
    answer_claims(c, wanted, &inserted).await
}

const CLAIM_COLUMNS: [&str; 5] = ["customer_id", "key", "request_hash", "order_id", "last_used_at"];
const CLAIM_TAIL: &str = "ON CONFLICT (customer_id, key) DO NOTHING RETURNING order_id";

/// The claim's rows, sorted by key.
fn claim_rows(wanted: &[KeyClaim]) -> Vec<Vec<Arg>> {
    let mut sorted: Vec<&KeyClaim> = wanted.iter().collect();
    sorted.sort_by(|a, b| (a.customer, &a.key).cmp(&(b.customer, &b.key)));
    sorted.iter().map(|w| args![w.customer.to_string(), &w.key, &w.request_hash, w.order.to_string(), w.at]).collect()
}

/// The claim of `claim_all` as a PostgreSQL statement whose parameters start at `$first`, with their values,
/// to run inside another (see `placement`); it returns the order of each key it wrote, for `answer_claims`.
pub(crate) fn claim_statement(wanted: &[KeyClaim], first: usize) -> Result<(String, Vec<Arg>), StoreError> {
    crate::db::pg_insert_rows("idempotency_keys", &CLAIM_COLUMNS, claim_rows(wanted), CLAIM_TAIL, first)
}

/// Each claim's answer, given the orders of the keys the claim wrote (`inserted`, rows of one column).
pub(crate) async fn answer_claims(
    c: &mut Conn<'_>,
    wanted: &[KeyClaim],
    inserted: &[crate::Row],
) -> Result<Vec<Claim>, StoreError> {
    let inserted = inserted.iter().map(|r| r.parsed(0, OrderId::parse)).collect::<Result<HashSet<_>, _>>()?;
    // The rest were taken before (this transaction's own rows included, so a key twice in `wanted` finds the
    // first's order).
    let taken: Vec<&KeyClaim> = wanted.iter().filter(|w| !inserted.contains(&w.order)).collect();
    let found = lookup_all(c, &taken).await?;
    wanted
        .iter()
        .map(|w| {
            if inserted.contains(&w.order) {
                return Ok(Claim::New);
            }
            let (hash, order) = found
                .get(&(w.customer, w.key.as_str()))
                .ok_or_else(|| StoreError::Corrupt("idempotency key vanished".into()))?;
            Ok(if *hash == w.request_hash { Claim::Replay(*order) } else { Claim::Conflict })
        })
        .collect()
}

/// The request hash and order of each of these keys that exists.
async fn lookup_all<'k>(
    c: &mut Conn<'_>,
    keys: &[&'k KeyClaim],
) -> Result<HashMap<(CustomerId, &'k str), (String, OrderId)>, StoreError> {
    let mut found = HashMap::new();
    if keys.is_empty() {
        return Ok(found);
    }
    let rows = match c.backend() {
        Backend::Postgres => {
            let (customers, names) = keys.iter().map(|k| (k.customer.to_string(), k.key.clone())).unzip();
            c.all(
                "SELECT customer_id, key, request_hash, order_id FROM idempotency_keys \
                 WHERE customer_id = ANY($1::text[]) AND (customer_id, key) IN (SELECT * FROM UNNEST($1::text[], $2::text[]))",
                vec![Arg::Texts(customers), Arg::Texts(names)],
            )
            .await?
        }
        Backend::Sqlite => {
            let mut rows = Vec::with_capacity(keys.len());
            for k in keys {
                let sql = "SELECT customer_id, key, request_hash, order_id FROM idempotency_keys \
                           WHERE customer_id = $1 AND key = $2";
                rows.extend(c.opt(sql, args![k.customer.to_string(), &k.key]).await?);
            }
            rows
        }
    };
    for r in rows {
        let (customer, key) = (r.parsed("customer_id", CustomerId::parse)?, r.text("key")?);
        // Keyed by the caller's own strings, so the map borrows from `keys`, not from the rows.
        let Some(k) = keys.iter().find(|k| k.customer == customer && k.key == key) else { continue };
        found.insert((k.customer, k.key.as_str()), (r.text("request_hash")?, r.parsed("order_id", OrderId::parse)?));
    }
    Ok(found)
}

/// A key was used again (a replay): it is kept for the retention from `now`. Callers write this only when the
/// key's recorded use is older than `TOUCH_EVERY_MICROS`, so a storm of retries is not a storm of writes.
pub async fn touch(c: &mut Conn<'_>, customer: CustomerId, key: &str, now: i64) -> Result<(), StoreError> {
    c.exec(
        "UPDATE idempotency_keys SET last_used_at = $3 WHERE customer_id = $1 AND key = $2 AND last_used_at < $3",
        args![customer.to_string(), key, now],
    )
    .await
    .map(drop)
}

/// How long after its last write a key's use is written again.
pub const TOUCH_EVERY_MICROS: i64 = 60 * 1_000_000;

/// Gives claimed keys back (their requests were refused), so that a retry is free to try again.
pub async fn release_all(c: &mut Conn<'_>, claimed: &[&KeyClaim]) -> Result<(), StoreError> {
    if claimed.is_empty() {
        return Ok(());
    }
    match c.backend() {
        Backend::Postgres => {
            let mut columns = (Vec::new(), Vec::new(), Vec::new());
            for k in claimed {
                columns.0.push(k.customer.to_string());
                columns.1.push(k.key.clone());
                columns.2.push(k.order.to_string());
            }
            c.exec(
                "DELETE FROM idempotency_keys k USING UNNEST($1::text[], $2::text[], $3::text[]) AS r(customer_id, key, order_id) \
                 WHERE k.customer_id = ANY($1::text[]) AND k.customer_id = r.customer_id AND k.key = r.key \
                 AND k.order_id = r.order_id",
                vec![Arg::Texts(columns.0), Arg::Texts(columns.1), Arg::Texts(columns.2)],
            )
            .await?;
        }
        Backend::Sqlite => {
            for k in claimed {
                c.exec(
                    "DELETE FROM idempotency_keys WHERE customer_id = $1 AND key = $2 AND order_id = $3",
                    args![k.customer.to_string(), &k.key, k.order.to_string()],
                )
                .await?;
            }
        }
    }
    Ok(())
}
