//! How the processor prices options: the rates that Black-Scholes-Merton needs and that no
//! provider sends reliably.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Inputs of the processor's implied volatility and Greeks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Processing {
    /// Risk-free rate, continuously compounded, annual, as a decimal (0.04 = 4 %).
    #[serde(default = "four_percent")]
    pub risk_free_rate: f64,
    /// Continuous dividend yield per underlying, annual, as a decimal. Provider yields are
    /// not used: their units differ between fields and versions.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dividend_yields: BTreeMap<String, f64>,
    /// Dividend yield of underlyings not listed in `dividendYields`.
    #[serde(default)]
    pub default_dividend_yield: f64,
}

fn four_percent() -> f64 {
    0.04
}

impl Default for Processing {
    fn default() -> Self {
        Processing {
            risk_free_rate: four_percent(),
            dividend_yields: BTreeMap::new(),
            default_dividend_yield: 0.0,
        }
    }
}

impl Processing {
    /// The dividend yield used for `underlying`.
    pub fn dividend_yield(&self, underlying: &str) -> f64 {
        self.dividend_yields
            .get(underlying)
            .copied()
            .unwrap_or(self.default_dividend_yield)
    }

    /// Rates outside these bounds are typing mistakes (4 instead of 0.04), not markets.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let sane = |v: f64| v.is_finite() && (-0.5..=0.5).contains(&v);
        if !sane(self.risk_free_rate) {
            return Err((
                "processing.riskFreeRate".into(),
                format!(
                    "{} is not a decimal annual rate between -0.5 and 0.5",
                    self.risk_free_rate
                ),
            ));
        }
        if !sane(self.default_dividend_yield) {
            return Err((
                "processing.defaultDividendYield".into(),
                format!(
                    "{} is not a decimal yield between -0.5 and 0.5",
                    self.default_dividend_yield
                ),
            ));
        }
        for (symbol, q) in &self.dividend_yields {
            if !sane(*q) {
                return Err((
                    format!("processing.dividendYields.{symbol}"),
                    format!("{q} is not a decimal yield between -0.5 and 0.5"),
                ));
            }
        }
        Ok(())
    }
}
