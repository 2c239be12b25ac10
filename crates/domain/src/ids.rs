//! Prefixed entity ids: `ord_…`, `cus_…`, `pm_…`. One type per entity, so an order id can never be passed
//! where a customer id is expected. Inside is a UUIDv7 (time-ordered, so ids index well), printed as 32 hex
//! digits after the prefix.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {kind} id")]
pub struct IdError {
    pub kind: &'static str,
}

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            pub fn new() -> Self {
                $name(Uuid::now_v7())
            }

            pub fn parse(s: &str) -> Result<Self, IdError> {
                let err = || IdError { kind: $kind };
                let hex = s.strip_prefix($prefix).ok_or_else(err)?;
                if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
                    return Err(err());
                }
                Uuid::try_parse(hex).map($name).map_err(|_| err())
            }

            pub fn uuid(self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}{}", $prefix, self.0.simple())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

prefixed_id!(/// A customer.
    CustomerId, "cus_", "customer");
prefixed_id!(/// An order.
    OrderId, "ord_", "order");
prefixed_id!(/// A saved payment method (a card in the vault).
    PaymentMethodId, "pm_", "payment method");
prefixed_id!(/// A saved postal address.
    AddressId, "addr_", "address");
prefixed_id!(/// A shipment: the part of an order that one fulfillment center sends.
    ShipmentId, "shp_", "shipment");
prefixed_id!(/// A payment: one authorization attempt and what followed it.
    PaymentId, "pay_", "payment");
prefixed_id!(/// A durable background job.
    JobId, "job_", "job");
prefixed_id!(/// A customer-facing event in the transactional outbox.
    EventId, "evt_", "event");
prefixed_id!(/// A marketplace seller, who ships its own items.
    SellerId, "slr_", "seller");
prefixed_id!(/// One capture of a payment: a shipment's share, taken when it ships.
    CaptureId, "cap_", "capture");
prefixed_id!(/// A return of some of an order's items.
    ReturnId, "ret_", "return");
prefixed_id!(/// A staff API key (its secret is shown once and stored as a hash).
    StaffKeyId, "key_", "staff key");
prefixed_id!(/// One message of an event to one recipient: an e-mail, or a webhook to one subscription.
    DeliveryId, "dlv_", "delivery");
prefixed_id!(/// A gift card: its code is shown once when issued and kept as a hash.
    GiftCardId, "gc_", "gift card");
prefixed_id!(/// A webhook subscription: a URL of the shop's own systems and the event types it wants.
    SubscriptionId, "whk_", "webhook subscription");
prefixed_id!(/// A support case: something about an order that needs a person.
    CaseId, "case_", "support case");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_its_text_form() {
        let id = OrderId::new();
        let text = id.to_string();
        assert!(text.starts_with("ord_"));
        assert_eq!(OrderId::parse(&text), Ok(id));
    }

    #[test]
    fn refuses_another_entitys_prefix_and_garbage() {
        let text = CustomerId::new().to_string();
        assert!(OrderId::parse(&text).is_err());
        for bad in [
            "",
            "ord_",
            "ord_xyz",
            "ord_0190",
            "ORD_0190a1b2c3d4e5f60718293a4b5c6d7e",
            "ord_0190A1B2C3D4E5F60718293A4B5C6D7E",
        ] {
            assert!(OrderId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn later_ids_sort_after_earlier_ones() {
        let a = OrderId::new();
        let b = OrderId::new();
        assert!(a.to_string() < b.to_string());
    }
}
