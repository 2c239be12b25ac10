//! Customers: sign-up, sessions, the signed-in customer's profile, addresses, cards and membership.

pub(crate) mod addresses;
pub(crate) mod gift_cards;
pub(crate) mod me;
pub(crate) mod membership;
pub(crate) mod password;
pub(crate) mod payment_methods;
pub(crate) mod sessions;
pub(crate) mod sign_up;

use crate::state::AppState;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sign_up::sign_up))
        .routes(routes!(sessions::sign_in))
        .routes(routes!(sessions::sign_out))
        .routes(routes!(me::me))
        .routes(routes!(password::change))
        .routes(routes!(addresses::add_address, addresses::list_addresses))
        .routes(routes!(addresses::make_default))
        .routes(routes!(payment_methods::add_payment_method, payment_methods::list_payment_methods))
        .routes(routes!(payment_methods::make_default))
        .routes(routes!(membership::join))
        .routes(routes!(gift_cards::redeem))
        .routes(routes!(gift_cards::activity))
}

pub use me::customer_view;
