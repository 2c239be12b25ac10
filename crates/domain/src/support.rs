//! Support cases (DESIGN.md, "Staff, audit and support"): why one is opened, what staff may do with it, and
//! when an order with no progress is late enough to need a person. This is how invariant 5 holds: an order
//! that cannot finish by itself waits on a named person, never unseen.

use crate::money::Money;
use crate::order::OrderStatus;
use std::time::Duration;

/// Why a case was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseReason {
    /// One of the order's jobs failed for good (an authorization whose card cannot be opened, a capture the
    /// processor refuses).
    JobFailed,
    /// Reconciliation found the card processor's record and ours disagree.
    PaymentDrift,
    /// The carrier reported the parcel lost or damaged.
    CarrierException,
    /// A message about the order could not be delivered after its last attempt.
    MessageDeadLettered,
    /// The order made no progress past its expected time (found by the sweeper).
    Stalled,
    /// Units could not be found at picking and no other center has them.
    ShortPick,
    /// The customer asked for help.
    CustomerRequest,
}

impl CaseReason {
    pub const ALL: [CaseReason; 7] = [
        CaseReason::JobFailed,
        CaseReason::PaymentDrift,
        CaseReason::CarrierException,
        CaseReason::MessageDeadLettered,
        CaseReason::Stalled,
        CaseReason::ShortPick,
        CaseReason::CustomerRequest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseReason::JobFailed => "job_failed",
            CaseReason::PaymentDrift => "payment_drift",
            CaseReason::CarrierException => "carrier_exception",
            CaseReason::MessageDeadLettered => "message_dead_lettered",
            CaseReason::Stalled => "stalled",
            CaseReason::ShortPick => "short_pick",
            CaseReason::CustomerRequest => "customer_request",
        }
    }

    pub fn parse(s: &str) -> Option<CaseReason> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether an open case of this kind holds its order (`on_hold`): nothing more is released to the
    /// warehouse until staff act. A message that did not arrive, or a customer's question, stops nothing.
    pub fn holds_order(self) -> bool {
        match self {
            CaseReason::JobFailed
            | CaseReason::PaymentDrift
            | CaseReason::CarrierException
            | CaseReason::Stalled
            | CaseReason::ShortPick => true,
            CaseReason::MessageDeadLettered | CaseReason::CustomerRequest => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseStatus {
    Open,
    Resolved,
}

impl CaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Open => "open",
            CaseStatus::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<CaseStatus> {
        [CaseStatus::Open, CaseStatus::Resolved].into_iter().find(|st| st.as_str() == s)
    }
}

/// What staff do with a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseAction {
    /// Take the case (or give it to a colleague).
    Assign,
    /// Write down what was found or done elsewhere.
    Note,
    /// Run a payment job that failed for good once more (after the cause is fixed).
    RetryPayment,
    /// Send the messages that were dead-lettered once more.
    RetryDelivery,
    /// Give money back, all that was paid and not yet refunded, or `amount`.
    Refund,
    /// Send a lost or damaged parcel's items again, at no charge.
    Reship,
    /// Cancel the order: stock back, hold released, gift card balance returned.
    Cancel,
    /// Close the case; the order goes on.
    Resolve,
}

impl CaseAction {
    pub const ALL: [CaseAction; 8] = [
        CaseAction::Assign,
        CaseAction::Note,
        CaseAction::RetryPayment,
        CaseAction::RetryDelivery,
        CaseAction::Refund,
        CaseAction::Reship,
        CaseAction::Cancel,
        CaseAction::Resolve,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseAction::Assign => "assign",
            CaseAction::Note => "note",
            CaseAction::RetryPayment => "retry_payment",
            CaseAction::RetryDelivery => "retry_delivery",
            CaseAction::Refund => "refund",
            CaseAction::Reship => "reship",
            CaseAction::Cancel => "cancel",
            CaseAction::Resolve => "resolve",
        }
    }

    pub fn parse(s: &str) -> Option<CaseAction> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// Whether doing it closes the case: everything but taking it and writing in it.
    pub fn resolves(self) -> bool {
        !matches!(self, CaseAction::Assign | CaseAction::Note)
    }

    /// What may be done to a case in `status`: a resolved case takes notes only (what was found later), so an
    /// action is never taken twice by two colleagues who both saw the case open.
    pub fn allowed_on(self, status: CaseStatus) -> bool {
        match status {
            CaseStatus::Open => true,
            CaseStatus::Resolved => self == CaseAction::Note,
        }
    }
}

/// How much a refund of `requested` (all that is left when `None`) gives back of `left` (what was paid and
/// not yet refunded). Never more than is left, never nothing.
pub fn refund_amount(left: Money, requested: Option<Money>) -> Result<Money, RefundRefusal> {
    let amount = requested.unwrap_or(left);
    if amount.currency() != left.currency() {
        return Err(RefundRefusal::Currency);
    }
    if left.minor() <= 0 {
        return Err(RefundRefusal::NothingLeft);
    }
    if amount.minor() <= 0 {
        return Err(RefundRefusal::NotPositive);
    }
    if amount.minor() > left.minor() {
        return Err(RefundRefusal::MoreThanLeft(left));
    }
    Ok(amount)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RefundRefusal {
    #[error("the refund is in another currency than the order")]
    Currency,
    #[error("nothing was paid that is not refunded already")]
    NothingLeft,
    #[error("a refund must be more than zero")]
    NotPositive,
    #[error("at most {0} can be refunded")]
    MoreThanLeft(Money),
}

/// When an order in `status`, unchanged since, is late enough that a person must look at it. `None` for the
/// states that wait on nobody or on the customer. `hold_window` is the shop's: a paid order is released
/// when it ends. Shipped orders are late by their promise instead (see `late_in_transit`).
pub fn stalled_after(status: OrderStatus, hold_window: Duration) -> Option<Duration> {
    const MINUTE: u64 = 60;
    const DAY: u64 = 24 * 60 * MINUTE;
    let after = match status {
        // Authorization takes seconds; its job gives up within minutes, or keeps asking on an unknown answer.
        OrderStatus::Placed => Duration::from_secs(15 * MINUTE),
        OrderStatus::PaymentAuthorized => hold_window + Duration::from_secs(60 * MINUTE),
        // A center picks, packs and ships within its day.
        OrderStatus::Released | OrderStatus::Picking | OrderStatus::Packed => Duration::from_secs(2 * DAY),
        // With the carrier: no scan for three days.
        OrderStatus::Shipped => Duration::from_secs(3 * DAY),
        // The refund's job runs within minutes of the return's arrival.
        OrderStatus::Returned => Duration::from_secs(60 * MINUTE),
        OrderStatus::PaymentActionRequired
        | OrderStatus::ReturnRequested
        | OrderStatus::Delivered
        | OrderStatus::Refunded
        | OrderStatus::Cancelled => return None,
    };
    Some(after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::Waiting;
    use proptest::prelude::*;

    #[test]
    fn names_round_trip() {
        for r in CaseReason::ALL {
            assert_eq!(CaseReason::parse(r.as_str()), Some(r));
        }
        for a in CaseAction::ALL {
            assert_eq!(CaseAction::parse(a.as_str()), Some(a));
        }
        assert_eq!(CaseStatus::parse("open"), Some(CaseStatus::Open));
        assert_eq!(CaseAction::parse("Refund"), None);
    }

    #[test]
    fn only_states_waiting_on_the_system_can_stall() {
        for s in OrderStatus::ALL {
            let stalls = stalled_after(s, Duration::from_secs(1800)).is_some();
            assert_eq!(stalls, s.waiting_on() == Waiting::System && s != OrderStatus::ReturnRequested, "{s:?}");
        }
    }

    #[test]
    fn a_paid_order_stalls_only_after_its_hold_window() {
        let short = stalled_after(OrderStatus::PaymentAuthorized, Duration::ZERO).unwrap();
        let long = stalled_after(OrderStatus::PaymentAuthorized, Duration::from_secs(7200)).unwrap();
        assert_eq!(long - short, Duration::from_secs(7200));
    }

    #[test]
    fn a_resolved_case_takes_notes_only() {
        for a in CaseAction::ALL {
            assert!(a.allowed_on(CaseStatus::Open));
            assert_eq!(a.allowed_on(CaseStatus::Resolved), a == CaseAction::Note);
        }
    }

    #[test]
    fn refund_refusals() {
        let usd = Money::usd;
        assert_eq!(refund_amount(usd(500), None), Ok(usd(500)));
        assert_eq!(refund_amount(usd(0), None), Err(RefundRefusal::NothingLeft));
        assert_eq!(refund_amount(usd(500), Some(usd(0))), Err(RefundRefusal::NotPositive));
        assert_eq!(refund_amount(usd(500), Some(usd(501))), Err(RefundRefusal::MoreThanLeft(usd(500))));
    }

    proptest! {
        #[test]
        fn a_refund_never_exceeds_what_is_left(left in -1000i64..100_000, asked in proptest::option::of(-1000i64..200_000)) {
            let usd = Money::usd;
            if let Ok(amount) = refund_amount(usd(left), asked.map(usd)) {
                prop_assert!(amount.minor() > 0 && amount.minor() <= left);
                prop_assert_eq!(amount.minor(), asked.unwrap_or(left));
            }
        }
    }
}
