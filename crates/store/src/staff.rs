//! Marketplace sellers and staff API keys. A key is stored only as a hash; it is shown once, when made.

use crate::{args, Conn, Row, StoreError};
use buynow_domain::{SellerId, StaffKeyId, StaffRole};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seller {
    pub id: SellerId,
    pub name: String,
}

pub async fn insert_seller(c: &mut Conn<'_>, seller: &Seller, at: i64) -> Result<(), StoreError> {
    c.exec(
        "INSERT INTO sellers (id, name, created_at) VALUES ($1, $2, $3)",
        args![seller.id.to_string(), &seller.name, at],
    )
    .await
    .map(drop)
}

pub async fn seller(c: &mut Conn<'_>, id: SellerId) -> Result<Option<Seller>, StoreError> {
    let row = c.opt("SELECT id, name FROM sellers WHERE id = $1", args![id.to_string()]).await?;
    row.map(|r| Ok(Seller { id: r.parsed("id", SellerId::parse)?, name: r.text("name")? })).transpose()
}

/// A staff key as stored: who it is, never the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffKey {
    pub id: StaffKeyId,
    pub role: StaffRole,
    pub name: String,
    pub seller_id: Option<SellerId>,
    pub center: Option<String>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

fn staff_key(r: &Row) -> Result<StaffKey, StoreError> {
    Ok(StaffKey {
        id: r.parsed("id", StaffKeyId::parse)?,
        role: r.parsed("role", |s| StaffRole::parse(s).ok_or("an unknown staff role"))?,
        name: r.text("name")?,
        seller_id: r
            .opt_text("seller_id")?
            .map(|s| SellerId::parse(&s))
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        center: r.opt_text("center")?,
        created_at: r.int("created_at")?,
        revoked_at: r.opt_int("revoked_at")?,
    })
}

const KEY_COLS: &str = "id, role, name, seller_id, center, created_at, revoked_at";

/// Every key, live and revoked, newest first.
pub async fn keys(c: &mut Conn<'_>) -> Result<Vec<StaffKey>, StoreError> {
    let sql = format!("SELECT {KEY_COLS} FROM staff_keys ORDER BY created_at DESC, id DESC");
    c.all(&sql, args![]).await?.iter().map(staff_key).collect()
}

pub async fn key(c: &mut Conn<'_>, id: StaffKeyId) -> Result<Option<StaffKey>, StoreError> {
    let sql = format!("SELECT {KEY_COLS} FROM staff_keys WHERE id = $1");
    c.opt(&sql, args![id.to_string()]).await?.as_ref().map(staff_key).transpose()
}

/// Revokes a key from `at` on; `false` if it was revoked already (or never existed).
pub async fn revoke_key(c: &mut Conn<'_>, id: StaffKeyId, at: i64) -> Result<bool, StoreError> {
    let n = c
        .exec("UPDATE staff_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL", args![id.to_string(), at])
        .await?;
    Ok(n == 1)
}

/// A new key (made at its `created_at`), kept as `key_hash`.
pub async fn insert_key(c: &mut Conn<'_>, key: &StaffKey, key_hash: &str) -> Result<(), StoreError> {
    c.exec(
        "INSERT INTO staff_keys (id, key_hash, role, name, seller_id, center, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![
            key.id.to_string(),
            key_hash,
            key.role.as_str(),
            &key.name,
            key.seller_id.map(|s| s.to_string()),
            key.center.clone(),
            key.created_at
        ],
    )
    .await
    .map(drop)
}

/// The live key whose hash is `key_hash`.
pub async fn key_by_hash(c: &mut Conn<'_>, key_hash: &str) -> Result<Option<StaffKey>, StoreError> {
    let row = c
        .opt(&format!("SELECT {KEY_COLS} FROM staff_keys WHERE key_hash = $1 AND revoked_at IS NULL"), args![key_hash])
        .await?;
    row.as_ref().map(staff_key).transpose()
}
