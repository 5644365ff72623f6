//! The budget gate collectors ask before every provider request. It waits until this
//! process's share of a budget has credits, writes the ledger ahead for day-limited
//! accounts, and learns ownership from the consumer group's rebalance callbacks.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Condvar, Mutex};
use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, Utc};
use tokio::sync::Notify;

use super::ledger::LedgerRecord;
use super::state::{GateState, Grant, Take};
use super::{AccountSpec, Pool};
use crate::bus::kafka::BusError;
use crate::runtime::metrics::BudgetMetrics;
use crate::sources::RateScope;

#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error(
        "ledger topic {ledger} has {ledger_partitions} partitions but task-queue has {task_partitions}; it needs at least as many"
    )]
    LedgerTooSmall {
        ledger: String,
        ledger_partitions: u32,
        task_partitions: u32,
    },
    #[error("budget ledger I/O failed: {0}")]
    Io(String),
}

/// What the gate needs from the outside world.
pub trait GateIo: Send + Sync + 'static {
    /// Partitions of `task-queue`.
    fn partition_count(&self) -> impl Future<Output = Result<u32, GateError>> + Send;
    fn read_ledger(
        &self,
        partition: u32,
    ) -> impl Future<Output = Result<Option<LedgerRecord>, GateError>> + Send;
    fn write_ledger(
        &self,
        records: Vec<LedgerRecord>,
    ) -> impl Future<Output = Result<(), GateError>> + Send;
}

/// For a process that is the only collector (`local`): it owns every credit, and day usage
/// starts from zero at each start.
pub struct SoloIo;

impl BudgetGate<SoloIo> {
    /// The gate of the only collector (`local`): it owns the single partition [`SoloIo`]
    /// reports, so every credit is its own from the start.
    pub fn solo(accounts: Vec<AccountSpec>, guard: StdDuration, metrics: BudgetMetrics) -> Self {
        let gate = BudgetGate::new(accounts, guard, SoloIo, "local".into(), metrics);
        gate.assign(&[0]);
        gate
    }
}

impl GateIo for SoloIo {
    async fn partition_count(&self) -> Result<u32, GateError> {
        Ok(1)
    }
    async fn read_ledger(&self, _: u32) -> Result<Option<LedgerRecord>, GateError> {
        Ok(None)
    }
    async fn write_ledger(&self, _: Vec<LedgerRecord>) -> Result<(), GateError> {
        Ok(())
    }
}

/// Pause between attempts to reach the ledger or metadata.
const IO_RETRY: StdDuration = StdDuration::from_secs(1);
/// How often an idle gate looks again even without news.
const IDLE_RECHECK: StdDuration = StdDuration::from_secs(5);

pub struct BudgetGate<Io> {
    state: Mutex<GateState>,
    changed: Notify,
    /// Credits granted and not yet released, per partition: requests that may still reach
    /// the provider. A revocation waits for its partitions' to drain.
    in_flight: Mutex<BTreeMap<u32, u32>>,
    drained: Condvar,
    io: Io,
    writer: String,
    metrics: BudgetMetrics,
}

/// Credits granted; hold it until the request they pay for has finished.
pub struct Permit<'a, Io> {
    pub grant: Grant,
    gate: &'a BudgetGate<Io>,
}

impl<Io> std::ops::Deref for Permit<'_, Io> {
    type Target = Grant;
    fn deref(&self) -> &Grant {
        &self.grant
    }
}

impl<Io> Drop for Permit<'_, Io> {
    fn drop(&mut self) {
        let mut in_flight = self.gate.in_flight.lock().expect("in-flight lock poisoned");
        for (p, n) in &self.grant.charges {
            if let Some(count) = in_flight.get_mut(p) {
                *count = count.saturating_sub(*n);
                if *count == 0 {
                    in_flight.remove(p);
                }
            }
        }
        self.gate.drained.notify_all();
    }
}

impl<Io: GateIo> BudgetGate<Io> {
    pub fn new(
        accounts: Vec<AccountSpec>,
        guard: StdDuration,
        io: Io,
        writer: String,
        metrics: BudgetMetrics,
    ) -> Self {
        let guard = Duration::from_std(guard).expect("guard fits");
        BudgetGate {
            state: Mutex::new(GateState::new(accounts, guard)),
            changed: Notify::new(),
            in_flight: Mutex::new(BTreeMap::new()),
            drained: Condvar::new(),
            io,
            writer,
            metrics,
        }
    }

    pub fn account(&self, index: usize) -> AccountSpec {
        self.lock().accounts()[index].clone()
    }

    /// Partitions the consumer group gave this process.
    pub fn assign(&self, partitions: &[u32]) {
        self.lock().assign(partitions, Utc::now());
        self.changed.notify_waiters();
    }

    /// Partitions taken away; their credits are no longer ours.
    pub fn revoke(&self, partitions: &[u32]) {
        self.lock().revoke(partitions);
        self.changed.notify_waiters();
    }

    /// Blocks (a plain thread, not a task) until no granted credit of `partitions` is still
    /// in flight, or `timeout` passed. False on timeout.
    pub fn wait_drained(&self, partitions: &[u32], timeout: StdDuration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut in_flight = self.in_flight.lock().expect("in-flight lock poisoned");
        while partitions.iter().any(|p| in_flight.contains_key(p)) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            in_flight = self
                .drained
                .wait_timeout(in_flight, left)
                .expect("in-flight lock poisoned")
                .0;
        }
        true
    }

    pub fn owned(&self) -> Vec<u32> {
        self.lock().owned()
    }

    pub fn rate_limited(&self, account: usize, scope: RateScope) {
        let id = self.lock().accounts()[account].id.clone();
        self.metrics.rate_limited(&id, scope);
        self.lock().rate_limited(account, scope, Utc::now());
    }

    pub fn succeeded(&self, account: usize) {
        self.lock().succeeded(account);
    }

    /// Waits for up to `max` credits of one account in `pool` and returns them.
    pub async fn take(&self, pool: Pool, max: u32) -> Permit<'_, Io> {
        loop {
            if !self.prepare().await {
                tokio::time::sleep(IO_RETRY).await;
                continue;
            }
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let now = Utc::now();
            let take = self.lock().try_take(pool, max, now);
            match take {
                Take::Granted(grant) => {
                    {
                        let mut in_flight = self.in_flight.lock().expect("in-flight lock poisoned");
                        for (p, n) in &grant.charges {
                            *in_flight.entry(*p).or_default() += n;
                        }
                    }
                    // Registered before the ledger write, so a revocation waits for it too.
                    let permit = Permit { grant, gate: self };
                    self.record(&permit.grant).await;
                    return permit;
                }
                Take::Wait(until) => {
                    let pause = (until - Utc::now()).to_std().unwrap_or_default();
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = notified => {}
                    }
                }
                Take::Idle => {
                    tokio::select! {
                        _ = tokio::time::sleep(IDLE_RECHECK) => {}
                        _ = notified => {}
                    }
                }
            }
        }
    }

    /// Learns the partition count and reads the ledger of newly owned partitions.
    /// False when the broker could not be reached.
    async fn prepare(&self) -> bool {
        if self.lock().partitions().is_none() {
            match self.io.partition_count().await {
                Ok(n) => self.lock().set_partitions(n, Utc::now()),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot learn the task-queue partition count");
                    return false;
                }
            }
        }
        let pending = self.lock().pending_ledgers();
        for partition in pending {
            match self.io.read_ledger(partition).await {
                Ok(record) => {
                    tracing::info!(partition, ?record, "took over a partition's budget");
                    self.lock()
                        .load_ledger(partition, record.as_ref(), Utc::now());
                }
                Err(e) => {
                    tracing::warn!(partition, error = %e, "cannot read the budget ledger");
                    return false;
                }
            }
        }
        true
    }

    /// Writes the ledger ahead of spending (retrying until the broker takes it) and
    /// updates the metrics.
    async fn record(&self, grant: &Grant) {
        let (account, has_day_limit) = {
            let state = self.lock();
            let spec = &state.accounts()[grant.account];
            (spec.id.clone(), spec.budget.per_day.is_some())
        };
        if has_day_limit {
            let now = Utc::now();
            let records: Vec<LedgerRecord> = {
                let state = self.lock();
                grant
                    .charges
                    .iter()
                    .map(|(p, _)| state.ledger_record(*p, &self.writer, now))
                    .collect()
            };
            while let Err(e) = self.io.write_ledger(records.clone()).await {
                tracing::warn!(error = %e, "cannot write the budget ledger; retrying before spending");
                tokio::time::sleep(IO_RETRY).await;
            }
        }
        let (window_left, day_left) = self.lock().credits_left(grant.account, Utc::now());
        self.metrics
            .spent(&account, grant.credits, window_left, day_left);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state.lock().expect("budget state lock poisoned")
    }
}
