//! `optionsflow-worker greeks` against an exact reference: scripts/iv-accuracy.py prices
//! random options with mpmath at 40 digits and counts the implied volatilities within 4x the
//! error a single rounding of the price induces. A guard against regressions; the full
//! 20,000-case measurement and its figures are in docs/processing.md.

use std::process::Command;

#[test]
fn implied_vols_are_within_the_rounding_bound_of_an_exact_reference() {
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
        .output()
        .expect("the accuracy script runs");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("3000 cases"), "{report}");
}
