//! The one partition worker every consuming role runs. It owns what their correctness rests
//! on, once: messages in order from the partition's queue, handed to the role's
//! [`Operator`]; a flush when the operator says so or its deadline passes, holding the
//! partition's `busy` lock so a revocation waits for it; the offset committed only after the
//! flush made everything durable; on SIGTERM what is held flushed, then out; on a revocation or
//! at the end of the grace period, out without committing (the next owner redoes it).

use std::future::Future;
use std::time::Instant;

use optionsflow_api::MessageOrigin;
use tokio_util::sync::CancellationToken;

use crate::bus::partitions::{Committer, Delivery, PartitionQueue};

/// When a worker gives up: its partition was revoked, or the grace period after SIGTERM is
/// over. Operators look at it between attempts; whether an attempt in flight may be dropped
/// is theirs to say (a database transaction may not: dropped half-way it can keep its row
/// locks until its connection is used again, and the partition's next owner would wait).
#[derive(Clone, Copy)]
pub struct Stop<'a> {
    pub revoked: &'a CancellationToken,
    pub hard: &'a CancellationToken,
}

impl Stop<'_> {
    pub async fn cancelled(&self) {
        tokio::select! {
            _ = self.revoked.cancelled() => {}
            _ = self.hard.cancelled() => {}
        }
    }

    /// Both tokens, for [`crate::bus::outbox::publish_all`].
    pub fn tokens(&self) -> [&CancellationToken; 2] {
        [self.revoked, self.hard]
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

/// Runs `operator` over one partition until it is revoked, the queue ends, or `shutdown`
/// (after flushing what it holds) or `hard_stop` (without).
pub async fn partition_worker<O: Operator>(
    mut queue: PartitionQueue,
    operator: std::sync::Arc<O>,
    committer: Committer,
    shutdown: CancellationToken,
    hard_stop: CancellationToken,
) {
    let partition = format!("{}/{}", queue.topic, queue.partition);
    let revoked = queue.revoked.clone();
    let stop = Stop {
        revoked: &revoked,
        hard: &hard_stop,
    };
    let mut held = O::Held::default();
    loop {
        let deadline = operator.deadline(&held);
        let flush_now = tokio::select! {
            _ = stop.cancelled() => break,
            _ = shutdown.cancelled() => {
                flush_and_commit(operator.as_ref(), &mut held, &queue, &committer, stop).await;
                break;
            }
            d = queue.messages.recv() => match d {
                Some(delivery) => {
                    if !operator.take(&mut held, delivery, stop).await {
                        break;
                    }
                    operator.due(&held)
                }
                None => break,
            },
            _ = sleep_until(deadline), if deadline.is_some() => true,
        };
        if flush_now
            && !flush_and_commit(operator.as_ref(), &mut held, &queue, &committer, stop).await
        {
            break;
        }
    }
    tracing::info!(%partition, "partition worker stopped");
}

/// Flushes, commits the last offset and starts afresh; false if stopped first.
async fn flush_and_commit<O: Operator>(
    operator: &O,
    held: &mut O::Held,
    queue: &PartitionQueue,
    committer: &Committer,
    stop: Stop<'_>,
) -> bool {
    let Some(last) = operator.last(held).cloned() else {
        return true;
    };
    // A revocation waits (bounded) for `busy`, so a flush under way is finished and
    // committed before the partition's next owner starts.
    let _busy = queue.busy.lock().await;
    if queue.revoked.is_cancelled() || !operator.flush(held, stop).await {
        return false;
    }
    committer.commit(&last).await;
    *held = O::Held::default();
    true
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
