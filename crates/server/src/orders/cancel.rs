use super::view::{customers_order, order_view, parse_order_id};
use crate::auth::CustomerAuth;
use crate::error::{ApiResult, Problem};
use crate::jobs;
use crate::services::lifecycle;
use crate::state::AppState;
use crate::views::OrderView;
use axum::extract::{Path, State};
use buynow_domain::OrderStatus;

/// Cancel an order. Allowed until its shipment starts picking; after that the answer is 409 `not_cancellable`.
/// Cancelling an order that is already cancelled answers 200 with it, so a retried cancel is safe.
#[utoipa::path(post, path = "/v1/orders/{id}/cancel", tag = "orders", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = OrderView), (status = 404, body = Problem), (status = 409, body = Problem)))]
#[tracing::instrument(skip_all, fields(customer = %customer, order = %id))]
pub async fn cancel(
    State(state): State<AppState>,
    CustomerAuth(customer): CustomerAuth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<OrderView>> {
    let id = parse_order_id(&id)?;
    let now = state.now_micros();
    let mut tx = state.store.write().await?;
    let order = customers_order(&mut tx.conn(), customer, id).await?;
    let mut void_job = None;
    if order.status != OrderStatus::Cancelled {
        void_job = lifecycle::cancel(&mut tx.conn(), &order, "Cancelled at the customer's request", now).await?;
        tx.commit().await?;
        tracing::info!("order cancelled");
    } else {
        tx.rollback().await?;
    }
    jobs::run_inline(&state, void_job).await;
    Ok(axum::Json(order_view(&state, &mut state.store.read().await?.conn(), customer, id).await?))
}
