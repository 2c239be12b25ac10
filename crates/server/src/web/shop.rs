//! The catalog, a product's page, and Buy Now: its review pop-up (also a page of its own, for a browser without
//! JavaScript) and the placement, through the same services as the API's `/v1/buy-now`.

use super::form::{optional, Form, PagePath};
use super::page::{
    brand_name, day, form_alert, money, page, respond, speed_name, window, within, FormProblem, Nav, PageError,
};
use super::session::{Shopper, Visitor};
use crate::buy_now::{self, BuyNowRequest, Quote};
use crate::error::ApiError;
use crate::state::AppState;
use crate::views::{MoneyView, PreviewView, ProductView};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use buynow_domain::ledger::Account;
use buynow_domain::{Money, Sku};
use buynow_store::{catalog, customers, gift_cards, staff};
use maud::{html, Markup};
use serde::Deserialize;

/// At most this many of one item in one click.
const MAX_QUANTITY: i64 = 10;

pub async fn catalog(State(state): State<AppState>, visitor: Visitor) -> Result<Response, PageError> {
    let listings = catalog::listings(&mut state.store.read().await.map_err(ApiError::from)?.conn(), None)
        .await
        .map_err(ApiError::from)?;
    let products: Vec<ProductView> = listings.iter().map(ProductView::from).collect();
    let body = html! {
        h1 { "Today's shop" }
        ul.grid aria-label="Products" {
            @for p in &products {
                li.card.product {
                    h2 { a href={ "/products/" (p.sku) } { (p.title) } }
                    p.price { (money(&p.price)) }
                    @if p.prime_eligible { p { span.prime { "prime" } } }
                    p { (stock_words(p.available)) }
                }
            }
        }
    };
    Ok(respond(StatusCode::OK, page("Shop", Nav::Shop(&visitor), body)))
}

fn stock_words(available: i64) -> String {
    match available {
        n if n <= 0 => "Out of stock".into(),
        n if n < 10 => format!("Only {n} left in stock"),
        _ => "In stock".into(),
    }
}

fn parse_sku(raw: &str) -> Result<Sku, ApiError> {
    Sku::parse(raw).map_err(|_| ApiError::NotFound("product"))
}

pub async fn product(
    State(state): State<AppState>,
    visitor: Visitor,
    PagePath(sku): PagePath<String>,
) -> Result<Response, PageError> {
    let sku = parse_sku(&sku)?;
    let mut read = state.store.read().await.map_err(ApiError::from)?;
    let listing = catalog::listings(&mut read.conn(), Some(sku.as_str()))
        .await
        .map_err(ApiError::from)?
        .into_iter()
        .next()
        .ok_or(ApiError::NotFound("product"))?;
    let seller = match listing.product.seller() {
        Some(id) => staff::seller(&mut read.conn(), id).await.map_err(ApiError::from)?.map(|s| s.name),
        None => None,
    };
    drop(read);
    let p = ProductView::from(&listing);
    let promise = match &visitor.session {
        Some(session) => {
            let choices = BuyNowRequest {
                sku: p.sku.clone(),
                quantity: 1,
                payment_method_id: None,
                address_id: None,
                delivery_speed: None,
                use_gift_card_balance: false,
            }
            .parse()?;
            Some(buy_now::review(&state, session, &choices).await.map_err(FormProblem::from))
        }
        None => None,
    };
    let available = p.available.clamp(0, MAX_QUANTITY);
    let body = html! {
        article.card.product-page {
            h1 { (p.title) }
            p.price { (money(&p.price)) @if p.prime_eligible { " " span.prime { "prime" } } }
            p.stock { (stock_words(p.available)) }
            @if let Some(name) = &seller { p { "Sold and shipped by " strong { (name) } } }
            section.delivery aria-label="Delivery" {
                @match &promise {
                    None => p { a href={ "/signin?next=/products/" (p.sku) } { "Sign in" } " to see when it reaches your address." },
                    Some(Ok((review, quote))) => (promise_lines(&state, review, quote)),
                    Some(Err(problem)) => p.muted { (problem.message) },
                }
            }
            @if available > 0 {
                form.buy method="get" action={ "/buy/" (p.sku) } data-buy-now {
                    label for="quantity" { "Quantity" }
                    select #quantity name="quantity" {
                        @for n in 1..=available { option value=(n) { (n) } }
                    }
                    button.primary #buy-now type="submit" { "Buy Now" }
                }
            }
        }
        dialog #review aria-labelledby="review-title" {
            div #review-body {}
        }
    };
    Ok(respond(StatusCode::OK, page(&p.title, Nav::Shop(&visitor), body)))
}

/// "Order within 3 h 12 min for delivery Tuesday, December 8", then each speed's date and price.
fn promise_lines(state: &AppState, review: &PreviewView, quote: &Quote) -> Markup {
    let now = state.now();
    let centers = state.centers();
    let deadline = quote
        .plan
        .iter()
        .filter_map(|a| centers.by_code.get(&a.center))
        .filter_map(|info| info.calendar.ready_by(now + quote.hold).ok())
        .min()
        .map(|ready_by| ready_by - quote.hold);
    let selected = review.delivery_options.iter().find(|o| o.speed == review.selected_speed);
    html! {
        @if let (Some(deadline), Some(o)) = (deadline, selected) {
            p.promise {
                "Order within " strong { (within(deadline - now)) } " for "
                (speed_name(o.speed)) " delivery " strong { (day(o.estimated_delivery.latest)) } "."
            }
        }
        ul.options {
            @for o in &review.delivery_options {
                li {
                    (speed_name(o.speed)) ": " (window(o.estimated_delivery.earliest, o.estimated_delivery.latest))
                    " — " @if o.price.amount == 0 { "FREE" } @else { (money(&o.price)) }
                }
            }
        }
        p.muted { "To " (review.address.address.name) ", " (review.address.address.city) " " (review.address.address.postal_code) }
    }
}

/// The review's choices, as the pop-up's "Change" sends them.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct Choice {
    quantity: Option<String>,
    address_id: Option<String>,
    payment_method_id: Option<String>,
    delivery_speed: Option<String>,
    /// "Use my gift card balance", ticked.
    use_gift_card_balance: Option<String>,
    /// Only the pop-up's content, for the script that shows it in the product page.
    fragment: Option<String>,
}

impl Choice {
    fn request(&self, sku: &str) -> Result<BuyNowRequest, ApiError> {
        let quantity = match self.quantity.as_deref().map(str::trim) {
            None | Some("") => 1,
            Some(q) => super::form::number("quantity", q)?,
        };
        if quantity > MAX_QUANTITY {
            return Err(buynow_domain::InvalidValue::new("quantity", "at most 10 in one click").into());
        }
        Ok(BuyNowRequest {
            sku: sku.to_string(),
            quantity,
            payment_method_id: self.payment_method_id.as_deref().and_then(optional),
            address_id: self.address_id.as_deref().and_then(optional),
            delivery_speed: self.delivery_speed.as_deref().and_then(optional),
            use_gift_card_balance: self.use_gift_card_balance.as_deref().and_then(optional).is_some(),
        })
    }
}

/// The review: ship-to, payment, delivery options and totals, each with its "Change", and "Place your order".
pub async fn review(
    State(state): State<AppState>,
    shopper: Shopper,
    PagePath(sku): PagePath<String>,
    Query(choice): Query<Choice>,
) -> Result<Response, PageError> {
    let sku = parse_sku(&sku)?;
    let fragment = choice.fragment.is_some();
    let key = new_key();
    Ok(render_review(&state, &shopper, sku.as_str(), &choice, &key, None, fragment).await)
}

/// One review, rendered; a problem with the choices themselves shows in place of the totals.
async fn render_review(
    state: &AppState,
    shopper: &Shopper,
    sku: &str,
    choice: &Choice,
    key: &str,
    problem: Option<FormProblem>,
    fragment: bool,
) -> Response {
    let id = shopper.customer.id;
    let saved = async {
        let mut read = state.store.read().await?;
        let addresses = customers::addresses(&mut read.conn(), id).await?;
        let cards = customers::cards(&mut read.conn(), id).await?;
        let product = catalog::product_by_sku(&mut read.conn(), sku).await?;
        let gift_balance = gift_cards::balance(&mut read.conn(), &Account::Customer(id)).await?;
        Ok::<_, buynow_store::StoreError>((addresses, cards, product, gift_balance))
    };
    let (addresses, cards, product, gift_balance) = match saved.await {
        Ok(saved) => saved,
        Err(e) => return PageError(e.into()).into_response(),
    };
    let opened: Result<Vec<_>, ApiError> =
        addresses.iter().map(|a| crate::personal_data::address(&state.vault, a).map(|p| (a.id, p))).collect();
    let addresses = match opened {
        Ok(addresses) => addresses,
        Err(e) => return PageError(e).into_response(),
    };
    // The cards this item may be paid with (the shop's settings, narrowed by its seller's): the others are
    // shown but cannot be chosen, and when the default is one of them an accepted card is offered in its place.
    let accepted = state.payment_settings().for_item(product.as_ref().map_or("store", |p| p.fulfilled_by.as_str()));
    let takes = |c: &buynow_store::customers::SavedCard| accepted.takes_card(c.brand, c.funding);
    let mut reviewed = match choice.request(sku).and_then(|r| r.parse()) {
        Ok(choices) => buy_now::review(state, &shopper.session, &choices).await.map(|(view, _)| view),
        Err(e) => Err(e),
    };
    if matches!(&reviewed, Err(ApiError::Unprocessable("payment_method_not_accepted", _)))
        && choice.payment_method_id.as_deref().and_then(optional).is_none()
    {
        if let Some(card) = cards.iter().find(|c| takes(c)) {
            let instead = Choice { payment_method_id: Some(card.id.to_string()), ..choice.clone() };
            reviewed = match instead.request(sku).and_then(|r| r.parse()) {
                Ok(choices) => buy_now::review(state, &shopper.session, &choices).await.map(|(view, _)| view),
                Err(e) => Err(e),
            };
        }
    }
    let uses_gift_card = choice.use_gift_card_balance.as_deref().and_then(optional).is_some();
    let (status, problem, review) = match (reviewed, problem) {
        (Ok(view), None) => (StatusCode::OK, None, Some(view)),
        (Ok(view), Some(p)) => (p.status, Some(p), Some(view)),
        (Err(e), _) => {
            let p = FormProblem::from(e);
            (p.status, Some(p), None)
        }
    };
    let body = html! {
        div.review {
            h2 #review-title { "Review your order" }
            (form_alert(problem.as_ref(), &[]))
            @if let Some(r) = &review {
                form.choices method="get" action={ "/buy/" (sku) } data-review-choices {
                    input type="hidden" name="quantity" value=(r.quantity);
                    p.item { strong { (r.title) } " × " (r.quantity) " — " (money(&r.unit_price)) " each" }
                    section aria-labelledby="ship-to" {
                        h3 #ship-to { "Ship to" }
                        p { (r.address.address.name) ", " (r.address.address.line1) ", " (r.address.address.city) ", "
                            (r.address.address.region) " " (r.address.address.postal_code) }
                        details {
                            summary { "Change" span.visually-hidden { " shipping address" } }
                            fieldset {
                                legend.visually-hidden { "Shipping address" }
                                @for (address_id, a) in &addresses {
                                    @let id = address_id.to_string();
                                    label.choice {
                                        input type="radio" name="address_id" value=(id) checked[id == r.address.id];
                                        (a.name) ", " (a.line1) ", " (a.city) " " (a.region)
                                    }
                                }
                                a href="/account#addresses" { "Add an address" }
                            }
                        }
                    }
                    section aria-labelledby="pay-with" {
                        h3 #pay-with { "Payment method" }
                        p { (brand_name(r.payment_method.brand)) " ending in " (r.payment_method.last4) }
                        details {
                            summary { "Change" span.visually-hidden { " payment method" } }
                            fieldset {
                                legend.visually-hidden { "Payment method" }
                                @for c in &cards {
                                    @let id = c.id.to_string();
                                    label.choice {
                                        input type="radio" name="payment_method_id" value=(id) checked[id == r.payment_method.id] disabled[!takes(c)];
                                        (brand_name(c.brand.as_str())) " ending in " (c.last4) " (expires " (c.exp_month) "/" (c.exp_year) ")"
                                        @if !takes(c) { " — not accepted for this item" }
                                    }
                                }
                                p.hint { "This item takes " (accepted.describe()) "." }
                                a href="/account#cards" { "Add a card" }
                            }
                        }
                    }
                    @if gift_balance > 0 && accepted.gift_cards {
                        section aria-labelledby="gift-card" {
                            h3 #gift-card { "Gift card" }
                            label.choice {
                                input #use-gift-card type="checkbox" name="use_gift_card_balance" value="true" checked[uses_gift_card];
                                "Use my gift card balance (" (money(&MoneyView::from(Money::usd(gift_balance)))) ")"
                            }
                        }
                    }
                    section aria-labelledby="arrives" {
                        h3 #arrives { "Delivery" }
                        fieldset {
                            legend.visually-hidden { "Delivery speed" }
                            @for o in &r.delivery_options {
                                label.choice {
                                    input type="radio" name="delivery_speed" value=(o.speed) checked[o.speed == r.selected_speed];
                                    strong { (window(o.estimated_delivery.earliest, o.estimated_delivery.latest)) }
                                    " — " (speed_name(o.speed)) ", "
                                    @if o.price.amount == 0 { "FREE" } @else { (money(&o.price)) }
                                }
                            }
                        }
                    }
                    noscript { button type="submit" { "Update" } }
                }
                form.place method="post" action={ "/buy/" (sku) } data-place-order {
                    input type="hidden" name="csrf" value=(shopper.csrf);
                    input type="hidden" name="idempotency_key" value=(key);
                    input type="hidden" name="quantity" value=(r.quantity);
                    input type="hidden" name="address_id" value=(r.address.id);
                    input type="hidden" name="payment_method_id" value=(r.payment_method.id);
                    input type="hidden" name="delivery_speed" value=(r.selected_speed);
                    @if uses_gift_card { input type="hidden" name="use_gift_card_balance" value="true"; }
                    table.totals {
                        caption.visually-hidden { "Order summary" }
                        tr { th scope="row" { "Items" } td { (money(&r.subtotal)) } }
                        tr { th scope="row" { "Shipping" } td { (money(&r.shipping)) } }
                        tr { th scope="row" { "Tax" } td { (money(&r.tax)) } }
                        tr.total { th scope="row" { "Order total" } td #order-total { (money(&r.total)) } }
                        @if r.gift_card_applied.amount > 0 {
                            tr { th scope="row" { "Gift card" } td #gift-card-applied { "−" (money(&r.gift_card_applied)) } }
                            tr { th scope="row" { "Charged to your card" } td #card-part {
                                (money(&MoneyView { amount: r.total.amount - r.gift_card_applied.amount, ..r.total }))
                            } }
                        }
                    }
                    div.alert #place-error role="alert" hidden {}
                    div.actions {
                        button.primary #place-order type="submit" { "Place your order" }
                        button.secondary type="button" data-close-review { "Close" }
                    }
                }
            } @else {
                p { a href={ "/products/" (sku) } { "Back to the product" } }
            }
        }
    };
    if fragment {
        return respond(status, body);
    }
    respond(status, page("Review your order", Nav::Shop(&shopper.visitor()), body))
}

/// A new idempotency key, made when the review is shown: every press of its "Place your order" sends it.
fn new_key() -> String {
    format!("page_{}", uuid::Uuid::now_v7().simple())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PlaceForm {
    idempotency_key: String,
    #[serde(flatten)]
    choice: Choice,
}

/// "Place your order": the API's Buy Now, keyed by the review's idempotency key, so a double click or a
/// resent form is the same order. A script asks for JSON (where to go, or the problem); a plain form post is
/// sent to the order's page, or shown the review again with the problem.
pub async fn place(
    State(state): State<AppState>,
    shopper: Shopper,
    PagePath(sku): PagePath<String>,
    headers: HeaderMap,
    Form(form): Form<PlaceForm>,
) -> Result<Response, PageError> {
    let sku = parse_sku(&sku)?;
    let wants_json =
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("application/json"));
    let choice = form.choice;
    let key = form.idempotency_key.trim().to_string();
    let placed = async {
        if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ApiError::BadRequest("idempotency_key_invalid", "reload the page and try again".into()));
        }
        let choices = choice.request(sku.as_str())?.parse()?;
        buy_now::place(&state, &shopper.session, key.clone(), choices).await
    }
    .await;
    match (placed, wants_json) {
        (Ok(p), true) => {
            let location = format!("/orders/{}?placed=1", p.order.id);
            let authenticate = p.order.payment.next_action.as_ref().map(|a| a.url.clone());
            let declined = p.order.status == "payment_action_required" && authenticate.is_none();
            let body = serde_json::json!({
                "location": location,
                "order_id": p.order.id,
                "status": p.order.status,
                "declined": declined,
                "authenticate": authenticate,
                "message": p.order.payment.message,
            });
            Ok((StatusCode::CREATED, axum::Json(body)).into_response())
        }
        // The card's bank asks the customer to authenticate: straight to its page, which sends them back.
        (Ok(p), false) => match &p.order.payment.next_action {
            Some(action) => Ok(Redirect::to(&action.url).into_response()),
            None => Ok(Redirect::to(&format!("/orders/{}?placed=1", p.order.id)).into_response()),
        },
        (Err(e), true) => Ok(e.into_response()),
        (Err(e), false) => {
            Ok(render_review(&state, &shopper, sku.as_str(), &choice, &key, Some(e.into()), false).await)
        }
    }
}
