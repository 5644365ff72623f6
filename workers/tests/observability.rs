//! A real Prometheus scrapes a running pipeline (`local --once`, which runs the roles
//! Kubernetes runs, collecting from the stand-in providers), evaluates the chart's rules, and
//! answers every Grafana panel's query and every rule's expression through its HTTP API. A
//! query that does not parse fails the test; so does one that returns nothing although every
//! series it reads has data (a renamed metric or label, a wrong aggregation).
//!
//! The run is made to produce what alerts watch: the Twelve Data budget is set above what the
//! stand-in allows (429s), and two of its answers are broken (dead letters). Series it cannot
//! produce (kube-state-metrics', the operator's, 5xx answers) make their queries parse-only;
//! the test says which, and insists that the pipeline's own families are among the checked.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::local::Local;
use optionsflow_testkit::fake::{cboe, twelvedata, yahoo};
use optionsflow_testkit::tansu::free_port;
use optionsflow_workers::market::calendar;
use optionsflow_workers::roles::local::rounds::once_at;
use serde_json::Value;

mod common;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn prometheus_bin() -> String {
    let bin = std::env::var("PROMETHEUS_BIN").unwrap_or_else(|_| "/usr/bin/prometheus".into());
    assert!(
        Path::new(&bin).exists(),
        "{bin} is missing: run scripts/test-services.sh (it installs Debian's prometheus)"
    );
    bin
}

/// A Prometheus server scraping one target every second, with optionsflow's rules.
struct Prometheus {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
}

impl Prometheus {
    fn start(target: &str) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let rules = root().join("charts/optionsflow/files/alerts.yaml");
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {}\n\
             scrape_configs:\n  - job_name: optionsflow\n    static_configs:\n      - targets: ['{target}']\n\
             \x20       labels: {{namespace: local, pipeline: local, role: local}}\n",
            rules.canonicalize().unwrap().display()
        );
        let config_file = dir.path().join("prometheus.yml");
        std::fs::write(&config_file, config).unwrap();
        let listen = format!("127.0.0.1:{}", free_port());
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = Command::new(prometheus_bin())
            .arg(format!("--config.file={}", config_file.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={listen}"))
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        Prometheus {
            child,
            url: format!("http://{listen}"),
            dir,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// An instant query: its result vector, or the error Prometheus gave.
    async fn query(&self, query: &str) -> Result<Vec<Value>, String> {
        let response = reqwest::Client::new()
            .get(format!("{}/api/v1/query", self.url))
            .query(&[("query", query)])
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let body: Value = response.json().await.map_err(|e| e.to_string())?;
        if body["status"] != "success" {
            return Err(format!("{}: {}", body["errorType"], body["error"]));
        }
        match &body["data"]["result"] {
            Value::Array(series) => Ok(series.clone()),
            // A scalar (e.g. `time()`): one value.
            other => Ok(vec![other.clone()]),
        }
    }

    /// Waits until `query` returns something.
    async fn until(&self, query: &str, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            if self.query(query).await.is_ok_and(|r| !r.is_empty()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{query} stayed empty for {within:?}\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Metric names this project's queries read; anything else in a query is a function, a
/// keyword or a label.
const PREFIXES: [&str; 4] = ["optionsflow", "kube_", "process_", "up"];

/// The series selectors of a PromQL expression (name and matchers), skipping strings.
fn selectors(expr: &str) -> Vec<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c.is_ascii_digit() {
            // A number or a duration (`5m`): not a name.
            while i < chars.len() && ident(chars[i]) {
                i += 1;
            }
        } else if ident(c) {
            let start = i;
            while i < chars.len() && ident(chars[i]) {
                i += 1;
            }
            let name: String = chars[start..i].iter().collect();
            let is_call = chars[i..].iter().find(|c| !c.is_whitespace()) == Some(&'(');
            if PREFIXES.iter().any(|p| name.starts_with(p)) && !is_call {
                let mut selector = name;
                if chars.get(i) == Some(&'{') {
                    let open = i;
                    let mut quoted = false;
                    while i < chars.len() && (quoted || chars[i] != '}') {
                        if chars[i] == '"' {
                            quoted = !quoted;
                        }
                        i += 1;
                    }
                    i += 1;
                    selector.extend(&chars[open..i.min(chars.len())]);
                }
                out.push(selector);
            }
        } else {
            i += 1;
        }
    }
    out
}

/// A dashboard query with Grafana's variables set to "all".
fn unvariabled(expr: &str) -> String {
    expr.replace("$namespace", ".*").replace("$pipeline", ".*")
}

/// An alert's expression without its threshold comparisons (`> 1800`, `== 0`): the quantity
/// it watches. Matchers (`{status=~"5.."}`) are left as they are.
fn watched(expr: &str) -> String {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = String::new();
    let (mut i, mut depth, mut quoted) = (0, 0i32, false);
    while i < chars.len() {
        let c = chars[i];
        if quoted {
            quoted = c != '"';
        } else {
            match c {
                '"' => quoted = true,
                '{' => depth += 1,
                '}' => depth -= 1,
                '>' | '<' | '=' | '!' if depth == 0 => {
                    let mut j = i + if chars.get(i + 1) == Some(&'=') { 2 } else { 1 };
                    while j < chars.len() && chars[j].is_whitespace() {
                        j += 1;
                    }
                    let number = j;
                    while j < chars.len() && (chars[j].is_ascii_digit() || chars[j] == '.') {
                        j += 1;
                    }
                    if j > number {
                        i = j;
                        continue;
                    }
                }
                _ => {}
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Every query of every dashboard panel, with where it is.
fn panel_queries() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let dir = root().join("charts/optionsflow/files/dashboards");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 3, "{files:?}");
    for file in files {
        let dashboard: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        for panel in dashboard["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().unwrap() {
                out.push((
                    format!(
                        "{} / {}",
                        dashboard["title"].as_str().unwrap(),
                        panel["title"].as_str().unwrap()
                    ),
                    unvariabled(target["expr"].as_str().unwrap()),
                ));
            }
        }
    }
    out
}

/// Every rule's expression: recording rules as they are, alerts by what they watch.
fn rule_queries() -> Vec<(String, String, String)> {
    let text =
        std::fs::read_to_string(root().join("charts/optionsflow/files/alerts.yaml")).unwrap();
    let file: Value = serde_norway::from_str(&text).unwrap();
    let mut out = Vec::new();
    for group in file["groups"].as_array().unwrap() {
        for rule in group["rules"].as_array().unwrap() {
            let expr = rule["expr"].as_str().unwrap().to_owned();
            match (rule["record"].as_str(), rule["alert"].as_str()) {
                (Some(name), _) => out.push((format!("record {name}"), expr.clone(), expr)),
                (_, Some(name)) => {
                    out.push((format!("alert {name}"), expr.clone(), watched(&expr)))
                }
                _ => panic!("a rule that neither records nor alerts: {rule}"),
            }
        }
    }
    out
}

#[test]
fn the_alert_expressions_lose_only_their_thresholds() {
    assert_eq!(
        watched("optionsflow:behind_schedule_seconds:min > 1800"),
        "optionsflow:behind_schedule_seconds:min "
    );
    assert_eq!(
        watched("x{status=~\"5..\"} / y > 0.05 and z > 0.1"),
        "x{status=~\"5..\"} / y  and z "
    );
    assert_eq!(watched("a{scope=\"day\"} == 0"), "a{scope=\"day\"} ");
    assert_eq!(
        selectors(
            "sum by (le) (rate(optionsflow_http_request_duration_seconds_bucket{namespace=~\".*\", route!=\"unmatched\"}[5m])) * on (pod) group_left () optionsflow:pod_labels"
        ),
        [
            "optionsflow_http_request_duration_seconds_bucket{namespace=~\".*\", route!=\"unmatched\"}",
            "optionsflow:pod_labels"
        ]
    );
    assert_eq!(
        selectors("time() - max(process_start_time_seconds)"),
        ["process_start_time_seconds"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_a_running_pipeline_and_every_panel_and_rule_answers() {
    let today = calendar::exchange_date(once_at(chrono::Utc::now()));
    let mut td_config = twelvedata::Config::free_plan(&["k1"], today);
    td_config.window_seconds = 5;
    let td = twelvedata::FakeTwelveData::start(td_config).await;
    td.fail_next(twelvedata::Failure::Truncated);
    td.fail_next(twelvedata::Failure::BadNumber);
    let mut y_config = yahoo::Config::new(today);
    y_config.window_seconds = 5;
    let y = yahoo::FakeYahoo::start(y_config).await;
    let c = cboe::FakeCboe::start(cboe::Config::new(today)).await;
    // 14 credits of daily and intraday bars at once, where the stand-in allows 8 a window.
    let symbols = [
        "SPY", "AAPL", "MSFT", "QQQ", "IWM", "NVDA", "JPM", "XOM", "TSLA", "AMZN", "META", "GOOG",
    ];
    let config = serde_json::json!({
        "pipeline": {"namespace": "local", "name": "observed"},
        "kafka": {"bootstrapServers": "in-process"},
        "datasets": {
            "daily": {"symbols": symbols, "schedule": "30 16 * * 1-5"},
            "intraday": {"symbols": ["SPY", "AAPL"], "schedule": "*/15 9-16 * * 1-5"},
            "options": {"symbols": ["SPY", "AAPL"], "horizonDays": 40, "schedule": "0,30 10-15 * * 1-5"}
        },
        "sources": {
            // More than the stand-in's free plan allows in its 5-second window: 429s.
            "twelveData": {"baseUrl": td.url(), "symbolsPerTask": 1,
                           "budget": {"perWindow": 40, "windowSeconds": 5, "perDay": 800}},
            "yahoo": {"baseUrl": y.base_url(), "cookieUrl": y.cookie_url(), "crumbUrl": y.crumb_url(),
                      "budget": {"perWindow": 10, "windowSeconds": 5}},
            "cboe": {"baseUrl": c.url(), "budget": {"perWindow": 30, "windowSeconds": 5}},
            "sample": {}
        },
        "sinks": {"sqlite": {"path": "data/observed.db"}, "folder": {"path": "data/files"}}
    });
    let local = tokio::task::spawn_blocking(move || Local::start_with(Some(&config), Some("k1")))
        .await
        .unwrap();
    assert!(
        !td.rate_limited().is_empty(),
        "the stand-in answered no 429:\n{}",
        local.output()
    );
    let target = local
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let prometheus = Prometheus::start(&target);

    // The API in use: pages, a series, a 404.
    for path in [
        "",
        "api/v1/symbols",
        "api/v1/bars/SPY?interval=1day",
        "api/v1/nothing",
    ] {
        reqwest::get(format!("{}{path}", local.url)).await.unwrap();
    }

    prometheus
        .until("up{job=\"optionsflow\"} == 1", Duration::from_secs(60))
        .await;
    // Enough scrapes and rule evaluations for rates and deltas (two samples in a window).
    prometheus
        .until(
            "count_over_time(optionsflow:consumer_lag_messages:sum[1m]) > 5",
            Duration::from_secs(60),
        )
        .await;

    let mut failures = Vec::new();
    let mut checked = Vec::new();
    let mut parse_only = Vec::new();
    let queries = panel_queries()
        .into_iter()
        .map(|(place, q)| (place, q.clone(), q))
        .chain(rule_queries());
    for (place, expr, measured) in queries {
        if let Err(e) = prometheus.query(&expr).await {
            failures.push(format!("{place}: does not parse: {e}\n  {expr}"));
            continue;
        }
        let mut empty = Vec::new();
        for selector in selectors(&measured) {
            if prometheus
                .query(&selector)
                .await
                .map_or(true, |r| r.is_empty())
            {
                empty.push(selector);
            }
        }
        if !empty.is_empty() {
            parse_only.push(format!("{place} (no data for {})", empty.join(", ")));
            continue;
        }
        match prometheus.query(&measured).await {
            Ok(result) if !result.is_empty() => checked.push(measured),
            Ok(_) => failures.push(format!(
                "{place}: empty although every series it reads has data\n  {measured}"
            )),
            Err(e) => failures.push(format!("{place}: does not parse: {e}\n  {measured}")),
        }
    }
    eprintln!(
        "{} queries answered with data; parse-only:\n  {}",
        checked.len(),
        parse_only.join("\n  ")
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // The pipeline's own families are among those answered with data.
    for family in [
        "optionsflow_provider_requests_total",
        "optionsflow:budget_credits_left:min",
        "optionsflow:rate_limited:increase15m",
        "optionsflow:dead_letters:increase30m",
        "optionsflow_write_newest_record_timestamp_seconds",
        "optionsflow_process_newest_record_timestamp_seconds",
        "optionsflow:behind_schedule_seconds:min",
        "optionsflow_consumer_lag_messages",
        "optionsflow:consumer_lag_messages:sum",
        "optionsflow_http_request_duration_seconds_bucket",
        "optionsflow:http_request_duration_seconds:p99_5m",
        "optionsflow_http_requests_in_flight",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
        "optionsflow_build_info",
        "optionsflow_process_records_total",
        "optionsflow_write_rows_total",
    ] {
        assert!(
            checked.iter().any(|q| q.contains(family)),
            "no query over {family} was answered with data"
        );
    }
    // Grafana's variables find the pipeline.
    let series = prometheus
        .query("optionsflow_build_info{namespace=\"local\", pipeline=\"local\"}")
        .await
        .unwrap();
    assert_eq!(series.len(), 1, "{series:?}");
    assert_eq!(series[0]["metric"]["binary"], "optionsflow-worker");
    // Each writer's behind-schedule figure is a number of seconds (0 on a closed day).
    let behind = prometheus
        .query("optionsflow_write_behind_schedule_seconds")
        .await
        .unwrap();
    assert!(!behind.is_empty());
    for s in behind {
        let value: f64 = s["value"][1].as_str().unwrap().parse().unwrap();
        assert!(value >= 0.0, "{s}");
    }
    drop(local);
}
