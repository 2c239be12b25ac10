//! Gift cards and the ledger of gift card money. The rules of a movement (balanced, never overdrawn) are the
//! domain's (`buynow_domain::ledger`); this module reads the balance a movement draws on, under a lock that
//! keeps two movements from drawing on one account at once, and writes its two entries.

use crate::{args, Backend, Conn, Row, StoreError};
use buynow_domain::ledger::{postings, Account, LedgerError, Movement, MovementKind};
use buynow_domain::{Currency, CustomerId, GiftCardId, Money, OrderId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GiftCard {
    pub id: GiftCardId,
    pub code_last4: String,
    pub amount: Money,
    pub issued_by: String,
    pub redeemed_by: Option<CustomerId>,
    pub redeemed_at: Option<i64>,
    pub created_at: i64,
}

const COLS: &str = "id, code_last4, currency, amount, issued_by, redeemed_by, redeemed_at, created_at";

fn gift_card(r: &Row) -> Result<GiftCard, StoreError> {
    let currency = r.parsed("currency", Currency::parse)?;
    Ok(GiftCard {
        id: r.parsed("id", GiftCardId::parse)?,
        code_last4: r.text("code_last4")?,
        amount: Money::new(r.int("amount")?, currency),
        issued_by: r.text("issued_by")?,
        redeemed_by: r.opt_text("redeemed_by")?.map(|c| CustomerId::parse(&c)).transpose().map_err(corrupt)?,
        redeemed_at: r.opt_int("redeemed_at")?,
        created_at: r.int("created_at")?,
    })
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// What asking for a movement came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    Done,
    /// The movement of this id was made before: nothing new was written.
    AlreadyDone,
    /// The ledger's rules refuse it (more than the account holds, nothing at all): nothing was written.
    Refused(LedgerError),
}

/// The balance of `account`: the sum of its entries.
pub async fn balance(c: &mut Conn<'_>, account: &Account) -> Result<i64, StoreError> {
    let r = c
        .one(
            "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS balance FROM ledger_entries WHERE account = $1",
            args![account.key()],
        )
        .await?;
    r.int("balance")
}

/// Makes `movement` once, under the id `txn_id` (the same id again is `AlreadyDone`). On PostgreSQL the account
/// it draws from is locked for the rest of the transaction first, so two movements never both spend one
/// balance; SQLite's single writer does that alone.
pub async fn post(
    c: &mut Conn<'_>,
    txn_id: &str,
    movement: &Movement,
    order: Option<OrderId>,
    now: i64,
) -> Result<Posted, StoreError> {
    let (from, _) = movement.accounts();
    lock(c, &from).await?;
    if c.opt("SELECT 1 FROM ledger_entries WHERE txn_id = $1 LIMIT 1", args![txn_id]).await?.is_some() {
        return Ok(Posted::AlreadyDone);
    }
    let drawn = balance(c, &from).await?;
    let entries = match postings(movement, drawn) {
        Ok(entries) => entries,
        Err(refused) => return Ok(Posted::Refused(refused)),
    };
    for p in entries {
        c.exec(
            "INSERT INTO ledger_entries (txn_id, kind, account, amount, currency, order_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![
                txn_id,
                movement.kind().as_str(),
                p.account.key(),
                p.amount,
                p.currency.code(),
                order.map(|o| o.to_string()),
                now
            ],
        )
        .await?;
    }
    Ok(Posted::Done)
}

/// Keeps other movements off `account` until the transaction ends (PostgreSQL; SQLite has one writer). A
/// transaction may take it more than once.
async fn lock(c: &mut Conn<'_>, account: &Account) -> Result<(), StoreError> {
    if c.backend() == Backend::Postgres {
        c.exec("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", args![account.key()]).await?;
    }
    Ok(())
}

/// What the movement `txn_id` put into `account`, if it was made.
async fn posted_to(c: &mut Conn<'_>, txn_id: &str, account: &Account) -> Result<Option<i64>, StoreError> {
    let sql = "SELECT amount FROM ledger_entries WHERE txn_id = $1 AND account = $2";
    c.opt(sql, args![txn_id, account.key()]).await?.map(|r| r.int("amount")).transpose()
}

/// Takes up to `up_to` of `customer`'s balance as `order`'s tender, once under `txn_id`, and answers what it
/// took: all of it when the balance is enough, the whole balance when it is less, nothing when it is empty.
/// Asked again, it answers what it took the first time.
pub async fn spend_up_to(
    c: &mut Conn<'_>,
    customer: CustomerId,
    order: OrderId,
    up_to: Money,
    txn_id: &str,
    now: i64,
) -> Result<Money, StoreError> {
    let from = Account::Customer(customer);
    lock(c, &from).await?;
    if let Some(taken) = posted_to(c, txn_id, &Account::Order(order)).await? {
        return Ok(Money::new(taken, up_to.currency()));
    }
    let amount = balance(c, &from).await?.min(up_to.minor());
    if amount <= 0 {
        return Ok(Money::zero(up_to.currency()));
    }
    let movement = Movement::Spend { customer, order, amount: Money::new(amount, up_to.currency()) };
    match post(c, txn_id, &movement, Some(order), now).await? {
        Posted::Done | Posted::AlreadyDone => Ok(movement.amount()),
        Posted::Refused(e) => Err(corrupt(format!("a spend within the balance was refused: {e}"))),
    }
}

/// Gives what `order` took of the balance back to `customer`, once under `txn_id`: all it still holds
/// (`Reverse`, the order did not go through) or `amount` of it (`Refund`, never more than it holds). Answers
/// what went back; asked again, what went back the first time.
pub async fn give_back(
    c: &mut Conn<'_>,
    order: OrderId,
    customer: CustomerId,
    kind: GiveBack,
    txn_id: &str,
    now: i64,
) -> Result<Money, StoreError> {
    let from = Account::Order(order);
    lock(c, &from).await?;
    let currency = match kind {
        GiveBack::Reverse(currency) => currency,
        GiveBack::Refund(amount) => amount.currency(),
    };
    if let Some(given) = posted_to(c, txn_id, &Account::Customer(customer)).await? {
        return Ok(Money::new(given, currency));
    }
    let held = balance(c, &from).await?;
    let (amount, movement): (i64, fn(OrderId, CustomerId, Money) -> Movement) = match kind {
        GiveBack::Reverse(_) => (held, |order, customer, amount| Movement::Reverse { order, customer, amount }),
        GiveBack::Refund(amount) => {
            (amount.minor().min(held), |order, customer, amount| Movement::Refund { order, customer, amount })
        }
    };
    if amount <= 0 {
        return Ok(Money::zero(currency));
    }
    let movement = movement(order, customer, Money::new(amount, currency));
    match post(c, txn_id, &movement, Some(order), now).await? {
        Posted::Done | Posted::AlreadyDone => Ok(movement.amount()),
        Posted::Refused(e) => Err(corrupt(format!("giving back what the order holds was refused: {e}"))),
    }
}

/// What `give_back` gives back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveBack {
    /// All the order still holds, in this currency.
    Reverse(Currency),
    /// This much of it.
    Refund(Money),
}

/// A new gift card and the movement that issues it, together.
pub async fn issue(c: &mut Conn<'_>, card: &GiftCard, code_hash: &str, now: i64) -> Result<Posted, StoreError> {
    c.exec(
        "INSERT INTO gift_cards (id, code_hash, code_last4, currency, amount, issued_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![
            card.id.to_string(),
            code_hash,
            &card.code_last4,
            card.amount.currency().code(),
            card.amount.minor(),
            &card.issued_by,
            now
        ],
    )
    .await?;
    post(c, &format!("issue:{}", card.id), &Movement::Issue { card: card.id, amount: card.amount }, None, now).await
}

/// What a redemption came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeemed {
    /// Its whole amount is in the customer's balance now.
    Now(GiftCard),
    /// This customer redeemed it before (a retried request): nothing new.
    Before(GiftCard),
    /// Another customer did.
    ByAnother,
    Unknown,
}

/// Redeems the card whose code hashes to `code_hash` into `customer`'s balance. The card is claimed by a
/// conditional update, so of two customers racing for one code exactly one gets it.
pub async fn redeem(c: &mut Conn<'_>, code_hash: &str, customer: CustomerId, now: i64) -> Result<Redeemed, StoreError> {
    let claimed = c
        .opt(
            &format!(
                "UPDATE gift_cards SET redeemed_by = $2, redeemed_at = $3 \
                 WHERE code_hash = $1 AND redeemed_by IS NULL RETURNING {COLS}"
            ),
            args![code_hash, customer.to_string(), now],
        )
        .await?;
    let Some(row) = claimed else {
        let sql = format!("SELECT {COLS} FROM gift_cards WHERE code_hash = $1");
        return Ok(match c.opt(&sql, args![code_hash]).await?.as_ref().map(gift_card).transpose()? {
            Some(card) if card.redeemed_by == Some(customer) => Redeemed::Before(card),
            Some(_) => Redeemed::ByAnother,
            None => Redeemed::Unknown,
        });
    };
    let card = gift_card(&row)?;
    let movement = Movement::Redeem { card: card.id, customer, amount: card.amount };
    match post(c, &format!("redeem:{}", card.id), &movement, None, now).await? {
        Posted::Done | Posted::AlreadyDone => Ok(Redeemed::Now(card)),
        Posted::Refused(e) => Err(StoreError::Corrupt(format!("gift card {} cannot be redeemed: {e}", card.id))),
    }
}

/// One movement as an account's history shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: MovementKind,
    /// Signed: what came into the account (positive) or left it (negative).
    pub amount: Money,
    pub order_id: Option<OrderId>,
    pub created_at: i64,
}

/// The movements of `account`, newest first.
pub async fn history(c: &mut Conn<'_>, account: &Account, limit: u32) -> Result<Vec<Entry>, StoreError> {
    let rows = c
        .all(
            "SELECT kind, amount, currency, order_id, created_at FROM ledger_entries WHERE account = $1 \
             ORDER BY id DESC LIMIT $2",
            args![account.key(), limit],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Entry {
                kind: r.parsed("kind", |k| MovementKind::parse(k).ok_or("an unknown movement"))?,
                amount: Money::new(r.int("amount")?, r.parsed("currency", Currency::parse)?),
                order_id: r.opt_text("order_id")?.map(|o| OrderId::parse(&o)).transpose().map_err(corrupt)?,
                created_at: r.int("created_at")?,
            })
        })
        .collect()
}

/// The sum of every entry of the ledger: zero, always (a check for tests and audits).
pub async fn ledger_sum(c: &mut Conn<'_>) -> Result<i64, StoreError> {
    c.one("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS total FROM ledger_entries", args![]).await?.int("total")
}

pub async fn by_id(c: &mut Conn<'_>, id: GiftCardId) -> Result<Option<GiftCard>, StoreError> {
    let sql = format!("SELECT {COLS} FROM gift_cards WHERE id = $1");
    c.opt(&sql, args![id.to_string()]).await?.as_ref().map(gift_card).transpose()
}
