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
    let s = Schedule::parse("0 0 1 * SUN", "UTC").unwrap();
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

/// Schedules a CronJob takes, and ones it refuses, with why.
const TAKEN: &[&str] = &[
    "30 16 * * 1-5",
    "30 16 * * MON-FRI",
    "30 16 ? * mon-Fri",
    "*/15 9-16 * * 1-5",
    "0 9 1 jan-JUN *",
    "0 0 ? ? ?",
    "5/15 * * * *",
    "0-30/10 * * * *",
    "0 0 1,15 * *",
    "00 09 * * 01",
    "*/1 * * * *",
    "*/100 * * * *",
    "0 0 * * sun,SAT",
    "@midnight",
    " @daily ",
    "@annually",
    "  0  0  *  *  *  ",
];
const REFUSED: &[(&str, &str)] = &[
    ("0 0 * * 7", "there is no day 7"),
    ("0 0 * * MON-SUN", "SUN is 0: a range backwards"),
    ("5-1 * * * *", "a range backwards"),
    ("0 0 L * *", "Quartz's L"),
    ("0 0 15W * *", "Quartz's W"),
    ("0 0 * * 5#3", "Quartz's #"),
    ("0 0 * * 5L", "Quartz's L"),
    ("0 0 0 * * *", "six fields (seconds)"),
    ("0 0 * * * 2027", "six fields (years)"),
    ("@every 1h", "an interval"),
    ("@Daily", "macros are lower case"),
    ("@reboot", "no such macro"),
    ("0 0 * JANUARY *", "names are three letters"),
    ("MON * * * *", "names only in month and day-of-week"),
    ("*/0 * * * *", "a zero step"),
    ("1,,2 * * * *", "an empty list item"),
    ("+5 * * * *", "a sign"),
    ("0 24 * * *", "hour 24"),
    ("60 * * * *", "minute 60"),
    ("0 0 32 * *", "day 32"),
    ("0 0 0 * *", "day 0"),
    ("0 0 * 13 *", "month 13"),
    ("0 0 * 0 *", "month 0"),
    ("TZ=UTC 0 0 * * *", "a time zone inside"),
    ("1-2-3 * * * *", "two hyphens"),
    ("*/5/5 * * * *", "two slashes"),
    ("* * * *", "four fields"),
    ("", "nothing"),
];

#[test]
fn the_cronjob_dialect() {
    for s in TAKEN {
        assert!(Schedule::parse(s, "UTC").is_ok(), "{s:?} is taken");
    }
    for (s, why) in REFUSED.iter() {
        assert!(Schedule::parse(s, "UTC").is_err(), "{s:?}: {why}");
    }
    // Names mean their numbers; `?` is `*`.
    let named = Schedule::parse("30 16 ? * MON-FRI", "America/New_York").unwrap();
    assert_eq!(
        named,
        Schedule::parse("30 16 * * 1-5", "America/New_York").unwrap()
    );
    // A step or a list restricts a day field; `*` and `?` do not.
    let either = Schedule::parse("0 0 */2 * SUN", "UTC").unwrap();
    let sundays = Schedule::parse("0 0 ? * SUN", "UTC").unwrap();
    let fires = |s: &Schedule, day: &str| {
        s.next_after(utc(&format!("{day}T00:00:00Z")) - Duration::seconds(1))
            == Some(utc(&format!("{day}T00:00:00Z")))
    };
    // 2026-11-29 is a Sunday (an odd day: both); the 28th neither; the 27th odd.
    assert!(fires(&either, "2026-11-29") && fires(&sundays, "2026-11-29"));
    assert!(!fires(&either, "2026-11-28") && !fires(&sundays, "2026-11-28"));
    assert!(fires(&either, "2026-11-27") && !fires(&sundays, "2026-11-27"));
    // A refusal says which field and what it takes.
    let e = Schedule::parse("0 0 * * 7", "UTC").unwrap_err().to_string();
    assert!(
        e.contains("day-of-week") && e.contains("0-6 or sun-sat"),
        "{e}"
    );
    let e = Schedule::parse("@every 1h", "UTC").unwrap_err().to_string();
    assert!(e.contains("@hourly"), "{e}");
}

/// The CRD's rule, run as a regular expression: it takes what the parser takes, and
/// refuses what the parser refuses but for a range written backwards.
fn rule_takes(schedule: &str) -> bool {
    static RULE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        let rule = cel_rule();
        let quoted = rule
            .strip_prefix("self.matches('")
            .and_then(|r| r.strip_suffix("')"))
            .expect("a matches() rule");
        regex::Regex::new(&quoted.replace(r"\\", r"\")).unwrap()
    });
    RULE.is_match(schedule)
}

fn backwards(schedule: &str) -> bool {
    schedule.split_whitespace().enumerate().any(|(i, part)| {
        FIELDS.get(i).is_some_and(|field| {
            part.split(',').any(|item| {
                let range = item.split('/').next().unwrap_or_default();
                range.split_once('-').is_some_and(|(a, b)| {
                    matches!((field.value(a), field.value(b)), (Some(a), Some(b)) if a > b)
                })
            })
        })
    })
}

#[test]
fn the_crd_rule_takes_what_the_parser_takes() {
    for s in TAKEN {
        assert!(rule_takes(s), "{s:?}");
    }
    for (s, why) in REFUSED {
        if !backwards(s) {
            assert!(!rule_takes(s), "{s:?}: {why}");
        }
    }
    assert!(rule_takes("0 0 * * MON-SUN") && backwards("0 0 * * MON-SUN"));
}

/// A field's text near the dialect: mostly numbers around its bounds, `*`, `?`, names,
/// ranges, steps and lists, now and then a form from elsewhere.
fn field_text(field: &'static Field) -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    use proptest::sample::select;
    let value = prop_oneof![
        8 => (field.low.saturating_sub(1)..=field.high + 1).prop_map(|n| n.to_string()),
        1 => (0..=9u32).prop_map(|n| format!("0{n}")),
        2 => select(&["mon", "FRI", "sun", "Sat", "jan", "DEC", "nov", "xyz"][..]).prop_map(String::from),
        1 => select(&["L", "W", "5#3", "+5", "", "*"][..]).prop_map(String::from),
    ];
    let range = prop_oneof![
        2 => Just("*".to_owned()),
        1 => Just("?".to_owned()),
        4 => value.clone(),
        3 => (value.clone(), value).prop_map(|(a, b)| format!("{a}-{b}")),
    ];
    let item =
        (range, proptest::option::weighted(0.3, 0..=70u32)).prop_map(|(r, step)| match step {
            Some(step) => format!("{r}/{step}"),
            None => r,
        });
    proptest::collection::vec(item, 1..=3).prop_map(|items| items.join(","))
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(10_000))]
    #[test]
    fn the_crd_rule_and_the_parser_agree(
        fields in (
            field_text(&FIELDS[0]),
            field_text(&FIELDS[1]),
            field_text(&FIELDS[2]),
            field_text(&FIELDS[3]),
            field_text(&FIELDS[4]),
        )
    ) {
        let (minute, hour, day, month, weekday) = fields;
        let schedule = format!("{minute} {hour} {day} {month} {weekday}");
        let parsed = Schedule::parse(&schedule, "UTC").is_ok();
        if !backwards(&schedule) {
            proptest::prop_assert_eq!(rule_takes(&schedule), parsed, "{:?}", schedule);
        } else {
            proptest::prop_assert!(!parsed, "{:?}", schedule);
        }
    }
}
