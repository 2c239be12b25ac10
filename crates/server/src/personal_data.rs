//! Personal data at rest: a customer's e-mail and name, and postal addresses, are sealed by the vault as card
//! numbers are, each under a data key of its own, and opened only where they are shown or sent (a page, an
//! e-mail, a label). An e-mail has a keyed hash beside it, so sign-in and sign-up find a customer by it.
//!
//! An order's `ship_to` is its address's sealed blob copied as it is at placement, bound to the address's id:
//! Buy Now seals nothing, and opens the copy once, for its answer.

use crate::error::ApiError;
use buynow_domain::{AddressId, CustomerId, Email, PostalAddress};
use buynow_payments::{Vault, VaultError};
use buynow_store::customers::{Customer, SavedAddress};
use buynow_store::orders::Order;
use buynow_store::sealed::{self, SealedColumn};
use buynow_store::{Store, StoreError};
use serde::{Deserialize, Serialize};

/// A customer's e-mail and name, opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub email: String,
    pub name: String,
}

/// A new customer's e-mail hash and sealed e-mail and name.
pub fn seal_person(vault: &Vault, id: CustomerId, email: &Email, name: &str) -> (String, Vec<u8>) {
    let person = Person { email: email.as_str().to_string(), name: name.to_string() };
    let json = serde_json::to_string(&person).expect("a person serializes");
    (vault.lookup_hash(email.as_str()), vault.seal_blob(&id.to_string(), &json))
}

/// The hashes an e-mail may be stored under: one per configured vault key.
pub fn email_hashes(vault: &Vault, email: &Email) -> Vec<String> {
    vault.lookup_hashes(email.as_str())
}

pub fn person(vault: &Vault, c: &Customer) -> Result<Person, ApiError> {
    open_json(vault, &c.id.to_string(), &c.sealed)
}

/// A new address of `customer`'s, sealed as it is stored.
pub fn new_address(vault: &Vault, customer: CustomerId, a: &PostalAddress) -> SavedAddress {
    let id = AddressId::new();
    SavedAddress {
        id,
        customer_id: customer,
        region: a.region.clone(),
        country: a.country.clone(),
        sealed: vault.seal_blob(&id.to_string(), &serde_json::to_string(a).expect("an address serializes")),
    }
}

pub fn address(vault: &Vault, a: &SavedAddress) -> Result<PostalAddress, ApiError> {
    open_json(vault, &a.id.to_string(), &a.sealed)
}

/// The address an order ships to, as it was at placement.
pub fn ship_to(vault: &Vault, o: &Order) -> Result<PostalAddress, ApiError> {
    open_json(vault, &o.address_id.to_string(), &o.ship_to)
}

fn open_json<T: serde::de::DeserializeOwned>(vault: &Vault, row: &str, blob: &[u8]) -> Result<T, ApiError> {
    // The row is named, never the text (nor serde's message, which may quote it): it is personal data.
    let text = vault.open_blob(row, blob).map_err(|e| ApiError::internal(format!("sealed data of {row}: {e}")))?;
    serde_json::from_str(&text).map_err(|_| ApiError::internal(format!("sealed data of {row} is not what was sealed")))
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{table} {id}: {reason}")]
    Row { table: &'static str, id: String, reason: String },
}

const BATCH: u32 = 500;

/// Seals what a version before sealing kept in clear, in batches; returns how many rows it sealed. Every
/// process runs it at start (the rows left are found by an index that is empty once all are sealed), and
/// several at once only repeat each other's work: each row is sealed where it is still unsealed.
pub async fn seal_legacy(store: &Store, vault: &Vault) -> Result<u64, SealError> {
    let mut sealed_rows = 0;
    for col in SealedColumn::ALL {
        loop {
            let rows = {
                let mut read = store.read().await?;
                sealed::legacy(&mut read.conn(), col, BATCH).await?
            };
            if rows.is_empty() {
                break;
            }
            let mut tx = store.write().await?;
            for row in &rows {
                let bad = |reason: String| SealError::Row { table: col.table(), id: row.id.clone(), reason };
                let (blob, hash) = match col {
                    SealedColumn::Customer => {
                        // An e-mail an older version took but today's rules refuse is kept as it was (lower
                        // case): the start goes on, and the customer is still there to be helped.
                        let email = Email::parse(&row.clear)
                            .map_or_else(|_| row.clear.trim().to_lowercase(), |e| e.as_str().to_string());
                        let hash = vault.lookup_hash(&email);
                        let person = Person { email, name: row.name.clone().unwrap_or_default() };
                        let json = serde_json::to_string(&person).expect("a person serializes");
                        (vault.seal_blob(&row.bound_to, &json), Some(hash))
                    }
                    SealedColumn::Address | SealedColumn::ShipTo => {
                        let address: PostalAddress =
                            serde_json::from_str(&row.clear).map_err(|_| bad("not an address".into()))?;
                        let json = serde_json::to_string(&address).expect("an address serializes");
                        (vault.seal_blob(&row.bound_to, &json), None)
                    }
                };
                sealed::seal_legacy(&mut tx.conn(), col, &row.id, blob, hash.as_deref()).await?;
            }
            tx.commit().await?;
            sealed_rows += rows.len() as u64;
        }
    }
    Ok(sealed_rows)
}

/// How a re-wrap of the personal data went.
#[derive(Debug, Default)]
pub struct Rewrap {
    pub rewrapped: u64,
    pub raced: u64,
    /// Rows that did not open: their master key is not configured, or the blob was changed.
    pub unopenable: Vec<(String, VaultError)>,
}

/// Re-wraps every sealed blob under the vault's active master key, and gives each customer its e-mail's hash
/// under that key (so the old key can go). Blobs already under it are left as they are.
pub async fn rewrap(store: &Store, vault: &Vault) -> Result<Rewrap, SealError> {
    let mut done = Rewrap::default();
    for col in SealedColumn::ALL {
        let mut after = String::new();
        loop {
            let rows = {
                let mut read = store.read().await?;
                sealed::batch(&mut read.conn(), col, &after, BATCH).await?
            };
            let Some(last) = rows.last() else { break };
            after = last.id.clone();
            let mut tx = store.write().await?;
            for row in &rows {
                let outcome =
                    vault.rewrap_blob(&row.bound_to, &row.blob).and_then(|rewrapped| match (rewrapped, col) {
                        // The hash needs the e-mail itself: it is opened for that; the re-wrapped blob keeps its
                        // sealed text as it was.
                        (Some(blob), SealedColumn::Customer) => {
                            let json = vault.open_blob(&row.bound_to, &row.blob)?;
                            let person: Person = serde_json::from_str(&json).map_err(|_| VaultError::Tampered)?;
                            Ok(Some((blob, Some(vault.lookup_hash(&person.email)))))
                        }
                        (blob, _) => Ok(blob.map(|b| (b, None))),
                    });
                match outcome {
                    Ok(None) => {}
                    Ok(Some((blob, hash))) => {
                        if sealed::replace(&mut tx.conn(), col, &row.id, &row.blob, blob, hash.as_deref()).await? {
                            done.rewrapped += 1;
                        } else {
                            done.raced += 1;
                        }
                    }
                    Err(e) => done.unopenable.push((format!("{} {}", col.table(), row.id), e)),
                }
            }
            tx.commit().await?;
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_person_and_an_address_open_on_their_own_rows_only() {
        let vault = Vault::from_base64(&Vault::generate_key()).unwrap();
        let id = CustomerId::new();
        let email = Email::parse("PQ@Example.net").unwrap();
        let (hash, blob) = seal_person(&vault, id, &email, "Philippa");
        assert_eq!(hash, vault.lookup_hash("pq@example.net"), "the hash is of the normalized e-mail");
        assert!(!String::from_utf8_lossy(&blob).contains("Philippa"));
        let customer = Customer {
            id,
            sealed: blob,
            password_hash: String::new(),
            prime: false,
            default_address_id: None,
            default_payment_method_id: None,
        };
        assert_eq!(
            person(&vault, &customer).unwrap(),
            Person { email: "pq@example.net".into(), name: "Philippa".into() }
        );
        let other = Customer { id: CustomerId::new(), ..customer };
        assert!(person(&vault, &other).is_err());
    }
}
