//! The payment methods a shop and its sellers accept: set under /v1/ops, and a Buy Now or a review with a card
//! they refuse is a clear 422 that names what is accepted, with nothing written.

mod common;

use axum::http::StatusCode;
use common::{problem_code, spawn_app, MASTERCARD, VISA, VISA_DEBIT};
use serde_json::json;

#[tokio::test]
async fn a_card_the_settings_refuse_is_422_naming_what_is_accepted_and_a_seller_narrows_the_shop() {
    let app = spawn_app().await;
    let (status, all) = app.ops("GET", "/v1/ops/payment-settings", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        all,
        json!({"brands": ["visa", "mastercard", "amex", "discover"],
        "funding": ["credit", "debit", "prepaid"], "gift_cards": true}),
        "everything, until the shop says otherwise"
    );
    let only_visa_credit = json!({"brands": ["visa"], "funding": ["credit"], "gift_cards": true});
    let (status, set) = app.ops("PUT", "/v1/ops/payment-settings", Some(only_visa_credit.clone())).await;
    assert_eq!((status, &set), (StatusCode::OK, &only_visa_credit));

    app.stocked_product("SHOE", 5000, &[("SEA1", 5)]).await;
    for (card, refused) in [(MASTERCARD, true), (VISA_DEBIT, true), (VISA, false)] {
        let c = app.buyer(&format!("{card}@example.com"), card).await;
        let (status, preview) =
            app.post("/v1/buy-now/preview", Some(&c.token), json!({"sku": "SHOE", "quantity": 1})).await;
        let (placed, body) = app.buy(&c, "k1", json!({"sku": "SHOE", "quantity": 1})).await;
        if refused {
            assert_eq!(
                (status, problem_code(&preview)),
                (StatusCode::UNPROCESSABLE_ENTITY, "payment_method_not_accepted")
            );
            assert_eq!(
                (placed, problem_code(&body)),
                (StatusCode::UNPROCESSABLE_ENTITY, "payment_method_not_accepted")
            );
            assert!(body["detail"].as_str().unwrap().contains("it takes Visa, credit cards"), "{body}");
        } else {
            assert_eq!((status, placed), (StatusCode::OK, StatusCode::CREATED), "{preview} {body}");
        }
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM orders").await, 1, "a refused card writes nothing");

    // A seller's items: what both the shop and the seller accept.
    let (_, seller) = app.ops("POST", "/v1/ops/sellers", Some(json!({"name": "Clay Co"}))).await;
    let (seller_id, center) = (seller["id"].as_str().unwrap(), seller["center"].as_str().unwrap());
    let (status, body) = app
        .ops(
            "POST",
            "/v1/ops/products",
            Some(json!({"sku": "VASE", "title": "A vase",
            "price": {"amount": 4000, "currency": "USD"}, "prime_eligible": false, "fulfilled_by": seller_id})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.ops("PUT", "/v1/ops/stock/VASE", Some(json!({"fulfillment_center": center, "on_hand": 3}))).await;
    let shop = json!({"brands": ["visa", "mastercard"], "funding": ["credit", "debit"], "gift_cards": true});
    app.ops("PUT", "/v1/ops/payment-settings", Some(shop)).await;
    let path = format!("/v1/ops/sellers/{seller_id}/payment-settings");
    let seller_takes = json!({"brands": ["mastercard", "amex"], "funding": ["credit", "debit"], "gift_cards": false});
    let (status, _) = app.ops("PUT", &path, Some(seller_takes.clone())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.ops("GET", &path, None).await.1, seller_takes);
    let visa = app.buyer("visa-vase@example.com", VISA).await;
    let (status, body) = app.buy(&visa, "v1", json!({"sku": "VASE", "quantity": 1})).await;
    assert_eq!((status, problem_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "payment_method_not_accepted"));
    assert!(body["detail"].as_str().unwrap().contains("it takes Mastercard, credit or debit cards"), "{body}");
    let (status, _) = app.buy(&visa, "v2", json!({"sku": "SHOE", "quantity": 1})).await;
    assert_eq!(status, StatusCode::CREATED, "the shop's own items still take Visa");
    let mc = app.buyer("mc-vase@example.com", MASTERCARD).await;
    assert_eq!(app.buy(&mc, "m1", json!({"sku": "VASE", "quantity": 1})).await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn settings_that_name_nothing_or_unknown_things_are_refused_and_only_admins_set_them() {
    let app = spawn_app().await;
    for bad in [
        json!({"brands": [], "funding": ["credit"], "gift_cards": true}),
        json!({"brands": ["visa"], "funding": ["cash"], "gift_cards": true}),
        json!({"brands": ["dinersclub"], "funding": ["credit"], "gift_cards": true}),
        json!({"brands": ["visa"], "funding": ["credit"]}),
        json!({"brands": ["visa"], "funding": ["credit"], "gift_cards": true, "extra": 1}),
    ] {
        let (status, body) = app.ops("PUT", "/v1/ops/payment-settings", Some(bad.clone())).await;
        assert!(
            status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::BAD_REQUEST,
            "{bad}: {status} {body}"
        );
    }
    let c = app.buyer("not-staff@example.com", VISA).await;
    let body = json!({"brands": ["visa"], "funding": ["credit"], "gift_cards": true});
    let (status, _) = app.request("PUT", "/v1/ops/payment-settings", Some(&c.token), Some(body.clone())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) =
        app.ops("PUT", "/v1/ops/sellers/slr_00000000000000000000000000000000/payment-settings", Some(body)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(app.ops("GET", "/v1/ops/payment-settings", None).await.1["brands"].as_array().unwrap().len(), 4);
}
