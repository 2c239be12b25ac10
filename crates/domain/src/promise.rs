//! The delivery promise: when an order ships and when it arrives.
//!
//! An order is ready for the warehouse when its hold window ends. It ships on the first operating day of its
//! center whose cut-off it still meets (in the center's own time zone), and arrives after the service's
//! transit in carrier business days (Monday to Friday, holidays excluded).

use crate::pricing::DeliverySpeed;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
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

    /// The last instant a parcel may be ready and still leave on the day one ready at `ready_at` would: the
    /// "order within …" of a product page, once the hold window is taken off. A cut-off that falls in a
    /// daylight-saving gap counts from the end of the gap.
    pub fn ready_by(&self, ready_at: DateTime<Utc>) -> Result<DateTime<Utc>, CalendarError> {
        let day = self.ship_date(ready_at)?;
        let local = day.and_time(self.cutoff);
        let at = self
            .tz
            .from_local_datetime(&local)
            .latest()
            .or_else(|| self.tz.from_local_datetime(&(local + Duration::hours(1))).earliest())
            .ok_or(CalendarError::NoShipDate)?;
        Ok(at.with_timezone(&Utc))
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

/// The promise of an order shipped as several parcels: it is delivered when its last parcel is.
pub fn combine(windows: impl IntoIterator<Item = DeliveryWindow>) -> Option<DeliveryWindow> {
    windows
        .into_iter()
        .reduce(|a, b| DeliveryWindow { earliest: a.earliest.max(b.earliest), latest: a.latest.max(b.latest) })
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

    /// One row: a center (time zone, cut-off hour, operating days, holidays), an order placed at a UTC time
    /// with a hold window, a speed, and the ship date and delivery window it is promised.
    struct Case {
        what: &'static str,
        tz: Tz,
        cutoff_h: u32,
        days: &'static [Weekday],
        holidays: &'static [(i32, u32, u32)],
        placed: (i32, u32, u32, u32, u32),
        hold_min: i64,
        speed: DeliverySpeed,
        ships: (i32, u32, u32),
        earliest: (i32, u32, u32),
        latest: (i32, u32, u32),
    }

    const MON_SAT: &[Weekday] = &[Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat];
    const MON_FRI: &[Weekday] = &[Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri];

    #[test]
    fn the_promise_table() {
        use chrono_tz::{America, Asia, Europe, Pacific};
        use DeliverySpeed::*;
        let la = America::Los_Angeles;
        let cases = [
            // 2026-12-02 is a Wednesday. 17:00 UTC = 09:00 in Los Angeles.
            Case {
                what: "before the cut-off ships today",
                tz: la,
                cutoff_h: 14,
                days: MON_SAT,
                holidays: &[],
                placed: (2026, 12, 2, 17, 0),
                hold_min: 0,
                speed: TwoDay,
                ships: (2026, 12, 2),
                earliest: (2026, 12, 4),
                latest: (2026, 12, 4),
            },
            Case {
                what: "the hold window pushes it past the cut-off",
                tz: la,
                cutoff_h: 14,
                days: MON_SAT,
                holidays: &[],
                placed: (2026, 12, 2, 21, 0),
                hold_min: 90,
                speed: TwoDay,
                ships: (2026, 12, 3),
                earliest: (2026, 12, 7),
                latest: (2026, 12, 7),
            },
            Case {
                what: "exactly at the cut-off still ships",
                tz: la,
                cutoff_h: 14,
                days: MON_SAT,
                holidays: &[],
                placed: (2026, 12, 2, 22, 0),
                hold_min: 0,
                speed: OneDay,
                ships: (2026, 12, 2),
                earliest: (2026, 12, 3),
                latest: (2026, 12, 3),
            },
            Case {
                what: "one day from a Friday lands on Monday",
                tz: la,
                cutoff_h: 14,
                days: MON_SAT,
                holidays: &[],
                placed: (2026, 12, 4, 17, 0),
                hold_min: 0,
                speed: OneDay,
                ships: (2026, 12, 4),
                earliest: (2026, 12, 7),
                latest: (2026, 12, 7),
            },
            Case {
                what: "a Saturday ships where the center works Saturdays",
                tz: la,
                cutoff_h: 14,
                days: MON_SAT,
                holidays: &[],
                placed: (2026, 12, 5, 17, 0),
                hold_min: 0,
                speed: TwoDay,
                ships: (2026, 12, 5),
                earliest: (2026, 12, 8),
                latest: (2026, 12, 8),
            },
            Case {
                what: "a Saturday waits for Monday where it does not",
                tz: la,
                cutoff_h: 14,
                days: MON_FRI,
                holidays: &[],
                placed: (2026, 12, 5, 17, 0),
                hold_min: 0,
                speed: TwoDay,
                ships: (2026, 12, 7),
                earliest: (2026, 12, 9),
                latest: (2026, 12, 9),
            },
            Case {
                what: "Sunday ships Monday",
                tz: la,
                cutoff_h: 14,
                days: MON_SAT,
                holidays: &[],
                placed: (2026, 12, 6, 17, 0),
                hold_min: 0,
                speed: Standard,
                ships: (2026, 12, 7),
                earliest: (2026, 12, 10),
                latest: (2026, 12, 14),
            },
            Case {
                what: "a holiday is skipped for shipping and for delivery",
                tz: la,
                cutoff_h: 14,
                days: MON_SAT,
                holidays: &[(2026, 12, 25)],
                placed: (2026, 12, 24, 23, 0),
                hold_min: 0,
                speed: TwoDay,
                ships: (2026, 12, 26),
                earliest: (2026, 12, 29),
                latest: (2026, 12, 29),
            },
            Case {
                what: "standard is a range of three to five days",
                tz: la,
                cutoff_h: 14,
                days: MON_SAT,
                holidays: &[],
                placed: (2026, 12, 1, 17, 0),
                hold_min: 0,
                speed: Standard,
                ships: (2026, 12, 1),
                earliest: (2026, 12, 4),
                latest: (2026, 12, 8),
            },
            // 23:30 UTC on Wednesday is 00:30 on Thursday in Berlin: before Thursday's cut-off.
            Case {
                what: "the center's own date, not UTC's (Berlin)",
                tz: Europe::Berlin,
                cutoff_h: 14,
                days: MON_FRI,
                holidays: &[],
                placed: (2026, 12, 2, 23, 30),
                hold_min: 0,
                speed: OneDay,
                ships: (2026, 12, 3),
                earliest: (2026, 12, 4),
                latest: (2026, 12, 4),
            },
            Case {
                what: "Auckland is a day ahead",
                tz: Pacific::Auckland,
                cutoff_h: 14,
                days: MON_FRI,
                holidays: &[],
                placed: (2026, 12, 4, 12, 0),
                hold_min: 0,
                speed: OneDay,
                ships: (2026, 12, 7),
                earliest: (2026, 12, 8),
                latest: (2026, 12, 8),
            },
            Case {
                what: "a half-hour zone (Kolkata) at its cut-off",
                tz: Asia::Kolkata,
                cutoff_h: 14,
                days: MON_SAT,
                holidays: &[],
                placed: (2026, 12, 2, 8, 30),
                hold_min: 0,
                speed: TwoDay,
                ships: (2026, 12, 2),
                earliest: (2026, 12, 4),
                latest: (2026, 12, 4),
            },
        ];
        for c in cases {
            let holidays: Vec<NaiveDate> = c.holidays.iter().map(|(y, m, d)| date(*y, *m, *d)).collect();
            let cal = CenterCalendar::new(
                c.tz,
                NaiveTime::from_hms_opt(c.cutoff_h, 0, 0).unwrap(),
                c.days.iter().copied(),
                holidays,
            )
            .unwrap();
            let (y, m, d, h, min) = c.placed;
            let at = Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap();
            let hold = Duration::minutes(c.hold_min);
            assert_eq!(
                cal.ship_date(at + hold).unwrap(),
                date(c.ships.0, c.ships.1, c.ships.2),
                "{}: ship date",
                c.what
            );
            let w = estimate(&cal, at, hold, c.speed).unwrap();
            let expected = (date(c.earliest.0, c.earliest.1, c.earliest.2), date(c.latest.0, c.latest.1, c.latest.2));
            assert_eq!((w.earliest, w.latest), expected, "{}: delivery", c.what);
        }
    }

    #[test]
    fn a_split_order_is_promised_by_its_last_parcel() {
        let la = seattle(vec![]);
        let ny = CenterCalendar::new(
            chrono_tz::America::New_York,
            NaiveTime::from_hms_opt(14, 0, 0).unwrap(),
            MON_FRI.iter().copied(),
            [],
        )
        .unwrap();
        // Friday 20:00 UTC: noon in Los Angeles (ships today), 15:00 in New York (past its cut-off: Monday).
        let at = Utc.with_ymd_and_hms(2026, 12, 4, 20, 0, 0).unwrap();
        let west = estimate(&la, at, Duration::zero(), DeliverySpeed::TwoDay).unwrap();
        let east = estimate(&ny, at, Duration::zero(), DeliverySpeed::TwoDay).unwrap();
        assert_eq!(west.latest, date(2026, 12, 8));
        assert_eq!(east.latest, date(2026, 12, 9));
        assert_eq!(combine([west, east]), Some(east));
        assert_eq!(combine([]), None);
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

    proptest! {
        #[test]
        fn ready_by_is_the_last_instant_of_the_same_ship_date(
            minutes in 0i64..(60 * 24 * 400),
            tz in prop_oneof![Just(chrono_tz::America::Los_Angeles), Just(chrono_tz::Europe::London),
                              Just(chrono_tz::Australia::Lord_Howe), Just(chrono_tz::UTC)],
            cutoff_h in 0u32..24,
        ) {
            use Weekday::*;
            let holidays = [date(2027, 1, 1), date(2027, 3, 14), date(2027, 11, 7)];
            let cal = CenterCalendar::new(tz, NaiveTime::from_hms_opt(cutoff_h, 30, 0).unwrap(),
                [Mon, Tue, Wed, Thu, Fri], holidays).unwrap();
            let at = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap() + Duration::minutes(minutes);
            let by = cal.ready_by(at).unwrap();
            let day = cal.ship_date(at).unwrap();
            prop_assert!(by >= at);
            prop_assert_eq!(cal.ship_date(by).unwrap(), day);
            prop_assert!(cal.ship_date(by + Duration::seconds(1)).unwrap() > day);
        }
    }
}
