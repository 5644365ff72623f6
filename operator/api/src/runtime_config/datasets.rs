//! The four datasets and their settings.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::defaults;
use crate::{Dataset, Symbol};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Datasets {
    #[serde(default)]
    pub daily: DailyDataset,
    #[serde(default)]
    pub intraday: IntradayDataset,
    #[serde(default)]
    pub historical: HistoricalDataset,
    #[serde(default)]
    pub options: OptionsDataset,
}

/// What every dataset has: on/off, its symbols and its schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DatasetCommon<'a> {
    pub enabled: bool,
    pub symbols: &'a [Symbol],
    /// Cron expression or `@` macro; run by a CronJob on Kubernetes, by `local` on one machine.
    pub schedule: Option<&'a str>,
    /// IANA zone the schedule is read in.
    pub time_zone: &'a str,
}

// The four dataset structs repeat the common fields instead of flattening a shared struct:
// serde cannot combine `flatten` with `deny_unknown_fields`, and typos in hand-written
// configs must be errors.

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct DailyDataset {
    pub enabled: bool,
    pub symbols: Vec<Symbol>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    pub time_zone: String,
    /// How many recent daily bars each run fetches, so a missed run heals itself.
    pub lookback_bars: u32,
}

impl Default for DailyDataset {
    fn default() -> Self {
        DailyDataset {
            enabled: true,
            symbols: Vec::new(),
            schedule: None,
            time_zone: defaults::TIME_ZONE.into(),
            lookback_bars: 5,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct IntradayDataset {
    pub enabled: bool,
    pub symbols: Vec<Symbol>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    pub time_zone: String,
}

impl Default for IntradayDataset {
    fn default() -> Self {
        IntradayDataset {
            enabled: true,
            symbols: Vec::new(),
            schedule: None,
            time_zone: defaults::TIME_ZONE.into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct HistoricalDataset {
    pub enabled: bool,
    pub symbols: Vec<Symbol>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    pub time_zone: String,
    /// First day to backfill. Without it the dataset has nothing to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date: Option<NaiveDate>,
    /// Last day to backfill; the trigger's trading day when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date: Option<NaiveDate>,
}

impl Default for HistoricalDataset {
    fn default() -> Self {
        HistoricalDataset {
            enabled: true,
            symbols: Vec::new(),
            schedule: None,
            time_zone: defaults::TIME_ZONE.into(),
            start_date: None,
            end_date: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct OptionsDataset {
    pub enabled: bool,
    pub symbols: Vec<Symbol>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    pub time_zone: String,
    /// Expiries up to this many calendar days out are collected.
    pub horizon_days: u32,
    pub source: OptionsSource,
}

impl Default for OptionsDataset {
    fn default() -> Self {
        OptionsDataset {
            enabled: true,
            symbols: Vec::new(),
            schedule: None,
            time_zone: defaults::TIME_ZONE.into(),
            horizon_days: defaults::HORIZON_DAYS,
            source: OptionsSource::default(),
        }
    }
}

/// Where option chains come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptionsSource {
    /// Yahoo Finance (cookie + crumb), one request per expiry.
    #[default]
    Yahoo,
    /// Cboe delayed quotes, the whole chain in one document.
    Cboe,
}

impl Datasets {
    /// The settings every dataset shares.
    pub fn common(&self, dataset: Dataset) -> DatasetCommon<'_> {
        macro_rules! view {
            ($d:expr) => {
                DatasetCommon {
                    enabled: $d.enabled,
                    symbols: &$d.symbols,
                    schedule: $d.schedule.as_deref(),
                    time_zone: &$d.time_zone,
                }
            };
        }
        match dataset {
            Dataset::Daily => view!(self.daily),
            Dataset::Intraday => view!(self.intraday),
            Dataset::Historical => view!(self.historical),
            Dataset::Options => view!(self.options),
        }
    }
}
