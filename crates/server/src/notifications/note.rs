//! The order as a message tells it, made from the order as `GET /v1/orders/{id}` shows it when the message
//! goes out.

use crate::error::{ApiError, ApiResult};
use crate::orders::view::render_many;
use crate::personal_data::Person;
use crate::state::AppState;
use crate::views::OrderView;
use buynow_domain::{CustomerId, EventKind, OrderId};
use buynow_notify::format::zone_of;
use buynow_notify::message::{ItemLine, OrderNote, ParcelLine};
use buynow_store::customers::{self, Customer};
use buynow_store::notifications::Delivery;
use buynow_store::orders::{self, Order};
use std::collections::HashMap;

/// An order as its messages tell it: the order as its customer sees it, and the customer.
pub struct Told {
    pub view: OrderView,
    /// Whom it goes to: the customer's e-mail and name, opened for the send.
    pub person: Person,
}

/// The orders of a batch of deliveries, read together on one read connection (`render_many`: a few queries
/// for the whole batch, not a few per order). An order that cannot be told is an error for its deliveries alone.
pub async fn orders_for(state: &AppState, due: &[Delivery]) -> HashMap<OrderId, Result<Told, String>> {
    match read_orders(state, due).await {
        Ok(told) => told,
        Err(e) => due.iter().map(|d| (d.order_id, Err(e.to_string()))).collect(),
    }
}

async fn read_orders(state: &AppState, due: &[Delivery]) -> ApiResult<HashMap<OrderId, Result<Told, String>>> {
    let mut read = state.store.read().await?;
    let mut c = read.conn();
    // Each order is told only to its own customer, as `GET /v1/orders/{id}` shows it only to them.
    let owners: HashMap<OrderId, CustomerId> = due.iter().map(|d| (d.order_id, d.customer_id)).collect();
    let ids: Vec<OrderId> = owners.keys().copied().collect();
    let mut customer_ids: Vec<CustomerId> = owners.values().copied().collect();
    customer_ids.sort();
    customer_ids.dedup();
    let customers: HashMap<CustomerId, Customer> =
        customers::by_ids(&mut c, &customer_ids).await?.into_iter().map(|c| (c.id, c)).collect();
    let orders: Vec<Order> = orders::get_many(&mut c, &ids)
        .await?
        .into_iter()
        .filter(|o| owners.get(&o.id) == Some(&o.customer_id))
        .collect();
    let found: Vec<OrderId> = orders.iter().map(|o| o.id).collect();
    let views = render_many(state, &mut c, orders).await?;
    let mut told: HashMap<OrderId, Result<Told, String>> =
        ids.iter().map(|id| (*id, Err(ApiError::NotFound("order").to_string()))).collect();
    for (id, view) in found.into_iter().zip(views) {
        let one = view.map_err(|e| e.to_string()).and_then(|view| {
            let customer = owners.get(&id).and_then(|c| customers.get(c)).ok_or("the customer is gone")?;
            let person = crate::personal_data::person(&state.vault, customer).map_err(|e| e.to_string())?;
            Ok(Told { view, person })
        });
        told.insert(id, one);
    }
    Ok(told)
}

/// The amount a message names: a refund's, or what a requested return will bring.
pub async fn amount_for(state: &AppState, d: &Delivery, view: &OrderView) -> Option<i64> {
    match d.kind {
        EventKind::OrderRefunded => refund_of(state, d).await,
        EventKind::ReturnRequested => view.returns.last().map(|r| r.refund.amount),
        _ => None,
    }
}

/// The refund an `order.refunded` event announced (its payload holds the amount).
async fn refund_of(state: &AppState, d: &Delivery) -> Option<i64> {
    payload_of(state, d).await?["amount"]["amount"].as_i64()
}

/// What support said with a case's opening or resolution (the event's payload holds it).
pub async fn message_for(state: &AppState, d: &Delivery) -> Option<String> {
    match d.kind {
        EventKind::SupportCaseOpened | EventKind::SupportCaseResolved => {
            payload_of(state, d).await?["message"].as_str().map(str::to_string)
        }
        _ => None,
    }
}

async fn payload_of(state: &AppState, d: &Delivery) -> Option<serde_json::Value> {
    let mut read = state.store.read().await.ok()?;
    let row =
        read.conn().opt("SELECT payload FROM outbox WHERE id = $1", buynow_store::args![&d.event_id]).await.ok()??;
    serde_json::from_str(&row.text("payload").ok()?).ok()
}

pub fn order_note(state: &AppState, o: &OrderView, customer_name: &str) -> OrderNote {
    let a = &o.ship_to;
    let mut ship_to = vec![a.name.clone(), a.line1.clone()];
    ship_to.extend(a.line2.clone());
    ship_to.push(format!("{}, {} {}", a.city, a.region, a.postal_code));
    ship_to.push(a.country.clone());
    OrderNote {
        order_id: o.id.clone(),
        customer_name: customer_name.to_string(),
        currency: o.total.currency.to_string(),
        items: o
            .items
            .iter()
            .map(|i| ItemLine { title: i.title.clone(), quantity: i.quantity, unit_price: i.unit_price.amount })
            .collect(),
        shipping: o.shipping.amount,
        tax: o.tax.amount,
        total: o.total.amount,
        gift_card: o.payment.tender.iter().filter(|t| t.source == "gift_card").map(|t| t.amount.amount).sum(),
        ship_to,
        zone: zone_of(&a.country, &a.region),
        estimated_delivery: (o.estimated_delivery.earliest, o.estimated_delivery.latest),
        parcels: o
            .shipments
            .iter()
            .map(|s| ParcelLine {
                carrier: s.carrier.clone(),
                tracking_number: s.tracking_number.clone(),
                tracking_url: s.tracking_url.clone(),
            })
            .collect(),
        payment_message: o.payment.message.clone(),
        cancellable_until: o.cancellable_until,
        refunded: o.payment.refunded.amount,
        order_url: format!("{}/orders/{}", state.config.public_url.trim_end_matches('/'), o.id),
    }
}
