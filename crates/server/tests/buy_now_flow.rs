//! The Buy Now spine end to end, through HTTP against a real server and a fresh database.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_customer_signs_up_previews_and_buys_now_and_the_order_is_authorized() {
    let app = spawn_app().await;
    app.create_product("WIDGET", 1999, 10).await;
    let c = app.sign_up("ada@example.com").await;
    let address = app.add_address(&c).await;
    let card = app.add_card(&c, VISA).await;

    let (status, me) = app.get("/v1/me", Some(&c.token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (me["default_address_id"].as_str(), me["default_payment_method_id"].as_str()),
        (Some(&*address), Some(&*card))
    );
    assert_eq!(me["prime"], false);

    let (status, preview) =
        app.post("/v1/buy-now/preview", Some(&c.token), json!({"sku": "widget", "quantity": 2})).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["selected_speed"], "standard", "not a member: standard is selected");
    assert_eq!(preview["subtotal"], json!({"amount": 3998, "currency": "USD"}));
    assert_eq!(preview["shipping"]["amount"], 0, "standard is free from 35.00");
    assert_eq!(preview["tax"]["amount"], 290, "7.25 % California tax on 39.98, rounded once");
    assert_eq!(preview["total"]["amount"], 3998 + 290);
    assert_eq!(preview["payment_method"]["last4"], "4242");
    assert_eq!(preview["delivery_options"].as_array().unwrap().len(), 3);
    let two_day = &preview["delivery_options"][1];
    assert_eq!(two_day["speed"], "two_day");
    assert_eq!(two_day["price"]["amount"], 899);
    assert!(two_day["estimated_delivery"]["earliest"].is_string());

    // The customer changes the speed in the pop-up, then presses Buy Now.
    let (status, order) =
        app.buy(&c, "click-1", json!({"sku": "WIDGET", "quantity": 2, "delivery_speed": "two_day"})).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!(order["status"], "payment_authorized", "the inline fast path authorized it");
    assert_eq!(order["delivery_speed"], "two_day");
    assert_eq!(order["shipping"]["amount"], 899);
    assert_eq!(order["total"]["amount"], 3998 + 899 + 290);
    assert_eq!(order["estimated_delivery"], two_day["estimated_delivery"]);
    assert_eq!(order["payment"]["status"], "authorized");
    assert_eq!(order["payment"]["amount"], order["total"]);
    assert_eq!(order["shipments"][0]["fulfillment_center"], "SEA1");
    assert!(order["cancellable_until"].is_string());
    let timeline: Vec<&str> =
        order["timeline"].as_array().unwrap().iter().map(|t| t["status"].as_str().unwrap()).collect();
    assert_eq!(timeline, ["placed", "payment_authorized"]);
    assert_eq!(app.stock("WIDGET").await, (10, 2), "two reserved at placement");

    let (status, mine) = app.get("/v1/me/orders", Some(&c.token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine["orders"][0]["id"], order["id"]);
    assert_eq!(app.sandbox.live_holds().await.unwrap().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_prime_member_gets_free_two_day_by_default() {
    let app = spawn_app().await;
    app.create_product("PRIME-ITEM", 1000, 5).await;
    let c = app.buyer("prime@example.com", VISA).await;
    let (status, me) = app.post("/v1/me/membership", Some(&c.token), json!({"plan": "prime"})).await;
    assert_eq!((status, me["prime"].as_bool()), (StatusCode::OK, Some(true)));
    let (_, preview) =
        app.post("/v1/buy-now/preview", Some(&c.token), json!({"sku": "PRIME-ITEM", "quantity": 1})).await;
    assert_eq!(preview["selected_speed"], "two_day");
    assert_eq!(preview["shipping"]["amount"], 0);
    let (status, order) = app.buy(&c, "k", json!({"sku": "PRIME-ITEM", "quantity": 1})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!((order["delivery_speed"].as_str(), order["shipping"]["amount"].as_i64()), (Some("two_day"), Some(0)));
    app.stop().await;
}

#[tokio::test]
async fn cancelling_in_the_window_returns_the_stock_and_voids_the_authorization() {
    let app = spawn_app().await;
    app.create_product("LAMP", 3999, 3).await;
    let c = app.buyer("cancel@example.com", VISA).await;
    let (_, order) = app.buy(&c, "k1", json!({"sku": "LAMP", "quantity": 3})).await;
    assert_eq!(order["status"], "payment_authorized");
    assert_eq!(app.stock("LAMP").await, (3, 3));
    let id = order["id"].as_str().unwrap();

    let (status, cancelled) = app.post(&format!("/v1/orders/{id}/cancel"), Some(&c.token), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["cancellable_until"], serde_json::Value::Null);
    assert_eq!(app.stock("LAMP").await, (3, 0), "the reservation is back");
    let order = app.wait_for(&c, id, "cancelled").await;
    assert_eq!(order["payment"]["status"], "voided");
    assert!(app.sandbox.live_holds().await.unwrap().is_empty(), "no hold is left on the card");
    let steps: Vec<&str> =
        order["payment"]["attempts"].as_array().unwrap().iter().map(|a| a["step"].as_str().unwrap()).collect();
    assert_eq!(steps, ["authorize", "void"]);

    // A retried cancel is harmless.
    let (status, again) = app.post(&format!("/v1/orders/{id}/cancel"), Some(&c.token), json!({})).await;
    assert_eq!((status, again["status"].as_str()), (StatusCode::OK, Some("cancelled")));
    assert_eq!(app.stock("LAMP").await, (3, 0), "stock was not released twice");
    let timeline: Vec<&str> =
        again["timeline"].as_array().unwrap().iter().map(|t| t["status"].as_str().unwrap()).collect();
    assert_eq!(
        timeline.iter().filter(|s| **s == "cancelled").count(),
        2,
        "cancelled, then the void noted: {timeline:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn once_picking_has_started_a_cancel_is_refused_with_409() {
    let app = spawn_app().await;
    app.create_product("PICKED", 500, 1).await;
    let c = app.buyer("late@example.com", VISA).await;
    let (_, order) = app.buy(&c, "k1", json!({"sku": "PICKED", "quantity": 1})).await;
    let id = order["id"].as_str().unwrap();
    // The warehouse API arrives with a later issue; until then the test moves the order as the warehouse would.
    app.execute(&format!("UPDATE orders SET status = 'picking' WHERE id = '{id}'")).await;

    let (status, problem) = app.post(&format!("/v1/orders/{id}/cancel"), Some(&c.token), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(problem_code(&problem), "not_cancellable");
    assert!(problem["detail"].as_str().unwrap().contains("picking"));
    assert_eq!(app.stock("PICKED").await, (1, 1), "nothing released");
    app.stop().await;
}

#[tokio::test]
async fn a_declined_card_puts_the_order_in_payment_action_required_and_a_revised_card_authorizes_it() {
    let app = spawn_app().await;
    app.create_product("BOOK", 1500, 5).await;
    let c = app.buyer("declined@example.com", DECLINED).await;
    let good = app.add_card(&c, MASTERCARD).await;

    let (status, order) = app.buy(&c, "k1", json!({"sku": "BOOK", "quantity": 1})).await;
    assert_eq!(status, StatusCode::CREATED, "the order exists; its payment needs the customer");
    assert_eq!(order["status"], "payment_action_required");
    assert_eq!(order["payment"]["status"], "declined");
    assert_eq!(order["payment"]["decline_code"], "card_declined");
    assert!(order["payment"]["message"].as_str().unwrap().contains("declined"));
    assert_eq!(app.stock("BOOK").await, (5, 1), "the stock stays reserved while the customer decides");
    let id = order["id"].as_str().unwrap();

    let (status, revised) =
        app.post(&format!("/v1/orders/{id}/payment-method"), Some(&c.token), json!({"payment_method_id": good})).await;
    assert_eq!(status, StatusCode::OK, "{revised}");
    assert_eq!(revised["status"], "payment_authorized");
    assert_eq!(revised["payment"]["last4"], "4444");
    let timeline: Vec<&str> =
        revised["timeline"].as_array().unwrap().iter().map(|t| t["status"].as_str().unwrap()).collect();
    assert_eq!(timeline, ["placed", "payment_action_required", "placed", "payment_authorized"]);
    // The payment's history: the declined card, then the one that was approved; no secret in it.
    let steps: Vec<(&str, &str, Option<&str>)> = revised["payment"]["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["step"].as_str().unwrap(), a["outcome"].as_str().unwrap(), a["decline_code"].as_str()))
        .collect();
    assert_eq!(steps, [("authorize", "declined", Some("card_declined")), ("authorize", "approved", None)]);
    assert!(!revised.to_string().contains(DECLINED) && !revised.to_string().contains(MASTERCARD));
    assert_eq!(order["payment"]["attempts"].as_array().unwrap().len(), 1, "Buy Now's answer has its one attempt");

    // Revising an order whose payment is fine is a conflict.
    let (status, problem) =
        app.post(&format!("/v1/orders/{id}/payment-method"), Some(&c.token), json!({"payment_method_id": good})).await;
    assert_eq!((status, problem_code(&problem)), (StatusCode::CONFLICT, "invalid_state"));
    let events = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM outbox WHERE order_id = '{id}' AND kind = 'order.payment_action_required'"
        ))
        .await;
    assert_eq!(events, 1, "the customer is told once");
    app.stop().await;
}

#[tokio::test]
async fn a_second_decline_cancels_the_order_and_returns_its_stock() {
    let app = spawn_app().await;
    app.create_product("MUG", 1200, 4).await;
    let c = app.buyer("twice@example.com", INSUFFICIENT).await;
    let other = app.add_card(&c, DECLINED).await;
    let (_, order) = app.buy(&c, "k1", json!({"sku": "MUG", "quantity": 4})).await;
    assert_eq!(order["payment"]["decline_code"], "insufficient_funds");
    assert_eq!(app.stock("MUG").await, (4, 4));
    let id = order["id"].as_str().unwrap();

    let (status, order) =
        app.post(&format!("/v1/orders/{id}/payment-method"), Some(&c.token), json!({"payment_method_id": other})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(order["status"], "cancelled");
    assert_eq!(order["payment"]["status"], "declined");
    assert_eq!(app.stock("MUG").await, (4, 0), "the stock is back for other buyers");
    let kinds =
        app.scalar(&format!("SELECT COUNT(*) FROM outbox WHERE order_id = '{id}' AND kind = 'order.cancelled'")).await;
    assert_eq!(kinds, 1);
    app.stop().await;
}

#[tokio::test]
async fn another_customers_order_is_not_found() {
    let app = spawn_app().await;
    app.create_product("SECRET", 100, 5).await;
    let alice = app.buyer("alice@example.com", VISA).await;
    let mallory = app.buyer("mallory@example.com", VISA).await;
    let (_, order) = app.buy(&alice, "k1", json!({"sku": "SECRET", "quantity": 1})).await;
    let id = order["id"].as_str().unwrap();

    let (status, problem) = app.get(&format!("/v1/orders/{id}"), Some(&mallory.token)).await;
    assert_eq!((status, problem_code(&problem)), (StatusCode::NOT_FOUND, "not_found"));
    let (status, _) = app.post(&format!("/v1/orders/{id}/cancel"), Some(&mallory.token), json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = app.get("/v1/me/orders", Some(&mallory.token)).await;
    assert_eq!(list["orders"], json!([]));
    // Nor can Mallory buy with Alice's card.
    let (_, alice_me) = app.get("/v1/me", Some(&alice.token)).await;
    let (status, _) = app
        .buy(
            &mallory,
            "k2",
            json!({"sku": "SECRET", "quantity": 1, "payment_method_id": alice_me["default_payment_method_id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(app.order(&alice, id).await["status"], "payment_authorized");
    app.stop().await;
}

#[tokio::test]
async fn an_authorization_the_inline_path_missed_is_finished_by_the_worker() {
    let mut config = test_config();
    config.inline_authorization_budget = std::time::Duration::ZERO;
    let app = spawn_app_with(config).await;
    app.create_product("SLOW", 700, 2).await;
    let c = app.buyer("slow@example.com", VISA).await;
    let (status, order) = app.buy(&c, "k1", json!({"sku": "SLOW", "quantity": 1})).await;
    assert_eq!(status, StatusCode::CREATED);
    let order = app.wait_for(&c, order["id"].as_str().unwrap(), "payment_authorized").await;
    assert_eq!(order["payment"]["status"], "authorized");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'authorize_payment' AND status = 'done'").await, 1);
    assert_eq!(app.sandbox.live_holds().await.unwrap().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_card_that_keeps_failing_to_process_is_retried_then_the_customer_is_asked() {
    let app = spawn_app().await;
    app.create_product("FLAKY", 900, 2).await;
    let c = app.buyer("flaky@example.com", PROCESSING_ERROR).await;
    let (status, order) = app.buy(&c, "k1", json!({"sku": "FLAKY", "quantity": 1})).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = order["id"].as_str().unwrap();
    let order = app.wait_for(&c, id, "payment_action_required").await;
    assert_eq!(order["payment"]["decline_code"], "processing_error");
    let attempts = app.scalar("SELECT attempts FROM jobs WHERE kind = 'authorize_payment'").await;
    assert_eq!(attempts, 8, "every retry was used before asking the customer");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM jobs WHERE status = 'done'").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn after_the_hold_window_the_order_is_released_to_the_warehouse_and_can_still_be_cancelled_until_picking() {
    let mut config = test_config();
    config.hold_store = chrono::Duration::zero();
    let app = spawn_app_with(config).await;
    app.create_product("FAST", 1000, 5).await;
    let c = app.buyer("fast@example.com", VISA).await;
    let (_, order) = app.buy(&c, "k1", json!({"sku": "FAST", "quantity": 2})).await;
    let id = order["id"].as_str().unwrap();
    let order = app.wait_for(&c, id, "released").await;
    assert_eq!(order["shipments"][0]["status"], "released");
    assert_eq!(app.stock("FAST").await, (5, 2), "still reserved until it ships");
    let (status, cancelled) = app.post(&format!("/v1/orders/{id}/cancel"), Some(&c.token), json!({})).await;
    assert_eq!((status, cancelled["status"].as_str()), (StatusCode::OK, Some("cancelled")));
    assert_eq!(app.stock("FAST").await, (5, 0));
    app.stop().await;
}

#[tokio::test]
async fn the_server_answers_health_checks_and_serves_its_openapi_document() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz", None).await.0, StatusCode::OK);
    assert_eq!(app.get("/readyz", None).await.0, StatusCode::OK);
    let (status, doc) = app.get("/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    let contract = [
        ("post", "/v1/customers"),
        ("post", "/v1/sessions"),
        ("get", "/v1/me"),
        ("post", "/v1/me/addresses"),
        ("post", "/v1/me/payment-methods"),
        ("post", "/v1/me/membership"),
        ("get", "/v1/products"),
        ("get", "/v1/products/{sku}"),
        ("post", "/v1/buy-now/preview"),
        ("post", "/v1/buy-now"),
        ("get", "/v1/orders/{id}"),
        ("get", "/v1/me/orders"),
        ("post", "/v1/orders/{id}/cancel"),
        ("post", "/v1/orders/{id}/payment-method"),
        ("post", "/v1/ops/products"),
        ("put", "/v1/ops/stock/{sku}"),
    ];
    for (method, path) in contract {
        assert!(doc["paths"][path][method].is_object(), "{method} {path} missing from the OpenAPI document");
    }
    // And every documented route is served (no 404 from the router itself).
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let concrete = path.replace("{sku}", "NOPE").replace("{id}", "ord_nope");
            let (status, body) = app.request(&method.to_uppercase(), &concrete, None, None).await;
            assert!(
                !(status == StatusCode::NOT_FOUND
                    && problem_code(&body) == "not_found"
                    && body["detail"] == "route not found"),
                "{method} {path} is documented but not routed"
            );
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn buy_nows_answer_is_the_order_as_stored_approved_or_declined() {
    let app = spawn_app().await;
    app.create_product("WIDGET", 1999, 10).await;
    for (email, number, status) in
        [("ok@example.com", VISA, "payment_authorized"), ("no@example.com", DECLINED, "payment_action_required")]
    {
        let c = app.buyer(email, number).await;
        let (code, answered) = app.buy(&c, "k", json!({"sku": "WIDGET", "quantity": 1})).await;
        assert_eq!(code, StatusCode::CREATED, "{answered}");
        assert_eq!(answered["status"], status);
        // Buy Now builds its answer from what it wrote; GET reads it back: the two must never differ.
        let stored = app.order(&c, answered["id"].as_str().unwrap()).await;
        assert_eq!(answered, stored);
    }
    app.stop().await;
}

#[tokio::test]
async fn a_cancel_that_beats_its_authorization_still_leaves_no_hold_on_the_card() {
    let mut config = test_config();
    config.inline_authorization_budget = std::time::Duration::ZERO;
    config.sandbox.latency_ms = (400, 400);
    let app = spawn_app_with(config).await;
    app.create_product("RACE", 2500, 2).await;
    let c = app.buyer("race@example.com", VISA).await;
    let (_, order) = app.buy(&c, "k1", json!({"sku": "RACE", "quantity": 1})).await;
    let id = order["id"].as_str().unwrap();
    // The authorization is at the processor (which answers in 400 ms) when the customer cancels.
    for _ in 0..200 {
        if app.scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'authorize_payment' AND status = 'running'").await == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let (status, cancelled) = app.post(&format!("/v1/orders/{id}/cancel"), Some(&c.token), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["payment"]["status"], "cancelled", "dropped while its authorization was on its way");
    app.settle().await;
    let order = app.order(&c, id).await;
    assert_eq!(order["payment"]["status"], "voided", "the processor's late approval was voided: {order}");
    assert!(app.sandbox.live_holds().await.unwrap().is_empty(), "no hold is left on the card");
    app.stop().await;
}
