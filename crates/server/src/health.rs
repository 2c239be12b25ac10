//! Liveness and readiness for load balancers and orchestrators.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::State;
use serde::Serialize;
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

/// How long `/readyz` waits for the database before it says the process is not ready.
const READY_WITHIN: Duration = Duration::from_secs(1);

/// The background workers a serving process runs (unless `--no-workers`): readiness needs both.
pub const JOB_WORKER: &str = "jobs";
pub const DISPATCHER: &str = "messages";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    status: &'static str,
}

/// The process is up. It asks nothing of the database: an orchestrator restarts a process whose liveness
/// fails, and a database outage is not cured by restarting every process.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = Health)))]
pub async fn healthz() -> axum::Json<Health> {
    axum::Json(Health { status: "ok" })
}

/// The process can serve: its database answers within a second, and its background workers run.
#[utoipa::path(get, path = "/readyz", tag = "health", responses((status = 200, body = Health),
    (status = 503, description = "The database did not answer within a second, or the workers have stopped")))]
pub async fn readyz(State(state): State<AppState>) -> ApiResult<axum::Json<Health>> {
    let answered = tokio::time::timeout(READY_WITHIN, async {
        let mut read = state.store.read().await?;
        read.conn().one("SELECT 1", vec![]).await
    })
    .await;
    match answered {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Err(ApiError::Unavailable(e.to_string())),
        Err(_) => return Err(ApiError::Unavailable("the database did not answer within a second".into())),
    }
    if state.config.run_workers {
        for worker in [JOB_WORKER, DISPATCHER] {
            if !state.workers.is_running(worker) {
                return Err(ApiError::Unavailable(format!("the {worker} worker has stopped")));
            }
        }
    }
    Ok(axum::Json(Health { status: "ready" }))
}

/// Which background workers of this process are running.
#[derive(Debug, Default)]
pub struct Workers(Mutex<BTreeSet<&'static str>>);

impl Workers {
    /// Marks `name` running until the returned guard is dropped: when its task ends, by a return or a panic.
    pub fn running(state: &AppState, name: &'static str) -> Running {
        if let Ok(mut names) = state.workers.0.lock() {
            names.insert(name);
        }
        Running { state: state.clone(), name }
    }

    pub fn is_running(&self, name: &str) -> bool {
        self.0.lock().is_ok_and(|names| names.contains(name))
    }
}

pub struct Running {
    state: AppState,
    name: &'static str,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(mut names) = self.state.workers.0.lock() {
            names.remove(self.name);
        }
    }
}
