//! The catalog as customers see it.

use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;
use crate::views::ProductView;
use axum::extract::{Path, State};
use buynow_domain::Sku;
use buynow_store::catalog;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(get))
}

/// Every product, with what is available to buy now.
#[utoipa::path(get, path = "/v1/products", tag = "products", responses((status = 200, body = Vec<ProductView>)))]
pub async fn list(State(state): State<AppState>) -> ApiResult<axum::Json<Vec<ProductView>>> {
    let listings = catalog::listings(&mut state.store.read().await?.conn(), None).await?;
    Ok(axum::Json(listings.iter().map(ProductView::from).collect()))
}

/// One product.
#[utoipa::path(get, path = "/v1/products/{sku}", tag = "products", params(("sku" = String, Path)),
    responses((status = 200, body = ProductView), (status = 404, body = Problem)))]
pub async fn get(State(state): State<AppState>, Path(sku): Path<String>) -> ApiResult<axum::Json<ProductView>> {
    let sku = Sku::parse(&sku).map_err(|_| ApiError::NotFound("product"))?;
    let listings = catalog::listings(&mut state.store.read().await?.conn(), Some(sku.as_str())).await?;
    let listing = listings.first().ok_or(ApiError::NotFound("product"))?;
    Ok(axum::Json(ProductView::from(listing)))
}
