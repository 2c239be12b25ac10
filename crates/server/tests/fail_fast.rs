//! With the database out of reach, BuyNow says so quickly: `/readyz` within a second, Buy Now and reads with a
//! 503 in about two seconds that says to retry with the same Idempotency-Key, while `/healthz` stays up; and
//! once the database is back, that retry places the order once. PostgreSQL only (a SQLite file cannot be out
//! of reach): the server reaches it through a TCP proxy of the test's own, which the test cuts.

mod common;

use common::{problem_code, spawn_app_via, test_config};
use reqwest::StatusCode;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};

/// Forwards connections to `target` while up. Down, it closes the ones it carries, and then either closes every
/// new one at once, as a stopped database server would, or (`silent`) keeps it open and says nothing, as a
/// network that lost the server does.
struct Proxy {
    addr: std::net::SocketAddr,
    up: Arc<AtomicBool>,
    silent: Arc<AtomicBool>,
    cut: tokio::sync::watch::Sender<u64>,
}

impl Proxy {
    async fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (up, silent) = (Arc::new(AtomicBool::new(true)), Arc::new(AtomicBool::new(false)));
        let (cut, cuts) = tokio::sync::watch::channel(0u64);
        let (is_up, is_silent) = (up.clone(), silent.clone());
        tokio::spawn(async move {
            let mut held = Vec::new();
            loop {
                let Ok((mut client, _)) = listener.accept().await else { return };
                if !is_up.load(Ordering::SeqCst) {
                    if is_silent.load(Ordering::SeqCst) {
                        held.push(client);
                    }
                    continue;
                }
                let target = target.clone();
                let mut cuts = cuts.clone();
                // Only a cut from now on ends this connection.
                cuts.borrow_and_update();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&target).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cuts.changed() => {}
                    }
                });
            }
        });
        Proxy { addr, up, silent, cut }
    }

    fn down(&self, silent: bool) {
        self.silent.store(silent, Ordering::SeqCst);
        self.up.store(false, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_database_out_of_reach_requests_fail_fast_and_a_retry_after_it_returns_places_once() {
    let Some(db) = buynow_store::testing::TestDb::postgres("fail_fast").await else { return };
    let direct = db.url().to_string();
    let host_port = direct.split('@').nth(1).unwrap().split('/').next().unwrap().to_string();
    let proxy = Proxy::start(host_port.clone()).await;
    let via = direct.replace(&host_port, &proxy.addr.to_string());
    let app = spawn_app_via(db, &via, test_config()).await;
    app.create_product("FAST", 1999, 5).await;
    let c = app.buyer("far@example.com", common::VISA).await;
    assert_eq!(app.get("/readyz", None).await.0, StatusCode::OK);

    for silent in [false, true] {
        proxy.down(silent);
        let how = if silent { "silent" } else { "refusing" };
        let started = Instant::now();
        let (status, body) = app.get("/readyz", None).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{how}: {body}");
        assert!(started.elapsed() < Duration::from_millis(1500), "{how}: readyz took {:?}", started.elapsed());
        assert_eq!(app.get("/healthz", None).await.0, StatusCode::OK);

        let started = Instant::now();
        let (status, body) = app.buy(&c, "far-1", json!({"sku": "FAST", "quantity": 1})).await;
        let took = started.elapsed();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{how}: {body}");
        assert_eq!(problem_code(&body), "unavailable");
        assert!(body["detail"].as_str().unwrap().contains("same Idempotency-Key"), "{body}");
        assert!(took < Duration::from_millis(3500), "{how}: Buy Now took {took:?}");

        let started = Instant::now();
        let response = app.client.get(format!("{}/v1/me/orders", app.url)).bearer_auth(&c.token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(started.elapsed() < Duration::from_millis(3500), "{how}: a read took {:?}", started.elapsed());
        assert_eq!(response.headers()["retry-after"], "1");
        eprintln!("{how}: readyz, Buy Now ({took:?}) and a read answered 503");
    }

    // Back: the same key places the order, once.
    proxy.up();
    let started = Instant::now();
    let order = loop {
        let (status, body) = app.buy(&c, "far-1", json!({"sku": "FAST", "quantity": 1})).await;
        if status == StatusCode::CREATED {
            break body;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(started.elapsed() < Duration::from_secs(20), "still {status} after the database came back: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let (status, again) = app.buy(&c, "far-1", json!({"sku": "FAST", "quantity": 1})).await;
    assert_eq!((status, &again["id"]), (StatusCode::CREATED, &order["id"]));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM orders").await, 1);
    assert_eq!(app.get("/readyz", None).await.0, StatusCode::OK);
}
