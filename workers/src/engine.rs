//! The one partition worker every consuming role runs. It owns what their correctness rests
//! on, once: messages in order from the partition's queue, handed to the role's
//! [`Operator`]; a flush when the operator says so or its deadline passes, holding the
//! partition's `busy` lock so a revocation waits for it; the offset committed only after the
//! flush made everything durable; on SIGTERM what is held flushed, then out; on a revocation or
//! at the end of the grace period, out without committing (the next owner redoes it).
//!
//! [`run_partitions`] runs a worker for every partition a role is given, on Kafka or on the
//! in-process bus alike ([`crate::bus::Bus`]), so `local` runs the same roles as Kubernetes.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use optionsflow_api::MessageOrigin;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::bus::partitions::{Committer, Delivery, PartitionQueue};
use crate::retry::Backoff;
use crate::runtime::admin::Readiness;
use crate::runtime::liveness::Liveness;

/// How a consuming role runs and stops, whichever bus it is on.
#[derive(Clone)]
pub struct Running {
    /// Stop taking work: each worker flushes and commits what it holds, then stops. A child
    /// of the role's shutdown token, also cancelled when the role halts.
    pub shutdown: CancellationToken,
    /// How long the workers may take over that before they stop without committing.
    pub grace: Duration,
    /// Set while the role's partitions are being worked (`/readyz`; `local` waits for it
    /// before it publishes anything).
    pub ready: Readiness,
    /// What `/healthz` watches.
    pub liveness: Liveness,
    /// How the role stops itself when going on is pointless.
    pub halt: Halt,
}

impl Running {
    /// A role stopped by `shutdown` or by its own [`Halt`].
    pub fn new(
        shutdown: &CancellationToken,
        grace: Duration,
        ready: Readiness,
        liveness: Liveness,
    ) -> Running {
        let halt = Halt::under(shutdown);
        Running {
            shutdown: halt.token().clone(),
            grace,
            ready,
            liveness,
            halt,
        }
    }
}

/// Runs `operator` on each partition queue that arrives, one worker each, until
/// `running.shutdown`; then waits up to the grace period for the workers to finish what they
/// hold, and stops the rest without committing. Ready while it runs.
pub async fn run_partitions<O: Operator>(
    mut queues: mpsc::UnboundedReceiver<PartitionQueue>,
    committer: Committer,
    operator: Arc<O>,
    running: &Running,
) {
    let hard_stop = CancellationToken::new();
    let mut workers = JoinSet::new();
    let mut more = true;
    running.ready.set(true);
    loop {
        tokio::select! {
            _ = running.shutdown.cancelled() => break,
            queue = queues.recv(), if more => match queue {
                Some(queue) => {
                    // Every line the worker and the role's operator log names its partition.
                    let span = tracing::info_span!(
                        "partition",
                        topic = %queue.topic,
                        partition = queue.partition
                    );
                    workers.spawn(
                        partition_worker(
                            queue,
                            operator.clone(),
                            committer.clone(),
                            running.clone(),
                            hard_stop.clone(),
                        )
                        .instrument(span),
                    );
                }
                // No partition will come any more; those given go on.
                None => more = false,
            },
            Some(_) = workers.join_next(), if !workers.is_empty() => {}
        }
    }
    running.ready.set(false);
    tracing::info!("stopping: finishing the work in hand");
    let finished = tokio::time::timeout(running.grace, async {
        while workers.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        tracing::warn!("work still in hand after the grace period; it will be redone");
        hard_stop.cancel();
        while workers.join_next().await.is_some() {}
    }
}

/// When a worker gives up: its partition was revoked, or the grace period after SIGTERM is
/// over. Operators look at it between attempts; whether an attempt in flight may be dropped
/// is theirs to say (a database transaction may not: dropped half-way it can keep its row
/// locks until its connection is used again, and the partition's next owner would wait).
#[derive(Clone, Copy)]
pub struct Stop<'a> {
    pub revoked: &'a CancellationToken,
    pub hard: &'a CancellationToken,
    /// The role's halt, for what makes going on pointless (a store that refuses the role,
    /// a producer that failed for good).
    pub halt: &'a Halt,
}

impl<'a> Stop<'a> {
    /// Stopped by `token` alone (standing for both revocation and the hard stop).
    #[cfg(test)]
    pub fn on(token: &'a CancellationToken, halt: &'a Halt) -> Stop<'a> {
        Stop {
            revoked: token,
            hard: token,
            halt,
        }
    }

    pub async fn cancelled(&self) {
        tokio::select! {
            _ = self.revoked.cancelled() => {}
            _ = self.hard.cancelled() => {}
        }
    }
}

/// How a role stops itself when going on is pointless (a store refuses its configuration):
/// the first reason is kept and the token, which the role runs under in place of its
/// shutdown token, is cancelled, so its workers stop as on SIGTERM and `run` returns the
/// reason as an error (a non-zero exit, which Kubernetes shows and restarts with back-off).
#[derive(Clone, Default)]
pub struct Halt {
    token: CancellationToken,
    reason: Arc<Mutex<Option<String>>>,
}

impl Halt {
    /// A halt that `shutdown` also triggers (without a reason).
    pub fn under(shutdown: &CancellationToken) -> Halt {
        Halt {
            token: shutdown.child_token(),
            reason: Arc::default(),
        }
    }

    pub fn halt(&self, reason: String) {
        self.reason
            .lock()
            .expect("not poisoned")
            .get_or_insert(reason);
        self.token.cancel();
    }

    pub fn token(&self) -> &CancellationToken {
        &self.token
    }

    /// Why the role halted, if it did.
    pub fn reason(&self) -> Option<String> {
        self.reason.lock().expect("not poisoned").clone()
    }
}

/// What a consuming role does with its partitions' messages.
pub trait Operator: Send + Sync + 'static {
    /// What a partition's worker holds between flushes.
    type Held: Default + Send;

    /// Takes one message into `held`; false if stopped before it could.
    fn take(
        &self,
        held: &mut Self::Held,
        delivery: Delivery,
        stop: Stop<'_>,
    ) -> impl Future<Output = bool> + Send;

    /// `held` should be flushed now.
    fn due(&self, held: &Self::Held) -> bool;

    /// When `held` must be flushed even if not due.
    fn deadline(&self, held: &Self::Held) -> Option<Instant>;

    /// Makes durable everything `held` stands for (stored, published, dead-lettered),
    /// retrying until it is; false if stopped first.
    fn flush(&self, held: &Self::Held, stop: Stop<'_>) -> impl Future<Output = bool> + Send;

    /// The last message `held` took, whose offset a successful flush commits.
    fn last<'h>(&self, held: &'h Self::Held) -> Option<&'h MessageOrigin>;
}

/// Runs `operator` over one partition until it is revoked, the queue ends, or
/// `running.shutdown` (after flushing what it holds) or `hard_stop` (without). Tells
/// `running.liveness` when it makes progress on what it holds, and when it holds nothing.
pub async fn partition_worker<O: Operator>(
    mut queue: PartitionQueue,
    operator: Arc<O>,
    committer: Committer,
    running: Running,
    hard_stop: CancellationToken,
) {
    let Running {
        shutdown,
        liveness,
        halt,
        ..
    } = running;
    let partition = format!("{}/{}", queue.topic, queue.partition);
    let revoked = queue.revoked.clone();
    let stop = Stop {
        revoked: &revoked,
        hard: &hard_stop,
        halt: &halt,
    };
    let mut held = O::Held::default();
    // The first offset `held` took since the last flush, for the batch's span.
    let mut first = None;
    loop {
        let deadline = operator.deadline(&held);
        let flush_now = tokio::select! {
            _ = stop.cancelled() => break,
            _ = shutdown.cancelled() => {
                flush_and_commit(operator.as_ref(), &mut held, first, &queue, &committer, stop).await;
                break;
            }
            d = queue.messages.recv() => match d {
                Some(delivery) => {
                    first = first.or(Some(delivery.origin.offset));
                    if !operator.take(&mut held, delivery, stop).await {
                        break;
                    }
                    liveness.progressed(&partition);
                    operator.due(&held)
                }
                None => break,
            },
            _ = sleep_until(deadline), if deadline.is_some() => true,
        };
        if flush_now {
            if !flush_and_commit(
                operator.as_ref(),
                &mut held,
                first,
                &queue,
                &committer,
                stop,
            )
            .await
            {
                break;
            }
            first = None;
            liveness.idle(&partition);
        }
    }
    liveness.idle(&partition);
    tracing::info!(%partition, "partition worker stopped");
}

/// Flushes, commits the last offset and starts afresh; false if stopped first.
async fn flush_and_commit<O: Operator>(
    operator: &O,
    held: &mut O::Held,
    first: Option<i64>,
    queue: &PartitionQueue,
    committer: &Committer,
    stop: Stop<'_>,
) -> bool {
    let Some(last) = operator.last(held).cloned() else {
        return true;
    };
    // What the flush logs (a store retried, a dead letter) names the batch's offsets.
    let span = tracing::info_span!(
        "batch",
        first_offset = first.unwrap_or(last.offset),
        last_offset = last.offset
    );
    async {
        // A revocation waits (bounded) for `busy`, so a flush under way is finished and
        // committed before the partition's next owner starts.
        let _busy = queue.busy.lock().await;
        if queue.revoked.is_cancelled() || !operator.flush(held, stop).await {
            return false;
        }
        // What `held` stands for is durable: commit until the commit takes (a coordinator
        // that is moving after a broker restart refuses a while), the partition goes, or the
        // worker stops. Left uncommitted while the partition stays here, a quiet partition
        // would never commit it, and its lag would never reach 0.
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
        while !committer.commit(&last).await && !queue.revoked.is_cancelled() {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(backoff.next_delay()) => {}
            }
        }
        *held = O::Held::default();
        true
    }
    .instrument(span)
    .await
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use optionsflow_api::Dataset;
    use tokio::sync::mpsc;

    use super::*;
    use crate::bus::local::LocalBus;

    /// Flushes at once, or (when `hang` is set) never: a store that does not answer.
    #[derive(Default)]
    struct Hangs {
        hang: AtomicBool,
    }

    impl Operator for Hangs {
        type Held = Option<MessageOrigin>;

        async fn take(&self, held: &mut Self::Held, d: Delivery, _: Stop<'_>) -> bool {
            *held = Some(d.origin);
            true
        }

        fn due(&self, held: &Self::Held) -> bool {
            held.is_some()
        }

        fn deadline(&self, _: &Self::Held) -> Option<Instant> {
            None
        }

        async fn flush(&self, _: &Self::Held, stop: Stop<'_>) -> bool {
            if self.hang.load(Ordering::SeqCst) {
                stop.cancelled().await;
                return false;
            }
            true
        }

        fn last<'h>(&self, held: &'h Self::Held) -> Option<&'h MessageOrigin> {
            held.as_ref()
        }
    }

    fn delivery(offset: i64) -> Delivery {
        Delivery {
            origin: MessageOrigin {
                topic: "t".into(),
                partition: 0,
                offset,
            },
            dataset: Dataset::Daily,
            key: None,
            payload: Vec::new(),
        }
    }

    #[tokio::test]
    async fn work_held_without_progress_past_the_limit_is_reported_stalled() {
        let (sender, messages) = mpsc::channel(8);
        let queue = PartitionQueue {
            topic: "t".into(),
            partition: 0,
            messages,
            revoked: CancellationToken::new(),
            busy: Arc::default(),
        };
        let (_, committer) = LocalBus::new().subscribe("g", HashMap::new()).await;
        let operator = Arc::new(Hangs::default());
        let liveness = Liveness::new(Duration::from_millis(50));
        let hard_stop = CancellationToken::new();
        let running = Running::new(
            &CancellationToken::new(),
            Duration::ZERO,
            Readiness::default(),
            liveness.clone(),
        );
        let worker = tokio::spawn(partition_worker(
            queue,
            operator.clone(),
            Committer::Local(committer),
            running,
            hard_stop.clone(),
        ));

        sender.send(delivery(0)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            liveness.stalled().is_empty(),
            "a stored message holds nothing"
        );

        operator.hang.store(true, Ordering::SeqCst);
        sender.send(delivery(1)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let stalled: Vec<String> = liveness.stalled().into_iter().map(|(h, _)| h).collect();
        assert_eq!(stalled, ["t/0"]);

        hard_stop.cancel();
        worker.await.unwrap();
        assert!(
            liveness.stalled().is_empty(),
            "a stopped worker holds nothing"
        );
    }
}
