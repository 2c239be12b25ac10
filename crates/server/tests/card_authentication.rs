//! Card authentication (3-D Secure): the sandbox card 4000002500003155 makes the order wait in
//! `payment_action_required` with `payment.next_action`; the customer approves or fails on the processor's
//! page, and the order goes on or asks again as after a decline.

mod common;

use common::{problem_code, spawn_app, Customer, TestApp, VISA};
use reqwest::StatusCode;
use serde_json::{json, Value};

const AUTHENTICATE: &str = "4000002500003155";

/// Answers the bank's page as the customer would: the form's button, and the redirect back to the shop.
async fn answer_the_bank(app: &TestApp, c: &Customer, order: &Value, result: &str) -> Value {
    let url = order["payment"]["next_action"]["url"].as_str().unwrap_or_else(|| panic!("no next action: {order}"));
    assert!(url.starts_with("/sandbox/authenticate/"), "{url}");
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = browser.get(format!("{}{url}", app.url)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let amount = order["payment"]["amount"]["amount"].as_i64().unwrap();
    assert!(html.contains(&format!("{}.{:02} USD", amount / 100, amount % 100)), "{html}");
    let path = url.split('?').next().unwrap();
    let back = format!("/orders/{}/authenticated", order["id"].as_str().unwrap());
    let answer = browser
        .post(format!("{}{path}", app.url))
        .form(&[("result", result), ("return_to", back.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(answer.headers()["location"], back.as_str());
    // Back at the shop: it asks the processor for the bank's answer.
    let (status, order) = app
        .post(&format!("/v1/orders/{}/payment/authenticated", order["id"].as_str().unwrap()), Some(&c.token), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{order}");
    order
}

#[tokio::test]
async fn an_approved_authentication_lets_the_order_go_on() {
    let app = spawn_app().await;
    app.create_product("SHOE", 5000, 10).await;
    let ada = app.buyer("ada@example.com", AUTHENTICATE).await;
    let (status, order) = app.buy(&ada, "k1", json!({"sku": "SHOE", "quantity": 1})).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let id = order["id"].as_str().unwrap().to_string();
    assert_eq!(order["status"], "payment_action_required", "{order}");
    assert_eq!(order["payment"]["status"], "requires_authentication");
    assert_eq!(order["payment"]["next_action"]["type"], "authenticate");
    assert_eq!(order["payment"]["message"], "Your bank asks you to confirm this payment.");
    assert_eq!(order["payment"]["attempts"][0]["outcome"], "authentication_required");
    assert_eq!(app.sandbox.totals().await.unwrap().0, 0, "nothing is held before the customer authenticates");
    // The answer and a read agree, and the stock stays reserved meanwhile.
    let read = app.order(&ada, &id).await;
    assert_eq!(read["payment"]["next_action"], order["payment"]["next_action"]);
    assert_eq!(app.stock("SHOE").await.1, 1);

    // Back before answering the bank: still waiting, on the same page.
    let (status, early) =
        app.post(&format!("/v1/orders/{id}/payment/authenticated"), Some(&ada.token), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{early}");
    assert_eq!(early["status"], "payment_action_required");
    assert_eq!(early["payment"]["next_action"], order["payment"]["next_action"]);

    let done = answer_the_bank(&app, &ada, &early, "pass").await;
    assert_eq!(done["status"], "payment_authorized", "{done}");
    assert_eq!(done["payment"]["status"], "authorized");
    assert_eq!(done["payment"]["next_action"], Value::Null);
    let total = done["total"]["amount"].as_i64().unwrap();
    assert_eq!(app.sandbox.totals().await.unwrap().0, total, "one hold, once authenticated");
    // The page the bank sent the customer back to, reloaded: nothing new.
    let (status, again) =
        app.post(&format!("/v1/orders/{id}/payment/authenticated"), Some(&ada.token), json!({})).await;
    assert_eq!((status, again["status"].as_str()), (StatusCode::OK, Some("payment_authorized")));
    let events: Vec<&str> = done["timeline"].as_array().unwrap().iter().map(|t| t["event"].as_str().unwrap()).collect();
    assert!(events.contains(&"order.payment_action_required") && events.contains(&"order.payment_authorized"));
    app.stop().await;
}

#[tokio::test]
async fn a_failed_authentication_asks_for_a_card_again_and_a_second_failure_cancels() {
    let app = spawn_app().await;
    app.create_product("LAMP", 4500, 10).await;
    let bo = app.buyer("bo@example.com", AUTHENTICATE).await;
    let visa = app.add_card(&bo, VISA).await;

    // Failed, then paid with another card.
    let (_, first) = app.buy(&bo, "k1", json!({"sku": "LAMP", "quantity": 1})).await;
    let failed = answer_the_bank(&app, &bo, &first, "fail").await;
    assert_eq!(failed["status"], "payment_action_required", "{failed}");
    assert_eq!(failed["payment"]["decline_code"], "authentication_failed");
    assert_eq!(failed["payment"]["next_action"], Value::Null);
    assert!(failed["payment"]["message"].as_str().unwrap().starts_with("Your bank could not confirm"), "{failed}");
    let id = failed["id"].as_str().unwrap();
    let (status, paid) =
        app.post(&format!("/v1/orders/{id}/payment-method"), Some(&bo.token), json!({"payment_method_id": visa})).await;
    assert_eq!((status, paid["status"].as_str()), (StatusCode::OK, Some("payment_authorized")), "{paid}");

    // Failed twice on the same card: cancelled, stock back.
    let (_, second) = app.buy(&bo, "k2", json!({"sku": "LAMP", "quantity": 1})).await;
    let id = second["id"].as_str().unwrap().to_string();
    let failed = answer_the_bank(&app, &bo, &second, "fail").await;
    let pm = failed["payment"]["payment_method_id"].clone();
    let (status, retried) =
        app.post(&format!("/v1/orders/{id}/payment-method"), Some(&bo.token), json!({"payment_method_id": pm})).await;
    assert_eq!(status, StatusCode::OK, "{retried}");
    assert_eq!(retried["payment"]["status"], "requires_authentication", "a new payment, a new page: {retried}");
    assert_ne!(retried["payment"]["next_action"]["url"], second["payment"]["next_action"]["url"]);
    let cancelled = answer_the_bank(&app, &bo, &retried, "fail").await;
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    assert_eq!(app.stock("LAMP").await.1, 1, "only the first order's unit is reserved");
    app.stop().await;
}

#[tokio::test]
async fn an_order_waiting_for_authentication_can_be_cancelled_and_bad_answers_are_refused() {
    let app = spawn_app().await;
    app.create_product("PEN", 300, 10).await;
    let cy = app.buyer("cy@example.com", AUTHENTICATE).await;
    let (_, order) = app.buy(&cy, "k1", json!({"sku": "PEN", "quantity": 1})).await;
    let id = order["id"].as_str().unwrap();
    let (status, cancelled) = app.post(&format!("/v1/orders/{id}/cancel"), Some(&cy.token), json!({})).await;
    assert_eq!((status, cancelled["status"].as_str()), (StatusCode::OK, Some("cancelled")), "{cancelled}");
    assert_eq!(cancelled["payment"]["status"], "cancelled");
    assert_eq!(cancelled["payment"]["next_action"], Value::Null);
    assert_eq!(app.stock("PEN").await.1, 0);
    let (status, after) = app.post(&format!("/v1/orders/{id}/payment/authenticated"), Some(&cy.token), json!({})).await;
    assert_eq!((status, after["status"].as_str()), (StatusCode::OK, Some("cancelled")));
    // Not the customer's order, or no such order: not found.
    let other = app.buyer("other@example.com", VISA).await;
    let (status, body) =
        app.post(&format!("/v1/orders/{id}/payment/authenticated"), Some(&other.token), json!({})).await;
    assert_eq!((status, problem_code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let (status, _) = app.post(&format!("/v1/orders/{id}/payment/authenticated"), None, json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The bank's page: an answer that is neither, and a page that does not exist.
    let url = order["payment"]["next_action"]["url"].as_str().unwrap().split('?').next().unwrap().to_string();
    let client = reqwest::Client::new();
    let odd = client.post(format!("{}{url}", app.url)).form(&[("result", "maybe")]).send().await.unwrap();
    assert_eq!(odd.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let gone = client.get(format!("{}/sandbox/authenticate/0123", app.url)).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}
