//! Carriers' tracking events, each kept once by the carrier's own event id.

use crate::{args, Conn, Row, StoreError};
use buynow_domain::ShipmentId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingEvent {
    pub carrier: String,
    pub event_id: String,
    pub shipment_id: ShipmentId,
    /// `in_transit`, `out_for_delivery`, `delivered` or `exception`.
    pub kind: String,
    pub occurred_at: i64,
    pub location: Option<String>,
    pub detail: Option<String>,
    pub estimated_delivery: Option<String>,
    /// `false` when it arrived after a later event of its parcel: kept, but it moved nothing.
    pub applied: bool,
}

fn event(r: &Row) -> Result<TrackingEvent, StoreError> {
    Ok(TrackingEvent {
        carrier: r.text("carrier")?,
        event_id: r.text("event_id")?,
        shipment_id: r.parsed("shipment_id", ShipmentId::parse)?,
        kind: r.text("type")?,
        occurred_at: r.int("occurred_at")?,
        location: r.opt_text("location")?,
        detail: r.opt_text("detail")?,
        estimated_delivery: r.opt_text("estimated_delivery")?,
        applied: r.flag("applied")?,
    })
}

/// Keeps the event; `false` if its id was seen before (a replay), in which case nothing is written.
pub async fn insert(c: &mut Conn<'_>, e: &TrackingEvent, received_at: i64) -> Result<bool, StoreError> {
    let n = c
        .exec(
            "INSERT INTO tracking_events (carrier, event_id, shipment_id, type, occurred_at, location, detail, \
             estimated_delivery, applied, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (carrier, event_id) DO NOTHING",
            args![
                &e.carrier,
                &e.event_id,
                e.shipment_id.to_string(),
                &e.kind,
                e.occurred_at,
                e.location.clone(),
                e.detail.clone(),
                e.estimated_delivery.clone(),
                e.applied,
                received_at
            ],
        )
        .await?;
    Ok(n == 1)
}

/// When the latest applied event of the parcel happened, if any.
pub async fn latest_applied(c: &mut Conn<'_>, shipment: ShipmentId) -> Result<Option<i64>, StoreError> {
    let r = c
        .one(
            "SELECT MAX(occurred_at) FROM tracking_events WHERE shipment_id = $1 AND applied = 1",
            args![shipment.to_string()],
        )
        .await?;
    r.opt_int(0)
}

/// The applied events of each of the parcels `shipments`, in the order they happened.
pub async fn for_shipments(
    c: &mut Conn<'_>,
    shipments: &[ShipmentId],
) -> Result<std::collections::HashMap<ShipmentId, Vec<TrackingEvent>>, StoreError> {
    let select = |of: &str| {
        format!(
            "SELECT carrier, event_id, shipment_id, type, occurred_at, location, detail, estimated_delivery, applied \
             FROM tracking_events WHERE {of} AND applied = 1 ORDER BY shipment_id, occurred_at, event_id"
        )
    };
    crate::db::grouped_where(c, "shipment_id", shipments, select, |r| event(r).map(|e| (e.shipment_id, e))).await
}
