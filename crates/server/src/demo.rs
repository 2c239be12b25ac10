//! The demo shop: two fulfillment centers, a marketplace seller, a dozen products and a signed-up customer,
//! seeded once, in one transaction: of several processes starting at once on a new database, one seeds and the
//! others find it seeded.

use crate::auth::hash_password;
use crate::personal_data;
use crate::state::AppState;
use buynow_domain::card::CardNumber;
use buynow_domain::values::AddressInput;
use buynow_domain::{CustomerId, Email, Money, PaymentMethodId, PostalAddress};
use buynow_store::catalog::{self, Center, Product};
use buynow_store::customers::{self, SavedCard};
use buynow_store::{Conn, Store, StoreError};

pub const DEMO_EMAIL: &str = "demo@buynow.dev";
/// A public demo password, printed at start on purpose: the demo customer holds nothing real.
pub const DEMO_PASSWORD: &str = "buynow-demo";
/// The demo's admin key when none is configured, printed at start for the warehouse console: public on
/// purpose, and used only with `--demo`.
pub const DEMO_STAFF_KEY: &str = "bns_demo_staff_key";

/// US holidays on which the demo centers neither ship nor do carriers deliver.
const HOLIDAYS: [&str; 10] = [
    "2026-11-26",
    "2026-12-25",
    "2027-01-01",
    "2027-01-18",
    "2027-02-15",
    "2027-05-31",
    "2027-07-05",
    "2027-09-06",
    "2027-11-25",
    "2027-12-24",
];

fn address(name: &str, line1: &str, city: &str, region: &str, postal_code: &str) -> String {
    let a = PostalAddress {
        name: name.into(),
        line1: line1.into(),
        line2: None,
        city: city.into(),
        region: region.into(),
        postal_code: postal_code.into(),
        country: "US".into(),
    };
    serde_json::to_string(&a).expect("an address serializes")
}

pub fn centers() -> Vec<Center> {
    let holidays: Vec<String> = HOLIDAYS.iter().map(|h| h.to_string()).collect();
    vec![
        Center {
            code: "SEA1".into(),
            name: "Seattle fulfillment center".into(),
            time_zone: "America/Los_Angeles".into(),
            cutoff_minute: 14 * 60,
            operating_days: vec![1, 2, 3, 4, 5, 6],
            holidays: holidays.clone(),
            rank: 1,
            is_default: true,
            address: address("Seattle fulfillment center", "2700 16th Ave SW", "Seattle", "WA", "98134"),
            boxes: String::new(),
            seller_id: None,
        },
        Center {
            code: "PHL1".into(),
            name: "Philadelphia fulfillment center".into(),
            time_zone: "America/New_York".into(),
            cutoff_minute: 14 * 60,
            operating_days: vec![1, 2, 3, 4, 5, 6],
            holidays,
            rank: 2,
            is_default: false,
            address: address("Philadelphia fulfillment center", "2 Commerce Dr", "Philadelphia", "PA", "19153"),
            boxes: String::new(),
            seller_id: None,
        },
    ]
}

/// The demo's marketplace seller, who ships its own mugs.
pub const DEMO_SELLER: &str = "Clayworks Studio";

/// (sku, title, price in cents, prime eligible, by the seller, stock at SEA1, stock at PHL1 (the seller's own
/// place for the seller's item), grams, millimetres, where it may not go)
type DemoProduct = (&'static str, &'static str, i64, bool, bool, i64, i64, u32, [u32; 3], &'static [&'static str]);
const PRODUCTS: [DemoProduct; 12] = [
    ("ECHO-DOT-5", "Echo Dot (5th gen) smart speaker", 4999, true, false, 120, 80, 340, [100, 100, 90], &[]),
    ("KINDLE-PW", "Kindle Paperwhite, 16 GB", 14999, true, false, 40, 35, 205, [175, 125, 10], &[]),
    ("USB-C-CABLE", "USB-C to USB-C cable, 2 m", 1299, true, false, 500, 400, 60, [120, 80, 20], &[]),
    // Lithium-free alkaline cells still may not fly to the islands.
    (
        "AA-BATT-24",
        "AA alkaline batteries, 24 pack",
        1599,
        true,
        false,
        300,
        250,
        560,
        [150, 110, 30],
        &["US-HI", "US-AK"],
    ),
    ("COFFEE-1KG", "Whole bean coffee, 1 kg", 2499, true, false, 60, 0, 1020, [250, 130, 90], &[]),
    ("YOGA-MAT", "Yoga mat, 6 mm", 2999, false, false, 25, 25, 1100, [620, 150, 150], &[]),
    ("LEGO-CLASSIC", "LEGO Classic creative brick box", 3499, true, false, 30, 20, 1300, [370, 260, 110], &[]),
    ("HDMI-SWITCH", "HDMI switch, 3 ports", 1999, false, false, 15, 10, 150, [100, 60, 25], &[]),
    ("DESK-LAMP", "LED desk lamp", 3999, true, false, 12, 8, 900, [450, 160, 120], &[]),
    ("WATER-BOTTLE", "Insulated water bottle, 1 l", 2299, true, false, 70, 70, 420, [280, 90, 90], &[]),
    ("HANDMADE-MUG", "Handmade ceramic mug", 2800, false, true, 0, 9, 450, [120, 100, 100], &[]),
    (
        "FLASH-DEAL-TV",
        "55\" 4K TV (flash deal)",
        29999,
        true,
        false,
        5,
        0,
        17000,
        [1300, 800, 150],
        &["US-HI", "US-AK"],
    ),
];

/// Seeds the demo data unless it is there already; returns whether it seeded. Everything is written in one
/// transaction; another process that seeded first makes it fail on the demo customer's e-mail, and it then
/// rolls back whole and answers `false`.
pub async fn seed(state: &AppState) -> Result<bool, StoreError> {
    let store = &state.store;
    let email = Email::parse(DEMO_EMAIL).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let hashes = personal_data::email_hashes(&state.vault, &email);
    if customers::by_email_hash(&mut store.read().await?.conn(), &hashes).await?.is_some() {
        return Ok(false);
    }
    let password_hash = hash_password(state.config.password_cost, DEMO_PASSWORD.to_string())
        .await
        .map_err(|e| StoreError::Corrupt(format!("hashing the demo password: {e}")))?;
    let seller_address: PostalAddress =
        serde_json::from_str(&address(DEMO_SELLER, "12 Kiln Lane", "Asheville", "NC", "28801"))
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut tx = store.write().await?;
    let written = write_demo(&mut tx.conn(), state, &password_hash, &seller_address).await;
    let committed = match written {
        Ok(()) => tx.commit().await,
        // Dropping the transaction rolls it back.
        Err(e) => Err(e),
    };
    match committed {
        Ok(()) => Ok(true),
        Err(e) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e),
    }
}

async fn write_demo(
    c: &mut Conn<'_>,
    state: &AppState,
    password_hash: &str,
    seller_address: &PostalAddress,
) -> Result<(), StoreError> {
    let now = state.now_micros();
    let customer = CustomerId::new();
    // The unique e-mail first: a second seeder stops here, before it has written anything else.
    let email = Email::parse(DEMO_EMAIL).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let (email_hash, sealed) = personal_data::seal_person(&state.vault, customer, &email, "Dana Demo");
    customers::insert(c, customers::NewCustomer { id: customer, email_hash: &email_hash, sealed, password_hash })
        .await?;
    for center in centers() {
        catalog::upsert_center(c, &center).await?;
    }
    let (seller, key) = crate::ops::new_seller(state, DEMO_SELLER, seller_address)
        .map_err(|e| StoreError::Corrupt(format!("the demo seller: {e}")))?;
    crate::ops::write_seller(c, &seller, &key, now).await?;
    for (sku, title, price, prime_eligible, by_seller, sea, phl, grams, size, not_to) in PRODUCTS {
        let fulfilled_by = if by_seller { seller.seller.id.to_string() } else { "store".to_string() };
        let mut product = Product::new(sku, title, Money::usd(price), prime_eligible, &fulfilled_by);
        product.weight_grams = grams;
        product.size_mm = size;
        product.not_shippable_to = not_to.iter().map(|s| s.to_string()).collect();
        catalog::insert_product(c, &product).await?;
        if by_seller {
            catalog::set_on_hand(c, sku, &seller.center.code, phl).await?;
        } else {
            catalog::set_on_hand(c, sku, "SEA1", sea).await?;
            catalog::set_on_hand(c, sku, "PHL1", phl).await?;
        }
    }
    customers::set_prime(c, customer, true).await?;
    let address = PostalAddress::parse(AddressInput {
        name: "Dana Demo",
        line1: "410 Terry Ave N",
        line2: None,
        city: "Seattle",
        region: "WA",
        postal_code: "98109",
        country: "US",
    })
    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let address = personal_data::new_address(&state.vault, customer, &address);
    customers::insert_address(c, &address).await?;
    customers::set_default_address(c, customer, address.id).await?;
    let number = CardNumber::parse("4242424242424242").map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let id = PaymentMethodId::new();
    let envelope = state.vault.seal(&id.to_string(), number.expose());
    let card = SavedCard {
        id,
        customer_id: customer,
        brand: number.brand(),
        funding: number.funding(),
        last4: number.last4().into(),
        exp_month: 12,
        exp_year: 2030,
        key_id: envelope.key_id,
        wrapped_key: envelope.wrapped_key,
        sealed: envelope.sealed,
    };
    customers::insert_card(c, &card).await?;
    customers::set_default_payment_method(c, customer, id).await
}

/// Makes sure the demo centers exist (a fresh database without `--demo` still needs somewhere to keep stock).
pub async fn ensure_centers(store: &Store) -> Result<(), StoreError> {
    let mut read = store.read().await?;
    if !catalog::centers(&mut read.conn()).await?.is_empty() {
        return Ok(());
    }
    drop(read);
    let mut tx = store.write().await?;
    for center in centers() {
        catalog::upsert_center(&mut tx.conn(), &center).await?;
    }
    tx.commit().await
}
