//! The customer's message center: what was sent to them, when, and about which order.

use crate::auth::CustomerAuth;
use crate::error::{ApiResult, Problem};
use crate::state::AppState;
use axum::extract::State;
use buynow_store::notifications;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct SentMessage {
    id: String,
    /// The event it is about, e.g. `shipment.shipped`.
    event: &'static str,
    order_id: String,
    /// `pending` (on its way), `sent`, or `dead` (it could not be delivered).
    status: &'static str,
    created_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct MessageList {
    messages: Vec<SentMessage>,
}

/// The e-mails sent to the signed-in customer, newest first (the latest 100).
#[utoipa::path(get, path = "/v1/me/messages", tag = "customers", security(("bearer" = [])),
    responses((status = 200, body = MessageList), (status = 401, body = Problem)))]
pub async fn my_messages(
    State(state): State<AppState>,
    CustomerAuth(id): CustomerAuth,
) -> ApiResult<axum::Json<MessageList>> {
    let sent = notifications::emails_for_customer(&mut state.store.read().await?.conn(), id, 100).await?;
    Ok(axum::Json(MessageList {
        messages: sent
            .into_iter()
            .map(|d| SentMessage {
                id: d.id,
                event: d.kind.as_str(),
                order_id: d.order_id.to_string(),
                status: d.status.as_str(),
                created_at: buynow_store::from_micros(d.created_at),
                sent_at: d.sent_at.map(buynow_store::from_micros),
            })
            .collect(),
    }))
}
