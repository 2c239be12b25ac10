//! Leases are short so that a job whose process died is taken over within seconds; the job's own worker renews
//! its lease while the work runs, so a slow job is not taken over while it is alive.

mod common;

use common::{spawn_app_with, test_config};
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn a_job_slower_than_its_lease_keeps_it_and_runs_once() {
    let mut config = test_config();
    config.job_lease = Duration::from_millis(300);
    // Every gateway call takes four leases' time.
    config.sandbox.latency_ms = (1200, 1200);
    let app = spawn_app_with(config).await;
    app.create_product("SLOW", 1999, 5).await;
    let c = app.buyer("slow@example.com", common::VISA).await;
    let (status, order) = app.buy(&c, "slow-1", json!({"sku": "SLOW", "quantity": 1})).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let order = app.wait_for(&c, order["id"].as_str().unwrap(), "payment_authorized").await;
    assert_eq!(order["payment"]["status"], "authorized", "{order}");
    // One attempt: the workers polling meanwhile never took the job over.
    assert_eq!(app.scalar("SELECT MAX(attempts) FROM jobs WHERE kind = 'authorize_payment'").await, 1);
}
