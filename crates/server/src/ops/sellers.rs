//! Marketplace sellers (admin): each ships its own items from its own place, with its own carrier, through the
//! same shipment calls under its own key.

use super::centers::AddressBody;
use crate::auth::{new_staff_key, token_hash, AdminAuth};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Json;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use buynow_domain::{InvalidValue, PersonName, PostalAddress, SellerId, StaffKeyId, StaffRole};
use buynow_store::catalog::{self, Center};
use buynow_store::staff::{self, Seller, StaffKey};
use buynow_store::{Conn, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSeller {
    name: String,
    /// Where it ships from; the store's default center's address when left out.
    address: Option<AddressBody>,
}

#[derive(Serialize, ToSchema)]
pub struct SellerCreated {
    id: String,
    name: String,
    /// The seller's API key for `/v1/ops/shipments`: shown once, never again.
    key: String,
    /// The code of the seller's own place, where its stock is kept (`PUT /v1/ops/stock/{sku}`).
    center: String,
}

/// Add a marketplace seller (admin). Its products take `fulfilled_by: <id>`; its key works its shipments only.
#[utoipa::path(post, path = "/v1/ops/sellers", tag = "ops", request_body = NewSeller, security(("staff_key" = [])),
    responses((status = 201, body = SellerCreated), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    _: AdminAuth,
    Json(body): Json<NewSeller>,
) -> ApiResult<(StatusCode, axum::Json<SellerCreated>)> {
    let name = PersonName::parse(&body.name).map_err(|e| InvalidValue::new("name", e.reason))?.to_string();
    let centers = state.centers();
    let home = centers.default_code.as_ref().and_then(|c| centers.by_code.get(c));
    let address = match &body.address {
        Some(a) => a.parse()?,
        None => home.and_then(|h| h.address.clone()).ok_or_else(|| InvalidValue::new("address", "is required"))?,
    };
    let (new, key) = new_seller(&state, &name, &address)?;
    let mut tx = state.store.write().await?;
    write_seller(&mut tx.conn(), &new, &key, state.now_micros()).await?;
    tx.commit().await?;
    state.reload_centers().await.map_err(ApiError::internal)?;
    let created = SellerCreated { id: new.seller.id.to_string(), name: new.seller.name, key, center: new.center.code };
    Ok((StatusCode::CREATED, axum::Json(created)))
}

/// A seller with its own place (a center of its own, on the store's default calendar) and its key.
pub struct NewSellerRows {
    pub seller: Seller,
    pub center: Center,
    pub key: StaffKey,
}

/// The rows of a new seller, and its key (in clear, to be shown once).
pub fn new_seller(state: &AppState, name: &str, address: &PostalAddress) -> ApiResult<(NewSellerRows, String)> {
    let centers = state.centers();
    let home = centers.default_code.as_ref().and_then(|c| centers.by_code.get(c)).map(|h| h.center.clone());
    let seller = Seller { id: SellerId::new(), name: name.to_string() };
    let code = format!("S{}", &seller.id.uuid().simple().to_string()[25..]).to_ascii_uppercase();
    let center = Center {
        code: code.clone(),
        name: format!("{name} (marketplace seller)"),
        time_zone: home.as_ref().map_or_else(|| "America/New_York".into(), |h| h.time_zone.clone()),
        cutoff_minute: home.as_ref().map_or(14 * 60, |h| h.cutoff_minute),
        operating_days: home.as_ref().map_or_else(|| vec![1, 2, 3, 4, 5], |h| h.operating_days.clone()),
        holidays: home.as_ref().map(|h| h.holidays.clone()).unwrap_or_default(),
        rank: 100,
        is_default: false,
        address: serde_json::to_string(address).map_err(ApiError::internal)?,
        boxes: String::new(),
        seller_id: Some(seller.id),
    };
    let key = new_staff_key();
    let record = StaffKey {
        id: StaffKeyId::new(),
        role: StaffRole::Seller,
        name: format!("{name} (seller)"),
        seller_id: Some(seller.id),
        center: Some(code.clone()),
        created_at: state.now_micros(),
        revoked_at: None,
    };
    Ok((NewSellerRows { seller, center, key: record }, key))
}

/// Writes a new seller's rows in the caller's transaction; shared with the demo's seeding.
pub async fn write_seller(c: &mut Conn<'_>, rows: &NewSellerRows, key: &str, now: i64) -> Result<(), StoreError> {
    staff::insert_seller(c, &rows.seller, now).await?;
    catalog::upsert_center(c, &rows.center).await?;
    staff::insert_key(c, &rows.key, &token_hash(key)).await
}
