//! Five-field cron schedules (`minute hour day-of-month month day-of-week`, or `@hourly`,
//! `@daily`, `@weekly`, `@monthly`, `@yearly`) read in a time zone, as Kubernetes CronJobs
//! read the same `schedule` and `timeZone` fields of the pipeline. `local` uses them to run
//! each dataset when the cluster would; the operator, to count a dataset's runs in a day.
//!
//! As in cron, when both day fields are restricted a day matching either one fires.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("schedule {0:?} does not have five fields")]
    Fields(String),
    #[error("schedule {schedule:?}: {field} field {value:?} is not valid")]
    Field {
        schedule: String,
        field: &'static str,
        value: String,
    },
    #[error("time zone {0:?} is not an IANA zone")]
    TimeZone(String),
}

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// Both day-of-month and day-of-week were restricted.
    either_day: bool,
    zone: Tz,
}

const FIELDS: [(&str, u32, u32); 5] = [
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day-of-month", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 0, 7),
];

impl Schedule {
    pub fn parse(expression: &str, zone: &str) -> Result<Schedule, ScheduleError> {
        let zone: Tz = zone
            .parse()
            .map_err(|_| ScheduleError::TimeZone(zone.to_owned()))?;
        let expanded = match expression.trim() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other => other,
        };
        let parts: Vec<&str> = expanded.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(ScheduleError::Fields(expression.to_owned()));
        }
        let mut sets = [0u64; 5];
        for (i, part) in parts.iter().enumerate() {
            let (name, low, high) = FIELDS[i];
            sets[i] = field(part, low, high).ok_or_else(|| ScheduleError::Field {
                schedule: expression.to_owned(),
                field: name,
                value: (*part).to_owned(),
            })?;
        }
        // Sunday is 0 or 7.
        if sets[4] & (1 << 7) != 0 {
            sets[4] |= 1;
        }
        Ok(Schedule {
            minutes: sets[0],
            hours: sets[1],
            days: sets[2],
            months: sets[3],
            weekdays: sets[4],
            either_day: parts[2] != "*" && parts[4] != "*",
            zone,
        })
    }

    fn day_matches(&self, date: NaiveDate) -> bool {
        let dom = self.days & (1 << date.day()) != 0;
        let dow = self.weekdays & (1 << date.weekday().num_days_from_sunday()) != 0;
        if self.either_day {
            dom || dow
        } else {
            dom && dow
        }
    }

    /// The first time after `after` the schedule fires, if any within five years.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let first = after.with_timezone(&self.zone).date_naive();
        (0..=SEARCH_DAYS)
            .map(|n| first + Duration::days(n))
            .find_map(|date| self.fires_on(date).find(|at| *at > after))
    }

    /// The last time at or before `at` the schedule fired, if any within five years.
    pub fn last_at_or_before(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let first = at.with_timezone(&self.zone).date_naive();
        (0..=SEARCH_DAYS)
            .map(|n| first - Duration::days(n))
            .find_map(|date| {
                let fires: Vec<DateTime<Utc>> = self.fires_on(date).collect();
                fires.into_iter().rev().find(|t| *t <= at)
            })
    }

    /// The instants the schedule fires on a local `date`, in order.
    fn fires_on(&self, date: NaiveDate) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        let day = self.months & (1 << date.month()) != 0 && self.day_matches(date);
        (0..24u32)
            .filter(move |hour| day && self.hours & (1 << hour) != 0)
            .flat_map(move |hour| {
                (0..60u32)
                    .filter(|minute| self.minutes & (1 << minute) != 0)
                    .map(move |minute| (hour, minute))
            })
            .filter_map(move |(hour, minute)| {
                let naive = date.and_hms_opt(hour, minute, 0)?;
                // A time skipped by a DST change does not fire; a repeated one fires once.
                let at = self.zone.from_local_datetime(&naive).earliest()?;
                Some(at.with_timezone(&Utc))
            })
    }
}

/// How far [`Schedule::next_after`] and [`Schedule::last_at_or_before`] look: five years.
const SEARCH_DAYS: i64 = 5 * 366;

/// A field as a bit set: `*`, `N`, `A-B`, any of them with `/STEP`, comma-separated.
fn field(text: &str, low: u32, high: u32) -> Option<u64> {
    let mut set = 0u64;
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().ok().filter(|s| *s > 0)?),
            None => (item, 1),
        };
        let (from, to) = if range == "*" {
            (low, high)
        } else if let Some((a, b)) = range.split_once('-') {
            (a.parse().ok()?, b.parse().ok()?)
        } else {
            let n: u32 = range.parse().ok()?;
            // `N/STEP` means from N to the end.
            (n, if item.contains('/') { high } else { n })
        };
        if from < low || to > high || from > to {
            return None;
        }
        let mut n = from;
        while n <= to {
            set |= 1 << n;
            n += step;
        }
    }
    Some(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn weekday_afternoons_in_new_york() {
        let s = Schedule::parse("30 16 * * 1-5", "America/New_York").unwrap();
        // Friday 2026-11-20 17:00 New York (22:00 UTC): next is Monday 16:30 EST.
        assert_eq!(
            s.next_after(utc("2026-11-20T22:00:00Z")),
            Some(utc("2026-11-23T21:30:00Z"))
        );
        // In summer time the same local time is an hour earlier in UTC.
        assert_eq!(
            s.next_after(utc("2026-07-01T00:00:00Z")),
            Some(utc("2026-07-01T20:30:00Z"))
        );
    }

    #[test]
    fn steps_ranges_lists_and_aliases() {
        let s = Schedule::parse("*/15 9-16 * * 1-5", "America/New_York").unwrap();
        assert_eq!(
            s.next_after(utc("2026-11-24T14:31:00Z")),
            Some(utc("2026-11-24T14:45:00Z"))
        );
        let s = Schedule::parse("0 0,12 * * *", "UTC").unwrap();
        assert_eq!(
            s.next_after(utc("2026-11-24T00:00:00Z")),
            Some(utc("2026-11-24T12:00:00Z"))
        );
        let s = Schedule::parse("@weekly", "UTC").unwrap();
        assert_eq!(
            s.next_after(utc("2026-11-24T00:00:00Z")),
            Some(utc("2026-11-29T00:00:00Z"))
        );
        // Both day fields restricted: either matches (the 1st, or any Sunday).
        let s = Schedule::parse("0 0 1 * 7", "UTC").unwrap();
        assert_eq!(
            s.next_after(utc("2026-11-24T00:00:00Z")),
            Some(utc("2026-11-29T00:00:00Z"))
        );
        assert_eq!(
            s.next_after(utc("2026-11-29T00:00:00Z")),
            Some(utc("2026-12-01T00:00:00Z"))
        );
    }

    #[test]
    fn the_last_fire_at_or_before_an_instant() {
        let s = Schedule::parse("30 16 * * 1-5", "America/New_York").unwrap();
        // Sunday 2026-11-22: the last was Friday 16:30 EST.
        assert_eq!(
            s.last_at_or_before(utc("2026-11-22T12:00:00Z")),
            Some(utc("2026-11-20T21:30:00Z"))
        );
        // Exactly at a fire time, that one.
        assert_eq!(
            s.last_at_or_before(utc("2026-11-23T21:30:00Z")),
            Some(utc("2026-11-23T21:30:00Z"))
        );
        let s = Schedule::parse("*/15 9-16 * * 1-5", "America/New_York").unwrap();
        assert_eq!(
            s.last_at_or_before(utc("2026-11-24T14:44:59Z")),
            Some(utc("2026-11-24T14:30:00Z"))
        );
    }

    #[test]
    fn a_time_skipped_by_daylight_saving_does_not_fire() {
        let s = Schedule::parse("30 2 * * *", "America/New_York").unwrap();
        // 2027-03-14 02:30 does not exist in New York; the next is the 15th.
        assert_eq!(
            s.next_after(utc("2027-03-13T08:00:00Z")),
            Some(utc("2027-03-15T06:30:00Z"))
        );
    }

    #[test]
    fn bad_schedules_say_which_field() {
        let e = Schedule::parse("61 * * * *", "UTC").unwrap_err();
        assert!(e.to_string().contains("minute"), "{e}");
        assert!(matches!(
            Schedule::parse("* * * *", "UTC"),
            Err(ScheduleError::Fields(_))
        ));
        assert!(matches!(
            Schedule::parse("* * * * *", "Mars/Olympus"),
            Err(ScheduleError::TimeZone(_))
        ));
        assert!(Schedule::parse("*/0 * * * *", "UTC").is_err());
        assert!(Schedule::parse("5-1 * * * *", "UTC").is_err());
    }
}
