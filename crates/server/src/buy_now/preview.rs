use super::quote::{quote, BuyNowRequest, Choices, Quote, StockCheck};
use crate::auth::{SessionToken, TokenHash};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Json;
use crate::state::AppState;
use crate::views::{AddressView, MoneyView, PaymentMethodView, PreviewView};
use axum::extract::State;
use buynow_domain::Money;

/// The Buy Now review pop-up: item, default address and card, delivery options with dates and prices, totals.
/// Nothing is reserved or charged.
#[utoipa::path(post, path = "/v1/buy-now/preview", tag = "buy-now", request_body = BuyNowRequest, security(("bearer" = [])),
    responses((status = 200, body = PreviewView), (status = 404, body = Problem), (status = 409, description = "out of stock", body = Problem),
              (status = 422, description = "invalid input, or not deliverable to that address", body = Problem)))]
#[tracing::instrument(skip_all, fields(customer = tracing::field::Empty))]
pub async fn preview(
    State(state): State<AppState>,
    SessionToken(session): SessionToken,
    body: Result<Json<BuyNowRequest>, ApiError>,
) -> ApiResult<axum::Json<PreviewView>> {
    // As for Buy Now: without a good session, the answer is 401 whatever the body.
    let choices = match body.and_then(|Json(body)| body.parse()) {
        Ok(choices) => choices,
        Err(e) => {
            session.customer(&state).await?;
            return Err(e);
        }
    };
    Ok(axum::Json(review(&state, &session, &choices).await?.0))
}

/// The review of `choices` for the customer whose `session` it is, and the quote it was made from: the API's
/// preview and the product page's pop-up both come here.
pub async fn review(state: &AppState, session: &TokenHash, choices: &Choices) -> ApiResult<(PreviewView, Quote)> {
    let mut read = state.store.read().await?;
    let now = state.now();
    let q = quote(state, &mut read.conn(), session, choices, now, StockCheck::Require, None)
        .await?
        .map_err(|_| ApiError::internal("a review has no key to have been used"))?;
    drop(read);
    tracing::Span::current().record("customer", tracing::field::display(q.customer.id));
    let is_default_card = Some(q.card.id) == q.customer.default_payment_method_id;
    let is_default_address = Some(q.address.id) == q.customer.default_address_id;
    let view = PreviewView {
        sku: q.product.sku.clone(),
        title: q.product.title.clone(),
        quantity: q.quantity.get(),
        unit_price: q.product.price.into(),
        address: AddressView::new(&state.vault, &q.address, is_default_address)?,
        payment_method: PaymentMethodView::new(&q.card, is_default_card),
        gift_card_applied: MoneyView::from(q.gift_card.unwrap_or(Money::zero(q.totals.total.currency()))),
        delivery_options: q.option_views(),
        selected_speed: q.speed.as_str(),
        subtotal: q.totals.subtotal.into(),
        shipping: q.totals.shipping.into(),
        tax: q.totals.tax.into(),
        total: q.totals.total.into(),
    };
    Ok((view, q))
}
