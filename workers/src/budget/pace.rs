//! Pacing one account's requests: the generic cell rate algorithm (GCRA, a token bucket
//! kept as one instant), and slowing down after a rate limit. Pure, with time passed in.
//!
//! The window budget says how many requests a window may hold; pacing says how they are
//! spread: at most `burst` back to back, then one every `interval`. A 429 doubles the
//! interval (up to [`MAX_SLOWDOWN`] doublings); every [`RECOVER_AFTER`] answers without one
//! halve it again. Written here rather than with the `governor` crate because the gate's
//! state is a pure function of the time it is given, its interval changes with the
//! partitions owned and with slowdowns, and the whole algorithm is the one instant below.

use chrono::{DateTime, Duration, Utc};

/// At most 2^5 = 32 times slower than the budget's pace.
pub const MAX_SLOWDOWN: u32 = 5;
/// Answers without a 429 before the pace speeds up one step again.
pub const RECOVER_AFTER: u32 = 10;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pace {
    /// When the bucket is empty again: every request granted so far, paid back at one per
    /// interval. `None` before the first.
    empty_at: Option<DateTime<Utc>>,
    slowdown: u32,
    successes: u32,
}

impl Pace {
    /// How much longer than the budget's pace requests are now spaced: 2^slowdown.
    pub fn factor(&self) -> i32 {
        1 << self.slowdown
    }

    /// Requests that may go at `now`, at least one, or the instant the next one may.
    pub fn allowance(
        &self,
        interval: Duration,
        burst: u32,
        now: DateTime<Utc>,
    ) -> Result<u32, DateTime<Utc>> {
        let interval_ms = interval.num_milliseconds().max(1);
        let backlog = self
            .empty_at
            .map_or(0, |t| (t - now).num_milliseconds().max(0));
        let room = i64::from(burst.max(1)) * interval_ms - backlog;
        if room >= interval_ms {
            Ok(u32::try_from(room / interval_ms).unwrap_or(u32::MAX))
        } else {
            let empty_at = self.empty_at.unwrap_or(now);
            Err(empty_at - interval * (burst.max(1) as i32 - 1))
        }
    }

    /// `n` requests were granted at `now`.
    pub fn spend(&mut self, n: u32, interval: Duration, now: DateTime<Utc>) {
        let from = self.empty_at.map_or(now, |t| t.max(now));
        self.empty_at = Some(from + interval * n as i32);
    }

    /// A rate limit: space requests twice as far apart from now on.
    pub fn slow_down(&mut self) {
        self.slowdown = (self.slowdown + 1).min(MAX_SLOWDOWN);
        self.successes = 0;
    }

    /// Nothing may go before `until`, and then one request only: the bucket is full until
    /// then.
    pub fn hold_until(&mut self, until: DateTime<Utc>, interval: Duration, burst: u32) {
        let full = until + interval * (burst.max(1) as i32 - 1);
        self.empty_at = Some(self.empty_at.map_or(full, |t| t.max(full)));
    }

    /// An answer without a rate limit.
    pub fn succeeded(&mut self) {
        if self.slowdown == 0 {
            return;
        }
        self.successes += 1;
        if self.successes >= RECOVER_AFTER {
            self.slowdown -= 1;
            self.successes = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(ms: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(1_800_000_000_000 + ms).unwrap()
    }

    #[test]
    fn a_burst_then_one_per_interval() {
        let interval = Duration::seconds(2);
        let mut pace = Pace::default();
        assert_eq!(pace.allowance(interval, 2, at(0)), Ok(2));
        pace.spend(2, interval, at(0));
        // Both spent: the next one when one interval has been paid back.
        assert_eq!(pace.allowance(interval, 2, at(0)), Err(at(2_000)));
        assert_eq!(pace.allowance(interval, 2, at(1_999)), Err(at(2_000)));
        assert_eq!(pace.allowance(interval, 2, at(2_000)), Ok(1));
        pace.spend(1, interval, at(2_000));
        assert_eq!(pace.allowance(interval, 2, at(2_000)), Err(at(4_000)));
        // An idle spell refills the bucket, never beyond the burst.
        assert_eq!(pace.allowance(interval, 2, at(60_000)), Ok(2));
    }

    #[test]
    fn over_a_minute_the_pace_is_the_budget() {
        let interval = Duration::seconds(2);
        let mut pace = Pace::default();
        let mut now = at(0);
        let mut sent = 0;
        while now < at(60_000) {
            match pace.allowance(interval, 2, now) {
                Ok(_) => {
                    pace.spend(1, interval, now);
                    sent += 1;
                }
                Err(next) => now = next,
            }
        }
        // Two at once, then one every 2 s: 2 + 29 in the first 60 s.
        assert_eq!(sent, 31);
    }

    #[test]
    fn a_rate_limit_slows_down_and_successes_recover() {
        let mut pace = Pace::default();
        pace.slow_down();
        pace.slow_down();
        assert_eq!(pace.factor(), 4);
        for _ in 0..RECOVER_AFTER {
            pace.succeeded();
        }
        assert_eq!(pace.factor(), 2);
        for _ in 0..20 {
            pace.slow_down();
        }
        assert_eq!(pace.factor(), 1 << MAX_SLOWDOWN);
    }

    #[test]
    fn after_a_hold_one_request_then_the_pace() {
        let interval = Duration::seconds(2);
        let mut pace = Pace::default();
        pace.hold_until(at(5_000), interval, 3);
        assert_eq!(pace.allowance(interval, 3, at(4_999)), Err(at(5_000)));
        assert_eq!(pace.allowance(interval, 3, at(5_000)), Ok(1));
    }
}
