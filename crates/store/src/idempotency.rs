//! Idempotency keys: one key of one customer names at most one order (DESIGN.md invariant 1).
//!
//! The key row is written in the same transaction as the order, under a primary key, so two requests with
//! one key — on one server or on two — can never both create an order: the second waits for or sees the
//! first's row and gets a replay (same body) or a conflict (another body).

use crate::{args, Arg, Backend, Conn, StoreError};
use buynow_domain::{CustomerId, OrderId};
use sha2::{Digest as _, Sha256};
use std::collections::{HashMap, HashSet};

/// A key or a request as stored: the first 16 bytes of its SHA-256. A key's text can be as long as the header
/// allows, and the request's own hash was 64 hex digits; a fixed 16 bytes keeps a day of keys small enough for
/// the database's cache to hold most of the index a lookup walks. Two of one customer's keys, or two requests,
/// share a digest by chance with odds of about n² / 2¹²⁹: none in practice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest([u8; 16]);

impl Digest {
    pub fn of(bytes: &[u8]) -> Digest {
        let full = Sha256::digest(bytes);
        let mut half = [0; 16];
        half.copy_from_slice(&full[..16]);
        Digest(half)
    }

    pub fn bytes(&self) -> &[u8; 16] {
        &self.0
    }

    pub(crate) fn stored(bytes: Vec<u8>) -> Result<Digest, StoreError> {
        bytes.try_into().map(Digest).map_err(|b: Vec<u8>| StoreError::Corrupt(format!("a digest of {} bytes", b.len())))
    }
}

/// A customer's id as the key table holds it: its UUID's 16 bytes (the text form is the prefix and 32 hex
/// digits; SQL turns one into the other with `unhex(substr(id, 5))`).
fn customer_bytes(customer: CustomerId) -> Vec<u8> {
    customer.uuid().as_bytes().to_vec()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is ours now; go on and create the order.
    New,
    /// The key was used with the same request: answer with that order.
    Replay(OrderId),
    /// The key was used with a different request.
    Conflict,
}

/// Claims `key` for `order`, for a request whose canonical bytes are `request`.
pub async fn claim(
    c: &mut Conn<'_>,
    customer: CustomerId,
    key: &str,
    request: &[u8],
    order: OrderId,
    at: i64,
) -> Result<Claim, StoreError> {
    let wanted = KeyClaim::new(customer, key, Digest::of(request), order, at);
    let mut claims = claim_all(c, std::slice::from_ref(&wanted)).await?;
    claims.pop().ok_or_else(|| StoreError::Corrupt("a claim went unanswered".into()))
}

/// A key one request wants for the order it would create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyClaim {
    pub customer: CustomerId,
    pub key: Digest,
    pub request: Digest,
    pub order: OrderId,
    pub at: i64,
}

impl KeyClaim {
    pub fn new(customer: CustomerId, key: &str, request: Digest, order: OrderId, at: i64) -> KeyClaim {
        KeyClaim { customer, key: Digest::of(key.as_bytes()), request, order, at }
    }
}

/// Claims keys, answering for each, in order. The keys are written in one statement, sorted, so that two
/// transactions claiming some of the same keys wait for each other in one order and never deadlock. A key
/// claimed twice in `wanted` goes to the first; the second is answered as a replay of (or conflict with) it.
pub async fn claim_all(c: &mut Conn<'_>, wanted: &[KeyClaim]) -> Result<Vec<Claim>, StoreError> {
    let inserted = c.insert_rows("idempotency_keys", &CLAIM_COLUMNS, claim_rows(wanted), CLAIM_TAIL).await?;
    answer_claims(c, wanted, &inserted).await
}

const CLAIM_COLUMNS: [&str; 5] = ["customer", "key_digest", "request_digest", "order_id", "last_used_at"];
const CLAIM_TAIL: &str = "ON CONFLICT (customer, key_digest) DO NOTHING RETURNING order_id";

/// The claim's rows, sorted by key.
fn claim_rows(wanted: &[KeyClaim]) -> Vec<Vec<Arg>> {
    let mut sorted: Vec<&KeyClaim> = wanted.iter().collect();
    sorted.sort_by_key(|w| (w.customer, w.key));
    sorted
        .iter()
        .map(|w| args![customer_bytes(w.customer), w.key.0.to_vec(), w.request.0.to_vec(), w.order.to_string(), w.at])
        .collect()
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
            let (request, order) = found
                .get(&(w.customer, w.key))
                .ok_or_else(|| StoreError::Corrupt("idempotency key vanished".into()))?;
            Ok(if *request == w.request { Claim::Replay(*order) } else { Claim::Conflict })
        })
        .collect()
}

/// The request digest and order of each of these keys that exists.
async fn lookup_all(
    c: &mut Conn<'_>,
    keys: &[&KeyClaim],
) -> Result<HashMap<(CustomerId, Digest), (Digest, OrderId)>, StoreError> {
    let mut found = HashMap::new();
    if keys.is_empty() {
        return Ok(found);
    }
    let rows = match c.backend() {
        Backend::Postgres => {
            let (customers, digests) =
                keys.iter().map(|k| (Some(customer_bytes(k.customer)), Some(k.key.0.to_vec()))).unzip();
            c.all(
                "SELECT customer, key_digest, request_digest, order_id FROM idempotency_keys \
                 WHERE customer = ANY($1::bytea[]) \
                 AND (customer, key_digest) IN (SELECT * FROM UNNEST($1::bytea[], $2::bytea[]))",
                vec![Arg::OptBlobs(customers), Arg::OptBlobs(digests)],
            )
            .await?
        }
        Backend::Sqlite => {
            let mut rows = Vec::with_capacity(keys.len());
            for k in keys {
                let sql = "SELECT customer, key_digest, request_digest, order_id FROM idempotency_keys \
                           WHERE customer = $1 AND key_digest = $2";
                rows.extend(c.opt(sql, args![customer_bytes(k.customer), k.key.0.to_vec()]).await?);
            }
            rows
        }
    };
    for r in rows {
        let (customer, key) = (r.blob("customer")?, Digest::stored(r.blob("key_digest")?)?);
        let Some(k) = keys.iter().find(|k| customer_bytes(k.customer) == customer && k.key == key) else { continue };
        found.insert(
            (k.customer, k.key),
            (Digest::stored(r.blob("request_digest")?)?, r.parsed("order_id", OrderId::parse)?),
        );
    }
    Ok(found)
}

/// A key was used again (a replay): it is kept for the retention from `now`. Callers write this only when the
/// key's recorded use is older than `TOUCH_EVERY_MICROS`, so a storm of retries is not a storm of writes.
pub async fn touch(c: &mut Conn<'_>, customer: CustomerId, key: &str, now: i64) -> Result<(), StoreError> {
    c.exec(
        "UPDATE idempotency_keys SET last_used_at = $3 WHERE customer = $1 AND key_digest = $2 AND last_used_at < $3",
        args![customer_bytes(customer), Digest::of(key.as_bytes()).0.to_vec(), now],
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
                columns.0.push(Some(customer_bytes(k.customer)));
                columns.1.push(Some(k.key.0.to_vec()));
                columns.2.push(k.order.to_string());
            }
            c.exec(
                "DELETE FROM idempotency_keys k \
                 USING UNNEST($1::bytea[], $2::bytea[], $3::text[]) AS r(customer, key_digest, order_id) \
                 WHERE k.customer = ANY($1::bytea[]) AND k.customer = r.customer AND k.key_digest = r.key_digest \
                 AND k.order_id = r.order_id",
                vec![Arg::OptBlobs(columns.0), Arg::OptBlobs(columns.1), Arg::Texts(columns.2)],
            )
            .await?;
        }
        Backend::Sqlite => {
            for k in claimed {
                c.exec(
                    "DELETE FROM idempotency_keys WHERE customer = $1 AND key_digest = $2 AND order_id = $3",
                    args![customer_bytes(k.customer), k.key.0.to_vec(), k.order.to_string()],
                )
                .await?;
            }
        }
    }
    Ok(())
}

/// Migration 18 on SQLite, after its SQL has renamed the keys stored as text to `idempotency_keys_text` and made
/// the compact table: carries each key over, a chunk at a time, then drops the old table. Here rather than in the
/// SQL because SQLite has no SHA-256; PostgreSQL's migration 22 does the same in SQL with its `sha256` (the
/// store's upgrade test checks that a key carried over either way still replays).
pub(crate) async fn carry_text_keys_over(c: &mut Conn<'_>) -> Result<(), StoreError> {
    let mut after = 0;
    loop {
        let rows = c
            .all(
                "SELECT rowid, customer_id, key, request_hash, order_id, last_used_at FROM idempotency_keys_text \
                 WHERE rowid > $1 ORDER BY rowid LIMIT 1000",
                args![after],
            )
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.int(0)?;
        let compact = rows
            .iter()
            .map(|r| {
                let customer = r.parsed(1, CustomerId::parse)?;
                let request = Digest::stored(hex_prefix(&r.text(3)?)?)?;
                Ok(args![
                    customer_bytes(customer),
                    Digest::of(r.text(2)?.as_bytes()).0.to_vec(),
                    request.0.to_vec(),
                    r.text(4)?,
                    r.int(5)?
                ])
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        c.insert_rows("idempotency_keys", &CLAIM_COLUMNS, compact, "").await?;
    }
    c.batch("DROP TABLE idempotency_keys_text").await
}

/// The first 16 bytes a request hash of the text era spelled as 64 hex digits: its SHA-256, of which the
/// compact digest is the first half.
fn hex_prefix(hash: &str) -> Result<Vec<u8>, StoreError> {
    let corrupt = || StoreError::Corrupt("a stored request hash is not a SHA-256 in hex".into());
    let digits = hash.get(..32).filter(|_| hash.len() == 64).ok_or_else(corrupt)?;
    (0..16).map(|i| u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).map_err(|_| corrupt())).collect()
}
