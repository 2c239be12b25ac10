//! The test harness: a real BuyNow server on a random port over a fresh SQLite file, talked to over HTTP.
#![allow(dead_code)]

use buynow_payments::{Sandbox, Vault};
use buynow_server::{AppState, Config, PasswordCost};
use buynow_store::testing::{backend_under_test, TestDb};
use buynow_store::Backend;
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

pub const ADMIN_KEY: &str = "adm_test_0123456789";
pub const VISA: &str = "4242424242424242";
pub const MASTERCARD: &str = "5555555555554444";
pub const VISA_DEBIT: &str = "4000056655665556";
pub const DECLINED: &str = "4000000000000002";
pub const INSUFFICIENT: &str = "4000000000009995";
pub const PROCESSING_ERROR: &str = "4000000000000119";

pub struct TestApp {
    pub url: String,
    pub client: reqwest::Client,
    pub backend: Backend,
    pub sandbox: Arc<Sandbox>,
    pub state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    db: Option<TestDb>,
}

pub struct Customer {
    pub id: String,
    pub email: String,
    pub password: String,
    pub token: String,
}

pub fn test_config() -> Config {
    let mut config = Config::new(SecretString::from(Vault::generate_key()));
    config.admin_key = Some(SecretString::from(ADMIN_KEY.to_string()));
    config.password_cost = PasswordCost::TEST_ONLY;
    config.worker_poll = Duration::from_millis(20);
    config.job_backoff = Duration::from_millis(20);
    config.inline_authorization_budget = Duration::from_secs(5);
    config.delivery_backoff = Duration::from_millis(20);
    config.webhooks_allow_private = true;
    // Every test also checks that the server answers only what its API document lists.
    config.check_contract = true;
    // Tests sweep for stalled orders when they mean to, not when a background pass happens to run.
    config.sweep_interval = Duration::from_secs(3600);
    // Tests sign many customers in from one address and buy in bursts; the rate-limit tests set their own.
    config.rate_limits = buynow_server::rate_limit::RateConfig {
        sign_in_per_account: buynow_server::rate_limit::Rate { burst: 0, every: Duration::from_secs(1) },
        sign_in_per_address: buynow_server::rate_limit::Rate { burst: 0, every: Duration::from_secs(1) },
        buy_now_per_customer: buynow_server::rate_limit::Rate { burst: 0, every: Duration::from_secs(1) },
    };
    // Each test process writes its .eml files to a folder of its own, never into the source tree.
    config.mail.mail_dir = std::env::temp_dir().join(format!("buynow-test-mail-{}", std::process::id()));
    config
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(test_config()).await
}

pub async fn spawn_app_with(config: Config) -> TestApp {
    let db = TestDb::new(backend_under_test(), "server test")
        .await
        .expect("BUYNOW_TEST_BACKEND=postgres needs a reachable PostgreSQL");
    spawn_app_on(db, config).await
}

/// A server on a database made beforehand (by an earlier version's schema, say).
pub async fn spawn_app_on(db: TestDb, config: Config) -> TestApp {
    let url = db.url().to_string();
    spawn_app_via(db, &url, config).await
}

/// A server on `db` reached at `url` (through a proxy, say).
pub async fn spawn_app_via(db: TestDb, url: &str, config: Config) -> TestApp {
    let backend = if url.starts_with("postgres") { buynow_store::Backend::Postgres } else { backend_under_test() };
    let store = buynow_store::Store::open(url).await.expect("open the test database");
    buynow_server::demo::ensure_centers(&store).await.expect("centers");
    let sandbox = Sandbox::open(config.sandbox.clone(), &store, url, config.clock.reader()).await.expect("sandbox");
    let sandbox = Arc::new(sandbox);
    let state = AppState::new(store, config, sandbox.clone()).await.expect("state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(buynow_server::serve(listener, state.clone(), async move {
        let _ = rx.await;
    }));
    TestApp {
        url,
        client: reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap(),
        backend,
        sandbox,
        state,
        shutdown: Some(tx),
        server: Some(server),
        db: Some(db),
    }
}

impl Drop for TestApp {
    /// A test fails when the server answered one of its routes with a status the API document does not list.
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        if let Some(contract) = self.state.contract.get() {
            let undocumented = contract.undocumented();
            assert!(undocumented.is_empty(), "answers the API document does not list: {undocumented:?}");
        }
    }
}

impl TestApp {
    fn db(&self) -> &TestDb {
        self.db.as_ref().expect("the database lives as long as the app")
    }

    /// Stops the server cleanly; the returned database lives until it is dropped.
    pub async fn stop(mut self) -> TestDb {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server stopped cleanly");
        }
        self.db.take().expect("the database lives as long as the app")
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method.parse().unwrap(), format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        decode(resp).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.request("POST", path, token, Some(body)).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.request("GET", path, token, None).await
    }

    pub async fn sign_up(&self, email: &str) -> Customer {
        let password = format!("pw-{email}-long-enough");
        let (status, body) =
            self.post("/v1/customers", None, json!({"email": email, "password": password, "name": "Test Buyer"})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, session) = self.post("/v1/sessions", None, json!({"email": email, "password": password})).await;
        assert_eq!(status, StatusCode::CREATED, "{session}");
        Customer {
            id: body["id"].as_str().unwrap().into(),
            email: email.into(),
            password,
            token: session["token"].as_str().unwrap().into(),
        }
    }

    pub async fn add_address(&self, c: &Customer) -> String {
        let (status, body) = self
            .post(
                "/v1/me/addresses",
                Some(&c.token),
                json!({"name": "Test Buyer", "line1": "1 Main St", "city": "San Francisco", "region": "CA",
                       "postal_code": "94105", "country": "US"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().into()
    }

    pub async fn add_card(&self, c: &Customer, number: &str) -> String {
        let (status, body) = self
            .post(
                "/v1/me/payment-methods",
                Some(&c.token),
                json!({"type": "card", "number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().into()
    }

    /// A signed-up customer with an address and a default card.
    pub async fn buyer(&self, email: &str, card: &str) -> Customer {
        let c = self.sign_up(email).await;
        self.add_address(&c).await;
        self.add_card(&c, card).await;
        c
    }

    pub async fn create_product(&self, sku: &str, price: i64, stock: i64) {
        let (status, body) = self
            .post(
                "/v1/ops/products",
                Some(ADMIN_KEY),
                json!({"sku": sku, "title": format!("Product {sku}"), "price": {"amount": price, "currency": "USD"}, "prime_eligible": true}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, body) = self
            .request("PUT", &format!("/v1/ops/stock/{sku}"), Some(ADMIN_KEY), Some(json!({"on_hand": stock})))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    pub async fn buy(&self, c: &Customer, key: &str, body: Value) -> (StatusCode, Value) {
        let resp = self
            .client
            .post(format!("{}/v1/buy-now", self.url))
            .bearer_auth(&c.token)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
            .await
            .expect("request sent");
        decode(resp).await
    }

    pub async fn order(&self, c: &Customer, id: &str) -> Value {
        let (status, body) = self.get(&format!("/v1/orders/{id}"), Some(&c.token)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// Polls until the order reaches `status` (the durable job path), failing after a few seconds.
    pub async fn wait_for(&self, c: &Customer, id: &str, status: &str) -> Value {
        for _ in 0..250 {
            let order = self.order(c, id).await;
            if order["status"] == status {
                return order;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("order {id} never reached {status}: {}", self.order(c, id).await);
    }

    /// One number from SQL the API cannot run (counts for the invariants).
    pub async fn scalar(&self, sql: &str) -> i64 {
        let mut read = self.state.store.read().await.unwrap();
        read.conn().one(sql, vec![]).await.expect(sql).int(0).expect(sql)
    }

    /// A statement run as the warehouse or an operator would, where the API for it does not exist yet.
    pub async fn execute(&self, sql: &str) {
        let mut tx = self.state.store.write().await.unwrap();
        tx.conn().exec(sql, vec![]).await.expect(sql);
        tx.commit().await.unwrap();
    }

    /// (on_hand, reserved) summed over centers.
    pub async fn stock(&self, sku: &str) -> (i64, i64) {
        let sum = |col: &str| format!("SELECT CAST(COALESCE(SUM({col}), 0) AS BIGINT) FROM stock WHERE sku = '{sku}'");
        (self.scalar(&sum("on_hand")).await, self.scalar(&sum("reserved")).await)
    }

    /// Waits until the notification dispatcher has nothing to do: every event fanned out, every due message
    /// sent or put off.
    pub async fn quiet(&self) {
        for _ in 0..500 {
            if buynow_server::notifications::idle(&self.state).await.unwrap() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("messages still due after 10 s");
    }

    /// Every row of every table but the audit trail's, as text, once the dispatcher is quiet: equal dumps mean
    /// nothing was written (the audit trail records refused staff calls too, by design).
    pub async fn dump(&self) -> Vec<String> {
        self.dump_all().await.into_iter().filter(|row| !row.starts_with("audit_log: ")).collect()
    }

    /// Every row of every table, as text, once the dispatcher is quiet.
    pub async fn dump_all(&self) -> Vec<String> {
        self.quiet().await;
        let mut read = self.state.store.read().await.unwrap();
        let mut c = read.conn();
        let list = match self.backend {
            Backend::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            }
            Backend::Postgres => {
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"
            }
        };
        let tables: Vec<String> = c.all(list, vec![]).await.unwrap().iter().map(|r| r.text(0).unwrap()).collect();
        let mut out = Vec::new();
        for t in tables {
            let sql = match self.backend {
                Backend::Sqlite => {
                    let cols = c.all(&format!("SELECT name FROM pragma_table_info('{t}')"), vec![]).await.unwrap();
                    let expr = cols
                        .iter()
                        .map(|r| format!("quote(\"{}\")", r.text(0).unwrap()))
                        .collect::<Vec<_>>()
                        .join(" || '|' || ");
                    format!("SELECT {expr} FROM \"{t}\" ORDER BY 1")
                }
                Backend::Postgres => format!("SELECT t::text FROM \"{t}\" t ORDER BY 1"),
            };
            out.extend(c.all(&sql, vec![]).await.unwrap().iter().map(|r| format!("{t}: {}", r.text(0).unwrap())));
        }
        out
    }
}

impl TestApp {
    /// Another BuyNow process on the same database: its state, kept current by its background tasks until the
    /// returned sender is dropped.
    pub async fn second_process(&self) -> (AppState, tokio::sync::watch::Sender<bool>) {
        let store = buynow_store::Store::open(self.db().url()).await.expect("open");
        let config = test_config();
        let sandbox = Sandbox::open(config.sandbox.clone(), &store, self.db().url(), config.clock.reader())
            .await
            .expect("sandbox");
        let state = AppState::new(store, config, Arc::new(sandbox)).await.expect("state");
        let (keep, stop) = tokio::sync::watch::channel(false);
        buynow_server::spawn_center_refresher(state.clone(), stop);
        (state, keep)
    }

    /// The test database's URL (with its password, if any: for tests only).
    pub fn db_url(&self) -> &str {
        self.db().url()
    }

    /// Moves the server's clock forward (hold windows, hold lapses, return windows pass at once).
    pub fn advance(&self, by: chrono::Duration) {
        self.state.config.clock.advance(by);
    }

    /// Waits until no job is due or running: what the clock made due has been done.
    pub async fn settle(&self) {
        for _ in 0..500 {
            let now = self.state.now_micros();
            let busy = self
                .scalar(&format!(
                    "SELECT COUNT(*) FROM jobs WHERE (status = 'queued' AND run_at <= {now}) OR status = 'running'"
                ))
                .await;
            if busy == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("jobs still due after 10 s");
    }

    /// The hold window passes and the release jobs run.
    pub async fn release_window(&self) {
        self.advance(chrono::Duration::minutes(91));
        self.settle().await;
    }

    /// The raw body of a GET, with its content type.
    pub async fn get_bytes(&self, path: &str, token: &str) -> (StatusCode, String, Vec<u8>) {
        let resp = self.client.get(format!("{}{path}", self.url)).bearer_auth(token).send().await.expect("sent");
        let status = resp.status();
        let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        (status, ct, resp.bytes().await.expect("body").to_vec())
    }

    /// The secret `carrier` signs its tracking events with.
    pub async fn carrier_secret(&self, carrier: &str) -> String {
        let mut read = self.state.store.read().await.unwrap();
        buynow_store::carriers::secret(&mut read.conn(), carrier).await.unwrap().expect("a carrier secret")
    }

    /// Sends a tracking event as `carrier` would, signed with `secret`.
    pub async fn carrier_event_signed(&self, carrier: &str, secret: &str, event: &Value) -> (StatusCode, Value) {
        let raw = event.to_string();
        let id = format!("msg_{}", event["id"].as_str().unwrap_or("x"));
        let signed =
            buynow_logistics::signing::headers(secret, &id, chrono::Utc::now().timestamp(), raw.as_bytes()).unwrap();
        let mut request = self
            .client
            .post(format!("{}/v1/carriers/{carrier}/events", self.url))
            .header("content-type", "application/json");
        for (name, value) in signed {
            request = request.header(name, value);
        }
        decode(request.body(raw).send().await.expect("sent")).await
    }

    pub async fn carrier_event(&self, carrier: &str, event: &Value) -> (StatusCode, Value) {
        let secret = self.carrier_secret(carrier).await;
        self.carrier_event_signed(carrier, &secret, event).await
    }

    /// A staff call with the admin key (standing in for a warehouse key).
    pub async fn ops(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.request(method, path, Some(ADMIN_KEY), body).await
    }

    /// Creates a product with a size and weight, stocked at the given centers.
    pub async fn stocked_product(&self, sku: &str, price: i64, stock: &[(&str, i64)]) {
        let (status, body) = self
            .ops(
                "POST",
                "/v1/ops/products",
                Some(
                    json!({"sku": sku, "title": format!("Product {sku}"), "price": {"amount": price, "currency": "USD"},
                            "prime_eligible": true, "weight_grams": 400, "dimensions_mm": [120, 100, 80]}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        for (center, on_hand) in stock {
            let (status, body) = self
                .ops(
                    "PUT",
                    &format!("/v1/ops/stock/{sku}"),
                    Some(json!({"fulfillment_center": center, "on_hand": on_hand})),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    }

    /// (on_hand, reserved) of a SKU at one center.
    pub async fn stock_at(&self, sku: &str, center: &str) -> (i64, i64) {
        let q = |col: &str| format!("SELECT {col} FROM stock WHERE sku = '{sku}' AND center = '{center}'");
        (self.scalar(&q("on_hand")).await, self.scalar(&q("reserved")).await)
    }

    /// The parcels of a center's pick list, across its waves.
    pub async fn pick_list(&self, center: &str, key: &str) -> Vec<Value> {
        let (status, body) = self.get(&format!("/v1/ops/pick-lists?center={center}"), Some(key)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["waves"].as_array().unwrap().iter().flat_map(|w| w["shipments"].as_array().unwrap().clone()).collect()
    }

    /// Picks (everything), packs and ships a parcel as the warehouse; returns the shipped parcel.
    pub async fn pick_pack_ship(&self, shipment: &str, key: &str, ship: Value) -> Value {
        for (step, body) in [("pick", json!({})), ("pack", json!({})), ("ship", ship)] {
            let (status, answer) =
                self.request("POST", &format!("/v1/ops/shipments/{shipment}/{step}"), Some(key), Some(body)).await;
            assert_eq!(status, StatusCode::OK, "{step}: {answer}");
            if step == "ship" {
                return answer;
            }
        }
        unreachable!()
    }

    /// Packs and ships a parcel whose picking started.
    pub async fn pick_pack_ship_rest(&self, shipment: &str) -> Value {
        let (status, answer) = self.ops("POST", &format!("/v1/ops/shipments/{shipment}/pack"), None).await;
        assert_eq!(status, StatusCode::OK, "pack: {answer}");
        let (status, answer) = self.ops("POST", &format!("/v1/ops/shipments/{shipment}/ship"), None).await;
        assert_eq!(status, StatusCode::OK, "ship: {answer}");
        answer
    }

    /// Delivers a shipped parcel by its carrier's events: in transit, out for delivery, delivered.
    pub async fn deliver(&self, carrier: &str, tracking: &str) {
        for (i, kind) in ["in_transit", "out_for_delivery", "delivered"].into_iter().enumerate() {
            let at = self.state.now() + chrono::Duration::minutes(i as i64);
            let event = json!({"id": format!("{tracking}-{kind}"), "tracking_number": tracking, "type": kind, "occurred_at": at});
            let (status, body) = self.carrier_event(carrier, &event).await;
            assert_eq!(status, StatusCode::ACCEPTED, "{kind}: {body}");
        }
    }
}

async fn decode(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let text = resp.text().await.expect("body");
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    if status.is_client_error() || status.is_server_error() {
        assert_eq!(content_type, "application/problem+json", "{status} must be problem+json: {body}");
    }
    (status, body)
}

/// The stable code at the end of a problem's `type`.
pub fn problem_code(body: &Value) -> &str {
    body["type"].as_str().and_then(|t| t.rsplit('/').next()).unwrap_or("")
}
