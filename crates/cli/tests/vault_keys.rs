//! The card vault's master key as an operator meets it: required on PostgreSQL (and a database URL's password
//! printed nowhere), and rotated while the shop runs, after which the shop starts with the new key alone and
//! still authorizes the cards saved before, and still finds and opens its customers' sealed e-mails, names and
//! addresses. No card number is ever in the database or the logs in clear, nor a customer's e-mail or street in
//! the database.

mod common;

use common::{call, spawn_with, url_in};
use serde_json::json;
use std::process::{Command, Stdio};

const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const KEY_B: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

fn buynow(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_buynow"))
        .args(args)
        .env_remove("BUYNOW_VAULT_KEY")
        .env_remove("BUYNOW_VAULT_OLD_KEYS")
        .env_remove("BUYNOW_DATABASE_URL")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run buynow")
}

#[test]
fn postgres_without_a_vault_key_is_a_one_line_error_and_no_password_is_printed() {
    let url = "postgres://shop:secret@127.0.0.1:5432/buynow_vault_test";
    for command in [&["serve"][..], &["worker"], &["keys", "rotate"]] {
        let out = buynow(&[command, &["--database", url]].concat(), &[]);
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(!out.status.success(), "{command:?} started without a vault key");
        assert_eq!(stderr.trim().lines().count(), 1, "{command:?}: one line: {stderr}");
        assert!(stderr.contains("BUYNOW_VAULT_KEY"), "{command:?}: names the variable: {stderr}");
        assert!(!stdout.contains("secret") && !stderr.contains("secret"), "{command:?}: {stdout}{stderr}");
    }
    // A URL BuyNow cannot open is named without its password too.
    let out = buynow(&["migrate", "--database", "mysql://root:secret@127.0.0.1/shop"], &[("BUYNOW_VAULT_KEY", KEY_A)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("mysql://root@127.0.0.1/shop") && !stderr.contains("secret"), "{stderr}");
}

/// The demo customer's token, and the id of a card saved now.
async fn sign_in_and_save(client: &reqwest::Client, url: &str, number: &str) -> (String, String) {
    let (s, session) = call(
        client,
        "POST",
        format!("{url}/v1/sessions"),
        None,
        None,
        json!({"email": buynow_server::demo::DEMO_EMAIL, "password": buynow_server::demo::DEMO_PASSWORD}),
    )
    .await;
    assert_eq!(s, 201, "{session}");
    let token = session["token"].as_str().unwrap().to_string();
    let card = json!({"type": "card", "number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123"});
    let (s, saved) = call(client, "POST", format!("{url}/v1/me/payment-methods"), Some(&token), None, card).await;
    assert_eq!(s, 201, "{saved}");
    (token, saved["id"].as_str().unwrap().to_string())
}

/// Every file whose bytes contain `needle`.
fn files_holding(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    for entry in walk(dir) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        if bytes.windows(needle.len()).any(|w| w == needle) {
            found.push(entry.display().to_string());
        }
    }
    found
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn the_master_key_rotates_while_the_shop_runs_and_no_card_number_is_ever_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("shop.db").display());
    let log = |name: &str| std::fs::File::create(dir.path().join(format!("{name}.log"))).unwrap();
    let client = reqwest::Client::new();
    let serve = ["serve", "--demo", "--no-simulation", "--addr", "127.0.0.1:0"];
    let debug = ("RUST_LOG", "debug");

    // Key A: the demo customer's card (sealed when the demo was seeded) and one more.
    let (shop, line) = spawn_with(&serve, &db, "0-0", &[("BUYNOW_VAULT_KEY", KEY_A), debug], log("a"));
    let url = url_in(&line);
    let (_, debit) = sign_in_and_save(&client, &url, "4000056655665556").await;
    drop(shop);

    // The rotation: the shop restarted with B active and A old; a card saved meanwhile is sealed under B; the
    // rotation runs while the shop serves.
    let rotating = [("BUYNOW_VAULT_KEY", KEY_B), ("BUYNOW_VAULT_OLD_KEYS", KEY_A), debug];
    let (shop, line) = spawn_with(&serve, &db, "0-0", &rotating, log("b"));
    let url = url_in(&line);
    sign_in_and_save(&client, &url, "5555555555554444").await;
    let out = buynow(&["keys", "rotate", "--database", &db], &rotating);
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{printed}{}", String::from_utf8_lossy(&out.stderr));
    assert!(printed.contains("re-wrapped 2 cards"), "the demo's card and the debit card: {printed}");
    // The demo customer's e-mail and name, and their address.
    assert!(printed.contains("re-wrapped 2 sealed names, e-mails and addresses"), "{printed}");
    assert!(printed.contains("the old keys can be removed"), "{printed}");
    // Running it again has nothing left to do.
    let again = buynow(&["keys", "rotate", "--database", &db], &rotating);
    assert!(String::from_utf8_lossy(&again.stdout).contains("re-wrapped 0 cards"));
    drop(shop);

    // B alone: every card still shows, and the one saved under A authorizes.
    let (shop, line) = spawn_with(&serve, &db, "0-0", &[("BUYNOW_VAULT_KEY", KEY_B), debug], log("c"));
    let url = url_in(&line);
    let (token, _) = sign_in_and_save(&client, &url, "4242424242424242").await;
    let (s, cards) =
        call(&client, "GET", format!("{url}/v1/me/payment-methods"), Some(&token), None, json!(null)).await;
    assert_eq!(s, 200, "{cards}");
    let last4: Vec<&str> = cards.as_array().unwrap().iter().map(|c| c["last4"].as_str().unwrap()).collect();
    for four in ["4242", "5556", "4444"] {
        assert!(last4.contains(&four), "{four} in {last4:?}");
    }
    // The e-mail was found by its hash under B (computed again by the rotation), and opens with B alone.
    let (s, me) = call(&client, "GET", format!("{url}/v1/me"), Some(&token), None, json!(null)).await;
    assert_eq!((s, me["email"].as_str()), (200, Some(buynow_server::demo::DEMO_EMAIL)), "{me}");
    let buy = json!({"sku": "USB-C-CABLE", "quantity": 1, "payment_method_id": debit});
    let (s, order) = call(&client, "POST", format!("{url}/v1/buy-now"), Some(&token), Some("rotated-1"), buy).await;
    assert_eq!(s, 201, "{order}");
    assert_eq!(order["status"], "payment_authorized", "the card saved under the old key authorizes: {order}");
    drop(shop);

    // Not a card number in clear anywhere: the database, its journal, the sandbox's records, the logs.
    for number in ["4242424242424242", "5555555555554444", "4000056655665556"] {
        let found = files_holding(dir.path(), number.as_bytes());
        assert!(found.is_empty(), "{number} in clear in {found:?}");
    }
    // Nor the demo customer's e-mail or street in the database's files.
    for personal in [buynow_server::demo::DEMO_EMAIL, "410 Terry Ave N"] {
        let found: Vec<String> =
            files_holding(dir.path(), personal.as_bytes()).into_iter().filter(|f| f.contains("shop.db")).collect();
        assert!(found.is_empty(), "{personal} in clear in {found:?}");
    }
    let logged = std::fs::read_to_string(dir.path().join("c.log")).unwrap();
    assert!(logged.contains("DEBUG") || logged.contains("INFO"), "the logs were kept: {logged}");
}
