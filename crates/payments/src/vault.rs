//! The card vault: envelope encryption. Each card number is sealed (AES-256-GCM) with a data key of its own,
//! made for it at random; the data key is kept wrapped (sealed) by a master key from the configuration. The
//! database holds the sealed number, the wrapped data key and the master key's id; never a key in clear.
//!
//! Rotating the master key re-wraps data keys only: a card number is not opened for it. Old master keys stay
//! configured (`with_old_key`) until every data key is re-wrapped under the new one (`buynow keys rotate`).
//! The row id is bound in as associated data, to both the number and its data key, so a sealed number or a
//! wrapped key copied onto another row does not open.
//!
//! Personal data (names, e-mails, postal addresses) is sealed the same way into one self-describing blob
//! (`seal_blob`), and an e-mail gets a keyed hash beside it (`lookup_hash`) so that sign-in can find its
//! customer without the e-mail in clear. The hash's key is derived from the master key, so it rotates with it.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
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

/// A card number as the database keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The id of the master key that wrapped the data key.
    pub key_id: String,
    /// The card's data key, sealed by that master key (nonce ‖ ciphertext ‖ tag). `None` on a card sealed before
    /// envelopes, by the master key itself; `buynow keys rotate` gives it an envelope.
    pub wrapped_key: Option<Vec<u8>>,
    /// The card number, sealed by the data key (nonce ‖ ciphertext ‖ tag).
    pub sealed: Vec<u8>,
}

impl From<&buynow_store::customers::SavedCard> for Envelope {
    fn from(card: &buynow_store::customers::SavedCard) -> Self {
        Envelope { key_id: card.key_id.clone(), wrapped_key: card.wrapped_key.clone(), sealed: card.sealed.clone() }
    }
}

pub struct Vault {
    keys: HashMap<String, SecretBox<[u8; 32]>>,
    active: String,
}

impl Vault {
    /// A vault with one active master key (base64 of 32 random bytes). Older ones are added with `with_old_key`.
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
        B64.encode(random_key())
    }

    pub fn active_key_id(&self) -> &str {
        &self.active
    }

    /// The id of a master key given in base64, as envelopes name it.
    pub fn key_id_of(b64: &str) -> Result<String, VaultError> {
        decode_key(b64).map(|(id, _)| id)
    }

    /// Seals `plain` for the row `row_id` under a new data key, wrapped by the active master key.
    pub fn seal(&self, row_id: &str, plain: &str) -> Envelope {
        let data_key = random_key();
        let sealed = seal_with(&data_key, plain.as_bytes(), row_id.as_bytes());
        let wrapped = seal_with(self.keys[&self.active].expose_secret(), &data_key, &wrap_aad(row_id));
        Envelope { key_id: self.active.clone(), wrapped_key: Some(wrapped), sealed }
    }

    pub fn open(&self, row_id: &str, envelope: &Envelope) -> Result<String, VaultError> {
        let master = self.master(&envelope.key_id)?;
        let plain = match &envelope.wrapped_key {
            Some(wrapped) => {
                let data_key = self.unwrap(master, row_id, wrapped)?;
                open_with(data_key.expose_secret(), &envelope.sealed, row_id.as_bytes())?
            }
            None => open_with(master, &envelope.sealed, row_id.as_bytes())?,
        };
        String::from_utf8(plain).map_err(|_| VaultError::Tampered)
    }

    /// The envelope with its data key wrapped by the active master key, or `None` when it already is. The card
    /// number is not opened, except for a card sealed before envelopes, which is sealed again under a data key
    /// of its own (in memory only).
    pub fn rewrap(&self, row_id: &str, envelope: &Envelope) -> Result<Option<Envelope>, VaultError> {
        if envelope.key_id == self.active && envelope.wrapped_key.is_some() {
            return Ok(None);
        }
        let master = self.master(&envelope.key_id)?;
        let Some(wrapped) = &envelope.wrapped_key else {
            let plain = String::from_utf8(open_with(master, &envelope.sealed, row_id.as_bytes())?)
                .map_err(|_| VaultError::Tampered)?;
            return Ok(Some(self.seal(row_id, &plain)));
        };
        let data_key = self.unwrap(master, row_id, wrapped)?;
        let rewrapped = seal_with(self.keys[&self.active].expose_secret(), data_key.expose_secret(), &wrap_aad(row_id));
        Ok(Some(Envelope {
            key_id: self.active.clone(),
            wrapped_key: Some(rewrapped),
            sealed: envelope.sealed.clone(),
        }))
    }

    /// Seals `plain` for the row `row_id` into one blob that names its master key: version 1 ‖ the key id's
    /// length ‖ the key id ‖ the wrapped data key ‖ the sealed text.
    pub fn seal_blob(&self, row_id: &str, plain: &str) -> Vec<u8> {
        blob_of(self.seal(row_id, plain))
    }

    pub fn open_blob(&self, row_id: &str, blob: &[u8]) -> Result<String, VaultError> {
        self.open(row_id, &blob_envelope(blob)?)
    }

    /// The blob with its data key wrapped by the active master key, or `None` when it already is; the text
    /// itself is not opened.
    pub fn rewrap_blob(&self, row_id: &str, blob: &[u8]) -> Result<Option<Vec<u8>>, VaultError> {
        Ok(self.rewrap(row_id, &blob_envelope(blob)?)?.map(blob_of))
    }

    /// The keyed hash of `text` (already normalized by its caller) under the active master key: hex, for a
    /// unique index and an equality look-up.
    pub fn lookup_hash(&self, text: &str) -> String {
        lookup_hash_with(self.keys[&self.active].expose_secret(), text)
    }

    /// The hash under every configured master key, the active one first: while a rotation runs, a row may
    /// still carry its hash under an older key.
    pub fn lookup_hashes(&self, text: &str) -> Vec<String> {
        let mut out = vec![self.lookup_hash(text)];
        for (id, key) in &self.keys {
            if *id != self.active {
                out.push(lookup_hash_with(key.expose_secret(), text));
            }
        }
        out
    }

    fn master(&self, key_id: &str) -> Result<&[u8; 32], VaultError> {
        self.keys.get(key_id).map(|k| k.expose_secret()).ok_or_else(|| VaultError::UnknownKey(key_id.to_string()))
    }

    fn unwrap(&self, master: &[u8; 32], row_id: &str, wrapped: &[u8]) -> Result<SecretBox<[u8; 32]>, VaultError> {
        let bytes = open_with(master, wrapped, &wrap_aad(row_id))?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| VaultError::Tampered)?;
        Ok(SecretBox::new(Box::new(key)))
    }
}

const BLOB_VERSION: u8 = 1;
/// A wrapped data key: nonce ‖ 32 sealed bytes ‖ tag.
const WRAPPED_LEN: usize = 12 + 32 + 16;

/// An envelope with its data key wrapped (every new or re-wrapped one), as one blob.
fn blob_of(e: Envelope) -> Vec<u8> {
    let wrapped = e.wrapped_key.expect("a new or re-wrapped envelope has a wrapped key");
    let mut out = Vec::with_capacity(2 + e.key_id.len() + wrapped.len() + e.sealed.len());
    out.push(BLOB_VERSION);
    out.push(u8::try_from(e.key_id.len()).expect("key ids are short"));
    out.extend_from_slice(e.key_id.as_bytes());
    out.extend_from_slice(&wrapped);
    out.extend_from_slice(&e.sealed);
    out
}

fn blob_envelope(blob: &[u8]) -> Result<Envelope, VaultError> {
    let [BLOB_VERSION, id_len, rest @ ..] = blob else { return Err(VaultError::Tampered) };
    let id_len = usize::from(*id_len);
    if rest.len() < id_len + WRAPPED_LEN {
        return Err(VaultError::Tampered);
    }
    let (id, rest) = rest.split_at(id_len);
    let (wrapped, sealed) = rest.split_at(WRAPPED_LEN);
    Ok(Envelope {
        key_id: String::from_utf8(id.to_vec()).map_err(|_| VaultError::Tampered)?,
        wrapped_key: Some(wrapped.to_vec()),
        sealed: sealed.to_vec(),
    })
}

/// HMAC-SHA256 of `text` under a key derived from the master key (itself an HMAC of a fixed label), so the
/// hash key is never the encryption key. 16 bytes of it are kept: collisions are out of reach at that length.
fn lookup_hash_with(master: &[u8; 32], text: &str) -> String {
    let mut derive = <Hmac<sha2::Sha256> as Mac>::new_from_slice(master).expect("HMAC takes any key length");
    derive.update(b"buynow lookup hash v1");
    let key = derive.finalize().into_bytes();
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(text.as_bytes());
    mac.finalize().into_bytes().iter().take(16).map(|b| format!("{b:02x}")).collect()
}

fn random_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    key
}

/// A wrapped data key is bound to its row, and apart from the number's own associated data.
fn wrap_aad(row_id: &str) -> Vec<u8> {
    [b"data-key:".as_slice(), row_id.as_bytes()].concat()
}

/// nonce ‖ ciphertext ‖ tag
fn seal_with(key: &[u8; 32], plain: &[u8], aad: &[u8]) -> Vec<u8> {
    let cipher = Aes256Gcm::new(key.into());
    let mut nonce = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut nonce);
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
        .expect("AES-GCM encryption of a short message cannot fail");
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    out
}

fn open_with(key: &[u8; 32], sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, VaultError> {
    if sealed.len() < 12 + 16 {
        return Err(VaultError::Tampered);
    }
    let (nonce, body) = sealed.split_at(12);
    Aes256Gcm::new(key.into())
        .decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad })
        .map_err(|_| VaultError::Tampered)
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
        let envelope = vault.seal("pm_1", "4242424242424242");
        assert!(!envelope.sealed.windows(4).any(|w| w == b"4242"));
        assert_eq!(vault.open("pm_1", &envelope).unwrap(), "4242424242424242");
        assert_eq!(vault.open("pm_2", &envelope), Err(VaultError::Tampered));
        let mut flipped = envelope.clone();
        flipped.sealed[20] ^= 1;
        assert_eq!(vault.open("pm_1", &flipped), Err(VaultError::Tampered));
        let mut flipped = envelope.clone();
        flipped.wrapped_key.as_mut().unwrap()[20] ^= 1;
        assert_eq!(vault.open("pm_1", &flipped), Err(VaultError::Tampered));
    }

    #[test]
    fn every_card_has_a_data_key_of_its_own() {
        let vault = Vault::from_base64(&Vault::generate_key()).unwrap();
        let (a, b) = (vault.seal("pm_1", "4242424242424242"), vault.seal("pm_1", "4242424242424242"));
        assert_ne!(a.wrapped_key, b.wrapped_key);
        // One card's data key does not open another's number.
        let swapped = Envelope { wrapped_key: a.wrapped_key.clone(), ..b.clone() };
        assert_eq!(vault.open("pm_1", &swapped), Err(VaultError::Tampered));
    }

    #[test]
    fn rotation_rewraps_the_data_key_and_keeps_the_sealed_number() {
        let old = Vault::generate_key();
        let envelope = Vault::from_base64(&old).unwrap().seal("pm_1", "5555555555554444");
        let new = Vault::generate_key();
        let rotating = Vault::from_base64(&new).unwrap().with_old_key(&old).unwrap();
        assert_ne!(rotating.active_key_id(), envelope.key_id);
        assert_eq!(rotating.open("pm_1", &envelope).unwrap(), "5555555555554444");
        let rewrapped = rotating.rewrap("pm_1", &envelope).unwrap().expect("under the old key");
        assert_eq!(rewrapped.sealed, envelope.sealed, "the number itself is not sealed again");
        assert_eq!(rewrapped.key_id, Vault::key_id_of(&new).unwrap());
        assert_eq!(rotating.rewrap("pm_1", &rewrapped).unwrap(), None, "already under the active key");
        let only_new = Vault::from_base64(&new).unwrap();
        assert_eq!(only_new.open("pm_1", &rewrapped).unwrap(), "5555555555554444");
        assert_eq!(only_new.open("pm_1", &envelope), Err(VaultError::UnknownKey(envelope.key_id.clone())));
    }

    #[test]
    fn a_card_sealed_before_envelopes_opens_and_gets_one() {
        let key = Vault::generate_key();
        let vault = Vault::from_base64(&key).unwrap();
        let master: [u8; 32] = B64.decode(&key).unwrap().try_into().unwrap();
        let legacy = Envelope {
            key_id: vault.active_key_id().to_string(),
            wrapped_key: None,
            sealed: seal_with(&master, b"4000056655665556", b"pm_1"),
        };
        assert_eq!(vault.open("pm_1", &legacy).unwrap(), "4000056655665556");
        let enveloped = vault.rewrap("pm_1", &legacy).unwrap().expect("a legacy card is upgraded");
        assert!(enveloped.wrapped_key.is_some());
        assert_eq!(vault.open("pm_1", &enveloped).unwrap(), "4000056655665556");
    }

    #[test]
    fn a_blob_names_its_key_opens_on_its_row_only_and_survives_rotation() {
        let old = Vault::generate_key();
        let vault = Vault::from_base64(&old).unwrap();
        let blob = vault.seal_blob("addr_1", "77 Zephyrine Quay");
        assert!(!blob.windows(8).any(|w| w == b"Zephyrin"));
        assert_eq!(vault.open_blob("addr_1", &blob).unwrap(), "77 Zephyrine Quay");
        assert_eq!(vault.open_blob("addr_2", &blob), Err(VaultError::Tampered));
        assert_eq!(vault.open_blob("addr_1", &blob[..40]), Err(VaultError::Tampered));
        assert_eq!(vault.open_blob("addr_1", &[]), Err(VaultError::Tampered));
        assert_eq!(vault.rewrap_blob("addr_1", &blob).unwrap(), None);
        let rotating = Vault::from_base64(&Vault::generate_key()).unwrap().with_old_key(&old).unwrap();
        let rewrapped = rotating.rewrap_blob("addr_1", &blob).unwrap().expect("under the old key");
        assert_eq!(rotating.open_blob("addr_1", &rewrapped).unwrap(), "77 Zephyrine Quay");
        assert_eq!(vault.open_blob("addr_1", &rewrapped), Err(VaultError::UnknownKey(rotating.active.clone())));
    }

    #[test]
    fn the_lookup_hash_is_keyed_and_known_under_old_keys_while_they_are_configured() {
        let old = Vault::generate_key();
        let a = Vault::from_base64(&old).unwrap();
        let b = Vault::from_base64(&Vault::generate_key()).unwrap();
        assert_eq!(a.lookup_hash("pq@example.net"), a.lookup_hash("pq@example.net"));
        assert_ne!(a.lookup_hash("pq@example.net"), b.lookup_hash("pq@example.net"));
        assert_ne!(a.lookup_hash("pq@example.net"), a.lookup_hash("pr@example.net"));
        assert_eq!(a.lookup_hash("x").len(), 32);
        let rotating = Vault::from_base64(&Vault::generate_key()).unwrap().with_old_key(&old).unwrap();
        let hashes = rotating.lookup_hashes("pq@example.net");
        assert_eq!(hashes.len(), 2);
        assert_eq!(hashes[0], rotating.lookup_hash("pq@example.net"));
        assert_eq!(hashes[1], a.lookup_hash("pq@example.net"));
    }

    #[test]
    fn refuses_a_short_key() {
        assert_eq!(Vault::from_base64("c2hvcnQ=").err(), Some(VaultError::BadKey));
    }
}
