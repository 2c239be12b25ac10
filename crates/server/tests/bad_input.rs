//! Garbage in: every bad request gets a 4xx problem+json with a stable type, and nothing changes.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

struct Case {
    name: &'static str,
    method: &'static str,
    path: String,
    token: Option<String>,
    content_type: &'static str,
    idempotency_key: Option<String>,
    body: String,
    status: u16,
    code: &'static str,
}

fn case(
    name: &'static str,
    method: &'static str,
    path: &str,
    token: Option<&str>,
    body: impl Into<String>,
    status: u16,
    code: &'static str,
) -> Case {
    Case {
        name,
        method,
        path: path.to_string(),
        token: token.map(str::to_string),
        content_type: "application/json",
        idempotency_key: (path == "/v1/buy-now").then(|| format!("key-{}", name.replace(' ', "-"))),
        body: body.into(),
        status,
        code,
    }
}

#[tokio::test]
async fn bad_inputs_get_a_problem_and_change_nothing() {
    let app = spawn_app().await;
    app.create_product("REAL-SKU", 1000, 3).await;
    let c = app.buyer("taken@example.com", VISA).await;
    let t = Some(c.token.as_str());
    let (_, me) = app.get("/v1/me", t).await;
    let pm = me["default_payment_method_id"].as_str().unwrap().to_string();
    let buy = |body: Value| body.to_string();
    let card = |number: Value, month: i64, year: i64, cvc: &str| {
        json!({"type": "card", "number": number, "exp_month": month, "exp_year": year, "cvc": cvc}).to_string()
    };
    let address = |country: &str, line1: &str| {
        json!({"name": "A", "line1": line1, "city": "X", "region": "CA", "postal_code": "94105", "country": country})
            .to_string()
    };
    let signup = |email: &str, password: &str, name: &str| {
        json!({"email": email, "password": password, "name": name}).to_string()
    };
    let admin = Some(ADMIN_KEY);
    let unknown_pm = format!("pm_{}", "0".repeat(32));

    let mut cases =
        vec![
        case("malformed json", "POST", "/v1/customers", None, r#"{"email": "#, 400, "malformed_json"),
        case(
            "trailing garbage",
            "POST",
            "/v1/customers",
            None,
            r#"{"email":"a@b.co","password":"xxxxxxxx","name":"A"} x"#,
            400,
            "malformed_json",
        ),
        case("empty body", "POST", "/v1/customers", None, "", 400, "malformed_json"),
        case("array instead of object", "POST", "/v1/customers", None, "[1,2]", 422, "validation"),
        case(
            "missing password",
            "POST",
            "/v1/customers",
            None,
            r#"{"email":"x@example.com","name":"X"}"#,
            422,
            "validation",
        ),
        case(
            "email of the wrong type",
            "POST",
            "/v1/customers",
            None,
            r#"{"email":42,"password":"long enough","name":"X"}"#,
            422,
            "validation",
        ),
        case(
            "not an email",
            "POST",
            "/v1/customers",
            None,
            signup("not-an-email", "long enough", "X"),
            422,
            "validation",
        ),
        case(
            "short password",
            "POST",
            "/v1/customers",
            None,
            signup("new@example.com", "short", "X"),
            422,
            "validation",
        ),
        case(
            "oversized name",
            "POST",
            "/v1/customers",
            None,
            signup("new@example.com", "long enough", &"n".repeat(5000)),
            422,
            "validation",
        ),
        case(
            "body over the limit",
            "POST",
            "/v1/customers",
            None,
            signup("new@example.com", "long enough", &"n".repeat(100_000)),
            413,
            "payload_too_large",
        ),
        case(
            "email taken",
            "POST",
            "/v1/customers",
            None,
            signup("TAKEN@example.com", "long enough", "X"),
            409,
            "email_taken",
        ),
        case(
            "wrong password",
            "POST",
            "/v1/sessions",
            None,
            json!({"email": c.email, "password": "wrong password"}).to_string(),
            401,
            "invalid_credentials",
        ),
        case("bad token", "GET", "/v1/me", Some("bnt_forged"), "", 401, "unauthorized"),
        case("no token", "GET", "/v1/me", None, "", 401, "unauthorized"),
        case(
            "quantity zero",
            "POST",
            "/v1/buy-now",
            t,
            buy(json!({"sku": "REAL-SKU", "quantity": 0})),
            422,
            "validation",
        ),
        case(
            "negative quantity",
            "POST",
            "/v1/buy-now",
            t,
            buy(json!({"sku": "REAL-SKU", "quantity": -1})),
            422,
            "validation",
        ),
        case(
            "huge quantity",
            "POST",
            "/v1/buy-now",
            t,
            buy(json!({"sku": "REAL-SKU", "quantity": 1_000_000})),
            422,
            "validation",
        ),
        case(
            "quantity past i64",
            "POST",
            "/v1/buy-now",
            t,
            r#"{"sku":"REAL-SKU","quantity":99999999999999999999999}"#,
            422,
            "validation",
        ),
        case(
            "fractional quantity",
            "POST",
            "/v1/buy-now",
            t,
            r#"{"sku":"REAL-SKU","quantity":1.5}"#,
            422,
            "validation",
        ),
        case(
            "quantity as text",
            "POST",
            "/v1/buy-now",
            t,
            buy(json!({"sku": "REAL-SKU", "quantity": "two"})),
            422,
            "validation",
        ),
        case("unknown sku", "POST", "/v1/buy-now", t, buy(json!({"sku": "NO-SUCH", "quantity": 1})), 404, "not_found"),
        case(
            "sku with spaces",
            "POST",
            "/v1/buy-now",
            t,
            buy(json!({"sku": "DROP TABLE", "quantity": 1})),
            422,
            "validation",
        ),
        case(
            "more than in stock",
            "POST",
            "/v1/buy-now",
            t,
            buy(json!({"sku": "REAL-SKU", "quantity": 4})),
            409,
            "out_of_stock",
        ),
        case(
            "unknown payment method",
            "POST",
            "/v1/buy-now",
            t,
            buy(json!({"sku": "REAL-SKU", "quantity": 1, "payment_method_id": unknown_pm})),
            404,
            "not_found",
        ),
        case(
            "malformed payment method id",
            "POST",
            "/v1/buy-now",
            t,
            buy(json!({"sku": "REAL-SKU", "quantity": 1, "payment_method_id": "4242"})),
            422,
            "validation",
        ),
        case(
            "unknown address",
            "POST",
            "/v1/buy-now",
            t,
            buy(json!({"sku": "REAL-SKU", "quantity": 1, "address_id": format!("addr_{}", "0".repeat(32))})),
            404,
            "not_found",
        ),
        case(
            "unknown speed",
            "POST",
            "/v1/buy-now",
            t,
            buy(json!({"sku": "REAL-SKU", "quantity": 1, "delivery_speed": "teleport"})),
            422,
            "validation",
        ),
        case(
            "misspelt field",
            "POST",
            "/v1/buy-now",
            t,
            buy(json!({"sku": "REAL-SKU", "quantiy": 1})),
            422,
            "validation",
        ),
        case(
            "gift card balance not a boolean",
            "POST",
            "/v1/buy-now",
            t,
            buy(json!({"sku": "REAL-SKU", "quantity": 1, "use_gift_card_balance": "yes"})),
            422,
            "validation",
        ),
        case(
            "preview of an unknown sku",
            "POST",
            "/v1/buy-now/preview",
            t,
            buy(json!({"sku": "NO-SUCH", "quantity": 1})),
            404,
            "not_found",
        ),
        case(
            "bad luhn",
            "POST",
            "/v1/me/payment-methods",
            t,
            card(json!("4242424242424241"), 12, 2031, "123"),
            422,
            "validation",
        ),
        case(
            "expired card",
            "POST",
            "/v1/me/payment-methods",
            t,
            card(json!("4242424242424242"), 1, 2020, "123"),
            422,
            "validation",
        ),
        case(
            "short cvc",
            "POST",
            "/v1/me/payment-methods",
            t,
            card(json!("4242424242424242"), 12, 2031, "12"),
            422,
            "validation",
        ),
        case(
            "card number as a json number",
            "POST",
            "/v1/me/payment-methods",
            t,
            card(json!(4242424242424242u64), 12, 2031, "123"),
            422,
            "validation",
        ),
        case(
            "month thirteen",
            "POST",
            "/v1/me/payment-methods",
            t,
            card(json!("4242424242424242"), 13, 2031, "123"),
            422,
            "validation",
        ),
        case("country we do not ship to", "POST", "/v1/me/addresses", t, address("ZZ", "1 Main St"), 422, "validation"),
        case(
            "oversized address line",
            "POST",
            "/v1/me/addresses",
            t,
            address("US", &"x".repeat(300)),
            422,
            "validation",
        ),
        case("garbage order id", "POST", "/v1/orders/ord_garbage/cancel", t, "{}", 404, "not_found"),
        case("another shape of id", "GET", &format!("/v1/orders/{pm}"), t, "", 404, "not_found"),
        case(
            "revise with a garbage card id",
            "POST",
            &format!("/v1/orders/ord_{}/payment-method", "1".repeat(32)),
            t,
            json!({"payment_method_id": "x"}).to_string(),
            422,
            "validation",
        ),
        case(
            "ops without a key",
            "POST",
            "/v1/ops/products",
            None,
            json!({"sku": "N", "title": "N", "price": {"amount": 1, "currency": "USD"}, "prime_eligible": true})
                .to_string(),
            401,
            "unauthorized",
        ),
        case(
            "ops with a customer token",
            "POST",
            "/v1/ops/products",
            t,
            json!({"sku": "N", "title": "N", "price": {"amount": 1, "currency": "USD"}, "prime_eligible": true})
                .to_string(),
            401,
            "unauthorized",
        ),
        case(
            "negative price",
            "POST",
            "/v1/ops/products",
            admin,
            json!({"sku": "N", "title": "N", "price": {"amount": -1, "currency": "USD"}, "prime_eligible": true})
                .to_string(),
            422,
            "validation",
        ),
        case(
            "unknown currency",
            "POST",
            "/v1/ops/products",
            admin,
            json!({"sku": "N", "title": "N", "price": {"amount": 1, "currency": "XXX"}, "prime_eligible": true})
                .to_string(),
            422,
            "validation",
        ),
        case(
            "existing sku",
            "POST",
            "/v1/ops/products",
            admin,
            json!({"sku": "real-sku", "title": "N", "price": {"amount": 1, "currency": "USD"}, "prime_eligible": true})
                .to_string(),
            409,
            "sku_exists",
        ),
        case(
            "negative stock",
            "PUT",
            "/v1/ops/stock/REAL-SKU",
            admin,
            json!({"on_hand": -5}).to_string(),
            422,
            "validation",
        ),
        case(
            "stock at an unknown center",
            "PUT",
            "/v1/ops/stock/REAL-SKU",
            admin,
            json!({"on_hand": 5, "fulfillment_center": "MARS"}).to_string(),
            404,
            "not_found",
        ),
        case("no such route", "GET", "/v1/nope", None, "", 404, "not_found"),
        case("wrong method", "DELETE", "/v1/buy-now", t, "", 405, "method_not_allowed"),
        // Gift cards.
        case("gift card of nothing", "POST", "/v1/ops/gift-cards", admin,
            json!({"amount": {"amount": 0, "currency": "USD"}}).to_string(), 422, "validation"),
        case("gift card amount as text", "POST", "/v1/ops/gift-cards", admin,
            json!({"amount": {"amount": "50", "currency": "USD"}}).to_string(), 422, "validation"),
        case("gift card in another currency", "POST", "/v1/ops/gift-cards", admin,
            json!({"amount": {"amount": 500, "currency": "XYZ"}}).to_string(), 422, "validation"),
        case("gift card issued by a customer", "POST", "/v1/ops/gift-cards", t,
            json!({"amount": {"amount": 500, "currency": "USD"}}).to_string(), 401, "unauthorized"),
        case("gift card code as a number", "POST", "/v1/me/gift-cards/redeem", t, json!({"code": 42}).to_string(),
            422, "validation"),
        case("gift card code of symbols", "POST", "/v1/me/gift-cards/redeem", t,
            json!({"code": "!!!!-????-####-$$$$"}).to_string(), 422, "validation"),
        case("gift card code of 10,000 characters", "POST", "/v1/me/gift-cards/redeem", t,
            json!({"code": "A".repeat(10_000)}).to_string(), 422, "validation"),
        case("gift card code nobody issued", "POST", "/v1/me/gift-cards/redeem", t,
            json!({"code": "ABCD-EFGH-JKMN-PQRS"}).to_string(), 404, "not_found"),
        // Payment settings.
        case("payment settings naming no brand", "PUT", "/v1/ops/payment-settings", admin,
            json!({"brands": [], "funding": ["credit"], "gift_cards": true}).to_string(), 422, "validation"),
        case("payment settings with a brand as text", "PUT", "/v1/ops/payment-settings", admin,
            json!({"brands": "visa", "funding": ["credit"], "gift_cards": true}).to_string(), 422, "validation"),
        case("payment settings of an unknown seller", "PUT",
            "/v1/ops/sellers/slr_00000000000000000000000000000000/payment-settings", admin,
            json!({"brands": ["visa"], "funding": ["credit"], "gift_cards": true}).to_string(), 404, "not_found"),
        case("payment settings of a seller id that cannot be", "GET", "/v1/ops/sellers/robert'); DROP/payment-settings",
            admin, "", 404, "not_found"),
    ];
    let mut text_plain = case("not json", "POST", "/v1/customers", None, "email=a", 415, "unsupported_media_type");
    text_plain.content_type = "text/plain";
    cases.push(text_plain);
    let mut no_key = case(
        "no idempotency key",
        "POST",
        "/v1/buy-now",
        t,
        buy(json!({"sku": "REAL-SKU", "quantity": 1})),
        400,
        "idempotency_key_required",
    );
    no_key.idempotency_key = None;
    cases.push(no_key);
    let mut long_key = case(
        "idempotency key too long",
        "POST",
        "/v1/buy-now",
        t,
        buy(json!({"sku": "REAL-SKU", "quantity": 1})),
        400,
        "idempotency_key_invalid",
    );
    long_key.idempotency_key = Some("k".repeat(300));
    cases.push(long_key);
    // Without a good session the answer is 401, whatever else is wrong (Buy Now reads the session with the
    // purchase, after the body is parsed).
    cases.push(case(
        "buy now, forged token, bad body",
        "POST",
        "/v1/buy-now",
        Some("bnt_forged"),
        "{",
        401,
        "unauthorized",
    ));
    let mut no_key = case(
        "buy now, forged token, no key",
        "POST",
        "/v1/buy-now",
        Some("bnt_forged"),
        buy(json!({"sku": "REAL-SKU", "quantity": 1})),
        401,
        "unauthorized",
    );
    no_key.idempotency_key = None;
    cases.push(no_key);
    cases.push(case(
        "buy now, forged token, good body",
        "POST",
        "/v1/buy-now",
        Some("bnt_forged"),
        buy(json!({"sku": "REAL-SKU", "quantity": 1})),
        401,
        "unauthorized",
    ));
    cases.push(case(
        "review, forged token, bad body",
        "POST",
        "/v1/buy-now/preview",
        Some("bnt_forged"),
        "[]",
        401,
        "unauthorized",
    ));
    assert!(cases.len() >= 25);

    let before = app.dump().await;
    assert!(before.iter().any(|r| r.starts_with("stock: ")) && before.len() > 5, "the dump sees the data: {before:?}");
    for case in &cases {
        let mut req = app.client.request(case.method.parse().unwrap(), format!("{}{}", app.url, case.path));
        if let Some(token) = &case.token {
            req = req.bearer_auth(token);
        }
        if let Some(key) = &case.idempotency_key {
            req = req.header("Idempotency-Key", key);
        }
        if !case.body.is_empty() || case.method == "POST" {
            req = req.header("content-type", case.content_type).body(case.body.clone());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
        let text = resp.text().await.unwrap();
        let problem: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{}: not JSON: {text}", case.name));
        assert_eq!(status, StatusCode::from_u16(case.status).unwrap(), "{}: {problem}", case.name);
        assert_eq!(content_type, "application/problem+json", "{}", case.name);
        assert_eq!(problem_code(&problem), case.code, "{}: {problem}", case.name);
        assert_eq!(problem["status"], case.status, "{}", case.name);
        assert!(problem["type"].as_str().unwrap().starts_with("https://buynow.dev/errors/"), "{}", case.name);
        assert!(
            !problem["title"].as_str().unwrap().is_empty() && !problem["detail"].as_str().unwrap().is_empty(),
            "{}",
            case.name
        );
        assert!(
            !text.contains("4242424242424242") && !text.contains("4242424242424241"),
            "{}: the card number came back: {text}",
            case.name
        );
    }
    assert_eq!(app.dump().await, before, "a bad request changed the database");
    app.stop().await;
}
