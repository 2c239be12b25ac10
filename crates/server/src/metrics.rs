//! `GET /metrics`, in Prometheus's text format: what the people who run BuyNow watch. Counters and histograms
//! move as requests and jobs happen; the backlogs (jobs, the outbox, failing deliveries) and the database pools
//! are read when scraped. On the API's own address it takes an admin key; `--metrics-addr` serves it alone,
//! without one, on an address of its own (a port the scraper reaches and customers do not).

use crate::auth::AdminAuth;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    kind: String,
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: &'static str,
    state: &'static str,
}

/// Seconds, from a millisecond to ten seconds.
fn latency_buckets() -> [f64; 13] {
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]
}

pub struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_latency: Family<RouteLabels, Histogram>,
    pub orders_placed: Counter,
    pub orders_out_of_stock: Counter,
    pub payments_declined: Counter,
    /// How long a placement waited for its group commit: the queue, then the shared transaction and its commit.
    pub placement_wait: Histogram,
    jobs: Family<JobLabels, Gauge>,
    oldest_due_job: Family<KindLabels, Gauge<f64, AtomicU64>>,
    outbox_unpublished: Gauge,
    deliveries_failing: Family<StateLabels, Gauge>,
    pool_connections: Family<PoolLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("buynow");
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register("http_requests", "Answers, by route, method and status", http_requests.clone());
        let http_latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| Histogram::new(latency_buckets()));
        registry.register("http_request_duration_seconds", "Time to answer, by route and method", http_latency.clone());
        let orders_placed = Counter::default();
        registry.register(
            "orders_placed",
            "Orders placed by Buy Now (a replayed key is not counted again)",
            orders_placed.clone(),
        );
        let orders_out_of_stock = Counter::default();
        registry.register("orders_out_of_stock", "Buy Now refused as out of stock", orders_out_of_stock.clone());
        let payments_declined = Counter::default();
        registry.register("payments_declined", "Authorizations the card's bank declined", payments_declined.clone());
        let placement_wait = Histogram::new(latency_buckets());
        registry.register(
            "placement_group_wait_seconds",
            "Time a placement waited for its group commit (queue, transaction and commit)",
            placement_wait.clone(),
        );
        registry.register(
            "group_commit_size",
            "Writes per group-commit transaction",
            buynow_store::metrics::GROUP_SIZES.clone(),
        );
        registry.register(
            "db_write_held_seconds",
            "Seconds write transactions were open, by the source line that began them (on SQLite, time holding \
             the one writer; crates/store/src/batch.rs is the group commit)",
            buynow_store::metrics::WRITE_HELD.clone(),
        );
        registry.register(
            "db_write_waited_seconds",
            "Seconds write transactions waited to begin (for the SQLite writer, or a PostgreSQL connection), by \
             the source line that began them",
            buynow_store::metrics::WRITE_WAITED.clone(),
        );
        let jobs = Family::<JobLabels, Gauge>::default();
        registry.register("jobs", "Jobs not finished, by kind and state (due, scheduled, running)", jobs.clone());
        let oldest_due_job = Family::<KindLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "job_oldest_due_age_seconds",
            "How long the oldest due job of each kind has waited past its time",
            oldest_due_job.clone(),
        );
        let outbox_unpublished = Gauge::default();
        registry.register(
            "outbox_unpublished",
            "Outbox events not yet fanned out to deliveries",
            outbox_unpublished.clone(),
        );
        let deliveries_failing = Family::<StateLabels, Gauge>::default();
        registry.register(
            "deliveries_failing",
            "Messages and webhooks that failed: retrying, or dead (waiting on staff)",
            deliveries_failing.clone(),
        );
        let pool_connections = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database connections, by pool and state (idle, in_use)",
            pool_connections.clone(),
        );
        Metrics {
            registry,
            http_requests,
            http_latency,
            orders_placed,
            orders_out_of_stock,
            payments_declined,
            placement_wait,
            jobs,
            oldest_due_job,
            outbox_unpublished,
            deliveries_failing,
            pool_connections,
        }
    }

    /// Counts a Buy Now refused for want of stock.
    pub fn note_refusal(&self, e: &ApiError) {
        if matches!(e, ApiError::Conflict("out_of_stock", _)) {
            self.orders_out_of_stock.inc();
        }
    }

    /// Reads the backlogs and the pools now, then writes every metric out.
    async fn render(&self, state: &AppState) -> ApiResult<String> {
        let now = state.now_micros();
        // Its counts read a whole backlog, however long it has grown: not on a worker that serves requests.
        let backlog = state.store.read_apart(move |c| Box::pin(buynow_store::metrics::backlog(c, now))).await?;
        // Every kind in every state, at 0 when there are none: a series that comes and goes charts badly.
        self.jobs.clear();
        self.oldest_due_job.clear();
        for kind in crate::jobs::KINDS {
            for state in ["due", "scheduled", "running"] {
                self.jobs.get_or_create(&JobLabels { kind: kind.to_string(), state }).set(0);
            }
            self.oldest_due_job.get_or_create(&KindLabels { kind: kind.to_string() }).set(0.0);
        }
        for job in &backlog.jobs {
            self.jobs.get_or_create(&JobLabels { kind: job.kind.clone(), state: job.state }).set(job.count);
            if let Some(oldest) = job.oldest_due {
                let age = (now - oldest).max(0) as f64 / 1e6;
                self.oldest_due_job.get_or_create(&KindLabels { kind: job.kind.clone() }).set(age);
            }
        }
        self.outbox_unpublished.set(backlog.outbox_unpublished);
        self.deliveries_failing.get_or_create(&StateLabels { state: "retrying" }).set(backlog.deliveries_retrying);
        self.deliveries_failing.get_or_create(&StateLabels { state: "dead" }).set(backlog.deliveries_dead);
        for pool in state.store.pools() {
            self.pool_connections.get_or_create(&PoolLabels { pool: pool.name, state: "idle" }).set(pool.idle);
            if let Some(in_use) = pool.in_use {
                self.pool_connections.get_or_create(&PoolLabels { pool: pool.name, state: "in_use" }).set(in_use);
            }
        }
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry).map_err(ApiError::internal)?;
        Ok(text)
    }
}

/// The route layer that counts and times every answer of a route.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_name(request.method());
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let response = next.run(request).await;
    if let Some(route) = route {
        let status = response.status().as_u16();
        let elapsed = started.elapsed().as_secs_f64();
        state.metrics.http_latency.get_or_create(&RouteLabels { route: route.clone(), method }).observe(elapsed);
        state.metrics.http_requests.get_or_create(&HttpLabels { route, method, status }).inc();
    }
    response
}

fn method_name(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The metrics, for an admin key (on the API's own address).
#[utoipa::path(get, path = "/metrics", tag = "health", security(("staff_key" = [])),
    responses((status = 200, description = "Prometheus's text format", content_type = "text/plain", body = String)))]
pub async fn scrape(State(state): State<AppState>, _: AdminAuth) -> ApiResult<Response> {
    serve(&state).await
}

/// The metrics, for anyone who reaches `--metrics-addr`.
pub async fn scrape_open(State(state): State<AppState>) -> ApiResult<Response> {
    serve(&state).await
}

async fn serve(state: &AppState) -> ApiResult<Response> {
    let text = state.metrics.render(state).await?;
    let mut response = text.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    Ok(response)
}
