//! `optionsflow-worker greeks` against an exact reference: scripts/iv-accuracy.py prices
//! random options with mpmath at 40 digits and counts the implied volatilities within 4x the
//! error a single rounding of the price induces, on Black's inputs (r = q = 0) and on
//! Black-Scholes-Merton ones with rates and dividend yields; it also prices in-the-money
//! options one double either side of the exact European floor. A guard against
//! regressions; the 20,000-case measurements and their figures are in docs/processing.md.

use std::process::Command;

fn accuracy(extra: &[&str]) -> String {
    let python = std::env::var("OPTIONSFLOW_PYTHON")
        .expect("OPTIONSFLOW_PYTHON names a Python with mpmath: run scripts/test-services.sh");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/iv-accuracy.py");
    let out = Command::new(python)
        .args([
            script,
            "--worker",
            env!("CARGO_BIN_EXE_optionsflow-worker"),
            "--cases",
            "3000",
            "--min-share",
            "0.995",
        ])
        .args(extra)
        .output()
        .expect("the accuracy script runs");
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("3000 cases"), "{report}");
    report
}

#[test]
fn black_implied_vols_are_within_the_rounding_bound_of_an_exact_reference() {
    accuracy(&[]);
}

#[test]
fn with_rates_and_yields_too_and_nothing_below_the_exact_floor_gets_a_volatility() {
    let report = accuracy(&["--with-rates", "--floor-cases", "1000"]);
    assert!(
        report.contains("2000 prices one double from the exact floor: 0 below it with a volatility, 0 above it called below_intrinsic"),
        "{report}"
    );
}
