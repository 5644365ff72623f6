//! End to end on real servers: processed topics (tansu) → writer processes → PostgreSQL,
//! InfluxDB, or S3 (moto). Writers are killed with SIGKILL in the middle of their work and
//! restarted, messages are delivered twice, PostgreSQL and InfluxDB are stopped and started
//! while the writers run; in the end every record is stored exactly once and every offset
//! committed, and a store that is down holds back only its own writer.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use common::*;
use optionsflow_api::Role;
use optionsflow_api::records::{BarRecord, OptionQuoteRecord};
use optionsflow_api::{Dataset, RuntimeConfig, TopicKind};
use optionsflow_testkit::influx::Influxd;
use optionsflow_testkit::kafka;
use optionsflow_testkit::moto::Moto;
use optionsflow_testkit::postgres::{PrivateServer, psql};
use optionsflow_testkit::process::Worker;
use optionsflow_testkit::records;
use optionsflow_workers::sinks::db::Database;
use rdkafka::producer::FutureRecord;

/// Every topic, and `sinks` (JSON) as the runtime config's.
async fn topics(sinks: &str) -> Topics {
    Topics::start("w", &format!(r#""sinks": {sinks}"#), &[]).await
}

impl Topics {
    fn topic(&self, dataset: Dataset) -> String {
        self.config.topics().name(TopicKind::processed(dataset))
    }

    async fn send(&self, dataset: Dataset, key: &str, value: &[u8]) {
        self.producer
            .send(
                FutureRecord::to(&self.topic(dataset))
                    .key(key)
                    .payload(value),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)
            .expect("message published");
    }

    fn writer(&self, role: &str, name: &str, env: &[(&str, &str)]) -> (Worker, String) {
        self.writer_on(&self.config_path, role, name, env)
    }

    /// This pipeline's config changed by `change`, written to a file of its own.
    fn config_with(
        &self,
        name: &str,
        change: impl FnOnce(&mut RuntimeConfig),
    ) -> std::path::PathBuf {
        let mut config = self.config.clone();
        change(&mut config);
        let path = self.dir.path().join(name);
        std::fs::write(&path, serde_json::to_string(&config).unwrap()).unwrap();
        path
    }

    fn writer_on(
        &self,
        config: &std::path::Path,
        role: &str,
        name: &str,
        env: &[(&str, &str)],
    ) -> (Worker, String) {
        let mut all_env = vec![
            ("RUST_LOG", "info,librdkafka=warn,rdkafka=warn,sqlx=warn"),
            ("RUST_BACKTRACE", "1"),
        ];
        all_env.extend_from_slice(env);
        spawn_role(name, role, config, &all_env, self.dir.path())
    }

    /// Every message of the processed topics `role` consumes is committed by its group.
    fn all_committed(&self, role: Role) -> bool {
        let group = self.config.topics().consumer_group(role);
        let datasets: &[Dataset] = match role {
            Role::InfluxWriter => &[Dataset::Intraday],
            _ => &Dataset::ALL,
        };
        datasets.iter().all(|&d| {
            let topic = self.topic(d);
            let ends = kafka::counts(&self.tansu.bootstrap(), &topic);
            let committed = kafka::committed(&self.tansu.bootstrap(), &group, &topic);
            ends.iter()
                .all(|(p, end)| *end == 0 || committed.get(p) == Some(end))
        })
    }

    fn dead_letters(&self) -> Vec<kafka::Record> {
        kafka::read_all(
            &self.tansu.bootstrap(),
            &self.config.topics().name(TopicKind::DeadLetter),
            Duration::from_secs(30),
        )
    }
}

fn fetched(n: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 11, 25, 21, 0, 0).unwrap() + chrono::Duration::minutes(n.into())
}

/// What the test sent, by natural key: the last copy of each record.
#[derive(Default)]
struct Sent {
    quotes: BTreeMap<(String, DateTime<Utc>), OptionQuoteRecord>,
    daily: BTreeMap<(String, chrono::NaiveDate), BarRecord>,
    intraday: BTreeMap<(String, DateTime<Utc>), BarRecord>,
    messages: usize,
}

impl Sent {
    async fn quotes(&mut self, t: &Topics, symbol: &str, snapshot: u32, count: usize) -> Vec<u8> {
        let quotes = records::quotes(symbol, snapshot, count);
        for q in &quotes {
            self.quotes
                .insert((q.contract.clone(), q.snapshot_time), q.clone());
        }
        let bytes = records::message(Dataset::Options, symbol, fetched(snapshot), 1, quotes);
        t.send(Dataset::Options, symbol, &bytes).await;
        self.messages += 1;
        bytes
    }

    async fn bars(&mut self, t: &Topics, symbol: &str) {
        let daily = records::daily_bars(symbol, 30);
        for b in &daily {
            self.daily
                .insert((b.symbol.clone(), b.trade_date), b.clone());
        }
        let bytes = records::message(Dataset::Historical, symbol, fetched(0), 2, daily);
        t.send(Dataset::Historical, symbol, &bytes).await;
        let intraday = records::intraday_bars(symbol, 26);
        for b in &intraday {
            self.intraday
                .insert((b.symbol.clone(), b.bar_time), b.clone());
        }
        let bytes = records::message(Dataset::Intraday, symbol, fetched(0), 3, intraday);
        t.send(Dataset::Intraday, symbol, &bytes).await;
        self.messages += 2;
    }
}

fn pg_rows<R: serde::de::DeserializeOwned>(url: &str, sql: &str) -> Vec<R> {
    psql(url, sql)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

fn metric(admin: &str, name: &str, label: &str) -> f64 {
    admin_get(admin, "/metrics")
        .map(|(_, body)| {
            body.lines()
                .filter(|l| l.starts_with(name) && l.contains(label))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum()
        })
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_db_stores_every_row_once_through_kills_redelivery_and_a_database_restart() {
    let postgres = PrivateServer::start();
    let t = topics(
        r#"{"postgres": {"urlEnv": "TEST_DATABASE_URL"},
            "batching": {"maxRows": 300, "maxWaitMs": 200}}"#,
    )
    .await;
    let url = postgres.url();
    let env = [("TEST_DATABASE_URL", url.as_str())];
    let symbols = tickers(10);
    let mut sent = Sent::default();

    // Wave 1, before the writers start.
    for s in &symbols {
        sent.quotes(&t, s, 0, 120).await;
        sent.bars(&t, s).await;
    }
    let (leader, leader_admin) = t.writer("write-db", "db-writer-leader", &env);
    wait_for("the leader", Duration::from_secs(60), &[&leader], || {
        admin_get(&leader_admin, "/readyz").is_some_and(|(s, _)| s == 200)
            && leader.log().contains("partition assigned")
    });
    let (mut member, member_admin) = t.writer("write-db", "db-writer-member", &env);
    wait_for("the member", Duration::from_secs(60), &[&member], || {
        admin_get(&member_admin, "/readyz").is_some_and(|(s, _)| s == 200)
    });

    // Wave 2 while both run; the member is killed in the middle of it.
    let mut replayed = Vec::new();
    for (i, s) in symbols.iter().enumerate() {
        replayed.push((s.clone(), sent.quotes(&t, s, 1, 250).await));
        if i == 4 {
            member.kill();
        }
    }
    // A message delivered twice, and one nobody can read.
    let (symbol, bytes) = &replayed[2];
    t.send(Dataset::Options, symbol, bytes).await;
    sent.messages += 1;
    t.send(Dataset::Options, "TZZ", b"{\"symbol\": \"TZZ\", truncated")
        .await;
    wait_for("wave 2 stored", Duration::from_secs(90), &[&leader], || {
        psql(
            &url,
            "SELECT count(*) FROM option_quotes WHERE snapshot_time > '2024-11-25T15:10:00Z'",
        ) != "0"
    });

    // PostgreSQL goes away while wave 3 arrives, and comes back.
    postgres.stop();
    for s in &symbols {
        sent.quotes(&t, s, 2, 80).await;
    }
    wait_for(
        "the leader to notice PostgreSQL is gone",
        Duration::from_secs(60),
        &[&leader],
        || {
            metric(
                &leader_admin,
                "optionsflow_write_failures_total",
                "unavailable",
            ) > 0.0
        },
    );
    std::thread::sleep(Duration::from_secs(2));
    postgres.start_again();
    let (member, _) = t.writer("write-db", "db-writer-member-again", &env);

    wait_for(
        "every message stored and committed",
        Duration::from_secs(120),
        &[&leader, &member],
        || t.all_committed(Role::DbWriter),
    );

    let quotes: Vec<OptionQuoteRecord> = pg_rows(
        &url,
        "SELECT row_to_json(q) FROM option_quotes q ORDER BY contract, snapshot_time",
    );
    assert_eq!(quotes.len(), sent.quotes.len());
    assert!(
        quotes.iter().eq(sent.quotes.values()),
        "stored quotes differ from those sent"
    );
    let daily: Vec<BarRecord> = pg_rows(
        &url,
        "SELECT (to_jsonb(b) || '{\"interval\": \"1day\"}')::text FROM daily_bars b ORDER BY symbol, trade_date",
    );
    assert!(daily.iter().eq(sent.daily.values()));
    let intraday: Vec<BarRecord> = pg_rows(
        &url,
        "SELECT row_to_json(b) FROM intraday_bars b ORDER BY symbol, bar_time",
    );
    assert!(intraday.iter().eq(sent.intraday.values()));

    let letters = t.dead_letters();
    let poison: Vec<_> = letters
        .iter()
        .filter(|r| r.value["payload"]["stage"] == "write-db")
        .collect();
    assert_eq!(poison.len(), 1, "{letters:?}");
    assert_eq!(poison[0].value["payload"]["reason"], "malformed_message");
    assert_eq!(poison[0].key.as_deref(), Some("TZZ"));
    // The retry names the batch it belongs to: its topic, partition and offsets.
    let log = leader.log();
    let retry: serde_json::Value = log
        .lines()
        .find(|l| l.contains("storing failed; retrying"))
        .map(|l| serde_json::from_str(l).expect("a JSON log line"))
        .unwrap_or_else(|| panic!("no retry logged:\n{}", tail(&log, 20)));
    let spans = retry["spans"].as_array().expect("the spans the line is in");
    let span = |name: &str| {
        spans
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no {name} span in {retry}"))
    };
    let topic = span("partition")["topic"].as_str().unwrap_or_default();
    assert!(Dataset::ALL.iter().any(|d| t.topic(*d) == topic), "{retry}");
    assert!(span("partition")["partition"].as_i64().is_some(), "{retry}");
    let (first, last) = (
        span("batch")["first_offset"].as_i64().unwrap(),
        span("batch")["last_offset"].as_i64().unwrap(),
    );
    assert!(0 <= first && first <= last, "{retry}");
}

/// Intraday bars stored in InfluxDB's `market` database.
fn influx_bars(influx: &Influxd) -> i64 {
    let answer = influx.query("market", "SELECT count(close) FROM intraday_bars");
    answer["results"][0]["series"][0]["values"][0][1]
        .as_i64()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn influxdb_down_or_refusing_holds_back_only_its_own_writer() {
    let postgres = PrivateServer::start();
    let mut influx = Influxd::start();
    influx.query("", "CREATE DATABASE market");
    let t = topics(&format!(
        r#"{{"postgres": {{"urlEnv": "TEST_DATABASE_URL"}},
             "influxdb": {{"url": "{}", "database": "market"}},
             "batching": {{"maxRows": 300, "maxWaitMs": 200}}}}"#,
        influx.url()
    ))
    .await;
    let url = postgres.url();
    let env = [("TEST_DATABASE_URL", url.as_str())];
    let symbols = tickers(8);
    let mut sent = Sent::default();
    for s in &symbols[..4] {
        sent.bars(&t, s).await;
    }
    let (db, _) = t.writer("write-db", "db-writer", &env);
    let (mut writer, influx_admin) = t.writer("write-influx", "influx-writer", &[]);
    wait_for(
        "wave 1 in both stores",
        Duration::from_secs(90),
        &[&db, &writer],
        || t.all_committed(Role::DbWriter) && t.all_committed(Role::InfluxWriter),
    );
    assert_eq!(influx_bars(&influx), sent.intraday.len() as i64);

    // InfluxDB goes away: PostgreSQL keeps flowing, InfluxDB's offsets wait.
    influx.stop();
    for s in &symbols[4..] {
        sent.bars(&t, s).await;
    }
    wait_for(
        "wave 2 in PostgreSQL while InfluxDB is down",
        Duration::from_secs(90),
        &[&db, &writer],
        || {
            t.all_committed(Role::DbWriter)
                && metric(
                    &influx_admin,
                    "optionsflow_write_failures_total",
                    "unavailable",
                ) > 0.0
        },
    );
    assert!(!t.all_committed(Role::InfluxWriter));
    let intraday: Vec<BarRecord> = pg_rows(
        &url,
        "SELECT row_to_json(b) FROM intraday_bars b ORDER BY symbol, bar_time",
    );
    assert!(intraday.iter().eq(sent.intraday.values()));

    // Back: the InfluxDB writer catches up on its own, every bar once.
    influx.start_again();
    wait_for(
        "InfluxDB to catch up",
        Duration::from_secs(120),
        &[&writer],
        || t.all_committed(Role::InfluxWriter),
    );
    assert_eq!(influx_bars(&influx), sent.intraday.len() as i64);
    assert!(
        writer.terminate().is_some_and(|s| s.success()),
        "{}",
        writer.log()
    );

    // A database that does not exist: the role stops and says why; PostgreSQL goes on.
    let wrong = t.config_with("nowhere.json", |c| {
        c.sinks.influxdb.as_mut().unwrap().database = "nowhere".into();
    });
    let (mut refused, _) = t.writer_on(&wrong, "write-influx", "influx-writer-refused", &[]);
    sent.bars(&t, "LATE").await;
    wait_for(
        "the refused writer to stop",
        Duration::from_secs(90),
        &[],
        || refused.exited().is_some(),
    );
    let log = refused.log();
    assert!(!refused.exited().unwrap().success(), "{log}");
    assert!(
        log.contains("refuses this writer") && log.contains("database not found"),
        "{}",
        tail(&log, 20)
    );
    wait_for(
        "the late bars in PostgreSQL",
        Duration::from_secs(60),
        &[&db],
        || t.all_committed(Role::DbWriter),
    );
    assert!(!t.all_committed(Role::InfluxWriter));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_files_stores_each_record_once_in_csv_objects_named_by_offsets() {
    let moto = Moto::start();
    let status = reqwest::Client::new()
        .put(format!("{}/lake", moto.endpoint()))
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_success(), "bucket created: {status}");
    let t = topics(&format!(
        r#"{{"s3": {{"bucket": "lake", "prefix": "market", "endpoint": "{}", "pathStyle": true}},
             "files": {{"maxBytes": 60000, "maxAgeSeconds": 1}}}}"#,
        moto.endpoint()
    ))
    .await;
    let env = [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let symbols = tickers(8);
    let mut sent = Sent::default();
    for s in &symbols {
        sent.quotes(&t, s, 0, 100).await;
        sent.bars(&t, s).await;
    }
    // First, a writer pointed at a bucket that does not exist: the role stops and says why,
    // committing nothing (the writers below then store every message).
    let wrong = t.config_with("no-bucket.json", |c| {
        c.sinks.s3.as_mut().unwrap().bucket = "no-such-bucket".into();
    });
    let (mut refused, _) = t.writer_on(&wrong, "write-files", "file-writer-refused", &env);
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while refused.exited().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the refused writer did not stop:\n{}",
            tail(&refused.log(), 30)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let log = refused.log();
    assert!(!refused.exited().unwrap().success(), "{log}");
    assert!(
        log.contains("refuses this writer") && log.contains("NoSuchBucket"),
        "{}",
        tail(&log, 20)
    );
    assert!(!t.all_committed(Role::FileWriter), "nothing committed");
    let (leader, leader_admin) = t.writer("write-files", "file-writer-leader", &env);
    wait_for("the leader", Duration::from_secs(60), &[&leader], || {
        admin_get(&leader_admin, "/readyz").is_some_and(|(s, _)| s == 200)
            && leader.log().contains("partition assigned")
    });
    let (mut member, member_admin) = t.writer("write-files", "file-writer-member", &env);
    wait_for("the member", Duration::from_secs(60), &[&member], || {
        admin_get(&member_admin, "/readyz").is_some_and(|(s, _)| s == 200)
    });
    let mut replayed = Vec::new();
    for (i, s) in symbols.iter().enumerate() {
        replayed.push((s.clone(), sent.quotes(&t, s, 1, 150).await));
        if i == 3 {
            member.kill();
        }
    }
    let (symbol, bytes) = &replayed[1];
    t.send(Dataset::Options, symbol, bytes).await;
    let (member, _) = t.writer("write-files", "file-writer-member-again", &env);
    wait_for(
        "every message stored and committed",
        Duration::from_secs(120),
        &[&leader, &member],
        || t.all_committed(Role::FileWriter),
    );

    let objects = bucket_objects(&moto, "lake").await;
    assert!(!objects.is_empty());
    let mut quotes: Vec<OptionQuoteRecord> = Vec::new();
    let mut bars: Vec<BarRecord> = Vec::new();
    let mut ranges: BTreeSet<(String, i64, i64)> = BTreeSet::new();
    for (key, body) in &objects {
        // market/<dataset>/date=YYYY-MM-DD/<topic>-<partition>-<first>-<last>.csv
        let parts: Vec<&str> = key.split('/').collect();
        assert_eq!(parts.len(), 4, "{key}");
        assert_eq!(parts[0], "market");
        assert_eq!(parts[2], "date=2024-11-25", "{key}");
        let name = parts[3].strip_suffix(".csv").unwrap();
        let mut fields = name.rsplitn(4, '-');
        let last: i64 = fields.next().unwrap().parse().unwrap();
        let first: i64 = fields.next().unwrap().parse().unwrap();
        let partition = fields.next().unwrap().to_owned();
        assert!(first <= last, "{key}");
        ranges.insert((format!("{}-{partition}", parts[1]), first, last));

        let mut reader = csv::Reader::from_reader(body.as_bytes());
        let header = reader.headers().unwrap().clone();
        for row in reader.records() {
            let row = row.unwrap_or_else(|e| panic!("{key} is not CSV: {e}"));
            assert_eq!(row.len(), header.len(), "{key}");
            let value = csv_row_to_json(&header, &row);
            if parts[1] == "options" {
                quotes.push(serde_json::from_value(value).unwrap());
            } else {
                bars.push(serde_json::from_value(value).unwrap());
            }
        }
    }
    // No two files of a partition overlap: a retried batch replaced its earlier upload.
    let mut previous: BTreeMap<&str, i64> = BTreeMap::new();
    for (partition, first, last) in &ranges {
        if let Some(end) = previous.get(partition.as_str()) {
            assert!(first > end, "{partition}: overlapping files {ranges:?}");
        }
        previous.insert(partition, *last);
    }
    // Every record sent is in exactly one file, once per delivery.
    let mut expected_quotes: Vec<OptionQuoteRecord> = sent.quotes.values().cloned().collect();
    // The message delivered twice holds its records twice in the log; files keep the log.
    expected_quotes.extend(records::quotes(&replayed[1].0, 1, 150));
    let key = |q: &OptionQuoteRecord| (q.contract.clone(), q.snapshot_time);
    expected_quotes.sort_by_key(key);
    quotes.sort_by_key(key);
    assert_eq!(
        quotes.len(),
        expected_quotes.len(),
        "objects: {:?}\n{}",
        objects.keys().collect::<Vec<_>>(),
        tail(&leader.log(), 20)
    );
    assert!(
        quotes == expected_quotes,
        "file rows differ from those sent"
    );
    let mut expected_bars: Vec<BarRecord> = sent.daily.values().cloned().collect();
    expected_bars.extend(sent.intraday.values().cloned());
    let bar_key = |b: &BarRecord| (b.symbol.clone(), b.interval, b.bar_time);
    expected_bars.sort_by_key(bar_key);
    bars.sort_by_key(bar_key);
    assert!(bars == expected_bars, "bar rows differ from those sent");
}

/// A CSV row as the record's JSON: empty fields are nulls, numbers are numbers, flags a list.
fn csv_row_to_json(header: &csv::StringRecord, row: &csv::StringRecord) -> serde_json::Value {
    let text = [
        "symbol",
        "interval",
        "contract",
        "underlying",
        "root",
        "right",
        "iv_status",
        "exercise",
        "source",
        "trade_date",
        "expiry",
        "bar_time",
        "snapshot_time",
        "fetched_at",
    ];
    let object = header
        .iter()
        .zip(row.iter())
        .map(|(name, field)| {
            let value = if name == "flags" {
                serde_json::json!(
                    field
                        .split(';')
                        .filter(|f| !f.is_empty())
                        .collect::<Vec<_>>()
                )
            } else if text.contains(&name) {
                serde_json::json!(field)
            } else if field.is_empty() {
                serde_json::Value::Null
            } else {
                serde_json::from_str(field).unwrap_or_else(|e| panic!("{name}={field}: {e}"))
            };
            (name.to_owned(), value)
        })
        .collect();
    serde_json::Value::Object(object)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_embedded_defaults_the_same_writers_fill_sqlite_and_a_folder() {
    let data = tempfile::tempdir().unwrap();
    let db_path = data.path().join("optionsflow.db");
    let files = data.path().join("files");
    let t = topics(&format!(
        r#"{{"sqlite": {{"path": "{}"}}, "folder": {{"path": "{}"}},
             "batching": {{"maxRows": 500, "maxWaitMs": 100}},
             "files": {{"maxBytes": 1000000, "maxAgeSeconds": 1}}}}"#,
        db_path.display(),
        files.display()
    ))
    .await;
    let symbols = tickers(4);
    let mut sent = Sent::default();
    for s in &symbols {
        sent.quotes(&t, s, 0, 50).await;
        sent.bars(&t, s).await;
    }
    let (db_writer, _) = t.writer("write-db", "db-writer", &[]);
    let (file_writer, _) = t.writer("write-files", "file-writer", &[]);
    wait_for(
        "everything stored and committed",
        Duration::from_secs(90),
        &[&db_writer, &file_writer],
        || t.all_committed(Role::DbWriter) && t.all_committed(Role::FileWriter),
    );

    // The migrate command on the database the writer made: already up to date.
    let out = std::process::Command::new(WORKER)
        .args(["migrate", "--database-url", db_path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "sqlite schema is up to date"
    );
    let Database::Sqlite(sqlite) = Database::open(db_path.to_str().unwrap()).unwrap() else {
        panic!("a path opens SQLite")
    };
    for (table, sent) in [
        ("option_quotes", sent.quotes.len()),
        ("daily_bars", sent.daily.len()),
        ("intraday_bars", sent.intraday.len()),
    ] {
        let sql = format!("SELECT count(*) FROM {table}");
        let stored: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(sqlite.pool())
            .await
            .unwrap();
        assert_eq!(stored as usize, sent, "{table}");
    }

    let mut csv_rows = 0;
    for dataset in ["options", "historical", "intraday"] {
        let day = files.join(dataset).join("date=2024-11-25");
        for file in std::fs::read_dir(&day).unwrap() {
            let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
            csv_rows += text.matches("\r\n").count() - 1;
        }
    }
    assert_eq!(
        csv_rows,
        sent.quotes.len() + sent.daily.len() + sent.intraday.len()
    );
}
