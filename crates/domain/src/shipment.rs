//! The shipment state machine of DESIGN.md: a parcel from one center, from the hold window to the door.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShipmentStatus {
    /// In the hold window: the order can still change or be cancelled.
    Pending,
    /// At its center, waiting to be picked.
    Released,
    Picking,
    Packed,
    /// Handed to the carrier.
    Shipped,
    InTransit,
    OutForDelivery,
    Delivered,
    /// The carrier reported a delay, damage or loss.
    Exception,
    Cancelled,
}

impl ShipmentStatus {
    pub const ALL: [ShipmentStatus; 10] = [
        ShipmentStatus::Pending,
        ShipmentStatus::Released,
        ShipmentStatus::Picking,
        ShipmentStatus::Packed,
        ShipmentStatus::Shipped,
        ShipmentStatus::InTransit,
        ShipmentStatus::OutForDelivery,
        ShipmentStatus::Delivered,
        ShipmentStatus::Exception,
        ShipmentStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ShipmentStatus::Pending => "pending",
            ShipmentStatus::Released => "released",
            ShipmentStatus::Picking => "picking",
            ShipmentStatus::Packed => "packed",
            ShipmentStatus::Shipped => "shipped",
            ShipmentStatus::InTransit => "in_transit",
            ShipmentStatus::OutForDelivery => "out_for_delivery",
            ShipmentStatus::Delivered => "delivered",
            ShipmentStatus::Exception => "exception",
            ShipmentStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<ShipmentStatus> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether the parcel has left the center (it is the carrier's now).
    pub fn has_shipped(self) -> bool {
        match self {
            ShipmentStatus::Shipped
            | ShipmentStatus::InTransit
            | ShipmentStatus::OutForDelivery
            | ShipmentStatus::Delivered
            | ShipmentStatus::Exception => true,
            ShipmentStatus::Pending
            | ShipmentStatus::Released
            | ShipmentStatus::Picking
            | ShipmentStatus::Packed
            | ShipmentStatus::Cancelled => false,
        }
    }

    /// How far along the way to the door: the order is as far as its least advanced shipment.
    pub fn progress(self) -> u8 {
        match self {
            ShipmentStatus::Cancelled => 0,
            ShipmentStatus::Pending => 1,
            ShipmentStatus::Released => 2,
            ShipmentStatus::Picking => 3,
            ShipmentStatus::Packed => 4,
            ShipmentStatus::Shipped | ShipmentStatus::InTransit | ShipmentStatus::Exception => 5,
            ShipmentStatus::OutForDelivery => 6,
            ShipmentStatus::Delivered => 7,
        }
    }
}

/// Something that happens to a shipment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShipmentEvent {
    /// The hold window ended: the center may pick it.
    Release,
    StartPicking,
    Pack,
    Ship,
    /// The carrier's scans.
    InTransit,
    OutForDelivery,
    Deliver,
    Exception,
    Cancel,
    /// Support sent the items again: a lost or damaged parcel is written off.
    Replace,
}

impl ShipmentEvent {
    pub const ALL: [ShipmentEvent; 10] = [
        ShipmentEvent::Release,
        ShipmentEvent::StartPicking,
        ShipmentEvent::Pack,
        ShipmentEvent::Ship,
        ShipmentEvent::InTransit,
        ShipmentEvent::OutForDelivery,
        ShipmentEvent::Deliver,
        ShipmentEvent::Exception,
        ShipmentEvent::Cancel,
        ShipmentEvent::Replace,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ShipmentEvent::Release => "release",
            ShipmentEvent::StartPicking => "start_picking",
            ShipmentEvent::Pack => "pack",
            ShipmentEvent::Ship => "ship",
            ShipmentEvent::InTransit => "in_transit",
            ShipmentEvent::OutForDelivery => "out_for_delivery",
            ShipmentEvent::Deliver => "delivered",
            ShipmentEvent::Exception => "exception",
            ShipmentEvent::Cancel => "cancel",
            ShipmentEvent::Replace => "replace",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a shipment that is {} cannot take {}", from.as_str(), event.as_str())]
pub struct IllegalShipmentTransition {
    pub from: ShipmentStatus,
    pub event: ShipmentEvent,
}

/// The one place that says which shipment transitions exist. No `_` arm: a new state or event does not compile
/// until every pair has been decided.
pub fn transition(from: ShipmentStatus, event: ShipmentEvent) -> Result<ShipmentStatus, IllegalShipmentTransition> {
    use ShipmentEvent as E;
    use ShipmentStatus as S;
    let to = match (from, event) {
        (S::Pending, E::Release) => Some(S::Released),
        (S::Pending, E::Cancel) => Some(S::Cancelled),
        (S::Pending, E::StartPicking | E::Pack | E::Ship | E::Replace) => None,
        (S::Pending, E::InTransit | E::OutForDelivery | E::Deliver | E::Exception) => None,

        (S::Released, E::StartPicking) => Some(S::Picking),
        (S::Released, E::Cancel) => Some(S::Cancelled),
        (S::Released, E::Release | E::Pack | E::Ship | E::Replace) => None,
        (S::Released, E::InTransit | E::OutForDelivery | E::Deliver | E::Exception) => None,

        (S::Picking, E::Pack) => Some(S::Packed),
        (S::Picking, E::Release | E::StartPicking | E::Ship | E::Cancel | E::Replace) => None,
        (S::Picking, E::InTransit | E::OutForDelivery | E::Deliver | E::Exception) => None,

        (S::Packed, E::Ship) => Some(S::Shipped),
        (S::Packed, E::Release | E::StartPicking | E::Pack | E::Cancel | E::Replace) => None,
        (S::Packed, E::InTransit | E::OutForDelivery | E::Deliver | E::Exception) => None,

        // Once with the carrier, its scans move the parcel on; a scan may be skipped (no in-transit scan before
        // out for delivery), and an exception clears with the next scan.
        (S::Shipped | S::InTransit | S::Exception, E::InTransit) => Some(S::InTransit),
        (S::Shipped | S::InTransit | S::OutForDelivery | S::Exception, E::OutForDelivery) => Some(S::OutForDelivery),
        (S::Shipped | S::InTransit | S::OutForDelivery | S::Exception, E::Deliver) => Some(S::Delivered),
        (S::Shipped | S::InTransit | S::OutForDelivery | S::Exception, E::Exception) => Some(S::Exception),
        (S::OutForDelivery, E::InTransit) => None,
        (S::Shipped | S::InTransit | S::OutForDelivery | S::Exception, E::Release | E::StartPicking) => None,
        (S::Shipped | S::InTransit | S::OutForDelivery | S::Exception, E::Pack | E::Ship | E::Cancel) => None,
        // Only a parcel the carrier reported lost or damaged is replaced; one on its way may still arrive.
        (S::Exception, E::Replace) => Some(S::Cancelled),
        (S::Shipped | S::InTransit | S::OutForDelivery, E::Replace) => None,

        (S::Delivered | S::Cancelled, E::Release | E::StartPicking | E::Pack | E::Ship | E::Cancel) => None,
        (S::Delivered | S::Cancelled, E::Replace) => None,
        (S::Delivered | S::Cancelled, E::InTransit | E::OutForDelivery | E::Deliver | E::Exception) => None,
    };
    to.ok_or(IllegalShipmentTransition { from, event })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_warehouse_path_is_in_order() {
        use ShipmentEvent as E;
        let mut s = ShipmentStatus::Pending;
        for e in [E::Release, E::StartPicking, E::Pack, E::Ship, E::InTransit, E::OutForDelivery, E::Deliver] {
            s = transition(s, e).unwrap();
        }
        assert_eq!(s, ShipmentStatus::Delivered);
    }

    #[test]
    fn illegal_steps_are_refused() {
        use ShipmentEvent as E;
        use ShipmentStatus as S;
        assert!(transition(S::Released, E::Pack).is_err(), "pack before pick");
        assert!(transition(S::Shipped, E::Ship).is_err(), "ship twice");
        assert!(transition(S::Cancelled, E::StartPicking).is_err(), "pick a cancelled shipment");
        assert!(transition(S::Picking, E::Cancel).is_err(), "cancel once picking started");
        assert!(transition(S::Delivered, E::Exception).is_err(), "nothing after delivery");
    }

    #[test]
    fn names_round_trip() {
        for s in ShipmentStatus::ALL {
            assert_eq!(ShipmentStatus::parse(s.as_str()), Some(s));
        }
    }

    proptest! {
        #[test]
        fn progress_never_goes_back_except_by_cancel_or_replacement(events in proptest::collection::vec(0..ShipmentEvent::ALL.len(), 0..30)) {
            let mut s = ShipmentStatus::Pending;
            for i in events {
                let e = ShipmentEvent::ALL[i];
                if let Ok(next) = transition(s, e) {
                    if next != ShipmentStatus::Cancelled {
                        prop_assert!(next.progress() >= s.progress() || s == ShipmentStatus::OutForDelivery && next == ShipmentStatus::Exception,
                            "{:?} -> {:?}", s, next);
                    }
                    // Once with the carrier, only a replacement (a lost or damaged parcel) writes a parcel off.
                    prop_assert!(!(s.has_shipped() && next == ShipmentStatus::Cancelled) || e == ShipmentEvent::Replace);
                    s = next;
                }
            }
        }
    }
}
