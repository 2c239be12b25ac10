//! What happened to an order: one typed list shared by the order's timeline, the transactional outbox and the
//! notifications built from it. Customer-facing events carry the webhook type names of DESIGN.md
//! ("Notifications"); the others are recorded on the timeline only.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    #[serde(rename = "order.placed")]
    OrderPlaced,
    #[serde(rename = "order.payment_authorized")]
    PaymentAuthorized,
    #[serde(rename = "order.payment_action_required")]
    PaymentActionRequired,
    #[serde(rename = "order.payment_revised")]
    PaymentRevised,
    #[serde(rename = "order.cancelled")]
    OrderCancelled,
    #[serde(rename = "payment.voided")]
    AuthorizationVoided,
    #[serde(rename = "payment.captured")]
    PaymentCaptured,
    #[serde(rename = "payment.reauthorized")]
    PaymentReauthorized,
    #[serde(rename = "payment.gift_card_applied")]
    GiftCardApplied,
    #[serde(rename = "payment.gift_card_returned")]
    GiftCardReturned,
    #[serde(rename = "order.released")]
    OrderReleased,
    #[serde(rename = "shipment.picking")]
    PickingStarted,
    #[serde(rename = "shipment.short_picked")]
    ShortPicked,
    #[serde(rename = "order.on_hold")]
    OrderOnHold,
    #[serde(rename = "shipment.packed")]
    ShipmentPacked,
    #[serde(rename = "shipment.shipped")]
    ShipmentShipped,
    #[serde(rename = "shipment.in_transit")]
    ShipmentInTransit,
    #[serde(rename = "shipment.out_for_delivery")]
    ShipmentOutForDelivery,
    #[serde(rename = "shipment.delayed")]
    ShipmentDelayed,
    #[serde(rename = "shipment.delivered")]
    ShipmentDelivered,
    #[serde(rename = "order.shipped")]
    OrderShipped,
    #[serde(rename = "order.delivered")]
    OrderDelivered,
    #[serde(rename = "order.return_requested")]
    ReturnRequested,
    #[serde(rename = "order.returned")]
    ReturnReceived,
    #[serde(rename = "order.refunded")]
    OrderRefunded,
    /// A support case about the order was opened: by the system (the order waits on staff) or by the customer.
    #[serde(rename = "support.case_opened")]
    SupportCaseOpened,
    /// Staff closed the case; what they did is told with it.
    #[serde(rename = "support.case_resolved")]
    SupportCaseResolved,
    /// A lost or damaged parcel's items are sent again, at no charge.
    #[serde(rename = "shipment.reshipped")]
    ShipmentReshipped,
}

impl EventKind {
    pub const ALL: [EventKind; 28] = [
        EventKind::OrderPlaced,
        EventKind::PaymentAuthorized,
        EventKind::PaymentActionRequired,
        EventKind::PaymentRevised,
        EventKind::OrderCancelled,
        EventKind::AuthorizationVoided,
        EventKind::PaymentCaptured,
        EventKind::PaymentReauthorized,
        EventKind::GiftCardApplied,
        EventKind::GiftCardReturned,
        EventKind::OrderReleased,
        EventKind::PickingStarted,
        EventKind::ShortPicked,
        EventKind::OrderOnHold,
        EventKind::ShipmentPacked,
        EventKind::ShipmentShipped,
        EventKind::ShipmentInTransit,
        EventKind::ShipmentOutForDelivery,
        EventKind::ShipmentDelayed,
        EventKind::ShipmentDelivered,
        EventKind::OrderShipped,
        EventKind::OrderDelivered,
        EventKind::ReturnRequested,
        EventKind::ReturnReceived,
        EventKind::OrderRefunded,
        EventKind::SupportCaseOpened,
        EventKind::SupportCaseResolved,
        EventKind::ShipmentReshipped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::OrderPlaced => "order.placed",
            EventKind::PaymentAuthorized => "order.payment_authorized",
            EventKind::PaymentActionRequired => "order.payment_action_required",
            EventKind::PaymentRevised => "order.payment_revised",
            EventKind::OrderCancelled => "order.cancelled",
            EventKind::AuthorizationVoided => "payment.voided",
            EventKind::PaymentCaptured => "payment.captured",
            EventKind::PaymentReauthorized => "payment.reauthorized",
            EventKind::GiftCardApplied => "payment.gift_card_applied",
            EventKind::GiftCardReturned => "payment.gift_card_returned",
            EventKind::OrderReleased => "order.released",
            EventKind::PickingStarted => "shipment.picking",
            EventKind::ShortPicked => "shipment.short_picked",
            EventKind::OrderOnHold => "order.on_hold",
            EventKind::ShipmentPacked => "shipment.packed",
            EventKind::ShipmentShipped => "shipment.shipped",
            EventKind::ShipmentInTransit => "shipment.in_transit",
            EventKind::ShipmentOutForDelivery => "shipment.out_for_delivery",
            EventKind::ShipmentDelayed => "shipment.delayed",
            EventKind::ShipmentDelivered => "shipment.delivered",
            EventKind::OrderShipped => "order.shipped",
            EventKind::OrderDelivered => "order.delivered",
            EventKind::ReturnRequested => "order.return_requested",
            EventKind::ReturnReceived => "order.returned",
            EventKind::OrderRefunded => "order.refunded",
            EventKind::SupportCaseOpened => "support.case_opened",
            EventKind::SupportCaseResolved => "support.case_resolved",
            EventKind::ShipmentReshipped => "shipment.reshipped",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the customer is told (an email, and a webhook to every matching subscriber): the events of
    /// DESIGN.md's "Notifications", and a support case's opening and resolution. The others are written to the
    /// timeline only.
    pub fn is_customer_facing(self) -> bool {
        match self {
            EventKind::OrderPlaced
            | EventKind::PaymentAuthorized
            | EventKind::PaymentActionRequired
            | EventKind::OrderCancelled
            | EventKind::ShipmentShipped
            | EventKind::ShipmentOutForDelivery
            | EventKind::ShipmentDelayed
            | EventKind::ShipmentDelivered
            | EventKind::OrderDelivered
            | EventKind::ReturnRequested
            | EventKind::OrderRefunded
            | EventKind::SupportCaseOpened
            | EventKind::SupportCaseResolved => true,
            EventKind::PaymentRevised
            | EventKind::AuthorizationVoided
            | EventKind::PaymentCaptured
            | EventKind::PaymentReauthorized
            | EventKind::GiftCardApplied
            | EventKind::GiftCardReturned
            | EventKind::OrderReleased
            | EventKind::PickingStarted
            | EventKind::ShortPicked
            | EventKind::OrderOnHold
            | EventKind::ShipmentPacked
            | EventKind::ShipmentInTransit
            | EventKind::OrderShipped
            | EventKind::ReturnReceived
            | EventKind::ShipmentReshipped => false,
        }
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), serde_json::Value::String(k.as_str().into()));
        }
    }

    #[test]
    fn the_customer_facing_ones_are_designs_list() {
        let facing: Vec<&str> =
            EventKind::ALL.into_iter().filter(|k| k.is_customer_facing()).map(|k| k.as_str()).collect();
        assert_eq!(
            facing,
            [
                "order.placed",
                "order.payment_authorized",
                "order.payment_action_required",
                "order.cancelled",
                "shipment.shipped",
                "shipment.out_for_delivery",
                "shipment.delayed",
                "shipment.delivered",
                "order.delivered",
                "order.return_requested",
                "order.refunded",
                "support.case_opened",
                "support.case_resolved"
            ]
        );
    }
}
