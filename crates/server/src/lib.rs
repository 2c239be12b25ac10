//! BuyNow's HTTP API, auth and background workers.

pub mod auth;
pub mod buy_now;
pub mod carriers;
pub mod clock;
pub mod config;
pub mod contract;
pub mod customers;
pub mod demo;
pub mod error;
pub mod extract;
pub mod hardening;
pub mod health;
pub mod jobs;
pub mod listener;
pub mod metrics;
pub mod notifications;
pub mod openapi;
pub mod ops;
pub mod orders;
pub mod parse_errors;
pub mod personal_data;
pub mod products;
pub mod rate_limit;
pub mod retention;
pub mod services;
pub mod simulation;
pub mod state;
pub mod vault_keys;
pub mod views;
pub mod web;

pub use config::{Config, PasswordCost};
pub use state::{AppState, StartError};

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request, Uri};
use axum::response::IntoResponse;
use axum::Router;
use error::ApiError;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;

/// Request bodies larger than this are refused with 413: no Buy Now needs more.
const BODY_LIMIT: usize = 64 * 1024;

/// The whole API with its OpenAPI document served at `/v1/openapi.json`.
pub fn router(state: AppState) -> Router {
    let (api, doc) = OpenApiRouter::with_openapi(openapi::base())
        .merge(customers::router())
        .merge(products::router())
        .merge(buy_now::router())
        .merge(orders::router())
        .merge(carriers::router())
        .merge(ops::router())
        .merge(notifications::router())
        .merge(health::router())
        .routes(utoipa_axum::routes!(metrics::scrape))
        .split_for_parts();
    let doc = std::sync::Arc::new(openapi::complete(&doc));
    let api = if state.config.check_contract {
        let contract = state
            .contract
            .get_or_init(|| {
                let contract = contract::Contract::new(&doc);
                std::sync::Arc::new(if state.config.record_examples { contract.recording_examples() } else { contract })
            })
            .clone();
        api.route_layer(axum::middleware::from_fn_with_state(contract, contract::check))
    } else {
        api
    };
    let request_id = HeaderName::from_static("x-request-id");
    let app = api
        .route("/v1/openapi.json", axum::routing::get(move || openapi::serve(doc.clone())))
        .merge(web::router())
        // Staff actions and card changes go on the audit trail once answered (the layer sees the route matched).
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), services::audit::record_actions))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .fallback(|uri: Uri| async move {
            if web::is_page_path(uri.path()) {
                web::not_found().await
            } else {
                ApiError::NotFound("route").into_response()
            }
        })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed });
    // The in-process sandbox's authentication pages (a processor over the network serves its own).
    let state_tls = state.config.tls.is_some();
    let app = match state.gateway.authentication_pages() {
        Some(pages) => app.with_state(state).nest(buynow_payments::sandbox::AUTHENTICATION_PATH, pages),
        None => app.with_state(state),
    };
    // Served over TLS, browsers are told to come back only that way (a year, as the HSTS preload list asks).
    let app = if state_tls { app.layer(axum::middleware::map_response(hardening::strict_transport)) } else { app };
    app.layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| {
            ApiError::internal("a handler panicked").into_response()
        }))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::SERVICE_UNAVAILABLE, Duration::from_secs(30)))
        .layer(axum::middleware::from_fn(hardening::harden))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    // Method and path only: headers carry tokens, and bodies carry card numbers.
                    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
                })
                // One line per answer (status and latency), the access log; failures are logged where they happen.
                .on_response(tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO))
                .on_failure(()),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// Serves until `shutdown` resolves, then finishes the requests in flight and stops the workers.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_workers, workers_stopped) = watch::channel(false);
    let mut background = vec![spawn_center_refresher(state.clone(), workers_stopped.clone())];
    if state.config.run_workers {
        background.push(jobs::spawn_workers(state.clone(), workers_stopped.clone()));
        background.push(notifications::spawn_dispatcher(state.clone(), workers_stopped.clone()));
        background.push(services::reconciliation::spawn(state.clone(), workers_stopped.clone()));
        background.push(services::support::spawn_sweeper(state.clone(), workers_stopped.clone()));
        background.push(retention::spawn(state.clone(), workers_stopped.clone()));
    }
    if let Some(addr) = state.config.metrics_addr {
        background.push(spawn_metrics(state.clone(), addr, workers_stopped.clone()).await?);
    }
    if state.config.simulate {
        let target = format!("http://{}", listener.local_addr()?);
        background.extend(simulation::spawn_demo(&state, target, workers_stopped));
    }
    let tls = match &state.config.tls {
        Some(files) => Some(listener::acceptor(files).map_err(std::io::Error::other)?),
        None => None,
    };
    listener::run(listener, router(state.clone()), tls, state.config.head_timeout, shutdown).await;
    let _ = stop_workers.send(true);
    for task in background {
        let _ = task.await;
    }
    state.store.close().await;
    Ok(())
}

/// Serves `/metrics` alone, without a key, on `addr`, until `stop` turns true.
pub async fn spawn_metrics(
    state: AppState,
    addr: std::net::SocketAddr,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let listener = TcpListener::bind(addr).await?;
    tracing::info!(addr = %listener.local_addr()?, "serving /metrics");
    let app = Router::new().route("/metrics", axum::routing::get(metrics::scrape_open)).with_state(state);
    Ok(tokio::spawn(async move {
        let stopped = async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        };
        if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stopped).await {
            tracing::warn!(error = %e, "the metrics listener stopped");
        }
    }))
}

/// Every process reloads the fulfillment centers within seconds of a change made through any of them.
pub fn spawn_center_refresher(state: AppState, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            }
            if *stop.borrow() {
                return;
            }
            if let Err(e) = state.refresh_centers().await {
                tracing::warn!(error = %e, "could not check the fulfillment centers for changes");
            }
            state.limits.forget_idle();
        }
    })
}
