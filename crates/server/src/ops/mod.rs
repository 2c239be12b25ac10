//! Staff endpoints: the admin's catalog, stock, centers, sellers and staff keys; the warehouse's (and sellers')
//! shipments and returns; support's cases.

pub(crate) mod audit;
pub(crate) mod cases;
mod centers;
mod gift_cards;
pub(crate) mod keys;
mod payment_settings;
mod products;
mod returns;
mod sellers;
pub(crate) mod shipments;
mod stock;

pub use sellers::{new_seller, write_seller};

use crate::state::AppState;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(products::create_product))
        .routes(routes!(stock::set_stock))
        .routes(routes!(centers::create, centers::list))
        .routes(routes!(centers::update))
        .routes(routes!(sellers::create))
        .routes(routes!(keys::issue, keys::list))
        .routes(routes!(keys::revoke))
        .routes(routes!(audit::list))
        .routes(routes!(cases::list))
        .routes(routes!(cases::get))
        .routes(routes!(cases::act))
        .routes(routes!(gift_cards::issue))
        .routes(routes!(payment_settings::get_shop, payment_settings::put_shop))
        .routes(routes!(payment_settings::get_seller, payment_settings::put_seller))
        .routes(routes!(shipments::pick_lists))
        .routes(routes!(shipments::pick))
        .routes(routes!(shipments::pack))
        .routes(routes!(shipments::ship))
        .routes(routes!(shipments::label))
        .routes(routes!(returns::receive))
}
