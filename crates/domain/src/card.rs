//! Payment cards as they arrive from the customer, before the vault encrypts them.

use crate::values::InvalidValue;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Brand {
    Visa,
    Mastercard,
    Amex,
    Discover,
}

impl Brand {
    pub fn as_str(self) -> &'static str {
        match self {
            Brand::Visa => "visa",
            Brand::Mastercard => "mastercard",
            Brand::Amex => "amex",
            Brand::Discover => "discover",
        }
    }

    pub fn parse(s: &str) -> Option<Brand> {
        [Brand::Visa, Brand::Mastercard, Brand::Amex, Brand::Discover].into_iter().find(|b| b.as_str() == s)
    }

    fn of(digits: &str) -> Option<Brand> {
        let prefix = |n: usize| digits.get(..n).and_then(|p| p.parse::<u32>().ok());
        match (prefix(1), prefix(2), prefix(4)) {
            (Some(4), _, _) => Some(Brand::Visa),
            (_, Some(34 | 37), _) => Some(Brand::Amex),
            (_, Some(51..=55), _) | (_, _, Some(2221..=2720)) => Some(Brand::Mastercard),
            (_, Some(65), _) | (_, _, Some(6011)) => Some(Brand::Discover),
            _ => None,
        }
    }

    fn cvc_len(self) -> usize {
        if self == Brand::Amex {
            4
        } else {
            3
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Funding {
    Credit,
    Debit,
    Prepaid,
}

impl Funding {
    pub fn as_str(self) -> &'static str {
        match self {
            Funding::Credit => "credit",
            Funding::Debit => "debit",
            Funding::Prepaid => "prepaid",
        }
    }

    pub fn parse(s: &str) -> Option<Funding> {
        [Funding::Credit, Funding::Debit, Funding::Prepaid].into_iter().find(|f| f.as_str() == s)
    }

    /// Funding comes from the issuer's BIN table; this is the part of it that the sandbox knows (the
    /// processors' published test ranges). Unknown BINs count as credit, as most card processors assume.
    fn of(digits: &str) -> Funding {
        const DEBIT_BINS: [&str; 3] = ["400005", "520082", "601100"];
        const PREPAID_BINS: [&str; 1] = ["510510"];
        let bin = &digits[..6];
        if DEBIT_BINS.contains(&bin) {
            Funding::Debit
        } else if PREPAID_BINS.contains(&bin) {
            Funding::Prepaid
        } else {
            Funding::Credit
        }
    }
}

/// A primary account number: digits only, Luhn-valid, of a brand we accept. `Debug` and `Display` show only
/// the last four digits, so it cannot end up in a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct CardNumber {
    digits: String,
    brand: Brand,
}

impl CardNumber {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let digits: String = raw.chars().filter(|c| *c != ' ' && *c != '-').collect();
        if !(12..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidValue::new("number", "must be 12 to 19 digits"));
        }
        if !luhn_valid(&digits) {
            return Err(InvalidValue::new("number", "is not a valid card number"));
        }
        let brand = Brand::of(&digits).ok_or_else(|| InvalidValue::new("number", "card brand not accepted"))?;
        Ok(CardNumber { digits, brand })
    }

    pub fn brand(&self) -> Brand {
        self.brand
    }

    pub fn funding(&self) -> Funding {
        Funding::of(&self.digits)
    }

    pub fn last4(&self) -> &str {
        &self.digits[self.digits.len() - 4..]
    }

    /// The full number, for the vault and the gateway only.
    pub fn expose(&self) -> &str {
        &self.digits
    }
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardNumber(****{})", self.last4())
    }
}

fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let dd = d * 2;
                if dd > 9 {
                    dd - 9
                } else {
                    dd
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A card's expiry: valid through the last day of `month`/`year`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry {
    pub month: u32,
    pub year: i32,
}

impl Expiry {
    /// `year` may be given as two digits (27) or four (2027).
    pub fn parse(month: i64, year: i64) -> Result<Self, InvalidValue> {
        if !(1..=12).contains(&month) {
            return Err(InvalidValue::new("exp_month", "must be 1 to 12"));
        }
        let year = match year {
            0..=99 => 2000 + year,
            2000..=2100 => year,
            _ => return Err(InvalidValue::new("exp_year", "is not a plausible year")),
        };
        Ok(Expiry { month: month as u32, year: year as i32 })
    }

    pub fn is_expired_on(self, today: NaiveDate) -> bool {
        (self.year, self.month) < (today.year(), today.month())
    }
}

/// The card verification code: checked at entry, sent to the gateway, never stored or printed.
pub struct Cvc(String);

impl Cvc {
    pub fn parse(raw: &str, brand: Brand) -> Result<Self, InvalidValue> {
        let raw = raw.trim();
        if raw.len() != brand.cvc_len() || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidValue::new("cvc", format!("must be {} digits", brand.cvc_len())));
        }
        Ok(Cvc(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Cvc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cvc(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_the_processors_test_cards() {
        let cases = [
            ("4242 4242 4242 4242", Brand::Visa, Funding::Credit),
            ("5555555555554444", Brand::Mastercard, Funding::Credit),
            ("4000056655665556", Brand::Visa, Funding::Debit),
            ("378282246310005", Brand::Amex, Funding::Credit),
            ("6011111111111117", Brand::Discover, Funding::Credit),
        ];
        for (raw, brand, funding) in cases {
            let card = CardNumber::parse(raw).unwrap();
            assert_eq!((card.brand(), card.funding()), (brand, funding), "{raw}");
        }
    }

    #[test]
    fn refuses_a_bad_luhn_and_non_digits() {
        assert!(CardNumber::parse("4242424242424241").is_err());
        assert!(CardNumber::parse("4242x42424242424").is_err());
        assert!(CardNumber::parse("42").is_err());
    }

    #[test]
    fn debug_shows_only_the_last_four() {
        let card = CardNumber::parse("4242424242424242").unwrap();
        assert_eq!(format!("{card:?}"), "CardNumber(****4242)");
        assert_eq!(format!("{:?}", Cvc::parse("123", Brand::Visa).unwrap()), "Cvc(***)");
    }

    #[test]
    fn an_expiry_is_good_through_its_month() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        assert!(!Expiry::parse(11, 26).unwrap().is_expired_on(today));
        assert!(Expiry::parse(10, 2026).unwrap().is_expired_on(today));
        assert!(Expiry::parse(13, 2026).is_err());
        assert!(Expiry::parse(1, 1999).is_err());
    }

    #[test]
    fn the_cvc_length_follows_the_brand() {
        assert!(Cvc::parse("1234", Brand::Amex).is_ok());
        assert!(Cvc::parse("123", Brand::Amex).is_err());
        assert!(Cvc::parse("12a", Brand::Visa).is_err());
    }
}
