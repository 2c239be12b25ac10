use super::view::{customers_order, parse_order_id, return_view};
use crate::auth::CustomerAuth;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Json;
use crate::services::returns::{self, Line, ReturnReason};
use crate::state::AppState;
use crate::views::ReturnView;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use buynow_domain::{InvalidValue, ReturnId, Sku};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnItem {
    pub sku: String,
    #[serde(deserialize_with = "crate::extract::whole::int")]
    pub quantity: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnRequest {
    pub items: Vec<ReturnItem>,
    pub reason: ReturnReason,
}

/// Send items back, within 30 days of delivery: a return label to print, and the refund it will bring
/// (item amounts with their tax, and shipping when the fault was ours: damaged, defective, wrong item).
#[utoipa::path(post, path = "/v1/orders/{id}/returns", tag = "orders", params(("id" = String, Path)),
    request_body = ReturnRequest, security(("bearer" = [])),
    responses((status = 201, body = ReturnView), (status = 404, body = Problem),
              (status = 409, description = "not delivered, or past the return window", body = Problem), (status = 422, body = Problem)))]
pub async fn request(
    State(state): State<AppState>,
    CustomerAuth(customer): CustomerAuth,
    Path(id): Path<String>,
    Json(body): Json<ReturnRequest>,
) -> ApiResult<(StatusCode, axum::Json<ReturnView>)> {
    let id = parse_order_id(&id)?;
    if body.items.len() > 50 {
        return Err(InvalidValue::new("items", "at most 50 lines").into());
    }
    let lines = body
        .items
        .into_iter()
        .map(|i| {
            let sku = Sku::parse(&i.sku).map_err(|_| InvalidValue::new("items", "not a SKU"))?;
            let quantity = u32::try_from(i.quantity)
                .ok()
                .filter(|q| *q > 0)
                .ok_or_else(|| InvalidValue::new("items", "quantities are 1 or more"))?;
            Ok(Line { sku: sku.to_string(), quantity })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let now = state.now_micros();
    let mut tx = state.store.write().await?;
    let order = customers_order(&mut tx.conn(), customer, id).await?;
    let order = buynow_store::orders::lock(&mut tx.conn(), order.id).await?.ok_or(ApiError::NotFound("order"))?;
    let ret = returns::request(&mut tx.conn(), &state, &order, lines, body.reason, now).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(return_view(ret))))
}

/// The return's label, PDF: from you to our center.
#[utoipa::path(get, path = "/v1/orders/{id}/returns/{return_id}/label", tag = "orders",
    params(("id" = String, Path), ("return_id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = Problem)))]
pub async fn label(
    State(state): State<AppState>,
    CustomerAuth(customer): CustomerAuth,
    Path((id, return_id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    let id = parse_order_id(&id)?;
    let return_id = ReturnId::parse(&return_id).map_err(|_| ApiError::NotFound("return"))?;
    let mut read = state.store.read().await?;
    let order = customers_order(&mut read.conn(), customer, id).await?;
    let pdf = returns::label(&mut read.conn(), &state, &order, return_id).await?;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], pdf))
}
