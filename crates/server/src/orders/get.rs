use super::view::{order_view, parse_order_id, render_many};
use crate::auth::CustomerAuth;
use crate::error::{ApiResult, Problem};
use crate::state::AppState;
use crate::views::{OrderList, OrderView};
use axum::extract::{Path, State};
use buynow_store::orders;

/// One of the customer's orders, with payment, shipments and the full timeline.
#[utoipa::path(get, path = "/v1/orders/{id}", tag = "orders", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = OrderView), (status = 404, body = Problem)))]
pub async fn get_order(
    State(state): State<AppState>,
    CustomerAuth(customer): CustomerAuth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<OrderView>> {
    let id = parse_order_id(&id)?;
    Ok(axum::Json(order_view(&state, &mut state.store.read().await?.conn(), customer, id).await?))
}

/// The customer's orders, newest first (the latest 50).
#[utoipa::path(get, path = "/v1/me/orders", tag = "orders", security(("bearer" = [])), responses((status = 200, body = OrderList)))]
pub async fn my_orders(
    State(state): State<AppState>,
    CustomerAuth(customer): CustomerAuth,
) -> ApiResult<axum::Json<OrderList>> {
    let mut read = state.store.read().await?;
    let mut c = read.conn();
    let orders = orders::for_customer(&mut c, customer, 50).await?;
    let views = render_many(&state, &mut c, orders).await?.into_iter().collect::<ApiResult<Vec<_>>>()?;
    Ok(axum::Json(OrderList { orders: views }))
}
