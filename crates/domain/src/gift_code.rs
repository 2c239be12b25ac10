//! A gift card's code: 80 random bits as 16 characters of Crockford's base32, in groups of four
//! (`7K2M-Q9XD-4HRT-B3NW`). Read back forgivingly, as people type: any case, with or without the dashes and
//! spaces, `I` and `L` as `1`, `O` as `0`. The code is a bearer secret: it is shown once, kept as a hash, and
//! never printed by `Debug`.

use crate::InvalidValue;
use std::fmt;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const LEN: usize = 16;

#[derive(Clone, PartialEq, Eq)]
pub struct GiftCardCode(String);

impl GiftCardCode {
    /// The code of 80 random bits.
    pub fn from_random(bytes: [u8; 10]) -> GiftCardCode {
        let mut bits: u128 = 0;
        for b in bytes {
            bits = (bits << 8) | u128::from(b);
        }
        let code = (0..LEN).rev().map(|i| char::from(ALPHABET[((bits >> (i * 5)) & 31) as usize])).collect();
        GiftCardCode(code)
    }

    pub fn parse(raw: &str) -> Result<GiftCardCode, InvalidValue> {
        let invalid = || InvalidValue::new("code", "is not a gift card code (16 letters and digits)");
        if raw.len() > 64 {
            return Err(invalid());
        }
        let mut code = String::with_capacity(LEN);
        for c in raw.chars().filter(|c| !matches!(c, '-' | ' ')) {
            let c = match c.to_ascii_uppercase() {
                'I' | 'L' => '1',
                'O' => '0',
                c if ALPHABET.contains(&(c as u8)) && c.is_ascii() => c,
                _ => return Err(invalid()),
            };
            code.push(c);
        }
        if code.len() != LEN {
            return Err(invalid());
        }
        Ok(GiftCardCode(code))
    }

    /// The code as the customer is shown it, in groups of four.
    pub fn grouped(&self) -> String {
        self.0.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap_or("")).collect::<Vec<_>>().join("-")
    }

    /// The canonical form (what is hashed).
    pub fn canonical(&self) -> &str {
        &self.0
    }

    pub fn last4(&self) -> &str {
        &self.0[LEN - 4..]
    }
}

impl fmt::Debug for GiftCardCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GiftCardCode(…{})", self.last4())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_code_reads_back_as_people_type_it() {
        let code = GiftCardCode::from_random([0xA5; 10]);
        let shown = code.grouped();
        assert_eq!(shown.len(), 19);
        assert_eq!(GiftCardCode::parse(&shown).unwrap(), code);
        assert_eq!(GiftCardCode::parse(&shown.to_lowercase().replace('-', " ")).unwrap(), code);
        assert_eq!(GiftCardCode::parse("OOOO-IIII-LLLL-0000").unwrap().canonical(), "0000111111110000");
        for bad in ["", "ABCD", "ABCD-EFGH-JKMN-PQRU", "ABCD-EFGH-JKMN-PQRS-T", "ÀBCD-EFGH-JKMN-PQRS"] {
            assert!(GiftCardCode::parse(bad).is_err(), "{bad}");
        }
        assert!(!format!("{code:?}").contains(code.canonical()), "Debug hides the code");
    }

    proptest! {
        #[test]
        fn every_code_made_parses_back_to_itself(bytes in any::<[u8; 10]>()) {
            let code = GiftCardCode::from_random(bytes);
            prop_assert_eq!(GiftCardCode::parse(&code.grouped()).unwrap(), code);
        }
    }
}
