//! Gift cards through the API: staff issue them, customers redeem their codes into a balance exactly once,
//! and every movement is a balanced ledger entry.

mod common;

use common::{problem_code, spawn_app, TestApp, ADMIN_KEY, VISA};
use serde_json::{json, Value};

async fn issue(app: &TestApp, cents: i64) -> (String, String) {
    let (status, body) =
        app.ops("POST", "/v1/ops/gift-cards", Some(json!({"amount": {"amount": cents, "currency": "USD"}}))).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["balance"], json!({"amount": cents, "currency": "USD"}));
    (body["id"].as_str().unwrap().to_string(), body["code"].as_str().unwrap().to_string())
}

fn cents(v: &Value) -> i64 {
    v["amount"].as_i64().unwrap()
}

#[tokio::test]
async fn staff_issue_a_card_and_its_code_redeems_once_into_the_balance() {
    let app = spawn_app().await;
    let (id, code) = issue(&app, 5000).await;
    assert!(id.starts_with("gc_") && code.len() == 19, "{id} {code}");
    // The code is kept only as a hash.
    let clear = app
        .scalar(&format!("SELECT COUNT(*) FROM gift_cards WHERE code_hash LIKE '%{}%'", code.replace('-', "")))
        .await;
    assert_eq!(clear, 0);

    let ada = app.buyer("ada@example.com", VISA).await;
    let (_, me) = app.get("/v1/me", Some(&ada.token)).await;
    assert_eq!(cents(&me["gift_card_balance"]), 0);
    // As people type it: lower case, spaces for dashes.
    let typed = code.to_lowercase().replace('-', " ");
    let (status, body) = app.post("/v1/me/gift-cards/redeem", Some(&ada.token), json!({"code": typed})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(cents(&body["gift_card_balance"]), 5000);
    let (_, me) = app.get("/v1/me", Some(&ada.token)).await;
    assert_eq!(cents(&me["gift_card_balance"]), 5000);
    // Asking again (a retry after a timeout) answers the same, and adds nothing.
    let (status, body) = app.post("/v1/me/gift-cards/redeem", Some(&ada.token), json!({"code": code})).await;
    assert_eq!((status.as_u16(), cents(&body["gift_card_balance"])), (200, 5000));
    // Anyone else: refused.
    let bob = app.buyer("bob@example.com", VISA).await;
    let (status, body) = app.post("/v1/me/gift-cards/redeem", Some(&bob.token), json!({"code": code})).await;
    assert_eq!((status.as_u16(), problem_code(&body)), (409, "gift_card_redeemed"), "{body}");

    let (status, activity) = app.get("/v1/me/gift-cards", Some(&ada.token)).await;
    assert_eq!(status, 200);
    assert_eq!(activity["movements"].as_array().unwrap().len(), 1, "{activity}");
    assert_eq!(activity["movements"][0]["kind"], "redeem");
    assert_eq!(cents(&activity["movements"][0]["amount"]), 5000);
    assert_eq!(
        app.scalar("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger_entries").await,
        0,
        "the ledger balances"
    );
}

#[tokio::test]
async fn bad_codes_amounts_and_callers_are_refused_clearly() {
    let app = spawn_app().await;
    let ada = app.buyer("ada@example.com", VISA).await;
    for (code, status, kind) in [
        ("", 422, "validation"),
        ("not a code", 422, "validation"),
        ("ABCD-EFGH-JKMN-PQRU", 422, "validation"),
        ("ABCD-EFGH-JKMN-PQRS", 404, "not_found"),
    ] {
        let (got, body) = app.post("/v1/me/gift-cards/redeem", Some(&ada.token), json!({"code": code})).await;
        assert_eq!((got.as_u16(), problem_code(&body)), (status, kind), "{code}: {body}");
    }
    let (got, _) = app.post("/v1/me/gift-cards/redeem", None, json!({"code": "ABCD-EFGH-JKMN-PQRS"})).await;
    assert_eq!(got, 401);
    for amount in [
        json!({"amount": 0, "currency": "USD"}),
        json!({"amount": -5, "currency": "USD"}),
        json!({"amount": 200_001, "currency": "USD"}),
        json!({"amount": 100, "currency": "EUR"}),
        json!({"amount": "ten", "currency": "USD"}),
    ] {
        let (got, body) = app.ops("POST", "/v1/ops/gift-cards", Some(json!({"amount": amount}))).await;
        assert_eq!(got, 422, "{amount}: {body}");
    }
    // A customer's token is not a staff key.
    let (got, _) = app
        .request(
            "POST",
            "/v1/ops/gift-cards",
            Some(&ada.token),
            Some(json!({"amount": {"amount": 100, "currency": "USD"}})),
        )
        .await;
    assert_eq!(got, 401);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM gift_cards").await, 0);
    let _ = ADMIN_KEY;
}

#[tokio::test]
async fn customers_racing_to_redeem_one_code_get_one_balance() {
    let app = spawn_app().await;
    let (_, code) = issue(&app, 2500).await;
    let mut racers = Vec::new();
    for i in 0..8 {
        racers.push(app.buyer(&format!("racer{i}@example.com"), VISA).await);
    }
    let answers = futures::future::join_all(
        racers.iter().map(|r| app.post("/v1/me/gift-cards/redeem", Some(&r.token), json!({"code": code}))),
    )
    .await;
    let won: Vec<_> = answers.iter().filter(|(s, _)| s.as_u16() == 200).collect();
    assert_eq!(won.len(), 1, "{answers:?}");
    assert!(answers.iter().all(|(s, b)| s.as_u16() == 200 || problem_code(b) == "gift_card_redeemed"), "{answers:?}");
    let mut total = 0;
    for r in &racers {
        let (_, me) = app.get("/v1/me", Some(&r.token)).await;
        total += cents(&me["gift_card_balance"]);
    }
    assert_eq!(total, 2500, "one balance holds the card");
    assert_eq!(app.scalar("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger_entries").await, 0);
}
