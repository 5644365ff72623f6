//! Black-Scholes-Merton with a continuous dividend yield: prices, implied volatility and
//! Greeks of European options (docs/market-data.md, docs/processing.md).
//!
//! Implied volatility is Peter Jäckel's "Let's Be Rational" from the `implied-vol` crate
//! (MIT), which works on undiscounted Black prices: a BSM price is divided by the discount
//! factor `D = e^(−rT)` and the spot becomes the forward `F = S·e^((r−q)T)`, as py_vollib
//! does. Every function here returns a finite number or a reason; none panics and none
//! returns NaN or an infinity.

use implied_vol::solver::Experimental;
use implied_vol::{DefaultSpecialFn, ImpliedBlackVolatility, PriceBlackScholes, SpecialFn};
use optionsflow_api::records::{IvStatus, OptionRight};

/// Days in the year of theta's "per day" and of time to expiry.
pub const DAYS_PER_YEAR: f64 = 365.0;

/// One option's pricing inputs. Rates are continuously compounded annual decimals.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Inputs {
    pub spot: f64,
    pub strike: f64,
    /// Time to expiry in years.
    pub years: f64,
    pub rate: f64,
    pub dividend_yield: f64,
    pub right: OptionRight,
}

/// Sensitivities in the market's quoting conventions (as py_vollib's analytical Greeks).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Greeks {
    pub delta: f64,
    pub gamma: f64,
    /// Per calendar day.
    pub theta: f64,
    /// Per vol point (a change of 0.01 in volatility).
    pub vega: f64,
    /// Per rate point (a change of 0.01 in the rate).
    pub rho: f64,
}

/// The no-arbitrage price range of a European option, discounted (today's money).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bounds {
    /// Reached as volatility goes to zero: the discounted intrinsic value of the forward.
    pub lower: f64,
    /// Approached as volatility goes to infinity: `S·e^(−qT)` for calls, `K·e^(−rT)` for puts.
    pub upper: f64,
}

impl Inputs {
    /// Spot, strike and time positive; every number finite.
    pub fn is_valid(&self) -> bool {
        self.spot.is_finite()
            && self.spot > 0.0
            && self.strike.is_finite()
            && self.strike > 0.0
            && self.years.is_finite()
            && self.years > 0.0
            && self.rate.is_finite()
            && self.dividend_yield.is_finite()
    }

    pub fn discount(&self) -> f64 {
        (-self.rate * self.years).exp()
    }

    pub fn forward(&self) -> f64 {
        self.spot * ((self.rate - self.dividend_yield) * self.years).exp()
    }

    fn is_call(&self) -> bool {
        self.right == OptionRight::Call
    }

    /// The range in which a price has an implied volatility.
    pub fn bounds(&self) -> Bounds {
        self.bounds_with(self.discount(), self.forward())
    }

    fn bounds_with(&self, d: f64, f: f64) -> Bounds {
        let k = self.strike;
        if self.is_call() {
            Bounds {
                lower: d * (f - k).max(0.0),
                upper: d * f,
            }
        } else {
            Bounds {
                lower: d * (k - f).max(0.0),
                upper: d * k,
            }
        }
    }
}

/// The option's price at volatility `sigma`. `None` for invalid inputs or volatility.
pub fn price(inputs: &Inputs, sigma: f64) -> Option<f64> {
    if !inputs.is_valid() || !sigma.is_finite() || sigma < 0.0 {
        return None;
    }
    let undiscounted = PriceBlackScholes::builder()
        .forward(inputs.forward())
        .strike(inputs.strike)
        .volatility(sigma)
        .expiry(inputs.years)
        .is_call(inputs.is_call())
        .build()?
        .calculate::<DefaultSpecialFn>();
    let price = undiscounted * inputs.discount();
    price.is_finite().then_some(price)
}

/// The volatility at which the model price equals `price`, or why there is none.
///
/// A price at the lower bound has volatility 0; below it, or at or above the upper bound,
/// there is none. Uses Jäckel's solver directly: two Householder steps from a rational guess,
/// to the precision the price's own rounding allows.
pub fn implied_vol(inputs: &Inputs, price: f64) -> Result<f64, IvStatus> {
    if !inputs.is_valid() || !price.is_finite() || price < 0.0 {
        return Err(IvStatus::InvalidInput);
    }
    let (discount, forward) = (inputs.discount(), inputs.forward());
    let bounds = inputs.bounds_with(discount, forward);
    if price < bounds.lower {
        return Err(IvStatus::BelowIntrinsic);
    }
    if price >= bounds.upper {
        return Err(IvStatus::AboveMaximum);
    }
    let solver = ImpliedBlackVolatility::builder()
        .option_price(price / discount)
        .forward(forward)
        .strike(inputs.strike)
        .expiry(inputs.years)
        .is_call(inputs.is_call())
        .build()
        .ok_or(IvStatus::InvalidInput)?;
    // The crate's `experimental` solver: Let's Be Rational with more exact rational
    // approximations, 99.9 % within the rounding bound on the mpmath reference set where the
    // plain port reaches 99.2 %. It relies on fused multiply-add, which .cargo/config.toml
    // enables for x86_64 builds; without it it is half as fast (docs/processing.md).
    match solver.calculate_with::<Experimental>() {
        Some(sigma) if sigma.is_finite() && sigma >= 0.0 => Ok(sigma),
        Some(sigma) if sigma.is_infinite() => Err(IvStatus::AboveMaximum),
        // Undiscounting can move a price that was just inside a bound to just outside it.
        _ if price / discount <= bounds.lower / discount * (1.0 + 4.0 * f64::EPSILON) => {
            Err(IvStatus::BelowIntrinsic)
        }
        _ => Err(IvStatus::AboveMaximum),
    }
}

fn norm_cdf(x: f64) -> f64 {
    DefaultSpecialFn::norm_cdf(x)
}

fn norm_pdf(x: f64) -> f64 {
    const ONE_OVER_SQRT_TWO_PI: f64 = 0.398_942_280_401_432_7;
    ONE_OVER_SQRT_TWO_PI * (-0.5 * x * x).exp()
}

/// Greeks at volatility `sigma`; `None` when inputs are invalid or `sigma` is not positive
/// (at zero volatility gamma and vega are degenerate).
pub fn greeks(inputs: &Inputs, sigma: f64) -> Option<Greeks> {
    if !inputs.is_valid() || !sigma.is_finite() || sigma <= 0.0 {
        return None;
    }
    let Inputs {
        spot: s,
        strike: k,
        years: t,
        rate: r,
        dividend_yield: q,
        ..
    } = *inputs;
    let sqrt_t = t.sqrt();
    let total_vol = sigma * sqrt_t;
    let d1 = ((s / k).ln() + (r - q + 0.5 * sigma * sigma) * t) / total_vol;
    let d2 = d1 - total_vol;
    let carry = (-q * t).exp();
    let discount = (-r * t).exp();
    let density = norm_pdf(d1);
    let gamma = carry * density / (s * total_vol);
    let vega = s * carry * density * sqrt_t;
    let decay = -s * carry * density * sigma / (2.0 * sqrt_t);
    let (delta, theta, rho) = match inputs.right {
        OptionRight::Call => (
            carry * norm_cdf(d1),
            decay + q * s * carry * norm_cdf(d1) - r * k * discount * norm_cdf(d2),
            k * t * discount * norm_cdf(d2),
        ),
        OptionRight::Put => (
            -carry * norm_cdf(-d1),
            decay - q * s * carry * norm_cdf(-d1) + r * k * discount * norm_cdf(-d2),
            -k * t * discount * norm_cdf(-d2),
        ),
    };
    let greeks = Greeks {
        delta,
        gamma,
        theta: theta / DAYS_PER_YEAR,
        vega: vega * 0.01,
        rho: rho * 0.01,
    };
    [
        greeks.delta,
        greeks.gamma,
        greeks.theta,
        greeks.vega,
        greeks.rho,
    ]
    .iter()
    .all(|g| g.is_finite())
    .then_some(greeks)
}

#[cfg(test)]
mod tests;
