//! "Get help with this order": the customer's question opens a support case, or joins the one they have open.

use super::view::{customers_order, parse_order_id};
use crate::auth::CustomerAuth;
use crate::error::{ApiResult, Problem};
use crate::extract::Json;
use crate::services::support;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use buynow_domain::InvalidValue;
use buynow_store::cases::Case;
use buynow_store::from_micros;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HelpRequest {
    /// What the customer needs, in their words: 1 to 2,000 characters.
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct HelpCase {
    pub id: String,
    /// `open` or `resolved`.
    pub status: &'static str,
    pub created_at: DateTime<Utc>,
}

impl From<&Case> for HelpCase {
    fn from(c: &Case) -> Self {
        HelpCase { id: c.id.to_string(), status: c.status.as_str(), created_at: from_micros(c.created_at) }
    }
}

/// The message, trimmed, if it is one a person can read.
pub fn message(raw: &str) -> Result<String, InvalidValue> {
    let m = raw.trim();
    if m.is_empty() || raw.chars().count() > 2000 {
        return Err(InvalidValue::new("message", "1 to 2,000 characters"));
    }
    if m.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err(InvalidValue::new("message", "must not hold control characters"));
    }
    Ok(m.to_string())
}

/// Ask for help with an order: 201 with a new support case, or 200 with the open one the message joined. The
/// customer is told by e-mail that their message arrived.
#[utoipa::path(post, path = "/v1/orders/{id}/help", tag = "orders", params(("id" = String, Path)), request_body = HelpRequest,
    security(("bearer" = [])),
    responses((status = 201, body = HelpCase), (status = 200, description = "joined the open case", body = HelpCase),
              (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
#[tracing::instrument(skip_all, fields(customer = %customer, order = %id))]
pub async fn ask(
    State(state): State<AppState>,
    CustomerAuth(customer): CustomerAuth,
    Path(id): Path<String>,
    Json(body): Json<HelpRequest>,
) -> ApiResult<(StatusCode, axum::Json<HelpCase>)> {
    let id = parse_order_id(&id)?;
    let text = message(&body.message)?;
    let (case, created) = ask_for(&state, customer, id, &text).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, axum::Json(HelpCase::from(&case))))
}

/// The customer's question about their order, written: the case and whether it is new.
pub async fn ask_for(
    state: &AppState,
    customer: buynow_domain::CustomerId,
    id: buynow_domain::OrderId,
    text: &str,
) -> ApiResult<(Case, bool)> {
    let now = state.now_micros();
    let mut tx = state.store.write().await?;
    let order = customers_order(&mut tx.conn(), customer, id).await?;
    let asked = support::ask(&mut tx.conn(), &order, text, now).await?;
    tx.commit().await?;
    tracing::info!(case = %asked.0.id, new = asked.1, "customer asked for help");
    Ok(asked)
}
