//! The pages over plain HTTP: what a browser without JavaScript gets, and what a forged or broken form gets.
//! Bad input answers a readable HTML page with the problem's message and writes nothing.

mod common;

use common::{spawn_app, TestApp, DECLINED, VISA};
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION};
use reqwest::redirect::Policy;
use reqwest::StatusCode;

/// A browser without JavaScript: keeps no cookies of its own (each request names them), follows no redirects.
struct Page {
    client: reqwest::Client,
    base: String,
    cookie: String,
}

impl Page {
    fn new(app: &TestApp, session: Option<&str>) -> Page {
        let client = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
        let mut cookie = "bn_anon=test-anon-secret".to_string();
        if let Some(token) = session {
            cookie.push_str(&format!("; bn_session={token}"));
        }
        Page { client, base: app.url.clone(), cookie }
    }

    async fn get(&self, path: &str) -> (StatusCode, String) {
        let resp = self.client.get(format!("{}{path}", self.base)).header(COOKIE, &self.cookie).send().await.unwrap();
        (resp.status(), resp.text().await.unwrap())
    }

    /// The CSRF token a page's forms carry.
    async fn csrf(&self, path: &str) -> String {
        let (_, html) = self.get(path).await;
        let at = html.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + 19;
        html[at..].split('"').next().unwrap().to_string()
    }

    async fn post(&self, path: &str, content_type: &str, body: String) -> (StatusCode, String, String, Option<String>) {
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .header(CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let ct = resp.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let location = resp.headers().get(LOCATION).and_then(|v| v.to_str().ok()).map(str::to_string);
        (status, ct, resp.text().await.unwrap(), location)
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap()
}

const FORM: &str = "application/x-www-form-urlencoded";

#[tokio::test]
async fn bad_forms_answer_a_readable_page_and_write_nothing() {
    let app = spawn_app().await;
    app.create_product("SHOE", 5000, 10).await;
    let c = app.buyer("pages@example.com", VISA).await;
    let (_, placed) = app.buy(&c, "pages-1", serde_json::json!({"sku": "SHOE", "quantity": 1})).await;
    let order = placed["id"].as_str().unwrap().to_string();
    let signed_in = Page::new(&app, Some(&c.token));
    let csrf = signed_in.csrf("/account").await;
    let anonymous = Page::new(&app, None);
    let anon_csrf = anonymous.csrf("/signin").await;
    assert_ne!(csrf, anon_csrf, "a session's forms carry a token of their own");
    let big = "x".repeat(5_000);
    let huge = "y".repeat(20_000);
    let bad_luhn = "4242424242424241";

    struct Case<'a> {
        what: &'a str,
        page: &'a Page,
        path: String,
        content_type: &'a str,
        body: String,
        status: StatusCode,
        says: &'a str,
    }
    let cases = [
        Case {
            what: "a forged CSRF token",
            page: &signed_in,
            path: "/account/addresses".into(),
            content_type: FORM,
            body: form(&[("csrf", "forged"), ("name", "A"), ("line1", "1 Main St"), ("city", "Seattle")]),
            status: StatusCode::FORBIDDEN,
            says: "did not come from this site",
        },
        Case {
            what: "the token of a signed-out form, with a session",
            page: &signed_in,
            path: "/account/addresses".into(),
            content_type: FORM,
            body: form(&[("csrf", &anon_csrf), ("name", "A")]),
            status: StatusCode::FORBIDDEN,
            says: "did not come from this site",
        },
        Case {
            what: "no CSRF token",
            page: &signed_in,
            path: format!("/orders/{order}/cancel"),
            content_type: FORM,
            body: String::new(),
            status: StatusCode::FORBIDDEN,
            says: "did not come from this site",
        },
        Case {
            what: "a forged token on Buy Now",
            page: &signed_in,
            path: "/buy/SHOE".into(),
            content_type: FORM,
            body: form(&[("csrf", "x"), ("idempotency_key", "k1"), ("quantity", "1")]),
            status: StatusCode::FORBIDDEN,
            says: "did not come from this site",
        },
        Case {
            what: "a forged token on sign-in",
            page: &anonymous,
            path: "/signin".into(),
            content_type: FORM,
            body: form(&[("csrf", &csrf), ("email", "pages@example.com"), ("password", "correct horse battery")]),
            status: StatusCode::FORBIDDEN,
            says: "did not come from this site",
        },
        Case {
            what: "missing fields",
            page: &signed_in,
            path: "/account/addresses".into(),
            content_type: FORM,
            body: form(&[("csrf", &csrf)]),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            says: "field-error",
        },
        Case {
            what: "an oversized field",
            page: &signed_in,
            path: "/account/addresses".into(),
            content_type: FORM,
            body: form(&[
                ("csrf", &csrf),
                ("name", &big),
                ("line1", "1 Main St"),
                ("city", "Seattle"),
                ("region", "WA"),
                ("postal_code", "98109"),
                ("country", "US"),
            ]),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            says: "field-error",
        },
        Case {
            what: "an oversized form",
            page: &signed_in,
            path: "/account/addresses".into(),
            content_type: FORM,
            body: form(&[("csrf", &csrf), ("name", &huge)]),
            status: StatusCode::PAYLOAD_TOO_LARGE,
            says: "too large",
        },
        Case {
            what: "a card number that fails its check digit (never shown back)",
            page: &signed_in,
            path: "/account/cards".into(),
            content_type: FORM,
            body: form(&[
                ("csrf", &csrf),
                ("number", bad_luhn),
                ("exp_month", "12"),
                ("exp_year", "2030"),
                ("cvc", "123"),
            ]),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            says: "field-error",
        },
        Case {
            what: "a month that is not a number",
            page: &signed_in,
            path: "/account/cards".into(),
            content_type: FORM,
            body: form(&[
                ("csrf", &csrf),
                ("number", DECLINED),
                ("exp_month", "soon"),
                ("exp_year", "2030"),
                ("cvc", "1"),
            ]),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            says: "enter a whole number",
        },
        Case {
            what: "a quantity that is not a number",
            page: &signed_in,
            path: "/buy/SHOE".into(),
            content_type: FORM,
            body: form(&[("csrf", &csrf), ("idempotency_key", "k2"), ("quantity", "lots")]),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            says: "enter a whole number",
        },
        Case {
            what: "Buy Now without its idempotency key",
            page: &signed_in,
            path: "/buy/SHOE".into(),
            content_type: FORM,
            body: form(&[("csrf", &csrf), ("quantity", "1")]),
            status: StatusCode::BAD_REQUEST,
            says: "reload the page",
        },
        Case {
            what: "more than there is",
            page: &signed_in,
            path: "/buy/SHOE".into(),
            content_type: FORM,
            body: form(&[("csrf", &csrf), ("idempotency_key", "k3"), ("quantity", "10")]),
            status: StatusCode::CONFLICT,
            says: "left in stock",
        },
        Case {
            what: "a product that does not exist",
            page: &signed_in,
            path: "/buy/NO-SUCH-THING".into(),
            content_type: FORM,
            body: form(&[("csrf", &csrf), ("idempotency_key", "k4"), ("quantity", "1")]),
            status: StatusCode::NOT_FOUND,
            says: "not found",
        },
        Case {
            what: "an order id that is not one",
            page: &signed_in,
            path: "/orders/ord_nonsense/cancel".into(),
            content_type: FORM,
            body: form(&[("csrf", &csrf)]),
            status: StatusCode::NOT_FOUND,
            says: "not found",
        },
        Case {
            what: "a path that is not UTF-8",
            page: &signed_in,
            path: "/orders/%00%ff/cancel".into(),
            content_type: FORM,
            body: form(&[("csrf", &csrf)]),
            status: StatusCode::NOT_FOUND,
            says: "not found",
        },
        Case {
            what: "JSON sent to a form",
            page: &signed_in,
            path: "/account/addresses".into(),
            content_type: "application/json",
            body: format!(r#"{{"csrf": "{csrf}", "name": "A"}}"#),
            status: StatusCode::BAD_REQUEST,
            says: "send the form as the page does",
        },
        Case {
            what: "a wrong password",
            page: &anonymous,
            path: "/signin".into(),
            content_type: FORM,
            body: form(&[("csrf", &anon_csrf), ("email", "pages@example.com"), ("password", "not it at all")]),
            status: StatusCode::UNAUTHORIZED,
            says: "wrong e-mail or password",
        },
    ];

    let before = app.dump().await;
    for case in &cases {
        let (status, content_type, body, _) = case.page.post(&case.path, case.content_type, case.body.clone()).await;
        assert_eq!(status, case.status, "{}: {body}", case.what);
        assert!(content_type.starts_with("text/html"), "{}: {content_type}", case.what);
        assert!(body.contains("<main"), "{}: a whole page", case.what);
        assert!(body.to_lowercase().contains(case.says), "{}: should say {:?}:\n{body}", case.what, case.says);
        assert!(!body.contains(bad_luhn), "{}: a card number is never shown back", case.what);
    }
    assert_eq!(app.dump().await, before, "nothing was written");
}

#[tokio::test]
async fn pages_work_without_javascript_and_need_a_session() {
    let app = spawn_app().await;
    app.create_product("SHOE", 5000, 10).await;
    let c = app.buyer("nojs@example.com", VISA).await;
    let anonymous = Page::new(&app, None);
    // Signed out: the review asks to sign in first, and comes back after.
    let (status, _) = anonymous.get("/orders").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let resp = anonymous.client.get(format!("{}/buy/SHOE?quantity=2", app.url)).send().await.unwrap();
    assert_eq!(resp.headers()[LOCATION], "/signin?next=%2Fbuy%2FSHOE%3Fquantity%3D2");
    // Unknown pages are pages too, and the API's stay problem+json.
    let (status, html) = anonymous.get("/no/such/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("<main"));
    let (status, body) = app.get("/v1/no-such-thing", None).await;
    assert_eq!((status, common::problem_code(&body)), (StatusCode::NOT_FOUND, "not_found"));

    // Signed in: the review page, then its form posted twice (a resent form) is one order.
    let page = Page::new(&app, Some(&c.token));
    let (status, review) = page.get("/buy/SHOE?quantity=2&delivery_speed=one_day").await;
    assert_eq!(status, StatusCode::OK, "{review}");
    let field = |name: &str| {
        let at = review.find(&format!("name=\"{name}\" value=\"")).unwrap() + name.len() + 15;
        review[at..].split('"').next().unwrap().to_string()
    };
    let body = form(&[
        ("csrf", &field("csrf")),
        ("idempotency_key", &field("idempotency_key")),
        ("quantity", "2"),
        ("address_id", &field("address_id")),
        ("payment_method_id", &field("payment_method_id")),
        ("delivery_speed", "one_day"),
    ]);
    let (first, _, _, to) = page.post("/buy/SHOE", FORM, body.clone()).await;
    let (second, _, _, again) = page.post("/buy/SHOE", FORM, body).await;
    assert_eq!((first, second), (StatusCode::SEE_OTHER, StatusCode::SEE_OTHER));
    assert_eq!(to, again, "the same order");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM orders").await, 1);
    let order_page = to.unwrap();
    let (status, html) = page.get(&order_page).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("One-Day"), "{html}");
    // Another customer's order is not there for them.
    let other = app.buyer("other@example.com", VISA).await;
    let (status, _) = Page::new(&app, Some(&other.token)).get(&order_page).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Sign out ends the session for the API too.
    let csrf = page.csrf("/account").await;
    let (status, _, _, _) = page.post("/signout", FORM, form(&[("csrf", &csrf)])).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) = app.get("/v1/me", Some(&c.token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_console_shows_a_seller_its_own_queue_and_the_warehouse_searches_orders() {
    let app = spawn_app().await;
    let (_, seller) = app.ops("POST", "/v1/ops/sellers", Some(serde_json::json!({"name": "Clay Co"}))).await;
    let (seller_id, key, center) =
        (seller["id"].as_str().unwrap(), seller["key"].as_str().unwrap(), seller["center"].as_str().unwrap());
    let product = serde_json::json!({"sku": "VASE", "title": "A vase", "price": {"amount": 4000, "currency": "USD"},
        "prime_eligible": false, "fulfilled_by": seller_id});
    app.ops("POST", "/v1/ops/products", Some(product)).await;
    let stock = serde_json::json!({"fulfillment_center": center, "on_hand": 3});
    app.ops("PUT", "/v1/ops/stock/VASE", Some(stock)).await;
    let c = app.buyer("vase@example.com", VISA).await;
    let (_, order) = app.buy(&c, "k1", serde_json::json!({"sku": "VASE", "quantity": 1})).await;
    let id = order["id"].as_str().unwrap();
    app.advance(chrono::Duration::minutes(31));
    app.settle().await;

    // Signing in to the console with a key that is not one says so, and sets nothing.
    let anonymous = Page::new(&app, None);
    let csrf = anonymous.csrf("/ops/signin").await;
    let (status, _, html, _) =
        anonymous.post("/ops/signin", FORM, form(&[("csrf", &csrf), ("key", "bns_not_a_key")])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("not a staff key"));

    let staff = |cookie_key: &str| Page {
        client: reqwest::Client::builder().redirect(Policy::none()).build().unwrap(),
        base: app.url.clone(),
        cookie: format!("bn_anon=a; bn_staff={cookie_key}"),
    };
    let (status, _, _, location) =
        anonymous.post("/ops/signin", FORM, form(&[("csrf", &csrf), ("key", key), ("next", "/ops")])).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/ops")));
    let seller_page = staff(key);
    let (status, html) = seller_page.get("/ops").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(id), "the seller's queue has its order");
    assert!(html.contains(&format!("Pick list: {center}")));
    let (status, _) = seller_page.get("/ops?center=SEA1").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = seller_page.get("/ops/orders?q=vase@example.com").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let warehouse = staff(common::ADMIN_KEY);
    let (_, html) = warehouse.get("/ops").await;
    assert!(html.contains("Pick list: SEA1") && !html.contains(id), "not in the store's own queue");
    let (status, html) = warehouse.get("/ops/orders?q=vase@example.com").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(id));
    let (status, html) = warehouse.get(&format!("/ops/orders/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Released"));
}

#[tokio::test]
async fn the_account_and_a_return_work_through_their_forms() {
    let app = spawn_app().await;
    app.stocked_product("SHOE", 5000, &[("SEA1", 4)]).await;
    let c = app.buyer("forms@example.com", VISA).await;
    let page = Page::new(&app, Some(&c.token));
    let csrf = page.csrf("/account").await;

    // A second address, then made the default; a second card, default at once.
    let address = form(&[
        ("csrf", &csrf),
        ("name", "Ada at work"),
        ("line1", "1 Work Plaza"),
        ("city", "Portland"),
        ("region", "OR"),
        ("postal_code", "97201"),
        ("country", "US"),
    ]);
    let (status, _, _, to) = page.post("/account/addresses", FORM, address).await;
    assert_eq!((status, to.as_deref()), (StatusCode::SEE_OTHER, Some("/account#addresses")));
    let (_, addresses) = app.get("/v1/me/addresses", Some(&c.token)).await;
    let work = addresses.as_array().unwrap().iter().find(|a| a["city"] == "Portland").unwrap().clone();
    assert_eq!(work["default"], false);
    let (status, _, _, _) = page
        .post(&format!("/account/addresses/{}/default", work["id"].as_str().unwrap()), FORM, form(&[("csrf", &csrf)]))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, me) = app.get("/v1/me", Some(&c.token)).await;
    assert_eq!(me["default_address_id"], work["id"]);
    let card = form(&[
        ("csrf", &csrf),
        ("number", "5555555555554444"),
        ("exp_month", "11"),
        ("exp_year", "2031"),
        ("cvc", "321"),
        ("default", "yes"),
    ]);
    let (status, _, _, _) = page.post("/account/cards", FORM, card).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html) = page.get("/account").await;
    assert!(html.contains("ending in 4444") && !html.contains("5555555555554444"), "last four digits only");
    let (_, me) = app.get("/v1/me", Some(&c.token)).await;
    let (_, cards) = app.get("/v1/me/payment-methods", Some(&c.token)).await;
    let mastercard = cards.as_array().unwrap().iter().find(|c| c["last4"] == "4444").unwrap();
    assert_eq!(me["default_payment_method_id"], mastercard["id"]);
    let (status, _, _, _) = page.post("/account/membership", FORM, form(&[("csrf", &csrf)])).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(app.get("/v1/me", Some(&c.token)).await.1["prime"], true);

    // Delivered, then sent back from the order's page.
    let (_, order) = app.buy(&c, "k1", serde_json::json!({"sku": "SHOE", "quantity": 2})).await;
    let id = order["id"].as_str().unwrap().to_string();
    app.release_window().await;
    let parcel = app.pick_list("SEA1", common::ADMIN_KEY).await[0]["id"].as_str().unwrap().to_string();
    let shipped = app.pick_pack_ship(&parcel, common::ADMIN_KEY, serde_json::json!({})).await;
    app.deliver(shipped["carrier"].as_str().unwrap(), shipped["tracking_number"].as_str().unwrap()).await;
    app.settle().await;
    let (_, html) = page.get(&format!("/orders/{id}")).await;
    assert!(html.contains("Request a return"), "{html}");
    let too_many = form(&[("csrf", &csrf), ("sku", "SHOE"), ("quantity", "3"), ("reason", "damaged")]);
    let (status, _, html, _) = page.post(&format!("/orders/{id}/returns"), FORM, too_many).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("field-error") || html.contains("alert"), "{html}");
    let one = form(&[("csrf", &csrf), ("sku", "SHOE"), ("quantity", "1"), ("reason", "damaged")]);
    let (status, _, _, _) = page.post(&format!("/orders/{id}/returns"), FORM, one).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(app.order(&c, &id).await["status"], "return_requested");
    let (_, html) = page.get(&format!("/orders/{id}")).await;
    assert!(html.contains("Return: Requested"), "{html}");
    assert!(html.contains("Payment history") && html.contains("Charged for a shipment"), "{html}");
    let needle = "class=\"return-label\" href=\"";
    let at = html.find(needle).unwrap() + needle.len();
    let label = html[at..].split('"').next().unwrap();
    let resp = page.client.get(format!("{}{label}", app.url)).header(COOKIE, &page.cookie).send().await.unwrap();
    assert_eq!(resp.headers()[CONTENT_TYPE], "application/pdf");
    assert!(resp.bytes().await.unwrap().starts_with(b"%PDF-"));
}

#[tokio::test]
async fn signing_up_in_the_form_signs_in_and_a_taken_email_says_so_beside_the_form() {
    let app = spawn_app().await;
    let page = Page::new(&app, None);
    let csrf = page.csrf("/signup").await;
    let fields = [
        ("csrf", csrf.as_str()),
        ("name", "Grace Hopper"),
        ("email", "grace@example.com"),
        ("password", "a long enough password"),
    ];
    let resp = page
        .client
        .post(format!("{}/signup", app.url))
        .header(COOKIE, &page.cookie)
        .header(CONTENT_TYPE, FORM)
        .body(form(&fields))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[LOCATION], "/account");
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("bn_session=bnt_") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    let token = cookie.trim_start_matches("bn_session=").split(';').next().unwrap();
    let (status, me) = app.get("/v1/me", Some(token)).await;
    assert_eq!((status, me["name"].as_str()), (reqwest::StatusCode::OK, Some("Grace Hopper")));

    let (status, _, html, _) = page.post("/signup", FORM, form(&fields)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("already exists") && html.contains("role=\"alert\""), "{html}");
    let short = [("csrf", csrf.as_str()), ("name", "Al"), ("email", "al@example.com"), ("password", "short")];
    let (status, _, html, _) = page.post("/signup", FORM, form(&short)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"password-error\""), "the message is beside the password field: {html}");
}

#[tokio::test]
async fn a_gift_card_redeems_from_the_account_page_and_a_bad_code_says_why_beside_the_form() {
    let app = spawn_app().await;
    let (_, issued) = app
        .ops("POST", "/v1/ops/gift-cards", Some(serde_json::json!({"amount": {"amount": 2500, "currency": "USD"}})))
        .await;
    let code = issued["code"].as_str().unwrap().to_string();
    let c = app.buyer("gift-page@example.com", VISA).await;
    let page = Page::new(&app, Some(&c.token));
    let (_, html) = page.get("/account").await;
    assert!(html.contains("Your gift card balance") && html.contains("$0.00"), "{html}");
    let csrf = page.csrf("/account").await;

    for (typed, status, says) in [
        ("nonsense", StatusCode::UNPROCESSABLE_ENTITY, "is not a gift card code"),
        ("ABCD-EFGH-JKMN-PQRS", StatusCode::NOT_FOUND, "gift card not found"),
    ] {
        let (got, _, html, _) = page.post("/account/gift-cards", FORM, form(&[("csrf", &csrf), ("code", typed)])).await;
        assert_eq!(got, status, "{typed}: {html}");
        assert!(html.contains(says) && html.contains("Redeem a gift card"), "{typed}: {html}");
        assert!(!html.contains(typed) || typed == "nonsense", "a code typed is not shown back");
    }
    let (got, _, _, to) = page.post("/account/gift-cards", FORM, form(&[("csrf", &csrf), ("code", &code)])).await;
    assert_eq!((got, to.as_deref()), (StatusCode::SEE_OTHER, Some("/account#gift-cards")));
    let (_, html) = page.get("/account").await;
    assert!(html.contains("$25.00") && html.contains("Gift card redeemed"), "{html}");
    assert!(!html.contains(&code), "the code is not shown again");

    // Someone else's try at the same code.
    let other = app.buyer("gift-page-2@example.com", VISA).await;
    let page = Page::new(&app, Some(&other.token));
    let csrf = page.csrf("/account").await;
    let (got, _, html, _) = page.post("/account/gift-cards", FORM, form(&[("csrf", &csrf), ("code", &code)])).await;
    assert_eq!(got, StatusCode::CONFLICT);
    assert!(html.contains("already been redeemed"), "{html}");
}

#[tokio::test]
async fn the_review_offers_only_the_cards_the_item_takes() {
    let app = spawn_app().await;
    app.create_product("SHOE", 5000, 10).await;
    let only_visa = serde_json::json!({"brands": ["visa"], "funding": ["credit"], "gift_cards": true});
    assert_eq!(app.ops("PUT", "/v1/ops/payment-settings", Some(only_visa)).await.0, StatusCode::OK);
    // A Mastercard by default, and a Visa besides.
    let c = app.buyer("cards@example.com", common::MASTERCARD).await;
    let visa = app.add_card(&c, VISA).await;
    let page = Page::new(&app, Some(&c.token));
    let (status, review) = page.get("/buy/SHOE").await;
    assert_eq!(status, StatusCode::OK, "{review}");
    assert!(review.contains("Visa ending in 4242"), "the accepted card is offered in the default's place: {review}");
    assert!(review.contains("ending in 4444 (expires 12/2031) — not accepted for this item"), "{review}");
    assert!(review.contains("This item takes Visa, credit cards."), "{review}");
    assert!(review.contains(&format!("name=\"payment_method_id\" value=\"{visa}\"")));
    // The place form's hidden fields (the radio buttons above carry the same names).
    let field = |name: &str| hidden_field(&review, name);
    assert_eq!(field("payment_method_id"), visa, "Place your order pays with it");
    let body = form(&[
        ("csrf", &field("csrf")),
        ("idempotency_key", &field("idempotency_key")),
        ("quantity", "1"),
        ("address_id", &field("address_id")),
        ("payment_method_id", &field("payment_method_id")),
        ("delivery_speed", &field("delivery_speed")),
    ]);
    let (status, _, _, to) = page.post("/buy/SHOE", FORM, body).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html) = page.get(&to.unwrap()).await;
    assert!(html.contains("Visa ending in 4242"), "{html}");
    // Chosen by hand anyway (a form from before the settings changed): refused, saying why.
    let (status, html) = page.get(&format!("/buy/SHOE?payment_method_id={}", field_of_default(&app, &c).await)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("not accepted for this item"), "{html}");
}

async fn field_of_default(app: &TestApp, c: &common::Customer) -> String {
    app.get("/v1/me", Some(&c.token)).await.1["default_payment_method_id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_review_without_javascript_uses_the_gift_card_balance_when_ticked() {
    let app = spawn_app().await;
    app.create_product("SHOE", 5000, 10).await;
    let c = app.buyer("gift-review@example.com", VISA).await;
    let page = Page::new(&app, Some(&c.token));
    let (_, review) = page.get("/buy/SHOE").await;
    assert!(!review.contains("Use my gift card balance"), "nothing to use yet");
    let (_, issued) = app
        .ops("POST", "/v1/ops/gift-cards", Some(serde_json::json!({"amount": {"amount": 2000, "currency": "USD"}})))
        .await;
    let (status, _) =
        app.post("/v1/me/gift-cards/redeem", Some(&c.token), serde_json::json!({"code": issued["code"]})).await;
    assert_eq!(status, StatusCode::OK);
    let (_, review) = page.get("/buy/SHOE").await;
    assert!(review.contains("Use my gift card balance ($20.00)"), "{review}");
    assert!(!review.contains("gift-card-applied"), "not until it is ticked");
    let (status, review) = page.get("/buy/SHOE?use_gift_card_balance=true").await;
    assert_eq!(status, StatusCode::OK, "{review}");
    assert!(review.contains("id=\"gift-card-applied\">−$20.00"), "{review}");
    let field = |name: &str| hidden_field(&review, name);
    let body = form(&[
        ("csrf", &field("csrf")),
        ("idempotency_key", &field("idempotency_key")),
        ("quantity", "1"),
        ("address_id", &field("address_id")),
        ("payment_method_id", &field("payment_method_id")),
        ("delivery_speed", &field("delivery_speed")),
        ("use_gift_card_balance", &field("use_gift_card_balance")),
    ]);
    let (status, _, _, to) = page.post("/buy/SHOE", FORM, body).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html) = page.get(&to.unwrap()).await;
    assert!(html.contains("Gift card balance: $20.00"), "{html}");
    assert!(html.contains("Paid from your gift card balance"), "{html}");
    let (_, me) = app.get("/v1/me", Some(&c.token)).await;
    assert_eq!(me["gift_card_balance"]["amount"], 0);
}

#[tokio::test]
async fn without_javascript_the_bank_asks_on_its_page_and_sends_the_customer_back_to_the_order() {
    let app = spawn_app().await;
    app.create_product("SHOE", 5000, 10).await;
    let c = app.buyer("bank-page@example.com", "4000002500003155").await;
    let page = Page::new(&app, Some(&c.token));
    let (_, review) = page.get("/buy/SHOE").await;
    let field = |name: &str| hidden_field(&review, name);
    let body = form(&[
        ("csrf", &field("csrf")),
        ("idempotency_key", &field("idempotency_key")),
        ("quantity", "1"),
        ("address_id", &field("address_id")),
        ("payment_method_id", &field("payment_method_id")),
        ("delivery_speed", &field("delivery_speed")),
    ]);
    // Placed: straight to the bank's page.
    let (status, _, _, to) = page.post("/buy/SHOE", FORM, body).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let bank = to.unwrap();
    assert!(bank.starts_with("/sandbox/authenticate/"), "{bank}");
    // Left without answering: the order page offers the bank's page again.
    let (_, orders) = app.get("/v1/me/orders", Some(&c.token)).await;
    let id = orders["orders"][0]["id"].as_str().unwrap().to_string();
    let (_, html) = page.get(&format!("/orders/{id}")).await;
    assert!(html.contains("Your bank asks you to confirm this payment."), "{html}");
    assert!(html.contains("Confirm with your bank") && html.contains(&bank.replace('&', "&amp;")), "{html}");
    // Answered there, and back: the order goes on.
    let path = bank.split('?').next().unwrap();
    let back = format!("/orders/{id}/authenticated");
    let (status, _, _, to) = page.post(path, FORM, form(&[("result", "pass"), ("return_to", &back)])).await;
    assert_eq!((status, to.as_deref()), (StatusCode::SEE_OTHER, Some(back.as_str())));
    let (status, _) = page.get(&back).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html) = page.get(&format!("/orders/{id}")).await;
    assert!(!html.contains("Confirm with your bank"), "{html}");
    assert_eq!(app.order(&c, &id).await["status"], "payment_authorized");
}

/// The value of the review's hidden form field `name` (what "Place your order" sends).
fn hidden_field(review: &str, name: &str) -> String {
    let needle = format!("type=\"hidden\" name=\"{name}\" value=\"");
    let at = review.find(&needle).unwrap_or_else(|| panic!("{needle}")) + needle.len();
    review[at..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn without_javascript_a_customer_asks_for_help_and_support_refunds_through_the_console_forms() {
    let app = spawn_app().await;
    app.stocked_product("KITE", 6000, &[("SEA1", 2)]).await;
    let c = app.buyer("kite@example.com", VISA).await;
    let (_, placed) = app.buy(&c, "k1", serde_json::json!({"sku": "KITE", "quantity": 1})).await;
    let id = placed["id"].as_str().unwrap().to_string();
    app.release_window().await;
    let parcel = app.pick_list("SEA1", common::ADMIN_KEY).await[0]["id"].as_str().unwrap().to_string();
    app.pick_pack_ship(&parcel, common::ADMIN_KEY, serde_json::json!({})).await;
    app.settle().await;

    // The customer's question, through the order page's form: an empty one is answered beside the form.
    let page = Page::new(&app, Some(&c.token));
    let csrf = page.csrf(&format!("/orders/{id}")).await;
    let (status, _, html, _) =
        page.post(&format!("/orders/{id}/help"), FORM, form(&[("csrf", &csrf), ("message", " ")])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("1 to 2,000 characters") && html.contains("help-message-error"));
    let (status, _, _, to) = page
        .post(&format!("/orders/{id}/help"), FORM, form(&[("csrf", &csrf), ("message", "The string snapped.")]))
        .await;
    assert_eq!((status, to), (StatusCode::SEE_OTHER, Some(format!("/orders/{id}?asked=1#help"))));
    let (_, html) = page.get(&format!("/orders/{id}?asked=1")).await;
    assert!(html.contains("we have your message") && html.contains("help-requests"));

    // Support: their key opens the queue, not the pick lists; a warehouse key does not open the queue.
    let (_, key) =
        app.ops("POST", "/v1/ops/keys", Some(serde_json::json!({"role": "support", "name": "Sam Support"}))).await;
    let (_, warehouse) =
        app.ops("POST", "/v1/ops/keys", Some(serde_json::json!({"role": "warehouse", "name": "Wes Warehouse"}))).await;
    let staff = |k: &str| Page {
        client: reqwest::Client::builder().redirect(Policy::none()).build().unwrap(),
        base: app.url.clone(),
        cookie: format!("bn_anon=a; bn_staff={k}"),
    };
    let support = staff(key["key"].as_str().unwrap());
    let (status, _) = support.get("/ops").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) = staff(warehouse["key"].as_str().unwrap()).get("/ops/cases").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, html) = support.get("/ops/cases").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&id) && html.contains("The string snapped."));
    let case_id = html.split("href=\"/ops/cases/").nth(1).unwrap().split('"').next().unwrap().to_string();
    let csrf = support.csrf(&format!("/ops/cases/{case_id}")).await;
    let act = |pairs: Vec<(&'static str, String)>| {
        let mut all = vec![("csrf", csrf.clone())];
        all.extend(pairs);
        let body: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
        form(&body)
    };
    // A bad amount is answered beside the form, and nothing is refunded.
    let (status, _, html, _) = support
        .post(
            &format!("/ops/cases/{case_id}/actions"),
            FORM,
            act(vec![("action", "refund".into()), ("amount", "12.345".into()), ("note", "x".into())]),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("an amount in dollars"));
    let (status, _, _, to) = support
        .post(
            &format!("/ops/cases/{case_id}/actions"),
            FORM,
            act(vec![("action", "refund".into()), ("amount", "10.00".into()), ("note", "broken string".into())]),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{to:?}");
    app.settle().await;
    let order = app.order(&c, &id).await;
    assert_eq!(order["payment"]["refunded"]["amount"], 1000, "{order}");
    let (_, html) = support.get(&format!("/ops/cases/{case_id}")).await;
    assert!(html.contains("Resolved") && html.contains("Refund of"), "{html}");
}
