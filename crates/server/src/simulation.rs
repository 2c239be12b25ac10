//! The demo's simulated people and partners: warehouse staff who pick, pack and ship what is released, a
//! marketplace seller who does the same for its own items, and carriers who move parcels on and send signed
//! tracking events over HTTP, as real ones would. Outside the demo nothing is simulated unless started
//! (`buynow carrier-sim` runs the carriers as a process of their own).

use crate::services::warehouse::{self, Actor, ShipChoice};
use crate::state::AppState;
use buynow_logistics::{signing, Carrier};
use buynow_store::carriers::{self, Parcel};
use buynow_store::{Store, StoreError};
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Simulated warehouse staff (and sellers): every `every`, whatever is released at any center is picked,
/// packed and shipped, through the same services as the API.
pub fn spawn_warehouse(state: AppState, every: Duration, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = work_once(&state).await {
                tracing::warn!(error = %e, "simulated warehouse: a round failed; trying again");
            }
            tokio::select! {
                _ = stop.changed() => return,
                _ = tokio::time::sleep(every) => {}
            }
            if *stop.borrow() {
                return;
            }
        }
    })
}

/// One round of the simulated staff: every released parcel of every center goes all the way to the carrier.
pub async fn work_once(state: &AppState) -> Result<usize, crate::error::ApiError> {
    let centers = state.centers();
    let mut shipped = 0;
    for info in centers.by_code.values() {
        let actor = info.center.seller_id.map_or(Actor::Warehouse { center: None }, Actor::Seller);
        let waves = {
            let mut read = state.store.read().await?;
            warehouse::pick_lists(&mut read.conn(), state, &info.center.code, &actor).await?
        };
        for parcel in waves.into_iter().flat_map(|w| w.parcels) {
            let now = state.now_micros();
            let mut tx = state.store.write().await?;
            warehouse::pick(&mut tx.conn(), state, parcel.id, None, &actor, now).await?;
            warehouse::pack(&mut tx.conn(), state, parcel.id, None, &actor, now).await?;
            // A seller ships with its own carrier account and its own label.
            let choice = match actor {
                Actor::Seller(_) => {
                    let carrier = state.carrier("parcelway").ok_or(crate::error::ApiError::NotFound("carrier"))?;
                    ShipChoice {
                        carrier: Some(carrier.code.into()),
                        service: None,
                        tracking_number: Some(carrier.tracking.format(rand::thread_rng().gen())),
                    }
                }
                Actor::Warehouse { .. } => ShipChoice::default(),
            };
            let (_, captures) = warehouse::ship(&mut tx.conn(), state, parcel.id, choice, &actor, now).await?;
            tx.commit().await?;
            for job in captures {
                crate::jobs::run_inline(state, Some(job)).await;
            }
            shipped += 1;
        }
    }
    Ok(shipped)
}

/// The demo's simulated staff and carriers, the carriers sending their events to `target` (this server).
pub fn spawn_demo(state: &AppState, target: String, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let carriers = CarrierSim::new(
        state.store.clone(),
        state.carriers.clone(),
        CarrierSimConfig { target, pace: state.config.simulation_pace, exceptions_per_mille: 100, seed: 0 },
        state.config.clock.reader(),
    );
    let every = state.config.simulation_pace.min(Duration::from_secs(5));
    vec![
        spawn_warehouse(state.clone(), every, stop.clone()),
        Arc::new(carriers).spawn(every.min(Duration::from_secs(1)), stop),
    ]
}

/// How the simulated carriers behave.
#[derive(Debug, Clone)]
pub struct CarrierSimConfig {
    /// Where BuyNow takes tracking events: `http://host:port`.
    pub target: String,
    /// Time between a parcel's events.
    pub pace: Duration,
    /// Out of 1 000 parcels, how many meet a delay (an exception with a new estimate a day later).
    pub exceptions_per_mille: u32,
    pub seed: u64,
}

/// The simulated carriers: they read the parcels booked with them from the shared database (their own
/// records) and send each its events in turn — in transit, out for delivery, delivered, sometimes a delay —
/// signed with the carrier's secret. An event is recorded as sent only after BuyNow accepted it, and its id is
/// the same on every try, so a simulator killed at any point resends it and nothing is applied twice.
pub struct CarrierSim {
    store: Store,
    carriers: Vec<Carrier>,
    config: CarrierSimConfig,
    client: reqwest::Client,
    now: Arc<dyn Fn() -> i64 + Send + Sync>,
}

/// The events a parcel goes through, by step: on time, or with a delay on the way.
const ON_TIME: [&str; 3] = ["in_transit", "out_for_delivery", "delivered"];
const DELAYED: [&str; 4] = ["in_transit", "exception", "out_for_delivery", "delivered"];

impl CarrierSim {
    pub fn new(
        store: Store,
        carriers: Vec<Carrier>,
        config: CarrierSimConfig,
        now: Arc<dyn Fn() -> i64 + Send + Sync>,
    ) -> Self {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default();
        CarrierSim { store, carriers, config, client, now }
    }

    /// Sends every event that is due; returns how many BuyNow accepted.
    pub async fn tick(&self) -> Result<usize, StoreError> {
        let now = (self.now)();
        let due = carriers::due(&mut self.store.read().await?.conn(), now, 100).await?;
        let mut sent = 0;
        for parcel in due {
            match self.send_next(&parcel, now).await {
                Ok(true) => sent += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(tracking = %parcel.tracking_number, error = %e, "carrier sim: event not delivered; will resend")
                }
            }
        }
        Ok(sent)
    }

    async fn send_next(&self, parcel: &Parcel, now: i64) -> Result<bool, String> {
        let Some(carrier) = self.carriers.iter().find(|c| c.code == parcel.carrier) else { return Ok(false) };
        let step = usize::try_from(parcel.step).unwrap_or(usize::MAX);
        let plan: &[&str] = if self.delayed(&parcel.tracking_number) { &DELAYED } else { &ON_TIME };
        let kind = plan.get(step).copied().unwrap_or("delivered");
        let last = step + 1 >= plan.len();
        let mut body = serde_json::json!({
            "id": format!("{}-{}", parcel.tracking_number, parcel.step),
            "tracking_number": parcel.tracking_number,
            "type": kind,
            "occurred_at": buynow_store::from_micros(now),
            "location": location(parcel, kind),
        });
        if kind == "exception" {
            body["detail"] = "Weather delay at the sorting hub".into();
            if let Ok(by) = chrono::NaiveDate::parse_from_str(&parcel.delivered_by, "%Y-%m-%d") {
                body["estimated_delivery"] = (by + chrono::Duration::days(1)).to_string().into();
            }
        }
        let secret = carriers::secret(&mut self.store.read().await.map_err(|e| e.to_string())?.conn(), carrier.code)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("no secret for the carrier")?;
        let raw = body.to_string();
        let id = format!("msg_{}_{}", parcel.tracking_number, parcel.step);
        let signed = signing::headers(&secret, &id, chrono::Utc::now().timestamp(), raw.as_bytes())
            .map_err(|e| e.to_string())?;
        let url = format!("{}/v1/carriers/{}/events", self.config.target.trim_end_matches('/'), carrier.code);
        let mut request = self.client.post(url).header("content-type", "application/json");
        for (name, value) in signed {
            request = request.header(name, value);
        }
        let response = request.body(raw).send().await.map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("BuyNow answered {}", response.status()));
        }
        let next = (!last).then(|| now + i64::try_from(self.config.pace.as_micros()).unwrap_or(i64::MAX / 4));
        let mut tx = self.store.write().await.map_err(|e| e.to_string())?;
        let moved = carriers::advance(&mut tx.conn(), &parcel.carrier, &parcel.tracking_number, parcel.step, next)
            .await
            .map_err(|e| e.to_string())?;
        tx.commit().await.map_err(|e| e.to_string())?;
        Ok(moved)
    }

    /// Whether the parcel meets a delay: drawn from its tracking number and the seed (FNV-1a), so the same seed
    /// delays the same parcels whichever simulator process sends their events.
    fn delayed(&self, tracking: &str) -> bool {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ self.config.seed;
        for b in tracking.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        (h % 1000) < u64::from(self.config.exceptions_per_mille)
    }

    /// Runs until `stop` turns true, checking for due events every `every`.
    pub fn spawn(self: Arc<Self>, every: Duration, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                if let Err(e) = self.tick().await {
                    tracing::warn!(error = %e, "carrier sim: could not read due parcels");
                }
                tokio::select! {
                    _ = stop.changed() => return,
                    _ = tokio::time::sleep(every) => {}
                }
                if *stop.borrow() {
                    return;
                }
            }
        })
    }
}

fn location(parcel: &Parcel, kind: &str) -> String {
    match kind {
        "in_transit" => format!("Sorting hub, {}", parcel.origin),
        "exception" => format!("Sorting hub, {}", parcel.origin),
        _ => format!("Local depot, {}", parcel.destination),
    }
}
