//! `buynow`: the one binary. With no arguments it serves the demo shop on the embedded SQLite default.

mod bench;

use anyhow::Context;
use buynow_payments::{HttpGateway, NetworkFaults, Sandbox, SandboxConfig, Vault};
use buynow_server::{AppState, Config};
use buynow_store::{redact_url, Store};
use clap::{Args, Parser, Subcommand};
use secrecy::{ExposeSecret, SecretString};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

// glibc's malloc showed up in profiles as a sixth of the CPU of a placement, much of it arena lock contention
// between the HTTP workers and the writer thread; mimalloc's thread-local heaps avoid that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "buynow", version, about = "One-click Buy Now orders, exactly once.")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// How log lines are written (to stderr): `text` for people, `json` (one object per line, with the
    /// request's and job's fields) for machines.
    #[arg(long, global = true, env = "BUYNOW_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (and run the background jobs in the same process).
    Serve(Serve),
    /// Run only the background jobs.
    Worker(Common),
    /// Create or upgrade the database schema, then exit.
    Migrate(Common),
    /// Measure Buy Now placements per second against the bare SQL transaction of one order.
    Bench(bench::Bench),
    /// Run the simulated carriers: they move the parcels booked with them and send signed tracking events
    /// to a BuyNow server over HTTP.
    CarrierSim(CarrierSimArgs),
    /// The card vault's master keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Serve the sandbox card processor over HTTP, with seeded network faults, for `--gateway-url`.
    GatewaySim(GatewaySimArgs),
    /// The audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check that no entry of the audit trail was changed or taken out; exits 1, naming the entry, if one was.
    Verify(Common),
}

#[derive(Args, Clone)]
struct GatewaySimArgs {
    #[arg(long, env = "BUYNOW_GATEWAY_SIM_ADDR", default_value = "127.0.0.1:8090")]
    addr: SocketAddr,
    /// Where the simulated processor keeps its records (its own database, not the shop's).
    #[arg(long, env = "BUYNOW_GATEWAY_SIM_DATABASE", default_value = "sqlite://gateway-sim.db")]
    database: String,
    /// Seed of the fault generator: the same seed replays the same faults.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Latency per call in milliseconds, `MIN-MAX`.
    #[arg(long, default_value = "0-0")]
    latency_ms: String,
    /// Calls per thousand the processor acts on but answers only after --hang-ms (the client gives up first).
    #[arg(long, default_value_t = 0)]
    timeouts_per_mille: u32,
    /// Calls per thousand answered 503 before the processor acts.
    #[arg(long, default_value_t = 0)]
    errors_per_mille: u32,
    /// Calls per thousand whose connection is dropped before the processor acts.
    #[arg(long, default_value_t = 0)]
    resets_per_mille: u32,
    /// Calls per thousand the processor acts on whose answer is lost (the connection drops).
    #[arg(long, default_value_t = 0)]
    lost_per_mille: u32,
    #[arg(long, default_value_t = 15_000)]
    hang_ms: u64,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Re-wrap every card's data key under BUYNOW_VAULT_KEY, opening the old ones with BUYNOW_VAULT_OLD_KEYS.
    /// Safe while the shop runs (start it with the new key and the old one first) and safe to run again.
    Rotate(Common),
    /// How many cards are under each master key.
    Status(Common),
}

#[derive(Args, Clone)]
struct CarrierSimArgs {
    /// The database BuyNow uses: the simulated carriers keep their parcels there.
    #[arg(long, env = "BUYNOW_DATABASE_URL", default_value = "sqlite://buynow.db")]
    database: String,
    /// Where BuyNow takes tracking events.
    #[arg(long, env = "BUYNOW_CARRIER_SIM_TARGET", default_value = "http://127.0.0.1:8080")]
    target: String,
    /// Seconds between a parcel's events.
    #[arg(long, default_value_t = 20)]
    pace_secs: u64,
    /// Out of 1 000 parcels, how many meet a delay.
    #[arg(long, default_value_t = 50)]
    exceptions_per_mille: u32,
    /// Seed of which parcels are delayed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(Args, Clone)]
struct Common {
    /// `sqlite://PATH` (the embedded default) or `postgres://USER@HOST:PORT/DB` (for many processes).
    #[arg(long, env = "BUYNOW_DATABASE_URL", default_value = "sqlite://buynow.db")]
    database: String,
    /// `serve` and `worker`: also serve `/metrics` here, without a key (on the API's address it takes an admin
    /// key): a port the metrics scraper reaches and customers do not.
    #[arg(long, env = "BUYNOW_METRICS_ADDR")]
    metrics_addr: Option<SocketAddr>,
    /// The vault's master key: base64 of 32 random bytes (`openssl rand -base64 32`). Required on PostgreSQL;
    /// on SQLite without it a development key is generated and kept in a file beside the database file.
    #[arg(long, env = "BUYNOW_VAULT_KEY", hide_env_values = true)]
    vault_key: Option<String>,
    /// Older vault keys (comma-separated) that still open cards sealed before a rotation.
    #[arg(long, env = "BUYNOW_VAULT_OLD_KEYS", hide_env_values = true, value_delimiter = ',')]
    vault_old_keys: Vec<String>,
    /// The first admin API key, for `/v1/ops`.
    #[arg(long, env = "BUYNOW_ADMIN_KEY", hide_env_values = true)]
    admin_key: Option<String>,
    /// How long Buy Now waits for the card authorization before answering; 0 leaves it all to the workers.
    #[arg(long, env = "BUYNOW_INLINE_AUTHORIZATION_MS", default_value_t = 1500)]
    inline_authorization_ms: u64,
    /// The first retry of a failed job waits this long (with jitter), each later one twice the one before.
    #[arg(long, env = "BUYNOW_JOB_BACKOFF_MS", default_value_t = 1000)]
    job_backoff_ms: u64,
    /// How long a claimed job stays with its worker before another may take it over (the first died); renewed
    /// every third of it while the job runs.
    #[arg(long, env = "BUYNOW_JOB_LEASE_MS", default_value_t = 6_000)]
    job_lease_ms: u64,
    /// The card processor over HTTP (`buynow gateway-sim`'s address); without it, the in-process sandbox.
    #[arg(long, env = "BUYNOW_GATEWAY_URL")]
    gateway_url: Option<String>,
    /// How long a call to --gateway-url may take before its outcome is taken as unknown (and looked up).
    #[arg(long, env = "BUYNOW_GATEWAY_TIMEOUT_MS", default_value_t = 10_000)]
    gateway_timeout_ms: u64,
    /// Sandbox gateway: seed of the fault generator.
    #[arg(long, env = "BUYNOW_SANDBOX_SEED", default_value_t = 0)]
    sandbox_seed: u64,
    /// Sandbox gateway: latency per call in milliseconds, `MIN-MAX`.
    #[arg(long, env = "BUYNOW_SANDBOX_LATENCY_MS", default_value = "0-0")]
    sandbox_latency_ms: String,
    /// Sandbox gateway: calls per thousand whose answer is lost after they took effect.
    #[arg(long, env = "BUYNOW_SANDBOX_TIMEOUTS_PER_MILLE", default_value_t = 0)]
    sandbox_timeouts_per_mille: u32,
    /// Sandbox gateway: calls per thousand that fail before taking effect.
    #[arg(long, env = "BUYNOW_SANDBOX_ERRORS_PER_MILLE", default_value_t = 0)]
    sandbox_errors_per_mille: u32,
    /// Send e-mail through this SMTP server: `smtp://user:pass@host:587?tls=required` (STARTTLS) or
    /// `smtps://user:pass@host:465` (implicit TLS). Without it, e-mails are written as .eml files to --mail-dir.
    #[arg(long, env = "BUYNOW_SMTP_URL", hide_env_values = true)]
    smtp_url: Option<String>,
    /// The sender of e-mails.
    #[arg(long, env = "BUYNOW_MAIL_FROM", default_value = "BuyNow <orders@buynow.localhost>")]
    mail_from: String,
    /// Where e-mails are written without --smtp-url. Default: `mail/` beside the SQLite database (or in the
    /// working directory for PostgreSQL).
    #[arg(long, env = "BUYNOW_MAIL_DIR")]
    mail_dir: Option<PathBuf>,
    /// The shop's address as customers reach it, for the links in e-mails. Default: the address served.
    #[arg(long, env = "BUYNOW_PUBLIC_URL")]
    public_url: Option<String>,
    /// Let webhook subscriptions point at loopback and private networks (refused by default, so a webhook
    /// cannot probe the shop's own network).
    #[arg(long, env = "BUYNOW_WEBHOOKS_ALLOW_PRIVATE")]
    webhooks_allow_private: bool,
    /// Days after which published events, sent deliveries, finished jobs and ended sessions are deleted.
    #[arg(long, env = "BUYNOW_RETENTION_DAYS", default_value_t = 7)]
    retention_days: u64,
    /// Buy Now requests one session may make per second (bursts of four times as many); 0: no limit.
    #[arg(long, env = "BUYNOW_BUY_NOW_PER_SECOND", default_value_t = 5)]
    buy_now_per_second: u32,
    /// Sign-in attempts per account per minute (bursts of twice as many; an address gets three times as
    /// many, whatever the account); 0: no limit.
    #[arg(long, env = "BUYNOW_SIGN_IN_PER_MINUTE", default_value_t = 5)]
    sign_in_per_minute: u32,
}

/// The limits the flags ask for: `n` a second (or minute) with bursts of a few times `n`; 0 turns a limit off.
fn rate_limits(buy_now_per_second: u32, sign_in_per_minute: u32) -> buynow_server::rate_limit::RateConfig {
    use buynow_server::rate_limit::{Rate, RateConfig};
    let per = |n: u32, window: Duration, burst: u32| Rate {
        burst: n.saturating_mul(burst),
        every: if n == 0 { window } else { window / n },
    };
    RateConfig {
        buy_now_per_customer: per(buy_now_per_second, Duration::from_secs(1), 4),
        sign_in_per_account: per(sign_in_per_minute, Duration::from_secs(60), 2),
        sign_in_per_address: per(sign_in_per_minute.saturating_mul(3), Duration::from_secs(60), 2),
    }
}

/// `mail/` beside a SQLite database file; `./mail` otherwise.
fn default_mail_dir(database: &str) -> PathBuf {
    database
        .strip_prefix("sqlite://")
        .map(|path| PathBuf::from(path).parent().map(|p| p.join("mail")).unwrap_or_else(|| PathBuf::from("mail")))
        .unwrap_or_else(|| PathBuf::from("mail"))
}

#[derive(Args, Clone)]
struct Serve {
    #[command(flatten)]
    common: Common,
    #[arg(long, env = "BUYNOW_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Seed the demo catalog, centers and customer (once).
    #[arg(long, env = "BUYNOW_DEMO")]
    demo: bool,
    /// Serve HTTP only; leave the background jobs to `buynow worker` processes.
    #[arg(long, env = "BUYNOW_NO_WORKERS")]
    no_workers: bool,
    /// The hold window before an order goes to the warehouse, in seconds (store items; a seller's get a third
    /// of it). Default 5 400 (90 minutes), 60 in the demo.
    #[arg(long, env = "BUYNOW_HOLD_WINDOW")]
    hold_window: Option<u64>,
    /// With `--demo`: keep the demo's data but run no simulated warehouse staff or carriers.
    #[arg(long, env = "BUYNOW_NO_SIMULATION")]
    no_simulation: bool,
    /// Seconds the demo's simulated carriers take between a parcel's tracking events.
    #[arg(long, env = "BUYNOW_SIMULATION_PACE", default_value_t = 20)]
    simulation_pace: u64,
    /// Serve HTTPS with this certificate chain (PEM), with `--tls-key`; browsers are then told to use HTTPS
    /// only (HSTS).
    #[arg(long, env = "BUYNOW_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of `--tls-cert` (PEM).
    #[arg(long, env = "BUYNOW_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

#[tokio::main]
async fn main() {
    if let Err(e) = run(Cli::parse()).await {
        // One line, causes included: what went wrong, and nothing of a secret (URLs are redacted where they
        // are named).
        eprintln!("buynow: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // The bench's report is its output: the server it runs logs only warnings, unless RUST_LOG says otherwise.
    let default_filter = match cli.command {
        Some(Command::Bench(_)) => "warn",
        _ => "info,sqlx=warn,tower_http=info",
    };
    // Logs go to stderr, so what a command prints on stdout (the URL, the bench's JSON) stays machine-readable.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default_filter.into());
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match cli.log_format {
        // Each line lists its spans with their fields: the request's id is in the request's, or the job's.
        LogFormat::Json => logs.json().with_current_span(false).with_span_list(true).flatten_event(true).init(),
        LogFormat::Text => logs.init(),
    }
    match cli.command {
        None => {
            // `buynow` alone: the demo shop on the defaults (flags and their env fallbacks still apply).
            let serve = Serve::parse_from(["buynow", "--demo"]);
            run_serve(serve).await
        }
        Some(Command::Serve(serve)) => run_serve(serve).await,
        Some(Command::Worker(common)) => run_worker(common).await,
        Some(Command::Bench(args)) => bench::run(args).await,
        Some(Command::CarrierSim(args)) => run_carrier_sim(args).await,
        Some(Command::Migrate(common)) => {
            open_store(&common.database).await?;
            println!("database {} is up to date", redact_url(&common.database));
            Ok(())
        }
        Some(Command::Keys(KeysCommand::Rotate(common))) => rotate_keys(common).await,
        Some(Command::GatewaySim(args)) => run_gateway_sim(args).await,
        Some(Command::Audit(AuditCommand::Verify(common))) => {
            let store = open_store(&common.database).await?;
            let found = buynow_server::services::audit::verify(&mut store.read().await?.conn()).await?;
            match found.broken {
                None => {
                    println!("the audit trail is whole: {} entries, each following from the one before", found.checked);
                    if let Some((seq, hash)) = found.head {
                        println!("newest entry {seq}, hash {hash}: keep it elsewhere to check the next run against");
                    }
                    Ok(())
                }
                Some(broken) => {
                    anyhow::bail!(
                        "the audit trail was tampered with: {broken} ({} entries before it are sound)",
                        found.checked
                    )
                }
            }
        }
        Some(Command::Keys(KeysCommand::Status(common))) => {
            let store = open_store(&common.database).await?;
            print_key_status(&buynow_server::vault_keys::status(&store).await?);
            Ok(())
        }
    }
}

// `Serve` parsed on its own, for the no-subcommand default.
impl Serve {
    fn parse_from<I: IntoIterator<Item = &'static str>>(args: I) -> Serve {
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            serve: Serve,
        }
        Only::parse_from(args).serve
    }
}

async fn open_store(database: &str) -> anyhow::Result<Store> {
    Store::open(database).await.with_context(|| format!("opening {}", redact_url(database)))
}

async fn build_state(common: &Common, run_workers: bool, adjust: impl FnOnce(&mut Config)) -> anyhow::Result<AppState> {
    let (vault_key, old_vault_keys) = vault_keys(common)?;
    let store = open_store(&common.database).await?;
    let mut config = Config::new(vault_key);
    config.old_vault_keys = old_vault_keys;
    config.admin_key = common.admin_key.clone().filter(|k| !k.is_empty()).map(SecretString::from);
    config.run_workers = run_workers;
    config.metrics_addr = common.metrics_addr;
    config.mail = buynow_notify::MailerConfig {
        smtp_url: common.smtp_url.clone().filter(|u| !u.is_empty()).map(SecretString::from),
        mail_dir: {
            let dir = common.mail_dir.clone().unwrap_or_else(|| default_mail_dir(&common.database));
            std::path::absolute(&dir).unwrap_or(dir)
        },
        from: common.mail_from.clone(),
        timeout: Duration::from_secs(10),
    };
    if let Some(url) = &common.public_url {
        config.public_url = url.trim_end_matches('/').to_string();
    }
    config.webhooks_allow_private = common.webhooks_allow_private;
    config.retention = Duration::from_secs(common.retention_days.max(1) * 86_400);
    config.rate_limits = rate_limits(common.buy_now_per_second, common.sign_in_per_minute);
    config.inline_authorization_budget = Duration::from_millis(common.inline_authorization_ms);
    config.job_lease = Duration::from_millis(common.job_lease_ms.max(100));
    config.job_backoff = Duration::from_millis(common.job_backoff_ms.max(1));
    let (lo, hi) = parse_range(&common.sandbox_latency_ms).context("--sandbox-latency-ms takes MIN-MAX")?;
    config.sandbox = SandboxConfig {
        seed: common.sandbox_seed,
        latency_ms: (lo, hi),
        timeouts_per_mille: common.sandbox_timeouts_per_mille,
        errors_per_mille: common.sandbox_errors_per_mille,
    };
    adjust(&mut config);
    buynow_server::demo::ensure_centers(&store).await?;
    let gateway: Arc<dyn buynow_payments::Gateway> = match common.gateway_url.as_deref().filter(|u| !u.is_empty()) {
        Some(url) => Arc::new(HttpGateway::new(url, Duration::from_millis(common.gateway_timeout_ms.max(1)))?),
        None => Arc::new(Sandbox::open(config.sandbox.clone(), &store, &common.database, config.clock.reader()).await?),
    };
    tracing::info!(
        database = %redact_url(&common.database),
        admin_key = if config.admin_key.is_some() { "set" } else { "not set (/v1/ops answers 403)" },
        gateway = common.gateway_url.as_deref().map_or_else(|| "the in-process sandbox".into(), redact_url),
        sandbox_seed = config.sandbox.seed,
        hold_window_s = config.hold_store.num_seconds(),
        simulated_staff_and_carriers = config.simulate,
        "configuration"
    );
    Ok(AppState::new(store, config, gateway).await?)
}

/// The vault's master key and the old ones that still open cards. On PostgreSQL (many processes, production)
/// the key must be given. On SQLite without one, a development key is generated once and kept beside the
/// database file (owner-readable only), so the demo's cards still open after a restart; given a key, that
/// development key, if there is one, still opens the cards it sealed until `buynow keys rotate` moves them.
fn vault_keys(common: &Common) -> anyhow::Result<(SecretString, Vec<SecretString>)> {
    let mut old: Vec<SecretString> =
        common.vault_old_keys.iter().filter(|k| !k.trim().is_empty()).map(|k| SecretString::from(k.clone())).collect();
    let dev_key_file = sqlite_file(&common.database).map(|db| PathBuf::from(format!("{}.vault-key", db.display())));
    let given = common.vault_key.clone().filter(|k| !k.trim().is_empty());
    let active = match (given, &dev_key_file) {
        (Some(key), dev) => {
            Vault::from_base64(&key).context("BUYNOW_VAULT_KEY must be base64 of 32 bytes")?;
            if let Some(dev) = dev.as_ref().filter(|f| f.exists()) {
                old.push(read_dev_key(dev)?);
            }
            SecretString::from(key)
        }
        (None, Some(file)) => dev_vault_key(file)?,
        (None, None) => anyhow::bail!(
            "BUYNOW_VAULT_KEY is not set: a database other than SQLite needs the card vault's master key \
             (base64 of 32 random bytes, e.g. `openssl rand -base64 32`), as BUYNOW_VAULT_KEY or --vault-key"
        ),
    };
    for (i, key) in old.iter().enumerate() {
        Vault::from_base64(key.expose_secret())
            .with_context(|| format!("BUYNOW_VAULT_OLD_KEYS: key {} must be base64 of 32 bytes", i + 1))?;
    }
    Ok((active, old))
}

/// The file of a `sqlite://PATH` database; none for an in-memory one or another back end.
fn sqlite_file(database: &str) -> Option<PathBuf> {
    let path = database.strip_prefix("sqlite://").or_else(|| database.strip_prefix("sqlite:"))?;
    let path = path.split('?').next().unwrap_or(path);
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| PathBuf::from(path))
}

fn read_dev_key(file: &std::path::Path) -> anyhow::Result<SecretString> {
    let key = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    Vault::from_base64(&key).with_context(|| format!("the development vault key in {} is damaged", file.display()))?;
    Ok(SecretString::from(key.trim().to_string()))
}

fn dev_vault_key(file: &std::path::Path) -> anyhow::Result<SecretString> {
    let key = if file.exists() {
        read_dev_key(file)?
    } else {
        let key = Vault::generate_key();
        write_private(file, &key)?;
        SecretString::from(key)
    };
    tracing::warn!(file = %file.display(), "using a generated DEVELOPMENT vault key; set BUYNOW_VAULT_KEY in production");
    Ok(key)
}

async fn rotate_keys(common: Common) -> anyhow::Result<()> {
    let (active, old) = vault_keys(&common)?;
    let mut vault = Vault::from_base64(active.expose_secret())?;
    for key in &old {
        vault = vault.with_old_key(key.expose_secret())?;
    }
    let store = open_store(&common.database).await?;
    let done = buynow_server::vault_keys::rotate(&store, &vault).await?;
    println!("re-wrapped {} cards' data keys under master key {}", done.rewrapped, vault.active_key_id());
    print_key_status(&done.by_key);
    let personal = &done.personal;
    println!("re-wrapped {} sealed names, e-mails and addresses", personal.rewrapped);
    if done.raced + personal.raced > 0 {
        println!("{} rows changed while this ran; run it again to take them", done.raced + personal.raced);
    }
    if let Some((card, e)) = done.unopenable.first() {
        anyhow::bail!(
            "{} cards could not be re-wrapped (the first, {card}: {e}); add their master key to BUYNOW_VAULT_OLD_KEYS",
            done.unopenable.len()
        );
    }
    if let Some((row, e)) = personal.unopenable.first() {
        anyhow::bail!(
            "{} sealed rows could not be re-wrapped (the first, {row}: {e}); add their master key to BUYNOW_VAULT_OLD_KEYS",
            personal.unopenable.len()
        );
    }
    if done.by_key.iter().all(|k| k.key_id == vault.active_key_id() && k.enveloped) && done.raced + personal.raced == 0
    {
        println!("every card opens with the active key alone: the old keys can be removed from BUYNOW_VAULT_OLD_KEYS");
    }
    Ok(())
}

fn print_key_status(by_key: &[buynow_server::vault_keys::KeyCount]) {
    if by_key.is_empty() {
        println!("no cards in the vault");
    }
    for k in by_key {
        let form = if k.enveloped { "" } else { " (sealed before envelopes)" };
        println!("  {}: {} cards{form}", k.key_id, k.cards);
    }
}

fn write_private(path: &std::path::Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

async fn run_serve(serve: Serve) -> anyhow::Result<()> {
    let hold = serve.hold_window.or(serve.demo.then_some(60));
    let simulate = serve.demo && !serve.no_simulation;
    let tls = match (&serve.tls_cert, &serve.tls_key) {
        (Some(cert), Some(key)) => Some(buynow_server::listener::TlsFiles { cert: cert.clone(), key: key.clone() }),
        _ => None,
    };
    if tls.is_some() && simulate {
        anyhow::bail!(
            "the demo's simulated staff and carriers call the shop over plain HTTP: add --no-simulation to serve HTTPS"
        );
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    if let Some(files) = &tls {
        // A bad certificate is said now, in words, not at the first handshake.
        buynow_server::listener::acceptor(files)?;
    }
    let state = build_state(&serve.common, !serve.no_workers, |config| {
        if let Some(secs) = hold {
            let secs = i64::try_from(secs).unwrap_or(i64::MAX / 1_000_000).min(30 * 86_400);
            config.hold_store = chrono::Duration::seconds(secs);
            config.hold_seller = chrono::Duration::seconds(secs / 3);
        }
        if serve.common.public_url.is_none() {
            config.public_url = format!("{scheme}://{}", serve.addr);
        }
        config.tls = tls.clone();
        if serve.demo && config.admin_key.is_none() {
            config.admin_key = Some(SecretString::from(buynow_server::demo::DEMO_STAFF_KEY));
        }
        config.simulate = simulate;
        config.simulation_pace = Duration::from_secs(serve.simulation_pace.max(1));
    })
    .await?;
    if serve.demo {
        let seeded = buynow_server::demo::seed(&state).await?;
        state.reload_centers().await?;
        if seeded {
            tracing::info!("seeded the demo shop");
        }
    }
    let listener =
        tokio::net::TcpListener::bind(serve.addr).await.with_context(|| format!("binding {}", serve.addr))?;
    let url = format!("{scheme}://{}", listener.local_addr()?);
    println!("BuyNow is serving the shop at {url}  (API under {url}/v1, OpenAPI at {url}/v1/openapi.json)");
    println!("Messages: {}", state.mailer.describe());
    if simulate {
        println!(
            "Demo: simulated warehouse staff and carriers are on; an order ships after a {} s hold window and is delivered within about three minutes",
            state.config.hold_store.num_seconds()
        );
    }
    if serve.demo {
        println!(
            "Demo login: {} / {}   (Prime member, default address and a test Visa card)",
            buynow_server::demo::DEMO_EMAIL,
            buynow_server::demo::DEMO_PASSWORD
        );
        if serve.common.admin_key.as_deref().is_none_or(str::is_empty) {
            println!("Warehouse console: {url}/ops with the demo staff key {}", buynow_server::demo::DEMO_STAFF_KEY);
        } else {
            println!("Warehouse console: {url}/ops with your BUYNOW_ADMIN_KEY");
        }
    }
    buynow_server::serve(listener, state, shutdown_signal()).await?;
    tracing::info!("stopped cleanly");
    Ok(())
}

async fn run_worker(common: Common) -> anyhow::Result<()> {
    let state = build_state(&common, true, |_| {}).await?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = buynow_server::jobs::spawn_workers(state.clone(), stopped.clone());
    let dispatcher = buynow_server::notifications::spawn_dispatcher(state.clone(), stopped.clone());
    let reconciler = buynow_server::services::reconciliation::spawn(state.clone(), stopped.clone());
    let sweeper = buynow_server::services::support::spawn_sweeper(state.clone(), stopped.clone());
    let retention = buynow_server::retention::spawn(state.clone(), stopped.clone());
    let metrics = match common.metrics_addr {
        Some(addr) => Some(buynow_server::spawn_metrics(state.clone(), addr, stopped.clone()).await?),
        None => None,
    };
    let refresher = buynow_server::spawn_center_refresher(state.clone(), stopped);
    println!("BuyNow worker running on {}", redact_url(&common.database));
    shutdown_signal().await;
    let _ = stop.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(30), worker).await;
    let _ = tokio::time::timeout(Duration::from_secs(30), dispatcher).await;
    let _ = tokio::time::timeout(Duration::from_secs(30), reconciler).await;
    let _ = tokio::time::timeout(Duration::from_secs(30), sweeper).await;
    let _ = tokio::time::timeout(Duration::from_secs(30), retention).await;
    let _ = refresher.await;
    if let Some(metrics) = metrics {
        let _ = metrics.await;
    }
    state.store.close().await;
    Ok(())
}

async fn run_carrier_sim(args: CarrierSimArgs) -> anyhow::Result<()> {
    use buynow_server::simulation::{CarrierSim, CarrierSimConfig};
    let store = open_store(&args.database).await?;
    let config = CarrierSimConfig {
        target: args.target.clone(),
        pace: Duration::from_secs(args.pace_secs),
        exceptions_per_mille: args.exceptions_per_mille,
        seed: args.seed,
    };
    let sim = Arc::new(CarrierSim::new(
        store.clone(),
        buynow_logistics::carriers::demo(),
        config,
        Arc::new(buynow_store::now_micros),
    ));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = sim.spawn(Duration::from_millis(500), stopped);
    println!(
        "BuyNow carrier simulator sending tracking events to {} (parcels from {})",
        args.target,
        redact_url(&args.database)
    );
    shutdown_signal().await;
    let _ = stop.send(true);
    let _ = task.await;
    store.close().await;
    Ok(())
}

async fn run_gateway_sim(args: GatewaySimArgs) -> anyhow::Result<()> {
    let store = open_store(&args.database).await?;
    let latency_ms = parse_range(&args.latency_ms).context("--latency-ms takes MIN-MAX")?;
    // The network's faults are the simulator's own; the sandbox behind it answers every call it gets.
    let sandbox = SandboxConfig { seed: args.seed, latency_ms, ..SandboxConfig::default() };
    let sandbox = Arc::new(Sandbox::new(sandbox, store.clone(), Arc::new(buynow_store::now_micros)));
    let faults = NetworkFaults {
        seed: args.seed,
        timeouts_per_mille: args.timeouts_per_mille,
        errors_per_mille: args.errors_per_mille,
        resets_per_mille: args.resets_per_mille,
        lost_per_mille: args.lost_per_mille,
        hang: Duration::from_millis(args.hang_ms),
    };
    let listener = tokio::net::TcpListener::bind(args.addr).await.with_context(|| format!("binding {}", args.addr))?;
    println!(
        "BuyNow gateway simulator at http://{}  (faults per mille: {} timeouts, {} 5xx, {} resets, {} lost answers; records in {})",
        listener.local_addr()?,
        args.timeouts_per_mille,
        args.errors_per_mille,
        args.resets_per_mille,
        args.lost_per_mille,
        redact_url(&args.database)
    );
    buynow_payments::http::serve_sim(listener, sandbox, faults, shutdown_signal()).await?;
    store.close().await;
    Ok(())
}

fn parse_range(s: &str) -> Option<(u64, u64)> {
    let (a, b) = s.split_once('-')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: finishing requests in flight");
}
