//! `/metrics` during a Buy Now load: the counters move by what happened, no more and no less.

mod common;

use common::{spawn_app, ADMIN_KEY};
use reqwest::StatusCode;
use serde_json::json;

/// The sum of the samples of `name` whose labels hold every one of `labels` (`key="value"`).
fn sample(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .filter(|(series, _)| {
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            metric == name && labels.iter().all(|label| rest.contains(label))
        })
        .map(|(_, value)| value.parse::<f64>().expect("a number"))
        .sum()
}

async fn scrape(app: &common::TestApp) -> String {
    let response = app.client.get(format!("{}/metrics", app.url)).bearer_auth(ADMIN_KEY).send().await.unwrap();
    if response.status() != StatusCode::OK {
        panic!("/metrics answered {}: {}", response.status(), response.text().await.unwrap());
    }
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    response.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_counters_move_by_what_a_buy_now_load_did() {
    let app = spawn_app().await;
    app.create_product("MET", 1999, 3).await;
    app.create_product("MET2", 2999, 5).await;
    let good = app.buyer("good@example.com", common::VISA).await;
    let bad = app.buyer("bad@example.com", common::DECLINED).await;
    let before = scrape(&app).await;

    // Five buyers' clicks for three units: three orders, two out of stock; one double click replays.
    let keys: Vec<String> = (0..5).map(|i| format!("met-{i}")).collect();
    let clicks = keys.iter().map(|key| app.buy(&good, key, json!({"sku": "MET", "quantity": 1})));
    let answers = futures::future::join_all(clicks).await;
    let placed: Vec<_> = answers.iter().filter(|(s, _)| *s == StatusCode::CREATED).collect();
    assert_eq!(placed.len(), 3, "{answers:?}");
    assert_eq!(answers.iter().filter(|(s, _)| *s == StatusCode::CONFLICT).count(), 2);
    let replayed_key = answers.iter().position(|(s, _)| *s == StatusCode::CREATED).unwrap();
    let (status, _) = app.buy(&good, &format!("met-{replayed_key}"), json!({"sku": "MET", "quantity": 1})).await;
    assert_eq!(status, StatusCode::CREATED);
    // A card that is declined: placed, then declined by its authorization job.
    let (status, order) = app.buy(&bad, "met-bad", json!({"sku": "MET2", "quantity": 1})).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    app.wait_for(&bad, order["id"].as_str().unwrap(), "payment_action_required").await;

    let after = scrape(&app).await;
    let moved = |name: &str, labels: &[&str]| sample(&after, name, labels) - sample(&before, name, labels);
    assert_eq!(moved("buynow_orders_placed_total", &[]), 4.0, "{after}");
    assert_eq!(moved("buynow_orders_out_of_stock_total", &[]), 2.0);
    assert_eq!(moved("buynow_payments_declined_total", &[]), 1.0);
    let buy_now = ["route=\"/v1/buy-now\"", "method=\"POST\""];
    assert_eq!(moved("buynow_http_requests_total", &[&buy_now[..], &["status=\"201\""]].concat()), 5.0);
    assert_eq!(moved("buynow_http_requests_total", &[&buy_now[..], &["status=\"409\""]].concat()), 2.0);
    assert_eq!(moved("buynow_http_request_duration_seconds_count", &buy_now), 7.0);
    assert!(moved("buynow_placement_group_wait_seconds_count", &[]) >= 6.0, "{after}");
    assert!(moved("buynow_group_commit_size_count", &[]) >= 1.0);
    // The three good orders (and the declined one, on hold for the customer) wait out their hold window.
    assert!(sample(&after, "buynow_jobs", &["kind=\"release_order\"", "state=\"scheduled\""]) >= 3.0, "{after}");
    assert!(after.contains("buynow_db_pool_connections{"), "{after}");
    assert!(after.contains("buynow_deliveries_failing{state=\"dead\"}"), "{after}");

    // Not for customers, nor for anyone without a key.
    let anonymous = app.client.get(format!("{}/metrics", app.url)).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let customer = app.client.get(format!("{}/metrics", app.url)).bearer_auth(&good.token).send().await.unwrap();
    assert!(matches!(customer.status(), StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_metrics_address_serves_them_without_a_key() {
    let app = spawn_app().await;
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let _task = buynow_server::spawn_metrics(app.state.clone(), free, stopped).await.unwrap();
    let response = app.client.get(format!("http://{free}/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("buynow_orders_placed_total"));
}

#[tokio::test]
async fn every_series_the_grafana_dashboard_charts_is_served() {
    let app = spawn_app().await;
    app.create_product("DASH", 999, 1).await;
    let c = app.buyer("dash@example.com", common::VISA).await;
    assert_eq!(app.buy(&c, "dash-1", json!({"sku": "DASH", "quantity": 1})).await.0, StatusCode::CREATED);
    let text = scrape(&app).await;
    let dashboard = include_str!("../../../deploy/grafana/buynow.json");
    let dashboard: serde_json::Value = serde_json::from_str(dashboard).expect("the dashboard is JSON");
    let mut charted = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            let mut rest = expr;
            while let Some(at) = rest.find("buynow_") {
                let name: String = rest[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                rest = &rest[at + name.len()..];
                charted.push(name);
            }
        }
    }
    assert!(charted.len() >= 10, "{charted:?}");
    for name in charted {
        let served = text.lines().any(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")));
        assert!(served, "the dashboard charts {name}, which /metrics does not serve:\n{text}");
    }
}
