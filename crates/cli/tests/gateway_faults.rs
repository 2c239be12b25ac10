//! The card processor over a faulty network: `buynow gateway-sim` runs as its own process with 20 % timeouts,
//! 10 % 5xx, 5 % lost answers (it acted; the answer never came) and 2 % connection resets; 1,000 Buy Nows go through `buynow serve`
//! pointed at it, some orders are shipped (captures), delivered and returned (refunds), others cancelled
//! (voids), all while the faults last. Then the network heals, and the books are compared with the
//! processor's own records: at most one successful authorization per order, each capture and refund exactly
//! once, nothing left undecided.

mod common;

use buynow_store::Store;
use common::{call, count, new_customer, pick_pack_ship, spawn_with, url_in, Proc, ADMIN};
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::process::Stdio;
use std::time::{Duration, Instant};

const ORDERS: usize = 1000;
const CUSTOMERS: usize = 20;
const SHIPPED: usize = 60;
const RETURNED: usize = 30;
const CANCELLED: usize = 60;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The simulator on `port`, with the network faults `faults` (per thousand calls: timeouts, 5xx, resets before
/// the processor acts, lost answers after it acted).
fn gateway_sim(db: &str, port: u16, faults: [u32; 4]) -> Proc {
    let [timeouts, errors, resets, lost] = faults.map(|f| f.to_string());
    let addr = format!("127.0.0.1:{port}");
    let args = [
        "gateway-sim",
        "--addr",
        &addr,
        "--seed",
        "7",
        "--timeouts-per-mille",
        &timeouts,
        "--errors-per-mille",
        &errors,
        "--resets-per-mille",
        &resets,
        "--lost-per-mille",
        &lost,
        "--hang-ms",
        "1000",
    ];
    let (proc, line) = spawn_with(&args, db, "0-0", &[], Stdio::null());
    assert!(line.contains(&format!("http://{addr}")), "{line}");
    proc
}

async fn wait_until(what: &str, limit: Duration, mut done: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_faulty_gateway_never_charges_twice_and_every_order_is_decided() {
    let dir = tempfile::tempdir().unwrap();
    let shop_db = format!("sqlite://{}", dir.path().join("shop.db").display());
    let sim_db = format!("sqlite://{}", dir.path().join("processor.db").display());
    let port = free_port();
    // The faults, and a few connection resets besides.
    let mut sim = gateway_sim(&sim_db, port, [200, 100, 20, 50]);

    let gateway_url = format!("http://127.0.0.1:{port}");
    let env = [
        ("BUYNOW_GATEWAY_URL", gateway_url.as_str()),
        ("BUYNOW_GATEWAY_TIMEOUT_MS", "300"),
        ("BUYNOW_JOB_BACKOFF_MS", "50"),
        ("BUYNOW_INLINE_AUTHORIZATION_MS", "400"),
    ];
    let serve = ["serve", "--addr", "127.0.0.1:0", "--hold-window", "1"];
    let (_server, line) = spawn_with(&serve, &shop_db, "0-0", &env, Stdio::null());
    let server = url_in(&line);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let started = Instant::now();

    let (s, body) = call(&client, "POST", format!("{server}/v1/ops/products"), Some(ADMIN), None,
        json!({"sku": "ITEM", "title": "An item", "price": {"amount": 1999, "currency": "USD"}, "prime_eligible": true})).await;
    assert_eq!(s, 201, "{body}");
    let stock = json!({"fulfillment_center": "SEA1", "on_hand": ORDERS + 10});
    let (s, body) = call(&client, "PUT", format!("{server}/v1/ops/stock/ITEM"), Some(ADMIN), None, stock).await;
    assert_eq!(s, 200, "{body}");
    let customers: Vec<String> =
        stream::iter(0..CUSTOMERS)
            .map(|i| {
                let (client, server) = (&client, server.clone());
                async move {
                    new_customer(client, &server, &format!("faults{i}@example.com"), ("Seattle", "WA", "98101")).await
                }
            })
            .buffer_unordered(8)
            .collect()
            .await;

    // 1,000 Buy Nows while the faults last; a 503 is tried again with the same key.
    let placed: Vec<(usize, Value)> = stream::iter(0..ORDERS)
        .map(|n| {
            let (client, server, token) = (&client, &server, &customers[n % CUSTOMERS]);
            async move {
                for _ in 0..20 {
                    let (s, body) = call(
                        client,
                        "POST",
                        format!("{server}/v1/buy-now"),
                        Some(token),
                        Some(&format!("k{n}")),
                        json!({"sku": "ITEM", "quantity": 1}),
                    )
                    .await;
                    match s {
                        201 => return (n % CUSTOMERS, body),
                        0 | 503 => tokio::time::sleep(Duration::from_millis(50)).await,
                        other => panic!("buy-now {n}: {other} {body}"),
                    }
                }
                panic!("buy-now {n} never placed");
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    assert_eq!(placed.len(), ORDERS);
    let store = Store::open(&shop_db).await.unwrap();
    let placed_s = started.elapsed().as_secs_f64();

    // Still faulty: ship some (captures), cancel others in their window (voids).
    wait_until("orders authorized", Duration::from_secs(60), async || {
        count(&store, "SELECT COUNT(*) FROM orders WHERE status IN ('released', 'payment_action_required')").await
            >= (ORDERS - 5) as i64
    })
    .await;
    let mut shipped = 0;
    while shipped < SHIPPED {
        let (s, list) =
            call(&client, "GET", format!("{server}/v1/ops/pick-lists?center=SEA1"), Some(ADMIN), None, json!(null))
                .await;
        assert_eq!(s, 200, "{list}");
        let parcels: Vec<String> = list["waves"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|w| w["shipments"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_string()))
            .take(SHIPPED - shipped)
            .collect();
        for id in parcels {
            pick_pack_ship(&client, &server, &id).await;
            shipped += 1;
        }
    }
    let shipped_orders: HashSet<String> = {
        let mut read = store.read().await.unwrap();
        let rows = read.conn().all("SELECT order_id FROM shipments WHERE status = 'shipped'", vec![]).await.unwrap();
        rows.iter().map(|r| r.text(0).unwrap()).collect()
    };
    let mut cancelled = 0;
    for (customer, order) in &placed {
        let id = order["id"].as_str().unwrap();
        if cancelled == CANCELLED || shipped_orders.contains(id) {
            continue;
        }
        let (s, body) = call(
            &client,
            "POST",
            format!("{server}/v1/orders/{id}/cancel"),
            Some(&customers[*customer]),
            None,
            json!({}),
        )
        .await;
        if s == 200 {
            cancelled += 1;
        } else {
            assert_eq!(s, 409, "{body}");
        }
    }
    assert_eq!(cancelled, CANCELLED);

    // The shipped parcels travel (the carriers' simulator), then some come back: refunds, still faulty.
    let carrier_args = ["carrier-sim", "--target", &server, "--pace-secs", "1", "--exceptions-per-mille", "0"];
    let (_carriers, _) = spawn_with(&carrier_args, &shop_db, "0-0", &[], Stdio::null());
    wait_until("the shipped orders delivered", Duration::from_secs(60), async || {
        // A parcel may carry several orders of one customer (merged in the hold window): count orders.
        count(&store, "SELECT COUNT(*) FROM orders WHERE status = 'delivered'").await >= shipped_orders.len() as i64
    })
    .await;
    let mut returned = 0;
    for (customer, order) in &placed {
        let id = order["id"].as_str().unwrap();
        if returned == RETURNED || !shipped_orders.contains(id) {
            continue;
        }
        let (s, ret) = call(
            &client,
            "POST",
            format!("{server}/v1/orders/{id}/returns"),
            Some(&customers[*customer]),
            None,
            json!({"items": [{"sku": "ITEM", "quantity": 1}], "reason": "damaged"}),
        )
        .await;
        assert_eq!(s, 201, "{ret}");
        let ret_id = ret["id"].as_str().unwrap();
        let (s, body) = call(
            &client,
            "POST",
            format!("{server}/v1/ops/returns/{ret_id}/receive"),
            Some(ADMIN),
            None,
            json!({"condition": "sellable"}),
        )
        .await;
        assert_eq!(s, 200, "{body}");
        returned += 1;
    }

    // The network heals: the same processor (its records kept), without faults.
    drop(sim);
    sim = gateway_sim(&sim_db, port, [0, 0, 0, 0]);
    wait_until("every job done", Duration::from_secs(60), async || {
        count(&store, "SELECT COUNT(*) FROM jobs WHERE status NOT IN ('done', 'failed')").await == 0
    })
    .await;

    // Every order decided: none waits on an authorization.
    let pending = {
        let mut read = store.read().await.unwrap();
        let rows = read
            .conn()
            .all(
                "SELECT p.id, o.status, p.created_at FROM payments p JOIN orders o ON o.id = p.order_id \
                 WHERE p.status = 'pending'",
                vec![],
            )
            .await
            .unwrap();
        rows.iter().map(|r| format!("{} {} ", r.text(0).unwrap(), r.text(1).unwrap())).collect::<Vec<_>>()
    };
    assert!(pending.is_empty(), "payments left pending: {pending:?}");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM orders WHERE status = 'placed'").await, 0);
    let gave_up = {
        let mut read = store.read().await.unwrap();
        let rows = read
            .conn()
            .all("SELECT kind, attempts, COALESCE(last_error, '') FROM jobs WHERE status = 'failed'", vec![])
            .await
            .unwrap();
        rows.iter()
            .map(|r| format!("{} after {}: {}", r.text(0).unwrap(), r.int(1).unwrap(), r.text(2).unwrap()))
            .collect::<Vec<_>>()
    };
    assert!(gave_up.is_empty(), "no job gave up: {gave_up:?}");

    // The processor's records against ours.
    let processor = Store::open(&sim_db).await.unwrap();
    // Each payment's order, and its status and authorization as our books hold them.
    let ours_of_payment: HashMap<String, (String, String, bool)> = {
        let mut read = store.read().await.unwrap();
        let rows = read
            .conn()
            .all("SELECT id, order_id, status, authorization_ref IS NOT NULL FROM payments", vec![])
            .await
            .unwrap();
        rows.iter()
            .map(|r| (r.text(0).unwrap(), (r.text(1).unwrap(), r.text(2).unwrap(), r.int(3).unwrap() != 0)))
            .collect()
    };
    let approved: Vec<String> = {
        let mut read = processor.read().await.unwrap();
        let rows = read
            .conn()
            .all("SELECT idempotency_key FROM sandbox_authorizations WHERE outcome = 'approved'", vec![])
            .await
            .unwrap();
        rows.iter().map(|r| r.text(0).unwrap()).collect()
    };
    // A hold can outrun our books: a request that timed out here may be acted on at the processor after the next
    // attempt looked its key up and found nothing, and if the processor then keeps failing, the payment is given
    // up on (the customer is asked to pay again) while the hold stands. Reconciliation releases such holds once
    // the payment has settled (`services::reconciliation`); any other hold we do not know is a fault.
    let mut approved_per_order: HashMap<&str, usize> = HashMap::new();
    let mut given_up = Vec::new();
    for key in &approved {
        let (order, status, known) =
            ours_of_payment.get(key).unwrap_or_else(|| panic!("the processor holds {key}, unknown to us"));
        if *known {
            *approved_per_order.entry(order).or_default() += 1;
        } else {
            assert!(
                ["declined", "cancelled"].contains(&status.as_str()),
                "the processor holds {key}, which we hold as {status} without its authorization"
            );
            given_up.push(key.clone());
        }
    }
    assert!(approved_per_order.values().all(|n| *n == 1), "at most one successful authorization per order");
    let authorized = ours_of_payment.values().filter(|(_, _, known)| *known).count();
    assert_eq!(approved.len() - given_up.len(), authorized, "every hold we know is one the processor made");
    for payment in &given_up {
        let released = format!(
            "SELECT COUNT(*) FROM sandbox_operations WHERE idempotency_key = 'reconcile-void:{payment}' AND outcome = 'ok'"
        );
        wait_until("reconciliation released the hold of a payment given up on", Duration::from_secs(200), async || {
            count(&processor, &released).await == 1
        })
        .await;
    }

    let ours = |sql: &'static str| count(&store, sql);
    let theirs = |sql: &'static str| count(&processor, sql);
    assert_eq!(ours("SELECT COUNT(*) FROM captures WHERE status <> 'captured'").await, 0);
    assert_eq!(
        theirs("SELECT COUNT(*) FROM sandbox_operations WHERE kind = 'capture' AND outcome = 'ok'").await,
        ours("SELECT COUNT(*) FROM captures").await,
        "each capture taken exactly once"
    );
    assert_eq!(
        theirs("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM sandbox_operations WHERE kind = 'capture' AND outcome = 'ok'").await,
        ours("SELECT CAST(COALESCE(SUM(captured), 0) AS BIGINT) FROM payments").await,
    );
    assert_eq!(ours("SELECT COUNT(*) FROM refunds WHERE status <> 'refunded'").await, 0);
    assert_eq!(
        theirs("SELECT COUNT(*) FROM sandbox_operations WHERE kind = 'refund' AND outcome = 'ok'").await,
        RETURNED as i64,
        "each refund made exactly once"
    );
    assert_eq!(
        theirs("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM sandbox_operations WHERE kind = 'refund' AND outcome = 'ok'").await,
        ours("SELECT CAST(COALESCE(SUM(refunded), 0) AS BIGINT) FROM payments").await,
    );
    assert_eq!(
        theirs(
            "SELECT COUNT(*) FROM sandbox_operations WHERE kind = 'void' AND outcome = 'ok' \
             AND idempotency_key NOT LIKE 'reconcile-void:%'"
        )
        .await,
        ours("SELECT COUNT(*) FROM payments WHERE status = 'voided'").await,
        "each cancelled hold voided once"
    );
    assert_eq!(
        theirs(
            "SELECT COUNT(*) FROM sandbox_operations WHERE kind = 'void' AND idempotency_key LIKE 'reconcile-void:%'"
        )
        .await,
        given_up.len() as i64,
        "reconciliation voids only the holds of payments given up on"
    );
    assert_eq!(ours("SELECT COUNT(*) FROM payments WHERE captured > amount OR refunded > captured").await, 0);
    assert_eq!(
        ours("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger_entries").await,
        0,
        "the ledger balances"
    );
    let declined = ours("SELECT COUNT(*) FROM orders WHERE status = 'payment_action_required'").await;
    eprintln!(
        "gateway faults: {ORDERS} orders placed in {placed_s:.0} s; {SHIPPED} shipped, {RETURNED} refunded, {CANCELLED} \
         voided, {declined} asked to pay again after the processor kept failing, {} of them with a late hold that \
         reconciliation released; all settled in {:.0} s",
        given_up.len(),
        started.elapsed().as_secs_f64()
    );
    drop(sim);
    processor.close().await;
    store.close().await;
}
