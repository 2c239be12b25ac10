//! The sandbox connector: answers like a card processor, keyed by the processors' published test numbers.
//!
//! Faults (latency, timeouts, server errors) are injected from a seeded generator, so a failing run replays
//! exactly. A timeout is the nasty kind: the processor *did* authorize, but the answer is lost — the retry with
//! the same idempotency key must then get that same authorization back, not a second hold.

use crate::gateway::{AuthorizeOutcome, AuthorizeRequest, BoxFuture, DeclineCode, Gateway, GatewayError};
use buynow_domain::Money;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// The default injects nothing: no latency, no faults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SandboxConfig {
    pub seed: u64,
    /// Each call takes between these many milliseconds.
    pub latency_ms: (u64, u64),
    /// Out of 1 000 calls, how many lose their answer after taking effect.
    pub timeouts_per_mille: u32,
    /// Out of 1 000 calls, how many fail before taking effect.
    pub errors_per_mille: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Hold {
    amount: Money,
    voided: bool,
}

#[derive(Default)]
struct Ledger {
    /// Idempotency key → the answer given the first time.
    answers: HashMap<String, AuthorizeOutcome>,
    holds: HashMap<String, Hold>,
    next: u64,
}

pub struct Sandbox {
    config: SandboxConfig,
    rng: Mutex<StdRng>,
    ledger: Mutex<Ledger>,
}

enum Fault {
    None,
    BeforeEffect,
    AfterEffect,
}

impl Sandbox {
    pub fn new(config: SandboxConfig) -> Self {
        let rng = StdRng::seed_from_u64(config.seed);
        Sandbox { config, rng: Mutex::new(rng), ledger: Mutex::default() }
    }

    fn draw(&self) -> (Duration, Fault) {
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        let (lo, hi) = self.config.latency_ms;
        let latency = if hi > lo { rng.gen_range(lo..=hi) } else { lo };
        let roll = rng.gen_range(0..1000);
        let fault = if roll < self.config.errors_per_mille {
            Fault::BeforeEffect
        } else if roll < self.config.errors_per_mille + self.config.timeouts_per_mille {
            Fault::AfterEffect
        } else {
            Fault::None
        };
        (Duration::from_millis(latency), fault)
    }

    /// Every call: wait the drawn latency, then maybe fail before taking effect. Returns the fault still to
    /// come (a lost answer) for the caller to apply after the effect.
    async fn arrive(&self) -> Result<Fault, GatewayError> {
        let (latency, fault) = self.draw();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        match fault {
            Fault::BeforeEffect => Err(GatewayError::Unavailable("sandbox: injected server error".into())),
            other => Ok(other),
        }
    }

    fn decide(number: &str) -> Result<Option<DeclineCode>, GatewayError> {
        Ok(match number {
            "4000000000000002" => Some(DeclineCode::CardDeclined),
            "4000000000009995" => Some(DeclineCode::InsufficientFunds),
            "4000000000000069" => Some(DeclineCode::ExpiredCard),
            "4000000000000119" => return Err(GatewayError::Processing),
            _ => None,
        })
    }

    /// Holds that are live (authorized and not voided), for tests that count money.
    pub fn live_holds(&self) -> Vec<Money> {
        let ledger = self.ledger.lock().unwrap_or_else(|p| p.into_inner());
        ledger.holds.values().filter(|h| !h.voided).map(|h| h.amount).collect()
    }
}

impl Gateway for Sandbox {
    fn authorize<'a>(&'a self, req: AuthorizeRequest<'a>) -> BoxFuture<'a, Result<AuthorizeOutcome, GatewayError>> {
        Box::pin(async move {
            let fault = self.arrive().await?;
            let outcome = {
                let mut ledger = self.ledger.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(previous) = ledger.answers.get(req.idempotency_key) {
                    previous.clone()
                } else {
                    let outcome = match Self::decide(req.card.expose())? {
                        Some(code) => AuthorizeOutcome::Declined { code },
                        None => {
                            ledger.next += 1;
                            let authorization = format!("auth_sbx_{:012}", ledger.next);
                            ledger.holds.insert(authorization.clone(), Hold { amount: req.amount, voided: false });
                            AuthorizeOutcome::Approved { authorization }
                        }
                    };
                    ledger.answers.insert(req.idempotency_key.to_string(), outcome.clone());
                    outcome
                }
            };
            if matches!(fault, Fault::AfterEffect) {
                return Err(GatewayError::Timeout);
            }
            Ok(outcome)
        })
    }

    fn void<'a>(
        &'a self,
        authorization: &'a str,
        _idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<(), GatewayError>> {
        Box::pin(async move {
            let fault = self.arrive().await?;
            {
                let mut ledger = self.ledger.lock().unwrap_or_else(|p| p.into_inner());
                match ledger.holds.get_mut(authorization) {
                    Some(hold) => hold.voided = true,
                    None => return Err(GatewayError::Unavailable(format!("no authorization {authorization}"))),
                }
            }
            if matches!(fault, Fault::AfterEffect) {
                return Err(GatewayError::Timeout);
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use buynow_domain::card::{CardNumber, Expiry};

    fn req<'a>(key: &'a str, card: &'a CardNumber) -> AuthorizeRequest<'a> {
        AuthorizeRequest {
            idempotency_key: key,
            amount: Money::usd(1000),
            card,
            expiry: Expiry::parse(12, 2030).unwrap(),
        }
    }

    #[tokio::test]
    async fn answers_by_test_card_number() {
        let sbx = Sandbox::new(SandboxConfig::default());
        let cases = [
            ("4242424242424242", None),
            ("5555555555554444", None),
            ("4000056655665556", None),
            ("4000000000000002", Some(DeclineCode::CardDeclined)),
            ("4000000000009995", Some(DeclineCode::InsufficientFunds)),
            ("4000000000000069", Some(DeclineCode::ExpiredCard)),
        ];
        for (i, (number, decline)) in cases.into_iter().enumerate() {
            let card = CardNumber::parse(number).unwrap();
            let out = sbx.authorize(req(&format!("k{i}"), &card)).await.unwrap();
            match decline {
                None => assert!(matches!(out, AuthorizeOutcome::Approved { .. }), "{number}"),
                Some(code) => assert_eq!(out, AuthorizeOutcome::Declined { code }),
            }
        }
        let card = CardNumber::parse("4000000000000119").unwrap();
        assert_eq!(sbx.authorize(req("k9", &card)).await, Err(GatewayError::Processing));
    }

    #[tokio::test]
    async fn a_retried_key_after_a_lost_answer_gets_the_same_hold() {
        let sbx = Sandbox::new(SandboxConfig { seed: 7, timeouts_per_mille: 1000, ..SandboxConfig::default() });
        let card = CardNumber::parse("4242424242424242").unwrap();
        assert_eq!(sbx.authorize(req("order-1", &card)).await, Err(GatewayError::Timeout));
        assert_eq!(sbx.live_holds().len(), 1, "the hold was made though the answer was lost");
        assert_eq!(sbx.authorize(req("order-1", &card)).await, Err(GatewayError::Timeout));
        assert_eq!(sbx.live_holds().len(), 1, "the retry made no second hold");
    }

    #[tokio::test]
    async fn the_same_seed_injects_the_same_faults() {
        let run = |seed| async move {
            let sbx = Sandbox::new(SandboxConfig {
                seed,
                errors_per_mille: 300,
                timeouts_per_mille: 200,
                ..SandboxConfig::default()
            });
            let card = CardNumber::parse("4242424242424242").unwrap();
            let mut results = Vec::new();
            for i in 0..50 {
                results.push(sbx.authorize(req(&format!("k{i}"), &card)).await.is_ok());
            }
            results
        };
        assert_eq!(run(42).await, run(42).await);
        assert_ne!(run(42).await, run(43).await);
    }
}
