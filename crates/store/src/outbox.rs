//! The transactional outbox: customer-facing events written in the same transaction as the change they
//! announce, so an event exists exactly when its change does. Senders (e-mail, webhooks) read from here.

use crate::{args, Conn, StoreError};
use buynow_domain::{CustomerId, EventId, OrderId};

pub async fn add(
    c: &mut Conn<'_>,
    order: OrderId,
    customer: CustomerId,
    kind: &str,
    payload: &str,
    at: i64,
) -> Result<EventId, StoreError> {
    let id = EventId::new();
    c.exec(
        "INSERT INTO outbox (id, order_id, customer_id, kind, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        args![id.to_string(), order.to_string(), customer.to_string(), kind, payload, at],
    )
    .await?;
    Ok(id)
}
