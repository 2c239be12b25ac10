//! Who is calling: customers by session token, staff by API key. Passwords are argon2id hashes.

use crate::config::PasswordCost;
use crate::error::ApiError;
use crate::extract::bearer;
use crate::state::AppState;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use buynow_domain::CustomerId;
use buynow_store::customers;
use rand::RngCore;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

fn argon2(cost: PasswordCost) -> Argon2<'static> {
    let params = Params::new(cost.memory_kib, cost.iterations, 1, None).expect("argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes on a blocking thread: argon2 is meant to be slow, and must not stall the async workers.
pub async fn hash_password(cost: PasswordCost, password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2(cost).hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)
}

/// `None` as the hash still spends the time of a check, so a wrong e-mail and a wrong password take as long.
pub async fn verify_password(cost: PasswordCost, password: String, hash: Option<String>) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || {
        let hasher = argon2(cost);
        match hash.as_deref().map(PasswordHash::new) {
            Some(Ok(parsed)) => hasher.verify_password(password.as_bytes(), &parsed).is_ok(),
            _ => {
                let salt = SaltString::generate(&mut OsRng);
                let _ = hasher.hash_password(password.as_bytes(), &salt);
                false
            }
        }
    })
    .await
    .map_err(ApiError::internal)
}

/// A new session token (shown once) and the hash that is stored.
pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = format!("bnt_{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = token_hash(&token);
    (token, hash)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A signed-in customer.
#[derive(Debug, Clone, Copy)]
pub struct CustomerAuth(pub CustomerId);

impl FromRequestParts<AppState> for CustomerAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let SessionToken(hash) = SessionToken::from_request_parts(parts, state).await?;
        Ok(CustomerAuth(hash.customer(state).await?))
    }
}

/// A bearer token of the right form, not yet looked up: for a handler that reads the session together with
/// what else it needs (Buy Now: one query instead of two). It must call `customer` before answering anything
/// but 401, so that no one learns more without a session than with one.
pub struct SessionToken(pub TokenHash);

/// The stored hash of a session token.
pub struct TokenHash(pub String);

impl TokenHash {
    /// Whose session this is; 401 when none, or expired.
    pub async fn customer(&self, state: &AppState) -> Result<CustomerId, ApiError> {
        let mut read = state.store.read().await?;
        customers::session_customer(&mut read.conn(), &self.0, buynow_store::now_micros())
            .await?
            .ok_or(ApiError::Unauthorized)
    }
}

impl FromRequestParts<AppState> for SessionToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
        if !token.starts_with("bnt_") || token.len() > 100 {
            return Err(ApiError::Unauthorized);
        }
        Ok(SessionToken(TokenHash(token_hash(token))))
    }
}

/// A staff member with the admin role.
#[derive(Debug, Clone, Copy)]
pub struct AdminAuth;

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let given = bearer(parts).ok_or(ApiError::Unauthorized)?;
        if state.config.admin_key.is_none() {
            return Err(ApiError::Forbidden("admin"));
        }
        if is_admin_key(state, given) {
            Ok(AdminAuth)
        } else {
            Err(ApiError::Unauthorized)
        }
    }
}

/// Staff who may issue gift cards (and, later, refund and reship): the admin key, or a staff key with the
/// `admin` or `support` role. Carries who it was, for the records.
#[derive(Debug, Clone)]
pub struct SupportAuth(pub String);

impl FromRequestParts<AppState> for SupportAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let given = bearer(parts).ok_or(ApiError::Unauthorized)?;
        if is_admin_key(state, given) {
            return Ok(SupportAuth("admin".into()));
        }
        if given.len() > 200 {
            return Err(ApiError::Unauthorized);
        }
        let mut read = state.store.read().await?;
        match buynow_store::staff::key_by_hash(&mut read.conn(), &token_hash(given)).await? {
            Some(k) if k.role == "support" || k.role == "admin" => Ok(SupportAuth(k.id.to_string())),
            Some(_) => Err(ApiError::Forbidden("support")),
            None => Err(ApiError::Unauthorized),
        }
    }
}

/// Staff who work shipments: the admin key (standing in for a warehouse key until staff roles exist), or a
/// marketplace seller's key, which reaches only that seller's shipments.
#[derive(Debug, Clone, Copy)]
pub struct StaffAuth(pub crate::services::warehouse::Actor);

impl FromRequestParts<AppState> for StaffAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let given = bearer(parts).ok_or(ApiError::Unauthorized)?;
        Ok(StaffAuth(staff_actor(state, given).await?))
    }
}

/// Who works shipments with the key `given`: the API's bearer key and the console's signed-in key both come here.
pub async fn staff_actor(state: &AppState, given: &str) -> Result<crate::services::warehouse::Actor, ApiError> {
    use crate::services::warehouse::Actor;
    if is_admin_key(state, given) {
        return Ok(Actor::Warehouse);
    }
    if given.len() > 200 {
        return Err(ApiError::Unauthorized);
    }
    let mut read = state.store.read().await?;
    let key = buynow_store::staff::key_by_hash(&mut read.conn(), &token_hash(given)).await?;
    match key {
        Some(k) if k.role == "seller" => k.seller_id.map(Actor::Seller).ok_or(ApiError::Forbidden("seller")),
        Some(k) if k.role == "warehouse" || k.role == "admin" => Ok(Actor::Warehouse),
        Some(_) => Err(ApiError::Forbidden("warehouse")),
        None => Err(ApiError::Unauthorized),
    }
}

pub fn is_admin_key(state: &AppState, given: &str) -> bool {
    // Compare digests, so the comparison time says nothing about how much of the key matched.
    state
        .config
        .admin_key
        .as_ref()
        .is_some_and(|expected| Sha256::digest(given.as_bytes()) == Sha256::digest(expected.expose_secret().as_bytes()))
}

/// A new staff key: `bns_` and 32 random bytes, URL-safe. Only its hash is kept.
pub fn new_staff_key() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("bns_{}", URL_SAFE_NO_PAD.encode(bytes))
}
