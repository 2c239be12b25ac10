//! What every handler and job shares.

use crate::config::Config;
use buynow_domain::acceptance::Accepted;
use buynow_domain::card::{Brand, Funding};
use buynow_domain::pricing::{ShippingRates, TaxTable};
use buynow_domain::promise::CenterCalendar;
use buynow_domain::PostalAddress;
use buynow_logistics::{carriers, BoxSize, Carrier, Place};
use buynow_payments::{Gateway, Vault};
use buynow_store::catalog::{self, Center};
use buynow_store::{payment_settings, Store};
use chrono::{NaiveDate, NaiveTime, Weekday};
use secrecy::ExposeSecret;
use std::collections::HashMap;
use std::ops::Deref;
use std::str::FromStr;
use std::sync::{Arc, RwLock};

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub store: Store,
    pub vault: Vault,
    pub gateway: Arc<dyn Gateway>,
    pub config: Config,
    pub rates: ShippingRates,
    pub taxes: TaxTable,
    pub carriers: Vec<Carrier>,
    pub mailer: buynow_notify::Mailer,
    pub webhooks: buynow_notify::webhook::Sender,
    pub limits: crate::rate_limit::RateLimits,
    /// The API document's statuses, when `Config::check_contract` holds the server to them.
    pub contract: std::sync::OnceLock<Arc<crate::contract::Contract>>,
    /// The background workers running in this process (for `/readyz`).
    pub workers: crate::health::Workers,
    pub metrics: crate::metrics::Metrics,
    centers: RwLock<Arc<Centers>>,
    /// What the cached centers were read at (see `catalog::centers_version`).
    centers_version: RwLock<(i64, i64)>,
    payment_settings: RwLock<Arc<PaymentSettings>>,
    payment_settings_version: RwLock<(i64, i64)>,
}

/// The payment methods accepted, cached like the centers (and refreshed with them): the shop's, and each
/// seller's that narrows it.
#[derive(Debug, Default)]
pub struct PaymentSettings {
    pub shop: Accepted,
    pub sellers: HashMap<String, Accepted>,
}

impl PaymentSettings {
    /// Whether an item `fulfilled_by` the store or a seller may be paid with this card: what every Buy Now asks,
    /// answered without building the combined settings.
    pub fn takes_card(&self, fulfilled_by: &str, brand: Brand, funding: Funding) -> bool {
        self.shop.takes_card(brand, funding)
            && self.sellers.get(fulfilled_by).is_none_or(|s| s.takes_card(brand, funding))
    }

    /// What an item `fulfilled_by` the store or a seller may be paid with.
    pub fn for_item(&self, fulfilled_by: &str) -> Accepted {
        match self.sellers.get(fulfilled_by) {
            Some(seller) => self.shop.and(seller),
            None => self.shop.clone(),
        }
    }
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// The fulfillment centers with their shipping calendars, cached. Changed through `/v1/ops/centers` by any
/// process; each process reloads when it sees the table changed (see `AppState::refresh_centers`).
#[derive(Debug, Default)]
pub struct Centers {
    pub by_code: HashMap<String, CenterInfo>,
    /// Where stock goes when no center is named: one of the store's own centers.
    pub default_code: Option<String>,
}

impl Centers {
    /// The centers a product may ship from: the store's own, or its seller's.
    pub fn for_seller(&self, seller: Option<buynow_domain::SellerId>) -> impl Iterator<Item = &CenterInfo> {
        self.by_code.values().filter(move |c| c.center.seller_id == seller)
    }
}

#[derive(Debug)]
pub struct CenterInfo {
    pub center: Center,
    pub calendar: CenterCalendar,
    pub address: Option<PostalAddress>,
    pub boxes: Vec<BoxSize>,
}

impl CenterInfo {
    /// Where rates are reckoned from: the center's state or province.
    pub fn place(&self) -> Option<Place> {
        self.address.as_ref().map(|a| Place::new(&a.country, &a.region))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("center {code}: {reason}")]
pub struct CenterConfigError {
    code: String,
    reason: String,
}

impl CenterInfo {
    pub fn new(center: Center) -> Result<Self, CenterConfigError> {
        let bad = |reason: String| CenterConfigError { code: center.code.clone(), reason };
        let tz = chrono_tz::Tz::from_str(&center.time_zone)
            .map_err(|_| bad(format!("unknown time zone {}", center.time_zone)))?;
        let cutoff = NaiveTime::from_num_seconds_from_midnight_opt(center.cutoff_minute * 60, 0)
            .ok_or_else(|| bad("cut-off must be within the day".into()))?;
        let days = center
            .operating_days
            .iter()
            .map(|d| Weekday::try_from((*d as u8).wrapping_sub(1)).map_err(|_| bad(format!("bad weekday {d}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let holidays = center
            .holidays
            .iter()
            .map(|h| NaiveDate::from_str(h).map_err(|_| bad(format!("bad holiday {h}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let calendar = CenterCalendar::new(tz, cutoff, days, holidays).map_err(|e| bad(e.to_string()))?;
        let address = match center.address.as_str() {
            "" => None,
            json => Some(serde_json::from_str(json).map_err(|e| bad(format!("bad address: {e}")))?),
        };
        let boxes = match center.boxes.as_str() {
            "" => buynow_logistics::boxes::standard_table(),
            json => serde_json::from_str(json).map_err(|e| bad(format!("bad box table: {e}")))?,
        };
        Ok(CenterInfo { center, calendar, address, boxes })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] buynow_store::StoreError),
    #[error("vault: {0}")]
    Vault(#[from] buynow_payments::VaultError),
    #[error(transparent)]
    Center(#[from] CenterConfigError),
    #[error("mail: {0}")]
    Mail(String),
    #[error("sealing personal data: {0}")]
    Seal(#[from] crate::personal_data::SealError),
}

impl AppState {
    pub async fn new(store: Store, config: Config, gateway: Arc<dyn Gateway>) -> Result<AppState, StartError> {
        let mut vault = Vault::from_base64(config.vault_key.expose_secret())?;
        for old in &config.old_vault_keys {
            vault = vault.with_old_key(old.expose_secret())?;
        }
        let mailer = buynow_notify::Mailer::new(&config.mail).map_err(StartError::Mail)?;
        let webhooks = buynow_notify::webhook::Sender::new(config.webhooks_allow_private);
        let state = AppState(Arc::new(Inner {
            store,
            vault,
            gateway,
            mailer,
            webhooks,
            limits: crate::rate_limit::RateLimits::new(config.rate_limits),
            contract: std::sync::OnceLock::new(),
            workers: crate::health::Workers::default(),
            metrics: crate::metrics::Metrics::new(),
            config,
            rates: ShippingRates::demo(),
            taxes: TaxTable::demo(),
            carriers: carriers::demo(),
            centers: RwLock::default(),
            centers_version: RwLock::default(),
            payment_settings: RwLock::default(),
            payment_settings_version: RwLock::default(),
        }));
        let sealed = crate::personal_data::seal_legacy(&state.store, &state.vault).await?;
        if sealed > 0 {
            // On SQLite the clear values are also gone from the log; PostgreSQL's dead row versions stay until a
            // VACUUM FULL of customers, addresses and orders (the README's upgrade note says so).
            state.store.truncate_log().await?;
            tracing::info!(rows = sealed, "sealed personal data an earlier version kept in clear");
        }
        state.reload_centers().await?;
        state.reload_payment_settings().await?;
        state.ensure_carrier_accounts().await?;
        Ok(state)
    }

    /// Gives every carrier a signing secret for its tracking events, unless it has one (from an earlier start or
    /// another process); several processes starting at once keep the first.
    async fn ensure_carrier_accounts(&self) -> Result<(), StartError> {
        let mut tx = self.store.write().await?;
        for carrier in &self.carriers {
            let secret = buynow_logistics::signing::new_secret(rand::random());
            buynow_store::carriers::ensure_secret(&mut tx.conn(), carrier.code, &secret, self.now_micros()).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The time as BuyNow sees it (see `Clock`).
    pub fn now_micros(&self) -> i64 {
        self.config.clock.now_micros()
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.config.clock.now()
    }

    pub fn carrier(&self, code: &str) -> Option<&Carrier> {
        self.carriers.iter().find(|c| c.code == code)
    }

    /// Reloads the centers and the payment settings if another process (or this one) changed them since they
    /// were read.
    pub async fn refresh_centers(&self) -> Result<(), StartError> {
        let mut read = self.store.read().await?;
        let version = catalog::centers_version(&mut read.conn()).await?;
        let settings = payment_settings::version(&mut read.conn()).await?;
        drop(read);
        if version != *self.centers_version.read().unwrap_or_else(|p| p.into_inner()) {
            self.reload_centers().await?;
        }
        if settings != *self.payment_settings_version.read().unwrap_or_else(|p| p.into_inner()) {
            self.reload_payment_settings().await?;
        }
        Ok(())
    }

    pub async fn reload_payment_settings(&self) -> Result<(), StartError> {
        let mut read = self.store.read().await?;
        let version = payment_settings::version(&mut read.conn()).await?;
        let rows = payment_settings::all(&mut read.conn()).await?;
        drop(read);
        let mut settings = PaymentSettings::default();
        for (scope, accepted) in rows {
            if scope == payment_settings::SHOP {
                settings.shop = accepted;
            } else {
                settings.sellers.insert(scope, accepted);
            }
        }
        *self.payment_settings.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(settings);
        *self.payment_settings_version.write().unwrap_or_else(|p| p.into_inner()) = version;
        Ok(())
    }

    pub fn payment_settings(&self) -> Arc<PaymentSettings> {
        self.payment_settings.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub async fn reload_centers(&self) -> Result<(), StartError> {
        let mut read = self.store.read().await?;
        let version = catalog::centers_version(&mut read.conn()).await?;
        let rows = catalog::centers(&mut read.conn()).await?;
        drop(read);
        let mut centers = Centers::default();
        for row in rows {
            if row.seller_id.is_none() && (row.is_default || centers.default_code.is_none()) {
                centers.default_code = Some(row.code.clone());
            }
            centers.by_code.insert(row.code.clone(), CenterInfo::new(row)?);
        }
        *self.centers.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(centers);
        *self.centers_version.write().unwrap_or_else(|p| p.into_inner()) = version;
        Ok(())
    }

    pub fn centers(&self) -> Arc<Centers> {
        self.centers.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
