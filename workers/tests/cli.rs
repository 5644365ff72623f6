//! The `optionsflow-worker` command line, as people use it.

use std::process::{Command, Output};

const WORKER: &str = env!("CARGO_BIN_EXE_optionsflow-worker");

fn run(args: &[&str]) -> Output {
    Command::new(WORKER)
        .args(args)
        .output()
        .expect("the worker runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn calendar_answers_the_weekly_question() {
    let o = run(&["calendar", "--date", "2026-11-27"]);
    assert!(o.status.success());
    assert_eq!(
        stdout(&o),
        "2026-11-27 (Friday): open 09:30–13:00 America/New_York (early close: Day after Thanksgiving)\n"
    );
    let o = run(&["calendar", "--date", "2025-01-09"]);
    assert_eq!(
        stdout(&o),
        "2025-01-09 (Thursday): closed, National day of mourning for President Carter\n"
    );
    let o = run(&["calendar", "--date", "2026-11-24", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(doc["session"]["closesUtc"], "2026-11-24T21:00:00Z");
}

#[test]
fn calendar_lists_a_year() {
    let o = run(&["calendar", "--year", "2027", "--format", "csv"]);
    assert!(o.status.success());
    let text = stdout(&o);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("date,weekday,kind,name,close"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 11, "ten holidays and one early close");
    assert!(rows.contains(&"2027-12-24,Fri,holiday,Christmas Day,"));
    assert!(rows.contains(&"2027-11-26,Fri,early_close,Day after Thanksgiving,13:00"));
    let text = stdout(&run(&["calendar", "--year", "2026"]));
    assert!(text.starts_with("NYSE 2026: 251 trading days"), "{text}");
}

#[test]
fn calendar_rejects_bad_input_clearly() {
    let o = run(&["calendar", "--date", "2026-02-30"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--date"), "{}", stderr(&o));
}

fn config(dir: &tempfile::TempDir, body: &str) -> String {
    let path = dir.path().join("runtime.json");
    std::fs::write(&path, body).unwrap();
    path.to_str().unwrap().to_owned()
}

// Nothing listens on this port: a trigger with nothing to collect never needs the broker.
const NO_BROKER: &str = r#"{"pipeline":{"namespace":"m","name":"p"},"kafka":{"bootstrapServers":"127.0.0.1:9"},
    "datasets":{"daily":{"symbols":["AAPL"]},"intraday":{"symbols":["AAPL"]},"options":{"symbols":["SPY"]}}}"#;

#[test]
fn trigger_says_why_there_is_nothing_to_collect() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(&dir, NO_BROKER);
    let o = run(&[
        "trigger",
        "--config",
        &path,
        "--dataset",
        "daily",
        "--at",
        "2026-11-26T22:00:00Z",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "nothing to collect for daily: 2026-11-26 is Thanksgiving Day: the market is closed\n"
    );
    let o = run(&[
        "trigger",
        "--config",
        &path,
        "--dataset",
        "intraday",
        "--at",
        "2026-11-24T23:00:00Z",
    ]);
    assert!(o.status.success());
    assert!(
        stdout(&o).contains("outside the regular session"),
        "{}",
        stdout(&o)
    );
    let o = run(&[
        "trigger",
        "--config",
        &path,
        "--dataset",
        "historical",
        "--at",
        "2026-11-24T23:00:00Z",
    ]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("no symbols"), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("\"level\":\"INFO\""),
        "logs are JSON: {}",
        stderr(&o)
    );
}

#[test]
fn bad_configs_fail_with_the_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(
        &dir,
        &NO_BROKER.replace("\"AAPL\"]},\"intraday", "\"aapl\"]},\"intraday"),
    );
    let o = run(&["trigger", "--config", &path, "--dataset", "daily"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("runtime.json") && err.contains("datasets.daily.symbols[0]"),
        "{err}"
    );
    let o = run(&[
        "collect",
        "--config",
        "/nonexistent/runtime.json",
        "--admin-addr",
        "127.0.0.1:0",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cannot read runtime config /nonexistent/runtime.json"),
        "{}",
        stderr(&o)
    );
    let o = run(&["trigger", "--config", &path, "--dataset", "weekly"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("unknown dataset"), "{}", stderr(&o));
}
