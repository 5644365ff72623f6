//! What the predictor knows of one symbol: its daily bars, each session's 15-minute bars and
//! the at-the-money implied volatility of each expiry in the session's newest chain. Merged
//! by key (a day, a bar's time, an expiry), so a record seen twice (a replay, a row the
//! database already holds) changes nothing. Pure.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use optionsflow_api::records::{BarInterval, OptionQuoteRecord, OptionRight};

use super::Series;
use super::realized::{self, Ohlc};
use crate::market::{atm, calendar};
use crate::stages::process::Records;

/// A session's at-the-money implied volatility by expiry, from its newest chain snapshot.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Atm {
    pub snapshot_time: Option<DateTime<Utc>>,
    pub by_expiry: BTreeMap<NaiveDate, f64>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    daily: BTreeMap<NaiveDate, Ohlc>,
    intraday: BTreeMap<NaiveDate, BTreeMap<DateTime<Utc>, Ohlc>>,
    atm: BTreeMap<NaiveDate, Atm>,
}

impl History {
    pub fn add_daily(&mut self, day: NaiveDate, bar: Ohlc) {
        self.daily.insert(day, bar);
    }

    pub fn add_intraday(&mut self, day: NaiveDate, time: DateTime<Utc>, bar: Ohlc) {
        self.intraday.entry(day).or_default().insert(time, bar);
    }

    /// Adds one chain snapshot taken on `day`: kept if it is the session's newest.
    pub fn add_chain(&mut self, day: NaiveDate, quotes: &[&OptionQuoteRecord]) {
        let Some(time) = quotes.iter().map(|q| q.snapshot_time).max() else {
            return;
        };
        let atm = self.atm.entry(day).or_default();
        if atm.snapshot_time.is_some_and(|t| t > time) {
            return;
        }
        if atm.snapshot_time != Some(time) {
            *atm = Atm {
                snapshot_time: Some(time),
                by_expiry: BTreeMap::new(),
            };
        }
        let newest: Vec<&OptionQuoteRecord> = quotes
            .iter()
            .copied()
            .filter(|q| q.snapshot_time == time)
            .collect();
        atm.by_expiry.extend(at_the_money(&newest));
    }

    /// Adds a processed message's records; returns the sessions they belong to.
    pub fn add_records(&mut self, records: &Records) -> BTreeSet<NaiveDate> {
        match records {
            Records::Bars(batch) => batch
                .records
                .iter()
                .map(|b| {
                    let bar = Ohlc {
                        open: b.open,
                        high: b.high,
                        low: b.low,
                        close: b.close,
                    };
                    match b.interval {
                        BarInterval::Day => self.add_daily(b.trade_date, bar),
                        BarInterval::FifteenMinutes => {
                            self.add_intraday(b.trade_date, b.bar_time, bar)
                        }
                    }
                    b.trade_date
                })
                .collect(),
            Records::Quotes(batch) => {
                let mut days = BTreeSet::new();
                let mut by_day: BTreeMap<NaiveDate, Vec<&OptionQuoteRecord>> = BTreeMap::new();
                for q in &batch.records {
                    let day = calendar::session_shown_at(q.snapshot_time);
                    by_day.entry(day).or_default().push(q);
                    days.insert(day);
                }
                for (day, quotes) in by_day {
                    self.add_chain(day, &quotes);
                }
                days
            }
        }
    }

    /// The days with a daily bar, newest last.
    pub fn days(&self) -> impl DoubleEndedIterator<Item = &NaiveDate> {
        self.daily.keys()
    }

    pub fn atm(&self, day: NaiveDate) -> Option<&Atm> {
        self.atm.get(&day).filter(|a| !a.by_expiry.is_empty())
    }

    /// The series the models read: each day with a daily bar, its realized variance from
    /// its 15-minute bars when there are enough, else from its range.
    pub fn series(&self, symbol: &str) -> Series {
        Series::from_days(
            symbol,
            self.daily.iter().map(|(day, bar)| {
                let intraday = self.intraday.get(day).and_then(|bars| {
                    realized::from_intraday(&bars.values().copied().collect::<Vec<_>>())
                });
                (*day, *bar, intraday)
            }),
        )
    }

    /// Forgets everything after `last`.
    pub fn retain_until(&mut self, last: NaiveDate) {
        self.daily.retain(|d, _| *d <= last);
        self.intraday.retain(|d, _| *d <= last);
        self.atm.retain(|d, _| *d <= last);
    }

    /// Forgets everything before the newest `keep` daily bars.
    pub fn trim(&mut self, keep: usize) {
        let Some(first) = self.daily.keys().rev().nth(keep.saturating_sub(1)).copied() else {
            return;
        };
        self.daily = self.daily.split_off(&first);
        self.intraday = self.intraday.split_off(&first);
        self.atm = self.atm.split_off(&first);
    }
}

/// Each expiry's at-the-money implied volatility ([`atm::at_the_money`]'s rule, the API's
/// term structure's too).
pub fn at_the_money(quotes: &[&OptionQuoteRecord]) -> BTreeMap<NaiveDate, f64> {
    // expiry → strike (as bits: positive floats order as their bits do) → the strike's sides
    let mut chains: BTreeMap<NaiveDate, BTreeMap<u64, atm::Strike>> = BTreeMap::new();
    for q in quotes {
        let at = chains
            .entry(q.expiry)
            .or_default()
            .entry(q.strike.to_bits())
            .or_insert(atm::Strike {
                strike: q.strike,
                ..atm::Strike::default()
            });
        at.log_moneyness = at.log_moneyness.or(q.log_moneyness);
        match q.right {
            OptionRight::Call => at.call_iv = q.iv,
            OptionRight::Put => at.put_iv = q.iv,
        }
    }
    chains
        .into_iter()
        .filter_map(|(expiry, strikes)| {
            let (_, iv) = atm::at_the_money(strikes.into_values())?;
            Some((expiry, iv))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(close: f64) -> Ohlc {
        Ohlc {
            open: 100.0,
            high: close.max(100.0) + 1.0,
            low: close.min(100.0) - 1.0,
            close,
        }
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    #[test]
    fn intraday_variance_replaces_the_range_only_with_enough_bars_and_replays_change_nothing() {
        let mut h = History::default();
        h.add_daily(day(2), bar(101.0));
        h.add_daily(day(3), bar(99.0));
        let range_only = h.series("SPY");
        assert_eq!(range_only.days, [day(2), day(3)]);
        assert_eq!(
            range_only.rv[1],
            realized::garman_klass(&bar(99.0)).unwrap()
        );
        let open = day(3).and_hms_opt(14, 30, 0).unwrap().and_utc();
        let add = |h: &mut History, n: i64| {
            for i in 0..n {
                let close = if i % 2 == 0 { 100.5 } else { 100.0 };
                h.add_intraday(day(3), open + chrono::Duration::minutes(15 * i), bar(close));
            }
        };
        add(&mut h, 19);
        assert_eq!(h.series("SPY"), range_only, "19 bars are not enough");
        add(&mut h, 26);
        let with_intraday = h.series("SPY");
        assert_ne!(with_intraday.rv[1], range_only.rv[1]);
        add(&mut h, 26);
        h.add_daily(day(3), bar(99.0));
        assert_eq!(h.series("SPY"), with_intraday);

        h.trim(1);
        assert_eq!(h.days().collect::<Vec<_>>(), [&day(3)]);
        assert_eq!(h.series("SPY").rv, [with_intraday.rv[1]]);
    }

    #[test]
    fn a_session_keeps_its_newest_chains_at_the_money_iv_per_expiry() {
        // Strikes 50 to 51.5 against a spot of 60.45: the nearest the money is 51.5, whose
        // call and put IVs are averaged where both have one.
        let first = optionsflow_testkit::records::quotes("SPY", 0, 64);
        let second = optionsflow_testkit::records::quotes("SPY", 1, 64);
        let mut expected = BTreeMap::new();
        for q in &second {
            let nearest = second
                .iter()
                .filter(|o| o.expiry == q.expiry && o.iv.is_some())
                .map(|o| o.strike)
                .fold(f64::MIN, f64::max);
            if let Some(iv) = q.iv.filter(|_| q.strike == nearest) {
                expected.entry(q.expiry).or_insert_with(Vec::new).push(iv);
            }
        }
        let expected: BTreeMap<NaiveDate, f64> = expected
            .into_iter()
            .map(|(e, ivs)| (e, ivs.iter().sum::<f64>() / ivs.len() as f64))
            .collect();
        assert!(!expected.is_empty());

        let session = day(25);
        let mut h = History::default();
        h.add_chain(session, &second.iter().collect::<Vec<_>>());
        // An older snapshot arriving later changes nothing.
        h.add_chain(session, &first.iter().collect::<Vec<_>>());
        let atm = h.atm(session).unwrap();
        assert_eq!(atm.snapshot_time, Some(second[0].snapshot_time));
        assert_eq!(atm.by_expiry, expected);
        assert_eq!(h.atm(day(26)), None);
    }
}
