//! The payment methods accepted, by the shop (scope `shop`) and by each marketplace seller (scope: its id).

use crate::{args, Conn, Row, StoreError};
use buynow_domain::acceptance::Accepted;

pub const SHOP: &str = "shop";

fn accepted(r: &Row) -> Result<(String, Accepted), StoreError> {
    let list = |col: &str| -> Result<Vec<String>, StoreError> {
        Ok(r.text(col)?.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect())
    };
    let parsed = Accepted::parse(&list("brands")?, &list("funding")?, r.flag("gift_cards")?)
        .map_err(|e| StoreError::Corrupt(format!("payment settings: {e}")))?;
    Ok((r.text("scope")?, parsed))
}

/// Every scope's settings; a scope without a row accepts everything.
pub async fn all(c: &mut Conn<'_>) -> Result<Vec<(String, Accepted)>, StoreError> {
    let rows = c.all("SELECT scope, brands, funding, gift_cards FROM payment_settings ORDER BY scope", args![]).await?;
    rows.iter().map(accepted).collect()
}

pub async fn put(c: &mut Conn<'_>, scope: &str, a: &Accepted, now: i64) -> Result<(), StoreError> {
    let brands: Vec<&str> = a.brands.iter().map(|b| b.as_str()).collect();
    let funding: Vec<&str> = a.funding.iter().map(|f| f.as_str()).collect();
    c.exec(
        "INSERT INTO payment_settings (scope, brands, funding, gift_cards, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (scope) DO UPDATE SET brands = excluded.brands, funding = excluded.funding, \
         gift_cards = excluded.gift_cards, updated_at = excluded.updated_at",
        args![scope, brands.join(","), funding.join(","), i64::from(a.gift_cards), now],
    )
    .await
    .map(drop)
}

/// What changes when any setting does: for each process's cache to see another's change.
pub async fn version(c: &mut Conn<'_>) -> Result<(i64, i64), StoreError> {
    let r =
        c.one("SELECT COUNT(*), CAST(COALESCE(MAX(updated_at), 0) AS BIGINT) FROM payment_settings", args![]).await?;
    Ok((r.int(0)?, r.int(1)?))
}
