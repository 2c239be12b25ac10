//! Finishing jobs that act on one order each, as a group: an authorization answer, recorded, is the second
//! write of every Buy Now, and the jobs answered at one moment are written by one transaction in a handful of
//! statements, as placements are (see `placement`).
//!
//! A job arrives with its order, the payment it is about, and a pure function that decides, from the order and
//! payment as they are under lock, what to write — as data (`Effects`), or, for a rare path that needs more,
//! as a write of its own (`Decision::Run`). The group:
//!
//! 1. locks its orders, sorted (every writer that changes an order and its payment locks the order first),
//!    and the jobs this attempt still holds (their attempt numbers are the fencing tokens): a job another
//!    worker took over meanwhile (its lease ran out) is told so, and not run; then reads the payments;
//! 2. decides each held job: a refusal is told at once, and nothing of it is written;
//! 3. marks the rest done and writes their effects, table by table — payment and order moves (each still
//!    guarded by the state it was decided on), timeline entries, outbox events, new jobs — on PostgreSQL in
//!    one statement; then any `Run` writes.
//!
//! Answers go out once the transaction has committed (see `batch`).

use crate::jobs::{self, Enqueue, Job, NewJob};
use crate::orders::{self, Order, TimelineEntry};
use crate::outbox::{self, NewEvent};
use crate::payments::{self, Payment};
use crate::{Arg, Backend, BoxFuture, Conn, StoreError};
use buynow_domain::{EventKind, JobId, OrderId, PaymentId};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use tokio::sync::oneshot;

/// A job's write, for a path that needs more than `Effects` holds; it runs in the group's transaction, after
/// the order was locked and the job marked done. Its failure fails the whole group (so the jobs run again).
pub type RunWrite<T, E> = Box<dyn for<'a, 'c> FnOnce(&'a mut Conn<'c>) -> BoxFuture<'a, Result<T, E>> + Send>;

pub enum Decision<T, E> {
    Write(Effects, T),
    Run(RunWrite<T, E>),
}

/// Decides a job from its order and payment as they are under lock (`None`: there is no such row).
pub type Decide<T, E> = Box<dyn FnOnce(Option<&Order>, Option<&Payment>) -> Result<Decision<T, E>, E> + Send>;

pub struct OrderJob<T, E> {
    pub job: Job,
    pub order: OrderId,
    pub payment: PaymentId,
    pub decide: Decide<T, E>,
}

/// What finishing a job writes besides marking it done, all at `at`.
#[derive(Debug, Clone, Default)]
pub struct Effects {
    pub at: i64,
    pub payment: Option<PaymentMove>,
    pub order: Option<OrderMove>,
    pub timeline: Vec<TimelineEntry>,
    /// Outbox events: kind and JSON payload.
    pub events: Vec<(EventKind, String)>,
    pub jobs: Vec<NewJob>,
}

pub use crate::orders::OrderMove;
pub use crate::payments::PaymentMove;

/// How a job of the group came out, once committed.
#[derive(Debug)]
pub enum Finished<T> {
    Done(T),
    /// Another worker holds the job now (this attempt's lease ran out): nothing of this attempt was kept.
    LostLease,
}

pub(crate) trait Pending: Send {
    fn job(&self) -> &Job;
    fn order(&self) -> OrderId;
    fn payment(&self) -> PaymentId;
    /// Decides; on refusal the caller is told at once and `None` returned.
    fn decide(&mut self, order: Option<&Order>, payment: Option<&Payment>) -> Option<Decided>;
    fn refuse(&mut self, e: StoreError);
    /// Tells the caller how it came out: `Done` (committed) with the value its decision set aside, or why not
    /// — its own write's error if that is what failed the group.
    fn answer(&mut self, result: Result<Finished<()>, &StoreError>);
}

/// A decision, its value set aside for the answer.
pub(crate) enum Decided {
    Write(Effects),
    /// Runs the write; `false` when it failed (its error set aside for its caller).
    Run(RunErased),
}

type RunErased = Box<dyn for<'a, 'c> FnOnce(&'a mut Conn<'c>) -> BoxFuture<'a, bool> + Send>;

/// Where a caller waits for its job's answer.
pub(crate) type Answer<T, E> = oneshot::Receiver<Result<Finished<T>, E>>;

type Slot<T, E> = Arc<Mutex<Option<Result<T, E>>>>;

fn put<T, E>(slot: &Slot<T, E>, value: Result<T, E>) {
    *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(value);
}

struct Typed<T, E> {
    job: Job,
    order: OrderId,
    payment: PaymentId,
    decide: Option<Decide<T, E>>,
    outcome: Slot<T, E>,
    reply: Option<oneshot::Sender<Result<Finished<T>, E>>>,
}

impl<T, E> Typed<T, E> {
    fn refuse_with(&mut self, e: E) {
        if let Some(reply) = self.reply.take() {
            let _ = reply.send(Err(e));
        }
    }
}

impl<T: Send + 'static, E: From<StoreError> + Send + 'static> Pending for Typed<T, E> {
    fn job(&self) -> &Job {
        &self.job
    }

    fn order(&self) -> OrderId {
        self.order
    }

    fn payment(&self) -> PaymentId {
        self.payment
    }

    fn decide(&mut self, order: Option<&Order>, payment: Option<&Payment>) -> Option<Decided> {
        let decide = self.decide.take()?;
        match decide(order, payment) {
            Ok(Decision::Write(effects, value)) => {
                put(&self.outcome, Ok(value));
                Some(Decided::Write(effects))
            }
            Ok(Decision::Run(run)) => {
                let slot = self.outcome.clone();
                Some(Decided::Run(Box::new(move |c| {
                    Box::pin(async move {
                        let result = run(c).await;
                        let ok = result.is_ok();
                        put(&slot, result);
                        ok
                    })
                })))
            }
            Err(e) => {
                self.refuse_with(e);
                None
            }
        }
    }

    fn refuse(&mut self, e: StoreError) {
        self.refuse_with(E::from(e));
    }

    fn answer(&mut self, result: Result<Finished<()>, &StoreError>) {
        let Some(reply) = self.reply.take() else { return };
        let outcome = self.outcome.lock().unwrap_or_else(PoisonError::into_inner).take();
        let answer = match (result, outcome) {
            (Ok(Finished::LostLease), _) => Ok(Finished::LostLease),
            (Ok(Finished::Done(())), Some(Ok(value))) => Ok(Finished::Done(value)),
            (_, Some(Err(own))) => Err(own),
            (Ok(Finished::Done(())), None) => {
                Err(E::from(StoreError::BatchFailed("the job's write left no answer".into())))
            }
            (Err(e), _) => Err(E::from(StoreError::BatchFailed(e.to_string()))),
        };
        let _ = reply.send(answer);
    }
}

pub(crate) fn pending<T, E>(job: OrderJob<T, E>) -> (Box<dyn Pending>, Answer<T, E>)
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    let (reply, answer) = oneshot::channel();
    let OrderJob { job, order, payment, decide } = job;
    let typed = Typed { job, order, payment, decide: Some(decide), outcome: Default::default(), reply: Some(reply) };
    (Box::new(typed), answer)
}

/// Where a job of the group stands once the group is written.
pub(crate) enum Standing {
    /// Held and decided: `Done` once committed.
    Done,
    LostLease,
    /// Refused, and told so already.
    Answered,
}

/// Writes the group in the open transaction `c` (see the module's description) and returns each job's
/// standing, in order. An `Err` means the transaction must be rolled back.
pub(crate) async fn run(c: &mut Conn<'_>, group: &mut [Box<dyn Pending>]) -> Result<Vec<Standing>, StoreError> {
    let wanted: Vec<(OrderId, PaymentId, Job)> =
        group.iter().map(|p| (p.order(), p.payment(), p.job().clone())).collect();
    let (locked, payments, held) = lock(c, &wanted).await?;
    let mut standings = Vec::with_capacity(group.len());
    let (mut writes, mut runs, mut done) = (Vec::new(), Vec::new(), Vec::new());
    let mut seen = HashSet::new();
    for p in group.iter_mut() {
        let order = locked.get(&p.order());
        // Whether the job is held is known only with its order (on PostgreSQL both come from one join); without
        // it, the decision is asked all the same, and refuses (a job on no order cannot succeed).
        if order.is_some() && !held.contains(&p.job().id) {
            standings.push(Standing::LostLease);
            continue;
        }
        // Two jobs on one order would be decided on the same state, and the second's guarded move would fail:
        // the second is told to run again later instead.
        if !seen.insert(p.order()) {
            p.refuse(StoreError::BatchFailed("another job on the same order is being finished".into()));
            standings.push(Standing::Answered);
            continue;
        }
        match p.decide(order, payments.get(&p.payment())) {
            None => standings.push(Standing::Answered),
            Some(d) => {
                standings.push(Standing::Done);
                done.push(p.job().clone());
                match d {
                    Decided::Write(mut effects) => {
                        // A job made by a job carries the request that made the first (for its log lines).
                        for made in effects.jobs.iter_mut().filter(|j| j.request_id.is_none()) {
                            made.request_id.clone_from(&p.job().request_id);
                        }
                        writes.push((p.order(), p.payment(), effects))
                    }
                    Decided::Run(run) => runs.push(run),
                }
            }
        }
    }
    write(c, &done, &writes, &locked).await?;
    for run in runs {
        if !run(c).await {
            return Err(StoreError::BatchFailed("another job of the group failed".into()));
        }
    }
    Ok(standings)
}

type Locked = (HashMap<OrderId, Order>, HashMap<PaymentId, Payment>, HashSet<JobId>);

/// The group's orders, locked (in id order), the jobs this attempt still holds, locked too so that no one takes
/// them over before the commit (on PostgreSQL one statement), and then the payments. The payments are read
/// only once the orders are locked: a statement that waited for an order's lock (a cancel committing) sees the
/// order as the cancel left it, but any other table as it was when the statement began.
async fn lock(c: &mut Conn<'_>, wanted: &[(OrderId, PaymentId, Job)]) -> Result<Locked, StoreError> {
    let (mut orders_found, mut held) = (HashMap::new(), HashSet::new());
    match c.backend() {
        Backend::Postgres => {
            let (order_ids, job_ids) =
                wanted.iter().map(|(order, _, job)| (order.to_string(), job.id.to_string())).unzip();
            let attempts: HashMap<&JobId, i64> = wanted.iter().map(|(_, _, j)| (&j.id, j.attempt)).collect();
            let (sql, job_at) = &*LOCK_QUERY;
            for r in c.all(sql, vec![Arg::Texts(order_ids), Arg::Texts(job_ids)]).await? {
                let order = orders::order_at(&r, 0)?;
                if let Some(job) = r.opt_text(*job_at)? {
                    let job = JobId::parse(&job).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    let (attempt, status) = (r.int(job_at + 1)?, r.text(job_at + 2)?);
                    if status == "running" && attempts.get(&job) == Some(&attempt) {
                        held.insert(job);
                    }
                }
                orders_found.insert(order.id, order);
            }
        }
        // The one writer holds the whole database already.
        Backend::Sqlite => {
            for (order, _, job) in wanted {
                if let Some(order) = orders::get(c, *order).await? {
                    orders_found.insert(order.id, order);
                }
                if jobs::holds(c, job).await? {
                    held.insert(job.id);
                }
            }
        }
    }
    let payment_ids: Vec<PaymentId> = wanted.iter().map(|w| w.1).collect();
    let payments_found = payments::get_all(c, &payment_ids).await?.into_iter().map(|p| (p.id, p)).collect();
    Ok((orders_found, payments_found, held))
}

/// The PostgreSQL `lock` query, and where the job's columns start in its rows. Every table is reached by its
/// primary key (`= ANY`), whatever the planner believes of a table that grew since its statistics were taken
/// (a join on the payments let it scan them all). A job row another transaction has locked is waited for, and
/// then read as that transaction left it: a worker that took the job over has raised its attempt, and this
/// attempt is told it lost the lease. It must not be skipped instead: a worker's claim that merely looked at
/// the row also locks it for a moment (PostgreSQL keeps the lock on a row it re-checked after a concurrent
/// update, even when the row no longer qualifies), and skipping it made the job's true holder give up, leaving
/// the job to wait out its lease (seen as a Buy Now's revised payment still `placed` in a loaded CI run).
static LOCK_QUERY: LazyLock<(String, usize)> = LazyLock::new(|| {
    let order = crate::db::qualified("o", orders::ORDER_COLS);
    let sql = format!(
        "WITH held AS (SELECT id, attempts, status FROM jobs WHERE id = ANY($2::text[]) ORDER BY id FOR UPDATE) \
         SELECT {}, h.id, h.attempts, h.status \
         FROM orders o JOIN UNNEST($1::text[], $2::text[]) AS w(order_id, job_id) ON w.order_id = o.id \
         LEFT JOIN held h ON h.id = w.job_id \
         WHERE o.id = ANY($1::text[]) ORDER BY o.id FOR UPDATE OF o",
        order.join(", ")
    );
    (sql, order.len())
});

/// The effects, table by table: one statement on PostgreSQL (see `Conn::together`). The moves were decided
/// under the orders' locks, so each guard holds; one that does not is a bug, and fails the group.
async fn write(
    c: &mut Conn<'_>,
    done: &[Job],
    writes: &[(OrderId, PaymentId, Effects)],
    locked: &HashMap<OrderId, Order>,
) -> Result<(), StoreError> {
    if done.is_empty() {
        return Ok(());
    }
    let backend = c.backend();
    let payment_moves: Vec<(PaymentId, &PaymentMove, i64)> =
        writes.iter().filter_map(|(_, payment, e)| Some((*payment, e.payment.as_ref()?, e.at))).collect();
    let order_moves: Vec<(OrderId, &OrderMove, i64)> =
        writes.iter().filter_map(|(order, _, e)| Some((*order, e.order.as_ref()?, e.at))).collect();
    // The jobs were locked as held: marking them done cannot miss.
    let mut all = jobs::complete_writes(backend, done, crate::now_micros());
    let jobs_end = all.len();
    all.extend(payments::move_writes(backend, &payment_moves));
    let payments_end = all.len();
    all.extend(orders::move_writes(backend, &order_moves));
    let orders_end = all.len();
    let entries: Vec<(OrderId, &TimelineEntry)> =
        writes.iter().flat_map(|(order, _, e)| e.timeline.iter().map(move |t| (*order, t))).collect();
    all.push(orders::timeline_write(&entries));
    let mut events = Vec::new();
    for (order, _, e) in writes {
        for (kind, payload) in &e.events {
            let customer = locked
                .get(order)
                .map(|o| o.customer_id)
                .ok_or_else(|| StoreError::Corrupt("an event for an order not found".into()))?;
            events.push(NewEvent { order: *order, customer, kind: *kind, payload, at: e.at });
        }
    }
    all.push(outbox::add_write(&events).0);
    let enqueue: Vec<Enqueue> = writes
        .iter()
        .flat_map(|(_, _, e)| e.jobs.iter().map(move |job| Enqueue { job, now: e.at, lease_until: None }))
        .collect();
    // A job whose dedup key was used already is not added twice (see `jobs::enqueue`).
    all.push(jobs::insert_write(&enqueue).0);
    let counts = c.together(all).await?;
    if counts[..jobs_end].iter().sum::<u64>() != done.len() as u64 {
        return Err(StoreError::Corrupt("a job was taken over under its lock".into()));
    }
    if counts[jobs_end..payments_end].iter().sum::<u64>() != payment_moves.len() as u64 {
        return Err(StoreError::Corrupt("a payment moved under its order's lock".into()));
    }
    if counts[payments_end..orders_end].iter().sum::<u64>() != order_moves.len() as u64 {
        return Err(StoreError::Corrupt("an order moved under its lock".into()));
    }
    Ok(())
}
