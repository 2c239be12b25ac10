//! Staff keys (admin): each with one role, shown once when issued, kept only as a hash, revoked at will. The
//! start-up admin key from the environment stays the first key.

use crate::auth::{new_staff_key, token_hash, AdminAuth};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Json;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use buynow_domain::{InvalidValue, PersonName, SellerId, StaffKeyId, StaffRole};
use buynow_store::from_micros;
use buynow_store::staff::{self, StaffKey};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// `admin`, `warehouse`, `support` or `seller`.
    pub role: String,
    /// Whose key it is, as staff will recognise it.
    pub name: String,
    /// A warehouse key's center: it then works only there. Left out, every center of the store.
    pub center: Option<String>,
    /// A seller key's seller (required for that role, refused for the others).
    pub seller: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct KeyView {
    pub id: String,
    pub role: &'static str,
    pub name: String,
    pub center: Option<String>,
    pub seller: Option<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<StaffKey> for KeyView {
    fn from(k: StaffKey) -> Self {
        KeyView {
            id: k.id.to_string(),
            role: k.role.as_str(),
            name: k.name,
            center: k.center,
            seller: k.seller_id.map(|s| s.to_string()),
            created_at: from_micros(k.created_at),
            revoked_at: k.revoked_at.map(from_micros),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct KeyCreated {
    #[serde(flatten)]
    pub view: KeyView,
    /// The key itself: shown this once, never again.
    pub key: String,
}

#[derive(Serialize, ToSchema)]
pub struct KeyList {
    pub keys: Vec<KeyView>,
}

/// Issue a staff key (admin). The key is in this answer only; BuyNow keeps its hash.
#[utoipa::path(post, path = "/v1/ops/keys", tag = "ops", request_body = NewKey, security(("staff_key" = [])),
    responses((status = 201, body = KeyCreated), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 422, body = Problem)))]
pub async fn issue(
    State(state): State<AppState>,
    _: AdminAuth,
    Json(body): Json<NewKey>,
) -> ApiResult<(StatusCode, axum::Json<KeyCreated>)> {
    let role = StaffRole::parse(&body.role)
        .ok_or_else(|| InvalidValue::new("role", "must be admin, warehouse, support or seller"))?;
    let name = PersonName::parse(&body.name).map_err(|e| InvalidValue::new("name", e.reason))?.to_string();
    let centers = state.centers();
    let (seller, center) = match (role, body.seller.as_deref(), body.center.as_deref()) {
        (StaffRole::Seller, Some(raw), None) => {
            let seller = SellerId::parse(raw).map_err(|_| InvalidValue::new("seller", "no such seller"))?;
            let own = centers.for_seller(Some(seller)).next().map(|c| c.center.code.clone());
            let own = own.ok_or_else(|| InvalidValue::new("seller", "no such seller"))?;
            (Some(seller), Some(own))
        }
        (StaffRole::Seller, None, _) => return Err(InvalidValue::new("seller", "a seller key names its seller").into()),
        (StaffRole::Seller, Some(_), Some(_)) => {
            return Err(InvalidValue::new("center", "a seller key works at its seller's own place").into())
        }
        (_, Some(_), _) => return Err(InvalidValue::new("seller", "only a seller key names a seller").into()),
        (StaffRole::Warehouse, None, Some(raw)) => {
            let code = raw.trim().to_ascii_uppercase();
            match centers.by_code.get(&code) {
                Some(info) if info.center.seller_id.is_none() => (None, Some(code)),
                _ => return Err(InvalidValue::new("center", "no such center of the store").into()),
            }
        }
        (_, None, Some(_)) => {
            return Err(InvalidValue::new("center", "only a warehouse key is limited to a center").into())
        }
        (_, None, None) => (None, None),
    };
    let key = new_staff_key();
    let record = StaffKey {
        id: StaffKeyId::new(),
        role,
        name,
        seller_id: seller,
        center,
        created_at: state.now_micros(),
        revoked_at: None,
    };
    let mut tx = state.store.write().await?;
    staff::insert_key(&mut tx.conn(), &record, &token_hash(&key)).await?;
    tx.commit().await?;
    tracing::info!(key = %record.id, role = role.as_str(), "staff key issued");
    Ok((StatusCode::CREATED, axum::Json(KeyCreated { view: record.into(), key })))
}

/// Every staff key, live and revoked, newest first (admin); never the keys themselves.
#[utoipa::path(get, path = "/v1/ops/keys", tag = "ops", security(("staff_key" = [])),
    responses((status = 200, body = KeyList), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list(State(state): State<AppState>, _: AdminAuth) -> ApiResult<axum::Json<KeyList>> {
    let keys = staff::keys(&mut state.store.read().await?.conn()).await?;
    Ok(axum::Json(KeyList { keys: keys.into_iter().map(KeyView::from).collect() }))
}

/// Revoke a staff key (admin): from now on it is refused (401). Revoking it again changes nothing.
#[utoipa::path(delete, path = "/v1/ops/keys/{id}", tag = "ops", params(("id" = String, Path)),
    security(("staff_key" = [])),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
pub async fn revoke(State(state): State<AppState>, _: AdminAuth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let id = StaffKeyId::parse(&id).map_err(|_| ApiError::NotFound("staff key"))?;
    let mut tx = state.store.write().await?;
    if staff::key(&mut tx.conn(), id).await?.is_none() {
        return Err(ApiError::NotFound("staff key"));
    }
    if staff::revoke_key(&mut tx.conn(), id, state.now_micros()).await? {
        tracing::info!(key = %id, "staff key revoked");
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
