//! Gift cards: staff issue them, customers redeem their codes into a balance. The code is a bearer secret,
//! shown once when issued and kept only as a hash; the balance is what the ledger's entries sum to.

use crate::auth::token_hash;
use crate::error::ApiError;
use buynow_domain::gift_code::GiftCardCode;
use buynow_domain::ledger::Account;
use buynow_domain::{CustomerId, GiftCardId, Money};
use buynow_store::gift_cards::{self, GiftCard, Posted, Redeemed};
use buynow_store::Conn;
use rand::RngCore;

/// The most one card may carry.
pub const MAX_AMOUNT: i64 = 200_000;

/// A new gift card of `amount`, issued by `issued_by`, and its code (to be shown this once).
pub async fn issue(
    c: &mut Conn<'_>,
    amount: Money,
    issued_by: &str,
    now: i64,
) -> Result<(GiftCard, GiftCardCode), ApiError> {
    let mut bytes = [0u8; 10];
    rand::thread_rng().fill_bytes(&mut bytes);
    let code = GiftCardCode::from_random(bytes);
    let card = GiftCard {
        id: GiftCardId::new(),
        code_last4: code.last4().to_string(),
        amount,
        issued_by: issued_by.to_string(),
        redeemed_by: None,
        redeemed_at: None,
        created_at: now,
    };
    match gift_cards::issue(c, &card, &code_hash(&code), now).await? {
        Posted::Done | Posted::AlreadyDone => Ok((card, code)),
        Posted::Refused(e) => Err(ApiError::Unprocessable("gift_card_refused", e.to_string())),
    }
}

/// Redeems `code` into `customer`'s balance; answers the balance after it. A code redeems once: a retry by
/// the same customer answers as the first did, anyone else is refused.
pub async fn redeem(c: &mut Conn<'_>, customer: CustomerId, code: &GiftCardCode, now: i64) -> Result<Money, ApiError> {
    match gift_cards::redeem(c, &code_hash(code), customer, now).await? {
        Redeemed::Now(_) | Redeemed::Before(_) => balance(c, customer).await,
        Redeemed::ByAnother => {
            Err(ApiError::Conflict("gift_card_redeemed", "this gift card has already been redeemed".into()))
        }
        Redeemed::Unknown => Err(ApiError::NotFound("gift card")),
    }
}

pub async fn balance(c: &mut Conn<'_>, customer: CustomerId) -> Result<Money, ApiError> {
    Ok(Money::usd(gift_cards::balance(c, &Account::Customer(customer)).await?))
}

fn code_hash(code: &GiftCardCode) -> String {
    token_hash(code.canonical())
}
