//! `buynow bench`: Buy Now placements per second through the HTTP API, side by side with the bare SQL
//! transaction of one order on the same database, at the same concurrency, in the same run.

use anyhow::{bail, Context};
use buynow_store::{Backend, Store};
use futures::future::join_all;
use serde::Serialize;
use serde_json::{json, Value};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod soak;

#[derive(clap::Args, Clone)]
pub struct Bench {
    /// The database to run on: `sqlite://PATH` or `postgres://…`. Default: a fresh SQLite file in a temporary
    /// directory.
    #[arg(long, env = "BUYNOW_DATABASE_URL")]
    database: Option<String>,
    /// Drive an already running BuyNow instead of starting one (it must use `--database`, with the admin key
    /// in BUYNOW_ADMIN_KEY, and be started with `--buy-now-per-second 0 --sign-in-per-minute 0`: each bench
    /// customer buys hundreds of times a second, and all sign in from one address).
    #[arg(long)]
    url: Option<String>,
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Seconds of measurement, for the API and again for the baseline.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Flash sale: every buyer on one SKU.
    #[arg(long)]
    hot: bool,
    /// Stock of the hot SKU.
    #[arg(long, default_value_t = 1_000_000)]
    hot_stock: i64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// First fill the database to this many orders, written as Buy Now writes them and aged to delivered (see
    /// `buynow_server::buy_now::prefill`); a database that holds them already is used as it is.
    #[arg(long, default_value_t = 0)]
    prefill: u64,
    /// Keep the temporary database (its URL is printed), to run on it again with `--database`.
    #[arg(long)]
    keep: bool,
    /// Instead of the measurement at full speed, a steady load of `--rate` orders/s for this many minutes,
    /// reported minute by minute (rate, p99, memory, database size, job and message lag).
    #[arg(long)]
    soak: Option<u64>,
    /// The soak's load, in orders per second. Each request leaves when it is due, whether or not the answers
    /// before it came back, and its time is counted from then; one due while 4,096 are waiting is not sent and
    /// counts as an error.
    #[arg(long)]
    rate: Option<f64>,
    /// Where the soak's plot is written (SVG).
    #[arg(long, default_value = "soak.svg")]
    plot: std::path::PathBuf,
    /// Keep published events, sent deliveries, finished jobs and idempotency keys this many minutes (default:
    /// the server's own retention), so that a soak shows the sweep holding the database to the orders kept.
    #[arg(long)]
    retention_minutes: Option<u64>,
    /// Send a random UUID as each Buy Now's Idempotency-Key, as payment APIs advise their clients to, instead
    /// of the client's number and a count.
    #[arg(long)]
    random_keys: bool,
}

#[derive(Serialize, Default, Clone)]
pub struct Report {
    backend: &'static str,
    cores: usize,
    concurrency: usize,
    duration_s: f64,
    hot: bool,
    orders: u64,
    orders_per_sec: f64,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    sold_out: u64,
    errors: u64,
    baseline_per_sec: f64,
    baseline_p99_ms: f64,
    ratio: f64,
    oversold: i64,
    duplicates: i64,
}

/// Latencies in microseconds, and outcome counters.
#[derive(Default)]
struct Tally {
    latencies: Mutex<Vec<u32>>,
    placed: AtomicU64,
    sold_out: AtomicU64,
    errors: AtomicU64,
}

impl Tally {
    fn record(&self, started: Instant) {
        let us = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
        self.latencies.lock().unwrap_or_else(|p| p.into_inner()).push(us);
    }

    fn percentile(&self, p: f64) -> f64 {
        let mut l = self.latencies.lock().unwrap_or_else(|p| p.into_inner()).clone();
        percentile(&mut l, p).map_or(0.0, |us| f64::from(us) / 1000.0)
    }
}

/// The `p` quantile of `values` (sorted here), nearest rank; `None` when there are none.
fn percentile<T: Copy + Ord>(values: &mut [T], p: f64) -> Option<T> {
    values.sort_unstable();
    values.get(((values.len().max(1) as f64 - 1.0) * p).round() as usize).copied()
}

struct Target {
    url: String,
    admin: String,
    store: Store,
    /// The server run in this process, with its state and the means to stop it.
    local: Option<Local>,
    /// The e-mails the bench's orders make, as .eml files: gone with the run.
    mail: Option<tempfile::TempDir>,
}

struct Local {
    state: buynow_server::AppState,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
}

impl Target {
    /// Stops the server run in this process, once its requests and workers are done.
    async fn stop(mut self) {
        if let Some(local) = self.local.take() {
            let _ = local.stop.send(());
            let _ = local.server.await;
        }
        self.store.close().await;
    }
}

pub async fn run(args: Bench) -> anyhow::Result<()> {
    if args.concurrency == 0 || args.duration == 0 {
        bail!("--concurrency and --duration must be at least 1");
    }
    if args.url.is_some() && args.prefill > 0 {
        bail!("--prefill writes through a server of its own: it cannot be given with --url");
    }
    let (database, dir) = match &args.database {
        Some(d) => (d.clone(), None),
        None => {
            let dir = tempfile::tempdir()?;
            (format!("sqlite://{}", dir.path().join("bench.db").display()), Some(dir))
        }
    };
    // The directory, unless kept, lives as long as the run.
    let _dir = match dir {
        Some(dir) if args.keep => {
            eprintln!("The database is kept: --database {database}");
            let _ = dir.keep();
            None
        }
        dir => dir,
    };
    if let Some(minutes) = args.soak {
        if minutes == 0 || !args.rate.is_some_and(|r| r > 0.0) {
            bail!("--soak needs at least one minute, and --rate above 0");
        }
    }
    if args.prefill > 0 {
        prefill(&args, &database).await?;
    }
    let target = start(&args, &database, true).await?;
    let backend = match target.store.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let run_id = format!("{:x}", buynow_store::now_micros() % 0xffff_ffff);
    let client = reqwest::Client::builder().pool_max_idle_per_host(args.concurrency * 2).build()?;
    let skus = setup_catalog(&client, &target, &run_id, &args).await?;
    let tokens = setup_customers(&client, &target, &run_id, args.concurrency).await?;
    if let (Some(minutes), Some(rate)) = (args.soak, args.rate) {
        let soak = soak::Soak { minutes, rate, database: &database, clients: &tokens, skus: &skus };
        let result = soak::run(&args, &client, &target, soak).await;
        target.stop().await;
        return result;
    }

    progress(&args, "Buy Now over HTTP");
    let api = drive_api(&client, &target.url, &tokens, &skus, &args).await;
    let orders = api.placed.load(Ordering::Relaxed);
    let mut report = Report {
        backend,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        concurrency: args.concurrency,
        duration_s: args.duration as f64,
        hot: args.hot,
        orders,
        orders_per_sec: orders as f64 / args.duration as f64,
        p50_ms: api.percentile(0.50),
        p95_ms: api.percentile(0.95),
        p99_ms: api.percentile(0.99),
        sold_out: api.sold_out.load(Ordering::Relaxed),
        errors: api.errors.load(Ordering::Relaxed),
        ..Report::default()
    };
    let (oversold, duplicates) = check_invariants(&target.store, &run_id, orders).await?;
    report.oversold = oversold;
    report.duplicates = duplicates;

    progress(&args, "bare SQL baseline");
    let baseline = drive_baseline(&target.store, &run_id, &args).await?;
    report.baseline_per_sec = baseline.placed.load(Ordering::Relaxed) as f64 / args.duration as f64;
    report.baseline_p99_ms = baseline.percentile(0.99);
    report.ratio = if report.baseline_per_sec > 0.0 { report.orders_per_sec / report.baseline_per_sec } else { 0.0 };
    target.stop().await;

    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_report(&report);
    }
    if report.oversold != 0 || report.duplicates != 0 {
        bail!("invariants broken: {} oversold, {} duplicate orders", report.oversold, report.duplicates);
    }
    Ok(())
}

fn progress(args: &Bench, what: &str) {
    if !args.json {
        eprintln!("{what}: {} clients for {} s …", args.concurrency, args.duration);
    }
}

async fn start(args: &Bench, database: &str, workers: bool) -> anyhow::Result<Target> {
    let store =
        Store::open(database).await.with_context(|| format!("opening {}", buynow_store::redact_url(database)))?;
    if let Some(url) = &args.url {
        let admin = std::env::var("BUYNOW_ADMIN_KEY").context("--url needs the server's BUYNOW_ADMIN_KEY")?;
        return Ok(Target { url: url.trim_end_matches('/').to_string(), admin, store, local: None, mail: None });
    }
    buynow_server::demo::ensure_centers(&store).await?;
    let admin = format!("adm_bench_{}", buynow_store::now_micros());
    let mut config = buynow_server::Config::new(secrecy::SecretString::from(buynow_payments::Vault::generate_key()));
    config.admin_key = Some(secrecy::SecretString::from(admin.clone()));
    config.run_workers = workers;
    // Each bench customer buys hundreds of times a second: a limit that never bites, checked as in production.
    config.rate_limits.buy_now_per_customer =
        buynow_server::rate_limit::Rate { burst: 1_000_000, every: Duration::from_micros(1) };
    // Its customers all sign in from one address at the start.
    config.rate_limits.sign_in_per_address.burst = 0;
    if let Some(minutes) = args.retention_minutes {
        config.retention = Duration::from_secs(minutes.max(1) * 60);
        config.idempotency_retention = config.retention;
    }
    // The dispatcher runs as in production: every order's e-mails are written, to a folder of the run's own.
    let mail = mail_dir(args)?;
    config.mail.mail_dir = mail.path().to_path_buf();
    let sandbox =
        buynow_payments::Sandbox::open(config.sandbox.clone(), &store, database, config.clock.reader()).await?;
    let gateway = Arc::new(sandbox);
    let state = buynow_server::AppState::new(store.clone(), config, gateway).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = state.clone();
    let server = tokio::spawn(async move {
        let _ = buynow_server::serve(listener, serving, async move {
            let _ = stopped.await;
        })
        .await;
    });
    Ok(Target { url, admin, store, local: Some(Local { state, stop, server }), mail: Some(mail) })
}

/// Where the run's e-mails are written. A soak deletes each minute's, and on a disk's file system (ext4)
/// creating files where thousands were just deleted costs the kernel more than all of BuyNow's own work for them
/// (docs/performance.md, "The dispatcher at steady load"). In production the mail goes to a relay over
/// SMTP, so a soak writes them to memory (`/dev/shm`) where there is one: what is measured is building and
/// handing off each message, not the file system's bookkeeping. The short bench keeps its files on disk, as the
/// figures it is compared with did.
fn mail_dir(args: &Bench) -> std::io::Result<tempfile::TempDir> {
    let shm = std::path::Path::new("/dev/shm");
    if args.soak.is_some() && shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
}

/// Buyers the prefill's orders are spread over.
const PREFILL_BUYERS: usize = 64;

/// Fills the database to `--prefill` orders with a server of its own whose workers do not run: the prefill's
/// orders are aged to delivered as they are written, with nothing left for a worker, and the retention sweep
/// deletes what it would have by now.
async fn prefill(args: &Bench, database: &str) -> anyhow::Result<()> {
    let target = start(args, database, false).await?;
    let state = target.local.as_ref().map(|l| l.state.clone()).context("a server of the bench's own")?;
    let stored = {
        let mut read = target.store.read().await?;
        let n = read.conn().one("SELECT COUNT(*) FROM orders", vec![]).await?.int(0)?;
        u64::try_from(n).unwrap_or(0)
    };
    if stored >= args.prefill {
        if !args.json {
            eprintln!("prefill: the database holds {stored} orders already");
        }
        target.stop().await;
        return Ok(());
    }
    let missing = args.prefill - stored;
    let run_id = format!("{:x}", buynow_store::now_micros() % 0xffff_ffff);
    let client = reqwest::Client::new();
    let skus = setup_skus(&client, &target, &format!("P{run_id}"), 64, 10_000_000).await?;
    let tokens = setup_customers(&client, &target, &format!("p{run_id}"), PREFILL_BUYERS).await?;
    let started = Instant::now();
    let quiet = args.json;
    let progress = move |n: u64| {
        if !quiet && (n % 100_000 < 500 || n == missing) {
            let secs = started.elapsed().as_secs_f64();
            eprint!("\r  prefill: {n:>9} of {missing} orders  {:>7.0}/s   ", n as f64 / secs);
            let _ = std::io::stderr().flush();
        }
    };
    let plan = buynow_server::buy_now::prefill::Prefill {
        sessions: &tokens,
        skus: &skus,
        count: missing,
        // Placed over the eight weeks before the retention's edge: everything kept only for a while is due.
        span: Duration::from_secs(56 * 86_400),
        ending_before_now: Duration::from_secs(8 * 86_400),
    };
    let written = buynow_server::buy_now::prefill::prefill(&state, plan, &progress)
        .await
        .map_err(|e| anyhow::anyhow!("prefill: {e:?}"))?;
    if !args.json {
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "\n  prefill: {written} orders in {secs:.0} s ({:.0}/s), with the retention sweep",
            written as f64 / secs
        );
    }
    target.stop().await;
    Ok(())
}

async fn post(client: &reqwest::Client, url: String, bearer: &str, body: Value) -> anyhow::Result<Value> {
    let resp = client.post(url).bearer_auth(bearer).json(&body).send().await?;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("{status}: {body}");
    }
    Ok(body)
}

async fn setup_catalog(client: &reqwest::Client, t: &Target, run: &str, args: &Bench) -> anyhow::Result<Vec<String>> {
    let (count, stock) = if args.hot { (1, args.hot_stock) } else { (64, 10_000_000) };
    setup_skus(client, t, run, count, stock).await
}

async fn setup_skus(
    client: &reqwest::Client,
    t: &Target,
    run: &str,
    count: usize,
    stock: i64,
) -> anyhow::Result<Vec<String>> {
    let mut skus = Vec::new();
    for i in 0..count {
        let sku = format!("BENCH-{run}-{i}").to_uppercase();
        let product = json!({"sku": sku, "title": "Bench item", "price": {"amount": 1999, "currency": "USD"}, "prime_eligible": true});
        post(client, format!("{}/v1/ops/products", t.url), &t.admin, product).await?;
        let resp = client
            .put(format!("{}/v1/ops/stock/{sku}", t.url))
            .bearer_auth(&t.admin)
            .json(&json!({"on_hand": stock}))
            .send()
            .await?;
        if !resp.status().is_success() {
            bail!("setting stock: {}", resp.status());
        }
        skus.push(sku);
    }
    Ok(skus)
}

async fn setup_customers(client: &reqwest::Client, t: &Target, run: &str, n: usize) -> anyhow::Result<Vec<String>> {
    let make = |i: usize| async move {
        let email = format!("bench-{run}-{i}@example.com");
        let password = "bench password 123";
        post(
            client,
            format!("{}/v1/customers", t.url),
            "",
            json!({"email": email, "password": password, "name": "Bench"}),
        )
        .await?;
        let session =
            post(client, format!("{}/v1/sessions", t.url), "", json!({"email": email, "password": password})).await?;
        let token = session["token"].as_str().context("a token")?.to_string();
        let address = json!({"name": "Bench", "line1": "1 Main St", "city": "Austin", "region": "TX", "postal_code": "78701", "country": "US"});
        post(client, format!("{}/v1/me/addresses", t.url), &token, address).await?;
        let card =
            json!({"type": "card", "number": "4242424242424242", "exp_month": 12, "exp_year": 2035, "cvc": "123"});
        post(client, format!("{}/v1/me/payment-methods", t.url), &token, card).await?;
        anyhow::Ok(token)
    };
    join_all((0..n).map(make)).await.into_iter().collect()
}

/// A Buy Now's Idempotency-Key: a random UUID with `--random-keys`, else `counted`'s.
fn idempotency_key(random: bool, counted: impl FnOnce() -> String) -> String {
    if random {
        uuid::Uuid::new_v4().to_string()
    } else {
        counted()
    }
}

async fn drive_api(client: &reqwest::Client, url: &str, tokens: &[String], skus: &[String], args: &Bench) -> Tally {
    let tally = Arc::new(Tally::default());
    let deadline = Instant::now() + Duration::from_secs(args.duration);
    let seq = Arc::new(AtomicU64::new(0));
    let ticker = ticker(args, &tally, deadline);
    let (url, skus): (Arc<str>, Arc<[String]>) = (url.into(), skus.into());
    let clients = (0..args.concurrency).map(|c| {
        let (tally, seq, client, url, skus) = (tally.clone(), seq.clone(), client.clone(), url.clone(), skus.clone());
        let (token, random_keys) = (tokens[c].clone(), args.random_keys);
        // Each client a task of its own, spread over the runtime's threads like the server's requests, rather
        // than all polled by the one thread that runs the bench: that thread held the bare baseline back (on
        // PostgreSQL it ran 11–20 % faster as tasks), and a limit is only a limit if the client is not one.
        tokio::spawn(async move {
            while Instant::now() < deadline {
                let n = seq.fetch_add(1, Ordering::Relaxed);
                let sku = &skus[(n as usize) % skus.len()];
                let started = Instant::now();
                let resp = client
                    .post(format!("{url}/v1/buy-now"))
                    .bearer_auth(&token)
                    .header("Idempotency-Key", idempotency_key(random_keys, || format!("bench-{c}-{n}")))
                    .json(&json!({"sku": sku, "quantity": 1}))
                    .send()
                    .await;
                tally.record(started);
                match resp.map(|r| r.status().as_u16()) {
                    Ok(201) => tally.placed.fetch_add(1, Ordering::Relaxed),
                    Ok(409) => tally.sold_out.fetch_add(1, Ordering::Relaxed),
                    _ => tally.errors.fetch_add(1, Ordering::Relaxed),
                };
            }
        })
    });
    let (clients, ()) = futures::join!(join_all(clients), ticker);
    resume_panics(clients);
    Arc::into_inner(tally).expect("every client has finished")
}

/// A client task that panicked would otherwise only be missing from the tally: its panic ends the bench.
fn resume_panics(ended: Vec<Result<(), tokio::task::JoinError>>) {
    for e in ended.into_iter().filter_map(Result::err) {
        if let Ok(panic) = e.try_into_panic() {
            std::panic::resume_unwind(panic);
        }
    }
}

/// The live progress line.
async fn ticker(args: &Bench, tally: &Tally, deadline: Instant) {
    if args.json {
        return;
    }
    let started = Instant::now();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let placed = tally.placed.load(Ordering::Relaxed);
        let secs = started.elapsed().as_secs_f64();
        eprint!("\r  {secs:5.1} s  {placed:>8} orders  {:>8.0}/s   ", placed as f64 / secs);
        let _ = std::io::stderr().flush();
    }
    eprintln!();
}

/// The bare transaction of one order — reserve stock, insert the order, its payment and its outbox event —
/// one transaction per order, on scratch tables of the same database, through the same driver.
async fn drive_baseline(store: &Store, run: &str, args: &Bench) -> anyhow::Result<Tally> {
    let t = format!("bench_{run}");
    let skus = if args.hot { 1 } else { 64 };
    let stock = if args.hot { args.hot_stock } else { 10_000_000 };
    {
        let mut tx = store.write().await?;
        let mut c = tx.conn();
        c.batch(&format!(
            "CREATE TABLE {t}_stock (sku TEXT PRIMARY KEY, on_hand BIGINT NOT NULL, reserved BIGINT NOT NULL, \
               CHECK (reserved <= on_hand)); \
             CREATE TABLE {t}_orders (id TEXT PRIMARY KEY, customer TEXT NOT NULL, sku TEXT NOT NULL, quantity BIGINT NOT NULL, \
               total BIGINT NOT NULL, status TEXT NOT NULL, created_at BIGINT NOT NULL); \
             CREATE TABLE {t}_payments (id TEXT PRIMARY KEY, order_id TEXT NOT NULL, amount BIGINT NOT NULL, status TEXT NOT NULL); \
             CREATE TABLE {t}_outbox (id TEXT PRIMARY KEY, order_id TEXT NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL)"
        ))
        .await?;
        for i in 0..skus {
            c.exec(
                &format!("INSERT INTO {t}_stock (sku, on_hand, reserved) VALUES ($1, $2, 0)"),
                buynow_store::args![format!("S{i}"), stock],
            )
            .await?;
        }
        tx.commit().await?;
    }
    let tally = Arc::new(Tally::default());
    let deadline = Instant::now() + Duration::from_secs(args.duration);
    let seq = Arc::new(AtomicU64::new(0));
    let sql: Arc<[String; 4]> = Arc::new([
        format!("UPDATE {t}_stock SET reserved = reserved + 1 WHERE sku = $1 AND on_hand - reserved >= 1"),
        format!("INSERT INTO {t}_orders (id, customer, sku, quantity, total, status, created_at) VALUES ($1, $2, $3, 1, 1999, 'placed', $4)"),
        format!("INSERT INTO {t}_payments (id, order_id, amount, status) VALUES ($1, $2, 1999, 'pending')"),
        format!("INSERT INTO {t}_outbox (id, order_id, kind, payload) VALUES ($1, $2, 'order_placed', $3)"),
    ]);
    let ticker = ticker(args, &tally, deadline);
    let workers = (0..args.concurrency).map(|c| {
        let (tally, seq, sql, store) = (tally.clone(), seq.clone(), sql.clone(), store.clone());
        // A task each, as the API's clients are (see `drive_api`).
        tokio::spawn(async move {
            let [reserve, order, payment, event] = &*sql;
            while Instant::now() < deadline {
                let n = seq.fetch_add(1, Ordering::Relaxed);
                let started = Instant::now();
                let result: Result<bool, buynow_store::StoreError> = async {
                    let mut tx = store.write().await?;
                    let mut c2 = tx.conn();
                    let sku = format!("S{}", n % skus);
                    if c2.exec(reserve, buynow_store::args![sku.clone()]).await? != 1 {
                        tx.rollback().await?;
                        return Ok(false);
                    }
                    let id = format!("o{c}-{n}");
                    c2.exec(order, buynow_store::args![id.clone(), format!("c{c}"), sku, buynow_store::now_micros()])
                        .await?;
                    c2.exec(payment, buynow_store::args![format!("p{c}-{n}"), id.clone()]).await?;
                    c2.exec(event, buynow_store::args![format!("e{c}-{n}"), id, "{}"]).await?;
                    tx.commit().await?;
                    Ok(true)
                }
                .await;
                tally.record(started);
                match result {
                    Ok(true) => tally.placed.fetch_add(1, Ordering::Relaxed),
                    Ok(false) => tally.sold_out.fetch_add(1, Ordering::Relaxed),
                    Err(_) => tally.errors.fetch_add(1, Ordering::Relaxed),
                };
            }
        })
    });
    let (workers, ()) = futures::join!(join_all(workers), ticker);
    resume_panics(workers);
    let tally = Arc::into_inner(tally).expect("every worker has finished");
    let mut tx = store.write().await?;
    tx.conn()
        .batch(&format!("DROP TABLE {t}_stock; DROP TABLE {t}_orders; DROP TABLE {t}_payments; DROP TABLE {t}_outbox"))
        .await?;
    tx.commit().await?;
    Ok(tally)
}

/// Orders placed = stock reserved, no key with two orders, no stock row oversold.
async fn check_invariants(store: &Store, run: &str, acknowledged: u64) -> anyhow::Result<(i64, i64)> {
    let mut read = store.read().await?;
    let mut c = read.conn();
    let like = format!("BENCH-{}-%", run.to_uppercase());
    let orders =
        c.one("SELECT COUNT(*) FROM order_items WHERE sku LIKE $1", buynow_store::args![like.clone()]).await?.int(0)?;
    let reserved = c
        .one(
            "SELECT CAST(COALESCE(SUM(reserved), 0) AS BIGINT) FROM stock WHERE sku LIKE $1",
            buynow_store::args![like.clone()],
        )
        .await?
        .int(0)?;
    let oversold =
        c.one("SELECT COUNT(*) FROM stock WHERE reserved > on_hand OR reserved < 0", vec![]).await?.int(0)?;
    let keys = c
        .one(
            "SELECT COUNT(*) FROM idempotency_keys k JOIN order_items i ON i.order_id = k.order_id WHERE i.sku LIKE $1",
            buynow_store::args![like],
        )
        .await?
        .int(0)?;
    if orders != reserved {
        bail!("{orders} orders but {reserved} reserved");
    }
    if u64::try_from(orders).unwrap_or(0) != acknowledged {
        bail!("{acknowledged} orders acknowledged but {orders} stored");
    }
    Ok((oversold, orders - keys))
}

fn print_report(r: &Report) {
    println!(
        "BuyNow bench — {} on {} cores, {} clients, {} s{}",
        r.backend,
        r.cores,
        r.concurrency,
        r.duration_s,
        if r.hot { ", hot SKU" } else { "" }
    );
    println!(
        "  Buy Now via HTTP   {:>9.0} orders/s   p50 {:.2} ms   p95 {:.2} ms   p99 {:.2} ms",
        r.orders_per_sec, r.p50_ms, r.p95_ms, r.p99_ms
    );
    println!("                     {} orders, {} sold out, {} errors", r.orders, r.sold_out, r.errors);
    println!("  bare SQL baseline  {:>9.0} orders/s   p99 {:.2} ms", r.baseline_per_sec, r.baseline_p99_ms);
    println!("  ratio              {:>9.2}×", r.ratio);
    println!("  invariants         {} oversold, {} duplicate orders", r.oversold, r.duplicates);
}
