//! Webhook subscriptions (admin): the shop's own systems hear every customer-facing event, signed by the
//! Standard Webhooks scheme with the subscription's secret (shown once, at creation and at each rotation).

use crate::auth::AdminAuth;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Json;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use buynow_domain::{EventKind, InvalidValue, SubscriptionId};
use buynow_notify::webhook::{check_target, TargetError};
use buynow_store::notifications::{self, Delivery, Subscription};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubscription {
    /// Where events are posted: `https://…` (or `http://`). Loopback and private networks are refused unless the
    /// server runs with `--webhooks-allow-private`.
    url: String,
    /// The event types wanted (DESIGN.md's list); every customer-facing type when left out or empty.
    events: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct SubscriptionView {
    id: String,
    url: String,
    events: Vec<String>,
    /// `active`, or `disabled` (its receiver answered 410).
    status: &'static str,
    disabled_reason: Option<String>,
    created_at: DateTime<Utc>,
    /// The signing secret (`whsec_…`): only in the answer that made it, never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

impl SubscriptionView {
    fn new(s: &Subscription, secret: Option<String>) -> Self {
        SubscriptionView {
            id: s.id.clone(),
            url: s.url.clone(),
            events: s.events.clone(),
            status: if s.active { "active" } else { "disabled" },
            disabled_reason: s.disabled_reason.clone(),
            created_at: buynow_store::from_micros(s.created_at),
            secret,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SubscriptionList {
    webhooks: Vec<SubscriptionView>,
}

pub const MAX_URL: usize = 2000;

fn parse_events(events: Option<Vec<String>>) -> ApiResult<Vec<String>> {
    let events = events.unwrap_or_default();
    if events.len() > EventKind::ALL.len() {
        return Err(InvalidValue::new("events", "too many event types").into());
    }
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        match EventKind::parse(e.trim()) {
            Some(k) if k.is_customer_facing() => out.push(k.as_str().to_string()),
            _ => return Err(InvalidValue::new("events", "each must be a customer-facing event type").into()),
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn new_secret() -> String {
    buynow_logistics::signing::new_secret(rand::random())
}

/// Subscribe a URL to events (admin). The answer holds the signing secret, shown this once.
#[utoipa::path(post, path = "/v1/ops/webhooks", tag = "webhooks", request_body = NewSubscription,
    security(("staff_key" = [])),
    responses((status = 201, body = SubscriptionView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    _: AdminAuth,
    Json(body): Json<NewSubscription>,
) -> ApiResult<(StatusCode, axum::Json<SubscriptionView>)> {
    if body.url.len() > MAX_URL {
        return Err(InvalidValue::new("url", "at most 2000 characters").into());
    }
    let events = parse_events(body.events)?;
    let url = check_target(body.url.trim(), state.config.webhooks_allow_private).await.map_err(|e| match e {
        TargetError::Private => ApiError::Unprocessable("private_target", e.to_string()),
        other => ApiError::from(InvalidValue::new("url", other.to_string())),
    })?;
    let s = Subscription {
        id: SubscriptionId::new().to_string(),
        url: url.to_string(),
        events,
        secret: new_secret(),
        previous_secret: None,
        rotated_at: None,
        active: true,
        disabled_reason: None,
        created_at: state.now_micros(),
    };
    let mut tx = state.store.write().await?;
    notifications::add_subscription(&mut tx.conn(), &s).await?;
    tx.commit().await?;
    tracing::info!(webhook = %s.id, "webhook subscription added");
    Ok((StatusCode::CREATED, axum::Json(SubscriptionView::new(&s, Some(s.secret.clone())))))
}

/// Every subscription, without its secret (admin).
#[utoipa::path(get, path = "/v1/ops/webhooks", tag = "webhooks", security(("staff_key" = [])),
    responses((status = 200, body = SubscriptionList), (status = 403, body = Problem)))]
pub async fn list(State(state): State<AppState>, _: AdminAuth) -> ApiResult<axum::Json<SubscriptionList>> {
    let all = notifications::subscriptions(&mut state.store.read().await?.conn()).await?;
    Ok(axum::Json(SubscriptionList { webhooks: all.iter().map(|s| SubscriptionView::new(s, None)).collect() }))
}

/// Stop sending to a subscription (admin). Its deliveries are kept, for the record.
#[utoipa::path(delete, path = "/v1/ops/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    security(("staff_key" = [])),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete(State(state): State<AppState>, _: AdminAuth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let mut tx = state.store.write().await?;
    if !notifications::delete_subscription(&mut tx.conn(), &id).await? {
        return Err(ApiError::NotFound("webhook subscription"));
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new signing secret, shown this once (admin). For a day the old one signs beside it, so the receiver can
/// switch over without missing an event.
#[utoipa::path(post, path = "/v1/ops/webhooks/{id}/rotate", tag = "webhooks", params(("id" = String, Path)),
    security(("staff_key" = [])),
    responses((status = 200, body = SubscriptionView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn rotate(
    State(state): State<AppState>,
    _: AdminAuth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<SubscriptionView>> {
    let secret = new_secret();
    let mut tx = state.store.write().await?;
    if !notifications::rotate_secret(&mut tx.conn(), &id, &secret, state.now_micros()).await? {
        return Err(ApiError::NotFound("webhook subscription"));
    }
    let s = notifications::subscription_by_id(&mut tx.conn(), &id)
        .await?
        .ok_or(ApiError::NotFound("webhook subscription"))?;
    tx.commit().await?;
    Ok(axum::Json(SubscriptionView::new(&s, Some(secret))))
}

#[derive(Serialize, ToSchema)]
pub struct AttemptView {
    attempt: i64,
    at: DateTime<Utc>,
    /// `sent`, `failed` or `gone`.
    outcome: String,
    detail: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryView {
    id: String,
    event_id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    order_id: String,
    /// `pending` (to be sent, or sent again after a failure), `sent`, or `dead` (given up on).
    status: &'static str,
    attempts: i64,
    next_attempt_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
    sent_at: Option<DateTime<Utc>>,
    attempt_log: Vec<AttemptView>,
}

pub async fn delivery_view(c: &mut buynow_store::Conn<'_>, d: &Delivery) -> ApiResult<DeliveryView> {
    let attempts = notifications::attempts(c, &d.id).await?;
    Ok(DeliveryView {
        id: d.id.clone(),
        event_id: d.event_id.clone(),
        kind: d.kind.as_str(),
        order_id: d.order_id.to_string(),
        status: d.status.as_str(),
        attempts: d.attempts,
        next_attempt_at: (d.status == notifications::DeliveryStatus::Pending)
            .then(|| buynow_store::from_micros(d.next_attempt_at)),
        last_error: d.last_error.clone(),
        sent_at: d.sent_at.map(buynow_store::from_micros),
        attempt_log: attempts
            .into_iter()
            .map(|a| AttemptView {
                attempt: a.attempt,
                at: buynow_store::from_micros(a.at),
                outcome: a.outcome,
                detail: a.detail,
            })
            .collect(),
    })
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryList {
    deliveries: Vec<DeliveryView>,
}

/// A subscription's latest deliveries (100), each with its attempts (admin).
#[utoipa::path(get, path = "/v1/ops/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = String, Path)),
    security(("staff_key" = [])),
    responses((status = 200, body = DeliveryList), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn deliveries(
    State(state): State<AppState>,
    _: AdminAuth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<DeliveryList>> {
    let mut read = state.store.read().await?;
    notifications::subscription_by_id(&mut read.conn(), &id)
        .await?
        .ok_or(ApiError::NotFound("webhook subscription"))?;
    let mut out = Vec::new();
    for d in notifications::for_subscription(&mut read.conn(), &id, 100).await? {
        out.push(delivery_view(&mut read.conn(), &d).await?);
    }
    Ok(axum::Json(DeliveryList { deliveries: out }))
}

/// Deliveries that failed and are retrying or dead-lettered, e-mail and webhook alike (admin).
#[utoipa::path(get, path = "/v1/ops/deliveries/failing", tag = "webhooks", security(("staff_key" = [])),
    responses((status = 200, body = DeliveryList), (status = 403, body = Problem)))]
pub async fn failing(State(state): State<AppState>, _: AdminAuth) -> ApiResult<axum::Json<DeliveryList>> {
    let mut read = state.store.read().await?;
    let mut out = Vec::new();
    for d in notifications::troubled(&mut read.conn(), 100).await? {
        out.push(delivery_view(&mut read.conn(), &d).await?);
    }
    Ok(axum::Json(DeliveryList { deliveries: out }))
}

/// Send a dead-lettered delivery again, now (admin). Its attempts so far are kept.
#[utoipa::path(post, path = "/v1/ops/deliveries/{id}/retry", tag = "webhooks", params(("id" = String, Path)),
    security(("staff_key" = [])),
    responses((status = 202), (status = 403, body = Problem), (status = 409, description = "not dead-lettered", body = Problem)))]
pub async fn retry(State(state): State<AppState>, _: AdminAuth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let mut tx = state.store.write().await?;
    if !notifications::send_again(&mut tx.conn(), &id, state.now_micros()).await? {
        return Err(ApiError::Conflict("not_dead", "only a dead-lettered delivery is sent again".into()));
    }
    tx.commit().await?;
    Ok(StatusCode::ACCEPTED)
}
