//! Carriers' tracking events: `POST /v1/carriers/{carrier}/events`, signed by the carrier.

mod events;

use crate::state::AppState;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events::receive))
}
