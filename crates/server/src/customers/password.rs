//! Changing the password: the current one first (a guess at it counts as a sign-in attempt), and every other
//! session ends, so a device signed in by someone else is signed out.

use crate::auth::{hash_password, verify_password, SessionToken};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ClientAddress, Json, RequestId};
use crate::services::audit;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use buynow_domain::{InvalidValue, Password};
use buynow_store::customers;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    /// 8 to 256 characters.
    pub new_password: String,
}

/// Change the password. The session used for it goes on; every other session of the customer ends.
#[utoipa::path(post, path = "/v1/me/password", tag = "customers", request_body = PasswordChange, security(("bearer" = [])),
    responses((status = 204, description = "changed; the other sessions are ended"), (status = 401, body = Problem),
              (status = 422, description = "the current password is wrong (`wrong_password`), or the new one too short", body = Problem),
              (status = 429, body = Problem)))]
#[tracing::instrument(skip_all)]
pub async fn change(
    State(state): State<AppState>,
    SessionToken(session): SessionToken,
    RequestId(request_id): RequestId,
    ClientAddress(address): ClientAddress,
    Json(body): Json<PasswordChange>,
) -> ApiResult<StatusCode> {
    let id = session.customer(&state).await?;
    let customer = customers::by_id(&mut state.store.read().await?.conn(), id).await?.ok_or(ApiError::Unauthorized)?;
    state.limits.sign_in(&crate::personal_data::person(&state.vault, &customer)?.email, address)?;
    let new = Password::parse(body.new_password).map_err(|e| InvalidValue::new("new_password", e.reason))?;
    let ok = verify_password(state.config.password_cost, body.current_password, Some(customer.password_hash)).await?;
    let who = id.to_string();
    if !ok {
        audit::record(&state, who.clone(), "password_change_failed".into(), format!("customer:{who}"), request_id)
            .await;
        return Err(ApiError::Unprocessable("wrong_password", "the current password is not right".into()));
    }
    let hash = hash_password(state.config.password_cost, new.expose().to_string()).await?;
    let now = state.now_micros();
    let mut tx = state.store.write().await?;
    customers::set_password(&mut tx.conn(), id, &hash).await?;
    let ended = customers::end_other_sessions(&mut tx.conn(), id, &session.0).await?;
    buynow_store::audit::append(&mut tx.conn(), now, &who, "password_changed", &format!("customer:{who}"), &request_id)
        .await?;
    tx.commit().await?;
    tracing::info!(customer = %id, other_sessions_ended = ended, "password changed");
    Ok(StatusCode::NO_CONTENT)
}
