//! The API's input, checked: limits, symbols, dates and times, and the cursors of keyset
//! pages. Pure; every error is a 400 that says what to change.
//!
//! A cursor is the position of the last row a page sent, in a form the OpenAPI document states
//! exactly (a symbol; a date or time; numbers for a chain's snapshot and strike), so that
//! every value the document allows is one the server accepts.

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use optionsflow_api::Symbol;
use serde::Deserialize;

use std::sync::LazyLock;

use super::schemas;
use crate::roles::serve::format::Format;
use crate::roles::serve::problem::Problem;
use crate::stages::predict::backtest::HORIZONS;
use crate::stages::predict::models::Model;

/// Rows per page unless `limit` says otherwise, and the most it may say.
pub const DEFAULT_LIMIT: u32 = 1000;
pub const MAX_LIMIT: u32 = 10_000;

pub(super) const FIRST_DAY: &str = "0001-01-01";
pub(super) const LAST_DAY: &str = "9999-12-31";

/// The query parameters of every endpoint (each takes some of them: [`super::takes`]). A
/// field's doc comment and schema are its parameter's in the OpenAPI document, which reads
/// them from this type's JSON schema.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Rows per page.
    #[schemars(schema_with = "schemas::limit")]
    pub(super) limit: Option<u32>,
    /// The previous page's next_cursor: the position of its last row.
    #[schemars(schema_with = "schemas::text")]
    pub(super) cursor: Option<String>,
    /// json (default) or csv; the Accept header is used when absent.
    #[schemars(schema_with = "schemas::format")]
    pub(super) format: Option<Format>,
    /// From, inclusive: a date (YYYY-MM-DD) or an RFC 3339 time. Where the rows are days
    /// (daily bars, realized volatility), a time stands for its UTC day.
    #[schemars(schema_with = "schemas::date_or_time")]
    pub(super) from: Option<String>,
    /// To, inclusive: a date (YYYY-MM-DD) or an RFC 3339 time. Where the rows are days
    /// (daily bars, realized volatility), a time stands for its UTC day.
    #[schemars(schema_with = "schemas::date_or_time")]
    pub(super) to: Option<String>,
    /// 1day (default) or 15min.
    #[schemars(schema_with = "schemas::interval")]
    pub(super) interval: Option<String>,
    /// Expiry date; the nearest one with quotes by default.
    #[schemars(schema_with = "schemas::date")]
    pub(super) expiry: Option<String>,
    /// Use the latest snapshot at or before this time (RFC 3339); now by default.
    #[schemars(schema_with = "schemas::time")]
    pub(super) at: Option<String>,
    /// Only this model's forecasts.
    #[schemars(schema_with = "schemas::model")]
    pub(super) model: Option<String>,
    /// Only this horizon's, in sessions.
    #[schemars(schema_with = "schemas::horizon")]
    pub(super) horizon: Option<u32>,
    /// Only this symbol's scores.
    #[schemars(schema_with = "schemas::symbol")]
    pub(super) symbol: Option<String>,
}

impl Params {
    pub(super) fn limit(&self) -> Result<u32, Problem> {
        match self.limit.unwrap_or(DEFAULT_LIMIT) {
            n @ 1..=MAX_LIMIT => Ok(n),
            n => Err(Problem::invalid(format!(
                "limit {n} is out of range: 1 to {MAX_LIMIT}"
            ))),
        }
    }

    /// The cursor as a symbol (the symbols list's position).
    pub(super) fn symbol_position(&self) -> Result<Option<String>, Problem> {
        self.cursor.as_deref().map(symbol).transpose()
    }

    /// `from` and `to` as times (inclusive; a date is its whole UTC day), with `from` moved
    /// past the cursor's time.
    pub(super) fn time_range(&self) -> Result<(DateTime<Utc>, DateTime<Utc>), Problem> {
        let mut from = time("from", self.from.as_deref().unwrap_or(FIRST_DAY), false)?;
        let to = time("to", self.to.as_deref().unwrap_or(LAST_DAY), true)?;
        if let Some(after) = &self.cursor {
            // After the cursor's time (a date: after that whole day).
            let next = time("cursor", after, true)?
                .checked_add_signed(Duration::microseconds(1))
                .ok_or_else(|| Problem::invalid(format!("cursor {after:?} is past every row")))?;
            from = from.max(next);
        }
        Ok((from, to))
    }

    /// `from` and `to` as dates (inclusive; a time stands for its UTC day), with `from` moved
    /// past the cursor's day.
    pub(super) fn date_range(&self) -> Result<(NaiveDate, NaiveDate), Problem> {
        let mut from = day("from", self.from.as_deref().unwrap_or(FIRST_DAY))?;
        let to = day("to", self.to.as_deref().unwrap_or(LAST_DAY))?;
        if let Some(after) = &self.cursor {
            // No row is ever after the last day a date may name.
            let next = day("cursor", after)?
                .succ_opt()
                .filter(|d| d.year() <= 9999)
                .ok_or_else(|| Problem::invalid(format!("cursor {after:?} is past every row")))?;
            from = from.max(next);
        }
        Ok((from, to))
    }

    /// Where a chain page starts: after `(strike, right)` in the snapshot its cursor pins (a
    /// snapshot stored meanwhile does not mix into later pages); `None` without a cursor. The
    /// cursor is `<snapshot, microseconds since 1970>/<strike>/<call|put>` ([`CHAIN_CURSOR`]).
    pub(super) fn chain_position(&self) -> Result<Option<(DateTime<Utc>, f64, String)>, Problem> {
        let Some(text) = &self.cursor else {
            return Ok(None);
        };
        let bad = || not_a_position(text, CHAIN_CURSOR);
        let mut parts = text.splitn(3, '/');
        let (Some(micros), Some(strike), Some(right)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let at = micros
            .parse::<i64>()
            .ok()
            .and_then(DateTime::from_timestamp_micros)
            .ok_or_else(bad)?;
        let strike = strike
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite())
            .ok_or_else(bad)?;
        if !matches!(right, "call" | "put") {
            return Err(bad());
        }
        Ok(Some((at, strike, right.to_owned())))
    }

    /// Where a predictions page starts: after `(made at, horizon, model)`; `None` without a
    /// cursor. The cursor is `<made at, microseconds since 1970>/<horizon>/<model>`
    /// ([`PREDICTION_CURSOR`]).
    pub(super) fn prediction_position(
        &self,
    ) -> Result<Option<(DateTime<Utc>, i64, Model)>, Problem> {
        let Some(text) = &self.cursor else {
            return Ok(None);
        };
        let bad = || not_a_position(text, &PREDICTION_CURSOR);
        let mut parts = text.splitn(3, '/');
        let (Some(micros), Some(horizon), Some(model)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let made = micros
            .parse::<i64>()
            .ok()
            .and_then(DateTime::from_timestamp_micros)
            .ok_or_else(bad)?;
        let horizon = horizon
            .parse::<usize>()
            .ok()
            .filter(|h| HORIZONS.contains(h))
            .ok_or_else(bad)?;
        let model = Model::named(model).ok_or_else(bad)?;
        Ok(Some((made, horizon as i64, model)))
    }

    /// `model`, if given: one of [`Model::ALL`].
    pub(super) fn model(&self) -> Result<Option<Model>, Problem> {
        self.model
            .as_deref()
            .map(|m| {
                Model::named(m).ok_or_else(|| {
                    Problem::invalid(format!("model {m:?} is not one of {}", model_names("|")))
                })
            })
            .transpose()
    }

    /// `horizon`, if given: one of [`HORIZONS`], in sessions.
    pub(super) fn horizon(&self) -> Result<Option<usize>, Problem> {
        self.horizon
            .map(|h| {
                Some(h as usize)
                    .filter(|h| HORIZONS.contains(h))
                    .ok_or_else(|| {
                        Problem::invalid(format!("horizon {h} is not one of {HORIZONS:?}"))
                    })
            })
            .transpose()
    }

    /// `at`, the time a snapshot must not be after; now by default.
    pub(super) fn at(&self) -> Result<DateTime<Utc>, Problem> {
        match &self.at {
            None => Ok(Utc::now()),
            Some(text) => DateTime::parse_from_rfc3339(text)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    Problem::invalid(format!(
                        "at {text:?} is not an RFC 3339 time (like 2026-11-20T21:00:00Z)"
                    ))
                }),
        }
    }
}

pub(super) fn params(q: Result<Query<Params>, QueryRejection>) -> Result<Params, Problem> {
    q.map(|Query(p)| p)
        .map_err(|e| Problem::invalid(e.body_text()))
}

/// Only these parameters make sense for the endpoint.
pub(super) fn only(p: &Params, allowed: &[&str]) -> Result<(), Problem> {
    let given = [
        ("from", p.from.is_some()),
        ("to", p.to.is_some()),
        ("interval", p.interval.is_some()),
        ("expiry", p.expiry.is_some()),
        ("at", p.at.is_some()),
        ("model", p.model.is_some()),
        ("horizon", p.horizon.is_some()),
        ("symbol", p.symbol.is_some()),
    ];
    for (name, present) in given {
        if present && !allowed.contains(&name) {
            return Err(Problem::invalid(format!(
                "parameter {name} does not apply here (this endpoint takes: {})",
                allowed.join(", ")
            )));
        }
    }
    Ok(())
}

/// A ticker, in either case.
pub(super) fn symbol(text: &str) -> Result<String, Problem> {
    Symbol::parse(&text.to_ascii_uppercase())
        .map(|s| s.to_string())
        .map_err(|e| Problem::invalid(format!("symbol {text:?}: {e}")))
}

/// A day bound or position: a date, or an RFC 3339 time standing for its UTC day.
pub(super) fn day(name: &str, text: &str) -> Result<NaiveDate, Problem> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc).date_naive());
    }
    date(name, text).map_err(|_| {
        Problem::invalid(format!(
            "{name} {text:?} is neither a date (YYYY-MM-DD) nor an RFC 3339 time"
        ))
    })
}

/// A date as `YYYY-MM-DD` (RFC 3339's full-date: four-digit years, nothing else).
pub(super) fn date(name: &str, text: &str) -> Result<NaiveDate, Problem> {
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    shaped
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| Problem::invalid(format!("{name} {text:?} is not a date (YYYY-MM-DD)")))
}

/// A time bound: RFC 3339, or a date (its first or last microsecond, UTC).
pub(super) fn time(name: &str, text: &str, end_of_day: bool) -> Result<DateTime<Utc>, Problem> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let day = date(name, text).map_err(|_| {
        Problem::invalid(format!(
            "{name} {text:?} is neither an RFC 3339 time nor a date (YYYY-MM-DD)"
        ))
    })?;
    let clock = if end_of_day {
        NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999).expect("valid")
    } else {
        NaiveTime::MIN
    };
    Ok(day.and_time(clock).and_utc())
}

/// The stored text form of a time (fixed width, so text order is time order).
pub fn stored(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The shape of a chain cursor, as the OpenAPI document states it: every text it matches is
/// a position the server accepts.
pub const CHAIN_CURSOR: &str = "^[0-9]{1,16}/[0-9]{1,9}(\\.[0-9]{1,6})?/(call|put)$";

/// The shape of a predictions cursor.
pub static PREDICTION_CURSOR: LazyLock<String> = LazyLock::new(|| {
    let horizons: Vec<String> = HORIZONS.iter().map(usize::to_string).collect();
    format!(
        "^[0-9]{{1,16}}/({})/({})$",
        horizons.join("|"),
        model_names("|")
    )
});

/// The models' names, joined by `sep`.
pub fn model_names(sep: &str) -> String {
    Model::ALL.map(Model::as_str).join(sep)
}

fn not_a_position(text: &str, shape: &str) -> Problem {
    Problem::invalid(format!(
        "cursor {text:?} is not a position of this list (it matches {shape}; pass next_cursor back as it came)"
    ))
}

/// Splits `limit + 1` rows into a page and the next page's cursor.
pub(super) fn paginate<T>(
    mut rows: Vec<T>,
    limit: u32,
    key: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        let cursor = rows.last().map(key);
        (rows, cursor)
    } else {
        (rows, None)
    }
}
