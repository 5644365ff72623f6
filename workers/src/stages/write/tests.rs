use chrono::{TimeZone, Utc};
use optionsflow_api::Dataset;
use optionsflow_api::records::{BarRecord, OptionQuoteRecord};
use optionsflow_testkit::records::{self, batch};

use super::*;
use crate::sinks::schema::{INTRADAY_BARS, OPTION_QUOTES};

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 11, 25, 21, 5, 0).unwrap()
}

fn quotes_message(n: u32, count: usize) -> Vec<u8> {
    records::message(
        Dataset::Options,
        "AAPL",
        at(),
        7,
        records::quotes("AAPL", n, count),
    )
}

#[test]
fn a_processed_message_decodes_into_its_records() {
    let m = decode(&quotes_message(0, 12), Dataset::Options).unwrap();
    assert_eq!(m.symbol, "AAPL");
    assert_eq!(m.day(), NaiveDate::from_ymd_opt(2024, 11, 25).unwrap());
    let Records::Quotes(batch) = &m.records else {
        panic!("quotes")
    };
    assert_eq!(batch.records, records::quotes("AAPL", 0, 12));
}

#[test]
fn unreadable_messages_say_why() {
    let cases: [(&[u8], Dataset, &str); 4] = [
        (b"{not json", Dataset::Options, "malformed_message"),
        (
            br#"{"schema":"optionsflow.bars","version":9,"pipeline":"p","symbol":"A","source":"yahoo","fetchedAt":"2024-11-25T00:00:00Z","payload":{}}"#,
            Dataset::Daily,
            "wrong_schema",
        ),
        (
            br#"{"schema":"optionsflow.bars","version":1,"pipeline":"p","symbol":"A","source":"yahoo","fetchedAt":"2024-11-25T00:00:00Z","payload":{"records":"no"}}"#,
            Dataset::Daily,
            "malformed_payload",
        ),
        (&quotes_message(0, 1), Dataset::Daily, "wrong_schema"),
    ];
    for (bytes, dataset, reason) in cases {
        let e = decode(bytes, dataset).unwrap_err();
        assert_eq!(e.reason().as_str(), reason, "{e}");
    }
    let daily = records::message(Dataset::Daily, "A", at(), 1, records::daily_bars("A", 2));
    let e = decode(&daily, Dataset::Historical).unwrap_err();
    assert_eq!(e.reason().as_str(), "wrong_dataset");
}

#[test]
fn bars_go_to_their_table_by_interval() {
    let daily = records::daily_bars("MSFT", 3);
    let intraday = records::intraday_bars("MSFT", 4);
    let rows = Rows::of([
        &Records::Bars(batch(Dataset::Historical, daily.clone())),
        &Records::Bars(batch(Dataset::Intraday, intraday.clone())),
    ]);
    assert_eq!(rows.daily_bars, daily);
    assert_eq!(rows.intraday_bars, intraday);
    assert!(rows.option_quotes.is_empty());
}

#[test]
fn a_redelivered_message_adds_no_rows_and_the_later_copy_wins() {
    let first = records::quotes("AAPL", 0, 40);
    let mut second = first.clone();
    second[5].bid = Some(9.0);
    let mut builder = RowsBuilder::default();
    builder.add(&Records::Quotes(batch(Dataset::Options, first.clone())));
    builder.add(&Records::Quotes(batch(Dataset::Options, second.clone())));
    assert_eq!(builder.added(), 80);
    let rows = builder.build();
    assert_eq!(rows.len(), 40);
    let changed = rows
        .option_quotes
        .iter()
        .find(|q| q.contract == second[5].contract)
        .unwrap();
    assert_eq!(changed.bid, Some(9.0));
}

#[test]
fn of_two_copies_of_a_bar_the_one_fetched_later_wins_whatever_their_order() {
    let bar = records::daily_bars("AAPL", 1).remove(0);
    let newer = BarRecord {
        fetched_at: bar.fetched_at.map(|t| t + chrono::Duration::hours(2)),
        close: 7.5,
        ..bar.clone()
    };
    for pair in [[bar.clone(), newer.clone()], [newer.clone(), bar.clone()]] {
        let rows = Rows::of(
            pair.map(|b| Records::Bars(batch(Dataset::Daily, vec![b])))
                .iter(),
        );
        assert_eq!(rows.daily_bars, vec![newer.clone()]);
    }
}

#[test]
fn a_bar_without_a_fetch_time_takes_its_envelopes() {
    let mut bars = records::intraday_bars("A", 2);
    bars[0].fetched_at = None;
    let message = records::message(Dataset::Intraday, "A", at(), 1, bars.clone());
    let Records::Bars(batch) = decode(&message, Dataset::Intraday).unwrap().records else {
        panic!("bars")
    };
    assert_eq!(batch.records[0].fetched_at, Some(at()));
    assert_eq!(batch.records[1].fetched_at, bars[1].fetched_at);
}

#[test]
fn rows_are_sorted_by_key_so_writers_lock_in_one_order() {
    let mut quotes: Vec<OptionQuoteRecord> = records::quotes("AAPL", 1, 30);
    quotes.reverse();
    let rows = Rows::of([&Records::Quotes(batch(Dataset::Options, quotes))]);
    let keys: Vec<_> = rows
        .option_quotes
        .iter()
        .map(|q| (q.contract.clone(), q.snapshot_time))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
}

#[test]
fn table_columns_are_the_record_fields() {
    // The columns are the records' JSON field names (`flags` aside, which may be left out
    // when empty): a renamed field must rename its column too.
    let quote = serde_json::to_value(&records::quotes("AAPL", 0, 1)[0]).unwrap();
    let mut fields: Vec<&str> = quote
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.push("flags");
    for c in OPTION_QUOTES.names() {
        assert!(
            fields.contains(&c),
            "option_quotes.{c} is not a record field"
        );
    }
    let bar: BarRecord = records::intraday_bars("A", 1).remove(0);
    let bar = serde_json::to_value(&bar).unwrap();
    for c in INTRADAY_BARS.names() {
        assert!(c == "flags" || bar.get(c).is_some(), "intraday_bars.{c}");
    }
    assert_eq!(OPTION_QUOTES.columns.len(), fields.len());
}

#[test]
fn csv_files_have_a_header_and_quote_what_needs_quoting() {
    let mut bars = records::intraday_bars("BRK,B", 2);
    bars[1].flags = vec![
        optionsflow_api::records::QualityFlag::Filled,
        optionsflow_api::records::QualityFlag::OhlcOutsideRange,
    ];
    let body = [
        csv::header(Dataset::Intraday),
        csv::rows(&Records::Bars(batch(Dataset::Intraday, bars))),
    ]
    .concat();
    let text = String::from_utf8(body).unwrap();
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "symbol,interval,trade_date,bar_time,open,high,low,close,volume,source,fetched_at,flags"
    );
    assert_eq!(
        lines[1],
        "\"BRK,B\",15min,2024-11-25,2024-11-25T14:30:00Z,100,101.5,98.75,100.5,1000,twelvedata,\
         2024-11-25T14:45:00Z,"
    );
    assert!(
        lines[2].ends_with(",filled;ohlc_outside_range"),
        "{}",
        lines[2]
    );
    assert_eq!(lines[3], "");
}

mod never_panics {
    use proptest::prelude::*;

    use super::*;

    fn payload() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<i64>().prop_map(serde_json::Value::from),
            "[a-z0-9:-]{0,12}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 32, 6, |inner| {
            prop::collection::btree_map(
                prop_oneof![
                    Just("dataset".to_owned()),
                    Just("origin".to_owned()),
                    Just("records".to_owned()),
                    Just("symbol".to_owned()),
                    Just("bar_time".to_owned()),
                    "[a-z_]{1,10}",
                ],
                inner,
                0..5,
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect()))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1_000))]

        #[test]
        fn any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512), d in 0usize..4) {
            let _ = decode(&bytes, Dataset::ALL[d]);
        }

        #[test]
        fn envelopes_with_any_payload(payload in payload(), d in 0usize..4, bars in any::<bool>()) {
            let (schema, version) = if bars { ("optionsflow.bars", 1) } else { ("optionsflow.option_quotes", 1) };
            let bytes = serde_json::to_vec(&serde_json::json!({
                "schema": schema, "version": version, "pipeline": "p", "symbol": "A",
                "source": "yahoo", "fetchedAt": "2024-11-25T00:00:00Z", "payload": payload,
            }))
            .unwrap();
            let _ = decode(&bytes, Dataset::ALL[d]);
        }
    }
}
