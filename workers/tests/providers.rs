//! The provider clients against local servers speaking each provider's exact format.

use std::time::Duration;

use chrono::NaiveDate;
use optionsflow_api::runtime_config::{CboeSource, TwelveDataSource, YahooSource};
use optionsflow_testkit::fake::{cboe, twelvedata, yahoo};
use optionsflow_workers::runtime::metrics::Metrics;
use optionsflow_workers::sources::cboe::CboeClient;
use optionsflow_workers::sources::twelvedata::{
    Interval, Range, SymbolOutcome, SymbolResult, TwelveDataClient,
};
use optionsflow_workers::sources::yahoo::YahooClient;
use optionsflow_workers::sources::{ProviderError, RateScope};

fn today() -> NaiveDate {
    "2026-11-24".parse().unwrap()
}

fn syms(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn twelve(url: String) -> TwelveDataClient {
    let config = TwelveDataSource {
        base_url: url,
        ..TwelveDataSource::default()
    };
    TwelveDataClient::new(&config, Duration::from_secs(5), Metrics::new().provider)
}

/// The latest `bars` daily bars of `symbols`, asked with key `k1`.
async fn daily(
    client: &TwelveDataClient,
    symbols: &[&str],
    bars: u32,
) -> Result<Vec<(String, SymbolResult)>, ProviderError> {
    let range = Range::Latest { bars };
    client
        .time_series("k1", &syms(symbols), Interval::OneDay, range)
        .await
}

fn bars(outcome: &Result<SymbolOutcome, ProviderError>) -> usize {
    match outcome {
        Ok(SymbolOutcome::Series(s)) => s.series.values.len(),
        other => panic!("expected bars, got {other:?}"),
    }
}

#[tokio::test]
async fn twelvedata_batches_with_a_failing_symbol() {
    let fake =
        twelvedata::FakeTwelveData::start(twelvedata::Config::free_plan(&["k1"], today())).await;
    let client = twelve(fake.url());
    let out = daily(&client, &["AAPL", "ZZZZ", "MSFT"], 5).await.unwrap();
    assert_eq!(bars(&out[0].1), 5);
    assert_eq!(
        out[1].1.as_ref().unwrap_err().reason().as_str(),
        "not_found"
    );
    assert_eq!(bars(&out[2].1), 5);
    let log = fake.log();
    assert_eq!(log.len(), 1, "one request for the batch");
    assert_eq!(log[0].who, "k1", "the key went in the Authorization header");
    assert_eq!(fake.credits_today("k1"), 3, "one credit per symbol");
}

#[tokio::test]
async fn twelvedata_single_symbol_shapes_and_ranges() {
    let fake =
        twelvedata::FakeTwelveData::start(twelvedata::Config::free_plan(&["k1"], today())).await;
    let client = twelve(fake.url());
    let aapl = syms(&["AAPL"]);
    let one = |interval, range| client.time_series("k1", &aapl, interval, range);
    let out = one(Interval::FifteenMin, Range::Day(today()))
        .await
        .unwrap();
    assert_eq!(bars(&out[0].1), 26, "a full session of 15-minute bars");
    let Ok(SymbolOutcome::Series(series)) = &out[0].1 else {
        panic!()
    };
    assert_eq!(
        series.series.values[0].datetime, "2026-11-24 09:30:00",
        "ascending, exchange-local"
    );
    assert_eq!(series.raw["meta"]["interval"], "15min");

    let start: NaiveDate = "2026-11-02".parse().unwrap();
    let end: NaiveDate = "2026-11-13".parse().unwrap();
    let out = one(Interval::OneDay, Range::Window { start, end })
        .await
        .unwrap();
    assert_eq!(bars(&out[0].1), 10, "the window's last day is included");

    let holiday: NaiveDate = "2026-11-26".parse().unwrap();
    let out = one(
        Interval::OneDay,
        Range::Window {
            start: holiday,
            end: holiday,
        },
    )
    .await
    .unwrap();
    assert!(
        matches!(out[0].1, Ok(SymbolOutcome::NoData { .. })),
        "{:?}",
        out[0].1
    );
}

#[tokio::test]
async fn twelvedata_rate_limits_and_bad_keys_with_either_http_status() {
    for errors_with_200 in [true, false] {
        let mut config = twelvedata::Config::free_plan(&["k1"], today());
        config.errors_with_200 = errors_with_200;
        config.window_seconds = 3600;
        let fake = twelvedata::FakeTwelveData::start(config).await;
        let client = twelve(fake.url());
        let six = syms(&["A", "B", "C", "D", "E", "F"]);
        client
            .time_series("k1", &six, Interval::OneDay, Range::Latest { bars: 1 })
            .await
            .unwrap();
        let err = client
            .time_series("k1", &six[..3], Interval::OneDay, Range::Latest { bars: 1 })
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                ProviderError::RateLimited {
                    scope: RateScope::Window,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(fake.rate_limited().len(), 1);
        let err = client
            .time_series(
                "nope",
                &six[..1],
                Interval::OneDay,
                Range::Latest { bars: 1 },
            )
            .await
            .unwrap_err();
        assert_eq!(err.reason().as_str(), "unauthorized");
    }
}

#[tokio::test]
async fn twelvedata_day_limit_is_told_from_the_minute_limit() {
    let mut config = twelvedata::Config::free_plan(&["k1"], today());
    config.per_window = 100;
    config.per_day = Some(4);
    let fake = twelvedata::FakeTwelveData::start(config).await;
    let client = twelve(fake.url());
    daily(&client, &["A", "B", "C"], 1).await.unwrap();
    let err = daily(&client, &["D", "E"], 1).await.unwrap_err();
    assert!(
        matches!(
            err,
            ProviderError::RateLimited {
                scope: RateScope::Day,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn twelvedata_malformed_answers_are_clear_errors() {
    let fake =
        twelvedata::FakeTwelveData::start(twelvedata::Config::free_plan(&["k1"], today())).await;
    let client = twelve(fake.url());
    let aapl = syms(&["AAPL"]);
    let one = || client.time_series("k1", &aapl, Interval::OneDay, Range::Latest { bars: 3 });
    fake.fail_next(twelvedata::Failure::Truncated);
    let err = one().await.unwrap_err();
    assert_eq!(err.reason().as_str(), "malformed_answer");
    assert!(
        err.to_string().contains("twelvedata") && err.to_string().contains("AAPL"),
        "{err}"
    );
    fake.fail_next(twelvedata::Failure::BadNumber);
    let out = one().await.unwrap();
    let err = out[0].1.as_ref().unwrap_err().to_string();
    assert!(
        err.contains("values[0].close") && err.contains("n/a"),
        "{err}"
    );
    fake.fail_next(twelvedata::Failure::ServerError);
    let err = one().await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
}

fn yahoo_client(fake: &yahoo::FakeYahoo) -> YahooClient {
    let config = YahooSource {
        base_url: fake.base_url(),
        cookie_url: fake.cookie_url(),
        crumb_url: fake.crumb_url(),
        ..YahooSource::default()
    };
    YahooClient::new(
        &config,
        &["SPX".to_string()],
        Duration::from_secs(5),
        Metrics::new().provider,
    )
}

/// The local Yahoo for tests of the client alone: they call it without the budget gate,
/// so without its pace, and the per-second limit is not what they are about.
fn yahoo_config() -> yahoo::Config {
    let mut config = yahoo::Config::new(today());
    config.limit_per_second = None;
    config
}

fn outcomes(fake: &yahoo::FakeYahoo) -> Vec<String> {
    fake.log().into_iter().map(|l| l.outcome).collect()
}

#[tokio::test]
async fn yahoo_handshake_then_one_request_per_expiry() {
    let fake = yahoo::FakeYahoo::start(yahoo_config()).await;
    let client = yahoo_client(&fake);
    let permits = std::sync::atomic::AtomicU32::new(0);
    let permit = || async {
        permits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    };
    let first = client.chain("AAPL", None, permit).await.unwrap();
    assert!(first.chain.expiration_dates.len() > 10);
    let nearest = first.chain.options[0].expiration_date.unwrap();
    assert_eq!(nearest, first.chain.expiration_dates[0]);
    let second_expiry = first.chain.expiration_dates[1];
    let second = client
        .chain("AAPL", Some(second_expiry), permit)
        .await
        .unwrap();
    assert_eq!(second.chain.options[0].expiration_date, Some(second_expiry));
    assert_eq!(
        outcomes(&fake),
        ["cookie", "crumb", "ok", "ok"],
        "the session is reused"
    );
    assert_eq!(
        permits.load(std::sync::atomic::Ordering::SeqCst),
        4,
        "every request asked the budget"
    );
    let index = client.chain("SPX", None, permit).await.unwrap();
    assert_eq!(
        index.chain.underlying_symbol.as_deref(),
        Some("SPX"),
        "indices go as ^SPX"
    );
}

#[tokio::test]
async fn yahoo_stale_crumb_gets_one_fresh_handshake() {
    let fake = yahoo::FakeYahoo::start(yahoo_config()).await;
    let client = yahoo_client(&fake);
    client.chain("AAPL", None, || async {}).await.unwrap();
    fake.expire_sessions();
    client.chain("AAPL", None, || async {}).await.unwrap();
    assert_eq!(
        outcomes(&fake),
        [
            "cookie",
            "crumb",
            "ok",
            "invalid_crumb",
            "cookie",
            "crumb",
            "ok"
        ]
    );
}

#[tokio::test]
async fn yahoo_gives_up_after_one_fresh_handshake() {
    let mut config = yahoo_config();
    config.refuse_crumbs = true;
    let fake = yahoo::FakeYahoo::start(config).await;
    let client = yahoo_client(&fake);
    let err = client.chain("AAPL", None, || async {}).await.unwrap_err();
    assert_eq!(err.reason().as_str(), "unauthorized");
    assert!(err.to_string().contains("Invalid Crumb"), "{err}");
    assert_eq!(
        outcomes(&fake),
        [
            "cookie",
            "crumb",
            "invalid_crumb",
            "cookie",
            "crumb",
            "invalid_crumb"
        ]
    );
}

/// Yahoo refusing a burst, and saying when to come back: the error carries `Retry-After`.
#[tokio::test]
async fn a_burst_meets_the_per_second_limit_and_its_retry_after() {
    let mut config = yahoo_config();
    config.limit_per_second = Some(1);
    config.retry_after = Some(7);
    let fake = yahoo::FakeYahoo::start(config).await;
    let client = yahoo_client(&fake);
    let mut errors = Vec::new();
    // The handshake is two requests; within one second the second is refused.
    for _ in 0..3 {
        if let Err(e) = client.chain("AAPL", None, || async {}).await {
            errors.push(e);
        }
    }
    assert!(fake.rate_limited() >= 1, "{:?}", outcomes(&fake));
    assert!(
        errors.iter().any(|e| matches!(
            e,
            ProviderError::RateLimited {
                scope: RateScope::After(d),
                ..
            } if *d == std::time::Duration::from_secs(7)
        )),
        "{errors:?}"
    );
}

#[tokio::test]
async fn yahoo_rate_limits_server_errors_and_unknown_symbols() {
    let fake = yahoo::FakeYahoo::start(yahoo_config()).await;
    let client = yahoo_client(&fake);
    fake.fail_next(yahoo::Failure::TooManyRequests);
    let err = client.chain("AAPL", None, || async {}).await.unwrap_err();
    assert!(
        matches!(
            err,
            ProviderError::RateLimited {
                scope: RateScope::Unspecified,
                ..
            }
        ),
        "{err:?}"
    );
    fake.fail_next(yahoo::Failure::ServerError);
    assert!(
        client
            .chain("AAPL", None, || async {})
            .await
            .unwrap_err()
            .is_transient()
    );
    let err = client.chain("ZZZZ", None, || async {}).await.unwrap_err();
    assert_eq!(err.reason().as_str(), "not_found");
}

#[tokio::test]
async fn cboe_whole_chain_with_index_underscore() {
    let fake = cboe::FakeCboe::start(cboe::Config::new(today())).await;
    let config = CboeSource {
        base_url: fake.url(),
        ..CboeSource::default()
    };
    let client = CboeClient::new(
        &config,
        &["SPX".to_string()],
        Duration::from_secs(5),
        Metrics::new().provider,
    );
    let chain = client.chain("AAPL").await.unwrap();
    assert!(chain.document.data.options.len() > 100);
    assert!(
        chain
            .document
            .data
            .options
            .iter()
            .any(|o| o.last_trade_time.is_none())
    );
    let index = client.chain("SPX").await.unwrap();
    assert_eq!(index.document.data.security_type.as_deref(), Some("index"));
    assert!(fake.log().iter().any(|l| l.path.ends_with("/_SPX.json")));
    assert_eq!(
        client.chain("ZZZZ").await.unwrap_err().reason().as_str(),
        "not_found"
    );
}
