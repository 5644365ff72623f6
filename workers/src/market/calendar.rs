//! The NYSE calendar: trading days, regular hours, full holidays by rule, early closes and
//! special closures. Nasdaq and the U.S. options exchanges keep the same holidays.
//!
//! Holidays are computed from their rules (NYSE Rule 7.2 observance included), so years
//! beyond the last published calendar are projections; special closures (days of mourning,
//! storms) are a list. Rules are those in force since 2000 (Juneteenth from 2022); early
//! closes follow the pattern of the published calendars (July 3, the day after Thanksgiving,
//! December 24), which older years did not always follow.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::America::New_York;
use chrono_tz::Tz;
use serde::Serialize;

/// The exchange's zone; every session time is wall-clock time here.
pub const EXCHANGE_TZ: Tz = New_York;

pub fn regular_open() -> NaiveTime {
    let (h, m) = optionsflow_api::collection::REGULAR_OPEN;
    NaiveTime::from_hms_opt(h, m, 0).expect("valid time")
}

pub fn regular_close() -> NaiveTime {
    let (h, m) = optionsflow_api::collection::REGULAR_CLOSE;
    NaiveTime::from_hms_opt(h, m, 0).expect("valid time")
}

pub fn early_close_time() -> NaiveTime {
    NaiveTime::from_hms_opt(13, 0, 0).expect("valid time")
}

/// Days the exchange closed outside its rules.
const SPECIAL_CLOSURES: &[(i32, u32, u32, &str)] = &[
    (2001, 9, 11, "September 11 attacks"),
    (2001, 9, 12, "September 11 attacks"),
    (2001, 9, 13, "September 11 attacks"),
    (2001, 9, 14, "September 11 attacks"),
    (2004, 6, 11, "National day of mourning for President Reagan"),
    (2007, 1, 2, "National day of mourning for President Ford"),
    (2012, 10, 29, "Hurricane Sandy"),
    (2012, 10, 30, "Hurricane Sandy"),
    (
        2018,
        12,
        5,
        "National day of mourning for President George H. W. Bush",
    ),
    (2025, 1, 9, "National day of mourning for President Carter"),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClosureKind {
    /// A holiday by rule.
    Holiday,
    /// A closure outside the rules.
    SpecialClosure,
}

/// A weekday the market is closed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Closure {
    pub date: NaiveDate,
    pub name: &'static str,
    pub kind: ClosureKind,
}

/// A trading day that ends at 13:00.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EarlyClose {
    pub date: NaiveDate,
    pub name: &'static str,
}

/// One regular session, as instants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Session {
    pub date: NaiveDate,
    pub open: DateTime<Utc>,
    pub close: DateTime<Utc>,
    pub early_close: bool,
}

impl Session {
    pub fn contains(&self, instant: DateTime<Utc>) -> bool {
        self.open <= instant && instant < self.close
    }
}

/// What a calendar day is for the market.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Day {
    Open(Session),
    Weekend,
    Closed(Closure),
}

/// Full-day closures of a year (holidays by rule and special closures), in date order.
pub fn closures(year: i32) -> Vec<Closure> {
    let mut out: Vec<Closure> = rule_holidays(year)
        .into_iter()
        .map(|(date, name)| Closure {
            date,
            name,
            kind: ClosureKind::Holiday,
        })
        .collect();
    out.extend(
        SPECIAL_CLOSURES
            .iter()
            .filter(|(y, ..)| *y == year)
            .map(|&(y, m, d, name)| Closure {
                date: ymd(y, m, d),
                name,
                kind: ClosureKind::SpecialClosure,
            }),
    );
    out.sort_by_key(|c| c.date);
    out
}

/// Trading days of a year that close at 13:00, in date order.
pub fn early_closes(year: i32) -> Vec<EarlyClose> {
    let mut candidates = vec![(
        fourth_weekday(year, 11, Weekday::Thu) + Duration::days(1),
        "Day after Thanksgiving",
    )];
    let july3 = ymd(year, 7, 3);
    if is_mon_to_thu(july3) {
        candidates.push((july3, "Independence Day eve"));
    }
    let dec24 = ymd(year, 12, 24);
    if is_mon_to_thu(dec24) {
        candidates.push((dec24, "Christmas Eve"));
    }
    let closed = closures(year);
    let mut out: Vec<EarlyClose> = candidates
        .into_iter()
        .filter(|(date, _)| !closed.iter().any(|c| c.date == *date))
        .map(|(date, name)| EarlyClose { date, name })
        .collect();
    out.sort_by_key(|e| e.date);
    out
}

/// What `date` is for the market.
pub fn day(date: NaiveDate) -> Day {
    if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
        return Day::Weekend;
    }
    if let Some(closure) = closures(date.year()).into_iter().find(|c| c.date == date) {
        return Day::Closed(closure);
    }
    let early = early_closes(date.year()).iter().any(|e| e.date == date);
    let close = if early {
        early_close_time()
    } else {
        regular_close()
    };
    Day::Open(Session {
        date,
        open: exchange_instant(date, regular_open()),
        close: exchange_instant(date, close),
        early_close: early,
    })
}

/// The regular session on `date`, if the market opens that day.
pub fn session(date: NaiveDate) -> Option<Session> {
    match day(date) {
        Day::Open(s) => Some(s),
        _ => None,
    }
}

pub fn is_trading_day(date: NaiveDate) -> bool {
    session(date).is_some()
}

/// The exchange-local calendar date of an instant.
pub fn exchange_date(instant: DateTime<Utc>) -> NaiveDate {
    instant.with_timezone(&EXCHANGE_TZ).date_naive()
}

/// The latest trading day on or before `date`.
pub fn trading_day_on_or_before(date: NaiveDate) -> NaiveDate {
    let mut d = date;
    while !is_trading_day(d) {
        d = d.pred_opt().expect("date in range");
    }
    d
}

/// The session a snapshot taken at `instant` shows: the one under way or closed that day, or
/// before the open (overnight, a weekend, a holiday) the last one, whose closing quotes are
/// what a provider still shows.
pub fn session_shown_at(instant: DateTime<Utc>) -> NaiveDate {
    let today = exchange_date(instant);
    match session(today) {
        Some(s) if instant >= s.open => today,
        _ => trading_day_on_or_before(today.pred_opt().expect("date in range")),
    }
}

/// Trading days from `start` to `end`, both included.
pub fn trading_days(start: NaiveDate, end: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    start
        .iter_days()
        .take_while(move |d| *d <= end)
        .filter(|d| is_trading_day(*d))
}

/// The instant of a New York wall-clock time on `date` (session times only: they never fall
/// in a DST gap).
pub fn exchange_instant(date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    // Session times are far from the 02:00 DST switch, so the local time always exists once.
    EXCHANGE_TZ
        .from_local_datetime(&date.and_time(time))
        .single()
        .expect("session times are unambiguous")
        .with_timezone(&Utc)
}

fn rule_holidays(year: i32) -> Vec<(NaiveDate, &'static str)> {
    let mut days = Vec::with_capacity(10);
    let mut fixed = |month, dom, name| {
        if let Some(d) = observed(ymd(year, month, dom)) {
            days.push((d, name));
        }
    };
    fixed(1, 1, "New Year's Day");
    if year >= 2022 {
        fixed(6, 19, "Juneteenth National Independence Day");
    }
    fixed(7, 4, "Independence Day");
    fixed(12, 25, "Christmas Day");
    days.push((
        nth_weekday(year, 1, Weekday::Mon, 3),
        "Martin Luther King Jr. Day",
    ));
    days.push((
        nth_weekday(year, 2, Weekday::Mon, 3),
        "Washington's Birthday",
    ));
    days.push((easter_sunday(year) - Duration::days(2), "Good Friday"));
    days.push((last_weekday(year, 5, Weekday::Mon), "Memorial Day"));
    days.push((nth_weekday(year, 9, Weekday::Mon, 1), "Labor Day"));
    days.push((fourth_weekday(year, 11, Weekday::Thu), "Thanksgiving Day"));
    days.sort();
    days
}

/// NYSE Rule 7.2: Saturday holidays move to Friday, Sunday ones to Monday, except that a
/// Friday ending a monthly or yearly accounting period stays a trading day (so New Year's Day
/// on a Saturday is not observed at all).
fn observed(date: NaiveDate) -> Option<NaiveDate> {
    match date.weekday() {
        Weekday::Sat => {
            let friday = date - Duration::days(1);
            let month_end = friday.month() != date.month();
            (!month_end).then_some(friday)
        }
        Weekday::Sun => Some(date + Duration::days(1)),
        _ => Some(date),
    }
}

/// Western Easter (anonymous Gregorian computus).
fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let dom = (h + l - 7 * m + 114) % 31 + 1;
    ymd(year, month as u32, dom as u32)
}

fn nth_weekday(year: i32, month: u32, weekday: Weekday, n: u8) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, n).expect("weekday exists")
}

fn fourth_weekday(year: i32, month: u32, weekday: Weekday) -> NaiveDate {
    nth_weekday(year, month, weekday, 4)
}

fn last_weekday(year: i32, month: u32, weekday: Weekday) -> NaiveDate {
    let first_of_next = if month == 12 {
        ymd(year + 1, 1, 1)
    } else {
        ymd(year, month + 1, 1)
    };
    let mut d = first_of_next - Duration::days(1);
    while d.weekday() != weekday {
        d -= Duration::days(1);
    }
    d
}

fn is_mon_to_thu(date: NaiveDate) -> bool {
    matches!(
        date.weekday(),
        Weekday::Mon | Weekday::Tue | Weekday::Wed | Weekday::Thu
    )
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn closure_dates(year: i32) -> Vec<String> {
        closures(year).iter().map(|c| c.date.to_string()).collect()
    }

    fn early_dates(year: i32) -> Vec<String> {
        early_closes(year)
            .iter()
            .map(|e| e.date.to_string())
            .collect()
    }

    // Every date in docs/market-data.md ("The NYSE calendar"), as the stand-in providers
    // list them: the rules here must give exactly those.
    #[test]
    fn closures_2024_to_2028_are_the_documented_ones() {
        for year in 2024..=2028 {
            let documented: Vec<&str> = optionsflow_testkit::data::NYSE_CLOSED
                .iter()
                .copied()
                .filter(|c| c.starts_with(&year.to_string()))
                .collect();
            assert_eq!(closure_dates(year), documented, "{year}");
        }
        assert_eq!(
            closures(2025)[1].kind,
            ClosureKind::SpecialClosure,
            "Carter day of mourning"
        );
        // 2028 has no New Year closure: January 1st is a Saturday.
        assert!(
            is_trading_day(d("2027-12-31")),
            "Dec 31 ends the accounting year"
        );
    }

    #[test]
    fn early_closes_2025_to_2028() {
        assert_eq!(
            early_dates(2025),
            ["2025-07-03", "2025-11-28", "2025-12-24"]
        );
        assert_eq!(early_dates(2026), ["2026-11-27", "2026-12-24"]);
        assert_eq!(early_dates(2027), ["2027-11-26"]);
        assert_eq!(early_dates(2028), ["2028-07-03", "2028-11-24"]);
    }

    #[test]
    fn sessions_are_new_york_wall_clock_in_both_dst_regimes() {
        let winter = session(d("2026-01-05")).unwrap();
        assert_eq!(winter.open.to_rfc3339(), "2026-01-05T14:30:00+00:00");
        assert_eq!(winter.close.to_rfc3339(), "2026-01-05T21:00:00+00:00");
        let summer = session(d("2026-07-06")).unwrap();
        assert_eq!(summer.open.to_rfc3339(), "2026-07-06T13:30:00+00:00");
        assert_eq!(summer.close.to_rfc3339(), "2026-07-06T20:00:00+00:00");
        let early = session(d("2026-11-27")).unwrap();
        assert!(early.early_close);
        assert_eq!(early.close.to_rfc3339(), "2026-11-27T18:00:00+00:00");
    }

    #[test]
    fn day_kinds() {
        assert_eq!(day(d("2026-11-28")), Day::Weekend);
        match day(d("2026-11-26")) {
            Day::Closed(c) => assert_eq!(c.name, "Thanksgiving Day"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(day(d("2026-11-24")), Day::Open(_)));
    }

    #[test]
    fn trading_day_counts_are_weekdays_minus_weekday_closures() {
        for year in 2000..=2040 {
            let start = ymd(year, 1, 1);
            let end = ymd(year, 12, 31);
            let weekdays = start
                .iter_days()
                .take_while(|x| *x <= end)
                .filter(|x| !matches!(x.weekday(), Weekday::Sat | Weekday::Sun))
                .count();
            let closed = closures(year).len();
            assert!(
                closures(year)
                    .iter()
                    .all(|c| !matches!(c.date.weekday(), Weekday::Sat | Weekday::Sun))
            );
            assert_eq!(
                trading_days(start, end).count(),
                weekdays - closed,
                "{year}"
            );
        }
        assert_eq!(trading_days(d("2025-01-01"), d("2025-12-31")).count(), 250);
    }

    #[test]
    fn easter_is_right_for_known_years() {
        for (y, m, dd) in [
            (2000, 4, 23),
            (2019, 4, 21),
            (2024, 3, 31),
            (2038, 4, 25),
            (2285, 3, 22),
        ] {
            assert_eq!(easter_sunday(y), ymd(y, m, dd));
        }
    }

    #[test]
    fn walking_back_to_a_trading_day() {
        assert_eq!(trading_day_on_or_before(d("2026-11-29")), d("2026-11-27"));
        assert_eq!(trading_day_on_or_before(d("2026-11-26")), d("2026-11-25"));
        assert_eq!(trading_day_on_or_before(d("2026-11-25")), d("2026-11-25"));
    }

    #[test]
    fn exchange_date_uses_new_york_midnight() {
        let late_utc = Utc.with_ymd_and_hms(2026, 3, 14, 3, 0, 0).unwrap();
        assert_eq!(exchange_date(late_utc), d("2026-03-13"));
    }

    #[test]
    fn a_snapshot_before_the_open_shows_the_last_session() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        // Wednesday 2026-12-02: at 16:20 New York after the close, that session.
        assert_eq!(
            session_shown_at(at("2026-12-02T21:20:00Z")),
            d("2026-12-02")
        );
        // 01:00 and 09:29 New York on Thursday: still Wednesday's; from the open, Thursday's.
        assert_eq!(
            session_shown_at(at("2026-12-03T06:00:00Z")),
            d("2026-12-02")
        );
        assert_eq!(
            session_shown_at(at("2026-12-03T14:29:00Z")),
            d("2026-12-02")
        );
        assert_eq!(
            session_shown_at(at("2026-12-03T14:30:00Z")),
            d("2026-12-03")
        );
        // Thanksgiving afternoon and the weekend after show the sessions before them.
        assert_eq!(
            session_shown_at(at("2026-11-26T20:00:00Z")),
            d("2026-11-25")
        );
        assert_eq!(
            session_shown_at(at("2026-11-29T20:00:00Z")),
            d("2026-11-27")
        );
    }
}
