//! Which payment methods a shop (and each marketplace seller) accepts: card brands, funding types, and gift
//! card balance. An item sold by a seller can be paid only with what both the shop and the seller accept.

use crate::card::{Brand, Funding};
use crate::InvalidValue;

pub const ALL_BRANDS: [Brand; 4] = [Brand::Visa, Brand::Mastercard, Brand::Amex, Brand::Discover];
pub const ALL_FUNDING: [Funding; 3] = [Funding::Credit, Funding::Debit, Funding::Prepaid];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub brands: Vec<Brand>,
    pub funding: Vec<Funding>,
    pub gift_cards: bool,
}

impl Default for Accepted {
    /// Everything: a shop that said nothing accepts every card and gift card balance.
    fn default() -> Self {
        Accepted { brands: ALL_BRANDS.to_vec(), funding: ALL_FUNDING.to_vec(), gift_cards: true }
    }
}

impl Accepted {
    /// From names as the API takes them (`["visa"]`, `["credit", "debit"]`); each list must name at least one
    /// and nothing unknown. Kept in a fixed order, without repeats.
    pub fn parse(brands: &[String], funding: &[String], gift_cards: bool) -> Result<Accepted, InvalidValue> {
        let brands = names("brands", brands, &ALL_BRANDS, |b| b.as_str())?;
        let funding = names("funding", funding, &ALL_FUNDING, |f| f.as_str())?;
        Ok(Accepted { brands, funding, gift_cards })
    }

    /// What both accept.
    pub fn and(&self, other: &Accepted) -> Accepted {
        Accepted {
            brands: self.brands.iter().copied().filter(|b| other.brands.contains(b)).collect(),
            funding: self.funding.iter().copied().filter(|f| other.funding.contains(f)).collect(),
            gift_cards: self.gift_cards && other.gift_cards,
        }
    }

    pub fn takes_card(&self, brand: Brand, funding: Funding) -> bool {
        self.brands.contains(&brand) && self.funding.contains(&funding)
    }

    /// What is accepted, in words: "Visa or Mastercard, credit or debit cards".
    pub fn describe(&self) -> String {
        if self.brands.is_empty() || self.funding.is_empty() {
            return "no cards".into();
        }
        let brands: Vec<&str> = self.brands.iter().map(|b| brand_name(*b)).collect();
        let funding: Vec<&str> = self.funding.iter().map(|f| f.as_str()).collect();
        format!("{}, {} cards", either(&brands), either(&funding))
    }
}

fn names<T: Copy + PartialEq>(
    field: &'static str,
    given: &[String],
    all: &[T],
    name: impl Fn(T) -> &'static str,
) -> Result<Vec<T>, InvalidValue> {
    let mut chosen = Vec::new();
    for g in given {
        let known = all.iter().copied().find(|t| name(*t) == g.trim());
        let t = known.ok_or_else(|| {
            let options: Vec<&str> = all.iter().map(|t| name(*t)).collect();
            InvalidValue::new(
                field,
                format!("{:?} is not one of {}", g.chars().take(40).collect::<String>(), options.join(", ")),
            )
        })?;
        if !chosen.contains(&t) {
            chosen.push(t);
        }
    }
    if chosen.is_empty() {
        return Err(InvalidValue::new(field, "must name at least one"));
    }
    // The order of `all`, so that equal settings compare equal.
    Ok(all.iter().copied().filter(|t| chosen.contains(t)).collect())
}

pub fn brand_name(b: Brand) -> &'static str {
    match b {
        Brand::Visa => "Visa",
        Brand::Mastercard => "Mastercard",
        Brand::Amex => "American Express",
        Brand::Discover => "Discover",
    }
}

fn either(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn a_seller_narrows_what_the_shop_accepts() {
        let shop = Accepted::parse(&s(&["visa", "mastercard"]), &s(&["credit", "debit"]), true).unwrap();
        let seller = Accepted::parse(&s(&["mastercard", "amex"]), &s(&["credit"]), false).unwrap();
        let both = shop.and(&seller);
        assert_eq!(
            both,
            Accepted { brands: vec![Brand::Mastercard], funding: vec![Funding::Credit], gift_cards: false }
        );
        assert!(both.takes_card(Brand::Mastercard, Funding::Credit));
        assert!(!both.takes_card(Brand::Visa, Funding::Credit) && !both.takes_card(Brand::Mastercard, Funding::Debit));
        assert_eq!(shop.describe(), "Visa or Mastercard, credit or debit cards");
        assert_eq!(both.describe(), "Mastercard, credit cards");
        assert!(Accepted::default().takes_card(Brand::Discover, Funding::Prepaid));
    }

    #[test]
    fn settings_name_known_things_and_at_least_one() {
        assert!(Accepted::parse(&s(&[]), &s(&["credit"]), true).is_err());
        assert!(Accepted::parse(&s(&["visa"]), &s(&["cash"]), true).is_err());
        assert!(Accepted::parse(&s(&["dinersclub"]), &s(&["credit"]), true).is_err());
        let a = Accepted::parse(&s(&["mastercard", "visa", "visa"]), &s(&["debit"]), true).unwrap();
        assert_eq!(a.brands, vec![Brand::Visa, Brand::Mastercard], "fixed order, no repeats");
    }
}
