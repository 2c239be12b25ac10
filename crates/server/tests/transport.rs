//! In transit (issue 15, acceptance 4, its TLS part): HTTPS with a generated certificate and a rustls client
//! placing a Buy Now; HSTS then on; a client that never finishes its request's head is disconnected; the
//! PostgreSQL connection encrypted when its URL says `sslmode=require`.

mod common;

use buynow_store::Backend;
use common::*;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn a_rustls_client_places_a_buy_now_over_https() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    let mut config = test_config();
    config.tls = Some(buynow_server::listener::TlsFiles { cert: cert_path, key: key_path });
    let mut app = spawn_app_with(config).await;
    let addr: std::net::SocketAddr = app.url.trim_start_matches("http://").parse().unwrap();

    // Plain HTTP to the HTTPS port gets nowhere.
    let plain = reqwest::Client::new().get(format!("http://{addr}/healthz")).send().await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());

    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .resolve("localhost", addr)
        .build()
        .unwrap();
    app.url = format!("https://localhost:{}", addr.port());
    app.client = client;
    app.create_product("LAMP", 2500, 3).await;
    let c = app.buyer("tls@example.com", VISA).await;
    let (status, order) = app.buy(&c, "k1", json!({"sku": "LAMP", "quantity": 1})).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!(order["status"], "payment_authorized");

    let resp = app.client.get(format!("{}/v1/products", app.url)).send().await.unwrap();
    assert_eq!(resp.headers()["strict-transport-security"], "max-age=31536000");
    app.stop().await;
}

#[tokio::test]
async fn a_client_that_never_finishes_its_request_head_is_disconnected() {
    let mut config = test_config();
    config.head_timeout = Duration::from_millis(500);
    let app = spawn_app_with(config).await;
    let addr = app.url.trim_start_matches("http://").to_string();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /v1/products HTTP/1.1\r\nHost: shop\r\nX-Half: ").await.unwrap();
    // A well-behaved client on another connection is served meanwhile.
    assert_eq!(app.get("/v1/products", None).await.0, StatusCode::OK);
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the half-sent request's connection is closed, not held");
    app.stop().await;
}

#[tokio::test]
async fn the_postgresql_connection_is_encrypted_when_its_url_asks() {
    let app = spawn_app().await;
    if app.backend != Backend::Postgres {
        eprintln!("skipped: the PostgreSQL part runs with BUYNOW_TEST_BACKEND=postgres");
        app.stop().await;
        return;
    }
    let sep = if app.db_url().contains('?') { '&' } else { '?' };
    let url = format!("{}{sep}sslmode=require", app.db_url());
    let store = buynow_store::Store::open(&url).await.expect("an encrypted connection (the server has TLS on)");
    let mut read = store.read().await.unwrap();
    let ssl = read
        .conn()
        .one("SELECT CAST(CAST(ssl AS INT) AS BIGINT) FROM pg_stat_ssl WHERE pid = pg_backend_pid()", vec![])
        .await;
    assert_eq!(ssl.unwrap().int(0).unwrap(), 1, "the connection is TLS");
    drop(read);
    store.close().await;
    app.stop().await;
}
