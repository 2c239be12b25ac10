//! BuyNow's pure rules: no I/O, no async, no clock reads except id generation.

pub mod acceptance;
pub mod audit;
pub mod card;
pub mod event;
pub mod gift_code;
pub mod ids;
pub mod ledger;
pub mod money;
pub mod order;
pub mod patterns;
pub mod payment;
pub mod pricing;
pub mod promise;
pub mod shipment;
pub mod sourcing;
pub mod staff;
pub mod support;
pub mod values;

pub use event::EventKind;
pub use ids::*;
pub use money::{Currency, Money, MoneyError};
pub use order::{transition, IllegalTransition, OrderEvent, OrderStatus};
pub use payment::{PaymentEvent, PaymentStatus};
pub use pricing::DeliverySpeed;
pub use shipment::{ShipmentEvent, ShipmentStatus};
pub use staff::StaffRole;
pub use support::{CaseAction, CaseReason, CaseStatus};
pub use values::*;
