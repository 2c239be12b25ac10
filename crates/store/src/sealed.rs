//! The rows that hold personal data sealed by the vault, walked in batches by id: to seal what a version before
//! sealing kept in clear, and to re-wrap every blob under a new master key. Each blob is bound to a row id
//! (`bound_to`): a customer's and an address's to their own id, an order's `ship_to` to the address it was
//! copied from.

use crate::{args, Conn, StoreError};

/// A column that holds sealed personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedColumn {
    /// A customer's e-mail and name (`customers.sealed`, beside `email_hash`).
    Customer,
    /// An address (`addresses.sealed`).
    Address,
    /// The address an order ships to (`orders.ship_to`).
    ShipTo,
}

impl SealedColumn {
    pub const ALL: [SealedColumn; 3] = [SealedColumn::Customer, SealedColumn::Address, SealedColumn::ShipTo];

    /// (table, the row id the blob is bound to, the blob's column)
    fn parts(self) -> (&'static str, &'static str, &'static str) {
        match self {
            SealedColumn::Customer => ("customers", "id", "sealed"),
            SealedColumn::Address => ("addresses", "id", "sealed"),
            SealedColumn::ShipTo => ("orders", "address_id", "ship_to"),
        }
    }

    pub fn table(self) -> &'static str {
        self.parts().0
    }
}

#[derive(Debug, Clone)]
pub struct SealedRow {
    pub id: String,
    pub bound_to: String,
    pub blob: Vec<u8>,
}

/// Up to `limit` sealed rows with an id after `after`, in id order.
pub async fn batch(c: &mut Conn<'_>, col: SealedColumn, after: &str, limit: u32) -> Result<Vec<SealedRow>, StoreError> {
    let (table, bound, blob) = col.parts();
    let sql =
        format!("SELECT id, {bound}, {blob} FROM {table} WHERE id > $1 AND {blob} IS NOT NULL ORDER BY id LIMIT $2");
    c.all(&sql, args![after, limit])
        .await?
        .iter()
        .map(|r| Ok(SealedRow { id: r.text(0)?, bound_to: r.text(1)?, blob: r.blob(2)? }))
        .collect()
}

/// Puts `new` in place of `old`; false when the row changed meanwhile (a later run takes it). A customer's
/// `email_hash` is replaced with it, when given (its key rotates with the blob's).
pub async fn replace(
    c: &mut Conn<'_>,
    col: SealedColumn,
    id: &str,
    old: &[u8],
    new: Vec<u8>,
    email_hash: Option<&str>,
) -> Result<bool, StoreError> {
    let (table, _, blob) = col.parts();
    let changed = match email_hash {
        Some(hash) => {
            let sql = format!("UPDATE {table} SET {blob} = $3, email_hash = $4 WHERE id = $1 AND {blob} = $2");
            c.exec(&sql, args![id, old.to_vec(), new, hash]).await?
        }
        None => {
            let sql = format!("UPDATE {table} SET {blob} = $3 WHERE id = $1 AND {blob} = $2");
            c.exec(&sql, args![id, old.to_vec(), new]).await?
        }
    };
    Ok(changed == 1)
}

/// A row still in clear, as a version before sealing left it. `clear` is the customer's e-mail, or the
/// address's JSON; `name` the customer's name.
#[derive(Debug, Clone)]
pub struct LegacyRow {
    pub id: String,
    pub bound_to: String,
    pub clear: String,
    pub name: Option<String>,
}

/// Up to `limit` rows of `col` not sealed yet.
pub async fn legacy(c: &mut Conn<'_>, col: SealedColumn, limit: u32) -> Result<Vec<LegacyRow>, StoreError> {
    let sql = match col {
        SealedColumn::Customer => {
            "SELECT id, id, email_hash, legacy_name FROM customers WHERE sealed IS NULL ORDER BY id LIMIT $1"
        }
        SealedColumn::Address => "SELECT id, id, legacy, NULL FROM addresses WHERE sealed IS NULL ORDER BY id LIMIT $1",
        SealedColumn::ShipTo => {
            "SELECT id, address_id, legacy_ship_to, NULL FROM orders WHERE ship_to IS NULL ORDER BY id LIMIT $1"
        }
    };
    c.all(sql, args![limit])
        .await?
        .iter()
        .map(|r| Ok(LegacyRow { id: r.text(0)?, bound_to: r.text(1)?, clear: r.text(2)?, name: r.opt_text(3)? }))
        .collect()
}

/// Seals one legacy row: the blob in, the clear columns emptied. A customer gets its e-mail's hash.
pub async fn seal_legacy(
    c: &mut Conn<'_>,
    col: SealedColumn,
    id: &str,
    sealed: Vec<u8>,
    email_hash: Option<&str>,
) -> Result<(), StoreError> {
    match col {
        SealedColumn::Customer => {
            let hash = email_hash.ok_or_else(|| StoreError::Corrupt("a customer is sealed with its hash".into()))?;
            c.exec(
                "UPDATE customers SET sealed = $2, email_hash = $3, legacy_name = '' WHERE id = $1 AND sealed IS NULL",
                args![id, sealed, hash],
            )
            .await?
        }
        SealedColumn::Address => {
            c.exec(
                "UPDATE addresses SET sealed = $2, legacy = NULL WHERE id = $1 AND sealed IS NULL",
                args![id, sealed],
            )
            .await?
        }
        SealedColumn::ShipTo => {
            c.exec(
                "UPDATE orders SET ship_to = $2, legacy_ship_to = '' WHERE id = $1 AND ship_to IS NULL",
                args![id, sealed],
            )
            .await?
        }
    };
    Ok(())
}
