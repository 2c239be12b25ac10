//! The sandbox processor keeps its records in the database: answers by test card number, the first answer
//! for a repeated key, holds that outlive a restart, partial captures bounded by the hold, lapsed holds.

use buynow_domain::card::{CardNumber, Expiry};
use buynow_domain::Money;
use buynow_payments::{AuthorizeOutcome, AuthorizeRequest, DeclineCode, Gateway, GatewayError, MoveOutcome, Refusal};
use buynow_payments::{Now, Sandbox, SandboxConfig};
use buynow_store::testing::TestDb;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

fn req<'a>(key: &'a str, card: &'a CardNumber, amount: i64) -> AuthorizeRequest<'a> {
    AuthorizeRequest {
        idempotency_key: key,
        amount: Money::usd(amount),
        card,
        expiry: Expiry::parse(12, 2030).unwrap(),
    }
}

fn clock() -> (Arc<AtomicI64>, Now) {
    let at = Arc::new(AtomicI64::new(buynow_store::now_micros()));
    let read = at.clone();
    (at, Arc::new(move || read.load(Ordering::SeqCst)))
}

fn approved(out: AuthorizeOutcome) -> String {
    match out {
        AuthorizeOutcome::Approved { authorization } => authorization,
        other => panic!("expected approval, got {other:?}"),
    }
}

#[tokio::test]
async fn answers_by_test_card_number() {
    let db = TestDb::sqlite();
    let sbx = Sandbox::new(SandboxConfig::default(), db.open().await, clock().1);
    let cases = [
        ("4242424242424242", None),
        ("5555555555554444", None),
        ("4000056655665556", None),
        ("4000000000000002", Some(DeclineCode::CardDeclined)),
        ("4000000000009995", Some(DeclineCode::InsufficientFunds)),
        ("4000000000000069", Some(DeclineCode::ExpiredCard)),
    ];
    for (i, (number, decline)) in cases.into_iter().enumerate() {
        let card = CardNumber::parse(number).unwrap();
        let out = sbx.authorize(req(&format!("k{i}"), &card, 1000)).await.unwrap();
        match decline {
            None => assert!(matches!(out, AuthorizeOutcome::Approved { .. }), "{number}"),
            Some(code) => assert_eq!(out, AuthorizeOutcome::Declined { code }),
        }
    }
    let card = CardNumber::parse("4000000000000119").unwrap();
    assert_eq!(sbx.authorize(req("k9", &card, 1000)).await, Err(GatewayError::Processing));
}

#[tokio::test]
async fn a_retried_key_after_a_lost_answer_gets_the_same_hold() {
    let db = TestDb::sqlite();
    let config = SandboxConfig { seed: 7, timeouts_per_mille: 1000, ..SandboxConfig::default() };
    let sbx = Sandbox::new(config, db.open().await, clock().1);
    let card = CardNumber::parse("4242424242424242").unwrap();
    assert_eq!(sbx.authorize(req("order-1", &card, 1000)).await, Err(GatewayError::Timeout));
    assert_eq!(sbx.totals().await.unwrap().0, 1000, "the hold was made though the answer was lost");
    assert_eq!(sbx.authorize(req("order-1", &card, 1000)).await, Err(GatewayError::Timeout));
    assert_eq!(sbx.totals().await.unwrap().0, 1000, "the retry made no second hold");
}

#[tokio::test]
async fn a_hold_outlives_a_restart_and_captures_add_up_to_it_at_most() {
    let db = TestDb::sqlite();
    let (_, now) = clock();
    let card = CardNumber::parse("4242424242424242").unwrap();
    let auth = {
        let sbx = Sandbox::new(SandboxConfig::default(), db.open().await, now.clone());
        approved(sbx.authorize(req("pay-1", &card, 1000)).await.unwrap())
    };
    // Another process (or this one restarted) captures against the same records.
    let sbx = Sandbox::new(SandboxConfig::default(), db.open().await, now);
    assert!(matches!(sbx.capture(&auth, Money::usd(600), "cap-1").await.unwrap(), MoveOutcome::Done { .. }));
    // The same key again: the same answer, nothing more taken.
    assert!(matches!(sbx.capture(&auth, Money::usd(600), "cap-1").await.unwrap(), MoveOutcome::Done { .. }));
    assert_eq!(
        sbx.capture(&auth, Money::usd(401), "cap-2").await.unwrap(),
        MoveOutcome::Refused(Refusal::ExceedsAvailable)
    );
    assert!(matches!(sbx.capture(&auth, Money::usd(400), "cap-3").await.unwrap(), MoveOutcome::Done { .. }));
    assert_eq!(sbx.totals().await.unwrap().1, 1000);
    assert!(matches!(sbx.refund(&auth, Money::usd(1000), "ref-1").await.unwrap(), MoveOutcome::Done { .. }));
    assert_eq!(
        sbx.refund(&auth, Money::usd(1), "ref-2").await.unwrap(),
        MoveOutcome::Refused(Refusal::ExceedsAvailable)
    );
}

#[tokio::test]
async fn a_hold_lapses_after_seven_days_and_a_voided_one_cannot_be_captured() {
    let db = TestDb::sqlite();
    let (at, now) = clock();
    let sbx = Sandbox::new(SandboxConfig::default(), db.open().await, now);
    let card = CardNumber::parse("4242424242424242").unwrap();
    let auth = approved(sbx.authorize(req("pay-1", &card, 1000)).await.unwrap());
    let voided = approved(sbx.authorize(req("pay-2", &card, 500)).await.unwrap());
    sbx.void(&voided, "void-1").await.unwrap();
    assert_eq!(sbx.capture(&voided, Money::usd(500), "cap-v").await.unwrap(), MoveOutcome::Refused(Refusal::Voided));
    at.fetch_add(8 * 86_400_000_000, Ordering::SeqCst);
    assert_eq!(
        sbx.capture(&auth, Money::usd(1000), "cap-1").await.unwrap(),
        MoveOutcome::Refused(Refusal::HoldExpired)
    );
    assert!(sbx.lookup("cap-1").await.unwrap().is_some(), "the refusal is on record by its key");
}

#[tokio::test]
async fn the_same_seed_injects_the_same_faults() {
    let run = |seed| async move {
        let db = TestDb::sqlite();
        let config = SandboxConfig { seed, errors_per_mille: 300, timeouts_per_mille: 200, ..SandboxConfig::default() };
        let sbx = Sandbox::new(config, db.open().await, clock().1);
        let card = CardNumber::parse("4242424242424242").unwrap();
        let mut results = Vec::new();
        for i in 0..50 {
            results.push(sbx.authorize(req(&format!("k{i}"), &card, 100)).await.is_ok());
        }
        results
    };
    assert_eq!(run(42).await, run(42).await);
    assert_ne!(run(42).await, run(43).await);
}

#[tokio::test]
async fn on_postgresql_authorizations_recorded_in_groups_keep_one_hold_per_key() {
    let Some(db) = TestDb::postgres("sandbox groups").await else { return };
    let sbx = std::sync::Arc::new(Sandbox::new(SandboxConfig::default(), db.open().await, clock().1));
    let card = CardNumber::parse("4242424242424242").unwrap();
    // 60 calls at once over 20 keys: each key three times, as retries would.
    let calls = (0..60).map(|i| {
        let (sbx, card) = (sbx.clone(), card.clone());
        tokio::spawn(async move { approved(sbx.authorize(req(&format!("key-{}", i % 20), &card, 100)).await.unwrap()) })
    });
    let refs: Vec<String> = futures_join(calls).await;
    for i in 0..20 {
        let same: std::collections::HashSet<&String> = refs.iter().skip(i).step_by(20).collect();
        assert_eq!(same.len(), 1, "every call with key-{i} got the same hold");
    }
    assert_eq!(sbx.live_holds().await.unwrap().len(), 20);
    assert_eq!(sbx.totals().await.unwrap().0, 2000);
}

async fn futures_join<T>(tasks: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// The card that asks for authentication, over the network: the simulator answers "authenticate first" and
/// serves the page; after the customer's answer there, the same call with the same key gets the bank's answer.
#[tokio::test]
async fn a_card_that_asks_for_authentication_is_answered_after_the_customer_is_on_the_page() {
    let db = TestDb::sqlite();
    let sbx = Arc::new(Sandbox::new(SandboxConfig::default(), db.open().await, clock().1));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let faults = buynow_payments::NetworkFaults::default();
    let server = tokio::spawn(buynow_payments::http::serve_sim(listener, sbx, faults, async move {
        let _ = stopped.await;
    }));
    let gateway = buynow_payments::HttpGateway::new(&base, std::time::Duration::from_secs(5)).unwrap();
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let card = CardNumber::parse("4000002500003155").unwrap();

    for (key, result) in [("pay_pass", "pass"), ("pay_fail", "fail")] {
        let challenge = match gateway.authorize(req(key, &card, 2500)).await.unwrap() {
            AuthorizeOutcome::AuthenticationRequired { challenge } => challenge,
            other => panic!("expected a request to authenticate, got {other:?}"),
        };
        assert_eq!(challenge.len(), 32, "unguessable");
        // Asked again before the customer answered: still waiting, for the same page.
        let again = gateway.authorize(req(key, &card, 2500)).await.unwrap();
        assert_eq!(again, AuthorizeOutcome::AuthenticationRequired { challenge: challenge.clone() });

        let back = "http://shop.example/orders/ord_1/authenticated";
        let url = gateway.authentication_url(&challenge, back);
        assert!(url.starts_with(&format!("{base}/authenticate/{challenge}?return_to=http")), "{url}");
        let page = browser.get(&url).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("Confirm your payment") && html.contains("25.00 USD"), "{html}");
        let answer = browser
            .post(format!("{base}/authenticate/{challenge}"))
            .form(&[("result", result), ("return_to", back)])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 303);
        assert_eq!(answer.headers()["location"], back);
        let expected = match result {
            "pass" => approved(gateway.authorize(req(key, &card, 2500)).await.unwrap()),
            _ => {
                let out = gateway.authorize(req(key, &card, 2500)).await.unwrap();
                assert_eq!(out, AuthorizeOutcome::Declined { code: DeclineCode::AuthenticationFailed });
                String::new()
            }
        };
        // The first answer stands: answering the page again changes nothing.
        let other = if result == "pass" { "fail" } else { "pass" };
        let again = browser.post(format!("{base}/authenticate/{challenge}")).form(&[("result", other)]).send().await;
        assert_eq!(again.unwrap().status(), 200);
        let now = gateway.authorize(req(key, &card, 2500)).await.unwrap();
        match result {
            "pass" => assert_eq!(approved(now), expected),
            _ => assert_eq!(now, AuthorizeOutcome::Declined { code: DeclineCode::AuthenticationFailed }),
        }
    }
    let unknown = browser.get(format!("{base}/authenticate/nothing-here")).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    let hostile = browser
        .post(format!("{base}/authenticate/nothing-here"))
        .form(&[("result", "pass"), ("return_to", "//evil.example/")])
        .send()
        .await
        .unwrap();
    assert_eq!(hostile.status(), 404);
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
