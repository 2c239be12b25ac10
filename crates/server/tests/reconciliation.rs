//! Reconciliation: our payments against the card processor's records. A hold the processor kept for a payment
//! we had given up on is voided and the customer told; a payment we hold as authorized that the processor does
//! not know puts its order on hold for staff; payments that agree are checked once and left alone.

mod common;

use buynow_server::services::reconciliation::{self, Report};
use common::{spawn_app, VISA};
use serde_json::json;

#[tokio::test]
async fn drift_is_fixed_where_it_can_be_and_flagged_for_staff_where_not() {
    let app = spawn_app().await;
    app.create_product("LAMP", 3999, 10).await;
    let ada = app.buyer("ada@example.com", VISA).await;
    let (_, fine) = app.buy(&ada, "fine", json!({"sku": "LAMP", "quantity": 1})).await;
    let (_, orphan) = app.buy(&ada, "orphan", json!({"sku": "LAMP", "quantity": 1})).await;
    let (_, unknown) = app.buy(&ada, "unknown", json!({"sku": "LAMP", "quantity": 1})).await;
    for o in [&fine, &orphan, &unknown] {
        assert_eq!(o["status"], "payment_authorized", "{o}");
    }
    assert_eq!(app.sandbox.live_holds().await.unwrap().len(), 3);

    // Drift we can fix: our books say the payment was dropped (a cancel that raced its authorization), but the
    // processor approved it: its hold would sit on the card for a week.
    let orphan_id = orphan["id"].as_str().unwrap();
    app.execute(&format!(
        "UPDATE payments SET status = 'cancelled', authorization_ref = NULL WHERE order_id = '{orphan_id}'"
    ))
    .await;
    // Drift we cannot: its first payment done with (voided, we say), and a second we hold as authorized that the
    // processor never saw.
    let unknown_id = unknown["id"].as_str().unwrap();
    let pm = unknown["payment"]["payment_method_id"].as_str().unwrap();
    app.execute(&format!("UPDATE payments SET status = 'voided' WHERE order_id = '{unknown_id}'")).await;
    app.execute(&format!(
        "INSERT INTO payments (id, order_id, payment_method_id, amount, currency, status, authorization_ref, \
         captured, refunded, created_at, updated_at) VALUES ('pay_0000000000000000000000000000f00d', \
         '{unknown_id}', '{pm}', 4319, 'USD', 'authorized', 'auth_sbx_nowhere', 0, 0, {now}, {now})",
        now = app.state.now_micros() + 1_000_000
    ))
    .await;

    // Nothing is compared until it has settled for a minute.
    assert_eq!(reconciliation::run(&app.state).await.unwrap(), Report::default());
    app.advance(chrono::Duration::minutes(2));
    let report = reconciliation::run(&app.state).await.unwrap();
    assert_eq!((report.released, report.flagged), (1, 1), "{report:?}");
    assert_eq!(app.sandbox.live_holds().await.unwrap().len(), 2, "the orphan hold is released");

    let orphan = app.order(&ada, orphan_id).await;
    let notes: Vec<&str> = orphan["timeline"].as_array().unwrap().iter().map(|t| t["note"].as_str().unwrap()).collect();
    assert!(notes.iter().any(|n| n.contains("the card processor had kept on your card was released")), "{notes:?}");
    let unknown = app.order(&ada, unknown_id).await;
    assert_eq!(unknown["on_hold"], true, "held for staff: {unknown}");
    assert!(unknown["hold_reason"].as_str().unwrap().contains("checking your payment"), "{unknown}");
    let case = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM support_cases WHERE order_id = '{unknown_id}' AND reason = 'payment_drift' \
             AND summary LIKE '%no authorization%'"
        ))
        .await;
    assert_eq!(case, 1, "a support case holds it, with what was found");
    let fine = app.order(&ada, fine["id"].as_str().unwrap()).await;
    assert_eq!(fine["on_hold"], false);

    // Each payment is compared once.
    assert_eq!(reconciliation::run(&app.state).await.unwrap(), Report::default());
    assert_eq!(app.scalar("SELECT COUNT(*) FROM payments WHERE reconciled_at IS NULL").await, 0);
}
