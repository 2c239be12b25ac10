//! One Buy Now followed from the request id its answer carries: to the server's log lines (written as JSON with
//! `--log-format json`), to the jobs it made and the jobs those made, and to the messages the customer got.

mod common;

use buynow_store::{args, Store};
use common::{call, new_customer, spawn_with, url_in};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// The log lines (JSON objects) one of whose spans names `request_id`.
fn lines_of(log: &str, request_id: &str) -> Vec<Value> {
    log.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|line| line["spans"].as_array().into_iter().flatten().any(|span| span["request_id"] == request_id))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_buy_now_is_followed_from_its_request_id_to_its_log_lines_jobs_and_messages() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("trace.db").display());
    let log_path = dir.path().join("server.log");
    let log_file = std::fs::File::create(&log_path).unwrap();
    let env = [("BUYNOW_LOG_FORMAT", "json"), ("RUST_LOG", "info"), ("BUYNOW_MAIL_DIR", dir.path().to_str().unwrap())];
    let (_server, line) =
        spawn_with(&["serve", "--demo", "--no-simulation", "--addr", "127.0.0.1:0"], &db, "0-0", &env, log_file);
    let url = url_in(&line);
    let client = reqwest::Client::new();
    let token = new_customer(&client, &url, "traced@example.com", ("Seattle", "WA", "98101")).await;

    let response = client
        .post(format!("{url}/v1/buy-now"))
        .bearer_auth(&token)
        .header("Idempotency-Key", "trace-1")
        .json(&json!({"sku": "ECHO-DOT-5", "quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let request_id = response.headers()["x-request-id"].to_str().unwrap().to_string();
    let order: Value = response.json().await.unwrap();
    let order_id = order["id"].as_str().unwrap().to_string();

    // The order's messages: placed, and the payment authorized (the job's doing).
    let started = Instant::now();
    let messages = loop {
        let (_, messages) = call(&client, "GET", format!("{url}/v1/me/messages"), Some(&token), None, json!({})).await;
        let events: BTreeSet<String> = messages["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["order_id"] == order_id.as_str())
            .map(|m| m["event"].as_str().unwrap_or("").to_string())
            .collect();
        if events.contains("order.payment_authorized") || started.elapsed() > Duration::from_secs(20) {
            break events;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(messages.contains("order.placed") && messages.contains("order.payment_authorized"), "{messages:?}");

    // The jobs: the authorization it made, and the release to the warehouse that the authorization made.
    let store = Store::open(&db).await.unwrap();
    let rows = store
        .read()
        .await
        .unwrap()
        .conn()
        .all("SELECT kind, payload FROM jobs WHERE request_id = $1", args![request_id.clone()])
        .await
        .unwrap();
    let kinds: BTreeSet<String> = rows.iter().map(|r| r.text("kind").unwrap()).collect();
    assert_eq!(kinds, BTreeSet::from(["authorize_payment".to_string(), "release_order".to_string()]));
    assert!(rows
        .iter()
        .all(|r| r.text("payload").unwrap().contains("pay_") || r.text("payload").unwrap().contains(&order_id)));

    // The log lines: the request's own (the placement, the access line) and its job's, each naming the request.
    let log = std::fs::read_to_string(&log_path).unwrap();
    let lines = lines_of(&log, &request_id);
    let said = |message: &str| lines.iter().any(|l| l["message"] == message);
    assert!(said("order placed"), "{lines:#?}");
    assert!(said("finished processing request"), "the access line: {lines:#?}");
    let job_lines: Vec<&Value> = lines
        .iter()
        .filter(|l| {
            l["spans"].as_array().unwrap().iter().any(|s| s["name"] == "job" && s["kind"] == "authorize_payment")
        })
        .collect();
    assert!(job_lines.iter().any(|l| l["message"] == "job done"), "{lines:#?}");
    assert!(lines.iter().any(|l| l.to_string().contains(&order_id)), "a line names the order: {lines:#?}");
    // Nothing secret in any of it.
    assert!(!log.contains(&token) && !log.contains("4242424242424242"), "a secret in the log");
}
