//! Support cases and their notes. The rules (which reasons hold an order, what may be done to a case) are the
//! domain's (`buynow_domain::support`); this module keeps the rows.

use crate::{args, Backend, Conn, Row, StoreError};
use buynow_domain::{CaseId, CaseReason, CaseStatus, CustomerId, OrderId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub id: CaseId,
    pub order_id: OrderId,
    pub customer_id: CustomerId,
    pub reason: CaseReason,
    pub status: CaseStatus,
    pub holds_order: bool,
    /// What happened, as staff read it.
    pub summary: String,
    /// What it is about, when more than the order: a job, a payment, a parcel or a message's id.
    pub subject: Option<String>,
    /// `system`, or the customer's id.
    pub opened_by: String,
    /// The staff key (or `admin`) that took it.
    pub assignee: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub resolved_at: Option<i64>,
}

/// A case to open. `open_key` makes it one case per trouble: a second open with the same key while the first
/// is open adds nothing.
#[derive(Debug, Clone)]
pub struct NewCase<'a> {
    pub order_id: OrderId,
    pub customer_id: CustomerId,
    pub reason: CaseReason,
    pub summary: &'a str,
    pub subject: Option<&'a str>,
    pub open_key: Option<String>,
    pub opened_by: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub seq: i64,
    pub at: i64,
    /// `system`, the customer's id, or the staff key's.
    pub author: String,
    /// `opened`, `message` (the customer's), or a staff action's name.
    pub action: String,
    pub body: String,
}

const COLS: &str = "id, order_id, customer_id, reason, status, holds_order, summary, subject, opened_by, assignee, \
    created_at, updated_at, resolved_at";

fn case(r: &Row) -> Result<Case, StoreError> {
    Ok(Case {
        id: r.parsed("id", CaseId::parse)?,
        order_id: r.parsed("order_id", OrderId::parse)?,
        customer_id: r.parsed("customer_id", CustomerId::parse)?,
        reason: r.parsed("reason", |s| CaseReason::parse(s).ok_or("unknown case reason"))?,
        status: r.parsed("status", |s| CaseStatus::parse(s).ok_or("unknown case status"))?,
        holds_order: r.flag("holds_order")?,
        summary: r.text("summary")?,
        subject: r.opt_text("subject")?,
        opened_by: r.text("opened_by")?,
        assignee: r.opt_text("assignee")?,
        created_at: r.int("created_at")?,
        updated_at: r.int("updated_at")?,
        resolved_at: r.opt_int("resolved_at")?,
    })
}

/// Opens the case, with its first note, unless one with the same `open_key` is open: then `None`.
pub async fn open(c: &mut Conn<'_>, new: &NewCase<'_>, now: i64) -> Result<Option<Case>, StoreError> {
    let id = CaseId::new();
    let added = c
        .exec(
            "INSERT INTO support_cases (id, order_id, customer_id, reason, status, holds_order, summary, subject, \
             open_key, opened_by, created_at, updated_at) VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $8, $9, $10, $10) \
             ON CONFLICT DO NOTHING",
            args![
                id.to_string(),
                new.order_id.to_string(),
                new.customer_id.to_string(),
                new.reason.as_str(),
                i64::from(new.reason.holds_order()),
                new.summary,
                new.subject,
                new.open_key.clone(),
                new.opened_by,
                now
            ],
        )
        .await?;
    if added == 0 {
        return Ok(None);
    }
    add_note(c, id, now, new.opened_by, "opened", new.summary).await?;
    get(c, id).await
}

pub async fn get(c: &mut Conn<'_>, id: CaseId) -> Result<Option<Case>, StoreError> {
    let sql = format!("SELECT {COLS} FROM support_cases WHERE id = $1");
    c.opt(&sql, args![id.to_string()]).await?.as_ref().map(case).transpose()
}

/// The case, locked until the transaction ends (two colleagues acting on it at once act one after the other).
pub async fn lock(c: &mut Conn<'_>, id: CaseId) -> Result<Option<Case>, StoreError> {
    let lock = match c.backend() {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let sql = format!("SELECT {COLS} FROM support_cases WHERE id = $1{lock}");
    c.opt(&sql, args![id.to_string()]).await?.as_ref().map(case).transpose()
}

/// The open case a customer opened about the order, if any: a second question joins it.
pub async fn open_by_customer(c: &mut Conn<'_>, order: OrderId) -> Result<Option<Case>, StoreError> {
    let sql = format!(
        "SELECT {COLS} FROM support_cases WHERE order_id = $1 AND status = 'open' AND reason = 'customer_request' \
         ORDER BY id LIMIT 1"
    );
    c.opt(&sql, args![order.to_string()]).await?.as_ref().map(case).transpose()
}

pub async fn for_order(c: &mut Conn<'_>, order: OrderId) -> Result<Vec<Case>, StoreError> {
    let sql = format!("SELECT {COLS} FROM support_cases WHERE order_id = $1 ORDER BY id");
    c.all(&sql, args![order.to_string()]).await?.iter().map(case).collect()
}

/// What to list: cases in one status, of one reason, taken by one colleague; before an id (the next page).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub status: Option<CaseStatus>,
    pub reason: Option<CaseReason>,
    pub assignee: Option<String>,
    pub order_id: Option<OrderId>,
    pub before: Option<CaseId>,
}

/// Cases newest first (ids are time-ordered).
pub async fn list(c: &mut Conn<'_>, f: &Filter, limit: u32) -> Result<Vec<Case>, StoreError> {
    let sql = format!(
        "SELECT {COLS} FROM support_cases WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR reason = $2) \
         AND ($3 IS NULL OR assignee = $3) AND ($4 IS NULL OR order_id = $4) AND ($5 IS NULL OR id < $5) \
         ORDER BY id DESC LIMIT $6"
    );
    let args = args![
        f.status.map(|s| s.as_str()),
        f.reason.map(|r| r.as_str()),
        f.assignee.clone(),
        f.order_id.map(|o| o.to_string()),
        f.before.map(|b| b.to_string()),
        limit
    ];
    c.all(&sql, args).await?.iter().map(case).collect()
}

pub async fn notes(c: &mut Conn<'_>, id: CaseId) -> Result<Vec<Note>, StoreError> {
    let rows = c
        .all(
            "SELECT seq, at, author, action, body FROM case_notes WHERE case_id = $1 ORDER BY seq",
            args![id.to_string()],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Note {
                seq: r.int("seq")?,
                at: r.int("at")?,
                author: r.text("author")?,
                action: r.text("action")?,
                body: r.text("body")?,
            })
        })
        .collect()
}

/// Adds a note after the case's last (the case is locked, or just made, by the caller).
pub async fn add_note(
    c: &mut Conn<'_>,
    id: CaseId,
    at: i64,
    author: &str,
    action: &str,
    body: &str,
) -> Result<(), StoreError> {
    c.exec(
        "INSERT INTO case_notes (case_id, seq, at, author, action, body) \
         SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5 FROM case_notes WHERE case_id = $1",
        args![id.to_string(), at, author, action, body],
    )
    .await?;
    c.exec("UPDATE support_cases SET updated_at = $2 WHERE id = $1", args![id.to_string(), at]).await?;
    Ok(())
}

pub async fn assign(c: &mut Conn<'_>, id: CaseId, assignee: &str, now: i64) -> Result<(), StoreError> {
    c.exec(
        "UPDATE support_cases SET assignee = $2, updated_at = $3 WHERE id = $1",
        args![id.to_string(), assignee, now],
    )
    .await?;
    Ok(())
}

/// Closes the case; its `open_key` is freed, so the same trouble found again opens a new case. False if it was
/// resolved already.
pub async fn resolve(c: &mut Conn<'_>, id: CaseId, now: i64) -> Result<bool, StoreError> {
    let n = c
        .exec(
            "UPDATE support_cases SET status = 'resolved', open_key = NULL, resolved_at = $2, updated_at = $2 \
             WHERE id = $1 AND status = 'open'",
            args![id.to_string(), now],
        )
        .await?;
    Ok(n == 1)
}

/// The summary of another open case that holds the order, if one does (its hold stays when this one closes).
pub async fn other_hold(c: &mut Conn<'_>, order: OrderId, except: CaseId) -> Result<Option<String>, StoreError> {
    let row = c
        .opt(
            "SELECT summary FROM support_cases WHERE order_id = $1 AND status = 'open' AND holds_order = 1 \
             AND id <> $2 ORDER BY id LIMIT 1",
            args![order.to_string(), except.to_string()],
        )
        .await?;
    row.map(|r| r.text("summary")).transpose()
}
