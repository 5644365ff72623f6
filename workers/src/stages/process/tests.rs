use chrono::{TimeZone, Utc};
use optionsflow_api::records::{BarInterval, IvStatus, OptionRight};
use serde_json::{Value, json};

use super::*;
use crate::market::bsm::{self, Inputs};

fn origin() -> MessageOrigin {
    MessageOrigin {
        topic: "m.p.option-data".into(),
        partition: 2,
        offset: 41,
    }
}

/// Thursday 2026-03-12, 15:00 New York (19:00 UTC, daylight time).
fn snapshot() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 12, 19, 0, 0).unwrap()
}

fn envelope(schema: SchemaId, source: &str, symbol: &str, payload: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "schema": schema.name, "version": schema.version, "pipeline": "m/p",
        "symbol": symbol, "source": source, "fetchedAt": snapshot(), "payload": payload,
    }))
    .unwrap()
}

fn settings() -> Processing {
    let mut p = Processing {
        risk_free_rate: 0.045,
        ..Processing::default()
    };
    p.dividend_yields.insert("XYZ".into(), 0.01);
    p
}

fn run(bytes: &[u8], dataset: Dataset) -> Result<Processed, Unusable> {
    process(bytes, dataset, origin(), &settings())
}

fn quotes(p: &Processed) -> &[OptionQuoteRecord] {
    match &p.records {
        Records::Quotes(b) => &b.records,
        Records::Bars(_) => panic!("expected quotes"),
    }
}

fn bars(p: &Processed) -> &[BarRecord] {
    match &p.records {
        Records::Bars(b) => &b.records,
        Records::Quotes(_) => panic!("expected bars"),
    }
}

fn reasons(p: &Processed) -> Vec<&'static str> {
    p.dropped.iter().map(|d| d.reason.as_str()).collect()
}

fn contract(symbol: &str, strike: f64, bid: Value, ask: Value) -> Value {
    json!({"contractSymbol": symbol, "strike": strike, "bid": bid, "ask": ask,
           "lastPrice": 1.0, "volume": 12, "openInterest": 340, "impliedVolatility": 0.31,
           "currency": "USD", "expiration": 1776384000, "lastTradeDate": 1773327600})
}

fn yahoo(calls: Vec<Value>, puts: Vec<Value>) -> Vec<u8> {
    envelope(
        SchemaId::YAHOO_OPTION_CHAIN,
        "yahoo",
        "XYZ",
        json!({"underlyingSymbol": "XYZ", "expirationDates": [1776384000],
               "quote": {"symbol": "XYZ", "regularMarketPrice": 100.0},
               "options": [{"expirationDate": 1776384000, "calls": calls, "puts": puts}]}),
    )
}

/// The mid that a volatility of 25 % gives a XYZ option expiring 2026-04-17 at the snapshot.
fn model_mid(strike: f64, right: OptionRight) -> (f64, Inputs) {
    let expires = Utc.with_ymd_and_hms(2026, 4, 17, 20, 0, 0).unwrap();
    let years = (expires - snapshot()).num_seconds() as f64 / (365.0 * 86400.0);
    let inputs = Inputs {
        spot: 100.0,
        strike,
        years,
        rate: 0.045,
        dividend_yield: 0.01,
        right,
    };
    (bsm::price(&inputs, 0.25).unwrap(), inputs)
}

#[test]
fn yahoo_quotes_are_parsed_cleaned_and_enriched() {
    let (mid, inputs) = model_mid(105.0, OptionRight::Call);
    let bytes = yahoo(
        vec![contract(
            "XYZ260417C00105000",
            105.0,
            json!(mid - 0.05),
            json!(mid + 0.05),
        )],
        vec![{
            let mut c = contract("XYZ260417P00095000", 95.0, json!(0), json!(0.4));
            c.as_object_mut().unwrap().remove("volume");
            c
        }],
    );
    let p = run(&bytes, Dataset::Options).unwrap();
    assert_eq!(p.symbol, "XYZ");
    assert!(p.dropped.is_empty(), "{:?}", p.dropped);
    let q = quotes(&p);
    assert_eq!(q.len(), 2);
    let call = &q[0];
    assert_eq!(call.contract, "XYZ   260417C00105000");
    assert_eq!(call.root, "XYZ");
    assert_eq!(call.expiry.to_string(), "2026-04-17");
    assert_eq!(call.right, OptionRight::Call);
    assert_eq!(call.strike, 105.0);
    assert_eq!(call.snapshot_time, snapshot());
    assert!((call.mid.unwrap() - mid).abs() < 1e-12);
    assert!((call.spread.unwrap() - 0.1).abs() < 1e-12);
    assert!((call.years_to_expiry - inputs.years).abs() < 1e-12);
    assert_eq!(call.moneyness, Some(1.05));
    assert_eq!(call.iv_status, IvStatus::Ok);
    assert!((call.iv.unwrap() - 0.25).abs() < 1e-9, "{:?}", call.iv);
    let g = bsm::greeks(&inputs, 0.25).unwrap();
    assert!((call.delta.unwrap() - g.delta).abs() < 1e-9);
    assert!((call.vega.unwrap() - g.vega).abs() < 1e-9);
    assert_eq!((call.rate, call.dividend_yield), (0.045, 0.01));
    assert_eq!(call.volume, Some(12));
    assert_eq!(call.provider_iv, Some(0.31));
    // No strike has both sides: the forward comes from the configured yield, flagged.
    assert_eq!(call.flags, [QualityFlag::ForwardFromYield]);
    assert!((call.forward.unwrap() - inputs.forward()).abs() < 1e-9);
    assert_eq!(call.otm, Some(true));
    assert_eq!(call.exercise, optionsflow_api::records::Exercise::American);

    // A zero bid is no bid: no mid, no IV, flagged, and the missing volume stays missing.
    let put = &q[1];
    assert_eq!(put.right, OptionRight::Put);
    assert_eq!(put.mid, None);
    assert_eq!(put.spread, None);
    assert_eq!(put.iv, None);
    assert_eq!(put.iv_status, IvStatus::NoPrice);
    assert_eq!(put.volume, None);
    assert_eq!(put.bid, Some(0.0));
    assert_eq!(
        put.flags,
        [
            QualityFlag::NoBid,
            QualityFlag::NoVolume,
            QualityFlag::ForwardFromYield
        ]
    );
}

/// A chain priced with a 2.3 % dividend yield the processor was not told (it has 1 %):
/// parity recovers the forward, and every IV is the one the prices were made with.
#[test]
fn each_expiry_takes_its_forward_from_put_call_parity() {
    let true_yield = 0.023;
    let priced = |strike: f64, right: OptionRight| {
        let (_, inputs) = model_mid(strike, right);
        let inputs = Inputs {
            dividend_yield: true_yield,
            ..inputs
        };
        (bsm::price(&inputs, 0.25).unwrap(), inputs)
    };
    let side = |right: OptionRight, letter: char| -> Vec<Value> {
        (0..9)
            .map(|i| {
                let strike = 90.0 + 2.5 * f64::from(i);
                let (mid, _) = priced(strike, right);
                contract(
                    &format!("XYZ260417{letter}{:08}", (strike * 1000.0) as u64),
                    strike,
                    json!(mid - 0.02),
                    json!(mid + 0.02),
                )
            })
            .collect()
    };
    let bytes = yahoo(side(OptionRight::Call, 'C'), side(OptionRight::Put, 'P'));
    let p = run(&bytes, Dataset::Options).unwrap();
    let q = quotes(&p);
    assert_eq!(q.len(), 18);
    let (_, truth) = priced(100.0, OptionRight::Call);
    for r in q {
        assert!(
            !r.flags.contains(&QualityFlag::ForwardFromYield),
            "{:?}",
            r.flags
        );
        assert!(
            (r.forward.unwrap() - truth.forward()).abs() < 1e-9,
            "{:?}",
            r.forward
        );
        assert!(
            (r.dividend_yield - true_yield).abs() < 1e-8,
            "{}",
            r.dividend_yield
        );
        assert!(
            (r.iv.unwrap() - 0.25).abs() < 1e-8,
            "{} {:?}",
            r.contract,
            r.iv
        );
        let otm = match r.right {
            OptionRight::Call => r.strike >= truth.forward(),
            OptionRight::Put => r.strike < truth.forward(),
        };
        assert_eq!(r.otm, Some(otm), "{}", r.contract);
    }
}

/// A chain fetched over the weekend carries Friday's closing prices: its time to expiry runs
/// from the quote time, not from the fetch, while the record keeps the fetch time.
#[test]
fn time_to_expiry_runs_from_the_quote_time() {
    let quoted = snapshot() - chrono::Duration::days(2);
    let mut payload: Value = serde_json::from_slice(&yahoo(
        vec![contract(
            "XYZ260417C00105000",
            105.0,
            json!(1.0),
            json!(1.1),
        )],
        vec![],
    ))
    .unwrap();
    payload["payload"]["quote"]["regularMarketTime"] = json!(quoted.timestamp());
    let p = run(&serde_json::to_vec(&payload).unwrap(), Dataset::Options).unwrap();
    let q = &quotes(&p)[0];
    let expires = Utc.with_ymd_and_hms(2026, 4, 17, 20, 0, 0).unwrap();
    let years = (expires - quoted).num_seconds() as f64 / (365.0 * 86400.0);
    assert!((q.years_to_expiry - years).abs() < 1e-12);
    assert_eq!(q.snapshot_time, snapshot());
    // A quote time after the fetch, or weeks old, is not believed.
    payload["payload"]["quote"]["regularMarketTime"] =
        json!((snapshot() - chrono::Duration::days(30)).timestamp());
    let p = run(&serde_json::to_vec(&payload).unwrap(), Dataset::Options).unwrap();
    let (_, inputs) = model_mid(105.0, OptionRight::Call);
    assert!((quotes(&p)[0].years_to_expiry - inputs.years).abs() < 1e-12);
}

/// Index options are European, equity options American, whatever the underlying's name.
#[test]
fn exercise_style_follows_the_root() {
    use crate::market::osi::exercise;
    use optionsflow_api::records::Exercise;
    assert_eq!(exercise("SPXW"), Exercise::European);
    assert_eq!(exercise("SPY"), Exercise::American);
    assert_eq!(exercise("OEX"), Exercise::American);
    assert_eq!(exercise("NDX"), Exercise::European);
}

/// The fast pass is only a shortcut: where it answers, the careful pass agrees.
#[test]
fn the_fast_pass_agrees_with_the_careful_one() {
    let (mid, _) = model_mid(105.0, OptionRight::Call);
    let chains = [
        yahoo(
            vec![contract(
                "XYZ260417C00105000",
                105.0,
                json!(mid - 0.05),
                json!(mid + 0.05),
            )],
            vec![contract("XYZ260417P00095000", 95.0, json!(0), json!(0.4))],
        ),
        yahoo(
            vec![contract(
                "XYZ260417C00105000",
                105.0,
                json!(2.5),
                json!(2.2),
            )],
            vec![],
        ),
        yahoo(
            vec![json!({"contractSymbol": "XYZ260417C00105000", "strike": "x"})],
            vec![],
        ),
    ];
    let answered: Vec<bool> = chains
        .iter()
        .map(|bytes| {
            let envelope: Envelope<&RawValue> = serde_json::from_slice(bytes).unwrap();
            let message = RawMessage {
                symbol: envelope.symbol.clone(),
                source: envelope.source,
                fetched_at: envelope.fetched_at,
                payload: envelope.payload,
            };
            let careful = yahoo::careful(&message, &settings()).unwrap();
            match yahoo::fast(&message, &settings()) {
                Some(fast) => {
                    assert_eq!(fast, careful);
                    true
                }
                None => false,
            }
        })
        .collect();
    assert_eq!(
        answered,
        [true, false, false],
        "the fast pass gives way on any bad row"
    );
}

#[test]
fn invalid_contracts_are_dropped_with_their_reason_and_row() {
    let good = contract("XYZ260417C00100000", 100.0, json!(2.0), json!(2.2));
    let bytes = yahoo(
        vec![
            good.clone(),
            good.clone(),
            contract("XYZ260417C00101000", 101.0, json!(2.5), json!(2.2)),
            contract("XYZ260417C00102000", 102.0, json!(-0.1), json!(2.2)),
            contract("XYZ260417C00103000", 99.0, json!(1.0), json!(1.2)),
            contract("XYZ260311C00103000", 103.0, json!(1.0), json!(1.2)),
            contract("XYZ26041C00103000", 103.0, json!(1.0), json!(1.2)),
            json!({"contractSymbol": "XYZ260417C00104000", "strike": "104", "bid": 1.0}),
            json!({"strike": 104.0, "bid": 1.0}),
            json!("not a contract"),
        ],
        vec![],
    );
    let p = run(&bytes, Dataset::Options).unwrap();
    assert_eq!(quotes(&p).len(), 1);
    assert_eq!(
        reasons(&p),
        [
            "duplicate",
            "bid_above_ask",
            "negative_price",
            "invalid_strike",
            "expired",
            "invalid_contract",
            "malformed_row",
            "malformed_row",
            "malformed_row",
        ]
    );
    // The dropped row is kept as the provider sent it.
    assert_eq!(p.dropped[1].row["contractSymbol"], "XYZ260417C00101000");
    assert_eq!(p.dropped[6].row["strike"], "104");
    assert!(
        p.dropped[6].detail.contains("invalid type"),
        "{}",
        p.dropped[6].detail
    );
    assert_eq!(p.dropped[8].row, json!("not a contract"));
    let by_reason = p.dropped_by_reason();
    assert_eq!(by_reason[&DropReason::MalformedRow].len(), 3);
}

#[test]
fn prices_outside_no_arbitrage_bounds_are_flagged_not_failed() {
    // Deep in the money, quoted below the European floor (S·e^−qT − K·e^−rT).
    let bytes = yahoo(
        vec![contract(
            "XYZ260417C00050000",
            50.0,
            json!(49.0),
            json!(49.2),
        )],
        vec![contract(
            "XYZ260417P00150000",
            150.0,
            json!(160.0),
            json!(161.0),
        )],
    );
    let p = run(&bytes, Dataset::Options).unwrap();
    let q = quotes(&p);
    assert_eq!(q[0].iv_status, IvStatus::BelowIntrinsic);
    assert_eq!(q[1].iv_status, IvStatus::AboveMaximum);
    for r in q {
        assert_eq!(r.iv, None);
        assert_eq!(r.delta, None);
        assert!(r.flags.contains(&QualityFlag::NoArbitrageViolation));
    }
}

#[test]
fn a_chain_without_underlying_price_keeps_quotes_without_iv() {
    let bytes = envelope(
        SchemaId::YAHOO_OPTION_CHAIN,
        "yahoo",
        "xyz",
        json!({"quote": {"symbol": "XYZ"}, "options": [{"calls": [
            contract("XYZ260417C00100000", 100.0, json!(2.0), json!(2.2))]}]}),
    );
    let p = run(&bytes, Dataset::Options).unwrap();
    assert_eq!(p.symbol, "XYZ", "symbols are upper-cased");
    let q = &quotes(&p)[0];
    assert_eq!(q.iv_status, IvStatus::NoUnderlying);
    assert_eq!(q.moneyness, None);
    assert!(q.mid.is_some());
    assert!(q.flags.contains(&QualityFlag::NoUnderlyingPrice));
}

#[test]
fn cboe_counts_become_integers_and_zeros_mean_none() {
    let option = |symbol: &str, volume: f64| {
        json!({"option": symbol, "bid": 1.0, "ask": 1.1, "bid_size": 10.0, "ask_size": 5.0,
               "iv": 0.0, "open_interest": 3793.0, "volume": volume, "last_trade_price": 0.0,
               "last_trade_time": null, "delta": 0.5})
    };
    let bytes = envelope(
        SchemaId::CBOE_DELAYED_QUOTES,
        "cboe",
        "XYZ",
        json!({"timestamp": "2026-03-12 15:00:00", "symbol": "XYZ",
        "data": {"symbol": "XYZ", "current_price": 100.0, "options": [
            option("XYZ260417C00100000", 92.0),
            option("XYZ260417P00100000", 2.5),
            option("XYZ260417P00090000", -1.0),
        ]}}),
    );
    let p = run(&bytes, Dataset::Options).unwrap();
    let q = quotes(&p);
    assert_eq!(q.len(), 2);
    assert_eq!(q[0].volume, Some(92));
    assert_eq!(q[0].open_interest, Some(3793));
    assert_eq!(q[0].provider_iv, None);
    assert_eq!(q[0].last, None);
    assert_eq!(q[0].flags, [QualityFlag::NoLast]);
    assert_eq!(q[1].volume, Some(3));
    assert!(q[1].flags.contains(&QualityFlag::FractionalCount));
    assert_eq!(q[0].source, Source::Cboe);
    assert_eq!(reasons(&p), ["invalid_count"]);
}

fn series(interval: &str, values: Vec<Value>) -> Vec<u8> {
    envelope(
        SchemaId::TWELVEDATA_TIME_SERIES,
        "twelvedata",
        "XYZ",
        json!({"meta": {"symbol": "XYZ", "interval": interval,
                        "exchange_timezone": "America/New_York"},
               "values": values, "status": "ok"}),
    )
}

fn bar(datetime: &str, o: &str, h: &str, l: &str, c: &str, v: &str) -> Value {
    json!({"datetime": datetime, "open": o, "high": h, "low": l, "close": c, "volume": v})
}

#[test]
fn daily_bars_are_typed_deduplicated_and_gaps_filled_by_the_calendar() {
    // Newest first, as Twelve Data sends them. 2026-04-03 is Good Friday; 2026-04-07 is
    // missing; 2026-04-09 comes twice; 2026-04-10 has high below low.
    let bytes = series(
        "1day",
        vec![
            bar("2026-04-10", "10", "9", "11", "10", "100"),
            bar("2026-04-09", "10.5", "11", "10", "10.75", "300"),
            bar("2026-04-09", "10.5", "11", "10", "10.75", "300"),
            bar("2026-04-08", "10", "10.6", "9.9", "10.5", "200"),
            bar("2026-04-06", "9.5", "10.1", "9.4", "10.0", "19952800"),
            bar("2026-04-02", "9.0", "9.6", "8.9", "9.5", "150.0"),
        ],
    );
    let p = run(&bytes, Dataset::Daily).unwrap();
    let b = bars(&p);
    let days: Vec<String> = b.iter().map(|b| b.trade_date.to_string()).collect();
    assert_eq!(
        days,
        [
            "2026-04-02",
            "2026-04-06",
            "2026-04-07",
            "2026-04-08",
            "2026-04-09"
        ]
    );
    assert_eq!(b[0].open, 9.0);
    assert_eq!(b[0].volume, Some(150));
    assert_eq!(b[1].volume, Some(19_952_800));
    // 09:30 New York in daylight time.
    assert_eq!(
        b[1].bar_time,
        Utc.with_ymd_and_hms(2026, 4, 6, 13, 30, 0).unwrap()
    );
    let filled = &b[2];
    assert!(filled.is_filled());
    assert_eq!(
        (filled.open, filled.high, filled.low, filled.close),
        (10.0, 10.0, 10.0, 10.0)
    );
    assert!(b.iter().filter(|b| b.is_filled()).count() == 1);
    assert_eq!(reasons(&p), ["high_below_low", "duplicate"]);
    assert_eq!(b[0].interval, BarInterval::Day);
}

#[test]
fn intraday_bars_outside_the_session_are_dropped_and_slots_filled() {
    // 2026-11-27 is the day after Thanksgiving: the session ends at 13:00.
    let bytes = series(
        "15min",
        vec![
            bar("2026-11-27 13:00:00", "5", "5", "5", "5", "1"),
            bar("2026-11-27 12:45:00", "5", "5.1", "4.9", "5", "10"),
            bar("2026-11-27 12:00:00", "4.9", "5.0", "4.8", "5.0", "10"),
            bar("2026-11-27 09:15:00", "4.9", "5.0", "4.8", "5.0", "10"),
            bar("2026-11-26 10:00:00", "4.9", "5.0", "4.8", "5.0", "10"),
            bar("2026-11-25 15:45:00", "4.8", "4.9", "4.7", "4.9", "10"),
        ],
    );
    let p = run(&bytes, Dataset::Intraday).unwrap();
    assert_eq!(
        reasons(&p),
        ["outside_session", "outside_session", "outside_session"]
    );
    let b = bars(&p);
    let times: Vec<String> = b
        .iter()
        .map(|b| b.bar_time.format("%d %H:%M").to_string())
        .collect();
    // 15:45 on the 25th, then the 27th from the open: the gap from the Thanksgiving holiday
    // is no gap, but 09:30 to 11:45 on the 27th is 10 missing slots: too long to fill.
    assert_eq!(
        times,
        ["25 20:45", "27 17:00", "27 17:15", "27 17:30", "27 17:45"]
    );
    assert_eq!(p.gaps_left_open, 1);
    assert!(b[2].is_filled() && b[3].is_filled() && !b[4].is_filled());
    assert_eq!(b[4].interval, BarInterval::FifteenMinutes);
}

#[test]
fn wrong_interval_or_provider_errors_make_the_message_unusable() {
    let wrong = series("1day", vec![bar("2026-04-06", "1", "1", "1", "1", "1")]);
    let err = run(&wrong, Dataset::Intraday).unwrap_err();
    assert_eq!(err.reason().as_str(), "malformed_payload");
    assert!(err.to_string().contains("15min"), "{err}");

    let error = envelope(
        SchemaId::TWELVEDATA_TIME_SERIES,
        "twelvedata",
        "XYZ",
        json!({"code": 404, "message": "symbol not found", "status": "error"}),
    );
    let err = run(&error, Dataset::Daily).unwrap_err();
    assert_eq!(err.reason().as_str(), "provider_error");
    assert!(err.to_string().contains("symbol not found"));

    let chain_on_bars = yahoo(vec![], vec![]);
    assert_eq!(
        run(&chain_on_bars, Dataset::Daily)
            .unwrap_err()
            .reason()
            .as_str(),
        "unexpected_schema"
    );
}

#[test]
fn malformed_payloads_never_panic() {
    let good = yahoo(
        vec![contract(
            "XYZ260417C00100000",
            100.0,
            json!(2.0),
            json!(2.2),
        )],
        vec![],
    );
    let text = String::from_utf8(good.clone()).unwrap();
    let cases: Vec<(Vec<u8>, Dataset, &str)> = vec![
        (
            good[..good.len() / 2].to_vec(),
            Dataset::Options,
            "malformed_message",
        ),
        (b"".to_vec(), Dataset::Options, "malformed_message"),
        (b"null".to_vec(), Dataset::Options, "malformed_message"),
        (
            text.replace("100.0", "NaN").into_bytes(),
            Dataset::Options,
            "malformed_message",
        ),
        (
            envelope(SchemaId::YAHOO_OPTION_CHAIN, "yahoo", "XYZ", json!([1, 2])),
            Dataset::Options,
            "malformed_payload",
        ),
        (
            envelope(
                SchemaId::YAHOO_OPTION_CHAIN,
                "yahoo",
                "XYZ",
                json!({"quote": {"regularMarketPrice": "high"}}),
            ),
            Dataset::Options,
            "malformed_payload",
        ),
        (
            envelope(
                SchemaId::CBOE_DELAYED_QUOTES,
                "cboe",
                "XYZ",
                json!({"symbol": "XYZ"}),
            ),
            Dataset::Options,
            "malformed_payload",
        ),
        (
            envelope(
                SchemaId::TWELVEDATA_TIME_SERIES,
                "twelvedata",
                "XYZ",
                json!({"meta": {}}),
            ),
            Dataset::Daily,
            "malformed_payload",
        ),
        (
            envelope(
                SchemaId::TWELVEDATA_TIME_SERIES,
                "twelvedata",
                "X Y",
                json!({"values": []}),
            ),
            Dataset::Daily,
            "invalid_symbol",
        ),
    ];
    for (bytes, dataset, reason) in cases {
        let err = run(&bytes, dataset).unwrap_err();
        assert_eq!(err.reason().as_str(), reason, "{err}");
    }

    // Rows that are wrong lose only themselves: huge numbers, wrong types, missing fields.
    let huge = text.replace("\"bid\":2.0", "\"bid\":1e400");
    let p = run(huge.as_bytes(), Dataset::Options).unwrap();
    assert_eq!(reasons(&p), ["malformed_row"]);
    let bars = series(
        "1day",
        vec![
            json!({"datetime": "2026-04-06", "open": "1e999", "high": "1", "low": "1", "close": "1"}),
            json!({"datetime": "2026-04-06", "open": "NaN", "high": "1", "low": "1", "close": "1"}),
            json!({"datetime": "2026-04-06", "open": "1"}),
            json!({"datetime": "06/04/2026", "open": "1", "high": "1", "low": "1", "close": "1"}),
            json!({"datetime": "2026-04-06", "open": "-1", "high": "1", "low": "1", "close": "1"}),
        ],
    );
    let p = run(&bars, Dataset::Daily).unwrap();
    assert_eq!(
        reasons(&p),
        [
            "malformed_row",
            "malformed_row",
            "malformed_row",
            "invalid_time",
            "negative_price"
        ]
    );

    // Empty chains and series are not errors: there is just nothing to publish.
    for empty in [
        yahoo(vec![], vec![]),
        envelope(SchemaId::YAHOO_OPTION_CHAIN, "yahoo", "XYZ", json!({})),
        series("1day", vec![]),
    ] {
        let dataset = if empty == series("1day", vec![]) {
            Dataset::Daily
        } else {
            Dataset::Options
        };
        let p = run(&empty, dataset).unwrap();
        assert!(p.records.is_empty() && p.dropped.is_empty());
    }
}

#[test]
fn replaying_a_message_gives_identical_records() {
    let (mid, _) = model_mid(100.0, OptionRight::Put);
    let bytes = yahoo(
        vec![],
        vec![contract(
            "XYZ260417P00100000",
            100.0,
            json!(mid - 0.02),
            json!(mid + 0.02),
        )],
    );
    let first = run(&bytes, Dataset::Options).unwrap();
    let second = run(&bytes, Dataset::Options).unwrap();
    assert_eq!(first, second);
    assert_eq!(
        quotes(&first)[0].snapshot_time,
        snapshot(),
        "snapshot comes from the message"
    );
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn arbitrary_payloads(payload in crate::sources::fuzz::provider_json(), which in 0usize..4) {
            let (schema, source, dataset) = [
                (SchemaId::YAHOO_OPTION_CHAIN, "yahoo", Dataset::Options),
                (SchemaId::CBOE_DELAYED_QUOTES, "cboe", Dataset::Options),
                (SchemaId::TWELVEDATA_TIME_SERIES, "twelvedata", Dataset::Daily),
                (SchemaId::TWELVEDATA_TIME_SERIES, "twelvedata", Dataset::Intraday),
            ][which];
            let bytes = envelope(schema, source, "XYZ", payload);
            if let Ok(p) = run(&bytes, dataset)
                && let Records::Quotes(b) = &p.records
            {
                for q in &b.records {
                    for v in [q.iv, q.delta, q.gamma, q.theta, q.vega, q.rho, q.mid, q.moneyness] {
                        prop_assert!(v.is_none_or(f64::is_finite));
                    }
                }
            }
        }

        #[test]
        fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = run(&bytes, Dataset::Options);
        }
    }
}
