//! The at-the-money point of one expiry's chain: the strike nearest the money (the least
//! |log moneyness|) that has an implied volatility, and there the mean of its call's and put's.
//! One rule for the API's term structure and the predictor's ATM IV forecast, so that the two
//! agree. Pure.

/// One strike of an expiry's chain.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Strike {
    pub strike: f64,
    /// ln(strike / forward); none where no forward was found.
    pub log_moneyness: Option<f64>,
    pub call_iv: Option<f64>,
    pub put_iv: Option<f64>,
}

/// The at-the-money strike and implied volatility, if a strike has one. Ties go to the first
/// strike given.
pub fn at_the_money(strikes: impl IntoIterator<Item = Strike>) -> Option<(f64, f64)> {
    let distance = |s: &Strike| s.log_moneyness.map_or(f64::INFINITY, f64::abs);
    let best = strikes
        .into_iter()
        .filter(|s| s.call_iv.is_some() || s.put_iv.is_some())
        .min_by(|a, b| distance(a).total_cmp(&distance(b)))?;
    let ivs: Vec<f64> = [best.call_iv, best.put_iv].into_iter().flatten().collect();
    Some((best.strike, ivs.iter().sum::<f64>() / ivs.len() as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strike(strike: f64, lm: f64, call_iv: Option<f64>, put_iv: Option<f64>) -> Strike {
        Strike {
            strike,
            log_moneyness: Some(lm),
            call_iv,
            put_iv,
        }
    }

    #[test]
    fn the_nearest_strike_with_a_volatility_averaging_its_call_and_put() {
        let chain = [
            strike(95.0, -0.05, Some(0.25), Some(0.27)),
            // Nearest, but without a volatility.
            strike(100.0, 0.0, None, None),
            strike(104.0, 0.039, Some(0.22), Some(0.24)),
            strike(96.0, -0.041, Some(0.30), None),
        ];
        let (at, iv) = at_the_money(chain).unwrap();
        assert_eq!(at, 104.0);
        assert!((iv - 0.23).abs() < 1e-12, "{iv}");
        // One side alone stands for the strike; nothing with a volatility, no point.
        assert_eq!(
            at_the_money([strike(100.0, 0.0, None, Some(0.2))]),
            Some((100.0, 0.2))
        );
        assert_eq!(at_the_money([strike(100.0, 0.0, None, None)]), None);
    }
}
