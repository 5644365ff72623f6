//! A local Yahoo Finance: the cookie endpoint (answers 404 while setting the `A3` cookie, as
//! fc.yahoo.com does), `/v1/test/getcrumb`, and `/v7/finance/options/{symbol}` that insists on
//! a matching cookie and crumb (401 "Invalid Crumb" otherwise), lists expirations, serves one
//! expiration per request, and answers 429 "Too Many Requests" to more than a set number of
//! requests in a second or a window (with `Retry-After` only when told to: Yahoo sends none).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{NaiveDate, Utc};
use serde_json::{Value, json};

use super::{Fake, Logged, Market, Provider};
use crate::data;

#[derive(Clone, Debug)]
pub struct Config {
    /// Indices are served under a caret (`^SPX`).
    pub market: Market,
    /// Answer 429 beyond this many option requests per window.
    pub limit_per_window: Option<u32>,
    /// Answer 429 beyond this many requests (of any kind) in one wall-clock second, as Yahoo
    /// does to bursts from one address (5 unless a test says otherwise).
    pub limit_per_second: Option<u32>,
    /// Seconds sent as `Retry-After` with a 429; Yahoo sends none.
    pub retry_after: Option<u64>,
    pub window_seconds: u32,
    pub latency: Duration,
    /// Refuse every crumb, even fresh ones (Yahoo blocking us).
    pub refuse_crumbs: bool,
}

impl Config {
    pub fn new(today: NaiveDate) -> Config {
        Config {
            market: Market::new(today),
            limit_per_window: None,
            limit_per_second: Some(5),
            retry_after: None,
            window_seconds: 60,
            latency: Duration::ZERO,
            refuse_crumbs: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Failure {
    TooManyRequests,
    ServerError,
}

#[derive(Default)]
pub struct State_ {
    /// Sessions (cookie value → crumb) still valid.
    sessions: HashMap<String, String>,
    issued: u64,
    log: Vec<Logged>,
    per_window: BTreeMap<i64, u32>,
    /// Requests of any kind per epoch second.
    per_second: BTreeMap<i64, u32>,
    failures: VecDeque<Failure>,
}

type Shared = super::Shared<Config, State_>;

/// The running stand-in.
pub type FakeYahoo = Fake<State_>;

impl Provider for State_ {
    type Config = Config;

    fn routes() -> Router<Shared> {
        Router::new()
            .route("/cookie", get(cookie))
            .route("/v1/test/getcrumb", get(crumb))
            .route("/v7/finance/options/{symbol}", get(options))
    }
}

impl FakeYahoo {
    pub fn base_url(&self) -> String {
        self.server.url()
    }
    pub fn cookie_url(&self) -> String {
        format!("{}/cookie", self.server.url())
    }
    pub fn crumb_url(&self) -> String {
        format!("{}/v1/test/getcrumb", self.server.url())
    }

    /// Every session becomes stale, as when Yahoo rotates crumbs mid-session.
    pub fn expire_sessions(&self) {
        self.state().sessions.clear();
    }

    pub fn fail_next(&self, failure: Failure) {
        self.state().failures.push_back(failure);
    }

    pub fn log(&self) -> Vec<Logged> {
        self.state().log.clone()
    }

    /// Requests of any kind per epoch second (all outcomes).
    pub fn requests_per_second(&self) -> BTreeMap<i64, u32> {
        self.state().per_second.clone()
    }

    /// Answers 429 so far, of any endpoint.
    pub fn rate_limited(&self) -> usize {
        let state = self.state();
        state.log.iter().filter(|l| l.status == 429).count()
    }

    /// Option requests answered per window index (all outcomes).
    pub fn requests_per_window(&self) -> BTreeMap<i64, u32> {
        self.state().per_window.clone()
    }
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().strip_prefix("A3="))
        .map(str::to_owned)
        .next()
}

/// Logs a 429 for `path` when this request is over the per-second limit.
fn refuse_burst(shared: &Shared, state: &mut State_, path: &str) -> Option<Response> {
    let now = Utc::now();
    if !over_second_limit(&shared.config, state, now) {
        return None;
    }
    state.log.push(Logged {
        at: now,
        path: path.into(),
        who: String::new(),
        symbols: vec![],
        status: 429,
        outcome: "rate_limit".into(),
    });
    Some(too_many_requests(&shared.config))
}

async fn cookie(State(shared): State<Shared>) -> Response {
    let mut state = shared.state.lock().unwrap();
    if let Some(refused) = refuse_burst(&shared, &mut state, "/cookie") {
        return refused;
    }
    state.issued += 1;
    let value = format!("d=AQABBF{}&S=AQAAAq", state.issued);
    // Crumbs carry characters that must be escaped in a query string.
    let crumb = format!("Xq/7.kZ{}a+b", state.issued);
    state.sessions.insert(value.clone(), crumb);
    state.log.push(Logged {
        at: Utc::now(),
        path: "/cookie".into(),
        who: value.clone(),
        symbols: vec![],
        status: 404,
        outcome: "cookie".into(),
    });
    (
        StatusCode::NOT_FOUND,
        [(
            header::SET_COOKIE,
            format!("A3={value}; Max-Age=31557600; Path=/; SameSite=None; HttpOnly"),
        )],
        "<html><body>Not Found</body></html>",
    )
        .into_response()
}

async fn crumb(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    let mut state = shared.state.lock().unwrap();
    if let Some(refused) = refuse_burst(&shared, &mut state, "/v1/test/getcrumb") {
        return refused;
    }
    let found = cookie_value(&headers).and_then(|c| state.sessions.get(&c).cloned());
    let (status, body, outcome) = match found {
        Some(crumb) => (StatusCode::OK, crumb, "crumb"),
        None => (StatusCode::UNAUTHORIZED, String::new(), "no_cookie"),
    };
    state.log.push(Logged {
        at: Utc::now(),
        path: "/v1/test/getcrumb".into(),
        who: cookie_value(&headers).unwrap_or_default(),
        symbols: vec![],
        status: status.as_u16(),
        outcome: outcome.into(),
    });
    (
        status,
        [(header::CONTENT_TYPE, "text/plain;charset=utf-8")],
        body,
    )
        .into_response()
}

async fn options(
    State(shared): State<Shared>,
    Path(symbol): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let config = &shared.config;
    if !config.latency.is_zero() {
        tokio::time::sleep(config.latency).await;
    }
    let now = Utc::now();
    let mut state = shared.state.lock().unwrap();
    let window = now.timestamp().div_euclid(i64::from(config.window_seconds));
    let count = {
        let c = state.per_window.entry(window).or_default();
        *c += 1;
        *c
    };
    let cookie = cookie_value(&headers);
    let crumb_ok = cookie
        .as_ref()
        .and_then(|c| state.sessions.get(c))
        .is_some_and(|crumb| query.get("crumb") == Some(crumb));
    let underlying = symbol.trim_start_matches('^').replace('-', ".");
    let log = |status: u16, outcome: &str, state: &mut State_| {
        state.log.push(Logged {
            at: now,
            path: format!("/v7/finance/options/{symbol}"),
            who: cookie.clone().unwrap_or_default(),
            symbols: vec![underlying.clone()],
            status,
            outcome: outcome.into(),
        })
    };
    let burst = over_second_limit(config, &mut state, now);
    let limited = burst || config.limit_per_window.is_some_and(|l| count > l);
    match state.failures.pop_front() {
        Some(Failure::TooManyRequests) => {
            log(429, "rate_limited", &mut state);
            return (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests").into_response();
        }
        Some(Failure::ServerError) => {
            log(502, "server_error", &mut state);
            return (StatusCode::BAD_GATEWAY, "<html>502 Bad Gateway</html>").into_response();
        }
        None if limited => {
            log(429, "rate_limit", &mut state);
            return too_many_requests(config);
        }
        None => {}
    }
    if !crumb_ok || config.refuse_crumbs {
        log(401, "invalid_crumb", &mut state);
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"finance": {"result": null, "error": {"code": "Unauthorized", "description": "Invalid Crumb"}}})),
        )
            .into_response();
    }
    if !config.market.serves(&underlying, symbol.starts_with('^')) {
        log(200, "unknown", &mut state);
        return axum::Json(json!({"optionChain": {"result": [], "error": null}})).into_response();
    }
    log(200, "ok", &mut state);
    drop(state);
    axum::Json(chain_document(
        config,
        &underlying,
        query.get("date").and_then(|d| d.parse().ok()),
    ))
    .into_response()
}

/// Counts a request in its second; true when it is one too many.
fn over_second_limit(config: &Config, state: &mut State_, now: chrono::DateTime<Utc>) -> bool {
    let count = state.per_second.entry(now.timestamp()).or_default();
    *count += 1;
    config.limit_per_second.is_some_and(|l| *count > l)
}

fn too_many_requests(config: &Config) -> Response {
    let mut response = (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests").into_response();
    if let Some(seconds) = config.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, seconds.into());
    }
    response
}

/// Yahoo's epoch seconds of an expiry: 00:00 UTC of the day.
pub fn epoch(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        .timestamp()
}

/// The full `v7/finance/options` answer for `symbol` (the nearest expiry, or `date`).
pub fn chain_document(config: &Config, symbol: &str, date: Option<i64>) -> Value {
    let today = config.market.today;
    let expirations = data::expirations(today);
    let spot = data::close(symbol, today);
    let chosen = match date {
        None => expirations.first().copied(),
        Some(e) => expirations.iter().copied().find(|d| epoch(*d) == e),
    };
    let trade_time = epoch(today) + 20 * 3600 - 120;
    let contract = |q: &data::Quote| {
        let mut c = json!({
            "contractSymbol": q.symbol, "strike": q.strike, "currency": "USD",
            "lastPrice": q.last, "change": -0.05, "percentChange": -1.2,
            "openInterest": q.open_interest, "bid": q.bid, "ask": q.ask,
            "contractSize": "REGULAR", "expiration": epoch(q.expiry),
            "lastTradeDate": trade_time, "impliedVolatility": q.iv,
            "inTheMoney": if q.call { q.strike < spot } else { q.strike > spot },
        });
        // Yahoo leaves out a zero volume.
        if !q.volume.is_multiple_of(7) {
            c["volume"] = json!(q.volume);
        }
        c
    };
    let options: Vec<Value> = chosen
        .map(|expiry| {
            let quotes = data::chain(symbol, today, expiry, spot);
            vec![json!({
                "expirationDate": epoch(expiry),
                "hasMiniOptions": false,
                "calls": quotes.iter().filter(|q| q.call).map(contract).collect::<Vec<_>>(),
                "puts": quotes.iter().filter(|q| !q.call).map(contract).collect::<Vec<_>>(),
            })]
        })
        .unwrap_or_default();
    let strikes: Vec<f64> = chosen
        .map(|e| {
            data::chain(symbol, today, e, spot)
                .iter()
                .filter(|q| q.call)
                .map(|q| q.strike)
                .collect()
        })
        .unwrap_or_default();
    json!({
        "optionChain": {
            "result": [{
                "underlyingSymbol": symbol,
                "expirationDates": expirations.iter().map(|d| epoch(*d)).collect::<Vec<_>>(),
                "strikes": strikes,
                "hasMiniOptions": false,
                "quote": {
                    "symbol": symbol, "quoteType": "EQUITY", "currency": "USD",
                    "exchangeTimezoneName": "America/New_York", "marketState": "CLOSED",
                    "regularMarketPrice": spot, "regularMarketTime": epoch(today) + 21 * 3600,
                    "regularMarketPreviousClose": spot * 0.99, "bid": spot - 0.01, "ask": spot + 0.01,
                    "trailingAnnualDividendYield": data::dividend_yield(symbol), "shortName": format!("{symbol} Inc."),
                },
                "options": options,
            }],
            "error": null
        }
    })
}
