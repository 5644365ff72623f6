//! A local Cboe delayed-quotes CDN: `GET /api/global/delayed_quotes/options/{SYMBOL}.json`,
//! the whole chain in one document, indices under a leading underscore, counts as floats,
//! and 403 (the CDN's AccessDenied) for files that do not exist.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use serde_json::{Value, json};

use super::{Fake, Logged, Provider};
use crate::data;

/// Cboe's CDN needs nothing but its market.
pub type Config = super::Market;

/// The answers given, in order.
#[derive(Default)]
pub struct Log(Vec<Logged>);

type Shared = super::Shared<Config, Log>;

/// The running stand-in.
pub type FakeCboe = Fake<Log>;

impl Provider for Log {
    type Config = Config;

    fn routes() -> Router<Shared> {
        Router::new().route("/api/global/delayed_quotes/options/{file}", get(quotes))
    }
}

impl FakeCboe {
    pub fn log(&self) -> Vec<Logged> {
        self.state().0.clone()
    }
}

async fn quotes(State(shared): State<Shared>, Path(file): Path<String>) -> Response {
    let config = &shared.config;
    let name = file.strip_suffix(".json").unwrap_or(&file);
    let symbol = name.trim_start_matches('_').to_owned();
    let exists = config.serves(&symbol, name.starts_with('_'));
    let status = if exists { 200 } else { 403 };
    shared.state.lock().unwrap().0.push(Logged {
        at: Utc::now(),
        path: format!("/api/global/delayed_quotes/options/{file}"),
        who: String::new(),
        symbols: vec![symbol.clone()],
        status,
        outcome: if exists { "ok" } else { "access_denied" }.into(),
    });
    if !exists {
        return (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "application/xml")],
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
        )
            .into_response();
    }
    axum::Json(document(config, &symbol)).into_response()
}

/// The whole delayed-quotes document of `symbol`: every expiration.
pub fn document(config: &Config, symbol: &str) -> Value {
    let today = config.today;
    let spot = data::close(symbol, today);
    let options: Vec<Value> = data::expirations(today)
        .into_iter()
        .flat_map(|e| data::chain(symbol, today, e, spot))
        .map(|q| {
            // About one contract in nine never traded: zero volume, no last trade time.
            let traded = !q.volume.is_multiple_of(9);
            let volume = if traded { q.volume } else { 0 };
            json!({
                "option": q.symbol, "bid": q.bid, "bid_size": 10.0, "ask": q.ask, "ask_size": 12.0,
                "iv": q.iv, "open_interest": q.open_interest as f64, "volume": volume as f64,
                "delta": if q.call { 0.5 } else { -0.5 }, "gamma": 0.02, "theta": -0.04, "vega": 0.08,
                "rho": 0.01, "theo": (q.bid + q.ask) / 2.0,
                "change": 0.0, "open": if traded { q.last } else { 0.0 },
                "high": if traded { q.last } else { 0.0 }, "low": if traded { q.last } else { 0.0 },
                "tick": "no_change", "last_trade_price": if traded { q.last } else { 0.0 },
                "last_trade_time": if traded { Value::String(format!("{today}T15:52:14")) } else { Value::Null },
                "percent_change": 0.0, "prev_day_close": q.last,
            })
        })
        .collect();
    json!({
        "timestamp": format!("{today} 16:15:00"),
        "symbol": symbol,
        "data": {
            "symbol": symbol, "security_type": if config.is_index(symbol) { "index" } else { "stock" },
            "exchange_id": 3, "current_price": spot, "price_change": 0.5, "price_change_percent": 0.4,
            "bid": spot - 0.02, "ask": spot + 0.02, "bid_size": 100, "ask_size": 100,
            "open": spot, "high": spot * 1.01, "low": spot * 0.99, "close": spot, "prev_day_close": spot * 0.99,
            "volume": 1_438_610, "iv30": 24.5, "iv30_change": -0.3, "iv30_change_percent": -1.2,
            "seqno": 45_770_655_729u64, "last_trade_time": format!("{today}T15:59:59"), "tick": "up",
            "options": options,
        }
    })
}
