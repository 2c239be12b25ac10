//! Fulfillment centers under /v1/ops/centers, seen by every process; the promise in the review is the one the
//! order keeps, for every speed and for a split order.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;

fn center(code: &str, cut_off: &str, days: &[&str]) -> serde_json::Value {
    json!({
        "code": code, "name": format!("Center {code}"), "time_zone": "America/Chicago", "cut_off": cut_off,
        "operating_days": days, "holidays": ["2026-12-25"],
        "address": {"name": format!("Center {code}"), "line1": "1 Dock Rd", "city": "Dallas", "region": "TX",
                    "postal_code": "75201", "country": "US"}
    })
}

#[tokio::test]
async fn centers_are_created_listed_changed_and_checked() {
    let app = spawn_app().await;
    let (status, made) =
        app.ops("POST", "/v1/ops/centers", Some(center("DFW1", "15:30", &["mon", "tue", "wed", "thu", "fri"]))).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!((made["cut_off"].as_str(), made["operating_days"].as_array().unwrap().len()), (Some("15:30"), 5));
    assert_eq!(made["address"]["region"], "TX");
    let (status, _) = app.ops("POST", "/v1/ops/centers", Some(center("DFW1", "15:30", &["mon"]))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, changed) =
        app.ops("PUT", "/v1/ops/centers/DFW1", Some(center("DFW1", "12:00", &["mon", "sat"]))).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["cut_off"], "12:00");
    let (_, list) = app.ops("GET", "/v1/ops/centers", None).await;
    let codes: Vec<&str> = list["centers"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["SEA1", "PHL1", "DFW1"]);
    // What a calendar cannot read is refused with the field at fault.
    for (field, bad) in [
        ("time_zone", json!("Mars/Olympus")),
        ("cut_off", json!("25:00")),
        ("operating_days", json!(["someday"])),
        ("holidays", json!(["2026-13-45"])),
    ] {
        let mut body = center("BAD1", "10:00", &["mon"]);
        body[field] = bad;
        let (status, problem) = app.ops("POST", "/v1/ops/centers", Some(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {problem}");
    }
    let (status, _) = app.ops("PUT", "/v1/ops/centers/NOPE", Some(center("NOPE", "10:00", &["mon"]))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.request("POST", "/v1/ops/centers", None, Some(center("X1", "10:00", &["mon"]))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

#[tokio::test]
async fn another_process_sees_a_new_center_without_a_restart() {
    let app = spawn_app().await;
    let (other, _running) = app.second_process().await;
    let (status, _) =
        app.ops("POST", "/v1/ops/centers", Some(center("DFW1", "15:30", &["mon", "tue", "wed", "thu", "fri"]))).await;
    assert_eq!(status, StatusCode::CREATED);
    for _ in 0..100 {
        if other.centers().by_code.contains_key("DFW1") {
            app.stop().await;
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the other process never saw DFW1");
}

#[tokio::test]
async fn the_promise_in_the_review_is_the_one_the_order_keeps() {
    let app = spawn_app().await;
    app.stocked_product("CLOCK", 4000, &[("SEA1", 2), ("PHL1", 2)]).await;
    let c = app.buyer("promise@example.com", VISA).await;
    for (i, (speed, quantity)) in
        [("standard", 1), ("two_day", 1), ("one_day", 1), ("two_day", 3)].into_iter().enumerate()
    {
        let body = json!({"sku": "CLOCK", "quantity": quantity, "delivery_speed": speed});
        let (status, review) = app.post("/v1/buy-now/preview", Some(&c.token), body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{review}");
        let offered =
            review["delivery_options"].as_array().unwrap().iter().find(|o| o["speed"] == speed).unwrap().clone();
        let (status, order) = app.buy(&c, &format!("k{i}"), body).await;
        assert_eq!(status, StatusCode::CREATED, "{order}");
        assert_eq!(order["estimated_delivery"], offered["estimated_delivery"], "{speed} × {quantity}");
        let kept = app.order(&c, order["id"].as_str().unwrap()).await;
        assert_eq!(kept["estimated_delivery"], offered["estimated_delivery"], "{speed} × {quantity}, read back");
        if quantity == 3 {
            assert_eq!(kept["shipments"].as_array().unwrap().len(), 2, "a split order");
        }
        let (status, _) =
            app.post(&format!("/v1/orders/{}/cancel", order["id"].as_str().unwrap()), Some(&c.token), json!({})).await;
        assert_eq!(status, StatusCode::OK);
    }
    app.stop().await;
}
