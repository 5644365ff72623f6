//! In-process topics for `optionsflow-worker local`: the same messages, keys and offsets as
//! on Kafka, handed between the roles of one process over bounded channels.
//!
//! Each topic has one partition. A message gets the topic's next offset and is delivered,
//! in order, to every consumer group subscribed to the topic; a full queue makes the
//! publisher wait, as a slow Kafka consumer would make its partition lag. Groups commit
//! offsets as on Kafka, which is how `local --once` knows the pipeline has finished: every
//! group has committed every message published to the topics it subscribed to.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use optionsflow_api::{Dataset, MessageOrigin};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::partitions::{Delivery, PartitionQueue};
use super::{BusError, Publisher};

/// Messages waiting in one group's queue before the publisher waits.
const QUEUE_DEPTH: usize = 64;

/// The in-process bus. Cloning gives another handle to the same topics.
#[derive(Clone, Default)]
pub struct LocalBus {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    topics: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Topic>>>>,
    /// (group, topic) → last committed offset.
    committed: Mutex<HashMap<(String, String), i64>>,
    /// Every (group, topic) subscribed to.
    subscriptions: Mutex<Vec<(String, String)>>,
    /// Bumped on every publish and commit, for whoever waits for a group to catch up.
    progress: watch::Sender<u64>,
}

#[derive(Default)]
struct Topic {
    next_offset: i64,
    subscribers: Vec<Subscriber>,
}

enum Subscriber {
    /// A dataset topic's consumer: processor or writer workers.
    Data {
        dataset: Dataset,
        queue: mpsc::Sender<Delivery>,
    },
    /// Anything else (the dead-letter sink).
    Plain(mpsc::Sender<Delivery>),
}

/// Commits a local group's offsets.
#[derive(Clone)]
pub struct LocalCommitter {
    bus: LocalBus,
    group: String,
}

impl LocalCommitter {
    pub fn commit(&self, origin: &MessageOrigin) {
        let key = (self.group.clone(), origin.topic.clone());
        let mut committed = self.bus.shared.committed.lock().expect("lock");
        let entry = committed.entry(key).or_insert(-1);
        *entry = (*entry).max(origin.offset);
        drop(committed);
        self.bus.shared.progress.send_modify(|n| *n += 1);
    }
}

impl LocalBus {
    pub fn new() -> LocalBus {
        LocalBus::default()
    }

    fn topic(&self, name: &str) -> Arc<tokio::sync::Mutex<Topic>> {
        self.shared
            .topics
            .lock()
            .expect("lock")
            .entry(name.to_owned())
            .or_default()
            .clone()
    }

    /// Subscribes `group` to dataset topics (name → dataset): one queue per topic, to be
    /// handed to the same workers that consume Kafka partitions. Subscribe before publishing.
    pub async fn subscribe(
        &self,
        group: &str,
        topics: HashMap<String, Dataset>,
    ) -> (Vec<PartitionQueue>, LocalCommitter) {
        let mut queues = Vec::new();
        for (name, dataset) in topics {
            self.subscribed(group, &name);
            let (queue, messages) = mpsc::channel(QUEUE_DEPTH);
            self.topic(&name)
                .lock()
                .await
                .subscribers
                .push(Subscriber::Data { dataset, queue });
            queues.push(PartitionQueue {
                topic: name,
                partition: 0,
                messages,
                revoked: CancellationToken::new(),
                busy: Arc::new(tokio::sync::Mutex::new(())),
            });
        }
        (queues, self.committer(group))
    }

    /// Subscribes `group` to a topic that carries no dataset (dead-letter); deliveries say
    /// `Dataset::Options` there, which nothing reads.
    pub async fn subscribe_plain(
        &self,
        group: &str,
        topic: &str,
    ) -> (mpsc::Receiver<Delivery>, LocalCommitter) {
        let (queue, messages) = mpsc::channel(QUEUE_DEPTH);
        self.subscribed(group, topic);
        self.topic(topic)
            .lock()
            .await
            .subscribers
            .push(Subscriber::Plain(queue));
        (messages, self.committer(group))
    }

    fn committer(&self, group: &str) -> LocalCommitter {
        LocalCommitter {
            bus: self.clone(),
            group: group.to_owned(),
        }
    }

    /// Messages published to `topic` so far.
    pub async fn published(&self, topic: &str) -> i64 {
        self.topic(topic).lock().await.next_offset
    }

    fn subscribed(&self, group: &str, topic: &str) {
        self.shared
            .subscriptions
            .lock()
            .expect("lock")
            .push((group.to_owned(), topic.to_owned()));
    }

    /// Waits until every group has committed every message published to the topics it
    /// subscribed to, with nothing published or committed while that was checked (so no
    /// stage is still passing something on).
    pub async fn caught_up(&self) {
        let mut progress = self.shared.progress.subscribe();
        loop {
            progress.borrow_and_update();
            let behind = self.behind().await;
            if !behind && !progress.has_changed().unwrap_or(false) {
                return;
            }
            if behind && progress.changed().await.is_err() {
                return;
            }
        }
    }

    /// Some group has not committed everything published to one of its topics.
    async fn behind(&self) -> bool {
        self.lags().await.iter().any(|(_, _, lag)| *lag > 0)
    }

    /// Each subscription's lag: (group, topic, messages published and not committed).
    pub async fn lags(&self) -> Vec<(String, String, i64)> {
        let subscriptions = self.shared.subscriptions.lock().expect("lock").clone();
        let mut lags = Vec::with_capacity(subscriptions.len());
        for (group, topic) in subscriptions {
            let published = self.published(&topic).await;
            let committed = self
                .shared
                .committed
                .lock()
                .expect("lock")
                .get(&(group.clone(), topic.clone()))
                .copied()
                .unwrap_or(-1);
            lags.push((group, topic, published - (committed + 1)));
        }
        lags
    }

    /// Sets `optionsflow_consumer_lag_messages` for every group (each topic has one
    /// partition, 0).
    pub async fn report_lag(&self, gauge: &prometheus::IntGaugeVec) {
        for (group, topic, lag) in self.lags().await {
            gauge.with_label_values(&[&group, &topic, "0"]).set(lag);
        }
    }
}

impl super::Bus for LocalBus {
    type Publisher = LocalBus;

    fn publisher(&self) -> Result<LocalBus, BusError> {
        Ok(self.clone())
    }

    async fn consume<O: crate::engine::Operator>(
        &self,
        group: &str,
        topics: HashMap<String, Dataset>,
        operator: Arc<O>,
        running: &crate::engine::Running,
    ) -> Result<(), BusError> {
        let (queues, committer) = self.subscribe(group, topics).await;
        let (given, arrived) = mpsc::unbounded_channel();
        for queue in queues {
            let _ = given.send(queue);
        }
        drop(given);
        let committer = super::partitions::Committer::Local(committer);
        crate::engine::run_partitions(arrived, committer, operator, running).await;
        Ok(())
    }
}

impl Publisher for LocalBus {
    async fn publish(&self, topic: &str, key: &str, value: Vec<u8>) -> Result<(), BusError> {
        let log = self.topic(topic);
        // Held while delivering, so every group sees the topic's messages in offset order.
        let mut log = log.lock().await;
        let origin = MessageOrigin {
            topic: topic.to_owned(),
            partition: 0,
            offset: log.next_offset,
        };
        log.next_offset += 1;
        for subscriber in &log.subscribers {
            let (queue, dataset) = match subscriber {
                Subscriber::Data { dataset, queue } => (queue, *dataset),
                Subscriber::Plain(queue) => (queue, Dataset::Options),
            };
            let delivery = Delivery {
                origin: origin.clone(),
                dataset,
                key: Some(key.to_owned()),
                payload: value.clone(),
            };
            // A consumer that stopped (shutdown) takes nothing more; the message stays
            // uncommitted for it, as on Kafka.
            let _ = queue.send(delivery).await;
        }
        drop(log);
        self.shared.progress.send_modify(|n| *n += 1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(topic: &str, offset: i64) -> MessageOrigin {
        MessageOrigin {
            topic: topic.into(),
            partition: 0,
            offset,
        }
    }

    #[tokio::test]
    async fn every_group_gets_every_message_in_order_and_catching_up_waits_for_commits() {
        let bus = LocalBus::new();
        let topics = HashMap::from([("raw".to_owned(), Dataset::Daily)]);
        let (mut a, commit_a) = bus.subscribe("a", topics.clone()).await;
        let (mut b, commit_b) = bus.subscribe("b", topics).await;
        for n in 0..3 {
            bus.publish("raw", "SPY", vec![n]).await.unwrap();
        }
        for queues in [&mut a, &mut b] {
            for n in 0..3u8 {
                let d = queues[0].messages.recv().await.unwrap();
                assert_eq!(
                    (d.origin.offset, d.payload, d.dataset),
                    (i64::from(n), vec![n], Dataset::Daily)
                );
                assert_eq!(d.key.as_deref(), Some("SPY"));
            }
        }
        assert_eq!(bus.published("raw").await, 3);

        commit_a.commit(&origin("raw", 2));
        let wait = tokio::spawn({
            let bus = bus.clone();
            async move { bus.caught_up().await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!wait.is_finished(), "group b has committed nothing");
        commit_b.commit(&origin("raw", 1));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!wait.is_finished(), "group b has not committed offset 2");
        commit_b.commit(&origin("raw", 2));
        tokio::time::timeout(std::time::Duration::from_secs(5), wait)
            .await
            .expect("caught up once every group committed the last offset")
            .unwrap();
    }
}
