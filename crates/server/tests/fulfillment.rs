//! After the order: the hold window, release, pick lists, pick, pack, ship with a label and a capture, signed
//! carrier events to the door; splits, consolidation, sellers, short picks, cancels refused, returns.
//! Runs on SQLite, and on PostgreSQL with BUYNOW_TEST_BACKEND=postgres.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn an_order_goes_from_the_button_to_the_door() {
    let app = spawn_app().await;
    app.stocked_product("LAMP", 2500, &[("SEA1", 5), ("PHL1", 5)]).await;
    let c = app.buyer("door@example.com", VISA).await;
    let (status, order) = app.buy(&c, "k1", json!({"sku": "LAMP", "quantity": 1})).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!(order["status"], "payment_authorized");
    assert!(order["cancellable_until"].is_string());
    let id = order["id"].as_str().unwrap().to_string();
    let total = order["total"]["amount"].as_i64().unwrap();
    assert_eq!(order["shipments"][0]["status"], "pending");
    // San Francisco is served soonest and cheapest from Seattle.
    assert_eq!(order["shipments"][0]["fulfillment_center"], "SEA1");

    // Nothing reaches the warehouse inside the hold window.
    assert!(app.pick_list("SEA1", ADMIN_KEY).await.is_empty());
    app.release_window().await;
    let order = app.order(&c, &id).await;
    assert_eq!(order["status"], "released");
    let list = app.pick_list("SEA1", ADMIN_KEY).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let shipment = list[0]["id"].as_str().unwrap().to_string();
    assert_eq!(list[0]["order_ids"], json!([id]));
    assert_eq!(list[0]["lines"], json!([{"sku": "LAMP", "quantity": 1}]));

    // Illegal steps are 409s: pack before pick.
    let (status, body) = app.ops("POST", &format!("/v1/ops/shipments/{shipment}/pack"), Some(json!({}))).await;
    assert_eq!((status, problem_code(&body)), (StatusCode::CONFLICT, "invalid_state"));

    let (status, picked) = app.ops("POST", &format!("/v1/ops/shipments/{shipment}/pick"), None).await;
    assert_eq!(status, StatusCode::OK, "{picked}");
    assert_eq!(picked["status"], "picking");
    assert_eq!(app.order(&c, &id).await["status"], "picking");
    // Once picking started, the customer can no longer cancel.
    let (status, body) = app.post(&format!("/v1/orders/{id}/cancel"), Some(&c.token), json!({})).await;
    assert_eq!((status, problem_code(&body)), (StatusCode::CONFLICT, "not_cancellable"));
    assert!(app.order(&c, &id).await["cancellable_until"].is_null());

    let (status, packed) = app.ops("POST", &format!("/v1/ops/shipments/{shipment}/pack"), None).await;
    assert_eq!(status, StatusCode::OK, "{packed}");
    assert_eq!(packed["box"], "S");
    assert_eq!(packed["weight_grams"], 500, "the lamp and the box");

    let (status, shipped) = app.ops("POST", &format!("/v1/ops/shipments/{shipment}/ship"), Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{shipped}");
    assert_eq!(shipped["status"], "shipped");
    let carrier = shipped["carrier"].as_str().unwrap().to_string();
    let tracking = shipped["tracking_number"].as_str().unwrap().to_string();
    assert!(shipped["service"].is_string());
    let carriers = buynow_logistics::carriers::demo();
    let format = carriers.iter().find(|c| c.code == carrier).unwrap().tracking;
    assert!(format.is_valid(&tracking), "{tracking} carries its check digit");
    // Shipping twice is refused.
    let (status, _) = app.ops("POST", &format!("/v1/ops/shipments/{shipment}/ship"), Some(json!({}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    // The stock left the shelf.
    assert_eq!(app.stock_at("LAMP", "SEA1").await, (4, 0));

    // The label: a 4x6 in PDF.
    let label = shipped["label_url"].as_str().unwrap();
    let (status, content_type, pdf) = app.get_bytes(label, ADMIN_KEY).await;
    assert_eq!((status, content_type.as_str()), (StatusCode::OK, "application/pdf"));
    assert!(pdf.starts_with(b"%PDF-"));

    // The shipment's capture is recorded: the whole total, at the sandbox too.
    app.settle().await;
    let order = app.order(&c, &id).await;
    assert_eq!(order["status"], "shipped");
    assert_eq!(order["payment"]["status"], "captured");
    assert_eq!(order["payment"]["captured"]["amount"], total);
    assert_eq!(order["shipments"][0]["carrier"], carrier.as_str());
    assert_eq!(order["shipments"][0]["tracking_number"], tracking.as_str());
    assert!(order["shipments"][0]["tracking_url"].as_str().unwrap().contains(&tracking));
    assert_eq!(app.sandbox.totals().await.unwrap().1, total, "captured once, at the processor");

    // Tracking events: signed; a bad signature is 401 and changes nothing; a replay changes nothing.
    let at = |m: i64| app.state.now() + chrono::Duration::minutes(m);
    let in_transit = json!({"id": "ev-1", "tracking_number": tracking, "type": "in_transit", "occurred_at": at(10), "location": "Oakland, CA"});
    let before = app.dump().await;
    let forged = buynow_logistics::signing::new_secret([9; 32]);
    let (status, body) = app.carrier_event_signed(&carrier, &forged, &in_transit).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(app.dump().await, before, "a forged event changed nothing");
    let (status, body) = app.carrier_event(&carrier, &in_transit).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::ACCEPTED, Some("applied")));
    let after_first = app.dump().await;
    let (status, body) = app.carrier_event(&carrier, &in_transit).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::ACCEPTED, Some("duplicate")));
    assert_eq!(app.dump().await, after_first, "a replayed event changed nothing");
    let out = json!({"id": "ev-2", "tracking_number": tracking, "type": "out_for_delivery", "occurred_at": at(60)});
    assert_eq!(app.carrier_event(&carrier, &out).await.0, StatusCode::ACCEPTED);
    // An event that happened before the last one applied arrives late: kept, applied to nothing.
    let late = json!({"id": "ev-0", "tracking_number": tracking, "type": "in_transit", "occurred_at": at(5)});
    let (status, body) = app.carrier_event(&carrier, &late).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::ACCEPTED, Some("ignored")));
    assert_eq!(app.order(&c, &id).await["shipments"][0]["status"], "out_for_delivery");
    let delivered = json!({"id": "ev-3", "tracking_number": tracking, "type": "delivered", "occurred_at": at(120)});
    assert_eq!(app.carrier_event(&carrier, &delivered).await.0, StatusCode::ACCEPTED);

    let order = app.order(&c, &id).await;
    assert_eq!(order["status"], "delivered");
    let events: Vec<&str> =
        order["shipments"][0]["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(events, ["in_transit", "out_for_delivery", "delivered"]);
    let timeline: Vec<&str> =
        order["timeline"].as_array().unwrap().iter().map(|t| t["event"].as_str().unwrap()).collect();
    for expected in [
        "order.placed",
        "order.payment_authorized",
        "order.released",
        "shipment.picking",
        "shipment.shipped",
        "payment.captured",
        "shipment.out_for_delivery",
        "shipment.delivered",
        "order.delivered",
    ] {
        assert!(timeline.contains(&expected), "{expected} missing from {timeline:?}");
    }
    // Each customer-facing event once in the outbox.
    let once = |kind: &str| format!("SELECT COUNT(*) FROM outbox WHERE order_id = '{id}' AND kind = '{kind}'");
    for kind in ["order.placed", "shipment.shipped", "shipment.delivered", "order.delivered"] {
        assert_eq!(app.scalar(&once(kind)).await, 1, "{kind}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_quantity_no_center_holds_ships_from_two_with_two_captures_that_sum_to_the_total() {
    let app = spawn_app().await;
    app.stocked_product("BOOK", 1999, &[("SEA1", 2), ("PHL1", 2)]).await;
    let c = app.buyer("split@example.com", VISA).await;
    let (status, order) = app.buy(&c, "k1", json!({"sku": "BOOK", "quantity": 3})).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let id = order["id"].as_str().unwrap().to_string();
    let total = order["total"]["amount"].as_i64().unwrap();
    let centers: Vec<&str> =
        order["shipments"].as_array().unwrap().iter().map(|s| s["fulfillment_center"].as_str().unwrap()).collect();
    assert_eq!(centers.len(), 2, "{order}");
    app.release_window().await;
    let mut trackings = Vec::new();
    for center in ["SEA1", "PHL1"] {
        let list = app.pick_list(center, ADMIN_KEY).await;
        assert_eq!(list.len(), 1, "{center}: {list:?}");
        let shipped = app.pick_pack_ship(list[0]["id"].as_str().unwrap(), ADMIN_KEY, json!({})).await;
        trackings.push((
            shipped["carrier"].as_str().unwrap().to_string(),
            shipped["tracking_number"].as_str().unwrap().to_string(),
        ));
        app.settle().await;
        let order = app.order(&c, &id).await;
        let expected = if center == "SEA1" { "partially_captured" } else { "captured" };
        assert_eq!(order["payment"]["status"], expected, "{order}");
    }
    let captures = app.scalar(&format!(
        "SELECT CAST(SUM(amount) AS BIGINT) FROM captures WHERE payment_id IN (SELECT id FROM payments WHERE order_id = '{id}')"
    )).await;
    assert_eq!(captures, total, "the two shares sum to the total exactly");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM captures WHERE status = 'captured'").await, 2);
    assert_eq!(app.order(&c, &id).await["status"], "shipped", "shipped when every parcel has");
    for (carrier, tracking) in &trackings[..1] {
        app.deliver(carrier, tracking).await;
    }
    assert_eq!(app.order(&c, &id).await["status"], "shipped", "delivered only when every parcel is");
    for (carrier, tracking) in &trackings[1..] {
        app.deliver(carrier, tracking).await;
    }
    assert_eq!(app.order(&c, &id).await["status"], "delivered");
    app.stop().await;
}

#[tokio::test]
async fn two_buy_nows_inside_one_window_ship_as_one_parcel() {
    let app = spawn_app().await;
    app.stocked_product("TEA", 899, &[("SEA1", 10)]).await;
    app.stocked_product("MUG2", 1299, &[("SEA1", 10)]).await;
    let c = app.buyer("together@example.com", VISA).await;
    let (_, first) = app.buy(&c, "k1", json!({"sku": "TEA", "quantity": 1})).await;
    app.advance(chrono::Duration::minutes(30));
    let (_, second) = app.buy(&c, "k2", json!({"sku": "MUG2", "quantity": 2})).await;
    // Another customer's order is not mixed in.
    let other = app.buyer("apart@example.com", VISA).await;
    let (_, third) = app.buy(&other, "k3", json!({"sku": "TEA", "quantity": 1})).await;
    app.release_window().await;
    let list = app.pick_list("SEA1", ADMIN_KEY).await;
    assert_eq!(list.len(), 2, "{list:?}");
    let together = list.iter().find(|s| s["order_ids"].as_array().unwrap().len() == 2).expect("a consolidated parcel");
    let mut orders: Vec<String> =
        together["order_ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    orders.sort();
    let mut expected = vec![first["id"].as_str().unwrap().to_string(), second["id"].as_str().unwrap().to_string()];
    expected.sort();
    assert_eq!(orders, expected);
    assert_eq!(together["lines"], json!([{"sku": "MUG2", "quantity": 2}, {"sku": "TEA", "quantity": 1}]));
    // One pick for both.
    let parcel = together["id"].as_str().unwrap();
    let (status, _) = app.ops("POST", &format!("/v1/ops/shipments/{parcel}/pick"), None).await;
    assert_eq!(status, StatusCode::OK);
    for id in [first["id"].as_str().unwrap(), second["id"].as_str().unwrap()] {
        let order = app.order(&c, id).await;
        assert_eq!(order["status"], "picking");
        assert_eq!(order["shipments"][0]["id"], parcel, "each order shows the parcel it travels in");
    }
    assert_eq!(app.order(&other, third["id"].as_str().unwrap()).await["status"], "released");
    let shipped = app.pick_pack_ship_rest(parcel).await;
    app.settle().await;
    for (id, total) in [(&first, first["total"]["amount"].clone()), (&second, second["total"]["amount"].clone())] {
        let order = app.order(&c, id["id"].as_str().unwrap()).await;
        assert_eq!(order["payment"]["captured"]["amount"], total, "each order pays its own total");
        assert_eq!(order["shipments"][0]["tracking_number"], shipped["tracking_number"]);
    }
    app.stop().await;
}

#[tokio::test]
async fn a_seller_ships_its_own_items_under_its_key_and_no_other_seller_can() {
    let app = spawn_app().await;
    let (status, seller) = app.ops("POST", "/v1/ops/sellers", Some(json!({"name": "Clay Co"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{seller}");
    let (_, rival) = app.ops("POST", "/v1/ops/sellers", Some(json!({"name": "Rival Pottery"}))).await;
    let (seller_id, key, center) =
        (seller["id"].as_str().unwrap(), seller["key"].as_str().unwrap(), seller["center"].as_str().unwrap());
    let (status, body) = app
        .ops(
            "POST",
            "/v1/ops/products",
            Some(json!({"sku": "VASE", "title": "A vase", "price": {"amount": 4000, "currency": "USD"},
            "prime_eligible": false, "fulfilled_by": seller_id})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["fulfilled_by"], seller_id);
    let (status, body) =
        app.ops("PUT", "/v1/ops/stock/VASE", Some(json!({"fulfillment_center": center, "on_hand": 3}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let c = app.buyer("vase@example.com", VISA).await;
    let (_, order) = app.buy(&c, "k1", json!({"sku": "VASE", "quantity": 1})).await;
    let id = order["id"].as_str().unwrap();
    assert_eq!(order["shipments"][0]["fulfillment_center"], center);
    // A seller's items wait 30 minutes, not 90.
    app.advance(chrono::Duration::minutes(31));
    app.settle().await;
    assert_eq!(app.order(&c, id).await["status"], "released");
    // The seller sees its own queue; the store's warehouse list does not have it.
    assert!(app.pick_list("SEA1", ADMIN_KEY).await.is_empty());
    let (status, queue) = app.get("/v1/ops/pick-lists", Some(key)).await;
    assert_eq!(status, StatusCode::OK, "{queue}");
    let parcel = queue["waves"][0]["shipments"][0]["id"].as_str().unwrap().to_string();
    // Another seller may neither see nor touch it.
    let rival_key = rival["key"].as_str().unwrap();
    let (status, body) = app.request("POST", &format!("/v1/ops/shipments/{parcel}/pick"), Some(rival_key), None).await;
    assert_eq!((status, problem_code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    let (status, _) = app.get(&format!("/v1/ops/pick-lists?center={center}"), Some(rival_key)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The seller ships with its own carrier account and tracking number, checked against the carrier's format.
    let own =
        buynow_logistics::carriers::demo().into_iter().find(|c| c.code == "parcelway").unwrap().tracking.format(42);
    let (status, body) = app.request("POST", &format!("/v1/ops/shipments/{parcel}/pick"), Some(key), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.request("POST", &format!("/v1/ops/shipments/{parcel}/pack"), Some(key), None).await;
    let last = own.chars().last().unwrap().to_digit(10).unwrap();
    let mistyped = format!("{}{}", &own[..own.len() - 1], (last + 1) % 10);
    let (status, body) = app
        .request(
            "POST",
            &format!("/v1/ops/shipments/{parcel}/ship"),
            Some(key),
            Some(json!({"carrier": "parcelway", "tracking_number": mistyped})),
        )
        .await;
    assert_eq!((status, problem_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_tracking_number"), "{body}");
    let (status, shipped) = app
        .request(
            "POST",
            &format!("/v1/ops/shipments/{parcel}/ship"),
            Some(key),
            Some(json!({"carrier": "parcelway", "tracking_number": own})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{shipped}");
    assert_eq!(shipped["tracking_number"], own.as_str());
    app.deliver("parcelway", &own).await;
    app.settle().await;
    let order = app.order(&c, id).await;
    assert_eq!((order["status"].as_str(), order["payment"]["status"].as_str()), (Some("delivered"), Some("captured")));
    app.stop().await;
}

#[tokio::test]
async fn a_short_pick_ships_the_rest_from_another_center_or_holds_the_order() {
    let app = spawn_app().await;
    app.stocked_product("CUP", 1000, &[("SEA1", 5), ("PHL1", 5)]).await;
    app.stocked_product("RARE", 1000, &[("SEA1", 2)]).await;
    let c = app.buyer("short@example.com", VISA).await;
    let (_, order) = app.buy(&c, "k1", json!({"sku": "CUP", "quantity": 3})).await;
    // Another customer, so the two orders do not travel together.
    let r = app.buyer("rare@example.com", VISA).await;
    let (_, rare) = app.buy(&r, "k2", json!({"sku": "RARE", "quantity": 2})).await;
    let (id, rare_id) = (order["id"].as_str().unwrap(), rare["id"].as_str().unwrap());
    let total = order["total"]["amount"].as_i64().unwrap();
    app.release_window().await;
    let list = app.pick_list("SEA1", ADMIN_KEY).await;
    let parcel =
        list.iter().find(|s| s["lines"].to_string().contains("CUP")).unwrap()["id"].as_str().unwrap().to_string();
    // Only one of three found; the other two come from Philadelphia.
    let (status, body) = app
        .ops(
            "POST",
            &format!("/v1/ops/shipments/{parcel}/pick"),
            Some(json!({"lines": [{"sku": "CUP", "quantity": 1}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["lines"], json!([{"sku": "CUP", "quantity": 1}]));
    assert_eq!(app.stock_at("CUP", "SEA1").await, (3, 1), "the two missing are written off");
    assert_eq!(app.stock_at("CUP", "PHL1").await, (5, 2), "and reserved where they are");
    let philly = app.pick_list("PHL1", ADMIN_KEY).await;
    assert_eq!(philly.len(), 1, "{philly:?}");
    assert_eq!(philly[0]["lines"], json!([{"sku": "CUP", "quantity": 2}]));
    let order_now = app.order(&c, id).await;
    assert!(!order_now["on_hold"].as_bool().unwrap());
    assert!(order_now["timeline"].to_string().contains("shipment.short_picked"));
    app.pick_pack_ship_rest(&parcel).await;
    app.pick_pack_ship(philly[0]["id"].as_str().unwrap(), ADMIN_KEY, json!({})).await;
    app.settle().await;
    let order_now = app.order(&c, id).await;
    assert_eq!(order_now["payment"]["captured"]["amount"], total, "every unit shipped: the whole total");

    // None to be had anywhere: the order is held and the customer told; the missing units are never charged.
    let rare_list = app.pick_list("SEA1", ADMIN_KEY).await;
    let parcel =
        rare_list.iter().find(|s| s["lines"].to_string().contains("RARE")).unwrap()["id"].as_str().unwrap().to_string();
    let (status, _) = app
        .ops(
            "POST",
            &format!("/v1/ops/shipments/{parcel}/pick"),
            Some(json!({"lines": [{"sku": "RARE", "quantity": 1}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let held = app.order(&r, rare_id).await;
    assert!(held["on_hold"].as_bool().unwrap(), "{held}");
    assert!(held["hold_reason"].as_str().unwrap().contains("RARE"));
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM outbox WHERE order_id = '{rare_id}' AND kind = 'support.case_opened'"
        ))
        .await,
        1,
        "the customer is told by the support case the short pick opened"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM support_cases WHERE order_id = '{rare_id}' AND reason = 'short_pick' AND status = 'open'"
        ))
        .await,
        1
    );
    app.pick_pack_ship_rest(&parcel).await;
    app.settle().await;
    let held = app.order(&r, rare_id).await;
    let half = rare["total"]["amount"].as_i64().unwrap() / 2;
    assert_eq!(held["payment"]["captured"]["amount"], half, "one of two units shipped: half the total");
    assert_eq!(app.stock_at("RARE", "SEA1").await, (0, 0));
    app.stop().await;
}

#[tokio::test]
async fn a_cancel_is_accepted_until_picking_starts() {
    let app = spawn_app().await;
    app.stocked_product("PEN", 300, &[("SEA1", 10)]).await;
    let c = app.buyer("cancel@example.com", VISA).await;
    let (_, early) = app.buy(&c, "k1", json!({"sku": "PEN", "quantity": 1, "delivery_speed": "one_day"})).await;
    let (_, late) = app.buy(&c, "k2", json!({"sku": "PEN", "quantity": 1})).await;
    app.release_window().await;
    // Released but not picked: still cancellable, the stock comes back, the hold is voided.
    let early_id = early["id"].as_str().unwrap();
    let (status, body) = app.post(&format!("/v1/orders/{early_id}/cancel"), Some(&c.token), json!({})).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("cancelled")), "{body}");
    app.settle().await;
    assert_eq!(app.order(&c, early_id).await["payment"]["status"], "voided");
    let late_id = late["id"].as_str().unwrap();
    let parcel = app.order(&c, late_id).await["shipments"][0]["id"].as_str().unwrap().to_string();
    let (status, _) = app.ops("POST", &format!("/v1/ops/shipments/{parcel}/pick"), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app.post(&format!("/v1/orders/{late_id}/cancel"), Some(&c.token), json!({})).await;
    assert_eq!((status, problem_code(&body)), (StatusCode::CONFLICT, "not_cancellable"));
    assert_eq!(app.stock_at("PEN", "SEA1").await, (10, 1));
    // A cancelled shipment cannot be picked.
    let cancelled = app.order(&c, early_id).await["shipments"][0]["id"].as_str().unwrap().to_string();
    let (status, _) = app.ops("POST", &format!("/v1/ops/shipments/{cancelled}/pick"), None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    app.stop().await;
}

#[tokio::test]
async fn a_return_is_refunded_when_received_and_its_stock_is_back() {
    let app = spawn_app().await;
    app.stocked_product("SHOE", 5000, &[("SEA1", 4)]).await;
    let c = app.buyer("return@example.com", VISA).await;
    let (_, order) = app.buy(&c, "k1", json!({"sku": "SHOE", "quantity": 2, "delivery_speed": "one_day"})).await;
    let id = order["id"].as_str().unwrap();
    // Not before delivery.
    let (status, body) = app
        .post(
            &format!("/v1/orders/{id}/returns"),
            Some(&c.token),
            json!({"items": [{"sku": "SHOE", "quantity": 1}], "reason": "damaged"}),
        )
        .await;
    assert_eq!((status, problem_code(&body)), (StatusCode::CONFLICT, "not_returnable"));
    app.release_window().await;
    let parcel = app.pick_list("SEA1", ADMIN_KEY).await[0]["id"].as_str().unwrap().to_string();
    let shipped = app.pick_pack_ship(&parcel, ADMIN_KEY, json!({})).await;
    app.deliver(shipped["carrier"].as_str().unwrap(), shipped["tracking_number"].as_str().unwrap()).await;
    app.settle().await;
    assert_eq!(app.stock_at("SHOE", "SEA1").await, (2, 0));
    let order = app.order(&c, id).await;
    assert_eq!(order["status"], "delivered");
    // More than was bought is refused.
    let (status, _) = app
        .post(
            &format!("/v1/orders/{id}/returns"),
            Some(&c.token),
            json!({"items": [{"sku": "SHOE", "quantity": 3}], "reason": "damaged"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Also when split over two lines of one SKU.
    let twice = json!({"items": [{"sku": "SHOE", "quantity": 2}, {"sku": "SHOE", "quantity": 1}], "reason": "damaged"});
    let (status, _) = app.post(&format!("/v1/orders/{id}/returns"), Some(&c.token), twice).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, ret) = app
        .post(
            &format!("/v1/orders/{id}/returns"),
            Some(&c.token),
            json!({"items": [{"sku": "SHOE", "quantity": 1}], "reason": "damaged"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ret}");
    // One of two shoes, its share of the tax, and the shipping (the shop's fault).
    let tax = order["tax"]["amount"].as_i64().unwrap();
    let shipping = order["shipping"]["amount"].as_i64().unwrap();
    assert_eq!(ret["refund"]["amount"], 5000 + tax / 2 + shipping);
    assert_eq!(ret["status"], "requested");
    let (status, ct, pdf) = app.get_bytes(ret["label_url"].as_str().unwrap(), &c.token).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/pdf"));
    assert!(pdf.starts_with(b"%PDF-"));
    assert_eq!(app.order(&c, id).await["status"], "return_requested");

    let ret_id = ret["id"].as_str().unwrap();
    let (status, received) =
        app.ops("POST", &format!("/v1/ops/returns/{ret_id}/receive"), Some(json!({"condition": "sellable"}))).await;
    assert_eq!(status, StatusCode::OK, "{received}");
    app.settle().await;
    assert_eq!(app.stock_at("SHOE", "SEA1").await, (3, 0), "back on the shelf");
    let order = app.order(&c, id).await;
    assert_eq!(order["status"], "refunded");
    assert_eq!(order["payment"]["refunded"], ret["refund"]);
    assert_eq!(order["returns"][0]["status"], "refunded");
    let steps: Vec<(&str, &str)> = order["payment"]["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["step"].as_str().unwrap(), a["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(steps, [("authorize", "approved"), ("capture", "done"), ("refund", "done")], "{order}");
    assert_eq!(order["payment"]["attempts"][2]["amount"], ret["refund"]);
    assert_eq!(
        app.sandbox.totals().await.unwrap().2,
        ret["refund"]["amount"].as_i64().unwrap(),
        "refunded once, at the processor"
    );
    // Receiving it again changes nothing.
    let (status, _) =
        app.ops("POST", &format!("/v1/ops/returns/{ret_id}/receive"), Some(json!({"condition": "sellable"}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.stock_at("SHOE", "SEA1").await, (3, 0));
    app.stop().await;
}

#[tokio::test]
async fn returns_close_thirty_days_after_delivery() {
    let app = spawn_app().await;
    app.stocked_product("HAT", 2000, &[("SEA1", 2)]).await;
    let c = app.buyer("late@example.com", VISA).await;
    let (_, order) = app.buy(&c, "k1", json!({"sku": "HAT", "quantity": 1})).await;
    let id = order["id"].as_str().unwrap();
    app.release_window().await;
    let parcel = app.pick_list("SEA1", ADMIN_KEY).await[0]["id"].as_str().unwrap().to_string();
    let shipped = app.pick_pack_ship(&parcel, ADMIN_KEY, json!({})).await;
    app.deliver(shipped["carrier"].as_str().unwrap(), shipped["tracking_number"].as_str().unwrap()).await;
    app.advance(chrono::Duration::days(31));
    let body = json!({"items": [{"sku": "HAT", "quantity": 1}], "reason": "no_longer_needed"});
    let (status, problem) = app.post(&format!("/v1/orders/{id}/returns"), Some(&c.token), body).await;
    assert_eq!((status, problem_code(&problem)), (StatusCode::CONFLICT, "return_window_closed"));
    app.stop().await;
}

#[tokio::test]
async fn a_hold_older_than_seven_days_is_authorized_again_before_capture() {
    let app = spawn_app().await;
    app.stocked_product("SLOW", 3000, &[("SEA1", 2)]).await;
    let c = app.buyer("slow@example.com", VISA).await;
    let (_, order) = app.buy(&c, "k1", json!({"sku": "SLOW", "quantity": 1})).await;
    let id = order["id"].as_str().unwrap();
    let total = order["total"]["amount"].as_i64().unwrap();
    app.release_window().await;
    // The parcel sits at the warehouse for eight days.
    app.advance(chrono::Duration::days(8));
    let parcel = app.pick_list("SEA1", ADMIN_KEY).await[0]["id"].as_str().unwrap().to_string();
    app.pick_pack_ship(&parcel, ADMIN_KEY, json!({})).await;
    app.settle().await;
    let order = app.order(&c, id).await;
    assert_eq!(order["payment"]["status"], "captured", "{order}");
    assert_eq!(order["payment"]["captured"]["amount"], total);
    assert!(order["timeline"].to_string().contains("payment.reauthorized"), "{}", order["timeline"]);
    let (approved, captured, _, _) = app.sandbox.totals().await.unwrap();
    assert_eq!(approved, 2 * total, "the first hold and the renewed one");
    assert_eq!(captured, total, "captured once, from the renewed hold");
    app.stop().await;
}

#[tokio::test]
async fn an_address_no_center_or_carrier_reaches_is_refused_before_anything_is_reserved() {
    let app = spawn_app().await;
    app.stocked_product("GLOBE", 1000, &[("SEA1", 5)]).await;
    let c = app.sign_up("abroad@example.com").await;
    let (status, _) = app
        .post("/v1/me/addresses", Some(&c.token), json!({"name": "A", "line1": "1 Queen St W", "city": "Toronto", "region": "ON", "postal_code": "M5H 2N2", "country": "CA", "default": true}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    app.add_card(&c, VISA).await;
    let (status, body) = app.post("/v1/buy-now/preview", Some(&c.token), json!({"sku": "GLOBE", "quantity": 1})).await;
    assert_eq!((status, problem_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "not_deliverable"), "{body}");
    let before = app.stock("GLOBE").await;
    let (status, body) = app.buy(&c, "k1", json!({"sku": "GLOBE", "quantity": 1})).await;
    assert_eq!((status, problem_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "not_deliverable"), "{body}");
    assert_eq!(app.stock("GLOBE").await, before, "nothing reserved");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM orders").await, 0);
    app.stop().await;
}
