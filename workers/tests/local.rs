//! `optionsflow-worker local --once` as a newcomer runs it: offline, on the sample source,
//! into SQLite and a folder, then the API it serves, the web page in headless Chromium
//! (with a screenshot kept in target/test-artefacts/), and Ctrl-C.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::WORKER as BINARY;
use common::local::Local;
use optionsflow_testkit::tansu::free_port;
use serde_json::Value;
use sqlx::Row;

mod common;

/// A table's (rows written, rows in the table) in the summary.
fn summary_count(summary: &str, table: &str) -> (u64, u64) {
    let line = summary
        .lines()
        .find(|l| l.trim_start().starts_with(table))
        .unwrap_or_else(|| panic!("no {table} line in\n{summary}"));
    let numbers: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(numbers.len(), 2, "{line:?}");
    (numbers[0], numbers[1])
}

/// One round, then exit, quietly, on a port of the system's choosing.
const ONCE_AND_EXIT: [&str; 6] = [
    "local",
    "--once",
    "--exit",
    "--no-progress",
    "--listen",
    "127.0.0.1:0",
];

#[test]
fn once_exit_runs_from_an_empty_folder_and_a_missing_config_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BINARY)
        .args(ONCE_AND_EXIT)
        .current_dir(dir.path())
        .env_remove("TWELVEDATA_API_KEYS")
        .env_remove("OPTIONSFLOW_CONFIG")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("SAMPLE DATA"), "{said}");
    assert!(dir.path().join("optionsflow-data/optionsflow.db").is_file());

    let out = Command::new(BINARY)
        .args(["local", "--once", "--exit", "--config", "nowhere.json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot read runtime config nowhere.json"),
        "{err}"
    );
}

/// `local` runs every writer the config names, InfluxDB's too: `local --once --exit` fills
/// InfluxDB with the round's intraday bars. A writer its store refuses stops `local` with the
/// role and the reason (a non-zero exit), instead of waiting for a drain that cannot come.
#[test]
fn local_runs_the_influxdb_writer_and_stops_with_a_refused_writer_s_reason() {
    let influx = optionsflow_testkit::influx::Influxd::start();
    influx.query("", "CREATE DATABASE market");
    let run = |database: &str| {
        let dir = tempfile::tempdir().unwrap();
        let mut config: Value =
            serde_json::from_str(include_str!("../../config/samples/local.json")).unwrap();
        config["sinks"]["influxdb"] =
            serde_json::json!({"url": influx.url(), "database": database});
        std::fs::write(dir.path().join("with-influx.json"), config.to_string()).unwrap();
        let out = Command::new(BINARY)
            .args(ONCE_AND_EXIT)
            .args(["--source", "sample", "--config", "with-influx.json"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&[out.stdout, out.stderr].concat()).into_owned();
        (out.status.success(), said)
    };

    let (ok, said) = run("market");
    assert!(ok, "{said}");
    let answer = influx.query("market", "SELECT count(close) FROM intraday_bars");
    let bars = answer["results"][0]["series"][0]["values"][0][1]
        .as_i64()
        .unwrap_or(0);
    assert!(bars > 0, "no intraday bars in InfluxDB: {answer}\n{said}");

    let (ok, said) = run("nowhere");
    assert!(!ok, "{said}");
    assert!(
        said.contains("write-influx: stopped") && said.contains("database not found"),
        "{said}"
    );
}

async fn get(url: &str) -> reqwest::Response {
    reqwest::get(url).await.unwrap()
}

async fn json(url: &str) -> Value {
    let response = get(url).await;
    assert_eq!(response.status(), 200, "{url}");
    response.json().await.unwrap()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_command_collects_sample_data_stores_it_serves_it_and_stops_on_ctrl_c() {
    let mut local = Local::start();
    let summary = local.output();

    // The summary: something in every table, files, drops with reasons, where things are.
    assert!(summary.contains("SAMPLE DATA"), "{summary}");
    let (daily_written, daily) = summary_count(&summary, "daily_bars");
    let (_, intraday) = summary_count(&summary, "intraday_bars");
    let (quotes_written, quotes) = summary_count(&summary, "option_quotes");
    assert!(daily > 0 && intraday > 0 && quotes > 1000, "{summary}");
    // SPY's history overlaps its daily bars: those rows are written twice, stored once.
    assert!(daily_written > daily, "{summary}");
    assert_eq!(quotes_written, quotes, "{summary}");
    assert!(
        summary.contains("optionsflow-data/optionsflow.db"),
        "{summary}"
    );
    assert!(summary.contains(&local.url), "{summary}");
    assert!(
        summary.contains("duplicate"),
        "the sample's dirty rows are reported:\n{summary}"
    );

    // SQLite holds exactly what the summary says, all of it labelled sample data.
    let db = local.data().join("optionsflow.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", db.display()))
        .await
        .unwrap();
    for (table, expected) in [
        ("daily_bars", daily),
        ("intraday_bars", intraday),
        ("option_quotes", quotes),
    ] {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT count(*), count(DISTINCT source), min(source) FROM {table}"
        )))
        .fetch_one(&pool)
        .await
        .unwrap();
        let (n, sources, source): (i64, i64, String) = (row.get(0), row.get(1), row.get(2));
        assert_eq!(n as u64, expected, "{table}");
        assert_eq!((sources, source.as_str()), (1, "sample"), "{table}");
    }
    let with_iv: i64 = sqlx::query("SELECT count(*) FROM option_quotes WHERE iv IS NOT NULL")
        .fetch_one(&pool)
        .await
        .unwrap()
        .get(0);
    assert!(
        with_iv as f64 > 0.8 * quotes as f64,
        "{with_iv} of {quotes} have an IV"
    );
    pool.close().await;

    // CSV files: one folder per dataset, every row labelled sample.
    let files = files_under(&local.data().join("files"));
    assert!(!files.is_empty());
    let mut csv_rows = 0;
    for file in &files {
        let mut reader = csv::Reader::from_path(file).unwrap();
        let source = reader
            .headers()
            .unwrap()
            .iter()
            .position(|h| h == "source")
            .expect("a source column");
        for record in reader.records() {
            assert_eq!(&record.unwrap()[source], "sample", "{}", file.display());
            csv_rows += 1;
        }
    }
    assert_eq!(csv_rows as u64, daily_written + intraday + quotes);
    let dead_letters = std::fs::read_to_string(local.data().join("dead-letters.jsonl")).unwrap();
    assert!(
        dead_letters
            .lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok())
    );

    // The db-writer keeps every dead letter in the database too, once.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", db.display()))
        .await
        .unwrap();
    let kept: i64 = sqlx::query("SELECT count(*) FROM dead_letters")
        .fetch_one(&pool)
        .await
        .unwrap()
        .get(0);
    assert!(kept > 0, "the sample's dirty rows make dead letters");
    assert_eq!(kept as usize, dead_letters.lines().count());

    api_answers(&local.url, quotes).await;
    status_matches_the_database(&local.url, &pool).await;
    let atm_forecast = predictions_are_served(&local.url, &pool).await;
    pool.close().await;
    page_shows_the_chain_the_smile_and_the_bars(&local.url, atm_forecast);

    let status = local.interrupt();
    assert!(status.success(), "{status:?}\n{}", local.output());
}

async fn api_answers(url: &str, quotes: u64) {
    let api = format!("{url}api/v1");
    let symbols = json(&format!("{api}/symbols")).await;
    assert_eq!(symbols["sample"], true);
    let names: Vec<&str> = symbols["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["symbol"].as_str().unwrap())
        .collect();
    for s in ["AAPL", "QQQ", "SPY"] {
        assert!(names.contains(&s), "{names:?}");
    }

    // Cursor pages of history add up to the whole series, in order, without repeats.
    let mut cursor: Option<String> = None;
    let mut days = Vec::new();
    loop {
        let mut page_url = format!("{api}/bars/spy?interval=1day&limit=100");
        if let Some(c) = &cursor {
            page_url.push_str(&format!("&cursor={c}"));
        }
        let page = json(&page_url).await;
        for bar in page["data"].as_array().unwrap() {
            assert_eq!(bar["source"], "sample");
            days.push(bar["trade_date"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert!(days.len() > 300, "{}", days.len());
    assert!(days.windows(2).all(|w| w[0] < w[1]));

    let csv = get(&format!("{api}/bars/SPY?interval=15min&format=csv")).await;
    assert_eq!(csv.headers()["x-optionsflow-sample"], "true");
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    assert!(
        text.starts_with("symbol,trade_date,bar_time,open,high,low,close,volume,source,flags\r\n")
    );
    // As many rows as the JSON page has (a session's bars that ended by the round: how many
    // depends on the time of day).
    let bars = json(&format!("{api}/bars/SPY?interval=15min")).await;
    let bars = bars["data"].as_array().unwrap().len();
    assert!(bars > 0);
    assert_eq!(text.lines().count(), bars + 1);

    // Chains, smiles and the term structure of every expiry.
    let expiries = json(&format!("{api}/options/SPY/expiries")).await;
    let expiries = expiries["data"].as_array().unwrap().clone();
    assert!(expiries.len() >= 4, "{expiries:?}");
    let mut chain_rows = 0;
    for symbol in ["SPY", "AAPL", "QQQ"] {
        for e in json(&format!("{api}/options/{symbol}/expiries")).await["data"]
            .as_array()
            .unwrap()
        {
            let expiry = e["expiry"].as_str().unwrap();
            let chain = json(&format!(
                "{api}/options/{symbol}/chain?expiry={expiry}&limit=10000"
            ))
            .await;
            chain_rows += chain["data"].as_array().unwrap().len() as u64;
        }
    }
    assert_eq!(
        chain_rows, quotes,
        "every stored quote is in exactly one chain"
    );
    let first = expiries[0]["expiry"].as_str().unwrap();
    let page = json(&format!("{api}/options/SPY/chain?expiry={first}&limit=7")).await;
    let next = page["next_cursor"].as_str().unwrap();
    let page2 = json(&format!(
        "{api}/options/SPY/chain?expiry={first}&limit=7&cursor={next}"
    ))
    .await;
    let strike = |v: &Value| v["strike"].as_f64().unwrap();
    assert!(strike(&page2["data"][0]) >= strike(&page["data"][6]));
    assert_ne!(page2["data"][0]["contract"], page["data"][6]["contract"]);
    let contract = page["data"][3]["contract"]
        .as_str()
        .unwrap()
        .replace(' ', "");
    let history = json(&format!("{api}/options/contracts/{contract}/history")).await;
    assert_eq!(history["data"].as_array().unwrap().len(), 1);

    // A month out: a week's smile may have few out-of-the-money quotes with a bid when the
    // sample's volatility is calm (as a real one does).
    let month = expiries[3]["expiry"].as_str().unwrap();
    let smile = json(&format!("{api}/options/SPY/smile?expiry={month}")).await;
    let points: Vec<(f64, f64)> = smile["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| Some((p["log_moneyness"].as_f64()?, p["otm_iv"].as_f64()?)))
        .collect();
    assert!(points.len() > 10);
    // The furthest out-of-the-money put with an IV (an American smile has none where the
    // put has no bid).
    let low = points
        .iter()
        .filter(|(m, _)| *m < -0.01)
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .expect("out-of-the-money puts in the smile")
        .1;
    let atm = points
        .iter()
        .min_by(|a, b| a.0.abs().total_cmp(&b.0.abs()))
        .unwrap()
        .1;
    assert!(low > atm, "a put skew: {low} vs {atm}");
    let term = json(&format!("{api}/options/SPY/term-structure")).await;
    assert_eq!(term["data"].as_array().unwrap().len(), expiries.len());

    // Bad input: problem+json saying what is wrong.
    for (path, says) in [
        ("/bars/SPY?interval=1h", "interval"),
        ("/bars/SPY?limit=0", "limit"),
        ("/bars/SPY?from=yesterday", "from"),
        ("/bars/SPY?cursor=00", "cursor"),
        ("/bars/SPY?colour=red", "colour"),
        ("/bars/DROP%20TABLE", "symbol"),
        ("/options/SPY/chain?at=noon", "at"),
        ("/options/contracts/NOTACONTRACT/history", "OSI"),
    ] {
        let response = get(&format!("{api}{path}")).await;
        assert_eq!(response.status(), 400, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["status"], 400);
        assert!(
            problem["detail"].as_str().unwrap().contains(says),
            "{path}: {problem}"
        );
    }
    let missing = get(&format!("{api}/options/ZZZ/chain")).await;
    assert_eq!(missing.status(), 404);
    assert_eq!(get(&format!("{api}/nothing")).await.status(), 404);

    // The OpenAPI document names every endpoint.
    let doc = json(&format!("{url}openapi.json")).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc, optionsflow_workers::roles::serve::openapi::spec());
    assert_eq!(doc["paths"].as_object().unwrap().len(), 11);
}

/// `/api/v1/status` says what the database holds, computed here the plain way.
/// The predictor ran inside `local`: SPY (two years of daily bars, 15-minute bars, chains)
/// has every model's forecasts for its latest session, the at-the-money IV near what the
/// chain says, and scores; the API serves what the database holds.
/// Whether the chain's ATM IV forecast is stored yet (not while its session is under way).
async fn predictions_are_served(url: &str, pool: &sqlx::SqlitePool) -> bool {
    let api = format!("{url}api/v1");
    let latest: String = sqlx::query("SELECT max(trade_date) FROM daily_bars WHERE symbol = 'SPY'")
        .fetch_one(pool)
        .await
        .unwrap()
        .get(0);
    let stored: i64 = sqlx::query("SELECT count(*) FROM predictions WHERE symbol = 'SPY'")
        .fetch_one(pool)
        .await
        .unwrap()
        .get(0);
    let sessions: i64 = sqlx::query("SELECT count(*) FROM daily_bars WHERE symbol = 'SPY'")
        .fetch_one(pool)
        .await
        .unwrap()
        .get(0);
    // Naive and EWMA at three horizons for every session, HAR-RV once a fit has two months
    // behind it, and the at-the-money IV for the sessions with a chain.
    assert!(
        stored >= sessions * 6 && stored <= sessions * 12,
        "{stored} rows for {sessions} sessions"
    );

    let mut rows = Vec::new();
    let mut next = format!("{api}/predictions/SPY?limit=5000");
    loop {
        let page = json(&next).await;
        rows.extend(page["data"].as_array().unwrap().clone());
        match page["next_cursor"].as_str() {
            Some(cursor) => next = format!("{api}/predictions/SPY?limit=5000&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(
        rows.len() as i64,
        stored,
        "every stored forecast, page by page"
    );
    // The models of bars forecast after the latest session with a daily bar. The at-the-money
    // IV is filed under the session its chain shows; a chain fetched while a session is under
    // way shows that session, which has no daily bar yet, so its forecast waits for the bar
    // (the predictor keeps the chain) and none is stored now.
    let snapshot: String =
        sqlx::query("SELECT max(snapshot_time) FROM option_quotes WHERE underlying = 'SPY'")
            .fetch_one(pool)
            .await
            .unwrap()
            .get(0);
    let shown = optionsflow_workers::market::calendar::session_shown_at(
        snapshot.parse::<chrono::DateTime<chrono::Utc>>().unwrap(),
    )
    .to_string();
    assert!(shown >= latest, "{shown} before {latest}");
    let after = |day: &str, atm: bool| -> Vec<&Value> {
        rows.iter()
            .filter(|r| r["made_at"].as_str().unwrap().starts_with(day))
            .filter(|r| (r["model"] == "atm_iv") == atm)
            .collect()
    };
    let of_bars = after(&latest, false);
    assert_eq!(
        of_bars.len(),
        9,
        "3 models x 3 horizons after {latest}: {of_bars:?}"
    );
    let atm = after(&shown, true);
    let waiting = shown > latest;
    assert_eq!(
        atm.len(),
        if waiting { 0 } else { 3 },
        "the ATM IV at 3 horizons after {shown} (latest bar {latest}): {atm:?}"
    );
    let last: Vec<&Value> = of_bars.into_iter().chain(atm).collect();
    for r in &last {
        let value = r["value"].as_f64().unwrap();
        assert!(value > 0.03 && value < 1.5, "{r}");
    }
    let har5 = json(&format!(
        "{api}/predictions/SPY?model=har_rv&horizon=5&limit=5000"
    ))
    .await;
    let har5 = har5["data"].as_array().unwrap();
    assert!(
        har5.iter()
            .all(|r| r["model"] == "har_rv" && r["horizon_days"] == 5)
    );
    let har5_sessions = har5.len() as i64;
    assert!(
        har5_sessions <= sessions && har5_sessions > sessions - 60,
        "one per session after the first fit: {har5_sessions} of {sessions}"
    );
    // The chain's ATM IV, as the term structure shows it, is the 21-session forecast (once
    // the chain's session has its bar: outside New York's session hours).
    if !waiting {
        let term = json(&format!("{api}/options/SPY/term-structure")).await;
        let atm21 = last
            .iter()
            .find(|r| r["model"] == "atm_iv" && r["horizon_days"] == 21)
            .unwrap()["value"]
            .as_f64()
            .unwrap();
        assert!(
            term["data"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| (p["atm_iv"].as_f64().unwrap() - atm21).abs() < 1e-9),
            "{atm21} in {term}"
        );
    }

    let scores = json(&format!("{api}/backtest?symbol=SPY")).await;
    let scores = scores["data"].as_array().unwrap();
    assert_eq!(scores.len(), 9, "{scores:?}");
    assert!(
        scores
            .iter()
            .all(|s| s["n"].as_i64().unwrap() > 200 && s["last_day"] == latest.as_str())
    );
    let realized = json(&format!("{api}/volatility/SPY")).await;
    let realized = realized["data"].as_array().unwrap();
    assert!(realized.len() > 200, "a year of sessions");
    assert_eq!(realized.last().unwrap()["trade_date"], latest.as_str());
    !waiting
}

async fn status_matches_the_database(url: &str, pool: &sqlx::SqlitePool) {
    use optionsflow_workers::market::calendar;
    let status = json(&format!("{url}api/v1/status")).await;
    let day: chrono::NaiveDate = status["day"].as_str().unwrap().parse().unwrap();
    let start = calendar::exchange_instant(day, chrono::NaiveTime::MIN)
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    let as_of: chrono::DateTime<chrono::Utc> = status["as_of"].as_str().unwrap().parse().unwrap();
    let scalar = |sql: &'static str, bind: String| async move {
        sqlx::query(sql).bind(bind).fetch_one(pool).await.unwrap()
    };
    let checks = [
        (
            "daily",
            "SELECT max(bar_time), (SELECT count(*) FROM daily_bars WHERE trade_date >= ?1) FROM daily_bars",
            day.to_string(),
        ),
        (
            "intraday",
            "SELECT max(bar_time), (SELECT count(*) FROM intraday_bars WHERE bar_time >= ?1) FROM intraday_bars",
            start.clone(),
        ),
        (
            "options",
            "SELECT max(snapshot_time), (SELECT count(*) FROM option_quotes WHERE snapshot_time >= ?1) FROM option_quotes",
            start.clone(),
        ),
    ];
    for (dataset, sql, bind) in checks {
        let row = scalar(sql, bind).await;
        let (newest, today): (Option<String>, i64) = (row.get(0), row.get(1));
        let shown = status["datasets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["dataset"] == dataset)
            .unwrap();
        assert!(newest.is_some(), "{dataset}");
        assert_eq!(
            shown["newest_stored"].as_str(),
            newest.as_deref(),
            "{dataset}"
        );
        assert_eq!(shown["rows_today"].as_i64(), Some(today), "{dataset}");
        // The sample config schedules every dataset it collects.
        let next: chrono::DateTime<chrono::Utc> =
            shown["next_run"].as_str().unwrap().parse().unwrap();
        assert!(next > as_of, "{dataset}: {next}");
        assert!(
            calendar::is_trading_day(calendar::exchange_date(next)),
            "{dataset}: {next}"
        );
    }
    let letters = sqlx::query(
        "SELECT coalesce(dataset, ''), count(*) FROM dead_letters WHERE dead_at >= ?1 GROUP BY 1",
    )
    .bind(&start)
    .fetch_all(pool)
    .await
    .unwrap();
    let mut shown_total = status["other_dead_letters_today"].as_i64().unwrap();
    for d in status["datasets"].as_array().unwrap() {
        shown_total += d["dead_letters_today"].as_i64().unwrap();
        let expected = letters
            .iter()
            .find(|r| r.get::<String, _>(0) == d["dataset"].as_str().unwrap())
            .map_or(0, |r| r.get::<i64, _>(1));
        assert_eq!(d["dead_letters_today"].as_i64(), Some(expected), "{d}");
    }
    let total: i64 = letters.iter().map(|r| r.get::<i64, _>(1)).sum();
    assert_eq!(shown_total, total);
}

fn page_shows_the_chain_the_smile_and_the_bars(url: &str, atm_forecast: bool) {
    let chromium = std::env::var("CHROMIUM_BIN")
        .expect("CHROMIUM_BIN names Debian's chromium: run scripts/test-services.sh");
    let profile = tempfile::tempdir().unwrap();
    let common = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--no-first-run",
        "--hide-scrollbars",
        "--window-size=1400,1100",
        "--virtual-time-budget=20000",
    ];
    let user_dir = format!("--user-data-dir={}", profile.path().display());
    let dom = Command::new(&chromium)
        .args(common)
        .arg(&user_dir)
        .args(["--dump-dom", url])
        .output()
        .expect("chromium runs");
    let html = String::from_utf8_lossy(&dom.stdout);
    assert!(
        html.contains(r#"data-state="ready""#),
        "the page did not finish loading:\n{html}\n{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    assert!(
        html.matches(r#"<tr class="quote"#).count() > 10,
        "chain rows:\n{html}"
    );
    assert!(
        html.matches(r#"class="point""#).count() > 10,
        "chart points:\n{html}"
    );
    assert!(html.contains(r#"class="series""#));
    assert!(html.contains(r#"<option value="SPY""#));
    // SPY (options and the longest history) is chosen: its forecasts, realized and
    // implied volatility are plotted, and every model's scores listed.
    assert!(html.contains("SPY volatility, annualised"), "{html}");
    let legend = ["HAR-RV forecast", "realized", "at-the-money IV"];
    for name in &legend[..if atm_forecast { 3 } else { 2 }] {
        assert!(
            html.contains(&format!(">{name}</text>")),
            "legend {name}:\n{html}"
        );
    }
    for model in ["naive", "ewma", "har_rv"] {
        let rows = format!(r#"<tr class="score"><td>{model}</td>"#);
        assert_eq!(html.matches(&rows).count(), 3, "{model}'s scores:\n{html}");
    }
    // The status view: a row per enabled dataset, with its newest data and next run.
    for dataset in ["daily", "intraday", "options"] {
        assert!(
            html.contains(&format!(
                r#"<tr class="dataset" data-dataset="{dataset}"><td>{dataset}</td><td>20"#
            )),
            "status row of {dataset}:\n{html}"
        );
    }
    assert!(html.contains(", market "), "{html}");
    assert!(
        html.contains(r#"id="sample" style="display: block;""#),
        "the sample banner shows"
    );

    let artefacts = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("test-artefacts");
    std::fs::create_dir_all(&artefacts).unwrap();
    let shot = artefacts.join("web-page.png");
    let _ = std::fs::remove_file(&shot);
    let status = Command::new(&chromium)
        .args(common)
        .arg(&user_dir)
        .arg(format!("--screenshot={}", shot.display()))
        .arg(url)
        .output()
        .expect("chromium runs");
    let png = std::fs::read(&shot)
        .unwrap_or_else(|_| panic!("no screenshot: {}", String::from_utf8_lossy(&status.stderr)));
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 20_000, "a screenshot with something in it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_twelve_data_key_the_same_command_collects_from_the_providers() {
    use optionsflow_testkit::data;
    use optionsflow_testkit::fake::{cboe, twelvedata, yahoo};
    use optionsflow_workers::market::calendar;
    use optionsflow_workers::roles::local::rounds::once_at;

    let today = calendar::exchange_date(once_at(chrono::Utc::now()));
    // 5-second budget windows, as in the collector tests: the gate waits for a fresh window
    // before its first request, and a test should not wait a minute for it.
    let mut td_config = twelvedata::Config::free_plan(&["k1"], today);
    td_config.window_seconds = 5;
    let mut y_config = yahoo::Config::new(today);
    y_config.window_seconds = 5;
    // Yahoo refuses bursts: more than 5 requests in a second get 429. The collector's pace
    // (10 a window of 5 s, two back to back) must keep every second under it.
    y_config.limit_per_second = Some(5);
    let td = twelvedata::FakeTwelveData::start(td_config).await;
    let y = yahoo::FakeYahoo::start(y_config).await;
    let c = cboe::FakeCboe::start(cboe::Config::new(today)).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("local.json");
    std::fs::write(
        &config,
        serde_json::json!({
            "pipeline": {"namespace": "local", "name": "live"},
            "kafka": {"bootstrapServers": "in-process"},
            "datasets": {
                "daily": {"symbols": ["SPY", "AAPL"]},
                "intraday": {"symbols": ["SPY"]},
                "options": {"symbols": ["SPY", "AAPL", "QQQ", "IWM"], "horizonDays": 90}
            },
            "sources": {
                "twelveData": {"baseUrl": td.url(),
                               "budget": {"perWindow": 8, "windowSeconds": 5, "perDay": 800}},
                "yahoo": {"baseUrl": y.base_url(), "cookieUrl": y.cookie_url(), "crumbUrl": y.crumb_url(),
                          "budget": {"perWindow": 10, "windowSeconds": 5}},
                "cboe": {"baseUrl": c.url(), "budget": {"perWindow": 30, "windowSeconds": 5}},
                "sample": {}
            },
            "sinks": {
                "sqlite": {"path": "data/live.db"},
                "folder": {"path": "data/files"}
            },
            // The day's curve, as a user would configure it; no dividend yields: each
            // expiry's forward must come from the chains themselves.
            "processing": {"rateCurve": data::RATE_CURVE}
        })
        .to_string(),
    )
    .unwrap();
    let port = free_port().to_string();
    let log = dir.path().join("local.log");
    let file = std::fs::File::create(&log).unwrap();
    let mut child = Command::new(BINARY)
        .args(["local", "--once", "--exit", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--config")
        .arg(&config)
        .current_dir(dir.path())
        .env("TWELVEDATA_API_KEYS", "k1")
        .stdout(Stdio::from(file.try_clone().unwrap()))
        .stderr(Stdio::from(file))
        .spawn()
        .unwrap();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "not done in 180 s:\n{}",
                std::fs::read_to_string(&log).unwrap()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let round = started.elapsed();
    let summary = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "{summary}");
    assert!(summary.contains("live providers"), "{summary}");
    let per_second = y.requests_per_second();
    let requests: u32 = per_second.values().sum();
    eprintln!(
        "live round: {:.1} s, {requests} Yahoo requests, busiest second {:?}, {} answered 429",
        round.as_secs_f64(),
        per_second.values().max(),
        y.rate_limited()
    );
    assert_eq!(y.rate_limited(), 0, "Yahoo said 429: {per_second:?}");
    assert!(
        requests >= 20,
        "four chains of several expiries: {per_second:?}"
    );
    assert!(!summary.contains("SAMPLE DATA"), "{summary}");

    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite:{}",
        dir.path().join("data/live.db").display()
    ))
    .await
    .unwrap();
    for (table, source) in [
        ("daily_bars", "twelvedata"),
        ("intraday_bars", "twelvedata"),
        ("option_quotes", "yahoo"),
    ] {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT count(*), count(DISTINCT source), min(source) FROM {table}"
        )))
        .fetch_one(&pool)
        .await
        .unwrap();
        let (n, sources, found): (i64, i64, String) = (row.get(0), row.get(1), row.get(2));
        assert!(n > 0, "{table} is empty:\n{summary}");
        assert_eq!((sources, found.as_str()), (1, source), "{table}");
    }
    implied_vols_match_the_market(&pool, today).await;
    pool.close().await;
    assert!(td.log().len() >= 2, "bars came from the Twelve Data server");
}

/// The stored implied volatilities against the exact volatility of each mid under the
/// stand-in market's true forward (every underlying pays a dividend yield the processor was
/// not told), and call against put at each strike.
async fn implied_vols_match_the_market(pool: &sqlx::SqlitePool, today: chrono::NaiveDate) {
    use optionsflow_testkit::data;
    let rows = sqlx::query(
        "SELECT underlying, expiry, strike, \"right\", mid, spread, iv, years_to_expiry, forward,
                vega, flags, otm
           FROM option_quotes WHERE iv IS NOT NULL",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(rows.len() > 500, "{} quotes with an IV", rows.len());
    let mut errors = Vec::new();
    let mut otm_errors = Vec::new();
    let mut below_true_floor = 0;
    let mut forward_errors = Vec::new();
    // (underlying, expiry, strike) → [(iv, half spread / vega)] for call and put
    let mut strikes: std::collections::BTreeMap<(String, String, i64), Vec<(f64, f64)>> =
        Default::default();
    for row in &rows {
        let underlying: String = row.get("underlying");
        let expiry: String = row.get("expiry");
        let strike: f64 = row.get("strike");
        let call = row.get::<String, _>("right") == "call";
        let (mid, spread, iv): (f64, f64, f64) = (row.get("mid"), row.get("spread"), row.get("iv"));
        let years: f64 = row.get("years_to_expiry");
        let flags: String = row.get("flags");
        assert!(
            !flags.contains("forward_from_yield"),
            "parity gave every forward: {flags}"
        );
        let expiry_date: chrono::NaiveDate = expiry.parse().unwrap();
        let spot = data::close(&underlying, today);
        let forward = data::forward(&underlying, today, expiry_date, spot);
        let stored: f64 = row.get("forward");
        forward_errors.push((stored - forward).abs() / forward);
        let otm = row.get::<Option<bool>, _>("otm").expect("a side");
        // The market's own clock: whole days to the expiry's close, its rate and discount.
        // The exact volatility there, restated over the stored time to expiry (the same
        // total variance), is what a processor that knew the true forward would store.
        let market_years = data::years(today, expiry_date);
        let market_discount = (-data::rate(market_years) * market_years).exp();
        let Some(exact) =
            data::implied_vol(call, forward, strike, market_years, market_discount, mid)
                .map(|v| v * (market_years / years).sqrt())
        else {
            // A deep in-the-money mid rounded to the tick can fall below the true forward's
            // floor, where no volatility exists: the reason smiles use the other side.
            assert!(
                !otm,
                "{underlying} {expiry} {strike}: out-of-the-money mid {mid} has no volatility \
                 under the true forward {forward} (stored IV {iv}, forward {stored})"
            );
            below_true_floor += 1;
            continue;
        };
        if otm {
            otm_errors.push((iv - exact).abs());
        }
        errors.push((iv - exact).abs());
        let vega: f64 = row.get("vega");
        strikes
            .entry((underlying, expiry, (strike * 1000.0) as i64))
            .or_default()
            .push((iv, spread / 2.0 / (vega * 100.0)));
    }
    let quantile = |v: &mut Vec<f64>, q: f64| {
        v.sort_by(f64::total_cmp);
        v[((v.len() - 1) as f64 * q) as usize]
    };
    let (median, p90, worst) = (
        quantile(&mut errors, 0.5),
        quantile(&mut errors, 0.9),
        quantile(&mut errors, 1.0),
    );
    let forward_p90 = quantile(&mut forward_errors, 0.9);
    let (otm_median, otm_p90) = (
        quantile(&mut otm_errors, 0.5),
        quantile(&mut otm_errors, 0.9),
    );
    let mut disagreements = 0;
    let mut pairs = 0;
    for sides in strikes.values().filter(|s| s.len() == 2) {
        pairs += 1;
        let allowed = sides[0].1 + sides[1].1;
        if (sides[0].0 - sides[1].0).abs() > allowed {
            disagreements += 1;
        }
    }
    eprintln!(
        "IV against the exact IV of each mid ({} quotes): median {median:.2e}, p90 {p90:.2e}, \
         worst {worst:.2e}; out of the money ({}): median {otm_median:.2e}, p90 {otm_p90:.2e}; \
         {below_true_floor} in-the-money mids below the true floor; forward relative error \
         p90 {forward_p90:.2e}; call and put apart by more than their quotes allow at \
         {disagreements} of {pairs} strikes",
        errors.len(),
        otm_errors.len()
    );
    assert!(median <= 2e-4, "median IV error {median}");
    assert!(p90 <= 2e-3, "90th percentile IV error {p90}");
    assert_eq!(
        disagreements, 0,
        "call and put IVs disagree beyond the spread"
    );
}
