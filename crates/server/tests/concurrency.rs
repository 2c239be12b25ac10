//! Double clicks, retries and flash sales: many requests at once, and the invariants that must hold.

mod common;

use common::*;
use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;
use std::collections::HashSet;

/// Sends one purchase 20 times at once with one key; every answer must be 201 with the same order, whose id
/// is returned.
async fn twenty_clicks_make_one_order(app: &TestApp, c: &Customer, key: &str, body: &serde_json::Value) -> String {
    let answers = join_all((0..20).map(|_| app.buy(c, key, body.clone()))).await;
    let ids: HashSet<String> = answers
        .iter()
        .map(|(status, order)| {
            assert_eq!(*status, StatusCode::CREATED, "{order}");
            order["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids.len(), 1, "every answer names the same order");
    ids.into_iter().next().unwrap()
}

#[tokio::test]
async fn one_idempotency_key_sent_twenty_times_at_once_makes_one_order_and_one_authorization() {
    let app = spawn_app().await;
    app.create_product("HOT", 2500, 100).await;
    let c = app.buyer("clicker@example.com", VISA).await;
    let body = json!({"sku": "HOT", "quantity": 1});

    let id = twenty_clicks_make_one_order(&app, &c, "one-click", &body).await;
    assert_eq!(app.scalar("SELECT COUNT(*) FROM orders").await, 1);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM payments").await, 1);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'authorize_payment'").await, 1);
    app.wait_for(&c, &id, "payment_authorized").await;
    assert_eq!(app.sandbox.live_holds().await.unwrap().len(), 1, "one authorization at the gateway");
    assert_eq!(app.stock("HOT").await, (100, 1));

    // The same key later, with the same body: the same order again.
    let (status, replay) = app.buy(&c, "one-click", body.clone()).await;
    assert_eq!((status, replay["id"].as_str()), (StatusCode::CREATED, Some(id.as_str())));
    // The same key with another body: a conflict, and nothing new.
    let (status, problem) = app.buy(&c, "one-click", json!({"sku": "HOT", "quantity": 2})).await;
    assert_eq!((status, problem_code(&problem)), (StatusCode::CONFLICT, "idempotency_conflict"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM orders").await, 1);

    // Keys belong to their customer: another customer's identical key is their own purchase.
    let other = app.buyer("other@example.com", VISA).await;
    let (status, theirs) = app.buy(&other, "one-click", body).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(theirs["id"].as_str(), Some(id.as_str()));
    app.stop().await;
}

#[tokio::test]
async fn two_hundred_buyers_at_once_on_fifty_in_stock_make_exactly_fifty_orders() {
    let app = spawn_app().await;
    app.create_product("FLASH", 9900, 50).await;
    let shared = &app;
    let buyers =
        join_all((0..200).map(|i| async move { shared.buyer(&format!("buyer{i}@example.com"), VISA).await })).await;

    let body = json!({"sku": "FLASH", "quantity": 1});
    let keys: Vec<String> = (0..buyers.len()).map(|i| format!("flash-{i}")).collect();
    let answers = join_all(buyers.iter().zip(&keys).map(|(b, key)| app.buy(b, key, body.clone()))).await;
    let placed = answers.iter().filter(|(s, _)| *s == StatusCode::CREATED).count();
    let sold_out =
        answers.iter().filter(|(s, body)| *s == StatusCode::CONFLICT && problem_code(body) == "out_of_stock").count();
    assert_eq!(
        (placed, sold_out),
        (50, 150),
        "{:?}",
        answers.iter().find(|(s, _)| *s != StatusCode::CREATED && *s != StatusCode::CONFLICT)
    );
    assert_eq!(app.stock("FLASH").await, (50, 50), "reserved never exceeds on hand");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM orders").await, 50);
    assert_eq!(
        app.scalar("SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM order_items WHERE sku = 'FLASH'").await,
        50
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM stock WHERE on_hand < 0 OR reserved < 0 OR reserved > on_hand").await,
        0
    );
    let (_, product) = app.get("/v1/products/FLASH", None).await;
    assert_eq!(product["available"], 0);
    app.stop().await;
}

#[tokio::test]
async fn gateway_timeouts_and_errors_never_make_a_second_hold() {
    // One call in ten fails before it takes effect; one in ten takes effect and then loses its answer.
    let mut config = test_config();
    config.sandbox =
        buynow_payments::SandboxConfig { seed: 7, latency_ms: (0, 3), timeouts_per_mille: 100, errors_per_mille: 100 };
    let app = spawn_app_with(config).await;
    app.create_product("STEADY", 1000, 100).await;
    let shared = &app;
    let buyers =
        join_all((0..20).map(|i| async move { shared.buyer(&format!("steady{i}@example.com"), VISA).await })).await;
    let keys: Vec<String> = (0..buyers.len()).map(|i| format!("steady-{i}")).collect();
    let answers =
        join_all(buyers.iter().zip(&keys).map(|(b, key)| app.buy(b, key, json!({"sku": "STEADY", "quantity": 1}))))
            .await;
    for ((status, order), buyer) in answers.iter().zip(&buyers) {
        assert_eq!(*status, StatusCode::CREATED, "{order}");
        app.wait_for(buyer, order["id"].as_str().unwrap(), "payment_authorized").await;
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM payments WHERE status = 'authorized'").await, 20);
    assert_eq!(app.sandbox.live_holds().await.unwrap().len(), 20, "exactly one hold per order, retries included");
    assert!(
        app.scalar("SELECT CAST(SUM(attempts) AS BIGINT) FROM jobs").await > 20,
        "the faults did happen and were retried"
    );
    app.stop().await;
}

#[tokio::test]
async fn retries_of_the_purchase_that_took_the_last_unit_get_that_order_not_out_of_stock() {
    let app = spawn_app().await;
    app.create_product("LAST-ONE", 5000, 1).await;
    let c = app.buyer("last@example.com", VISA).await;
    let body = json!({"sku": "LAST-ONE", "quantity": 1});
    // A race probe: a retry whose key lookup missed the first attempt, but whose stock check saw its effect,
    // must still get the order, not "out of stock".
    twenty_clicks_make_one_order(&app, &c, "the-click", &body).await;
    let (status, problem) = app.buy(&c, "another-click", body).await;
    assert_eq!((status, problem_code(&problem)), (StatusCode::CONFLICT, "out_of_stock"));
    assert_eq!(app.stock("LAST-ONE").await, (1, 1));
    app.stop().await;
}

#[tokio::test]
async fn a_placement_whose_group_loses_a_race_is_placed_again() {
    let app = spawn_app().await;
    if app.backend != buynow_store::Backend::Postgres {
        eprintln!(
            "skipped on SQLite: its one writer never deadlocks nor fails to serialize; \
             BUYNOW_TEST_BACKEND=postgres runs this test"
        );
        app.stop().await;
        return;
    }
    app.create_product("RACE", 1000, 10).await;
    let c = app.buyer("racer@example.com", VISA).await;
    // The first two group writes of orders fail as a deadlock would; the sequence is not rolled back with them.
    app.execute("CREATE SEQUENCE races_lost").await;
    app.execute(
        "CREATE FUNCTION lose_races() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
           IF nextval('races_lost') <= 2 THEN RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END IF; \
           RETURN NULL; END $$",
    )
    .await;
    app.execute("CREATE TRIGGER lose_races BEFORE INSERT ON orders FOR EACH STATEMENT EXECUTE FUNCTION lose_races()")
        .await;

    let (status, order) = app.buy(&c, "race-1", json!({"sku": "RACE", "quantity": 1})).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!(app.scalar("SELECT last_value FROM races_lost").await, 3, "two groups lost, the third wrote");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM orders").await, 1);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM idempotency_keys").await, 1);
    assert_eq!(app.stock("RACE").await, (10, 1));

    // A race lost every time: the caller is told to try again later, and nothing of the attempt stays.
    app.execute("ALTER SEQUENCE races_lost RESTART WITH 1").await;
    app.execute("ALTER SEQUENCE races_lost MAXVALUE 2 CYCLE").await;
    let (status, problem) = app.buy(&c, "race-2", json!({"sku": "RACE", "quantity": 1})).await;
    assert_eq!((status, problem_code(&problem)), (StatusCode::SERVICE_UNAVAILABLE, "unavailable"), "{problem}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM orders").await, 1);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM idempotency_keys").await, 1);
    assert_eq!(app.stock("RACE").await, (10, 1));

    // Once the races end, the same key places the order.
    app.execute("DROP TRIGGER lose_races ON orders").await;
    let (status, order) = app.buy(&c, "race-2", json!({"sku": "RACE", "quantity": 1})).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!(app.stock("RACE").await, (10, 2));
    app.stop().await;
}

/// The idempotency keys as stored: (the key's digest, last used, µs).
async fn keys(app: &TestApp) -> Vec<(Vec<u8>, i64)> {
    let mut read = app.state.store.read().await.unwrap();
    let sql = "SELECT key_digest, last_used_at FROM idempotency_keys ORDER BY key_digest";
    let rows = read.conn().all(sql, vec![]).await.unwrap();
    rows.iter().map(|r| (r.blob(0).unwrap(), r.int(1).unwrap())).collect()
}

/// `key` as the key table stores it.
fn digest(key: &str) -> Vec<u8> {
    buynow_store::idempotency::Digest::of(key.as_bytes()).bytes().to_vec()
}

/// When `key` was last used, once that is after `after`: a replay records its use off the answer's path.
async fn used_after(app: &TestApp, key: &str, after: i64) -> i64 {
    for _ in 0..200 {
        if let Some((_, used)) = keys(app).await.into_iter().find(|(k, used)| *k == digest(key) && *used > after) {
            return used;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the use of {key} after {after} was never recorded");
}

#[tokio::test]
async fn a_key_inside_its_retention_replays_and_each_replay_keeps_it_a_day_longer() {
    let app = spawn_app().await;
    app.create_product("KEPT", 2500, 10).await;
    let c = app.buyer("kept@example.com", VISA).await;
    let body = json!({"sku": "KEPT", "quantity": 1});
    let (status, first) = app.buy(&c, "kept-key", body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let placed_at = keys(&app).await[0].1;

    // 23 hours on, the sweep leaves the key, and a retry gets the order back.
    app.advance(chrono::Duration::hours(23));
    buynow_server::retention::purge(&app.state).await.unwrap();
    let (status, replay) = app.buy(&c, "kept-key", body.clone()).await;
    assert_eq!((status, &replay["id"]), (StatusCode::CREATED, &first["id"]));
    // That replay was a use: the key is now kept for a day from it.
    let last_used = used_after(&app, "kept-key", placed_at).await;
    assert!(last_used >= placed_at + 23 * 3_600_000_000, "the replay moved the key's last use on");

    // 46 hours after the purchase but 23 after its last use: still kept, still the same order.
    app.advance(chrono::Duration::hours(23));
    buynow_server::retention::purge(&app.state).await.unwrap();
    assert_eq!(keys(&app).await.len(), 1);
    let (status, again) = app.buy(&c, "kept-key", body).await;
    assert_eq!((status, &again["id"]), (StatusCode::CREATED, &first["id"]));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM orders").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn a_key_past_its_retention_is_deleted_and_its_retry_is_a_new_purchase() {
    let app = spawn_app().await;
    app.create_product("GONE", 2500, 10).await;
    let c = app.buyer("gone@example.com", VISA).await;
    let body = json!({"sku": "GONE", "quantity": 1});
    let (status, first) = app.buy(&c, "old-key", body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, _) = app.buy(&c, "recent-key", body.clone()).await;
    assert_eq!(status, StatusCode::CREATED);
    let placed_at = keys(&app).await.iter().map(|(_, used)| *used).max().unwrap();

    // A day and an hour later the sweep deletes the key unused since (not its order); the key used again
    // meanwhile is kept.
    app.advance(chrono::Duration::hours(23));
    let (status, _) = app.buy(&c, "recent-key", body.clone()).await;
    assert_eq!(status, StatusCode::CREATED);
    used_after(&app, "recent-key", placed_at).await;
    app.advance(chrono::Duration::hours(2));
    let swept = buynow_server::retention::purge(&app.state).await.unwrap();
    assert!(swept >= 1, "the sweep deleted the old key");
    assert_eq!(keys(&app).await.into_iter().map(|(k, _)| k).collect::<Vec<_>>(), [digest("recent-key")]);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM orders").await, 2, "the orders stay");

    // The retry of the deleted key is a new purchase: a second order, and the key names it now.
    let (status, second) = app.buy(&c, "old-key", body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_ne!(second["id"], first["id"]);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM orders").await, 3);
    let (status, replay) = app.buy(&c, "old-key", body).await;
    assert_eq!((status, &replay["id"]), (StatusCode::CREATED, &second["id"]));
    app.stop().await;
}
