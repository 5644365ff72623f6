//! Per-dataset settings: on/off, schedule, time zone and symbols.

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::schedule;

/// The shape of an IANA zone name (the tz database itself is checked by the operator).
pub const TIME_ZONE_RULE: &str = r"self.matches('^(UTC|[A-Z][A-Za-z_]+(/[A-Za-z0-9_+-]+){1,2})$')";

/// The four datasets. Each runs with its defaults unless set here.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DatasetsSpec {
    /// One bar per trading day, after the close (default schedule `30 16 * * 1-5`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily: Option<DatasetSpec>,
    /// 15-minute bars during the session (default schedule `*/15 9-16 * * 1-5`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intraday: Option<DatasetSpec>,
    /// Daily bars backfilled from a start date, by a Job each time the dates change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub historical: Option<HistoricalSpec>,
    /// Option chains up to a horizon (default schedule `20 16 * * 1-5`, 90 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<OptionsDatasetSpec>,
}

/// When a dataset is collected, and for which symbols: what every dataset takes.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CollectSpec {
    /// When to collect: a CronJob schedule (five fields, or `@daily` and the like), read in
    /// `timeZone`. Each dataset has its own default; the historical one has none (it
    /// backfills by Job), and a schedule given there keeps history topped up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100))]
    #[x_kube(validation = Rule::new(schedule::cel_rule()).message(schedule::cel_message().as_str()))]
    pub schedule: Option<String>,
    /// IANA time zone the schedule is read in (default America/New_York).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    #[x_kube(validation = Rule::new(TIME_ZONE_RULE).message("must be an IANA time zone name such as America/New_York"))]
    pub time_zone: Option<String>,
    /// SymbolSets for this dataset instead of the pipeline's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::crd::schema::names")]
    pub symbol_sets: Option<Vec<String>>,
}

/// A scheduled dataset.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DatasetSpec {
    /// Collect this dataset (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// When and for which symbols.
    #[serde(flatten)]
    pub collect: CollectSpec,
    /// Change it (to any new value: a date, a counter) to run this dataset's trigger once,
    /// now, as a Job named after the value; each value runs once. Removing it removes the Job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub run_nonce: Option<String>,
}

/// The historical backfill.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.startDate) || !has(self.endDate) || self.startDate <= self.endDate").message("startDate must not be after endDate"))]
pub struct HistoricalSpec {
    /// Collect history (default true when a startDate is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// First day to backfill (`YYYY-MM-DD`). Setting or moving it starts a backfill Job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::crd::schema::date")]
    pub start_date: Option<String>,
    /// Last day to backfill (`YYYY-MM-DD`); the last session when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::crd::schema::date")]
    pub end_date: Option<String>,
    /// A recurring schedule as well, to keep history topped up (none by default), and the
    /// symbols.
    #[serde(flatten)]
    pub collect: CollectSpec,
    /// Change it to run the backfill again over the same dates (a new Job, named after the
    /// dates and this value), e.g. after a provider corrected its history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub backfill_nonce: Option<String>,
}

/// Option chains.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OptionsDatasetSpec {
    /// What every scheduled dataset takes (default schedule `20 16 * * 1-5`).
    #[serde(flatten)]
    pub dataset: DatasetSpec,
    /// Expirations up to this many calendar days out are collected (default 90).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 3650))]
    pub horizon_days: Option<u32>,
    /// Where chains come from (default yahoo).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<OptionsSourceName>,
}

/// A source of option chains.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OptionsSourceName {
    /// Yahoo Finance: one request per expiration.
    Yahoo,
    /// Cboe delayed quotes: the whole chain in one request.
    Cboe,
}
