//! Orders after placement: viewing, cancelling, revising payment after a decline, coming back from the bank's
//! authentication.

pub(crate) mod authenticated;
pub(crate) mod cancel;
pub(crate) mod get;
pub(crate) mod help;
pub(crate) mod returns;
pub(crate) mod revise_payment;
pub mod view;

use crate::state::AppState;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get::get_order))
        .routes(routes!(get::my_orders))
        .routes(routes!(cancel::cancel))
        .routes(routes!(revise_payment::revise_payment))
        .routes(routes!(authenticated::authenticated))
        .routes(routes!(returns::request))
        .routes(routes!(returns::label))
        .routes(routes!(help::ask))
}
