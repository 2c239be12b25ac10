//! BuyNow's notifications: what each customer-facing event says (HTML and plain text), the e-mail that carries
//! it (over SMTP, or as `.eml` files when no server is configured), and the signed webhook that tells the shop's
//! own systems the same.

pub mod format;
pub mod mail;
pub mod message;
pub mod webhook;

pub use mail::{Mailer, MailerConfig, OutgoingMail, SendError};
pub use message::{Letter, OrderNote, Rendered};
