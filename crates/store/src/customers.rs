//! Customers, their sessions, addresses and saved cards.
//!
//! A customer's e-mail and name, and an address's lines, are kept sealed by the vault (the server's
//! `personal_data` seals and opens them); this module stores and finds the sealed blobs and the e-mail's keyed
//! hash, and never sees them in clear.

use crate::db::Cols;
use crate::{args, Conn, Row, StoreError};
use buynow_domain::card::{Brand, Funding};
use buynow_domain::{AddressId, CustomerId, PaymentMethodId};
use std::sync::LazyLock;

#[derive(Debug, Clone)]
pub struct Customer {
    pub id: CustomerId,
    /// The e-mail and name, sealed for this customer's id.
    pub sealed: Vec<u8>,
    pub password_hash: String,
    pub prime: bool,
    pub default_address_id: Option<AddressId>,
    pub default_payment_method_id: Option<PaymentMethodId>,
}

const CUSTOMER_COLS: &str = "id, sealed, password_hash, prime, default_address_id, default_payment_method_id";

fn customer(r: &Row) -> Result<Customer, StoreError> {
    customer_at(r, 0)
}

/// The customer in the columns from `at` on (`CUSTOMER_COLS`' order).
fn customer_at(r: &Row, at: usize) -> Result<Customer, StoreError> {
    let c = Cols::new(CUSTOMER_COLS, at);
    Ok(Customer {
        id: r.parsed(c.get("id"), CustomerId::parse)?,
        sealed: r.blob(c.get("sealed"))?,
        password_hash: r.text(c.get("password_hash"))?,
        prime: r.flag(c.get("prime"))?,
        default_address_id: r
            .opt_text(c.get("default_address_id"))?
            .map(|s| AddressId::parse(&s))
            .transpose()
            .map_err(corrupt)?,
        default_payment_method_id: r
            .opt_text(c.get("default_payment_method_id"))?
            .map(|s| PaymentMethodId::parse(&s))
            .transpose()
            .map_err(corrupt)?,
    })
}

/// The `buyer` query, made once, and where the address's, the card's, the product's and the key's columns
/// start in its rows.
static BUYER_QUERY: LazyLock<(String, [usize; 5])> = LazyLock::new(|| {
    use crate::db::qualified;
    let parts = [
        qualified("c", CUSTOMER_COLS),
        qualified("a", ADDRESS_COLS),
        qualified("p", CARD_COLS),
        qualified("pr", crate::catalog::PRODUCT_COLS),
        qualified("k", "request_digest, order_id, last_used_at"),
        qualified("s", "idle_until"),
    ];
    let sql = format!(
        "SELECT {} FROM sessions s JOIN customers c ON c.id = s.customer_id \
         LEFT JOIN addresses a ON a.id = COALESCE($2, c.default_address_id) AND a.customer_id = c.id \
         LEFT JOIN payment_methods p ON p.id = COALESCE($3, c.default_payment_method_id) AND p.customer_id = c.id \
         LEFT JOIN products pr ON pr.sku = $4 \
         LEFT JOIN idempotency_keys k ON k.customer = unhex(substr(c.id, 5)) AND k.key_digest = $5 \
         WHERE s.token_hash = $1 AND s.expires_at > $6 AND s.idle_until > $7",
        parts.iter().map(|p| p.join(", ")).collect::<Vec<_>>().join(", ")
    );
    let mut starts = [0; 5];
    let mut at = 0;
    for (start, part) in starts.iter_mut().zip(&parts) {
        at += part.len();
        *start = at;
    }
    (sql, starts)
});

/// What one purchase needs to read: who is buying (by their session), with the address and card the purchase
/// names (or else their defaults), the product, and what its idempotency key already names.
#[derive(Debug, Clone)]
pub struct Buyer {
    pub customer: Customer,
    /// `None` when none is named and there is no default, or the one named is not this customer's.
    pub address: Option<SavedAddress>,
    /// As `address`.
    pub card: Option<SavedCard>,
    /// `None` when there is no such SKU.
    pub product: Option<crate::catalog::Product>,
    /// What the purchase's idempotency key names, if it was used before.
    pub key: Option<UsedKey>,
    /// Until when the session may go unused (µs, the wall clock's).
    pub idle_until: i64,
}

/// An idempotency key used before: the request it came with, its order, and when it was last used (µs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedKey {
    pub request: crate::idempotency::Digest,
    pub order: buynow_domain::OrderId,
    pub last_used_at: i64,
}

/// A purchase's read: whose session, and what it names.
#[derive(Debug, Clone, Copy)]
pub struct Purchase<'a> {
    pub token_hash: &'a str,
    pub now: i64,
    /// The wall clock, for the session's idle limit (the sessions' times are the wall clock's).
    pub wall: i64,
    pub address: Option<AddressId>,
    pub card: Option<PaymentMethodId>,
    pub sku: &'a str,
    pub key: Option<&'a str>,
}

/// What Buy Now and its review read, in one query rather than six (on PostgreSQL each is a round trip): `None`
/// when the session is unknown or expired.
pub async fn buyer(c: &mut Conn<'_>, purchase: Purchase<'_>) -> Result<Option<Buyer>, StoreError> {
    let (sql, [address_at, card_at, product_at, key_at, session_at]) = &*BUYER_QUERY;
    let Purchase { token_hash, now, wall, address, card, sku, key } = purchase;
    let key = key.map(|k| crate::idempotency::Digest::of(k.as_bytes()).bytes().to_vec());
    let args = args![token_hash, address.map(|a| a.to_string()), card.map(|p| p.to_string()), sku, key, now, wall];
    let Some(r) = c.opt(sql, args).await? else { return Ok(None) };
    let (address_at, card_at, product_at, key_at) = (*address_at, *card_at, *product_at, *key_at);
    Ok(Some(Buyer {
        customer: customer_at(&r, 0)?,
        address: r.opt_text(address_at)?.map(|_| saved_address_at(&r, address_at)).transpose()?,
        card: r.opt_text(card_at)?.map(|_| saved_card_at(&r, card_at)).transpose()?,
        product: r.opt_text(product_at)?.map(|_| crate::catalog::product_at(&r, product_at)).transpose()?,
        key: match r.opt_blob(key_at)? {
            Some(request) => Some(UsedKey {
                request: crate::idempotency::Digest::stored(request)?,
                order: r.parsed(key_at + 1, buynow_domain::OrderId::parse)?,
                last_used_at: r.int(key_at + 2)?,
            }),
            None => None,
        },
        idle_until: r.int(*session_at)?,
    }))
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// A new customer as stored: the keyed hash of their e-mail, and their e-mail and name sealed.
pub struct NewCustomer<'a> {
    pub id: CustomerId,
    pub email_hash: &'a str,
    pub sealed: Vec<u8>,
    pub password_hash: &'a str,
}

/// Inserts a customer; a taken e-mail (its hash under the active key) is `Err` with `is_unique_violation()`.
pub async fn insert(c: &mut Conn<'_>, new: NewCustomer<'_>) -> Result<(), StoreError> {
    c.exec(
        "INSERT INTO customers (id, email_hash, legacy_name, sealed, password_hash, prime, created_at) \
         VALUES ($1, $2, '', $3, $4, 0, $5)",
        args![new.id.to_string(), new.email_hash, new.sealed, new.password_hash, crate::now_micros()],
    )
    .await
    .map(drop)
}

pub async fn by_id(c: &mut Conn<'_>, id: CustomerId) -> Result<Option<Customer>, StoreError> {
    let sql = format!("SELECT {CUSTOMER_COLS} FROM customers WHERE id = $1");
    c.opt(&sql, args![id.to_string()]).await?.as_ref().map(customer).transpose()
}

/// The customers of `ids` that exist, in no set order.
pub async fn by_ids(c: &mut Conn<'_>, ids: &[CustomerId]) -> Result<Vec<Customer>, StoreError> {
    let (of, args) = crate::db::one_of(c.backend(), "id", ids, 1);
    c.all(&format!("SELECT {CUSTOMER_COLS} FROM customers WHERE {of}"), args).await?.iter().map(customer).collect()
}

/// The customer whose e-mail has one of `hashes` (its keyed hash under each configured vault key).
pub async fn by_email_hash(c: &mut Conn<'_>, hashes: &[String]) -> Result<Option<Customer>, StoreError> {
    let sql = format!("SELECT {CUSTOMER_COLS} FROM customers WHERE email_hash = $1");
    for hash in hashes {
        if let Some(row) = c.opt(&sql, args![hash]).await? {
            return customer(&row).map(Some);
        }
    }
    Ok(None)
}

pub async fn set_prime(c: &mut Conn<'_>, id: CustomerId, prime: bool) -> Result<(), StoreError> {
    c.exec("UPDATE customers SET prime = $1 WHERE id = $2", args![prime, id.to_string()]).await.map(drop)
}

pub async fn set_default_address(c: &mut Conn<'_>, id: CustomerId, address: AddressId) -> Result<(), StoreError> {
    c.exec("UPDATE customers SET default_address_id = $1 WHERE id = $2", args![address.to_string(), id.to_string()])
        .await
        .map(drop)
}

pub async fn set_default_payment_method(
    c: &mut Conn<'_>,
    id: CustomerId,
    pm: PaymentMethodId,
) -> Result<(), StoreError> {
    c.exec("UPDATE customers SET default_payment_method_id = $1 WHERE id = $2", args![pm.to_string(), id.to_string()])
        .await
        .map(drop)
}

// ---- sessions: only a hash of the bearer token is stored, so a copy of the database logs nobody in.

pub async fn insert_session(
    c: &mut Conn<'_>,
    token_hash: &str,
    customer: CustomerId,
    expires_at: i64,
    idle_until: i64,
) -> Result<(), StoreError> {
    c.exec(
        "INSERT INTO sessions (token_hash, customer_id, created_at, expires_at, idle_until) VALUES ($1, $2, $3, $4, $5)",
        args![token_hash, customer.to_string(), crate::now_micros(), expires_at, idle_until],
    )
    .await
    .map(drop)
}

/// Whose live session it is (neither expired nor idle too long at `now`), and until when it may go unused.
pub async fn session_customer(
    c: &mut Conn<'_>,
    token_hash: &str,
    now: i64,
) -> Result<Option<(CustomerId, i64)>, StoreError> {
    c.opt(
        "SELECT customer_id, idle_until FROM sessions WHERE token_hash = $1 AND expires_at > $2 AND idle_until > $2",
        args![token_hash, now],
    )
    .await?
    .map(|r| Ok((r.parsed(0, CustomerId::parse)?, r.int(1)?)))
    .transpose()
}

/// The session was used: it may now go unused until `idle_until`.
pub async fn touch_session(c: &mut Conn<'_>, token_hash: &str, idle_until: i64) -> Result<(), StoreError> {
    c.exec("UPDATE sessions SET idle_until = $2 WHERE token_hash = $1", args![token_hash, idle_until]).await.map(drop)
}

/// Ends every session of the customer but `keep` (a password change): returns how many ended.
pub async fn end_other_sessions(c: &mut Conn<'_>, customer: CustomerId, keep: &str) -> Result<u64, StoreError> {
    c.exec("DELETE FROM sessions WHERE customer_id = $1 AND token_hash <> $2", args![customer.to_string(), keep]).await
}

pub async fn set_password(c: &mut Conn<'_>, customer: CustomerId, hash: &str) -> Result<(), StoreError> {
    c.exec("UPDATE customers SET password_hash = $2 WHERE id = $1", args![customer.to_string(), hash]).await.map(drop)
}

/// Ends a session: its token stops working at once. Ending one that is gone already is not an error.
pub async fn delete_session(c: &mut Conn<'_>, token_hash: &str) -> Result<(), StoreError> {
    c.exec("DELETE FROM sessions WHERE token_hash = $1", args![token_hash]).await.map(drop)
}

// ---- addresses

/// An address as stored: its region and country in clear (routing, promises and tax read them), the whole of
/// it sealed for its id.
#[derive(Debug, Clone)]
pub struct SavedAddress {
    pub id: AddressId,
    pub customer_id: CustomerId,
    pub region: String,
    pub country: String,
    pub sealed: Vec<u8>,
}

pub async fn insert_address(c: &mut Conn<'_>, a: &SavedAddress) -> Result<(), StoreError> {
    c.exec(
        "INSERT INTO addresses (id, customer_id, region, country, sealed, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        args![
            a.id.to_string(),
            a.customer_id.to_string(),
            &a.region,
            &a.country,
            a.sealed.clone(),
            crate::now_micros()
        ],
    )
    .await
    .map(drop)
}

const ADDRESS_COLS: &str = "id, customer_id, region, country, sealed";

fn saved_address(r: &Row) -> Result<SavedAddress, StoreError> {
    saved_address_at(r, 0)
}

fn saved_address_at(r: &Row, at: usize) -> Result<SavedAddress, StoreError> {
    let c = Cols::new(ADDRESS_COLS, at);
    Ok(SavedAddress {
        id: r.parsed(c.get("id"), AddressId::parse)?,
        customer_id: r.parsed(c.get("customer_id"), CustomerId::parse)?,
        region: r.text(c.get("region"))?,
        country: r.text(c.get("country"))?,
        sealed: r.blob(c.get("sealed"))?,
    })
}

pub async fn addresses(c: &mut Conn<'_>, customer: CustomerId) -> Result<Vec<SavedAddress>, StoreError> {
    let sql = format!("SELECT {ADDRESS_COLS} FROM addresses WHERE customer_id = $1 ORDER BY created_at, id");
    c.all(&sql, args![customer.to_string()]).await?.iter().map(saved_address).collect()
}

// ---- payment methods

#[derive(Debug, Clone)]
pub struct SavedCard {
    pub id: PaymentMethodId,
    pub customer_id: CustomerId,
    pub brand: Brand,
    pub funding: Funding,
    pub last4: String,
    pub exp_month: u32,
    pub exp_year: i32,
    /// The vault's envelope of the number: the master key's id, the card's data key wrapped by it (none on a
    /// card sealed before envelopes), and the number sealed by the data key.
    pub key_id: String,
    pub wrapped_key: Option<Vec<u8>>,
    pub sealed: Vec<u8>,
}

pub async fn insert_card(c: &mut Conn<'_>, card: &SavedCard) -> Result<(), StoreError> {
    c.exec(
        "INSERT INTO payment_methods (id, customer_id, brand, funding, last4, exp_month, exp_year, key_id, \
         wrapped_key, sealed, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        args![
            card.id.to_string(),
            card.customer_id.to_string(),
            card.brand.as_str(),
            card.funding.as_str(),
            &card.last4,
            card.exp_month,
            card.exp_year,
            &card.key_id,
            card.wrapped_key.clone().ok_or(StoreError::Unsupported("a card without a wrapped data key"))?,
            card.sealed.clone(),
            crate::now_micros()
        ],
    )
    .await
    .map(drop)
}

const CARD_COLS: &str = "id, customer_id, brand, funding, last4, exp_month, exp_year, key_id, wrapped_key, sealed";

fn saved_card(r: &Row) -> Result<SavedCard, StoreError> {
    saved_card_at(r, 0)
}

fn saved_card_at(r: &Row, at: usize) -> Result<SavedCard, StoreError> {
    let c = Cols::new(CARD_COLS, at);
    Ok(SavedCard {
        id: r.parsed(c.get("id"), PaymentMethodId::parse)?,
        customer_id: r.parsed(c.get("customer_id"), CustomerId::parse)?,
        brand: r.parsed(c.get("brand"), |s| Brand::parse(s).ok_or("unknown brand"))?,
        funding: r.parsed(c.get("funding"), |s| Funding::parse(s).ok_or("unknown funding"))?,
        last4: r.text(c.get("last4"))?,
        exp_month: u32::try_from(r.int(c.get("exp_month"))?).map_err(corrupt)?,
        exp_year: i32::try_from(r.int(c.get("exp_year"))?).map_err(corrupt)?,
        key_id: r.text(c.get("key_id"))?,
        wrapped_key: r.opt_blob(c.get("wrapped_key"))?,
        sealed: r.blob(c.get("sealed"))?,
    })
}

/// The card, if it is this customer's.
pub async fn card(
    c: &mut Conn<'_>,
    customer: CustomerId,
    id: PaymentMethodId,
) -> Result<Option<SavedCard>, StoreError> {
    let sql = format!("SELECT {CARD_COLS} FROM payment_methods WHERE id = $1 AND customer_id = $2");
    c.opt(&sql, args![id.to_string(), customer.to_string()]).await?.as_ref().map(saved_card).transpose()
}

/// The cards of `ids` that exist, whoever's they are (each names its customer), in no set order.
pub async fn cards_by_id(c: &mut Conn<'_>, ids: &[PaymentMethodId]) -> Result<Vec<SavedCard>, StoreError> {
    let (of, args) = crate::db::one_of(c.backend(), "id", ids, 1);
    c.all(&format!("SELECT {CARD_COLS} FROM payment_methods WHERE {of}"), args).await?.iter().map(saved_card).collect()
}

/// Up to `limit` cards whose envelope is not yet under the master key `active` (or has no wrapped data key),
/// after `after` in id order: what `buynow keys rotate` works through.
pub async fn cards_to_rewrap(
    c: &mut Conn<'_>,
    active: &str,
    after: &str,
    limit: u32,
) -> Result<Vec<SavedCard>, StoreError> {
    let sql = format!(
        "SELECT {CARD_COLS} FROM payment_methods WHERE (key_id <> $1 OR wrapped_key IS NULL) AND id > $2 \
         ORDER BY id LIMIT $3"
    );
    c.all(&sql, args![active, after, limit]).await?.iter().map(saved_card).collect()
}

/// How many cards' envelopes are under each master key (`None`: sealed before envelopes).
pub async fn cards_by_key(c: &mut Conn<'_>) -> Result<Vec<(String, bool, i64)>, StoreError> {
    let rows = c
        .all(
            "SELECT key_id, CAST(CASE WHEN wrapped_key IS NULL THEN 0 ELSE 1 END AS BIGINT) AS enveloped, COUNT(*) AS n \
             FROM payment_methods GROUP BY key_id, CASE WHEN wrapped_key IS NULL THEN 0 ELSE 1 END ORDER BY key_id",
            args![],
        )
        .await?;
    rows.iter().map(|r| Ok((r.text("key_id")?, r.int("enveloped")? != 0, r.int("n")?))).collect()
}

/// Puts a card's new envelope in place of the one it was read with; false when another rotation (or anything)
/// changed it meanwhile.
pub async fn replace_envelope(
    c: &mut Conn<'_>,
    id: PaymentMethodId,
    was_key_id: &str,
    key_id: &str,
    wrapped_key: Vec<u8>,
    sealed: Vec<u8>,
) -> Result<bool, StoreError> {
    let n = c
        .exec(
            "UPDATE payment_methods SET key_id = $3, wrapped_key = $4, sealed = $5 WHERE id = $1 AND key_id = $2",
            args![id.to_string(), was_key_id, key_id, wrapped_key, sealed],
        )
        .await?;
    Ok(n == 1)
}

pub async fn cards(c: &mut Conn<'_>, customer: CustomerId) -> Result<Vec<SavedCard>, StoreError> {
    let sql = format!("SELECT {CARD_COLS} FROM payment_methods WHERE customer_id = $1 ORDER BY created_at, id");
    c.all(&sql, args![customer.to_string()]).await?.iter().map(saved_card).collect()
}
