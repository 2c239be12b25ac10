//! Values parsed at the edge: a value that exists is valid.

use serde::Serialize;
use std::fmt;

/// Why a value was refused. `field` names the input so the API can point at it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidValue {
    pub field: &'static str,
    pub reason: String,
}

impl InvalidValue {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        InvalidValue { field, reason: reason.into() }
    }
}

/// Characters that show nothing: zero-width spaces and joiners, the word joiner, the byte-order mark, the soft
/// hyphen, Hangul fillers. A name made only of these reads as empty on a label and in an e-mail.
fn invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{00AD}' | '\u{034F}'
        | '\u{180E}' | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}')
        || bidi_control(c)
}

/// Bidirectional embeddings, overrides and isolates: they make text display in another order than it is
/// stored ("Trojan Source"), so a name could show as something else on a label or in the console.
fn bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Refuses control characters and bidirectional overrides anywhere, and more than `max` characters as sent;
/// then trims, and checks the trimmed text has at least `min` characters, and (when `min` is more than 0)
/// something visible. `patterns::TEXT` says the same for the API document.
fn bounded_text(field: &'static str, raw: &str, min: usize, max: usize) -> Result<String, InvalidValue> {
    if raw.chars().any(char::is_control) {
        return Err(InvalidValue::new(field, "must not contain control characters"));
    }
    if raw.chars().any(bidi_control) {
        return Err(InvalidValue::new(field, "must not contain bidirectional override characters"));
    }
    if raw.chars().count() > max {
        return Err(InvalidValue::new(field, format!("must be at most {max} characters")));
    }
    let text = raw.trim();
    if text.chars().count() < min {
        return Err(InvalidValue::new(
            field,
            if min == 1 { "must not be empty".to_string() } else { format!("must be at least {min} characters") },
        ));
    }
    if min > 0 && text.chars().all(|c| c.is_whitespace() || invisible(c)) {
        return Err(InvalidValue::new(field, "must contain visible characters"));
    }
    Ok(text.to_string())
}

macro_rules! text_value {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

text_value!(/// An e-mail address, lower-cased, of a plausible shape (the mail server is the real check).
    Email);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let text = bounded_text("email", raw, 3, 254)?;
        let (local, domain) = text.split_once('@').ok_or_else(|| InvalidValue::new("email", "must contain @"))?;
        let ok = !local.is_empty()
            && local.chars().count() <= 64
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !text.contains(char::is_whitespace);
        if !ok {
            return Err(InvalidValue::new("email", "is not an e-mail address"));
        }
        Ok(Email(text.to_lowercase()))
    }
}

text_value!(/// A person's name as they write it.
    PersonName);

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        bounded_text("name", raw, 1, 100).map(PersonName)
    }
}

text_value!(/// A stock keeping unit: letters, digits, `-` and `_`, upper-cased.
    Sku);

impl Sku {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let text = raw.trim();
        if text.is_empty() || text.len() > 64 {
            return Err(InvalidValue::new("sku", "must be 1 to 64 characters"));
        }
        if !text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(InvalidValue::new("sku", "may contain only letters, digits, '-' and '_'"));
        }
        Ok(Sku(text.to_ascii_uppercase()))
    }
}

text_value!(/// A product title.
    ProductTitle);

impl ProductTitle {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        bounded_text("title", raw, 1, 200).map(ProductTitle)
    }
}

/// How many of one item a single Buy Now may take. One click buying a thousand of something is far more
/// likely a bug or abuse than a customer; bulk buying goes through a cart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Quantity(u32);

impl Quantity {
    pub const MAX: u32 = 100;

    pub fn new(n: i64) -> Result<Self, InvalidValue> {
        if n < 1 {
            return Err(InvalidValue::new("quantity", "must be at least 1"));
        }
        if n > i64::from(Self::MAX) {
            return Err(InvalidValue::new("quantity", format!("must be at most {}", Self::MAX)));
        }
        Ok(Quantity(n as u32))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// A plain-text password as typed: only its length is checked; it is hashed at once and never kept.
pub struct Password(String);

impl Password {
    pub fn parse(raw: String) -> Result<Self, InvalidValue> {
        let len = raw.chars().count();
        if len < 8 {
            return Err(InvalidValue::new("password", "must be at least 8 characters"));
        }
        if len > 256 {
            return Err(InvalidValue::new("password", "must be at most 256 characters"));
        }
        Ok(Password(raw))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A postal address to ship to. (`Deserialize` reads back the snapshots we stored; input goes through `parse`.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PostalAddress {
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    pub country: String,
}

/// The raw fields of an address as they arrive.
#[derive(Debug, Clone, Default)]
pub struct AddressInput<'a> {
    pub name: &'a str,
    pub line1: &'a str,
    pub line2: Option<&'a str>,
    pub city: &'a str,
    pub region: &'a str,
    pub postal_code: &'a str,
    pub country: &'a str,
}

impl PostalAddress {
    /// Countries we ship to. US addresses need a state code and a ZIP code.
    pub const COUNTRIES: [&'static str; 2] = ["US", "CA"];

    pub fn parse(input: AddressInput<'_>) -> Result<Self, InvalidValue> {
        let name = bounded_text("name", input.name, 1, 100)?;
        let line1 = bounded_text("line1", input.line1, 1, 200)?;
        // A blank second line is no second line; one of only invisible characters is refused like a blank name.
        let line2 = match input.line2.map(|l| bounded_text("line2", l, 0, 200)).transpose()? {
            Some(l) if l.is_empty() => None,
            Some(l) if l.chars().all(|c| c.is_whitespace() || invisible(c)) => {
                return Err(InvalidValue::new("line2", "must contain visible characters"))
            }
            other => other,
        };
        let city = bounded_text("city", input.city, 1, 100)?;
        let country = bounded_text("country", input.country, 2, 2)?.to_ascii_uppercase();
        if !Self::COUNTRIES.contains(&country.as_str()) {
            return Err(InvalidValue::new("country", format!("we ship to {}", Self::COUNTRIES.join(", "))));
        }
        let region = bounded_text("region", input.region, 2, 3)?.to_ascii_uppercase();
        if !region.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(InvalidValue::new("region", "must be a state or province code such as CA"));
        }
        let postal_code = bounded_text("postal_code", input.postal_code, 3, 10)?.to_ascii_uppercase();
        let postal_ok = match country.as_str() {
            "US" => {
                let b = postal_code.as_bytes();
                (b.len() == 5 && b.iter().all(u8::is_ascii_digit))
                    || (b.len() == 10
                        && b[5] == b'-'
                        && b.iter().enumerate().all(|(i, c)| i == 5 || c.is_ascii_digit()))
            }
            _ => postal_code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' '),
        };
        if !postal_ok {
            return Err(InvalidValue::new("postal_code", "is not a postal code of that country"));
        }
        Ok(PostalAddress { name, line1, line2, city, region, postal_code, country })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(postal_code: &str, country: &str) -> Result<PostalAddress, InvalidValue> {
        PostalAddress::parse(AddressInput {
            name: "Ada Lovelace",
            line1: "1 Main St",
            line2: Some("  "),
            city: "Springfield",
            region: "il",
            postal_code,
            country,
        })
    }

    #[test]
    fn parses_and_normalizes_an_address() {
        let a = address("62701", "us").unwrap();
        assert_eq!((a.region.as_str(), a.country.as_str(), a.line2), ("IL", "US", None));
        assert!(address("62701-1234", "US").is_ok());
    }

    #[test]
    fn refuses_bad_addresses() {
        assert_eq!(address("6270", "US").unwrap_err().field, "postal_code");
        assert_eq!(address("62701", "ZZ").unwrap_err().field, "country");
        assert_eq!(address("62701", "USA").unwrap_err().field, "country");
    }

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(Email::parse(" Ada@Example.COM ").unwrap().as_str(), "ada@example.com");
        for bad in ["", "ada", "ada@", "@example.com", "ada@example", "a da@example.com", "ada@@example.com"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quantities_are_bounded() {
        assert!(Quantity::new(0).is_err());
        assert!(Quantity::new(-1).is_err());
        assert!(Quantity::new(101).is_err());
        assert_eq!(Quantity::new(100).unwrap().get(), 100);
    }

    #[test]
    fn skus_are_normalized_and_restricted() {
        assert_eq!(Sku::parse("echo-dot_5").unwrap().as_str(), "ECHO-DOT_5");
        assert!(Sku::parse("a b").is_err());
        assert!(Sku::parse(&"X".repeat(65)).is_err());
    }

    #[test]
    fn text_refuses_control_characters_and_oversize() {
        assert!(PersonName::parse("Ada\u{0}").is_err());
        assert!(PersonName::parse(&"a".repeat(101)).is_err());
    }

    #[test]
    fn text_refuses_invisible_names_and_bidi_overrides_but_keeps_real_ones() {
        for bad in
            ["\u{200B}\u{200B}", "\u{FEFF}", " \u{200D} ", "\u{3164}", "Bob\u{202E}gnp.exe", "\u{2066}Ada\u{2069}"]
        {
            assert!(PersonName::parse(bad).is_err(), "{bad:?}");
        }
        for good in ["Ada Lovelace", "José Núñez", "李小龙", "محمد", "Zoë\u{00AD}Smith", "O'Brien-Smith"] {
            assert!(PersonName::parse(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn a_second_line_of_only_blanks_and_invisible_characters_is_refused() {
        let line2 = |l: &str| {
            PostalAddress::parse(AddressInput {
                name: "Ada",
                line1: "1 Main St",
                line2: Some(l),
                city: "Springfield",
                region: "IL",
                postal_code: "62701",
                country: "US",
            })
        };
        // Found by the pattern's property test: a no-break space between zero-width ones was let through.
        for bad in ["\u{200B}", "\u{200B}\u{A0}\u{200B}", "\u{FEFF} \u{3000}"] {
            assert_eq!(line2(bad).unwrap_err().field, "line2", "{bad:?}");
        }
        assert_eq!(line2(" Apt 4\u{A0}").unwrap().line2.as_deref(), Some("Apt 4"));
        assert_eq!(line2("\u{3000} ").unwrap().line2, None);
    }

    #[test]
    fn a_password_never_prints() {
        let p = Password::parse("correct horse".into()).unwrap();
        assert_eq!(format!("{p:?}"), "Password(***)");
        assert!(Password::parse("short".into()).is_err());
    }
}
