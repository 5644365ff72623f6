//! The budget gate's bookkeeping, with time passed in: which partitions this process owns,
//! what each has spent this window and today, and which accounts are paused after a 429.
//! Pure, so every rule is unit-tested without a clock or a broker.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

use super::ledger::LedgerRecord;
use super::pace::Pace;
use super::slots::{day_share, window_share};
use super::{AccountSpec, Pool};
use crate::sources::RateScope;

/// Credits handed out: `credits` from `account`, taken from the listed partitions' shares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub account: usize,
    pub credits: u32,
    /// (partition, credits) pairs; they add up to `credits`.
    pub charges: Vec<(u32, u32)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Take {
    Granted(Grant),
    /// Nothing to spend before this instant.
    Wait(DateTime<Utc>),
    /// No partitions owned (or their count unknown): nothing to spend until a rebalance.
    Idle,
}

/// Shortest pause after a 429 that did not say how long to wait.
const MIN_PAUSE: Duration = Duration::seconds(1);
/// A `Retry-After` longer than this is taken as this: a day's pause is already a refusal.
const MAX_RETRY_AFTER: Duration = Duration::days(1);

#[derive(Clone, Copy, Debug)]
struct Usage {
    window: i64,
    window_used: u32,
    day: NaiveDate,
    day_used: u32,
}

#[derive(Clone, Debug)]
struct Owned {
    assigned_at: DateTime<Utc>,
    ledger_loaded: bool,
    /// One per account.
    usage: Vec<Usage>,
}

#[derive(Clone, Debug)]
pub struct GateState {
    accounts: Vec<AccountSpec>,
    blocked_until: Vec<Option<DateTime<Utc>>>,
    pace: Vec<Pace>,
    /// The partition count to use; forgotten at each rebalance until read again.
    partitions: Option<u32>,
    /// The last partition count read, to notice a change.
    known_partitions: Option<u32>,
    owned: BTreeMap<u32, Owned>,
    guard: Duration,
}

impl GateState {
    /// `guard` keeps requests away from window edges, so clocks that differ by less than it
    /// (ours, the provider's, another replica's) never put a request in the wrong window.
    pub fn new(accounts: Vec<AccountSpec>, guard: Duration) -> GateState {
        let n = accounts.len();
        GateState {
            accounts,
            blocked_until: vec![None; n],
            pace: vec![Pace::default(); n],
            partitions: None,
            known_partitions: None,
            owned: BTreeMap::new(),
            guard,
        }
    }

    pub fn accounts(&self) -> &[AccountSpec] {
        &self.accounts
    }

    pub fn partitions(&self) -> Option<u32> {
        self.partitions
    }

    /// The number of `task-queue` partitions, which decides every share. When it changed,
    /// every share of the current window changed with it: all owned partitions wait for the
    /// next window, as if newly assigned.
    pub fn set_partitions(&mut self, count: u32, now: DateTime<Utc>) {
        let count = count.max(1);
        if self.known_partitions.is_some_and(|known| known != count) {
            for owned in self.owned.values_mut() {
                owned.assigned_at = owned.assigned_at.max(now);
            }
        }
        self.known_partitions = Some(count);
        self.partitions = Some(count);
    }

    pub fn owned(&self) -> Vec<u32> {
        self.owned.keys().copied().collect()
    }

    /// The group gave us `partitions`. Their credits become ours from the next window on: the
    /// previous owner may have spent some of this window's already. The partition count is
    /// forgotten, since a rebalance is when it changes.
    pub fn assign(&mut self, partitions: &[u32], now: DateTime<Utc>) {
        let needs_ledger = self.accounts.iter().any(|a| a.budget.per_day.is_some());
        let fresh = Usage {
            window: i64::MIN,
            window_used: 0,
            day: now.date_naive(),
            day_used: 0,
        };
        for &p in partitions {
            self.owned.insert(
                p,
                Owned {
                    assigned_at: now,
                    ledger_loaded: !needs_ledger,
                    usage: vec![fresh; self.accounts.len()],
                },
            );
        }
        self.partitions = None;
    }

    pub fn revoke(&mut self, partitions: &[u32]) {
        for p in partitions {
            self.owned.remove(p);
        }
    }

    /// Owned partitions whose day usage must be read from the ledger before they are used.
    pub fn pending_ledgers(&self) -> Vec<u32> {
        self.owned
            .iter()
            .filter(|(_, o)| !o.ledger_loaded)
            .map(|(p, _)| *p)
            .collect()
    }

    /// Takes over what the ledger says `partition` already spent today.
    pub fn load_ledger(
        &mut self,
        partition: u32,
        record: Option<&LedgerRecord>,
        now: DateTime<Utc>,
    ) {
        let today = now.date_naive();
        let Some(owned) = self.owned.get_mut(&partition) else {
            return;
        };
        for (account, usage) in self.accounts.iter().zip(owned.usage.iter_mut()) {
            usage.day = today;
            usage.day_used = record
                .filter(|r| r.day == today)
                .and_then(|r| r.used.get(&account.id).copied())
                .unwrap_or(0);
        }
        owned.ledger_loaded = true;
    }

    /// What the ledger must say about `partition` after the credits granted so far.
    pub fn ledger_record(&self, partition: u32, writer: &str, now: DateTime<Utc>) -> LedgerRecord {
        let today = now.date_naive();
        let used = self
            .owned
            .get(&partition)
            .map(|o| {
                self.accounts
                    .iter()
                    .zip(&o.usage)
                    .filter(|(a, u)| a.budget.per_day.is_some() && u.day == today)
                    .map(|(a, u)| (a.id.clone(), u.day_used))
                    .collect()
            })
            .unwrap_or_default();
        LedgerRecord {
            partition,
            day: today,
            used,
            writer: writer.to_owned(),
            written_at: now,
        }
    }

    /// Up to `max` credits from one account of `pool`, or when to ask again.
    pub fn try_take(&mut self, pool: Pool, max: u32, now: DateTime<Utc>) -> Take {
        let Some(partitions) = self.partitions else {
            return Take::Idle;
        };
        if self.owned.is_empty() || max == 0 {
            return Take::Idle;
        }
        let mut best: Option<(usize, u32)> = None;
        let mut wake: Option<DateTime<Utc>> = None;
        let mut soonest = |t: DateTime<Utc>| wake = Some(wake.map_or(t, |w| w.min(t)));
        for a in 0..self.accounts.len() {
            let spec = self.accounts[a].clone();
            if spec.pool != pool {
                continue;
            }
            let (window, start, end) = self.window(a, now);
            let guard = self.guard_for(a);
            if let Some(until) = self.blocked_until[a].filter(|t| *t > now) {
                soonest(until);
                continue;
            }
            if now < start + guard {
                soonest(start + guard);
                continue;
            }
            if now >= end - guard {
                soonest(end + guard);
                continue;
            }
            let mut available = 0;
            let owned: Vec<u32> = self.owned.keys().copied().collect();
            for p in owned {
                let o = &self.owned[&p];
                if spec.budget.per_day.is_some() && !o.ledger_loaded {
                    continue;
                }
                if self.window_index(a, o.assigned_at) >= window {
                    soonest(end + guard);
                    continue;
                }
                let (window_left, day_left) = self.left(a, p, partitions, window, now);
                if day_left == 0 {
                    soonest(next_midnight(now) + guard);
                } else if window_left == 0 {
                    soonest(end + guard);
                }
                available = window_left.min(day_left).saturating_add(available);
            }
            if let Some(burst) = spec.budget.burst {
                match self.pace[a].allowance(self.interval(a), burst, now) {
                    Ok(n) => available = available.min(n),
                    Err(next) => {
                        soonest(next);
                        continue;
                    }
                }
            }
            if available > best.map_or(0, |(_, n): (usize, u32)| n) {
                best = Some((a, available));
            }
        }
        let Some((account, available)) = best else {
            return wake.map_or(Take::Idle, Take::Wait);
        };
        Take::Granted(self.charge(account, available.min(max), partitions, now))
    }

    fn charge(
        &mut self,
        account: usize,
        credits: u32,
        partitions: u32,
        now: DateTime<Utc>,
    ) -> Grant {
        let (window, ..) = self.window(account, now);
        let mut remaining = credits;
        let mut charges = Vec::new();
        let owned: Vec<u32> = self.owned.keys().copied().collect();
        for p in owned {
            if remaining == 0 {
                break;
            }
            let o = &self.owned[&p];
            let needs_ledger = self.accounts[account].budget.per_day.is_some();
            if (needs_ledger && !o.ledger_loaded)
                || self.window_index(account, o.assigned_at) >= window
            {
                continue;
            }
            let (window_left, day_left) = self.left(account, p, partitions, window, now);
            let n = window_left.min(day_left).min(remaining);
            if n == 0 {
                continue;
            }
            let usage = &mut self.owned.get_mut(&p).expect("owned").usage[account];
            usage.window_used += n;
            usage.day_used += n;
            remaining -= n;
            charges.push((p, n));
        }
        let credits = credits - remaining;
        if self.accounts[account].budget.burst.is_some() {
            let interval = self.interval(account);
            self.pace[account].spend(credits, interval, now);
        }
        Grant {
            account,
            credits,
            charges,
        }
    }

    /// Credits partition `p` has left in `window` and today, rolling its counters over.
    fn left(
        &mut self,
        a: usize,
        p: u32,
        partitions: u32,
        window: i64,
        now: DateTime<Utc>,
    ) -> (u32, u32) {
        let spec = self.accounts[a].clone();
        let usage = &mut self.owned.get_mut(&p).expect("owned").usage[a];
        if usage.window != window {
            usage.window = window;
            usage.window_used = 0;
        }
        let today = now.date_naive();
        if usage.day != today {
            usage.day = today;
            usage.day_used = 0;
        }
        let window_left =
            window_share(spec.budget.per_window, partitions, spec.rotation, window, p)
                .saturating_sub(usage.window_used);
        let day_left = spec.budget.per_day.map_or(u32::MAX, |d| {
            day_share(d, partitions, spec.rotation, p).saturating_sub(usage.day_used)
        });
        (window_left, day_left)
    }

    /// The provider said 429: stop spending from `account` until the limit it hit resets.
    /// A limit it did not name (Yahoo, Cboe) slows the account's pace down and pauses it
    /// for one new interval, or as long as `Retry-After` said.
    pub fn rate_limited(&mut self, account: usize, scope: RateScope, now: DateTime<Utc>) {
        let guard = self.guard_for(account);
        let until = match scope {
            RateScope::Window => self.window(account, now).2 + guard,
            RateScope::Day => next_midnight(now) + guard,
            RateScope::Unspecified => {
                self.pace[account].slow_down();
                now + self.interval(account).max(MIN_PAUSE)
            }
            RateScope::After(after) => {
                self.pace[account].slow_down();
                let after = Duration::from_std(after).unwrap_or(MAX_RETRY_AFTER);
                now + after.min(MAX_RETRY_AFTER)
            }
        };
        self.blocked_until[account] = Some(until);
        if let Some(burst) = self.accounts[account].budget.burst {
            let interval = self.interval(account);
            self.pace[account].hold_until(until, interval, burst);
        }
    }

    /// A request on `account` went through: after enough of them a slowed pace recovers.
    pub fn succeeded(&mut self, account: usize) {
        self.pace[account].succeeded();
    }

    /// The spacing of `account`'s requests from this process: the window's length over the
    /// credits its owned partitions get on average, times the slowdown after 429s.
    fn interval(&self, account: usize) -> Duration {
        let budget = self.accounts[account].budget;
        let partitions = i64::from(self.partitions.unwrap_or(1).max(1));
        let owned = (self.owned.len() as i64).max(1);
        let per_window = i64::from(budget.per_window.max(1));
        let ms = self.window_seconds(account) * 1000 * partitions / (per_window * owned);
        Duration::milliseconds(ms.max(1) * i64::from(self.pace[account].factor()))
    }

    /// Credits this process may still spend from `account` in the current window and today
    /// (`None` when the account has no day limit).
    pub fn credits_left(&mut self, account: usize, now: DateTime<Utc>) -> (u32, Option<u32>) {
        let Some(partitions) = self.partitions else {
            return (0, None);
        };
        let (window, ..) = self.window(account, now);
        let owned: Vec<u32> = self.owned.keys().copied().collect();
        let (mut w, mut d) = (0u32, 0u32);
        for p in owned {
            let (wl, dl) = self.left(account, p, partitions, window, now);
            w = w.saturating_add(wl.min(dl));
            d = d.saturating_add(dl);
        }
        (w, self.accounts[account].budget.per_day.map(|_| d))
    }

    fn window_seconds(&self, a: usize) -> i64 {
        i64::from(self.accounts[a].budget.window_seconds.max(1))
    }

    fn window_index(&self, a: usize, t: DateTime<Utc>) -> i64 {
        t.timestamp().div_euclid(self.window_seconds(a))
    }

    /// The window `now` falls in: its index, start and end.
    fn window(&self, a: usize, now: DateTime<Utc>) -> (i64, DateTime<Utc>, DateTime<Utc>) {
        let seconds = self.window_seconds(a);
        let index = self.window_index(a, now);
        let start = Utc
            .timestamp_opt(index * seconds, 0)
            .single()
            .expect("in range");
        (index, start, start + Duration::seconds(seconds))
    }

    /// The guard is at most a tenth of the window, so short windows stay usable.
    fn guard_for(&self, a: usize) -> Duration {
        self.guard
            .min(Duration::milliseconds(self.window_seconds(a) * 100))
    }
}

fn next_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    let tomorrow = now.date_naive().succ_opt().expect("in range");
    Utc.from_utc_datetime(&tomorrow.and_hms_opt(0, 0, 0).expect("midnight"))
}

#[cfg(test)]
mod tests;
