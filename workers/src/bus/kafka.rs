//! The Kafka adapter: client configuration from the runtime config, publishing with broker
//! acknowledgement, topic metadata and creation.

use std::sync::Arc;
use std::time::Duration;

use optionsflow_api::MessageOrigin;

use optionsflow_api::runtime_config::KafkaSettings;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{Client, ClientContext, DefaultClientContext};
use rdkafka::config::FromClientConfigAndContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use rdkafka::{Offset, TopicPartitionList};

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error(
        "kafka property {property} should come from environment variable {variable}, which is not set"
    )]
    MissingSecret { property: String, variable: String },
    #[error("cannot create the kafka {what}: {source}")]
    Client {
        what: &'static str,
        #[source]
        source: KafkaError,
    },
    #[error("publishing to {topic} failed: {source}")]
    Publish {
        topic: String,
        #[source]
        source: KafkaError,
    },
    #[error("cannot read metadata of topic {topic}: {source}")]
    Metadata {
        topic: String,
        #[source]
        source: KafkaError,
    },
    #[error(
        "topic {topic} does not exist (the operator, or `optionsflow-worker topics`, creates it)"
    )]
    TopicMissing { topic: String },
    #[error("cannot create topic {topic}: {message}")]
    CreateTopic { topic: String, message: String },
    #[error(
        "the Kafka producer failed for good ({reason}); it cannot publish again, so the role stops and its restart makes a new one"
    )]
    ProducerFailed { reason: String },
}

impl BusError {
    /// The broker (or the client, which knows its limit) will never take this message: it is
    /// larger than `message.max.bytes`.
    pub fn is_too_large(&self) -> bool {
        matches!(
            self,
            BusError::Publish {
                source: KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge),
                ..
            }
        )
    }

    /// The producer can never publish again (librdkafka raised a fatal error, as an
    /// idempotent producer does when the broker breaks its sequence guarantees).
    pub fn is_fatal(&self) -> bool {
        matches!(self, BusError::ProducerFailed { .. })
    }
}

/// The Kafka cluster of a runtime config, as a [`super::Bus`].
#[derive(Clone)]
pub struct KafkaBus {
    pub settings: KafkaSettings,
    /// Where the groups' consumer lag goes.
    pub metrics: crate::runtime::metrics::Metrics,
}

impl super::Bus for KafkaBus {
    type Publisher = FutureProducer;

    fn publisher(&self) -> Result<FutureProducer, BusError> {
        producer(&self.settings)
    }

    async fn consume<O: crate::engine::Operator>(
        &self,
        group: &str,
        topics: std::collections::HashMap<String, optionsflow_api::Dataset>,
        operator: Arc<O>,
        running: &crate::engine::Running,
    ) -> Result<(), BusError> {
        let consumer = super::partitions::PartitionConsumer::start(
            &self.settings,
            group,
            topics,
            running.grace,
            super::lag::Lag::new(&self.metrics.consumer_lag, group),
        )?;
        consumer.run(operator, running).await;
        Ok(())
    }
}

/// How long a message may wait for the broker's acknowledgement before the send fails (and
/// the caller retries it).
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

/// Client settings shared by producers and consumers: bootstrap servers, extra properties,
/// and properties whose values are secrets taken from the environment.
pub fn client_config(settings: &KafkaSettings) -> Result<ClientConfig, BusError> {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &settings.bootstrap_servers);
    for (key, value) in &settings.properties {
        config.set(key, value);
    }
    for (property, variable) in &settings.properties_from_env {
        let value = std::env::var(variable).map_err(|_| BusError::MissingSecret {
            property: property.clone(),
            variable: variable.clone(),
        })?;
        config.set(property, value);
    }
    Ok(config)
}

/// A producer that waits for all in-sync replicas and is idempotent: the broker drops the
/// copies its own retries would write (a lost acknowledgement, a broker restart), so a
/// message sent once is stored once and in order.
pub fn producer(settings: &KafkaSettings) -> Result<FutureProducer, BusError> {
    client_config(settings)?
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        .set(
            "message.timeout.ms",
            DELIVERY_TIMEOUT.as_millis().to_string(),
        )
        .create()
        .map_err(|source| BusError::Client {
            what: "producer",
            source,
        })
}

/// A consumer in `group` that commits offsets itself, only after its work is done.
pub fn group_consumer<C, T>(
    settings: &KafkaSettings,
    group: &str,
    context: C,
) -> Result<T, BusError>
where
    C: ConsumerContext + 'static,
    T: FromClientConfigAndContext<C>,
{
    client_config(settings)?
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set(
            "session.timeout.ms",
            settings.session_timeout_ms.to_string(),
        )
        .set(
            "heartbeat.interval.ms",
            (settings.session_timeout_ms / 4).max(100).to_string(),
        )
        .set("max.poll.interval.ms", "300000")
        // The consumer lag metric comes from librdkafka's statistics.
        .set(
            "statistics.interval.ms",
            super::lag::STATISTICS_INTERVAL.as_millis().to_string(),
        )
        // Incremental rebalances: nobody stops for a rebalance, and a member's join states
        // the partitions it owns (see docs/budgets.md on tansu).
        .set("partition.assignment.strategy", "cooperative-sticky")
        // How soon new partitions and topics are noticed; a pipeline may set it lower.
        .set(
            "topic.metadata.refresh.interval.ms",
            settings
                .properties
                .get("topic.metadata.refresh.interval.ms")
                .map_or("30000", String::as_str),
        )
        .create_with_context(context)
        .map_err(|source| BusError::Client {
            what: "consumer",
            source,
        })
}

/// A consumer outside any group, for reading chosen partitions at chosen offsets.
pub fn reader(settings: &KafkaSettings, name: &str) -> Result<BaseConsumer, BusError> {
    client_config(settings)?
        .set("group.id", name)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .create()
        .map_err(|source| BusError::Client {
            what: "reader",
            source,
        })
}

/// Leaves `consumer`'s group once its poll `thread` (told to stop already) has ended: the
/// last handle is dropped off the async threads, since closing blocks while the group
/// rebalances.
pub async fn leave<C>(thread: Option<std::thread::JoinHandle<()>>, consumer: Arc<BaseConsumer<C>>)
where
    C: ConsumerContext + 'static,
{
    if let Some(thread) = thread {
        let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    }
    let _ = tokio::task::spawn_blocking(move || {
        consumer.unsubscribe();
        drop(consumer);
    })
    .await;
}

/// Commits the offset after `origin` for `consumer`'s group, synchronously, off the async
/// threads. A failure (the partition was just revoked, or the coordinator is moving) is
/// logged and returned as false: the partition worker tries again while it keeps the
/// partition, and otherwise its next owner handles the message again.
pub async fn commit_next<C>(consumer: Arc<BaseConsumer<C>>, origin: &MessageOrigin) -> bool
where
    C: ConsumerContext + 'static,
{
    let origin = origin.clone();
    let result = tokio::task::spawn_blocking(move || {
        let mut list = TopicPartitionList::new();
        list.add_partition_offset(
            &origin.topic,
            origin.partition,
            Offset::Offset(origin.offset + 1),
        )?;
        consumer.commit(&list, CommitMode::Sync)
    })
    .await
    .expect("commit does not panic");
    match result {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "commit failed; the message may be handled again");
            false
        }
    }
}

/// Publishes one message and waits until the broker has it. Returns (partition, offset).
pub async fn publish(
    producer: &FutureProducer,
    topic: &str,
    partition: Option<i32>,
    key: &str,
    value: &[u8],
) -> Result<(i32, i64), BusError> {
    let mut record = FutureRecord::to(topic).key(key).payload(value);
    if let Some(p) = partition {
        record = record.partition(p);
    }
    match producer
        .send(record, Timeout::After(DELIVERY_TIMEOUT))
        .await
    {
        Ok(delivery) => Ok((delivery.partition, delivery.offset)),
        Err((source, _)) => match producer.client().fatal_error() {
            Some((code, reason)) => Err(BusError::ProducerFailed {
                reason: format!("{code}: {reason}"),
            }),
            None => Err(BusError::Publish {
                topic: topic.to_owned(),
                source,
            }),
        },
    }
}

/// How many partitions `topic` has. Blocking: call it from `spawn_blocking` in async code.
pub fn partition_count<C: ClientContext>(client: &Client<C>, topic: &str) -> Result<u32, BusError> {
    let metadata = client
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .map_err(|source| BusError::Metadata {
            topic: topic.to_owned(),
            source,
        })?;
    let found = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .filter(|t| t.error().is_none() && !t.partitions().is_empty());
    match found {
        Some(t) => Ok(t.partitions().len() as u32),
        None => Err(BusError::TopicMissing {
            topic: topic.to_owned(),
        }),
    }
}

/// Creates the topics that do not exist yet; existing ones are left as they are.
pub async fn create_topics(
    settings: &KafkaSettings,
    names: &[String],
    partitions: u32,
    replication: i32,
) -> Result<(), BusError> {
    let admin: AdminClient<DefaultClientContext> =
        client_config(settings)?
            .create()
            .map_err(|source| BusError::Client {
                what: "admin client",
                source,
            })?;
    let topics: Vec<NewTopic> = names
        .iter()
        .map(|n| NewTopic::new(n, partitions as i32, TopicReplication::Fixed(replication)))
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin
        .create_topics(&topics, &options)
        .await
        .map_err(|source| BusError::Client {
            what: "topics",
            source,
        })?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(BusError::CreateTopic {
                    topic,
                    message: code.to_string(),
                });
            }
        }
    }
    Ok(())
}
