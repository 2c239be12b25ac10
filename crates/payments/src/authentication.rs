//! The sandbox processor's authentication page (3-D Secure, as a card's bank shows it): the customer approves
//! the payment or fails to, and is sent back to the shop, which then asks the processor for its answer. Served
//! by `buynow gateway-sim`, and by the shop's own server under `/sandbox/authenticate` when the sandbox runs
//! in-process.

use crate::gateway::DeclineCode;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use buynow_store::sandbox::{self, Authorization};
use buynow_store::{Store, StoreError};
use serde::Deserialize;

/// The page for `challenge` under `base`, sending the customer back to `return_to`.
pub fn page_url(base: &str, challenge: &str, return_to: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new()).append_pair("return_to", return_to).finish();
    format!("{base}/{challenge}?{query}")
}

/// `GET /{challenge}` shows the page; `POST /{challenge}` takes the answer (`result=pass` or `result=fail`).
/// `records` is where the processor keeps its authorizations.
pub fn router(records: Store) -> Router {
    Router::new().route("/{challenge}", get(show).post(answer)).with_state(records)
}

/// The customer's answer: the authorization, asked again, is then approved or declined
/// (`authentication_failed`). Only the first answer counts.
async fn record_answer(records: &Store, challenge: &str, passed: bool) -> Result<Option<Authorization>, StoreError> {
    let outcome = if passed { "approved" } else { DeclineCode::AuthenticationFailed.as_str() };
    let (challenge, outcome) = (challenge.to_string(), outcome.to_string());
    records
        .write_batched(move |c| Box::pin(async move { sandbox::answer_challenge(c, &challenge, &outcome).await }))
        .await
}

#[derive(Deserialize)]
struct Back {
    return_to: Option<String>,
}

#[derive(Deserialize)]
struct Answer {
    result: String,
    return_to: Option<String>,
}

async fn show(State(records): State<Store>, Path(challenge): Path<String>, Query(back): Query<Back>) -> Response {
    let found = match async { sandbox::by_challenge(&mut records.read().await?.conn(), &challenge).await }.await {
        Ok(found) => found,
        Err(_) => return unavailable(),
    };
    let Some(a) = found else { return not_found() };
    let return_to = back.return_to.as_deref().filter(|r| safe_return(r));
    let body = match a.outcome.as_str() {
        "authentication_required" => {
            let back = return_to.map(|r| format!(r#"<input type="hidden" name="return_to" value="{}">"#, escape(r)));
            format!(
                r#"<h1>Confirm your payment</h1>
<p>Your bank asks you to confirm a payment of <strong>{amount}</strong> to BuyNow.</p>
<p>This is the card processor's test page: choose what your bank would have said.</p>
<form method="post">{back}
<button type="submit" name="result" value="pass">Approve the payment</button>
<button type="submit" name="result" value="fail">Fail the authentication</button>
</form>"#,
                amount = amount(&a),
                back = back.unwrap_or_default()
            )
        }
        _ => format!("<h1>Payment confirmation</h1><p>{}</p>{}", answered(&a), link_back(return_to)),
    };
    page(StatusCode::OK, &body)
}

async fn answer(State(records): State<Store>, Path(challenge): Path<String>, Form(form): Form<Answer>) -> Response {
    let passed = match form.result.as_str() {
        "pass" => true,
        "fail" => false,
        _ => return page(StatusCode::UNPROCESSABLE_ENTITY, "<h1>Payment confirmation</h1><p>Choose an answer.</p>"),
    };
    let recorded = match record_answer(&records, &challenge, passed).await {
        Ok(recorded) => recorded,
        Err(_) => return unavailable(),
    };
    let Some(a) = recorded else { return not_found() };
    match form.return_to.as_deref().filter(|r| safe_return(r)) {
        Some(back) => Redirect::to(back).into_response(),
        None => page(StatusCode::OK, &format!("<h1>Payment confirmation</h1><p>{}</p>", answered(&a))),
    }
}

/// Back to a path of the site that showed the page, or to an `http(s)` address: never to `//elsewhere` or a
/// `javascript:` URL.
fn safe_return(r: &str) -> bool {
    (r.starts_with('/') && !r.starts_with("//") && !r.contains('\\'))
        || url::Url::parse(r).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

fn answered(a: &Authorization) -> &'static str {
    match a.outcome.as_str() {
        "approved" => "You approved this payment.",
        "authentication_failed" => "This payment was not confirmed.",
        _ => "This payment needs no confirmation.",
    }
}

fn amount(a: &Authorization) -> String {
    format!("{}.{:02} {}", a.amount / 100, a.amount % 100, escape(&a.currency))
}

fn link_back(return_to: Option<&str>) -> String {
    return_to.map(|r| format!(r#"<p><a href="{}">Back to the shop</a></p>"#, escape(r))).unwrap_or_default()
}

fn not_found() -> Response {
    page(StatusCode::NOT_FOUND, "<h1>Payment confirmation</h1><p>There is no such payment to confirm.</p>")
}

fn unavailable() -> Response {
    page(StatusCode::SERVICE_UNAVAILABLE, "<h1>Payment confirmation</h1><p>Try again in a moment.</p>")
}

fn page(status: StatusCode, body: &str) -> Response {
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Confirm your payment</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}}
button{{font:inherit;padding:.6rem 1rem;margin:.3rem .3rem 0 0}}</style></head>
<body><main>{body}</main></body></html>"#
    );
    (status, Html(html)).into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_own_paths_and_web_addresses_are_gone_back_to() {
        for ok in ["/orders/ord_1/authenticated", "http://127.0.0.1:8080/orders/x", "https://shop.example/o"] {
            assert!(safe_return(ok), "{ok}");
        }
        for bad in ["//evil.example/", "javascript:alert(1)", "/\\evil.example", "data:text/html,x", ""] {
            assert!(!safe_return(bad), "{bad}");
        }
    }

    #[test]
    fn the_return_address_travels_encoded() {
        let url = page_url("/sandbox/authenticate", "abc", "/orders/ord_1/authenticated?x=1&y=2");
        assert_eq!(url, "/sandbox/authenticate/abc?return_to=%2Forders%2Ford_1%2Fauthenticated%3Fx%3D1%26y%3D2");
    }
}
