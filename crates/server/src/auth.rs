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
use buynow_domain::{CustomerId, SellerId, StaffRole};
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

/// How stale a session's idle limit may get before a use moves it on (µs).
const TOUCH_EVERY: i64 = 3600 * 1_000_000;

/// Whether a session whose idle limit is `idle_until` should have it moved on by this use.
pub fn stale(state: &AppState, idle_until: i64) -> bool {
    let idle = i64::try_from(state.config.session_idle.as_micros()).unwrap_or(i64::MAX / 4);
    idle_until.saturating_sub(buynow_store::now_micros()) <= idle - TOUCH_EVERY.min(idle / 2)
}

impl TokenHash {
    /// Whose session this is; 401 when none, or expired.
    pub async fn customer(&self, state: &AppState) -> Result<CustomerId, ApiError> {
        self.live(state).await?.ok_or(ApiError::Unauthorized)
    }

    /// Whose session it is, if it is live; its idle limit is moved on when it was last moved over an hour ago.
    pub async fn live(&self, state: &AppState) -> Result<Option<CustomerId>, ApiError> {
        let now = buynow_store::now_micros();
        let found = customers::session_customer(&mut state.store.read().await?.conn(), &self.0, now).await?;
        let Some((customer, idle_until)) = found else { return Ok(None) };
        self.used(state, idle_until).await;
        Ok(Some(customer))
    }

    /// The session was just used: its idle limit moves on, when it last moved over an hour ago (a write per
    /// session per hour, not per request). A failure to write is logged: the session still works.
    pub async fn used(&self, state: &AppState, idle_until: i64) {
        if !stale(state, idle_until) {
            return;
        }
        let idle = i64::try_from(state.config.session_idle.as_micros()).unwrap_or(i64::MAX / 4);
        let now = buynow_store::now_micros();
        let touched = async {
            let mut tx = state.store.write().await?;
            customers::touch_session(&mut tx.conn(), &self.0, now.saturating_add(idle)).await?;
            tx.commit().await
        };
        if let Err(e) = touched.await {
            tracing::warn!(error = %e, "could not move a session's idle limit on");
        }
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

/// A staff member, known by their key: who (for the records), their role, and what the key is limited to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    /// `admin` for the start-up key from the environment, else the key's id.
    pub who: String,
    pub role: StaffRole,
    /// A warehouse key's center, when it names one.
    pub center: Option<String>,
    pub seller: Option<SellerId>,
}

/// The staff member whose key is `given`: the start-up admin key, or a live staff key. Unknown and revoked
/// keys are 401.
pub async fn staff_member(state: &AppState, given: &str) -> Result<StaffMember, ApiError> {
    if is_admin_key(state, given) {
        return Ok(StaffMember { who: "admin".into(), role: StaffRole::Admin, center: None, seller: None });
    }
    if given.len() > 200 {
        return Err(ApiError::Unauthorized);
    }
    let mut read = state.store.read().await?;
    let key = buynow_store::staff::key_by_hash(&mut read.conn(), &token_hash(given)).await?;
    let key = key.ok_or(ApiError::Unauthorized)?;
    Ok(StaffMember { who: key.id.to_string(), role: key.role, center: key.center, seller: key.seller_id })
}

/// The staff member of the request's bearer key, if their role is one of `roles` (else 403).
async fn staff_with(parts: &Parts, state: &AppState, roles: &[StaffRole]) -> Result<StaffMember, ApiError> {
    let given = bearer(parts).ok_or(ApiError::Unauthorized)?;
    let member = staff_member(state, given).await?;
    if !roles.contains(&member.role) {
        return Err(ApiError::Forbidden(roles[0].as_str()));
    }
    Ok(member)
}

/// A staff member with the admin role.
#[derive(Debug, Clone)]
pub struct AdminAuth(pub StaffMember);

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(AdminAuth(staff_with(parts, state, &[StaffRole::Admin]).await?))
    }
}

/// Staff who may issue gift cards (and refund and reship): `support` or `admin`. Carries who it was, for the
/// records.
#[derive(Debug, Clone)]
pub struct SupportAuth(pub StaffMember);

impl FromRequestParts<AppState> for SupportAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(SupportAuth(staff_with(parts, state, &[StaffRole::Support, StaffRole::Admin]).await?))
    }
}

/// Staff who work shipments: `warehouse` (at its center, when its key names one), `admin`, or a marketplace
/// seller, which reaches only its own shipments.
#[derive(Debug, Clone)]
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
    staff_member(state, given).await?.actor()
}

impl StaffMember {
    /// How this staff member works shipments; 403 for a role that does not.
    pub fn actor(&self) -> Result<crate::services::warehouse::Actor, ApiError> {
        use crate::services::warehouse::Actor;
        match self.role {
            StaffRole::Admin => Ok(Actor::Warehouse { center: None }),
            StaffRole::Warehouse => Ok(Actor::Warehouse { center: self.center.clone() }),
            StaffRole::Seller => self.seller.map(Actor::Seller).ok_or(ApiError::Forbidden("seller")),
            StaffRole::Support => Err(ApiError::Forbidden("warehouse")),
        }
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
