//! A local Twelve Data: `GET /time_series` with both answer shapes, numbers as strings, error
//! bodies (with HTTP 200 by default, as Twelve Data often sends them), and real credit
//! accounting: one credit per symbol per request, per key, per wall-clock window and per UTC
//! day, answered with Twelve Data's two 429 messages when a budget would be exceeded.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

use super::{Fake, Logged, Provider};
use crate::data;

#[derive(Clone, Debug)]
pub struct Config {
    pub keys: Vec<String>,
    pub per_window: u32,
    pub window_seconds: u32,
    pub per_day: Option<u32>,
    /// The provider's "today" (the last day with data).
    pub today: NaiveDate,
    /// Symbols Twelve Data does not know.
    pub unknown: Vec<String>,
    /// Send error bodies with HTTP 200 (true) or with the matching HTTP status.
    pub errors_with_200: bool,
    pub latency: Duration,
}

impl Config {
    pub fn free_plan(keys: &[&str], today: NaiveDate) -> Config {
        Config {
            keys: keys.iter().map(|k| k.to_string()).collect(),
            per_window: 8,
            window_seconds: 60,
            per_day: Some(800),
            today,
            unknown: vec!["ZZZZ".into()],
            errors_with_200: true,
            latency: Duration::ZERO,
        }
    }
}

/// A failure to serve instead of the next answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Failure {
    /// HTTP 500 with Twelve Data's error body.
    ServerError,
    /// A body cut in the middle.
    Truncated,
    /// A bar whose close is not a number.
    BadNumber,
    /// No answer at all: the request is held open until the client gives up (a provider
    /// that hangs).
    NoAnswer,
}

#[derive(Default)]
pub struct Ledger {
    window: HashMap<(String, i64), u32>,
    day: HashMap<(String, NaiveDate), u32>,
    log: Vec<Logged>,
    failures: VecDeque<Failure>,
}

type Shared = super::Shared<Config, Ledger>;

/// The running stand-in.
pub type FakeTwelveData = Fake<Ledger>;

impl Provider for Ledger {
    type Config = Config;

    fn routes() -> Router<Shared> {
        Router::new().route("/time_series", get(time_series))
    }
}

impl FakeTwelveData {
    pub fn log(&self) -> Vec<Logged> {
        self.state().log.clone()
    }

    /// Credits accepted per (key, window index).
    pub fn credits_per_window(&self) -> BTreeMap<(String, i64), u32> {
        self.state()
            .window
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    /// Credits accepted per key today.
    pub fn credits_today(&self, key: &str) -> u32 {
        let ledger = self.state();
        ledger
            .day
            .get(&(key.to_owned(), Utc::now().date_naive()))
            .copied()
            .unwrap_or(0)
    }

    /// Answers refused with a 429.
    pub fn rate_limited(&self) -> Vec<Logged> {
        self.log()
            .into_iter()
            .filter(|l| l.outcome.ends_with("_limit"))
            .collect()
    }

    pub fn fail_next(&self, failure: Failure) {
        self.state().failures.push_back(failure);
    }
}

fn error(code: u16, message: String, with_200: bool) -> Response {
    let status = if with_200 {
        StatusCode::OK
    } else {
        StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
    };
    (
        status,
        axum::Json(json!({"code": code, "message": message, "status": "error"})),
    )
        .into_response()
}

/// Takes a [`Failure::NoAnswer`] if it is next, logging it (without the ledger's lock held
/// across the handler's wait).
fn no_answer(shared: &Shared, at: DateTime<Utc>, key: &Option<String>, symbols: &[String]) -> bool {
    let mut ledger = shared.state.lock().unwrap();
    if ledger.failures.front() != Some(&Failure::NoAnswer) {
        return false;
    }
    ledger.failures.pop_front();
    ledger.log.push(Logged {
        at,
        path: "/time_series".into(),
        who: key.clone().unwrap_or_default(),
        symbols: symbols.to_vec(),
        status: 0,
        outcome: "no_answer".into(),
    });
    true
}

async fn time_series(
    State(shared): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let config = &shared.config;
    if !config.latency.is_zero() {
        tokio::time::sleep(config.latency).await;
    }
    let now = Utc::now();
    let key = query.get("apikey").cloned().or_else(|| {
        headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("apikey "))
            .map(str::to_owned)
    });
    let symbols: Vec<String> = query
        .get("symbol")
        .map(|s| {
            s.split(',')
                .map(|x| x.trim().to_owned())
                .filter(|x| !x.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if no_answer(&shared, now, &key, &symbols) {
        return std::future::pending().await;
    }
    let mut ledger = shared.state.lock().unwrap();
    let log = |status: u16, outcome: &str, ledger: &mut Ledger| {
        ledger.log.push(Logged {
            at: now,
            path: "/time_series".into(),
            who: key.clone().unwrap_or_default(),
            symbols: symbols.clone(),
            status,
            outcome: outcome.into(),
        })
    };
    let with_200 = config.errors_with_200;
    let Some(key) = key.clone().filter(|k| config.keys.contains(k)) else {
        log(401, "bad_key", &mut ledger);
        return error(401, "**apikey** parameter is incorrect or not specified. You can get your free API key instantly following this link: https://twelvedata.com/pricing".into(), with_200);
    };
    if symbols.is_empty() {
        log(400, "bad_request", &mut ledger);
        return error(400, "**symbol** or **figi** parameter is missing or invalid. Please provide a valid symbol according to API documentation: https://twelvedata.com/docs#reference-data".into(), with_200);
    }
    let interval = query
        .get("interval")
        .map(String::as_str)
        .unwrap_or_default();
    if !["1day", "15min"].contains(&interval) {
        log(400, "bad_request", &mut ledger);
        return error(
            400,
            format!(
                "**interval** is not valid: {interval:?}. Supported intervals: 1min, 5min, 15min, 30min, 45min, 1h, 2h, 4h, 8h, 1day, 1week, 1month"
            ),
            with_200,
        );
    }
    let outputsize: usize = query
        .get("outputsize")
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    if !(1..=5000).contains(&outputsize) {
        log(400, "bad_request", &mut ledger);
        return error(
            400,
            "**outputsize** must be between 1 and 5000".into(),
            with_200,
        );
    }

    // Credits: one per symbol; the whole request fails if it would go over.
    let credits = symbols.len() as u32;
    let window = now.timestamp().div_euclid(i64::from(config.window_seconds));
    let today = now.date_naive();
    let used_window = *ledger.window.get(&(key.clone(), window)).unwrap_or(&0);
    if used_window + credits > config.per_window {
        log(429, "minute_limit", &mut ledger);
        return error(
            429,
            format!(
                "You have run out of API credits for the current minute. {} API credits were used, with the current limit being {}. Wait for the next minute or consider switching to a higher tier plan at https://twelvedata.com/pricing",
                used_window + credits,
                config.per_window
            ),
            with_200,
        );
    }
    let used_day = *ledger.day.get(&(key.clone(), today)).unwrap_or(&0);
    if let Some(per_day) = config.per_day
        && used_day + credits > per_day
    {
        log(429, "day_limit", &mut ledger);
        return error(
            429,
            format!(
                "You have run out of API credits for the day. {} API credits were used, with the current limit being {}. Wait for the next day or consider switching to a higher tier plan at https://twelvedata.com/pricing",
                used_day + credits,
                per_day
            ),
            with_200,
        );
    }
    *ledger.window.entry((key.clone(), window)).or_default() += credits;
    *ledger.day.entry((key.clone(), today)).or_default() += credits;

    match ledger.failures.pop_front() {
        Some(Failure::ServerError) => {
            log(500, "server_error", &mut ledger);
            return error(
                500,
                "Internal server error. Please try again later".into(),
                false,
            );
        }
        Some(Failure::Truncated) => {
            log(200, "truncated", &mut ledger);
            return (
                StatusCode::OK,
                "{\"meta\":{\"symbol\":\"AAPL\",\"interval\":\"1d",
            )
                .into_response();
        }
        // Queued while this request was under way: the next request takes it.
        Some(Failure::NoAnswer) => ledger.failures.push_front(Failure::NoAnswer),
        Some(Failure::BadNumber) => {
            log(200, "bad_number", &mut ledger);
            let mut answer = series_for(config, &symbols[0], interval, &query, outputsize);
            if let Some(v) = answer.pointer_mut("/values/0/close") {
                *v = json!("n/a");
            }
            return axum::Json(answer).into_response();
        }
        None => {}
    }
    log(200, "ok", &mut ledger);
    drop(ledger);

    let answers: Vec<(String, Value)> = symbols
        .iter()
        .map(|s| {
            (
                s.clone(),
                series_for(config, s, interval, &query, outputsize),
            )
        })
        .collect();
    if let [(_, only)] = answers.as_slice() {
        if only["status"] == "error" && !with_200 {
            let code = only["code"].as_u64().unwrap_or(400) as u16;
            return (
                StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST),
                axum::Json(only.clone()),
            )
                .into_response();
        }
        return axum::Json(only.clone()).into_response();
    }
    axum::Json(Value::Object(answers.into_iter().collect())).into_response()
}

/// One symbol's answer (a series or an error object).
fn series_for(
    config: &Config,
    symbol: &str,
    interval: &str,
    query: &HashMap<String, String>,
    outputsize: usize,
) -> Value {
    if config.unknown.iter().any(|u| u == symbol) {
        return json!({"code": 404, "message": format!("**symbol** not found: {symbol}. Please specify it correctly according to API Documentation."), "status": "error"});
    }
    let date = |k: &str| {
        query
            .get(k)
            .and_then(|s| s.get(..10))
            .and_then(|s| s.parse::<NaiveDate>().ok())
    };
    let days: Vec<NaiveDate> = if let Some(day) = date("date") {
        vec![day]
    } else if let Some(start) = date("start_date") {
        // end_date is treated as exclusive, one of the two readings the client must survive;
        // nothing exists after the provider's today.
        let end = date("end_date")
            .and_then(|e| e.pred_opt())
            .unwrap_or(config.today)
            .min(config.today);
        data::trading_days(start, end)
    } else {
        let n = if interval == "1day" {
            outputsize
        } else {
            outputsize.div_ceil(26)
        };
        data::last_trading_days(config.today, n)
    };
    let bars: Vec<data::Bar> = match interval {
        "1day" => days
            .iter()
            .filter(|d| data::is_trading_day(**d))
            .map(|d| data::daily_bar(symbol, *d))
            .collect(),
        _ => days
            .iter()
            .flat_map(|d| data::intraday_bars(symbol, *d))
            .collect(),
    };
    if bars.is_empty() {
        return json!({"code": 400, "message": "No data is available on the specified dates. Try setting different start/end dates.", "status": "error"});
    }
    let ascending = query
        .get("order")
        .map(|o| o.eq_ignore_ascii_case("asc"))
        .unwrap_or(false);
    let mut bars: Vec<data::Bar> = bars.into_iter().rev().take(outputsize).collect();
    if ascending {
        bars.reverse();
    }
    let format = if interval == "1day" {
        "%Y-%m-%d"
    } else {
        "%Y-%m-%d %H:%M:%S"
    };
    let values: Vec<Value> = bars
        .iter()
        .map(|b| {
            json!({
                "datetime": b.time.format(format).to_string(),
                "open": format!("{:.5}", b.open),
                "high": format!("{:.5}", b.high),
                "low": format!("{:.5}", b.low),
                "close": format!("{:.5}", b.close),
                "volume": b.volume.to_string(),
            })
        })
        .collect();
    json!({
        "meta": {
            "symbol": symbol, "interval": interval, "currency": "USD",
            "exchange_timezone": "America/New_York", "exchange": "NASDAQ", "mic_code": "XNGS",
            "type": "Common Stock"
        },
        "values": values,
        "status": "ok"
    })
}
