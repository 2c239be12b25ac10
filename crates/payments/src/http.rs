//! The gateway over the network: `buynow gateway-sim` serves the sandbox processor over HTTP with seeded network
//! faults, and `HttpGateway` is the client `serve` and `worker` use with `--gateway-url`.
//!
//! The faults are the ones a real processor's network shows: latency; 5xx and connection resets before the
//! processor acted; answers lost after it acted (the connection drops mid-answer); and answers so slow that
//! the client gives up. For the last two the client cannot know what happened: it reports `Timeout`, and the
//! caller settles the outcome with a look-up by idempotency key before any new attempt.

use crate::gateway::{
    AuthorizeOutcome, AuthorizeRequest, BoxFuture, DeclineCode, Gateway, GatewayError, MoveOutcome, Recorded, Refusal,
};
use crate::sandbox::Sandbox;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use buynow_domain::card::{CardNumber, Expiry};
use buynow_domain::{Currency, Money};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The network's faults, per thousand calls, drawn from a seeded generator so a run replays.
#[derive(Debug, Clone, Default)]
pub struct NetworkFaults {
    pub seed: u64,
    /// The processor acts, then answers only after `hang` (longer than the client waits).
    pub timeouts_per_mille: u32,
    /// 503 before the processor acted.
    pub errors_per_mille: u32,
    /// The connection is dropped before the processor acted.
    pub resets_per_mille: u32,
    /// The processor acts, then the connection is dropped before the answer is out.
    pub lost_per_mille: u32,
    pub hang: Duration,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    Timeout,
    Error,
    Reset,
    Lost,
}

struct Sim {
    sandbox: Arc<Sandbox>,
    faults: NetworkFaults,
    rng: Mutex<StdRng>,
}

impl Sim {
    fn draw(&self) -> Fault {
        let f = &self.faults;
        let roll = self.rng.lock().unwrap_or_else(|p| p.into_inner()).gen_range(0..1000);
        let mut edge = 0;
        for (per_mille, fault) in [
            (f.timeouts_per_mille, Fault::Timeout),
            (f.errors_per_mille, Fault::Error),
            (f.resets_per_mille, Fault::Reset),
            (f.lost_per_mille, Fault::Lost),
        ] {
            edge += per_mille;
            if roll < edge {
                return fault;
            }
        }
        Fault::None
    }

    /// Runs `act` under a drawn fault, and answers as that fault says.
    async fn answer<T, F>(&self, act: F) -> Response
    where
        T: Serialize,
        F: Future<Output = Result<T, GatewayError>>,
    {
        let fault = self.draw();
        match fault {
            Fault::Error => {
                return (StatusCode::SERVICE_UNAVAILABLE, Json(Failure::new("unavailable"))).into_response()
            }
            Fault::Reset => return dropped(),
            Fault::None | Fault::Timeout | Fault::Lost => {}
        }
        let result = act.await;
        match fault {
            Fault::Lost => return dropped(),
            Fault::Timeout => tokio::time::sleep(self.faults.hang).await,
            _ => {}
        }
        match result {
            Ok(body) => Json(body).into_response(),
            Err(GatewayError::Processing) => {
                (StatusCode::BAD_GATEWAY, Json(Failure::new("processing_error"))).into_response()
            }
            // The sandbox's own records failed, or it lost its answer: to the client, a server error.
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, Json(Failure::new(&e.to_string()))).into_response(),
        }
    }
}

/// A response whose body fails before its first byte: the server drops the connection, and the client sees
/// an error with no answer.
fn dropped() -> Response {
    let body = Body::from_stream(futures::stream::once(async {
        Err::<axum::body::Bytes, _>(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "injected reset"))
    }));
    Response::builder().status(StatusCode::OK).header("content-length", "64").body(body).unwrap_or_default()
}

#[derive(Serialize, Deserialize)]
struct Failure {
    error: String,
}

impl Failure {
    fn new(e: &str) -> Failure {
        Failure { error: e.to_string() }
    }
}

#[derive(Serialize, Deserialize)]
struct AuthorizeBody {
    idempotency_key: String,
    amount: i64,
    currency: String,
    card_number: String,
    exp_month: u32,
    exp_year: i32,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
enum AuthorizeAnswer {
    Approved { authorization: String },
    Declined { decline_code: String },
    AuthenticationRequired { challenge: String },
}

#[derive(Serialize, Deserialize)]
struct MoveBody {
    idempotency_key: String,
    authorization: String,
    amount: i64,
    currency: String,
}

impl MoveBody {
    fn new(idempotency_key: &str, authorization: &str, amount: Money) -> MoveBody {
        MoveBody {
            idempotency_key: idempotency_key.into(),
            authorization: authorization.into(),
            amount: amount.minor(),
            currency: amount.currency().code().into(),
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
enum MoveAnswer {
    Done { reference: String },
    Refused { refusal: String },
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "recorded", rename_all = "snake_case")]
enum LookupAnswer {
    Authorization { answer: AuthorizeAnswer },
    Movement { kind: String, amount: i64, currency: String, answer: MoveAnswer },
}

fn authorize_answer(o: &AuthorizeOutcome) -> AuthorizeAnswer {
    match o {
        AuthorizeOutcome::Approved { authorization } => {
            AuthorizeAnswer::Approved { authorization: authorization.clone() }
        }
        AuthorizeOutcome::Declined { code } => AuthorizeAnswer::Declined { decline_code: code.as_str().into() },
        AuthorizeOutcome::AuthenticationRequired { challenge } => {
            AuthorizeAnswer::AuthenticationRequired { challenge: challenge.clone() }
        }
    }
}

fn move_answer(o: &MoveOutcome) -> MoveAnswer {
    match o {
        MoveOutcome::Done { reference } => MoveAnswer::Done { reference: reference.clone() },
        MoveOutcome::Refused(r) => MoveAnswer::Refused { refusal: r.as_str().into() },
    }
}

/// The simulator's routes: the processor's calls, `GET /v1/records` for tests and reconciliation, and the
/// customer's authentication pages (without faults: those are for the shop's calls).
pub fn sim_router(sandbox: Arc<Sandbox>, faults: NetworkFaults) -> Router {
    let rng = Mutex::new(StdRng::seed_from_u64(faults.seed));
    let pages = sandbox.authentication_pages();
    let sim = Arc::new(Sim { sandbox, faults, rng });
    Router::new()
        .route("/v1/authorize", post(authorize))
        .route("/v1/capture", post(capture))
        .route("/v1/refund", post(refund))
        .route("/v1/void", post(void))
        .route("/v1/lookup/{key}", get(lookup))
        .route("/v1/records", get(records))
        .with_state(sim)
        .nest("/authenticate", pages)
}

/// Serves the simulator on `listener` until `shutdown`.
pub async fn serve_sim(
    listener: tokio::net::TcpListener,
    sandbox: Arc<Sandbox>,
    faults: NetworkFaults,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, sim_router(sandbox, faults)).with_graceful_shutdown(shutdown).await
}

async fn authorize(State(sim): State<Arc<Sim>>, Json(b): Json<AuthorizeBody>) -> Response {
    let (Ok(card), Ok(expiry), Ok(currency)) = (
        CardNumber::parse(&b.card_number),
        Expiry::parse(b.exp_month.into(), b.exp_year.into()),
        Currency::parse(&b.currency),
    ) else {
        return (StatusCode::BAD_REQUEST, Json(Failure::new("invalid request"))).into_response();
    };
    let amount = Money::new(b.amount, currency);
    sim.answer(async {
        let req = AuthorizeRequest { idempotency_key: &b.idempotency_key, amount, card: &card, expiry };
        sim.sandbox.authorize(req).await.map(|o| authorize_answer(&o))
    })
    .await
}

async fn moved(sim: &Sim, b: MoveBody, kind: &'static str) -> Response {
    let Ok(currency) = Currency::parse(&b.currency) else {
        return (StatusCode::BAD_REQUEST, Json(Failure::new("invalid currency"))).into_response();
    };
    let amount = Money::new(b.amount, currency);
    sim.answer(async {
        let outcome = match kind {
            "capture" => sim.sandbox.capture(&b.authorization, amount, &b.idempotency_key).await,
            _ => sim.sandbox.refund(&b.authorization, amount, &b.idempotency_key).await,
        };
        outcome.map(|o| move_answer(&o))
    })
    .await
}

async fn capture(State(sim): State<Arc<Sim>>, Json(b): Json<MoveBody>) -> Response {
    moved(&sim, b, "capture").await
}

async fn refund(State(sim): State<Arc<Sim>>, Json(b): Json<MoveBody>) -> Response {
    moved(&sim, b, "refund").await
}

async fn void(State(sim): State<Arc<Sim>>, Json(b): Json<MoveBody>) -> Response {
    sim.answer(async {
        sim.sandbox
            .void(&b.authorization, &b.idempotency_key)
            .await
            .map(|()| MoveAnswer::Done { reference: "void".into() })
    })
    .await
}

async fn lookup(State(sim): State<Arc<Sim>>, Path(key): Path<String>) -> Response {
    sim.answer(async {
        let found = sim.sandbox.lookup(&key).await?;
        Ok(found.map(|r| match r {
            Recorded::Authorization(o) => LookupAnswer::Authorization { answer: authorize_answer(&o) },
            Recorded::Movement { kind, amount, outcome } => LookupAnswer::Movement {
                kind,
                amount: amount.minor(),
                currency: amount.currency().code().into(),
                answer: move_answer(&outcome),
            },
        }))
    })
    .await
}

/// What the processor recorded, in total: for tests that count money, and for reconciliation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Records {
    pub authorized: i64,
    pub captured: i64,
    pub refunded: i64,
    pub voids: i64,
}

async fn records(State(sim): State<Arc<Sim>>) -> Response {
    match sim.sandbox.totals().await {
        Ok((authorized, captured, refunded, voids)) => {
            Json(Records { authorized, captured, refunded, voids }).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, Json(Failure::new(&e.to_string()))).into_response(),
    }
}

/// The gateway port over HTTP, to `buynow gateway-sim` (or a processor that speaks its protocol).
pub struct HttpGateway {
    base: String,
    client: reqwest::Client,
}

impl HttpGateway {
    /// `base` is the simulator's address (`http://127.0.0.1:8090`); a call that has no answer within `timeout`
    /// is a `Timeout` (its outcome unknown).
    pub fn new(base: &str, timeout: Duration) -> Result<HttpGateway, GatewayError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| GatewayError::Unavailable(format!("gateway client: {e}")))?;
        Ok(HttpGateway { base: base.trim_end_matches('/').to_string(), client })
    }

    async fn call<B: Serialize, T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        body: Option<&B>,
    ) -> Result<Option<T>, GatewayError> {
        let url = format!("{}{path}", self.base);
        let request = match body {
            Some(b) => self.client.post(url).json(b),
            None => self.client.get(url),
        };
        // A request that got no whole answer (a timeout, a dropped connection) may or may not have been acted on:
        // both errors say "unknown" to the jobs, which look the key up before trying again.
        let lost = |e: reqwest::Error| {
            if e.is_timeout() {
                GatewayError::Timeout
            } else {
                // Without the URL: it may carry credentials.
                GatewayError::Unavailable(format!("no answer from the gateway: {}", e.without_url()))
            }
        };
        let response = request.send().await.map_err(lost)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(lost)?;
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if status.is_success() {
            return serde_json::from_slice::<Option<T>>(&bytes)
                .map_err(|_| GatewayError::Unavailable("the gateway's answer did not parse".into()));
        }
        let failure = serde_json::from_slice::<Failure>(&bytes).map(|f| f.error).unwrap_or_default();
        if failure == "processing_error" {
            return Err(GatewayError::Processing);
        }
        Err(GatewayError::Unavailable(format!("the gateway answered {status}")))
    }

    async fn movement(&self, path: &str, body: MoveBody) -> Result<MoveOutcome, GatewayError> {
        let answer: MoveAnswer = self.call(path, Some(&body)).await?.ok_or_else(not_found)?;
        Ok(move_outcome(answer))
    }
}

fn not_found() -> GatewayError {
    GatewayError::Unavailable("the gateway answered 404".into())
}

fn move_outcome(a: MoveAnswer) -> MoveOutcome {
    match a {
        MoveAnswer::Done { reference } => MoveOutcome::Done { reference },
        MoveAnswer::Refused { refusal } => MoveOutcome::Refused(match refusal.as_str() {
            "hold_expired" => Refusal::HoldExpired,
            "exceeds_available" => Refusal::ExceedsAvailable,
            "voided" => Refusal::Voided,
            _ => Refusal::Unknown,
        }),
    }
}

fn authorize_outcome(a: AuthorizeAnswer) -> AuthorizeOutcome {
    match a {
        AuthorizeAnswer::Approved { authorization } => AuthorizeOutcome::Approved { authorization },
        AuthorizeAnswer::Declined { decline_code } => {
            AuthorizeOutcome::Declined { code: DeclineCode::parse(&decline_code).unwrap_or(DeclineCode::CardDeclined) }
        }
        AuthorizeAnswer::AuthenticationRequired { challenge } => AuthorizeOutcome::AuthenticationRequired { challenge },
    }
}

impl Gateway for HttpGateway {
    fn authorize<'a>(&'a self, req: AuthorizeRequest<'a>) -> BoxFuture<'a, Result<AuthorizeOutcome, GatewayError>> {
        Box::pin(async move {
            let body = AuthorizeBody {
                idempotency_key: req.idempotency_key.to_string(),
                amount: req.amount.minor(),
                currency: req.amount.currency().code().into(),
                card_number: req.card.expose().to_string(),
                exp_month: req.expiry.month,
                exp_year: req.expiry.year,
            };
            let answer: AuthorizeAnswer = self.call("/v1/authorize", Some(&body)).await?.ok_or_else(not_found)?;
            Ok(authorize_outcome(answer))
        })
    }

    fn capture<'a>(
        &'a self,
        authorization: &'a str,
        amount: Money,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<MoveOutcome, GatewayError>> {
        Box::pin(self.movement("/v1/capture", MoveBody::new(idempotency_key, authorization, amount)))
    }

    fn void<'a>(&'a self, authorization: &'a str, idempotency_key: &'a str) -> BoxFuture<'a, Result<(), GatewayError>> {
        let body = MoveBody::new(idempotency_key, authorization, Money::zero(Currency::Usd));
        Box::pin(async move { self.movement("/v1/void", body).await.map(drop) })
    }

    fn refund<'a>(
        &'a self,
        authorization: &'a str,
        amount: Money,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<MoveOutcome, GatewayError>> {
        Box::pin(self.movement("/v1/refund", MoveBody::new(idempotency_key, authorization, amount)))
    }

    fn authentication_url(&self, challenge: &str, return_to: &str) -> String {
        crate::authentication::page_url(&format!("{}/authenticate", self.base), challenge, return_to)
    }

    fn lookup<'a>(&'a self, idempotency_key: &'a str) -> BoxFuture<'a, Result<Option<Recorded>, GatewayError>> {
        Box::pin(async move {
            let found: Option<LookupAnswer> =
                self.call::<(), _>(&format!("/v1/lookup/{idempotency_key}"), None).await?;
            Ok(found.map(|f| match f {
                LookupAnswer::Authorization { answer } => Recorded::Authorization(authorize_outcome(answer)),
                LookupAnswer::Movement { kind, amount, currency, answer } => Recorded::Movement {
                    kind,
                    amount: Money::new(amount, Currency::parse(&currency).unwrap_or(Currency::Usd)),
                    outcome: move_outcome(answer),
                },
            }))
        })
    }
}
