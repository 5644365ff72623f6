//! The `task-queue` consumer, polled on a thread of its own so the group's rebalances are
//! served at once even while a task waits minutes for credits.
//!
//! Tasks go to the worker over a one-slot channel; while the worker is busy the thread keeps
//! polling with every partition paused. When partitions are revoked, the thread tells the
//! budget gate, cancels the tasks that came from them (they will be redone by the new owner,
//! never committed here), and waits until their in-flight requests are over before it lets
//! the rebalance go on: the new owner may then spend those partitions' credits safely.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use optionsflow_api::MessageOrigin;
use optionsflow_api::runtime_config::KafkaSettings;
use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::Message;
use rdkafka::statistics::Statistics;
use rdkafka::topic_partition_list::TopicPartitionList;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::budget::{BudgetGate, GateIo};
use crate::bus::kafka::{self, BusError};
use crate::bus::lag::Lag;
use crate::retry::Backoff;

/// How many times a task's commit is tried before it is left to the next owner.
const COMMIT_ATTEMPTS: u32 = 8;

/// A task message handed to the worker.
pub struct Delivery {
    /// Unique per delivery: the same message is delivered again after its partition came back.
    id: u64,
    pub origin: MessageOrigin,
    pub key: String,
    pub payload: Vec<u8>,
    /// Cancelled when the message's partition is revoked: the task must stop, uncommitted.
    pub revoked: CancellationToken,
}

struct Shared<Io> {
    gate: Arc<BudgetGate<Io>>,
    topic: String,
    /// Deliveries handed out or buffered and not yet finished: id, partition, token.
    outstanding: Mutex<Vec<(u64, i32, CancellationToken)>>,
    drain_timeout: Duration,
    lag: Lag,
}

/// The consumer's rebalance callbacks.
pub struct GroupContext<Io>(Arc<Shared<Io>>);

impl<Io> GroupContext<Io> {
    fn partitions(&self, list: &TopicPartitionList) -> Vec<u32> {
        list.elements()
            .iter()
            .filter(|e| e.topic() == self.0.topic)
            .map(|e| e.partition() as u32)
            .collect()
    }
}

impl<Io: GateIo> ClientContext for GroupContext<Io> {
    fn stats(&self, statistics: Statistics) {
        self.0.lag.from_statistics(&statistics);
    }
}

impl<Io: GateIo> ConsumerContext for GroupContext<Io> {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(list) = rebalance else {
            return;
        };
        let partitions = self.partitions(list);
        tracing::info!(?partitions, "task-queue partitions revoked");
        self.0.gate.revoke(&partitions);
        for (_, partition, token) in self.0.outstanding.lock().expect("lock").iter() {
            if partitions.contains(&(*partition as u32)) {
                token.cancel();
            }
        }
        if !self.0.gate.wait_drained(&partitions, self.0.drain_timeout) {
            tracing::warn!(
                ?partitions,
                "requests still in flight after the drain timeout"
            );
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(list) => {
                let partitions = self.partitions(list);
                tracing::info!(?partitions, "task-queue partitions assigned");
                // librdkafka keeps a partition's pause flag across revocation and
                // reassignment; a partition paused while we were busy would never be
                // fetched again. The poll loop pauses again if it is still busy.
                if let Err(e) = consumer.resume(list) {
                    tracing::warn!(error = %e, "cannot resume assigned partitions");
                }
                self.0.gate.assign(&partitions);
            }
            Rebalance::Error(e) => tracing::warn!(error = %e, "rebalance failed"),
            Rebalance::Revoke(_) => {}
        }
    }
}

type GroupConsumer<Io> = BaseConsumer<GroupContext<Io>>;

pub struct TaskConsumer<Io: GateIo> {
    consumer: Arc<GroupConsumer<Io>>,
    shared: Arc<Shared<Io>>,
    deliveries: mpsc::Receiver<Delivery>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl<Io: GateIo> TaskConsumer<Io> {
    /// Joins `group` on `topic` and starts polling; reports the group's lag to `lag`.
    pub fn start(
        settings: &KafkaSettings,
        group: &str,
        topic: &str,
        gate: Arc<BudgetGate<Io>>,
        drain_timeout: Duration,
        lag: Lag,
    ) -> Result<TaskConsumer<Io>, BusError> {
        let shared = Arc::new(Shared {
            gate,
            topic: topic.to_owned(),
            outstanding: Mutex::new(Vec::new()),
            drain_timeout,
            lag,
        });
        let consumer: Arc<GroupConsumer<Io>> = Arc::new(kafka::group_consumer(
            settings,
            group,
            GroupContext(shared.clone()),
        )?);
        consumer
            .subscribe(&[topic])
            .map_err(|source| BusError::Client {
                what: "subscription",
                source,
            })?;
        let (tx, deliveries) = mpsc::channel(1);
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (consumer, shared, stop) = (consumer.clone(), shared.clone(), stop.clone());
            std::thread::Builder::new()
                .name("task-queue-poll".into())
                .spawn(move || poll_loop(&consumer, &shared, &stop, &tx))
                .expect("the poll thread starts")
        };
        Ok(TaskConsumer {
            consumer,
            shared,
            deliveries,
            stop,
            thread: Some(thread),
        })
    }

    pub async fn next(&mut self) -> Option<Delivery> {
        self.deliveries.recv().await
    }

    /// Commits the offset after `delivery`, trying again a few times (a coordinator moving
    /// after a broker restart refuses a while) while the partition stays here: left
    /// uncommitted, the last task of a round would hold its partition's lag above 0 until the
    /// next round. If it never takes, the partition's next owner redoes the task.
    pub async fn commit(&self, delivery: &Delivery) {
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
        for _ in 0..COMMIT_ATTEMPTS {
            if kafka::commit_next(self.consumer.clone(), &delivery.origin).await
                || delivery.revoked.is_cancelled()
            {
                return;
            }
            tokio::time::sleep(backoff.next_delay()).await;
        }
    }

    /// The worker is done with `delivery` (committed or abandoned).
    pub fn finish(&self, delivery: &Delivery) {
        self.shared
            .outstanding
            .lock()
            .expect("lock")
            .retain(|(id, ..)| *id != delivery.id);
    }

    /// Stops polling and leaves the group.
    pub async fn close(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.deliveries.close();
        let (thread, consumer) = (self.thread.take(), self.consumer.clone());
        // Dropping the last handle closes the consumer, which leaves the group.
        drop(self);
        kafka::leave(thread, consumer).await;
    }
}

fn poll_loop<Io: GateIo>(
    consumer: &GroupConsumer<Io>,
    shared: &Shared<Io>,
    stop: &AtomicBool,
    tx: &mpsc::Sender<Delivery>,
) {
    let mut buffer: VecDeque<Delivery> = VecDeque::new();
    let mut paused = false;
    let mut next_id = 0u64;
    while !stop.load(Ordering::Relaxed) {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => {
                let origin = MessageOrigin {
                    topic: message.topic().to_owned(),
                    partition: message.partition(),
                    offset: message.offset(),
                };
                let revoked = CancellationToken::new();
                next_id += 1;
                shared.outstanding.lock().expect("lock").push((
                    next_id,
                    origin.partition,
                    revoked.clone(),
                ));
                buffer.push_back(Delivery {
                    id: next_id,
                    origin,
                    key: message
                        .key()
                        .map(|k| String::from_utf8_lossy(k).into_owned())
                        .unwrap_or_default(),
                    payload: message.payload().unwrap_or_default().to_vec(),
                    revoked,
                });
            }
            Some(Err(e)) => tracing::warn!(error = %e, "consuming task-queue failed"),
            None => {}
        }
        // Tasks of revoked partitions belong to their new owner now.
        buffer.retain(|d| !d.revoked.is_cancelled());
        shared
            .outstanding
            .lock()
            .expect("lock")
            .retain(|(.., token)| !token.is_cancelled());
        while let Some(delivery) = buffer.pop_front() {
            match tx.try_send(delivery) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(d)) => {
                    buffer.push_front(d);
                    break;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return,
            }
        }
        // Busy: keep polling (for rebalances) but fetch nothing more.
        if let Ok(assignment) = consumer.assignment() {
            if !buffer.is_empty() {
                let _ = consumer.pause(&assignment);
                paused = true;
            } else if paused && assignment.count() > 0 {
                let _ = consumer.resume(&assignment);
                paused = false;
            }
        }
    }
}
