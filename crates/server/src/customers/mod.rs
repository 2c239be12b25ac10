//! Customers: sign-up, sessions, the signed-in customer's profile, addresses, cards and membership.

mod addresses;
mod me;
mod membership;
mod payment_methods;
mod sessions;
mod sign_up;

use crate::state::AppState;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sign_up::sign_up))
        .routes(routes!(sessions::sign_in))
        .routes(routes!(me::me))
        .routes(routes!(addresses::add_address, addresses::list_addresses))
        .routes(routes!(payment_methods::add_payment_method, payment_methods::list_payment_methods))
        .routes(routes!(membership::join))
}

pub use me::customer_view;
