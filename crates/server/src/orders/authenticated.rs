use super::view::{customers_order, order_view, parse_order_id};
use crate::auth::CustomerAuth;
use crate::error::{ApiError, ApiResult, Problem};
use crate::jobs;
use crate::services::lifecycle;
use crate::state::AppState;
use crate::views::OrderView;
use axum::extract::{Path, State};
use buynow_domain::{EventKind, OrderEvent, OrderStatus, PaymentStatus};
use buynow_store::payments;

/// The customer is back from their bank's authentication page (the order's `payment.next_action`): the
/// processor is asked for its answer. Approved, the order goes on; failed, it waits for another card as after
/// a decline; not done yet, it asks again.
#[utoipa::path(post, path = "/v1/orders/{id}/payment/authenticated", tag = "orders", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = OrderView), (status = 404, body = Problem),
              (status = 409, description = "the order's payment is not waiting for authentication", body = Problem)))]
#[tracing::instrument(skip_all, fields(customer = %customer, order = %id))]
pub async fn authenticated(
    State(state): State<AppState>,
    CustomerAuth(customer): CustomerAuth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<OrderView>> {
    let id = parse_order_id(&id)?;
    let now = state.now_micros();
    let mut tx = state.store.write().await?;
    let order = customers_order(&mut tx.conn(), customer, id).await?;
    let payment = payments::latest_for_order(&mut tx.conn(), id).await?.ok_or(ApiError::NotFound("payment"))?;
    if order.status != OrderStatus::PaymentActionRequired || payment.status != PaymentStatus::RequiresAuthentication {
        // Asked twice (a reload of the page the bank sent the customer back to): the order as it stands.
        drop(tx);
        return Ok(axum::Json(order_view(&state, &mut state.store.read().await?.conn(), customer, id).await?));
    }
    let (from, to) = (PaymentStatus::RequiresAuthentication, PaymentStatus::Pending);
    if !payments::set_status(&mut tx.conn(), payment.id, from, to, None, None, now).await? {
        return Err(ApiError::Conflict("invalid_state", "the payment changed meanwhile; reload the order".into()));
    }
    let note = "Back from your bank: asking for its answer";
    lifecycle::apply(&mut tx.conn(), &order, OrderEvent::PaymentRevised, EventKind::PaymentRevised, note, now).await?;
    let job = jobs::enqueue(&mut tx.conn(), jobs::authorize_again(payment.id, now)).await?;
    tx.commit().await?;
    jobs::run_inline(&state, job).await;
    Ok(axum::Json(order_view(&state, &mut state.store.read().await?.conn(), customer, id).await?))
}
