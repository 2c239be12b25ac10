use crate::auth::CustomerAuth;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Json;
use crate::state::AppState;
use crate::views::PaymentMethodView;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use buynow_domain::card::{CardNumber, Cvc, Expiry};
use buynow_domain::{InvalidValue, PaymentMethodId};
use buynow_store::customers::{self, SavedCard};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethodType {
    Card,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPaymentMethod {
    #[serde(rename = "type")]
    pub kind: PaymentMethodType,
    /// The card number. It is encrypted at once and never shown again, only its last four digits.
    pub number: String,
    #[serde(deserialize_with = "crate::extract::whole::int")]
    pub exp_month: i64,
    #[serde(deserialize_with = "crate::extract::whole::int")]
    pub exp_year: i64,
    /// Checked, then forgotten: never stored.
    pub cvc: String,
    /// Make it the default for Buy Now. A customer's first card always is.
    #[serde(default)]
    pub default: bool,
}

/// Save a card. The number is kept only encrypted (AES-256-GCM); the CVC is never kept.
#[utoipa::path(post, path = "/v1/me/payment-methods", tag = "customers", request_body = NewPaymentMethod,
    security(("bearer" = [])), responses((status = 201, body = PaymentMethodView), (status = 422, body = Problem)))]
pub async fn add_payment_method(
    State(state): State<AppState>,
    CustomerAuth(customer): CustomerAuth,
    Json(body): Json<NewPaymentMethod>,
) -> ApiResult<(StatusCode, axum::Json<PaymentMethodView>)> {
    let PaymentMethodType::Card = body.kind;
    let number = CardNumber::parse(&body.number)?;
    let expiry = Expiry::parse(body.exp_month, body.exp_year)?;
    if expiry.is_expired_on(chrono::Utc::now().date_naive()) {
        return Err(InvalidValue::new("exp_year", "the card has expired").into());
    }
    Cvc::parse(&body.cvc, number.brand())?;
    let id = PaymentMethodId::new();
    let envelope = state.vault.seal(&id.to_string(), number.expose());
    let card = SavedCard {
        id,
        customer_id: customer,
        brand: number.brand(),
        funding: number.funding(),
        last4: number.last4().to_string(),
        exp_month: expiry.month,
        exp_year: expiry.year,
        key_id: envelope.key_id,
        wrapped_key: envelope.wrapped_key,
        sealed: envelope.sealed,
    };
    let mut tx = state.store.write().await?;
    let current = customers::by_id(&mut tx.conn(), customer).await?.ok_or(ApiError::Unauthorized)?;
    customers::insert_card(&mut tx.conn(), &card).await?;
    let default = body.default || current.default_payment_method_id.is_none();
    if default {
        customers::set_default_payment_method(&mut tx.conn(), customer, id).await?;
    }
    tx.commit().await?;
    tracing::info!(payment_method = %id, brand = card.brand.as_str(), last4 = %card.last4, "card saved");
    Ok((StatusCode::CREATED, axum::Json(PaymentMethodView::new(&card, default))))
}

/// The customer's saved cards (last four digits only).
#[utoipa::path(get, path = "/v1/me/payment-methods", tag = "customers", security(("bearer" = [])),
    responses((status = 200, body = Vec<PaymentMethodView>)))]
pub async fn list_payment_methods(
    State(state): State<AppState>,
    CustomerAuth(customer): CustomerAuth,
) -> ApiResult<axum::Json<Vec<PaymentMethodView>>> {
    let mut read = state.store.read().await?;
    let me = customers::by_id(&mut read.conn(), customer).await?.ok_or(ApiError::Unauthorized)?;
    let all = customers::cards(&mut read.conn(), customer).await?;
    Ok(axum::Json(all.iter().map(|c| PaymentMethodView::new(c, Some(c.id) == me.default_payment_method_id)).collect()))
}

/// Make a saved card the default for Buy Now.
#[utoipa::path(post, path = "/v1/me/payment-methods/{id}/default", tag = "customers", params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = PaymentMethodView), (status = 404, body = Problem)))]
pub async fn make_default(
    State(state): State<AppState>,
    CustomerAuth(customer): CustomerAuth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<PaymentMethodView>> {
    let id = PaymentMethodId::parse(&id).map_err(|_| ApiError::NotFound("payment method"))?;
    let mut tx = state.store.write().await?;
    let card = customers::card(&mut tx.conn(), customer, id).await?.ok_or(ApiError::NotFound("payment method"))?;
    customers::set_default_payment_method(&mut tx.conn(), customer, id).await?;
    tx.commit().await?;
    Ok(axum::Json(PaymentMethodView::new(&card, true)))
}
