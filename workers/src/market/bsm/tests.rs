use super::*;
use proptest::prelude::*;

fn inputs(spot: f64, strike: f64, years: f64, rate: f64, q: f64, right: OptionRight) -> Inputs {
    Inputs {
        spot,
        strike,
        years,
        rate,
        dividend_yield: q,
        right,
    }
}

fn close(actual: f64, expected: f64, tolerance: f64) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{actual} is not within {tolerance} of {expected}"
    );
}

#[test]
fn py_vollib_doctest_price() {
    let call = inputs(100.0, 100.0, 0.5, 0.01, 0.0, OptionRight::Call);
    close(price(&call, 0.2).unwrap(), 5.876024, 5e-7);
}

/// The check values of docs/market-data.md.
#[test]
fn reference_prices_and_greeks() {
    let call = inputs(100.0, 105.0, 30.0 / 365.0, 0.045, 0.01, OptionRight::Call);
    let put = Inputs {
        right: OptionRight::Put,
        ..call
    };
    close(price(&call, 0.25).unwrap(), 1.155982, 5e-7);
    close(price(&put, 0.25).unwrap(), 5.850501, 5e-7);
    let c = greeks(&call, 0.25).unwrap();
    let p = greeks(&put, 0.25).unwrap();
    close(c.delta, 0.272445, 5e-7);
    close(p.delta, -0.726734, 5e-7);
    close(c.gamma, 0.046321, 5e-7);
    close(p.gamma, 0.046321, 5e-7);
    close(c.vega, 0.095181, 5e-7);
    close(c.theta, -0.042129, 5e-7);
    close(p.theta, -0.031969, 5e-7);
    close(c.rho, 0.021443, 5e-7);
    close(p.rho, -0.064540, 5e-7);
    // And back: the reference prices imply the volatility they came from.
    close(implied_vol(&call, 1.155982).unwrap(), 0.25, 1e-6);
    close(implied_vol(&put, 5.850501).unwrap(), 0.25, 1e-6);
}

#[test]
fn put_call_parity_holds() {
    let call = inputs(150.0, 140.0, 0.75, 0.03, 0.015, OptionRight::Call);
    let put = Inputs {
        right: OptionRight::Put,
        ..call
    };
    let parity = call.spot * (-call.dividend_yield * call.years).exp()
        - call.strike * (-call.rate * call.years).exp();
    close(
        price(&call, 0.3).unwrap() - price(&put, 0.3).unwrap(),
        parity,
        1e-12 * call.spot,
    );
}

#[test]
fn prices_outside_the_bounds_have_no_iv() {
    // The reference's deep ITM call: the European floor is above S − K.
    let call = inputs(150.0, 100.0, 60.0 / 365.0, 0.045, 0.0, OptionRight::Call);
    let floor = call.bounds().lower;
    assert!(floor > 50.7 && floor < 50.8, "{floor}");
    assert_eq!(implied_vol(&call, 50.2), Err(IvStatus::BelowIntrinsic));
    assert_eq!(implied_vol(&call, 150.0), Err(IvStatus::AboveMaximum));
    assert_eq!(implied_vol(&call, 1e9), Err(IvStatus::AboveMaximum));
    let put = inputs(100.0, 120.0, 0.5, 0.02, 0.0, OptionRight::Put);
    assert_eq!(implied_vol(&put, 120.0), Err(IvStatus::AboveMaximum));
    assert_eq!(implied_vol(&put, 1.0), Err(IvStatus::BelowIntrinsic));
    // At the floor the volatility is zero, and zero volatility has no Greeks.
    let otm = inputs(100.0, 120.0, 0.5, 0.02, 0.0, OptionRight::Call);
    assert_eq!(implied_vol(&otm, 0.0), Ok(0.0));
    assert_eq!(greeks(&otm, 0.0), None);
}

#[test]
fn invalid_inputs_are_refused_not_propagated() {
    let good = inputs(100.0, 100.0, 0.5, 0.01, 0.0, OptionRight::Call);
    for bad in [
        Inputs { spot: 0.0, ..good },
        Inputs { spot: -1.0, ..good },
        Inputs {
            spot: f64::NAN,
            ..good
        },
        Inputs {
            strike: 0.0,
            ..good
        },
        Inputs {
            strike: f64::INFINITY,
            ..good
        },
        Inputs { years: 0.0, ..good },
        Inputs {
            years: -0.1,
            ..good
        },
        Inputs {
            rate: f64::NAN,
            ..good
        },
        Inputs {
            dividend_yield: f64::NEG_INFINITY,
            ..good
        },
    ] {
        assert_eq!(
            implied_vol(&bad, 5.0),
            Err(IvStatus::InvalidInput),
            "{bad:?}"
        );
        assert_eq!(price(&bad, 0.2), None, "{bad:?}");
        assert_eq!(greeks(&bad, 0.2), None, "{bad:?}");
    }
    for bad_price in [f64::NAN, f64::INFINITY, -1.0, f64::MAX] {
        let status = implied_vol(&good, bad_price);
        assert!(status.is_err(), "{bad_price}: {status:?}");
    }
    assert_eq!(price(&good, f64::NAN), None);
    assert_eq!(greeks(&good, f64::INFINITY), None);
}

fn right() -> impl Strategy<Value = OptionRight> {
    prop_oneof![Just(OptionRight::Call), Just(OptionRight::Put)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 20_000, max_global_rejects: 200_000, ..ProptestConfig::default() })]

    /// price → IV → price over the whole domain: spots from a cent to 100,000, strikes from a
    /// 20th to 20 times the spot, an hour to 30 years, volatilities from 1 % to 500 %,
    /// negative to high rates. Wherever the price carries information about volatility (its
    /// time value is not lost in rounding), the implied volatility reprices it to within a few
    /// units of its last digit, and never comes back as NaN.
    #[test]
    fn price_iv_price_round_trips(
        log_spot in (0.01f64).ln()..(100_000f64).ln(),
        log_moneyness in (0.05f64).ln()..(20f64).ln(),
        years in (1.0 / (365.0 * 24.0))..30.0f64,
        sigma in 0.01..5.0f64,
        rate in -0.02..0.15f64,
        q in 0.0..0.1f64,
        right in right(),
    ) {
        let spot = log_spot.exp();
        let x = inputs(spot, spot * log_moneyness.exp(), years, rate, q, right);
        let p = price(&x, sigma).unwrap();
        let bounds = x.bounds();
        // Time value lost to rounding, or a price too small to carry any.
        prop_assume!(p - bounds.lower > 1e-9 * p && p > 1e-250 && p < bounds.upper * (1.0 - 1e-12));
        let iv = implied_vol(&x, p);
        prop_assert!(iv.is_ok(), "no IV for {x:?} price {p}: {iv:?}");
        let iv = iv.unwrap();
        prop_assert!(iv.is_finite() && iv > 0.0);
        let back = price(&x, iv).unwrap();
        prop_assert!((back - p).abs() <= 1e-11 * p, "{x:?} σ {sigma}: price {p} → IV {iv} → {back}");
        if let Some(g) = greeks(&x, iv) {
            prop_assert!(g.gamma >= 0.0 && g.vega >= 0.0);
        }
    }

    /// Any numbers at all, however absurd, give a result or a reason: never a panic, a NaN
    /// or an infinity.
    #[test]
    fn anything_gives_a_number_or_a_reason(
        spot in prop::num::f64::ANY,
        strike in prop::num::f64::ANY,
        years in prop::num::f64::ANY,
        rate in prop::num::f64::ANY,
        p in prop::num::f64::ANY,
        right in right(),
    ) {
        let x = inputs(spot, strike, years, rate, 0.0, right);
        if let Ok(iv) = implied_vol(&x, p) {
            prop_assert!(iv.is_finite() && iv >= 0.0);
            if let Some(g) = greeks(&x, iv) {
                prop_assert!(g.delta.is_finite() && g.theta.is_finite() && g.rho.is_finite());
            }
        }
        if let Some(p) = price(&x, 0.3) {
            prop_assert!(p.is_finite());
        }
    }
}
