//! Your Orders: the list, an order's page with its timeline and parcels, and what the customer may do with it
//! (cancel, pay another way after a decline, send items back) — each through the API's own handler.

use super::form::{number, Form, NoFields, PagePath};
use super::page::{
    brand_name, field_message, form_alert, money, page, respond, speed_name, status_words, when, window,
};
use super::page::{FormProblem, Nav, PageError};
use super::session::Shopper;
use crate::auth::CustomerAuth;
use crate::error::ApiError;
use crate::extract::Json;
use crate::orders::{authenticated, cancel, get, help, returns, revise_payment};
use crate::services::returns::ReturnReason;
use crate::state::AppState;
use crate::views::{OrderView, PaymentMethodView};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use buynow_domain::{CaseStatus, EventKind};
use buynow_store::cases::{self, Case};
use buynow_store::customers;
use buynow_store::notifications::{self, Channel, Delivery, DeliveryStatus};
use maud::{html, Markup};
use serde::Deserialize;

pub async fn list(State(state): State<AppState>, shopper: Shopper) -> Result<Response, PageError> {
    let auth = CustomerAuth(shopper.customer.id);
    let axum::Json(list) = get::my_orders(State(state), auth).await?;
    let body = html! {
        h1 { "Your Orders" }
        @if list.orders.is_empty() {
            p { "No orders yet. " a href="/" { "Find something to buy." } }
        } @else {
            ol.orders aria-label="Orders, newest first" {
                @for o in &list.orders {
                    li.card {
                        h2 { a href={ "/orders/" (o.id) } { (summary(o)) } }
                        dl.facts {
                            dt { "Placed" } dd { (when(o.created_at)) }
                            dt { "Total" } dd { (money(&o.total)) }
                            dt { "Status" } dd { span.status { (status_words(o.status)) } }
                            dt { "Arriving" } dd { (window(o.estimated_delivery.earliest, o.estimated_delivery.latest)) }
                        }
                    }
                }
            }
        }
    };
    Ok(respond(StatusCode::OK, page("Your Orders", Nav::Shop(&shopper.visitor()), body)))
}

fn summary(o: &OrderView) -> String {
    o.items.iter().map(|i| format!("{} × {}", i.quantity, i.title)).collect::<Vec<_>>().join(", ")
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Shown {
    placed: Option<String>,
    asked: Option<String>,
}

pub async fn detail(
    State(state): State<AppState>,
    shopper: Shopper,
    PagePath(id): PagePath<String>,
    Query(shown): Query<Shown>,
) -> Result<Response, PageError> {
    let notice = match (shown.placed.is_some(), shown.asked.is_some()) {
        (true, _) => Some("Thank you: your order is placed."),
        (false, true) => Some("Thank you: we have your message, and our support team answers within a day."),
        _ => None,
    };
    render(&state, &shopper, &id, notice, None).await
}

async fn render(
    state: &AppState,
    shopper: &Shopper,
    id: &str,
    notice: Option<&str>,
    problem: Option<FormProblem>,
) -> Result<Response, PageError> {
    let auth = CustomerAuth(shopper.customer.id);
    let axum::Json(o) = get::get_order(State(state.clone()), auth, Path(id.to_string())).await?;
    let cards = if o.status == "payment_action_required" {
        let mut read = state.store.read().await.map_err(ApiError::from)?;
        let default = shopper.customer.default_payment_method_id;
        customers::cards(&mut read.conn(), shopper.customer.id)
            .await
            .map_err(ApiError::from)?
            .iter()
            .map(|c| PaymentMethodView::new(c, Some(c.id) == default))
            .collect()
    } else {
        Vec::new()
    };
    let (messages, asked) = {
        let mut read = state.store.read().await.map_err(ApiError::from)?;
        let order = crate::orders::view::parse_order_id(&o.id)?;
        let messages = notifications::for_order(&mut read.conn(), order).await.map_err(ApiError::from)?;
        let customer = shopper.customer.id.to_string();
        let cases = cases::for_order(&mut read.conn(), order).await.map_err(ApiError::from)?;
        (messages, cases.into_iter().filter(|c| c.opened_by == customer).collect::<Vec<_>>())
    };
    let status = problem.as_ref().map_or(StatusCode::OK, |p| p.status);
    let body = html! {
        (order_page(&o, &shopper.csrf, &cards, notice, problem.as_ref()))
        (get_help(&o, &shopper.csrf, &asked, problem.as_ref()))
        (messages_sent(&messages))
    };
    Ok(respond(status, page(&format!("Order {}", o.id), Nav::Shop(&shopper.visitor()), body)))
}

fn order_page(
    o: &OrderView,
    csrf: &str,
    cards: &[PaymentMethodView],
    notice: Option<&str>,
    problem: Option<&FormProblem>,
) -> Markup {
    let cancellable = o.cancellable_until.is_some();
    let returnable = o.status == "delivered";
    html! {
        @if let Some(n) = notice { div.notice role="status" { (n) } }
        (form_alert(problem, &["items", "reason", "payment_method_id", "message"]))
        h1 { "Order " span.mono { (o.id) } }
        p.lead { span.status #order-status { (status_words(o.status)) } }
        @if o.on_hold { p.alert { "On hold: " (o.hold_reason.as_deref().unwrap_or("a colleague is looking into it")) } }
        section.card aria-labelledby="what" {
            h2 #what { "Items" }
            ul { @for i in &o.items { li { (i.quantity) " × " (i.title) " — " (money(&i.unit_price)) " each" } } }
            table.totals {
                caption.visually-hidden { "Totals" }
                tr { th scope="row" { "Items" } td { (money(&o.subtotal)) } }
                tr { th scope="row" { "Shipping (" (speed_name(o.delivery_speed)) ")" } td { (money(&o.shipping)) } }
                tr { th scope="row" { "Tax" } td { (money(&o.tax)) } }
                tr.total { th scope="row" { "Order total" } td #order-total { (money(&o.total)) } }
            }
        }
        section.card aria-labelledby="delivery" {
            h2 #delivery { "Delivery" }
            p { "Estimated delivery: " strong #estimated-delivery { (window(o.estimated_delivery.earliest, o.estimated_delivery.latest)) } }
            p { "To " (o.ship_to.name) ", " (o.ship_to.line1) ", " (o.ship_to.city) ", " (o.ship_to.region) " " (o.ship_to.postal_code) }
            @for s in &o.shipments {
                div.shipment {
                    h3 { "Parcel from " (s.fulfillment_center) ": " (status_words(s.status)) }
                    @if let (Some(carrier), Some(number)) = (&s.carrier, &s.tracking_number) {
                        p {
                            (carrier) " tracking number "
                            @if let Some(url) = &s.tracking_url { a.tracking href=(url) { (number) } } @else { span.tracking { (number) } }
                        }
                    }
                    @if !s.events.is_empty() {
                        ol.events aria-label="Tracking events" {
                            @for e in &s.events {
                                li { (when(e.at)) " — " (e.description) @if let Some(l) = &e.location { " (" (l) ")" } }
                            }
                        }
                    }
                }
            }
        }
        section.card aria-labelledby="payment" {
            h2 #payment { "Payment" }
            @if o.payment.tender.iter().any(|t| t.source == "card") {
                p {
                    @if let (Some(brand), Some(last4)) = (&o.payment.brand, &o.payment.last4) { (brand_name(brand)) " ending in " (last4) ": " }
                    (status_words(o.payment.status))
                }
            }
            @if o.payment.tender.iter().any(|t| t.source == "gift_card") {
                ul #tender aria-label="Paid with" {
                    @for t in &o.payment.tender {
                        li {
                            @if t.source == "gift_card" { "Gift card balance: " } @else { "Card: " }
                            (money(&t.amount))
                            @if t.returned.amount > 0 { " (" (money(&t.returned)) " back)" }
                        }
                    }
                }
            }
            @if let Some(m) = &o.payment.message { p.alert role="alert" { (m) } }
            @if let Some(action) = &o.payment.next_action {
                p { a.button.primary #authenticate href=(action.url) { "Confirm with your bank" } }
                p.hint { "Or pay with another card:" }
            }
            @if o.status == "payment_action_required" {
                form.stack method="post" action={ "/orders/" (o.id) "/payment" } {
                    input type="hidden" name="csrf" value=(csrf);
                    fieldset {
                        legend { "Retry or change payment method" }
                        @for c in cards {
                            label.choice {
                                input type="radio" name="payment_method_id" value=(c.id) checked[c.id == o.payment.payment_method_id];
                                (brand_name(c.brand)) " ending in " (c.last4)
                            }
                        }
                        @if let Some(m) = field_message(problem, "payment_method_id") { p.field-error { (m) } }
                    }
                    button.primary type="submit" { "Pay with this card" }
                    p { a href="/account#cards" { "Add a card" } }
                }
            }
            @if !o.payment.attempts.is_empty() {
                table #payment-history {
                    caption { "Payment history" }
                    thead { tr { th scope="col" { "When" } th scope="col" { "What" } th scope="col" { "Amount" } th scope="col" { "Outcome" } } }
                    tbody {
                        @for a in &o.payment.attempts {
                            tr {
                                td { (when(a.at)) }
                                td { (step_words(&a.step)) }
                                td { (money(&a.amount)) }
                                td {
                                    (status_words(&a.outcome))
                                    @if let Some(code) = &a.decline_code { " (" (code.replace('_', " ")) ")" }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if cancellable {
            form.inline method="post" action={ "/orders/" (o.id) "/cancel" } {
                input type="hidden" name="csrf" value=(csrf);
                button.secondary #cancel-order type="submit" { "Cancel order" }
            }
        }
        @if returnable {
            section.card aria-labelledby="return" {
                h2 #return { "Return items" }
                form.stack method="post" action={ "/orders/" (o.id) "/returns" } {
                    input type="hidden" name="csrf" value=(csrf);
                    @for i in &o.items {
                        input type="hidden" name="sku" value=(i.sku);
                        label { "How many of " (i.title) " to send back"
                            input type="number" name="quantity" min="0" max=(i.quantity) value=(i.quantity); }
                    }
                    @if let Some(m) = field_message(problem, "items") { p.field-error { (m) } }
                    label for="reason" { "Why" }
                    select #reason name="reason" {
                        option value="damaged" { "It arrived damaged" }
                        option value="defective" { "It does not work" }
                        option value="wrong_item" { "Not what I ordered" }
                        option value="no_longer_needed" { "I no longer need it" }
                        option value="other" { "Something else" }
                    }
                    button.secondary type="submit" { "Request a return" }
                }
            }
        }
        @for r in &o.returns {
            section.card {
                h2 { "Return: " (status_words(&r.status)) }
                p { "Refund " (money(&r.refund)) " once it reaches us. Send it with " (r.carrier) ", tracking " (r.tracking_number) "." }
                p { a.return-label href={ "/orders/" (o.id) "/returns/" (r.id) "/label" } target="_blank" rel="noopener" { "Print the return label (PDF)" } }
            }
        }
        section.card aria-labelledby="timeline" {
            h2 #timeline { "Timeline" }
            ol.timeline {
                @for t in &o.timeline { li { time { (when(t.at)) } " — " (t.note) } }
            }
        }
    }
}

pub async fn cancel(
    State(state): State<AppState>,
    shopper: Shopper,
    PagePath(id): PagePath<String>,
    Form(_): Form<NoFields>,
) -> Result<Response, PageError> {
    let auth = CustomerAuth(shopper.customer.id);
    match cancel::cancel(State(state.clone()), auth, Path(id.clone())).await {
        Ok(axum::Json(o)) => Ok(Redirect::to(&format!("/orders/{}", o.id)).into_response()),
        Err(e @ (ApiError::Conflict(..) | ApiError::Unprocessable(..))) => {
            render(&state, &shopper, &id, None, Some(e.into())).await
        }
        Err(e) => Err(e.into()),
    }
}

/// "Get help with this order": the customer's requests and how they stand, and a form to write one.
fn get_help(o: &OrderView, csrf: &str, asked: &[Case], problem: Option<&FormProblem>) -> Markup {
    html! {
        section.card #help aria-labelledby="help-title" {
            h2 #help-title { "Get help with this order" }
            @if !asked.is_empty() {
                ul.saved #help-requests aria-label="Your requests" {
                    @for c in asked {
                        li { "Your request of " (when(buynow_store::from_micros(c.created_at))) ": "
                            @if c.status == CaseStatus::Open { strong { "open" } ", our support team answers within a day" }
                            @else { "answered" } }
                    }
                }
            }
            form.stack method="post" action={ "/orders/" (o.id) "/help" } {
                input type="hidden" name="csrf" value=(csrf);
                div.field {
                    label for="help-message" { "What do you need?" }
                    textarea #help-message name="message" rows="4" maxlength="2000" required
                        aria-describedby=[field_message(problem, "message").map(|_| "help-message-error")] {}
                    @if let Some(m) = field_message(problem, "message") { p.field-error #help-message-error { (m) } }
                }
                button.secondary type="submit" { "Send to support" }
            }
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct HelpForm {
    message: String,
}

/// The customer's question, through the API's own handler.
pub async fn ask_for_help(
    State(state): State<AppState>,
    shopper: Shopper,
    PagePath(id): PagePath<String>,
    Form(form): Form<HelpForm>,
) -> Result<Response, PageError> {
    let auth = CustomerAuth(shopper.customer.id);
    let body = Json(help::HelpRequest { message: form.message });
    match help::ask(State(state.clone()), auth, Path(id.clone()), body).await {
        Ok((_, axum::Json(_))) => Ok(Redirect::to(&format!("/orders/{id}?asked=1#help")).into_response()),
        Err(e @ (ApiError::Validation(_) | ApiError::Conflict(..))) => {
            render(&state, &shopper, &id, None, Some(e.into())).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The e-mails sent about the order, as the customer's message center lists them.
fn messages_sent(messages: &[Delivery]) -> Markup {
    let emails: Vec<&Delivery> = messages.iter().filter(|d| d.channel == Channel::Email).collect();
    html! {
        @if !emails.is_empty() {
            section.card #messages aria-labelledby="messages-title" {
                h2 #messages-title { "Messages about this order" }
                ul.saved {
                    @for d in emails {
                        li {
                            (event_words(d.kind)) " — "
                            @match (d.status, d.sent_at) {
                                (DeliveryStatus::Sent, Some(at)) => { "sent " (when(buynow_store::from_micros(at))) }
                                (DeliveryStatus::Dead, _) => { "could not be delivered" }
                                _ => { "on its way" }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// An event as the customer reads it in their messages.
pub fn event_words(kind: EventKind) -> &'static str {
    match kind {
        EventKind::OrderPlaced => "Order confirmation",
        EventKind::PaymentAuthorized => "Payment confirmed",
        EventKind::PaymentActionRequired => "Payment needs your attention",
        EventKind::OrderCancelled => "Cancellation",
        EventKind::ShipmentShipped => "Shipped, with tracking",
        EventKind::ShipmentOutForDelivery => "Out for delivery",
        EventKind::ShipmentDelayed => "Delivery delayed",
        EventKind::ShipmentDelivered => "Package delivered",
        EventKind::OrderDelivered => "Order delivered",
        EventKind::ReturnRequested => "Return label",
        EventKind::OrderRefunded => "Refund",
        _ => "Update",
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PaymentForm {
    payment_method_id: String,
}

pub async fn revise_payment(
    State(state): State<AppState>,
    shopper: Shopper,
    PagePath(id): PagePath<String>,
    Form(form): Form<PaymentForm>,
) -> Result<Response, PageError> {
    let auth = CustomerAuth(shopper.customer.id);
    let body = revise_payment::RevisePayment { payment_method_id: form.payment_method_id };
    match revise_payment::revise_payment(State(state.clone()), auth, Path(id.clone()), Json(body)).await {
        Ok(axum::Json(o)) => Ok(Redirect::to(&format!("/orders/{}", o.id)).into_response()),
        Err(e @ (ApiError::Conflict(..) | ApiError::Unprocessable(..) | ApiError::Validation(_))) => {
            render(&state, &shopper, &id, None, Some(e.into())).await
        }
        Err(ApiError::NotFound("payment method")) => {
            let e = buynow_domain::InvalidValue::new("payment_method_id", "choose one of your cards");
            render(&state, &shopper, &id, None, Some(ApiError::from(e).into())).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Where the bank's authentication page sends the customer back: the bank is asked for its answer, and the
/// customer sees the order as it then stands.
pub async fn authenticated(
    State(state): State<AppState>,
    shopper: Shopper,
    PagePath(id): PagePath<String>,
) -> Result<Response, PageError> {
    let auth = CustomerAuth(shopper.customer.id);
    let axum::Json(o) = authenticated::authenticated(State(state), auth, Path(id)).await?;
    Ok(Redirect::to(&format!("/orders/{}", o.id)).into_response())
}

/// The return form: one `sku` and `quantity` per item (parallel lists, as a form sends them), and a reason.
pub async fn request_return(
    State(state): State<AppState>,
    shopper: Shopper,
    PagePath(id): PagePath<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let auth = CustomerAuth(shopper.customer.id);
    let parsed = (|| {
        let skus = fields.iter().filter(|(k, _)| k == "sku").map(|(_, v)| v);
        let quantities = fields.iter().filter(|(k, _)| k == "quantity").map(|(_, v)| v);
        let mut items = Vec::new();
        for (sku, q) in skus.zip(quantities) {
            let quantity = number("items", q)?;
            if quantity > 0 {
                items.push(returns::ReturnItem { sku: sku.clone(), quantity });
            }
        }
        if items.is_empty() {
            return Err(buynow_domain::InvalidValue::new("items", "choose at least one item to send back").into());
        }
        let reason = fields.iter().find(|(k, _)| k == "reason").map(|(_, v)| v.as_str()).unwrap_or("");
        let reason: ReturnReason = serde_json::from_value(serde_json::Value::String(reason.to_string()))
            .map_err(|_| buynow_domain::InvalidValue::new("reason", "choose a reason"))?;
        Ok::<_, ApiError>(returns::ReturnRequest { items, reason })
    })();
    let result = match parsed {
        Ok(body) => returns::request(State(state.clone()), auth, Path(id.clone()), Json(body)).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/orders/{id}")).into_response()),
        Err(e @ (ApiError::Conflict(..) | ApiError::Unprocessable(..) | ApiError::Validation(_))) => {
            render(&state, &shopper, &id, None, Some(e.into())).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The return's label, as the API's `GET /v1/orders/{id}/returns/{return_id}/label` gives it.
pub async fn return_label(
    State(state): State<AppState>,
    shopper: Shopper,
    PagePath((id, return_id)): PagePath<(String, String)>,
) -> Result<Response, PageError> {
    let auth = CustomerAuth(shopper.customer.id);
    Ok(returns::label(State(state), auth, Path((id, return_id))).await?.into_response())
}

/// A payment step as the customer reads it.
fn step_words(step: &str) -> &'static str {
    match step {
        "authorize" => "Card authorization for",
        "capture" => "Charged for a shipment",
        "void" => "Hold released",
        "refund" => "Refunded",
        "gift_card_spend" => "Paid from your gift card balance",
        "gift_card_reverse" => "Returned to your gift card balance",
        "gift_card_refund" => "Refunded to your gift card balance",
        _ => "Payment",
    }
}
