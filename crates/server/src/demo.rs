//! The demo shop: two fulfillment centers, a dozen products and a signed-up customer, seeded once.

use crate::auth::hash_password;
use crate::config::PasswordCost;
use buynow_domain::card::CardNumber;
use buynow_domain::values::AddressInput;
use buynow_domain::{AddressId, CustomerId, Money, PaymentMethodId, PostalAddress};
use buynow_payments::Vault;
use buynow_store::catalog::{self, Center, Product};
use buynow_store::customers::{self, SavedAddress, SavedCard};
use buynow_store::{Store, StoreError};

pub const DEMO_EMAIL: &str = "demo@buynow.dev";
/// A public demo password, printed at start on purpose: the demo customer holds nothing real.
pub const DEMO_PASSWORD: &str = "buynow-demo";

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
        },
    ]
}

/// (sku, title, price in cents, prime eligible, fulfilled by, stock at SEA1, stock at PHL1)
const PRODUCTS: [(&str, &str, i64, bool, &str, i64, i64); 12] = [
    ("ECHO-DOT-5", "Echo Dot (5th gen) smart speaker", 4999, true, "store", 120, 80),
    ("KINDLE-PW", "Kindle Paperwhite, 16 GB", 14999, true, "store", 40, 35),
    ("USB-C-CABLE", "USB-C to USB-C cable, 2 m", 1299, true, "store", 500, 400),
    ("AA-BATT-24", "AA alkaline batteries, 24 pack", 1599, true, "store", 300, 250),
    ("COFFEE-1KG", "Whole bean coffee, 1 kg", 2499, true, "store", 60, 0),
    ("YOGA-MAT", "Yoga mat, 6 mm", 2999, false, "store", 25, 25),
    ("LEGO-CLASSIC", "LEGO Classic creative brick box", 3499, true, "store", 30, 20),
    ("HDMI-SWITCH", "HDMI switch, 3 ports", 1999, false, "store", 15, 10),
    ("DESK-LAMP", "LED desk lamp", 3999, true, "store", 12, 8),
    ("WATER-BOTTLE", "Insulated water bottle, 1 l", 2299, true, "store", 70, 70),
    ("HANDMADE-MUG", "Handmade ceramic mug", 2800, false, "Clayworks Studio", 0, 9),
    ("FLASH-DEAL-TV", "55\" 4K TV (flash deal)", 29999, true, "store", 5, 0),
];

/// Seeds the demo data unless it is there already; returns whether it seeded.
pub async fn seed(store: &Store, vault: &Vault, cost: PasswordCost) -> Result<bool, StoreError> {
    if customers::by_email(&mut store.read().await?.conn(), DEMO_EMAIL).await?.is_some() {
        return Ok(false);
    }
    let password_hash = hash_password(cost, DEMO_PASSWORD.to_string())
        .await
        .map_err(|e| StoreError::Corrupt(format!("hashing the demo password: {e}")))?;
    let mut tx = store.write().await?;
    let mut c = tx.conn();
    for center in centers() {
        catalog::upsert_center(&mut c, &center).await?;
    }
    for (sku, title, price, prime_eligible, fulfilled_by, sea, phl) in PRODUCTS {
        let product = Product {
            sku: sku.into(),
            title: title.into(),
            price: Money::usd(price),
            prime_eligible,
            fulfilled_by: fulfilled_by.into(),
        };
        catalog::insert_product(&mut c, &product).await?;
        catalog::set_on_hand(&mut c, sku, "SEA1", sea).await?;
        catalog::set_on_hand(&mut c, sku, "PHL1", phl).await?;
    }
    let customer = CustomerId::new();
    customers::insert(&mut c, customer, DEMO_EMAIL, "Dana Demo", &password_hash).await?;
    customers::set_prime(&mut c, customer, true).await?;
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
    let address = SavedAddress { id: AddressId::new(), customer_id: customer, address };
    customers::insert_address(&mut c, &address).await?;
    customers::set_default_address(&mut c, customer, address.id).await?;
    let number = CardNumber::parse("4242424242424242").map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let id = PaymentMethodId::new();
    let (key_id, sealed) = vault.seal(&id.to_string(), number.expose());
    let card = SavedCard {
        id,
        customer_id: customer,
        brand: number.brand(),
        funding: number.funding(),
        last4: number.last4().into(),
        exp_month: 12,
        exp_year: 2030,
        key_id,
        sealed,
    };
    customers::insert_card(&mut c, &card).await?;
    customers::set_default_payment_method(&mut c, customer, id).await?;
    tx.commit().await?;
    Ok(true)
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
