use crate::auth::AdminAuth;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Json;
use crate::state::AppState;
use crate::views::ProductView;
use axum::extract::State;
use axum::http::StatusCode;
use buynow_domain::{Currency, InvalidValue, Money, ProductTitle, SellerId, Sku};
use buynow_store::catalog::{self, Listing, Product};
use buynow_store::staff;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoneyInput {
    #[serde(deserialize_with = "crate::extract::whole::int")]
    amount: i64,
    currency: String,
}

impl MoneyInput {
    /// The amount, zero or more, in a currency the shop keeps; `field` names it in a refusal.
    pub fn parse(&self, field: &'static str) -> Result<Money, InvalidValue> {
        let currency = Currency::parse(&self.currency).map_err(|e| InvalidValue::new(field, e.to_string()))?;
        Money::non_negative(self.amount, currency).map_err(|e| InvalidValue::new(field, e.to_string()))
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    sku: String,
    title: String,
    price: MoneyInput,
    prime_eligible: bool,
    /// `store` (the default) or the id of the marketplace seller who ships it (`slr_…`).
    fulfilled_by: Option<String>,
    /// For boxes and rates; 500 g when left out.
    #[serde(default, deserialize_with = "crate::extract::whole::option")]
    weight_grams: Option<i64>,
    /// Outer size in millimetres, `[length, width, height]`; 200 × 150 × 100 when left out.
    #[serde(default, deserialize_with = "crate::extract::whole::option_triple")]
    dimensions_mm: Option<[i64; 3]>,
    /// Where it may not be sent: countries (`CA`) or country-regions (`US-HI`).
    not_shippable_to: Option<Vec<String>>,
}

/// Create a product (admin).
#[utoipa::path(post, path = "/v1/ops/products", tag = "ops", request_body = NewProduct, security(("staff_key" = [])),
    responses((status = 201, body = ProductView), (status = 404, description = "no such seller", body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_product(
    State(state): State<AppState>,
    _: AdminAuth,
    Json(body): Json<NewProduct>,
) -> ApiResult<(StatusCode, axum::Json<ProductView>)> {
    let sku = Sku::parse(&body.sku)?;
    let title = ProductTitle::parse(&body.title)?;
    let price = body.price.parse("price")?;
    if price.minor() > 100_000_000 {
        return Err(InvalidValue::new("price", "must be at most 1,000,000.00").into());
    }
    let mut tx = state.store.write().await?;
    let fulfilled_by = match body.fulfilled_by.as_deref().map(str::trim) {
        None | Some("") | Some("store") => "store".to_string(),
        Some(seller) => {
            let id = SellerId::parse(seller)
                .map_err(|_| InvalidValue::new("fulfilled_by", "must be store or a seller id (slr_…)"))?;
            staff::seller(&mut tx.conn(), id).await?.ok_or(ApiError::NotFound("seller"))?;
            id.to_string()
        }
    };
    let mut product = Product::new(sku.as_str(), title.as_str(), price, body.prime_eligible, &fulfilled_by);
    let measure = |field: &'static str, v: i64, max: i64| {
        u32::try_from(v)
            .ok()
            .filter(|v| (1..=max).contains(&i64::from(*v)))
            .ok_or_else(|| InvalidValue::new(field, format!("must be 1 to {max}")))
    };
    if let Some(w) = body.weight_grams {
        product.weight_grams = measure("weight_grams", w, 1_000_000)?;
    }
    if let Some([l, w, h]) = body.dimensions_mm {
        product.size_mm = [
            measure("dimensions_mm", l, 10_000)?,
            measure("dimensions_mm", w, 10_000)?,
            measure("dimensions_mm", h, 10_000)?,
        ];
    }
    for place in body.not_shippable_to.unwrap_or_default() {
        let place = place.trim().to_ascii_uppercase();
        let ok = match place.split_once('-') {
            None => place.len() == 2,
            Some((country, region)) => country.len() == 2 && (2..=3).contains(&region.len()),
        };
        if !ok || !place.chars().all(|ch| ch.is_ascii_alphabetic() || ch == '-') {
            return Err(
                InvalidValue::new("not_shippable_to", "each is a country (CA) or a country-region (US-HI)").into()
            );
        }
        product.not_shippable_to.push(place);
    }
    match catalog::insert_product(&mut tx.conn(), &product).await {
        Err(e) if e.is_unique_violation() => {
            return Err(ApiError::Conflict("sku_exists", format!("a product {sku} already exists")))
        }
        other => other?,
    }
    tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(ProductView::from(&Listing { product, available: 0 }))))
}
