//! Staff roles: every `/v1/ops` route against every kind of key, from one table; keys issued, listed and
//! revoked; a warehouse key limited to its center.

mod common;

use common::{problem_code, spawn_app, TestApp, ADMIN_KEY, VISA};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The keys the matrix tries, in its columns' order.
const WHO: [&str; 8] =
    ["start-up admin", "admin", "warehouse", "warehouse@SEA1", "support", "seller", "revoked", "none"];

async fn issue(app: &TestApp, body: Value) -> Value {
    let (status, key) = app.ops("POST", "/v1/ops/keys", Some(body.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}: {key}");
    key
}

/// One key of each kind (the start-up admin key first; `None` for no key at all).
async fn keys(app: &TestApp) -> Vec<Option<String>> {
    let (status, seller) = app.ops("POST", "/v1/ops/sellers", Some(json!({"name": "Acme Goods"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{seller}");
    let admin = issue(app, json!({"role": "admin", "name": "Ann Admin"})).await;
    let warehouse = issue(app, json!({"role": "warehouse", "name": "Walt Warehouse"})).await;
    let sea1 = issue(app, json!({"role": "warehouse", "name": "Sia Seattle", "center": "sea1"})).await;
    assert_eq!(sea1["center"], "SEA1");
    let support = issue(app, json!({"role": "support", "name": "Sam Support"})).await;
    let seller_key = issue(app, json!({"role": "seller", "name": "Acme's packer", "seller": seller["id"]})).await;
    let revoked = issue(app, json!({"role": "admin", "name": "Gone Admin"})).await;
    let (status, _) = app.ops("DELETE", &format!("/v1/ops/keys/{}", revoked["id"].as_str().unwrap()), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let key = |v: &Value| Some(v["key"].as_str().unwrap().to_string());
    vec![
        Some(ADMIN_KEY.to_string()),
        key(&admin),
        key(&warehouse),
        key(&sea1),
        key(&support),
        key(&seller_key),
        key(&revoked),
        None,
    ]
}

#[tokio::test]
async fn every_ops_route_answers_each_role_as_the_table_says() {
    let app = spawn_app().await;
    let keys = keys(&app).await;
    let (_, seller_list) = app.ops("GET", "/v1/ops/keys", None).await;
    let seller_id =
        seller_list["keys"].as_array().unwrap().iter().find_map(|k| k["seller"].as_str()).unwrap().to_string();
    let money = json!({"amount": 500, "currency": "USD"});
    let settings = json!({"brands": ["visa"], "funding": ["credit"], "gift_cards": true});
    let no_shipment = "shp_0190a0b1c2d37e8f9a0b1c2d3e4f5a6b";
    let no_return = "ret_0190a0b1c2d37e8f9a0b1c2d3e4f5a6b";
    // Who may: A the start-up admin key, a an admin key, w warehouse, W warehouse at SEA1, s support, S seller.
    let routes: Vec<(&str, String, Option<Value>, &str)> = vec![
        ("POST", "/v1/ops/products".into(), Some(json!({"sku": "X-1", "title": "X", "price": money})), "Aa"),
        ("PUT", "/v1/ops/stock/NO-SUCH".into(), Some(json!({"center": "SEA1", "on_hand": 1})), "Aa"),
        ("GET", "/v1/ops/centers".into(), None, "Aa"),
        ("POST", "/v1/ops/centers".into(), Some(json!({})), "Aa"),
        ("PUT", "/v1/ops/centers/NOPE".into(), Some(json!({})), "Aa"),
        ("POST", "/v1/ops/sellers".into(), Some(json!({})), "Aa"),
        ("GET", "/v1/ops/keys".into(), None, "Aa"),
        ("POST", "/v1/ops/keys".into(), Some(json!({})), "Aa"),
        ("DELETE", "/v1/ops/keys/key_nope".into(), None, "Aa"),
        ("POST", "/v1/ops/gift-cards".into(), Some(json!({"amount": money})), "Aas"),
        ("GET", "/v1/ops/payment-settings".into(), None, "Aa"),
        ("PUT", "/v1/ops/payment-settings".into(), Some(settings.clone()), "Aa"),
        ("GET", format!("/v1/ops/sellers/{seller_id}/payment-settings"), None, "Aa"),
        ("PUT", format!("/v1/ops/sellers/{seller_id}/payment-settings"), Some(settings), "Aa"),
        ("GET", "/v1/ops/pick-lists?center=SEA1".into(), None, "AawW"),
        ("POST", format!("/v1/ops/shipments/{no_shipment}/pick"), Some(json!({})), "AawWS"),
        ("POST", format!("/v1/ops/shipments/{no_shipment}/pack"), Some(json!({})), "AawWS"),
        ("POST", format!("/v1/ops/shipments/{no_shipment}/ship"), Some(json!({})), "AawWS"),
        ("GET", format!("/v1/ops/shipments/{no_shipment}/label"), None, "AawWS"),
        ("POST", format!("/v1/ops/returns/{no_return}/receive"), Some(json!({"condition": "sellable"})), "AawW"),
        ("GET", "/v1/ops/webhooks".into(), None, "Aa"),
        ("POST", "/v1/ops/webhooks".into(), Some(json!({})), "Aa"),
        ("DELETE", "/v1/ops/webhooks/whk_nope".into(), None, "Aa"),
        ("POST", "/v1/ops/webhooks/whk_nope/rotate".into(), None, "Aa"),
        ("GET", "/v1/ops/webhooks/whk_nope/deliveries".into(), None, "Aa"),
        ("GET", "/v1/ops/deliveries/failing".into(), None, "Aa"),
        ("POST", "/v1/ops/deliveries/dlv_nope/retry".into(), None, "Aa"),
        ("GET", "/v1/ops/audit".into(), None, "Aa"),
        ("GET", "/v1/ops/cases".into(), None, "Aas"),
        ("GET", "/v1/ops/cases/case_nope".into(), None, "Aas"),
        ("POST", "/v1/ops/cases/case_nope/actions".into(), Some(json!({"action": "note", "note": "x"})), "Aas"),
    ];
    // Every /v1/ops route of the OpenAPI document is in the table.
    let (_, doc) = app.get("/v1/openapi.json", None).await;
    for (path, methods) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/v1/ops") {
            continue;
        }
        for method in methods.as_object().unwrap().keys() {
            let listed = routes
                .iter()
                .any(|(m, p, _, _)| m.eq_ignore_ascii_case(method) && same_route(p.split('?').next().unwrap(), path));
            assert!(listed, "{method} {path} is missing from the role table");
        }
    }
    let letters = ['A', 'a', 'w', 'W', 's', 'S'];
    let mut failures = Vec::new();
    for (method, path, body, may) in &routes {
        for (i, key) in keys.iter().enumerate() {
            let (status, answer) = app.request(method, path, key.as_deref(), body.clone()).await;
            let allowed = letters.get(i).is_some_and(|l| may.contains(*l));
            let expected_refusal = match WHO[i] {
                "revoked" | "none" => Some(StatusCode::UNAUTHORIZED),
                _ if !allowed => Some(StatusCode::FORBIDDEN),
                _ => None,
            };
            let ok = match expected_refusal {
                Some(refusal) => status == refusal,
                None => status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
            };
            if !ok {
                failures.push(format!("{method} {path} as {}: {status} {}", WHO[i], problem_code(&answer)));
            }
        }
    }
    assert!(failures.is_empty(), "{} cells differ from the table:\n{}", failures.len(), failures.join("\n"));
    app.stop().await;
}

/// `/v1/ops/shipments/shp_…/pick` is `/v1/ops/shipments/{id}/pick`.
fn same_route(concrete: &str, template: &str) -> bool {
    let (a, b): (Vec<&str>, Vec<&str>) = (concrete.split('/').collect(), template.split('/').collect());
    a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| x == y || y.starts_with('{'))
}

#[tokio::test]
async fn keys_are_shown_once_listed_without_the_key_and_refused_once_revoked() {
    let app = spawn_app().await;
    let made = issue(&app, json!({"role": "support", "name": "Sam Support"})).await;
    let key = made["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("bns_") && made["role"] == "support" && made["revoked_at"].is_null(), "{made}");
    let (status, _) = app
        .request("POST", "/v1/ops/gift-cards", Some(&key), Some(json!({"amount": {"amount": 100, "currency": "USD"}})))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, listed) = app.ops("GET", "/v1/ops/keys", None).await;
    assert!(!listed.to_string().contains(&key), "the list never shows a key: {listed}");
    let stored = app.scalar(&format!("SELECT COUNT(*) FROM staff_keys WHERE key_hash LIKE '%{}%'", &key[4..20])).await;
    assert_eq!(stored, 0, "only a hash is kept");
    let id = made["id"].as_str().unwrap();
    for _ in 0..2 {
        let (status, _) = app.ops("DELETE", &format!("/v1/ops/keys/{id}"), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "revoking again changes nothing");
    }
    let (status, _) = app.request("GET", "/v1/ops/keys", Some(&key), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, listed) = app.ops("GET", "/v1/ops/keys", None).await;
    assert!(listed["keys"][0]["revoked_at"].is_string(), "{listed}");
    for (body, field) in [
        (json!({"role": "boss", "name": "B"}), "role"),
        (json!({"role": "admin", "name": ""}), "name"),
        (json!({"role": "seller", "name": "S"}), "seller"),
        (json!({"role": "seller", "name": "S", "seller": "sel_nope"}), "seller"),
        (json!({"role": "support", "name": "S", "center": "SEA1"}), "center"),
        (json!({"role": "warehouse", "name": "W", "center": "NOPE"}), "center"),
    ] {
        let (status, problem) = app.ops("POST", "/v1/ops/keys", Some(body.clone())).await;
        assert_eq!((status, problem["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{body}");
    }
    let (status, _) = app.ops("DELETE", "/v1/ops/keys/key_0190a0b1c2d37e8f9a0b1c2d3e4f5a6b", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn a_warehouse_key_limited_to_a_center_works_only_there() {
    let app = spawn_app().await;
    app.stocked_product("LAMP", 2500, &[("PHL1", 5)]).await;
    let sea1 = issue(&app, json!({"role": "warehouse", "name": "Sia Seattle", "center": "SEA1"})).await;
    let key = sea1["key"].as_str().unwrap().to_string();
    let c = app.buyer("east@example.com", VISA).await;
    let (_, order) = app.buy(&c, "k1", json!({"sku": "LAMP", "quantity": 1})).await;
    app.release_window().await;
    let parcel = app.order(&c, order["id"].as_str().unwrap()).await["shipments"][0].clone();
    assert_eq!(parcel["fulfillment_center"], "PHL1");
    let (status, lists) = app.request("GET", "/v1/ops/pick-lists", Some(&key), None).await;
    assert_eq!(status, StatusCode::OK, "its own center without naming it: {lists}");
    let (status, _) = app.request("GET", "/v1/ops/pick-lists?center=PHL1", Some(&key), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let path = format!("/v1/ops/shipments/{}/pick", parcel["id"].as_str().unwrap());
    let (status, body) = app.request("POST", &path, Some(&key), Some(json!({}))).await;
    assert_eq!((status, problem_code(&body)), (StatusCode::FORBIDDEN, "forbidden"), "{body}");
    let (status, _) = app.request("POST", &path, Some(ADMIN_KEY), Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}
