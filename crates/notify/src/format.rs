//! How money and dates read to a customer, in a message or on a page.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

/// "$1,234.56" for dollars; other currencies as "1,234.56 CAD".
pub fn money(minor: i64, currency: &str) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let (whole, cents) = (minor.unsigned_abs() / 100, minor.unsigned_abs() % 100);
    let digits = whole.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match currency {
        "USD" => format!("{sign}${grouped}.{cents:02}"),
        other => format!("{sign}{grouped}.{cents:02} {other}"),
    }
}

/// "Tuesday, December 8"
pub fn day(d: NaiveDate) -> String {
    d.format("%A, %B %-d").to_string()
}

/// A delivery window: one day, or "Monday, December 7 – Wednesday, December 9".
pub fn window(earliest: NaiveDate, latest: NaiveDate) -> String {
    if earliest == latest {
        day(earliest)
    } else {
        format!("{} – {}", day(earliest), day(latest))
    }
}

/// A moment as the clock where it is read shows it: "Tuesday, December 8, 2:05 PM PST".
pub fn local_time(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%A, %B %-d, %-I:%M %p %Z").to_string()
}

/// The time zone of a delivery address: its state's or province's (the most populous zone where one has
/// several), Eastern when unknown.
pub fn zone_of(country: &str, region: &str) -> Tz {
    use chrono_tz::America::*;
    use chrono_tz::Pacific::Honolulu;
    match (country, region) {
        ("US", "WA" | "OR" | "CA" | "NV") => Los_Angeles,
        ("US", "AZ") => Phoenix,
        ("US", "MT" | "ID" | "WY" | "UT" | "CO" | "NM") => Denver,
        ("US", "AK") => Anchorage,
        ("US", "HI") => Honolulu,
        (
            "US",
            "ND" | "SD" | "NE" | "KS" | "OK" | "TX" | "MN" | "IA" | "MO" | "AR" | "LA" | "WI" | "IL" | "MS" | "AL"
            | "TN",
        ) => Chicago,
        ("US", _) => New_York,
        ("CA", "BC") => Vancouver,
        ("CA", "AB") => Edmonton,
        ("CA", "SK") => Regina,
        ("CA", "MB") => Winnipeg,
        ("CA", "NS" | "PE") => Halifax,
        ("CA", "NB") => Moncton,
        ("CA", "NL") => St_Johns,
        ("CA", "YT") => Whitehorse,
        ("CA", "NT") => Yellowknife,
        ("CA", "NU") => Iqaluit,
        ("CA", _) => Toronto,
        _ => New_York,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn money_reads_as_a_price() {
        assert_eq!(money(0, "USD"), "$0.00");
        assert_eq!(money(1999, "USD"), "$19.99");
        assert_eq!(money(123_456_789, "USD"), "$1,234,567.89");
        assert_eq!(money(100_000, "USD"), "$1,000.00");
        assert_eq!(money(-505, "USD"), "-$5.05");
        assert_eq!(money(100, "CAD"), "1.00 CAD");
    }

    #[test]
    fn a_moment_reads_in_the_addresss_zone() {
        let at = Utc.with_ymd_and_hms(2026, 12, 8, 22, 5, 0).unwrap();
        assert_eq!(local_time(at, zone_of("US", "WA")), "Tuesday, December 8, 2:05 PM PST");
        assert_eq!(local_time(at, zone_of("US", "NY")), "Tuesday, December 8, 5:05 PM EST");
        assert_eq!(local_time(at, zone_of("CA", "NL")), "Tuesday, December 8, 6:35 PM NST");
    }
}
