//! The audit trail's rows. The chain's rules are the domain's (`buynow_domain::audit`); this module appends
//! under a lock, so two appends never take the same place in the chain, and reads the trail back.

use crate::{args, Backend, Conn, Row, StoreError};
use buynow_domain::audit::AuditEntry;

const COLS: &str = "seq, at, actor, action, subject, request_id, prev_hash, hash";

fn entry(r: &Row) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        seq: r.int("seq")?,
        at: r.int("at")?,
        actor: r.text("actor")?,
        action: r.text("action")?,
        subject: r.text("subject")?,
        request_id: r.text("request_id")?,
        prev_hash: r.text("prev_hash")?,
        hash: r.text("hash")?,
    })
}

/// Appends an entry after the last, in the caller's transaction; on PostgreSQL other appends wait for it to
/// end (SQLite has one writer).
pub async fn append(
    c: &mut Conn<'_>,
    at: i64,
    actor: &str,
    action: &str,
    subject: &str,
    request_id: &str,
) -> Result<AuditEntry, StoreError> {
    if c.backend() == Backend::Postgres {
        c.exec("SELECT pg_advisory_xact_lock(hashtextextended('audit_log', 0))", args![]).await?;
    }
    let sql = format!("SELECT {COLS} FROM audit_log ORDER BY seq DESC LIMIT 1");
    let last = c.opt(&sql, args![]).await?.as_ref().map(entry).transpose()?;
    let e = AuditEntry::next(last.as_ref(), at, actor, action, subject, request_id);
    c.exec(
        "INSERT INTO audit_log (seq, at, actor, action, subject, request_id, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        args![e.seq, e.at, &e.actor, &e.action, &e.subject, &e.request_id, &e.prev_hash, &e.hash],
    )
    .await?;
    Ok(e)
}

/// What to list: entries by one actor, or whose action or subject contains some text, before a `seq` (for
/// the next page), newest first.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub actor: Option<String>,
    pub contains: Option<String>,
    pub before: Option<i64>,
}

pub async fn list(c: &mut Conn<'_>, f: &Filter, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
    let sql = format!(
        "SELECT {COLS} FROM audit_log WHERE ($1 IS NULL OR actor = $1) \
         AND ($2 IS NULL OR action LIKE '%' || $2 || '%' OR subject LIKE '%' || $2 || '%') \
         AND ($3 IS NULL OR seq < $3) ORDER BY seq DESC LIMIT $4"
    );
    let rows = c.all(&sql, args![f.actor.clone(), f.contains.clone(), f.before, limit]).await?;
    rows.iter().map(entry).collect()
}

/// The entries from `after` on (exclusive), oldest first, `limit` at a time: the whole trail, page by page.
pub async fn page(c: &mut Conn<'_>, after: i64, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
    let sql = format!("SELECT {COLS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2");
    c.all(&sql, args![after, limit]).await?.iter().map(entry).collect()
}
