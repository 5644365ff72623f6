//! The db-writer's upsert rate against PostgreSQL's own `COPY`, in one run:
//! `cargo bench -p optionsflow-workers --bench write_db`.
//!
//! Writes 1,000,000 option quotes into `option_quotes` of a fresh database on the server at
//! 127.0.0.1:5432 (or the database at `OPTIONSFLOW_BENCH_DATABASE_URL`), in batches of 5,000
//! rows as `write-db` does (merging and sorting included), with each upsert method, by 1, 2
//! and 4 concurrent writers (`write-db` runs one per assigned partition, each with its own
//! underlyings, as here); then the same rows again (every row conflicts and nothing changes:
//! a redelivery); then `psql \copy` of the same rows into the same emptied table. Prints
//! rows/s and the ratio to COPY. The target (docs/targets.md) is at least 70 % of COPY;
//! docs/storage.md keeps the figures.

use std::io::Write as _;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use optionsflow_api::records::Batch;
use optionsflow_api::{Dataset, MessageOrigin};
use optionsflow_testkit::postgres::{TestDatabase, psql};
use optionsflow_testkit::records;
use optionsflow_workers::sinks::db::postgres::copy_data;
use optionsflow_workers::sinks::db::{Database, UpsertMethod};
use optionsflow_workers::sinks::schema::OPTION_QUOTES;
use optionsflow_workers::stages::process::Records;
use optionsflow_workers::stages::write::Rows;

const ROWS: usize = 1_000_000;
const BATCH: usize = 5_000;

/// 1,000,000 quotes: 100 underlyings × 10 snapshots × 1,000 contracts, as processed messages
/// of 500 records (the processor's chunk size).
fn messages() -> Vec<Records> {
    let mut out = Vec::new();
    for u in 0..100 {
        let underlying = format!("B{}{}", (b'A' + u / 10) as char, (b'A' + u % 10) as char);
        for snapshot in 0..10 {
            let quotes = records::quotes(&underlying, snapshot, 1_000);
            for chunk in quotes.chunks(500) {
                out.push(Records::Quotes(Batch {
                    dataset: Dataset::Options,
                    origin: MessageOrigin {
                        topic: "raw".into(),
                        partition: 0,
                        offset: 0,
                    },
                    chunk: None,
                    records: chunk.to_vec(),
                }));
            }
        }
    }
    assert_eq!(out.iter().map(Records::len).sum::<usize>(), ROWS);
    out
}

/// Writes every message with `writers` concurrent writers, each owning a share of the
/// underlyings (as partitions do); rows/s.
async fn upserts(database: &Database, messages: &Arc<Vec<Records>>, writers: usize) -> f64 {
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let (database, messages) = (database.clone(), messages.clone());
            tokio::spawn(async move {
                // Messages come in runs of 20 per underlying; a writer takes every n-th run.
                let mine: Vec<&Records> = messages
                    .chunks(20)
                    .enumerate()
                    .filter(|(i, _)| i % writers == w)
                    .flat_map(|(_, run)| run)
                    .collect();
                for batch in mine.chunks(BATCH / 500) {
                    database
                        .write(&Rows::of(batch.iter().copied()))
                        .await
                        .expect("upsert");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    ROWS as f64 / started.elapsed().as_secs_f64()
}

fn count(url: &str) -> usize {
    psql(url, "SELECT count(*) FROM option_quotes")
        .parse()
        .unwrap()
}

fn main() {
    let server = std::env::var("OPTIONSFLOW_BENCH_DATABASE_URL").ok();
    let db = match &server {
        Some(_) => None,
        None => Some(TestDatabase::create("bench")),
    };
    let url = server.unwrap_or_else(|| db.as_ref().unwrap().url.clone());
    let messages = Arc::new(messages());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!("write-db, {ROWS} option quotes in batches of {BATCH} rows:");
    let started = Instant::now();
    for batch in messages.chunks(BATCH / 500) {
        std::hint::black_box(Rows::of(batch));
    }
    println!(
        "  merging and sorting batches alone (no database): {:.0} rows/s",
        ROWS as f64 / started.elapsed().as_secs_f64()
    );
    let mut best = 0.0f64;
    for method in [UpsertMethod::Unnest, UpsertMethod::CopyMerge] {
        for writers in [1, 2, 4] {
            let (fresh, again) = runtime.block_on(async {
                let Database::Postgres(pg) = Database::open(&url).unwrap() else {
                    panic!("a PostgreSQL URL")
                };
                let database = Database::Postgres(pg.with_method(method));
                database.migrate().await.unwrap();
                psql(&url, "TRUNCATE option_quotes");
                psql(&url, "CHECKPOINT");
                let fresh = upserts(&database, &messages, writers).await;
                assert_eq!(count(&url), ROWS);
                let again = upserts(&database, &messages, writers).await;
                database.close().await;
                (fresh, again)
            });
            best = best.max(fresh);
            println!(
                "  {method:?}, {writers} writer(s): {fresh:>7.0} rows/s into an empty table, {again:>7.0} rows/s redelivered (nothing changes)"
            );
        }
    }

    // COPY of the same rows, from a file in COPY's text format, by psql.
    let rows = Rows::of(messages.iter());
    let file = tempfile::NamedTempFile::new().unwrap();
    file.as_file()
        .write_all(&copy_data(&OPTION_QUOTES, &rows.option_quotes))
        .unwrap();
    psql(&url, "TRUNCATE option_quotes");
    psql(&url, "CHECKPOINT");
    let started = Instant::now();
    let status = Command::new("psql")
        .args([
            url.as_str(),
            "-qc",
            &format!("\\copy option_quotes FROM '{}'", file.path().display()),
        ])
        .status()
        .unwrap();
    let copy = ROWS as f64 / started.elapsed().as_secs_f64();
    assert!(status.success());
    assert_eq!(count(&url), ROWS);
    println!("  psql \\copy: {copy:>9.0} rows/s into an empty table");
    println!(
        "  best upsert / COPY = {:.0} % (target ≥ 70 %)",
        100.0 * best / copy
    );
}
