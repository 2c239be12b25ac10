//! Which payment methods are accepted (admin): the shop's, and a marketplace seller's, which narrows the
//! shop's for that seller's items. A Buy Now or a review with a card they refuse answers 422
//! `payment_method_not_accepted`, naming what is accepted.

use crate::auth::AdminAuth;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Json;
use crate::state::AppState;
use axum::extract::{Path, State};
use buynow_domain::acceptance::Accepted;
use buynow_domain::SellerId;
use buynow_store::{payment_settings, staff};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentSettingsBody {
    /// Card brands: `visa`, `mastercard`, `amex`, `discover`.
    brands: Vec<String>,
    /// Funding types: `credit`, `debit`, `prepaid`.
    funding: Vec<String>,
    /// Whether the gift card balance may pay.
    gift_cards: bool,
}

impl From<&Accepted> for PaymentSettingsBody {
    fn from(a: &Accepted) -> Self {
        PaymentSettingsBody {
            brands: a.brands.iter().map(|b| b.as_str().to_string()).collect(),
            funding: a.funding.iter().map(|f| f.as_str().to_string()).collect(),
            gift_cards: a.gift_cards,
        }
    }
}

async fn put(state: &AppState, scope: &str, body: &PaymentSettingsBody) -> ApiResult<Accepted> {
    let accepted = Accepted::parse(&body.brands, &body.funding, body.gift_cards)?;
    let mut tx = state.store.write().await?;
    payment_settings::put(&mut tx.conn(), scope, &accepted, state.now_micros()).await?;
    tx.commit().await?;
    state.reload_payment_settings().await.map_err(ApiError::internal)?;
    Ok(accepted)
}

async fn seller_scope(state: &AppState, id: &str) -> ApiResult<String> {
    let seller = SellerId::parse(id).map_err(|_| ApiError::NotFound("seller"))?;
    staff::seller(&mut state.store.read().await?.conn(), seller).await?.ok_or(ApiError::NotFound("seller"))?;
    Ok(seller.to_string())
}

/// The payment methods the shop accepts (admin).
#[utoipa::path(get, path = "/v1/ops/payment-settings", tag = "ops", security(("staff_key" = [])),
    responses((status = 200, body = PaymentSettingsBody), (status = 401, body = Problem)))]
pub async fn get_shop(State(state): State<AppState>, _: AdminAuth) -> ApiResult<axum::Json<PaymentSettingsBody>> {
    Ok(axum::Json((&state.payment_settings().shop).into()))
}

/// Set the payment methods the shop accepts (admin).
#[utoipa::path(put, path = "/v1/ops/payment-settings", tag = "ops", request_body = PaymentSettingsBody,
    security(("staff_key" = [])), responses((status = 200, body = PaymentSettingsBody), (status = 422, body = Problem)))]
pub async fn put_shop(
    State(state): State<AppState>,
    _: AdminAuth,
    Json(body): Json<PaymentSettingsBody>,
) -> ApiResult<axum::Json<PaymentSettingsBody>> {
    let accepted = put(&state, payment_settings::SHOP, &body).await?;
    Ok(axum::Json((&accepted).into()))
}

/// What a seller's items may be paid with: the seller's own settings (everything when it set none), which
/// narrow the shop's (admin).
#[utoipa::path(get, path = "/v1/ops/sellers/{id}/payment-settings", tag = "ops", params(("id" = String, Path)),
    security(("staff_key" = [])), responses((status = 200, body = PaymentSettingsBody), (status = 404, body = Problem)))]
pub async fn get_seller(
    State(state): State<AppState>,
    _: AdminAuth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<PaymentSettingsBody>> {
    let scope = seller_scope(&state, &id).await?;
    let own = state.payment_settings().sellers.get(&scope).cloned().unwrap_or_default();
    Ok(axum::Json((&own).into()))
}

/// Set what a seller accepts (admin).
#[utoipa::path(put, path = "/v1/ops/sellers/{id}/payment-settings", tag = "ops", params(("id" = String, Path)),
    request_body = PaymentSettingsBody, security(("staff_key" = [])),
    responses((status = 200, body = PaymentSettingsBody), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn put_seller(
    State(state): State<AppState>,
    _: AdminAuth,
    Path(id): Path<String>,
    Json(body): Json<PaymentSettingsBody>,
) -> ApiResult<axum::Json<PaymentSettingsBody>> {
    let scope = seller_scope(&state, &id).await?;
    let accepted = put(&state, &scope, &body).await?;
    Ok(axum::Json((&accepted).into()))
}
