//! Support cases end to end (issue 15, acceptance 3): each trigger opens a case that names its order, holds it
//! where it should, and tells the customer; each is settled by a staff action whose effect is checked — a
//! cancellation with its stock back, a refund of the right amount, a new shipment, a release, messages sent
//! again. Invariant 5: nothing waits forever unseen.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

/// A support key, as an admin issues it.
async fn support_key(app: &TestApp) -> String {
    let (status, body) = app.ops("POST", "/v1/ops/keys", Some(json!({"role": "support", "name": "Sam Support"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["key"].as_str().unwrap().to_string()
}

/// The open cases of an order.
async fn cases_of(app: &TestApp, key: &str, order: &str) -> Vec<Value> {
    let (status, body) = app.get(&format!("/v1/ops/cases?order_id={order}"), Some(key)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["cases"].as_array().unwrap().clone()
}

async fn act(app: &TestApp, key: &str, case: &str, body: Value) -> (StatusCode, Value) {
    app.request("POST", &format!("/v1/ops/cases/{case}/actions"), Some(key), Some(body)).await
}

/// How many e-mails of `kind` were sent about the order.
async fn emails(app: &TestApp, order: &str, kind: &str) -> i64 {
    app.quiet().await;
    app.scalar(&format!(
        "SELECT COUNT(*) FROM deliveries WHERE order_id = '{order}' AND kind = '{kind}' AND channel = 'email' \
         AND status = 'sent'"
    ))
    .await
}

fn timeline_has(order: &Value, note: &str) -> bool {
    order["timeline"].as_array().unwrap().iter().any(|t| t["note"].as_str().unwrap_or("").contains(note))
}

#[tokio::test]
async fn a_card_that_cannot_be_opened_ends_as_a_case_not_as_placed_forever() {
    let app = spawn_app().await;
    let key = support_key(&app).await;
    app.create_product("LAMP", 4000, 5).await;
    let c = app.buyer("vault@example.com", VISA).await;
    // The card's vault key is gone (a rotation gone wrong): its number can never be opened again.
    app.execute("UPDATE payment_methods SET key_id = 'key_that_is_gone'").await;
    let (status, placed) = app.buy(&c, "k1", json!({"sku": "LAMP", "quantity": 2})).await;
    assert_eq!(status, StatusCode::CREATED, "{placed}");
    let id = placed["id"].as_str().unwrap();
    app.settle().await;

    // Not `placed` and unseen: held by a case staff can see, and the customer told.
    let order = app.order(&c, id).await;
    assert_eq!(order["status"], "placed");
    assert_eq!(order["on_hold"], true, "{order}");
    let cases = cases_of(&app, &key, id).await;
    assert_eq!(cases.len(), 1, "{cases:?}");
    let case = &cases[0];
    assert_eq!((case["reason"].as_str(), case["status"].as_str()), (Some("job_failed"), Some("open")));
    assert!(case["summary"].as_str().unwrap().contains("authorize_payment"), "{case}");
    assert!(!case["summary"].as_str().unwrap().contains(VISA), "never the card number");
    assert_eq!(emails(&app, id, "support.case_opened").await, 1);
    assert_eq!(app.stock("LAMP").await, (5, 2));

    // The case's page holds the order's whole story.
    let case_id = case["id"].as_str().unwrap();
    let (status, detail) = app.get(&format!("/v1/ops/cases/{case_id}"), Some(&key)).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["order"]["id"], id);
    assert!(!detail["order"]["timeline"].as_array().unwrap().is_empty());
    assert_eq!(detail["notes"][0]["action"], "opened");
    assert!(detail["messages"].as_array().unwrap().iter().any(|m| m["event"] == "support.case_opened"));

    // Trying the payment again fails the same way: another case, not a loop.
    let (status, body) = act(&app, &key, case_id, json!({"action": "retry_payment", "note": "tried once more"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.settle().await;
    let cases = cases_of(&app, &key, id).await;
    let states: Vec<&str> = cases.iter().map(|c| c["status"].as_str().unwrap()).collect();
    assert_eq!(states, ["open", "resolved"], "the retried job failed for good again: a new case, newest first");
    assert_eq!(app.order(&c, id).await["on_hold"], true);
    let case_id = cases[0]["id"].as_str().unwrap();

    // Staff cancel: the stock is back, the hold is off, the customer is told.
    let (status, body) =
        act(&app, &key, case_id, json!({"action": "cancel", "note": "card unusable; called the customer"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "resolved");
    assert_eq!(body["order"]["status"], "cancelled");
    assert_eq!(body["order"]["on_hold"], false);
    assert_eq!(app.stock("LAMP").await, (5, 0));
    assert_eq!(emails(&app, id, "order.cancelled").await, 1);
    let notes: Vec<&str> = body["notes"].as_array().unwrap().iter().map(|n| n["action"].as_str().unwrap()).collect();
    assert_eq!(notes, ["opened", "cancel"]);
    // A resolved case takes notes only.
    let (status, body) = act(&app, &key, case_id, json!({"action": "resolve", "note": "again"})).await;
    assert_eq!((status, problem_code(&body)), (StatusCode::CONFLICT, "case_resolved"));
    let (status, _) = act(&app, &key, case_id, json!({"action": "note", "note": "customer thanked us"})).await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn a_payment_drift_holds_the_order_until_staff_cancel_it_with_its_stock_back() {
    let app = spawn_app().await;
    let key = support_key(&app).await;
    app.create_product("DESK", 9000, 3).await;
    let c = app.buyer("drift@example.com", VISA).await;
    let (_, placed) = app.buy(&c, "k1", json!({"sku": "DESK", "quantity": 1})).await;
    let id = placed["id"].as_str().unwrap();
    app.wait_for(&c, id, "payment_authorized").await;
    // We hold a payment as authorized that the processor never saw (its first one done with, we say).
    let pm = placed["payment"]["payment_method_id"].as_str().unwrap();
    app.execute(&format!("UPDATE payments SET status = 'voided', reconciled_at = 1 WHERE order_id = '{id}'")).await;
    app.execute(&format!(
        "INSERT INTO payments (id, order_id, payment_method_id, amount, currency, status, authorization_ref, \
         captured, refunded, created_at, updated_at) VALUES ('pay_0000000000000000000000000000f00d', \
         '{id}', '{pm}', 9000, 'USD', 'authorized', 'auth_sbx_nowhere', 0, 0, {now}, {now})",
        now = app.state.now_micros()
    ))
    .await;
    app.advance(chrono::Duration::minutes(2));
    let report = buynow_server::services::reconciliation::run(&app.state).await.unwrap();
    assert_eq!(report.flagged, 1);
    let order = app.order(&c, id).await;
    assert_eq!(order["on_hold"], true);
    let cases = cases_of(&app, &key, id).await;
    assert_eq!(cases[0]["reason"], "payment_drift");
    assert_eq!(emails(&app, id, "support.case_opened").await, 1);
    // Held: the hold window ends and nothing goes to the warehouse.
    app.release_window().await;
    assert_eq!(app.order(&c, id).await["status"], "payment_authorized");

    let case_id = cases[0]["id"].as_str().unwrap();
    let (status, body) =
        act(&app, &key, case_id, json!({"action": "cancel", "note": "no hold at the processor"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["order"]["status"], "cancelled");
    assert_eq!(app.stock("DESK").await, (3, 0));
    app.stop().await;
}

#[tokio::test]
async fn a_lost_parcel_is_reshipped_at_no_charge_and_a_damaged_one_refunded_in_part() {
    let app = spawn_app().await;
    let key = support_key(&app).await;
    app.stocked_product("BOOT", 5000, &[("SEA1", 4)]).await;
    let c = app.buyer("lost@example.com", VISA).await;
    let (_, placed) = app.buy(&c, "k1", json!({"sku": "BOOT", "quantity": 1})).await;
    let id = placed["id"].as_str().unwrap().to_string();
    app.wait_for(&c, &id, "payment_authorized").await;
    app.release_window().await;
    let parcel = app.pick_list("SEA1", ADMIN_KEY).await[0]["id"].as_str().unwrap().to_string();
    let shipped = app.pick_pack_ship(&parcel, ADMIN_KEY, json!({})).await;
    app.settle().await;
    let (carrier, tracking) = (shipped["carrier"].as_str().unwrap(), shipped["tracking_number"].as_str().unwrap());
    let charged = app.order(&c, &id).await["payment"]["captured"]["amount"].as_i64().unwrap();
    assert_eq!(charged, placed["total"]["amount"].as_i64().unwrap());

    let lost = json!({"id": "ev-lost", "tracking_number": tracking, "type": "exception", "reason": "lost",
                      "detail": "Parcel missing at hub", "occurred_at": app.state.now()});
    let (status, body) = app.carrier_event(carrier, &lost).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    // The same event again opens nothing more.
    app.carrier_event(carrier, &lost).await;
    let cases = cases_of(&app, &key, &id).await;
    assert_eq!(cases.len(), 1, "{cases:?}");
    assert_eq!(
        (cases[0]["reason"].as_str(), cases[0]["subject"].as_str()),
        (Some("carrier_exception"), Some(parcel.as_str()))
    );
    let order = app.order(&c, &id).await;
    assert_eq!(order["on_hold"], true);
    assert_eq!(emails(&app, &id, "support.case_opened").await, 1);

    let case_id = cases[0]["id"].as_str().unwrap();
    let (status, body) =
        act(&app, &key, case_id, json!({"action": "reship", "note": "carrier confirmed the loss"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let shipments = body["order"]["shipments"].as_array().unwrap();
    let again: Vec<&Value> = shipments.iter().filter(|s| s["status"] == "released").collect();
    assert_eq!(again.len(), 1, "a new shipment, straight to its center: {shipments:?}");
    assert!(shipments.iter().any(|s| s["id"] == parcel.as_str() && s["status"] == "cancelled"), "{shipments:?}");
    assert_eq!(body["order"]["status"], "shipped", "the order does not go back");
    assert_eq!(body["order"]["on_hold"], false);
    assert_eq!(app.stock_at("BOOT", "SEA1").await, (3, 1), "one unit gone with the lost parcel, one reserved again");
    assert_eq!(emails(&app, &id, "support.case_resolved").await, 1);

    // The reship goes out and arrives; nothing more is charged.
    let new_parcel = again[0]["id"].as_str().unwrap().to_string();
    let shipped = app.pick_pack_ship(&new_parcel, ADMIN_KEY, json!({})).await;
    app.settle().await;
    app.deliver(shipped["carrier"].as_str().unwrap(), shipped["tracking_number"].as_str().unwrap()).await;
    let order = app.wait_for(&c, &id, "delivered").await;
    assert_eq!(order["payment"]["captured"]["amount"].as_i64().unwrap(), charged, "a reship is free");
    assert_eq!(app.sandbox.totals().await.unwrap().1, charged, "the processor captured once");

    // A second order's parcel arrives damaged: staff refund part of it.
    let (_, placed) = app.buy(&c, "k2", json!({"sku": "BOOT", "quantity": 1})).await;
    let id2 = placed["id"].as_str().unwrap().to_string();
    app.wait_for(&c, &id2, "payment_authorized").await;
    app.release_window().await;
    let parcel2 = app.pick_list("SEA1", ADMIN_KEY).await[0]["id"].as_str().unwrap().to_string();
    let shipped = app.pick_pack_ship(&parcel2, ADMIN_KEY, json!({})).await;
    app.settle().await;
    let damaged = json!({"id": "ev-dmg", "tracking_number": shipped["tracking_number"], "type": "exception",
                         "reason": "damaged", "occurred_at": app.state.now()});
    app.carrier_event(shipped["carrier"].as_str().unwrap(), &damaged).await;
    let case2 = cases_of(&app, &key, &id2).await[0]["id"].as_str().unwrap().to_string();
    let too_much = json!({"action": "refund", "amount": {"amount": 999_999, "currency": "USD"}, "note": "x"});
    let (status, body) = act(&app, &key, &case2, too_much).await;
    assert_eq!((status, problem_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "refund_refused"), "{body}");
    let refund = json!({"action": "refund", "amount": {"amount": 1500, "currency": "USD"}, "note": "box crushed, boot fine",
                        "message": "We refunded $15.00 for the damaged box."});
    let (status, body) = act(&app, &key, &case2, refund).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.settle().await;
    let order = app.order(&c, &id2).await;
    assert_eq!(order["payment"]["refunded"]["amount"], 1500, "{order}");
    assert_eq!(emails(&app, &id2, "order.refunded").await, 1);
    assert_eq!(emails(&app, &id2, "support.case_resolved").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn an_order_without_progress_is_swept_into_a_case_and_released_when_resolved() {
    let app = spawn_app().await;
    let key = support_key(&app).await;
    app.create_product("FAN", 3000, 2).await;
    let c = app.buyer("stalled@example.com", VISA).await;
    let (_, placed) = app.buy(&c, "k1", json!({"sku": "FAN", "quantity": 1})).await;
    let id = placed["id"].as_str().unwrap();
    app.wait_for(&c, id, "payment_authorized").await;
    // Its release job is lost (an operator deleted it by mistake): nothing will move the order on.
    app.execute("DELETE FROM jobs WHERE kind = 'release_order'").await;
    app.advance(chrono::Duration::minutes(60));
    assert_eq!(buynow_server::services::support::sweep(&app.state).await.unwrap(), 0, "not late yet");
    app.advance(chrono::Duration::minutes(120));
    assert_eq!(buynow_server::services::support::sweep(&app.state).await.unwrap(), 1);
    assert_eq!(buynow_server::services::support::sweep(&app.state).await.unwrap(), 0, "once");
    let cases = cases_of(&app, &key, id).await;
    assert_eq!(cases[0]["reason"], "stalled");
    assert!(cases[0]["summary"].as_str().unwrap().contains("payment_authorized"), "{}", cases[0]);
    assert_eq!(app.order(&c, id).await["on_hold"], true);

    let case_id = cases[0]["id"].as_str().unwrap();
    let (status, body) = act(&app, &key, case_id, json!({"action": "assign", "note": ""})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["assignee"].as_str().unwrap().starts_with("key_"), "{body}");
    let (status, body) = act(&app, &key, case_id, json!({"action": "resolve", "note": "released by hand"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.settle().await;
    let order = app.order(&c, id).await;
    assert_eq!((order["status"].as_str(), order["on_hold"].as_bool()), (Some("released"), Some(false)), "{order}");
    assert!(timeline_has(&order, "sorted out"), "{order}");
    app.stop().await;
}

#[tokio::test]
async fn a_dead_lettered_message_is_sent_again_by_staff() {
    let mut config = test_config();
    config.delivery_attempts = 1;
    let app = spawn_app_with(config).await;
    let key = support_key(&app).await;
    // A receiver that fails once, then takes everything.
    let failing = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(1));
    let got = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (f, g) = (failing.clone(), got.clone());
    let hook = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let (f, g) = (f.clone(), g.clone());
            async move {
                use std::sync::atomic::Ordering::SeqCst;
                if f.fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1)).is_ok() {
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                g.fetch_add(1, SeqCst);
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, hook).await.unwrap() });
    let (status, body) =
        app.ops("POST", "/v1/ops/webhooks", Some(json!({"url": url, "events": ["order.placed"]}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    app.create_product("MUG", 1500, 5).await;
    let c = app.buyer("dead@example.com", VISA).await;
    let (_, placed) = app.buy(&c, "k1", json!({"sku": "MUG", "quantity": 1})).await;
    let id = placed["id"].as_str().unwrap();
    app.quiet().await;
    let cases = cases_of(&app, &key, id).await;
    assert_eq!(cases.len(), 1, "{cases:?}");
    assert_eq!(
        (cases[0]["reason"].as_str(), cases[0]["holds_order"].as_bool()),
        (Some("message_dead_lettered"), Some(false))
    );
    assert_eq!(app.order(&c, id).await["on_hold"], false, "a lost message stops nothing");
    assert_eq!(got.load(std::sync::atomic::Ordering::SeqCst), 0);

    let case_id = cases[0]["id"].as_str().unwrap();
    let (status, body) = act(&app, &key, case_id, json!({"action": "retry_delivery", "note": "receiver fixed"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for _ in 0..100 {
        if got.load(std::sync::atomic::Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(got.load(std::sync::atomic::Ordering::SeqCst), 1, "delivered on the second try");
    let (status, body) = act(&app, &key, case_id, json!({"action": "retry_delivery", "note": "again"})).await;
    assert_eq!((status, problem_code(&body)), (StatusCode::CONFLICT, "case_resolved"));
    app.stop().await;
}

#[tokio::test]
async fn a_customer_asks_for_help_and_staff_refund_part_of_a_delivered_order() {
    let app = spawn_app().await;
    let key = support_key(&app).await;
    app.stocked_product("TENT", 12000, &[("SEA1", 3)]).await;
    let c = app.buyer("help@example.com", VISA).await;
    let other = app.buyer("other@example.com", VISA).await;
    let (_, placed) = app.buy(&c, "k1", json!({"sku": "TENT", "quantity": 1})).await;
    let id = placed["id"].as_str().unwrap().to_string();
    app.wait_for(&c, &id, "payment_authorized").await;

    for (who, body, status, code) in [
        (&other, json!({"message": "where is it?"}), StatusCode::NOT_FOUND, "not_found"),
        (&c, json!({"message": "   "}), StatusCode::UNPROCESSABLE_ENTITY, "validation"),
        (&c, json!({"message": "x".repeat(2001)}), StatusCode::UNPROCESSABLE_ENTITY, "validation"),
        (&c, json!({"note": "hi"}), StatusCode::UNPROCESSABLE_ENTITY, "validation"),
    ] {
        let (got, answer) = app.post(&format!("/v1/orders/{id}/help"), Some(&who.token), body).await;
        assert_eq!((got, problem_code(&answer)), (status, code), "{answer}");
        assert!(!answer["detail"].as_str().unwrap_or("").contains("xxxx"), "never the value sent back");
    }
    let (status, asked) =
        app.post(&format!("/v1/orders/{id}/help"), Some(&c.token), json!({"message": "Can it come by Friday?"})).await;
    assert_eq!(status, StatusCode::CREATED, "{asked}");
    assert_eq!(asked["status"], "open");
    let (status, again) =
        app.post(&format!("/v1/orders/{id}/help"), Some(&c.token), json!({"message": "Also, gift wrap?"})).await;
    assert_eq!((status, &again["id"]), (StatusCode::OK, &asked["id"]), "joins the open case");
    let case_id = asked["id"].as_str().unwrap();
    let (_, detail) = app.get(&format!("/v1/ops/cases/{case_id}"), Some(&key)).await;
    assert_eq!(detail["reason"], "customer_request");
    assert_eq!(detail["holds_order"], false);
    let bodies: Vec<&str> = detail["notes"].as_array().unwrap().iter().map(|n| n["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["Can it come by Friday?", "Also, gift wrap?"]);
    assert_eq!(emails(&app, &id, "support.case_opened").await, 1, "told once that the message arrived");

    // Nothing charged yet: a refund is refused, with what to do instead.
    let (status, body) = act(&app, &key, case_id, json!({"action": "refund", "note": "goodwill"})).await;
    assert_eq!((status, problem_code(&body)), (StatusCode::CONFLICT, "action_not_applicable"), "{body}");
    // The order goes on meanwhile: a customer's question holds nothing.
    app.release_window().await;
    let parcel = app.pick_list("SEA1", ADMIN_KEY).await[0]["id"].as_str().unwrap().to_string();
    let shipped = app.pick_pack_ship(&parcel, ADMIN_KEY, json!({})).await;
    app.settle().await;
    app.deliver(shipped["carrier"].as_str().unwrap(), shipped["tracking_number"].as_str().unwrap()).await;
    app.wait_for(&c, &id, "delivered").await;
    let (status, body) = act(
        &app,
        &key,
        case_id,
        json!({"action": "refund", "amount": {"amount": 2000, "currency": "USD"},
        "note": "late, goodwill refund"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.settle().await;
    let order = app.order(&c, &id).await;
    assert_eq!(order["payment"]["refunded"]["amount"], 2000);
    assert_eq!(order["status"], "delivered", "a goodwill refund leaves the order as it is");
    assert_eq!(app.sandbox.totals().await.unwrap().2, 2000);
    // A role without support may not act; a bad action is a clear 422.
    let (status, _) = act(&app, "bns_not_a_key", case_id, json!({"action": "note", "note": "x"})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = act(&app, &key, case_id, json!({"action": "explode", "note": "x"})).await;
    assert_eq!((status, problem_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "validation"));
    let (status, body) = act(&app, &key, case_id, json!({"action": "note"})).await;
    assert_eq!((status, problem_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "validation"), "{body}");
    app.stop().await;
}
