use crate::auth::AdminAuth;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Json;
use crate::state::AppState;
use axum::extract::{Path, State};
use buynow_domain::{InvalidValue, Sku};
use buynow_store::catalog;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetStock {
    /// The center's code; the default center when left out.
    fulfillment_center: Option<String>,
    #[serde(deserialize_with = "crate::extract::whole::int")]
    on_hand: i64,
}

#[derive(Serialize, ToSchema)]
pub struct StockView {
    sku: String,
    fulfillment_center: String,
    on_hand: i64,
    reserved: i64,
    available: i64,
}

/// Set what is on hand of a SKU at a center (admin). It cannot go below what is reserved for open orders.
#[utoipa::path(put, path = "/v1/ops/stock/{sku}", tag = "ops", params(("sku" = String, Path)), request_body = SetStock,
    security(("staff_key" = [])),
    responses((status = 200, body = StockView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn set_stock(
    State(state): State<AppState>,
    _: AdminAuth,
    Path(sku): Path<String>,
    Json(body): Json<SetStock>,
) -> ApiResult<axum::Json<StockView>> {
    let sku = Sku::parse(&sku).map_err(|_| ApiError::NotFound("product"))?;
    if !(0..=1_000_000_000).contains(&body.on_hand) {
        return Err(InvalidValue::new("on_hand", "must be 0 to 1,000,000,000").into());
    }
    let centers = state.centers();
    let center = match body.fulfillment_center.as_deref() {
        Some(code) => code.trim().to_ascii_uppercase(),
        None => centers.default_code.clone().ok_or(ApiError::NotFound("fulfillment center"))?,
    };
    if !centers.by_code.contains_key(&center) {
        return Err(ApiError::NotFound("fulfillment center"));
    }
    let mut tx = state.store.write().await?;
    if catalog::product_by_sku(&mut tx.conn(), sku.as_str()).await?.is_none() {
        return Err(ApiError::NotFound("product"));
    }
    match catalog::set_on_hand(&mut tx.conn(), sku.as_str(), &center, body.on_hand).await {
        Err(e) if e.is_check_violation() => {
            return Err(ApiError::Conflict(
                "stock_reserved",
                "on_hand cannot go below what is reserved for open orders".into(),
            ))
        }
        other => other?,
    }
    let level = catalog::stock_levels(&mut tx.conn(), sku.as_str())
        .await?
        .into_iter()
        .find(|l| l.center == center)
        .ok_or_else(|| ApiError::internal("stock row missing after upsert"))?;
    tx.commit().await?;
    Ok(axum::Json(StockView {
        sku: sku.to_string(),
        fulfillment_center: center,
        on_hand: level.on_hand,
        reserved: level.reserved,
        available: level.available(),
    }))
}
