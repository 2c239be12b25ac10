use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::parse_json;
use crate::services::tracking::{self, Applied, Arrived, ExceptionReason};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use buynow_domain::{InvalidValue, ShipmentEvent};
use buynow_logistics::signing;
use buynow_store::carriers;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum TrackingType {
    InTransit,
    OutForDelivery,
    Delivered,
    Exception,
}

/// What an `exception` is: a delay (the default), or a parcel damaged or lost, which opens a support case.
#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionKind {
    Delayed,
    Damaged,
    Lost,
}

/// One tracking event, as a carrier sends it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CarrierEvent {
    /// The carrier's id of this event: each is applied once.
    id: String,
    tracking_number: String,
    #[serde(rename = "type")]
    kind: TrackingType,
    occurred_at: DateTime<Utc>,
    location: Option<String>,
    detail: Option<String>,
    /// A new delivery estimate (with an exception: a delay).
    estimated_delivery: Option<NaiveDate>,
    /// With an `exception`: what happened to the parcel.
    reason: Option<ExceptionKind>,
}

#[derive(Serialize, ToSchema)]
pub struct Accepted {
    /// `applied`, `duplicate` (seen before) or `ignored` (older than what was applied already).
    status: &'static str,
}

/// A carrier's tracking event, signed by the carrier with its secret as Standard Webhooks sign
/// (`webhook-id`, `webhook-timestamp`, `webhook-signature`). Each event id is applied once, in order of
/// `occurred_at`: a replay or an older event changes nothing.
#[utoipa::path(post, path = "/v1/carriers/{carrier}/events", tag = "carriers", params(("carrier" = String, Path)),
    request_body = CarrierEvent,
    responses((status = 202, body = Accepted), (status = 401, description = "bad or missing signature", body = Problem),
              (status = 404, description = "unknown carrier or tracking number", body = Problem), (status = 422, body = Problem)))]
pub async fn receive(
    State(state): State<AppState>,
    Path(carrier): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, axum::Json<Accepted>)> {
    let carrier = state.carrier(&carrier).map(|c| c.code).ok_or(ApiError::NotFound("carrier"))?;
    let secret =
        carriers::secret(&mut state.store.read().await?.conn(), carrier).await?.ok_or(ApiError::Unauthorized)?;
    // The signature first: nothing about the body is answered to someone who cannot sign it.
    signing::verify(&secret, &headers, &body).map_err(|_| ApiError::Unauthorized)?;
    let event: CarrierEvent = parse_json(&body)?;
    if event.id.is_empty() || event.id.chars().count() > 100 || event.tracking_number.chars().count() > 40 {
        return Err(InvalidValue::new("id", "1 to 100 characters; tracking numbers up to 40").into());
    }
    let clip = |s: Option<String>| s.map(|s| s.chars().take(200).collect::<String>());
    let arrived_kind = match event.kind {
        TrackingType::InTransit => ShipmentEvent::InTransit,
        TrackingType::OutForDelivery => ShipmentEvent::OutForDelivery,
        TrackingType::Delivered => ShipmentEvent::Deliver,
        TrackingType::Exception => ShipmentEvent::Exception,
    };
    let arrived = Arrived {
        carrier: carrier.to_string(),
        id: event.id,
        tracking_number: event.tracking_number.trim().to_ascii_uppercase(),
        event: arrived_kind,
        occurred_at: event.occurred_at.timestamp_micros(),
        location: clip(event.location),
        detail: clip(event.detail),
        estimated_delivery: event.estimated_delivery,
        exception: match (&arrived_kind, event.reason) {
            (ShipmentEvent::Exception, Some(ExceptionKind::Lost)) => Some(ExceptionReason::Lost),
            (ShipmentEvent::Exception, Some(ExceptionKind::Damaged)) => Some(ExceptionReason::Damaged),
            (ShipmentEvent::Exception, _) => Some(ExceptionReason::Delayed),
            _ => None,
        },
    };
    let now = state.now_micros();
    let mut tx = state.store.write().await?;
    let applied = tracking::apply(&mut tx.conn(), &arrived, now).await?;
    tx.commit().await?;
    let status = match applied {
        Applied::Moved => "applied",
        Applied::Replay => "duplicate",
        Applied::Ignored => "ignored",
    };
    Ok((StatusCode::ACCEPTED, axum::Json(Accepted { status })))
}
