use super::quote::{promise_for, quote, rank_stock, BuyNowRequest, Choices, Quote, StockCheck};
use crate::auth::{SessionToken, TokenHash};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{IdempotencyKey, Json};
use crate::jobs;
use crate::orders::view::{assemble, order_view, pending_views, OrderParts};
use crate::state::{AppState, Centers};
use crate::views::OrderView;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use buynow_domain::sourcing::{self, Allocation};
use buynow_domain::{CustomerId, EventKind, OrderId, OrderStatus};
use buynow_store::idempotency::{Claim, Digest, KeyClaim};
use buynow_store::orders::{Item, Order, Shipment, TimelineEntry};
use buynow_store::payments::{Attempt, Payment};
use buynow_store::placement::{NewOrder, Placed, Plan, Request};
use buynow_store::to_micros;
use buynow_store::StoreError;
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// Place the order with one click: stock is reserved and the order written in one transaction, then the card
/// is authorized (inline when it answers quickly, else by the durable job). Send the same `Idempotency-Key`
/// again — a double click, a retry after a timeout — and you get the same order back, never a second one.
#[utoipa::path(post, path = "/v1/buy-now", tag = "buy-now", request_body = BuyNowRequest, security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "One per intended purchase; retries reuse it.")),
    responses((status = 201, body = OrderView, description = "The order (also for a replayed key)"),
              (status = 400, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "out of stock, or the key was used with another body", body = Problem),
              (status = 422, description = "invalid input, or not deliverable to that address", body = Problem),
              (status = 429, description = "too many Buy Now requests from this session; see `Retry-After`", body = Problem)))]
#[tracing::instrument(skip_all, fields(customer = tracing::field::Empty))]
pub async fn buy_now(
    State(state): State<AppState>,
    SessionToken(session): SessionToken,
    key: Result<IdempotencyKey, ApiError>,
    body: Result<Json<BuyNowRequest>, ApiError>,
) -> ApiResult<(StatusCode, HeaderMap, axum::Json<OrderView>)> {
    // The session is read with the purchase, below; a request refused before that is refused only once the
    // session is known to be good, so that without one the answer is always 401.
    let (key, choices) = match (key, body.and_then(|Json(body)| body.parse())) {
        (Ok(IdempotencyKey(key)), Ok(choices)) => (key, choices),
        (Err(e), _) | (_, Err(e)) => {
            session.customer(&state).await?;
            return Err(e);
        }
    };
    let placed = place(&state, &session, key, choices).await?;
    let mut headers = HeaderMap::new();
    if placed.replayed {
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok((StatusCode::CREATED, headers, axum::Json(placed.order)))
}

/// A Buy Now's outcome: the order, and whether it was placed by an earlier request with the same key.
pub struct Placement {
    pub order: OrderView,
    pub replayed: bool,
}

/// Places the order `choices` describe for the customer whose `session` it is, once per idempotency `key`:
/// the API's Buy Now and the product page's both come here.
pub async fn place(state: &AppState, session: &TokenHash, key: String, choices: Choices) -> ApiResult<Placement> {
    // Per session (a customer's sessions need a rate-limited sign-in each), so nothing is read to refuse.
    state.limits.buy_now(&session.0)?;
    let request_hash = hash(&choices);
    let now = state.now();

    let mut read = state.store.read().await?;
    // A retry usually arrives after the first attempt committed: the quote's read finds its key, and it is
    // answered from there, no writer needed.
    let q =
        quote(state, &mut read.conn(), session, &choices, now, StockCheck::Defer, Some((&key, &request_hash))).await?;
    drop(read);
    let q = match q {
        Ok(q) => q,
        Err((customer, claim)) => return replay(state, customer, claim).await,
    };
    let customer = q.customer.id;
    tracing::Span::current().record("customer", tracing::field::display(customer));

    let order_id = OrderId::new();
    let (centers, inline) = (state.centers(), !state.config.inline_authorization_budget.is_zero());
    let lease = i64::try_from(state.config.job_lease.as_micros()).unwrap_or(i64::MAX / 2);
    let (total, card) = (q.totals.total, q.card.clone());
    let card_shown = (card.brand, card.last4.clone());
    let at = to_micros(q.placed_at);
    let key = KeyClaim::new(customer, &key, request_hash, order_id, at);
    let sku = q.product.sku.clone();
    let claim_until = inline.then_some(at + lease);
    // The order as quoted is built here, off the writer's path (see `plan`). The key is claimed before the plan
    // runs, so the retry of the purchase that took the last unit is answered with that order, not "out of stock".
    let mut quoted = Some(new_order(&centers, order_id, &q, q.plan.clone(), claim_until)?);
    let q = Arc::new(q);
    // One placement of a group commit: placements arriving together share a transaction and its fsync. A group
    // that lost a race with another transaction (a deadlock, a serialization failure) was rolled back whole,
    // this placement's key claim with it, so it is simply placed again.
    let mut attempt = 1;
    let placed = loop {
        // The order as quoted goes with the first attempt; the rare attempt after a lost race builds it again.
        let order = match quoted.take() {
            Some(order) => order,
            None => new_order(&centers, order_id, &q, q.plan.clone(), claim_until)?,
        };
        let plan = plan(&centers, &q, order_id, order, claim_until);
        let request = Request { key: key.clone(), sku: sku.clone(), plan };
        let waited = std::time::Instant::now();
        let placed = state.store.place(request).await;
        state.metrics.placement_wait.observe(waited.elapsed().as_secs_f64());
        match placed {
            Err(PlaceError::Store(e)) if e.is_retryable() && attempt < PLACE_ATTEMPTS => {
                tracing::info!(error = %e, attempt, "placement group lost a race; placing again");
                let pause = Duration::from_millis(rand::thread_rng().gen_range(1..=5) * attempt);
                tokio::time::sleep(pause).await;
                attempt += 1;
            }
            placed => {
                break placed.map_err(|e| {
                    let e = ApiError::from(e);
                    state.metrics.note_refusal(&e);
                    e
                })?
            }
        }
    };
    let (placed, job) = match placed {
        Placed::New { order, job } => (*order, job),
        Placed::Taken(claim) => return replay(state, customer, claim).await,
    };
    tracing::info!(order = %order_id, %total, "order placed");
    state.metrics.orders_placed.inc();

    let mut recorded = None;
    if let Some(job) = job {
        let (tell, mut told) = oneshot::channel();
        let gift_card = choices.use_gift_card_balance;
        let known = jobs::authorize::Known { payment: placed.payment, card, gift_card, tell };
        jobs::run_claimed_authorization(state, job, known).await;
        recorded = told.try_recv().ok();
    }
    let view = match recorded {
        // The answer is what was just written: no need to read the order back.
        Some(answer) => assemble(
            &state.vault,
            OrderParts {
                attempts: Attempt::tender(
                    &answer.payment,
                    answer.applied.as_ref().map_or(answer.entry.at, |e| e.at),
                    answer.entry.at,
                ),
                timeline: answer.timeline(placed.entry),
                authenticate_at: crate::orders::view::authentication_url(state, &answer.payment),
                order: answer.order,
                items: placed.items,
                shipments: pending_views(&placed.shipments),
                payment: answer.payment,
                card: Some(card_shown),
                returns: Vec::new(),
                picking: false,
            },
        )?,
        // Authorization still under way (or left to the workers): the order as it now stands.
        None => order_view(state, &mut state.store.read().await?.conn(), customer, order_id).await?,
    };
    Ok(Placement { order: view, replayed: false })
}

/// How many times a placement is tried when its group loses a race with another transaction.
const PLACE_ATTEMPTS: u64 = 3;

/// Why a placement did not go through: refused for its own sake (out of stock), or its group did not commit.
enum PlaceError {
    Refused(ApiError),
    Store(StoreError),
}

impl From<StoreError> for PlaceError {
    fn from(e: StoreError) -> Self {
        PlaceError::Store(e)
    }
}

impl From<PlaceError> for ApiError {
    fn from(e: PlaceError) -> Self {
        match e {
            PlaceError::Refused(e) => e,
            PlaceError::Store(e) => e.into(),
        }
    }
}

/// The placement's plan for the writer: sources the order against the stock as it is in the write transaction
/// (the quote's plan was made on a read) and keeps the order as quoted, or builds it anew in the rare case it
/// ships otherwise.
fn plan(
    centers: &Arc<Centers>,
    q: &Arc<Quote>,
    order_id: OrderId,
    quoted: NewOrder,
    claim_until: Option<i64>,
) -> Plan<PlaceError> {
    let (centers, q) = (centers.clone(), q.clone());
    Box::new(move |levels| {
        let (sku, quantity) = (q.product.sku.as_str(), q.quantity.get());
        let plan = sourcing::source(&rank_stock(&q.ranks, levels), quantity)
            .ok_or_else(|| PlaceError::Refused(ApiError::out_of_stock(sku, quantity)))?;
        if plan == q.plan {
            return Ok(quoted);
        }
        new_order(&centers, order_id, &q, plan, claim_until).map_err(PlaceError::Refused)
    })
}

async fn replay(state: &AppState, customer: CustomerId, claim: Claim) -> ApiResult<Placement> {
    match claim {
        Claim::Replay(order) => {
            let view = order_view(state, &mut state.store.read().await?.conn(), customer, order).await?;
            Ok(Placement { order: view, replayed: true })
        }
        Claim::Conflict => Err(ApiError::Conflict(
            "idempotency_conflict",
            "this Idempotency-Key was already used for a different request".into(),
        )),
        Claim::New => Err(ApiError::internal("replay of an unclaimed key")),
    }
}

/// The request a key is compared on: its canonical JSON, digested as the key table stores it.
pub(super) fn hash(choices: &Choices) -> Digest {
    Digest::of(&serde_json::to_vec(choices).expect("choices serialize"))
}

/// Everything a placement sourced as `plan` writes: order, payment intent, job, outbox event, timeline, and the
/// shipments (which are also what is reserved where). With `claim_until`, the authorization job is written
/// already claimed by this process, to run right after the commit; otherwise it waits for a worker.
pub(super) fn new_order(
    centers: &Centers,
    order_id: OrderId,
    q: &Quote,
    plan: Vec<Allocation>,
    claim_until: Option<i64>,
) -> ApiResult<NewOrder> {
    let sku = q.product.sku.as_str();
    let quantity = q.quantity.get();
    let window = if plan == q.plan { q.window() } else { promise_for(centers, &plan, q.placed_at, q.hold, q.speed)? };
    let at = to_micros(q.placed_at);
    let order = Order {
        id: order_id,
        customer_id: q.customer.id,
        status: OrderStatus::Placed,
        delivery_speed: q.speed,
        subtotal: q.totals.subtotal,
        shipping: q.totals.shipping,
        tax: q.totals.tax,
        total: q.totals.total,
        address_id: q.address.id,
        // The address's sealed blob as it is now: the order keeps it if the address changes, and nothing is
        // sealed on the way.
        ship_to: q.address.sealed.clone(),
        payment_method_id: q.card.id,
        estimated_earliest: window.earliest.to_string(),
        estimated_latest: window.latest.to_string(),
        hold_until: to_micros(q.placed_at + q.hold),
        declines: 0,
        created_at: at,
        updated_at: at,
        on_hold: false,
        hold_reason: None,
    };
    let items =
        vec![Item { sku: sku.to_string(), title: q.product.title.clone(), quantity, unit_price: q.product.price }];
    let shipments = plan.iter().map(|a| Shipment::pending(order_id, &a.center, sku, a.quantity)).collect();
    let payment = Payment::pending(order_id, q.card.id, q.totals.total);
    let note = format!("Order placed: {quantity} × {}, {} delivery", q.product.title, q.speed.as_str());
    let entry = TimelineEntry::new(at, OrderStatus::Placed, EventKind::OrderPlaced, note);
    let event = serde_json::json!({ "order_id": order_id, "total": q.totals.total, "estimated_delivery": window });
    let job = jobs::authorize(payment.id, q.gift_card.is_some(), at);
    Ok(NewOrder {
        order,
        items,
        shipments,
        payment,
        entry,
        event: (EventKind::OrderPlaced, event.to_string()),
        job,
        claim_until,
    })
}
