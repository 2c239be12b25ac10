//! The frame every page shares, its error page, and how money and dates read on a page.

use super::session::Visitor;
use crate::error::ApiError;
use crate::views::MoneyView;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{html, Markup, DOCTYPE};

/// Which part of the site a page belongs to: its navigation differs.
pub enum Nav<'a> {
    Shop(&'a Visitor),
    Console {
        csrf: &'a str,
        seller: bool,
        /// Works shipments (pick lists); support does not.
        warehouse: bool,
        /// Works the support queue.
        support: bool,
        admin: bool,
    },
    /// An error page that knows nothing of its visitor.
    Bare,
}

/// A whole page: `title` in the tab and as the heading's text for screen readers, `body` in `<main>`.
pub fn page(title: &str, nav: Nav<'_>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · BuyNow" }
                link rel="stylesheet" href="/assets/app.css";
                script src="/assets/app.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    (navigation(nav))
                }
                main #main tabindex="-1" { (body) }
                footer.bottom { p { "BuyNow — one click, exactly once." } }
            }
        }
    }
}

fn navigation(nav: Nav<'_>) -> Markup {
    match nav {
        Nav::Shop(v) => html! {
            nav aria-label="Shop" {
                a.brand href="/" { "BuyNow" }
                ul {
                    @if let Some(name) = v.name() {
                        li { a href="/orders" { "Your Orders" } }
                        li { a href="/account" { "Account" } }
                        li {
                            form.inline method="post" action="/signout" {
                                input type="hidden" name="csrf" value=(v.csrf);
                                button.link type="submit" { "Sign out " span.muted { "(" (name) ")" } }
                            }
                        }
                    } @else {
                        li { a href="/signin" { "Sign in" } }
                        li { a href="/signup" { "Create account" } }
                    }
                }
            }
        },
        Nav::Console { csrf, seller, warehouse, support, admin } => html! {
            nav aria-label="Console" {
                a.brand href="/ops" { "BuyNow " span.muted { @if seller { "seller" } @else if !warehouse { "support" } @else { "warehouse" } } }
                ul {
                    @if warehouse { li { a href="/ops" { "Pick lists" } } }
                    @if !seller { li { a href="/ops/orders" { "Orders" } } }
                    @if support { li { a href="/ops/cases" { "Cases" } } }
                    @if admin {
                        li { a href="/ops/deliveries" { "Deliveries" } }
                        li { a href="/ops/keys" { "Staff keys" } }
                        li { a href="/ops/audit" { "Audit" } }
                    }
                    li {
                        form.inline method="post" action="/ops/signout" {
                            input type="hidden" name="csrf" value=(csrf);
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
            }
        },
        Nav::Bare => html! { nav aria-label="Shop" { a.brand href="/" { "BuyNow" } } },
    }
}

/// Renders with `status`, marked as HTML and never cached (pages show orders and cards).
pub fn respond(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup.into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A page that could not be shown: the problem's message on a page of its own, with the status the API would
/// answer. Never a stack trace; an internal error says only that it was logged.
#[derive(Debug)]
pub struct PageError(pub ApiError);

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        PageError(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, problem) = self.0.problem();
        let title = status.canonical_reason().unwrap_or("Error");
        let body = html! {
            section.card.problem role="alert" {
                h1 { (title) }
                p { (problem.detail) }
                p { a href="/" { "Back to the shop" } }
            }
        };
        respond(status, page(title, Nav::Bare, body))
    }
}

/// A price as pages and messages show it (see `buynow_notify::format`).
pub fn money(m: &MoneyView) -> String {
    buynow_notify::format::money(m.amount, m.currency)
}

pub use buynow_notify::format::{day, window};

/// "Dec 3, 2026, 14:05 UTC"
pub fn when(at: DateTime<Utc>) -> String {
    at.format("%b %-d, %Y, %H:%M UTC").to_string()
}

/// "3 h 12 min", "45 min"
pub fn within(d: chrono::Duration) -> String {
    let minutes = d.num_minutes().max(1);
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// `visa` → "Visa", `mastercard` → "Mastercard", `amex` → "American Express".
pub fn brand_name(brand: &str) -> String {
    match brand {
        "amex" => "American Express".into(),
        other => status_words(other),
    }
}

pub fn speed_name(speed: &str) -> &'static str {
    match speed {
        "one_day" => "One-Day",
        "two_day" => "Two-Day",
        _ => "Standard",
    }
}

/// A status as words: `payment_action_required` → "Payment action required".
pub fn status_words(status: &str) -> String {
    let words = status.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => words,
    }
}

/// The message beside a form's field, when the problem is about it.
pub fn field_message<'a>(problem: Option<&'a FormProblem>, field: &str) -> Option<&'a str> {
    problem.filter(|p| p.field.as_deref() == Some(field)).map(|p| p.message.as_str())
}

/// A form's problem: the message, and the field it is about when it is about one.
pub struct FormProblem {
    pub status: StatusCode,
    pub message: String,
    pub field: Option<String>,
}

impl From<ApiError> for FormProblem {
    fn from(e: ApiError) -> Self {
        let (status, problem) = e.problem();
        FormProblem { status, message: problem.detail, field: problem.field }
    }
}

/// A form's problem that is not about one of its fields, shown above it.
pub fn form_alert(problem: Option<&FormProblem>, fields: &[&str]) -> Markup {
    html! {
        @if let Some(p) = problem.filter(|p| p.field.as_deref().is_none_or(|f| !fields.contains(&f))) {
            div.alert role="alert" { (p.message) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_reads_as_a_price() {
        assert_eq!(money(&MoneyView { amount: 123456789, currency: "USD" }), "$1,234,567.89");
        assert_eq!(money(&MoneyView { amount: 100, currency: "CAD" }), "1.00 CAD");
    }

    #[test]
    fn durations_read_in_hours_and_minutes() {
        assert_eq!(within(chrono::Duration::minutes(192)), "3 h 12 min");
        assert_eq!(within(chrono::Duration::minutes(45)), "45 min");
        assert_eq!(within(chrono::Duration::minutes(120)), "2 h");
        assert_eq!(within(chrono::Duration::seconds(5)), "1 min");
    }

    #[test]
    fn an_internal_error_says_nothing_of_its_cause() {
        let p = FormProblem::from(ApiError::internal("password=hunter2"));
        assert_eq!(p.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!p.message.contains("hunter2"));
    }
}
