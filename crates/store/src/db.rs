//! A thin, backend-neutral layer: positional `$N` arguments, rows read by column index.
//!
//! Repositories are written once against `Conn`; each back end only says how to bind an `Arg` and read a
//! column. Where the SQL itself must differ (job claiming), a repository asks `Conn::backend`.
//!
//! SQLite runs through rusqlite, in the calling thread: a statement is a function call of some microseconds,
//! and handing each one to a driver thread (as an async driver must) cost more than the statement itself.
//! PostgreSQL runs through sqlx: there a statement is a network round trip, which async overlaps.

use crate::{BoxFuture, StoreError};
use rusqlite::types::Value;
use sqlx::postgres::{PgArguments, PgConnection, PgRow};
use sqlx::{Postgres, Row as _};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// One bound argument. A NULL carries its column's type, as PostgreSQL needs it.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
    NullInt,
    NullText,
}

macro_rules! arg_from {
    ($($t:ty => |$v:ident| $e:expr, $null:ident;)*) => {$(
        impl From<$t> for Arg {
            fn from($v: $t) -> Self {
                $e
            }
        }
        impl From<Option<$t>> for Arg {
            fn from(v: Option<$t>) -> Self {
                v.map_or(Arg::$null, Into::into)
            }
        }
    )*};
}

arg_from! {
    i64 => |v| Arg::Int(v), NullInt;
    u32 => |v| Arg::Int(i64::from(v)), NullInt;
    i32 => |v| Arg::Int(i64::from(v)), NullInt;
    bool => |v| Arg::Int(i64::from(v)), NullInt;
    &str => |v| Arg::Text(v.to_string()), NullText;
    String => |v| Arg::Text(v), NullText;
    &String => |v| Arg::Text(v.clone()), NullText;
    Vec<u8> => |v| Arg::Blob(v), NullText;
}

/// Builds a `Vec<Arg>`; ids and other `Display` values go in with `.to_string()`.
#[macro_export]
macro_rules! args {
    ($($e:expr),* $(,)?) => { vec![$($crate::db::Arg::from($e)),*] };
}

enum RowInner {
    Sqlite(Vec<Value>),
    Pg(PgRow),
}

/// A result row; columns are read by their position in the SELECT list.
pub struct Row(RowInner);

fn decode(i: usize, e: sqlx::Error) -> StoreError {
    StoreError::Corrupt(format!("column {i}: {e}"))
}

macro_rules! get {
    ($row:expr, $t:ty, $i:expr, $from_sqlite:expr) => {
        match &$row.0 {
            RowInner::Sqlite(values) => match values.get($i) {
                Some(v) => $from_sqlite(v)
                    .ok_or_else(|| StoreError::Corrupt(format!("column {}: unexpected {:?}", $i, v.data_type()))),
                None => Err(StoreError::Corrupt(format!("no column {}", $i))),
            },
            RowInner::Pg(r) => r.try_get::<$t, _>($i).map_err(|e| decode($i, e)),
        }
    };
}

impl Row {
    pub fn int(&self, i: usize) -> Result<i64, StoreError> {
        get!(self, i64, i, |v: &Value| match v {
            Value::Integer(n) => Some(*n),
            _ => None,
        })
    }

    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        get!(self, Option<i64>, i, |v: &Value| match v {
            Value::Integer(n) => Some(Some(*n)),
            Value::Null => Some(None),
            _ => None,
        })
    }

    pub fn flag(&self, i: usize) -> Result<bool, StoreError> {
        Ok(self.int(i)? != 0)
    }

    pub fn text(&self, i: usize) -> Result<String, StoreError> {
        get!(self, String, i, |v: &Value| match v {
            Value::Text(t) => Some(t.clone()),
            _ => None,
        })
    }

    pub fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        get!(self, Option<String>, i, |v: &Value| match v {
            Value::Text(t) => Some(Some(t.clone())),
            Value::Null => Some(None),
            _ => None,
        })
    }

    pub fn blob(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        get!(self, Vec<u8>, i, |v: &Value| match v {
            Value::Blob(b) => Some(b.clone()),
            _ => None,
        })
    }

    /// A column parsed by `parse`; a value the code cannot read back is corruption, not bad input.
    pub fn parsed<T, E: std::fmt::Display>(
        &self,
        i: usize,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, StoreError> {
        let text = self.text(i)?;
        parse(&text).map_err(|e| StoreError::Corrupt(format!("column {i} {text:?}: {e}")))
    }
}

/// `$N` placeholders as SQLite's `?N`: with `$N` SQLite would number parameters by first appearance.
fn sqlite_sql(sql: &str) -> std::borrow::Cow<'_, str> {
    if sql.contains('$') {
        std::borrow::Cow::Owned(sql.replace('$', "?"))
    } else {
        std::borrow::Cow::Borrowed(sql)
    }
}

fn sqlite_values(args: Vec<Arg>) -> Vec<Value> {
    args.into_iter()
        .map(|a| match a {
            Arg::Int(v) => Value::Integer(v),
            Arg::Text(v) => Value::Text(v),
            Arg::Blob(v) => Value::Blob(v),
            Arg::NullInt | Arg::NullText => Value::Null,
        })
        .collect()
}

fn sqlite_exec(c: &rusqlite::Connection, sql: &str, args: Vec<Arg>) -> Result<u64, StoreError> {
    tracing::trace!(target: "buynow_store::sql", %sql);
    let mut stmt = c.prepare_cached(&sqlite_sql(sql))?;
    Ok(stmt.execute(rusqlite::params_from_iter(sqlite_values(args)))? as u64)
}

/// Statements without arguments. A single one (a savepoint, a transaction's begin or end: several per batch)
/// is prepared once and cached, not parsed again on every use as `execute_batch` would.
pub(crate) fn sqlite_control(c: &rusqlite::Connection, sql: &str) -> Result<(), StoreError> {
    if sql.contains(';') {
        return Ok(c.execute_batch(sql)?);
    }
    c.prepare_cached(sql)?.raw_execute()?;
    Ok(())
}

fn sqlite_rows(c: &rusqlite::Connection, sql: &str, args: Vec<Arg>, limit: usize) -> Result<Vec<Row>, StoreError> {
    tracing::trace!(target: "buynow_store::sql", %sql);
    let mut stmt = c.prepare_cached(&sqlite_sql(sql))?;
    let columns = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(sqlite_values(args)))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let values = (0..columns).map(|i| row.get::<_, Value>(i)).collect::<Result<Vec<_>, _>>()?;
        out.push(Row(RowInner::Sqlite(values)));
        if out.len() == limit {
            break;
        }
    }
    Ok(out)
}

fn bind_pg(sql: &str, args: Vec<Arg>) -> sqlx::query::Query<'_, Postgres, PgArguments> {
    args.into_iter().fold(sqlx::query(sql), |q, a| match a {
        Arg::Int(v) => q.bind(v),
        Arg::Text(v) => q.bind(v),
        Arg::Blob(v) => q.bind(v),
        Arg::NullInt => q.bind(Option::<i64>::None),
        Arg::NullText => q.bind(Option::<String>::None),
    })
}

pub(crate) enum ConnInner<'c> {
    Sqlite(&'c mut rusqlite::Connection),
    Pg(&'c mut PgConnection),
}

/// A connection to run statements on: a pooled reader, or the writer inside a transaction.
pub struct Conn<'c>(pub(crate) ConnInner<'c>);

// The futures are boxed as `Send` here, where every lifetime is concrete. Left to inference, sqlx's
// higher-ranked `Executor` bounds make callers' futures fail to be `Send` inside `tokio::spawn` and axum.
// On SQLite they are ready at once: the statement runs when the future is first polled.
impl Conn<'_> {
    pub fn backend(&self) -> Backend {
        match self.0 {
            ConnInner::Sqlite(_) => Backend::Sqlite,
            ConnInner::Pg(_) => Backend::Postgres,
        }
    }

    /// Rows changed on this connection since it opened, where the back end counts them (SQLite).
    pub fn total_changes(&self) -> Option<u64> {
        match &self.0 {
            ConnInner::Sqlite(c) => Some(c.total_changes()),
            ConnInner::Pg(_) => None,
        }
    }

    /// Runs a statement; returns the number of rows it changed.
    pub fn exec<'a>(&'a mut self, sql: &'a str, args: Vec<Arg>) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            Ok(match &mut self.0 {
                ConnInner::Sqlite(c) => sqlite_exec(c, sql, args)?,
                ConnInner::Pg(c) => bind_pg(sql, args).execute(&mut **c).await?.rows_affected(),
            })
        })
    }

    pub fn all<'a>(&'a mut self, sql: &'a str, args: Vec<Arg>) -> BoxFuture<'a, Result<Vec<Row>, StoreError>> {
        Box::pin(async move {
            Ok(match &mut self.0 {
                ConnInner::Sqlite(c) => sqlite_rows(c, sql, args, usize::MAX)?,
                ConnInner::Pg(c) => {
                    bind_pg(sql, args).fetch_all(&mut **c).await?.into_iter().map(|r| Row(RowInner::Pg(r))).collect()
                }
            })
        })
    }

    pub fn opt<'a>(&'a mut self, sql: &'a str, args: Vec<Arg>) -> BoxFuture<'a, Result<Option<Row>, StoreError>> {
        Box::pin(async move {
            Ok(match &mut self.0 {
                ConnInner::Sqlite(c) => sqlite_rows(c, sql, args, 1)?.pop(),
                ConnInner::Pg(c) => bind_pg(sql, args).fetch_optional(&mut **c).await?.map(|r| Row(RowInner::Pg(r))),
            })
        })
    }

    pub async fn one(&mut self, sql: &str, args: Vec<Arg>) -> Result<Row, StoreError> {
        self.opt(sql, args).await?.ok_or(StoreError::NotFound)
    }

    /// Statements without arguments, possibly several separated by `;` (migrations, transaction control).
    pub fn batch<'a>(&'a mut self, sql: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            match &mut self.0 {
                ConnInner::Sqlite(c) => sqlite_control(c, sql)?,
                ConnInner::Pg(c) => sqlx::Executor::execute(&mut **c, sql).await.map(drop)?,
            }
            Ok(())
        })
    }
}
