//! Rate limits: sign-in attempts per account and per client address, Buy Now per customer. A request over its
//! limit is answered 429 at once, before any password is hashed or any row read, so a flood costs the flooder
//! and slows nobody else. The counts are this process's own (GCRA buckets in memory, `governor`): with N
//! processes behind a balancer a client gets at most N times the limit, which still bounds a flood.

use crate::error::ApiError;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

/// How many of something, refilled one at a time every `every`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub burst: u32,
    pub every: Duration,
}

impl Rate {
    fn quota(self) -> Option<Quota> {
        let burst = NonZeroU32::new(self.burst)?;
        Some(Quota::with_period(self.every)?.allow_burst(burst))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateConfig {
    /// Sign-in attempts for one account (its e-mail), whatever the address they come from.
    pub sign_in_per_account: Rate,
    /// Sign-in attempts from one client address, whatever the account.
    pub sign_in_per_address: Rate,
    /// Buy Now requests of one customer (retries with the same key count too: they are answered from the key).
    pub buy_now_per_customer: Rate,
}

impl Default for RateConfig {
    fn default() -> Self {
        RateConfig {
            sign_in_per_account: Rate { burst: 10, every: Duration::from_secs(12) },
            sign_in_per_address: Rate { burst: 30, every: Duration::from_secs(4) },
            buy_now_per_customer: Rate { burst: 20, every: Duration::from_millis(200) },
        }
    }
}

/// One limit; `None` when it is off (a burst of zero).
struct Limit(Option<DefaultKeyedRateLimiter<String>>);

impl Limit {
    fn new(rate: Rate) -> Self {
        Limit(rate.quota().map(RateLimiter::keyed))
    }

    /// Counts one request of `key`; over the limit, how long until the next is allowed.
    fn check(&self, key: &str) -> Result<(), Duration> {
        let Some(limiter) = &self.0 else { return Ok(()) };
        limiter.check_key(&key.to_string()).map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    fn forget_idle(&self) {
        if let Some(l) = &self.0 {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}

pub struct RateLimits {
    sign_in_account: Limit,
    sign_in_address: Limit,
    buy_now: Limit,
}

impl RateLimits {
    pub fn new(config: RateConfig) -> Self {
        RateLimits {
            sign_in_account: Limit::new(config.sign_in_per_account),
            sign_in_address: Limit::new(config.sign_in_per_address),
            buy_now: Limit::new(config.buy_now_per_customer),
        }
    }

    /// A sign-in attempt for `email` from `address`.
    pub fn sign_in(&self, email: &str, address: Option<IpAddr>) -> Result<(), ApiError> {
        if let Some(ip) = address {
            self.sign_in_address.check(&ip.to_string()).map_err(too_many)?;
        }
        self.sign_in_account.check(&email.trim().to_lowercase()).map_err(too_many)
    }

    /// A Buy Now of `customer`.
    pub fn buy_now(&self, customer: &str) -> Result<(), ApiError> {
        self.buy_now.check(customer).map_err(too_many)
    }

    /// Drops the buckets that are full again, so memory follows the clients of the last minutes, not of all time.
    pub fn forget_idle(&self) {
        self.sign_in_account.forget_idle();
        self.sign_in_address.forget_idle();
        self.buy_now.forget_idle();
    }
}

fn too_many(wait: Duration) -> ApiError {
    // Whole seconds, rounded up: `Retry-After: 0` would invite the same request at once.
    ApiError::TooManyRequests(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_the_burst_is_refused_with_a_wait_and_others_go_on() {
        let limits = RateLimits::new(RateConfig {
            sign_in_per_account: Rate { burst: 3, every: Duration::from_secs(60) },
            ..RateConfig::default()
        });
        for _ in 0..3 {
            limits.sign_in("ada@example.com", None).unwrap();
        }
        match limits.sign_in("ADA@example.com ", None) {
            Err(ApiError::TooManyRequests(after)) => assert!((1..=60).contains(&after), "{after}"),
            other => panic!("{other:?}"),
        }
        limits.sign_in("bob@example.com", None).unwrap();
    }

    #[test]
    fn a_burst_of_zero_turns_a_limit_off() {
        let limits = RateLimits::new(RateConfig {
            buy_now_per_customer: Rate { burst: 0, every: Duration::from_secs(1) },
            ..RateConfig::default()
        });
        for _ in 0..1000 {
            limits.buy_now("cus_1").unwrap();
        }
    }
}
