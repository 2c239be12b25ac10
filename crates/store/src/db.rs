//! A thin, backend-neutral layer: positional `$N` arguments, rows read by column name (or, where a query
//! lays several tables' columns side by side, by position).
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
    NullBlob,
    // Lists, bound as arrays (for `= ANY($N)` and `UNNEST`): PostgreSQL only; SQLite code runs one statement
    // per value instead.
    Texts(Vec<String>),
    OptTexts(Vec<Option<String>>),
    Ints(Vec<i64>),
    OptInts(Vec<Option<i64>>),
    OptBlobs(Vec<Option<Vec<u8>>>),
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
    Vec<u8> => |v| Arg::Blob(v), NullBlob;
}

/// Builds a `Vec<Arg>`; ids and other `Display` values go in with `.to_string()`.
#[macro_export]
macro_rules! args {
    ($($e:expr),* $(,)?) => { vec![$($crate::db::Arg::from($e)),*] };
}

enum RowInner {
    /// The values, and the names of the statement's columns (shared by all its rows).
    Sqlite(Vec<Value>, std::sync::Arc<[String]>),
    Pg(PgRow),
}

/// A result row; a column is read by its name (`"status"`) or by its position in the SELECT list.
pub struct Row(RowInner);

/// How a column is named when it is read: by name, or by position.
pub trait Col: Copy + std::fmt::Display {
    fn index(self, row: &Row) -> Result<usize, StoreError>;
}

impl Col for usize {
    fn index(self, _: &Row) -> Result<usize, StoreError> {
        Ok(self)
    }
}

impl Col for &str {
    fn index(self, row: &Row) -> Result<usize, StoreError> {
        let found = match &row.0 {
            RowInner::Sqlite(_, names) => names.iter().position(|n| n == self),
            RowInner::Pg(r) => sqlx::Row::columns(r).iter().position(|c| sqlx::Column::name(c) == self),
        };
        found.ok_or_else(|| StoreError::Corrupt(format!("no column {self:?}")))
    }
}

/// A table's columns laid side by side with others' in one query, from position `at` on, in the order of
/// `list` (its comma-separated column list): `cols.get("email")` is where that column is in the row. A name not
/// in the list reads as a missing column (an error), never as another column.
#[derive(Debug, Clone, Copy)]
pub struct Cols<'a> {
    list: &'a str,
    at: usize,
}

impl<'a> Cols<'a> {
    pub fn new(list: &'a str, at: usize) -> Cols<'a> {
        Cols { list, at }
    }

    pub fn get(&self, name: &str) -> usize {
        self.list.split(',').position(|c| c.trim() == name).map_or(usize::MAX, |i| self.at + i)
    }
}

fn decode(i: impl std::fmt::Display, e: sqlx::Error) -> StoreError {
    StoreError::Corrupt(format!("column {i}: {e}"))
}

macro_rules! get {
    ($row:expr, $t:ty, $col:expr, $from_sqlite:expr) => {{
        let i = $col.index($row)?;
        match &$row.0 {
            RowInner::Sqlite(values, _) => match values.get(i) {
                Some(v) => $from_sqlite(v)
                    .ok_or_else(|| StoreError::Corrupt(format!("column {}: unexpected {:?}", $col, v.data_type()))),
                None => Err(StoreError::Corrupt(format!("no column {}", $col))),
            },
            RowInner::Pg(r) => r.try_get::<$t, _>(i).map_err(|e| decode($col, e)),
        }
    }};
}

impl Row {
    pub fn int(&self, i: impl Col) -> Result<i64, StoreError> {
        get!(self, i64, i, |v: &Value| match v {
            Value::Integer(n) => Some(*n),
            _ => None,
        })
    }

    pub fn opt_int(&self, i: impl Col) -> Result<Option<i64>, StoreError> {
        get!(self, Option<i64>, i, |v: &Value| match v {
            Value::Integer(n) => Some(Some(*n)),
            Value::Null => Some(None),
            _ => None,
        })
    }

    pub fn flag(&self, i: impl Col) -> Result<bool, StoreError> {
        Ok(self.int(i)? != 0)
    }

    pub fn text(&self, i: impl Col) -> Result<String, StoreError> {
        get!(self, String, i, |v: &Value| match v {
            Value::Text(t) => Some(t.clone()),
            _ => None,
        })
    }

    pub fn opt_text(&self, i: impl Col) -> Result<Option<String>, StoreError> {
        get!(self, Option<String>, i, |v: &Value| match v {
            Value::Text(t) => Some(Some(t.clone())),
            Value::Null => Some(None),
            _ => None,
        })
    }

    pub fn opt_blob(&self, i: impl Col) -> Result<Option<Vec<u8>>, StoreError> {
        get!(self, Option<Vec<u8>>, i, |v: &Value| match v {
            Value::Blob(b) => Some(Some(b.clone())),
            Value::Null => Some(None),
            _ => None,
        })
    }

    pub fn blob(&self, i: impl Col) -> Result<Vec<u8>, StoreError> {
        get!(self, Vec<u8>, i, |v: &Value| match v {
            Value::Blob(b) => Some(b.clone()),
            _ => None,
        })
    }

    /// A column parsed by `parse`; a value the code cannot read back is corruption, not bad input.
    pub fn parsed<T, E: std::fmt::Display>(
        &self,
        i: impl Col,
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

fn sqlite_values(args: Vec<Arg>) -> Result<Vec<Value>, StoreError> {
    args.into_iter()
        .map(|a| match a {
            Arg::Int(v) => Ok(Value::Integer(v)),
            Arg::Text(v) => Ok(Value::Text(v)),
            Arg::Blob(v) => Ok(Value::Blob(v)),
            Arg::NullInt | Arg::NullText | Arg::NullBlob => Ok(Value::Null),
            // Repositories run one statement per value on SQLite instead.
            Arg::Texts(_) | Arg::OptTexts(_) | Arg::Ints(_) | Arg::OptInts(_) | Arg::OptBlobs(_) => {
                Err(StoreError::Unsupported("a list as one argument, on SQLite"))
            }
        })
        .collect()
}

fn sqlite_exec(c: &rusqlite::Connection, sql: &str, args: Vec<Arg>) -> Result<u64, StoreError> {
    tracing::trace!(target: "buynow_store::sql", %sql);
    let mut stmt = c.prepare_cached(&sqlite_sql(sql))?;
    Ok(stmt.execute(rusqlite::params_from_iter(sqlite_values(args)?))? as u64)
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

thread_local! {
    /// The column names of each statement this thread ran, by its SQL: read once, not on every query (the
    /// SQL texts are the repositories' own, a small set).
    static COLUMN_NAMES: std::cell::RefCell<std::collections::HashMap<String, std::sync::Arc<[String]>>> =
        std::cell::RefCell::default();
}

fn column_names(sql: &str, stmt: &rusqlite::Statement<'_>) -> std::sync::Arc<[String]> {
    COLUMN_NAMES.with_borrow_mut(|cache| {
        if let Some(names) = cache.get(sql) {
            return names.clone();
        }
        let names: std::sync::Arc<[String]> = stmt.column_names().map(str::to_string).collect();
        if cache.len() >= 1024 {
            // Bounded all the same, should some caller build its SQL text afresh each time.
            cache.clear();
        }
        cache.insert(sql.to_string(), names.clone());
        names
    })
}

fn sqlite_rows(c: &rusqlite::Connection, sql: &str, args: Vec<Arg>, limit: usize) -> Result<Vec<Row>, StoreError> {
    tracing::trace!(target: "buynow_store::sql", %sql);
    let mut stmt = c.prepare_cached(&sqlite_sql(sql))?;
    let columns = stmt.column_count();
    let names = column_names(sql, &stmt);
    let mut rows = stmt.query(rusqlite::params_from_iter(sqlite_values(args)?))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let values = (0..columns).map(|i| row.get::<_, Value>(i)).collect::<Result<Vec<_>, _>>()?;
        out.push(Row(RowInner::Sqlite(values, names.clone())));
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
        Arg::NullBlob => q.bind(Option::<Vec<u8>>::None),
        Arg::Texts(v) => q.bind(v),
        Arg::OptTexts(v) => q.bind(v),
        Arg::Ints(v) => q.bind(v),
        Arg::OptInts(v) => q.bind(v),
        Arg::OptBlobs(v) => q.bind(v),
    })
}

/// A many-row insert for PostgreSQL: one array per column, which `UNNEST` takes apart again, so a hundred rows
/// cost one statement. Its parameters are numbered from `$first`.
pub(crate) fn pg_insert_rows(
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Arg>>,
    tail: &str,
    first: usize,
) -> Result<(String, Vec<Arg>), StoreError> {
    let count = rows.len();
    let mut arrays: Vec<Arg> = columns.iter().map(|_| Arg::OptInts(Vec::with_capacity(count))).collect();
    for (r, row) in rows.into_iter().enumerate() {
        if row.len() != columns.len() {
            return Err(StoreError::Corrupt(format!("a row for {table} has {} values", row.len())));
        }
        for (array, value) in arrays.iter_mut().zip(row) {
            if r == 0 {
                // The first row says each column's type; a NULL carries its column's.
                *array = match value {
                    Arg::Text(_) | Arg::NullText => Arg::OptTexts(Vec::with_capacity(count)),
                    Arg::Blob(_) | Arg::NullBlob => Arg::OptBlobs(Vec::with_capacity(count)),
                    _ => Arg::OptInts(Vec::with_capacity(count)),
                };
            }
            match (array, value) {
                (Arg::OptInts(v), Arg::Int(x)) => v.push(Some(x)),
                (Arg::OptTexts(v), Arg::Text(x)) => v.push(Some(x)),
                (Arg::OptBlobs(v), Arg::Blob(x)) => v.push(Some(x)),
                (Arg::OptInts(v), Arg::NullInt | Arg::NullText | Arg::NullBlob) => v.push(None),
                (Arg::OptTexts(v), Arg::NullInt | Arg::NullText | Arg::NullBlob) => v.push(None),
                (Arg::OptBlobs(v), Arg::NullInt | Arg::NullText | Arg::NullBlob) => v.push(None),
                (_, value) => {
                    return Err(StoreError::Corrupt(format!("a many-row insert into {table} mixes types: {value:?}")))
                }
            }
        }
    }
    let types = arrays.iter().enumerate().map(|(i, a)| {
        let t = match a {
            Arg::OptTexts(_) => "text[]",
            Arg::OptBlobs(_) => "bytea[]",
            _ => "bigint[]",
        };
        format!("${}::{t}", first + i)
    });
    let sql = format!(
        "INSERT INTO {table} ({}) SELECT * FROM UNNEST({}) {tail}",
        columns.join(", "),
        types.collect::<Vec<_>>().join(", ")
    );
    Ok((sql, arrays))
}

/// `cols` (a comma-separated column list) each prefixed with `table.`, for a query that joins tables.
pub(crate) fn qualified(table: &str, cols: &str) -> Vec<String> {
    cols.split(',').map(|c| format!("{table}.{}", c.trim())).collect()
}

/// `sql` with each `$N` made `$(N + by)`.
fn shift_params(sql: &str, by: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.char_indices().peekable();
    while let Some((_, ch)) = chars.next() {
        out.push(ch);
        if ch != '$' {
            continue;
        }
        let mut n = String::new();
        while let Some((_, d)) = chars.peek().filter(|(_, d)| d.is_ascii_digit()) {
            n.push(*d);
            chars.next();
        }
        if let Ok(n) = n.parse::<usize>() {
            out.push_str(&(n + by).to_string());
        }
    }
    out
}

/// The one-row insert SQLite runs once per row of a many-row one.
fn sqlite_insert_sql(table: &str, columns: &[&str], tail: &str) -> String {
    let values = (1..=columns.len()).map(|i| format!("?{i}")).collect::<Vec<_>>();
    format!("INSERT INTO {table} ({}) VALUES ({}) {tail}", columns.join(", "), values.join(", "))
}

/// One write of a `Conn::together`.
pub enum Write<'a> {
    /// Rows for `table`, as `Conn::insert_rows` takes them; `tail` may hold an `ON CONFLICT …`, not a
    /// `RETURNING`.
    Rows { table: &'a str, columns: &'a [&'a str], rows: Vec<Vec<Arg>>, tail: &'a str },
    /// An `INSERT`, `UPDATE` or `DELETE` without `RETURNING`, with its own `$1…` arguments.
    Sql { sql: &'a str, args: Vec<Arg> },
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

    /// Inserts `rows` (each its values for `columns`, in order) into `table`, followed by `tail` (an
    /// `ON CONFLICT …` and/or `RETURNING …`); returns what `RETURNING` gave. On PostgreSQL that is one statement
    /// whatever the number of rows (the values travel as one array per column), so a group commit's hundred rows
    /// cost one round trip, not a hundred; rows go in the order given. On SQLite, where a statement is a
    /// function call, it is the one-row statement run once per row.
    pub fn insert_rows<'a>(
        &'a mut self,
        table: &'a str,
        columns: &'a [&'a str],
        rows: Vec<Vec<Arg>>,
        tail: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Row>, StoreError>> {
        Box::pin(async move {
            if rows.is_empty() {
                return Ok(Vec::new());
            }
            match &mut self.0 {
                ConnInner::Sqlite(c) => {
                    let sql = sqlite_insert_sql(table, columns, tail);
                    let mut out = Vec::new();
                    for row in rows {
                        out.extend(sqlite_rows(c, &sql, row, usize::MAX)?);
                    }
                    Ok(out)
                }
                ConnInner::Pg(c) => {
                    let count = rows.len();
                    let (sql, arrays) = pg_insert_rows(table, columns, rows, tail, 1)?;
                    tracing::trace!(target: "buynow_store::sql", %sql, rows = count);
                    let q = bind_pg(&sql, arrays);
                    Ok(q.fetch_all(&mut **c).await?.into_iter().map(|r| Row(RowInner::Pg(r))).collect())
                }
            }
        })
    }

    /// Runs `writes` and returns how many rows each changed, in order. On PostgreSQL they go as one statement
    /// (each a data-modifying `WITH` of it): a group commit's writes to seven tables cost one round trip, not
    /// seven. The price is that they see the database as it was before all of them, not each other's rows, so
    /// only writes that do not depend on one another belong together; constraints are still checked, at the
    /// end of the statement. On SQLite they run one after another.
    pub fn together<'a>(&'a mut self, writes: Vec<Write<'a>>) -> BoxFuture<'a, Result<Vec<u64>, StoreError>> {
        Box::pin(async move {
            match &mut self.0 {
                ConnInner::Sqlite(c) => {
                    let mut counts = Vec::with_capacity(writes.len());
                    for w in writes {
                        counts.push(match w {
                            Write::Rows { table, columns, rows, tail } => {
                                let sql = sqlite_insert_sql(table, columns, tail);
                                let mut n = 0;
                                for row in rows {
                                    n += sqlite_exec(c, &sql, row)?;
                                }
                                n
                            }
                            Write::Sql { sql, args } => sqlite_exec(c, sql, args)?,
                        });
                    }
                    Ok(counts)
                }
                ConnInner::Pg(c) => {
                    let (mut parts, mut args, mut counted) = (Vec::new(), Vec::new(), Vec::new());
                    for w in writes {
                        let (sql, part_args) = match w {
                            Write::Rows { rows, .. } if rows.is_empty() => {
                                counted.push(None);
                                continue;
                            }
                            Write::Rows { table, columns, rows, tail } => {
                                pg_insert_rows(table, columns, rows, tail, args.len() + 1)?
                            }
                            Write::Sql { sql, args: part_args } => (shift_params(sql, args.len()), part_args),
                        };
                        counted.push(Some(parts.len()));
                        parts.push(format!("w{} AS ({sql} RETURNING 1)", parts.len()));
                        args.extend(part_args);
                    }
                    if parts.is_empty() {
                        return Ok(counted.iter().map(|_| 0).collect());
                    }
                    let counts = (0..parts.len()).map(|i| format!("(SELECT COUNT(*) FROM w{i})"));
                    let sql = format!("WITH {} SELECT {}", parts.join(", "), counts.collect::<Vec<_>>().join(", "));
                    tracing::trace!(target: "buynow_store::sql", %sql);
                    let row = Row(RowInner::Pg(bind_pg(&sql, args).fetch_one(&mut **c).await?));
                    counted.into_iter().map(|i| i.map_or(Ok(0), |i| row.int(i).map(|n| n.max(0) as u64))).collect()
                }
            }
        })
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

/// `$1, $2, …, $n`: the parameters of an `IN (…)` list of `n` values, on either back end.
/// `column` is one of `ids`, as a condition whose parameters start at `$first`, with their values. On PostgreSQL
/// that is one array parameter, so the statement (and its plan, prepared once) is the same whatever the number
/// of ids; SQLite binds no arrays, so there it is a placeholder each.
pub(crate) fn one_of(backend: Backend, column: &str, ids: &[impl ToString], first: usize) -> (String, Vec<Arg>) {
    let ids = ids.iter().map(ToString::to_string);
    match backend {
        Backend::Postgres => (format!("{column} = ANY(${first}::text[])"), vec![Arg::Texts(ids.collect())]),
        Backend::Sqlite => {
            let list = (first..first + ids.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
            (format!("{column} IN ({list})"), ids.map(Arg::Text).collect())
        }
    }
}

/// The rows `select` reads given the condition that `column` is one of `ids` (see `one_of`), each parsed by
/// `parse` into its key and value, the values grouped by key in the order they came: the rows of many orders
/// (or parcels) in one query.
pub(crate) async fn grouped_where<K: std::hash::Hash + Eq, T>(
    c: &mut Conn<'_>,
    column: &str,
    ids: &[impl ToString],
    select: impl FnOnce(&str) -> String,
    parse: impl Fn(&Row) -> Result<(K, T), StoreError>,
) -> Result<std::collections::HashMap<K, Vec<T>>, StoreError> {
    let (of, args) = one_of(c.backend(), column, ids, 1);
    grouped(&c.all(&select(&of), args).await?, parse)
}

/// `rows`, each parsed by `parse` into its key and value, the values grouped by key in the order they came.
pub(crate) fn grouped<K: std::hash::Hash + Eq, T>(
    rows: &[Row],
    parse: impl Fn(&Row) -> Result<(K, T), StoreError>,
) -> Result<std::collections::HashMap<K, Vec<T>>, StoreError> {
    let mut out: std::collections::HashMap<K, Vec<T>> = std::collections::HashMap::new();
    for r in rows {
        let (key, value) = parse(r)?;
        out.entry(key).or_default().push(value);
    }
    Ok(out)
}

pub(crate) fn placeholders(n: usize) -> String {
    (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}
