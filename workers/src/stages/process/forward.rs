//! The forward of one expiry, implied by put-call parity (docs/processing.md, "The forward").
//!
//! For a strike where the call and the put both have two-sided quotes, European parity gives
//! `C − P = D·(F − K)`, so `F = K + (C − P)/D`. Cboe's VIX method takes the strike where
//! `|C − P|` is smallest. A single strike carries its two quotes' rounding to the tick (a
//! nickel on each side moves a short-dated in-the-money IV by a tenth of a vol point), so
//! here the [`NEAR_STRIKES`] with the smallest `|C − P|` each give a forward, weighted by
//! the inverse of their quotes' width. Their weighted median sets aside any strike whose
//! forward is further from it than that strike's quotes are wide (a stale quote); the
//! rest are fitted with a straight line `C − P = D·(F − K)` whose slope is the market's own
//! discount factor, which averages the ticks' rounding out and does not depend on our rate
//! or time to expiry being exactly the market's.
//!
//! For American options parity is an inequality, but at the money both early-exercise
//! premiums are negligible, which is why only the strikes nearest the money are used.

/// Strikes that vote on the forward: about ten each side of the money.
pub const NEAR_STRIKES: usize = 21;

/// `ln(F/S)` beyond this is not a carry but a mismatch (an underlying price of another
/// day, a split-adjusted chain): the forward is not used.
const MAX_LOG_CARRY: f64 = 0.25;

/// One strike's two quotes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pair {
    pub strike: f64,
    pub call_mid: f64,
    pub put_mid: f64,
    /// The call's and the put's spreads added: how uncertain `C − P` is.
    pub spread: f64,
}

/// The forward implied by `pairs` with discount factor `discount`, or `None` when no strike
/// has both sides quoted or the result is not a plausible carry from `spot`.
pub fn from_parity(pairs: &[Pair], discount: f64, spot: f64) -> Option<f64> {
    let mut near: Vec<&Pair> = pairs
        .iter()
        .filter(|p| p.strike > 0.0 && p.call_mid > 0.0 && p.put_mid > 0.0 && p.spread.is_finite())
        .collect();
    near.sort_by(|a, b| {
        (a.call_mid - a.put_mid)
            .abs()
            .total_cmp(&(b.call_mid - b.put_mid).abs())
    });
    near.truncate(NEAR_STRIKES);
    // A strike quoted twice as tight counts twice as much.
    let mut votes: Vec<Vote> = near
        .iter()
        .map(|p| {
            let width = p.spread.max(1e-4) / discount;
            Vote {
                strike: p.strike,
                difference: p.call_mid - p.put_mid,
                forward: p.strike + (p.call_mid - p.put_mid) / discount,
                weight: 1.0 / width,
                width,
            }
        })
        .filter(|v| v.forward.is_finite() && v.forward > 0.0)
        .collect();
    let median = weighted_median(&mut votes)?;
    votes.retain(|v| (v.forward - median).abs() <= v.width);
    let forward = fit(&votes, discount)
        .or_else(|| mean(&votes))
        .unwrap_or(median);
    ((forward / spot).ln().abs() <= MAX_LOG_CARRY).then_some(forward)
}

/// One strike's say on the forward.
#[derive(Clone, Copy, Debug)]
struct Vote {
    strike: f64,
    /// `C − P`.
    difference: f64,
    /// `K + (C − P)/D`.
    forward: f64,
    weight: f64,
    /// How far off its quotes allow it to be.
    width: f64,
}

/// The weighted mean of the votes' forwards.
fn mean(votes: &[Vote]) -> Option<f64> {
    let weight: f64 = votes.iter().map(|v| v.weight).sum();
    (weight > 0.0).then(|| votes.iter().map(|v| v.forward * v.weight).sum::<f64>() / weight)
}

/// The forward from a weighted straight line through `C − P` against `K`: `C − P = D·F −
/// D·K`, so the line crosses zero at `F`. Its slope is the market's own discount factor,
/// which frees the forward from ours (a rate, or a time to expiry, a little off tilts
/// every single strike's `K + (C − P)/D` by `(F − K)` times the error). `None` with fewer
/// than four strikes, or a slope that is no discount factor near ours.
fn fit(votes: &[Vote], discount: f64) -> Option<f64> {
    if votes.len() < 4 {
        return None;
    }
    let weight: f64 = votes.iter().map(|v| v.weight).sum();
    let k_mean = votes.iter().map(|v| v.strike * v.weight).sum::<f64>() / weight;
    let d_mean = votes.iter().map(|v| v.difference * v.weight).sum::<f64>() / weight;
    let (mut covariance, mut variance) = (0.0, 0.0);
    for v in votes {
        let dk = v.strike - k_mean;
        covariance += v.weight * dk * (v.difference - d_mean);
        variance += v.weight * dk * dk;
    }
    if variance <= 0.0 {
        return None;
    }
    let slope = covariance / variance;
    // −slope is the market's discount factor: within 2 % of ours, or the fit is noise.
    ((-slope / discount - 1.0).abs() <= 0.02).then(|| k_mean - d_mean / slope)
}

/// The smallest value whose weight, with all smaller ones, reaches half the total.
fn weighted_median(votes: &mut [Vote]) -> Option<f64> {
    votes.sort_by(|a, b| a.forward.total_cmp(&b.forward));
    let total: f64 = votes.iter().map(|v| v.weight).sum();
    let mut running = 0.0;
    for v in votes.iter() {
        running += v.weight;
        if running >= total / 2.0 {
            return Some(v.forward);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chain priced with forward `f` and discount `d` at a flat volatility-free level: the
    /// parity part is all that matters here.
    fn pairs(f: f64, d: f64, strikes: &[f64]) -> Vec<Pair> {
        strikes
            .iter()
            .map(|&k| {
                let time_value = 2.0;
                let call = d * (f - k).max(0.0) + time_value;
                let put = d * (k - f).max(0.0) + time_value;
                Pair {
                    strike: k,
                    call_mid: call,
                    put_mid: put,
                    spread: 0.1,
                }
            })
            .collect()
    }

    #[test]
    fn exact_parity_gives_the_forward() {
        let d = (-0.04f64 * 0.25).exp();
        let strikes: Vec<f64> = (0..21).map(|i| 90.0 + f64::from(i)).collect();
        let f = from_parity(&pairs(101.3, d, &strikes), d, 100.0).unwrap();
        assert!((f - 101.3).abs() < 1e-9, "{f}");
    }

    #[test]
    fn one_bad_quote_near_the_money_does_not_move_it() {
        let d = 0.99;
        let strikes: Vec<f64> = (0..21).map(|i| 90.0 + f64::from(i)).collect();
        let mut chain = pairs(100.2, d, &strikes);
        // A stale put at 100: parity there says 100.7.
        let atm = chain.iter_mut().find(|p| p.strike == 100.0).unwrap();
        atm.put_mid -= 0.5;
        let f = from_parity(&chain, d, 100.0).unwrap();
        assert!((f - 100.2).abs() < 1e-9, "{f}");
    }

    #[test]
    fn rounding_to_the_tick_averages_out() {
        // Mids rounded to nickels: each strike's forward is off by up to a dime, their
        // mean by much less.
        let d = 0.995;
        let strikes: Vec<f64> = (0..21).map(|i| 290.0 + 2.5 * f64::from(i)).collect();
        let nickel = |x: f64| (x / 0.05).round() * 0.05;
        let chain: Vec<Pair> = pairs(301.37, d, &strikes)
            .into_iter()
            .map(|p| Pair {
                call_mid: nickel(p.call_mid),
                put_mid: nickel(p.put_mid),
                spread: 0.2,
                ..p
            })
            .collect();
        let f = from_parity(&chain, d, 300.0).unwrap();
        assert!((f - 301.37).abs() < 0.02, "{f}");
    }

    #[test]
    fn the_market_discount_is_fitted_not_assumed() {
        // Prices discounted at 0.990, our discount factor 0.995 (a rate a little off): each
        // strike alone would be off by (F − K)·0.5 %, the line is not.
        let strikes: Vec<f64> = (0..21).map(|i| 80.0 + 2.0 * f64::from(i)).collect();
        let chain = pairs(101.3, 0.990, &strikes);
        let f = from_parity(&chain, 0.995, 100.0).unwrap();
        assert!((f - 101.3).abs() < 1e-9, "{f}");
    }

    #[test]
    fn tight_quotes_outvote_wide_ones() {
        let vote = |forward, weight| Vote {
            strike: 100.0,
            difference: 0.0,
            forward,
            weight,
            width: 0.1,
        };
        let votes = &mut [vote(100.0, 1.0), vote(101.0, 1.0), vote(100.5, 10.0)];
        assert_eq!(weighted_median(votes), Some(100.5));
    }

    #[test]
    fn nothing_to_go_on_or_an_implausible_carry_is_none() {
        assert_eq!(from_parity(&[], 0.99, 100.0), None);
        let one_sided = Pair {
            strike: 100.0,
            call_mid: 0.0,
            put_mid: 2.0,
            spread: 0.1,
        };
        assert_eq!(from_parity(&[one_sided], 0.99, 100.0), None);
        // A chain whose forward is 150 against a spot of 100: another day's price.
        let d = 0.99;
        assert_eq!(
            from_parity(&pairs(150.0, d, &[149.0, 150.0]), d, 100.0),
            None
        );
    }
}
