//! The order logic that the API, the pages and the jobs share, one module per capability. Each function runs
//! inside its caller's transaction and writes a change together with its timeline entry and outbox event.

pub mod audit;
pub mod fulfillment;
pub mod gift_cards;
pub mod lifecycle;
pub mod payments;
pub mod reconciliation;
pub mod returns;
pub mod support;
pub mod tracking;
pub mod warehouse;
