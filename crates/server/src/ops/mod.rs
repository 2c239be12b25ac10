//! Staff endpoints. Today: the admin's catalog and stock calls fixed by DESIGN.md.

mod products;
mod stock;

use crate::state::AppState;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(products::create_product)).routes(routes!(stock::set_stock))
}
