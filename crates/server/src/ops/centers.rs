//! Fulfillment centers (admin): where stock is kept and parcels leave from, with the calendar of each.

use crate::auth::AdminAuth;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Json;
use crate::state::{AppState, CenterInfo};
use crate::views::PostalAddressView;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use buynow_domain::values::AddressInput;
use buynow_domain::{InvalidValue, PostalAddress};
use buynow_logistics::BoxSize;
use buynow_store::catalog::{self, Center};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressBody {
    name: String,
    line1: String,
    line2: Option<String>,
    city: String,
    region: String,
    postal_code: String,
    country: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CenterBody {
    /// Two to eight capital letters or digits, e.g. `SEA1` (taken from the path on `PUT`).
    code: Option<String>,
    name: String,
    address: AddressBody,
    /// An IANA time zone, e.g. `America/Los_Angeles`.
    time_zone: String,
    /// The daily cut-off, local time, `HH:MM`.
    cut_off: String,
    /// `mon` … `sun`.
    operating_days: Vec<String>,
    /// `YYYY-MM-DD` days it does not ship.
    #[serde(default)]
    holidays: Vec<String>,
    /// Preference among centers when cost and date tie: lower first.
    #[serde(default, deserialize_with = "crate::extract::whole::option")]
    rank: Option<u32>,
    /// Make it the center stock goes to when none is named.
    #[serde(default)]
    default: bool,
    /// Its box table; the standard one when left out.
    #[schema(value_type = Option<Vec<Object>>)]
    boxes: Option<Vec<BoxSize>>,
}

impl AddressBody {
    pub fn parse(&self) -> Result<PostalAddress, InvalidValue> {
        PostalAddress::parse(AddressInput {
            name: &self.name,
            line1: &self.line1,
            line2: self.line2.as_deref(),
            city: &self.city,
            region: &self.region,
            postal_code: &self.postal_code,
            country: &self.country,
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct CenterView {
    code: String,
    name: String,
    address: Option<PostalAddressView>,
    time_zone: String,
    cut_off: String,
    operating_days: Vec<&'static str>,
    holidays: Vec<String>,
    rank: u32,
    default: bool,
    /// The marketplace seller whose own place this is, if any.
    seller_id: Option<String>,
    #[schema(value_type = Vec<Object>)]
    boxes: Vec<BoxSize>,
}

#[derive(Serialize, ToSchema)]
pub struct CenterList {
    centers: Vec<CenterView>,
}

pub fn view(info: &CenterInfo) -> CenterView {
    let c = &info.center;
    CenterView {
        code: c.code.clone(),
        name: c.name.clone(),
        address: info.address.clone().map(Into::into),
        time_zone: c.time_zone.clone(),
        cut_off: format!("{:02}:{:02}", c.cutoff_minute / 60, c.cutoff_minute % 60),
        operating_days: c
            .operating_days
            .iter()
            .filter_map(|d| DAYS.get((*d as usize).wrapping_sub(1)).copied())
            .collect(),
        holidays: c.holidays.clone(),
        rank: c.rank,
        default: c.is_default,
        seller_id: c.seller_id.map(|s| s.to_string()),
        boxes: info.boxes.clone(),
    }
}

fn parse_code(raw: &str) -> ApiResult<String> {
    let code = raw.trim().to_ascii_uppercase();
    if !(2..=8).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(InvalidValue::new("code", "two to eight letters, digits or dashes").into());
    }
    Ok(code)
}

/// The body as a center, checked (time zone, cut-off, days, holidays, address) the way the promise reads it.
fn parse(body: CenterBody, code: String, existing: Option<&Center>) -> ApiResult<(Center, bool)> {
    let address = body.address.parse()?;
    let (h, m) = body
        .cut_off
        .split_once(':')
        .and_then(|(h, m)| Some((h.parse::<u32>().ok()?, m.parse::<u32>().ok()?)))
        .filter(|(h, m)| *h < 24 && *m < 60)
        .ok_or_else(|| InvalidValue::new("cut_off", "HH:MM, 00:00 to 23:59"))?;
    let mut days = Vec::new();
    for d in &body.operating_days {
        let i = DAYS
            .iter()
            .position(|x| *x == d.trim().to_ascii_lowercase())
            .ok_or_else(|| InvalidValue::new("operating_days", "mon … sun"))?;
        if !days.contains(&(i as u32 + 1)) {
            days.push(i as u32 + 1);
        }
    }
    days.sort_unstable();
    if body.holidays.len() > 400 {
        return Err(InvalidValue::new("holidays", "at most 400").into());
    }
    if let Some(boxes) = &body.boxes {
        if boxes.is_empty() || boxes.len() > 50 {
            return Err(InvalidValue::new("boxes", "one to 50 boxes").into());
        }
    }
    let center = Center {
        code,
        name: buynow_domain::ProductTitle::parse(&body.name)
            .map_err(|e| InvalidValue::new("name", e.reason))?
            .to_string(),
        time_zone: body.time_zone,
        cutoff_minute: h * 60 + m,
        operating_days: days,
        holidays: body.holidays.iter().map(|h| h.trim().to_string()).collect(),
        rank: body.rank.or(existing.map(|e| e.rank)).unwrap_or(10),
        is_default: existing.is_some_and(|e| e.is_default),
        address: serde_json::to_string(&address).map_err(ApiError::internal)?,
        boxes: match &body.boxes {
            Some(b) => serde_json::to_string(b).map_err(ApiError::internal)?,
            None => existing.map(|e| e.boxes.clone()).unwrap_or_default(),
        },
        seller_id: existing.and_then(|e| e.seller_id),
    };
    // The same checks the cached calendars make: a center that cannot promise is refused here, not at Buy Now.
    CenterInfo::new(center.clone()).map_err(|e| InvalidValue::new("center", e.to_string()))?;
    Ok((center, body.default))
}

async fn save(state: &AppState, center: &Center, make_default: bool) -> ApiResult<CenterView> {
    let mut tx = state.store.write().await?;
    catalog::upsert_center(&mut tx.conn(), center).await?;
    if make_default {
        catalog::set_default_center(&mut tx.conn(), &center.code).await?;
    }
    tx.commit().await?;
    state.reload_centers().await.map_err(ApiError::internal)?;
    let centers = state.centers();
    let info = centers.by_code.get(&center.code).ok_or_else(|| ApiError::internal("a saved center vanished"))?;
    Ok(view(info))
}

/// Add a fulfillment center (admin). Every BuyNow process sees it within seconds.
#[utoipa::path(post, path = "/v1/ops/centers", tag = "ops", request_body = CenterBody, security(("staff_key" = [])),
    responses((status = 201, body = CenterView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    _: AdminAuth,
    Json(body): Json<CenterBody>,
) -> ApiResult<(StatusCode, axum::Json<CenterView>)> {
    let code = parse_code(body.code.as_deref().ok_or_else(|| InvalidValue::new("code", "is required"))?)?;
    if state.centers().by_code.contains_key(&code) {
        return Err(ApiError::Conflict(
            "center_exists",
            format!("a center {code} exists: PUT /v1/ops/centers/{code} changes it"),
        ));
    }
    let (center, make_default) = parse(body, code, None)?;
    Ok((StatusCode::CREATED, axum::Json(save(&state, &center, make_default).await?)))
}

/// Change a fulfillment center (admin): its address, calendar, boxes. Every process sees it within seconds.
#[utoipa::path(put, path = "/v1/ops/centers/{code}", tag = "ops", params(("code" = String, Path)), request_body = CenterBody,
    security(("staff_key" = [])),
    responses((status = 200, body = CenterView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update(
    State(state): State<AppState>,
    _: AdminAuth,
    Path(code): Path<String>,
    Json(body): Json<CenterBody>,
) -> ApiResult<axum::Json<CenterView>> {
    let code = parse_code(&code).map_err(|_| ApiError::NotFound("center"))?;
    let centers = state.centers();
    let existing = centers.by_code.get(&code).ok_or(ApiError::NotFound("center"))?;
    if body.code.as_deref().is_some_and(|c| c.trim().to_ascii_uppercase() != code) {
        return Err(InvalidValue::new("code", "a center's code does not change").into());
    }
    let (center, make_default) = parse(body, code, Some(&existing.center))?;
    Ok(axum::Json(save(&state, &center, make_default).await?))
}

/// The fulfillment centers (admin).
#[utoipa::path(get, path = "/v1/ops/centers", tag = "ops", security(("staff_key" = [])), responses((status = 200, body = CenterList)))]
pub async fn list(State(state): State<AppState>, _: AdminAuth) -> ApiResult<axum::Json<CenterList>> {
    state.refresh_centers().await.map_err(ApiError::internal)?;
    let centers = state.centers();
    let mut all: Vec<&CenterInfo> = centers.by_code.values().collect();
    all.sort_by(|a, b| (a.center.rank, &a.center.code).cmp(&(b.center.rank, &b.center.code)));
    Ok(axum::Json(CenterList { centers: all.into_iter().map(view).collect() }))
}
