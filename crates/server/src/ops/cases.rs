//! Support cases (support, admin): the queue, one case with its order's whole story, and the actions that
//! settle it. Each action is audited (by the audit layer, as every staff write is) and told to the customer.

use super::products::MoneyInput;
use crate::auth::SupportAuth;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Json;
use crate::orders::view;
use crate::services::support::{self, Request};
use crate::state::AppState;
use crate::views::OrderView;
use axum::extract::{Path, Query, State};
use buynow_domain::{CaseAction, CaseId, CaseReason, CaseStatus, InvalidValue, OrderId};
use buynow_store::cases::{self, Case, Filter};
use buynow_store::{from_micros, notifications, orders, Conn};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Serialize, ToSchema)]
pub struct CaseView {
    pub id: String,
    pub order_id: String,
    /// `open` or `resolved`.
    pub status: &'static str,
    /// `job_failed`, `payment_drift`, `carrier_exception`, `message_dead_lettered`, `stalled`, `short_pick` or
    /// `customer_request`.
    pub reason: &'static str,
    /// Whether the case holds its order (nothing more goes to the warehouse while it is open).
    pub holds_order: bool,
    /// What happened (for a customer's request, their first message).
    pub summary: String,
    /// What it is about besides the order: a job, payment, parcel or message id.
    pub subject: Option<String>,
    /// `system`, or the customer's id.
    pub opened_by: String,
    pub assignee: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

impl From<Case> for CaseView {
    fn from(c: Case) -> Self {
        CaseView {
            id: c.id.to_string(),
            order_id: c.order_id.to_string(),
            status: c.status.as_str(),
            reason: c.reason.as_str(),
            holds_order: c.holds_order,
            summary: c.summary,
            subject: c.subject,
            opened_by: c.opened_by,
            assignee: c.assignee,
            created_at: from_micros(c.created_at),
            updated_at: from_micros(c.updated_at),
            resolved_at: c.resolved_at.map(from_micros),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CaseNoteView {
    pub at: DateTime<Utc>,
    /// `system`, the customer's id, or the staff key's (`admin` for the start-up key).
    pub author: String,
    /// `opened`, `message` (the customer's), or the staff action taken.
    pub action: String,
    pub body: String,
}

#[derive(Serialize, ToSchema)]
pub struct MessageView {
    pub id: String,
    /// The event it tells (`order.placed`, …).
    pub event: String,
    /// `email` or `webhook`.
    pub channel: &'static str,
    /// `pending`, `sent` or `dead`.
    pub status: &'static str,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A case with everything needed to settle it: its notes, and its order's whole story (timeline, payment and
/// its attempts, shipments, returns) and messages.
#[derive(Serialize, ToSchema)]
pub struct CaseDetail {
    #[serde(flatten)]
    pub case: CaseView,
    pub notes: Vec<CaseNoteView>,
    pub order: OrderView,
    pub messages: Vec<MessageView>,
}

#[derive(Serialize, ToSchema)]
pub struct CaseList {
    pub cases: Vec<CaseView>,
    /// Pass as `before` for the next page; absent on the last.
    pub next: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CaseQuery {
    /// `open` or `resolved`.
    pub status: Option<String>,
    pub reason: Option<String>,
    /// Only the cases taken by this staff key id (`admin` for the start-up key).
    pub assignee: Option<String>,
    /// Only the cases of this order.
    pub order_id: Option<String>,
    /// Only cases older than this one (the next page).
    pub before: Option<String>,
    /// At most this many (1–200; 50 when left out).
    pub limit: Option<u32>,
}

/// The support queue, newest first (support, admin).
#[utoipa::path(get, path = "/v1/ops/cases", tag = "ops", params(CaseQuery), security(("staff_key" = [])),
    responses((status = 200, body = CaseList), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 422, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    _: SupportAuth,
    query: Result<Query<CaseQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<axum::Json<CaseList>> {
    let Query(q) = query.map_err(|e| ApiError::from(InvalidValue::new("query", e.body_text())))?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(InvalidValue::new("limit", "must be between 1 and 200").into());
    }
    let filter = Filter {
        status: q
            .status
            .map(|s| CaseStatus::parse(&s).ok_or_else(|| InvalidValue::new("status", "must be open or resolved")))
            .transpose()?,
        reason: q
            .reason
            .map(|s| CaseReason::parse(&s).ok_or_else(|| InvalidValue::new("reason", "is not a case reason")))
            .transpose()?,
        assignee: q.assignee,
        order_id: q
            .order_id
            .map(|s| OrderId::parse(&s).map_err(|_| InvalidValue::new("order_id", "is not an order id")))
            .transpose()?,
        before: q
            .before
            .map(|s| CaseId::parse(&s).map_err(|_| InvalidValue::new("before", "is not a case id")))
            .transpose()?,
    };
    let found = cases::list(&mut state.store.read().await?.conn(), &filter, limit).await?;
    let next = (found.len() == limit as usize).then(|| found.last().map(|c| c.id.to_string())).flatten();
    Ok(axum::Json(CaseList { cases: found.into_iter().map(CaseView::from).collect(), next }))
}

fn case_id(raw: &str) -> ApiResult<CaseId> {
    CaseId::parse(raw).map_err(|_| ApiError::NotFound("support case"))
}

/// The case, its notes, and its order's whole story.
pub async fn detail(state: &AppState, c: &mut Conn<'_>, id: CaseId) -> ApiResult<CaseDetail> {
    let case = cases::get(c, id).await?.ok_or(ApiError::NotFound("support case"))?;
    let notes = cases::notes(c, id)
        .await?
        .into_iter()
        .map(|n| CaseNoteView { at: from_micros(n.at), author: n.author, action: n.action, body: n.body })
        .collect();
    let order = orders::get(c, case.order_id).await?.ok_or(ApiError::NotFound("order"))?;
    let order = view::render(state, c, order).await?;
    let messages = notifications::for_order(c, case.order_id)
        .await?
        .into_iter()
        .map(|d| MessageView {
            id: d.id,
            event: d.kind.as_str().to_string(),
            channel: d.channel.as_str(),
            status: d.status.as_str(),
            attempts: d.attempts,
            last_error: d.last_error,
            created_at: from_micros(d.created_at),
        })
        .collect();
    Ok(CaseDetail { case: case.into(), notes, order, messages })
}

/// One case with its order's whole story (support, admin).
#[utoipa::path(get, path = "/v1/ops/cases/{id}", tag = "ops", params(("id" = String, Path)), security(("staff_key" = [])),
    responses((status = 200, body = CaseDetail), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    _: SupportAuth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<CaseDetail>> {
    let id = case_id(&id)?;
    let mut read = state.store.read().await?;
    Ok(axum::Json(detail(&state, &mut read.conn(), id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseActionBody {
    /// `assign`, `note`, `retry_payment`, `retry_delivery`, `refund`, `reship`, `cancel` or `resolve`. Every
    /// action but `assign` and `note` resolves the case.
    pub action: String,
    /// A refund's amount; all that was paid and not yet refunded when left out.
    pub amount: Option<MoneyInput>,
    /// For the case's record (staff only): what was found and done. Up to 2,000 characters.
    #[serde(default)]
    pub note: String,
    /// For the customer, told with the resolution (up to 1,000 characters); a plain sentence of the action's own
    /// when left out.
    pub message: Option<String>,
    /// `assign`: the staff key id to give the case to; the one acting when left out.
    pub assignee: Option<String>,
}

impl CaseActionBody {
    fn request(self) -> Result<Request, InvalidValue> {
        let action = CaseAction::parse(&self.action).ok_or_else(|| {
            InvalidValue::new(
                "action",
                "must be assign, note, retry_payment, retry_delivery, refund, reship, cancel or resolve",
            )
        })?;
        if self.note.chars().count() > 2000 {
            return Err(InvalidValue::new("note", "at most 2,000 characters"));
        }
        let note = self.note.trim().to_string();
        if note.is_empty() && action != CaseAction::Assign {
            return Err(InvalidValue::new("note", "say what was found or done, for the case's record"));
        }
        if self.message.as_ref().is_some_and(|m| m.chars().count() > 1000) {
            return Err(InvalidValue::new("message", "at most 1,000 characters"));
        }
        let message = self.message.map(|m| m.trim().to_string()).filter(|m| !m.is_empty());
        if self.amount.is_some() && action != CaseAction::Refund {
            return Err(InvalidValue::new("amount", "only a refund takes an amount"));
        }
        let amount = self.amount.map(|a| a.parse("amount")).transpose()?;
        if self.assignee.as_ref().is_some_and(|a| a.chars().count() > 100 || a.chars().any(char::is_control)) {
            return Err(InvalidValue::new("assignee", "a staff key id"));
        }
        let assignee = self.assignee.map(|a| a.trim().to_string()).filter(|a| !a.is_empty());
        Ok(Request { action, amount, note, message, assignee })
    }
}

/// Act on a case (support, admin): take it, write in it, or settle it — retry the payment, send the messages
/// again, refund (all or `amount`), reship a lost or damaged parcel, cancel the order, or resolve. The customer
/// is told; the answer is the case as it now stands.
#[utoipa::path(post, path = "/v1/ops/cases/{id}/actions", tag = "ops", params(("id" = String, Path)),
    request_body = CaseActionBody, security(("staff_key" = [])),
    responses((status = 200, body = CaseDetail), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, description = "the action does not apply to this case or order now", body = Problem),
              (status = 422, body = Problem)))]
pub async fn act(
    State(state): State<AppState>,
    SupportAuth(staff): SupportAuth,
    Path(id): Path<String>,
    Json(body): Json<CaseActionBody>,
) -> ApiResult<axum::Json<CaseDetail>> {
    let id = case_id(&id)?;
    let request = body.request()?;
    Ok(axum::Json(perform(&state, &staff, id, &request).await?))
}

/// Does the action and answers the case as it then stands; the jobs it made (a refund, a void, a payment
/// tried again) run at once, as the placement's do.
pub async fn perform(
    state: &AppState,
    staff: &crate::auth::StaffMember,
    id: CaseId,
    request: &Request,
) -> ApiResult<CaseDetail> {
    let now = state.now_micros();
    let mut tx = state.store.write().await?;
    let jobs = support::act(&mut tx.conn(), state, id, staff, request, now).await?;
    tx.commit().await?;
    for job in jobs {
        crate::jobs::run_inline(state, Some(job)).await;
    }
    tracing::info!(case = %id, action = request.action.as_str(), by = %staff.who, "support case action");
    let mut read = state.store.read().await?;
    detail(state, &mut read.conn(), id).await
}
