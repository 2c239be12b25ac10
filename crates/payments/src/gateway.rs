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
}

/// The processor's final "no". Retrying the same card will not change it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclineCode {
    CardDeclined,
    InsufficientFunds,
    ExpiredCard,
    /// The processor kept failing to process the card; after our retries we ask the customer.
    ProcessingError,
}

impl DeclineCode {
    pub fn as_str(self) -> &'static str {
        match self {
            DeclineCode::CardDeclined => "card_declined",
            DeclineCode::InsufficientFunds => "insufficient_funds",
            DeclineCode::ExpiredCard => "expired_card",
            DeclineCode::ProcessingError => "processing_error",
        }
    }

    /// What the customer is told.
    pub fn message(self) -> &'static str {
        match self {
            DeclineCode::CardDeclined => "Your card was declined.",
            DeclineCode::InsufficientFunds => "Your card has insufficient funds.",
            DeclineCode::ExpiredCard => "Your card has expired.",
            DeclineCode::ProcessingError => "Your card could not be processed.",
        }
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

pub trait Gateway: Send + Sync + 'static {
    fn authorize<'a>(&'a self, req: AuthorizeRequest<'a>) -> BoxFuture<'a, Result<AuthorizeOutcome, GatewayError>>;

    /// Releases an authorization hold. Voiding one that is already void succeeds.
    fn void<'a>(&'a self, authorization: &'a str, idempotency_key: &'a str) -> BoxFuture<'a, Result<(), GatewayError>>;
}
