//! Group commit: many small write transactions run as one.
//!
//! A write sent with `Store::write_batched`, a placement sent with `Store::place`, an order job's answer sent
//! with `Store::finish_order_job`, or the sandbox processor's record of an authorization sent with
//! `Store::record_authorization` joins a queue. A batch writer takes what is already queued — up to a bounded
//! count, without waiting for more, so a lone request is never delayed — and runs it in one transaction: the
//! placements as one group written table by table (see `placement`), the order jobs likewise (see
//! `order_jobs`), then the other writes one by one. One that fails (out of stock, a taken key, a lost lease) is
//! told at once and leaves no trace, because each checks before it changes anything (see `run_bare`); the rest
//! commit together, and only after that commit is each caller answered. One commit, one fsync, for the whole
//! batch; nothing is acknowledged before it is durable.
//!
//! On SQLite, whose one writer holds the whole database, everything goes through one queue and one writer. On
//! PostgreSQL placements, order jobs and the sandbox's authorization records are grouped the same way, each kind
//! by a writer of its own (on a connection of its own, see `pg_group_conn`), since a group takes its locks in one
//! fixed order (the sandbox's records only insert rows, by sorted key). Other writes
//! are not: those of concurrent batches would take row locks in orders no one controls and could deadlock, and
//! a failed statement there spoils its transaction. Each keeps a transaction of its own (batches of one, many
//! writers side by side), and PostgreSQL's own group commit shares the WAL flushes of concurrent commits.

use crate::db::ConnInner;
use crate::metrics::Held;
use crate::order_jobs::{self, Finished, Standing};
use crate::pg_group_conn::{End, GroupConn};
use crate::placement;
use crate::sandbox::{self, Authorization};
use crate::{Backend, BoxFuture, Conn, Engine, StoreError, WriteTx};
use futures::FutureExt;
use sqlx::postgres::PgPool;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use tokio::runtime::Handle;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, oneshot, Mutex};

/// The most writes one transaction takes: enough to amortize a commit, few enough to keep latency low.
pub(crate) const MAX_BATCH: usize = 64;

/// How many groups of each kind (placements, order jobs, the sandbox's records) are written at once on
/// PostgreSQL. One: on two cores a second writer only made each group smaller and every statement slower (the
/// figures are in docs/performance.md).
pub(crate) const PG_GROUP_WRITERS: usize = 1;

/// What a batch writer takes from its queue.
pub(crate) enum Work {
    Write(Box<dyn Item>),
    Place(Box<dyn placement::Pending>),
    FinishOrderJob(Box<dyn order_jobs::Pending>),
    RecordAuthorization(Authorization, oneshot::Sender<Result<Authorization, StoreError>>),
}

/// Sends a write's answer once its batch is over: `None` when the batch committed, else why it did not.
type Reply = Box<dyn FnOnce(Option<&StoreError>) + Send>;

/// What a write leaves for after the commit: its answer to send, or nothing when it already failed alone.
pub(crate) enum Outcome {
    Keep(Reply),
    Discarded,
}

pub(crate) trait Item: Send {
    fn run<'a, 'c>(self: Box<Self>, c: &'a mut Conn<'c>) -> BoxFuture<'a, Outcome>;
}

struct Typed<F, T, E> {
    f: F,
    reply: oneshot::Sender<Result<T, E>>,
}

impl<F, T, E> Item for Typed<F, T, E>
where
    F: for<'a, 'c> FnOnce(&'a mut Conn<'c>) -> BoxFuture<'a, Result<T, E>> + Send,
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    fn run<'a, 'c>(self: Box<Self>, c: &'a mut Conn<'c>) -> BoxFuture<'a, Outcome> {
        let Typed { f, reply } = *self;
        let work = f(c);
        Box::pin(async move {
            match work.await {
                Ok(value) => Outcome::Keep(Box::new(move |commit_error: Option<&StoreError>| {
                    let answer = match commit_error {
                        None => Ok(value),
                        Some(e) => Err(E::from(StoreError::BatchFailed(e.to_string()))),
                    };
                    let _ = reply.send(answer);
                })),
                Err(e) => {
                    let _ = reply.send(Err(e));
                    Outcome::Discarded
                }
            }
        })
    }
}

/// Where writes, placements, order jobs and the sandbox's records are queued; on SQLite all go to the one writer.
#[derive(Clone)]
pub(crate) struct Queue {
    writes: mpsc::UnboundedSender<Work>,
    places: mpsc::UnboundedSender<Work>,
    order_jobs: mpsc::UnboundedSender<Work>,
    authorizations: mpsc::UnboundedSender<Work>,
}

/// Starts the batch writers on `engine`; they stop when the last `Store` clone is gone. On PostgreSQL,
/// `writers` writers take other writes one at a time.
pub(crate) fn start(engine: Engine, writers: usize) -> Queue {
    let (writes, rx) = mpsc::unbounded_channel::<Work>();
    if matches!(engine, Engine::Sqlite { .. }) {
        start_thread(engine, rx);
        return Queue { places: writes.clone(), order_jobs: writes.clone(), authorizations: writes.clone(), writes };
    }
    let (places, place_rx) = mpsc::unbounded_channel::<Work>();
    let (order_jobs, order_job_rx) = mpsc::unbounded_channel::<Work>();
    let (authorizations, authorization_rx) = mpsc::unbounded_channel::<Work>();
    spawn_writers(&Handle::current(), &engine, rx, writers);
    if let Engine::Postgres { group_thread, groups, .. } = &engine {
        spawn_group_writers(group_thread.handle(), &engine, groups, place_rx);
        spawn_group_writers(group_thread.handle(), &engine, groups, order_job_rx);
        spawn_group_writers(group_thread.handle(), &engine, groups, authorization_rx);
    }
    Queue { writes, places, order_jobs, authorizations }
}

/// The thread of PostgreSQL's group writers, with a runtime of its own; it stops once its last owner is gone.
///
/// Every Buy Now waits on the two group writers, one after the other, and each group is a handful of round
/// trips to the server, one after the other. On the server's runtime a writer whose answer has arrived waits
/// its turn among the requests being served (and the runtime looks for arrived answers only between their
/// turns), so on a busy machine most of a group's time went on waiting, not on the database: the writers
/// were busy nine tenths of the time while a quarter of the two cores sat idle. On a thread of their own
/// they are woken when their answer arrives.
pub(crate) struct GroupThread {
    handle: Handle,
    /// Dropped with the last owner, which ends the thread.
    _stop: oneshot::Sender<()>,
}

impl GroupThread {
    pub(crate) fn start() -> Result<GroupThread, StoreError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::BatchFailed(format!("the group thread's runtime did not start: {e}")))?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("buynow-pg-groups".into())
            .spawn(move || {
                let _ = runtime.block_on(stopped);
            })
            .map_err(|e| StoreError::BatchFailed(format!("the group thread did not start: {e}")))?;
        Ok(GroupThread { handle, _stop: stop })
    }

    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }
}

/// Writers of other writes on PostgreSQL: each batch (of one) in a transaction of its own, on a pooled connection.
fn spawn_writers(on: &Handle, engine: &Engine, rx: mpsc::UnboundedReceiver<Work>, writers: usize) {
    let rx = Arc::new(Mutex::new(rx));
    for _ in 0..writers.max(1) {
        let (engine, rx) = (engine.clone(), rx.clone());
        on.spawn(async move {
            loop {
                let batch = {
                    let mut rx = rx.lock().await;
                    let Some(first) = rx.recv().await else { return };
                    vec![first]
                };
                run_batch(&engine, batch, None).await;
            }
        });
    }
}

/// PostgreSQL's group writers of one kind, each on a connection of its own (see `pg_group_conn`).
fn spawn_group_writers(on: &Handle, engine: &Engine, groups: &PgPool, rx: mpsc::UnboundedReceiver<Work>) {
    let rx = Arc::new(Mutex::new(rx));
    for _ in 0..PG_GROUP_WRITERS {
        let (engine, rx, conn) = (engine.clone(), rx.clone(), GroupConn::new(groups.clone()));
        on.spawn(write_groups(engine, rx, conn));
    }
}

/// A group writer: takes what is queued, runs it as one group on its connection, and again.
async fn write_groups(engine: Engine, rx: Arc<Mutex<mpsc::UnboundedReceiver<Work>>>, mut conn: GroupConn) {
    loop {
        let batch = {
            let mut rx = rx.lock().await;
            let first = match rx.try_recv() {
                Ok(first) => first,
                Err(TryRecvError::Disconnected) => break,
                Err(TryRecvError::Empty) => {
                    conn.idle().await;
                    // A closing pool waits for every connection: this one goes back while the writer waits.
                    let first = tokio::select! {
                        first = rx.recv() => first,
                        () = conn.give_back_on_close() => rx.recv().await,
                    };
                    let Some(first) = first else { break };
                    first
                }
            };
            drain(&mut rx, first, MAX_BATCH)
        };
        // Another group queued already: the commit begins its transaction (see `pg_group_conn`).
        let more = || rx.try_lock().map_or(true, |rx| !rx.is_empty());
        run_batch(&engine, batch, Some(Kept { conn: &mut conn, more: &more })).await;
    }
    conn.idle().await;
}

/// The SQLite writer gets a thread of its own: its statements are plain function calls and its commit waits
/// for the disk, and neither should hold one of the few async workers that serve HTTP. Its futures are
/// ready when first polled (see `db`), so a minimal executor runs them; the runtime is entered so that
/// anything inside may still spawn or time.
fn start_thread(engine: Engine, mut rx: mpsc::UnboundedReceiver<Work>) {
    let runtime = tokio::runtime::Handle::current();
    std::thread::Builder::new()
        .name("buynow-sqlite-writer".into())
        .spawn(move || {
            let _entered = runtime.enter();
            while let Some(first) = rx.blocking_recv() {
                let batch = drain(&mut rx, first, MAX_BATCH);
                futures::executor::block_on(run_batch(&engine, batch, None));
            }
        })
        .expect("the writer thread starts");
}

/// The first write and whatever is already queued behind it, up to `max_batch`, without waiting for more.
fn drain(rx: &mut mpsc::UnboundedReceiver<Work>, first: Work, max_batch: usize) -> Vec<Work> {
    let mut batch = vec![first];
    while batch.len() < max_batch {
        match rx.try_recv() {
            Ok(item) => batch.push(item),
            Err(_) => break,
        }
    }
    batch
}

/// A PostgreSQL group writer's kept connection, and whether another group waits behind the one on it.
struct Kept<'k> {
    conn: &'k mut GroupConn,
    more: &'k (dyn Fn() -> bool + Send + Sync),
}

/// A batch's open transaction: one of its own (`Engine::begin`), or on a group writer's kept connection.
enum BatchTx<'k> {
    Own(WriteTx),
    /// With its time open, counted as `WriteTx` counts its own.
    Kept(Kept<'k>, Held),
}

impl<'k> BatchTx<'k> {
    async fn begin(engine: &Engine, kept: Option<Kept<'k>>) -> Result<BatchTx<'k>, StoreError> {
        Ok(match kept {
            None => BatchTx::Own(engine.begin().await?),
            Some(kept) => {
                let asked = std::time::Instant::now();
                kept.conn.begin().await?;
                BatchTx::Kept(kept, Held::begun(std::panic::Location::caller(), asked))
            }
        })
    }

    fn conn(&mut self) -> Conn<'_> {
        match self {
            BatchTx::Own(tx) => tx.conn(),
            BatchTx::Kept(kept, _) => Conn(ConnInner::Pg(kept.conn.conn())),
        }
    }

    async fn commit(self) -> Result<(), StoreError> {
        match self {
            BatchTx::Own(tx) => tx.commit().await,
            BatchTx::Kept(Kept { conn, more }, _held) => {
                conn.end(if more() { End::CommitAndBegin } else { End::Commit }).await
            }
        }
    }

    async fn rollback(self) -> Result<(), StoreError> {
        match self {
            BatchTx::Own(tx) => tx.rollback().await,
            BatchTx::Kept(kept, _held) => kept.conn.end(End::Rollback).await,
        }
    }
}

/// Runs `batch` in one transaction: on `kept` when a PostgreSQL group writer gives its connection, else in a
/// transaction of its own.
async fn run_batch(engine: &Engine, batch: Vec<Work>, kept: Option<Kept<'_>>) {
    crate::metrics::GROUP_SIZES.observe(batch.len() as f64);
    let (mut places, mut finishes, mut writes, mut auths) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for work in batch {
        match work {
            Work::Place(p) => places.push(p),
            Work::FinishOrderJob(f) => finishes.push(f),
            Work::Write(w) => writes.push(w),
            Work::RecordAuthorization(a, reply) => auths.push((a, reply)),
        }
    }
    let mut tx = match BatchTx::begin(engine, kept).await {
        Ok(tx) => tx,
        Err(e) => return fail_all(places.len() + finishes.len() + writes.len() + auths.len(), &e),
    };
    let sandbox_alone = places.is_empty() && finishes.is_empty() && writes.is_empty() && !auths.is_empty();
    if places.is_empty() && finishes.is_empty() && auths.is_empty() && writes.len() == 1 {
        // Alone, a write needs no care: its failure rolls back the whole (its own) transaction.
        let item = writes.pop().expect("one item");
        let outcome = AssertUnwindSafe(item.run(&mut tx.conn())).catch_unwind().await;
        match outcome {
            Ok(Outcome::Keep(reply)) => {
                let result = tx.commit().await;
                reply(result.as_ref().err());
            }
            Ok(Outcome::Discarded) | Err(_) => {
                let _ = tx.rollback().await;
            }
        }
        return;
    }
    let mut placed = Vec::new();
    let mut broken = None;
    if !places.is_empty() {
        match AssertUnwindSafe(placement::run(&mut tx.conn(), places)).catch_unwind().await {
            Ok(Ok(outcomes)) => placed = outcomes,
            Ok(Err(e)) => broken = Some(e),
            Err(_) => broken = Some(StoreError::BatchFailed("a placement's plan panicked".into())),
        }
    }
    let mut standings = Vec::new();
    if !finishes.is_empty() && broken.is_none() {
        match AssertUnwindSafe(order_jobs::run(&mut tx.conn(), &mut finishes)).catch_unwind().await {
            Ok(Ok(s)) => standings = s,
            Ok(Err(e)) => broken = Some(e),
            Err(_) => broken = Some(StoreError::BatchFailed("an order job's decision panicked".into())),
        }
    }
    let mut recorded = Vec::new();
    if sandbox_alone && tx.conn().backend() == Backend::Postgres {
        // The sandbox's own group (see `Store::record_authorization`) commits without waiting for the disk, as
        // its SQLite file does (`Store::open_relaxed`).
        if let Err(e) = tx.conn().batch("SET LOCAL synchronous_commit = off").await {
            broken = Some(e);
        }
    }
    if !auths.is_empty() && broken.is_none() {
        let records: Vec<Authorization> = auths.iter().map(|(a, _)| a.clone()).collect();
        match sandbox::authorize_all(&mut tx.conn(), &records).await {
            Ok(stands) => recorded = stands,
            Err(e) => broken = Some(e),
        }
    }
    let mut kept = Vec::with_capacity(writes.len());
    for item in writes {
        if broken.is_some() {
            // The transaction is unusable: this write never ran; dropping it tells its caller so.
            drop(item);
            continue;
        }
        if let Err(e) = run_bare(&mut tx.conn(), item, &mut kept).await {
            broken = Some(e);
        }
    }
    let result = match broken {
        Some(e) => {
            tracing::warn!(error = %e, "a write batch is rolled back");
            let _ = tx.rollback().await;
            Err(e)
        }
        None => tx.commit().await,
    };
    let error = result.err();
    for (mut p, outcome) in placed {
        p.answer(match &error {
            None => Ok(outcome),
            Some(e) => Err(e),
        });
    }
    for (i, mut f) in finishes.into_iter().enumerate() {
        f.answer(match (&error, standings.get(i)) {
            (Some(e), _) => Err(e),
            (None, Some(Standing::Done)) => Ok(Finished::Done(())),
            (None, Some(Standing::LostLease)) => Ok(Finished::LostLease),
            // Answered already (refused), or the group never ran: nothing more to say.
            (None, Some(Standing::Answered) | None) => continue,
        });
    }
    for reply in kept {
        reply(error.as_ref());
    }
    let mut recorded = recorded.into_iter();
    for (_, reply) in auths {
        let _ = reply.send(match (&error, recorded.next()) {
            (None, Some(stands)) => Ok(stands),
            (Some(e), _) => Err(StoreError::BatchFailed(e.to_string())),
            (None, None) => Err(StoreError::BatchFailed("the group never recorded it".into())),
        });
    }
}

/// A write in a batch runs without a savepoint of its own, because a savepoint copies every page the write
/// touches into a journal first (a ninth of SQLite's writer time in the bench profile). Writes are built to
/// fail before they change anything (they check, then write). One that failed after changing rows all the
/// same — or on a back end that does not count changed rows, any that failed — cannot be undone alone: then
/// the whole batch is rolled back, and every caller in it told so.
async fn run_bare(c: &mut Conn<'_>, item: Box<dyn Item>, kept: &mut Vec<Reply>) -> Result<(), StoreError> {
    let before = c.total_changes();
    let outcome = AssertUnwindSafe(item.run(c)).catch_unwind().await;
    match outcome {
        Ok(Outcome::Keep(reply)) => kept.push(reply),
        Ok(Outcome::Discarded) | Err(_) if before.is_none() || c.total_changes() != before => {
            tracing::warn!("a write failed after changing rows; its whole batch is rolled back");
            return Err(StoreError::BatchFailed("another write of the batch failed half-way".into()));
        }
        Ok(Outcome::Discarded) | Err(_) => {}
    }
    Ok(())
}

fn fail_all(size: usize, e: &StoreError) {
    // The batch's items are dropped on return, and their reply senders with them: each caller sees "the batch
    // failed".
    tracing::warn!(error = %e, size, "a write batch could not start");
}

pub(crate) fn enqueue<F, T, E>(queue: &Queue, f: F) -> oneshot::Receiver<Result<T, E>>
where
    F: for<'a, 'c> FnOnce(&'a mut Conn<'c>) -> BoxFuture<'a, Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    let (reply, answer) = oneshot::channel();
    // A closed queue drops the item, and with it the reply: the caller sees the failure.
    let _ = queue.writes.send(Work::Write(Box::new(Typed { f, reply })));
    answer
}

pub(crate) fn enqueue_placement<E>(
    queue: &Queue,
    request: placement::Request<E>,
) -> oneshot::Receiver<Result<placement::Placed, E>>
where
    E: From<StoreError> + Send + 'static,
{
    let (pending, answer) = placement::pending(request);
    let _ = queue.places.send(Work::Place(pending));
    answer
}

pub(crate) fn enqueue_authorization(
    queue: &Queue,
    a: Authorization,
) -> oneshot::Receiver<Result<Authorization, StoreError>> {
    let (reply, answer) = oneshot::channel();
    let _ = queue.authorizations.send(Work::RecordAuthorization(a, reply));
    answer
}

pub(crate) fn enqueue_order_job<T, E>(
    queue: &Queue,
    job: order_jobs::OrderJob<T, E>,
) -> oneshot::Receiver<Result<Finished<T>, E>>
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    let (pending, answer) = order_jobs::pending(job);
    let _ = queue.order_jobs.send(Work::FinishOrderJob(pending));
    answer
}
