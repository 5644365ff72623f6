//! The database adapters on real servers: PostgreSQL (a database of the test's own on the
//! server at 127.0.0.1:5432) and SQLite. Rows read back equal the records written, column by
//! column; writing them again rewrites nothing; concurrent migrations are safe; a message
//! the database refuses is set aside and the rest of its batch is stored.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use optionsflow_api::records::{BarRecord, Batch, OptionQuoteRecord};
use optionsflow_api::runtime_config::Batching;
use optionsflow_api::{Dataset, MessageOrigin};
use optionsflow_testkit::postgres::{TestDatabase, psql};
use optionsflow_testkit::records;
use optionsflow_workers::roles::write::db::DbDestination;
use optionsflow_workers::roles::write::{Destination, Span};
use optionsflow_workers::runtime::metrics::Metrics;
use optionsflow_workers::sinks::db::{Database, UpsertMethod};
use optionsflow_workers::stages::process::Records;
use optionsflow_workers::stages::write::{Incoming, Rows, decode};
use sqlx::Row;

fn batch<R>(dataset: Dataset, records: Vec<R>) -> Batch<R> {
    Batch {
        dataset,
        origin: MessageOrigin {
            topic: "raw".into(),
            partition: 0,
            offset: 0,
        },
        chunk: None,
        records,
    }
}

fn sample_rows() -> Rows {
    Rows::of([
        &Records::Quotes(batch(Dataset::Options, records::quotes("AAPL", 0, 300))),
        &Records::Quotes(batch(Dataset::Options, records::quotes("MSFT", 1, 40))),
        &Records::Bars(batch(Dataset::Historical, records::daily_bars("AAPL", 50))),
        &Records::Bars(batch(Dataset::Intraday, records::intraday_bars("AAPL", 26))),
    ])
}

async fn postgres(db: &TestDatabase, method: UpsertMethod) -> Database {
    let Database::Postgres(pg) = Database::open(&db.url).unwrap() else {
        panic!("a postgres URL opens PostgreSQL")
    };
    let database = Database::Postgres(pg.with_method(method));
    database.migrate().await.unwrap();
    database
}

/// Every row of a PostgreSQL table as the record type, through `row_to_json` (the columns
/// are the records' field names).
fn read_pg<R: serde::de::DeserializeOwned>(url: &str, sql: &str) -> Vec<R> {
    let out = psql(url, sql);
    out.lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

fn pg_quotes(url: &str) -> Vec<OptionQuoteRecord> {
    read_pg(
        url,
        "SELECT row_to_json(q) FROM option_quotes q ORDER BY contract, snapshot_time",
    )
}

fn pg_daily(url: &str) -> Vec<BarRecord> {
    read_pg(
        url,
        "SELECT (to_jsonb(b) || '{\"interval\": \"1day\"}')::text FROM daily_bars b ORDER BY symbol, trade_date",
    )
}

fn pg_intraday(url: &str) -> Vec<BarRecord> {
    read_pg(
        url,
        "SELECT row_to_json(b) FROM intraday_bars b ORDER BY symbol, interval, bar_time",
    )
}

/// PostgreSQL keeps microseconds; the made-up records have no finer times.
fn assert_read_back(url: &str, rows: &Rows) {
    assert_eq!(pg_quotes(url), rows.option_quotes);
    assert_eq!(pg_daily(url), rows.daily_bars);
    assert_eq!(pg_intraday(url), rows.intraday_bars);
}

#[tokio::test]
async fn postgres_rows_read_back_equal_the_records_with_both_upsert_methods() {
    let rows = sample_rows();
    for method in [UpsertMethod::Unnest, UpsertMethod::CopyMerge] {
        let db = TestDatabase::create("readback");
        let database = postgres(&db, method).await;
        database.write(&rows).await.unwrap();
        assert_read_back(&db.url, &rows);
        database.close().await;
    }
}

/// Each row's transaction id: it changes whenever the row is rewritten.
fn versions(url: &str) -> BTreeMap<String, String> {
    psql(
        url,
        "SELECT contract || '@' || snapshot_time || ' ' || xmin FROM option_quotes \
         UNION ALL SELECT symbol || '@' || trade_date || ' ' || xmin FROM daily_bars \
         UNION ALL SELECT symbol || '@' || bar_time || ' ' || xmin FROM intraday_bars",
    )
    .lines()
    .map(|l| {
        let (key, xmin) = l.rsplit_once(' ').unwrap();
        (key.to_owned(), xmin.to_owned())
    })
    .collect()
}

#[tokio::test]
async fn writing_the_same_rows_again_rewrites_nothing_and_a_change_rewrites_only_its_row() {
    for method in [UpsertMethod::Unnest, UpsertMethod::CopyMerge] {
        let db = TestDatabase::create("redelivery");
        let database = postgres(&db, method).await;
        let mut rows = sample_rows();
        database.write(&rows).await.unwrap();
        let before = versions(&db.url);
        assert_eq!(before.len(), rows.len());

        database.write(&rows).await.unwrap();
        assert_eq!(
            versions(&db.url),
            before,
            "{method:?}: a redelivery rewrote rows"
        );

        rows.option_quotes[7].ask = Some(42.0);
        database.write(&rows).await.unwrap();
        let after = versions(&db.url);
        let changed: Vec<&String> = after
            .iter()
            .filter(|(k, v)| before[*k] != **v)
            .map(|(k, _)| k)
            .collect();
        assert_eq!(changed.len(), 1, "{method:?}: {changed:?}");
        assert!(changed[0].starts_with(&rows.option_quotes[7].contract));
        assert_read_back(&db.url, &rows);
        database.close().await;
    }
}

/// A bar fetched `minutes` after `bar` (before it, if negative), with another close.
fn refetched(bar: &BarRecord, minutes: i64, close: f64) -> BarRecord {
    BarRecord {
        fetched_at: Some(bar.fetched_at.unwrap() + chrono::Duration::minutes(minutes)),
        close,
        ..bar.clone()
    }
}

/// Writes, one batch each, a newer copy of the first daily and intraday bars, then an older
/// copy (a replay), then the older copy with the newer in one batch; returns the rows that
/// must be stored.
async fn replay_older_after_newer(database: &Database) -> Rows {
    let mut rows = sample_rows();
    database.write(&rows).await.unwrap();
    let (daily, intraday) = (rows.daily_bars[0].clone(), rows.intraday_bars[0].clone());
    let newer = Rows {
        daily_bars: vec![refetched(&daily, 60, 150.0)],
        intraday_bars: vec![refetched(&intraday, 60, 150.0)],
        option_quotes: vec![],
    };
    let older = Rows {
        daily_bars: vec![refetched(&daily, -5, 1.0)],
        intraday_bars: vec![refetched(&intraday, -5, 1.0)],
        option_quotes: vec![],
    };
    database.write(&newer).await.unwrap();
    database.write(&older).await.unwrap();
    let both = [older.daily_bars.clone(), newer.daily_bars.clone()].concat();
    database
        .write(&Rows::of([&Records::Bars(batch(
            Dataset::Historical,
            both,
        ))]))
        .await
        .unwrap();
    rows.daily_bars[0] = newer.daily_bars[0].clone();
    rows.intraday_bars[0] = newer.intraday_bars[0].clone();
    rows
}

#[tokio::test]
async fn a_replayed_older_bar_never_overwrites_a_newer_one() {
    for method in [UpsertMethod::Unnest, UpsertMethod::CopyMerge] {
        let db = TestDatabase::create("newer");
        let database = postgres(&db, method).await;
        let expected = replay_older_after_newer(&database).await;
        assert_read_back(&db.url, &expected);

        // A row stored before `fetched_at` existed is replaced by any fetched bar.
        psql(
            &db.url,
            "UPDATE daily_bars SET fetched_at = NULL, close = 3 WHERE trade_date = '2024-01-02'",
        );
        let mut rows = expected.clone();
        rows.daily_bars[1].close = 4.0;
        database.write(&rows).await.unwrap();
        assert_read_back(&db.url, &rows);
        database.close().await;
    }
}

#[tokio::test]
async fn the_symbols_summary_counts_what_concurrent_writers_stored() {
    let db = TestDatabase::create("summary");
    let a = postgres(&db, UpsertMethod::Unnest).await;
    let b = postgres(&db, UpsertMethod::CopyMerge).await;
    // Each batch holds bars of both symbols, so the two writers contend for both summary
    // rows on every batch; some batches repeat earlier days (redelivery).
    let batches: Vec<Rows> = (0..24)
        .map(|i| {
            let days = 10 * (i + 1);
            let mut daily = records::daily_bars("AAPL", days);
            daily.extend(records::daily_bars("MSFT", days / 2));
            Rows::of([
                &Records::Bars(batch(Dataset::Historical, daily)),
                &Records::Bars(batch(
                    Dataset::Intraday,
                    records::intraday_bars("MSFT", i + 1),
                )),
                &Records::Quotes(batch(Dataset::Options, records::quotes("SPY", i as u32, 3))),
            ])
        })
        .collect();
    let write = |db: &Database, parity: usize| {
        let db = db.clone();
        let mine: Vec<Rows> = batches.iter().skip(parity).step_by(2).cloned().collect();
        async move {
            for rows in mine {
                db.write(&rows).await.unwrap();
            }
        }
    };
    tokio::join!(write(&a, 0), write(&b, 1));
    let summary = psql(
        &db.url,
        "SELECT symbol || ' ' || daily_bars || ' ' || intraday_bars FROM symbols ORDER BY symbol",
    );
    let counted = psql(
        &db.url,
        "SELECT s || ' ' || (SELECT count(*) FROM daily_bars WHERE symbol = s) || ' ' || \
                (SELECT count(*) FROM intraday_bars WHERE symbol = s) \
           FROM unnest(ARRAY['AAPL', 'MSFT', 'SPY']) AS s ORDER BY s",
    );
    assert_eq!(summary, counted);
    assert_eq!(counted.lines().next(), Some("AAPL 240 0"));
    a.close().await;
    b.close().await;
}

#[tokio::test]
async fn two_writers_migrating_at_once_both_succeed_and_apply_each_migration_once() {
    let db = TestDatabase::create("migrate");
    let a = Database::open(&db.url).unwrap();
    let b = Database::open(&db.url).unwrap();
    let (ra, rb) = tokio::join!(a.migrate(), b.migrate());
    ra.unwrap();
    rb.unwrap();
    assert_eq!(
        psql(
            &db.url,
            "SELECT count(*) FROM _sqlx_migrations WHERE success"
        ),
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
            .unwrap()
            .count()
            .to_string()
    );
    assert_eq!(
        psql(
            &db.url,
            "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'"
        ),
        "_sqlx_migrations,daily_bars,dead_letters,intraday_bars,option_quotes,prediction_scores,predictions,symbols"
    );
    // Applying again is a no-op.
    a.migrate().await.unwrap();
}

#[tokio::test]
async fn the_schema_has_indexes_for_the_api_queries() {
    let db = TestDatabase::create("indexes");
    postgres(&db, UpsertMethod::Unnest).await;
    let indexes = psql(
        &db.url,
        "SELECT string_agg(indexdef, E'\\n' ORDER BY indexname) FROM pg_indexes WHERE tablename = 'option_quotes'",
    );
    assert!(
        indexes.contains("(underlying, snapshot_time DESC, expiry)"),
        "{indexes}"
    );
    assert!(indexes.contains("(contract, snapshot_time)"), "{indexes}");
}

fn message(offset: i64, contract_prefix: &str) -> (MessageOrigin, Incoming) {
    let mut quotes = records::quotes("AAPL", offset as u32, 20);
    for q in &mut quotes {
        q.contract = format!("{contract_prefix}{}", &q.contract[contract_prefix.len()..]);
    }
    let at = Utc.with_ymd_and_hms(2024, 11, 25, 21, 0, 0).unwrap();
    let bytes = records::message(Dataset::Options, "AAPL", at, offset, quotes);
    (
        MessageOrigin {
            topic: "t.processed-options-data".into(),
            partition: 0,
            offset,
        },
        decode(&bytes, Dataset::Options).unwrap(),
    )
}

#[tokio::test]
async fn a_message_the_database_refuses_is_returned_and_the_rest_of_the_batch_is_stored() {
    let db = TestDatabase::create("refused");
    let destination = DbDestination {
        database: postgres(&db, UpsertMethod::Unnest).await,
        batching: Batching::default(),
        metrics: Metrics::new(),
    };
    let mut pending = Default::default();
    for (offset, prefix) in [(1, "AAPL"), (2, "AA\u{0}L"), (3, "AAPL")] {
        let (origin, incoming) = message(offset, prefix);
        destination.add(&mut pending, &origin, incoming);
    }
    let span = Span {
        topic: "t.processed-options-data".into(),
        partition: 0,
        dataset: Dataset::Options,
        first: 1,
        last: 3,
    };
    let refused = destination.flush(&pending, &span).await.unwrap();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].origin.as_ref().unwrap().offset, 2);
    assert_eq!(
        refused[0].reason,
        optionsflow_api::Reason::RejectedByPostgresql
    );
    assert!(refused[0].detail.contains("0x00"), "{}", refused[0].detail);
    assert_eq!(refused[0].original["records"].as_array().unwrap().len(), 20);
    assert_eq!(psql(&db.url, "SELECT count(*) FROM option_quotes"), "40");
}

/// Every row of a SQLite table as JSON, column names as keys, converted back to the record
/// types' shapes (flags are comma-separated there).
async fn read_sqlite<R: serde::de::DeserializeOwned>(db: &Database, table: &str) -> Vec<R> {
    let Database::Sqlite(sqlite) = db else {
        panic!("sqlite")
    };
    let sql = format!("SELECT * FROM {table} ORDER BY 1, 2, 3");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(sqlite.pool())
        .await
        .unwrap();
    rows.iter()
        .map(|row| {
            let mut object = serde_json::Map::new();
            for (i, column) in row.columns().iter().enumerate() {
                use sqlx::Column;
                let name = column.name();
                let value = match name {
                    "flags" => {
                        let text: String = row.get(i);
                        serde_json::json!(
                            text.split(',')
                                .filter(|f| !f.is_empty())
                                .collect::<Vec<_>>()
                        )
                    }
                    "volume" | "open_interest" => serde_json::json!(row.get::<Option<i64>, _>(i)),
                    "otm" => serde_json::json!(row.get::<Option<bool>, _>(i)),
                    "fetched_at" => serde_json::json!(row.get::<Option<String>, _>(i)),
                    "symbol" | "interval" | "contract" | "underlying" | "root" | "right"
                    | "iv_status" | "exercise" | "source" | "trade_date" | "expiry"
                    | "bar_time" | "snapshot_time" => serde_json::json!(row.get::<String, _>(i)),
                    _ => serde_json::json!(row.get::<Option<f64>, _>(i)),
                };
                object.insert(name.to_owned(), value);
            }
            if table == "daily_bars" {
                object.insert("interval".into(), "1day".into());
            }
            serde_json::from_value(serde_json::Value::Object(object)).unwrap()
        })
        .collect()
}

#[tokio::test]
async fn sqlite_stores_the_same_rows_and_a_redelivery_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("optionsflow.db");
    let a = Database::open(path.to_str().unwrap()).unwrap();
    let b = Database::open(&format!("sqlite://{}", path.display())).unwrap();
    let (ra, rb) = tokio::join!(a.migrate(), b.migrate());
    ra.unwrap();
    rb.unwrap();
    assert_eq!(a.kind(), "sqlite");

    let mut rows = sample_rows();
    a.write(&rows).await.unwrap();
    b.write(&rows).await.unwrap();
    let mut quotes: Vec<OptionQuoteRecord> = read_sqlite(&a, "option_quotes").await;
    quotes.sort_by(|x, y| (&x.contract, x.snapshot_time).cmp(&(&y.contract, y.snapshot_time)));
    assert_eq!(quotes, rows.option_quotes);
    assert_eq!(
        read_sqlite::<BarRecord>(&a, "daily_bars").await,
        rows.daily_bars
    );
    assert_eq!(
        read_sqlite::<BarRecord>(&a, "intraday_bars").await,
        rows.intraday_bars
    );

    rows.daily_bars[3].close = 1.25;
    a.write(&rows).await.unwrap();
    assert_eq!(
        read_sqlite::<BarRecord>(&a, "daily_bars").await,
        rows.daily_bars
    );

    let Database::Sqlite(sqlite) = &a else {
        unreachable!()
    };
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(sqlite.pool())
        .await
        .unwrap();
    assert_eq!(
        synchronous, 2,
        "a committed batch must survive a power cut (FULL)"
    );
    a.close().await;
    b.close().await;
}

#[tokio::test]
async fn sqlite_never_overwrites_a_newer_bar_with_a_replayed_older_one() {
    let dir = tempfile::tempdir().unwrap();
    let database = Database::open(dir.path().join("o.db").to_str().unwrap()).unwrap();
    database.migrate().await.unwrap();
    let expected = replay_older_after_newer(&database).await;
    assert_eq!(
        read_sqlite::<BarRecord>(&database, "daily_bars").await,
        expected.daily_bars
    );
    assert_eq!(
        read_sqlite::<BarRecord>(&database, "intraday_bars").await,
        expected.intraday_bars
    );
    database.close().await;
}
