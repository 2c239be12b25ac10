//! The card vault: card numbers are sealed with AES-256-GCM before they reach the database.
//!
//! Each sealed value records the id of the key that sealed it, so keys can be rotated: new cards use the
//! active key, old ones open with the key they name. The row id is bound in as associated data, so a sealed
//! number copied onto another row does not open.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox};
use std::collections::HashMap;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VaultError {
    #[error("a vault key must be 32 bytes, base64-encoded")]
    BadKey,
    #[error("no vault key {0:?} is configured")]
    UnknownKey(String),
    #[error("a sealed value did not open (wrong key or tampered)")]
    Tampered,
}

pub struct Vault {
    keys: HashMap<String, SecretBox<[u8; 32]>>,
    active: String,
}

impl Vault {
    /// A vault with one active key (base64 of 32 random bytes). Older keys can be added with `with_old_key`.
    pub fn from_base64(active: &str) -> Result<Vault, VaultError> {
        let (id, key) = decode_key(active)?;
        Ok(Vault { keys: HashMap::from([(id.clone(), key)]), active: id })
    }

    pub fn with_old_key(mut self, old: &str) -> Result<Vault, VaultError> {
        let (id, key) = decode_key(old)?;
        self.keys.entry(id).or_insert(key);
        Ok(self)
    }

    /// A fresh random key, base64: for a development database given none, and for tests.
    pub fn generate_key() -> String {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        B64.encode(key)
    }

    pub fn active_key_id(&self) -> &str {
        &self.active
    }

    /// Seals `plain` for the row `row_id`: returns (key id, nonce ‖ ciphertext ‖ tag).
    pub fn seal(&self, row_id: &str, plain: &str) -> (String, Vec<u8>) {
        let key = &self.keys[&self.active];
        let cipher = Aes256Gcm::new(key.expose_secret().into());
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain.as_bytes(), aad: row_id.as_bytes() })
            .expect("AES-GCM encryption of a short message cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        (self.active.clone(), out)
    }

    pub fn open(&self, key_id: &str, row_id: &str, sealed: &[u8]) -> Result<String, VaultError> {
        let key = self.keys.get(key_id).ok_or_else(|| VaultError::UnknownKey(key_id.to_string()))?;
        if sealed.len() < 12 + 16 {
            return Err(VaultError::Tampered);
        }
        let (nonce, body) = sealed.split_at(12);
        let cipher = Aes256Gcm::new(key.expose_secret().into());
        let plain = cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad: row_id.as_bytes() })
            .map_err(|_| VaultError::Tampered)?;
        String::from_utf8(plain).map_err(|_| VaultError::Tampered)
    }
}

/// A key's id is a short fingerprint of it (not reversible), so the database names keys without holding them.
fn decode_key(b64: &str) -> Result<(String, SecretBox<[u8; 32]>), VaultError> {
    let bytes = B64.decode(b64.trim()).map_err(|_| VaultError::BadKey)?;
    let key: [u8; 32] = bytes.try_into().map_err(|_| VaultError::BadKey)?;
    let cipher = Aes256Gcm::new((&key).into());
    // Fingerprint: the key encrypting a fixed block under a fixed nonce. Knowing it reveals nothing of the key.
    let tag = cipher
        .encrypt(Nonce::from_slice(&[0u8; 12]), Payload { msg: b"buynow-key-id", aad: b"" })
        .expect("AES-GCM encryption of a short message cannot fail");
    let id = tag.iter().take(6).map(|b| format!("{b:02x}")).collect::<String>();
    Ok((format!("k_{id}"), SecretBox::new(Box::new(key))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_and_binds_to_the_row() {
        let vault = Vault::from_base64(&Vault::generate_key()).unwrap();
        let (kid, sealed) = vault.seal("pm_1", "4242424242424242");
        assert!(!sealed.windows(4).any(|w| w == b"4242"));
        assert_eq!(vault.open(&kid, "pm_1", &sealed).unwrap(), "4242424242424242");
        assert_eq!(vault.open(&kid, "pm_2", &sealed), Err(VaultError::Tampered));
        let mut flipped = sealed.clone();
        flipped[20] ^= 1;
        assert_eq!(vault.open(&kid, "pm_1", &flipped), Err(VaultError::Tampered));
    }

    #[test]
    fn old_keys_still_open_after_rotation() {
        let old = Vault::generate_key();
        let (kid, sealed) = Vault::from_base64(&old).unwrap().seal("pm_1", "5555555555554444");
        let rotated = Vault::from_base64(&Vault::generate_key()).unwrap().with_old_key(&old).unwrap();
        assert_ne!(rotated.active_key_id(), kid);
        assert_eq!(rotated.open(&kid, "pm_1", &sealed).unwrap(), "5555555555554444");
    }

    #[test]
    fn refuses_a_short_key() {
        assert_eq!(Vault::from_base64("c2hvcnQ=").err(), Some(VaultError::BadKey));
    }
}
