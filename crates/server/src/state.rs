//! What every handler and job shares.

use crate::config::Config;
use buynow_domain::pricing::{ShippingRates, TaxTable};
use buynow_domain::promise::CenterCalendar;
use buynow_payments::{Gateway, Vault};
use buynow_store::catalog::{self, Center};
use buynow_store::Store;
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
    centers: RwLock<Arc<Centers>>,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// The fulfillment centers with their shipping calendars, cached: they change only through `/v1/ops`.
#[derive(Debug, Default)]
pub struct Centers {
    pub by_code: HashMap<String, CenterInfo>,
    pub default_code: Option<String>,
}

#[derive(Debug)]
pub struct CenterInfo {
    pub center: Center,
    pub calendar: CenterCalendar,
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
        Ok(CenterInfo { center, calendar })
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
}

impl AppState {
    pub async fn new(store: Store, config: Config, gateway: Arc<dyn Gateway>) -> Result<AppState, StartError> {
        let mut vault = Vault::from_base64(config.vault_key.expose_secret())?;
        for old in &config.old_vault_keys {
            vault = vault.with_old_key(old.expose_secret())?;
        }
        let state = AppState(Arc::new(Inner {
            store,
            vault,
            gateway,
            config,
            rates: ShippingRates::demo(),
            taxes: TaxTable::demo(),
            centers: RwLock::default(),
        }));
        state.reload_centers().await?;
        Ok(state)
    }

    pub async fn reload_centers(&self) -> Result<(), StartError> {
        let rows = catalog::centers(&mut self.store.read().await?.conn()).await?;
        let mut centers = Centers::default();
        for row in rows {
            if row.is_default || centers.default_code.is_none() {
                centers.default_code = Some(row.code.clone());
            }
            centers.by_code.insert(row.code.clone(), CenterInfo::new(row)?);
        }
        *self.centers.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(centers);
        Ok(())
    }

    pub fn centers(&self) -> Arc<Centers> {
        self.centers.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
