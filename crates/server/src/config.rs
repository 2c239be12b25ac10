//! Server configuration: one struct, filled by the binary from flags and environment.

use crate::clock::Clock;
use buynow_notify::MailerConfig;
use buynow_payments::SandboxConfig;
use secrecy::SecretString;
use std::time::Duration;

/// Argon2id cost. Production uses the OWASP-recommended parameters; tests may ask for a cheap setting
/// explicitly, never by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordCost {
    pub memory_kib: u32,
    pub iterations: u32,
}

impl PasswordCost {
    /// OWASP's argon2id recommendation: 19 MiB, 2 iterations, 1 lane.
    pub const PRODUCTION: PasswordCost = PasswordCost { memory_kib: 19 * 1024, iterations: 2 };
    /// For test suites only: fast and weak.
    pub const TEST_ONLY: PasswordCost = PasswordCost { memory_kib: 1024, iterations: 1 };
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The first admin key (`BUYNOW_ADMIN_KEY`); without it the `/v1/ops` calls answer 403.
    pub admin_key: Option<SecretString>,
    /// The active vault key (base64 of 32 bytes) and older ones that still open cards sealed before rotation.
    pub vault_key: SecretString,
    pub old_vault_keys: Vec<SecretString>,
    pub sandbox: SandboxConfig,
    pub password_cost: PasswordCost,
    /// How long Buy Now waits for the card authorization before answering `placed` and leaving it to the
    /// background job. Zero: never authorize inline; the workers do it all.
    pub inline_authorization_budget: Duration,
    /// A claimed job is its worker's for this long, renewed every third of it while it runs; once it runs out
    /// (the worker died) another may take the job again.
    pub job_lease: Duration,
    /// Run the background job workers inside this process.
    pub run_workers: bool,
    /// How often an idle worker looks for due jobs.
    pub worker_poll: Duration,
    /// The first retry of a failed job waits this long; each further one twice as long (up to 10 minutes).
    pub job_backoff: Duration,
    pub session_ttl: Duration,
    /// A session not used for this long ends (each use moves the limit on).
    pub session_idle: Duration,
    /// Hold windows before release to the warehouse: items we ship, and items a marketplace seller ships.
    pub hold_store: chrono::Duration,
    pub hold_seller: chrono::Duration,
    /// The time (a test moves it forward).
    pub clock: Clock,
    /// Run the demo's simulated warehouse staff and carriers in this process.
    pub simulate: bool,
    /// How long the simulated carriers take between a parcel's tracking events.
    pub simulation_pace: Duration,
    /// Returns are accepted for this long after delivery.
    pub return_window: chrono::Duration,
    /// Where e-mail goes: an SMTP server, or `.eml` files in a folder.
    pub mail: MailerConfig,
    /// The shop's address as customers reach it, for the links in messages.
    pub public_url: String,
    /// Let webhooks reach loopback and private networks (tests, and a shop's own intranet on purpose).
    pub webhooks_allow_private: bool,
    /// The first retry of a failed delivery waits this long; each further one about twice as long, up to an hour.
    pub delivery_backoff: Duration,
    /// After this many failed attempts a delivery is dead-lettered (kept, listed for staff, sent again on request).
    pub delivery_attempts: u32,
    /// Published events, sent deliveries, finished jobs and ended sessions are deleted when older than this (a
    /// session counted from its end).
    pub retention: Duration,
    /// An idempotency key is deleted this long after its last use; a retry after that is a new purchase (as
    /// with Stripe's keys).
    pub idempotency_retention: Duration,
    /// How often the sweeper looks for orders with no progress past their expected time.
    pub sweep_interval: Duration,
    /// Sign-in and Buy Now rate limits.
    pub rate_limits: crate::rate_limit::RateConfig,
    /// Serve HTTPS with this certificate and key (PEM); plain HTTP when `None`.
    pub tls: Option<crate::listener::TlsFiles>,
    /// A client that has not sent its request's head (or finished its TLS handshake) by then is disconnected.
    pub head_timeout: Duration,
    /// Check every answer of a documented route against the statuses the OpenAPI document lists for it, and
    /// record the ones it does not (see `contract`). The test suites turn it on.
    pub check_contract: bool,
    /// With `check_contract`, also keep the first JSON bodies each operation takes and answers (see
    /// `contract`): the API document's examples are made from them.
    pub record_examples: bool,
    /// Also serve `/metrics` here, without a key.
    pub metrics_addr: Option<std::net::SocketAddr>,
}

impl Config {
    pub fn new(vault_key: SecretString) -> Self {
        Config {
            admin_key: None,
            vault_key,
            old_vault_keys: Vec::new(),
            sandbox: SandboxConfig::default(),
            password_cost: PasswordCost::PRODUCTION,
            inline_authorization_budget: Duration::from_millis(1500),
            job_lease: Duration::from_secs(6),
            run_workers: true,
            worker_poll: Duration::from_millis(500),
            job_backoff: Duration::from_secs(1),
            session_ttl: Duration::from_secs(30 * 24 * 3600),
            session_idle: Duration::from_secs(14 * 24 * 3600),
            hold_store: chrono::Duration::minutes(90),
            hold_seller: chrono::Duration::minutes(30),
            clock: Clock::default(),
            simulate: false,
            simulation_pace: Duration::from_secs(20),
            return_window: chrono::Duration::days(30),
            mail: MailerConfig {
                smtp_url: None,
                mail_dir: std::path::PathBuf::from("mail"),
                from: "BuyNow <orders@buynow.localhost>".into(),
                timeout: Duration::from_secs(10),
            },
            public_url: "http://127.0.0.1:8080".into(),
            webhooks_allow_private: false,
            delivery_backoff: Duration::from_secs(5),
            delivery_attempts: 12,
            retention: Duration::from_secs(7 * 24 * 3600),
            idempotency_retention: Duration::from_secs(24 * 3600),
            sweep_interval: Duration::from_secs(60),
            rate_limits: crate::rate_limit::RateConfig::default(),
            tls: None,
            head_timeout: Duration::from_secs(10),
            check_contract: false,
            record_examples: false,
            metrics_addr: None,
        }
    }
}
