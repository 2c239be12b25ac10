use crate::auth::StaffAuth;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Json;
use crate::jobs;
use crate::orders::view::return_view;
use crate::services::returns;
use crate::services::warehouse::Actor;
use crate::state::AppState;
use crate::views::ReturnView;
use axum::extract::{Path, State};
use buynow_domain::ReturnId;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Condition {
    Sellable,
    Damaged,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveBody {
    condition: Condition,
}

/// A return arrived at its center (warehouse): sellable units go back on the shelf, damaged ones are written
/// off, and the refund goes to the card. Receiving it again answers as the first time did.
#[utoipa::path(post, path = "/v1/ops/returns/{id}/receive", tag = "warehouse", params(("id" = String, Path)),
    request_body = ReceiveBody, security(("staff_key" = [])),
    responses((status = 200, body = ReturnView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn receive(
    State(state): State<AppState>,
    StaffAuth(actor): StaffAuth,
    Path(id): Path<String>,
    Json(body): Json<ReceiveBody>,
) -> ApiResult<axum::Json<ReturnView>> {
    let Actor::Warehouse { center } = actor else { return Err(ApiError::Forbidden("warehouse")) };
    let id = ReturnId::parse(&id).map_err(|_| ApiError::NotFound("return"))?;
    let now = state.now_micros();
    let mut tx = state.store.write().await?;
    let sellable = matches!(body.condition, Condition::Sellable);
    let (ret, job) = returns::receive(&mut tx.conn(), id, sellable, center.as_deref(), now).await?;
    tx.commit().await?;
    jobs::run_inline(&state, job).await;
    let mut read = state.store.read().await?;
    let ret = buynow_store::returns::get(&mut read.conn(), ret.id).await?.ok_or(ApiError::NotFound("return"))?;
    Ok(axum::Json(return_view(ret)))
}
