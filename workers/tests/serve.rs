//! The data API over PostgreSQL and over SQLite: the same records stored in both must give
//! byte-identical answers (JSON and CSV) for every endpoint, snapshots chosen by `at`, and
//! cursors; bearer tokens are enforced; `optionsflow-worker serve` refuses to start without
//! tokens unless told to.

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use optionsflow_api::Dataset;
use optionsflow_testkit::postgres::TestDatabase;
use optionsflow_testkit::records::{self, batch};
use optionsflow_testkit::tansu::free_port;
use optionsflow_workers::roles::predict::Predictor;
use optionsflow_workers::roles::serve::{self, Access};
use optionsflow_workers::roles::write::{Destination, Span};
use optionsflow_workers::runtime::metrics::Metrics;
use optionsflow_workers::sinks::db::Database;
use optionsflow_workers::sinks::db::dead_letters::DeadLetterRow;
use optionsflow_workers::stages::process::Records;
use optionsflow_workers::stages::write::{Incoming, Rows};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "t0ken-for-tests";

fn rows() -> Rows {
    let messages = [
        Records::Quotes(batch(Dataset::Options, records::quotes("SPY", 0, 64))),
        Records::Quotes(batch(Dataset::Options, records::quotes("SPY", 1, 64))),
        Records::Bars(batch(Dataset::Daily, records::daily_bars("SPY", 30))),
        Records::Bars(batch(Dataset::Daily, records::daily_bars("AAPL", 5))),
        Records::Bars(batch(Dataset::Intraday, records::intraday_bars("SPY", 20))),
    ];
    Rows::of(messages.iter())
}

async fn api_on(database: Database, shutdown: &CancellationToken) -> SocketAddr {
    database.migrate().await.unwrap();
    database.write(&rows()).await.unwrap();
    // The predictor's forecasts of SPY's stored daily bars.
    let predictor = Predictor::new(database.clone(), Default::default(), Metrics::new(), 1000);
    let mut pending = Default::default();
    let origin = optionsflow_api::MessageOrigin {
        topic: "t".into(),
        partition: 0,
        offset: 0,
    };
    let daily = Incoming {
        symbol: "SPY".into(),
        fetched_at: chrono::Utc::now(),
        records: Records::Bars(batch(Dataset::Daily, records::daily_bars("SPY", 30))),
    };
    predictor.add(&mut pending, &origin, daily);
    let span = Span {
        topic: "t".into(),
        partition: 0,
        dataset: Dataset::Daily,
        first: 0,
        last: 0,
    };
    predictor.flush(&pending, &span).await.unwrap();
    let state = serve::ApiState {
        database,
        access: Access::tokens([TOKEN.to_owned()]),
        config: std::sync::Arc::new(
            optionsflow_api::RuntimeConfig::from_json(
                r#"{"pipeline":{"namespace":"m","name":"p"},"kafka":{"bootstrapServers":"x"},
                    "datasets":{"daily":{"symbols":["SPY"],"schedule":"30 16 * * 1-5"}}}"#,
            )
            .unwrap(),
        ),
        metrics: Metrics::new(),
        metrics_page: false,
    };
    let server = serve::start("127.0.0.1:0".parse().unwrap(), state, shutdown.clone())
        .await
        .unwrap();
    server.local_addr
}

async fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> (u16, String, String) {
    let client = reqwest::Client::new();
    let mut request = client.get(format!("http://{addr}{path}"));
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_and_sqlite_give_the_same_answers() {
    let pg = TestDatabase::create("serve");
    let dir = tempfile::tempdir().unwrap();
    let lite_path = dir.path().join("api.db");
    let shutdown = CancellationToken::new();
    let on_pg = api_on(Database::open(&pg.url).unwrap(), &shutdown).await;
    let on_lite = api_on(
        Database::open(lite_path.to_str().unwrap()).unwrap(),
        &shutdown,
    )
    .await;

    let at0 = "2024-11-25T15:10:00Z";
    let at1 = "2024-11-25T15:20:00Z";
    let paths = [
        "/api/v1/symbols".to_owned(),
        "/api/v1/symbols?limit=1".to_owned(),
        "/api/v1/bars/SPY".to_owned(),
        "/api/v1/bars/SPY?from=2024-01-05&to=2024-01-12&format=csv".to_owned(),
        "/api/v1/bars/SPY?limit=7".to_owned(),
        "/api/v1/bars/SPY?interval=15min&from=2024-11-25T15:00:00Z&limit=5".to_owned(),
        "/api/v1/bars/SPY?interval=15min&format=csv".to_owned(),
        format!("/api/v1/options/SPY/expiries?at={at1}"),
        format!("/api/v1/options/SPY/chain?at={at0}"),
        format!("/api/v1/options/SPY/chain?expiry=2025-01-24&at={at1}&limit=3"),
        format!("/api/v1/options/SPY/chain?expiry=2025-01-24&at={at1}&format=csv"),
        format!("/api/v1/options/SPY/smile?expiry=2025-01-17&at={at1}"),
        format!("/api/v1/options/SPY/term-structure?at={at1}"),
        "/api/v1/options/contracts/SPY250117C00050000/history".to_owned(),
        "/api/v1/predictions/SPY".to_owned(),
        "/api/v1/predictions/SPY?model=ewma&horizon=5&limit=4".to_owned(),
        "/api/v1/predictions/SPY?limit=7&format=csv".to_owned(),
        "/api/v1/backtest".to_owned(),
        "/api/v1/backtest?symbol=spy&format=csv".to_owned(),
        "/api/v1/volatility/SPY?from=2024-01-01".to_owned(),
        "/api/v1/bars/MSFT".to_owned(),
        "/api/v1/options/SPY/chain?at=2020-01-01T00:00:00Z".to_owned(),
    ];
    let mut answers = Vec::new();
    for path in &paths {
        let a = get(on_pg, path, Some(TOKEN)).await;
        let b = get(on_lite, path, Some(TOKEN)).await;
        assert_eq!(a, b, "{path}: PostgreSQL and SQLite differ");
        answers.push(a);
    }

    // The status: the same figures from both, with a dead letter each database keeps once.
    let letter = DeadLetterRow {
        at: optionsflow_api::MessageOrigin {
            topic: "m.p.dead-letter".into(),
            partition: 1,
            offset: 9,
        },
        dead_at: chrono::Utc::now(),
        stage: "process".into(),
        reason: "malformed_message".into(),
        dataset: Some(Dataset::Options),
        symbol: "SPY".into(),
        detail: "not JSON".into(),
        letter: "{}".into(),
    };
    let mut statuses = Vec::new();
    for (db, addr) in [
        (Database::open(&pg.url).unwrap(), on_pg),
        (
            Database::open(lite_path.to_str().unwrap()).unwrap(),
            on_lite,
        ),
    ] {
        for _ in 0..2 {
            db.keep_dead_letters(std::slice::from_ref(&letter))
                .await
                .unwrap();
        }
        let (status, _, body) = get(addr, "/api/v1/status", Some(TOKEN)).await;
        assert_eq!(status, 200, "{body}");
        let mut body: Value = serde_json::from_str(&body).unwrap();
        body.as_object_mut().unwrap().remove("as_of");
        statuses.push(body);
    }
    assert_eq!(
        statuses[0], statuses[1],
        "PostgreSQL and SQLite differ on the status"
    );
    let of = |dataset: &str| {
        statuses[0]["datasets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["dataset"] == dataset)
            .unwrap()
            .clone()
    };
    assert_eq!(of("options")["dead_letters_today"], 1);
    assert_eq!(of("daily")["dead_letters_today"], 0);
    assert_eq!(
        of("intraday")["newest_stored"],
        "2024-11-25T19:15:00.000000Z"
    );
    assert_eq!(of("daily")["rows_today"], 0);
    assert!(of("daily")["next_run"].is_string(), "{}", statuses[0]);

    let body = |i: usize| -> Value { serde_json::from_str(&answers[i].2).unwrap() };
    assert_eq!(body(0)["data"].as_array().unwrap().len(), 2);
    assert_eq!(body(0)["sample"], false);
    assert_eq!(body(1)["data"][0]["symbol"], "AAPL");
    assert!(body(1)["next_cursor"].is_string());
    assert_eq!(body(2)["data"].as_array().unwrap().len(), 30);
    assert_eq!(answers[3].2.lines().count(), 1 + 8, "a header and 8 days");
    assert_eq!(body(4)["data"].as_array().unwrap().len(), 7);
    let intraday = body(5);
    assert_eq!(
        intraday["data"][0]["bar_time"],
        "2024-11-25T15:00:00.000000Z"
    );
    // The chain at 15:10 is the first snapshot; at 15:20 the second.
    assert_eq!(
        body(8)["data"][0]["snapshot_time"],
        "2024-11-25T15:00:00.123456Z"
    );
    assert_eq!(body(8)["data"][0]["expiry"], "2025-01-17");
    assert_eq!(
        body(9)["data"][0]["snapshot_time"],
        "2024-11-25T15:15:00.123456Z"
    );
    assert_eq!(body(9)["data"].as_array().unwrap().len(), 3);
    let history = body(13);
    assert_eq!(
        history["data"].as_array().unwrap().len(),
        2,
        "two snapshots"
    );
    assert_eq!(history["data"][0]["contract"], "SPY   250117C00050000");
    // Naive and EWMA at three horizons for each of the 30 days (too few for a HAR-RV fit
    // at 5 and 21 days, or for a score).
    let forecasts = body(14)["data"].as_array().unwrap().len();
    assert!((180..=270).contains(&forecasts), "{forecasts}");
    let ewma5 = body(15);
    assert_eq!(ewma5["data"].as_array().unwrap().len(), 4);
    assert!(
        ewma5["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["model"] == "ewma" && r["horizon_days"] == 5)
    );
    assert!(ewma5["next_cursor"].as_str().unwrap().ends_with("/5/ewma"));
    assert_eq!(
        answers[16].2.lines().count(),
        1 + 7,
        "a header and 7 forecasts"
    );
    assert_eq!(body(17)["data"], serde_json::json!([]));
    assert_eq!(body(19)["data"].as_array().unwrap().len(), 30);
    assert_eq!(body(20)["data"], serde_json::json!([]));
    assert_eq!(answers[21].0, 404);
    assert_eq!(answers[21].1, "application/problem+json");

    // Following cursors gives every row once, on both databases.
    for addr in [on_pg, on_lite] {
        let mut seen = Vec::new();
        let mut path = format!("/api/v1/options/SPY/chain?expiry=2025-01-17&at={at1}&limit=5");
        loop {
            let (status, _, text) = get(addr, &path, Some(TOKEN)).await;
            assert_eq!(status, 200, "{text}");
            let page: Value = serde_json::from_str(&text).unwrap();
            for q in page["data"].as_array().unwrap() {
                seen.push(q["contract"].as_str().unwrap().to_owned());
            }
            match page["next_cursor"].as_str() {
                Some(c) => {
                    path = format!(
                        "/api/v1/options/SPY/chain?expiry=2025-01-17&at={at1}&limit=5&cursor={c}"
                    )
                }
                None => break,
            }
        }
        let mut unique = seen.clone();
        unique.dedup();
        assert_eq!(unique.len(), seen.len());
        assert_eq!(seen.len(), 8, "64 quotes over 8 expiries");
    }

    // Tokens.
    let (status, kind, text) = get(on_pg, "/api/v1/symbols", None).await;
    assert_eq!(
        (status, kind.as_str()),
        (401, "application/problem+json"),
        "{text}"
    );
    assert_eq!(get(on_pg, "/api/v1/symbols", Some("wrong")).await.0, 401);
    assert_eq!(get(on_pg, "/openapi.json", None).await.0, 200);
    let (status, kind, page) = get(on_pg, "/", None).await;
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/html"));
    assert!(page.contains("optionsflow"));
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_cursor_keeps_to_the_snapshot_its_first_page_showed() {
    let pg = TestDatabase::create("pinned");
    let dir = tempfile::tempdir().unwrap();
    let shutdown = CancellationToken::new();
    for database in [
        Database::open(&pg.url).unwrap(),
        Database::open(dir.path().join("pin.db").to_str().unwrap()).unwrap(),
    ] {
        let addr = api_on(database.clone(), &shutdown).await;
        let at = "2024-11-26T00:00:00Z";
        let first = format!("/api/v1/options/SPY/chain?expiry=2025-01-17&at={at}&limit=3");
        let (_, _, text) = get(addr, &first, Some(TOKEN)).await;
        let page: Value = serde_json::from_str(&text).unwrap();
        let shown = page["data"][0]["snapshot_time"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut cursor = page["next_cursor"].as_str().unwrap().to_owned();

        // A newer snapshot of the same chain lands between two pages.
        let newer = Records::Quotes(batch(Dataset::Options, records::quotes("SPY", 9, 64)));
        database.write(&Rows::of([&newer])).await.unwrap();

        let times_of = |page: &Value| -> Vec<String> {
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|q| q["snapshot_time"].as_str().unwrap().to_owned())
                .collect()
        };
        let mut times = times_of(&page);
        loop {
            let path =
                format!("/api/v1/options/SPY/chain?expiry=2025-01-17&limit=3&cursor={cursor}");
            let (status, _, text) = get(addr, &path, Some(TOKEN)).await;
            assert_eq!(status, 200, "{text}");
            let page: Value = serde_json::from_str(&text).unwrap();
            times.extend(times_of(&page));
            match page["next_cursor"].as_str() {
                Some(c) => cursor = c.to_owned(),
                None => break,
            }
        }
        assert_eq!(times.len(), 8, "one expiry's quotes");
        assert!(times.iter().all(|t| *t == shown), "{times:?}");
        let (_, _, text) = get(
            addr,
            "/api/v1/options/SPY/chain?expiry=2025-01-17",
            Some(TOKEN),
        )
        .await;
        let latest: Value = serde_json::from_str(&text).unwrap();
        assert_ne!(
            latest["data"][0]["snapshot_time"].as_str(),
            Some(shown.as_str())
        );
        database.close().await;
    }
    shutdown.cancel();
}

#[tokio::test]
async fn serve_refuses_to_start_without_tokens_and_answers_with_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("runtime.json");
    let db = dir.path().join("data.db");
    std::fs::write(
        &config,
        format!(
            r#"{{"pipeline":{{"namespace":"t","name":"p"}},"kafka":{{"bootstrapServers":"x"}},
                "sinks":{{"sqlite":{{"path":"{}"}}}}}}"#,
            db.display()
        ),
    )
    .unwrap();
    let binary = env!("CARGO_BIN_EXE_optionsflow-worker");
    let refused = Command::new(binary)
        .args(["serve", "--config", config.to_str().unwrap()])
        .env_remove("OPTIONSFLOW_API_TOKENS")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("OPTIONSFLOW_API_TOKENS") && said.contains("--no-auth"),
        "{said}"
    );

    // The database gets its schema from `migrate`, as on Kubernetes.
    let migrated = Command::new(binary)
        .args(["migrate", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(migrated.status.success(), "{migrated:?}");
    let port = free_port();
    let admin = free_port();
    let mut child = Command::new(binary)
        .args([
            "serve",
            "--config",
            config.to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--admin-addr",
            &format!("127.0.0.1:{admin}"),
        ])
        .env("OPTIONSFLOW_API_TOKENS", format!("other,{TOKEN}"))
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/api/v1/symbols");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let answer = loop {
        match client.get(&url).bearer_auth(TOKEN).send().await {
            Ok(r) => break r,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("serve did not answer: {e}"),
        }
    };
    assert_eq!(answer.status(), 200);
    assert_eq!(client.get(&url).send().await.unwrap().status(), 401);
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
}
