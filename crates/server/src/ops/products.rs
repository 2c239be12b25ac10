use crate::auth::AdminAuth;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Json;
use crate::state::AppState;
use crate::views::ProductView;
use axum::extract::State;
use axum::http::StatusCode;
use buynow_domain::{Currency, InvalidValue, Money, PersonName, ProductTitle, Sku};
use buynow_store::catalog::{self, Listing, Product};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoneyInput {
    amount: i64,
    currency: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    sku: String,
    title: String,
    price: MoneyInput,
    prime_eligible: bool,
    /// `store` (the default) or the name of the marketplace seller who ships it.
    fulfilled_by: Option<String>,
}

/// Create a product (admin).
#[utoipa::path(post, path = "/v1/ops/products", tag = "ops", request_body = NewProduct, security(("admin_key" = [])),
    responses((status = 201, body = ProductView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_product(
    State(state): State<AppState>,
    _: AdminAuth,
    Json(body): Json<NewProduct>,
) -> ApiResult<(StatusCode, axum::Json<ProductView>)> {
    let sku = Sku::parse(&body.sku)?;
    let title = ProductTitle::parse(&body.title)?;
    let currency = Currency::parse(&body.price.currency).map_err(|e| InvalidValue::new("price", e.to_string()))?;
    let price =
        Money::non_negative(body.price.amount, currency).map_err(|e| InvalidValue::new("price", e.to_string()))?;
    if price.minor() > 100_000_000 {
        return Err(InvalidValue::new("price", "must be at most 1,000,000.00").into());
    }
    let fulfilled_by = match body.fulfilled_by.as_deref().map(str::trim) {
        None | Some("") | Some("store") => "store".to_string(),
        Some(seller) => PersonName::parse(seller).map_err(|e| InvalidValue::new("fulfilled_by", e.reason))?.to_string(),
    };
    let product = Product {
        sku: sku.to_string(),
        title: title.to_string(),
        price,
        prime_eligible: body.prime_eligible,
        fulfilled_by,
    };
    let mut tx = state.store.write().await?;
    match catalog::insert_product(&mut tx.conn(), &product).await {
        Err(e) if e.is_unique_violation() => {
            return Err(ApiError::Conflict("sku_exists", format!("a product {sku} already exists")))
        }
        other => other?,
    }
    tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(ProductView::from(&Listing { product, available: 0 }))))
}
