//! Carriers' tracking events, applied to their parcels: each event id once, in order of when it happened.

use super::{lifecycle, support};
use crate::error::ApiError;
use buynow_domain::shipment::transition;
use buynow_domain::{CaseReason, EventKind, ShipmentEvent};
use buynow_store::orders;
use buynow_store::tracking::{self, TrackingEvent};
use buynow_store::{shipments, Conn};
use chrono::NaiveDate;
use std::str::FromStr;

/// A carrier's event as it arrived.
#[derive(Debug, Clone)]
pub struct Arrived {
    pub carrier: String,
    pub id: String,
    pub tracking_number: String,
    pub event: ShipmentEvent,
    pub occurred_at: i64,
    pub location: Option<String>,
    pub detail: Option<String>,
    pub estimated_delivery: Option<NaiveDate>,
    /// What an exception is: a parcel lost or damaged needs a person (a support case); a delay does not.
    pub exception: Option<ExceptionReason>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExceptionReason {
    Delayed,
    Damaged,
    Lost,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The parcel moved on.
    Moved,
    /// Seen before: nothing changed.
    Replay,
    /// Older than an event already applied, or not a step its parcel can take now: kept, nothing changed.
    Ignored,
}

pub async fn apply(c: &mut Conn<'_>, e: &Arrived, now: i64) -> Result<Applied, ApiError> {
    let Some(found) = shipments::by_tracking(c, &e.carrier, &e.tracking_number).await? else {
        return Err(ApiError::NotFound("tracking number"));
    };
    let parcel = super::warehouse::load(c, found.id, true).await?;
    let latest = tracking::latest_applied(c, parcel.id).await?;
    let next = transition(parcel.status, e.event).ok();
    let applies = latest.is_none_or(|l| e.occurred_at >= l) && next.is_some();
    let record = TrackingEvent {
        carrier: e.carrier.clone(),
        event_id: e.id.clone(),
        shipment_id: parcel.id,
        kind: e.event.as_str().to_string(),
        occurred_at: e.occurred_at,
        location: e.location.clone(),
        detail: e.detail.clone(),
        estimated_delivery: e.estimated_delivery.map(|d| d.to_string()),
        applied: applies,
    };
    if !tracking::insert(c, &record, now).await? {
        return Ok(Applied::Replay);
    }
    let Some(to) = next.filter(|_| applies) else { return Ok(Applied::Ignored) };
    if to != parcel.status {
        shipments::move_parcel(c, parcel.id, parcel.status, to, now).await?;
    }
    let place = e.location.as_deref().map(|l| format!(" ({l})")).unwrap_or_default();
    for order_id in parcel.order_ids() {
        let order = orders::lock(c, order_id).await?.ok_or(ApiError::NotFound("order"))?;
        let mut payload = serde_json::json!({
            "order_id": order.id, "shipment_id": parcel.id, "carrier": e.carrier, "tracking_number": e.tracking_number,
            "occurred_at": buynow_store::from_micros(e.occurred_at), "location": e.location,
        });
        let (kind, note) = match e.event {
            ShipmentEvent::InTransit => (EventKind::ShipmentInTransit, format!("In transit{place}")),
            ShipmentEvent::OutForDelivery => (EventKind::ShipmentOutForDelivery, "Out for delivery".to_string()),
            ShipmentEvent::Deliver => (EventKind::ShipmentDelivered, format!("Delivered{place}")),
            _ => {
                let detail = e.detail.clone().unwrap_or_else(|| "The carrier reported a delay".into());
                let mut note = detail.clone();
                if let Some(date) = e.estimated_delivery {
                    let current = NaiveDate::from_str(&order.estimated_latest).ok();
                    if current.is_none_or(|d| date > d) {
                        orders::set_estimate(c, order.id, &date.to_string(), &date.to_string(), now).await?;
                        note = format!("{detail}. Now expected by {date}");
                    }
                    payload["estimated_delivery"] = serde_json::json!(date);
                }
                payload["detail"] = serde_json::json!(detail);
                if let Some(problem) = e.exception.filter(|r| *r != ExceptionReason::Delayed) {
                    let what = if problem == ExceptionReason::Lost { "lost" } else { "damaged" };
                    let summary =
                        format!("{} reported parcel {} ({}) {what}: {detail}", e.carrier, parcel.id, e.tracking_number);
                    let told = format!(
                        "The carrier reported your package {what}. Our support team will send your items again or refund you."
                    );
                    let id = parcel.id.to_string();
                    let trouble = support::Trouble {
                        reason: CaseReason::CarrierException,
                        subject: Some(&id),
                        summary: &summary,
                        told: &told,
                    };
                    support::open(c, &order, trouble, now).await?;
                    continue;
                }
                (EventKind::ShipmentDelayed, note)
            }
        };
        lifecycle::record(c, &order, order.status, kind, &note, payload, now).await?;
        lifecycle::follow_shipments(c, &order, now).await?;
    }
    Ok(Applied::Moved)
}
