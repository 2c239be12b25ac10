//! Sessions and rate limits (issue 15, acceptance 5): a sign-in flood is answered 429 with `Retry-After` before
//! any password is hashed, and other customers sign in as before; a signed-out, idle or superseded session is
//! 401; Buy Now is limited per session.

mod common;

use buynow_server::rate_limit::{Rate, RateConfig};
use common::*;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

fn limited(config: &mut buynow_server::Config, rates: RateConfig) {
    config.rate_limits = rates;
}

async fn sign_in_raw(app: &TestApp, email: &str, password: &str) -> (StatusCode, Option<u64>, serde_json::Value) {
    let resp = app
        .client
        .post(format!("{}/v1/sessions", app.url))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let after = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    (status, after, resp.json().await.unwrap_or_default())
}

#[tokio::test]
async fn a_sign_in_flood_is_429_with_retry_after_and_other_customers_sign_in_as_before() {
    let mut config = test_config();
    limited(
        &mut config,
        RateConfig {
            sign_in_per_account: Rate { burst: 5, every: Duration::from_secs(60) },
            sign_in_per_address: Rate { burst: 1000, every: Duration::from_millis(1) },
            ..RateConfig::default()
        },
    );
    let app = spawn_app_with(config).await;
    let ada = app.sign_up("ada@example.com").await;
    let bob = app.sign_up("bob@example.com").await;
    let flood = futures::future::join_all((0..40).map(|_| sign_in_raw(&app, &ada.email, "wrong password"))).await;
    let refused: Vec<_> = flood.iter().filter(|(s, _, _)| *s == StatusCode::TOO_MANY_REQUESTS).collect();
    let wrong = flood.iter().filter(|(s, _, _)| *s == StatusCode::UNAUTHORIZED).count();
    // Signing up signed Ada in once: four attempts of the burst of five were left.
    assert_eq!((wrong, refused.len()), (4, 36), "the burst is tried, the rest refused");
    for (_, after, body) in &refused {
        assert!(after.is_some_and(|s| (1..=60).contains(&s)), "Retry-After: {after:?}");
        assert_eq!(problem_code(body), "rate_limited");
    }
    // The right password does not get past the limit either: the flood cannot be used to test guesses.
    assert_eq!(sign_in_raw(&app, &ada.email, &ada.password).await.0, StatusCode::TOO_MANY_REQUESTS);
    // Bob, meanwhile, signs in at once.
    assert_eq!(sign_in_raw(&app, &bob.email, &bob.password).await.0, StatusCode::CREATED);
    app.stop().await;
}

#[tokio::test]
async fn one_address_trying_many_accounts_is_limited_too() {
    let mut config = test_config();
    limited(
        &mut config,
        RateConfig { sign_in_per_address: Rate { burst: 3, every: Duration::from_secs(60) }, ..RateConfig::default() },
    );
    let app = spawn_app_with(config).await;
    for i in 0..3 {
        assert_eq!(sign_in_raw(&app, &format!("guess{i}@example.com"), "password1").await.0, StatusCode::UNAUTHORIZED);
    }
    let (status, after, _) = sign_in_raw(&app, "guess4@example.com", "password1").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(after.is_some());
    app.stop().await;
}

#[tokio::test]
async fn a_signed_out_token_is_401_and_a_password_change_ends_the_other_sessions() {
    let app = spawn_app().await;
    let ada = app.sign_up("ada@example.com").await;
    let (_, second) = app.post("/v1/sessions", None, json!({"email": ada.email, "password": ada.password})).await;
    let second = second["token"].as_str().unwrap().to_string();
    let (_, third) = app.post("/v1/sessions", None, json!({"email": ada.email, "password": ada.password})).await;
    let third = third["token"].as_str().unwrap().to_string();

    let (status, _) = app.request("DELETE", "/v1/sessions/current", Some(&third), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/v1/me", Some(&third)).await.0, StatusCode::UNAUTHORIZED, "signed out");
    assert_eq!(app.request("DELETE", "/v1/sessions/current", Some(&third), None).await.0, StatusCode::UNAUTHORIZED);

    let change = |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let (status, body) = app.post("/v1/me/password", Some(&ada.token), change("not it at all", "a new secret 1")).await;
    assert_eq!((status, problem_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "wrong_password"));
    let (status, body) = app.post("/v1/me/password", Some(&ada.token), change(&ada.password, "short")).await;
    assert_eq!((status, problem_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "validation"));
    assert!(!body["detail"].as_str().unwrap().contains("short"), "never the value sent back");
    let (status, _) = app.post("/v1/me/password", Some(&ada.token), change(&ada.password, "a new secret 1")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/v1/me", Some(&ada.token)).await.0, StatusCode::OK, "the session that changed it goes on");
    assert_eq!(app.get("/v1/me", Some(&second)).await.0, StatusCode::UNAUTHORIZED, "the others end");
    assert_eq!(sign_in_raw(&app, &ada.email, &ada.password).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(sign_in_raw(&app, &ada.email, "a new secret 1").await.0, StatusCode::CREATED);
    let changes = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE action IN ('password_changed', 'password_change_failed')")
        .await;
    assert_eq!(changes, 2, "on the audit trail, the failure too");
    app.stop().await;
}

#[tokio::test]
async fn a_session_unused_for_its_idle_time_ends_and_buy_now_is_limited_per_session() {
    let mut config = test_config();
    config.session_idle = Duration::from_secs(2);
    config.rate_limits.buy_now_per_customer = Rate { burst: 3, every: Duration::from_secs(60) };
    let app = spawn_app_with(config).await;
    app.create_product("PEN", 300, 100).await;
    let ada = app.buyer("ada@example.com", VISA).await;
    let bob = app.buyer("bob@example.com", VISA).await;
    for i in 0..3 {
        let (status, body) = app.buy(&ada, &format!("k{i}"), json!({"sku": "PEN", "quantity": 1})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = app.buy(&ada, "k3", json!({"sku": "PEN", "quantity": 1})).await;
    assert_eq!((status, problem_code(&body)), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"));
    assert_eq!(app.buy(&bob, "k0", json!({"sku": "PEN", "quantity": 1})).await.0, StatusCode::CREATED);

    // Unused for longer than its idle time: the session ends, for Buy Now and everything else.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(app.get("/v1/me", Some(&bob.token)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.buy(&bob, "k1", json!({"sku": "PEN", "quantity": 1})).await.0, StatusCode::UNAUTHORIZED);
    app.stop().await;
}
