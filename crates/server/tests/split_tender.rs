//! Split tender: the gift card balance pays first and the card the rest; a card part that fails for good gives
//! the gift card back; a refund goes to the card first and then to the gift card; the ledger always balances.

mod common;

use common::{problem_code, spawn_app, Customer, TestApp, ADMIN_KEY, DECLINED, VISA};
use serde_json::{json, Value};

/// A customer with `cents` of gift card balance, redeemed from a card staff issued.
async fn buyer_with_balance(app: &TestApp, email: &str, card: &str, cents: i64) -> Customer {
    let c = app.buyer(email, card).await;
    let (status, issued) =
        app.ops("POST", "/v1/ops/gift-cards", Some(json!({"amount": {"amount": cents, "currency": "USD"}}))).await;
    assert_eq!(status, 201, "{issued}");
    let (status, body) = app.post("/v1/me/gift-cards/redeem", Some(&c.token), json!({"code": issued["code"]})).await;
    assert_eq!(status, 200, "{body}");
    c
}

fn cents(v: &Value) -> i64 {
    v["amount"].as_i64().unwrap_or_else(|| panic!("no amount in {v}"))
}

async fn balance(app: &TestApp, c: &Customer) -> i64 {
    cents(&app.get("/v1/me", Some(&c.token)).await.1["gift_card_balance"])
}

fn steps(order: &Value) -> Vec<(String, i64)> {
    order["payment"]["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["step"].as_str().unwrap().to_string(), cents(&a["amount"])))
        .collect()
}

fn tender(order: &Value) -> Vec<(String, i64, i64)> {
    order["payment"]["tender"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["source"].as_str().unwrap().to_string(), cents(&t["amount"]), cents(&t["returned"])))
        .collect()
}

async fn assert_ledger_balances(app: &TestApp) {
    assert_eq!(app.scalar("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger_entries").await, 0);
}

/// Ships the order's one parcel and has its carrier deliver it.
async fn ship_and_deliver(app: &TestApp, c: &Customer, id: &str) {
    app.release_window().await;
    let parcel = app.order(c, id).await["shipments"][0]["id"].as_str().unwrap().to_string();
    let shipped = app.pick_pack_ship(&parcel, ADMIN_KEY, json!({})).await;
    app.deliver(shipped["carrier"].as_str().unwrap(), shipped["tracking_number"].as_str().unwrap()).await;
    app.settle().await;
}

/// Returns `quantity` of the order's SKU (the shop's fault: shipping comes back too) and receives it.
async fn return_and_receive(app: &TestApp, c: &Customer, id: &str, sku: &str, quantity: u32) -> Value {
    let body = json!({"items": [{"sku": sku, "quantity": quantity}], "reason": "damaged"});
    let (status, ret) = app.post(&format!("/v1/orders/{id}/returns"), Some(&c.token), body).await;
    assert_eq!(status, 201, "{ret}");
    let path = format!("/v1/ops/returns/{}/receive", ret["id"].as_str().unwrap());
    let (status, received) = app.ops("POST", &path, Some(json!({"condition": "sellable"}))).await;
    assert_eq!(status, 200, "{received}");
    app.settle().await;
    ret
}

#[tokio::test]
async fn the_gift_card_pays_first_the_card_the_rest_and_a_refund_goes_back_card_first() {
    let app = spawn_app().await;
    app.stocked_product("SHOE", 5000, &[("SEA1", 4)]).await;
    let ada = buyer_with_balance(&app, "ada@example.com", VISA, 8000).await;
    let choice = json!({"sku": "SHOE", "quantity": 2, "delivery_speed": "one_day", "use_gift_card_balance": true});

    let (status, review) = app.post("/v1/buy-now/preview", Some(&ada.token), choice.clone()).await;
    assert_eq!(status, 200, "{review}");
    assert_eq!(cents(&review["gift_card_applied"]), 8000);
    let (status, plain) =
        app.post("/v1/buy-now/preview", Some(&ada.token), json!({"sku": "SHOE", "quantity": 2})).await;
    assert_eq!((status.as_u16(), cents(&plain["gift_card_applied"])), (200, 0), "only when asked");

    let (status, order) = app.buy(&ada, "k1", choice.clone()).await;
    assert_eq!(status, 201, "{order}");
    let (id, total) = (order["id"].as_str().unwrap().to_string(), cents(&order["total"]));
    let card = total - 8000;
    assert_eq!(order["status"], "payment_authorized", "{order}");
    assert_eq!(cents(&order["payment"]["amount"]), card);
    assert_eq!(tender(&order), [("gift_card".into(), 8000, 0), ("card".into(), card, 0)]);
    assert_eq!(steps(&order), [("gift_card_spend".into(), 8000), ("authorize".into(), card)]);
    // The answer is what a read of the order says.
    let read = app.order(&ada, &id).await;
    assert_eq!((tender(&read), steps(&read)), (tender(&order), steps(&order)), "{read}");
    assert_eq!(balance(&app, &ada).await, 0);
    assert_eq!(app.sandbox.totals().await.unwrap().0, card, "the card is held for its part only");
    // A retry of the click is the same order, and spends nothing more.
    let (status, again) = app.buy(&ada, "k1", choice.clone()).await;
    assert_eq!((status.as_u16(), again["id"].as_str()), (201, Some(id.as_str())));
    // The same key without the gift card is another request.
    let (status, body) = app.buy(&ada, "k1", json!({"sku": "SHOE", "quantity": 2, "delivery_speed": "one_day"})).await;
    assert_eq!((status.as_u16(), problem_code(&body)), (409, "idempotency_conflict"));
    assert_ledger_balances(&app).await;

    ship_and_deliver(&app, &ada, &id).await;
    let order = app.order(&ada, &id).await;
    assert_eq!((order["payment"]["status"].as_str(), cents(&order["payment"]["captured"])), (Some("captured"), card));
    assert_eq!(app.sandbox.totals().await.unwrap().1, card, "captured once, the card's part");

    // One shoe back, with its share of the tax and the shipping: more than the card paid, so the card gets all
    // it paid back and the gift card the rest.
    let ret = return_and_receive(&app, &ada, &id, "SHOE", 1).await;
    let refund = cents(&ret["refund"]);
    let tax = cents(&order["tax"]);
    assert_eq!(refund, 5000 + tax / 2 + cents(&order["shipping"]));
    assert!(refund > card, "the test needs a refund larger than the card's part: {refund} vs {card}");
    let order = app.order(&ada, &id).await;
    assert_eq!(order["status"], "refunded", "{order}");
    assert_eq!(cents(&order["payment"]["refunded"]), card);
    assert_eq!(tender(&order), [("gift_card".into(), 8000, refund - card), ("card".into(), card, card)]);
    let last: Vec<(String, i64)> = steps(&order).into_iter().skip(3).collect();
    assert_eq!(last, [("gift_card_refund".into(), refund - card), ("refund".into(), card)], "{order}");
    assert_eq!(app.sandbox.totals().await.unwrap().2, card, "the processor refunded the card's part, once");
    assert_eq!(balance(&app, &ada).await, refund - card);
    let notes: Vec<&str> = order["timeline"].as_array().unwrap().iter().map(|t| t["note"].as_str().unwrap()).collect();
    assert!(
        notes.iter().any(|n| n.contains("to your card and") && n.contains("to your gift card balance")),
        "{notes:?}"
    );
    assert_ledger_balances(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn a_card_part_declined_twice_gives_the_gift_card_back() {
    let app = spawn_app().await;
    app.stocked_product("LAMP", 4500, &[("SEA1", 3)]).await;
    let bo = buyer_with_balance(&app, "bo@example.com", DECLINED, 2000).await;
    let choice = json!({"sku": "LAMP", "quantity": 1, "use_gift_card_balance": true});
    let (status, order) = app.buy(&bo, "k1", choice).await;
    assert_eq!(status, 201, "{order}");
    let id = order["id"].as_str().unwrap().to_string();
    let card = cents(&order["total"]) - 2000;
    assert_eq!(order["status"], "payment_action_required", "{order}");
    assert_eq!(cents(&order["payment"]["amount"]), card);
    assert_eq!(balance(&app, &bo).await, 0, "held by the order while the customer decides");
    assert_eq!(app.stock_at("LAMP", "SEA1").await, (3, 1));

    // The same card again: declined again, so the order is cancelled and everything goes back.
    let pm = order["payment"]["payment_method_id"].clone();
    let path = format!("/v1/orders/{id}/payment-method");
    let (status, revised) = app.post(&path, Some(&bo.token), json!({"payment_method_id": pm})).await;
    assert_eq!(status, 200, "{revised}");
    let order = app.wait_for(&bo, &id, "cancelled").await;
    assert_eq!(cents(&order["payment"]["amount"]), card, "the second try was for the card's part too");
    assert_eq!(balance(&app, &bo).await, 2000);
    assert_eq!(tender(&order), [("gift_card".into(), 2000, 2000), ("card".into(), card, 0)]);
    let steps = steps(&order);
    assert_eq!(steps.first(), Some(&("gift_card_spend".to_string(), 2000)));
    assert!(steps.contains(&("gift_card_reverse".to_string(), 2000)), "{steps:?}");
    assert_eq!(app.stock_at("LAMP", "SEA1").await, (3, 0));
    assert_eq!(app.sandbox.totals().await.unwrap().0, 0, "nothing approved");
    assert_ledger_balances(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn a_gift_card_that_pays_for_everything_never_asks_the_card() {
    let app = spawn_app().await;
    app.stocked_product("MUG", 1200, &[("SEA1", 5)]).await;
    let cy = buyer_with_balance(&app, "cy@example.com", VISA, 50_000).await;
    let choice = json!({"sku": "MUG", "quantity": 1, "delivery_speed": "one_day", "use_gift_card_balance": true});

    // Cancelled: the balance comes back whole, and there is no hold to void.
    let (_, first) = app.buy(&cy, "k1", choice.clone()).await;
    let first_id = first["id"].as_str().unwrap().to_string();
    let total = cents(&first["total"]);
    assert_eq!(first["status"], "payment_authorized", "{first}");
    assert_eq!(tender(&first), [("gift_card".into(), total, 0)]);
    assert_eq!(steps(&first), [("gift_card_spend".into(), total)]);
    assert_eq!(balance(&app, &cy).await, 50_000 - total);
    let (status, cancelled) = app.post(&format!("/v1/orders/{first_id}/cancel"), Some(&cy.token), json!({})).await;
    assert_eq!((status.as_u16(), cancelled["status"].as_str()), (200, Some("cancelled")), "{cancelled}");
    app.settle().await;
    assert_eq!(balance(&app, &cy).await, 50_000);
    let first = app.order(&cy, &first_id).await;
    assert_eq!(first["payment"]["status"], "voided");
    assert_eq!(steps(&first), [("gift_card_spend".into(), total), ("gift_card_reverse".into(), total)]);

    // Shipped and returned whole: all of it back to the gift card.
    let (_, second) = app.buy(&cy, "k2", choice).await;
    let id = second["id"].as_str().unwrap().to_string();
    ship_and_deliver(&app, &cy, &id).await;
    let order = app.order(&cy, &id).await;
    assert_eq!(order["status"], "delivered", "{order}");
    assert_eq!(order["payment"]["status"], "captured");
    let ret = return_and_receive(&app, &cy, &id, "MUG", 1).await;
    assert_eq!(cents(&ret["refund"]), total, "one of one, with shipping");
    let order = app.order(&cy, &id).await;
    assert_eq!(order["status"], "refunded", "{order}");
    assert_eq!(tender(&order), [("gift_card".into(), total, total)]);
    assert_eq!(steps(&order), [("gift_card_spend".into(), total), ("gift_card_refund".into(), total)]);
    assert_eq!(balance(&app, &cy).await, 50_000);
    assert_eq!(app.sandbox.totals().await.unwrap(), (0, 0, 0, 0), "the card processor was never asked");
    assert_ledger_balances(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn an_empty_balance_leaves_it_all_to_the_card_and_a_shop_may_refuse_gift_cards() {
    let app = spawn_app().await;
    app.stocked_product("PEN", 300, &[("SEA1", 5)]).await;
    let di = app.buyer("di@example.com", VISA).await;
    let choice = json!({"sku": "PEN", "quantity": 1, "use_gift_card_balance": true});
    let (status, order) = app.buy(&di, "k1", choice.clone()).await;
    assert_eq!((status.as_u16(), order["status"].as_str()), (201, Some("payment_authorized")), "{order}");
    assert_eq!(cents(&order["payment"]["amount"]), cents(&order["total"]));
    assert_eq!(tender(&order), [("card".into(), cents(&order["total"]), 0)]);

    let settings = json!({"brands": ["visa", "mastercard", "amex", "discover"],
                          "funding": ["credit", "debit", "prepaid"], "gift_cards": false});
    let (status, _) = app.ops("PUT", "/v1/ops/payment-settings", Some(settings)).await;
    assert_eq!(status, 200);
    let (status, body) = app.post("/v1/buy-now/preview", Some(&di.token), choice.clone()).await;
    assert_eq!((status.as_u16(), problem_code(&body)), (422, "payment_method_not_accepted"), "{body}");
    let (status, body) = app.buy(&di, "k2", choice).await;
    assert_eq!((status.as_u16(), problem_code(&body)), (422, "payment_method_not_accepted"), "{body}");
    assert!(body["detail"].as_str().unwrap().contains("gift card balance is not accepted"), "{body}");
    let (status, _) = app.buy(&di, "k3", json!({"sku": "PEN", "quantity": 1})).await;
    assert_eq!(status, 201, "without the gift card it goes through");
    app.stop().await;
}
