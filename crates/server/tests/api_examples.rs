//! The API document's examples are real: one walk through every operation of the API, as a shop's staff, its
//! customers and a carrier would use it, keeps the first body each operation took and answered (the
//! harness's contract layer records them). The examples in `src/openapi/examples.json` must
//! - exist for every operation's JSON request and every JSON success it lists;
//! - fit the document's own schemas (a client generated from it can send and read them);
//! - have the shape the server answers today (the same fields, of the same types).
//!
//! When the server's answers change on purpose, `BUYNOW_UPDATE_EXAMPLES=1 cargo test -p buynow-server --test
//! api_examples` writes the file again from the walk (ids, tokens and local addresses made stable), and the
//! OpenAPI snapshot shows the change in review.

mod common;

use buynow_server::contract::{Examples, Exchange};
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

const AUTHENTICATE: &str = "4000002500003155";
const SHOE: &str = "TRAIL-SHOE-42";

fn examples_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/openapi/examples.json")
}

#[tokio::test]
async fn every_operation_has_an_example_that_fits_its_schema_and_the_server_still_answers_like_it() {
    let mut config = test_config();
    config.record_examples = true;
    // A delivery to a closed port gives up soon, so the walk can send it again.
    config.delivery_attempts = 2;
    let app = spawn_app_with(config).await;
    walk(&app).await;
    let seen = stable(app.state.contract.get().expect("the contract is checked").examples());
    let (_, doc) = app.get("/v1/openapi.json", None).await;

    if std::env::var("BUYNOW_UPDATE_EXAMPLES").as_deref() == Ok("1") {
        let text = serde_json::to_string_pretty(&seen).unwrap() + "\n";
        std::fs::write(examples_file(), text).expect("write the examples");
        eprintln!("wrote {}; build again to serve them", examples_file().display());
    }
    let stored: Examples =
        serde_json::from_str(&std::fs::read_to_string(examples_file()).expect("read the examples")).unwrap();

    let mut faults = Vec::new();
    for (operation, wanted) in what_needs_examples(&doc) {
        let Some(example) = stored.get(&operation) else {
            faults.push(format!("{operation}: no example"));
            continue;
        };
        let Some(answered) = seen.get(&operation) else {
            faults.push(format!("{operation}: the walk did not call it"));
            continue;
        };
        if wanted.request {
            match (&example.request, &answered.request) {
                (Some(example), Some(sent)) => {
                    faults.extend(check(&doc, &operation, "request", &wanted.request_schema, example, sent))
                }
                _ => faults.push(format!("{operation}: no request example")),
            }
        }
        for (status, schema) in &wanted.responses {
            match (example.responses.get(status), answered.responses.get(status)) {
                (Some(example), Some(got)) => faults.extend(check(&doc, &operation, status, schema, example, got)),
                (None, _) => faults.push(format!("{operation} {status}: no example")),
                (_, None) => faults.push(format!("{operation} {status}: the walk never got it")),
            }
        }
    }
    // What the server serves is what the file holds (unless it was just written).
    if std::env::var("BUYNOW_UPDATE_EXAMPLES").as_deref() != Ok("1") {
        for (operation, example) in &stored {
            let (method, path) = operation.split_once(' ').unwrap();
            let op = &doc["paths"][path][method.to_ascii_lowercase()];
            if let Some(request) = &example.request {
                if &op["requestBody"]["content"]["application/json"]["example"] != request {
                    faults.push(format!("{operation}: the document does not carry its request example"));
                }
            }
            for (status, body) in &example.responses {
                if &op["responses"][status]["content"]["application/json"]["example"] != body {
                    faults.push(format!("{operation} {status}: the document does not carry its example"));
                }
            }
        }
    }
    assert!(
        faults.is_empty(),
        "the API examples are out of date or wrong (BUYNOW_UPDATE_EXAMPLES=1 writes them again):\n{}",
        faults.join("\n")
    );
    app.stop().await;
}

/// What one operation must have examples of, with the schemas they must fit.
#[derive(Default)]
struct Wanted {
    request: bool,
    request_schema: Value,
    responses: BTreeMap<String, Value>,
}

/// Every operation's JSON request body and JSON success answers, by the document.
fn what_needs_examples(doc: &Value) -> BTreeMap<String, Wanted> {
    let mut all = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let mut wanted = Wanted::default();
            if let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") {
                wanted.request = true;
                wanted.request_schema = schema.clone();
            }
            for (status, response) in op["responses"].as_object().unwrap() {
                if status.starts_with('2') {
                    if let Some(schema) = response.pointer("/content/application~1json/schema") {
                        wanted.responses.insert(status.clone(), schema.clone());
                    }
                }
            }
            if wanted.request || !wanted.responses.is_empty() {
                all.insert(format!("{} {path}", method.to_ascii_uppercase()), wanted);
            }
        }
    }
    all
}

/// The example fits the schema, and has the shape of what the server sent or answered in this walk.
fn check(doc: &Value, operation: &str, what: &str, schema: &Value, example: &Value, seen: &Value) -> Vec<String> {
    let mut faults = Vec::new();
    // The schema, with the document's components beside it so its `$ref`s resolve.
    let mut root = json!({ "allOf": [schema], "components": doc["components"] });
    root["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    let validator = jsonschema::options().should_validate_formats(true).build(&root).expect("the schema compiles");
    for error in validator.iter_errors(example) {
        let at = error.instance_path().to_string();
        faults.push(format!(
            "{operation} {what}: the example does not fit the schema at /{}: {error}",
            at.trim_start_matches('/')
        ));
    }
    same_shape(example, seen, &mut String::new(), &mut |at, why| {
        faults.push(format!("{operation} {what}: the walk's body differs at /{}: {why}", at.trim_start_matches('/')))
    });
    faults
}

/// Objects with the same fields, arrays whose first items have the same shape, the same JSON types; `null`
/// matches anything (what is left out in one walk may be set in another).
fn same_shape(example: &Value, seen: &Value, at: &mut String, fault: &mut dyn FnMut(&str, String)) {
    match (example, seen) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Object(a), Value::Object(b)) => {
            for key in a.keys().filter(|k| !b.contains_key(*k)) {
                fault(at, format!("`{key}` is in the example, not in the answer"));
            }
            for key in b.keys().filter(|k| !a.contains_key(*k)) {
                fault(at, format!("`{key}` is in the answer, not in the example"));
            }
            for (key, value) in a {
                if let Some(other) = b.get(key) {
                    let len = at.len();
                    at.push('/');
                    at.push_str(key);
                    same_shape(value, other, at, fault);
                    at.truncate(len);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if let (Some(x), Some(y)) = (a.first(), b.first()) {
                let len = at.len();
                at.push_str("/0");
                same_shape(x, y, at, fault);
                at.truncate(len);
            }
        }
        (a, b) if std::mem::discriminant(a) == std::mem::discriminant(b) => {}
        (a, b) => fault(at, format!("{} in the example, {} in the answer", kind(a), kind(b))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The walk's examples with what differs from one walk to the next made stable: ids, tokens, secrets and
/// gift card codes become fixed stand-ins (the same one wherever the same value appears), and the test's local
/// addresses a shop's.
fn stable(examples: Examples) -> Examples {
    let local = regex::Regex::new(r"http://127\.0\.0\.1:[0-9]+").unwrap();
    let kinds = [
        (regex::Regex::new(r"\b([a-z]{2,5})_([0-9a-f]{32})\b").unwrap(), 32),
        (regex::Regex::new(r"\b(bnt|bns)_[A-Za-z0-9_-]{16,}").unwrap(), 43),
        (regex::Regex::new(r"\b(whsec)_[A-Za-z0-9+/=]{16,}").unwrap(), 44),
        (regex::Regex::new(r"\b()[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}\b").unwrap(), 0),
    ];
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut rename = |s: &str| -> String {
        let mut s = local.replace_all(s, "https://shop.example.com").into_owned();
        for (pattern, len) in &kinds {
            s = pattern
                .replace_all(&s, |c: &regex::Captures| {
                    let next = names.len() as u64;
                    let fresh = match *len {
                        0 => stand_in(next, 16)
                            .to_ascii_uppercase()
                            .as_bytes()
                            .chunks(4)
                            .map(|c| String::from_utf8_lossy(c).into_owned())
                            .collect::<Vec<_>>()
                            .join("-"),
                        len => format!("{}_{}", &c[1], stand_in(next, len)),
                    };
                    names.entry(c[0].to_string()).or_insert(fresh).clone()
                })
                .into_owned();
        }
        s
    };
    examples
        .into_iter()
        .filter(|(_, exchange)| exchange != &Exchange::default())
        .map(|(op, exchange)| {
            let request = exchange.request.map(|r| map_strings(r, &mut rename));
            let responses =
                exchange.responses.into_iter().map(|(s, b)| (s, shortened(map_strings(b, &mut rename)))).collect();
            (op, Exchange { request, responses })
        })
        .collect()
}

/// An answer with its lists cut to their first three items: enough to show what a list holds.
fn shortened(v: Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.into_iter().take(3).map(shortened).collect()),
        Value::Object(fields) => Value::Object(fields.into_iter().map(|(k, v)| (k, shortened(v))).collect()),
        other => other,
    }
}

/// `n` made into a stable run of `len` lower-case hex digits (splitmix64).
fn stand_in(n: u64, len: usize) -> String {
    let mut out = String::new();
    let mut x = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    while out.len() < len {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.push_str(&format!("{:016x}", z ^ (z >> 31)));
    }
    out.truncate(len);
    out
}

fn map_strings(v: Value, f: &mut dyn FnMut(&str) -> String) -> Value {
    match v {
        Value::String(s) => Value::String(f(&s)),
        Value::Array(items) => Value::Array(items.into_iter().map(|i| map_strings(i, f)).collect()),
        Value::Object(fields) => {
            Value::Object(fields.into_iter().map(|(k, v)| (k, map_strings(v, f))).collect::<Map<_, _>>())
        }
        other => other,
    }
}

async fn ok(app: &TestApp, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Value {
    let (status, answer) = app.request(method, path, token, body).await;
    assert!(status.is_success(), "{method} {path}: {status} {answer}");
    answer
}

fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field].as_str().unwrap_or_else(|| panic!("no {field} in {v}"))
}

async fn sign_in(app: &TestApp, email: &str, password: &str) -> String {
    let session = ok(app, "POST", "/v1/sessions", None, Some(json!({"email": email, "password": password}))).await;
    text(&session, "token").to_string()
}

/// Answers the sandbox bank's page as the customer would.
async fn approve_at_the_bank(app: &TestApp, order: &Value) {
    let url = order["payment"]["next_action"]["url"].as_str().unwrap_or_else(|| panic!("no next action: {order}"));
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let path = url.split('?').next().unwrap();
    let back = format!("/orders/{}/authenticated", text(order, "id"));
    let answer = browser
        .post(format!("{}{path}", app.url))
        .form(&[("result", "pass"), ("return_to", back.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
}

/// Every operation of the API, once or more, in the order a shop would meet them.
async fn walk(app: &TestApp) {
    let admin = Some(ADMIN_KEY);
    ok(app, "GET", "/healthz", None, None).await;
    ok(app, "GET", "/readyz", None, None).await;
    let (status, _, _) = app.get_bytes("/metrics", ADMIN_KEY).await;
    assert_eq!(status, StatusCode::OK);

    // The catalog, the warehouse network and the shop's payment rules.
    let product = json!({"sku": SHOE, "title": "Trail running shoe, size 42", "price": {"amount": 8900, "currency": "USD"},
                         "prime_eligible": true, "weight_grams": 650, "dimensions_mm": [330, 210, 120]});
    ok(app, "POST", "/v1/ops/products", admin, Some(product)).await;
    ok(app, "PUT", &format!("/v1/ops/stock/{SHOE}"), admin, Some(json!({"fulfillment_center": "SEA1", "on_hand": 40})))
        .await;
    ok(app, "GET", "/v1/products", None, None).await;
    ok(app, "GET", &format!("/v1/products/{SHOE}"), None, None).await;
    ok(app, "GET", "/v1/ops/centers", admin, None).await;
    let center = |cut_off: &str| {
        json!({"code": "DFW1", "name": "Dallas", "time_zone": "America/Chicago", "cut_off": cut_off,
               "operating_days": ["mon", "tue", "wed", "thu", "fri"], "holidays": ["2026-12-25", "2027-01-01"],
               "address": {"name": "BuyNow DFW1", "line1": "4400 Dock Rd", "city": "Dallas", "region": "TX",
                           "postal_code": "75201", "country": "US"}})
    };
    ok(app, "POST", "/v1/ops/centers", admin, Some(center("15:30"))).await;
    ok(app, "PUT", "/v1/ops/centers/DFW1", admin, Some(center("16:00"))).await;
    let settings = ok(app, "GET", "/v1/ops/payment-settings", admin, None).await;
    let same =
        json!({"brands": settings["brands"], "funding": settings["funding"], "gift_cards": settings["gift_cards"]});
    ok(app, "PUT", "/v1/ops/payment-settings", admin, Some(same.clone())).await;
    let seller = json!({"name": "Clay Co", "address": {"name": "Clay Co", "line1": "12 Kiln St", "city": "Portland",
                        "region": "OR", "postal_code": "97201", "country": "US"}});
    let seller = ok(app, "POST", "/v1/ops/sellers", admin, Some(seller)).await;
    let seller_settings = format!("/v1/ops/sellers/{}/payment-settings", text(&seller, "id"));
    ok(app, "GET", &seller_settings, admin, None).await;
    ok(app, "PUT", &seller_settings, admin, Some(same)).await;
    let key = json!({"role": "warehouse", "name": "Dock door 3 scanner", "center": "SEA1"});
    let key = ok(app, "POST", "/v1/ops/keys", admin, Some(key)).await;
    ok(app, "GET", "/v1/ops/keys", admin, None).await;
    ok(app, "DELETE", &format!("/v1/ops/keys/{}", text(&key, "id")), admin, None).await;

    // A webhook receiver that is down: its deliveries fail, and staff send one again.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let hook = json!({"url": format!("http://127.0.0.1:{closed}/buynow/events"), "events": ["order.placed", "shipment.shipped"]});
    let hook = ok(app, "POST", "/v1/ops/webhooks", admin, Some(hook)).await;
    let hook_id = text(&hook, "id").to_string();

    // A customer signs up, saves an address and cards, joins Prime, and redeems a gift card.
    let password = "correct horse battery staple";
    let signup = json!({"email": "ada@example.com", "password": password, "name": "Ada Lovelace"});
    ok(app, "POST", "/v1/customers", None, Some(signup)).await;
    let ada = sign_in(app, "ada@example.com", password).await;
    let me = Some(ada.as_str());
    let home = json!({"name": "Ada Lovelace", "line1": "500 Pine St", "line2": "Apt 4B", "city": "Seattle",
                      "region": "WA", "postal_code": "98101", "country": "US", "default": true});
    let home = ok(app, "POST", "/v1/me/addresses", me, Some(home)).await;
    let work = json!({"name": "Ada Lovelace", "line1": "1 Market St", "city": "San Francisco", "region": "CA",
                      "postal_code": "94105", "country": "US"});
    ok(app, "POST", "/v1/me/addresses", me, Some(work)).await;
    ok(app, "POST", &format!("/v1/me/addresses/{}/default", text(&home, "id")), me, None).await;
    ok(app, "GET", "/v1/me/addresses", me, None).await;
    let card = |number: &str, default: bool| json!({"type": "card", "number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123", "default": default});
    let visa = ok(app, "POST", "/v1/me/payment-methods", me, Some(card("4242 4242 4242 4242", true))).await;
    ok(app, "POST", "/v1/me/payment-methods", me, Some(card(MASTERCARD, false))).await;
    ok(app, "POST", &format!("/v1/me/payment-methods/{}/default", text(&visa, "id")), me, None).await;
    ok(app, "GET", "/v1/me/payment-methods", me, None).await;
    ok(app, "POST", "/v1/me/membership", me, Some(json!({"plan": "prime"}))).await;
    ok(app, "GET", "/v1/me", me, None).await;
    let gift =
        ok(app, "POST", "/v1/ops/gift-cards", admin, Some(json!({"amount": {"amount": 2500, "currency": "USD"}})))
            .await;
    ok(app, "POST", "/v1/me/gift-cards/redeem", me, Some(json!({"code": text(&gift, "code")}))).await;
    ok(app, "GET", "/v1/me/gift-cards", me, None).await;

    // Buy Now: the review, then the order, paid by card and gift card.
    let buy = json!({"sku": SHOE, "quantity": 2, "delivery_speed": "two_day", "use_gift_card_balance": true});
    ok(app, "POST", "/v1/buy-now/preview", me, Some(buy.clone())).await;
    let customer =
        Customer { id: String::new(), email: "ada@example.com".into(), password: password.into(), token: ada.clone() };
    let (status, placed) = app.buy(&customer, "3f1c2a9e-buy-now-trail-shoe", buy).await;
    assert_eq!(status, StatusCode::CREATED, "{placed}");
    let order_id = text(&placed, "id").to_string();
    app.wait_for(&customer, &order_id, "payment_authorized").await;
    ok(app, "GET", "/v1/me/orders", me, None).await;
    let help = format!("/v1/orders/{order_id}/help");
    ok(app, "POST", &help, me, Some(json!({"message": "Can it arrive by Friday? It is a birthday present."}))).await;
    ok(app, "POST", &help, me, Some(json!({"message": "Also, could it be gift wrapped?"}))).await;

    // The warehouse picks, packs and ships it; the carrier brings it.
    app.release_window().await;
    let lists = ok(app, "GET", "/v1/ops/pick-lists?center=SEA1", admin, None).await;
    let parcel = lists["waves"][0]["shipments"][0]["id"].as_str().unwrap_or_else(|| panic!("{lists}")).to_string();
    let step = |s: &str| format!("/v1/ops/shipments/{parcel}/{s}");
    ok(app, "POST", &step("pick"), admin, Some(json!({"lines": [{"sku": SHOE, "quantity": 2}]}))).await;
    ok(app, "POST", &step("pack"), admin, Some(json!({"box": "L"}))).await;
    let shipped = ok(app, "POST", &step("ship"), admin, Some(json!({}))).await;
    let (status, content_type, _) = app.get_bytes(&step("label"), ADMIN_KEY).await;
    assert_eq!((status, content_type.as_str()), (StatusCode::OK, "application/pdf"));
    let (carrier, tracking) = (text(&shipped, "carrier"), text(&shipped, "tracking_number"));
    let moving = json!({"id": format!("{tracking}-1"), "tracking_number": tracking, "type": "in_transit",
                        "location": "Seattle, WA", "detail": "Departed sort facility",
                        "estimated_delivery": (app.state.now() + chrono::Duration::days(2)).date_naive(),
                        "occurred_at": app.state.now()});
    let (status, answer) = app.carrier_event(carrier, &moving).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    app.deliver(carrier, tracking).await;
    app.wait_for(&customer, &order_id, "delivered").await;

    // Support settles the help request with a goodwill refund; the customer returns one pair.
    let cases =
        ok(app, "GET", &format!("/v1/ops/cases?order_id={order_id}&reason=customer_request&status=open"), admin, None)
            .await;
    let case = cases["cases"][0]["id"].as_str().unwrap_or_else(|| panic!("{cases}")).to_string();
    ok(app, "GET", &format!("/v1/ops/cases/{case}"), admin, None).await;
    let refund = json!({"action": "refund", "amount": {"amount": 1000, "currency": "USD"},
                        "note": "Arrived after Friday; goodwill refund", "message": "Sorry it was late: we refunded $10.00."});
    ok(app, "POST", &format!("/v1/ops/cases/{case}/actions"), admin, Some(refund)).await;
    let ret = json!({"items": [{"sku": SHOE, "quantity": 1}], "reason": "no_longer_needed"});
    let ret = ok(app, "POST", &format!("/v1/orders/{order_id}/returns"), me, Some(ret)).await;
    let (status, content_type, _) = app.get_bytes(text(&ret, "label_url"), &ada).await;
    assert_eq!((status, content_type.as_str()), (StatusCode::OK, "application/pdf"));
    ok(
        app,
        "POST",
        &format!("/v1/ops/returns/{}/receive", text(&ret, "id")),
        admin,
        Some(json!({"condition": "sellable"})),
    )
    .await;
    ok(app, "GET", &format!("/v1/orders/{order_id}"), me, None).await;

    // A second order, cancelled before it leaves.
    let (status, second) = app.buy(&customer, "3f1c2a9e-buy-now-second", json!({"sku": SHOE, "quantity": 1})).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    ok(app, "POST", &format!("/v1/orders/{}/cancel", text(&second, "id")), me, None).await;

    // A declined card, and the order paid with another.
    let grace = app.buyer("grace@example.com", DECLINED).await;
    let (_, declined) = app.buy(&grace, "grace-1", json!({"sku": SHOE, "quantity": 1})).await;
    let declined_id = text(&declined, "id").to_string();
    app.wait_for(&grace, &declined_id, "payment_action_required").await;
    let other = app.add_card(&grace, VISA).await;
    let revise = json!({"payment_method_id": other});
    ok(app, "POST", &format!("/v1/orders/{declined_id}/payment-method"), Some(&grace.token), Some(revise)).await;

    // A card whose bank asks the customer to confirm.
    let alan = app.buyer("alan@example.com", AUTHENTICATE).await;
    let (_, asking) = app.buy(&alan, "alan-1", json!({"sku": SHOE, "quantity": 1})).await;
    let asking = app.wait_for(&alan, text(&asking, "id"), "payment_action_required").await;
    approve_at_the_bank(app, &asking).await;
    let authenticated = format!("/v1/orders/{}/payment/authenticated", text(&asking, "id"));
    ok(app, "POST", &authenticated, Some(&alan.token), None).await;

    // Messages, the audit trail and webhook deliveries; then the customer changes the password and signs out.
    app.quiet().await;
    ok(app, "GET", "/v1/me/messages", me, None).await;
    ok(app, "GET", "/v1/ops/audit?limit=20", admin, None).await;
    let mut failing = Value::Null;
    for _ in 0..250 {
        failing = ok(app, "GET", "/v1/ops/deliveries/failing", admin, None).await;
        if failing["deliveries"].as_array().is_some_and(|d| d.iter().any(|d| d["status"] == "dead")) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(40)).await;
    }
    let dead = failing["deliveries"].as_array().and_then(|d| d.iter().find(|d| d["status"] == "dead"));
    let dead = text(dead.unwrap_or_else(|| panic!("no dead delivery: {failing}")), "id").to_string();
    ok(app, "POST", &format!("/v1/ops/deliveries/{dead}/retry"), admin, None).await;
    ok(app, "GET", &format!("/v1/ops/webhooks/{hook_id}/deliveries"), admin, None).await;
    ok(app, "POST", &format!("/v1/ops/webhooks/{hook_id}/rotate"), admin, None).await;
    ok(app, "GET", "/v1/ops/webhooks", admin, None).await;
    ok(app, "DELETE", &format!("/v1/ops/webhooks/{hook_id}"), admin, None).await;
    let change = json!({"current_password": password, "new_password": "a longer passphrase for 2027"});
    ok(app, "POST", "/v1/me/password", me, Some(change)).await;
    let fresh = sign_in(app, "ada@example.com", "a longer passphrase for 2027").await;
    ok(app, "DELETE", "/v1/sessions/current", Some(&fresh), None).await;
}
