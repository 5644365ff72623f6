//! How the processor prices options.

use std::collections::BTreeMap;

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// Inputs of implied volatility and Greeks (Black-Scholes-Merton with a continuous dividend
/// yield). Rates are decimals: 0.043 means 4.3 % a year, continuously compounded.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ProcessingSpec {
    /// Risk-free rate (default 0.04), for every expiry when `rateCurve` is not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= -0.5 && self <= 0.5").message("riskFreeRate is a decimal annual rate: 0.04 means 4 %"))]
    pub risk_free_rate: Option<f64>,
    /// Dividend yield per underlying symbol; provider yields are not used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.all(s, self[s] >= -0.5 && self[s] <= 0.5)").message("dividend yields are decimal annual yields: 0.005 means 0.5 %"))]
    pub dividend_yields: Option<BTreeMap<String, f64>>,
    /// Dividend yield of underlyings not listed in `dividendYields` (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= -0.5 && self <= 0.5").message("defaultDividendYield is a decimal annual yield"))]
    pub default_dividend_yield: Option<f64>,
    /// Risk-free rates by tenor (a Treasury or SOFR curve), interpolated linearly to each
    /// expiry and flat beyond the first and last points; replaces `riskFreeRate`. Days
    /// must increase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    #[x_kube(validation = Rule::new("self.all(p, p.rate >= -0.5 && p.rate <= 0.5)").message("curve rates are decimal annual rates: 0.04 means 4 %"))]
    pub rate_curve: Option<Vec<RatePoint>>,
}

// The same point in the spec and in the runtime config; defined there, because the workers
// are built without the `crd` feature.
pub use crate::runtime_config::RatePoint;
