//! The order as the customer sees it.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::views::*;
use buynow_domain::card::Brand;
use buynow_domain::{
    CustomerId, Money, OrderId, OrderStatus, PaymentMethodId, PaymentStatus, ShipmentId, ShipmentStatus,
};
use buynow_payments::DeclineCode;
use buynow_store::customers::{self, SavedCard};
use buynow_store::orders::{self, Item, Order, TimelineEntry};
use buynow_store::payments::Payment;
use buynow_store::returns::Return;
use buynow_store::shipments::{self, Shipment};
use buynow_store::tracking::{self, TrackingEvent};
use buynow_store::{from_micros, payments, returns, Conn};
use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

/// An order id from a path; one that cannot exist is simply not found.
pub fn parse_order_id(raw: &str) -> ApiResult<OrderId> {
    OrderId::parse(raw).map_err(|_| ApiError::NotFound("order"))
}

/// The customer's own order. Another customer's is "not found", never "forbidden", so ids reveal nothing.
pub async fn customers_order(c: &mut Conn<'_>, customer: CustomerId, id: OrderId) -> ApiResult<Order> {
    orders::get(c, id).await?.filter(|o| o.customer_id == customer).ok_or(ApiError::NotFound("order"))
}

pub async fn order_view(state: &AppState, c: &mut Conn<'_>, customer: CustomerId, id: OrderId) -> ApiResult<OrderView> {
    let order = customers_order(c, customer, id).await?;
    render(state, c, order).await
}

fn date(s: &str) -> ApiResult<chrono::NaiveDate> {
    chrono::NaiveDate::from_str(s).map_err(ApiError::internal)
}

pub async fn render(state: &AppState, c: &mut Conn<'_>, order: Order) -> ApiResult<OrderView> {
    render_many(state, c, vec![order]).await?.pop().unwrap_or_else(|| Err(ApiError::internal("an order went unshown")))
}

/// The views of `orders`, in their order, read with one query per kind of row for all of them: a page of
/// orders, or the orders of a batch of messages (on PostgreSQL each query is a round trip, and a batch names up
/// to a hundred orders). One that cannot be shown (without a payment, say) is an error of its own.
pub async fn render_many(
    state: &AppState,
    c: &mut Conn<'_>,
    orders: Vec<Order>,
) -> ApiResult<Vec<ApiResult<OrderView>>> {
    let ids: Vec<OrderId> = orders.iter().map(|o| o.id).collect();
    let mut items = orders::items_of(c, &orders).await?;
    let mut rows = shipments::for_orders(c, &ids).await?;
    let mut timelines = orders::timelines_of(c, &ids).await?;
    let mut payments = payments::latest_for_orders(c, &ids).await?;
    let mut attempts = payments::attempts_of(c, &ids).await?;
    let mut returns = returns::for_orders(c, &ids).await?;
    let mut card_ids: Vec<PaymentMethodId> = payments.values().map(|p| p.payment_method_id).collect();
    card_ids.sort();
    card_ids.dedup();
    let cards: HashMap<PaymentMethodId, SavedCard> =
        customers::cards_by_id(c, &card_ids).await?.into_iter().map(|card| (card.id, card)).collect();
    let parcels: Vec<ShipmentId> = rows.values().flatten().map(Shipment::parcel).collect();
    let tracking = tracking::for_shipments(c, &parcels).await?;
    let mut views = Vec::with_capacity(orders.len());
    for order in orders {
        let id = order.id;
        let rows = rows.remove(&id).unwrap_or_default();
        let shipments = shipment_views(state, c, &rows, &tracking).await?;
        let Some(payment) = payments.remove(&id) else {
            views.push(Err(ApiError::internal("order without payment")));
            continue;
        };
        // Only the order's own customer's card is shown.
        let card = cards.get(&payment.payment_method_id).filter(|card| card.customer_id == order.customer_id);
        let authenticate_at = authentication_url(state, &payment);
        // Cancellable while the state allows it and no parcel has started picking.
        let picking = rows.iter().any(|s| {
            !matches!(s.status, ShipmentStatus::Pending | ShipmentStatus::Released | ShipmentStatus::Cancelled)
        });
        views.push(assemble(
            &state.vault,
            OrderParts {
                order,
                items: items.remove(&id).unwrap_or_default(),
                shipments,
                timeline: timelines.remove(&id).unwrap_or_default(),
                payment,
                attempts: attempts.remove(&id).unwrap_or_default(),
                card: card.map(|c| (c.brand, c.last4.clone())),
                returns: returns.remove(&id).unwrap_or_default(),
                picking,
                authenticate_at,
            },
        ));
    }
    Ok(views)
}

/// Where the customer authenticates a payment that waits for it: the processor's page, which sends them back
/// to `/orders/{id}/authenticated`. A path when the page is on this server (the in-process sandbox), else the
/// processor's address, with this shop's public address to come back to.
pub fn authentication_url(state: &AppState, payment: &Payment) -> Option<String> {
    if payment.status != PaymentStatus::RequiresAuthentication {
        return None;
    }
    let challenge = payment.challenge.as_deref()?;
    let back = format!("/orders/{}/authenticated", payment.order_id);
    let url = state.gateway.authentication_url(challenge, &back);
    if url.starts_with('/') {
        return Some(url);
    }
    Some(state.gateway.authentication_url(challenge, &format!("{}{back}", state.config.public_url)))
}

/// The order's shipment rows as the parcels they travel in, with each parcel's carrier and scans.
/// `tracking` holds the applied scans of the parcels, read beforehand for every order shown (see `render_many`).
pub async fn shipment_views(
    state: &AppState,
    c: &mut Conn<'_>,
    rows: &[Shipment],
    tracking: &HashMap<ShipmentId, Vec<TrackingEvent>>,
) -> ApiResult<Vec<ShipmentView>> {
    let mut parcels: BTreeMap<ShipmentId, (Vec<&Shipment>, bool)> = BTreeMap::new();
    for row in rows {
        let (key, live) = match row.status {
            ShipmentStatus::Cancelled => (row.id, false),
            _ => (row.parcel(), true),
        };
        let entry = parcels.entry(key).or_insert_with(|| (Vec::new(), live));
        entry.0.push(row);
    }
    let mut views = Vec::with_capacity(parcels.len());
    for (id, (mine, live)) in parcels {
        let head = match mine.iter().find(|s| s.id == id) {
            Some(own) => (*own).clone(),
            None => shipments::get(c, id).await?.ok_or_else(|| ApiError::internal("a parcel without its head"))?,
        };
        let events = match tracking.get(&id) {
            Some(events) if live && head.carrier.is_some() => events.clone(),
            _ => Vec::new(),
        };
        let status = if live { mine[0].status } else { ShipmentStatus::Cancelled };
        let carrier = head.carrier.as_deref().and_then(|code| state.carrier(code));
        views.push(ShipmentView {
            id: id.to_string(),
            status: status.as_str(),
            fulfillment_center: head.center.clone(),
            quantity: mine.iter().map(|s| s.quantity).sum(),
            carrier: head.carrier.clone(),
            service: head.service.clone(),
            tracking_url: carrier.zip(head.tracking_number.as_deref()).map(|(c, n)| c.tracking_link(n)),
            tracking_number: head.tracking_number.clone(),
            shipped_at: head.shipped_at.map(from_micros),
            delivered_at: mine.iter().filter_map(|s| s.delivered_at).max().map(from_micros),
            events: events
                .into_iter()
                .map(|e| TrackingEventView {
                    at: from_micros(e.occurred_at),
                    description: describe(&e.kind, e.detail.as_deref()),
                    kind: e.kind,
                    location: e.location,
                })
                .collect(),
        });
    }
    Ok(views)
}

fn describe(kind: &str, detail: Option<&str>) -> String {
    let base = match kind {
        "in_transit" => "In transit",
        "out_for_delivery" => "Out for delivery",
        "delivered" => "Delivered",
        _ => "Delayed",
    };
    match detail {
        Some(d) if !d.is_empty() => format!("{base}: {d}"),
        _ => base.to_string(),
    }
}

/// Shipments just written by a placement, before anything happened to them.
pub fn pending_views(rows: &[Shipment]) -> Vec<ShipmentView> {
    rows.iter()
        .map(|s| ShipmentView {
            id: s.id.to_string(),
            status: s.status.as_str(),
            fulfillment_center: s.center.clone(),
            quantity: s.quantity,
            carrier: None,
            service: None,
            tracking_number: None,
            tracking_url: None,
            shipped_at: None,
            delivered_at: None,
            events: Vec::new(),
        })
        .collect()
}

/// Everything an order's view is made of.
pub struct OrderParts {
    pub order: Order,
    pub items: Vec<Item>,
    pub shipments: Vec<ShipmentView>,
    pub timeline: Vec<TimelineEntry>,
    /// The latest payment attempt.
    pub payment: Payment,
    /// Every step of the order's payments.
    pub attempts: Vec<payments::Attempt>,
    /// The brand and last four digits of its card, while the card is on file.
    pub card: Option<(Brand, String)>,
    pub returns: Vec<Return>,
    /// Some parcel has started picking: no cancel any more.
    pub picking: bool,
    /// Where the customer authenticates the payment, when their bank asks them to.
    pub authenticate_at: Option<String>,
}

pub fn return_view(r: Return) -> ReturnView {
    let lines: Vec<crate::services::returns::Line> = serde_json::from_str(&r.lines).unwrap_or_default();
    ReturnView {
        label_url: format!("/v1/orders/{}/returns/{}/label", r.order_id, r.id),
        id: r.id.to_string(),
        order_id: r.order_id.to_string(),
        status: r.status,
        reason: r.reason,
        items: lines.into_iter().map(|l| ReturnLineView { sku: l.sku, quantity: l.quantity }).collect(),
        refund: r.refund.into(),
        carrier: r.carrier,
        tracking_number: r.tracking_number,
        condition: r.condition,
    }
}

/// The view of an order from its parts: from the database (`render`), or from what a placement has just
/// written, so Buy Now's answer needs no second read of it.
pub fn assemble(vault: &buynow_payments::Vault, parts: OrderParts) -> ApiResult<OrderView> {
    let OrderParts { order, items, shipments, timeline, payment, attempts, card, returns, picking, authenticate_at } =
        parts;
    let ship_to = crate::personal_data::ship_to(vault, &order)?;
    let decline = payment.decline_code.as_deref();
    let message = match order.status {
        OrderStatus::PaymentActionRequired if payment.status == PaymentStatus::RequiresAuthentication => {
            Some("Your bank asks you to confirm this payment.".to_string())
        }
        OrderStatus::PaymentActionRequired => {
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
            status: payment.status.as_str(),
            payment_method_id: payment.payment_method_id.to_string(),
            brand: card.as_ref().map(|(brand, _)| brand.as_str()),
            last4: card.map(|(_, last4)| last4),
            amount: payment.amount.into(),
            tender: tender(&payment, &attempts),
            next_action: authenticate_at.map(|url| NextActionView { kind: "authenticate", url }),
            decline_code: payment.decline_code.clone(),
            message,
            captured: payment.captured.into(),
            refunded: payment.refunded.into(),
            attempts: attempts
                .into_iter()
                .map(|a| PaymentAttemptView {
                    at: from_micros(a.at),
                    step: a.step,
                    amount: a.amount.into(),
                    outcome: a.outcome,
                    decline_code: a.decline_code,
                })
                .collect(),
        },
        shipments,
        timeline: timeline
            .into_iter()
            .map(|t| TimelineEntryView {
                at: from_micros(t.at),
                status: t.status.as_str(),
                event: t.event.as_str(),
                note: t.note,
            })
            .collect(),
        cancellable_until: (order.status.is_cancellable() && !picking).then(|| from_micros(order.hold_until)),
        on_hold: order.on_hold,
        hold_reason: order.hold_reason,
        returns: returns.into_iter().map(return_view).collect(),
        created_at: from_micros(order.created_at),
    })
}

/// The gift card's part (when it paid any) and the card's, each with what went back to it.
fn tender(payment: &Payment, attempts: &[payments::Attempt]) -> Vec<TenderView> {
    let currency = payment.amount.currency();
    let gift = payment.gift_amount.filter(|g| !g.is_zero()).map(|amount| {
        let returned: i64 = attempts
            .iter()
            .filter(|a| matches!(a.step.as_str(), "gift_card_reverse" | "gift_card_refund"))
            .map(|a| a.amount.minor())
            .sum();
        TenderView { source: "gift_card", amount: amount.into(), returned: Money::new(returned, currency).into() }
    });
    let card = (!payment.gift_card_only()).then(|| TenderView {
        source: "card",
        amount: payment.amount.into(),
        returned: payment.refunded.into(),
    });
    gift.into_iter().chain(card).collect()
}

fn decline_message(code: Option<&str>) -> &'static str {
    code.and_then(DeclineCode::parse).map_or("Your payment did not go through.", DeclineCode::message)
}
