use super::view::{customers_order, order_view, parse_order_id};
use crate::auth::CustomerAuth;
use crate::buy_now::usable_card;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Json;
use crate::jobs;
use crate::services::lifecycle;
use crate::state::AppState;
use crate::views::OrderView;
use axum::extract::{Path, State};
use buynow_domain::{EventKind, InvalidValue, OrderEvent, OrderStatus, PaymentMethodId};
use buynow_store::payments::{self, Payment};
use buynow_store::{customers, orders};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevisePayment {
    /// The card to try: another one, or the same again.
    pub payment_method_id: String,
}

/// After a decline (`payment_action_required`), pay with another card or retry the same one. A second
/// decline cancels the order and returns its stock.
#[utoipa::path(post, path = "/v1/orders/{id}/payment-method", tag = "orders", params(("id" = String, Path)),
    request_body = RevisePayment, security(("bearer" = [])),
    responses((status = 200, body = OrderView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
#[tracing::instrument(skip_all, fields(customer = %customer, order = %id))]
pub async fn revise_payment(
    State(state): State<AppState>,
    CustomerAuth(customer): CustomerAuth,
    Path(id): Path<String>,
    Json(body): Json<RevisePayment>,
) -> ApiResult<axum::Json<OrderView>> {
    let id = parse_order_id(&id)?;
    let pm = PaymentMethodId::parse(&body.payment_method_id)
        .map_err(|_| InvalidValue::new("payment_method_id", "no such id"))?;
    let now = state.now_micros();
    let mut tx = state.store.write().await?;
    let order = customers_order(&mut tx.conn(), customer, id).await?;
    let card = customers::card(&mut tx.conn(), customer, pm).await?.ok_or(ApiError::NotFound("payment method"))?;
    usable_card(&card, state.now().date_naive())?;
    if order.status != OrderStatus::PaymentActionRequired {
        return Err(ApiError::Conflict(
            "invalid_state",
            format!("the order is {}: its payment needs no revision", order.status.as_str()),
        ));
    }
    let note = format!("Payment method changed to {} ending {}", card.brand.as_str(), card.last4);
    lifecycle::apply(&mut tx.conn(), &order, OrderEvent::PaymentRevised, EventKind::PaymentRevised, &note, now).await?;
    orders::set_payment_method(&mut tx.conn(), id, pm).await?;
    // The card part of a split tender stays what it was: the gift card balance the order took stays taken.
    let last = payments::latest_for_order(&mut tx.conn(), id).await?.ok_or_else(|| ApiError::internal("no payment"))?;
    let payment = Payment { gift_amount: last.gift_amount, ..Payment::pending(id, pm, last.amount) };
    payments::insert(&mut tx.conn(), &payment, now).await?;
    let job = jobs::enqueue(&mut tx.conn(), jobs::authorize(payment.id, false, now)).await?;
    tx.commit().await?;
    jobs::run_inline(&state, job).await;
    Ok(axum::Json(order_view(&state, &mut state.store.read().await?.conn(), customer, id).await?))
}
