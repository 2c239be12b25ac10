//! Carriers, their services, zone rates and transit times, and rate shopping (DESIGN.md, "Shipments and the
//! warehouse"). The three demo carriers are data, not code paths: a shop adds its own the same way.

use crate::tracking::TrackingFormat;
use buynow_domain::promise::add_business_days;
use buynow_domain::Money;
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::BTreeSet;

/// Where a parcel leaves from or goes to, as far as rates care: a country and its region (state, province).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub country: String,
    pub region: String,
}

impl Place {
    pub fn new(country: &str, region: &str) -> Place {
        Place { country: country.to_ascii_uppercase(), region: region.to_ascii_uppercase() }
    }
}

/// US states by the four broad areas that zone charts follow, west to east; Alaska, Hawaii and the
/// territories are remote (always the farthest zone).
fn us_area(state: &str) -> Option<u8> {
    const WEST: &[&str] = &["WA", "OR", "CA", "NV"];
    const MOUNTAIN: &[&str] = &["ID", "MT", "WY", "UT", "CO", "AZ", "NM"];
    const CENTRAL: &[&str] = &[
        "ND", "SD", "NE", "KS", "OK", "TX", "MN", "IA", "MO", "AR", "LA", "WI", "IL", "MI", "IN", "KY", "TN", "MS",
        "AL",
    ];
    const EAST: &[&str] = &[
        "OH", "GA", "FL", "SC", "NC", "VA", "WV", "MD", "DE", "PA", "NJ", "NY", "CT", "RI", "MA", "VT", "NH", "ME",
        "DC",
    ];
    [WEST, MOUNTAIN, CENTRAL, EAST].iter().position(|area| area.contains(&state)).map(|i| i as u8)
}

/// The rate zone between two places, 1 (same state) to 8 (across the country, or remote); `None` when the
/// carrier network does not join them (another country).
pub fn zone(from: &Place, to: &Place) -> Option<u8> {
    if from.country != to.country {
        return None;
    }
    if from.region == to.region {
        return Some(1);
    }
    if from.country != "US" {
        return Some(4);
    }
    match (us_area(&from.region), us_area(&to.region)) {
        (Some(a), Some(b)) => Some(2 + 2 * a.abs_diff(b)),
        _ => Some(8),
    }
}

/// One service of a carrier: its transit by zone, its price, and the delivery speed it can stand for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub code: &'static str,
    pub name: &'static str,
    /// Transit in business days after the ship date, (fastest, slowest), for zones 1–2, 3–4, 5–6 and 7–8.
    pub transit: [(u32, u32); 4],
    pub base: Money,
    pub per_zone: Money,
    /// Per started kilogram.
    pub per_kg: Money,
}

impl Service {
    pub fn transit_days(&self, zone: u8) -> (u32, u32) {
        self.transit[usize::from(zone.clamp(1, 8) - 1) / 2]
    }

    pub fn price(&self, zone: u8, weight_grams: u32) -> Money {
        let kg = i64::from(weight_grams.div_ceil(1000).max(1));
        let minor = self.base.minor() + self.per_zone.minor() * i64::from(zone) + self.per_kg.minor() * kg;
        Money::new(minor, self.base.currency())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carrier {
    pub code: &'static str,
    pub name: &'static str,
    /// Countries it delivers in (origin and destination both).
    pub countries: &'static [&'static str],
    pub tracking: TrackingFormat,
    pub services: Vec<Service>,
    /// Where the customer follows a parcel; `{}` is the tracking number.
    pub tracking_url: &'static str,
}

impl Carrier {
    pub fn service(&self, code: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.code == code)
    }

    pub fn serves(&self, from: &Place, to: &Place) -> bool {
        self.countries.contains(&from.country.as_str())
            && self.countries.contains(&to.country.as_str())
            && zone(from, to).is_some()
    }

    pub fn tracking_link(&self, number: &str) -> String {
        self.tracking_url.replace("{}", number)
    }
}

const fn usd(minor: i64) -> Money {
    Money::usd(minor)
}

/// The demo's three carriers.
pub fn demo() -> Vec<Carrier> {
    vec![
        Carrier {
            code: "swift",
            name: "Swift Parcel",
            countries: &["US"],
            tracking: TrackingFormat::SwiftLuhn,
            tracking_url: "https://track.swiftparcel.example/{}",
            services: vec![
                Service {
                    code: "ground",
                    name: "Swift Ground",
                    transit: [(1, 2), (2, 3), (3, 4), (4, 5)],
                    base: usd(450),
                    per_zone: usd(35),
                    per_kg: usd(90),
                },
                Service {
                    code: "express",
                    name: "Swift Express 2-Day",
                    transit: [(1, 1), (2, 2), (2, 2), (2, 2)],
                    base: usd(900),
                    per_zone: usd(55),
                    per_kg: usd(150),
                },
                Service {
                    code: "overnight",
                    name: "Swift Overnight",
                    transit: [(1, 1), (1, 1), (1, 1), (1, 1)],
                    base: usd(1900),
                    per_zone: usd(110),
                    per_kg: usd(250),
                },
            ],
        },
        Carrier {
            code: "parcelway",
            name: "Parcelway",
            countries: &["US", "CA"],
            tracking: TrackingFormat::ParcelwayGs1,
            tracking_url: "https://parcelway.example/track?number={}",
            services: vec![
                Service {
                    code: "ground",
                    name: "Parcelway Ground",
                    transit: [(1, 2), (2, 3), (3, 5), (4, 5)],
                    base: usd(420),
                    per_zone: usd(40),
                    per_kg: usd(85),
                },
                Service {
                    code: "two_day",
                    name: "Parcelway 2nd Day",
                    transit: [(2, 2), (2, 2), (2, 2), (2, 2)],
                    base: usd(950),
                    per_zone: usd(55),
                    per_kg: usd(140),
                },
                Service {
                    code: "next_day",
                    name: "Parcelway Next Day Air",
                    transit: [(1, 1), (1, 1), (1, 1), (1, 1)],
                    base: usd(2100),
                    per_zone: usd(95),
                    per_kg: usd(260),
                },
            ],
        },
        Carrier {
            code: "roadrunner",
            name: "Roadrunner Freight",
            countries: &["US"],
            tracking: TrackingFormat::RoadrunnerMod11,
            tracking_url: "https://roadrunner.example/t/{}",
            services: vec![
                Service {
                    code: "economy",
                    name: "Roadrunner Economy",
                    transit: [(2, 3), (3, 5), (4, 6), (5, 7)],
                    base: usd(380),
                    per_zone: usd(30),
                    per_kg: usd(70),
                },
                Service {
                    code: "priority",
                    name: "Roadrunner Priority",
                    transit: [(1, 2), (2, 2), (2, 3), (3, 3)],
                    base: usd(700),
                    per_zone: usd(45),
                    per_kg: usd(110),
                },
            ],
        },
    ]
}

/// A service's price and the delivery it promises for one parcel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RateQuote {
    pub carrier: &'static str,
    pub service: &'static str,
    pub price: Money,
    pub zone: u8,
    /// The latest day it promises to deliver (carrier business days, holidays excluded).
    pub delivered_by: NaiveDate,
}

/// Every service of `carriers` that can carry a parcel of `weight_grams` from `from` to `to` shipped on `ship`.
pub fn quotes(
    carriers: &[Carrier],
    from: &Place,
    to: &Place,
    weight_grams: u32,
    ship: NaiveDate,
    holidays: &BTreeSet<NaiveDate>,
) -> Vec<RateQuote> {
    let mut out = Vec::new();
    for carrier in carriers.iter().filter(|c| c.serves(from, to)) {
        let Some(zone) = zone(from, to) else { continue };
        for service in &carrier.services {
            let (_, slowest) = service.transit_days(zone);
            let Some(delivered_by) = add_business_days(ship, slowest, holidays) else { continue };
            out.push(RateQuote {
                carrier: carrier.code,
                service: service.code,
                price: service.price(zone, weight_grams),
                zone,
                delivered_by,
            });
        }
    }
    out
}

/// Rate shopping: the cheapest service that still delivers by `promised_by`; when none does (the parcel is
/// late already), the one that delivers soonest, cheapest first among equals.
pub fn rate_shop(mut quotes: Vec<RateQuote>, promised_by: NaiveDate) -> Option<RateQuote> {
    quotes.sort_by(|a, b| {
        (a.price.minor(), a.delivered_by, a.carrier, a.service).cmp(&(
            b.price.minor(),
            b.delivered_by,
            b.carrier,
            b.service,
        ))
    });
    if let Some(on_time) = quotes.iter().find(|q| q.delivered_by <= promised_by) {
        return Some(on_time.clone());
    }
    quotes.into_iter().min_by(|a, b| (a.delivered_by, a.price.minor()).cmp(&(b.delivered_by, b.price.minor())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn zones_grow_with_distance() {
        let wa = Place::new("US", "WA");
        assert_eq!(zone(&wa, &Place::new("US", "WA")), Some(1));
        assert_eq!(zone(&wa, &Place::new("US", "CA")), Some(2));
        assert_eq!(zone(&wa, &Place::new("US", "NY")), Some(8));
        assert_eq!(zone(&wa, &Place::new("US", "HI")), Some(8));
        assert_eq!(zone(&wa, &Place::new("CA", "ON")), None);
    }

    #[test]
    fn rate_shopping_takes_the_cheapest_on_time_service() {
        let carriers = demo();
        let (wa, ny) = (Place::new("US", "WA"), Place::new("US", "NY"));
        // Monday 2026-11-30, across the country.
        let q = quotes(&carriers, &wa, &ny, 800, d(2026, 11, 30), &BTreeSet::new());
        // Promised for Wednesday (two days): only the two-day and overnight services make it.
        let pick = rate_shop(q.clone(), d(2026, 12, 2)).unwrap();
        assert_eq!((pick.carrier, pick.service), ("swift", "express"));
        // Promised for the Friday after next: economy ground is cheapest and on time.
        let pick = rate_shop(q.clone(), d(2026, 12, 11)).unwrap();
        assert_eq!((pick.carrier, pick.service), ("roadrunner", "economy"));
        // Promised for today: nothing makes it, so the soonest goes.
        let pick = rate_shop(q, d(2026, 11, 30)).unwrap();
        assert_eq!(pick.delivered_by, d(2026, 12, 1));
    }

    #[test]
    fn only_parcelway_reaches_canada_from_canada() {
        let carriers = demo();
        let on = Place::new("CA", "ON");
        let q = quotes(&carriers, &on, &Place::new("CA", "QC"), 500, d(2026, 11, 30), &BTreeSet::new());
        assert!(!q.is_empty() && q.iter().all(|q| q.carrier == "parcelway"));
    }
}
