use crate::auth::CustomerAuth;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Json;
use crate::personal_data;
use crate::state::AppState;
use crate::views::AddressView;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use buynow_domain::values::AddressInput;
use buynow_domain::{AddressId, PostalAddress};
use buynow_store::customers;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAddress {
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    /// State or province code, e.g. `CA`.
    pub region: String,
    pub postal_code: String,
    /// ISO 3166 alpha-2: `US` or `CA`.
    pub country: String,
    /// Make it the default for Buy Now. A customer's first address always is.
    #[serde(default)]
    pub default: bool,
}

/// Save a shipping address.
#[utoipa::path(post, path = "/v1/me/addresses", tag = "customers", request_body = NewAddress, security(("bearer" = [])),
    responses((status = 201, body = AddressView), (status = 422, body = Problem)))]
pub async fn add_address(
    State(state): State<AppState>,
    CustomerAuth(customer): CustomerAuth,
    Json(body): Json<NewAddress>,
) -> ApiResult<(StatusCode, axum::Json<AddressView>)> {
    let address = PostalAddress::parse(AddressInput {
        name: &body.name,
        line1: &body.line1,
        line2: body.line2.as_deref(),
        city: &body.city,
        region: &body.region,
        postal_code: &body.postal_code,
        country: &body.country,
    })?;
    let saved = personal_data::new_address(&state.vault, customer, &address);
    let mut tx = state.store.write().await?;
    let current = customers::by_id(&mut tx.conn(), customer).await?.ok_or(ApiError::Unauthorized)?;
    customers::insert_address(&mut tx.conn(), &saved).await?;
    let default = body.default || current.default_address_id.is_none();
    if default {
        customers::set_default_address(&mut tx.conn(), customer, saved.id).await?;
    }
    tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(AddressView::new(&state.vault, &saved, default)?)))
}

/// The customer's saved addresses.
#[utoipa::path(get, path = "/v1/me/addresses", tag = "customers", security(("bearer" = [])),
    responses((status = 200, body = Vec<AddressView>)))]
pub async fn list_addresses(
    State(state): State<AppState>,
    CustomerAuth(customer): CustomerAuth,
) -> ApiResult<axum::Json<Vec<AddressView>>> {
    let mut read = state.store.read().await?;
    let me = customers::by_id(&mut read.conn(), customer).await?.ok_or(ApiError::Unauthorized)?;
    let all = customers::addresses(&mut read.conn(), customer).await?;
    Ok(axum::Json(
        all.iter()
            .map(|a| AddressView::new(&state.vault, a, Some(a.id) == me.default_address_id))
            .collect::<Result<_, _>>()?,
    ))
}

/// Make a saved address the default for Buy Now.
#[utoipa::path(post, path = "/v1/me/addresses/{id}/default", tag = "customers", params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = AddressView), (status = 404, body = Problem)))]
pub async fn make_default(
    State(state): State<AppState>,
    CustomerAuth(customer): CustomerAuth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<AddressView>> {
    let id = AddressId::parse(&id).map_err(|_| ApiError::NotFound("address"))?;
    let mut tx = state.store.write().await?;
    let all = customers::addresses(&mut tx.conn(), customer).await?;
    let saved = all.into_iter().find(|a| a.id == id).ok_or(ApiError::NotFound("address"))?;
    customers::set_default_address(&mut tx.conn(), customer, id).await?;
    tx.commit().await?;
    Ok(axum::Json(AddressView::new(&state.vault, &saved, true)?))
}
