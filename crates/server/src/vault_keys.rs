//! Master key rotation: every card's data key re-wrapped under the vault's active master key, in batches,
//! while the shop runs. A card number is never written anywhere but back into the vault, and is opened at all
//! only for a card sealed before envelopes (to give it one).
//!
//! The order of a rotation: start every process with the new key as `BUYNOW_VAULT_KEY` and the old one in
//! `BUYNOW_VAULT_OLD_KEYS` (new cards are then sealed under the new key, and old ones still open); run
//! `buynow keys rotate` until it reports no card under another key; then drop the old key.

use buynow_payments::{Envelope, Vault, VaultError};
use buynow_store::{customers, Store, StoreError};

/// How a rotation went, and where the cards stand after it.
#[derive(Debug, Default)]
pub struct Rotation {
    pub rewrapped: u64,
    /// Cards whose master key is not configured: they cannot be re-wrapped (nor authorized) until it is.
    pub unopenable: Vec<(String, VaultError)>,
    /// Cards changed by another process while this one was at them; a later run takes them.
    pub raced: u64,
    pub by_key: Vec<KeyCount>,
    /// The personal data (customers' e-mails and names, addresses, orders' ship-to), re-wrapped after the cards.
    pub personal: crate::personal_data::Rewrap,
}

/// How many cards' envelopes are under one master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCount {
    pub key_id: String,
    /// false: sealed before envelopes, by the master key itself.
    pub enveloped: bool,
    pub cards: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Seal(#[from] crate::personal_data::SealError),
}

/// Cards per transaction: short enough that Buy Now's writes never wait long behind one.
const BATCH: u32 = 200;

pub async fn rotate(store: &Store, vault: &Vault) -> Result<Rotation, RotationError> {
    let mut done = Rotation::default();
    let mut after = String::new();
    loop {
        let cards = {
            let mut read = store.read().await?;
            customers::cards_to_rewrap(&mut read.conn(), vault.active_key_id(), &after, BATCH).await?
        };
        let Some(last) = cards.last() else { break };
        after = last.id.to_string();
        let mut tx = store.write().await?;
        for card in &cards {
            let row = card.id.to_string();
            match vault.rewrap(&row, &Envelope::from(card)) {
                Ok(None) => {}
                Ok(Some(new)) => {
                    let wrapped = new.wrapped_key.expect("a re-wrapped envelope has a wrapped key");
                    let replaced = customers::replace_envelope(
                        &mut tx.conn(),
                        card.id,
                        &card.key_id,
                        &new.key_id,
                        wrapped,
                        new.sealed,
                    )
                    .await?;
                    if replaced {
                        done.rewrapped += 1;
                    } else {
                        done.raced += 1;
                    }
                }
                Err(e) => done.unopenable.push((row, e)),
            }
        }
        tx.commit().await?;
    }
    done.by_key = status(store).await?;
    done.personal = crate::personal_data::rewrap(store, vault).await?;
    Ok(done)
}

/// How many cards are under each master key.
pub async fn status(store: &Store) -> Result<Vec<KeyCount>, StoreError> {
    let mut read = store.read().await?;
    let rows = customers::cards_by_key(&mut read.conn()).await?;
    Ok(rows.into_iter().map(|(key_id, enveloped, cards)| KeyCount { key_id, enveloped, cards }).collect())
}
