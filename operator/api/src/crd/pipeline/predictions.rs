//! Volatility forecasts (docs/predictions.md).

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// The predictor: HAR-RV, EWMA, naive and at-the-money implied volatility forecasts of each
/// symbol's realized volatility at 1, 5 and 21 sessions, with their walk-forward scores,
/// written to the database. Needs `sinks.postgres`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PredictionsSpec {
    /// Run the predictor (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Sessions of history each HAR-RV fit reads (default 1000, from 100 to 5000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 100 && self <= 5000").message("windowDays must be from 100 to 5000 sessions"))]
    pub window_days: Option<u32>,
}

impl PredictionsSpec {
    pub fn enabled(&self) -> bool {
        self.enabled == Some(true)
    }
}
