//! The data API's handlers under `/api/v1`: each validates its input into typed bounds
//! ([`params`]; a clear 400 otherwise), runs one of [`super::query`]'s statements, and
//! answers a page ([`surface`] derives the smile and term structure from chains).

mod params;
pub mod schemas;
mod surface;

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};

use super::ApiState;
use super::format::{Columns, Format, page};
use super::problem::Problem;
use super::query::{self, Bind, QuoteRow};
use crate::sinks::db::sql::Sql;
use crate::stages::predict::forecast::volatility as volatility_of;
use crate::stages::predict::models::Model;
pub use params::{CHAIN_CURSOR, DEFAULT_LIMIT, MAX_LIMIT, PREDICTION_CURSOR, Params, stored};
use params::{FIRST_DAY, date, only, paginate, params, symbol};
pub use surface::{SmilePoint, TermPoint, at_the_money, smile};

type Answer = Result<Response, Problem>;

/// The query parameters each endpoint takes besides `format` and a list's `limit` and
/// `cursor`: its handler refuses any other ([`Ask::only`]), and the OpenAPI document lists
/// these, as [`Params`] declares them.
pub mod takes {
    pub const SYMBOLS: &[&str] = &[];
    pub const BARS: &[&str] = &["interval", "from", "to"];
    pub const EXPIRIES: &[&str] = &["at"];
    pub const CHAIN: &[&str] = &["expiry", "at"];
    pub const CONTRACT_HISTORY: &[&str] = &["from", "to"];
    pub const SMILE: &[&str] = &["expiry", "at"];
    pub const TERM_STRUCTURE: &[&str] = &["at"];
    pub const PREDICTIONS: &[&str] = &["model", "horizon"];
    pub const BACKTEST: &[&str] = &["symbol"];
    pub const VOLATILITY: &[&str] = &["from", "to"];
}

async fn fetch<T>(state: &ApiState, sql: &Sql, binds: &[Bind]) -> Result<Vec<T>, Problem>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + Send
        + Unpin,
{
    query::fetch(&state.database, sql, binds)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "API query failed");
            Problem::unavailable()
        })
}

/// What every handler here takes besides its path: the state, the request's headers (the
/// format it accepts) and its query, read into [`Params`] (a clear 400 otherwise).
pub struct Ask {
    state: ApiState,
    headers: HeaderMap,
    p: Params,
}

impl FromRequestParts<ApiState> for Ask {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Ask, Problem> {
        let q = Query::<Params>::from_request_parts(parts, state).await;
        Ok(Ask {
            state: state.clone(),
            headers: parts.headers.clone(),
            p: params(q)?,
        })
    }
}

impl Ask {
    /// The request, if it names no parameter but the paging ones and `allowed`.
    fn only(self, allowed: &[&str]) -> Result<Ask, Problem> {
        only(&self.p, allowed)?;
        Ok(self)
    }
}

fn respond<T: Columns>(
    headers: &HeaderMap,
    p: &Params,
    rows: &[T],
    next: Option<String>,
) -> Answer {
    Ok(page(Format::choose(p.format, headers)?, rows, next))
}

/// A stored time (`YYYY-MM-DDTHH:MM:SS.ffffffZ`) as microseconds since 1970, for cursors.
fn micros(stored: &str) -> i64 {
    DateTime::parse_from_rfc3339(stored)
        .map(|t| t.timestamp_micros())
        .unwrap_or_default()
}

/// `GET /api/v1/symbols`
pub async fn symbols(ask: Ask) -> Answer {
    let Ask { state, headers, p } = ask.only(takes::SYMBOLS)?;
    let limit = p.limit()?;
    let after = p.symbol_position()?.unwrap_or_default();
    let rows: Vec<query::SymbolRow> = fetch(
        &state,
        &query::SYMBOLS,
        &[Bind::Text(after), Bind::Int(i64::from(limit) + 1)],
    )
    .await?;
    let (rows, next) = paginate(rows, limit, |r| r.symbol.clone());
    respond(&headers, &p, &rows, next)
}

/// `GET /api/v1/bars/{symbol}?interval=1day|15min&from&to`
pub async fn bars(Path(symbol_text): Path<String>, ask: Ask) -> Answer {
    let Ask { state, headers, p } = ask.only(takes::BARS)?;
    let symbol = symbol(&symbol_text)?;
    let limit = p.limit()?;
    let fetch_limit = Bind::Int(i64::from(limit) + 1);
    let rows: Vec<query::BarRow> = match p.interval.as_deref().unwrap_or("1day") {
        "1day" => {
            let (from, to) = p.date_range()?;
            let binds = [
                Bind::Text(symbol),
                Bind::Text(from.to_string()),
                Bind::Text(to.to_string()),
                fetch_limit,
            ];
            let rows = fetch(&state, &query::DAILY_BARS, &binds).await?;
            let (rows, next) = paginate(rows, limit, |r: &query::BarRow| r.trade_date.clone());
            return respond(&headers, &p, &rows, next);
        }
        "15min" => {
            let (from, to) = p.time_range()?;
            let binds = [
                Bind::Text(symbol),
                Bind::Text("15min".into()),
                Bind::Text(stored(from)),
                Bind::Text(stored(to)),
                fetch_limit,
            ];
            fetch(&state, &query::INTRADAY_BARS, &binds).await?
        }
        other => {
            return Err(Problem::invalid(format!(
                "interval {other:?} is not one of 1day, 15min"
            )));
        }
    };
    let (rows, next) = paginate(rows, limit, |r| r.bar_time.clone());
    respond(&headers, &p, &rows, next)
}

/// `GET /api/v1/options/{underlying}/expiries?at`
pub async fn expiries(Path(underlying): Path<String>, ask: Ask) -> Answer {
    let Ask { state, headers, p } = ask.only(takes::EXPIRIES)?;
    let rows = expiry_rows(&state, &symbol(&underlying)?, p.at()?).await?;
    respond(&headers, &p, &rows, None)
}

async fn expiry_rows(
    state: &ApiState,
    underlying: &str,
    at: DateTime<Utc>,
) -> Result<Vec<query::ExpiryRow>, Problem> {
    let today = crate::market::calendar::exchange_date(at);
    fetch(
        state,
        &query::EXPIRIES,
        &[
            Bind::Text(underlying.to_owned()),
            Bind::Text(stored(at)),
            Bind::Text(today.to_string()),
        ],
    )
    .await
}

/// The expiry asked for, or the nearest one with quotes.
async fn expiry_or_nearest(
    state: &ApiState,
    underlying: &str,
    p: &Params,
    at: DateTime<Utc>,
) -> Result<NaiveDate, Problem> {
    if let Some(text) = &p.expiry {
        return date("expiry", text);
    }
    let first = expiry_rows(state, underlying, at).await?.into_iter().next();
    match first {
        Some(row) => date("expiry", &row.expiry),
        None => Err(Problem::not_found(format!(
            "no option quotes of {underlying} at or before {}",
            stored(at)
        ))),
    }
}

async fn chain_rows(
    state: &ApiState,
    underlying: &str,
    expiry: NaiveDate,
    at: DateTime<Utc>,
    after: (f64, String),
    limit: u32,
) -> Result<Vec<QuoteRow>, Problem> {
    fetch(
        state,
        &query::CHAIN,
        &[
            Bind::Text(underlying.to_owned()),
            Bind::Text(expiry.to_string()),
            Bind::Text(stored(at)),
            Bind::Float(after.0),
            Bind::Text(after.1),
            Bind::Int(i64::from(limit) + 1),
        ],
    )
    .await
}

/// One expiry's chain at its latest snapshot at or before `at`, from its first strike on
/// (the smile and the term structure read all of it).
async fn whole_chain(
    state: &ApiState,
    underlying: &str,
    expiry: NaiveDate,
    at: DateTime<Utc>,
) -> Result<Vec<QuoteRow>, Problem> {
    chain_rows(
        state,
        underlying,
        expiry,
        at,
        (-1.0, String::new()),
        MAX_LIMIT,
    )
    .await
}

/// `GET /api/v1/options/{underlying}/chain?expiry&at`
pub async fn chain(Path(underlying): Path<String>, ask: Ask) -> Answer {
    let Ask { state, headers, p } = ask.only(takes::CHAIN)?;
    let underlying = symbol(&underlying)?;
    let limit = p.limit()?;
    let (at, after) = match p.chain_position()? {
        None => (p.at()?, (-1.0, String::new())),
        Some((at, strike, right)) => (at, (strike, right)),
    };
    let expiry = expiry_or_nearest(&state, &underlying, &p, at).await?;
    let rows = chain_rows(&state, &underlying, expiry, at, after, limit).await?;
    let (rows, next) = paginate(rows, limit, |r| {
        format!("{}/{}/{}", micros(&r.snapshot_time), r.strike, r.right)
    });
    respond(&headers, &p, &rows, next)
}

/// `GET /api/v1/options/contracts/{contract}/history?from&to`
pub async fn contract_history(Path(contract): Path<String>, ask: Ask) -> Answer {
    let Ask { state, headers, p } = ask.only(takes::CONTRACT_HISTORY)?;
    let osi = crate::market::osi::OsiSymbol::parse(&contract).map_err(|e| {
        // Well formed but impossible (no such date, strike 0): no such contract.
        if e.is_impossible() {
            Problem::not_found(e.to_string())
        } else {
            Problem::invalid(e.to_string())
        }
    })?;
    let limit = p.limit()?;
    let (from, to) = p.time_range()?;
    let rows: Vec<QuoteRow> = fetch(
        &state,
        &query::CONTRACT_HISTORY,
        &[
            Bind::Text(osi.padded()),
            Bind::Text(stored(from)),
            Bind::Text(stored(to)),
            Bind::Int(i64::from(limit) + 1),
        ],
    )
    .await?;
    let (rows, next) = paginate(rows, limit, |r| r.snapshot_time.clone());
    respond(&headers, &p, &rows, next)
}

/// `GET /api/v1/options/{underlying}/smile?expiry&at`
pub async fn smile_of(Path(underlying): Path<String>, ask: Ask) -> Answer {
    let Ask { state, headers, p } = ask.only(takes::SMILE)?;
    let underlying = symbol(&underlying)?;
    let at = p.at()?;
    let expiry = expiry_or_nearest(&state, &underlying, &p, at).await?;
    let rows = whole_chain(&state, &underlying, expiry, at).await?;
    respond(&headers, &p, &smile(&rows), None)
}

/// `GET /api/v1/options/{underlying}/term-structure?at`
pub async fn term_structure(Path(underlying): Path<String>, ask: Ask) -> Answer {
    let Ask { state, headers, p } = ask.only(takes::TERM_STRUCTURE)?;
    let underlying = symbol(&underlying)?;
    let at = p.at()?;
    let mut points = Vec::new();
    for e in expiry_rows(&state, &underlying, at).await? {
        let expiry = date("expiry", &e.expiry)?;
        let rows = whole_chain(&state, &underlying, expiry, at).await?;
        points.extend(at_the_money(&rows));
    }
    respond(&headers, &p, &points, None)
}

/// `GET /api/v1/predictions/{symbol}?model&horizon`
pub async fn predictions(Path(symbol_text): Path<String>, ask: Ask) -> Answer {
    let Ask { state, headers, p } = ask.only(takes::PREDICTIONS)?;
    let symbol = symbol(&symbol_text)?;
    let limit = p.limit()?;
    let model = p.model()?.map(Model::as_str).unwrap_or_default();
    let horizon = p.horizon()?.unwrap_or(0) as i64;
    let (made, after_horizon, after_model) = match p.prediction_position()? {
        None => (format!("{FIRST_DAY}T00:00:00.000000Z"), 0, ""),
        Some((made, h, m)) => (stored(made), h, m.as_str()),
    };
    let rows: Vec<query::PredictionRow> = fetch(
        &state,
        &query::PREDICTIONS,
        &[
            Bind::Text(symbol),
            Bind::Text(model.to_owned()),
            Bind::Int(horizon),
            Bind::Text(made),
            Bind::Int(after_horizon),
            Bind::Text(after_model.to_owned()),
            Bind::Int(i64::from(limit) + 1),
        ],
    )
    .await?;
    let (rows, next) = paginate(rows, limit, |r| {
        format!("{}/{}/{}", micros(&r.made_at), r.horizon_days, r.model)
    });
    respond(&headers, &p, &rows, next)
}

/// `GET /api/v1/backtest?symbol`: the predictor's walk-forward scores.
pub async fn backtest(ask: Ask) -> Answer {
    let Ask { state, headers, p } = ask.only(takes::BACKTEST)?;
    let symbol = p.symbol.as_deref().map(symbol).transpose()?;
    let rows: Vec<query::ScoreRow> = fetch(
        &state,
        &query::SCORES,
        &[Bind::Text(symbol.unwrap_or_default())],
    )
    .await?;
    respond(&headers, &p, &rows, None)
}

/// `GET /api/v1/volatility/{symbol}?from&to`: each session's realized volatility, as the
/// predictor measures it.
pub async fn volatility(Path(symbol_text): Path<String>, ask: Ask) -> Answer {
    let Ask { state, headers, p } = ask.only(takes::VOLATILITY)?;
    let symbol = symbol(&symbol_text)?;
    let (from, to) = p.date_range()?;
    // A year unless told: the page's plot.
    let from = match p.from {
        Some(_) => from,
        None => {
            let end = to.min(Utc::now().date_naive());
            end.checked_sub_days(chrono::Days::new(366)).unwrap_or(end)
        }
    };
    let history = state.database.history(&symbol, from).await.map_err(|e| {
        tracing::error!(error = %e, "API query failed");
        Problem::unavailable()
    })?;
    let series = history.series(&symbol);
    let rows: Vec<RealizedRow> = series
        .days
        .iter()
        .zip(&series.rv)
        .filter(|(day, _)| **day <= to)
        .map(|(day, rv)| RealizedRow {
            symbol: symbol.clone(),
            trade_date: day.to_string(),
            realized_volatility: volatility_of(*rv),
        })
        .collect();
    respond(&headers, &p, &rows, None)
}

/// One session's realized volatility, annualised.
#[derive(Clone, Debug, PartialEq, serde::Serialize, schemars::JsonSchema)]
#[schemars(rename = "Realized")]
pub struct RealizedRow {
    pub symbol: String,
    pub trade_date: String,
    pub realized_volatility: f64,
}

impl Columns for RealizedRow {
    const COLUMNS: &'static [&'static str] = &["symbol", "trade_date", "realized_volatility"];
}

#[cfg(test)]
mod tests;
