//! The delivery promise: when an order ships and when it arrives.
//!
//! An order is ready for the warehouse when its hold window ends. It ships on the first operating day of its
//! center whose cut-off it still meets (in the center's own time zone), and arrives after the service's
//! transit in carrier business days (Monday to Friday, holidays excluded).

use crate::pricing::DeliverySpeed;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use serde::Serialize;
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("a center needs at least one operating day")]
    NoOperatingDays,
    #[error("no operating day in the next year: check holidays")]
    NoShipDate,
}

/// A fulfillment center's shipping calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CenterCalendar {
    tz: Tz,
    cutoff: NaiveTime,
    operating_days: BTreeSet<u32>,
    holidays: BTreeSet<NaiveDate>,
}

impl CenterCalendar {
    pub fn new(
        tz: Tz,
        cutoff: NaiveTime,
        operating_days: impl IntoIterator<Item = Weekday>,
        holidays: impl IntoIterator<Item = NaiveDate>,
    ) -> Result<Self, CalendarError> {
        let operating_days: BTreeSet<u32> = operating_days.into_iter().map(|d| d.num_days_from_monday()).collect();
        if operating_days.is_empty() {
            return Err(CalendarError::NoOperatingDays);
        }
        Ok(CenterCalendar { tz, cutoff, operating_days, holidays: holidays.into_iter().collect() })
    }

    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// The daily cut-off, local time.
    pub fn cutoff(&self) -> NaiveTime {
        self.cutoff
    }

    pub fn holidays(&self) -> &BTreeSet<NaiveDate> {
        &self.holidays
    }

    fn operates_on(&self, day: NaiveDate) -> bool {
        self.operating_days.contains(&day.weekday().num_days_from_monday()) && !self.holidays.contains(&day)
    }

    /// The day a parcel ready at `ready_at` leaves the center.
    pub fn ship_date(&self, ready_at: DateTime<Utc>) -> Result<NaiveDate, CalendarError> {
        let local = ready_at.with_timezone(&self.tz);
        let mut day = local.date_naive();
        if !(self.operates_on(day) && local.time() <= self.cutoff) {
            day = day.succ_opt().ok_or(CalendarError::NoShipDate)?;
            let mut tries = 0;
            while !self.operates_on(day) {
                tries += 1;
                if tries > 366 {
                    return Err(CalendarError::NoShipDate);
                }
                day = day.succ_opt().ok_or(CalendarError::NoShipDate)?;
            }
        }
        Ok(day)
    }
}

/// Carriers deliver Monday to Friday, not on holidays.
pub fn add_business_days(mut day: NaiveDate, n: u32, holidays: &BTreeSet<NaiveDate>) -> Option<NaiveDate> {
    for _ in 0..n {
        day = day.succ_opt()?;
        while matches!(day.weekday(), Weekday::Sat | Weekday::Sun) || holidays.contains(&day) {
            day = day.succ_opt()?;
        }
    }
    Some(day)
}

/// The promise shown to the customer: a date, or a range for standard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DeliveryWindow {
    pub earliest: NaiveDate,
    pub latest: NaiveDate,
}

pub fn estimate(
    calendar: &CenterCalendar,
    placed_at: DateTime<Utc>,
    hold: Duration,
    speed: DeliverySpeed,
) -> Result<DeliveryWindow, CalendarError> {
    let ship = calendar.ship_date(placed_at + hold)?;
    let (fast, slow) = speed.transit_business_days();
    let add = |n| add_business_days(ship, n, calendar.holidays()).ok_or(CalendarError::NoShipDate);
    Ok(DeliveryWindow { earliest: add(fast)?, latest: add(slow)? })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn seattle(holidays: Vec<NaiveDate>) -> CenterCalendar {
        use Weekday::*;
        CenterCalendar::new(
            chrono_tz::America::Los_Angeles,
            NaiveTime::from_hms_opt(14, 0, 0).unwrap(),
            [Mon, Tue, Wed, Thu, Fri, Sat],
            holidays,
        )
        .unwrap()
    }

    #[test]
    fn an_order_before_the_cutoff_ships_the_same_day() {
        // Wed 2026-11-25 09:00 PST = 17:00 UTC, no hold.
        let at = Utc.with_ymd_and_hms(2026, 11, 25, 17, 0, 0).unwrap();
        let cal = seattle(vec![]);
        assert_eq!(cal.ship_date(at).unwrap(), date(2026, 11, 25));
        let w = estimate(&cal, at, Duration::zero(), DeliverySpeed::TwoDay).unwrap();
        assert_eq!((w.earliest, w.latest), (date(2026, 11, 27), date(2026, 11, 27)));
    }

    #[test]
    fn the_hold_window_can_push_past_the_cutoff() {
        // 13:00 PST + 90 min hold = 14:30, after the 14:00 cut-off: ships Thursday.
        let at = Utc.with_ymd_and_hms(2026, 11, 25, 21, 0, 0).unwrap();
        assert_eq!(seattle(vec![]).ship_date(at + Duration::minutes(90)).unwrap(), date(2026, 11, 26));
    }

    #[test]
    fn holidays_and_sundays_are_skipped() {
        let thanksgiving = date(2026, 11, 26);
        let cal = seattle(vec![thanksgiving]);
        // Wednesday after cut-off → Thursday is a holiday → ships Friday.
        let at = Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap();
        assert_eq!(cal.ship_date(at).unwrap(), date(2026, 11, 27));
        // Saturday after cut-off → Sunday closed → Monday.
        let sat = Utc.with_ymd_and_hms(2026, 11, 29, 0, 0, 0).unwrap(); // Sat 16:00 PST
        assert_eq!(cal.ship_date(sat).unwrap(), date(2026, 11, 30));
        // Standard from Friday: Mon, Tue, Wed (3) to Fri (5).
        let w = estimate(&cal, at, Duration::zero(), DeliverySpeed::Standard).unwrap();
        assert_eq!((w.earliest, w.latest), (date(2026, 12, 2), date(2026, 12, 4)));
    }

    #[test]
    fn a_center_must_operate_some_day() {
        let cal = CenterCalendar::new(chrono_tz::UTC, NaiveTime::MIN, [], []);
        assert_eq!(cal.unwrap_err(), CalendarError::NoOperatingDays);
    }

    fn zones() -> impl Strategy<Value = Tz> {
        prop_oneof![
            Just(chrono_tz::America::Los_Angeles),
            Just(chrono_tz::America::New_York),
            Just(chrono_tz::Europe::Berlin),
            Just(chrono_tz::Asia::Kolkata),
            Just(chrono_tz::Pacific::Auckland),
            Just(chrono_tz::UTC),
        ]
    }

    proptest! {
        #[test]
        fn ordering_later_never_promises_earlier(
            tz in zones(),
            cutoff_h in 0u32..24,
            days in proptest::collection::btree_set(0u32..7, 1..=7),
            holiday_offsets in proptest::collection::vec(0i64..60, 0..8),
            start in 1_767_225_600i64..1_830_297_600, // 2026 to 2028
            gap in 0i64..(10 * 86_400),
            hold_min in 0i64..240,
            speed in prop_oneof![Just(DeliverySpeed::Standard), Just(DeliverySpeed::TwoDay), Just(DeliverySpeed::OneDay)],
        ) {
            let a = Utc.timestamp_opt(start, 0).unwrap();
            let b = Utc.timestamp_opt(start + gap, 0).unwrap();
            let holidays: Vec<NaiveDate> = holiday_offsets.iter().map(|o| a.date_naive() + Duration::days(*o)).collect();
            let cal = CenterCalendar::new(
                tz,
                NaiveTime::from_hms_opt(cutoff_h, 0, 0).unwrap(),
                days.iter().map(|d| Weekday::try_from(*d as u8).unwrap()),
                holidays,
            ).unwrap();
            let hold = Duration::minutes(hold_min);
            let (Ok(first), Ok(second)) = (estimate(&cal, a, hold, speed), estimate(&cal, b, hold, speed)) else {
                return Err(TestCaseError::fail("no promise"));
            };
            prop_assert!(first.earliest <= second.earliest);
            prop_assert!(first.latest <= second.latest);
            prop_assert!(first.earliest <= first.latest);
            prop_assert!(cal.ship_date(a + hold).unwrap() >= (a + hold).with_timezone(&tz).date_naive());
        }
    }
}
