//! Schedules in the dialect Kubernetes CronJobs read (robfig/cron's standard parser: five
//! fields `minute hour day-of-month month day-of-week`, or `@yearly`, `@annually`, `@monthly`,
//! `@weekly`, `@daily`, `@midnight`, `@hourly`), read in a time zone as a CronJob reads its
//! `timeZone`. One parser for everything that reads a schedule: `local` runs each dataset
//! when the cluster would, the operator refuses a schedule a CronJob would refuse
//! (`InvalidSchedule`) and counts a dataset's runs in a day, the API and the freshness gauges
//! find the last run. The CRD's CEL rule ([`cel_rule`]) is made from the same field table.
//!
//! The dialect, as a CronJob has it: numbers, `*`, `?` (the same as `*`), `A-B`, any of them
//! with `/STEP` (`N/STEP` runs from N to the field's end), comma lists; month names (`JAN`)
//! and day names (`SUN`, day 0; there is no day 7) in any case. When both day fields are
//! restricted, a day matching either fires (cron's rule). Not taken: `L`, `W`, `#`, seconds
//! and years (Quartz's, which croner and others read but a CronJob refuses), and `@every`
//! (an interval from when the controller started, which `local` and a cluster cannot share).
//!
//! Why by hand and not croner: croner reads a wider dialect (the Quartz forms, day 7) and fires
//! a time that daylight saving skips at the end of the gap, where the CronJob controller does
//! not fire it at all; the dialect and the daylight-saving rule are the point here, and the
//! evaluation is a few bit sets.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("schedule {0:?} does not have five fields ({fields})", fields = field_names())]
    Fields(String),
    #[error("schedule {schedule:?}: {field} field {value:?} is not valid ({expected})")]
    Field {
        schedule: String,
        field: &'static str,
        value: String,
        expected: String,
    },
    #[error("schedule {0:?}: the only macros are {macros}", macros = macros_in_words())]
    Macro(String),
    #[error("time zone {0:?} is not an IANA zone")]
    TimeZone(String),
}

/// The `@` macros and the five fields they stand for.
const MACROS: [(&str, &str); 7] = [
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
    ("@monthly", "0 0 1 * *"),
    ("@weekly", "0 0 * * 0"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@hourly", "0 * * * *"),
];

/// The macros in words: `@yearly, ... and @hourly`.
fn macros_in_words() -> String {
    let names: Vec<&str> = MACROS.iter().map(|(name, _)| *name).collect();
    let (last, rest) = names.split_last().expect("macros");
    format!("{} and {last}", rest.join(", "))
}

/// The fields in order: `minute hour day-of-month month day-of-week`.
fn field_names() -> String {
    let names: Vec<&str> = FIELDS.iter().map(|f| f.name).collect();
    names.join(" ")
}

/// A field of the dialect: its name, its bounds and the names it takes (the first name is
/// `low`).
struct Field {
    name: &'static str,
    low: u32,
    high: u32,
    names: &'static [&'static str],
}

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        low: 0,
        high: 59,
        names: &[],
    },
    Field {
        name: "hour",
        low: 0,
        high: 23,
        names: &[],
    },
    Field {
        name: "day-of-month",
        low: 1,
        high: 31,
        names: &[],
    },
    Field {
        name: "month",
        low: 1,
        high: 12,
        names: &[
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ],
    },
    Field {
        name: "day-of-week",
        low: 0,
        high: 6,
        names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
    },
];

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

impl Schedule {
    pub fn parse(expression: &str, zone: &str) -> Result<Schedule, ScheduleError> {
        let zone: Tz = zone
            .parse()
            .map_err(|_| ScheduleError::TimeZone(zone.to_owned()))?;
        let trimmed = expression.trim();
        let expanded = if trimmed.starts_with('@') {
            MACROS
                .iter()
                .find(|(name, _)| *name == trimmed)
                .map(|(_, fields)| *fields)
                .ok_or_else(|| ScheduleError::Macro(expression.to_owned()))?
        } else {
            trimmed
        };
        let parts: Vec<&str> = expanded.split_whitespace().collect();
        if parts.len() != FIELDS.len() {
            return Err(ScheduleError::Fields(expression.to_owned()));
        }
        let mut sets = [Set::default(); 5];
        for ((set, part), field) in sets.iter_mut().zip(&parts).zip(&FIELDS) {
            *set = field.parse(part).ok_or_else(|| ScheduleError::Field {
                schedule: expression.to_owned(),
                field: field.name,
                value: (*part).to_owned(),
                expected: field.expected(),
            })?;
        }
        let [minutes, hours, days, months, weekdays] = sets;
        Ok(Schedule {
            minutes: minutes.bits,
            hours: hours.bits,
            days: days.bits,
            months: months.bits,
            weekdays: weekdays.bits,
            either_day: !days.star && !weekdays.star,
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

/// A field's values as a bit set, and whether it was left unrestricted (`*` or `?` with no
/// step), which decides how the two day fields combine.
#[derive(Clone, Copy, Debug, Default)]
struct Set {
    bits: u64,
    star: bool,
}

impl Field {
    /// A comma list of `*`, `?`, `N` or `A-B`, each with an optional `/STEP`.
    fn parse(&self, text: &str) -> Option<Set> {
        let mut set = Set::default();
        for item in text.split(',') {
            let (range, step) = match item.split_once('/') {
                Some((range, step)) => (range, Some(number(step).filter(|s| *s > 0)?)),
                None => (item, None),
            };
            let (from, to) = if range == "*" || range == "?" {
                set.star |= step.unwrap_or(1) == 1;
                (u64::from(self.low), u64::from(self.high))
            } else if let Some((from, to)) = range.split_once('-') {
                (self.value(from)?, self.value(to)?)
            } else {
                let n = self.value(range)?;
                // `N/STEP` runs to the field's end.
                (
                    n,
                    if step.is_some() {
                        u64::from(self.high)
                    } else {
                        n
                    },
                )
            };
            if from < u64::from(self.low) || to > u64::from(self.high) || from > to {
                return None;
            }
            let step = usize::try_from(step.unwrap_or(1)).unwrap_or(usize::MAX);
            set.bits |= (from..=to).step_by(step).fold(0, |bits, n| bits | 1 << n);
        }
        Some(set)
    }

    /// A number or, in the month and day-of-week fields, a name in any case.
    fn value(&self, text: &str) -> Option<u64> {
        match self.names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
            Some(i) => Some(u64::from(self.low) + i as u64),
            None => number(text),
        }
    }

    /// What the field takes, for error messages.
    fn expected(&self) -> String {
        let names = match (self.names.first(), self.names.last()) {
            (Some(first), Some(last)) => format!(" or {first}-{last}"),
            _ => String::new(),
        };
        format!(
            "{}-{}{names}, *, ?, ranges, /steps and comma lists",
            self.low, self.high
        )
    }

    /// A regular expression for one value of the field: a number within the bounds (leading
    /// zeros allowed, as the CronJob's parser allows them) or a name.
    fn value_pattern(&self) -> String {
        // By tens, whole tens together: 0-59 is [0-9]|[1-5][0-9], 1-31 is [1-9]|[1-2][0-9]|3[0-1].
        let (first, last) = (self.low / 10, self.high / 10);
        let units = |t: u32| {
            let from = if t == first { self.low % 10 } else { 0 };
            let to = if t == last { self.high % 10 } else { 9 };
            if from == to {
                from.to_string()
            } else {
                format!("[{from}-{to}]")
            }
        };
        let whole = |t: u32| t > 0 && units(t) == "[0-9]";
        let mut alternatives = Vec::new();
        let mut t = first;
        while t <= last {
            if whole(t) {
                let mut end = t;
                while end < last && whole(end + 1) {
                    end += 1;
                }
                let tens = if end == t {
                    t.to_string()
                } else {
                    format!("[{t}-{end}]")
                };
                alternatives.push(format!("{tens}[0-9]"));
                t = end + 1;
            } else {
                alternatives.push(if t == 0 {
                    units(t)
                } else {
                    format!("{t}{}", units(t))
                });
                t += 1;
            }
        }
        let mut pattern = format!("0*(?:{})", alternatives.join("|"));
        if !self.names.is_empty() {
            pattern = format!("(?:{pattern}|(?i:{}))", self.names.join("|"));
        }
        pattern
    }

    /// A regular expression for the whole field.
    fn pattern(&self) -> String {
        let value = self.value_pattern();
        let item = format!(r"(?:\*|\?|{value}(?:-{value})?)(?:/0*[1-9][0-9]*)?");
        format!("{item}(?:,{item})*")
    }
}

/// Digits only (no sign), as a number.
fn number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The CRD's CEL rule for a `schedule` field, made from the same table as the parser: what it
/// accepts, the parser accepts, except a range written backwards (`5-1`), which a regular
/// expression cannot tell and the operator refuses as `InvalidSchedule`.
pub fn cel_rule() -> String {
    let macros: Vec<&str> = MACROS.iter().map(|(m, _)| &m[1..]).collect();
    let fields: Vec<String> = FIELDS.iter().map(Field::pattern).collect();
    let regex = format!(
        r"^\s*(?:@(?:{})|{})\s*$",
        macros.join("|"),
        fields.join(r"\s+")
    );
    format!("self.matches('{}')", regex.replace('\\', r"\\"))
}

/// The message that goes with [`cel_rule`].
pub fn cel_message() -> String {
    format!(
        "must be a CronJob schedule: five fields ({}) of numbers, *, ?, ranges, /steps and lists, month and day names, or one of {}",
        field_names(),
        macros_in_words()
    )
}

#[cfg(test)]
mod tests;
