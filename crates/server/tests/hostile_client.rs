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

/// Sends `raw` on a connection of its own and reads the answer until the server closes it: (status, content
/// type, body).
async fn raw_exchange(app: &TestApp, raw: &[u8]) -> (u16, String, serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(app.url.trim_start_matches("http://")).await.unwrap();
    // The server may answer and close before it has read all of a request this large: what it answered counts.
    let _ = stream.write_all(raw).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("an answer: {text:?}"));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status line");
    let content_type = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-type: ").map(str::to_string))
        .unwrap_or_default();
    (status, content_type, serde_json::from_str(body).unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn a_head_hyper_cannot_read_is_answered_in_problem_json_without_what_was_sent() {
    let app = spawn_app().await;
    let control = b"GET /v1/products HTTP/1.1\r\nHost: shop\r\nX-Note: secret\x01value\r\n\r\n".to_vec();
    let many: String = (0..200).map(|i| format!("X-Header-{i}: v\r\n")).collect();
    let many = format!("GET /v1/products HTTP/1.1\r\nHost: shop\r\n{many}\r\n").into_bytes();
    let long = format!("GET /v1/products?q={} HTTP/1.1\r\nHost: shop\r\n\r\n", "a".repeat(70_000)).into_bytes();
    for (raw, status, code) in
        [(control, 400, "malformed_request"), (many, 431, "headers_too_large"), (long, 414, "uri_too_long")]
    {
        let (got, content_type, body) = raw_exchange(&app, &raw).await;
        assert_eq!((got, content_type.as_str()), (status, "application/problem+json"), "{code}: {body}");
        assert_eq!(problem_code(&body), code, "{body}");
        assert_eq!(body["status"], status);
        assert!(!body.to_string().contains("secret"), "{body}");
    }
    // The server goes on serving.
    assert_eq!(app.get("/v1/products", None).await.0, StatusCode::OK);
    app.stop().await;
}
