use crate::auth::hash_password;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Json;
use crate::personal_data;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use buynow_domain::{CustomerId, Email, Password, PersonName};
use buynow_store::customers;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignUp {
    pub email: String,
    pub password: String,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct NewCustomer {
    id: String,
    pub email: String,
    pub name: String,
    prime: bool,
}

/// Create a customer account.
#[utoipa::path(post, path = "/v1/customers", tag = "customers", request_body = SignUp,
    responses((status = 201, body = NewCustomer), (status = 409, description = "e-mail taken", body = Problem),
              (status = 422, body = Problem)))]
#[tracing::instrument(skip_all)]
pub async fn sign_up(
    State(state): State<AppState>,
    Json(body): Json<SignUp>,
) -> ApiResult<(StatusCode, axum::Json<NewCustomer>)> {
    let email = Email::parse(&body.email)?;
    let name = PersonName::parse(&body.name)?;
    let password = Password::parse(body.password)?;
    let hash = hash_password(state.config.password_cost, password.expose().to_string()).await?;
    let id = CustomerId::new();
    let (email_hash, sealed) = personal_data::seal_person(&state.vault, id, &email, name.as_str());
    let taken = || ApiError::Conflict("email_taken", "an account with this e-mail already exists".into());
    let mut tx = state.store.write().await?;
    // While a key rotation runs, the e-mail may be stored under an older key's hash, which the unique index
    // (on the active key's) does not see.
    let hashes = personal_data::email_hashes(&state.vault, &email);
    if hashes.len() > 1 && customers::by_email_hash(&mut tx.conn(), &hashes[1..]).await?.is_some() {
        return Err(taken());
    }
    let new = customers::NewCustomer { id, email_hash: &email_hash, sealed, password_hash: &hash };
    match customers::insert(&mut tx.conn(), new).await {
        Err(e) if e.is_unique_violation() => return Err(taken()),
        other => other?,
    }
    tx.commit().await?;
    tracing::info!(customer = %id, "customer signed up");
    Ok((
        StatusCode::CREATED,
        axum::Json(NewCustomer { id: id.to_string(), email: email.to_string(), name: name.to_string(), prime: false }),
    ))
}
