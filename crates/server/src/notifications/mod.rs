//! Customer communication: the dispatcher that turns outbox events into e-mails and signed webhooks, the
//! webhook subscriptions under `/v1/ops/webhooks`, and the customer's message center.

mod dispatcher;
mod messages;
mod note;
pub(crate) mod webhooks;

pub use dispatcher::{idle, spawn_dispatcher};

use crate::state::AppState;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(webhooks::create, webhooks::list))
        .routes(routes!(webhooks::delete))
        .routes(routes!(webhooks::rotate))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(webhooks::failing))
        .routes(routes!(webhooks::retry))
        .routes(routes!(messages::my_messages))
}
