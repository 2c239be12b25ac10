//! Payment attempts: one row per authorization, keyed by the id the gateway sees as its idempotency key.

use crate::db::Cols;
use crate::{args, Arg, Backend, Conn, Row, StoreError, Write};
use buynow_domain::{CaptureId, Currency, Money, OrderId, PaymentId, PaymentMethodId, ReturnId, ShipmentId};
use std::collections::HashMap;

pub use buynow_domain::PaymentStatus;

/// A payment moves from `from` to `to`, with the gateway's reference or decline code when given.
#[derive(Debug, Clone)]
pub struct PaymentMove {
    pub from: PaymentStatus,
    pub to: PaymentStatus,
    pub authorization: Option<String>,
    pub decline_code: Option<String>,
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
    /// What has been captured of the hold, and refunded of that.
    pub captured: Money,
    pub refunded: Money,
    /// When the hold was made (µs): a hold lapses after 7 days.
    pub authorized_at: Option<i64>,
    /// The gift card balance the order took besides the card (split tender; `amount` is the card's part):
    /// `None` while none was asked for or it is not yet decided.
    pub gift_amount: Option<Money>,
    /// The processor's authentication challenge, while the card's bank waits for the customer.
    pub challenge: Option<String>,
}

impl Payment {
    /// A new attempt for `amount`, not yet sent to the gateway.
    pub fn pending(order_id: OrderId, payment_method_id: PaymentMethodId, amount: Money) -> Payment {
        Payment {
            id: PaymentId::new(),
            order_id,
            payment_method_id,
            amount,
            status: PaymentStatus::Pending,
            authorization: None,
            decline_code: None,
            captured: Money::zero(amount.currency()),
            refunded: Money::zero(amount.currency()),
            authorized_at: None,
            gift_amount: None,
            challenge: None,
        }
    }

    /// Whether the card is charged nothing: the gift card balance paid for all of it, and the processor holds
    /// nothing for this payment.
    pub fn gift_card_only(&self) -> bool {
        self.amount.is_zero() && self.gift_amount.is_some_and(|g| !g.is_zero())
    }
}

/// The authorization reference of a payment the gift card balance paid for whole: there is no hold at the
/// card processor to capture, void or refund.
pub const GIFT_CARD_ONLY: &str = "gift_card_only";

pub(crate) const COLS: &str = "id, order_id, payment_method_id, amount, currency, status, authorization_ref, \
    decline_code, captured, refunded, authorized_at, gift_amount, challenge";

fn payment(r: &Row) -> Result<Payment, StoreError> {
    payment_at(r, 0)
}

/// The payment in the columns from `at` on (`COLS`' order).
pub(crate) fn payment_at(r: &Row, at: usize) -> Result<Payment, StoreError> {
    let c = Cols::new(COLS, at);
    let currency = r.parsed(c.get("currency"), Currency::parse)?;
    Ok(Payment {
        id: r.parsed(c.get("id"), PaymentId::parse)?,
        order_id: r.parsed(c.get("order_id"), OrderId::parse)?,
        payment_method_id: r.parsed(c.get("payment_method_id"), PaymentMethodId::parse)?,
        amount: Money::new(r.int(c.get("amount"))?, currency),
        status: r.parsed(c.get("status"), |s| PaymentStatus::parse(s).ok_or("unknown payment status"))?,
        authorization: r.opt_text(c.get("authorization_ref"))?,
        decline_code: r.opt_text(c.get("decline_code"))?,
        captured: Money::new(r.int(c.get("captured"))?, currency),
        refunded: Money::new(r.int(c.get("refunded"))?, currency),
        authorized_at: r.opt_int(c.get("authorized_at"))?,
        gift_amount: r.opt_int(c.get("gift_amount"))?.map(|g| Money::new(g, currency)),
        challenge: r.opt_text(c.get("challenge"))?,
    })
}

pub async fn insert(c: &mut Conn<'_>, p: &Payment, at: i64) -> Result<(), StoreError> {
    c.together(vec![insert_write(&[(p, at)])]).await.map(drop)
}

/// A new payment's columns: what is captured, refunded and when it was authorized come later.
const INSERT_COLUMNS: &[&str] = &[
    "id",
    "order_id",
    "payment_method_id",
    "amount",
    "currency",
    "status",
    "authorization_ref",
    "decline_code",
    "gift_amount",
    "created_at",
    "updated_at",
];

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
                p.gift_amount.map(|g| g.minor()),
                at,
                at
            ]
        })
        .collect();
    Write::Rows { table: "payments", columns: INSERT_COLUMNS, rows, tail: "" }
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
    decline_code = COALESCE($5, decline_code), updated_at = $6, \
    authorized_at = CASE WHEN $3 = 'authorized' THEN $6 ELSE authorized_at END WHERE id = $1 AND status = $2";

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
                      decline_code = COALESCE(m.decline_code, payments.decline_code), updated_at = m.at, \
                      authorized_at = CASE WHEN m.to_status = 'authorized' THEN m.at ELSE payments.authorized_at END \
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

/// The latest attempt of each of `orders` that has one.
pub async fn latest_for_orders(c: &mut Conn<'_>, orders: &[OrderId]) -> Result<HashMap<OrderId, Payment>, StoreError> {
    let select =
        |of: &str| format!("SELECT {COLS} FROM payments WHERE {of} ORDER BY order_id, created_at DESC, id DESC");
    let all = crate::db::grouped_where(c, "order_id", orders, select, |r| payment(r).map(|p| (p.order_id, p))).await?;
    Ok(all.into_iter().filter_map(|(order, newest_first)| Some((order, newest_first.into_iter().next()?))).collect())
}

/// The card's bank asks the customer to authenticate first: the payment waits with the processor's
/// `challenge`. `false` if it was no longer pending.
pub async fn require_authentication(
    c: &mut Conn<'_>,
    id: PaymentId,
    challenge: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let n = c
        .exec(
            "UPDATE payments SET status = 'requires_authentication', challenge = $2, updated_at = $3 \
             WHERE id = $1 AND status = 'pending'",
            args![id.to_string(), challenge, now],
        )
        .await?;
    Ok(n == 1)
}

/// Settles a pending payment's split: `gift` taken from the gift card balance, `card` left for the card.
/// Once only: `false` if the split was settled before (a job that runs again) or the payment moved on.
pub async fn set_tender(
    c: &mut Conn<'_>,
    id: PaymentId,
    gift: Money,
    card: Money,
    now: i64,
) -> Result<bool, StoreError> {
    let n = c
        .exec(
            "UPDATE payments SET gift_amount = $2, amount = $3, updated_at = $4 \
             WHERE id = $1 AND status = 'pending' AND gift_amount IS NULL",
            args![id.to_string(), gift.minor(), card.minor(), now],
        )
        .await?;
    Ok(n == 1)
}

/// The processor's hold for a payment that a cancel dropped while its authorization was on its way: kept, so
/// that it can be voided. `false` if the payment is not such a one (or has it already).
pub async fn set_late_authorization(
    c: &mut Conn<'_>,
    id: PaymentId,
    reference: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let n = c
        .exec(
            "UPDATE payments SET authorization_ref = $2, updated_at = $3 \
             WHERE id = $1 AND status = 'cancelled' AND authorization_ref IS NULL",
            args![id.to_string(), reference, now],
        )
        .await?;
    Ok(n == 1)
}

/// Up to `limit` payments that have not changed since `settled_before` and were not yet compared with the
/// card processor's records, oldest first; pending ones (and those waiting for the customer to
/// authenticate) are their authorization job's to settle.
pub async fn to_reconcile(c: &mut Conn<'_>, settled_before: i64, limit: u32) -> Result<Vec<Payment>, StoreError> {
    let sql = format!(
        "SELECT {COLS} FROM payments WHERE reconciled_at IS NULL AND updated_at < $1 \
         AND status NOT IN ('pending', 'requires_authentication') \
         ORDER BY updated_at LIMIT $2"
    );
    c.all(&sql, args![settled_before, limit]).await?.iter().map(payment).collect()
}

pub async fn mark_reconciled(c: &mut Conn<'_>, id: PaymentId, at: i64) -> Result<(), StoreError> {
    mark_all_reconciled(c, &[id], at).await
}

/// Marks `ids` compared with the card processor's records, in one statement.
pub async fn mark_all_reconciled(c: &mut Conn<'_>, ids: &[PaymentId], at: i64) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let (of, mut args) = crate::db::one_of(c.backend(), "id", ids, 2);
    args.insert(0, Arg::Int(at));
    c.exec(&format!("UPDATE payments SET reconciled_at = $1 WHERE {of}"), args).await.map(drop)
}

/// One step of an order's payments, as its history shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub at: i64,
    /// `authorize`, `capture`, `void` or `refund` (of the card), or `gift_card_spend`, `gift_card_reverse` or
    /// `gift_card_refund` (of the gift card balance).
    pub step: String,
    pub amount: Money,
    /// An authorization: `pending`, `approved`, `declined` or `cancelled` (dropped before an answer); a
    /// capture or refund: `pending` or `done`; a void: `done`.
    pub outcome: String,
    pub decline_code: Option<String>,
}

impl Attempt {
    /// The steps of a payment just authorized: what the gift card balance paid, and the card's authorization
    /// (none when the gift card balance paid for all of it), at `spent_at` and `at`. As `attempts` reads them
    /// back.
    pub fn tender(p: &Payment, spent_at: i64, at: i64) -> Vec<Attempt> {
        let gift = p.gift_amount.filter(|g| !g.is_zero()).map(|amount| Attempt {
            at: spent_at,
            step: "gift_card_spend".into(),
            amount,
            outcome: "done".into(),
            decline_code: None,
        });
        let card = (p.authorization.as_deref() != Some(GIFT_CARD_ONLY)).then(|| Attempt::authorization(p, at));
        gift.into_iter().chain(card).collect()
    }

    /// The authorization step of `p`, as it stands.
    pub fn authorization(p: &Payment, at: i64) -> Attempt {
        let outcome = match p.status {
            PaymentStatus::Pending => "pending",
            PaymentStatus::RequiresAuthentication => "authentication_required",
            PaymentStatus::Declined => "declined",
            PaymentStatus::Cancelled => "cancelled",
            _ => "approved",
        };
        Attempt {
            at: p.authorized_at.unwrap_or(at),
            step: "authorize".into(),
            amount: p.amount,
            outcome: outcome.into(),
            decline_code: p.decline_code.clone(),
        }
    }
}

/// Every step of each of `orders`' payments, oldest first: each authorization attempt, and the captures, voids
/// and refunds that followed.
pub async fn attempts_of(c: &mut Conn<'_>, orders: &[OrderId]) -> Result<HashMap<OrderId, Vec<Attempt>>, StoreError> {
    let backend = c.backend();
    let accounts: Vec<String> = orders.iter().map(|o| format!("order:{o}")).collect();
    let (payments_of, mut args) = crate::db::one_of(backend, "order_id", orders, 1);
    let (joined_of, _) = crate::db::one_of(backend, "p.order_id", orders, 1);
    let (accounts_of, more) = crate::db::one_of(backend, "account", &accounts, args.len() + 1);
    args.extend(more);
    // A gift card's ledger account for an order is `order:` and its id.
    let sql = format!(
        "SELECT order_id, at, step, amount, currency, outcome, decline_code FROM ( \
        SELECT order_id, COALESCE(authorized_at, updated_at) AS at, 'authorize' AS step, amount, currency, \
               CASE status WHEN 'pending' THEN 'pending' WHEN 'declined' THEN 'declined' \
                           WHEN 'requires_authentication' THEN 'authentication_required' \
                           WHEN 'cancelled' THEN 'cancelled' ELSE 'approved' END AS outcome, decline_code \
          FROM payments WHERE {payments_of} AND COALESCE(authorization_ref, '') <> 'gift_card_only' \
        UNION ALL \
        SELECT order_id, updated_at, 'void', 0, currency, 'done', NULL FROM payments \
         WHERE {payments_of} AND status = 'voided' AND COALESCE(authorization_ref, '') <> 'gift_card_only' \
        UNION ALL \
        SELECT p.order_id, c.updated_at, 'capture', c.amount, c.currency, \
               CASE c.status WHEN 'captured' THEN 'done' ELSE 'pending' END, NULL \
          FROM captures c JOIN payments p ON p.id = c.payment_id WHERE {joined_of} AND c.amount > 0 \
        UNION ALL \
        SELECT p.order_id, r.updated_at, 'refund', r.amount, r.currency, \
               CASE r.status WHEN 'refunded' THEN 'done' ELSE 'pending' END, NULL \
          FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE {joined_of} AND r.amount > 0 \
        UNION ALL \
        SELECT substr(account, 7), created_at, 'gift_card_' || kind, ABS(amount), currency, 'done', NULL \
          FROM ledger_entries WHERE {accounts_of} \
        ) AS steps ORDER BY order_id, at, step"
    );
    let rows = c.all(&sql, args).await?;
    crate::db::grouped(&rows, |r| {
        let attempt = Attempt {
            at: r.int("at")?,
            step: r.text("step")?,
            amount: Money::new(r.int("amount")?, r.parsed("currency", Currency::parse)?),
            outcome: r.text("outcome")?,
            decline_code: r.opt_text("decline_code")?,
        };
        Ok((r.parsed("order_id", OrderId::parse)?, attempt))
    })
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

/// The payment row, locked until the transaction ends: captures and refunds add up under it.
pub async fn lock(c: &mut Conn<'_>, id: PaymentId) -> Result<Option<Payment>, StoreError> {
    let lock = match c.backend() {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let sql = format!("SELECT {COLS} FROM payments WHERE id = $1{lock}");
    c.opt(&sql, args![id.to_string()]).await?.as_ref().map(payment).transpose()
}

/// The authorization the order's goods are paid from: its latest attempt that got one.
pub async fn authorized_for_order(c: &mut Conn<'_>, order: OrderId) -> Result<Option<Payment>, StoreError> {
    let sql = format!(
        "SELECT {COLS} FROM payments WHERE order_id = $1 AND authorization_ref IS NOT NULL \
         ORDER BY created_at DESC, id DESC LIMIT 1"
    );
    c.opt(&sql, args![order.to_string()]).await?.as_ref().map(payment).transpose()
}

/// A new authorization for the same payment (its hold lapsed): the reference changes, the rest stays.
pub async fn set_authorization(
    c: &mut Conn<'_>,
    id: PaymentId,
    authorization: &str,
    at: i64,
) -> Result<(), StoreError> {
    c.exec(
        "UPDATE payments SET authorization_ref = $2, authorized_at = $3, updated_at = $3 WHERE id = $1",
        args![id.to_string(), authorization, at],
    )
    .await
    .map(drop)
}

/// Adds a capture or a refund to the payment's running sums and moves it to `to`, guarded by `from`.
pub async fn add_movement(
    c: &mut Conn<'_>,
    id: PaymentId,
    from: PaymentStatus,
    to: PaymentStatus,
    captured: i64,
    refunded: i64,
    at: i64,
) -> Result<bool, StoreError> {
    let n = c
        .exec(
            "UPDATE payments SET status = $3, captured = captured + $4, refunded = refunded + $5, updated_at = $6 \
             WHERE id = $1 AND status = $2 AND captured + $4 <= amount AND refunded + $5 <= captured + $4",
            args![id.to_string(), from.as_str(), to.as_str(), captured, refunded, at],
        )
        .await?;
    Ok(n == 1)
}

/// One shipment's share of its order's payment, captured when the shipment ships.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    pub id: CaptureId,
    pub payment_id: PaymentId,
    pub shipment_id: ShipmentId,
    pub amount: Money,
    /// `pending` until the gateway has taken it, then `captured`.
    pub status: String,
    pub gateway_ref: Option<String>,
}

fn capture(r: &Row) -> Result<Capture, StoreError> {
    Ok(Capture {
        id: r.parsed("id", CaptureId::parse)?,
        payment_id: r.parsed("payment_id", PaymentId::parse)?,
        shipment_id: r.parsed("shipment_id", ShipmentId::parse)?,
        amount: Money::new(r.int("amount")?, r.parsed("currency", Currency::parse)?),
        status: r.text("status")?,
        gateway_ref: r.opt_text("gateway_ref")?,
    })
}

const CAPTURE_COLS: &str = "id, payment_id, shipment_id, amount, currency, status, gateway_ref";

/// Writes a pending capture; `false` if the shipment has one already (a retried ship).
pub async fn add_capture(c: &mut Conn<'_>, cap: &Capture, at: i64) -> Result<bool, StoreError> {
    let n = c
        .exec(
            "INSERT INTO captures (id, payment_id, shipment_id, amount, currency, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6) ON CONFLICT (shipment_id) DO NOTHING",
            args![
                cap.id.to_string(),
                cap.payment_id.to_string(),
                cap.shipment_id.to_string(),
                cap.amount.minor(),
                cap.amount.currency().code(),
                at
            ],
        )
        .await?;
    Ok(n == 1)
}

pub async fn captures(c: &mut Conn<'_>, payment: PaymentId) -> Result<Vec<Capture>, StoreError> {
    let sql = format!("SELECT {CAPTURE_COLS} FROM captures WHERE payment_id = $1 ORDER BY id");
    c.all(&sql, args![payment.to_string()]).await?.iter().map(capture).collect()
}

pub async fn get_capture(c: &mut Conn<'_>, id: CaptureId) -> Result<Option<Capture>, StoreError> {
    let sql = format!("SELECT {CAPTURE_COLS} FROM captures WHERE id = $1");
    c.opt(&sql, args![id.to_string()]).await?.as_ref().map(capture).transpose()
}

/// Marks the capture taken by the gateway; `false` if it was already.
pub async fn capture_done(c: &mut Conn<'_>, id: CaptureId, gateway_ref: &str, at: i64) -> Result<bool, StoreError> {
    let n = c
        .exec(
            "UPDATE captures SET status = 'captured', gateway_ref = $2, updated_at = $3 WHERE id = $1 AND status = 'pending'",
            args![id.to_string(), gateway_ref, at],
        )
        .await?;
    Ok(n == 1)
}

/// Money going back to the card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub id: String,
    pub payment_id: PaymentId,
    pub return_id: Option<ReturnId>,
    pub amount: Money,
    /// What goes back to the gift card balance besides (split tender: the card first, then the gift card).
    pub gift_amount: Money,
    /// `pending` until the gateway has done it, then `refunded`.
    pub status: String,
}

fn refund(r: &Row) -> Result<Refund, StoreError> {
    let currency = r.parsed("currency", Currency::parse)?;
    Ok(Refund {
        id: r.text("id")?,
        payment_id: r.parsed("payment_id", PaymentId::parse)?,
        return_id: r
            .opt_text("return_id")?
            .map(|s| ReturnId::parse(&s))
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        amount: Money::new(r.int("amount")?, currency),
        gift_amount: Money::new(r.int("gift_amount")?, currency),
        status: r.text("status")?,
    })
}

/// Writes a pending refund; `false` if one with its id exists (a retried request).
pub async fn add_refund(c: &mut Conn<'_>, f: &Refund, at: i64) -> Result<bool, StoreError> {
    let n = c
        .exec(
            "INSERT INTO refunds (id, payment_id, return_id, amount, gift_amount, currency, status, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7) ON CONFLICT (id) DO NOTHING",
            args![
                &f.id,
                f.payment_id.to_string(),
                f.return_id.map(|r| r.to_string()),
                f.amount.minor(),
                f.gift_amount.minor(),
                f.amount.currency().code(),
                at
            ],
        )
        .await?;
    Ok(n == 1)
}

pub async fn get_refund(c: &mut Conn<'_>, id: &str) -> Result<Option<Refund>, StoreError> {
    c.opt(
        "SELECT id, payment_id, return_id, amount, gift_amount, currency, status FROM refunds WHERE id = $1",
        args![id],
    )
    .await?
    .as_ref()
    .map(refund)
    .transpose()
}

/// What the payment's refunds, done or not, give back: to the card, and to the gift card balance.
pub async fn refunds_owed(c: &mut Conn<'_>, payment: PaymentId) -> Result<(i64, i64), StoreError> {
    let r = c
        .one(
            "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS card, \
                    CAST(COALESCE(SUM(gift_amount), 0) AS BIGINT) AS gift FROM refunds WHERE payment_id = $1",
            args![payment.to_string()],
        )
        .await?;
    Ok((r.int("card")?, r.int("gift")?))
}

pub async fn refund_done(c: &mut Conn<'_>, id: &str, gateway_ref: &str, at: i64) -> Result<bool, StoreError> {
    let n = c
        .exec(
            "UPDATE refunds SET status = 'refunded', gateway_ref = $2, updated_at = $3 WHERE id = $1 AND status = 'pending'",
            args![id, gateway_ref, at],
        )
        .await?;
    Ok(n == 1)
}
