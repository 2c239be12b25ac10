use crate::auth::{new_token, verify_password, SessionToken};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ClientAddress, Json, RequestId};
use crate::personal_data;
use crate::services::audit;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use buynow_domain::Email;
use buynow_store::customers;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub email: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct Session {
    /// Send as `Authorization: Bearer <token>`. Shown once; only its hash is stored.
    pub token: String,
    pub customer_id: String,
}

/// Sign in with e-mail and password; returns a bearer token.
#[utoipa::path(post, path = "/v1/sessions", tag = "customers", request_body = SignIn,
    responses((status = 201, body = Session), (status = 401, body = Problem),
              (status = 429, description = "too many attempts for the account or from the address; see `Retry-After`", body = Problem)))]
#[tracing::instrument(skip_all)]
pub async fn sign_in(
    State(state): State<AppState>,
    RequestId(request_id): RequestId,
    ClientAddress(address): ClientAddress,
    Json(body): Json<SignIn>,
) -> ApiResult<(StatusCode, axum::Json<Session>)> {
    // Before the password is hashed: a flood is turned away for the price of a map look-up.
    state.limits.sign_in(&body.email, address)?;
    let customer = match Email::parse(&body.email) {
        Ok(email) => {
            let hashes = personal_data::email_hashes(&state.vault, &email);
            customers::by_email_hash(&mut state.store.read().await?.conn(), &hashes).await?
        }
        Err(_) => None,
    };
    let hash = customer.as_ref().map(|c| c.password_hash.clone());
    let ok = verify_password(state.config.password_cost, body.password, hash).await?;
    let customer = match (ok, customer) {
        (true, Some(c)) => c,
        (_, known) => {
            // Whose account was tried, when it is one; never what was typed.
            let subject = known.map_or_else(|| "unknown e-mail".to_string(), |c| format!("customer:{}", c.id));
            audit::record(&state, "anonymous".into(), "sign_in_failed".into(), subject, request_id).await;
            return Err(ApiError::InvalidCredentials);
        }
    };
    let (token, token_hash) = new_token();
    let wall = buynow_store::now_micros();
    let expires = wall.saturating_add(i64::try_from(state.config.session_ttl.as_micros()).unwrap_or(i64::MAX / 2));
    let idle = wall.saturating_add(i64::try_from(state.config.session_idle.as_micros()).unwrap_or(i64::MAX / 2));
    let mut tx = state.store.write().await?;
    customers::insert_session(&mut tx.conn(), &token_hash, customer.id, expires, idle.min(expires)).await?;
    let (who, now) = (customer.id.to_string(), state.now_micros());
    buynow_store::audit::append(&mut tx.conn(), now, &who, "sign_in", &format!("customer:{who}"), &request_id).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(Session { token, customer_id: customer.id.to_string() })))
}

/// Sign out: the session's token stops working at once.
#[utoipa::path(delete, path = "/v1/sessions/current", tag = "customers", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem)))]
#[tracing::instrument(skip_all)]
pub async fn sign_out(State(state): State<AppState>, SessionToken(session): SessionToken) -> ApiResult<StatusCode> {
    session.customer(&state).await?;
    let mut tx = state.store.write().await?;
    customers::delete_session(&mut tx.conn(), &session.0).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
