//! The order state machine of DESIGN.md, as one exhaustive transition function.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Placed,
    PaymentAuthorized,
    PaymentActionRequired,
    Released,
    Picking,
    Packed,
    Shipped,
    Delivered,
    ReturnRequested,
    Returned,
    Refunded,
    Cancelled,
}

/// Who an order in this state is waiting on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// Nothing more will happen.
    Nobody,
    /// The system moves it on by itself (a job, the warehouse, the carrier).
    System,
    /// The customer must act (revise payment).
    Customer,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 12] = [
        OrderStatus::Placed,
        OrderStatus::PaymentAuthorized,
        OrderStatus::PaymentActionRequired,
        OrderStatus::Released,
        OrderStatus::Picking,
        OrderStatus::Packed,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::ReturnRequested,
        OrderStatus::Returned,
        OrderStatus::Refunded,
        OrderStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Placed => "placed",
            OrderStatus::PaymentAuthorized => "payment_authorized",
            OrderStatus::PaymentActionRequired => "payment_action_required",
            OrderStatus::Released => "released",
            OrderStatus::Picking => "picking",
            OrderStatus::Packed => "packed",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::ReturnRequested => "return_requested",
            OrderStatus::Returned => "returned",
            OrderStatus::Refunded => "refunded",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<OrderStatus> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn waiting_on(self) -> Waiting {
        match self {
            OrderStatus::Delivered | OrderStatus::Refunded | OrderStatus::Cancelled => Waiting::Nobody,
            OrderStatus::PaymentActionRequired => Waiting::Customer,
            OrderStatus::Placed
            | OrderStatus::PaymentAuthorized
            | OrderStatus::Released
            | OrderStatus::Picking
            | OrderStatus::Packed
            | OrderStatus::Shipped
            | OrderStatus::ReturnRequested
            | OrderStatus::Returned => Waiting::System,
        }
    }

    /// Cancelling is allowed until picking starts.
    pub fn is_cancellable(self) -> bool {
        transition(self, OrderEvent::Cancel).is_ok()
    }
}

/// Something that happens to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderEvent {
    /// The gateway approved the authorization.
    PaymentAuthorized,
    /// The gateway declined the authorization (or it failed for good).
    PaymentDeclined,
    /// The card's bank asks the customer to authenticate before it answers.
    AuthenticationRequired,
    /// The customer chose a payment method again after a decline, or is back from authenticating.
    PaymentRevised,
    /// The customer (or staff, or a second decline) cancels the order.
    Cancel,
    /// The hold window ended; the order goes to the warehouse.
    Release,
    StartPicking,
    Pack,
    Ship,
    Deliver,
    RequestReturn,
    ReceiveReturn,
    Refund,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an order that is {} cannot take {event:?}", from.as_str())]
pub struct IllegalTransition {
    pub from: OrderStatus,
    pub event: OrderEvent,
}

/// The one place that says which transitions exist. No `_` arm: a new state or event does not compile until
/// every pair has been decided.
pub fn transition(from: OrderStatus, event: OrderEvent) -> Result<OrderStatus, IllegalTransition> {
    use OrderEvent as E;
    use OrderStatus as S;
    let to = match (from, event) {
        (S::Placed, E::PaymentAuthorized) => Some(S::PaymentAuthorized),
        (S::Placed, E::PaymentDeclined | E::AuthenticationRequired) => Some(S::PaymentActionRequired),
        (S::Placed, E::Cancel) => Some(S::Cancelled),
        (S::Placed, E::PaymentRevised | E::Release | E::StartPicking | E::Pack | E::Ship | E::Deliver) => None,
        (S::Placed, E::RequestReturn | E::ReceiveReturn | E::Refund) => None,

        // The customer chose a card again, or is back from authenticating with their bank.
        (S::PaymentActionRequired, E::PaymentRevised) => Some(S::Placed),
        (S::PaymentActionRequired, E::Cancel) => Some(S::Cancelled),
        (
            S::PaymentActionRequired,
            E::PaymentAuthorized | E::PaymentDeclined | E::AuthenticationRequired | E::Release,
        ) => None,
        (S::PaymentActionRequired, E::StartPicking | E::Pack | E::Ship | E::Deliver) => None,
        (S::PaymentActionRequired, E::RequestReturn | E::ReceiveReturn | E::Refund) => None,

        (S::PaymentAuthorized, E::Release) => Some(S::Released),
        (S::PaymentAuthorized, E::Cancel) => Some(S::Cancelled),
        (
            S::PaymentAuthorized,
            E::PaymentAuthorized | E::PaymentDeclined | E::AuthenticationRequired | E::PaymentRevised,
        ) => None,
        (S::PaymentAuthorized, E::StartPicking | E::Pack | E::Ship | E::Deliver) => None,
        (S::PaymentAuthorized, E::RequestReturn | E::ReceiveReturn | E::Refund) => None,

        (S::Released, E::StartPicking) => Some(S::Picking),
        (S::Released, E::Cancel) => Some(S::Cancelled),
        (
            S::Released,
            E::PaymentAuthorized | E::PaymentDeclined | E::AuthenticationRequired | E::PaymentRevised | E::Release,
        ) => None,
        (S::Released, E::Pack | E::Ship | E::Deliver) => None,
        (S::Released, E::RequestReturn | E::ReceiveReturn | E::Refund) => None,

        (S::Picking, E::Pack) => Some(S::Packed),
        (
            S::Picking,
            E::PaymentAuthorized | E::PaymentDeclined | E::AuthenticationRequired | E::PaymentRevised | E::Cancel,
        ) => None,
        (S::Picking, E::Release | E::StartPicking | E::Ship | E::Deliver) => None,
        (S::Picking, E::RequestReturn | E::ReceiveReturn | E::Refund) => None,

        (S::Packed, E::Ship) => Some(S::Shipped),
        (
            S::Packed,
            E::PaymentAuthorized | E::PaymentDeclined | E::AuthenticationRequired | E::PaymentRevised | E::Cancel,
        ) => None,
        (S::Packed, E::Release | E::StartPicking | E::Pack | E::Deliver) => None,
        (S::Packed, E::RequestReturn | E::ReceiveReturn | E::Refund) => None,

        (S::Shipped, E::Deliver) => Some(S::Delivered),
        (S::Shipped, E::RequestReturn) => Some(S::ReturnRequested),
        (
            S::Shipped,
            E::PaymentAuthorized | E::PaymentDeclined | E::AuthenticationRequired | E::PaymentRevised | E::Cancel,
        ) => None,
        (S::Shipped, E::Release | E::StartPicking | E::Pack | E::Ship) => None,
        (S::Shipped, E::ReceiveReturn | E::Refund) => None,

        // A delivered order is finished, but the customer may still send it back.
        (S::Delivered, E::RequestReturn) => Some(S::ReturnRequested),
        (
            S::Delivered,
            E::PaymentAuthorized | E::PaymentDeclined | E::AuthenticationRequired | E::PaymentRevised | E::Cancel,
        ) => None,
        (S::Delivered, E::Release | E::StartPicking | E::Pack | E::Ship | E::Deliver) => None,
        (S::Delivered, E::ReceiveReturn | E::Refund) => None,

        (S::ReturnRequested, E::ReceiveReturn) => Some(S::Returned),
        (
            S::ReturnRequested,
            E::PaymentAuthorized | E::PaymentDeclined | E::AuthenticationRequired | E::PaymentRevised,
        ) => None,
        (S::ReturnRequested, E::Cancel | E::Release | E::StartPicking | E::Pack | E::Ship) => None,
        (S::ReturnRequested, E::Deliver | E::RequestReturn | E::Refund) => None,

        (S::Returned, E::Refund) => Some(S::Refunded),
        (
            S::Returned,
            E::PaymentAuthorized | E::PaymentDeclined | E::AuthenticationRequired | E::PaymentRevised | E::Cancel,
        ) => None,
        (S::Returned, E::Release | E::StartPicking | E::Pack | E::Ship | E::Deliver) => None,
        (S::Returned, E::RequestReturn | E::ReceiveReturn) => None,

        (
            S::Refunded | S::Cancelled,
            E::PaymentAuthorized | E::PaymentDeclined | E::AuthenticationRequired | E::PaymentRevised,
        ) => None,
        (S::Refunded | S::Cancelled, E::Cancel | E::Release | E::StartPicking | E::Pack | E::Ship) => None,
        (S::Refunded | S::Cancelled, E::Deliver | E::RequestReturn | E::ReceiveReturn | E::Refund) => None,
    };
    to.ok_or(IllegalTransition { from, event })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{HashSet, VecDeque};

    const EVENTS: [OrderEvent; 13] = [
        OrderEvent::PaymentAuthorized,
        OrderEvent::PaymentDeclined,
        OrderEvent::AuthenticationRequired,
        OrderEvent::PaymentRevised,
        OrderEvent::Cancel,
        OrderEvent::Release,
        OrderEvent::StartPicking,
        OrderEvent::Pack,
        OrderEvent::Ship,
        OrderEvent::Deliver,
        OrderEvent::RequestReturn,
        OrderEvent::ReceiveReturn,
        OrderEvent::Refund,
    ];

    /// The arrows of DESIGN.md's diagram, written out independently of `transition`.
    const DIAGRAM: [(OrderStatus, OrderStatus); 16] = {
        use OrderStatus as S;
        [
            (S::Placed, S::PaymentAuthorized),
            (S::Placed, S::PaymentActionRequired),
            (S::PaymentActionRequired, S::Placed),
            (S::PaymentAuthorized, S::Released),
            (S::Released, S::Picking),
            (S::Picking, S::Packed),
            (S::Packed, S::Shipped),
            (S::Shipped, S::Delivered),
            (S::Shipped, S::ReturnRequested),
            (S::Delivered, S::ReturnRequested),
            (S::ReturnRequested, S::Returned),
            (S::Returned, S::Refunded),
            (S::Placed, S::Cancelled),
            (S::PaymentActionRequired, S::Cancelled),
            (S::PaymentAuthorized, S::Cancelled),
            (S::Released, S::Cancelled),
        ]
    };

    fn successors(s: OrderStatus) -> Vec<OrderStatus> {
        EVENTS.iter().filter_map(|&e| transition(s, e).ok()).collect()
    }

    #[test]
    fn every_transition_is_an_arrow_of_the_diagram() {
        for from in OrderStatus::ALL {
            for to in successors(from) {
                assert!(DIAGRAM.contains(&(from, to)), "{from:?} -> {to:?} is not in DESIGN.md");
            }
        }
    }

    #[test]
    fn every_state_can_reach_an_end_or_waits_on_a_person() {
        // Invariant 5: from anywhere, there is a path to a terminal state.
        for start in OrderStatus::ALL {
            let mut seen = HashSet::from([start]);
            let mut queue = VecDeque::from([start]);
            let mut reaches_end = false;
            while let Some(s) = queue.pop_front() {
                reaches_end |= s.waiting_on() == Waiting::Nobody;
                for n in successors(s) {
                    if seen.insert(n) {
                        queue.push_back(n);
                    }
                }
            }
            assert!(reaches_end, "{start:?} can never finish");
        }
    }

    #[test]
    fn cancelling_stops_once_picking_starts() {
        use OrderStatus as S;
        let cancellable: Vec<_> = OrderStatus::ALL.into_iter().filter(|s| s.is_cancellable()).collect();
        assert_eq!(cancellable, [S::Placed, S::PaymentAuthorized, S::PaymentActionRequired, S::Released]);
    }

    #[test]
    fn status_names_round_trip() {
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
        }
    }

    proptest! {
        #[test]
        fn any_path_from_placed_stays_on_the_diagram(events in proptest::collection::vec(0..EVENTS.len(), 0..40)) {
            let mut state = OrderStatus::Placed;
            for i in events {
                match transition(state, EVENTS[i]) {
                    Ok(next) => {
                        prop_assert!(DIAGRAM.contains(&(state, next)));
                        state = next;
                    }
                    Err(e) => prop_assert_eq!(e.from, state),
                }
            }
            // Wherever it stopped, it is a state DESIGN.md allows, and the state itself has a way on.
            prop_assert!(OrderStatus::ALL.contains(&state));
            prop_assert!(state.waiting_on() == Waiting::Nobody || !successors(state).is_empty());
        }
    }
}
