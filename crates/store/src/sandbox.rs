//! The sandbox card processor's own records, as a processor keeps them: each call by its idempotency key, so a
//! retried call gets the first answer and a hold made before a restart can still be captured after it.

use crate::{args, Conn, Row, StoreError};

/// An authorization as the processor recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub idempotency_key: String,
    /// `approved`, the decline code, or `authentication_required` while the customer has yet to authenticate.
    pub outcome: String,
    pub amount: i64,
    pub currency: String,
    pub created_at: i64,
    /// The id of its authentication page, when the card's bank asked for one.
    pub challenge: Option<String>,
}

fn authorization(r: &Row) -> Result<Authorization, StoreError> {
    Ok(Authorization {
        idempotency_key: r.text("idempotency_key")?,
        outcome: r.text("outcome")?,
        amount: r.int("amount")?,
        currency: r.text("currency")?,
        created_at: r.int("created_at")?,
        challenge: r.opt_text("challenge")?,
    })
}

/// Records many authorizations at once (one statement on PostgreSQL), each unless its key has one; returns the
/// ones that stand, in the order given.
pub async fn authorize_all(c: &mut Conn<'_>, all: &[Authorization]) -> Result<Vec<Authorization>, StoreError> {
    let columns = &["idempotency_key", "outcome", "amount", "currency", "created_at", "challenge"];
    // By key: two groups (of two processes) inserting the same keys take their locks in one order.
    let mut sorted: Vec<&Authorization> = all.iter().collect();
    sorted.sort_by(|a, b| a.idempotency_key.cmp(&b.idempotency_key));
    let rows = sorted
        .iter()
        .map(|a| args![&a.idempotency_key, &a.outcome, a.amount, &a.currency, a.created_at, a.challenge.clone()])
        .collect();
    let inserted = c
        .insert_rows(
            "sandbox_authorizations",
            columns,
            rows,
            "ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key",
        )
        .await?;
    let inserted: std::collections::HashSet<String> = inserted.iter().map(|r| r.text(0)).collect::<Result<_, _>>()?;
    let mut stands = Vec::with_capacity(all.len());
    for a in all {
        if inserted.contains(&a.idempotency_key) {
            stands.push(a.clone());
        } else {
            // Its key was used before (a retry): the first answer stands.
            stands.push(get_authorization(c, &a.idempotency_key).await?.ok_or(StoreError::NotFound)?);
        }
    }
    Ok(stands)
}

const AUTHORIZATION_COLS: &str = "idempotency_key, outcome, amount, currency, created_at, challenge";

pub async fn get_authorization(c: &mut Conn<'_>, key: &str) -> Result<Option<Authorization>, StoreError> {
    let sql = format!("SELECT {AUTHORIZATION_COLS} FROM sandbox_authorizations WHERE idempotency_key = $1");
    c.opt(&sql, args![key]).await?.as_ref().map(authorization).transpose()
}

pub async fn by_challenge(c: &mut Conn<'_>, challenge: &str) -> Result<Option<Authorization>, StoreError> {
    let sql = format!("SELECT {AUTHORIZATION_COLS} FROM sandbox_authorizations WHERE challenge = $1");
    c.opt(&sql, args![challenge]).await?.as_ref().map(authorization).transpose()
}

/// The customer's answer on the authentication page: `approved` or `authentication_failed`, once (a second
/// answer changes nothing). The authorization as it then stands.
pub async fn answer_challenge(
    c: &mut Conn<'_>,
    challenge: &str,
    outcome: &str,
) -> Result<Option<Authorization>, StoreError> {
    c.exec(
        "UPDATE sandbox_authorizations SET outcome = $2 WHERE challenge = $1 AND outcome = 'authentication_required'",
        args![challenge, outcome],
    )
    .await?;
    by_challenge(c, challenge).await
}

/// A capture, void or refund against an authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub idempotency_key: String,
    pub authorization: String,
    /// `capture`, `void` or `refund`.
    pub kind: String,
    pub amount: i64,
    /// `ok`, or why it was refused.
    pub outcome: String,
    pub created_at: i64,
}

fn operation(r: &Row) -> Result<Operation, StoreError> {
    Ok(Operation {
        idempotency_key: r.text("idempotency_key")?,
        authorization: r.text("authorization_ref")?,
        kind: r.text("kind")?,
        amount: r.int("amount")?,
        outcome: r.text("outcome")?,
        created_at: r.int("created_at")?,
    })
}

const OP_COLS: &str = "idempotency_key, authorization_ref, kind, amount, outcome, created_at";

pub async fn get_operation(c: &mut Conn<'_>, key: &str) -> Result<Option<Operation>, StoreError> {
    let sql = format!("SELECT {OP_COLS} FROM sandbox_operations WHERE idempotency_key = $1");
    c.opt(&sql, args![key]).await?.as_ref().map(operation).transpose()
}

/// Every operation on the authorization, oldest first.
pub async fn operations(c: &mut Conn<'_>, authorization: &str) -> Result<Vec<Operation>, StoreError> {
    let sql = format!(
        "SELECT {OP_COLS} FROM sandbox_operations WHERE authorization_ref = $1 ORDER BY created_at, idempotency_key"
    );
    c.all(&sql, args![authorization]).await?.iter().map(operation).collect()
}

/// Records the operation; `false` when its key had one (the caller reads that one back).
pub async fn record(c: &mut Conn<'_>, op: &Operation) -> Result<bool, StoreError> {
    let n = c
        .exec(
            "INSERT INTO sandbox_operations (idempotency_key, authorization_ref, kind, amount, outcome, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (idempotency_key) DO NOTHING",
            args![&op.idempotency_key, &op.authorization, &op.kind, op.amount, &op.outcome, op.created_at],
        )
        .await?;
    Ok(n == 1)
}

/// Money the processor holds or moved, for tests that count it: (authorized and approved, captured, refunded,
/// voided authorizations) over all records.
pub async fn totals(c: &mut Conn<'_>) -> Result<(i64, i64, i64, i64), StoreError> {
    let r = c
        .one(
            "SELECT \
             CAST(COALESCE((SELECT SUM(amount) FROM sandbox_authorizations WHERE outcome = 'approved'), 0) AS BIGINT), \
             CAST(COALESCE((SELECT SUM(amount) FROM sandbox_operations WHERE kind = 'capture' AND outcome = 'ok'), 0) AS BIGINT), \
             CAST(COALESCE((SELECT SUM(amount) FROM sandbox_operations WHERE kind = 'refund' AND outcome = 'ok'), 0) AS BIGINT), \
             CAST(COALESCE((SELECT COUNT(*) FROM sandbox_operations WHERE kind = 'void' AND outcome = 'ok'), 0) AS BIGINT)",
            args![],
        )
        .await?;
    Ok((r.int(0)?, r.int(1)?, r.int(2)?, r.int(3)?))
}

/// The amounts of approved authorizations not voided.
pub async fn live_holds(c: &mut Conn<'_>) -> Result<Vec<i64>, StoreError> {
    let rows = c
        .all(
            "SELECT a.amount FROM sandbox_authorizations a WHERE a.outcome = 'approved' AND NOT EXISTS \
             (SELECT 1 FROM sandbox_operations o WHERE o.authorization_ref = 'auth_sbx_' || a.idempotency_key \
              AND o.kind = 'void' AND o.outcome = 'ok') ORDER BY a.idempotency_key",
            args![],
        )
        .await?;
    rows.iter().map(|r| r.int(0)).collect()
}
