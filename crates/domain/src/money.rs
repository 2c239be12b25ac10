//! Money in minor units with checked arithmetic.
//!
//! Amounts are `i64` minor units (cents) tagged with a currency. Every operation that can overflow or mix
//! currencies returns a `Result`: a total that silently wraps is a wrong charge, so it must not compile into
//! a panic or a wrap. There are no floats anywhere near money.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Currency {
    #[serde(rename = "USD")]
    Usd,
}

impl Currency {
    pub fn code(self) -> &'static str {
        match self {
            Currency::Usd => "USD",
        }
    }

    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        match code {
            "USD" => Ok(Currency::Usd),
            other => Err(MoneyError::UnsupportedCurrency(other.chars().take(8).collect())),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("amount overflow")]
    Overflow,
    #[error("currencies differ: {0} and {1}")]
    CurrencyMismatch(&'static str, &'static str),
    #[error("unsupported currency {0:?}")]
    UnsupportedCurrency(String),
    #[error("amount must not be negative")]
    Negative,
}

/// An amount of money: `{"amount": 1999, "currency": "USD"}` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    #[serde(rename = "amount")]
    minor: i64,
    currency: Currency,
}

impl Money {
    pub const fn new(minor: i64, currency: Currency) -> Self {
        Money { minor, currency }
    }

    pub const fn usd(minor: i64) -> Self {
        Money::new(minor, Currency::Usd)
    }

    pub const fn zero(currency: Currency) -> Self {
        Money::new(0, currency)
    }

    /// A price or balance: zero or more.
    pub fn non_negative(minor: i64, currency: Currency) -> Result<Self, MoneyError> {
        if minor < 0 {
            return Err(MoneyError::Negative);
        }
        Ok(Money::new(minor, currency))
    }

    pub fn minor(self) -> i64 {
        self.minor
    }

    pub fn currency(self) -> Currency {
        self.currency
    }

    pub fn is_zero(self) -> bool {
        self.minor == 0
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency.code(), other.currency.code()));
        }
        Ok(())
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self.minor.checked_add(other.minor).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self.minor.checked_sub(other.minor).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    pub fn checked_mul(self, factor: i64) -> Result<Money, MoneyError> {
        let minor = self.minor.checked_mul(factor).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    /// The smaller of two amounts of one currency.
    pub fn min(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        Ok(if other.minor < self.minor { other } else { self })
    }

    /// `self × basis_points / 10 000`, rounded half away from zero, once.
    ///
    /// Rates are integers in basis points (7.25 % = 725) so that no float ever touches an amount; the one
    /// rounding happens here, on the final figure.
    pub fn apply_rate_bp(self, basis_points: u32) -> Result<Money, MoneyError> {
        let product = i128::from(self.minor) * i128::from(basis_points);
        let half = 5_000i128 * product.signum();
        let rounded = (product + half) / 10_000;
        let minor = i64::try_from(rounded).map_err(|_| MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    /// Sum of amounts, all of `currency`.
    pub fn sum<I: IntoIterator<Item = Money>>(currency: Currency, items: I) -> Result<Money, MoneyError> {
        items.into_iter().try_fold(Money::zero(currency), |acc, m| acc.checked_add(m))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        write!(f, "{sign}{}.{:02} {}", abs / 100, abs % 100, self.currency.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn displays_minor_units_as_decimal() {
        assert_eq!(Money::usd(1999).to_string(), "19.99 USD");
        assert_eq!(Money::usd(-5).to_string(), "-0.05 USD");
    }

    #[test]
    fn rounds_a_rate_half_away_from_zero_once() {
        // 7.25 % of 10.00 = 0.725 → 0.73
        assert_eq!(Money::usd(1000).apply_rate_bp(725).unwrap(), Money::usd(73));
        assert_eq!(Money::usd(1).apply_rate_bp(4_999).unwrap(), Money::usd(0));
        assert_eq!(Money::usd(1).apply_rate_bp(5_000).unwrap(), Money::usd(1));
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        assert_eq!(Money::usd(i64::MAX).checked_add(Money::usd(1)), Err(MoneyError::Overflow));
        assert_eq!(Money::usd(i64::MAX).checked_mul(2), Err(MoneyError::Overflow));
        assert!(Money::usd(i64::MAX).apply_rate_bp(20_000).is_err());
    }

    #[test]
    fn serializes_as_amount_and_currency() {
        let json = serde_json::to_string(&Money::usd(1999)).unwrap();
        assert_eq!(json, r#"{"amount":1999,"currency":"USD"}"#);
    }

    proptest! {
        #[test]
        fn arithmetic_never_panics(a in any::<i64>(), b in any::<i64>(), f in any::<i64>(), bp in any::<u32>()) {
            let (x, y) = (Money::usd(a), Money::usd(b));
            let _ = x.checked_add(y);
            let _ = x.checked_sub(y);
            let _ = x.checked_mul(f);
            let _ = x.apply_rate_bp(bp);
            let _ = x.min(y);
        }

        #[test]
        fn a_sum_equals_its_parts(parts in proptest::collection::vec(-1_000_000_000i64..1_000_000_000, 0..50)) {
            let total = Money::sum(Currency::Usd, parts.iter().map(|&p| Money::usd(p))).unwrap();
            prop_assert_eq!(total.minor(), parts.iter().sum::<i64>());
            // Taking each part away again leaves nothing.
            let back = parts.iter().try_fold(total, |acc, &p| acc.checked_sub(Money::usd(p))).unwrap();
            prop_assert!(back.is_zero());
        }

        #[test]
        fn a_rate_stays_within_half_a_cent_of_exact(minor in 0i64..10_000_000_000, bp in 0u32..10_000) {
            let taxed = Money::usd(minor).apply_rate_bp(bp).unwrap().minor();
            let exact_times_10k = i128::from(minor) * i128::from(bp);
            let diff = (i128::from(taxed) * 10_000 - exact_times_10k).abs();
            prop_assert!(diff <= 5_000);
        }
    }
}
