//! Tracking numbers: each carrier's own format, each with a check digit, so a mistyped number is caught
//! before anyone looks for it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrackingFormat {
    /// `SW` + 9 digits + a Luhn check digit: `SW1234567897`.
    SwiftLuhn,
    /// `1P` + 15 digits + a GS1 (weights 3, 1) check digit.
    ParcelwayGs1,
    /// 11 digits + a mod-11 check digit (weights 2…7 from the right; 10 counts as 0).
    RoadrunnerMod11,
}

impl TrackingFormat {
    /// How many serial digits the format carries.
    pub fn serial_digits(self) -> usize {
        match self {
            TrackingFormat::SwiftLuhn => 9,
            TrackingFormat::ParcelwayGs1 => 15,
            TrackingFormat::RoadrunnerMod11 => 11,
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            TrackingFormat::SwiftLuhn => "SW",
            TrackingFormat::ParcelwayGs1 => "1P",
            TrackingFormat::RoadrunnerMod11 => "",
        }
    }

    fn check_digit(self, digits: &[u8]) -> u8 {
        match self {
            TrackingFormat::SwiftLuhn => luhn_check_digit(digits),
            TrackingFormat::ParcelwayGs1 => {
                let sum: u32 =
                    digits.iter().rev().enumerate().map(|(i, d)| u32::from(*d) * if i % 2 == 0 { 3 } else { 1 }).sum();
                ((10 - sum % 10) % 10) as u8
            }
            TrackingFormat::RoadrunnerMod11 => {
                let sum: u32 = digits.iter().rev().enumerate().map(|(i, d)| u32::from(*d) * (2 + (i as u32 % 6))).sum();
                let r = (11 - sum % 11) % 11;
                if r == 10 {
                    0
                } else {
                    r as u8
                }
            }
        }
    }

    /// The tracking number for `serial` (taken modulo the format's digits).
    pub fn format(self, serial: u64) -> String {
        let width = self.serial_digits();
        let modulus = 10u64.checked_pow(width as u32).unwrap_or(u64::MAX);
        let body = format!("{:0width$}", serial % modulus);
        let digits: Vec<u8> = body.bytes().map(|b| b - b'0').collect();
        format!("{}{}{}", self.prefix(), body, self.check_digit(&digits))
    }

    /// Whether `number` is one of this format's, check digit included.
    pub fn is_valid(self, number: &str) -> bool {
        let Some(rest) = number.strip_prefix(self.prefix()) else { return false };
        if rest.len() != self.serial_digits() + 1 || !rest.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        let digits: Vec<u8> = rest.bytes().map(|b| b - b'0').collect();
        let (body, check) = digits.split_at(self.serial_digits());
        self.check_digit(body) == check[0]
    }
}

fn luhn_check_digit(digits: &[u8]) -> u8 {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(*d);
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ALL: [TrackingFormat; 3] =
        [TrackingFormat::SwiftLuhn, TrackingFormat::ParcelwayGs1, TrackingFormat::RoadrunnerMod11];

    #[test]
    fn known_numbers() {
        assert_eq!(TrackingFormat::SwiftLuhn.format(123_456_789), "SW1234567897");
        assert!(TrackingFormat::SwiftLuhn.is_valid("SW1234567897"));
        assert!(!TrackingFormat::SwiftLuhn.is_valid("SW1234567898"));
        assert!(!TrackingFormat::SwiftLuhn.is_valid("1P1234567897"));
        assert_eq!(TrackingFormat::RoadrunnerMod11.format(1).len(), 12);
        assert_eq!(TrackingFormat::ParcelwayGs1.format(1).len(), 18);
    }

    proptest! {
        #[test]
        fn every_formatted_number_is_valid_and_one_wrong_digit_is_caught(serial in any::<u64>(), pos in 0usize..20, delta in 1u8..10) {
            for f in ALL {
                let n = f.format(serial);
                prop_assert!(f.is_valid(&n));
                let start = f.prefix().len();
                let i = start + pos % (n.len() - start);
                let mut bytes = n.clone().into_bytes();
                bytes[i] = b'0' + (bytes[i] - b'0' + delta) % 10;
                let changed = String::from_utf8(bytes).unwrap();
                // Luhn and GS1 catch every single-digit error; mod 11 does too, except where a remainder of 10 and
                // one of 0 share the check digit 0.
                if f != TrackingFormat::RoadrunnerMod11 || !n.ends_with('0') {
                    prop_assert!(!f.is_valid(&changed), "{} accepted {}", n, changed);
                }
            }
        }
    }
}
