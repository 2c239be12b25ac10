//! The order as the customer sees it.

use crate::error::{ApiError, ApiResult};
use crate::views::*;
use buynow_domain::card::Brand;
use buynow_domain::{CustomerId, OrderId, PostalAddress};
use buynow_payments::DeclineCode;
use buynow_store::orders::{self, Item, Order, Shipment, TimelineEntry};
use buynow_store::payments::Payment;
use buynow_store::{customers, from_micros, payments, Conn};
use std::str::FromStr;

/// An order id from a path; one that cannot exist is simply not found.
pub fn parse_order_id(raw: &str) -> ApiResult<OrderId> {
    OrderId::parse(raw).map_err(|_| ApiError::NotFound("order"))
}

/// The customer's own order. Another customer's is "not found", never "forbidden", so ids reveal nothing.
pub async fn customers_order(c: &mut Conn<'_>, customer: CustomerId, id: OrderId) -> ApiResult<Order> {
    orders::get(c, id).await?.filter(|o| o.customer_id == customer).ok_or(ApiError::NotFound("order"))
}

pub async fn order_view(c: &mut Conn<'_>, customer: CustomerId, id: OrderId) -> ApiResult<OrderView> {
    let order = customers_order(c, customer, id).await?;
    render(c, order).await
}

fn date(s: &str) -> ApiResult<chrono::NaiveDate> {
    chrono::NaiveDate::from_str(s).map_err(ApiError::internal)
}

pub async fn render(c: &mut Conn<'_>, order: Order) -> ApiResult<OrderView> {
    let items = orders::items(c, order.id).await?;
    let shipments = orders::shipments(c, order.id).await?;
    let timeline = orders::timeline(c, order.id).await?;
    let payment =
        payments::latest_for_order(c, order.id).await?.ok_or_else(|| ApiError::internal("order without payment"))?;
    let card = customers::card(c, order.customer_id, payment.payment_method_id).await?;
    assemble(OrderParts { order, items, shipments, timeline, payment, card: card.map(|c| (c.brand, c.last4)) })
}

/// Everything an order's view is made of, as stored.
pub struct OrderParts {
    pub order: Order,
    pub items: Vec<Item>,
    pub shipments: Vec<Shipment>,
    pub timeline: Vec<TimelineEntry>,
    /// The latest payment attempt.
    pub payment: Payment,
    /// The brand and last four digits of its card, while the card is on file.
    pub card: Option<(Brand, String)>,
}

/// The view of an order from its parts: from the database (`render`), or from what a placement has just
/// written, so Buy Now's answer needs no second read of it.
pub fn assemble(parts: OrderParts) -> ApiResult<OrderView> {
    let OrderParts { order, items, shipments, timeline, payment, card } = parts;
    let ship_to: PostalAddress = serde_json::from_str(&order.ship_to).map_err(ApiError::internal)?;
    let decline = payment.decline_code.as_deref();
    let message = match order.status {
        buynow_domain::OrderStatus::PaymentActionRequired => {
            Some(format!("{} Choose another payment method or try this one again.", decline_message(decline)))
        }
        _ => None,
    };
    Ok(OrderView {
        id: order.id.to_string(),
        status: order.status.as_str(),
        items: items
            .into_iter()
            .map(|i| OrderItemView {
                sku: i.sku,
                title: i.title,
                quantity: i.quantity,
                unit_price: i.unit_price.into(),
            })
            .collect(),
        subtotal: order.subtotal.into(),
        shipping: order.shipping.into(),
        tax: order.tax.into(),
        total: order.total.into(),
        delivery_speed: order.delivery_speed.as_str(),
        estimated_delivery: DeliveryWindowView {
            earliest: date(&order.estimated_earliest)?,
            latest: date(&order.estimated_latest)?,
        },
        ship_to: ship_to.into(),
        payment: PaymentView {
            status: payment.status.as_str().to_string(),
            payment_method_id: payment.payment_method_id.to_string(),
            brand: card.as_ref().map(|(brand, _)| brand.as_str()),
            last4: card.map(|(_, last4)| last4),
            amount: payment.amount.into(),
            decline_code: payment.decline_code.clone(),
            message,
        },
        shipments: shipments
            .into_iter()
            .map(|s| ShipmentView {
                id: s.id.to_string(),
                status: s.status,
                fulfillment_center: s.center,
                quantity: s.quantity,
                carrier: s.carrier,
                tracking_number: s.tracking_number,
                events: Vec::new(),
            })
            .collect(),
        timeline: timeline
            .into_iter()
            .map(|t| TimelineEntryView { at: from_micros(t.at), status: t.status, note: t.note })
            .collect(),
        cancellable_until: order.status.is_cancellable().then(|| from_micros(order.hold_until)),
        created_at: from_micros(order.created_at),
    })
}

fn decline_message(code: Option<&str>) -> &'static str {
    const CODES: [DeclineCode; 4] = [
        DeclineCode::CardDeclined,
        DeclineCode::InsufficientFunds,
        DeclineCode::ExpiredCard,
        DeclineCode::ProcessingError,
    ];
    CODES
        .into_iter()
        .find(|d| Some(d.as_str()) == code)
        .map_or("Your payment did not go through.", DeclineCode::message)
}
