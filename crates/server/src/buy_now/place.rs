use super::quote::{promise_for, quote, rank_stock, BuyNowRequest, Choices, Quote, StockCheck};
use crate::auth::CustomerAuth;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{IdempotencyKey, Json};
use crate::jobs;
use crate::orders::view::{assemble, order_view, OrderParts};
use crate::state::{AppState, Centers};
use crate::views::OrderView;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use buynow_domain::sourcing::{self, Allocation};
use buynow_domain::{CustomerId, OrderId, OrderStatus, PaymentId, ShipmentId};
use buynow_store::idempotency::{self, Claim};
use buynow_store::jobs::Job;
use buynow_store::orders::{self, Item, Order, Shipment, TimelineEntry};
use buynow_store::payments::{self, Payment, PaymentStatus};
use buynow_store::{catalog, outbox, to_micros, Conn};
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

/// Place the order with one click: stock is reserved and the order written in one transaction, then the card
/// is authorized (inline when it answers quickly, else by the durable job). Send the same `Idempotency-Key`
/// again — a double click, a retry after a timeout — and you get the same order back, never a second one.
#[utoipa::path(post, path = "/v1/buy-now", tag = "buy-now", request_body = BuyNowRequest, security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "One per intended purchase; retries reuse it.")),
    responses((status = 201, body = OrderView, description = "The order (also for a replayed key)"),
              (status = 400, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "out of stock, or the key was used with another body", body = Problem),
              (status = 422, body = Problem)))]
#[tracing::instrument(skip_all, fields(customer = %customer))]
pub async fn buy_now(
    State(state): State<AppState>,
    CustomerAuth(customer): CustomerAuth,
    IdempotencyKey(key): IdempotencyKey,
    Json(body): Json<BuyNowRequest>,
) -> ApiResult<(StatusCode, HeaderMap, axum::Json<OrderView>)> {
    let choices = body.parse()?;
    let request_hash = hash(&choices);
    let now = chrono::Utc::now();

    let mut read = state.store.read().await?;
    // A retry usually arrives after the first attempt committed: answer it from a read, no writer needed.
    if let Some(claim) = idempotency::lookup(&mut read.conn(), customer, &key, &request_hash).await? {
        drop(read);
        return replay(&state, customer, claim).await;
    }
    let q = quote(&state, &mut read.conn(), customer, &choices, now, StockCheck::Defer).await?;
    drop(read);

    let order_id = OrderId::new();
    let (centers, inline) = (state.centers(), !state.config.inline_authorization_budget.is_zero());
    let lease = i64::try_from(state.config.job_lease.as_micros()).unwrap_or(i64::MAX / 2);
    let (total, card) = (q.totals.total, q.card.clone());
    let card_shown = (card.brand, card.last4.clone());
    // One write of a group commit: placements arriving together share a transaction and its fsync.
    let placed = state
        .store
        .write_batched(move |c| {
            Box::pin(async move {
                // Every check comes before the first write, so a refused placement leaves nothing to undo in
                // its batch. The stock first; when it looks gone, it may have gone to this very purchase (a
                // retry, whose first attempt committed since the lookup above), which is answered with its order.
                let plan = match source_live(c, &centers, &q).await {
                    Ok(plan) => plan,
                    Err(short) => match idempotency::lookup(c, customer, &key, &request_hash).await? {
                        Some(claim) => return Ok(Err(claim)),
                        None => return Err(short),
                    },
                };
                // Then the key: a key already taken is left as it is (nothing written), and answered.
                let at = to_micros(q.placed_at);
                match idempotency::claim(c, customer, &key, &request_hash, order_id, at).await? {
                    Claim::New => {
                        write_order(c, &centers, order_id, &q, plan, inline.then_some(at + lease)).await.map(Ok)
                    }
                    other => Ok(Err(other)),
                }
            })
        })
        .await?;
    let placed = match placed {
        Ok(placed) => placed,
        Err(claim) => return replay(&state, customer, claim).await,
    };
    tracing::info!(order = %order_id, %total, "order placed");

    let mut recorded = None;
    if let Some(job) = placed.job {
        let (tell, mut told) = oneshot::channel();
        let known = jobs::authorize::Known { payment: placed.payment, card, tell };
        jobs::run_claimed_authorization(&state, job, known).await;
        recorded = told.try_recv().ok();
    }
    let view = match recorded {
        // The answer is what was just written: no need to read the order back.
        Some(answer) => assemble(OrderParts {
            order: answer.order,
            items: placed.items,
            shipments: placed.shipments,
            timeline: vec![placed.entry, answer.entry],
            payment: answer.payment,
            card: Some(card_shown),
        })?,
        // Authorization still under way (or left to the workers): the order as it now stands.
        None => order_view(&mut state.store.read().await?.conn(), customer, order_id).await?,
    };
    Ok((StatusCode::CREATED, HeaderMap::new(), axum::Json(view)))
}

async fn replay(
    state: &AppState,
    customer: CustomerId,
    claim: Claim,
) -> ApiResult<(StatusCode, HeaderMap, axum::Json<OrderView>)> {
    match claim {
        Claim::Replay(order) => {
            let view = order_view(&mut state.store.read().await?.conn(), customer, order).await?;
            let mut headers = HeaderMap::new();
            headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok((StatusCode::CREATED, headers, axum::Json(view)))
        }
        Claim::Conflict => Err(ApiError::Conflict(
            "idempotency_conflict",
            "this Idempotency-Key was already used for a different request".into(),
        )),
        Claim::New => Err(ApiError::internal("replay of an unclaimed key")),
    }
}

fn hash(choices: &Choices) -> String {
    let canonical = serde_json::to_vec(choices).expect("choices serialize");
    hex::encode(Sha256::digest(&canonical))
}

/// Sourcing again, inside the transaction, against live stock: the quote's plan was made on a read.
async fn source_live(c: &mut Conn<'_>, centers: &Centers, q: &Quote) -> ApiResult<Vec<Allocation>> {
    let (sku, quantity) = (q.product.sku.as_str(), q.quantity.get());
    let levels = catalog::stock_levels(c, sku).await?;
    sourcing::source(&rank_stock(centers, &levels), quantity).ok_or_else(|| ApiError::out_of_stock(sku, quantity))
}

/// The writes of one placement sourced as `plan`: order, payment intent, job, outbox event, timeline and the
/// reservation. Each reservation is a guarded update as well, so two buyers can never both take the last unit.
/// With `claim_until`, the authorization job is written already claimed by this process, to run right after
/// the commit (it comes back with its payment); otherwise it waits for a worker.
async fn write_order(
    c: &mut Conn<'_>,
    centers: &Centers,
    order_id: OrderId,
    q: &Quote,
    plan: Vec<Allocation>,
    claim_until: Option<i64>,
) -> ApiResult<Placed> {
    let sku = q.product.sku.as_str();
    let quantity = q.quantity.get();
    let window = if plan == q.plan { q.window() } else { promise_for(centers, &plan, q.placed_at, q.hold, q.speed)? };
    let ship_to = serde_json::to_string(&q.address.address).map_err(ApiError::internal)?;
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
        ship_to,
        payment_method_id: q.card.id,
        estimated_earliest: window.earliest.to_string(),
        estimated_latest: window.latest.to_string(),
        hold_until: to_micros(q.placed_at + q.hold),
        declines: 0,
        created_at: at,
        updated_at: at,
    };
    let items = [Item { sku: sku.to_string(), title: q.product.title.clone(), quantity, unit_price: q.product.price }];
    let shipments: Vec<Shipment> = plan
        .iter()
        .map(|a| Shipment {
            id: ShipmentId::new(),
            center: a.center.clone(),
            sku: sku.to_string(),
            quantity: a.quantity,
            status: "pending".into(),
            carrier: None,
            tracking_number: None,
        })
        .collect();
    orders::insert(c, &order, &items, &shipments).await?;
    let payment = Payment {
        id: PaymentId::new(),
        order_id,
        payment_method_id: q.card.id,
        amount: q.totals.total,
        status: PaymentStatus::Pending,
        authorization: None,
        decline_code: None,
    };
    payments::insert(c, &payment, at).await?;
    let note = format!("Order placed: {quantity} × {}, {} delivery", q.product.title, q.speed.as_str());
    orders::add_timeline(c, order_id, at, OrderStatus::Placed, &note).await?;
    let event = serde_json::json!({ "order_id": order_id, "total": q.totals.total, "estimated_delivery": window });
    outbox::add(c, order_id, q.customer.id, "order_placed", &event.to_string(), at).await?;
    let job = jobs::authorize(payment.id, at);
    let job = match claim_until {
        Some(until) => buynow_store::jobs::enqueue_claimed(c, &job, at, until).await?,
        None => {
            jobs::enqueue(c, job).await?;
            None
        }
    };
    // The stock rows last: a flash sale's buyers all wait for the hot row's lock (on PostgreSQL), so it is held
    // only from here to the commit, not across the writes above. Every transaction locks stock rows in one
    // order (by center), so two placements cannot deadlock.
    let mut by_center: Vec<_> = plan.iter().collect();
    by_center.sort_by(|a, b| a.center.cmp(&b.center));
    for a in by_center {
        if !catalog::reserve(c, sku, &a.center, a.quantity).await? {
            return Err(ApiError::out_of_stock(sku, quantity));
        }
    }
    let entry = TimelineEntry { at, status: OrderStatus::Placed.as_str().to_string(), note };
    Ok(Placed { items: items.into(), shipments, entry, payment, job })
}

/// What a placement wrote, kept for its answer.
struct Placed {
    items: Vec<Item>,
    shipments: Vec<Shipment>,
    entry: TimelineEntry,
    payment: Payment,
    /// The authorization job, when this process claimed it to run right after the commit.
    job: Option<Job>,
}
