//! Customer communication end to end: a real SMTP server (Python's aiosmtpd, writing a Maildir) and a webhook
//! receiver of our own; orders go through their lives and every customer-facing event reaches the customer by
//! e-mail exactly once, and each subscriber by a webhook that Standard Webhooks' own Python library verifies.
//!
//! Without `python3 -m aiosmtpd` (and the `standardwebhooks` package) these tests say they were skipped; with
//! `BUYNOW_REQUIRE_SMTP` set (CI sets it) that is a failure instead.

mod common;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use common::{spawn_app_with, test_config, TestApp, ADMIN_KEY, DECLINED, VISA};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn tools_present() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import aiosmtpd, standardwebhooks"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if std::env::var_os("BUYNOW_REQUIRE_SMTP").is_some() {
            panic!("BUYNOW_REQUIRE_SMTP is set but python3 lacks aiosmtpd or standardwebhooks (pip install them)");
        }
        eprintln!("skipped: python3 -m aiosmtpd or standardwebhooks missing (pip install aiosmtpd standardwebhooks)");
    }
    ok
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A real SMTP server that keeps every message it accepts in a Maildir.
struct SmtpServer {
    child: Child,
    port: u16,
    maildir: tempfile::TempDir,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn smtp_server() -> SmtpServer {
    let port = free_port();
    let maildir = tempfile::tempdir().unwrap();
    let mut child = Command::new("python3")
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
        .arg(maildir.path().join("box"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start aiosmtpd");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return SmtpServer { child, port, maildir };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("aiosmtpd did not start");
}

/// One received e-mail: its headers (names lower-cased) and its raw text.
struct Mail {
    headers: BTreeMap<String, String>,
    raw: String,
}

impl SmtpServer {
    fn received(&self) -> Vec<Mail> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(dir) = std::fs::read_dir(self.maildir.path().join("box").join(sub)) else { continue };
            for f in dir.flatten() {
                let raw = std::fs::read_to_string(f.path()).unwrap();
                let head = raw.split("\n\n").next().unwrap_or("").replace("\r\n", "\n").replace("\n ", " ");
                let headers = head
                    .lines()
                    .filter_map(|l| l.split_once(": "))
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string()))
                    .collect();
                out.push(Mail { headers, raw });
            }
        }
        out
    }
}

/// Each received e-mail's subject, plain text and HTML, as the SMTP server got them (MIME decoded), against
/// insta snapshots named by recipient and event; ids, the test server's address, dates, times and tracking
/// numbers are redacted, as they change from run to run.
fn snapshot_bodies(mails: &[Mail]) {
    let mut named = BTreeMap::new();
    for m in mails {
        let parsed = mailparse::parse_mail(m.raw.as_bytes()).expect("a MIME message");
        let (mut text, mut html) = (None, None);
        for part in parsed.parts() {
            match part.ctype.mimetype.as_str() {
                "text/plain" => text = Some(part.get_body().unwrap()),
                "text/html" => html = Some(part.get_body().unwrap()),
                _ => {}
            }
        }
        let to = &m.headers["to"];
        let address = to.rsplit_once('<').map_or(to.as_str(), |(_, a)| a.trim_end_matches('>'));
        let who = address.split('@').next().unwrap();
        let name = format!("{who}_{}", m.headers["x-buynow-event"].replace('.', "_"));
        let body = format!(
            "Subject: {}\n\n{}\n\n----- HTML -----\n\n{}",
            parsed.headers.iter().find(|h| h.get_key() == "Subject").unwrap().get_value(),
            text.expect("a plain-text part").trim_end(),
            html.expect("an HTML part").trim_end().replace("><", ">\n<"),
        );
        assert!(named.insert(name.clone(), body).is_none(), "one {name}");
    }
    let filters = vec![
        (r"\b(ord|shp|ret|pay|evt|rfd|dlv)_[0-9A-Za-z]+", "[$1]"),
        (r"http://127\.0\.0\.1:\d+", "[shop]"),
        (r"(Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day, [A-Z][a-z]+ \d{1,2}", "[day]"),
        (r"\d{1,2}:\d{2} [AP]M [A-Z]{3,4}", "[time]"),
        (r"(https://[a-z.]+/t/)[0-9A-Z]+", "$1[tracking]"),
        (r#"(tracking number (?:<a href="[^"]*">)?)[0-9A-Z]+"#, "$1[tracking]"),
    ];
    insta::with_settings!({ filters => filters, prepend_module_to_snapshot => false }, {
        for (name, body) in &named {
            insta::assert_snapshot!(name.as_str(), body);
        }
    });
}

/// A webhook as received: its `webhook-*` headers and its body.
type Received = (BTreeMap<String, String>, String);

/// A webhook receiver: keeps what it is sent, and answers what the test tells it to.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    /// Answer this status to the first `fail_first` requests, 204 after.
    fail_first: Arc<Mutex<(u16, usize)>>,
}

async fn receiver(r: Receiver) -> String {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let r = r.clone();
            async move {
                let mut fail = r.fail_first.lock().unwrap();
                if fail.1 > 0 {
                    fail.1 -= 1;
                    return StatusCode::from_u16(fail.0).unwrap();
                }
                let h = headers
                    .iter()
                    .filter(|(k, _)| k.as_str().starts_with("webhook-"))
                    .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
                    .collect();
                r.got.lock().unwrap().push((h, String::from_utf8(body.to_vec()).unwrap()));
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn app_with_smtp(smtp: &SmtpServer) -> TestApp {
    let mut config = test_config();
    config.mail.smtp_url = Some(format!("smtp://127.0.0.1:{}", smtp.port).into());
    config.mail.from = "BuyNow <orders@shop.test>".into();
    spawn_app_with(config).await
}

async fn subscribe(app: &TestApp, url: &str, events: Value) -> (String, String) {
    let (status, body) = app.ops("POST", "/v1/ops/webhooks", Some(json!({"url": url, "events": events}))).await;
    assert_eq!(status, 201, "{body}");
    (body["id"].as_str().unwrap().to_string(), body["secret"].as_str().unwrap().to_string())
}

/// Waits until the dispatcher is done and `until` holds.
async fn eventually(what: &str, mut until: impl FnMut() -> bool) {
    for _ in 0..200 {
        if until() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: never happened");
}

/// The customer-facing events the outbox holds, per order: what must have been told.
async fn told(app: &TestApp) -> BTreeMap<String, usize> {
    let mut read = app.state.store.read().await.unwrap();
    let rows = read.conn().all("SELECT id, kind FROM outbox", vec![]).await.unwrap();
    let mut out = BTreeMap::new();
    for r in rows {
        *out.entry(r.text(1).unwrap()).or_insert(0) += 1;
    }
    out
}

/// Verifies each webhook with Standard Webhooks' Python library and the secret; a tampered body must fail.
fn verified_by_python(secret: &str, got: &[Received]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("webhooks.json");
    let items: Vec<Value> = got.iter().map(|(h, b)| json!({"headers": h, "body": b})).collect();
    std::fs::write(&file, serde_json::to_vec(&items).unwrap()).unwrap();
    let script = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
wh = Webhook(sys.argv[1])
items = json.load(open(sys.argv[2]))
for item in items:
    wh.verify(item["body"], item["headers"])
    try:
        wh.verify(item["body"].replace("order", "0rder", 1), item["headers"])
    except Exception:
        pass
    else:
        sys.exit("a tampered body verified")
print(len(items))
"#;
    let out = Command::new("python3").args(["-c", script, secret]).arg(&file).output().unwrap();
    assert!(out.status.success(), "python: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), got.len().to_string());
}

#[tokio::test]
async fn every_customer_facing_event_is_one_email_and_one_verified_webhook() {
    if !tools_present() {
        return;
    }
    let smtp = smtp_server().await;
    let app = app_with_smtp(&smtp).await;
    let hooks = Receiver::default();
    let url = receiver(hooks.clone()).await;
    let (_, secret) = subscribe(&app, &url, json!([])).await;
    // A second subscriber that wants only shipments.
    let only_shipped = Receiver::default();
    let shipped_url = receiver(only_shipped.clone()).await;
    subscribe(&app, &shipped_url, json!(["shipment.shipped"])).await;

    app.stocked_product("SHOE", 5000, &[("SEA1", 20)]).await;
    // Delivered, then returned and refunded.
    let ada = app.buyer("ada@example.com", VISA).await;
    let (_, delivered) = app.buy(&ada, "ada-1", json!({"sku": "SHOE", "quantity": 1})).await;
    // Declined, then paid with another card.
    let bob = app.buyer("bob@example.com", DECLINED).await;
    let (_, declined) = app.buy(&bob, "bob-1", json!({"sku": "SHOE", "quantity": 1})).await;
    assert_eq!(declined["status"], "payment_action_required");
    // His first messages go out before he pays again: a message tells the order as it stands when it is made.
    app.quiet().await;
    let visa = app.add_card(&bob, VISA).await;
    let (status, _) = app
        .post(
            &format!("/v1/orders/{}/payment-method", declined["id"].as_str().unwrap()),
            Some(&bob.token),
            json!({"payment_method_id": visa}),
        )
        .await;
    assert_eq!(status, 200);
    // Cancelled.
    let cy = app.buyer("cy@example.com", VISA).await;
    let (_, cancelled) = app.buy(&cy, "cy-1", json!({"sku": "SHOE", "quantity": 1})).await;
    // A message tells the order as it stands when it is made: its first messages go out before the cancel,
    // so that they offer the cancel as the customer saw it then (and the snapshots hold still).
    app.settle().await;
    app.quiet().await;
    let (status, _) =
        app.post(&format!("/v1/orders/{}/cancel", cancelled["id"].as_str().unwrap()), Some(&cy.token), json!({})).await;
    assert_eq!(status, 200);

    app.release_window().await;
    for parcel in app.pick_list("SEA1", ADMIN_KEY).await {
        let shipped = app.pick_pack_ship(parcel["id"].as_str().unwrap(), ADMIN_KEY, json!({})).await;
        app.deliver(shipped["carrier"].as_str().unwrap(), shipped["tracking_number"].as_str().unwrap()).await;
    }
    app.settle().await;
    let id = delivered["id"].as_str().unwrap();
    let (status, ret) = app
        .post(
            &format!("/v1/orders/{id}/returns"),
            Some(&ada.token),
            json!({"items": [{"sku": "SHOE", "quantity": 1}], "reason": "damaged"}),
        )
        .await;
    assert_eq!(status, 201, "{ret}");
    let (status, _) = app
        .ops(
            "POST",
            &format!("/v1/ops/returns/{}/receive", ret["id"].as_str().unwrap()),
            Some(json!({"condition": "sellable"})),
        )
        .await;
    assert_eq!(status, 200);
    app.settle().await;
    app.quiet().await;

    let expected = told(&app).await;
    let total: usize = expected.values().sum();
    for kind in [
        "order.placed",
        "order.payment_action_required",
        "order.cancelled",
        "shipment.shipped",
        "order.delivered",
        "order.return_requested",
        "order.refunded",
    ] {
        assert!(expected.contains_key(kind), "the lives above include {kind}: {expected:?}");
    }
    eventually("every e-mail arrives", || smtp.received().len() >= total).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mails = smtp.received();
    assert_eq!(mails.len(), total, "one e-mail per customer-facing event");
    let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
    let mut ids = std::collections::BTreeSet::new();
    for m in &mails {
        *by_kind.entry(m.headers["x-buynow-event"].clone()).or_insert(0) += 1;
        assert!(ids.insert(m.headers["message-id"].clone()), "a Message-ID once");
        assert!(m.headers["message-id"].ends_with("@shop.test>"));
        assert!(m.headers.contains_key("x-buynow-order"));
        assert!(m.raw.contains("Content-Type: text/plain") && m.raw.contains("Content-Type: text/html"));
    }
    assert_eq!(by_kind, expected);
    snapshot_bodies(&mails);

    eventually("every webhook arrives", || hooks.got.lock().unwrap().len() >= total).await;
    let got = hooks.got.lock().unwrap().clone();
    assert_eq!(got.len(), total, "one webhook per event to the subscriber of everything");
    verified_by_python(&secret, &got);
    let first: Value = serde_json::from_str(&got[0].1).unwrap();
    assert!(first["id"].as_str().unwrap().starts_with("evt_") && first["data"]["id"].is_string(), "{first}");
    let shipped = expected["shipment.shipped"];
    eventually("the shipment subscriber's webhooks", || only_shipped.got.lock().unwrap().len() >= shipped).await;
    assert!(only_shipped.got.lock().unwrap().iter().all(|(_, b)| b.contains("\"type\":\"shipment.shipped\"")));

    // The customer's message center lists what was sent to them.
    let (_, messages) = app.get("/v1/me/messages", Some(&ada.token)).await;
    let events: Vec<&str> =
        messages["messages"].as_array().unwrap().iter().map(|m| m["event"].as_str().unwrap()).collect();
    assert!(events.contains(&"order.refunded") && events.contains(&"order.placed"), "{events:?}");
}

#[tokio::test]
async fn failing_receivers_are_retried_then_dead_lettered_and_sent_again_on_request() {
    if !tools_present() {
        return;
    }
    let smtp = smtp_server().await;
    let mut config = test_config();
    config.mail.smtp_url = Some(format!("smtp://127.0.0.1:{}", smtp.port).into());
    config.delivery_attempts = 4;
    let app = spawn_app_with(config).await;
    // One receiver answers 500 twice, then takes them; another is gone for good (410); a third never answers.
    let flaky = Receiver::default();
    *flaky.fail_first.lock().unwrap() = (500, 2);
    let flaky_url = receiver(flaky.clone()).await;
    subscribe(&app, &flaky_url, json!(["order.placed"])).await;
    let gone = Receiver::default();
    *gone.fail_first.lock().unwrap() = (410, usize::MAX);
    let (gone_id, _) = subscribe(&app, &receiver(gone.clone()).await, json!(["order.placed"])).await;
    let closed_port = free_port();
    let (dead_id, _) = subscribe(&app, &format!("http://127.0.0.1:{closed_port}/hook"), json!(["order.placed"])).await;

    app.create_product("SHOE", 5000, 10).await;
    let c = app.buyer("retry@example.com", VISA).await;
    app.buy(&c, "k1", json!({"sku": "SHOE", "quantity": 1})).await;

    eventually("the flaky receiver gets it after two 500s", || flaky.got.lock().unwrap().len() == 1).await;
    let (_, list) = app.ops("GET", "/v1/ops/webhooks", None).await;
    let gone_sub = list["webhooks"].as_array().unwrap().iter().find(|w| w["id"] == gone_id.as_str()).unwrap().clone();
    for _ in 0..100 {
        let (_, failing) = app.ops("GET", "/v1/ops/deliveries/failing", None).await;
        if failing["deliveries"].as_array().unwrap().iter().filter(|d| d["status"] == "dead").count() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, list) = app.ops("GET", "/v1/ops/webhooks", None).await;
    let gone_now = list["webhooks"].as_array().unwrap().iter().find(|w| w["id"] == gone_id.as_str()).unwrap().clone();
    assert_eq!(gone_sub["events"], json!(["order.placed"]));
    assert_eq!(gone_now["status"], "disabled", "410 disables the subscription: {gone_now}");
    let (_, deliveries) = app.ops("GET", &format!("/v1/ops/webhooks/{dead_id}/deliveries"), None).await;
    let dead = &deliveries["deliveries"][0];
    assert_eq!(dead["status"], "dead", "{deliveries}");
    assert_eq!(dead["attempts"], 4);
    assert_eq!(dead["attempt_log"].as_array().unwrap().len(), 4);
    assert_eq!(list["webhooks"].as_array().unwrap().iter().filter(|w| w.get("secret").is_some()).count(), 0);

    // Sent again on request: dead again (the port is still closed), one attempt more.
    let (status, _) =
        app.ops("POST", &format!("/v1/ops/deliveries/{}/retry", dead["id"].as_str().unwrap()), None).await;
    assert_eq!(status, 202);
    let mut attempts = 0;
    for _ in 0..100 {
        app.quiet().await;
        let (_, deliveries) = app.ops("GET", &format!("/v1/ops/webhooks/{dead_id}/deliveries"), None).await;
        attempts = deliveries["deliveries"][0]["attempts"].as_i64().unwrap();
        if attempts >= 5 && deliveries["deliveries"][0]["status"] == "dead" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(attempts, 5, "one attempt more, then dead again");
    // Each e-mail went once, whatever the webhooks did.
    let total: usize = told(&app).await.values().sum();
    eventually("the e-mails", || smtp.received().len() == total).await;
}

#[tokio::test]
async fn webhooks_to_private_networks_are_refused_unless_allowed_and_secrets_rotate() {
    let mut config = test_config();
    config.webhooks_allow_private = false;
    let app = spawn_app_with(config).await;
    let (status, body) = app.ops("POST", "/v1/ops/webhooks", Some(json!({"url": "http://127.0.0.1:9/hook"}))).await;
    assert_eq!((status, common::problem_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "private_target"), "{body}");
    let (status, body) = app.ops("POST", "/v1/ops/webhooks", Some(json!({"url": "http://10.0.0.8/hook"}))).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = app.ops("POST", "/v1/ops/webhooks", Some(json!({"url": "ftp://example.com/"}))).await;
    assert_eq!((status, common::problem_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "validation"));
    let (status, body) = app
        .ops("POST", "/v1/ops/webhooks", Some(json!({"url": "https://example.com/", "events": ["order.nonsense"]})))
        .await;
    assert_eq!((status, common::problem_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "validation"));
    let (status, _) = app.request("POST", "/v1/ops/webhooks", None, Some(json!({"url": "https://example.com/"}))).await;
    assert_eq!(status, 401);

    let allowed = spawn_app_with(test_config()).await;
    let (id, first) = subscribe(&allowed, "http://127.0.0.1:9/hook", json!([])).await;
    assert!(first.starts_with("whsec_"));
    let (status, rotated) = allowed.ops("POST", &format!("/v1/ops/webhooks/{id}/rotate"), None).await;
    assert_eq!(status, 200);
    assert!(rotated["secret"].as_str().unwrap().starts_with("whsec_") && rotated["secret"] != first.as_str());
    let (status, _) = allowed.ops("DELETE", &format!("/v1/ops/webhooks/{id}"), None).await;
    assert_eq!(status, 204);
    let (status, _) = allowed.ops("DELETE", &format!("/v1/ops/webhooks/{id}"), None).await;
    assert_eq!(status, 404);
}

/// An SMTP server whose answer the test sets through a file: `refuse` (451 to every message), `slow` (no answer
/// within the client's timeout, then 451), or `ok` (kept in a Maildir).
const MOODY_SMTP: &str = r#"
import asyncio, mailbox, sys, time
from aiosmtpd.controller import Controller

class Moody:
    def __init__(self, mood_file, maildir):
        self.mood_file, self.box = mood_file, mailbox.Maildir(maildir, create=True)
    async def handle_DATA(self, server, session, envelope):
        mood = open(self.mood_file).read().strip()
        if mood == "refuse":
            return "451 4.3.0 try again later"
        if mood == "slow":
            await asyncio.sleep(3)
            return "451 4.4.2 too slow"
        self.box.add(envelope.original_content)
        return "250 OK"

controller = Controller(Moody(sys.argv[1], sys.argv[2]), hostname="127.0.0.1", port=int(sys.argv[3]))
controller.start()
while True:
    time.sleep(3600)
"#;

#[tokio::test]
async fn an_smtp_server_refusing_then_timing_out_then_healthy_gets_every_message_once() {
    if !tools_present() {
        return;
    }
    let port = free_port();
    let maildir = tempfile::tempdir().unwrap();
    let mood = maildir.path().join("mood");
    std::fs::write(&mood, "refuse").unwrap();
    let child = Command::new("python3")
        .args(["-c", MOODY_SMTP])
        .arg(&mood)
        .arg(maildir.path().join("box"))
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the SMTP server");
    let mut up = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let smtp = SmtpServer { child, port, maildir };
    assert!(up, "the SMTP server started");

    let mut config = test_config();
    config.mail.smtp_url = Some(format!("smtp://127.0.0.1:{port}").into());
    config.mail.timeout = Duration::from_millis(500);
    config.delivery_backoff = Duration::from_millis(5);
    config.delivery_attempts = 40;
    let app = spawn_app_with(config).await;
    app.create_product("SHOE", 5000, 10).await;
    for i in 0..3 {
        let c = app.buyer(&format!("moody{i}@example.com"), VISA).await;
        app.buy(&c, "k1", json!({"sku": "SHOE", "quantity": 1})).await;
    }
    // Failed attempts whose detail (lower-cased) is `like` the pattern.
    let failed_attempts = |app: &TestApp, like: &'static str| {
        let app = app.state.clone();
        async move {
            let mut read = app.store.read().await.unwrap();
            let sql = "SELECT COUNT(*) FROM delivery_attempts WHERE outcome = 'failed' \
                       AND LOWER(COALESCE(detail, '')) LIKE $1";
            read.conn().opt(sql, buynow_store::args![like]).await.unwrap().unwrap().int(0).unwrap()
        }
    };
    // Refused: every message is tried, and put off.
    for _ in 0..200 {
        if failed_attempts(&app, "%").await >= 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(failed_attempts(&app, "%").await >= 6, "refusals are recorded as failed attempts");
    // Timing out: tried again, put off again. A send already under way when the mood changes is still refused,
    // so the wait is for an attempt that timed out ("timed out", "timeout"), not for any failed one.
    std::fs::write(&mood, "slow").unwrap();
    let before = failed_attempts(&app, "%").await;
    for _ in 0..200 {
        if failed_attempts(&app, "%time%out%").await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(failed_attempts(&app, "%").await > before, "a timeout is a failed attempt");
    let details: Vec<String> = {
        let mut read = app.state.store.read().await.unwrap();
        let rows = read.conn().all("SELECT DISTINCT detail FROM delivery_attempts", vec![]).await.unwrap();
        rows.iter().filter_map(|r| r.opt_text(0).unwrap()).collect()
    };
    assert!(details.iter().any(|d| d.contains("451")), "refused: {details:?}");
    assert!(details.iter().any(|d| d.to_lowercase().contains("timed out") || d.contains("timeout")), "{details:?}");
    assert!(smtp.received().is_empty());
    // Healthy: every message arrives, once.
    std::fs::write(&mood, "ok").unwrap();
    let total: usize = told(&app).await.values().sum();
    eventually("every message after the server recovers", || smtp.received().len() >= total).await;
    app.quiet().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mails = smtp.received();
    assert_eq!(mails.len(), total);
    let ids: std::collections::BTreeSet<_> = mails.iter().map(|m| m.headers["message-id"].clone()).collect();
    assert_eq!(ids.len(), total, "no message twice");
}

#[tokio::test]
async fn published_events_sent_messages_and_finished_jobs_are_deleted_after_the_retention() {
    let app = spawn_app_with(test_config()).await;
    app.create_product("SHOE", 5000, 10).await;
    let c = app.buyer("kept@example.com", VISA).await;
    let (_, order) = app.buy(&c, "k1", json!({"sku": "SHOE", "quantity": 1})).await;
    app.settle().await;
    app.quiet().await;
    let count = |table: &'static str| {
        let state = app.state.clone();
        async move {
            let mut read = state.store.read().await.unwrap();
            let sql = format!("SELECT COUNT(*) FROM {table}");
            read.conn().opt(&sql, vec![]).await.unwrap().unwrap().int(0).unwrap()
        }
    };
    assert!(count("outbox").await > 0 && count("deliveries").await > 0 && count("jobs").await > 0);
    // Inside the retention nothing goes.
    buynow_server::retention::purge(&app.state).await.unwrap();
    assert!(count("outbox").await > 0 && count("deliveries").await > 0);
    app.advance(chrono::Duration::days(8));
    buynow_server::retention::purge(&app.state).await.unwrap();
    assert_eq!(count("outbox").await, 0);
    assert_eq!(count("deliveries").await, 0);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM jobs WHERE status IN ('done', 'failed')").await, 0);
    // The order and its history stay.
    assert_eq!(app.order(&c, order["id"].as_str().unwrap()).await["status"], "payment_authorized");
}
