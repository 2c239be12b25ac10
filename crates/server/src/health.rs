//! Liveness and readiness for load balancers and orchestrators.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = Health)))]
pub async fn healthz() -> axum::Json<Health> {
    axum::Json(Health { status: "ok" })
}

/// The process can serve: its database answers.
#[utoipa::path(get, path = "/readyz", tag = "health", responses((status = 200, body = Health), (status = 503)))]
pub async fn readyz(State(state): State<AppState>) -> ApiResult<axum::Json<Health>> {
    let mut read = state.store.read().await.map_err(|e| ApiError::Unavailable(e.to_string()))?;
    read.conn().one("SELECT 1", vec![]).await.map_err(|e| ApiError::Unavailable(e.to_string()))?;
    Ok(axum::Json(Health { status: "ready" }))
}
