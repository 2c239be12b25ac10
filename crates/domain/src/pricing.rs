//! What a Buy Now costs: subtotal, shipping by speed and membership, tax by region, total.

use crate::money::{Money, MoneyError};
use crate::values::Quantity;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum DeliverySpeed {
    Standard,
    TwoDay,
    OneDay,
}

impl DeliverySpeed {
    pub const ALL: [DeliverySpeed; 3] = [DeliverySpeed::Standard, DeliverySpeed::TwoDay, DeliverySpeed::OneDay];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliverySpeed::Standard => "standard",
            DeliverySpeed::TwoDay => "two_day",
            DeliverySpeed::OneDay => "one_day",
        }
    }

    pub fn parse(s: &str) -> Option<DeliverySpeed> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// Transit in carrier business days after the ship date: (fastest, slowest).
    pub fn transit_business_days(self) -> (u32, u32) {
        match self {
            DeliverySpeed::OneDay => (1, 1),
            DeliverySpeed::TwoDay => (2, 2),
            DeliverySpeed::Standard => (3, 5),
        }
    }
}

/// Shipping fees. Members get two-day free on eligible items; everyone gets standard free from a threshold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShippingRates {
    pub standard: Money,
    pub two_day: Money,
    pub one_day: Money,
    /// One-day for a member on an eligible item: Prime's discounted upgrade.
    pub one_day_member: Money,
    pub free_standard_from: Money,
}

impl ShippingRates {
    pub fn demo() -> Self {
        ShippingRates {
            standard: Money::usd(599),
            two_day: Money::usd(899),
            one_day: Money::usd(1299),
            one_day_member: Money::usd(299),
            free_standard_from: Money::usd(3500),
        }
    }
}

/// The buyer and item facts that decide shipping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShippingContext {
    pub member: bool,
    pub prime_eligible: bool,
}

impl ShippingContext {
    fn member_benefits(self) -> bool {
        self.member && self.prime_eligible
    }

    /// The speed the review pop-up selects before the customer changes anything.
    pub fn default_speed(self) -> DeliverySpeed {
        if self.member_benefits() {
            DeliverySpeed::TwoDay
        } else {
            DeliverySpeed::Standard
        }
    }
}

pub fn shipping_fee(
    rates: &ShippingRates,
    ctx: ShippingContext,
    speed: DeliverySpeed,
    subtotal: Money,
) -> Result<Money, MoneyError> {
    let free = Money::zero(subtotal.currency());
    Ok(match speed {
        DeliverySpeed::Standard if ctx.member_benefits() => free,
        DeliverySpeed::Standard if subtotal.minor() >= rates.free_standard_from.minor() => free,
        DeliverySpeed::Standard => rates.standard,
        DeliverySpeed::TwoDay if ctx.member_benefits() => free,
        DeliverySpeed::TwoDay => rates.two_day,
        DeliverySpeed::OneDay if ctx.member_benefits() => rates.one_day_member,
        DeliverySpeed::OneDay => rates.one_day,
    })
}

/// Sales tax rates in basis points by (country, region). Tax is charged on the items, not on shipping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaxTable {
    rates: HashMap<(String, String), u32>,
}

impl TaxTable {
    pub fn new<I: IntoIterator<Item = (&'static str, &'static str, u32)>>(rates: I) -> Self {
        TaxTable {
            rates: rates
                .into_iter()
                .map(|(country, region, bp)| ((country.to_string(), region.to_string()), bp))
                .collect(),
        }
    }

    /// A few US states' base rates, as a demo; all of it is configuration.
    pub fn demo() -> Self {
        TaxTable::new([
            ("US", "CA", 725),
            ("US", "NY", 400),
            ("US", "TX", 625),
            ("US", "WA", 650),
            ("US", "IL", 625),
            ("US", "OR", 0),
            ("CA", "ON", 1300),
        ])
    }

    pub fn rate_bp(&self, country: &str, region: &str) -> u32 {
        self.rates.get(&(country.to_string(), region.to_string())).copied().unwrap_or(0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub subtotal: Money,
    pub shipping: Money,
    pub tax: Money,
    pub total: Money,
}

pub fn totals(unit_price: Money, quantity: Quantity, shipping: Money, tax_bp: u32) -> Result<Totals, MoneyError> {
    let subtotal = unit_price.checked_mul(i64::from(quantity.get()))?;
    let tax = subtotal.apply_rate_bp(tax_bp)?;
    let total = subtotal.checked_add(shipping)?.checked_add(tax)?;
    Ok(Totals { subtotal, shipping, tax, total })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MEMBER: ShippingContext = ShippingContext { member: true, prime_eligible: true };
    const GUEST: ShippingContext = ShippingContext { member: false, prime_eligible: true };

    #[test]
    fn members_get_two_day_free_on_eligible_items() {
        let r = ShippingRates::demo();
        assert_eq!(MEMBER.default_speed(), DeliverySpeed::TwoDay);
        assert!(shipping_fee(&r, MEMBER, DeliverySpeed::TwoDay, Money::usd(100)).unwrap().is_zero());
        let not_eligible = ShippingContext { member: true, prime_eligible: false };
        assert_eq!(not_eligible.default_speed(), DeliverySpeed::Standard);
        assert_eq!(shipping_fee(&r, not_eligible, DeliverySpeed::TwoDay, Money::usd(100)).unwrap(), r.two_day);
    }

    #[test]
    fn standard_is_free_from_the_threshold() {
        let r = ShippingRates::demo();
        assert_eq!(shipping_fee(&r, GUEST, DeliverySpeed::Standard, Money::usd(3499)).unwrap(), r.standard);
        assert!(shipping_fee(&r, GUEST, DeliverySpeed::Standard, Money::usd(3500)).unwrap().is_zero());
    }

    #[test]
    fn tax_is_rounded_once_on_the_items() {
        let t = totals(Money::usd(1999), Quantity::new(3).unwrap(), Money::usd(599), 725).unwrap();
        assert_eq!(t.subtotal, Money::usd(5997));
        assert_eq!(t.tax, Money::usd(435)); // 434.78 → 435
        assert_eq!(t.total, Money::usd(5997 + 599 + 435));
    }

    proptest! {
        #[test]
        fn a_total_is_the_sum_of_its_parts(
            price in 0i64..100_000_000_000,
            qty in 1i64..=100,
            ship in 0i64..100_000,
            bp in 0u32..3_000,
        ) {
            let q = Quantity::new(qty).unwrap();
            if let Ok(t) = totals(Money::usd(price), q, Money::usd(ship), bp) {
                prop_assert_eq!(t.subtotal.minor(), price * qty);
                prop_assert_eq!(t.total.minor(), t.subtotal.minor() + t.shipping.minor() + t.tax.minor());
                prop_assert!(t.tax.minor() >= 0);
            }
        }

        #[test]
        fn pricing_never_panics(price in any::<i64>(), qty in 1i64..=100, ship in any::<i64>(), bp in any::<u32>()) {
            let _ = totals(Money::usd(price), Quantity::new(qty).unwrap(), Money::usd(ship), bp);
        }
    }
}
