//! What a hostile or careless client gets (issue 15): a defined answer for each, in problem+json, and nothing
//! of what it sent repeated back.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn two_idempotency_keys_are_refused_and_spaces_around_one_are_not_part_of_it() {
    let app = spawn_app().await;
    app.create_product("CUP", 900, 10).await;
    let c = app.buyer("keys@example.com", VISA).await;
    let resp = app
        .client
        .post(format!("{}/v1/buy-now", app.url))
        .bearer_auth(&c.token)
        .header("idempotency-key", "first")
        .header("idempotency-key", "second")
        .json(&json!({"sku": "CUP", "quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(problem_code(&body), "idempotency_key_invalid");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM orders").await, 0, "nothing placed");

    // RFC 9110 (5.5): the whitespace around a field value is not part of it, so " k " is the key "k".
    let (status, first) = app.buy(&c, " k ", json!({"sku": "CUP", "quantity": 1})).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (_, again) = app.buy(&c, "k", json!({"sku": "CUP", "quantity": 1})).await;
    assert_eq!(again["id"], first["id"], "one key, one order");
    let (status, body) = app.buy(&c, "a key", json!({"sku": "CUP", "quantity": 1})).await;
    assert_eq!((status, problem_code(&body)), (StatusCode::BAD_REQUEST, "idempotency_key_invalid"));
    app.stop().await;
}

#[tokio::test]
async fn invisible_names_and_direction_overrides_are_refused() {
    let app = spawn_app().await;
    for name in ["\u{200B}\u{200B}\u{200B}", "\u{FEFF}", "Eve\u{202E}nimda"] {
        let body = json!({"email": "eve@example.com", "password": "correct horse", "name": name});
        let (status, problem) = app.post("/v1/customers", None, body).await;
        assert_eq!((status, problem_code(&problem)), (StatusCode::UNPROCESSABLE_ENTITY, "validation"), "{name:?}");
        assert_eq!(problem["field"], "name");
    }
    let c = app.sign_up("ann@example.com").await;
    let address = json!({"name": "\u{2066}Ann\u{2069}", "line1": "1 Main St", "city": "Seattle", "region": "WA",
                         "postal_code": "98101", "country": "US"});
    let (status, _) = app.post("/v1/me/addresses", Some(&c.token), address).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    app.stop().await;
}

#[tokio::test]
async fn a_card_number_in_the_wrong_field_never_comes_back() {
    let app = spawn_app().await;
    let c = app.sign_up("oops@example.com").await;
    for body in [
        json!({"type": "card", "number": VISA, "exp_month": 4242424242424242_i64, "exp_year": 2030, "cvc": "123"}),
        json!({"type": "card", "number": VISA, "exp_month": "4242424242424242", "exp_year": 2030, "cvc": "123"}),
        json!({"type": "card", "number": VISA, "exp_month": 12, "exp_year": 2030, "cvc": "123", "4242424242424242": 1}),
        json!({"type": "4242424242424242", "number": VISA, "exp_month": 12, "exp_year": 2030, "cvc": "123"}),
    ] {
        let (status, problem) = app.post("/v1/me/payment-methods", Some(&c.token), body.clone()).await;
        assert!(status.is_client_error(), "{body}");
        assert!(!problem.to_string().contains("4242424242424242"), "{problem}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_path_that_is_not_utf8_gets_problem_json_and_every_answer_has_the_security_headers() {
    let app = spawn_app().await;
    let c = app.sign_up("paths@example.com").await;
    // `decode` (in `request`) holds every 4xx to problem+json.
    let (status, body) = app.get("/v1/orders/%00%ff", Some(&c.token)).await;
    assert!(status.is_client_error(), "{status}");
    assert!(!body["detail"].as_str().unwrap().contains('\u{0}'));
    let (status, _) = app.get("/v1/ops/cases/%ff%fe", Some(ADMIN_KEY)).await;
    assert!(status.is_client_error());

    for (path, api) in [("/v1/products", true), ("/v1/nope", true), ("/", false), ("/signin", false)] {
        let resp = app.client.get(format!("{}{path}", app.url)).send().await.unwrap();
        let h = resp.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(h.contains_key("referrer-policy"), "{path}");
        assert!(h.contains_key("content-security-policy"), "{path}");
        if api {
            assert_eq!(h["cache-control"], "no-store", "{path}");
        }
    }
    app.stop().await;
}
