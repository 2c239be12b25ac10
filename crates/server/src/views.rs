//! What the API returns. Field names here are the fixed contract of DESIGN.md: add, never rename.

use buynow_domain::{Money, PostalAddress};
use buynow_store::catalog::Listing;
use buynow_store::customers::{SavedAddress, SavedCard};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// Money in minor units: `{"amount": 1999, "currency": "USD"}` is 19.99 USD.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
pub struct MoneyView {
    pub amount: i64,
    #[schema(example = "USD")]
    pub currency: &'static str,
}

impl From<Money> for MoneyView {
    fn from(m: Money) -> Self {
        MoneyView { amount: m.minor(), currency: m.currency().code() }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerView {
    pub id: String,
    pub email: String,
    pub name: String,
    pub prime: bool,
    pub default_address_id: Option<String>,
    pub default_payment_method_id: Option<String>,
    pub gift_card_balance: MoneyView,
}

/// A postal address.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostalAddressView {
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    pub country: String,
}

impl From<PostalAddress> for PostalAddressView {
    fn from(p: PostalAddress) -> Self {
        let PostalAddress { name, line1, line2, city, region, postal_code, country } = p;
        PostalAddressView { name, line1, line2, city, region, postal_code, country }
    }
}

/// A saved address.
#[derive(Debug, Serialize, ToSchema)]
pub struct AddressView {
    pub id: String,
    #[serde(flatten)]
    pub address: PostalAddressView,
    pub default: bool,
}

impl AddressView {
    pub fn new(a: &SavedAddress, default: bool) -> Self {
        AddressView { id: a.id.to_string(), address: a.address.clone().into(), default }
    }
}

/// A saved card as the customer may see it: never the number, never the CVC.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentMethodView {
    pub id: String,
    #[serde(rename = "type")]
    #[schema(example = "card")]
    pub kind: &'static str,
    #[schema(example = "visa")]
    pub brand: &'static str,
    #[schema(example = "credit")]
    pub funding: &'static str,
    pub last4: String,
    pub exp_month: u32,
    pub exp_year: i32,
    pub default: bool,
}

impl PaymentMethodView {
    pub fn new(c: &SavedCard, default: bool) -> Self {
        PaymentMethodView {
            id: c.id.to_string(),
            kind: "card",
            brand: c.brand.as_str(),
            funding: c.funding.as_str(),
            last4: c.last4.clone(),
            exp_month: c.exp_month,
            exp_year: c.exp_year,
            default,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductView {
    pub sku: String,
    pub title: String,
    pub price: MoneyView,
    pub prime_eligible: bool,
    /// How many can be bought right now, across all centers.
    pub available: i64,
    /// `store`, or the marketplace seller who ships it.
    pub fulfilled_by: String,
}

impl From<&Listing> for ProductView {
    fn from(l: &Listing) -> Self {
        ProductView {
            sku: l.product.sku.clone(),
            title: l.product.title.clone(),
            price: l.product.price.into(),
            prime_eligible: l.product.prime_eligible,
            available: l.available.max(0),
            fulfilled_by: l.product.fulfilled_by.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
pub struct DeliveryWindowView {
    pub earliest: NaiveDate,
    pub latest: NaiveDate,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryOptionView {
    #[schema(example = "two_day")]
    pub speed: &'static str,
    pub price: MoneyView,
    pub estimated_delivery: DeliveryWindowView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewView {
    pub sku: String,
    pub title: String,
    pub quantity: u32,
    pub unit_price: MoneyView,
    pub address: AddressView,
    pub payment_method: PaymentMethodView,
    pub gift_card_applied: MoneyView,
    pub delivery_options: Vec<DeliveryOptionView>,
    pub selected_speed: &'static str,
    pub subtotal: MoneyView,
    pub shipping: MoneyView,
    pub tax: MoneyView,
    pub total: MoneyView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderItemView {
    pub sku: String,
    pub title: String,
    pub quantity: u32,
    pub unit_price: MoneyView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentView {
    /// `pending`, `authorized`, `declined`, `voided` or `cancelled`.
    pub status: String,
    pub payment_method_id: String,
    pub brand: Option<&'static str>,
    pub last4: Option<String>,
    pub amount: MoneyView,
    /// Why the card was declined, e.g. `card_declined` or `insufficient_funds`.
    pub decline_code: Option<String>,
    /// What to tell the customer when they need to act.
    pub message: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShipmentView {
    pub id: String,
    pub status: String,
    pub fulfillment_center: String,
    pub quantity: u32,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub events: Vec<TrackingEventView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrackingEventView {
    pub at: DateTime<Utc>,
    pub description: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEntryView {
    pub at: DateTime<Utc>,
    pub status: String,
    pub note: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    pub id: String,
    /// One of the states of DESIGN.md: `placed`, `payment_authorized`, `payment_action_required`, `released`,
    /// `picking`, `packed`, `shipped`, `delivered`, `return_requested`, `returned`, `refunded`, `cancelled`.
    pub status: &'static str,
    pub items: Vec<OrderItemView>,
    pub subtotal: MoneyView,
    pub shipping: MoneyView,
    pub tax: MoneyView,
    pub total: MoneyView,
    pub delivery_speed: &'static str,
    pub estimated_delivery: DeliveryWindowView,
    pub ship_to: PostalAddressView,
    pub payment: PaymentView,
    pub shipments: Vec<ShipmentView>,
    pub timeline: Vec<TimelineEntryView>,
    /// The end of the hold window: until then a cancel is sure to be accepted. `null` once it cannot be.
    pub cancellable_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderList {
    pub orders: Vec<OrderView>,
}
