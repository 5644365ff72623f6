//! A consumer group member with one queue per assigned partition, used by the processor and
//! the writers: one poll thread for the group, one queue and one worker per assigned
//! partition, so each partition's messages are handled in order and each worker commits its
//! own partition's offsets.
//!
//! The poll thread hands messages to their partition's queue; a full queue pauses only that
//! partition. Assigned partitions (including partitions of topics created after the start,
//! which librdkafka finds on its metadata refresh) get a new worker at once; revoked ones
//! have their worker cancelled, and the revocation waits (bounded) for the message in
//! flight to be published and committed, so the new owner does not redo it.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use optionsflow_api::runtime_config::KafkaSettings;
use optionsflow_api::{Dataset, MessageOrigin};
use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::Message;
use rdkafka::statistics::Statistics;
use rdkafka::topic_partition_list::TopicPartitionList;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::bus::kafka::{self, BusError};
use crate::bus::lag::Lag;
use crate::engine::{self, Operator, Running};

/// Messages waiting per partition before the partition is paused.
const QUEUE_DEPTH: usize = 16;

/// The topics of every dataset of one kind (raw or processed), by name: what a
/// [`PartitionConsumer`] subscribes to.
pub fn dataset_topics(
    topics: &optionsflow_api::TopicNames,
    kind: fn(Dataset) -> optionsflow_api::TopicKind,
) -> HashMap<String, Dataset> {
    Dataset::ALL
        .into_iter()
        .map(|d| (topics.name(kind(d)), d))
        .collect()
}

/// One message for a partition's worker.
#[derive(Debug)]
pub struct Delivery {
    pub origin: MessageOrigin,
    pub dataset: Dataset,
    /// The message key (the symbol), if it has one.
    pub key: Option<String>,
    pub payload: Vec<u8>,
}

/// A partition's queue, handed to the worker that will own it.
pub struct PartitionQueue {
    pub topic: String,
    pub partition: i32,
    pub messages: mpsc::Receiver<Delivery>,
    /// Cancelled when the partition is revoked: stop without committing.
    pub revoked: CancellationToken,
    /// Held by the worker while a message is in flight.
    pub busy: Arc<tokio::sync::Mutex<()>>,
}

struct PartitionEntry {
    sender: mpsc::Sender<Delivery>,
    revoked: CancellationToken,
    busy: Arc<tokio::sync::Mutex<()>>,
    /// Messages read while the queue was full, in order.
    pending: VecDeque<Delivery>,
    paused: bool,
}

type Key = (String, i32);

struct Shared {
    /// Topic name → the dataset it carries.
    topics: HashMap<String, Dataset>,
    partitions: Mutex<HashMap<Key, PartitionEntry>>,
    new_queues: mpsc::UnboundedSender<PartitionQueue>,
    drain_timeout: Duration,
    lag: Lag,
}

impl Shared {
    /// The partition's entry, starting a worker for it if it has none.
    fn entry<'a>(
        &self,
        partitions: &'a mut HashMap<Key, PartitionEntry>,
        topic: &str,
        partition: i32,
    ) -> &'a mut PartitionEntry {
        partitions
            .entry((topic.to_owned(), partition))
            .or_insert_with(|| {
                let (sender, messages) = mpsc::channel(QUEUE_DEPTH);
                let revoked = CancellationToken::new();
                let busy = Arc::new(tokio::sync::Mutex::new(()));
                let _ = self.new_queues.send(PartitionQueue {
                    topic: topic.to_owned(),
                    partition,
                    messages,
                    revoked: revoked.clone(),
                    busy: busy.clone(),
                });
                tracing::info!(%topic, partition, "partition assigned: worker started");
                PartitionEntry {
                    sender,
                    revoked,
                    busy,
                    pending: VecDeque::new(),
                    paused: false,
                }
            })
    }
}

pub struct GroupContext(Arc<Shared>);

impl ClientContext for GroupContext {
    fn stats(&self, statistics: Statistics) {
        self.0.lag.from_statistics(&statistics);
    }
}

impl ConsumerContext for GroupContext {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(list) = rebalance else {
            return;
        };
        let revoked: Vec<PartitionEntry> = {
            let mut partitions = self.0.partitions.lock().expect("lock");
            list.elements()
                .iter()
                .filter_map(|e| partitions.remove(&(e.topic().to_owned(), e.partition())))
                .collect()
        };
        for entry in &revoked {
            entry.revoked.cancel();
        }
        let deadline = Instant::now() + self.0.drain_timeout;
        for entry in revoked {
            // The worker holds `busy` while a message is in flight; it stops at the next one.
            while entry.busy.try_lock().is_err() {
                if Instant::now() > deadline {
                    tracing::warn!("a revoked partition's message is still in flight");
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        tracing::info!(count = list.count(), "partitions revoked");
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(list) => {
                // librdkafka keeps a partition's pause flag across reassignment.
                if let Err(e) = consumer.resume(list) {
                    tracing::warn!(error = %e, "cannot resume assigned partitions");
                }
                let mut partitions = self.0.partitions.lock().expect("lock");
                for e in list.elements() {
                    if self.0.topics.contains_key(e.topic()) {
                        self.0.entry(&mut partitions, e.topic(), e.partition());
                    }
                }
            }
            Rebalance::Error(e) => tracing::warn!(error = %e, "rebalance failed"),
            Rebalance::Revoke(_) => {}
        }
    }
}

type GroupConsumer = BaseConsumer<GroupContext>;

/// The consumer group member; [`PartitionConsumer::run`] works its partitions.
pub struct PartitionConsumer {
    consumer: Arc<GroupConsumer>,
    queues: mpsc::UnboundedReceiver<PartitionQueue>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Commits a partition's offsets: to the Kafka group, or to the in-process bus in `local`.
/// Cheap to clone into workers.
#[derive(Clone)]
pub enum Committer {
    Kafka(Arc<GroupConsumer>),
    Local(super::local::LocalCommitter),
}

impl PartitionConsumer {
    /// Joins `group` on `topics` (topic name → dataset) and starts polling; reports the
    /// group's lag to `lag`.
    pub fn start(
        settings: &KafkaSettings,
        group: &str,
        topics: HashMap<String, Dataset>,
        drain_timeout: Duration,
        lag: Lag,
    ) -> Result<PartitionConsumer, BusError> {
        let (new_queues, queues) = mpsc::unbounded_channel();
        let names: Vec<String> = topics.keys().cloned().collect();
        let shared = Arc::new(Shared {
            topics,
            partitions: Mutex::new(HashMap::new()),
            new_queues,
            drain_timeout,
            lag,
        });
        let consumer: Arc<GroupConsumer> = Arc::new(kafka::group_consumer(
            settings,
            group,
            GroupContext(shared.clone()),
        )?);
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        consumer
            .subscribe(&refs)
            .map_err(|source| BusError::Client {
                what: "subscription",
                source,
            })?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (consumer, stop) = (consumer.clone(), stop.clone());
            std::thread::Builder::new()
                .name("partition-poll".into())
                .spawn(move || poll_loop(&consumer, &shared, &stop))
                .expect("the poll thread starts")
        };
        Ok(PartitionConsumer {
            consumer,
            queues,
            stop,
            thread: Some(thread),
        })
    }

    pub fn committer(&self) -> Committer {
        Committer::Kafka(self.consumer.clone())
    }

    /// Runs `operator` on every partition assigned ([`engine::run_partitions`]) until
    /// `running.shutdown` and the grace period are over, then leaves the group.
    pub async fn run<O: Operator>(mut self, operator: Arc<O>, running: &Running) {
        let committer = self.committer();
        let queues = std::mem::replace(&mut self.queues, mpsc::unbounded_channel().1);
        engine::run_partitions(queues, committer, operator, running).await;
        self.close().await;
    }

    /// Stops polling and leaves the group (revoking, and so stopping, every worker).
    pub async fn close(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let (thread, consumer) = (self.thread.take(), self.consumer.clone());
        // Only the consumer's last handle closes it.
        drop(self);
        kafka::leave(thread, consumer).await;
    }
}

impl Committer {
    /// Commits the offset after `origin`; false if that failed, and the message will then be
    /// processed again by its partition's next owner.
    pub async fn commit(&self, origin: &MessageOrigin) -> bool {
        match self {
            Committer::Kafka(consumer) => kafka::commit_next(consumer.clone(), origin).await,
            Committer::Local(local) => {
                local.commit(origin);
                true
            }
        }
    }
}

fn poll_loop(consumer: &GroupConsumer, shared: &Shared, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => {
                let topic = message.topic();
                let Some(dataset) = shared.topics.get(topic).copied() else {
                    continue;
                };
                let delivery = Delivery {
                    origin: MessageOrigin {
                        topic: topic.to_owned(),
                        partition: message.partition(),
                        offset: message.offset(),
                    },
                    dataset,
                    key: message
                        .key()
                        .map(|k| String::from_utf8_lossy(k).into_owned()),
                    payload: message.payload().unwrap_or_default().to_vec(),
                };
                let mut partitions = shared.partitions.lock().expect("lock");
                let entry = shared.entry(&mut partitions, topic, message.partition());
                entry.pending.push_back(delivery);
            }
            Some(Err(e)) => tracing::warn!(error = %e, "consuming failed"),
            None => {}
        }
        hand_over(consumer, shared);
    }
}

/// Moves pending messages into their partitions' queues; pauses the partitions whose queue
/// is full and resumes those that drained.
fn hand_over(consumer: &GroupConsumer, shared: &Shared) {
    let mut pause = TopicPartitionList::new();
    let mut resume = TopicPartitionList::new();
    let mut partitions = shared.partitions.lock().expect("lock");
    for ((topic, partition), entry) in partitions.iter_mut() {
        while let Some(delivery) = entry.pending.pop_front() {
            match entry.sender.try_send(delivery) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(d)) => {
                    entry.pending.push_front(d);
                    break;
                }
                // The worker is gone (shutting down): nothing will be committed.
                Err(mpsc::error::TrySendError::Closed(_)) => entry.pending.clear(),
            }
        }
        if !entry.pending.is_empty() && !entry.paused {
            let _ = pause.add_partition(topic, *partition);
            entry.paused = true;
        } else if entry.pending.is_empty() && entry.paused {
            let _ = resume.add_partition(topic, *partition);
            entry.paused = false;
        }
    }
    drop(partitions);
    if pause.count() > 0 {
        let _ = consumer.pause(&pause);
    }
    if resume.count() > 0 {
        let _ = consumer.resume(&resume);
    }
}
