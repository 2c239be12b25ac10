//! Issuing gift cards (admin and support).

use super::products::MoneyInput;
use crate::auth::SupportAuth;
use crate::error::{ApiResult, Problem};
use crate::extract::Json;
use crate::services::gift_cards::{self, MAX_AMOUNT};
use crate::state::AppState;
use crate::views::MoneyView;
use axum::extract::State;
use axum::http::StatusCode;
use buynow_domain::{InvalidValue, Money};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGiftCard {
    amount: MoneyInput,
}

#[derive(Serialize, ToSchema)]
pub struct GiftCardIssued {
    id: String,
    /// The code the customer redeems: shown this once, never again (only its hash is kept).
    code: String,
    balance: MoneyView,
}

/// Issue a gift card (admin, support). Its code is in this answer only.
#[utoipa::path(post, path = "/v1/ops/gift-cards", tag = "ops", request_body = NewGiftCard, security(("staff_key" = [])),
    responses((status = 201, body = GiftCardIssued), (status = 422, body = Problem), (status = 403, body = Problem)))]
pub async fn issue(
    State(state): State<AppState>,
    SupportAuth(staff): SupportAuth,
    Json(body): Json<NewGiftCard>,
) -> ApiResult<(StatusCode, axum::Json<GiftCardIssued>)> {
    let amount = body.amount.parse("amount")?;
    if amount.is_zero() || amount.minor() > MAX_AMOUNT {
        return Err(
            InvalidValue::new("amount", format!("must be more than 0 and at most {}", Money::usd(MAX_AMOUNT))).into()
        );
    }
    let mut tx = state.store.write().await?;
    let (card, code) = gift_cards::issue(&mut tx.conn(), amount, &staff.who, state.now_micros()).await?;
    tx.commit().await?;
    tracing::info!(gift_card = %card.id, amount = %amount, by = %staff.who, "gift card issued");
    let issued = GiftCardIssued { id: card.id.to_string(), code: code.grouped(), balance: amount.into() };
    Ok((StatusCode::CREATED, axum::Json(issued)))
}
