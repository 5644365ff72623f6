use chrono::{DateTime, NaiveDate, Utc};
use optionsflow_api::records::{DropReason, IvStatus};
use optionsflow_api::runtime_config::{Processing, SampleSource};
use optionsflow_api::{Dataset, Envelope, MessageOrigin, SchemaId, Source};

use super::chain::{Rates, strikes};
use super::*;
use crate::stages::process::{self, Records};

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn clean() -> Sample {
    Sample::new(&SampleSource {
        seed: 7,
        dirty_per_mille: 0,
    })
}

fn origin() -> MessageOrigin {
    MessageOrigin {
        topic: "t".into(),
        partition: 0,
        offset: 0,
    }
}

/// Runs a generated payload through the processor, as the pipeline does.
fn processed(
    schema: SchemaId,
    dataset: Dataset,
    symbol: &str,
    at: DateTime<Utc>,
    payload: &impl serde::Serialize,
    settings: &Processing,
) -> process::Processed {
    let envelope = Envelope::new(schema, "p", symbol, Source::Sample, at, payload);
    let bytes = serde_json::to_vec(&envelope).unwrap();
    process::process(&bytes, dataset, origin(), settings).unwrap()
}

#[test]
fn the_same_seed_gives_the_same_data_and_another_seed_other_data() {
    let a = clean().daily("AAPL", d("2026-10-01"), d("2026-11-20"));
    let b = clean().daily("AAPL", d("2026-10-01"), d("2026-11-20"));
    assert_eq!(a, b);
    let other = Sample::new(&SampleSource {
        seed: 8,
        dirty_per_mille: 0,
    });
    assert_ne!(a, other.daily("AAPL", d("2026-10-01"), d("2026-11-20")));
    // A close does not depend on the range it was asked in.
    let close = clean().close_on_or_before("AAPL", d("2026-11-20"));
    let last = &a.values[0];
    assert_eq!(last.datetime, "2026-11-20");
    assert_eq!(last.close.to_f64(), close);
}

#[test]
fn clean_daily_bars_are_trading_days_newest_first_and_pass_every_check() {
    let at: DateTime<Utc> = "2026-11-21T12:00:00Z".parse().unwrap();
    let series = clean().daily("MSFT", d("2026-06-01"), d("2026-11-20"));
    let days: Vec<NaiveDate> = series.values.iter().map(|b| d(&b.datetime)).collect();
    assert!(days.windows(2).all(|w| w[0] > w[1]), "newest first");
    assert!(days.iter().all(|d| calendar::is_trading_day(*d)));
    assert_eq!(
        days.len(),
        calendar::trading_days(d("2026-06-01"), d("2026-11-20")).count()
    );
    let p = processed(
        SchemaId::TWELVEDATA_TIME_SERIES,
        Dataset::Daily,
        "MSFT",
        at,
        &series,
        &Processing::default(),
    );
    assert!(p.dropped.is_empty(), "{:?}", p.dropped);
    assert_eq!(p.records.len(), days.len());
    assert_eq!(p.source, Source::Sample);
}

#[test]
fn intraday_bars_cover_the_session_and_end_at_the_days_close() {
    let s = clean();
    let series = s.intraday("SPY", d("2026-11-20"));
    assert_eq!(series.values.len(), 26);
    assert_eq!(
        series.values.last().unwrap().datetime,
        "2026-11-20 09:30:00"
    );
    assert_eq!(series.values[0].datetime, "2026-11-20 15:45:00");
    let close = s.close_on_or_before("SPY", d("2026-11-20"));
    assert!((series.values[0].close.to_f64() - close).abs() <= 0.011);
    // The day after Thanksgiving closes at 13:00.
    assert_eq!(s.intraday("SPY", d("2026-11-27")).values.len(), 14);
    assert!(s.intraday("SPY", d("2026-11-26")).values.is_empty());
}

#[test]
fn dirty_rows_are_made_and_the_processor_catches_them() {
    let dirty = Sample::new(&SampleSource {
        seed: 3,
        dirty_per_mille: 200,
    });
    let at: DateTime<Utc> = "2026-11-21T12:00:00Z".parse().unwrap();
    let series = dirty.daily("XOM", d("2025-01-02"), d("2026-11-20"));
    let p = processed(
        SchemaId::TWELVEDATA_TIME_SERIES,
        Dataset::Daily,
        "XOM",
        at,
        &series,
        &Processing::default(),
    );
    let reasons = p.dropped_by_reason();
    assert!(reasons.contains_key(&DropReason::Duplicate), "{reasons:?}");
    assert!(
        reasons.contains_key(&DropReason::HighBelowLow),
        "{reasons:?}"
    );
}

#[test]
fn expiries_are_fridays_or_the_thursday_before_a_holiday() {
    let e = clean().expiries(d("2026-03-28"), d("2026-04-30"));
    // 2026-04-03 is Good Friday: that week's options expire on Thursday the 2nd.
    assert_eq!(
        e,
        vec![
            d("2026-04-02"),
            d("2026-04-10"),
            d("2026-04-17"),
            d("2026-04-24")
        ]
    );
}

#[test]
fn strikes_sit_on_the_usual_grid_around_the_spot() {
    let k = strikes(187.3, 0.3, 30.0 / 365.0);
    assert!(
        k.windows(2)
            .all(|w| (w[1] - w[0] - k[1] + k[0]).abs() < 1e-9)
    );
    assert!(
        k.iter()
            .any(|s| (s - 187.5).abs() < 1e-9 || (s - 187.0).abs() < 1e-9)
    );
    assert!(k.len() <= 61 && k.len() >= 9, "{}", k.len());
    assert!(
        strikes(6000.0, 0.15, 1.0)
            .iter()
            .all(|s| s % 25.0 == 0.0 || s % 50.0 == 0.0)
    );
}

#[test]
fn the_processor_draws_the_generated_smile_back_from_the_quotes() {
    let s = clean();
    let settings = Processing::default();
    let snapshot: DateTime<Utc> = "2026-11-20T21:10:00Z".parse().unwrap();
    let spot = s.close_on_or_before("AAPL", d("2026-11-20"));
    let expiries = s.expiries(d("2026-11-21"), d("2027-01-31"));
    let expiry = expiries[3];
    let rates = Rates {
        rate: settings.risk_free_rate,
        dividend_yield: settings.dividend_yield("AAPL"),
    };
    let chain = s.chain("AAPL", snapshot, spot, expiry, &expiries, rates);
    let p = processed(
        SchemaId::YAHOO_OPTION_CHAIN,
        Dataset::Options,
        "AAPL",
        snapshot,
        &chain,
        &settings,
    );
    assert!(p.dropped.is_empty(), "{:?}", p.dropped);
    let Records::Quotes(batch) = &p.records else {
        panic!("quotes expected")
    };
    let mut checked = 0;
    for q in &batch.records {
        assert_eq!(q.source, Source::Sample);
        assert_eq!(q.expiry, expiry);
        let (Some(iv), Some(m)) = (q.iv, q.log_moneyness) else {
            continue;
        };
        // Near the money the mid is close to the model price, so the IV is the surface's.
        if m.abs() < 0.05 && q.iv_status == IvStatus::Ok {
            let forward_m = m - (rates.rate - rates.dividend_yield) * q.years_to_expiry;
            let surface = s.surface_vol("AAPL", d("2026-11-20"), q.years_to_expiry, forward_m);
            assert!(
                (iv - surface).abs() < 0.02,
                "{} iv {iv} vs {surface}",
                q.contract
            );
            checked += 1;
        }
    }
    assert!(checked >= 4, "only {checked} contracts near the money");
    // A put skew: far out-of-the-money puts are dearer than calls as far out.
    let otm = |right, sign: f64| {
        batch
            .records
            .iter()
            .filter(|q| q.right == right && q.log_moneyness.is_some_and(|m| m * sign > 0.08))
            .filter_map(|q| q.iv)
            .next()
    };
    let put = otm(optionsflow_api::records::OptionRight::Put, -1.0).unwrap();
    let call = otm(optionsflow_api::records::OptionRight::Call, 1.0).unwrap();
    assert!(put > call, "put {put} call {call}");
}

#[test]
fn dirty_quotes_are_dropped_or_flagged_never_stored_as_clean() {
    let dirty = Sample::new(&SampleSource {
        seed: 11,
        dirty_per_mille: 150,
    });
    let settings = Processing::default();
    let snapshot: DateTime<Utc> = "2026-11-20T21:10:00Z".parse().unwrap();
    let expiries = dirty.expiries(d("2026-11-21"), d("2026-12-31"));
    let rates = Rates {
        rate: settings.risk_free_rate,
        dividend_yield: 0.0,
    };
    let chain = dirty.chain("QQQ", snapshot, 500.0, expiries[1], &expiries, rates);
    let p = processed(
        SchemaId::YAHOO_OPTION_CHAIN,
        Dataset::Options,
        "QQQ",
        snapshot,
        &chain,
        &settings,
    );
    let reasons = p.dropped_by_reason();
    assert!(reasons.contains_key(&DropReason::Duplicate), "{reasons:?}");
    assert!(
        reasons.contains_key(&DropReason::BidAboveAsk),
        "{reasons:?}"
    );
    let Records::Quotes(batch) = &p.records else {
        panic!("quotes expected")
    };
    assert!(batch.records.iter().any(|q| !q.flags.is_empty()));
    // A zero on one side means no quote there (flagged); two real sides are never crossed.
    let real = |p: Option<f64>| p.filter(|p| *p > 0.0);
    assert!(
        batch
            .records
            .iter()
            .all(|q| real(q.bid).zip(real(q.ask)).is_none_or(|(b, a)| b <= a))
    );
}
