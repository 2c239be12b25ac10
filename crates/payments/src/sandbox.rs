//! The sandbox connector: answers like a card processor, keyed by the processors' published test numbers.
//!
//! Its records (authorizations, captures, voids, refunds, each by idempotency key) live in the database, as a
//! processor's live in its own: a retried call gets the first answer, nothing grows in memory with the orders,
//! and a hold made before a restart (or by another process) can still be captured after it.
//!
//! Faults (latency, timeouts, server errors) are injected from a seeded generator, so a failing run replays
//! exactly. A timeout is the nasty kind: the processor *did* act, but the answer is lost — the retry with the
//! same idempotency key must then get that same answer back, not a second hold or charge.

use crate::gateway::{
    AuthorizeOutcome, AuthorizeRequest, BoxFuture, DeclineCode, Gateway, GatewayError, MoveOutcome, Recorded, Refusal,
    HOLD_LIFETIME_DAYS,
};
use buynow_domain::{Currency, Money};
use buynow_store::sandbox::{self, Authorization, Operation};
use buynow_store::{Store, StoreError};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::{Arc, Mutex};
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

/// The time as the processor sees it, in microseconds since the epoch (a test clock in tests).
pub type Now = Arc<dyn Fn() -> i64 + Send + Sync>;

pub struct Sandbox {
    config: SandboxConfig,
    rng: Mutex<StdRng>,
    store: Store,
    now: Now,
}

enum Fault {
    None,
    BeforeEffect,
    AfterEffect,
}

/// The authorization reference the sandbox gives for an idempotency key: its records are found by it.
const AUTH_PREFIX: &str = "auth_sbx_";

/// The recorded outcome of an authorization waiting for the customer to authenticate.
const AUTHENTICATION_REQUIRED: &str = "authentication_required";

/// Where the in-process sandbox serves its authentication pages on the shop's own server.
pub const AUTHENTICATION_PATH: &str = "/sandbox/authenticate";

fn unavailable(e: StoreError) -> GatewayError {
    GatewayError::Unavailable(format!("sandbox records: {e}"))
}

impl Sandbox {
    /// The sandbox of the shop whose database is `main` (at `url`). On PostgreSQL its records live in that
    /// database, shared by every process. On SQLite they live in a file of their own beside it (`….sandbox`),
    /// committed without waiting for the disk (see `Store::open_relaxed`), as a processor's records are kept
    /// apart from the shop's.
    pub async fn open(config: SandboxConfig, main: &Store, url: &str, now: Now) -> Result<Self, StoreError> {
        let store = match main.backend() {
            buynow_store::Backend::Postgres => main.clone(),
            buynow_store::Backend::Sqlite => Store::open_relaxed(&format!("{url}.sandbox")).await?,
        };
        Ok(Sandbox::new(config, store, now))
    }

    /// A sandbox keeping its records in `store`.
    pub fn new(config: SandboxConfig, store: Store, now: Now) -> Self {
        let rng = StdRng::seed_from_u64(config.seed);
        Sandbox { config, rng: Mutex::new(rng), store, now }
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

    /// The processor's first answer for a test card: its outcome as recorded (`approved`, a decline code, or
    /// `authentication_required`).
    fn decide(number: &str) -> Result<&'static str, GatewayError> {
        Ok(match number {
            "4000000000000002" => DeclineCode::CardDeclined.as_str(),
            "4000000000009995" => DeclineCode::InsufficientFunds.as_str(),
            "4000000000000069" => DeclineCode::ExpiredCard.as_str(),
            "4000000000000119" => return Err(GatewayError::Processing),
            "4000002500003155" => AUTHENTICATION_REQUIRED,
            _ => "approved",
        })
    }

    fn outcome_of(a: &Authorization) -> AuthorizeOutcome {
        if let Some(code) = DeclineCode::parse(&a.outcome) {
            return AuthorizeOutcome::Declined { code };
        }
        match (a.outcome.as_str(), &a.challenge) {
            (AUTHENTICATION_REQUIRED, Some(challenge)) => {
                AuthorizeOutcome::AuthenticationRequired { challenge: challenge.clone() }
            }
            _ => AuthorizeOutcome::Approved { authorization: format!("{AUTH_PREFIX}{}", a.idempotency_key) },
        }
    }

    /// The customer's authentication pages (`GET`/`POST /{challenge}`), to be served under the path
    /// `authentication_url` names.
    pub fn authentication_pages(&self) -> axum::Router {
        crate::authentication::router(self.store.clone())
    }

    /// An operation on `authorization`, recorded once by its key; the checks run against the records as they
    /// stand, in the same transaction as the record, so two captures can never both take the last of a hold.
    async fn operate(
        &self,
        authorization: &str,
        kind: &'static str,
        amount: Money,
        key: &str,
    ) -> Result<MoveOutcome, GatewayError> {
        let fault = self.arrive().await?;
        let (authorization, key, now) = (authorization.to_string(), key.to_string(), (self.now)());
        let outcome = self
            .store
            .write_batched(move |c| {
                Box::pin(async move {
                    if let Some(previous) = sandbox::get_operation(c, &key).await? {
                        return Ok(previous);
                    }
                    let auth_key = authorization.strip_prefix(AUTH_PREFIX).unwrap_or("");
                    let auth = sandbox::get_authorization(c, auth_key).await?;
                    let ops = sandbox::operations(c, &authorization).await?;
                    let sum = |kind: &str| -> i64 {
                        ops.iter().filter(|o| o.kind == kind && o.outcome == "ok").map(|o| o.amount).sum()
                    };
                    let (captured, refunded) = (sum("capture"), sum("refund"));
                    let voided = ops.iter().any(|o| o.kind == "void" && o.outcome == "ok");
                    let refusal = match &auth {
                        None => Some(Refusal::Unknown),
                        Some(a) if a.outcome != "approved" => Some(Refusal::Unknown),
                        Some(a) => match kind {
                            "capture" if voided => Some(Refusal::Voided),
                            "capture" if now - a.created_at > HOLD_LIFETIME_DAYS * 86_400_000_000 => {
                                Some(Refusal::HoldExpired)
                            }
                            "capture" if captured + amount.minor() > a.amount => Some(Refusal::ExceedsAvailable),
                            "refund" if refunded + amount.minor() > captured => Some(Refusal::ExceedsAvailable),
                            _ => None,
                        },
                    };
                    let op = Operation {
                        idempotency_key: key,
                        authorization,
                        kind: kind.to_string(),
                        amount: amount.minor(),
                        outcome: refusal.map_or("ok", Refusal::as_str).to_string(),
                        created_at: now,
                    };
                    sandbox::record(c, &op).await?;
                    Ok::<_, StoreError>(op)
                })
            })
            .await
            .map_err(unavailable)?;
        if matches!(fault, Fault::AfterEffect) {
            return Err(GatewayError::Timeout);
        }
        Ok(move_outcome(&outcome))
    }

    /// Holds that are live (approved and not voided), for tests that count money.
    pub async fn live_holds(&self) -> Result<Vec<Money>, StoreError> {
        let holds = sandbox::live_holds(&mut self.store.read().await?.conn()).await?;
        Ok(holds.into_iter().map(|m| Money::new(m, Currency::Usd)).collect())
    }

    /// Money the processor holds and moved, over all its records: (approved authorizations, captured,
    /// refunded, voids), for tests that count it.
    pub async fn totals(&self) -> Result<(i64, i64, i64, i64), StoreError> {
        sandbox::totals(&mut self.store.read().await?.conn()).await
    }
}

fn move_outcome(op: &Operation) -> MoveOutcome {
    match op.outcome.as_str() {
        "ok" => MoveOutcome::Done { reference: format!("{}_{}", op.kind, op.idempotency_key) },
        "hold_expired" => MoveOutcome::Refused(Refusal::HoldExpired),
        "exceeds_available" => MoveOutcome::Refused(Refusal::ExceedsAvailable),
        "voided" => MoveOutcome::Refused(Refusal::Voided),
        _ => MoveOutcome::Refused(Refusal::Unknown),
    }
}

impl Gateway for Sandbox {
    fn authorize<'a>(&'a self, req: AuthorizeRequest<'a>) -> BoxFuture<'a, Result<AuthorizeOutcome, GatewayError>> {
        Box::pin(async move {
            let fault = self.arrive().await?;
            // A processing error takes no effect; a retry may find a different answer than this.
            let outcome = Self::decide(req.card.expose())?;
            let challenge = (outcome == AUTHENTICATION_REQUIRED).then(|| {
                let mut bytes = [0u8; 16];
                rand::thread_rng().fill(&mut bytes);
                bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
            });
            let record = Authorization {
                idempotency_key: req.idempotency_key.to_string(),
                outcome: outcome.to_string(),
                amount: req.amount.minor(),
                currency: req.amount.currency().code().to_string(),
                created_at: (self.now)(),
                challenge,
            };
            // Recorded as one of a group of the processor's own (see `Store::record_authorization`): every
            // Buy Now waits for this commit, between the two of its order.
            let stands = self.store.record_authorization(record).await.map_err(unavailable)?;
            if matches!(fault, Fault::AfterEffect) {
                return Err(GatewayError::Timeout);
            }
            Ok(Self::outcome_of(&stands))
        })
    }

    fn capture<'a>(
        &'a self,
        authorization: &'a str,
        amount: Money,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<MoveOutcome, GatewayError>> {
        Box::pin(self.operate(authorization, "capture", amount, idempotency_key))
    }

    fn void<'a>(&'a self, authorization: &'a str, idempotency_key: &'a str) -> BoxFuture<'a, Result<(), GatewayError>> {
        Box::pin(async move {
            match self.operate(authorization, "void", Money::zero(Currency::Usd), idempotency_key).await? {
                MoveOutcome::Done { .. } => Ok(()),
                MoveOutcome::Refused(r) => Err(GatewayError::Unavailable(format!("void refused: {}", r.as_str()))),
            }
        })
    }

    fn refund<'a>(
        &'a self,
        authorization: &'a str,
        amount: Money,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<MoveOutcome, GatewayError>> {
        Box::pin(self.operate(authorization, "refund", amount, idempotency_key))
    }

    fn authentication_url(&self, challenge: &str, return_to: &str) -> String {
        crate::authentication::page_url(AUTHENTICATION_PATH, challenge, return_to)
    }

    fn authentication_pages(&self) -> Option<axum::Router> {
        Some(Sandbox::authentication_pages(self))
    }

    fn lookup<'a>(&'a self, idempotency_key: &'a str) -> BoxFuture<'a, Result<Option<Recorded>, GatewayError>> {
        Box::pin(async move {
            let mut read = self.store.read().await.map_err(unavailable)?;
            let mut c = read.conn();
            if let Some(a) = sandbox::get_authorization(&mut c, idempotency_key).await.map_err(unavailable)? {
                return Ok(Some(Recorded::Authorization(Self::outcome_of(&a))));
            }
            let op = sandbox::get_operation(&mut c, idempotency_key).await.map_err(unavailable)?;
            Ok(op.map(|op| {
                let amount = Money::new(op.amount, Currency::Usd);
                Recorded::Movement { kind: op.kind.clone(), amount, outcome: move_outcome(&op) }
            }))
        })
    }
}
