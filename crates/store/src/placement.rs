//! Placing orders as a group: the placements queued at one moment are written by one transaction, in a
//! handful of statements whatever their number (DESIGN.md, Performance).
//!
//! A placement arrives as data — its key, its SKU, and a pure function that plans the order against the live
//! stock of that SKU — so the group can be written table by table rather than placement by placement:
//!
//! 1. lock the stock rows of every SKU in the group, in (SKU, center) order;
//! 2. claim the idempotency keys, sorted: a key already taken is answered with its order (a replay) or a
//!    conflict, and nothing is written for it;
//! 3. plan each claimed placement in arrival order against what the ones before it left; one that finds too
//!    little stock is refused alone and its key given back;
//! 4. write the orders, items, shipments, payments, timeline entries, outbox events and jobs of the rest, and
//!    reserve their stock with one guarded update per (SKU, center) — on PostgreSQL all as one statement (see
//!    `Conn::together`).
//!
//! Locks are taken in one order by every group — stock rows sorted, then keys sorted, then only new rows — so
//! two groups (in one process or two) wait for each other but never deadlock. Answers go out only once the
//! transaction has committed (see `batch`); a refusal goes out at once, as nothing of it is kept.

use crate::catalog::{self, Reservation, StockLevel};
use crate::idempotency::{self, Claim, KeyClaim};
use crate::jobs::{self, Enqueue, Job, NewJob};
use crate::orders::{self, Item, NewOrderRows, Order, Shipment, TimelineEntry};
use crate::outbox::{self, NewEvent};
use crate::payments::{self, Payment};
use crate::{Backend, Conn, Row, StoreError};
use buynow_domain::{EventKind, OrderId};
use std::collections::{HashMap, HashSet};
use tokio::sync::oneshot;

/// Everything one placement writes.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub order: Order,
    pub items: Vec<Item>,
    /// One per center the order ships from: also what is reserved where.
    pub shipments: Vec<Shipment>,
    pub payment: Payment,
    pub entry: TimelineEntry,
    /// The outbox event announcing the order: its kind and JSON payload.
    pub event: (EventKind, String),
    pub job: NewJob,
    /// With a lease end, the job is written already claimed by the placing process, to run right after the
    /// commit; should that process die first, the lease runs out and a worker runs it.
    pub claim_until: Option<i64>,
}

/// The plan of one placement, given the live stock of its SKU (per center): the order to write, or why not.
pub type Plan<E> = Box<dyn FnOnce(&[StockLevel]) -> Result<NewOrder, E> + Send>;

/// One placement to make.
pub struct Request<E> {
    pub key: KeyClaim,
    pub sku: String,
    pub plan: Plan<E>,
}

/// What a placement came to, once committed.
#[derive(Debug)]
pub enum Placed {
    /// The order was written (with its claimed job, when `claim_until` was given).
    New { order: Box<NewOrder>, job: Option<Job> },
    /// The key was taken already: a replay of its order, or a conflict with another request.
    Taken(Claim),
}

/// A placement with its caller's reply, its error type erased so that one group holds any.
pub(crate) trait Pending: Send {
    fn key(&self) -> &KeyClaim;
    fn sku(&self) -> &str;
    /// The plan against `levels`; on refusal the caller is told at once, and `None` returned.
    fn plan(&mut self, levels: &[StockLevel]) -> Option<NewOrder>;
    fn refuse(&mut self, e: StoreError);
    fn answer(&mut self, result: Result<Placed, &StoreError>);
}

struct Typed<E> {
    key: KeyClaim,
    sku: String,
    plan: Option<Plan<E>>,
    reply: Option<oneshot::Sender<Result<Placed, E>>>,
}

impl<E: From<StoreError> + Send + 'static> Pending for Typed<E> {
    fn key(&self) -> &KeyClaim {
        &self.key
    }

    fn sku(&self) -> &str {
        &self.sku
    }

    fn plan(&mut self, levels: &[StockLevel]) -> Option<NewOrder> {
        let plan = self.plan.take()?;
        match plan(levels) {
            Ok(order) => Some(order),
            Err(e) => {
                if let Some(reply) = self.reply.take() {
                    let _ = reply.send(Err(e));
                }
                None
            }
        }
    }

    fn refuse(&mut self, e: StoreError) {
        if let Some(reply) = self.reply.take() {
            let _ = reply.send(Err(E::from(e)));
        }
    }

    fn answer(&mut self, result: Result<Placed, &StoreError>) {
        if let Some(reply) = self.reply.take() {
            let _ = reply.send(result.map_err(|e| {
                E::from(if e.is_retryable() {
                    StoreError::BatchConflict(e.to_string())
                } else {
                    StoreError::BatchFailed(e.to_string())
                })
            }));
        }
    }
}

pub(crate) fn pending<E: From<StoreError> + Send + 'static>(
    request: Request<E>,
) -> (Box<dyn Pending>, oneshot::Receiver<Result<Placed, E>>) {
    let (reply, answer) = oneshot::channel();
    let Request { key, sku, plan } = request;
    (Box::new(Typed { key, sku, plan: Some(plan), reply: Some(reply) }), answer)
}

/// A placement's outcome, to be answered once the transaction has committed.
pub(crate) type Outcome = (Box<dyn Pending>, Placed);

/// Writes the group in the open transaction `c` (see the module's description). An `Err` means the transaction
/// must be rolled back; every placement not yet answered has then been answered with it.
pub(crate) async fn run(c: &mut Conn<'_>, mut group: Vec<Box<dyn Pending>>) -> Result<Vec<Outcome>, StoreError> {
    let skus: Vec<&str> = group.iter().map(|p| p.sku()).collect();
    let wanted: Vec<KeyClaim> = group.iter().map(|p| p.key().clone()).collect();
    let (mut stock, claims) = match lock_and_claim(c, &skus, &wanted).await {
        Ok(found) => found,
        Err(e) => {
            group.iter_mut().for_each(|p| p.answer(Err(&e)));
            return Err(e);
        }
    };
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(group.len());
    let mut refused: Vec<KeyClaim> = Vec::new();
    for (mut p, claim) in group.into_iter().zip(claims) {
        if claim != Claim::New {
            outcomes.push((p, Placed::Taken(claim)));
            continue;
        }
        let levels = stock.entry(p.sku().to_string()).or_default();
        let Some(order) = p.plan(levels) else {
            refused.push(p.key().clone());
            continue;
        };
        if let Err(e) = take(levels, &order.shipments) {
            p.refuse(e);
            refused.push(p.key().clone());
            continue;
        }
        outcomes.push((p, Placed::New { order: Box::new(order), job: None }));
    }
    // A key sent twice in the group went to the first; if that one was refused, the second would replay an order
    // that will not exist. It is told to try again (a 503), which then finds the key free.
    let refused_orders: HashSet<OrderId> = refused.iter().map(|k| k.order).collect();
    outcomes.retain_mut(|(p, placed)| match placed {
        Placed::Taken(Claim::Replay(order)) if refused_orders.contains(order) => {
            p.refuse(StoreError::BatchFailed("its key's first use in the same group was refused".into()));
            false
        }
        _ => true,
    });
    let written = match idempotency::release_all(c, &refused.iter().collect::<Vec<_>>()).await {
        Ok(()) => write(c, &mut outcomes).await,
        Err(e) => Err(e),
    };
    if let Err(e) = written {
        outcomes.iter_mut().for_each(|(p, _)| p.answer(Err(&e)));
        return Err(e);
    }
    Ok(outcomes)
}

/// Steps 1 and 2: the group's stock rows, locked, and its keys' claims. On PostgreSQL both are one statement,
/// since the group writer waits on every round trip and every Buy Now waits on the group writer.
async fn lock_and_claim(
    c: &mut Conn<'_>,
    skus: &[&str],
    wanted: &[KeyClaim],
) -> Result<(HashMap<String, Vec<StockLevel>>, Vec<Claim>), StoreError> {
    if c.backend() == Backend::Sqlite {
        let stock = catalog::lock_stock(c, skus).await?;
        return Ok((stock, idempotency::claim_all(c, wanted).await?));
    }
    let (claim, claim_args) = idempotency::claim_statement(wanted, 2)?;
    // `UNION ALL` reads its arms in order, so the stock rows are locked, in (SKU, center) order, before any key
    // is claimed: the lock order of every group (see the module's description).
    let sql = format!(
        "WITH s AS ({}), k AS ({claim}) \
         SELECT NULL::text, * FROM s UNION ALL SELECT order_id, NULL, NULL, NULL, NULL FROM k",
        catalog::LOCK_STOCK
    );
    let mut args = vec![catalog::lock_stock_arg(skus)];
    args.extend(claim_args);
    let (mut stock, mut inserted): (HashMap<String, Vec<StockLevel>>, Vec<Row>) = Default::default();
    for r in c.all(&sql, args).await? {
        if r.opt_text(0)?.is_some() {
            inserted.push(r);
        } else {
            catalog::add_locked_level(&mut stock, &r, 1)?;
        }
    }
    Ok((stock, idempotency::answer_claims(c, wanted, &inserted).await?))
}

/// Takes the shipments' quantities off `levels`, or refuses if the plan asked for more than there is (a plan
/// made against other numbers: a bug, caught here rather than by the database's guard).
fn take(levels: &mut [StockLevel], shipments: &[Shipment]) -> Result<(), StoreError> {
    let mut after = levels.to_vec();
    for s in shipments {
        match after.iter_mut().find(|l| l.center == s.center) {
            Some(level) if level.available() >= i64::from(s.quantity) => level.reserved += i64::from(s.quantity),
            _ => {
                return Err(StoreError::Corrupt(format!(
                    "a plan takes {} of {} at {}: not free",
                    s.quantity, s.sku, s.center
                )))
            }
        }
    }
    levels.clone_from_slice(&after);
    Ok(())
}

/// The new orders' rows, table by table, and their reservations: one statement on PostgreSQL (see
/// `Conn::together`).
async fn write(c: &mut Conn<'_>, outcomes: &mut [Outcome]) -> Result<(), StoreError> {
    let new: Vec<&NewOrder> = outcomes
        .iter()
        .filter_map(|(_, placed)| match placed {
            Placed::New { order, .. } => Some(&**order),
            Placed::Taken(_) => None,
        })
        .collect();
    if new.is_empty() {
        return Ok(());
    }
    let rows: Vec<NewOrderRows> =
        new.iter().map(|n| NewOrderRows { order: &n.order, items: &n.items, shipments: &n.shipments }).collect();
    let mut writes = orders::insert_writes(&rows);
    let paid: Vec<(&Payment, i64)> = new.iter().map(|n| (&n.payment, n.order.created_at)).collect();
    writes.push(payments::insert_write(&paid));
    let entries: Vec<(OrderId, &TimelineEntry)> = new.iter().map(|n| (n.order.id, &n.entry)).collect();
    writes.push(orders::timeline_write(&entries));
    let events: Vec<NewEvent> = new
        .iter()
        .map(|n| NewEvent {
            order: n.order.id,
            customer: n.order.customer_id,
            kind: n.event.0,
            payload: &n.event.1,
            at: n.order.created_at,
        })
        .collect();
    writes.push(outbox::add_write(&events).0);
    let enqueue: Vec<Enqueue> =
        new.iter().map(|n| Enqueue { job: &n.job, now: n.order.created_at, lease_until: n.claim_until }).collect();
    let (job_write, written) = jobs::insert_write(&enqueue);
    let jobs_at = writes.len();
    writes.push(job_write);
    let reservations: Vec<Reservation> = new
        .iter()
        .flat_map(|n| n.shipments.iter())
        .map(|s| Reservation { sku: s.sku.clone(), center: s.center.clone(), quantity: i64::from(s.quantity) })
        .collect();
    let (reserve, expected) = catalog::reserve_writes(c.backend(), &reservations);
    writes.extend(reserve);
    let counts = c.together(writes).await?;
    if counts[jobs_at] != written.len() as u64 {
        // Each job's dedup key names its new payment: only a bug gets here.
        return Err(StoreError::Corrupt("a new payment's job was there already".into()));
    }
    if counts[jobs_at + 1..].iter().sum::<u64>() != expected {
        // The rows were locked and the plans checked against them: only a bug gets here.
        return Err(StoreError::Corrupt("a checked reservation was refused".into()));
    }
    let mut written = written.into_iter();
    for (_, placed) in outcomes.iter_mut() {
        if let Placed::New { order, job } = placed {
            *job = written.next().filter(|_| order.claim_until.is_some());
        }
    }
    Ok(())
}
