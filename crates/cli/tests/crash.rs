//! A crash test on PostgreSQL: two `buynow serve` processes take 200 Buy Nows while the one `buynow worker` and
//! the `buynow carrier-sim` are killed with SIGKILL at random moments and started again. The test is the
//! warehouse: it picks, packs and ships whatever is released. In the end every order is delivered, every
//! shipment captured exactly once by the sandbox's own records, the captures sum to the orders' totals, and
//! every unit of stock is accounted for.

mod common;

use buynow_store::testing::TestDb;
use buynow_store::Store;
use common::{call, count, new_customer, pick_pack_ship, spawn, url_in, Proc, ADMIN};
use futures::stream::{self, StreamExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::collections::BTreeSet;
use std::io::Write;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ORDERS: usize = 200;
/// The sandbox's latency per call, in milliseconds.
const LATENCY: &str = "5-30";

/// Kills `args`' process with SIGKILL at random moments and starts it again, until `stop`.
async fn chaos(
    name: &'static str,
    args: Vec<String>,
    url: String,
    seed: u64,
    stop: Arc<AtomicBool>,
    kills: Arc<AtomicU32>,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    // Starting a process waits, blocking, for it to say it is up, and it is up only once its migrations have
    // the database's migration lock: off the runtime's threads, so that whoever holds that lock meanwhile (the
    // test's own store, opened while a process restarts) can finish with it.
    let start = || {
        let (args, url) = (args.clone(), url.clone());
        tokio::task::spawn_blocking(move || {
            let argv: Vec<&str> = args.iter().map(String::as_str).collect();
            spawn(&argv, &url, LATENCY).0
        })
    };
    let mut proc: Option<Proc> = Some(start().await.expect("started"));
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(rng.gen_range(300..1500))).await;
        if let Some(mut p) = proc.take() {
            p.0.kill().unwrap_or_else(|e| panic!("SIGKILL {name}: {e}"));
            let _ = p.0.wait();
            kills.fetch_add(1, Ordering::Relaxed);
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(50..400))).await;
        proc = Some(start().await.expect("started"));
    }
    // Left running, so that what is still due finishes.
    let p = proc.take();
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(p);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_workers_and_carriers_lose_no_order_no_capture_and_no_stock() {
    let Some(db) = TestDb::postgres("crash").await else { return };
    let url = db.url().to_string();
    let migrated = Command::new(env!("CARGO_BIN_EXE_buynow")).args(["migrate", "--database", &url]).output().unwrap();
    assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));
    let seed: u64 = std::env::var("BUYNOW_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    let _ = writeln!(std::io::stderr(), "crash test seed {seed} (BUYNOW_CRASH_SEED={seed} replays the kill schedule)");

    // The messages go to a real SMTP server, from the worker that is being killed (every process inherits it).
    let smtp = Smtp::start();
    if let Some(smtp) = &smtp {
        std::env::set_var("BUYNOW_SMTP_URL", format!("smtp://127.0.0.1:{}", smtp.port));
    }

    // Every job goes to the worker that is being killed: the servers run none, not even inline.
    let server_args =
        ["serve", "--addr", "127.0.0.1:0", "--no-workers", "--inline-authorization-ms", "0", "--hold-window", "1"];
    let (_server_1, line_1) = spawn(&server_args, &url, LATENCY);
    let (_server_2, line_2) = spawn(&server_args, &url, LATENCY);
    let servers = [url_in(&line_1), url_in(&line_2)];
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let (worker_kills, sim_kills) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
    let worker =
        tokio::spawn(chaos("worker", vec!["worker".into()], url.clone(), seed, stop.clone(), worker_kills.clone()));
    let sim_args = ["carrier-sim", "--target", &servers[0], "--pace-secs", "1", "--exceptions-per-mille", "150"];
    let sim_args: Vec<String> =
        sim_args.iter().map(|s| s.to_string()).chain(["--seed".into(), seed.to_string()]).collect();
    let sim = tokio::spawn(chaos("carrier-sim", sim_args, url.clone(), seed ^ 1, stop.clone(), sim_kills.clone()));

    let (s, body) = call(&client, "POST", format!("{}/v1/ops/products", servers[0]), Some(ADMIN), None,
        json!({"sku": "ITEM", "title": "An item", "price": {"amount": 1234, "currency": "USD"}, "prime_eligible": true})).await;
    assert_eq!(s, 201, "{body}");
    for center in ["SEA1", "PHL1"] {
        let (s, body) = call(
            &client,
            "PUT",
            format!("{}/v1/ops/stock/ITEM", servers[1]),
            Some(ADMIN),
            None,
            json!({"fulfillment_center": center, "on_hand": 150}),
        )
        .await;
        assert_eq!(s, 200, "{body}");
    }
    let customers: Vec<String> = stream::iter(0..50)
        .map(|i| {
            let (client, server) = (&client, servers[i % 2].clone());
            async move {
                // Half the customers live in the east: their orders come from Philadelphia.
                let place = if i % 2 == 0 { ("San Francisco", "CA", "94105") } else { ("New York", "NY", "10001") };
                new_customer(client, &server, &format!("crash{i}@example.com"), place).await
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    // Each customer's id and e-mail, as they see them: the database holds the e-mail sealed.
    let mut emails = std::collections::HashMap::new();
    for token in &customers {
        let (s, me) = call(&client, "GET", format!("{}/v1/me", servers[0]), Some(token), None, json!(null)).await;
        assert_eq!(s, 200, "{me}");
        emails.insert(me["id"].as_str().unwrap().to_string(), me["email"].as_str().unwrap().to_string());
    }

    // 200 Buy Nows through both servers; a server's 503 (a lost race) is retried with the same key.
    let placed = stream::iter(0..ORDERS)
        .map(|i| {
            let (client, token, server) = (&client, customers[i % customers.len()].clone(), servers[i % 2].clone());
            async move {
                for _ in 0..5 {
                    let (s, body) = call(
                        client,
                        "POST",
                        format!("{server}/v1/buy-now"),
                        Some(&token),
                        Some(&format!("order-{i}")),
                        json!({"sku": "ITEM", "quantity": 1}),
                    )
                    .await;
                    match s {
                        201 => return body["id"].as_str().unwrap().to_string(),
                        503 => tokio::time::sleep(Duration::from_millis(50)).await,
                        other => panic!("Buy Now {i}: {other} {body}"),
                    }
                }
                panic!("Buy Now {i} never placed");
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    assert_eq!(placed.len(), ORDERS);

    // The warehouse: whatever is released is picked, packed and shipped, until everything is delivered.
    let store = Store::open(&url).await.unwrap();
    let started = Instant::now();
    let shipped = Arc::new(Mutex::new(0usize));
    loop {
        let delivered = count(&store, "SELECT COUNT(*) FROM orders WHERE status = 'delivered'").await;
        if delivered == ORDERS as i64 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "only {delivered} of {ORDERS} orders delivered after 4 minutes (seed {seed})"
        );
        for (n, center) in ["SEA1", "PHL1"].into_iter().enumerate() {
            let server = &servers[n];
            let (s, list) = call(
                &client,
                "GET",
                format!("{server}/v1/ops/pick-lists?center={center}"),
                Some(ADMIN),
                None,
                json!(null),
            )
            .await;
            assert_eq!(s, 200, "{list}");
            for wave in list["waves"].as_array().unwrap() {
                for parcel in wave["shipments"].as_array().unwrap() {
                    pick_pack_ship(&client, server, parcel["id"].as_str().unwrap()).await;
                    *shipped.lock().unwrap() += 1;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Every message goes out while the worker is still being killed: none is missing, and a repeat (a send
    // whose record died with the worker) carries the Message-ID of the first.
    if let Some(smtp) = &smtp {
        let waiting = Instant::now();
        while count(&store, "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL").await > 0
            || count(&store, "SELECT COUNT(*) FROM deliveries WHERE status <> 'sent'").await > 0
        {
            assert!(waiting.elapsed() < Duration::from_secs(120), "messages left unsent (seed {seed})");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let mut read = store.read().await.unwrap();
        let rows =
            read.conn().all("SELECT event_id, target FROM deliveries WHERE channel = 'email'", vec![]).await.unwrap();
        drop(read);
        // An e-mail delivery names its customer; the message went to (and its Message-ID names) their address.
        let expected: BTreeSet<String> = rows
            .iter()
            .map(|r| {
                let to = &emails[&r.text(1).unwrap()];
                buynow_notify::mail::message_id(&r.text(0).unwrap(), to, "buynow.localhost")
            })
            .collect();
        let told = count(&store, "SELECT COUNT(*) FROM outbox").await;
        assert_eq!(expected.len() as i64, told, "one e-mail for each customer-facing event");
        let received = smtp.message_ids();
        let distinct: BTreeSet<String> = received.iter().cloned().collect();
        assert_eq!(distinct, expected, "every message arrived, and nothing else (seed {seed})");
        let _ = writeln!(
            std::io::stderr(),
            "crash test: {} e-mails for {} events ({} repeats, each with its first's Message-ID)",
            received.len(),
            expected.len(),
            received.len() - expected.len()
        );
    }

    // Whatever capture is still due runs (the worker keeps running now), then the books are checked.
    stop.store(true, Ordering::Relaxed);
    let waiting = Instant::now();
    while count(&store, "SELECT COUNT(*) FROM captures WHERE status <> 'captured'").await > 0 {
        assert!(waiting.elapsed() < Duration::from_secs(60), "captures left pending (seed {seed})");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (worker_kills, sim_kills) = (worker_kills.load(Ordering::Relaxed), sim_kills.load(Ordering::Relaxed));
    worker.await.unwrap();
    sim.await.unwrap();

    let rows = count(&store, "SELECT COUNT(*) FROM shipments WHERE status <> 'cancelled'").await;
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM captures WHERE status = 'captured'").await,
        rows,
        "one capture per shipment"
    );
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM sandbox_operations WHERE kind = 'capture' AND outcome = 'ok'").await,
        rows,
        "each captured exactly once, by the processor's own records"
    );
    let totals = count(&store, "SELECT CAST(SUM(total) AS BIGINT) FROM orders").await;
    let taken = count(
        &store,
        "SELECT CAST(SUM(amount) AS BIGINT) FROM sandbox_operations WHERE kind = 'capture' AND outcome = 'ok'",
    )
    .await;
    assert_eq!(taken, totals, "the processor took exactly the orders' totals");
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM orders o JOIN payments p ON p.order_id = o.id WHERE p.status = 'captured' AND p.captured = o.total").await,
        ORDERS as i64
    );
    assert_eq!(
        count(&store, "SELECT CAST(SUM(on_hand) AS BIGINT) FROM stock WHERE sku = 'ITEM'").await,
        300 - ORDERS as i64,
        "every unit shipped left the shelf once"
    );
    assert_eq!(
        count(&store, "SELECT CAST(SUM(reserved) AS BIGINT) FROM stock WHERE sku = 'ITEM'").await,
        0,
        "no reservation left behind"
    );
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM outbox WHERE kind = 'order.delivered'").await,
        ORDERS as i64,
        "told once each"
    );
    assert_eq!(count(&store, "SELECT COUNT(*) FROM jobs WHERE status = 'failed'").await, 0, "no job gave up");
    let _ = writeln!(
        std::io::stderr(),
        "crash test: {ORDERS} orders delivered in {:.0} s, {} parcels shipped, worker killed {worker_kills}×, carrier-sim killed {sim_kills}×",
        started.elapsed().as_secs_f64(),
        shipped.lock().unwrap()
    );
    assert!(worker_kills > 0 && sim_kills > 0, "nothing was killed: the test proved nothing");
    store.close().await;
}

/// A real SMTP server (Python's aiosmtpd) keeping every message in a Maildir; `None`, and a note, where it is
/// not installed, unless `BUYNOW_REQUIRE_SMTP` says it must be.
struct Smtp {
    child: std::process::Child,
    port: u16,
    maildir: tempfile::TempDir,
}

impl Smtp {
    fn start() -> Option<Smtp> {
        let present = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !present {
            assert!(
                std::env::var_os("BUYNOW_REQUIRE_SMTP").is_none(),
                "BUYNOW_REQUIRE_SMTP is set but aiosmtpd is missing"
            );
            let _ = writeln!(std::io::stderr(), "crash test: the e-mail half skipped (pip install aiosmtpd)");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let maildir = tempfile::tempdir().unwrap();
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("box"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        let mut smtp = Smtp { child, port, maildir };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(smtp);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = smtp.child.kill();
        panic!("aiosmtpd did not start");
    }

    /// The Message-ID of every message received, repeats included.
    fn message_ids(&self) -> Vec<String> {
        let mut ids = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(dir) = std::fs::read_dir(self.maildir.path().join("box").join(sub)) else { continue };
            for f in dir.flatten() {
                let raw = std::fs::read_to_string(f.path()).unwrap();
                let id = raw
                    .lines()
                    .find_map(|l| l.strip_prefix("Message-ID: "))
                    .unwrap_or_else(|| panic!("a message without a Message-ID: {raw}"));
                ids.push(id.trim().to_string());
            }
        }
        ids
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
