//! Times are stored as integer microseconds since the Unix epoch, UTC: portable, sortable, exact.

use chrono::{DateTime, Utc};

pub fn now_micros() -> i64 {
    to_micros(Utc::now())
}

pub fn to_micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

pub fn from_micros(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}
