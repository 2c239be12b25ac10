//! A PostgreSQL group writer's own connection, kept from one group to the next, with the next group's
//! transaction begun by the last one's commit.
//!
//! Every Buy Now waits on the group writers, one after the other, and a writer runs one group at a time, so
//! each round trip of a group delays every Buy Now in it. Taking a connection from sqlx's pool for each group
//! cost two that did no work: `BEGIN`, and the ping sqlx sends on every connection given back (see
//! `pg_readers`; the time it took is in docs/performance.md). Here the connection stays with its writer, and when another
//! group is already queued the commit is sent as `COMMIT; BEGIN`, one message: PostgreSQL runs the `BEGIN` only
//! if the commit succeeded, and its answer comes with the commit's.
//!
//! A transaction is left open only while a group is queued for it: a writer with nothing to do ends it before
//! it waits (`idle`), so no session sits "idle in transaction" (a server's
//! `idle_in_transaction_session_timeout` would end it). A `BEGIN` alone takes no snapshot and no lock.
//!
//! When beginning or ending a transaction fails, the connection is closed rather than reused, since its state is
//! then not known (a group statement that fails is followed by a rollback, which leaves it clean). A `BEGIN`
//! that fails because the connection was lost (it may have been idle for long, or the server restarted) is
//! tried once more on a fresh one, as nothing was sent in it yet.

use crate::pg_readers::{connection_lost, RENEW_AFTER};
use crate::{BoxFuture, StoreError};
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgPool;
use sqlx::{PgConnection, Postgres};
use std::time::Instant;

pub(crate) struct GroupConn {
    pool: PgPool,
    conn: Option<Held>,
}

struct Held {
    conn: PoolConnection<Postgres>,
    taken: Instant,
    /// A transaction is open on it, begun by the last commit for the group queued behind it.
    open: bool,
}

/// How a group's transaction ends.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    Commit,
    /// Commit, and begin the transaction of the group queued behind this one.
    CommitAndBegin,
    Rollback,
}

impl GroupConn {
    pub(crate) fn new(pool: PgPool) -> GroupConn {
        GroupConn { pool, conn: None }
    }

    /// Opens a transaction on the connection, unless the last commit already did.
    pub(crate) fn begin(&mut self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            if self.conn.as_ref().is_some_and(|h| !h.open && h.taken.elapsed() > RENEW_AFTER) {
                // Given back to the pool, which closes it (sqlx's `max_lifetime`), so a session is renewed now and
                // then, as the pool's own connections are.
                self.conn = None;
            }
            let mut tries = 0;
            loop {
                tries += 1;
                if self.conn.is_none() {
                    let conn = self.pool.acquire().await?;
                    self.conn = Some(Held { conn, taken: Instant::now(), open: false });
                }
                let held = self.conn.as_mut().expect("taken above");
                if held.open {
                    break;
                }
                match simple(&mut held.conn, "BEGIN").await {
                    Ok(_) => {
                        held.open = true;
                        break;
                    }
                    Err(e) => {
                        self.close().await;
                        if !connection_lost(&e) || tries > 1 {
                            return Err(e.into());
                        }
                    }
                }
            }
            Ok(())
        })
    }

    /// The connection, inside the transaction `begin` opened.
    pub(crate) fn conn(&mut self) -> &mut PgConnection {
        &mut self.conn.as_mut().expect("begun before use").conn
    }

    /// Ends the transaction `begin` opened.
    pub(crate) fn end(&mut self, end: End) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let Some(held) = self.conn.as_mut().filter(|h| h.open) else {
                return Err(StoreError::BatchFailed("no transaction was open on the group's connection".into()));
            };
            // A connection due for renewal (see `begin`) is left without a transaction, even under steady load.
            let end = if end == End::CommitAndBegin && held.taken.elapsed() > RENEW_AFTER { End::Commit } else { end };
            let sql = match end {
                End::Commit => "COMMIT",
                End::CommitAndBegin => "COMMIT; BEGIN",
                End::Rollback => "ROLLBACK",
            };
            held.open = false;
            match simple(&mut held.conn, sql).await {
                Ok(_) => {
                    held.open = end == End::CommitAndBegin;
                    Ok(())
                }
                Err(e) => {
                    self.close().await;
                    Err(e.into())
                }
            }
        })
    }

    /// Ends a transaction begun for a group that has not come after all: the writer is about to wait.
    pub(crate) fn idle(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if self.conn.as_ref().is_some_and(|h| h.open) {
                let _ = self.end(End::Rollback).await;
            }
        })
    }

    /// Waits until the pool is being closed, then gives the connection back to it, which is waiting for it.
    /// Call it only between groups, when `idle` has ended any transaction.
    pub(crate) fn give_back_on_close(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.pool.close_event().await;
            self.conn = None;
        })
    }

    fn close(&mut self) -> BoxFuture<'_, ()> {
        let held = self.conn.take();
        Box::pin(async move {
            if let Some(held) = held {
                let _ = held.conn.close().await;
            }
        })
    }
}

/// Statements without arguments, sent as one message (PostgreSQL's simple query protocol).
fn simple<'a>(conn: &'a mut PgConnection, sql: &'a str) -> BoxFuture<'a, Result<(), sqlx::Error>> {
    Box::pin(async move { sqlx::Executor::execute(conn, sql).await.map(drop) })
}

impl Drop for GroupConn {
    fn drop(&mut self) {
        // A transaction still open would go back to the pool with it; closing the socket ends it instead.
        if let Some(held) = self.conn.take().filter(|h| h.open) {
            drop(held.conn.detach());
        }
    }
}
