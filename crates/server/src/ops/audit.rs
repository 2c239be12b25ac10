//! The audit trail, for admins: newest first, filtered by who or by what.

use crate::auth::AdminAuth;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;
use axum::extract::{Query, State};
use buynow_domain::InvalidValue;
use buynow_store::{audit, from_micros};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only this actor's entries: a staff key's id, `admin`, a customer's id, or `anonymous`.
    pub actor: Option<String>,
    /// Only entries whose action or subject contains this (an order id, `sign_in_failed`, a route).
    pub contains: Option<String>,
    /// Only entries before this one (the next page: the last `seq` seen).
    pub before: Option<i64>,
    /// At most this many (1–500; 100 when left out).
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditEntryView {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub request_id: String,
    pub hash: String,
}

#[derive(Serialize, ToSchema)]
pub struct AuditList {
    pub entries: Vec<AuditEntryView>,
}

/// The audit trail (admin): staff actions, changes to customers' cards, sign-ins and failed sign-ins.
#[utoipa::path(get, path = "/v1/ops/audit", tag = "ops", params(AuditQuery), security(("staff_key" = [])),
    responses((status = 200, body = AuditList), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 422, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    _: AdminAuth,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<axum::Json<AuditList>> {
    let Query(q) = query.map_err(|e| ApiError::from(InvalidValue::new("query", e.body_text())))?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(InvalidValue::new("limit", "must be between 1 and 500").into());
    }
    let filter = audit::Filter { actor: q.actor, contains: q.contains, before: q.before };
    let entries = audit::list(&mut state.store.read().await?.conn(), &filter, limit).await?;
    let entries = entries
        .into_iter()
        .map(|e| AuditEntryView {
            seq: e.seq,
            at: from_micros(e.at),
            actor: e.actor,
            action: e.action,
            subject: e.subject,
            request_id: e.request_id,
            hash: e.hash,
        })
        .collect();
    Ok(axum::Json(AuditList { entries }))
}
