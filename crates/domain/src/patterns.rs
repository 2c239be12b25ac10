//! The input rules of `values`, `card` and `gift_code` as JSON Schema patterns, for the API document: a client
//! generated from it, or a fuzzer, knows exactly what the server takes. Each pattern is written for both
//! ECMA-262 (what JSON Schema names) and Python's `re` (what schemathesis runs): character classes, `\xHH` and
//! `\uHHHH` escapes and counted repeats only. The tests below hold each to its parser, both ways.
//!
//! Lengths are not in the patterns: the API document gives `maxLength` beside them (see each constant).

/// Control characters, and the bidirectional controls: refused anywhere in text.
macro_rules! never {
    () => {
        r"\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
    };
}

/// White space that is not a control character (Unicode's White_Space, less what `never!` holds).
macro_rules! blank {
    () => {
        r"\x20\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    };
}

/// All of Unicode's White_Space: what `str::trim` takes off.
macro_rules! space {
    () => {
        concat!(r"\t\n\x0b\x0c\r\x85", blank!())
    };
}

/// Unicode's White_Space, as a character class's inside: what the server trims off names, codes and choices.
pub const SPACE: &str = space!();

/// Characters that show nothing (see `values::invisible`).
macro_rules! invisible {
    () => {
        r"\u200b-\u200f\u2060-\u2064\ufeff\xad\u034f\u180e\u115f\u1160\u3164\uffa0"
    };
}

/// Text with something visible in it (names, lines of an address, titles), up to the field's `maxLength`.
pub const TEXT: &str = concat!("^[^", never!(), "]*[^", never!(), blank!(), invisible!(), "][^", never!(), "]*$");

/// Optional text: blank (taken as left out), or `TEXT`.
pub const OPTIONAL_TEXT: &str =
    concat!("^([", blank!(), "]*|[^", never!(), "]*[^", never!(), blank!(), invisible!(), "][^", never!(), "]*)$");

/// An e-mail address (`maxLength` 254): up to 64 characters, `@`, a domain with a dot inside it; no spaces.
pub const EMAIL: &str = concat!(
    "^[",
    blank!(),
    "]*[^@",
    never!(),
    blank!(),
    "]{1,64}@[^@.",
    never!(),
    blank!(),
    "][^@",
    never!(),
    blank!(),
    r"]*\.[^@",
    never!(),
    blank!(),
    "]*[^@.",
    never!(),
    blank!(),
    "][",
    blank!(),
    "]*$"
);

/// A SKU: 1 to 64 letters, digits, `-` or `_` (space around it is taken off).
pub const SKU: &str = concat!("^[", space!(), "]*[A-Za-z0-9_-]{1,64}[", space!(), "]*$");

/// A country we ship to (`maxLength` 2).
pub const COUNTRY: &str = "^([Uu][Ss]|[Cc][Aa])$";
/// A state or province code (`maxLength` 3).
pub const REGION: &str = concat!("^[", blank!(), "]*[A-Za-z]{2,3}[", blank!(), "]*$");
/// A US ZIP code, five digits or ZIP+4 (`maxLength` 10).
pub const US_POSTAL_CODE: &str = concat!("^[", blank!(), "]*([0-9]{5}|[0-9]{5}-[0-9]{4})[", blank!(), "]*$");
/// A Canadian postal code: 3 to 10 letters, digits and spaces (`maxLength` 10).
pub const CA_POSTAL_CODE: &str = concat!("^[", blank!(), "]*[A-Za-z0-9][A-Za-z0-9 ]{1,8}[A-Za-z0-9][", blank!(), "]*$");

/// A card number as typed: 12 to 19 digits, with spaces or dashes anywhere. (The check digit and the brand
/// are not in it.)
pub const CARD_NUMBER: &str = "^[ -]*([0-9][ -]*){12,19}$";
/// A card verification code: 3 digits, or 4 for American Express.
pub const CVC: &str = concat!("^[", space!(), "]*[0-9]{3,4}[", space!(), "]*$");

/// A gift card code as printed or typed (`maxLength` 64): 16 of Crockford's base32 in any case, with dashes
/// and spaces anywhere.
pub const GIFT_CARD_CODE: &str = "^[- ]*([0-9A-TV-Za-tv-z][- ]*){16}$";

/// One of `options` (names of lower-case letters, `_` and `.`), with space around it taken off.
pub fn trimmed_choice(options: &[&str]) -> String {
    let options: Vec<String> = options.iter().map(|o| o.replace('.', r"\.")).collect();
    format!("^[{space}]*({})[{space}]*$", options.join("|"), space = space!())
}

/// A message a person wrote (`maxLength` given beside it): something not blank, and no control characters
/// but tabs and line breaks.
pub const MESSAGE: &str = concat!(
    r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*[^\x00-\x1f\x7f-\x9f",
    blank!(),
    r"][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
);

/// Text with no control characters (`char::is_control`), for free-form fields of staff tools.
pub const NO_CONTROLS: &str = r"^[^\x00-\x1f\x7f-\x9f]*$";

/// A prefixed id (`ord_…`): the prefix, then 32 lower-case hex digits.
pub fn id(prefix: &str) -> String {
    format!("^{prefix}[0-9a-f]{{32}}$")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::{CardNumber, Cvc};
    use crate::gift_code::GiftCardCode;
    use crate::{AddressInput, Email, PersonName, PostalAddress, Sku};
    use proptest::prelude::*;
    use regex::Regex;

    fn re(pattern: &str) -> Regex {
        Regex::new(pattern).expect("the pattern compiles")
    }

    fn fits(pattern: &str, max: usize, s: &str) -> bool {
        s.chars().count() <= max && re(pattern).is_match(s)
    }

    /// Text that reaches the edges of the rules: spaces of every kind, controls, invisible characters,
    /// bidirectional overrides, the characters e-mails and codes are made of, and now and then anything.
    fn edgy(max_len: usize) -> impl Strategy<Value = String> {
        let pieces = prop_oneof![
            Just(' '),
            Just('\t'),
            Just('\u{a0}'),
            Just('\u{2003}'),
            Just('\u{3000}'),
            Just('\u{200b}'),
            Just('\u{feff}'),
            Just('\u{202e}'),
            Just('\u{85}'),
            Just('\u{1f}'),
            Just('@'),
            Just('.'),
            Just('-'),
            Just('_'),
            Just('a'),
            Just('Z'),
            Just('0'),
            Just('9'),
            Just('é'),
            Just('İ'),
            any::<char>(),
        ];
        proptest::collection::vec(pieces, 0..max_len).prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn a_name_fits_the_pattern_exactly_when_it_parses(s in edgy(110)) {
            prop_assert_eq!(PersonName::parse(&s).is_ok(), fits(TEXT, 100, &s), "{:?}", s);
        }

        #[test]
        fn an_email_fits_the_pattern_exactly_when_it_parses(s in edgy(80)) {
            prop_assert_eq!(Email::parse(&s).is_ok(), fits(EMAIL, 254, &s), "{:?}", s);
        }

        #[test]
        fn text_without_controls_fits_the_pattern_exactly(s in edgy(20)) {
            prop_assert_eq!(!s.chars().any(char::is_control), re(NO_CONTROLS).is_match(&s), "{:?}", s);
        }

        #[test]
        fn a_sku_fits_the_pattern_exactly_when_it_parses(s in edgy(70)) {
            prop_assert_eq!(Sku::parse(&s).is_ok(), re(SKU).is_match(&s), "{:?}", s);
        }

        #[test]
        fn a_second_line_fits_the_pattern_exactly_when_it_parses(s in edgy(30)) {
            let parsed = PostalAddress::parse(AddressInput {
                name: "Ada", line1: "1 Main St", line2: Some(&s), city: "Springfield", region: "IL",
                postal_code: "62701", country: "US",
            });
            prop_assert_eq!(parsed.is_ok(), fits(OPTIONAL_TEXT, 200, &s), "{:?}", s);
        }

        #[test]
        fn postal_codes_fit_their_country_pattern_exactly_when_they_parse(s in "[ 0-9A-Za-z-]{0,12}", us in any::<bool>()) {
            let (country, pattern) = if us { ("US", US_POSTAL_CODE) } else { ("CA", CA_POSTAL_CODE) };
            let parsed = PostalAddress::parse(AddressInput {
                name: "Ada", line1: "1 Main St", line2: None, city: "Springfield", region: "IL",
                postal_code: &s, country,
            });
            prop_assert_eq!(parsed.is_ok(), fits(pattern, 10, &s), "{:?} {}", s, country);
        }

        #[test]
        fn regions_and_countries_fit_their_patterns_exactly_when_they_parse(region in "[ a-zA-Z0-9]{0,4}", country in "[ a-zA-Z]{0,3}") {
            let parsed = |region: &str, country: &str| PostalAddress::parse(AddressInput {
                name: "Ada", line1: "1 Main St", line2: None, city: "Springfield", region,
                postal_code: "62701", country,
            });
            prop_assert_eq!(parsed(&region, "US").is_ok(), fits(REGION, 3, &region), "{:?}", region);
            let canadian = country.trim().eq_ignore_ascii_case("ca");
            let code = if canadian { "K1A 0B1" } else { "62701" };
            let by_country = PostalAddress::parse(AddressInput {
                name: "Ada", line1: "1 Main St", line2: None, city: "Springfield", region: "ON",
                postal_code: code, country: &country,
            });
            prop_assert_eq!(by_country.is_ok(), fits(COUNTRY, 2, &country), "{:?}", country);
        }

        #[test]
        fn a_card_number_of_the_right_shape_fits_the_pattern(s in "[ 0-9-]{0,24}") {
            // The pattern is looser than the parser (it knows no check digit or brand), never stricter.
            if CardNumber::parse(&s).is_ok() {
                prop_assert!(re(CARD_NUMBER).is_match(&s), "{:?}", s);
            }
            let digits = s.chars().filter(char::is_ascii_digit).count();
            prop_assert_eq!(re(CARD_NUMBER).is_match(&s), (12..=19).contains(&digits), "{:?}", s);
        }

        #[test]
        fn a_cvc_fits_the_pattern_exactly_when_it_parses_for_some_brand(s in edgy(6)) {
            use crate::card::Brand;
            let some_brand = [Brand::Visa, Brand::Amex].iter().any(|b| Cvc::parse(&s, *b).is_ok());
            prop_assert_eq!(some_brand, re(CVC).is_match(&s), "{:?}", s);
        }

        #[test]
        fn a_gift_card_code_fits_the_pattern_exactly_when_it_parses(s in "[- 0-9A-Za-z]{0,30}") {
            prop_assert_eq!(GiftCardCode::parse(&s).is_ok(), fits(GIFT_CARD_CODE, 64, &s), "{:?}", s);
        }
    }

    #[test]
    fn a_trimmed_choice_takes_its_names_with_space_around_them_and_nothing_else() {
        let p = re(&trimmed_choice(&["visa", "amex"]));
        assert!(p.is_match("visa") && p.is_match(" amex\t") && p.is_match("\u{3000}visa"));
        assert!(!p.is_match("visas") && !p.is_match("VISA") && !p.is_match("") && !p.is_match("visa amex"));
        let dotted = re(&trimmed_choice(&["order.placed"]));
        assert!(dotted.is_match("order.placed") && !dotted.is_match("orderXplaced"));
    }

    #[test]
    fn ids_fit_their_pattern() {
        let id = crate::OrderId::new().to_string();
        assert!(re(&super::id("ord_")).is_match(&id));
        assert!(!re(&super::id("ord_")).is_match(&id.to_uppercase()));
    }
}
