//! The time as BuyNow sees it: the system's, moved forward by an offset that only tests set, so a test can
//! let a 90-minute hold window or a 7-day authorization lapse pass in a moment. Everything that decides by the
//! time of an order (hold windows, due jobs, promises, hold lapses, return windows) reads it from here.

use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

#[derive(Clone, Default)]
pub struct Clock {
    offset_micros: Arc<AtomicI64>,
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock(+{} µs)", self.offset_micros.load(Ordering::Relaxed))
    }
}

impl Clock {
    pub fn now_micros(&self) -> i64 {
        buynow_store::now_micros().saturating_add(self.offset_micros.load(Ordering::Relaxed))
    }

    pub fn now(&self) -> DateTime<Utc> {
        buynow_store::from_micros(self.now_micros())
    }

    /// Moves this clock (and every clone of it) forward. For tests.
    pub fn advance(&self, by: chrono::Duration) {
        self.offset_micros.fetch_add(by.num_microseconds().unwrap_or(i64::MAX / 4), Ordering::Relaxed);
    }

    /// The clock as the sandbox gateway takes it.
    pub fn reader(&self) -> buynow_payments::Now {
        let clock = self.clone();
        Arc::new(move || clock.now_micros())
    }
}
