//! Scale-out on PostgreSQL: two `buynow serve` and two `buynow worker` processes share one database; Buy Now
//! requests go to both servers, some keys to both at once; one worker is killed with SIGKILL midway. Then:
//! one order per key, no oversell, and every job's effects exactly once.

mod common;

use buynow_store::testing::TestDb;
use buynow_store::Store;
use common::{call, count, new_customer, spawn, url_in, ADMIN};
use futures::stream::{self, StreamExt};
use serde_json::json;
use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

/// The sandbox's latency per call, in milliseconds: long enough that a killed worker leaves calls half-done.
const LATENCY: &str = "100-200";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_and_two_workers_on_one_postgres_survive_a_killed_worker() {
    let Some(db) = TestDb::postgres("scale_out").await else { return };
    let url = db.url().to_string();
    let migrated = Command::new(env!("CARGO_BIN_EXE_buynow")).args(["migrate", "--database", &url]).output().unwrap();
    assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));

    let (mut worker_a, _) = spawn(&["worker"], &url, LATENCY);
    let (_worker_b, _) = spawn(&["worker"], &url, LATENCY);
    let server_args = ["serve", "--addr", "127.0.0.1:0", "--no-workers", "--inline-authorization-ms", "0"];
    let (_server_1, line_1) = spawn(&server_args, &url, LATENCY);
    let (_server_2, line_2) = spawn(&server_args, &url, LATENCY);
    let servers = [url_in(&line_1), url_in(&line_2)];
    let client = reqwest::Client::new();

    let (s, _) = call(&client, "POST", format!("{}/v1/ops/products", servers[0]), Some(ADMIN), None,
        json!({"sku": "HOT", "title": "Hot item", "price": {"amount": 1000, "currency": "USD"}, "prime_eligible": true})).await;
    assert_eq!(s, 201);
    for (center, on_hand) in [("SEA1", 200), ("PHL1", 100)] {
        let (s, body) = call(
            &client,
            "PUT",
            format!("{}/v1/ops/stock/HOT", servers[1]),
            Some(ADMIN),
            None,
            json!({"fulfillment_center": center, "on_hand": on_hand}),
        )
        .await;
        assert_eq!(s, 200, "{body}");
    }

    // 40 customers, made through both servers.
    let customers: Vec<String> =
        stream::iter(0..40)
            .map(|i| {
                let (client, server) = (&client, servers[i % 2].clone());
                async move {
                    new_customer(client, &server, &format!("buyer{i}@example.com"), ("Austin", "TX", "78701")).await
                }
            })
            .buffer_unordered(8)
            .collect()
            .await;

    // 400 distinct purchases and 100 repeats of earlier keys; each repeat goes to the other server.
    let mut requests: Vec<(usize, usize, String)> = (0..400).map(|n| (n % 2, n % 40, format!("key-{n}"))).collect();
    for r in 0..100 {
        let n = (r * 37) % 400;
        requests.insert(n + r + 1, ((n + 1) % 2, n % 40, format!("key-{n}")));
    }
    assert_eq!(requests.len(), 500);
    // Worker A is killed once 40 % of the answers are in: it has jobs in hand, leased and half-done.
    let answered = std::sync::atomic::AtomicUsize::new(0);
    let sending = stream::iter(requests)
        .map(|(server, customer, key)| {
            let (client, servers, customers, answered) = (&client, &servers, &customers, &answered);
            async move {
                let (s, body) = call(
                    client,
                    "POST",
                    format!("{}/v1/buy-now", servers[server]),
                    Some(&customers[customer]),
                    Some(&key),
                    json!({"sku": "HOT", "quantity": 1}),
                )
                .await;
                answered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                (key, s, body)
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>();
    let watcher = Store::open(&url).await.unwrap();
    let killing = async {
        while answered.load(std::sync::atomic::Ordering::Relaxed) < 200 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // A worker holds at most one claim of 16 jobs at a time: with 17 running, both workers hold some, so
        // the kill surely leaves leased, half-done jobs behind (however fast this machine ran them so far).
        let waiting = Instant::now();
        while count(&watcher, "SELECT COUNT(*) FROM jobs WHERE status = 'running'").await < 17
            && waiting.elapsed() < Duration::from_secs(20)
        {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        worker_a.0.kill().expect("SIGKILL worker A"); // Child::kill sends SIGKILL
        let _ = worker_a.0.wait();
    };
    let (answers, ()) = futures::join!(sending, killing);
    watcher.close().await;

    let mut order_of_key: HashMap<String, String> = HashMap::new();
    let (mut placed, mut sold_out) = (0, 0);
    for (key, status, body) in &answers {
        match status {
            201 => {
                placed += 1;
                let id = body["id"].as_str().unwrap().to_string();
                let first = order_of_key.entry(key.clone()).or_insert_with(|| id.clone());
                assert_eq!(*first, id, "key {key} named two orders");
            }
            409 => {
                assert_eq!(body["type"], "https://buynow.dev/errors/out_of_stock", "{body}");
                sold_out += 1;
            }
            other => panic!("{key}: {other} {body}"),
        }
    }
    assert!(placed >= 300 && sold_out > 0, "placed {placed}, sold out {sold_out}");

    let store = Store::open(&url).await.unwrap();
    let started = Instant::now();
    while count(&store, "SELECT COUNT(*) FROM jobs WHERE kind = 'authorize_payment' AND status <> 'done'").await > 0 {
        assert!(started.elapsed() < Duration::from_secs(60), "authorization jobs did not all finish");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let orders = count(&store, "SELECT COUNT(*) FROM orders").await;
    assert_eq!(orders as usize, order_of_key.len(), "one order per key, and every order was acknowledged");
    assert_eq!(orders, 300, "exactly the stock was sold");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM idempotency_keys").await, orders);
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM stock WHERE reserved > on_hand OR reserved < 0").await,
        0,
        "oversold"
    );
    assert_eq!(count(&store, "SELECT CAST(SUM(reserved) AS BIGINT) FROM stock WHERE sku = 'HOT'").await, 300);
    // Every authorization job ran to its end exactly once: one payment, one authorized transition, one event.
    assert_eq!(count(&store, "SELECT COUNT(*) FROM payments WHERE status = 'authorized'").await, orders);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM order_timeline WHERE status = 'payment_authorized'").await, orders);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM outbox WHERE kind = 'order.payment_authorized'").await, orders);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM orders WHERE status <> 'payment_authorized'").await, 0);
    let retried = count(&store, "SELECT COUNT(*) FROM jobs WHERE attempts > 1").await;
    assert!(retried > 0, "the killed worker's jobs were taken over (it held none: the test proved nothing)");
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "scale-out: {placed} answers 201, {sold_out} sold out, {orders} orders, {retried} jobs run more than once"
    );
    store.close().await;
}
