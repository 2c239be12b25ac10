//! The audit trail as an auditor meets it: staff actions and sign-ins are on it, `GET /v1/ops/audit` filters
//! it, and `buynow audit verify` passes a whole trail and names the entry someone changed in the database.

mod common;

use common::{call, new_customer, spawn, url_in, ADMIN, VAULT_KEY};
use serde_json::{json, Value};
use std::process::{Command, Stdio};

fn verify(db: &str) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_buynow"))
        .args(["audit", "verify", "--database", db])
        .env("BUYNOW_VAULT_KEY", VAULT_KEY)
        .env_remove("BUYNOW_DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .expect("run buynow");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[tokio::test]
async fn staff_actions_and_sign_ins_are_audited_and_an_edited_entry_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("shop.db").display());
    let (server, line) = spawn(&["serve", "--addr", "127.0.0.1:0"], &db, "0-0");
    let url = url_in(&line);
    let client = reqwest::Client::new();

    // Staff: a key issued, a gift card issued with it, a refused call; a customer: a sign-up and sign-in, a
    // wrong password, a card added.
    let (status, key) = call(
        &client,
        "POST",
        format!("{url}/v1/ops/keys"),
        Some(ADMIN),
        None,
        json!({"role": "support", "name": "Sam Support"}),
    )
    .await;
    assert_eq!(status, 201, "{key}");
    let support = key["key"].as_str().unwrap().to_string();
    let money = json!({"amount": {"amount": 1500, "currency": "USD"}});
    let (status, _) = call(&client, "POST", format!("{url}/v1/ops/gift-cards"), Some(&support), None, money).await;
    assert_eq!(status, 201);
    let (status, _) =
        call(&client, "PUT", format!("{url}/v1/ops/payment-settings"), Some(&support), None, json!({})).await;
    assert_eq!(status, 403);
    new_customer(&client, &url, "ada@example.com", ("Seattle", "WA", "98109")).await;
    let wrong = json!({"email": "ada@example.com", "password": "not the password"});
    let (status, _) = call(&client, "POST", format!("{url}/v1/sessions"), None, None, wrong).await;
    assert_eq!(status, 401);

    let (status, all) = call(&client, "GET", format!("{url}/v1/ops/audit"), Some(ADMIN), None, Value::Null).await;
    assert_eq!(status, 200, "{all}");
    let entries = all["entries"].as_array().unwrap();
    let actions: Vec<String> =
        entries.iter().map(|e| format!("{} {}", e["actor"].as_str().unwrap(), e["action"].as_str().unwrap())).collect();
    let support_id = key["id"].as_str().unwrap();
    for expected in [
        "admin POST /v1/ops/keys 201".to_string(),
        format!("{support_id} POST /v1/ops/gift-cards 201"),
        format!("{support_id} PUT /v1/ops/payment-settings 403"),
        "anonymous sign_in_failed".to_string(),
    ] {
        assert!(actions.contains(&expected), "{expected} in {actions:#?}");
    }
    assert!(actions.iter().any(|a| a.ends_with(" sign_in") && a.starts_with("cus_")), "{actions:#?}");
    assert!(actions.iter().any(|a| a.starts_with("cus_") && a.contains("POST /v1/me/payment-methods 201")));
    assert!(!all.to_string().contains(&support), "never a key on the trail");
    assert!(entries.iter().all(|e| e["request_id"].as_str().is_some_and(|r| r.len() > 10)), "{all}");
    // Filtered: one actor's entries only.
    let (_, mine) =
        call(&client, "GET", format!("{url}/v1/ops/audit?actor={support_id}"), Some(ADMIN), None, Value::Null).await;
    assert_eq!(mine["entries"].as_array().unwrap().len(), 2, "{mine}");
    let (status, _) = call(&client, "GET", format!("{url}/v1/ops/audit"), Some(&support), None, Value::Null).await;
    assert_eq!(status, 403, "admins only");
    drop(server);

    let (ok, said) = verify(&db);
    assert!(ok, "{said}");
    assert!(said.contains("the audit trail is whole"), "{said}");

    // Someone with the database rewrites who issued the gift card.
    let store = buynow_store::Store::open(&db).await.unwrap();
    let seq: i64 =
        common::count(&store, "SELECT seq FROM audit_log WHERE action LIKE 'POST /v1/ops/gift-cards%'").await;
    let mut w = store.write().await.unwrap();
    w.conn().exec("UPDATE audit_log SET actor = 'admin' WHERE seq = $1", buynow_store::args![seq]).await.unwrap();
    w.commit().await.unwrap();
    store.close().await;
    let (ok, said) = verify(&db);
    assert!(!ok, "{said}");
    assert!(said.contains(&format!("entry {seq} was changed")), "{said}");
}
