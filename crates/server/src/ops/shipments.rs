//! The warehouse's calls (and a seller's, for its own shipments): pick lists, pick, pack, ship, label.

use crate::auth::StaffAuth;
use crate::error::{ApiError, ApiResult, Problem};
use crate::jobs;
use crate::services::warehouse::{self, Actor, Parcel, ShipChoice};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use buynow_domain::{InvalidValue, ShipmentId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Serialize, ToSchema)]
pub struct LineView {
    pub sku: String,
    pub quantity: u32,
}

/// A parcel as the warehouse works it.
#[derive(Serialize, ToSchema)]
pub struct OpsShipmentView {
    pub id: String,
    /// `released`, `picking`, `packed`, `shipped`, … (see the order's shipments).
    pub status: &'static str,
    pub fulfillment_center: String,
    /// The orders whose items travel in it (more than one when consolidated).
    pub order_ids: Vec<String>,
    pub lines: Vec<LineView>,
    #[serde(rename = "box")]
    pub box_code: Option<String>,
    pub weight_grams: Option<u32>,
    pub carrier: Option<String>,
    pub service: Option<String>,
    pub tracking_number: Option<String>,
    /// The 4×6 in label (PDF), once shipped.
    pub label_url: Option<String>,
}

impl OpsShipmentView {
    pub fn new(p: &Parcel) -> Self {
        let shipped = p.head.tracking_number.is_some();
        OpsShipmentView {
            id: p.id.to_string(),
            status: p.status.as_str(),
            fulfillment_center: p.head.center.clone(),
            order_ids: p.order_ids().iter().map(|o| o.to_string()).collect(),
            lines: p.lines().into_iter().map(|(sku, quantity)| LineView { sku, quantity }).collect(),
            box_code: p.head.box_code.clone(),
            weight_grams: p.head.weight_grams,
            carrier: p.head.carrier.clone(),
            service: p.head.service.clone(),
            tracking_number: p.head.tracking_number.clone(),
            label_url: shipped.then(|| format!("/v1/ops/shipments/{}/label", p.id)),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct WaveView {
    /// The wave's id: its center and cut-off.
    pub id: String,
    /// The parcels of the wave must leave by then.
    pub cut_off: DateTime<Utc>,
    pub shipments: Vec<OpsShipmentView>,
}

#[derive(Serialize, ToSchema)]
pub struct PickLists {
    pub center: String,
    pub waves: Vec<WaveView>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PickListQuery {
    /// The center's code; a seller's own place when a seller asks without one.
    pub center: Option<String>,
}

/// What is to be picked at a center, in waves by the cut-off each parcel must meet (warehouse, seller).
#[utoipa::path(get, path = "/v1/ops/pick-lists", tag = "warehouse", params(PickListQuery), security(("staff_key" = [])),
    responses((status = 200, body = PickLists), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn pick_lists(
    State(state): State<AppState>,
    StaffAuth(actor): StaffAuth,
    Query(q): Query<PickListQuery>,
) -> ApiResult<axum::Json<PickLists>> {
    let center = match (q.center, &actor) {
        (Some(code), _) => code.trim().to_ascii_uppercase(),
        (None, Actor::Warehouse { center: Some(own) }) => own.clone(),
        (None, Actor::Seller(seller)) => state
            .centers()
            .for_seller(Some(*seller))
            .next()
            .map(|c| c.center.code.clone())
            .ok_or(ApiError::NotFound("center"))?,
        (None, Actor::Warehouse { center: None }) => return Err(InvalidValue::new("center", "name the center").into()),
    };
    let mut read = state.store.read().await?;
    let waves = warehouse::pick_lists(&mut read.conn(), &state, &center, &actor).await?;
    Ok(axum::Json(PickLists {
        waves: waves
            .into_iter()
            .map(|w| WaveView {
                id: format!("{center}-{}", w.cut_off.format("%Y%m%dT%H%MZ")),
                cut_off: w.cut_off,
                shipments: w.parcels.iter().map(OpsShipmentView::new).collect(),
            })
            .collect(),
        center,
    }))
}

fn parse_id(raw: &str) -> ApiResult<ShipmentId> {
    ShipmentId::parse(raw).map_err(|_| ApiError::NotFound("shipment"))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineInput {
    sku: String,
    #[serde(deserialize_with = "crate::extract::whole::int")]
    quantity: i64,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PickBody {
    /// What was found on the shelf; everything when left out. Less than asked is a short pick.
    lines: Option<Vec<LineInput>>,
}

/// An optional JSON body: none at all is the same as `{}`.
fn optional<T: Default + for<'de> Deserialize<'de>>(body: &axum::body::Bytes) -> ApiResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    crate::extract::parse_json(body)
}

/// Start picking a released parcel, confirming what was found (warehouse, seller). A short pick is made up
/// from another center when one has the stock; otherwise the order is put on hold and the customer told.
#[utoipa::path(post, path = "/v1/ops/shipments/{id}/pick", tag = "warehouse", params(("id" = String, Path)),
    request_body = PickBody, security(("staff_key" = [])),
    responses((status = 200, body = OpsShipmentView), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "not released (already picked, cancelled, …)", body = Problem), (status = 422, body = Problem)))]
pub async fn pick(
    State(state): State<AppState>,
    StaffAuth(actor): StaffAuth,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<axum::Json<OpsShipmentView>> {
    let id = parse_id(&id)?;
    let body: PickBody = optional(&body)?;
    let lines = body
        .lines
        .map(|lines| {
            lines
                .into_iter()
                .map(|l| {
                    let q = u32::try_from(l.quantity)
                        .map_err(|_| InvalidValue::new("lines", "quantities are 0 or more"))?;
                    Ok((l.sku.trim().to_ascii_uppercase(), q))
                })
                .collect::<ApiResult<Vec<_>>>()
        })
        .transpose()?;
    let now = state.now_micros();
    let mut tx = state.store.write().await?;
    let parcel = warehouse::pick(&mut tx.conn(), &state, id, lines, &actor, now).await?;
    tx.commit().await?;
    Ok(axum::Json(OpsShipmentView::new(&parcel)))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PackBody {
    /// A box code of the center's table; the smallest that fits when left out.
    #[serde(rename = "box")]
    box_code: Option<String>,
}

/// Pack a picked parcel (warehouse, seller): the box and the parcel's weight.
#[utoipa::path(post, path = "/v1/ops/shipments/{id}/pack", tag = "warehouse", params(("id" = String, Path)),
    request_body = PackBody, security(("staff_key" = [])),
    responses((status = 200, body = OpsShipmentView), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "not picking (not picked yet, packed already, …)", body = Problem), (status = 422, body = Problem)))]
pub async fn pack(
    State(state): State<AppState>,
    StaffAuth(actor): StaffAuth,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<axum::Json<OpsShipmentView>> {
    let id = parse_id(&id)?;
    let body: PackBody = optional(&body)?;
    let now = state.now_micros();
    let mut tx = state.store.write().await?;
    let parcel = warehouse::pack(&mut tx.conn(), &state, id, body.box_code, &actor, now).await?;
    tx.commit().await?;
    Ok(axum::Json(OpsShipmentView::new(&parcel)))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ShipBody {
    /// `swift`, `parcelway` or `roadrunner`; the cheapest that meets the promised date when left out. A seller
    /// names its own.
    carrier: Option<String>,
    service: Option<String>,
    /// The carrier's tracking number, when the label came from elsewhere (a seller's own); checked against
    /// the carrier's format.
    tracking_number: Option<String>,
}

/// Ship a packed parcel (warehouse, seller): carrier and service by rate shopping for the promised date, a
/// tracking number and the label; the stock leaves the shelf and each order's share is captured.
#[utoipa::path(post, path = "/v1/ops/shipments/{id}/ship", tag = "warehouse", params(("id" = String, Path)),
    request_body = ShipBody, security(("staff_key" = [])),
    responses((status = 200, body = OpsShipmentView), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "not packed, or shipped already", body = Problem), (status = 422, body = Problem)))]
pub async fn ship(
    State(state): State<AppState>,
    StaffAuth(actor): StaffAuth,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<axum::Json<OpsShipmentView>> {
    let id = parse_id(&id)?;
    let body: ShipBody = optional(&body)?;
    let choice = ShipChoice {
        carrier: body.carrier.map(|c| c.trim().to_ascii_lowercase()),
        service: body.service.map(|s| s.trim().to_ascii_lowercase()),
        tracking_number: body.tracking_number.map(|t| t.trim().to_ascii_uppercase()),
    };
    let now = state.now_micros();
    let mut tx = state.store.write().await?;
    let (parcel, captures) = warehouse::ship(&mut tx.conn(), &state, id, choice, &actor, now).await?;
    tx.commit().await?;
    for job in captures {
        jobs::run_inline(&state, Some(job)).await;
    }
    Ok(axum::Json(OpsShipmentView::new(&parcel)))
}

/// The parcel's 4×6 in label, PDF, with its tracking number as a Code 128 barcode (warehouse, seller).
#[utoipa::path(get, path = "/v1/ops/shipments/{id}/label", tag = "warehouse", params(("id" = String, Path)),
    security(("staff_key" = [])),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, description = "not shipped yet", body = Problem)))]
pub async fn label(
    State(state): State<AppState>,
    StaffAuth(actor): StaffAuth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let id = parse_id(&id)?;
    let mut read = state.store.read().await?;
    let pdf = warehouse::label(&mut read.conn(), &state, id, &actor).await?;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], pdf))
}
