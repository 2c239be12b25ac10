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
    pub fn new(
        vault: &buynow_payments::Vault,
        a: &SavedAddress,
        default: bool,
    ) -> Result<Self, crate::error::ApiError> {
        let address = crate::personal_data::address(vault, a)?;
        Ok(AddressView { id: a.id.to_string(), address: address.into(), default })
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
    /// What the gift card balance pays, when the request asks to use it (zero otherwise); the card is charged
    /// the rest of the total.
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
    /// `pending`, `authorized`, `declined`, `voided`, `cancelled`, `partially_captured`, `captured`,
    /// `partially_refunded` or `refunded`.
    pub status: &'static str,
    pub payment_method_id: String,
    pub brand: Option<&'static str>,
    pub last4: Option<String>,
    /// What the card is charged: the total, less what the gift card balance paid.
    pub amount: MoneyView,
    /// Who pays what (split tender): the gift card balance, when it was used, and the card.
    pub tender: Vec<TenderView>,
    /// What the customer must do for the payment to go on: authenticate with their bank (3-D Secure) at `url`,
    /// then come back (`POST /v1/orders/{id}/payment/authenticated`).
    pub next_action: Option<NextActionView>,
    /// Why the card was declined, e.g. `card_declined` or `insufficient_funds`.
    pub decline_code: Option<String>,
    /// What to tell the customer when they need to act.
    pub message: Option<String>,
    /// Charged so far (each shipment's share when it ships), and refunded of that.
    pub captured: MoneyView,
    pub refunded: MoneyView,
    /// Every step of the order's payments, oldest first: authorizations (one per card tried), captures,
    /// voids and refunds. Never a card number or any secret.
    pub attempts: Vec<PaymentAttemptView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NextActionView {
    /// `authenticate`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The card processor's page (a path on this server for the in-process sandbox).
    pub url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TenderView {
    /// `gift_card` or `card`.
    pub source: &'static str,
    pub amount: MoneyView,
    /// What went back to it: refunds, and for the gift card what an order that did not go through returned.
    pub returned: MoneyView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentAttemptView {
    pub at: chrono::DateTime<chrono::Utc>,
    /// `authorize`, `capture`, `void` or `refund` (of the card), or `gift_card_spend`, `gift_card_reverse` or
    /// `gift_card_refund` (of the gift card balance).
    pub step: String,
    pub amount: MoneyView,
    /// `approved`, `declined`, `pending` or `cancelled` for an authorization; `pending` or `done` otherwise.
    pub outcome: String,
    pub decline_code: Option<String>,
}

/// A parcel with (some of) the order's items in it: other orders of the customer to the same address may
/// travel in it too.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShipmentView {
    pub id: String,
    /// `pending`, `released`, `picking`, `packed`, `shipped`, `in_transit`, `out_for_delivery`, `delivered`,
    /// `exception` or `cancelled`.
    pub status: &'static str,
    pub fulfillment_center: String,
    /// This order's units in it.
    pub quantity: u32,
    pub carrier: Option<String>,
    pub service: Option<String>,
    pub tracking_number: Option<String>,
    /// Where the customer follows it on the carrier's site.
    pub tracking_url: Option<String>,
    pub shipped_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub events: Vec<TrackingEventView>,
}

/// A carrier's scan.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackingEventView {
    pub at: DateTime<Utc>,
    /// `in_transit`, `out_for_delivery`, `delivered` or `exception`.
    #[serde(rename = "type")]
    pub kind: String,
    pub location: Option<String>,
    pub description: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEntryView {
    pub at: DateTime<Utc>,
    /// The order's state after this.
    pub status: &'static str,
    /// What happened, e.g. `order.placed`, `shipment.shipped`.
    pub event: &'static str,
    pub note: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnLineView {
    pub sku: String,
    pub quantity: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnView {
    pub id: String,
    pub order_id: String,
    /// `requested`, `received` or `refunded`.
    pub status: String,
    pub reason: String,
    pub items: Vec<ReturnLineView>,
    /// What goes back to the card once it is received.
    pub refund: MoneyView,
    pub carrier: String,
    pub tracking_number: String,
    /// The return label (PDF) to print.
    pub label_url: String,
    /// `sellable` or `damaged`, once received.
    pub condition: Option<String>,
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
    /// Held by something that needs a person (say, items that could not be found).
    pub on_hold: bool,
    pub hold_reason: Option<String>,
    pub returns: Vec<ReturnView>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderList {
    pub orders: Vec<OrderView>,
}
