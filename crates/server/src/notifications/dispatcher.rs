//! The dispatcher: turns each outbox event into its deliveries, sends the deliveries that are due, and records
//! what each attempt came to — retried with backoff and jitter, dead-lettered after the last attempt.
//!
//! Fan-out and sending are separate steps. An event is fanned out in one transaction with its deliveries
//! (written once per event, channel and target, however often a crash makes it run again). A delivery is claimed
//! with a lease before it is sent; a dispatcher that dies mid-send leaves a lease that runs out, and the delivery
//! is sent again. So a message may go twice after a crash, never zero times; an e-mail sent again carries the
//! `Message-ID` of the first, and a webhook the same `webhook-id`, so receivers can tell.

use super::note;
use crate::error::ApiError;
use crate::services::support;
use crate::state::AppState;
use buynow_domain::CaseReason;
use buynow_notify::message::{render, Letter};
use buynow_notify::webhook::Outcome as WebhookOutcome;
use buynow_notify::{OutgoingMail, SendError};
use buynow_store::notifications::{self, Channel, Delivery, NewDelivery, Outcome};
use buynow_store::StoreError;
use futures::{FutureExt, StreamExt};
use rand::Rng;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Events fanned out per transaction, and deliveries claimed per batch. A fan-out's e-mails (one per event)
/// fit in one send batch, so it sends them itself, without claiming them again.
const FAN_OUT_BATCH: u32 = 100;
const SEND_BATCH: u32 = 200;
/// Sends in flight at once, and how many outcomes are recorded together. A larger chunk holds SQLite's one
/// writer longer between Buy Now's group commits (docs/performance.md, "The floor, bisected").
const SENDS_AT_ONCE: usize = 32;
const RECORD_CHUNK: usize = 32;
/// How long the dispatcher rests after a busy batch, as a multiple of the time the batch took.
const REST_PER_WORK: u32 = 5;
const MAX_REST: Duration = Duration::from_secs(1);
/// Past this wait the dispatcher no longer rests between batches: a rush of orders has the machine to itself
/// for this long (`buynow bench`'s ten seconds never reach it), but a steady load the dispatcher cannot keep up
/// with at a sixth of the machine must not delay messages without end.
const CATCH_UP_AFTER_MICROS: i64 = 30_000_000;

/// Starts the dispatcher loop; it stops when `shutdown` turns true, after the sends in hand are recorded.
pub fn spawn_dispatcher(state: AppState, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let _running = crate::health::Workers::running(&state, crate::health::DISPATCHER);
        tracing::info!(mail = %state.mailer.describe(), "notification dispatcher started");
        let mut behind = false;
        loop {
            if *shutdown.borrow() {
                break;
            }
            let started = Instant::now();
            let mut taken = Taken::default();
            match fan_out(&state).await {
                Ok((t, fresh)) => taken = taken.and(t).and(send(&state, fresh, behind).await),
                Err(e) => tracing::warn!(error = %e, "could not fan out the outbox"),
            }
            match send_due(&state, behind).await {
                Ok(t) => taken = taken.and(t),
                Err(e) => tracing::warn!(error = %e, "could not claim deliveries"),
            }
            let busy = taken.count > 0;
            behind = taken.oldest.is_some_and(|at| state.now_micros() - at > CATCH_UP_AFTER_MICROS);
            if busy && !behind {
                // Orders come first: with work waiting, the dispatcher rests `REST_PER_WORK` times as long as
                // its batch took, so a rush of orders leaves it a small share of the machine. Its messages fall
                // behind during the rush, up to `CATCH_UP_AFTER_MICROS`, and catch up after it. A batch that
                // mostly waited on a slow receiver used little of the machine, so the rest is capped.
                let rest = (started.elapsed() * REST_PER_WORK).min(MAX_REST);
                tokio::select! {
                    _ = shutdown.changed() => {}
                    _ = tokio::time::sleep(rest) => {}
                }
            }
            if busy {
                continue;
            }
            tokio::select! {
                _ = shutdown.changed() => {}
                _ = tokio::time::sleep(state.config.worker_poll) => {}
            }
        }
        tracing::info!("notification dispatcher stopped");
    })
}

/// What a batch took: how many events or deliveries, and since when the one waiting longest was due (µs).
#[derive(Debug, Default, Clone, Copy)]
struct Taken {
    count: usize,
    oldest: Option<i64>,
}

impl Taken {
    fn and(self, other: Taken) -> Taken {
        let oldest = match (self.oldest, other.oldest) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Taken { count: self.count + other.count, oldest }
    }
}

/// Fans out up to a batch of events: one e-mail to the customer and one webhook per subscription that wants
/// the event's type. Returns what it took, and up to a send batch of the new deliveries, claimed for sending
/// now (the rest wait for `send_due`).
async fn fan_out(state: &AppState) -> Result<(Taken, Vec<Delivery>), StoreError> {
    let now = state.now_micros();
    let mut tx = state.store.write().await?;
    let events = notifications::claim_events(&mut tx.conn(), FAN_OUT_BATCH).await?;
    if events.is_empty() {
        tx.rollback().await?;
        return Ok((Taken::default(), Vec::new()));
    }
    let subscriptions = notifications::subscriptions(&mut tx.conn()).await?;
    // The e-mail names its customer, whose address is opened only to send it: it is never stored.
    let customers: Vec<String> = events.iter().map(|e| e.customer_id.to_string()).collect();
    let mut deliveries = Vec::new();
    for (event, customer) in events.iter().zip(&customers).filter(|(e, _)| e.kind.is_customer_facing()) {
        deliveries.push(NewDelivery { event, channel: Channel::Email, target: customer });
        for s in subscriptions.iter().filter(|s| s.wants(event.kind)) {
            deliveries.push(NewDelivery { event, channel: Channel::Webhook, target: &s.id });
        }
    }
    // A batch in two statements, not two per event: on PostgreSQL each is a round trip (docs/performance.md,
    // "Messages on PostgreSQL").
    let fresh =
        notifications::add_deliveries(&mut tx.conn(), &deliveries, now, SEND_BATCH as usize, lease_until(state, now))
            .await?;
    let published: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    notifications::mark_published(&mut tx.conn(), &published, now).await?;
    tx.commit().await?;
    Ok((Taken { count: events.len(), oldest: events.iter().map(|e| e.created_at).min() }, fresh))
}

/// Until when a claim made `now` holds: a sender that dies leaves it to run out, and the delivery goes again.
fn lease_until(state: &AppState, now: i64) -> i64 {
    now.saturating_add(i64::try_from(state.config.job_lease.as_micros()).unwrap_or(i64::MAX / 2))
}

/// Claims the deliveries that are due (retries, and those whose sender's claim ran out or that a fan-out left
/// over), and sends them.
async fn send_due(state: &AppState, spread: bool) -> Result<Taken, StoreError> {
    let now = state.now_micros();
    let mut tx = state.store.write().await?;
    let due = notifications::claim_due(&mut tx.conn(), now, lease_until(state, now), SEND_BATCH).await?;
    tx.commit().await?;
    Ok(send(state, due, spread).await)
}

/// Sends claimed deliveries, at once, and records their outcomes together. Each order is read once for all of
/// its messages in the batch. Returns what it took (sent or tried).
///
/// With `spread` (messages are past `CATCH_UP_AFTER_MICROS`), each send is a task of its own, so that rendering
/// and building messages runs on every core and goes on while a chunk's outcomes wait for the writer. Otherwise
/// the sends run inside the dispatcher's one task, and its rests bound its share of the machine: spread over
/// every core during a rush, they took it from Buy Now (docs/performance.md, "The dispatcher at steady load").
async fn send(state: &AppState, due: Vec<Delivery>, spread: bool) -> Taken {
    if due.is_empty() {
        return Taken::default();
    }
    let taken = Taken { count: due.len(), oldest: due.iter().map(|d| d.next_attempt_at).min() };
    let orders = std::sync::Arc::new(note::orders_for(state, &due).await);
    // Outcomes are recorded as they come in, a chunk at a time: a dispatcher that dies mid-batch sends again
    // only what it had not yet recorded.
    let mut outcomes = futures::stream::iter(due)
        .map(|d| {
            let (state, orders) = (state.clone(), orders.clone());
            let send = async move {
                let result = deliver(&state, &d, orders.get(&d.order_id)).await;
                (d, result)
            };
            if spread {
                tokio::spawn(send).boxed()
            } else {
                send.map(Ok).boxed()
            }
        })
        .buffer_unordered(SENDS_AT_ONCE)
        .ready_chunks(RECORD_CHUNK);
    while let Some(chunk) = outcomes.next().await {
        let chunk = chunk
            .into_iter()
            .filter_map(|sent| {
                // A send that panicked is not recorded: its claim runs out and it is sent again.
                sent.inspect_err(|e| tracing::error!(error = %e, "a delivery's send panicked")).ok()
            })
            .collect();
        record(state, chunk).await;
    }
    taken
}

async fn deliver(state: &AppState, d: &Delivery, order: Option<&Result<note::Told, String>>) -> Result<Sent, String> {
    let order = match order {
        Some(Ok(order)) => order,
        Some(Err(e)) => return Err(e.clone()),
        None => return Err("the order could not be read".into()),
    };
    match d.channel {
        Channel::Email => send_email(state, d, order).await,
        Channel::Webhook => send_webhook(state, d, order).await,
    }
}

/// Writes what a chunk of attempts came to, in one transaction: sent, to be retried after a backoff, or dead.
async fn record(state: &AppState, chunk: Vec<(Delivery, Result<Sent, String>)>) {
    let now = state.now_micros();
    // Most messages go at their first try: those are written together, in one statement.
    let first_tries: Vec<&str> =
        chunk.iter().filter(|(d, r)| sent_at_first_try(d, r)).map(|(d, _)| d.id.as_str()).collect();
    let recorded = async {
        let mut tx = state.store.write().await?;
        notifications::record_sent_first_try(&mut tx.conn(), &first_tries, now).await?;
        for (d, result) in &chunk {
            if sent_at_first_try(d, result) {
                continue;
            }
            let attempt = u32::try_from(d.attempts + 1).unwrap_or(u32::MAX);
            let outcome = match result {
                Ok(Sent::Yes) => Outcome::Sent,
                Ok(Sent::Gone(e)) => Outcome::Gone { error: e },
                Err(e) => {
                    let retry_at = (attempt < state.config.delivery_attempts).then(|| now + backoff(state, attempt));
                    Outcome::Failed { error: e, retry_at }
                }
            };
            let dead = match &outcome {
                Outcome::Failed { error, retry_at: None } => Some(error.to_string()),
                // A receiver that said it is gone has unsubscribed: nothing for a person to do. An e-mail refused
                // for good never reached the customer.
                Outcome::Gone { error } if d.channel == Channel::Email => Some(error.to_string()),
                _ => None,
            };
            notifications::record(&mut tx.conn(), d, outcome, now).await?;
            if matches!(result, Ok(Sent::Gone(_))) && d.channel == Channel::Webhook {
                notifications::disable_subscription(&mut tx.conn(), &d.target, "the receiver answered 410 Gone")
                    .await?;
            }
            if let Some(error) = dead {
                dead_lettered(&mut tx.conn(), d, &error, now).await?;
            }
        }
        tx.commit().await.map_err(ApiError::from)
    }
    .await;
    if let Err(e) = recorded {
        // The claims run out and these deliveries are sent again: a repeat, never a loss.
        tracing::warn!(error = %e, deliveries = chunk.len(), "could not record the deliveries' attempts");
        return;
    }
    for (d, result) in &chunk {
        let attempt = u32::try_from(d.attempts + 1).unwrap_or(u32::MAX);
        match result {
            Ok(Sent::Yes) => {
                tracing::debug!(delivery = %d.id, channel = d.channel.as_str(), event = %d.kind, "delivered")
            }
            Err(e) if attempt < state.config.delivery_attempts => {
                tracing::info!(delivery = %d.id, channel = d.channel.as_str(), error = %e, "delivery failed; will retry")
            }
            Ok(Sent::Gone(e)) | Err(e) => {
                tracing::warn!(delivery = %d.id, channel = d.channel.as_str(), error = %e, "delivery dead-lettered")
            }
        }
    }
}

fn sent_at_first_try(d: &Delivery, result: &Result<Sent, String>) -> bool {
    d.attempts == 0 && matches!(result, Ok(Sent::Yes))
}

/// A message the customer (or the shop's systems) did not get: a support case, one per order while open.
async fn dead_lettered(c: &mut buynow_store::Conn<'_>, d: &Delivery, error: &str, now: i64) -> Result<(), ApiError> {
    let Some(order) = buynow_store::orders::lock(c, d.order_id).await? else { return Ok(()) };
    let summary = format!("The {} {} ({}) was dead-lettered: {error}", d.channel.as_str(), d.kind, d.id);
    let trouble = support::Trouble {
        reason: CaseReason::MessageDeadLettered,
        subject: None,
        summary: &summary,
        told: "A message about this order could not be delivered; our support team will reach you.",
    };
    support::open(c, &order, trouble, now).await.map(drop)
}

enum Sent {
    Yes,
    /// The receiver said it is gone for good.
    Gone(String),
}

/// The wait before attempt `attempt + 1`: the base doubled per attempt, up to an hour, and up to a quarter
/// more at random so that deliveries failed together do not come back together.
fn backoff(state: &AppState, attempt: u32) -> i64 {
    let base = state.config.delivery_backoff.as_micros() as f64;
    let wait = (base * 2f64.powi(attempt.saturating_sub(1).min(30) as i32)).min(3_600_000_000.0);
    (wait * rand::thread_rng().gen_range(1.0..1.25)) as i64
}

async fn send_email(state: &AppState, d: &Delivery, order: &note::Told) -> Result<Sent, String> {
    let (view, person) = (&order.view, &order.person);
    let amount = note::amount_for(state, d, view).await;
    let note = note::order_note(state, view, &person.name);
    let message = note::message_for(state, d).await;
    let letter = Letter { kind: d.kind, note: &note, amount, message: message.as_deref() };
    let Some(rendered) = render(&letter) else {
        return Err(format!("{} has no message", d.kind));
    };
    let mail = OutgoingMail {
        event_id: &d.event_id,
        kind: d.kind,
        order_id: &view.id,
        to_address: &person.email,
        to_name: &person.name,
        rendered: &rendered,
    };
    // A mail server's refusal often quotes the recipient; what is stored of it must not.
    let scrub = |e: String| e.replace(&person.email, "<the customer's address>");
    match state.mailer.send(&mail).await {
        Ok(()) => Ok(Sent::Yes),
        // A refusal for good is not retried: its attempts would only be refused again.
        Err(SendError::Permanent(e)) => Ok(Sent::Gone(format!("refused for good: {}", scrub(e)))),
        Err(SendError::Transient(e)) => Err(scrub(e)),
    }
}

async fn send_webhook(state: &AppState, d: &Delivery, order: &note::Told) -> Result<Sent, String> {
    let subscription = {
        let mut read = state.store.read().await.map_err(|e| e.to_string())?;
        notifications::subscription_by_id(&mut read.conn(), &d.target).await.map_err(|e| e.to_string())?
    };
    let Some(s) = subscription.filter(|s| s.active) else {
        return Ok(Sent::Gone("the subscription is deleted or disabled".into()));
    };
    let view = &order.view;
    let created_at = buynow_store::from_micros(d.created_at);
    let body = serde_json::json!({ "id": d.event_id, "type": d.kind.as_str(), "created_at": created_at, "data": view });
    let body = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
    let now = state.now_micros();
    let mut secrets = vec![s.secret.as_str()];
    if let (Some(previous), Some(rotated)) = (&s.previous_secret, s.rotated_at) {
        if now - rotated < ROTATION_OVERLAP_MICROS {
            secrets.push(previous);
        }
    }
    // The receiver checks the timestamp against its own clock: the wall clock's, whatever BuyNow's says.
    let timestamp = chrono::Utc::now().timestamp();
    match state.webhooks.send(&s.url, &secrets, &d.event_id, timestamp, body).await {
        WebhookOutcome::Delivered => Ok(Sent::Yes),
        WebhookOutcome::Gone => {
            // The receiver is gone: its subscription is disabled by the caller with this delivery's record.
            Ok(Sent::Gone("the receiver answered 410 Gone".into()))
        }
        WebhookOutcome::Failed(e) => Err(e),
    }
}

/// After a rotation the old secret signs beside the new one for a day, so a receiver can switch over.
const ROTATION_OVERLAP_MICROS: i64 = 24 * 3600 * 1_000_000;

/// Whether any event waits to be fanned out or any delivery is due: for tests that wait for the messages.
pub async fn idle(state: &AppState) -> Result<bool, StoreError> {
    let mut read = state.store.read().await?;
    let now = state.now_micros();
    let waiting = read
        .conn()
        .opt(
            "SELECT 1 FROM outbox WHERE published_at IS NULL UNION ALL \
             SELECT 1 FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $1 LIMIT 1",
            buynow_store::args![now],
        )
        .await?;
    Ok(waiting.is_none())
}
