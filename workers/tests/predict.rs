//! The predictor's store on real databases: PostgreSQL (a database of the test's own on the
//! server at 127.0.0.1:5432) and SQLite. Fed the sample market's processed daily bars the
//! way the engine feeds it, it starts each symbol's history from the stored bars, forecasts
//! every session a batch touched, and a replay, or a restarted predictor given the same
//! messages, writes exactly the same rows; a session's 15-minute bars wait for its daily bar
//! and then give its realized variance; both databases hold the same forecasts.

use chrono::{NaiveDate, Utc};
use optionsflow_api::Source;
use optionsflow_api::records::{BarInterval, BarRecord, Batch};
use optionsflow_api::runtime_config::{Batching, SampleSource};
use optionsflow_api::{Dataset, MessageOrigin};
use optionsflow_testkit::postgres::TestDatabase;
use optionsflow_workers::market::calendar;
use optionsflow_workers::roles::predict::Predictor;
use optionsflow_workers::roles::serve::query::{self, Bind, PredictionRow, ScoreRow};
use optionsflow_workers::roles::write::{Destination, Span};
use optionsflow_workers::runtime::metrics::Metrics;
use optionsflow_workers::sinks::db::Database;
use optionsflow_workers::sources::sample::Sample;
use optionsflow_workers::stages::predict::forecast;
use optionsflow_workers::stages::predict::realized::{self, Ohlc};
use optionsflow_workers::stages::process::Records;
use optionsflow_workers::stages::write::{Incoming, Rows};

/// The sample market's SPY sessions from `start` to `end`, as the processor publishes them.
fn daily_bars(start: NaiveDate, end: NaiveDate) -> Vec<BarRecord> {
    let sample = Sample::new(&SampleSource {
        seed: 7,
        dirty_per_mille: 0,
    });
    sample
        .daily("SPY", start, end)
        .values
        .iter()
        .rev()
        .map(|b| {
            let day = NaiveDate::parse_from_str(&b.datetime, "%Y-%m-%d").unwrap();
            BarRecord {
                symbol: "SPY".into(),
                interval: BarInterval::Day,
                trade_date: day,
                bar_time: calendar::session(day).unwrap().open,
                open: b.open.to_f64(),
                high: b.high.to_f64(),
                low: b.low.to_f64(),
                close: b.close.to_f64(),
                volume: Some(1_000_000),
                source: Source::Sample,
                fetched_at: None,
                flags: Vec::new(),
            }
        })
        .collect()
}

fn records(bars: &[BarRecord]) -> Records {
    Records::Bars(Batch {
        dataset: Dataset::Daily,
        origin: origin(),
        chunk: None,
        records: bars.to_vec(),
    })
}

fn message(bars: &[BarRecord]) -> Incoming {
    Incoming {
        symbol: "SPY".into(),
        fetched_at: Utc::now(),
        records: records(bars),
    }
}

/// What the db-writer does with the bars.
async fn store(database: &Database, bars: &[BarRecord]) {
    database.write(&Rows::of([&records(bars)])).await.unwrap();
}

fn origin() -> MessageOrigin {
    MessageOrigin {
        topic: "processed.daily".into(),
        partition: 0,
        offset: 0,
    }
}

/// Stores one batch of `messages` through a predictor, as the engine would.
async fn feed(predictor: &Predictor, messages: &[&[BarRecord]]) {
    let mut pending = Default::default();
    for m in messages {
        predictor.add(&mut pending, &origin(), message(m));
    }
    let span = Span {
        topic: "processed.daily".into(),
        partition: 0,
        dataset: Dataset::Daily,
        first: 0,
        last: 0,
    };
    let refused = predictor.flush(&pending, &span).await.unwrap();
    assert!(refused.is_empty());
}

async fn stored(database: &Database) -> (Vec<PredictionRow>, Vec<ScoreRow>) {
    let predictions = query::fetch(
        database,
        &query::PREDICTIONS,
        &[
            Bind::Text("SPY".into()),
            Bind::Text(String::new()),
            Bind::Int(0),
            Bind::Text("0001-01-01T00:00:00.000000Z".into()),
            Bind::Int(0),
            Bind::Text(String::new()),
            Bind::Int(1_000_000),
        ],
    )
    .await
    .unwrap();
    let scores = query::fetch(database, &query::SCORES, &[Bind::Text(String::new())])
        .await
        .unwrap();
    (predictions, scores)
}

fn predictor(database: &Database) -> Predictor {
    Predictor::new(database.clone(), Batching::default(), Metrics::new(), 1000)
}

/// The scenario on one database; returns what it stored.
async fn scenario(database: Database) -> (Vec<PredictionRow>, Vec<ScoreRow>) {
    database.migrate().await.unwrap();
    let today = calendar::exchange_date(Utc::now());
    let end = calendar::trading_day_on_or_before(today - chrono::Days::new(1));
    let bars = daily_bars(end - chrono::Days::new(4 * 365), end);
    let (older, newer) = bars.split_at(bars.len() - 60);
    // The db-writer stored the older sessions before the predictor first saw SPY.
    store(&database, older).await;

    let first = predictor(&database);
    let (a, b) = newer.split_at(30);
    feed(&first, &[a, b]).await;
    let (predictions, scores) = stored(&database).await;

    // Three models (no chains here: no at-the-money IV) at three horizons, for each of the
    // 60 sessions the messages carried, made at each session's close.
    assert_eq!(predictions.len(), 60 * 3 * 3, "{:?}", &predictions[..3]);
    let last = newer.last().unwrap().trade_date;
    let close = calendar::session(last).unwrap().close;
    let made_last: Vec<&PredictionRow> = predictions
        .iter()
        .filter(|p| p.made_at == close.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
        .collect();
    assert_eq!(made_last.len(), 9);
    for p in &predictions {
        assert_eq!(p.target, "realized_volatility");
        assert!(p.value > 0.02 && p.value < 2.0, "{p:?}");
        match p.model.as_str() {
            "har_rv" => {
                let (lower, upper) = (p.lower.unwrap(), p.upper.unwrap());
                assert!(lower <= p.value && p.value < upper, "{p:?}");
            }
            _ => assert_eq!((p.lower, p.upper), (None, None), "{p:?}"),
        }
    }
    // The walk-forward scores over the stored and new sessions.
    assert_eq!(scores.len(), 9);
    // Scored from the 251st session (a year of warm-up) to the last.
    let first_scored = bars[250].trade_date.to_string();
    assert!(
        scores
            .iter()
            .all(|s| s.n > 600 && s.first_day == first_scored && s.last_day == last.to_string()),
        "{scores:?}"
    );

    // The same messages again: the same rows.
    feed(&first, &[a, b]).await;
    assert_eq!(
        stored(&database).await,
        (predictions.clone(), scores.clone())
    );

    // A restarted predictor (the db-writer has stored everything meanwhile) given the last
    // message again: the same rows.
    store(&database, &bars).await;
    let restarted = predictor(&database);
    feed(&restarted, &[b]).await;
    assert_eq!(
        stored(&database).await,
        (predictions.clone(), scores.clone())
    );
    // The next session's 15-minute bars alone: no daily bar, nothing to forecast yet.
    let next = forecast::sessions_after(last, 1);
    let session = calendar::session(next).unwrap();
    let close = newer.last().unwrap().close;
    let fifteen: Vec<BarRecord> = (0..26)
        .map(|i| {
            let wiggle = if i % 2 == 0 { 1.004 } else { 1.0 / 1.004 };
            BarRecord {
                interval: BarInterval::FifteenMinutes,
                trade_date: next,
                bar_time: session.open + chrono::Duration::minutes(15 * i),
                open: close,
                high: close * 1.005,
                low: close / 1.005,
                close: close * wiggle,
                ..newer[0].clone()
            }
        })
        .collect();
    feed(&restarted, &[&fifteen]).await;
    assert_eq!(
        stored(&database).await,
        (predictions.clone(), scores.clone())
    );
    // Its daily bar: the session is forecast, from the 15-minute bars' realized variance.
    let daily = BarRecord {
        trade_date: next,
        bar_time: session.open,
        open: close,
        high: close * 1.02,
        low: close / 1.02,
        close,
        ..newer[0].clone()
    };
    feed(&restarted, &[&[daily]]).await;
    let (after, _) = stored(&database).await;
    assert_eq!(after.len(), predictions.len() + 9);
    let ohlc: Vec<Ohlc> = fifteen
        .iter()
        .map(|b| Ohlc {
            open: b.open,
            high: b.high,
            low: b.low,
            close: b.close,
        })
        .collect();
    let naive = after
        .iter()
        .find(|p| {
            p.target_date == forecast::sessions_after(next, 1).to_string()
                && p.model == "naive"
                && p.horizon_days == 1
        })
        .unwrap();
    let expected = forecast::volatility(realized::from_intraday(&ohlc).unwrap());
    assert!(
        (naive.value - expected).abs() < 1e-12,
        "{naive:?} vs {expected}"
    );
    database.close().await;
    (predictions, scores)
}

#[tokio::test]
async fn forecasts_are_the_same_rows_on_replay_and_restart_in_both_databases() {
    let pg = TestDatabase::create("predict");
    let on_pg = scenario(Database::open(&pg.url).unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let lite = dir.path().join("predict.db");
    let on_lite = scenario(Database::open(lite.to_str().unwrap()).unwrap()).await;
    assert_eq!(
        on_pg, on_lite,
        "PostgreSQL and SQLite hold different forecasts"
    );
}

/// The stand-in providers' market has something to predict too: on the daily bars the fake
/// Twelve Data serves, HAR-RV beats both baselines out of sample.
#[test]
fn on_the_stand_in_providers_market_har_rv_beats_both_baselines() {
    use optionsflow_testkit::data;
    use optionsflow_workers::stages::predict::Series;
    use optionsflow_workers::stages::predict::backtest::{self, Settings};

    let days = data::trading_days("2018-01-02".parse().unwrap(), "2026-11-27".parse().unwrap());
    let scores: Vec<_> = ["SPY", "AAPL", "XOM", "TSLA"]
        .iter()
        .flat_map(|symbol| {
            let bars: Vec<(NaiveDate, Ohlc)> = days
                .iter()
                .map(|d| {
                    let b = data::daily_bar(symbol, *d);
                    let ohlc = Ohlc {
                        open: b.open,
                        high: b.high,
                        low: b.low,
                        close: b.close,
                    };
                    (*d, ohlc)
                })
                .collect();
            backtest::backtest(
                &Series::from_daily_bars(symbol, &bars),
                &Settings::default(),
            )
        })
        .collect();
    assert_eq!(
        backtest::har_rv_shortfalls(&scores, 0.95),
        Vec::<String>::new()
    );
}
