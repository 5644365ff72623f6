//! The API's input, checked: limits, symbols, dates and times, and the opaque cursors of
//! keyset pages. Pure; every error is a 400 that says what to change.

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use optionsflow_api::Symbol;
use serde::Deserialize;

use crate::roles::serve::format::Format;
use crate::roles::serve::problem::Problem;

/// Rows per page unless `limit` says otherwise, and the most it may say.
pub const DEFAULT_LIMIT: u32 = 1000;
pub const MAX_LIMIT: u32 = 10_000;

pub(super) const FIRST_DAY: &str = "0001-01-01";
pub(super) const LAST_DAY: &str = "9999-12-31";

/// Query parameters every list takes.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub(super) limit: Option<u32>,
    pub(super) cursor: Option<String>,
    pub(super) format: Option<Format>,
    pub(super) from: Option<String>,
    pub(super) to: Option<String>,
    pub(super) interval: Option<String>,
    pub(super) expiry: Option<String>,
    pub(super) at: Option<String>,
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

    pub(super) fn cursor(&self, kind: &str) -> Result<Option<String>, Problem> {
        self.cursor
            .as_deref()
            .map(|c| decode_cursor(kind, c))
            .transpose()
    }

    /// `from` and `to` as times (inclusive; a date is its whole UTC day), with `from` moved
    /// past the cursor's time.
    pub(super) fn time_range(&self) -> Result<(DateTime<Utc>, DateTime<Utc>), Problem> {
        let mut from = time("from", self.from.as_deref().unwrap_or(FIRST_DAY), false)?;
        let to = time("to", self.to.as_deref().unwrap_or(LAST_DAY), true)?;
        if let Some(after) = self.cursor("time")? {
            let next = time("cursor", &after, false)?
                .checked_add_signed(Duration::microseconds(1))
                .ok_or_else(|| not_issued(self))?;
            from = from.max(next);
        }
        Ok((from, to))
    }

    /// `from` and `to` as dates (inclusive), with `from` moved past the cursor's day.
    pub(super) fn date_range(&self) -> Result<(NaiveDate, NaiveDate), Problem> {
        let mut from = date("from", self.from.as_deref().unwrap_or(FIRST_DAY))?;
        let to = date("to", self.to.as_deref().unwrap_or(LAST_DAY))?;
        if let Some(after) = self.cursor("day")? {
            // No row is ever after the last day a date may name, so no cursor points there.
            let next = date("cursor", &after)?
                .succ_opt()
                .filter(|d| d.year() <= 9999)
                .ok_or_else(|| not_issued(self))?;
            from = from.max(next);
        }
        Ok((from, to))
    }

    /// Where a chain page starts: after `(strike, right)` in the snapshot its cursor pins (a
    /// snapshot stored meanwhile does not mix into later pages); `None` without a cursor.
    pub(super) fn chain_position(&self) -> Result<Option<(DateTime<Utc>, f64, String)>, Problem> {
        let Some(key) = self.cursor("strike")? else {
            return Ok(None);
        };
        let bad = || not_issued(self);
        let mut parts = key.splitn(3, '/');
        let (Some(snapshot), Some(strike), Some(right)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let strike = strike
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite())
            .ok_or_else(bad)?;
        let at = DateTime::parse_from_rfc3339(snapshot).map_err(|_| bad())?;
        Ok(Some((at.with_timezone(&Utc), strike, right.to_owned())))
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

pub(super) fn encode_cursor(kind: &str, key: &str) -> String {
    format!("{kind}:{key}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The 400 for a cursor this API would never have issued.
fn not_issued(p: &Params) -> Problem {
    let text = p.cursor.as_deref().unwrap_or_default();
    Problem::invalid(format!("cursor {text:?} was not issued by this endpoint"))
}

pub(super) fn decode_cursor(kind: &str, text: &str) -> Result<String, Problem> {
    let bad = || Problem::invalid(format!("cursor {text:?} was not issued by this endpoint"));
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return Err(bad());
    }
    let bytes: Vec<u8> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16))
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    let decoded = String::from_utf8(bytes).map_err(|_| bad())?;
    decoded
        .strip_prefix(kind)
        .and_then(|rest| rest.strip_prefix(':'))
        .map(str::to_owned)
        .ok_or_else(bad)
}

/// Splits `limit + 1` rows into a page and the next page's cursor.
pub(super) fn paginate<T>(
    mut rows: Vec<T>,
    limit: u32,
    kind: &str,
    key: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        let cursor = rows.last().map(|r| encode_cursor(kind, &key(r)));
        (rows, cursor)
    } else {
        (rows, None)
    }
}
