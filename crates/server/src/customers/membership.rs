use super::customer_view;
use crate::auth::CustomerAuth;
use crate::error::{ApiResult, Problem};
use crate::extract::Json;
use crate::state::AppState;
use crate::views::CustomerView;
use axum::extract::State;
use buynow_store::customers;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    Prime,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Join {
    pub plan: Plan,
}

/// Join a membership plan (`prime`: free two-day shipping on eligible items). Joining twice is harmless.
#[utoipa::path(post, path = "/v1/me/membership", tag = "customers", request_body = Join, security(("bearer" = [])),
    responses((status = 200, body = CustomerView), (status = 422, body = Problem)))]
pub async fn join(
    State(state): State<AppState>,
    CustomerAuth(id): CustomerAuth,
    Json(body): Json<Join>,
) -> ApiResult<axum::Json<CustomerView>> {
    let Plan::Prime = body.plan;
    let mut tx = state.store.write().await?;
    customers::set_prime(&mut tx.conn(), id, true).await?;
    let view = customer_view(&state.vault, &mut tx.conn(), id).await?;
    tx.commit().await?;
    Ok(axum::Json(view))
}
