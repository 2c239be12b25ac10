//! The transactional outbox: customer-facing events written in the same transaction as the change they
//! announce, so an event exists exactly when its change does. The dispatcher (see `notifications`) fans each
//! event out into its deliveries: an e-mail to the customer, a webhook to each matching subscription.

use crate::{args, Conn, StoreError, Write};
use buynow_domain::{CustomerId, EventId, EventKind, OrderId};

/// An event to announce, written with the change it announces.
pub struct NewEvent<'a> {
    pub order: OrderId,
    pub customer: CustomerId,
    pub kind: EventKind,
    pub payload: &'a str,
    pub at: i64,
}

pub async fn add(
    c: &mut Conn<'_>,
    order: OrderId,
    customer: CustomerId,
    kind: EventKind,
    payload: &str,
    at: i64,
) -> Result<EventId, StoreError> {
    let (write, ids) = add_write(&[NewEvent { order, customer, kind, payload, at }]);
    c.together(vec![write]).await?;
    Ok(ids[0])
}

/// The write of events among others (see `Conn::together`), and the ids it gives them, in order.
pub fn add_write(events: &[NewEvent<'_>]) -> (Write<'static>, Vec<EventId>) {
    let ids: Vec<EventId> = events.iter().map(|_| EventId::new()).collect();
    let rows = events
        .iter()
        .zip(&ids)
        .map(|(e, id)| {
            args![id.to_string(), e.order.to_string(), e.customer.to_string(), e.kind.as_str(), e.payload, e.at]
        })
        .collect();
    let columns = &["id", "order_id", "customer_id", "kind", "payload", "created_at"];
    (Write::Rows { table: "outbox", columns, rows, tail: "" }, ids)
}
