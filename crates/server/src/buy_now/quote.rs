//! Everything a placement needs that is not a write: the buyer's defaults, the price, the delivery promise.
//! It runs on a read connection, before the write transaction, so the writer only does writes.

use crate::auth::TokenHash;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, Centers};
use crate::views::{DeliveryOptionView, DeliveryWindowView};
use buynow_domain::card::Expiry;
use buynow_domain::ledger::Account;
use buynow_domain::pricing::{self, ShippingContext, Totals};
use buynow_domain::promise::{self, DeliveryWindow};
use buynow_domain::sourcing::{self, Allocation, CenterStock};
use buynow_domain::{AddressId, CustomerId, DeliverySpeed, InvalidValue, Money, PaymentMethodId};
use buynow_domain::{Quantity, Sku};
use buynow_logistics::{carriers, Place};
use buynow_store::catalog::{self, Product, StockLevel};
use buynow_store::customers::{self, Customer, Purchase, SavedAddress, SavedCard};
use buynow_store::gift_cards;
use buynow_store::idempotency::{self, Claim, Digest};
use buynow_store::Conn;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;
use std::collections::HashMap;
use utoipa::ToSchema;

/// The choices a Buy Now request may make; anything left out is the customer's default.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuyNowRequest {
    pub sku: String,
    #[serde(deserialize_with = "crate::extract::whole::int")]
    pub quantity: i64,
    pub payment_method_id: Option<String>,
    pub address_id: Option<String>,
    /// `standard`, `two_day` or `one_day`; the review's `selected_speed` when left out.
    pub delivery_speed: Option<String>,
    /// Pay with the gift card balance first, and put only the rest on the card (split tender).
    #[serde(default)]
    pub use_gift_card_balance: bool,
}

/// The request, parsed. Its canonical JSON is what an idempotency key is compared on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Choices {
    pub sku: Sku,
    pub quantity: Quantity,
    pub payment_method_id: Option<PaymentMethodId>,
    pub address_id: Option<AddressId>,
    pub delivery_speed: Option<DeliverySpeed>,
    /// Left out when false, so that the keys of requests made before split tender existed still match.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub use_gift_card_balance: bool,
}

impl BuyNowRequest {
    pub fn parse(&self) -> ApiResult<Choices> {
        let unknown = |field: &'static str| move |_| InvalidValue::new(field, "no such id");
        Ok(Choices {
            sku: Sku::parse(&self.sku)?,
            quantity: Quantity::new(self.quantity)?,
            payment_method_id: self
                .payment_method_id
                .as_deref()
                .map(PaymentMethodId::parse)
                .transpose()
                .map_err(unknown("payment_method_id"))?,
            address_id: self.address_id.as_deref().map(AddressId::parse).transpose().map_err(unknown("address_id"))?,
            delivery_speed: self
                .delivery_speed
                .as_deref()
                .map(|s| {
                    DeliverySpeed::parse(s)
                        .ok_or_else(|| InvalidValue::new("delivery_speed", "must be standard, two_day or one_day"))
                })
                .transpose()?,
            use_gift_card_balance: self.use_gift_card_balance,
        })
    }
}

#[derive(Clone)]
pub struct Quote {
    pub customer: Customer,
    pub product: Product,
    pub quantity: Quantity,
    pub address: SavedAddress,
    pub card: SavedCard,
    pub speed: DeliverySpeed,
    pub options: Vec<(DeliverySpeed, Money, DeliveryWindow)>,
    pub totals: Totals,
    /// What the gift card balance would pay of the total now, when the customer chose to use it.
    pub gift_card: Option<Money>,
    pub placed_at: DateTime<Utc>,
    pub hold: Duration,
    /// The allocation the promise was computed for (the placement re-sources against live stock).
    pub plan: Vec<Allocation>,
    /// The centers that may ship it to this address, best first: the earliest delivery, then the lowest
    /// shipping cost (see `rank_centers`). Sourcing takes stock from these only.
    pub ranks: HashMap<String, u32>,
}

impl Quote {
    pub fn window(&self) -> DeliveryWindow {
        self.options
            .iter()
            .find(|(s, _, _)| *s == self.speed)
            .map(|(_, _, w)| *w)
            .expect("the selected speed is an option")
    }

    pub fn option_views(&self) -> Vec<DeliveryOptionView> {
        self.options
            .iter()
            .map(|(speed, price, w)| DeliveryOptionView {
                speed: speed.as_str(),
                price: (*price).into(),
                estimated_delivery: DeliveryWindowView { earliest: w.earliest, latest: w.latest },
            })
            .collect()
    }
}

/// The stock of the centers in `ranks`, ranked for sourcing.
pub fn rank_stock(ranks: &HashMap<String, u32>, levels: &[StockLevel]) -> Vec<CenterStock> {
    levels
        .iter()
        .filter_map(|l| {
            Some(CenterStock {
                center: l.center.clone(),
                rank: *ranks.get(&l.center)?,
                available: u32::try_from(l.available().max(0)).unwrap_or(u32::MAX),
            })
        })
        .collect()
}

/// The centers that may send `product` to `address` at `speed`, ranked: the one that delivers soonest first,
/// then the one whose cheapest carrier service costs least, then the shop's own preference. Refused with
/// `not_deliverable` when the product may not go there or no center and carrier reach it.
pub fn rank_centers(
    state: &AppState,
    centers: &Centers,
    product: &Product,
    address: &SavedAddress,
    ready: DateTime<Utc>,
    hold: Duration,
    speed: DeliverySpeed,
) -> ApiResult<HashMap<String, u32>> {
    if !product.ships_to(&address.country, &address.region) {
        return Err(not_deliverable(format!(
            "{} cannot be sent to {}-{}",
            product.title, address.country, address.region
        )));
    }
    let to = Place::new(&address.country, &address.region);
    let weight = product.weight_grams;
    let mut reachable: Vec<(NaiveDate, i64, u32, String)> = Vec::new();
    for info in centers.for_seller(product.seller()) {
        let Some(from) = info.place() else { continue };
        let Ok(ship) = info.calendar.ship_date(ready + hold) else { continue };
        let quotes = carriers::quotes(&state.carriers, &from, &to, weight, ship, info.calendar.holidays());
        let Some(cheapest) = quotes.iter().map(|q| q.price.minor()).min() else { continue };
        let Ok(window) = promise::estimate(&info.calendar, ready, hold, speed) else { continue };
        reachable.push((window.latest, cheapest, info.center.rank, info.center.code.clone()));
    }
    if reachable.is_empty() {
        return Err(not_deliverable(format!(
            "none of our fulfillment centers and carriers delivers {} to {}-{}",
            product.title, address.country, address.region
        )));
    }
    reachable.sort();
    Ok(reachable.into_iter().enumerate().map(|(i, (_, _, _, code))| (code, i as u32)).collect())
}

fn not_deliverable(detail: String) -> ApiError {
    ApiError::Unprocessable("not_deliverable", detail)
}

/// The promise of an order shipped as `plan`: the last parcel decides.
pub fn promise_for(
    centers: &Centers,
    plan: &[Allocation],
    ready: DateTime<Utc>,
    hold: Duration,
    speed: DeliverySpeed,
) -> ApiResult<DeliveryWindow> {
    let mut windows = Vec::with_capacity(plan.len());
    for a in plan {
        let info =
            centers.by_code.get(&a.center).ok_or_else(|| ApiError::internal(format!("unknown center {}", a.center)))?;
        windows.push(promise::estimate(&info.calendar, ready, hold, speed).map_err(ApiError::internal)?);
    }
    promise::combine(windows).ok_or_else(|| ApiError::internal("an order with no shipment"))
}

/// What sourcing may say when the stock looks short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockCheck {
    /// The review: short stock is the answer (409 out_of_stock).
    Require,
    /// A placement: its group commit decides, after the idempotency key — so a retry of the purchase that took
    /// the last unit is answered with that order, not with "out of stock".
    Defer,
}

/// The quote for `choices`, from one read of the database (two, with `StockCheck::Require`), which also says
/// whose `session` it is (401 when none). With `key` (the placement's idempotency key and request hash), a key
/// already used is answered first, as `Err`, before anything else is checked: a retry gets its order back even
/// if, say, its card expired since.
pub async fn quote(
    state: &AppState,
    c: &mut Conn<'_>,
    session: &TokenHash,
    choices: &Choices,
    now: DateTime<Utc>,
    stock: StockCheck,
    key: Option<(&str, &Digest)>,
) -> ApiResult<Result<Quote, (CustomerId, Claim)>> {
    let sku = choices.sku.as_str();
    let purchase = Purchase {
        token_hash: &session.0,
        now: buynow_store::to_micros(now),
        wall: buynow_store::now_micros(),
        address: choices.address_id,
        card: choices.payment_method_id,
        sku,
        key: key.map(|(k, _)| k),
    };
    let buyer = customers::buyer(c, purchase).await?.ok_or(ApiError::Unauthorized)?;
    if let (Some(used), Some((key, request_hash))) = (&buyer.key, key) {
        if used.request != *request_hash {
            return Ok(Err((buyer.customer.id, Claim::Conflict)));
        }
        let now = buynow_store::to_micros(now);
        if now - used.last_used_at > idempotency::TOUCH_EVERY_MICROS {
            // A replay keeps its key for the retention from now. Off the answer's path, as a session's use is.
            let (state, customer, key) = (state.clone(), buyer.customer.id, key.to_string());
            tokio::spawn(async move {
                let touched = async {
                    let mut tx = state.store.write().await?;
                    idempotency::touch(&mut tx.conn(), customer, &key, now).await?;
                    tx.commit().await
                };
                if let Err(e) = touched.await {
                    tracing::warn!(error = %e, "could not record an idempotency key's use");
                }
            });
        }
        return Ok(Err((buyer.customer.id, Claim::Replay(used.order))));
    }
    if crate::auth::stale(state, buyer.idle_until) {
        // Off the purchase's path: at most once an hour per session.
        let (state, session, idle_until) = (state.clone(), TokenHash(session.0.clone()), buyer.idle_until);
        tokio::spawn(async move { session.used(&state, idle_until).await });
    }
    let customer = buyer.customer;
    let product = buyer.product.ok_or(ApiError::NotFound("product"))?;

    if choices.address_id.or(customer.default_address_id).is_none() {
        return Err(ApiError::Unprocessable(
            "address_required",
            "add a shipping address first, or name one with address_id".into(),
        ));
    }
    let address = buyer.address.ok_or(ApiError::NotFound("address"))?;

    if choices.payment_method_id.or(customer.default_payment_method_id).is_none() {
        return Err(ApiError::Unprocessable(
            "payment_method_required",
            "add a card first, or name one with payment_method_id".into(),
        ));
    }
    let card = buyer.card.ok_or(ApiError::NotFound("payment method"))?;
    usable_card(&card, now.date_naive())?;
    let settings = state.payment_settings();
    if !settings.takes_card(&product.fulfilled_by, card.brand, card.funding) {
        let accepted = settings.for_item(&product.fulfilled_by);
        return Err(ApiError::Unprocessable(
            "payment_method_not_accepted",
            format!(
                "{} {} cards are not accepted for this item: it takes {}",
                buynow_domain::acceptance::brand_name(card.brand),
                card.funding.as_str(),
                accepted.describe()
            ),
        ));
    }

    let gift_balance = if choices.use_gift_card_balance {
        if !settings.for_item(&product.fulfilled_by).gift_cards {
            return Err(ApiError::Unprocessable(
                "payment_method_not_accepted",
                format!(
                    "gift card balance is not accepted for this item: it takes {}",
                    settings.for_item(&product.fulfilled_by).describe()
                ),
            ));
        }
        Some(gift_cards::balance(c, &Account::Customer(customer.id)).await?)
    } else {
        None
    };

    let centers = state.centers();
    let hold = if product.fulfilled_by_store() { state.config.hold_store } else { state.config.hold_seller };
    let ctx = ShippingContext { member: customer.prime, prime_eligible: product.prime_eligible };
    let speed = choices.delivery_speed.unwrap_or_else(|| ctx.default_speed());
    let ranks = rank_centers(state, &centers, &product, &address, now, hold, speed)?;
    let plan = match stock {
        StockCheck::Require => {
            let levels = catalog::stock_levels(c, sku).await?;
            sourcing::source(&rank_stock(&ranks, &levels), choices.quantity.get())
                .ok_or_else(|| ApiError::out_of_stock(sku, choices.quantity.get()))?
        }
        // Promise as if from the best center: the placement plans against live stock anyway, and promises again
        // if it ships from elsewhere (or refuses), so reading the stock here would be a wasted round trip.
        StockCheck::Defer => {
            let best = ranks.iter().min_by_key(|(_, rank)| **rank).map(|(code, _)| code.clone());
            let center = best.ok_or_else(|| ApiError::internal("no fulfillment center"))?;
            vec![Allocation { center, quantity: choices.quantity.get() }]
        }
    };

    let subtotal = product.price.checked_mul(i64::from(choices.quantity.get())).map_err(|_| too_large())?;
    let mut options = Vec::with_capacity(DeliverySpeed::ALL.len());
    for s in DeliverySpeed::ALL {
        let fee = pricing::shipping_fee(&state.rates, ctx, s, subtotal).map_err(|_| too_large())?;
        options.push((s, fee, promise_for(&centers, &plan, now, hold, s)?));
    }
    let fee = options.iter().find(|(s, _, _)| *s == speed).map(|(_, f, _)| *f).expect("every speed is an option");
    let tax_bp = state.taxes.rate_bp(&address.country, &address.region);
    let totals = pricing::totals(product.price, choices.quantity, fee, tax_bp).map_err(|_| too_large())?;
    let gift_card = gift_balance.map(|b| Money::new(b.clamp(0, totals.total.minor()), totals.total.currency()));
    Ok(Ok(Quote {
        customer,
        product,
        quantity: choices.quantity,
        address,
        card,
        speed,
        options,
        totals,
        gift_card,
        placed_at: now,
        hold,
        plan,
        ranks,
    }))
}

/// A saved card that can still be charged on `today`.
pub fn usable_card(card: &SavedCard, today: chrono::NaiveDate) -> ApiResult<()> {
    let expiry = Expiry::parse(i64::from(card.exp_month), i64::from(card.exp_year)).map_err(ApiError::internal)?;
    if expiry.is_expired_on(today) {
        return Err(ApiError::Unprocessable("card_expired", "that card has expired; choose another".into()));
    }
    Ok(())
}

fn too_large() -> ApiError {
    InvalidValue::new("quantity", "the order total is too large").into()
}
