//! How the processor prices options: the rates that Black-Scholes-Merton needs and that no
//! provider sends reliably.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One point of a rate curve.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "crd", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RatePoint {
    /// Tenor in calendar days (7, 30, 91, 182, 365, ...).
    #[cfg_attr(feature = "crd", schemars(range(min = 1, max = 36500)))]
    pub days: u32,
    /// Continuously compounded annual rate at that tenor, as a decimal.
    pub rate: f64,
}

/// Inputs of the processor's implied volatility and Greeks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct Processing {
    /// Risk-free rate, continuously compounded, annual, as a decimal (0.04 = 4 %).
    pub risk_free_rate: f64,
    /// Continuous dividend yield per underlying, annual, as a decimal. Provider yields are
    /// not used: their units differ between fields and versions.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub dividend_yields: BTreeMap<String, f64>,
    /// Dividend yield of underlyings not listed in `dividendYields`. Used only for an
    /// expiry whose forward put-call parity cannot give.
    pub default_dividend_yield: f64,
    /// Rates by tenor, interpolated linearly to each expiry and flat beyond the ends;
    /// replaces `riskFreeRate` when not empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rate_curve: Vec<RatePoint>,
}

impl Default for Processing {
    fn default() -> Self {
        Processing {
            risk_free_rate: 0.04,
            dividend_yields: BTreeMap::new(),
            default_dividend_yield: 0.0,
            rate_curve: Vec::new(),
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

    /// The risk-free rate for an expiry `years` away (365-day years).
    pub fn rate(&self, years: f64) -> f64 {
        let days = years * 365.0;
        let curve = &self.rate_curve;
        match curve.iter().position(|p| f64::from(p.days) >= days) {
            None => curve.last().map_or(self.risk_free_rate, |p| p.rate),
            Some(0) => curve[0].rate,
            Some(i) => {
                let (a, b) = (curve[i - 1], curve[i]);
                let w = (days - f64::from(a.days)) / f64::from(b.days - a.days);
                a.rate + w * (b.rate - a.rate)
            }
        }
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
        for (i, point) in self.rate_curve.iter().enumerate() {
            if !sane(point.rate) {
                return Err((
                    format!("processing.rateCurve[{i}].rate"),
                    format!(
                        "{} is not a decimal annual rate between -0.5 and 0.5",
                        point.rate
                    ),
                ));
            }
            if i > 0 && point.days <= self.rate_curve[i - 1].days {
                return Err((
                    format!("processing.rateCurve[{i}].days"),
                    format!(
                        "{} does not come after {}: tenors must increase",
                        point.days,
                        self.rate_curve[i - 1].days
                    ),
                ));
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_curve_is_interpolated_to_each_expiry_and_flat_beyond() {
        let p = Processing {
            rate_curve: vec![
                RatePoint {
                    days: 30,
                    rate: 0.040,
                },
                RatePoint {
                    days: 90,
                    rate: 0.043,
                },
            ],
            ..Processing::default()
        };
        let at = |days: f64| p.rate(days / 365.0);
        assert!((at(60.0) - 0.0415).abs() < 1e-12);
        assert_eq!(at(30.0), 0.040);
        assert_eq!(at(1.0), 0.040);
        assert_eq!(at(400.0), 0.043);
        assert_eq!(Processing::default().rate(0.5), 0.04);
        assert!(p.validate().is_ok());
    }

    #[test]
    fn a_curve_out_of_order_is_refused() {
        let p = Processing {
            rate_curve: vec![
                RatePoint {
                    days: 90,
                    rate: 0.04,
                },
                RatePoint {
                    days: 30,
                    rate: 0.04,
                },
            ],
            ..Processing::default()
        };
        let (path, message) = p.validate().unwrap_err();
        assert_eq!(path, "processing.rateCurve[1].days");
        assert!(message.contains("must increase"), "{message}");
    }
}
