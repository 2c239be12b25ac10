//! The pages in a real headless Chromium (Debian's `chromium` and `chromium-driver`), driven over WebDriver:
//! Buy Now through its pop-up, Your Orders, a declined card paid again, a cancel, and the warehouse console
//! picking, packing and shipping. Each page visited is checked with axe-core for serious or critical
//! accessibility violations.
//!
//! Without `chromedriver` on the machine these tests say they were skipped; with `BUYNOW_REQUIRE_BROWSER` set
//! (CI sets it) that is a failure instead. Screenshots go to `target/screenshots/`, and to `docs/screenshots/`
//! (the README's) with `BUYNOW_UPDATE_SCREENSHOTS=1`.

mod common;

use common::{TestApp, ADMIN_KEY, DECLINED, MASTERCARD};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const DEMO_EMAIL: &str = buynow_server::demo::DEMO_EMAIL;
const DEMO_PASSWORD: &str = buynow_server::demo::DEMO_PASSWORD;

fn required() -> bool {
    std::env::var_os("BUYNOW_REQUIRE_BROWSER").is_some()
}

fn chromedriver() -> Option<PathBuf> {
    let path = std::env::var_os("BUYNOW_CHROMEDRIVER").map(PathBuf::from).unwrap_or("/usr/bin/chromedriver".into());
    path.exists().then_some(path)
}

/// axe-core's script, as `.ci/run` installs it (or where `BUYNOW_AXE_JS` says).
fn axe_source() -> Option<String> {
    let path = std::env::var_os("BUYNOW_AXE_JS").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/axe/node_modules/axe-core/axe.min.js")
    });
    match std::fs::read_to_string(&path) {
        Ok(s) => Some(s),
        Err(_) if required() => panic!("BUYNOW_REQUIRE_BROWSER is set but axe-core is not at {}", path.display()),
        Err(_) => {
            eprintln!("accessibility checks skipped: no axe-core at {} (.ci/run installs it)", path.display());
            None
        }
    }
}

/// A chromedriver of our own on a free port, and a headless Chromium session through it.
struct Browser {
    client: Client,
    driver: Child,
    base: String,
    axe: Option<String>,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

async fn browser(app: &TestApp) -> Option<Browser> {
    let Some(driver_path) = chromedriver() else {
        if required() {
            panic!("BUYNOW_REQUIRE_BROWSER is set but there is no chromedriver (apt install chromium chromium-driver)");
        }
        eprintln!("skipped: no chromedriver (apt install chromium chromium-driver)");
        return None;
    };
    // fantoccini's and reqwest's rustls features both enable a crypto provider: name one for the process.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let driver = Command::new(driver_path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": std::env::var("BUYNOW_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000",
                     "--disable-gpu", "--lang=en-US"]
        }),
    );
    let mut client = None;
    for _ in 0..100 {
        match ClientBuilder::rustls()
            .unwrap()
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => {
                client = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let client = client.expect("a Chromium session through chromedriver");
    Some(Browser { client, driver, base: app.url.clone(), axe: axe_source() })
}

impl Browser {
    async fn goto(&self, path: &str) {
        self.client.goto(&format!("{}{path}", self.base)).await.expect("page loads");
    }

    async fn css(&self, selector: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("{selector} never appeared: {e}"))
    }

    /// The element's text; a page that changes under the read (a reload, the pop-up's new review) is read again.
    async fn text(&self, selector: &str) -> String {
        for _ in 0..50 {
            if let Ok(text) = self.css(selector).await.text().await {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{selector} kept changing under the read");
    }

    async fn click(&self, selector: &str) {
        self.css(selector).await.click().await.unwrap_or_else(|e| panic!("clicking {selector}: {e}"));
    }

    async fn fill(&self, selector: &str, value: &str) {
        let e = self.css(selector).await;
        e.clear().await.expect("clear");
        e.send_keys(value).await.expect("type");
    }

    async fn path(&self) -> String {
        self.client.current_url().await.expect("url").path().to_string()
    }

    /// Waits until the element's text holds `needle`: a form sent re-renders its page, and a read right after the
    /// click may still see the page before.
    async fn until_text(&self, selector: &str, needle: &str) -> String {
        for _ in 0..100 {
            let text = self.text(selector).await;
            if text.contains(needle) {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{selector} never said {needle:?}: {}", self.text(selector).await);
    }

    /// Waits until the page's address (path and query) holds `needle`.
    async fn until_address(&self, needle: &str) {
        for _ in 0..100 {
            if self.client.current_url().await.expect("url").as_str().contains(needle) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("never reached an address with {needle}");
    }

    /// Waits until the page's path starts with `prefix`.
    async fn until_path(&self, prefix: &str) -> String {
        for _ in 0..100 {
            let p = self.path().await;
            if p.starts_with(prefix) {
                return p;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("never reached {prefix}: at {}", self.path().await);
    }

    async fn sign_in_as_demo(&self) {
        self.goto("/signin").await;
        self.fill("#email", DEMO_EMAIL).await;
        self.fill("#password", DEMO_PASSWORD).await;
        self.click("form[action='/signin'] button[type=submit]").await;
        self.css("a[href='/orders']").await;
    }

    /// No serious or critical axe-core violation on the page as it is now.
    async fn accessible(&self, what: &str) {
        if let Some(found) = self.violations().await {
            assert!(found.is_empty(), "{what}: accessibility violations:\n{}", found.join("\n"));
        }
    }

    /// The page's serious and critical axe-core violations; `None` when axe-core is not installed.
    async fn violations(&self) -> Option<Vec<String>> {
        let axe = self.axe.as_ref()?;
        self.client.execute(axe, vec![]).await.expect("axe loads");
        let script = r#"
            const done = arguments[arguments.length - 1];
            axe.run(document, { resultTypes: ["violations"] })
              .then(r => done(r.violations.filter(v => v.impact === "serious" || v.impact === "critical")
                  .map(v => v.id + ": " + v.help + " at " + v.nodes.map(n => n.target.join(" ")).join(", "))))
              .catch(e => done(["axe failed: " + e]));
        "#;
        let found = self.client.execute_async(script, vec![]).await.expect("axe runs");
        Some(serde_json::from_value(found).expect("a list"))
    }

    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let dir = root.join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), &png).unwrap();
        if std::env::var_os("BUYNOW_UPDATE_SCREENSHOTS").is_some() {
            let docs = root.join("docs/screenshots");
            std::fs::create_dir_all(&docs).unwrap();
            std::fs::write(docs.join(format!("{name}.png")), &png).unwrap();
        }
    }

    /// Opens the product's pop-up and waits for its review.
    async fn open_review(&self, sku: &str) {
        self.goto(&format!("/products/{sku}")).await;
        self.click("#buy-now").await;
        self.css("dialog#review[open] #place-order").await;
    }

    async fn done(self) {
        let Browser { client, .. } = &self;
        let _ = client.clone().close().await;
    }
}

async fn demo_app() -> TestApp {
    demo_app_with(common::test_config()).await
}

async fn demo_app_with(config: buynow_server::Config) -> TestApp {
    let app = common::spawn_app_with(config).await;
    buynow_server::demo::seed(&app.state).await.expect("demo seeded");
    app.state.reload_centers().await.expect("centers");
    app
}

async fn demo_token(app: &TestApp) -> String {
    let (status, body) = app.post("/v1/sessions", None, json!({"email": DEMO_EMAIL, "password": DEMO_PASSWORD})).await;
    assert_eq!(status, 201, "{body}");
    body["token"].as_str().unwrap().to_string()
}

async fn orders_of_demo(app: &TestApp) -> Vec<Value> {
    let token = demo_token(app).await;
    let (_, list) = app.get("/v1/me/orders", Some(&token)).await;
    list["orders"].as_array().unwrap().clone()
}

fn money(amount: i64) -> String {
    format!("${}.{:02}", amount / 100, amount % 100)
}

fn day(iso: &str) -> String {
    chrono::NaiveDate::parse_from_str(iso, "%Y-%m-%d").unwrap().format("%A, %B %-d").to_string()
}

/// The order page's id from its path.
fn order_id(path: &str) -> String {
    path.trim_start_matches("/orders/").to_string()
}

#[tokio::test]
async fn buy_now_in_the_pop_up_with_another_speed_then_your_orders() {
    let app = demo_app().await;
    let Some(b) = browser(&app).await else { return };
    b.sign_in_as_demo().await;
    b.goto("/").await;
    b.accessible("catalog").await;

    b.goto("/products/KINDLE-PW").await;
    let promise = b.text(".promise").await;
    assert!(promise.starts_with("Order within"), "{promise}");
    b.accessible("product page").await;

    b.open_review("KINDLE-PW").await;
    let before = b.text("#order-total").await;
    // Change the speed without leaving the page: the review reloads inside the pop-up with One-Day's price.
    b.click("dialog#review input[name=delivery_speed][value=one_day]").await;
    b.css("dialog#review input[name=delivery_speed][value=one_day]:checked").await;
    let mut after = b.text("#order-total").await;
    for _ in 0..50 {
        if after != before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = b.text("#order-total").await;
    }
    assert_ne!(before, after, "One-Day costs more than free Two-Day");
    b.accessible("the review pop-up").await;
    b.screenshot("product-review-pop-up").await;

    b.click("#place-order").await;
    let path = b.until_path("/orders/ord_").await;
    assert!(b.text(".notice").await.contains("your order is placed"));
    let id = order_id(&path);

    let orders = orders_of_demo(&app).await;
    assert_eq!(orders.len(), 1);
    let order = &orders[0];
    assert_eq!(order["id"], id.as_str());
    assert_eq!(order["delivery_speed"], "one_day");
    let total = money(order["total"]["amount"].as_i64().unwrap());
    assert_eq!(after, total);
    b.accessible("the order page").await;

    b.goto("/orders").await;
    let listed = b.text(&format!("a[href='/orders/{id}']")).await;
    assert!(listed.contains("Kindle Paperwhite"), "{listed}");
    let card = b.text("ol.orders li").await;
    assert!(card.contains(&total), "{card}");
    let arriving = day(order["estimated_delivery"]["latest"].as_str().unwrap());
    assert!(card.contains(&arriving), "{card} should say {arriving}");
    b.accessible("Your Orders").await;
    b.screenshot("your-orders").await;
    b.done().await;
}

#[tokio::test]
async fn a_double_click_on_place_your_order_makes_one_order() {
    let app = demo_app().await;
    let Some(b) = browser(&app).await else { return };
    b.sign_in_as_demo().await;
    b.open_review("USB-C-CABLE").await;
    // Two presses as fast as a hand can: the second lands while the first is in flight.
    let button = b.css("#place-order").await;
    use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
    let (down, up) =
        (PointerAction::Down { button: MOUSE_BUTTON_LEFT }, PointerAction::Up { button: MOUSE_BUTTON_LEFT });
    let double = MouseActions::new("mouse".into())
        .then(PointerAction::MoveToElement { element: button, duration: None, x: 0.0, y: 0.0 })
        .then(down.clone())
        .then(up.clone())
        .then(down)
        .then(up);
    b.client.perform_actions(double).await.expect("double click");
    b.until_path("/orders/ord_").await;
    assert_eq!(orders_of_demo(&app).await.len(), 1);

    // Were the button not disabled, the key would still hold: the same form sent twice at once, from the page.
    b.open_review("USB-C-CABLE").await;
    let answers = b
        .client
        .execute_async(
            r#"
            const done = arguments[arguments.length - 1];
            const form = document.querySelector("form[data-place-order]");
            form.elements.idempotency_key.value = "page_twice_" + Date.now();
            const send = () => fetch(form.action, { method: "POST", credentials: "same-origin",
                headers: { Accept: "application/json", "Content-Type": "application/x-www-form-urlencoded" },
                body: new URLSearchParams(new FormData(form)).toString() }).then(r => r.json());
            Promise.all([send(), send()]).then(done, e => done(String(e)));
            "#,
            vec![],
        )
        .await
        .expect("two posts");
    assert_eq!(answers[0]["order_id"], answers[1]["order_id"], "{answers}");
    assert_eq!(orders_of_demo(&app).await.len(), 2);
    b.done().await;
}

#[tokio::test]
async fn a_declined_card_is_paid_again_with_another_from_the_order_page() {
    let app = demo_app().await;
    let Some(b) = browser(&app).await else { return };
    b.sign_in_as_demo().await;
    // A card that the processor declines, added on the account page.
    b.goto("/account").await;
    b.accessible("account").await;
    b.fill("#number", DECLINED).await;
    b.fill("#exp_month", "12").await;
    b.fill("#exp_year", "2030").await;
    b.fill("#cvc", "123").await;
    b.click("form[action='/account/cards'] button[type=submit]").await;
    b.css("#cards").await;
    assert!(b.text("#cards").await.contains("ending in 0002"));

    b.open_review("ECHO-DOT-5").await;
    let cards =
        b.client.find_all(Locator::Css("dialog#review input[type=radio][name=payment_method_id]")).await.unwrap();
    assert_eq!(cards.len(), 2, "the demo Visa and the new card");
    b.click("dialog#review section[aria-labelledby=pay-with] summary").await;
    let declining = b
        .client
        .execute(
            "return [...document.querySelectorAll('dialog#review input[type=radio][name=payment_method_id]')]
                .find(i => i.parentElement.textContent.includes('0002')).value",
            vec![],
        )
        .await
        .unwrap();
    let declining = declining.as_str().unwrap().to_string();
    b.click(&format!("dialog#review input[type=radio][name=payment_method_id][value='{declining}']")).await;
    b.css(&format!("form[data-place-order] input[name=payment_method_id][value='{declining}']")).await;
    b.click("#place-order").await;
    // The pop-up says so, and leads to the order to pay another way.
    let error = b.text("#place-error:not([hidden])").await;
    assert!(error.to_lowercase().contains("declined"), "{error}");
    b.click("#place-error a").await;
    b.until_path("/orders/ord_").await;
    assert_eq!(b.text("#order-status").await, "Payment action required");
    b.accessible("an order waiting for payment").await;
    b.click("form[action$='/payment'] input[type=radio]:not(:checked)").await;
    b.click("form[action$='/payment'] button[type=submit]").await;
    let mut status = String::new();
    for _ in 0..50 {
        status = b.text("#order-status").await;
        if status == "Payment authorized" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        b.client.refresh().await.unwrap();
    }
    assert_eq!(status, "Payment authorized");
    // The payment history tells both cards' answers.
    let history = b.text("#payment-history").await;
    assert!(history.contains("Declined (card declined)") && history.contains("Approved"), "{history}");
    b.accessible("an order with its payment history").await;
    b.done().await;
}

#[tokio::test]
async fn an_order_is_cancelled_from_its_page_within_the_window() {
    let app = demo_app().await;
    let Some(b) = browser(&app).await else { return };
    b.sign_in_as_demo().await;
    b.open_review("LEGO-CLASSIC").await;
    b.click("#place-order").await;
    b.until_path("/orders/ord_").await;
    let before = app.stock("LEGO-CLASSIC").await;
    b.click("#cancel-order").await;
    b.css("#order-status").await;
    let mut status = String::new();
    for _ in 0..30 {
        status = b.text("#order-status").await;
        if status == "Cancelled" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, "Cancelled");
    assert!(b.client.find(Locator::Css("#cancel-order")).await.is_err(), "no cancel button once cancelled");
    let after = app.stock("LEGO-CLASSIC").await;
    assert_eq!(after.1, before.1 - 1, "the reservation is returned");
    b.done().await;
}

#[tokio::test]
async fn staff_pick_pack_and_ship_in_the_console_and_the_customer_sees_the_tracking_number() {
    let app = demo_app().await;
    let Some(b) = browser(&app).await else { return };
    b.sign_in_as_demo().await;
    b.open_review("COFFEE-1KG").await;
    b.click("#place-order").await;
    let id = order_id(&b.until_path("/orders/ord_").await);
    app.release_window().await;
    let order = &orders_of_demo(&app).await[0];
    assert_eq!(order["status"], "released", "{order}");
    let center = order["shipments"][0]["fulfillment_center"].as_str().unwrap().to_string();
    let shipment = order["shipments"][0]["id"].as_str().unwrap().to_string();

    b.goto("/ops").await;
    b.until_path("/ops/signin").await;
    b.fill("#key", ADMIN_KEY).await;
    b.click("form[action='/ops/signin'] button[type=submit]").await;
    b.css("h1").await;
    b.goto(&format!("/ops?center={center}")).await;
    let row = format!("tr[data-shipment='{shipment}']");
    assert!(b.text(&row).await.contains(&id));
    b.accessible("the pick list").await;
    b.screenshot("console-pick-list").await;

    b.click(&format!("{row} button[data-step=pick]")).await;
    b.until_path(&format!("/ops/shipments/{shipment}")).await;
    assert_eq!(b.text("#shipment-status").await, "Picking");
    b.click("button[data-step=pack]").await;
    b.css("button[data-step=ship]").await;
    assert_eq!(b.text("#shipment-status").await, "Packed");
    b.click("button[data-step=ship]").await;
    let tracking = b.text("#tracking-number").await;
    assert_eq!(b.text("#shipment-status").await, "Shipped");
    let label = b.css("#print-label").await.attr("href").await.unwrap().unwrap();
    assert_eq!(label, format!("/ops/shipments/{shipment}/label"));
    b.accessible("a shipped parcel").await;

    // The label, as the browser fetches it with the console's cookie.
    let pdf_start = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(arguments[0], { credentials: 'same-origin' }).then(r => r.text()).then(t => done(t.slice(0, 5)));",
            vec![json!(label)],
        )
        .await
        .unwrap();
    assert_eq!(pdf_start, "%PDF-");

    b.goto(&format!("/orders/{id}")).await;
    assert_eq!(b.text(".tracking").await, tracking);
    assert_eq!(b.text("#order-status").await, "Shipped");
    b.done().await;
}

#[tokio::test]
async fn the_accessibility_check_finds_a_planted_violation() {
    let app = demo_app().await;
    let Some(b) = browser(&app).await else { return };
    b.goto("/").await;
    b.client
        .execute("document.querySelector('main').insertAdjacentHTML('beforeend', '<input type=text>')", vec![])
        .await
        .unwrap();
    if let Some(found) = b.violations().await {
        assert!(found.iter().any(|v| v.starts_with("label:")), "an input without a label is found: {found:?}");
    }
    b.done().await;
}

#[tokio::test]
async fn the_order_page_lists_its_messages_and_the_console_sends_a_dead_one_again() {
    let mut config = common::test_config();
    config.delivery_attempts = 2;
    let app = demo_app_with(config).await;
    let Some(b) = browser(&app).await else { return };
    // A subscriber whose receiver is never there: its webhooks are dead-lettered after two attempts.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (status, _) =
        app.ops("POST", "/v1/ops/webhooks", Some(json!({"url": format!("http://127.0.0.1:{closed}/hook")}))).await;
    assert_eq!(status, 201);
    b.sign_in_as_demo().await;
    b.open_review("WATER-BOTTLE").await;
    b.click("#place-order").await;
    let id = order_id(&b.until_path("/orders/ord_").await);
    app.quiet().await;
    b.client.refresh().await.unwrap();
    let messages = b.text("#messages").await;
    assert!(messages.contains("Order confirmation — sent"), "{messages}");
    b.accessible("an order page with its messages").await;

    b.goto("/ops/signin").await;
    b.fill("#key", ADMIN_KEY).await;
    b.click("form[action='/ops/signin'] button[type=submit]").await;
    b.css("a[href='/ops/deliveries']").await;
    let mut dead = 0;
    for _ in 0..100 {
        app.quiet().await;
        b.goto("/ops/deliveries").await;
        dead = b.client.find_all(Locator::Css("tr[data-delivery] button[type=submit]")).await.unwrap().len();
        if dead >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(dead >= 2, "the order's webhooks are dead-lettered and listed");
    assert!(b.text("table.picks").await.contains(&id));
    b.accessible("the failing deliveries").await;
    let row = b.css("tr[data-delivery]").await;
    let delivery = row.attr("data-delivery").await.unwrap().unwrap();
    b.click(&format!("tr[data-delivery='{delivery}'] button[type=submit]")).await;
    b.until_path("/ops/deliveries").await;
    // Sent again: one attempt more, and dead again (the receiver is still not there).
    let (_, failing) = app.ops("GET", "/v1/ops/deliveries/failing", None).await;
    let mut attempts = 0;
    for _ in 0..100 {
        app.quiet().await;
        let (_, failing) = app.ops("GET", "/v1/ops/deliveries/failing", None).await;
        let d = failing["deliveries"].as_array().unwrap().iter().find(|d| d["id"] == delivery.as_str()).cloned();
        attempts = d.as_ref().and_then(|d| d["attempts"].as_i64()).unwrap_or(0);
        if attempts == 3 && d.is_some_and(|d| d["status"] == "dead") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(attempts, 3, "{failing}");
    b.done().await;
}

#[tokio::test]
async fn a_gift_card_code_is_redeemed_on_the_account_page() {
    let app = demo_app().await;
    let Some(b) = browser(&app).await else { return };
    let (status, issued) =
        app.ops("POST", "/v1/ops/gift-cards", Some(json!({"amount": {"amount": 4000, "currency": "USD"}}))).await;
    assert_eq!(status, 201, "{issued}");
    b.sign_in_as_demo().await;
    b.goto("/account").await;
    assert!(b.text("#gift-card-balance").await.contains("$0.00"));
    b.fill("#code", "not-a-code").await;
    b.click("form[action='/account/gift-cards'] button[type=submit]").await;
    assert!(b.text("#gift-cards .field-error").await.contains("is not a gift card code"));
    b.accessible("the account page with a gift card problem").await;
    // Typed as people do: lower case, spaces for dashes.
    let typed = issued["code"].as_str().unwrap().to_lowercase().replace('-', " ");
    b.fill("#code", &typed).await;
    b.click("form[action='/account/gift-cards'] button[type=submit]").await;
    b.until_path("/account").await;
    b.css("#gift-cards tbody tr").await;
    assert_eq!(b.text("#gift-card-balance").await, money(4000));
    assert!(b.text("#gift-cards").await.contains("Gift card redeemed"));
    b.accessible("the account page with a gift card balance").await;
    b.screenshot("account-gift-cards").await;
    b.done().await;
}

#[tokio::test]
async fn the_pop_up_offers_only_the_cards_the_shop_takes() {
    let app = demo_app().await;
    let Some(b) = browser(&app).await else { return };
    let only_visa = json!({"brands": ["visa"], "funding": ["credit"], "gift_cards": true});
    assert_eq!(app.ops("PUT", "/v1/ops/payment-settings", Some(only_visa)).await.0, 200);
    let token = demo_token(&app).await;
    let card = json!({"type": "card", "number": MASTERCARD, "exp_month": 12, "exp_year": 2031, "cvc": "123"});
    assert_eq!(app.post("/v1/me/payment-methods", Some(&token), card).await.0, 201);
    b.sign_in_as_demo().await;
    b.open_review("ECHO-DOT-5").await;
    b.click("dialog#review section[aria-labelledby=pay-with] summary").await;
    let section = b.text("dialog#review section[aria-labelledby=pay-with]").await;
    assert!(
        section.contains("not accepted for this item") && section.contains("This item takes Visa, credit cards"),
        "{section}"
    );
    let disabled =
        b.client.find_all(Locator::Css("dialog#review input[name=payment_method_id][disabled]")).await.unwrap();
    assert_eq!(disabled.len(), 1, "the Mastercard cannot be chosen");
    b.accessible("the pop-up with a card the shop does not take").await;
    b.click("#place-order").await;
    b.until_path("/orders/ord_").await;
    b.done().await;
}

#[tokio::test]
async fn the_gift_card_balance_pays_first_when_ticked_in_the_pop_up() {
    let app = demo_app().await;
    let Some(b) = browser(&app).await else { return };
    let (status, issued) =
        app.ops("POST", "/v1/ops/gift-cards", Some(json!({"amount": {"amount": 1500, "currency": "USD"}}))).await;
    assert_eq!(status, 201, "{issued}");
    let token = demo_token(&app).await;
    let (status, body) = app.post("/v1/me/gift-cards/redeem", Some(&token), json!({"code": issued["code"]})).await;
    assert_eq!(status, 200, "{body}");
    b.sign_in_as_demo().await;
    b.open_review("KINDLE-PW").await;
    let total = b.text("#order-total").await;
    assert!(b.text("dialog#review section[aria-labelledby=gift-card]").await.contains(&money(1500)));
    b.click("#use-gift-card").await;
    // The review reloads inside the pop-up with the balance taken off what the card pays.
    let applied = b.text("#gift-card-applied").await;
    assert_eq!(applied, format!("−{}", money(1500)));
    assert_eq!(b.text("#order-total").await, total, "the order costs the same");
    b.css("#use-gift-card:checked").await;
    b.accessible("the pop-up with the gift card balance used").await;
    b.screenshot("review-gift-card").await;

    b.click("#place-order").await;
    let path = b.until_path("/orders/ord_").await;
    let order = &orders_of_demo(&app).await[0];
    assert_eq!(order["id"], order_id(&path).as_str());
    let card = order["total"]["amount"].as_i64().unwrap() - 1500;
    assert_eq!(order["payment"]["amount"]["amount"], card, "{order}");
    let (_, me) = app.get("/v1/me", Some(&token)).await;
    assert_eq!(me["gift_card_balance"]["amount"], 0);
    let paid_with = b.text("#tender").await;
    assert!(
        paid_with.contains(&format!("Gift card balance: {}", money(1500)))
            && paid_with.contains(&format!("Card: {}", money(card))),
        "{paid_with}"
    );
    assert!(b.text("#payment-history").await.contains("Paid from your gift card balance"));
    b.accessible("the order page of a split tender").await;
    b.done().await;
}

#[tokio::test]
async fn a_card_whose_bank_asks_is_confirmed_on_the_banks_page_and_the_order_goes_on() {
    let app = demo_app().await;
    let Some(b) = browser(&app).await else { return };
    let token = demo_token(&app).await;
    let card = json!({"type": "card", "number": "4000002500003155", "exp_month": 12, "exp_year": 2031, "cvc": "123"});
    let (status, added) = app.post("/v1/me/payment-methods", Some(&token), card).await;
    assert_eq!(status, 201, "{added}");
    b.sign_in_as_demo().await;
    b.open_review("ECHO-DOT-5").await;
    b.click("dialog#review section[aria-labelledby=pay-with] summary").await;
    b.click(&format!("dialog#review input[name=payment_method_id][value='{}']", added["id"].as_str().unwrap())).await;
    b.css("dialog#review input[name=payment_method_id]:checked").await;
    // The review reloads with the card chosen; then the bank's page takes over.
    for _ in 0..50 {
        if b.text("dialog#review section[aria-labelledby=pay-with] p").await.contains("3155") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.click("#place-order").await;
    b.until_path("/sandbox/authenticate/").await;
    assert!(b.text("main").await.contains("Your bank asks you to confirm a payment"));
    b.accessible("the bank's authentication page").await;
    b.screenshot("bank-authentication").await;
    b.click("button[value=pass]").await;
    let path = b.until_path("/orders/ord_").await;
    let order = &orders_of_demo(&app).await[0];
    assert_eq!(order["id"], order_id(&path).as_str());
    assert_eq!(order["status"], "payment_authorized", "{order}");
    assert!(b.text("#payment-history").await.contains("Approved"));
    b.accessible("the order page after authentication").await;
    b.done().await;
}

#[tokio::test]
async fn an_admin_issues_and_revokes_a_staff_key_and_reads_the_audit_trail_in_the_console() {
    let app = demo_app().await;
    let Some(b) = browser(&app).await else { return };
    b.goto("/ops/signin").await;
    b.fill("#key", ADMIN_KEY).await;
    b.click("form[action='/ops/signin'] button[type=submit]").await;
    b.css("h1").await;
    b.click("a[href='/ops/keys']").await;
    b.until_path("/ops/keys").await;
    // A center that is not the store's: refused beside the form.
    b.fill("#name", "Sia Seattle").await;
    b.fill("#center", "NOPE").await;
    b.click("form[action='/ops/keys'] button[type=submit]").await;
    assert!(b.text("form[action='/ops/keys']").await.contains("no such center of the store"));
    b.accessible("the staff keys page with a problem").await;
    b.fill("#name", "Sia Seattle").await;
    b.fill("#center", "sea1").await;
    b.click("form[action='/ops/keys'] button[type=submit]").await;
    let key = b.text("#new-key").await;
    assert!(key.starts_with("bns_"), "{key}");
    assert!(b.text("#keys").await.contains("SEA1"));
    b.accessible("the staff keys page with a new key").await;
    b.screenshot("console-staff-keys").await;
    // The key works until it is revoked.
    let (status, _) = app.request("GET", "/v1/ops/pick-lists", Some(&key), None).await;
    assert_eq!(status, 200);
    b.click("#keys button[type=submit]").await;
    b.until_path("/ops/keys").await;
    assert!(b.text("#keys").await.contains("revoked"));
    let (status, _) = app.request("GET", "/v1/ops/pick-lists", Some(&key), None).await;
    assert_eq!(status, 401);

    b.click("a[href='/ops/audit']").await;
    b.until_path("/ops/audit").await;
    let trail = b.text("#audit").await;
    assert!(trail.contains("console_sign_in") && trail.contains("POST /ops/keys 200"), "{trail}");
    assert!(trail.contains("/revoke"), "{trail}");
    assert!(!trail.contains(&key), "never a key on the trail");
    b.fill("#contains", "revoke").await;
    b.click("form[action='/ops/audit'] button[type=submit]").await;
    b.until_address("contains=revoke").await;
    b.css("#audit").await;
    assert_eq!(b.client.find_all(Locator::Css("#audit tbody tr")).await.unwrap().len(), 1);
    b.accessible("the audit trail").await;
    b.done().await;
}

#[tokio::test]
async fn a_customer_asks_for_help_on_the_order_page_and_support_settles_it_in_the_console() {
    let app = demo_app().await;
    let Some(b) = browser(&app).await else { return };
    b.sign_in_as_demo().await;
    b.open_review("LEGO-CLASSIC").await;
    b.click("#place-order").await;
    let path = b.until_path("/orders/ord_").await;
    let id = order_id(&path);
    b.goto(&format!("/orders/{id}")).await;
    // An empty message is refused beside the form; a real one opens a case.
    b.click("form[action$='/help'] button[type=submit]").await;
    b.css("#help-message").await;
    b.client.execute("document.querySelector('#help-message').removeAttribute('required')", vec![]).await.unwrap();
    b.fill("#help-message", "   ").await;
    b.click("form[action$='/help'] button[type=submit]").await;
    assert!(b.text("#help").await.contains("1 to 2,000 characters"), "{}", b.text("#help").await);
    b.accessible("the order page with a help problem").await;
    b.fill("#help-message", "Please cancel this: I ordered the wrong set.").await;
    b.click("form[action$='/help'] button[type=submit]").await;
    assert!(b.text("#help-requests").await.contains("open"));
    b.accessible("the order page with a help request").await;
    b.screenshot("order-get-help").await;

    // Support signs in with their own key and finds the case in the queue.
    let (status, key) = app.ops("POST", "/v1/ops/keys", Some(json!({"role": "support", "name": "Sam Support"}))).await;
    assert_eq!(status, 201, "{key}");
    b.client.delete_all_cookies().await.unwrap();
    b.goto("/ops/signin").await;
    b.fill("#key", key["key"].as_str().unwrap()).await;
    b.click("form[action='/ops/signin'] button[type=submit]").await;
    b.until_path("/ops/cases").await;
    let queue = b.text("#cases").await;
    assert!(queue.contains(&id) && queue.contains("Customer request"), "{queue}");
    b.accessible("the support queue").await;
    b.click("#cases a[href^='/ops/cases/case_']").await;
    b.until_path("/ops/cases/case_").await;
    assert!(b.text("#case-summary").await.contains("wrong set"));
    b.click("#take-case").await;
    b.until_path("/ops/cases/case_").await;
    assert!(b.text("#case-assignee").await.starts_with("key_"));
    // A refund with nothing charged says why beside the form; then staff cancel.
    b.css("#action").await.select_by_value("refund").await.unwrap();
    b.fill("#note", "customer asked").await;
    b.click("#do-action").await;
    b.until_text("form[aria-labelledby='act-title']", "nothing was charged").await;
    b.accessible("a case with a refused action").await;
    b.css("#action").await.select_by_value("cancel").await.unwrap();
    b.fill("#note", "wrong set, cancelled at their request").await;
    b.click("#do-action").await;
    b.until_path("/ops/cases/case_").await;
    assert_eq!(b.text("#case-status").await, "Resolved");
    assert!(b.text("#case-notes").await.contains("wrong set, cancelled"));
    b.accessible("a resolved case").await;
    b.screenshot("console-support-case").await;
    let token = demo_token(&app).await;
    let (_, order) = app.get(&format!("/v1/orders/{id}"), Some(&token)).await;
    assert_eq!(order["status"], "cancelled", "{order}");
    b.done().await;
}
