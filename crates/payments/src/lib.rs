//! BuyNow payments: the gateway port, the sandbox connector and the card vault.

pub mod authentication;
pub mod gateway;
pub mod http;
pub mod sandbox;
pub mod vault;

pub use gateway::{
    AuthorizeOutcome, AuthorizeRequest, DeclineCode, Gateway, GatewayError, MoveOutcome, Recorded, Refusal,
};
pub use http::{HttpGateway, NetworkFaults};
pub use sandbox::{Now, Sandbox, SandboxConfig};
pub use vault::{Envelope, Vault, VaultError};
