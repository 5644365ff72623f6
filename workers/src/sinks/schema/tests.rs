use chrono::{TimeZone, Utc};
use optionsflow_api::{Dataset, MessageOrigin};
use optionsflow_testkit::records;

use super::*;
use crate::sinks::db::dead_letters::DeadLetterRow;
use crate::stages::predict::backtest::Score;
use crate::stages::predict::forecast::Forecast;
use crate::stages::predict::models::Model;

/// Every column of `table` gives a value of its kind for each of `rows` (null only where
/// the column allows it), and the key and the revising column are columns of the table.
fn check<R>(table: &TableDef<R>, rows: &[R]) {
    assert!(!rows.is_empty(), "{}: no rows to check", table.name);
    for r in rows {
        for c in table.columns {
            let value = (c.get)(r);
            assert!(
                value.fits(c.kind, c.nullable),
                "{}.{} gave {value:?}, not a {:?}{}",
                table.name,
                c.name,
                c.kind,
                if c.nullable { " or null" } else { "" }
            );
        }
    }
    let names = table.names();
    let mut distinct = names.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        names.len(),
        "{}: a column twice",
        table.name
    );
    for k in table.key {
        assert!(names.contains(k), "{}: key column {k}", table.name);
    }
    if let OnConflict::Update {
        revised_by: Some(t),
    } = table.on_conflict
    {
        assert!(names.contains(&t), "{}: revised by {t}", table.name);
    }
}

#[test]
fn every_accessor_gives_its_columns_kind() {
    let mut quotes = records::quotes("AAPL", 0, 40);
    // Both a quote with every value and one with none of the optional ones.
    let bare = quotes.last_mut().unwrap();
    (bare.bid, bare.ask, bare.iv, bare.otm, bare.forward) = (None, None, None, None, None);
    check(&OPTION_QUOTES, &quotes);
    check(&DAILY_BARS, &records::daily_bars("AAPL", 3));
    check(&INTRADAY_BARS, &records::intraday_bars("AAPL", 3));
    let made_at = Utc.with_ymd_and_hms(2024, 11, 25, 21, 0, 0).unwrap();
    let forecast = |interval| StoredForecast {
        symbol: "SPY".into(),
        forecast: Forecast {
            model: Model::HarRv,
            horizon_days: 5,
            made_at,
            target_date: made_at.date_naive(),
            value: 0.2,
            interval,
        },
    };
    check(&PREDICTIONS, &[forecast(Some((0.1, 0.3))), forecast(None)]);
    check(
        &PREDICTION_SCORES,
        &[StoredScore {
            score: Score {
                model: Model::Ewma,
                symbol: "SPY".into(),
                horizon_days: 21,
                n: 900,
                mse: 0.01,
                qlike: 0.2,
            },
            first_day: made_at.date_naive(),
            last_day: made_at.date_naive(),
        }],
    );
    let letter = |dataset| DeadLetterRow {
        at: MessageOrigin {
            topic: "dead-letter".into(),
            partition: 3,
            offset: 17,
        },
        dead_at: made_at,
        stage: "process".into(),
        reason: "malformed_message".into(),
        dataset,
        symbol: "SPY".into(),
        detail: "not JSON".into(),
        letter: "{}".into(),
    };
    check(&DEAD_LETTERS, &[letter(Some(Dataset::Daily)), letter(None)]);
}

#[test]
fn a_value_of_another_kind_does_not_fit() {
    assert!(!Value::Float(1.0).fits(Kind::BigInt, true));
    assert!(!Value::Null.fits(Kind::Text, false));
    assert!(Value::Null.fits(Kind::Text, true));
    assert!(Value::Int(3).fits(Kind::Int, false));
}

#[test]
fn every_table_is_listed_once() {
    let names: Vec<&str> = shapes().iter().map(|s| s.name).collect();
    assert_eq!(
        names,
        [
            "daily_bars",
            "intraday_bars",
            "option_quotes",
            "predictions",
            "prediction_scores",
            "dead_letters",
            "symbols"
        ]
    );
}
