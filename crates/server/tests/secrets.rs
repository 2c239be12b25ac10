//! Card numbers, CVCs, passwords and tokens appear nowhere they should not: not in the database file in clear,
//! not in logs (captured at TRACE, with SQL statements), not in responses.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Captured::default();
        let writer = logs.clone();
        tracing_subscriber::fmt().with_env_filter("trace").with_ansi(false).with_writer(move || writer.clone()).init();
        logs
    })
    .clone()
}

const PASSWORD: &str = "Correct-Horse-Battery-Staple-77";
const CVC: &str = "7319";
const AMEX: &str = "378282246310005";

#[tokio::test]
async fn no_card_number_cvc_password_or_token_is_stored_in_clear_or_logged() {
    let logs = capture_logs();
    let app = spawn_app().await;
    app.create_product("SAFE", 1000, 10).await;

    let (status, _) =
        app.post("/v1/customers", None, json!({"email": "eve@example.com", "password": PASSWORD, "name": "Eve"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, session) = app.post("/v1/sessions", None, json!({"email": "eve@example.com", "password": PASSWORD})).await;
    let token = session["token"].as_str().unwrap().to_string();
    let c = Customer {
        id: session["customer_id"].as_str().unwrap().into(),
        email: "eve@example.com".into(),
        password: PASSWORD.into(),
        token: token.clone(),
    };
    app.add_address(&c).await;
    let mut responses = String::new();
    for (number, cvc) in [(VISA, "123"), (MASTERCARD, "456"), (DECLINED, "789"), (AMEX, CVC)] {
        let (status, body) = app
            .post(
                "/v1/me/payment-methods",
                Some(&token),
                json!({"type": "card", "number": number, "exp_month": 12, "exp_year": 2031, "cvc": cvc}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        responses.push_str(&body.to_string());
    }
    // Attempts that fail must not echo either.
    for bad in [json!(4242424242424242u64), json!("4242424242424241")] {
        let (status, body) = app
            .post(
                "/v1/me/payment-methods",
                Some(&token),
                json!({"type": "card", "number": bad, "exp_month": 12, "exp_year": 2031, "cvc": CVC}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        responses.push_str(&body.to_string());
    }
    let (_, wrong) =
        app.post("/v1/sessions", None, json!({"email": "eve@example.com", "password": format!("{PASSWORD}x")})).await;
    responses.push_str(&wrong.to_string());
    let (_, order) = app.buy(&c, "k1", json!({"sku": "SAFE", "quantity": 1})).await;
    assert_eq!(order["status"], "payment_authorized");
    responses.push_str(&order.to_string());
    let (_, cancelled) =
        app.post(&format!("/v1/orders/{}/cancel", order["id"].as_str().unwrap()), Some(&token), json!({})).await;
    responses.push_str(&cancelled.to_string());
    let (_, me) = app.get("/v1/me", Some(&token)).await;
    responses.push_str(&me.to_string());
    // What is stored: every row as text (both back ends), and for SQLite the raw bytes of its files too.
    let rows = app.dump_all().await;
    assert_eq!(rows.iter().filter(|r| r.starts_with("payment_methods: ")).count(), 4, "the dump holds the cards");
    let mut stored = rows.join("\n").into_bytes();
    let db = app.stop().await;
    if let Some(path) = db.url().strip_prefix("sqlite://") {
        for suffix in ["", "-wal", "-shm"] {
            if let Ok(bytes) = std::fs::read(format!("{path}{suffix}")) {
                stored.extend(bytes);
            }
        }
    }
    let logged = String::from_utf8_lossy(&logs.0.lock().unwrap()).to_string();
    assert!(
        logged.contains("order placed") && logged.contains("INSERT INTO"),
        "the log capture works (TRACE, with SQL)"
    );

    let secrets = [VISA, MASTERCARD, DECLINED, AMEX, "4242424242424241", PASSWORD, &token];
    for secret in secrets {
        assert!(!contains(&stored, secret), "{secret} is in the database file in clear");
        assert!(!logged.contains(secret), "{secret} is in the logs");
        assert!(!responses.contains(secret), "{secret} came back in a response");
    }
    // A CVC is short enough to occur by chance in a timestamp; what must never appear is one beside its name.
    for text in [&logged, &responses] {
        let lower = text.to_lowercase();
        for pattern in ["\"cvc\"", "cvc=", "cvc:", "cvc\\\":"] {
            assert!(!lower.contains(pattern), "a CVC field was logged or returned ({pattern})");
        }
    }
    assert!(
        !contains(&stored, &format!("\"cvc\":\"{CVC}\"")) && !contains(&stored, "cvc"),
        "a CVC column or value is stored"
    );
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}
