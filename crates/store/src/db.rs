//! A thin, backend-neutral layer over sqlx: positional `$N` arguments, rows read by column index.
//!
//! Repositories are written once against `Conn`; each back end only has to say how to bind an `Arg` and
//! read a column. SQLite is the only back end today; PostgreSQL slots in as a second variant.

use crate::{BoxFuture, StoreError};
use sqlx::sqlite::{SqliteArguments, SqliteConnection, SqliteRow};
use sqlx::{Row as _, Sqlite};

/// One bound argument.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Null,
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}
impl From<u32> for Arg {
    fn from(v: u32) -> Self {
        Arg::Int(i64::from(v))
    }
}
impl From<i32> for Arg {
    fn from(v: i32) -> Self {
        Arg::Int(i64::from(v))
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Int(i64::from(v))
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(v.to_string())
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(v)
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Text(v.clone())
    }
}
impl From<Vec<u8>> for Arg {
    fn from(v: Vec<u8>) -> Self {
        Arg::Blob(v)
    }
}
impl<T: Into<Arg>> From<Option<T>> for Arg {
    fn from(v: Option<T>) -> Self {
        v.map_or(Arg::Null, Into::into)
    }
}

/// Builds a `Vec<Arg>`; ids and other `Display` values go in with `.to_string()`.
#[macro_export]
macro_rules! args {
    ($($e:expr),* $(,)?) => { vec![$($crate::db::Arg::from($e)),*] };
}

/// A result row; columns are read by their position in the SELECT list.
pub struct Row(SqliteRow);

fn decode(i: usize, e: sqlx::Error) -> StoreError {
    StoreError::Corrupt(format!("column {i}: {e}"))
}

impl Row {
    pub fn int(&self, i: usize) -> Result<i64, StoreError> {
        self.0.try_get::<i64, _>(i).map_err(|e| decode(i, e))
    }

    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        self.0.try_get::<Option<i64>, _>(i).map_err(|e| decode(i, e))
    }

    pub fn flag(&self, i: usize) -> Result<bool, StoreError> {
        Ok(self.int(i)? != 0)
    }

    pub fn text(&self, i: usize) -> Result<String, StoreError> {
        self.0.try_get::<String, _>(i).map_err(|e| decode(i, e))
    }

    pub fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        self.0.try_get::<Option<String>, _>(i).map_err(|e| decode(i, e))
    }

    pub fn blob(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        self.0.try_get::<Vec<u8>, _>(i).map_err(|e| decode(i, e))
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

fn bind<'q>(sql: &'q str, args: Vec<Arg>) -> sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>> {
    let mut q = sqlx::query(sql);
    for a in args {
        q = match a {
            Arg::Null => q.bind(Option::<i64>::None),
            Arg::Int(v) => q.bind(v),
            Arg::Text(v) => q.bind(v),
            Arg::Blob(v) => q.bind(v),
        };
    }
    q
}

/// A connection to run statements on: a pooled reader, or the writer inside a transaction.
pub struct Conn<'c>(pub(crate) &'c mut SqliteConnection);

// The futures are boxed as `Send` here, where every lifetime is concrete. Left to inference, sqlx's
// higher-ranked `Executor` bounds make callers' futures fail to be `Send` inside `tokio::spawn` and axum.
impl Conn<'_> {
    /// Runs a statement; returns the number of rows it changed.
    pub fn exec<'a>(&'a mut self, sql: &'a str, args: Vec<Arg>) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move { Ok(bind(sql, args).execute(&mut *self.0).await?.rows_affected()) })
    }

    pub fn all<'a>(&'a mut self, sql: &'a str, args: Vec<Arg>) -> BoxFuture<'a, Result<Vec<Row>, StoreError>> {
        Box::pin(async move { Ok(bind(sql, args).fetch_all(&mut *self.0).await?.into_iter().map(Row).collect()) })
    }

    pub fn opt<'a>(&'a mut self, sql: &'a str, args: Vec<Arg>) -> BoxFuture<'a, Result<Option<Row>, StoreError>> {
        Box::pin(async move { Ok(bind(sql, args).fetch_optional(&mut *self.0).await?.map(Row)) })
    }

    pub async fn one(&mut self, sql: &str, args: Vec<Arg>) -> Result<Row, StoreError> {
        self.opt(sql, args).await?.ok_or(StoreError::NotFound)
    }
}
