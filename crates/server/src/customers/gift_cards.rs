//! The customer's gift card balance: redeeming a code into it, and its history.

use crate::auth::CustomerAuth;
use crate::error::{ApiResult, Problem};
use crate::extract::Json;
use crate::services::gift_cards;
use crate::state::AppState;
use crate::views::MoneyView;
use axum::extract::State;
use buynow_domain::gift_code::GiftCardCode;
use buynow_domain::ledger::Account;
use buynow_store::gift_cards as ledger;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Redeem {
    /// As printed on the card: `7K2M-Q9XD-4HRT-B3NW`; case, dashes and spaces do not matter.
    pub(crate) code: String,
}

#[derive(Serialize, ToSchema)]
pub struct Balance {
    pub(crate) gift_card_balance: MoneyView,
}

/// Redeem a gift card code into the balance. A code redeems once; the same customer asking again gets the
/// same answer, anyone else 409 `gift_card_redeemed`.
#[utoipa::path(post, path = "/v1/me/gift-cards/redeem", tag = "customers", request_body = Redeem, security(("bearer" = [])),
    responses((status = 200, body = Balance), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn redeem(
    State(state): State<AppState>,
    CustomerAuth(customer): CustomerAuth,
    Json(body): Json<Redeem>,
) -> ApiResult<axum::Json<Balance>> {
    let code = GiftCardCode::parse(&body.code)?;
    let mut tx = state.store.write().await?;
    let balance = gift_cards::redeem(&mut tx.conn(), customer, &code, state.now_micros()).await?;
    tx.commit().await?;
    Ok(axum::Json(Balance { gift_card_balance: balance.into() }))
}

#[derive(Serialize, ToSchema)]
pub struct Movement {
    /// `redeem`, `spend`, `reverse` or `refund`.
    pub(crate) kind: &'static str,
    /// Into the balance (positive) or out of it (negative).
    pub(crate) amount: MoneyView,
    pub(crate) order_id: Option<String>,
    pub(crate) at: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct GiftCardActivity {
    pub(crate) gift_card_balance: MoneyView,
    /// Newest first, the last 100.
    pub(crate) movements: Vec<Movement>,
}

/// The gift card balance and what moved it.
#[utoipa::path(get, path = "/v1/me/gift-cards", tag = "customers", security(("bearer" = [])),
    responses((status = 200, body = GiftCardActivity), (status = 401, body = Problem)))]
pub async fn activity(
    State(state): State<AppState>,
    CustomerAuth(customer): CustomerAuth,
) -> ApiResult<axum::Json<GiftCardActivity>> {
    let mut read = state.store.read().await?;
    let balance = gift_cards::balance(&mut read.conn(), customer).await?;
    let entries = ledger::history(&mut read.conn(), &Account::Customer(customer), 100).await?;
    let movements = entries
        .into_iter()
        .map(|e| Movement {
            kind: e.kind.as_str(),
            amount: e.amount.into(),
            order_id: e.order_id.map(|o| o.to_string()),
            at: buynow_store::from_micros(e.created_at),
        })
        .collect();
    Ok(axum::Json(GiftCardActivity { gift_card_balance: balance.into(), movements }))
}
