//! The gateway port: what BuyNow needs from a card processor.
//!
//! Every call carries an idempotency key. A processor that sees the same key again answers with the result
//! of the first call and does nothing new, so a call retried after a timeout can never hold or charge twice.

use buynow_domain::card::{CardNumber, Expiry};
use buynow_domain::Money;
use std::future::Future;
use std::pin::Pin;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub struct AuthorizeRequest<'a> {
    pub idempotency_key: &'a str,
    pub amount: Money,
    pub card: &'a CardNumber,
    pub expiry: Expiry,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeOutcome {
    /// A hold for the amount; `authorization` is the processor's reference for capture or void.
    Approved {
        authorization: String,
    },
    Declined {
        code: DeclineCode,
    },
    /// The card's bank wants the customer to prove it is them (3-D Secure) before it answers. The customer
    /// does so on the processor's page for `challenge` (`Gateway::authentication_url`); the same call, made
    /// again with the same key, then answers approved, or declined with `authentication_failed`.
    AuthenticationRequired {
        challenge: String,
    },
}

/// The processor's final "no". Retrying the same card will not change it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclineCode {
    CardDeclined,
    InsufficientFunds,
    ExpiredCard,
    /// The processor kept failing to process the card; after our retries we ask the customer.
    ProcessingError,
    /// The customer did not pass their bank's authentication.
    AuthenticationFailed,
}

impl DeclineCode {
    pub fn as_str(self) -> &'static str {
        match self {
            DeclineCode::CardDeclined => "card_declined",
            DeclineCode::InsufficientFunds => "insufficient_funds",
            DeclineCode::ExpiredCard => "expired_card",
            DeclineCode::ProcessingError => "processing_error",
            DeclineCode::AuthenticationFailed => "authentication_failed",
        }
    }

    /// What the customer is told.
    pub fn message(self) -> &'static str {
        match self {
            DeclineCode::CardDeclined => "Your card was declined.",
            DeclineCode::InsufficientFunds => "Your card has insufficient funds.",
            DeclineCode::ExpiredCard => "Your card has expired.",
            DeclineCode::ProcessingError => "Your card could not be processed.",
            DeclineCode::AuthenticationFailed => "Your bank could not confirm that the payment was yours.",
        }
    }

    pub const ALL: [DeclineCode; 5] = [
        DeclineCode::CardDeclined,
        DeclineCode::InsufficientFunds,
        DeclineCode::ExpiredCard,
        DeclineCode::ProcessingError,
        DeclineCode::AuthenticationFailed,
    ];

    pub fn parse(s: &str) -> Option<DeclineCode> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// A call that did not get a final answer: it may or may not have happened, and is safe to retry with the
/// same idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    #[error("the gateway did not answer in time")]
    Timeout,
    #[error("the gateway failed: {0}")]
    Unavailable(String),
    #[error("the processor could not process the card this time")]
    Processing,
}

/// The processor's answer to a capture or a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoveOutcome {
    /// Done; `reference` is the processor's id of the movement.
    Done { reference: String },
    /// Refused for good: retrying the same call will not change it.
    Refused(Refusal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The hold lapsed (7 days): authorize again, then capture against the new hold.
    HoldExpired,
    /// More than the hold has left (capture), or than was captured (refund).
    ExceedsAvailable,
    /// The hold was voided.
    Voided,
    /// No such authorization.
    Unknown,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::HoldExpired => "hold_expired",
            Refusal::ExceedsAvailable => "exceeds_available",
            Refusal::Voided => "voided",
            Refusal::Unknown => "unknown_authorization",
        }
    }
}

/// What the processor recorded for an idempotency key, looked up after a lost answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    Authorization(AuthorizeOutcome),
    Movement { kind: String, amount: Money, outcome: MoveOutcome },
}

/// An authorization hold lapses after this long (card networks' rule for most merchants).
pub const HOLD_LIFETIME_DAYS: i64 = 7;

pub trait Gateway: Send + Sync + 'static {
    fn authorize<'a>(&'a self, req: AuthorizeRequest<'a>) -> BoxFuture<'a, Result<AuthorizeOutcome, GatewayError>>;

    /// Takes `amount` of the hold; partial captures add up to at most the hold.
    fn capture<'a>(
        &'a self,
        authorization: &'a str,
        amount: Money,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<MoveOutcome, GatewayError>>;

    /// Releases what is left of an authorization hold. Voiding one that is already void succeeds.
    fn void<'a>(&'a self, authorization: &'a str, idempotency_key: &'a str) -> BoxFuture<'a, Result<(), GatewayError>>;

    /// Gives back `amount` of what was captured on the authorization.
    fn refund<'a>(
        &'a self,
        authorization: &'a str,
        amount: Money,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<MoveOutcome, GatewayError>>;

    /// What the processor recorded for `idempotency_key`, if anything.
    fn lookup<'a>(&'a self, idempotency_key: &'a str) -> BoxFuture<'a, Result<Option<Recorded>, GatewayError>>;

    /// The processor's page where the customer authenticates for `challenge`, which sends them back to
    /// `return_to` when they are done. A path (`/…`) is on the shop's own server (the in-process sandbox).
    fn authentication_url(&self, challenge: &str, return_to: &str) -> String;

    /// The authentication pages the shop's own server must serve (at the path of `authentication_url`): the
    /// in-process sandbox's. A processor over the network serves its own.
    fn authentication_pages(&self) -> Option<axum::Router> {
        None
    }
}
