//! Signing up, in and out, and the account: addresses, cards (last four digits only), the gift card balance
//! and membership — each through the API's own handler, so a page accepts exactly what the API does.

use super::form::{number, optional, ticked, Form, NoFields, PagePath};
use super::page::{brand_name, field_message, form_alert, money, page, respond, when, FormProblem, Nav, PageError};
use super::session::{safe_next, session_cookie, Shopper, Visitor};
use crate::auth::{CustomerAuth, SessionToken, TokenHash};
use crate::customers::{addresses, gift_cards, membership, payment_methods, sessions, sign_up};
use crate::error::ApiError;
use crate::extract::{ClientAddress, Json, RequestId};
use crate::services::audit::request_id;
use crate::state::AppState;
use crate::views::{AddressView, PaymentMethodView};
use axum::extract::{Path, Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Next {
    next: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SignInForm {
    email: String,
    password: String,
    name: String,
    next: Option<String>,
}

/// One text field with its label and, when the problem is about it, its message (tied to it for screen readers).
pub(super) fn field(
    name: &str,
    label: &str,
    kind: &str,
    value: &str,
    autocomplete: &str,
    problem: Option<&FormProblem>,
) -> Markup {
    let message = field_message(problem, name);
    let error_id = format!("{name}-error");
    html! {
        div.field {
            label for=(name) { (label) }
            input #(name) name=(name) type=(kind) value=(value) autocomplete=(autocomplete)
                aria-invalid=[message.map(|_| "true")] aria-describedby=[message.map(|_| error_id.as_str())];
            @if let Some(m) = message { p.field-error id=(error_id) { (m) } }
        }
    }
}

fn sign_in_form(visitor: &Visitor, email: &str, next: &str, problem: Option<&FormProblem>) -> Markup {
    html! {
        section.card.narrow {
            h1 { "Sign in" }
            (form_alert(problem, &["email", "password"]))
            form.stack method="post" action="/signin" {
                input type="hidden" name="csrf" value=(visitor.csrf);
                input type="hidden" name="next" value=(next);
                (field("email", "E-mail", "email", email, "username", problem))
                (field("password", "Password", "password", "", "current-password", problem))
                button.primary type="submit" { "Sign in" }
            }
            p { "New here? " a href="/signup" { "Create your account" } }
        }
    }
}

pub async fn sign_in_page(visitor: Visitor, Query(q): Query<Next>) -> Response {
    let next = safe_next(q.next.as_deref(), "/");
    respond(StatusCode::OK, page("Sign in", Nav::Shop(&visitor), sign_in_form(&visitor, "", &next, None)))
}

pub async fn sign_in(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    address: ClientAddress,
    Form(form): Form<SignInForm>,
) -> Response {
    let next = safe_next(form.next.as_deref(), "/");
    let body = sessions::SignIn { email: form.email.clone(), password: form.password };
    match sessions::sign_in(State(state), RequestId(request_id(&headers)), address, Json(body)).await {
        Ok((_, axum::Json(session))) => signed_in(&headers, &session.token, &next),
        Err(e) => {
            let problem = FormProblem::from(e);
            let markup = sign_in_form(&visitor, &form.email, &next, Some(&problem));
            respond(problem.status, page("Sign in", Nav::Shop(&visitor), markup))
        }
    }
}

fn signed_in(headers: &HeaderMap, token: &str, next: &str) -> Response {
    let mut response = Redirect::to(next).into_response();
    response.headers_mut().append(SET_COOKIE, session_cookie(headers, Some(token)));
    response
}

fn sign_up_form(visitor: &Visitor, form: &SignInForm, problem: Option<&FormProblem>) -> Markup {
    html! {
        section.card.narrow {
            h1 { "Create your account" }
            (form_alert(problem, &["email", "password", "name"]))
            form.stack method="post" action="/signup" {
                input type="hidden" name="csrf" value=(visitor.csrf);
                (field("name", "Your name", "text", &form.name, "name", problem))
                (field("email", "E-mail", "email", &form.email, "email", problem))
                (field("password", "Password (at least 8 characters)", "password", "", "new-password", problem))
                button.primary type="submit" { "Create account" }
            }
            p { "Have an account? " a href="/signin" { "Sign in" } }
        }
    }
}

pub async fn sign_up_page(visitor: Visitor) -> Response {
    let markup = sign_up_form(&visitor, &SignInForm::default(), None);
    respond(StatusCode::OK, page("Create account", Nav::Shop(&visitor), markup))
}

pub async fn sign_up(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    address: ClientAddress,
    Form(form): Form<SignInForm>,
) -> Response {
    let body = sign_up::SignUp { email: form.email.clone(), password: form.password.clone(), name: form.name.clone() };
    let created = match sign_up::sign_up(State(state.clone()), Json(body)).await {
        Ok(_) => {
            let body = sessions::SignIn { email: form.email.clone(), password: form.password.clone() };
            sessions::sign_in(State(state), RequestId(request_id(&headers)), address, Json(body)).await
        }
        Err(e) => Err(e),
    };
    match created {
        Ok((_, axum::Json(session))) => signed_in(&headers, &session.token, "/account"),
        Err(e) => {
            let problem = FormProblem::from(e);
            let markup = sign_up_form(&visitor, &form, Some(&problem));
            respond(problem.status, page("Create account", Nav::Shop(&visitor), markup))
        }
    }
}

/// Ends the session in the database too, as the API's `DELETE /v1/sessions/current` does.
pub async fn sign_out(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    Form(_): Form<NoFields>,
) -> Result<Response, PageError> {
    if let Some(TokenHash(hash)) = visitor.session {
        sessions::sign_out(State(state), SessionToken(TokenHash(hash))).await?;
    }
    let mut response = Redirect::to("/").into_response();
    response.headers_mut().append(SET_COOKIE, session_cookie(&headers, None));
    Ok(response)
}

/// What the account page shows again after a form: the problem, and which form it was about.
struct Shown<'a> {
    problem: Option<(&'a str, FormProblem)>,
    address: AddressForm,
    card: CardForm,
}

impl Shown<'_> {
    fn problem(&self, form: &str) -> Option<&FormProblem> {
        self.problem.as_ref().filter(|(f, _)| *f == form).map(|(_, p)| p)
    }
}

pub async fn account(State(state): State<AppState>, shopper: Shopper) -> Result<Response, PageError> {
    let shown = Shown { problem: None, address: AddressForm::default(), card: CardForm::default() };
    render(&state, &shopper, shown).await
}

async fn render(state: &AppState, shopper: &Shopper, shown: Shown<'_>) -> Result<Response, PageError> {
    let auth = || CustomerAuth(shopper.customer.id);
    let axum::Json(addresses) = addresses::list_addresses(State(state.clone()), auth()).await?;
    let axum::Json(cards) = payment_methods::list_payment_methods(State(state.clone()), auth()).await?;
    let axum::Json(gift) = gift_cards::activity(State(state.clone()), auth()).await?;
    let status = shown.problem.as_ref().map_or(StatusCode::OK, |(_, p)| p.status);
    let c = &shopper.customer;
    let body = html! {
        h1 { "Your account" }
        section.card aria-labelledby="profile" {
            h2 #profile { "Profile" }
            p { (shopper.person.name) " · " (shopper.person.email) }
            @if c.prime {
                p { span.prime { "prime" } " You are a Prime member: free Two-Day delivery on eligible items." }
            } @else {
                form.inline method="post" action="/account/membership" {
                    input type="hidden" name="csrf" value=(shopper.csrf);
                    button.secondary type="submit" { "Join Prime" }
                }
                (form_alert(shown.problem("membership"), &[]))
            }
        }
        section.card #addresses aria-labelledby="addresses-title" {
            h2 #addresses-title { "Addresses" }
            (address_list(&addresses, &shopper.csrf))
            (address_form(&shopper.csrf, &shown.address, shown.problem("address")))
        }
        section.card #cards aria-labelledby="cards-title" {
            h2 #cards-title { "Cards" }
            (card_list(&cards, &shopper.csrf))
            (card_form(&shopper.csrf, &shown.card, shown.problem("card")))
        }
        (gift_card_section(&gift, &shopper.csrf, shown.problem("gift_card")))
    };
    Ok(respond(status, page("Your account", Nav::Shop(&shopper.visitor()), body)))
}

/// The balance, a form to redeem a code into it, and the latest movements.
fn gift_card_section(gift: &gift_cards::GiftCardActivity, csrf: &str, problem: Option<&FormProblem>) -> Markup {
    let words = |kind: &str| match kind {
        "redeem" => "Gift card redeemed",
        "spend" => "Spent on an order",
        "reverse" => "Returned from an order that did not go through",
        "refund" => "Refunded from an order",
        _ => "Movement",
    };
    html! {
        section.card #gift-cards aria-labelledby="gift-cards-title" {
            h2 #gift-cards-title { "Gift cards" }
            p { "Your gift card balance: " strong #gift-card-balance { (money(&gift.gift_card_balance)) } }
            form.stack method="post" action="/account/gift-cards" aria-labelledby="redeem-title" {
                h3 #redeem-title { "Redeem a gift card" }
                (form_alert(problem, &["code"]))
                input type="hidden" name="csrf" value=(csrf);
                (field("code", "Gift card code", "text", "", "off", problem))
                button.secondary type="submit" { "Redeem" }
            }
            @if !gift.movements.is_empty() {
                table {
                    caption { "Balance history" }
                    thead { tr { th scope="col" { "When" } th scope="col" { "What" } th scope="col" { "Amount" } } }
                    tbody {
                        @for m in gift.movements.iter().take(10) {
                            tr {
                                td { (when(m.at)) }
                                td {
                                    (words(m.kind))
                                    @if let Some(order) = &m.order_id { " · " a href={ "/orders/" (order) } { (order) } }
                                }
                                td { (money(&m.amount)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct GiftCardForm {
    code: String,
}

/// A code that does not redeem (unknown, taken, mistyped) is told beside the form; the code typed is not
/// shown back, as it is a secret.
pub async fn redeem_gift_card(
    State(state): State<AppState>,
    shopper: Shopper,
    Form(form): Form<GiftCardForm>,
) -> Result<Response, PageError> {
    let body = gift_cards::Redeem { code: form.code };
    match gift_cards::redeem(State(state.clone()), CustomerAuth(shopper.customer.id), Json(body)).await {
        Ok(_) => Ok(Redirect::to("/account#gift-cards").into_response()),
        Err(e @ (ApiError::Validation(_) | ApiError::NotFound(_) | ApiError::Conflict(..))) => {
            let shown = Shown {
                problem: Some(("gift_card", e.into())),
                address: AddressForm::default(),
                card: CardForm::default(),
            };
            render(&state, &shopper, shown).await
        }
        Err(e) => Err(e.into()),
    }
}

fn address_list(addresses: &[AddressView], csrf: &str) -> Markup {
    html! {
        ul.saved {
            @for a in addresses {
                li {
                    span { (a.address.name) ", " (a.address.line1) @if let Some(l2) = &a.address.line2 { ", " (l2) } ", "
                        (a.address.city) ", " (a.address.region) " " (a.address.postal_code) ", " (a.address.country) }
                    @if a.default { " " span.badge { "Default" } } @else {
                        form.inline method="post" action={ "/account/addresses/" (a.id) "/default" } {
                            input type="hidden" name="csrf" value=(csrf);
                            button.link type="submit" { "Make default" span.visually-hidden { ": " (a.address.line1) } }
                        }
                    }
                }
            }
        }
    }
}

fn card_list(cards: &[PaymentMethodView], csrf: &str) -> Markup {
    html! {
        ul.saved {
            @for c in cards {
                li {
                    span { (brand_name(c.brand)) " " (c.funding) " ending in " (c.last4) ", expires " (c.exp_month) "/" (c.exp_year) }
                    @if c.default { " " span.badge { "Default" } } @else {
                        form.inline method="post" action={ "/account/cards/" (c.id) "/default" } {
                            input type="hidden" name="csrf" value=(csrf);
                            button.link type="submit" { "Make default" span.visually-hidden { ": card ending in " (c.last4) } }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AddressForm {
    name: String,
    line1: String,
    line2: String,
    city: String,
    region: String,
    postal_code: String,
    country: String,
    default: Option<String>,
}

fn address_form(csrf: &str, f: &AddressForm, problem: Option<&FormProblem>) -> Markup {
    let fields = ["name", "line1", "line2", "city", "region", "postal_code", "country"];
    html! {
        form.stack method="post" action="/account/addresses" aria-labelledby="new-address" {
            h3 #new-address { "Add an address" }
            (form_alert(problem, &fields))
            input type="hidden" name="csrf" value=(csrf);
            (field("name", "Full name", "text", &f.name, "name", problem))
            (field("line1", "Street address", "text", &f.line1, "address-line1", problem))
            (field("line2", "Apartment, suite (optional)", "text", &f.line2, "address-line2", problem))
            (field("city", "City", "text", &f.city, "address-level2", problem))
            (field("region", "State or province (e.g. WA)", "text", &f.region, "address-level1", problem))
            (field("postal_code", "ZIP or postal code", "text", &f.postal_code, "postal-code", problem))
            (field("country", "Country (US or CA)", "text", if f.country.is_empty() { "US" } else { &f.country }, "country", problem))
            label.choice { input type="checkbox" name="default" value="yes" checked[f.default.is_some()]; "Use for Buy Now" }
            button.secondary type="submit" { "Save address" }
        }
    }
}

pub async fn add_address(
    State(state): State<AppState>,
    shopper: Shopper,
    Form(form): Form<AddressForm>,
) -> Result<Response, PageError> {
    let body = addresses::NewAddress {
        name: form.name.clone(),
        line1: form.line1.clone(),
        line2: optional(&form.line2),
        city: form.city.clone(),
        region: form.region.clone(),
        postal_code: form.postal_code.clone(),
        country: form.country.clone(),
        default: ticked(&form.default),
    };
    match addresses::add_address(State(state.clone()), CustomerAuth(shopper.customer.id), Json(body)).await {
        Ok(_) => Ok(Redirect::to("/account#addresses").into_response()),
        Err(e @ (ApiError::Validation(_) | ApiError::Unprocessable(..))) => {
            let shown = Shown { problem: Some(("address", e.into())), address: form, card: CardForm::default() };
            render(&state, &shopper, shown).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CardForm {
    number: String,
    exp_month: String,
    exp_year: String,
    cvc: String,
    default: Option<String>,
}

/// The card form never shows back what was typed in number or CVC, even beside a problem.
fn card_form(csrf: &str, f: &CardForm, problem: Option<&FormProblem>) -> Markup {
    let fields = ["number", "exp_month", "exp_year", "cvc"];
    html! {
        form.stack method="post" action="/account/cards" aria-labelledby="new-card" {
            h3 #new-card { "Add a card" }
            (form_alert(problem, &fields))
            input type="hidden" name="csrf" value=(csrf);
            (field("number", "Card number", "text", "", "cc-number", problem))
            div.row {
                (field("exp_month", "Month (MM)", "text", &f.exp_month, "cc-exp-month", problem))
                (field("exp_year", "Year (YYYY)", "text", &f.exp_year, "cc-exp-year", problem))
                (field("cvc", "Security code", "password", "", "cc-csc", problem))
            }
            label.choice { input type="checkbox" name="default" value="yes" checked[f.default.is_some()]; "Use for Buy Now" }
            button.secondary type="submit" { "Save card" }
        }
    }
}

pub async fn add_card(
    State(state): State<AppState>,
    shopper: Shopper,
    Form(form): Form<CardForm>,
) -> Result<Response, PageError> {
    let parsed = (|| {
        Ok::<_, ApiError>(payment_methods::NewPaymentMethod {
            kind: payment_methods::PaymentMethodType::Card,
            number: form.number.clone(),
            exp_month: number("exp_month", &form.exp_month)?,
            exp_year: number("exp_year", &form.exp_year)?,
            cvc: form.cvc.clone(),
            default: ticked(&form.default),
        })
    })();
    let saved = match parsed {
        Ok(body) => {
            payment_methods::add_payment_method(State(state.clone()), CustomerAuth(shopper.customer.id), Json(body))
                .await
                .map(drop)
        }
        Err(e) => Err(e),
    };
    match saved {
        Ok(()) => Ok(Redirect::to("/account#cards").into_response()),
        Err(e @ (ApiError::Validation(_) | ApiError::Unprocessable(..))) => {
            let card = CardForm { number: String::new(), cvc: String::new(), ..form };
            let shown = Shown { problem: Some(("card", e.into())), address: AddressForm::default(), card };
            render(&state, &shopper, shown).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn default_address(
    State(state): State<AppState>,
    shopper: Shopper,
    PagePath(id): PagePath<String>,
    Form(_): Form<NoFields>,
) -> Result<Response, PageError> {
    let _ = addresses::make_default(State(state), CustomerAuth(shopper.customer.id), Path(id)).await?;
    Ok(Redirect::to("/account#addresses").into_response())
}

pub async fn default_card(
    State(state): State<AppState>,
    shopper: Shopper,
    PagePath(id): PagePath<String>,
    Form(_): Form<NoFields>,
) -> Result<Response, PageError> {
    let _ = payment_methods::make_default(State(state), CustomerAuth(shopper.customer.id), Path(id)).await?;
    Ok(Redirect::to("/account#cards").into_response())
}

pub async fn join(
    State(state): State<AppState>,
    shopper: Shopper,
    Form(_): Form<NoFields>,
) -> Result<Response, PageError> {
    let body = membership::Join { plan: membership::Plan::Prime };
    let _ = membership::join(State(state), CustomerAuth(shopper.customer.id), Json(body)).await?;
    Ok(Redirect::to("/account").into_response())
}
