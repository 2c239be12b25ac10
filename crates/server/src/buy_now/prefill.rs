//! `buynow bench --prefill`: a database as large as a shop's after millions of orders, filled in minutes.
//!
//! Each order is planned from its buyer's quote as Buy Now plans it, and written by the placement writer in
//! groups, as Buy Now's are: the same rows, the same statements, the same indexes. Its times lie in the past
//! (spread over the weeks before the retention's edge), and once written it is moved to delivered in bulk (see
//! `buynow_store::prefill`); the retention sweep, run every so often, deletes its key, job and event, as it would
//! have by now.

use super::place::new_order;
use super::quote::{quote, Choices, Quote, StockCheck};
use crate::auth::{token_hash, TokenHash};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use buynow_domain::{OrderId, Quantity, Sku};
use buynow_store::idempotency::{Digest, KeyClaim};
use buynow_store::placement::{Placed, Request};
use buynow_store::prefill::Prefilled;
use buynow_store::{to_micros, StoreError};
use futures::stream::{self, StreamExt};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Placements in flight at once: enough to fill every group the writer takes.
const IN_FLIGHT: usize = 512;
/// Orders moved to delivered per transaction.
const DELIVER_CHUNK: usize = 500;
/// Orders between two retention sweeps.
const SWEEP_EVERY: u64 = 100_000;

/// Where the prefill's orders go and when they were placed.
pub struct Prefill<'a> {
    /// The buyers' session tokens (each with a default address and card).
    pub sessions: &'a [String],
    pub skus: &'a [String],
    /// Orders to write.
    pub count: u64,
    /// The orders are placed evenly over this span, ending this long before now: past the retention, so the
    /// sweep deletes what it would have deleted by now.
    pub span: Duration,
    pub ending_before_now: Duration,
}

/// Writes `p.count` orders; `progress` is told the running count. Returns how many were written.
pub async fn prefill(state: &AppState, p: Prefill<'_>, progress: &(dyn Fn(u64) + Sync)) -> ApiResult<u64> {
    if p.sessions.is_empty() || p.skus.is_empty() {
        return Err(ApiError::internal("a prefill needs buyers and SKUs"));
    }
    let mut quotes = Vec::new();
    for session in p.sessions {
        let session = TokenHash(token_hash(session));
        for sku in p.skus {
            let choices = Choices {
                sku: Sku::parse(sku).map_err(|e| ApiError::internal(e.to_string()))?,
                quantity: Quantity::new(1).map_err(|e| ApiError::internal(e.to_string()))?,
                payment_method_id: None,
                address_id: None,
                delivery_speed: None,
                use_gift_card_balance: false,
            };
            let mut read = state.store.read().await?;
            let q = quote(state, &mut read.conn(), &session, &choices, state.now(), StockCheck::Require, None).await?;
            let q = q.map_err(|_| ApiError::internal("a prefill quote named a key"))?;
            quotes.push((super::place::hash(&choices), Arc::new(q)));
        }
    }
    let quotes = Arc::new(quotes);
    let first = state.now_micros() - micros(p.ending_before_now) - micros(p.span);
    let step = micros(p.span) / i64::try_from(p.count.max(1)).unwrap_or(i64::MAX);
    let run = buynow_store::now_micros();
    let written = AtomicU64::new(0);
    let placed = stream::iter(0..p.count)
        .map(|i| {
            let (quotes, state) = (quotes.clone(), state.clone());
            async move {
                let (hash, base) = &quotes[usize::try_from(i).unwrap_or(0) % quotes.len()];
                let at = first + i64::try_from(i).unwrap_or(i64::MAX) * step;
                place_one(&state, base, *hash, format!("prefill-{run:x}-{i}"), at).await
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .ready_chunks(DELIVER_CHUNK);
    futures::pin_mut!(placed);
    while let Some(chunk) = placed.next().await {
        let chunk = chunk.into_iter().collect::<ApiResult<Vec<Prefilled>>>()?;
        let mut tx = state.store.write().await?;
        buynow_store::prefill::deliver(&mut tx.conn(), &chunk).await?;
        tx.commit().await?;
        let n = written.fetch_add(chunk.len() as u64, Ordering::Relaxed) + chunk.len() as u64;
        if n / SWEEP_EVERY != (n - chunk.len() as u64) / SWEEP_EVERY {
            // As the running sweep would have: the space of the rows it deletes is used again by the next.
            crate::retention::purge(state).await?;
        }
        progress(n);
    }
    crate::retention::purge(state).await?;
    Ok(written.into_inner())
}

/// Places one order of `base`'s buyer and SKU at `at` (µs), its authorization job written claimed for good so
/// that no worker takes it before it is marked done.
async fn place_one(state: &AppState, base: &Quote, hash: Digest, key: String, at: i64) -> ApiResult<Prefilled> {
    let mut q = base.clone();
    q.placed_at = buynow_store::from_micros(at);
    let order_id = OrderId::new();
    let claimed = Some(i64::MAX / 2);
    let order = new_order(&state.centers(), order_id, &q, q.plan.clone(), claimed)?;
    let customer = q.customer.id;
    let key = KeyClaim::new(customer, &key, hash, order_id, to_micros(q.placed_at));
    // The plan keeps the quoted allocation without looking at the live stock: the prefill's SKUs are stocked
    // for far more than it places, and a unit short would fail the reservation's guarded update, not oversell.
    let request = Request { key, sku: q.product.sku.clone(), plan: Box::new(move |_| Ok::<_, ApiError>(order)) };
    match state.store.place(request).await? {
        Placed::New { job: Some(job), .. } => Ok(Prefilled { order: order_id, job: job.id, at }),
        Placed::New { job: None, .. } => Err(StoreError::Corrupt("a prefill job was not claimed".into()).into()),
        Placed::Taken(_) => Err(StoreError::Corrupt("a prefill key was taken".into()).into()),
    }
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX / 4)
}
