//! What the tests that run the `buynow` binary as separate processes share.
#![allow(dead_code)]

use buynow_store::Store;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub const ADMIN: &str = "adm_process_test";
pub const VAULT_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// A child process, killed when dropped.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `buynow ARGS --database DB` with short job leases and the sandbox's latency `latency_ms`, and waits
/// for its first line (where a server says its URL).
pub fn spawn(args: &[&str], db: &str, latency_ms: &str) -> (Proc, String) {
    spawn_with(args, db, latency_ms, &[], Stdio::null())
}

/// `spawn` with more environment (set after the defaults, so it wins) and stderr sent to `stderr`.
pub fn spawn_with(
    args: &[&str],
    db: &str,
    latency_ms: &str,
    env: &[(&str, &str)],
    stderr: impl Into<Stdio>,
) -> (Proc, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_buynow"))
        .args(args)
        .args(["--database", db])
        .env("BUYNOW_ADMIN_KEY", ADMIN)
        .env("BUYNOW_VAULT_KEY", VAULT_KEY)
        .env("BUYNOW_JOB_LEASE_MS", "1500")
        // Messages without an SMTP server are files: a folder of the test run's own, never the source tree.
        .env("BUYNOW_MAIL_DIR", std::env::temp_dir().join(format!("buynow-test-mail-{}", std::process::id())))
        .env("BUYNOW_SANDBOX_LATENCY_MS", latency_ms)
        // These tests are load: a few customers place hundreds of orders each, and all sign in from here.
        .env("BUYNOW_BUY_NOW_PER_SECOND", "0")
        .env("BUYNOW_SIGN_IN_PER_MINUTE", "0")
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("start buynow");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).expect("buynow says it is up");
    // Keep draining stdout so the process never blocks on a full pipe.
    std::thread::spawn(move || for _ in out.lines() {});
    (Proc(child), line)
}

/// The URL in a server's first line.
pub fn url_in(line: &str) -> String {
    line.split_whitespace().find(|w| w.starts_with("http://")).expect("a URL").to_string()
}

/// One HTTP call; a transport error is status 0.
pub async fn call(
    client: &reqwest::Client,
    method: &str,
    url: String,
    token: Option<&str>,
    key: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut req = client.request(method.parse().unwrap(), url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    match req.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            (status, resp.json().await.unwrap_or(Value::Null))
        }
        Err(e) => (0, json!(e.to_string())),
    }
}

pub async fn count(store: &Store, sql: &str) -> i64 {
    store.read().await.unwrap().conn().one(sql, vec![]).await.expect(sql).int(0).unwrap()
}

/// Picks, packs and ships one parcel through the warehouse's API, as staff with the admin key.
pub async fn pick_pack_ship(client: &reqwest::Client, server: &str, parcel: &str) {
    for step in ["pick", "pack", "ship"] {
        let url = format!("{server}/v1/ops/shipments/{parcel}/{step}");
        let (s, body) = call(client, "POST", url, Some(ADMIN), None, json!({})).await;
        assert_eq!(s, 200, "{step} {parcel}: {body}");
    }
}

/// A new customer with an address in `(city, region, postal code)` and a Visa card, made through `server`'s
/// API; returns their session token.
pub async fn new_customer(client: &reqwest::Client, server: &str, email: &str, place: (&str, &str, &str)) -> String {
    let pw = "a long enough password";
    let (s, b) = call(
        client,
        "POST",
        format!("{server}/v1/customers"),
        None,
        None,
        json!({"email": email, "password": pw, "name": "B"}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let (_, session) =
        call(client, "POST", format!("{server}/v1/sessions"), None, None, json!({"email": email, "password": pw}))
            .await;
    let token = session["token"].as_str().unwrap().to_string();
    let (city, region, postal_code) = place;
    let (s, b) = call(client, "POST", format!("{server}/v1/me/addresses"), Some(&token), None,
        json!({"name": "B", "line1": "1 Main St", "city": city, "region": region, "postal_code": postal_code, "country": "US"})).await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = call(
        client,
        "POST",
        format!("{server}/v1/me/payment-methods"),
        Some(&token),
        None,
        json!({"type": "card", "number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    token
}
