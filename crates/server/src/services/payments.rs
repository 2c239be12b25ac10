//! Money after the authorization: what the gateway's answers to captures, voids and refunds change, each
//! recorded once (a job that runs again finds it recorded and writes nothing).

use super::lifecycle;
use crate::error::ApiError;
use buynow_domain::payment::transition;
use buynow_domain::{CaptureId, EventKind, OrderEvent, OrderStatus, PaymentEvent, PaymentId};
use buynow_store::gift_cards::{self, GiveBack};
use buynow_store::orders::{self, TimelineEntry};
use buynow_store::payments;
use buynow_store::{returns, Conn};

fn illegal(e: impl std::fmt::Display) -> ApiError {
    ApiError::Conflict("invalid_state", e.to_string())
}

/// The gateway took the capture: it is added to its payment, and the order's timeline says so.
pub async fn record_capture(c: &mut Conn<'_>, id: CaptureId, reference: &str, now: i64) -> Result<(), ApiError> {
    let cap = payments::get_capture(c, id).await?.ok_or(ApiError::NotFound("capture"))?;
    let payment = payments::lock(c, cap.payment_id).await?.ok_or(ApiError::NotFound("payment"))?;
    if !payments::capture_done(c, id, reference, now).await? {
        return Ok(());
    }
    let total = payment.captured.minor() + cap.amount.minor();
    let to = transition(payment.status, PaymentEvent::Capture { complete: total >= payment.amount.minor() })
        .map_err(illegal)?;
    if !payments::add_movement(c, payment.id, payment.status, to, cap.amount.minor(), 0, now).await? {
        return Err(ApiError::Conflict("invalid_state", format!("capturing {} would exceed the hold", cap.amount)));
    }
    if cap.amount.is_zero() {
        // The gift card balance paid for these items when the order was authorized: nothing to tell.
        return Ok(());
    }
    let order = orders::get(c, payment.order_id).await?.ok_or(ApiError::NotFound("order"))?;
    let note = format!("Charged {} for the items shipped", cap.amount);
    orders::add_timeline(c, order.id, &TimelineEntry::new(now, order.status, EventKind::PaymentCaptured, note)).await?;
    Ok(())
}

/// The gateway released the rest of the hold: nothing captured means voided, something captured means that
/// is all that will be.
pub async fn record_void(c: &mut Conn<'_>, id: PaymentId, now: i64) -> Result<bool, ApiError> {
    let payment = payments::lock(c, id).await?.ok_or(ApiError::NotFound("payment"))?;
    let Ok(to) = transition(payment.status, PaymentEvent::Void) else { return Ok(false) };
    if !payments::add_movement(c, payment.id, payment.status, to, 0, 0, now).await? {
        return Ok(false);
    }
    let left = payment.amount.checked_sub(payment.captured).map_err(ApiError::internal)?;
    if left.is_zero() {
        // Nothing was held on the card (the gift card balance paid for all of it): nothing to tell.
        return Ok(true);
    }
    let order = orders::get(c, payment.order_id).await?.ok_or(ApiError::NotFound("order"))?;
    let note = format!("Authorization of {left} released");
    orders::add_timeline(c, order.id, &TimelineEntry::new(now, order.status, EventKind::AuthorizationVoided, note))
        .await?;
    Ok(true)
}

/// The gateway refunded the card's share (or there was none to refund): the payment says so, the gift card's
/// share goes back to the balance, the return is refunded, and the order with it.
pub async fn record_refund(c: &mut Conn<'_>, id: &str, reference: &str, now: i64) -> Result<(), ApiError> {
    let refund = payments::get_refund(c, id).await?.ok_or(ApiError::NotFound("refund"))?;
    let payment = payments::lock(c, refund.payment_id).await?.ok_or(ApiError::NotFound("payment"))?;
    if !payments::refund_done(c, id, reference, now).await? {
        return Ok(());
    }
    if !refund.amount.is_zero() {
        let total = payment.refunded.minor() + refund.amount.minor();
        let to = transition(payment.status, PaymentEvent::Refund { complete: total >= payment.captured.minor() })
            .map_err(illegal)?;
        if !payments::add_movement(c, payment.id, payment.status, to, 0, refund.amount.minor(), now).await? {
            return Err(ApiError::Conflict(
                "invalid_state",
                format!("refunding {} would exceed the captures", refund.amount),
            ));
        }
    }
    let order = orders::lock(c, payment.order_id).await?.ok_or(ApiError::NotFound("order"))?;
    let gift = if refund.gift_amount.is_zero() {
        refund.gift_amount
    } else {
        let back = GiveBack::Refund(refund.gift_amount);
        gift_cards::give_back(c, order.id, order.customer_id, back, &format!("refund:{id}"), now).await?
    };
    if let Some(ret) = refund.return_id {
        returns::set_status(c, ret, "received", "refunded", None, now).await?;
    }
    let amount = refund.amount.checked_add(gift).map_err(ApiError::internal)?;
    let note = match (refund.amount.is_zero(), gift.is_zero()) {
        (false, true) => format!("Refunded {} to your card", refund.amount),
        (true, false) => format!("Refunded {gift} to your gift card balance"),
        _ => format!("Refunded {amount}: {} to your card and {gift} to your gift card balance", refund.amount),
    };
    let payload = serde_json::json!({ "order_id": order.id, "amount": amount });
    // A received return ends the order; any other refund (support's, later) leaves its state as it is.
    let status = match order.status {
        OrderStatus::Returned => {
            let to = buynow_domain::transition(order.status, OrderEvent::Refund).map_err(illegal)?;
            if !orders::set_status(c, order.id, order.status, to, now).await? {
                return Err(ApiError::Conflict("invalid_state", "the order changed meanwhile".into()));
            }
            to
        }
        other => other,
    };
    lifecycle::record(c, &order, status, EventKind::OrderRefunded, &note, payload, now).await
}
