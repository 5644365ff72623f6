//! Black-Scholes-Merton with a continuous dividend yield: prices, implied volatility and
//! Greeks of European options (docs/market-data.md, docs/processing.md).
//!
//! Implied volatility is Peter Jäckel's "Let's Be Rational" from the `implied-vol` crate
//! (MIT), which works on undiscounted Black prices: a BSM price is divided by the discount
//! factor `D = e^(−rT)` and the spot becomes the forward `F = S·e^((r−q)T)`, as py_vollib
//! does. Every function here returns a finite number or a reason; none panics and none
//! returns NaN or an infinity.

mod dd;

use implied_vol::solver::Experimental;
use implied_vol::{
    DefaultSpecialFn, ImpliedBlackVolatilityNormalised, PriceBlackScholes, SpecialFn,
};
use optionsflow_api::records::{IvStatus, OptionRight};

use self::dd::Dd;

/// Relative distance from the upper bound within which a price is at it: far below what a
/// double price resolves (2^-53), far above the forward's and discount factor's own error.
const CAP_TOLERANCE: f64 = 1e-19;

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
        let (d, f, k) = (self.discount(), self.forward(), self.strike);
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
/// there is none. The bounds are decided in double-double arithmetic, so a price that is
/// below intrinsic value in exact arithmetic is `BelowIntrinsic` even when the rounded
/// forward would say otherwise. Jäckel's solver then inverts the normalised time value:
/// two Householder steps from a rational guess, to the precision the price's own rounding
/// allows.
pub fn implied_vol(inputs: &Inputs, price: f64) -> Result<f64, IvStatus> {
    implied_vol_with(inputs, price, &Carry::of(inputs))
}

/// [`implied_vol`] with the carry of `inputs` already worked out, for rows that share a
/// rate, a dividend yield and an expiry (a chain). `carry` must be [`Carry::of`] them.
pub fn implied_vol_with(inputs: &Inputs, price: f64, carry: &Carry) -> Result<f64, IvStatus> {
    if !inputs.is_valid() || !price.is_finite() || price < 0.0 {
        return Err(IvStatus::InvalidInput);
    }
    debug_assert!(carry.fits(inputs));
    let black = Black::of(inputs, carry);
    let k = Dd::new(inputs.strike);
    let undiscounted = Dd::new(price).div(black.discount);
    let (intrinsic, cap) = if inputs.is_call() {
        (black.forward.sub(k), black.forward)
    } else {
        (k.sub(black.forward), k)
    };
    // A price that equals the cap in exact arithmetic may land a hair either side of it
    // here; nothing a double price can say is that close, so that is the cap.
    if cap.sub(undiscounted).value() <= cap.hi * CAP_TOLERANCE {
        return Err(IvStatus::AboveMaximum);
    }
    let time_value = if intrinsic.is_negative() {
        undiscounted
    } else {
        undiscounted.sub(intrinsic)
    };
    if time_value.is_negative() {
        return Err(IvStatus::BelowIntrinsic);
    }
    if time_value.value() == 0.0 {
        return Ok(0.0);
    }
    let beta = time_value
        .div(black.forward.mul_f64(inputs.strike).sqrt())
        .value();
    let solver = ImpliedBlackVolatilityNormalised::builder()
        .log_moneyness(-black.log_moneyness.abs())
        .normalised_price(beta)
        .build()
        .ok_or(IvStatus::InvalidInput)?;
    // The crate's `experimental` solver: Let's Be Rational with more exact rational
    // approximations, 99.9 % within the rounding bound on the mpmath reference set where the
    // plain port reaches 99.2 %. It relies on fused multiply-add, which .cargo/config.toml
    // enables for x86_64 builds; without it it is half as fast (docs/processing.md).
    match solver.calculate_with::<Experimental>() {
        Some(total) if total.is_finite() && total >= 0.0 => Ok(total / inputs.years.sqrt()),
        // The normalised time value rounded onto its cap: the price is at the maximum.
        _ => Err(IvStatus::AboveMaximum),
    }
}

/// What depends only on the rate, the dividend yield and the time to expiry: the growth
/// from spot to forward and the discount factor, in double-double so that rounding them
/// costs nothing against the rounding of the price itself (a forward rounded to a double
/// moves a deep in-the-money call's value by `D·ulp(F)/2`, many times the price's own half
/// ulp). Worth keeping across the rows of one expiry.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Carry {
    /// (rate, dividend yield, years) it was made for, bit for bit.
    key: [u64; 3],
    /// (r − q)·T.
    carry: Dd,
    /// `F/S − 1`.
    growth: Dd,
    /// `e^(−rT)`.
    discount: Dd,
}

impl Carry {
    pub fn of(inputs: &Inputs) -> Carry {
        // (r − q)·T and r·T exactly, then e^x − 1 of each, so 1 + (e^x − 1) keeps the digits
        // e^x would lose.
        let carry = Dd::sum(inputs.rate, -inputs.dividend_yield).mul_f64(inputs.years);
        Carry {
            key: Carry::key(inputs),
            carry,
            growth: carry.exp_m1(),
            discount: Dd::ONE.add(Dd::product(-inputs.rate, inputs.years).exp_m1()),
        }
    }

    /// The carry in `cache` when it fits `inputs`, else a new one, kept there.
    pub fn cached<'c>(cache: &'c mut Option<Carry>, inputs: &Inputs) -> &'c Carry {
        match cache {
            Some(c) if c.fits(inputs) => {}
            _ => *cache = Some(Carry::of(inputs)),
        }
        cache.as_ref().expect("just filled")
    }

    /// Made for these inputs' rate, dividend yield and time.
    pub fn fits(&self, inputs: &Inputs) -> bool {
        self.key == Carry::key(inputs)
    }

    fn key(inputs: &Inputs) -> [u64; 3] {
        [
            inputs.rate.to_bits(),
            inputs.dividend_yield.to_bits(),
            inputs.years.to_bits(),
        ]
    }
}

/// One option in Black's terms.
struct Black {
    forward: Dd,
    discount: Dd,
    /// `ln(F/K)`, accurate in absolute terms even near the money.
    log_moneyness: f64,
}

impl Black {
    fn of(inputs: &Inputs, carry: &Carry) -> Black {
        let forward = Dd::new(inputs.spot).add(carry.growth.mul_f64(inputs.spot));
        let log_moneyness = Dd::sum(dd::ln_ratio(inputs.spot, inputs.strike), carry.carry.hi)
            .add(Dd::new(carry.carry.lo))
            .value();
        Black {
            forward,
            discount: carry.discount,
            log_moneyness,
        }
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
    let factors = (
        (-inputs.dividend_yield * inputs.years).exp(),
        inputs.discount(),
    );
    greeks_from(inputs, sigma, factors)
}

/// [`greeks`] with the discount factors taken from `carry` (the [`Carry::of`] `inputs`),
/// for rows of one chain.
pub fn greeks_with(inputs: &Inputs, sigma: f64, carry: &Carry) -> Option<Greeks> {
    debug_assert!(carry.fits(inputs));
    let discount = carry.discount.value();
    // e^(−qT) = e^(−rT) · e^((r−q)T).
    let dividend_discount = carry.discount.mul(Dd::ONE.add(carry.growth)).value();
    greeks_from(inputs, sigma, (dividend_discount, discount))
}

/// Greeks given `e^(−qT)` and `e^(−rT)`.
fn greeks_from(inputs: &Inputs, sigma: f64, (carry, discount): (f64, f64)) -> Option<Greeks> {
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
