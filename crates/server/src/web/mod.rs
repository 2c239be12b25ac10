//! The shop and the warehouse console as server-rendered pages (maud), served by the same binary as the API and
//! calling the same handlers and services, with a little plain JavaScript for the Buy Now pop-up.

mod account;
mod console;
mod form;
mod orders;
mod page;
pub(crate) mod session;
mod shop;
mod support;

use crate::state::AppState;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Router};

pub use page::PageError;

const CSS: &str = include_str!("../../assets/app.css");
const JS: &str = include_str!("../../assets/app.js");

/// Pages load nothing from elsewhere and run no inline script, and no other site may frame them.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(shop::catalog))
        .route("/products/{sku}", get(shop::product))
        .route("/buy/{sku}", get(shop::review).post(shop::place))
        .route("/signin", get(account::sign_in_page).post(account::sign_in))
        .route("/signup", get(account::sign_up_page).post(account::sign_up))
        .route("/signout", post(account::sign_out))
        .route("/account", get(account::account))
        .route("/account/addresses", post(account::add_address))
        .route("/account/addresses/{id}/default", post(account::default_address))
        .route("/account/cards", post(account::add_card))
        .route("/account/cards/{id}/default", post(account::default_card))
        .route("/account/membership", post(account::join))
        .route("/account/gift-cards", post(account::redeem_gift_card))
        .route("/orders", get(orders::list))
        .route("/orders/{id}", get(orders::detail))
        .route("/orders/{id}/cancel", post(orders::cancel))
        .route("/orders/{id}/payment", post(orders::revise_payment))
        .route("/orders/{id}/authenticated", get(orders::authenticated))
        .route("/orders/{id}/returns", post(orders::request_return))
        .route("/orders/{id}/help", post(orders::ask_for_help))
        .route("/orders/{id}/returns/{return_id}/label", get(orders::return_label))
        .route("/ops", get(console::home))
        .route("/ops/signin", get(console::sign_in_page).post(console::sign_in))
        .route("/ops/signout", post(console::sign_out))
        .route("/ops/orders", get(console::orders))
        .route("/ops/orders/{id}", get(console::order))
        .route("/ops/shipments/{id}", get(console::shipment))
        .route("/ops/shipments/{id}/label", get(console::label))
        .route("/ops/shipments/{id}/{step}", post(console::step))
        .route("/ops/deliveries", get(console::deliveries))
        .route("/ops/deliveries/{id}/retry", post(console::retry_delivery))
        .route("/ops/keys", get(console::keys).post(console::issue_key))
        .route("/ops/keys/{id}/revoke", post(console::revoke_key))
        .route("/ops/audit", get(console::audit_trail))
        .route("/ops/cases", get(support::queue))
        .route("/ops/cases/{id}", get(support::case))
        .route("/ops/cases/{id}/actions", post(support::act))
        .route("/assets/app.css", get(|| async { asset("text/css; charset=utf-8", CSS) }))
        .route("/assets/app.js", get(|| async { asset("text/javascript; charset=utf-8", JS) }))
        .layer(middleware::map_response(page_headers))
        .layer(middleware::from_fn(session::ensure_anon_cookie))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    response
}

async fn page_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
}

/// A page that is not there: the shop's own 404 page (the API's paths answer problem+json instead).
pub async fn not_found() -> Response {
    page_headers(PageError(crate::error::ApiError::NotFound("page")).into_response()).await
}

/// Whether a path belongs to the pages (anything but the API's).
pub fn is_page_path(path: &str) -> bool {
    !(path == "/v1" || path.starts_with("/v1/") || path == "/healthz" || path == "/readyz")
}
