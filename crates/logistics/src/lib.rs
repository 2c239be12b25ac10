//! BuyNow logistics: what happens between the warehouse shelf and the customer's door.
//!
//! Pure rules (carriers and their services, zones and rates, tracking numbers with check digits, rate
//! shopping, box choice) and the documents and signatures the warehouse and carriers exchange (the 4×6 in
//! label, Standard Webhooks signatures on tracking events). No database, no network.

pub mod boxes;
pub mod carriers;
pub mod label;
pub mod signing;
pub mod tracking;

pub use boxes::{BoxSize, Dimensions, Item};
pub use carriers::{Carrier, Place, RateQuote, Service};
