//! At rest (issue 15, acceptance 4, its second half): a customer's name, e-mail and address lines are sealed by
//! the vault wherever the database keeps them. A whole order's life is driven through the server — sign-up,
//! sign-ins right and wrong, an address, Buy Now, picking, a label, delivery, the e-mails, a return, a question
//! to support, a password change — and then the database's own files (SQLite) or every row (PostgreSQL) are
//! searched for those texts.

mod common;

use buynow_store::Backend;
use common::*;
use reqwest::StatusCode;
use serde_json::json;

const NAME: &str = "Philippa Quenby";
const EMAIL: &str = "pq.wexcombe@example.net";
const LINE1: &str = "77 Zephyrine Quay";
const LINE2: &str = "Flat 3b Hollowmere";
const CITY: &str = "Oxwarden";
const POSTAL: &str = "98133";

#[tokio::test]
async fn the_database_holds_no_name_email_or_address_line_in_clear() {
    let app = spawn_app().await;
    app.stocked_product("SHOE", 5000, &[("SEA1", 4)]).await;
    let password = "a-long-enough-password";
    let (status, body) =
        app.post("/v1/customers", None, json!({"email": EMAIL, "password": password, "name": NAME})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // A wrong password, then the right one with the e-mail in other case: sign-in finds the customer by it.
    let (status, _) = app.post("/v1/sessions", None, json!({"email": EMAIL, "password": "not-the-password"})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, session) =
        app.post("/v1/sessions", None, json!({"email": EMAIL.to_uppercase(), "password": password})).await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    let token = session["token"].as_str().unwrap().to_string();
    // The same e-mail cannot sign up twice, sealed or not.
    let (status, _) = app.post("/v1/customers", None, json!({"email": EMAIL, "password": password, "name": "X"})).await;
    assert_eq!(status, StatusCode::CONFLICT);

    let address = json!({"name": NAME, "line1": LINE1, "line2": LINE2, "city": CITY, "region": "WA",
                         "postal_code": POSTAL, "country": "US"});
    let (status, body) = app.post("/v1/me/addresses", Some(&token), address).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let card = json!({"type": "card", "number": VISA, "exp_month": 12, "exp_year": 2031, "cvc": "123"});
    let (status, body) = app.post("/v1/me/payment-methods", Some(&token), card).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let c = Customer { id: String::new(), email: EMAIL.into(), password: password.into(), token: token.clone() };

    // Everything the customer reads back is opened again.
    let (_, me) = app.get("/v1/me", Some(&token)).await;
    assert_eq!((me["email"].as_str(), me["name"].as_str()), (Some(EMAIL), Some(NAME)));
    let (_, order) = app.buy(&c, "k1", json!({"sku": "SHOE", "quantity": 2})).await;
    let id = order["id"].as_str().unwrap().to_string();
    assert_eq!(order["ship_to"]["line1"], LINE1, "{order}");
    assert_eq!(order["ship_to"]["line2"], LINE2);

    app.release_window().await;
    let parcel = app.pick_list("SEA1", ADMIN_KEY).await[0]["id"].as_str().unwrap().to_string();
    let shipped = app.pick_pack_ship(&parcel, ADMIN_KEY, json!({})).await;
    let (status, _, _) = app.get_bytes(&format!("/v1/ops/shipments/{parcel}/label"), ADMIN_KEY).await;
    assert_eq!(status, StatusCode::OK, "the label is made with the address opened");
    app.deliver(shipped["carrier"].as_str().unwrap(), shipped["tracking_number"].as_str().unwrap()).await;
    app.settle().await;
    let (status, ret) = app
        .post(
            &format!("/v1/orders/{id}/returns"),
            Some(&token),
            json!({"items": [{"sku": "SHOE", "quantity": 1}], "reason": "damaged"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ret}");
    let (status, _) =
        app.post(&format!("/v1/orders/{id}/help"), Some(&token), json!({"message": "Where is the rest?"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = app
        .post(
            "/v1/me/password",
            Some(&token),
            json!({"current_password": password, "new_password": "another-long-one"}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.settle().await;
    app.quiet().await;

    // The e-mails went out, addressed and greeting by name: they were opened to be sent.
    let sent = app.scalar("SELECT COUNT(*) FROM deliveries WHERE channel = 'email' AND status = 'sent'").await;
    assert!(sent >= 4, "{sent} e-mails sent");
    let mail = latest_mail(&app);
    assert!(mail.contains(EMAIL) && mail.contains("Philippa"), "{mail}");

    let stored = stored_text(&app).await;
    let mut hits = Vec::new();
    for secret in [NAME, EMAIL, LINE1, LINE2, CITY, "Philippa", "Quenby", "wexcombe", "Zephyrine", "Hollowmere"] {
        let lower = secret.to_lowercase();
        for text in &stored {
            let text = text.to_lowercase();
            if let Some(at) = text.find(&lower) {
                let from = text.floor_char_boundary(at.saturating_sub(60));
                let to = text.ceil_char_boundary((at + lower.len() + 60).min(text.len()));
                hits.push(format!("{secret:?} in …{}…", &text[from..to]));
            }
        }
    }
    assert!(hits.is_empty(), "stored in clear:\n{}", hits.join("\n"));
    app.stop().await;
}

/// The newest .eml file the mailer wrote.
fn latest_mail(app: &TestApp) -> String {
    let dir = &app.state.config.mail.mail_dir;
    let newest = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .expect("an e-mail");
    std::fs::read_to_string(newest.path()).unwrap()
}

/// What the database keeps: on SQLite the bytes of its files (the database, its write-ahead log) after a
/// checkpoint, as text pieces; on PostgreSQL every row of every table as text.
async fn stored_text(app: &TestApp) -> Vec<String> {
    match app.backend {
        Backend::Sqlite => {
            app.quiet().await;
            let path = app.db_url().trim_start_matches("sqlite://").to_string();
            let mut files = Vec::new();
            for suffix in ["", "-wal"] {
                if let Ok(bytes) = std::fs::read(format!("{path}{suffix}")) {
                    files.push(String::from_utf8_lossy(&bytes).into_owned());
                }
            }
            assert!(!files.is_empty(), "the database file is at {path}");
            files
        }
        Backend::Postgres => app.dump_all().await,
    }
}

/// A database an earlier version wrote, with a customer, an address, an order and a dead e-mail in clear:
/// the first start after the upgrade seals them all, signs the customer in by the e-mail's hash, opens every
/// value again, and leaves none in clear (on SQLite, not in the file nor its log either).
#[tokio::test]
async fn an_upgrade_seals_what_an_earlier_version_kept_in_clear() {
    let backend = buynow_store::testing::backend_under_test();
    let Some(db) = buynow_store::testing::TestDb::new(backend, "upgrade to sealed personal data").await else {
        return;
    };
    // The last schema before sealing.
    let before = match backend {
        Backend::Sqlite => 13,
        Backend::Postgres => 16,
    };
    let password = "an-old-customers-password";
    let hash =
        buynow_server::auth::hash_password(buynow_server::PasswordCost::TEST_ONLY, password.into()).await.unwrap();
    {
        let old = buynow_store::Store::open_at_version(db.url(), before).await.unwrap();
        let mut tx = old.write().await.unwrap();
        let mut c = tx.conn();
        for sql in [
            format!(
                "INSERT INTO customers (id, email, name, password_hash, prime, default_address_id, created_at) \
                 VALUES ('cus_01a24d1ed74472f2a501b2f48df83377', '{EMAIL}', '{NAME}', $1, 0, \
                 'addr_01a24d1ed74f738aa85f7d4e32c01fa1', 1)"
            ),
            format!(
                "INSERT INTO addresses (id, customer_id, name, line1, line2, city, region, postal_code, country, \
                 created_at) VALUES ('addr_01a24d1ed74f738aa85f7d4e32c01fa1', 'cus_01a24d1ed74472f2a501b2f48df83377', \
                 '{NAME}', '{LINE1}', '{LINE2}', '{CITY}', 'WA', '{POSTAL}', 'US', 1)"
            ),
            format!(
                "INSERT INTO orders (id, customer_id, status, delivery_speed, currency, subtotal, shipping, tax, total, \
                 address_id, ship_to, payment_method_id, estimated_earliest, estimated_latest, hold_until, declines, \
                 created_at, updated_at) VALUES ('ord_01a24d1ed74472f2a501b2f48df83399', \
                 'cus_01a24d1ed74472f2a501b2f48df83377', 'delivered', 'standard', 'USD', 100, 0, 0, 100, \
                 'addr_01a24d1ed74f738aa85f7d4e32c01fa1', '{{\"name\":\"{NAME}\",\"line1\":\"{LINE1}\",\
                 \"line2\":\"{LINE2}\",\"city\":\"{CITY}\",\"region\":\"WA\",\"postal_code\":\"{POSTAL}\",\
                 \"country\":\"US\"}}', 'pm_01a24d1ed74472f2a501b2f48df83300', '2026-12-10', '2026-12-14', 1, 0, 1, 1)"
            ),
            format!(
                "INSERT INTO deliveries (id, event_id, order_id, customer_id, kind, channel, target, status, attempts, \
                 next_attempt_at, last_error, created_at) VALUES ('dlv_1', 'evt_1', 'ord_01a24d1ed74472f2a501b2f48df83399', \
                 'cus_01a24d1ed74472f2a501b2f48df83377', 'order.placed', 'email', '{EMAIL}', 'dead', 9, 1, \
                 'mailbox full', 1)"
            ),
        ] {
            let args = if sql.contains("$1") { buynow_store::args![&hash] } else { vec![] };
            c.exec(&sql, args).await.expect(&sql);
        }
        tx.commit().await.unwrap();
        old.close().await;
    }

    let app = spawn_app_on(db, test_config()).await;
    let (status, session) = app.post("/v1/sessions", None, json!({"email": EMAIL, "password": password})).await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    let token = session["token"].as_str().unwrap();
    let (_, me) = app.get("/v1/me", Some(token)).await;
    assert_eq!((me["email"].as_str(), me["name"].as_str()), (Some(EMAIL), Some(NAME)));
    let (_, addresses) = app.get("/v1/me/addresses", Some(token)).await;
    assert_eq!(addresses[0]["line2"], LINE2, "{addresses}");
    let order = {
        let mut read = app.state.store.read().await.unwrap();
        let id = buynow_domain::OrderId::parse("ord_01a24d1ed74472f2a501b2f48df83399").unwrap();
        buynow_store::orders::get(&mut read.conn(), id).await.unwrap().unwrap()
    };
    let ship_to = buynow_server::personal_data::ship_to(&app.state.vault, &order).unwrap();
    assert_eq!((ship_to.line1.as_str(), ship_to.city.as_str()), (LINE1, CITY));
    let target =
        app.scalar("SELECT COUNT(*) FROM deliveries WHERE target = 'cus_01a24d1ed74472f2a501b2f48df83377'").await;
    assert_eq!(target, 1, "an e-mail delivery names its customer");

    let stored = stored_text(&app).await;
    for secret in [EMAIL, LINE1, LINE2, "Quenby", "Oxwarden"] {
        let lower = secret.to_lowercase();
        assert!(!stored.iter().any(|s| s.to_lowercase().contains(&lower)), "{secret:?} is still stored in clear");
    }
    app.stop().await;
}
