//! Notifications as the database keeps them: the outbox's events fanned out into deliveries (one e-mail to the
//! customer, one webhook per matching subscription), each claimed with a lease, sent, and retried or
//! dead-lettered on its own; the webhook subscriptions; every attempt, for the staff who look into a failure.

use crate::{args, Arg, Backend, Conn, Row, StoreError};
use buynow_domain::{CustomerId, EventKind, OrderId};

/// An outbox event waiting to be fanned out.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: String,
    pub order_id: OrderId,
    pub customer_id: CustomerId,
    pub kind: EventKind,
    pub payload: String,
    pub created_at: i64,
}

fn event(r: &Row) -> Result<Event, StoreError> {
    Ok(Event {
        id: r.text("id")?,
        order_id: r.parsed("order_id", OrderId::parse)?,
        customer_id: r.parsed("customer_id", CustomerId::parse)?,
        kind: r.parsed("kind", |k| EventKind::parse(k).ok_or("an unknown event kind"))?,
        payload: r.text("payload")?,
        created_at: r.int("created_at")?,
    })
}

/// Up to `limit` events not yet fanned out, oldest first. On PostgreSQL they stay locked to this transaction
/// (others skip them), so two dispatchers never fan out one event; SQLite's single writer does that alone.
pub async fn claim_events(c: &mut Conn<'_>, limit: u32) -> Result<Vec<Event>, StoreError> {
    let lock = match c.backend() {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "SELECT id, order_id, customer_id, kind, payload, created_at FROM outbox \
         WHERE published_at IS NULL ORDER BY created_at LIMIT $1 {lock}"
    );
    c.all(&sql, args![limit]).await?.iter().map(event).collect()
}

/// Marks events published, in one statement.
pub async fn mark_published(c: &mut Conn<'_>, ids: &[&str], now: i64) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let (of, mut args) = crate::db::one_of(c.backend(), "id", ids, 2);
    args.insert(0, Arg::Int(now));
    c.exec(&format!("UPDATE outbox SET published_at = $1 WHERE {of}"), args).await.map(drop)
}

/// How a delivery reaches its recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Webhook,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Webhook => "webhook",
        }
    }

    fn parse(s: &str) -> Result<Channel, &'static str> {
        match s {
            "email" => Ok(Channel::Email),
            "webhook" => Ok(Channel::Webhook),
            _ => Err("an unknown channel"),
        }
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// To be sent (again) at `next_attempt_at`.
    Pending,
    Sent,
    /// Given up on: out of attempts, or the receiver said it is gone for good.
    Dead,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Dead => "dead",
        }
    }

    fn parse(s: &str) -> Result<DeliveryStatus, &'static str> {
        match s {
            "pending" => Ok(DeliveryStatus::Pending),
            "sent" => Ok(DeliveryStatus::Sent),
            "dead" => Ok(DeliveryStatus::Dead),
            _ => Err("an unknown delivery status"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub event_id: String,
    pub order_id: OrderId,
    pub customer_id: CustomerId,
    pub kind: EventKind,
    pub channel: Channel,
    /// The recipient's e-mail address, or the subscription's id.
    pub target: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

const DELIVERY_COLS: &str = "id, event_id, order_id, customer_id, kind, channel, target, status, attempts, \
    next_attempt_at, last_error, created_at, sent_at";

fn delivery(r: &Row) -> Result<Delivery, StoreError> {
    Ok(Delivery {
        id: r.text("id")?,
        event_id: r.text("event_id")?,
        order_id: r.parsed("order_id", OrderId::parse)?,
        customer_id: r.parsed("customer_id", CustomerId::parse)?,
        kind: r.parsed("kind", |k| EventKind::parse(k).ok_or("an unknown event kind"))?,
        channel: r.parsed("channel", Channel::parse)?,
        target: r.text("target")?,
        status: r.parsed("status", DeliveryStatus::parse)?,
        attempts: r.int("attempts")?,
        next_attempt_at: r.int("next_attempt_at")?,
        last_error: r.opt_text("last_error")?,
        created_at: r.int("created_at")?,
        sent_at: r.opt_int("sent_at")?,
    })
}

/// A delivery to make of an event: written once per (event, channel, target), however often the event is
/// fanned out again after a crash. `add_deliveries` writes a batch of them in one statement on PostgreSQL.
pub struct NewDelivery<'a> {
    pub event: &'a Event,
    pub channel: Channel,
    pub target: &'a str,
}

/// Writes a batch's deliveries, in one statement on PostgreSQL. The first `claim` of them are written already
/// claimed until `lease_until` and returned, for the caller to send at once: a claim of its own would write
/// each row once more (on PostgreSQL a new version of the row and of its index entries, for vacuum to clean;
/// docs/performance.md, "Messages sent from the fan-out"). A delivery a crash's re-run finds written is left
/// as it is, and not returned.
pub async fn add_deliveries(
    c: &mut Conn<'_>,
    deliveries: &[NewDelivery<'_>],
    now: i64,
    claim: usize,
    lease_until: i64,
) -> Result<Vec<Delivery>, StoreError> {
    let mut claimed = Vec::with_capacity(claim.min(deliveries.len()));
    let rows = deliveries
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let id = buynow_domain::DeliveryId::new().to_string();
            let claimed_until = if i < claim {
                claimed.push(Delivery {
                    id: id.clone(),
                    event_id: d.event.id.clone(),
                    order_id: d.event.order_id,
                    customer_id: d.event.customer_id,
                    kind: d.event.kind,
                    channel: d.channel,
                    target: d.target.to_string(),
                    status: DeliveryStatus::Pending,
                    attempts: 0,
                    next_attempt_at: now,
                    last_error: None,
                    created_at: now,
                    sent_at: None,
                });
                Arg::Int(lease_until)
            } else {
                Arg::NullInt
            };
            args![
                id,
                &d.event.id,
                d.event.order_id.to_string(),
                d.event.customer_id.to_string(),
                d.event.kind.as_str(),
                d.channel.as_str(),
                d.target,
                "pending",
                0,
                now,
                claimed_until,
                now
            ]
        })
        .collect();
    let written = c
        .insert_rows(
            "deliveries",
            &DELIVERY_INSERT,
            rows,
            "ON CONFLICT (event_id, channel, target) DO NOTHING RETURNING id",
        )
        .await?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<std::collections::HashSet<String>, _>>()?;
    claimed.retain(|d| written.contains(&d.id));
    Ok(claimed)
}

const DELIVERY_INSERT: [&str; 12] = [
    "id",
    "event_id",
    "order_id",
    "customer_id",
    "kind",
    "channel",
    "target",
    "status",
    "attempts",
    "next_attempt_at",
    "claimed_until",
    "created_at",
];

/// Claims up to `limit` deliveries that are due (pending, their time come, and no live claim on them) until
/// `lease_until`; a sender that dies leaves a claim that runs out, and the delivery is sent again.
pub async fn claim_due(c: &mut Conn<'_>, now: i64, lease_until: i64, limit: u32) -> Result<Vec<Delivery>, StoreError> {
    let skip_locked = match c.backend() {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE deliveries SET claimed_until = $2 \
         WHERE id IN (SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $1 \
                      AND (claimed_until IS NULL OR claimed_until < $1) \
                      ORDER BY next_attempt_at LIMIT $3 {skip_locked}) \
         RETURNING {DELIVERY_COLS}"
    );
    c.all(&sql, args![now, lease_until, limit]).await?.iter().map(delivery).collect()
}

/// What one attempt came to.
pub enum Outcome<'a> {
    Sent,
    /// Try again at `retry_at`, or, with `None`, never: dead-lettered.
    Failed {
        error: &'a str,
        retry_at: Option<i64>,
    },
    /// The receiver is gone for good (a webhook's 410): dead, and its subscription disabled.
    Gone {
        error: &'a str,
    },
}

/// Records an attempt at `d` and what it came to, under the claim it was sent with.
pub async fn record(c: &mut Conn<'_>, d: &Delivery, outcome: Outcome<'_>, now: i64) -> Result<(), StoreError> {
    let attempt = d.attempts + 1;
    let (status, next, sent_at, label, error) = match outcome {
        Outcome::Sent => (DeliveryStatus::Sent, d.next_attempt_at, Some(now), "sent", None),
        Outcome::Failed { error, retry_at: Some(at) } => (DeliveryStatus::Pending, at, None, "failed", Some(error)),
        Outcome::Failed { error, retry_at: None } => (DeliveryStatus::Dead, now, None, "failed", Some(error)),
        Outcome::Gone { error } => (DeliveryStatus::Dead, now, None, "gone", Some(error)),
    };
    let error: Option<String> = error.map(|e| e.chars().take(500).collect());
    c.exec(
        "UPDATE deliveries SET status = $2, attempts = $3, next_attempt_at = $4, sent_at = $5, last_error = $6, \
         claimed_until = NULL WHERE id = $1",
        args![&d.id, status.as_str(), attempt, next, sent_at, error.clone()],
    )
    .await?;
    // A message sent at its first try needs no log beyond its row; one that failed keeps every attempt.
    if label == "sent" && attempt == 1 {
        return Ok(());
    }
    c.exec(
        "INSERT INTO delivery_attempts (delivery_id, attempt, at, outcome, detail) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (delivery_id, attempt) DO NOTHING",
        args![&d.id, attempt, now, label, error],
    )
    .await
    .map(drop)
}

/// Records deliveries sent at their first try, claimed with `claim_due` or `add_deliveries` (the one attempt
/// of each needs no log beyond its row, as in `record`).
pub async fn record_sent_first_try(c: &mut Conn<'_>, ids: &[&str], now: i64) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let (of, mut args) = crate::db::one_of(c.backend(), "id", ids, 2);
    args.insert(0, Arg::Int(now));
    c.exec(
        &format!(
            "UPDATE deliveries SET status = 'sent', attempts = 1, sent_at = $1, last_error = NULL, \
             claimed_until = NULL WHERE {of} AND attempts = 0"
        ),
        args,
    )
    .await
    .map(drop)
}

/// A dead delivery sent again: pending at once, with its attempts kept.
pub async fn send_again(c: &mut Conn<'_>, id: &str, now: i64) -> Result<bool, StoreError> {
    let n = c
        .exec(
            "UPDATE deliveries SET status = 'pending', next_attempt_at = $2, claimed_until = NULL \
             WHERE id = $1 AND status = 'dead'",
            args![id, now],
        )
        .await?;
    Ok(n == 1)
}

pub async fn for_order(c: &mut Conn<'_>, order: OrderId) -> Result<Vec<Delivery>, StoreError> {
    let sql = format!("SELECT {DELIVERY_COLS} FROM deliveries WHERE order_id = $1 ORDER BY created_at, id");
    c.all(&sql, args![order.to_string()]).await?.iter().map(delivery).collect()
}

/// The e-mails sent to a customer, newest first.
pub async fn emails_for_customer(
    c: &mut Conn<'_>,
    customer: CustomerId,
    limit: u32,
) -> Result<Vec<Delivery>, StoreError> {
    let sql = format!(
        "SELECT {DELIVERY_COLS} FROM deliveries WHERE customer_id = $1 AND channel = 'email' \
         ORDER BY created_at DESC, id DESC LIMIT $2"
    );
    c.all(&sql, args![customer.to_string(), limit]).await?.iter().map(delivery).collect()
}

pub async fn for_subscription(c: &mut Conn<'_>, subscription: &str, limit: u32) -> Result<Vec<Delivery>, StoreError> {
    let sql = format!(
        "SELECT {DELIVERY_COLS} FROM deliveries WHERE channel = 'webhook' AND target = $1 \
         ORDER BY created_at DESC, id DESC LIMIT $2"
    );
    c.all(&sql, args![subscription, limit]).await?.iter().map(delivery).collect()
}

/// Deliveries that failed at least once and are not sent: retrying, or dead-lettered.
pub async fn troubled(c: &mut Conn<'_>, limit: u32) -> Result<Vec<Delivery>, StoreError> {
    let sql = format!(
        "SELECT {DELIVERY_COLS} FROM deliveries WHERE status = 'dead' OR (status = 'pending' AND attempts > 0) \
         ORDER BY created_at DESC, id DESC LIMIT $1"
    );
    c.all(&sql, args![limit]).await?.iter().map(delivery).collect()
}

#[derive(Debug, Clone)]
pub struct Attempt {
    pub attempt: i64,
    pub at: i64,
    pub outcome: String,
    pub detail: Option<String>,
}

pub async fn attempts(c: &mut Conn<'_>, delivery: &str) -> Result<Vec<Attempt>, StoreError> {
    let rows = c
        .all(
            "SELECT attempt, at, outcome, detail FROM delivery_attempts WHERE delivery_id = $1 ORDER BY attempt",
            args![delivery],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Attempt {
                attempt: r.int("attempt")?,
                at: r.int("at")?,
                outcome: r.text("outcome")?,
                detail: r.opt_text("detail")?,
            })
        })
        .collect()
}

// ---- webhook subscriptions

#[derive(Debug, Clone)]
pub struct Subscription {
    pub id: String,
    pub url: String,
    /// The event types it wants; empty is every customer-facing type.
    pub events: Vec<String>,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub rotated_at: Option<i64>,
    pub active: bool,
    pub disabled_reason: Option<String>,
    pub created_at: i64,
}

impl Subscription {
    pub fn wants(&self, kind: EventKind) -> bool {
        self.active && (self.events.is_empty() || self.events.iter().any(|e| e == kind.as_str()))
    }
}

const SUBSCRIPTION_COLS: &str =
    "id, url, events, secret, previous_secret, rotated_at, status, disabled_reason, created_at";

fn subscription(r: &Row) -> Result<Subscription, StoreError> {
    Ok(Subscription {
        id: r.text("id")?,
        url: r.text("url")?,
        events: r.text("events")?.split(',').filter(|e| !e.is_empty()).map(str::to_string).collect(),
        secret: r.text("secret")?,
        previous_secret: r.opt_text("previous_secret")?,
        rotated_at: r.opt_int("rotated_at")?,
        active: r.text("status")? == "active",
        disabled_reason: r.opt_text("disabled_reason")?,
        created_at: r.int("created_at")?,
    })
}

pub async fn add_subscription(c: &mut Conn<'_>, s: &Subscription) -> Result<(), StoreError> {
    let events = s.events.join(",");
    c.exec(
        "INSERT INTO webhook_subscriptions (id, url, events, secret, status, created_at) \
         VALUES ($1, $2, $3, $4, 'active', $5)",
        args![&s.id, &s.url, events, &s.secret, s.created_at],
    )
    .await
    .map(drop)
}

pub async fn subscriptions(c: &mut Conn<'_>) -> Result<Vec<Subscription>, StoreError> {
    let sql = format!("SELECT {SUBSCRIPTION_COLS} FROM webhook_subscriptions ORDER BY created_at, id");
    c.all(&sql, args![]).await?.iter().map(subscription).collect()
}

pub async fn subscription_by_id(c: &mut Conn<'_>, id: &str) -> Result<Option<Subscription>, StoreError> {
    let sql = format!("SELECT {SUBSCRIPTION_COLS} FROM webhook_subscriptions WHERE id = $1");
    c.opt(&sql, args![id]).await?.as_ref().map(subscription).transpose()
}

/// A new secret signs from now on; the old one signs beside it for a while, so a receiver can switch over.
pub async fn rotate_secret(c: &mut Conn<'_>, id: &str, secret: &str, now: i64) -> Result<bool, StoreError> {
    let n = c
        .exec(
            "UPDATE webhook_subscriptions SET previous_secret = secret, secret = $2, rotated_at = $3 WHERE id = $1",
            args![id, secret, now],
        )
        .await?;
    Ok(n == 1)
}

pub async fn disable_subscription(c: &mut Conn<'_>, id: &str, reason: &str) -> Result<bool, StoreError> {
    let n = c
        .exec(
            "UPDATE webhook_subscriptions SET status = 'disabled', disabled_reason = $2 WHERE id = $1",
            args![id, reason],
        )
        .await?;
    Ok(n == 1)
}

pub async fn delete_subscription(c: &mut Conn<'_>, id: &str) -> Result<bool, StoreError> {
    Ok(c.exec("DELETE FROM webhook_subscriptions WHERE id = $1", args![id]).await? == 1)
}
