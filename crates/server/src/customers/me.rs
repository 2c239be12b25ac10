use crate::auth::CustomerAuth;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;
use crate::views::CustomerView;
use axum::extract::State;
use buynow_domain::CustomerId;
use buynow_payments::Vault;
use buynow_store::{customers, Conn};

pub async fn customer_view(vault: &Vault, c: &mut Conn<'_>, id: CustomerId) -> ApiResult<CustomerView> {
    let customer = customers::by_id(c, id).await?.ok_or(ApiError::NotFound("customer"))?;
    let person = crate::personal_data::person(vault, &customer)?;
    Ok(CustomerView {
        id: customer.id.to_string(),
        email: person.email,
        name: person.name,
        prime: customer.prime,
        default_address_id: customer.default_address_id.map(|a| a.to_string()),
        default_payment_method_id: customer.default_payment_method_id.map(|p| p.to_string()),
        gift_card_balance: crate::services::gift_cards::balance(c, id).await?.into(),
    })
}

/// The signed-in customer, with their defaults and membership.
#[utoipa::path(get, path = "/v1/me", tag = "customers", security(("bearer" = [])),
    responses((status = 200, body = CustomerView), (status = 401, body = Problem)))]
pub async fn me(State(state): State<AppState>, CustomerAuth(id): CustomerAuth) -> ApiResult<axum::Json<CustomerView>> {
    Ok(axum::Json(customer_view(&state.vault, &mut state.store.read().await?.conn(), id).await?))
}
