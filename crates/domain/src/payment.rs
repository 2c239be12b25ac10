//! The payment state machine (DESIGN.md, "Payment lifecycle"): one authorization attempt and what follows it.
//!
//! Captures are per shipment and may be partial; what is left of a hold when the rest of the order is
//! cancelled is voided; refunds are against what was captured. The amounts themselves (captured ≤ authorized,
//! refunded ≤ captured) are checked where they are added up, with the statuses here saying which move is
//! allowed at all.

use crate::money::{Money, MoneyError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Written with the order; the authorization has not been answered yet.
    Pending,
    /// The card's bank asks the customer to authenticate (3-D Secure) before it answers.
    RequiresAuthentication,
    /// A hold on the card for the amount.
    Authorized,
    Declined,
    /// The hold was released before anything was captured (order cancelled).
    Voided,
    /// Never sent to the gateway: the order was cancelled first.
    Cancelled,
    /// Some shipments' shares captured, the rest of the hold still live.
    PartiallyCaptured,
    /// Everything that will be captured is (the remainder, if any, voided).
    Captured,
    PartiallyRefunded,
    Refunded,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 10] = [
        PaymentStatus::Pending,
        PaymentStatus::RequiresAuthentication,
        PaymentStatus::Authorized,
        PaymentStatus::Declined,
        PaymentStatus::Voided,
        PaymentStatus::Cancelled,
        PaymentStatus::PartiallyCaptured,
        PaymentStatus::Captured,
        PaymentStatus::PartiallyRefunded,
        PaymentStatus::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::RequiresAuthentication => "requires_authentication",
            PaymentStatus::Authorized => "authorized",
            PaymentStatus::Declined => "declined",
            PaymentStatus::Voided => "voided",
            PaymentStatus::Cancelled => "cancelled",
            PaymentStatus::PartiallyCaptured => "partially_captured",
            PaymentStatus::Captured => "captured",
            PaymentStatus::PartiallyRefunded => "partially_refunded",
            PaymentStatus::Refunded => "refunded",
        }
    }

    pub fn parse(s: &str) -> Option<PaymentStatus> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// A hold is live on the card: something can still be captured or voided.
    pub fn holds_funds(self) -> bool {
        matches!(self, PaymentStatus::Authorized | PaymentStatus::PartiallyCaptured)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentEvent {
    Approve,
    Decline,
    /// The bank wants the customer to authenticate first.
    RequireAuthentication,
    /// The customer is back from authenticating: the authorization is asked for its answer again.
    Authenticated,
    /// The order was cancelled before the gateway was asked.
    Drop,
    /// The hold (or what is left of it) is released.
    Void,
    /// A share is captured; `complete` when nothing more will be.
    Capture {
        complete: bool,
    },
    /// Money goes back; `complete` when all that was captured has.
    Refund {
        complete: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a payment that is {} cannot take {event:?}", from.as_str())]
pub struct IllegalPaymentTransition {
    pub from: PaymentStatus,
    pub event: PaymentEvent,
}

/// The one place that says which payment transitions exist. No `_` arm.
pub fn transition(from: PaymentStatus, event: PaymentEvent) -> Result<PaymentStatus, IllegalPaymentTransition> {
    use PaymentEvent as E;
    use PaymentStatus as S;
    let to = match (from, event) {
        (S::Pending, E::Approve) => Some(S::Authorized),
        (S::Pending, E::Decline) => Some(S::Declined),
        (S::Pending, E::RequireAuthentication) => Some(S::RequiresAuthentication),
        (S::Pending, E::Drop) => Some(S::Cancelled),
        (S::Pending, E::Authenticated | E::Void | E::Capture { .. } | E::Refund { .. }) => None,

        // Back from the bank's page: asked again (the processor then has its answer, or asks again).
        (S::RequiresAuthentication, E::Authenticated) => Some(S::Pending),
        (S::RequiresAuthentication, E::Drop) => Some(S::Cancelled),
        (S::RequiresAuthentication, E::Approve | E::Decline | E::RequireAuthentication | E::Void) => None,
        (S::RequiresAuthentication, E::Capture { .. } | E::Refund { .. }) => None,

        (S::Authorized, E::Void) => Some(S::Voided),
        (S::Authorized | S::PartiallyCaptured, E::Capture { complete: false }) => Some(S::PartiallyCaptured),
        (S::Authorized | S::PartiallyCaptured, E::Capture { complete: true }) => Some(S::Captured),
        (S::Authorized, E::Approve | E::Decline | E::Drop | E::Refund { .. }) => None,

        // What is left of the hold goes back; what was captured stays captured.
        (S::PartiallyCaptured, E::Void) => Some(S::Captured),
        (S::PartiallyCaptured, E::Refund { .. }) => None,
        (S::PartiallyCaptured, E::Approve | E::Decline | E::Drop) => None,
        (S::Authorized | S::PartiallyCaptured, E::RequireAuthentication | E::Authenticated) => None,

        (S::Captured | S::PartiallyRefunded, E::Refund { complete: false }) => Some(S::PartiallyRefunded),
        (S::Captured | S::PartiallyRefunded, E::Refund { complete: true }) => Some(S::Refunded),
        (S::Captured | S::PartiallyRefunded, E::Approve | E::Decline | E::Drop | E::Void | E::Capture { .. }) => None,

        // Dropped by a cancel while its authorization was on its way, and approved by the processor all the
        // same: the late hold is voided.
        (S::Cancelled, E::Void) => Some(S::Voided),
        (S::Cancelled, E::Approve | E::Decline | E::Drop) => None,
        (S::Declined | S::Voided | S::Refunded, E::Approve | E::Decline | E::Drop | E::Void) => None,
        (S::Declined | S::Voided | S::Cancelled | S::Refunded, E::Capture { .. } | E::Refund { .. }) => None,
        (
            S::Declined | S::Voided | S::Cancelled | S::Captured | S::PartiallyRefunded | S::Refunded,
            E::RequireAuthentication | E::Authenticated,
        ) => None,
    };
    to.ok_or(IllegalPaymentTransition { from, event })
}

/// What one shipment captures: its share of the order, unless it is the last of the order's shipments to
/// ship, which takes whatever is left uncaptured so the captures sum to the total exactly.
pub fn share_to_capture(
    total: Money,
    captured_so_far: Money,
    units: u32,
    order_units: u32,
    last: bool,
) -> Result<Money, MoneyError> {
    if last || order_units == 0 {
        return total.checked_sub(captured_so_far);
    }
    let minor = i128::from(total.minor()) * i128::from(units) / i128::from(order_units);
    let share = Money::new(i64::try_from(minor).map_err(|_| MoneyError::Overflow)?, total.currency());
    share.min(total.checked_sub(captured_so_far)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn capture_then_refund() {
        use PaymentEvent as E;
        let s = transition(PaymentStatus::Pending, E::Approve).unwrap();
        let s = transition(s, E::Capture { complete: false }).unwrap();
        assert_eq!(s, PaymentStatus::PartiallyCaptured);
        let s = transition(s, E::Capture { complete: true }).unwrap();
        let s = transition(s, E::Refund { complete: true }).unwrap();
        assert_eq!(s, PaymentStatus::Refunded);
        assert!(transition(s, E::Capture { complete: true }).is_err());
    }

    #[test]
    fn a_late_hold_on_a_dropped_payment_is_voided() {
        assert_eq!(transition(PaymentStatus::Cancelled, PaymentEvent::Void), Ok(PaymentStatus::Voided));
        assert!(transition(PaymentStatus::Cancelled, PaymentEvent::Approve).is_err());
    }

    #[test]
    fn a_partly_captured_hold_voids_into_captured() {
        let s = transition(PaymentStatus::PartiallyCaptured, PaymentEvent::Void).unwrap();
        assert_eq!(s, PaymentStatus::Captured);
    }

    #[test]
    fn shares_follow_units() {
        let first = share_to_capture(Money::usd(1000), Money::usd(0), 1, 3, false).unwrap();
        assert_eq!(first, Money::usd(333));
        let last = share_to_capture(Money::usd(1000), first, 2, 3, true).unwrap();
        assert_eq!(last, Money::usd(667));
    }

    proptest! {
        #[test]
        fn captures_in_any_order_sum_exactly(total in 0i64..10_000_000, units in proptest::collection::vec(1u32..50, 1..6)) {
            let all: u32 = units.iter().sum();
            let mut captured = Money::usd(0);
            for (i, u) in units.iter().enumerate() {
                let share = share_to_capture(Money::usd(total), captured, *u, all, i + 1 == units.len()).unwrap();
                prop_assert!(share.minor() >= 0);
                captured = captured.checked_add(share).unwrap();
                prop_assert!(captured.minor() <= total);
            }
            prop_assert_eq!(captured.minor(), total);
        }
    }
}
