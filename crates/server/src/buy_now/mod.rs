//! The Buy Now review (`preview`) and the one-click placement.

mod place;
pub mod prefill;
mod preview;
mod quote;

pub use place::{place, Placement};
pub use preview::review;
pub use quote::{usable_card, BuyNowRequest, Choices, Quote};

use crate::state::AppState;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(preview::preview)).routes(routes!(place::buy_now))
}
