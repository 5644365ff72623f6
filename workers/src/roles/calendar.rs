//! `optionsflow-worker calendar`: a year's holidays and early closes, or whether the market
//! is open on a given day and when.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::market::calendar::{self, EXCHANGE_TZ};
use crate::market::{ClosureKind, Day};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Csv,
    Json,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    date: NaiveDate,
    weekday: String,
    /// `holiday`, `special_closure` or `early_close`.
    kind: &'static str,
    name: &'static str,
    /// Closing time on early-close days.
    #[serde(skip_serializing_if = "Option::is_none")]
    close: Option<String>,
}

fn entries(year: i32) -> Vec<Entry> {
    let mut out: Vec<Entry> = calendar::closures(year)
        .into_iter()
        .map(|c| Entry {
            date: c.date,
            weekday: c.date.format("%a").to_string(),
            kind: match c.kind {
                ClosureKind::Holiday => "holiday",
                ClosureKind::SpecialClosure => "special_closure",
            },
            name: c.name,
            close: None,
        })
        .collect();
    out.extend(calendar::early_closes(year).into_iter().map(|e| Entry {
        date: e.date,
        weekday: e.date.format("%a").to_string(),
        kind: "early_close",
        name: e.name,
        close: Some(calendar::early_close_time().format("%H:%M").to_string()),
    }));
    out.sort_by_key(|e| e.date);
    out
}

/// Holidays, special closures and early closes of `year`.
pub fn year_report(year: i32, format: Format) -> String {
    let days = entries(year);
    let trading_days = calendar::trading_days(
        NaiveDate::from_ymd_opt(year, 1, 1).expect("valid"),
        NaiveDate::from_ymd_opt(year, 12, 31).expect("valid"),
    )
    .count();
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(["date", "weekday", "kind", "name", "close"])
                .expect("in memory");
            for e in &days {
                w.write_record([
                    e.date.to_string().as_str(),
                    &e.weekday,
                    e.kind,
                    e.name,
                    e.close.as_deref().unwrap_or(""),
                ])
                .expect("in memory");
            }
            String::from_utf8(w.into_inner().expect("in memory")).expect("UTF-8")
        }
        Format::Json => {
            let doc = serde_json::json!({
                "year": year,
                "exchange": "NYSE",
                "timeZone": EXCHANGE_TZ.name(),
                "regularHours": {"open": "09:30", "close": "16:00"},
                "tradingDays": trading_days,
                "days": days,
            });
            format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).expect("serializable")
            )
        }
        Format::Text => {
            let mut out = format!(
                "NYSE {year}: {trading_days} trading days, regular hours 09:30–16:00 {}\n",
                EXCHANGE_TZ.name()
            );
            for e in &days {
                let what = match e.kind {
                    "early_close" => format!("closes {}", e.close.as_deref().unwrap_or("")),
                    "special_closure" => "closed (special)".into(),
                    _ => "closed".into(),
                };
                out.push_str(&format!(
                    "{}  {}  {:<17} {}\n",
                    e.date, e.weekday, what, e.name
                ));
            }
            out
        }
    }
}

/// Whether the market opens on `date`, and its hours.
pub fn date_report(date: NaiveDate, format: Format) -> String {
    let weekday = date.format("%A").to_string();
    let day = calendar::day(date);
    let (open, reason, session) = match &day {
        Day::Open(s) => (true, None, Some(*s)),
        Day::Weekend => (false, Some("weekend".to_string()), None),
        Day::Closed(c) => (false, Some(c.name.to_string()), None),
    };
    let local = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&EXCHANGE_TZ).format("%H:%M").to_string()
    };
    match format {
        Format::Json => {
            let doc = serde_json::json!({
                "date": date,
                "weekday": weekday,
                "open": open,
                "reason": reason,
                "session": session.map(|s| serde_json::json!({
                    "opens": local(s.open),
                    "closes": local(s.close),
                    "opensUtc": s.open,
                    "closesUtc": s.close,
                    "earlyClose": s.early_close,
                })),
                "timeZone": EXCHANGE_TZ.name(),
            });
            format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).expect("serializable")
            )
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(["date", "weekday", "open", "opens", "closes", "reason"])
                .expect("in memory");
            let (opens, closes) = session.map_or((String::new(), String::new()), |s| {
                (local(s.open), local(s.close))
            });
            let early = session
                .filter(|s| s.early_close)
                .and_then(|_| {
                    calendar::early_closes(date.year())
                        .into_iter()
                        .find(|e| e.date == date)
                })
                .map(|e| format!("early close: {}", e.name));
            w.write_record([
                date.to_string().as_str(),
                &weekday,
                if open { "true" } else { "false" },
                &opens,
                &closes,
                reason.or(early).as_deref().unwrap_or(""),
            ])
            .expect("in memory");
            String::from_utf8(w.into_inner().expect("in memory")).expect("UTF-8")
        }
        Format::Text => match &day {
            Day::Open(s) => {
                let early = if s.early_close {
                    calendar::early_closes(date.year())
                        .into_iter()
                        .find(|e| e.date == date)
                        .map(|e| format!(" (early close: {})", e.name))
                        .unwrap_or_default()
                } else {
                    String::new()
                };
                format!(
                    "{date} ({weekday}): open {}–{} {}{early}\n",
                    local(s.open),
                    local(s.close),
                    EXCHANGE_TZ.name()
                )
            }
            Day::Weekend => format!("{date} ({weekday}): closed, weekend\n"),
            Day::Closed(c) => format!("{date} ({weekday}): closed, {}\n", c.name),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_as_csv() {
        let csv = year_report(2026, Format::Csv);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "date,weekday,kind,name,close");
        assert_eq!(lines.len(), 1 + 10 + 2);
        assert!(lines.contains(&"2026-07-03,Fri,holiday,Independence Day,"));
        assert!(lines.contains(&"2026-11-27,Fri,early_close,Day after Thanksgiving,13:00"));
        assert!(lines.contains(&"2026-01-01,Thu,holiday,New Year's Day,"));
    }

    #[test]
    fn year_as_json() {
        let doc: serde_json::Value =
            serde_json::from_str(&year_report(2025, Format::Json)).unwrap();
        assert_eq!(doc["tradingDays"], 250);
        let carter = doc["days"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["date"] == "2025-01-09")
            .unwrap();
        assert_eq!(carter["kind"], "special_closure");
    }

    #[test]
    fn a_date_in_words() {
        let d = |s: &str| s.parse().unwrap();
        assert_eq!(
            date_report(d("2026-11-27"), Format::Text),
            "2026-11-27 (Friday): open 09:30–13:00 America/New_York (early close: Day after Thanksgiving)\n"
        );
        assert_eq!(
            date_report(d("2026-11-26"), Format::Text),
            "2026-11-26 (Thursday): closed, Thanksgiving Day\n"
        );
        assert_eq!(
            date_report(d("2026-11-28"), Format::Text),
            "2026-11-28 (Saturday): closed, weekend\n"
        );
        let json: serde_json::Value =
            serde_json::from_str(&date_report(d("2026-03-09"), Format::Json)).unwrap();
        assert_eq!(json["open"], true);
        assert_eq!(
            json["session"]["opensUtc"], "2026-03-09T13:30:00Z",
            "first Monday of EDT"
        );
        let csv = date_report(d("2026-11-27"), Format::Csv);
        assert_eq!(
            csv.lines().nth(1).unwrap(),
            "2026-11-27,Friday,true,09:30,13:00,early close: Day after Thanksgiving"
        );
    }
}
