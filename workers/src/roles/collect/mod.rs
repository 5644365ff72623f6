//! `optionsflow-worker collect`: consumes `task-queue` in the collectors' consumer group and
//! runs each task (see [`work`]). One task at a time: a task's offset is committed only
//! after everything it produced was acknowledged by the broker, so a crash redoes the task
//! and loses nothing. On SIGTERM the current task gets a grace period to finish.

pub mod context;
pub mod work;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use optionsflow_api::runtime_config::RuntimeConfig;
use optionsflow_api::topics::ConsumerRole;
use optionsflow_api::{Envelope, MessageOrigin, SchemaId, Task, TopicKind};
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use crate::budget::ledger::KafkaLedger;
use crate::budget::{AccountSpec, BudgetGate, Pool, key_fingerprint};
use crate::bus::kafka::{self, BusError};
use crate::runtime::admin::{self, Readiness};
use crate::runtime::metrics::Metrics;
use context::GateContext;
use work::{AccountIndex, Collector, TaskContext};

/// Requests stay this far from budget-window edges (docs/budgets.md).
pub const WINDOW_GUARD: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("cannot start the admin server: {0}")]
    Admin(#[source] std::io::Error),
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("cannot subscribe to {topic}: {source}")]
    Subscribe {
        topic: String,
        #[source]
        source: rdkafka::error::KafkaError,
    },
}

pub struct CollectOptions {
    pub admin_addr: SocketAddr,
    /// How long a task may go on after SIGTERM before it is abandoned (and redone elsewhere).
    pub shutdown_grace: Duration,
}

/// The API keys, from the environment variable the config names (comma-separated).
pub fn api_keys(config: &RuntimeConfig) -> Vec<String> {
    std::env::var(&config.sources.twelve_data.api_keys_env)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect()
}

/// One account per Twelve Data key, then Yahoo and Cboe.
pub fn accounts(config: &RuntimeConfig, keys: &[String]) -> (Vec<AccountSpec>, AccountIndex) {
    let s = &config.sources;
    let mut accounts: Vec<AccountSpec> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| AccountSpec {
            pool: Pool::TwelveData,
            id: format!("twelvedata-{}", key_fingerprint(key)),
            rotation: i as u32,
            budget: s.twelve_data.budget,
        })
        .collect();
    let index = AccountIndex {
        yahoo: accounts.len(),
        cboe: accounts.len() + 1,
    };
    accounts.push(AccountSpec {
        pool: Pool::Yahoo,
        id: "yahoo".into(),
        rotation: 0,
        budget: s.yahoo.budget,
    });
    accounts.push(AccountSpec {
        pool: Pool::Cboe,
        id: "cboe".into(),
        rotation: 0,
        budget: s.cboe.budget,
    });
    (accounts, index)
}

pub async fn run(
    config: RuntimeConfig,
    options: CollectOptions,
    shutdown: CancellationToken,
) -> Result<(), CollectError> {
    let metrics = Metrics::new();
    let ready = Readiness::default();
    admin::serve(
        options.admin_addr,
        metrics.clone(),
        ready.clone(),
        shutdown.clone(),
    )
    .await
    .map_err(CollectError::Admin)?;

    let topics = config.topics();
    let task_topic = topics.name(TopicKind::TaskQueue);
    let producer = kafka::producer(&config.kafka)?;
    let keys = api_keys(&config);
    if keys.is_empty() {
        tracing::warn!(
            variable = %config.sources.twelve_data.api_keys_env,
            "no Twelve Data API keys: daily, intraday and historical tasks will go to dead-letter"
        );
    }
    let (specs, index) = accounts(&config, &keys);
    let ledger = KafkaLedger::new(
        &config.kafka,
        producer.clone(),
        topics.name(TopicKind::BudgetLedger),
        task_topic.clone(),
    )?;
    let writer =
        std::env::var("HOSTNAME").unwrap_or_else(|_| format!("collector-{}", std::process::id()));
    let gate = Arc::new(BudgetGate::new(
        specs,
        WINDOW_GUARD,
        ledger,
        writer,
        metrics.budget.clone(),
    ));
    let collector = Collector::new(
        &config,
        keys,
        index,
        gate.clone(),
        producer.clone(),
        metrics.clone(),
    );

    let consumer = kafka::group_consumer(
        &config.kafka,
        &topics.consumer_group(ConsumerRole::Collector),
        GateContext::new(gate.clone(), task_topic.clone()),
    )?;
    consumer
        .subscribe(&[&task_topic])
        .map_err(|source| CollectError::Subscribe {
            topic: task_topic.clone(),
            source,
        })?;
    ready.set(true);
    tracing::info!(topic = %task_topic, "collector started");

    loop {
        let message = tokio::select! {
            _ = shutdown.cancelled() => break,
            m = consumer.recv() => m,
        };
        let message = match message {
            Ok(m) => m.detach(),
            Err(e) => {
                tracing::warn!(error = %e, "consuming task-queue failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let origin = MessageOrigin {
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
        };
        let bytes = message.payload().unwrap_or_default();
        let original = optionsflow_api::DeadLetter::original_from_bytes(bytes);
        let task = Envelope::parse(bytes).and_then(|e| e.into_typed::<Task>(SchemaId::TASK));
        match task {
            Err(e) => {
                let key = message
                    .key()
                    .map(|k| String::from_utf8_lossy(k).into_owned())
                    .unwrap_or_default();
                reject(
                    &collector,
                    &config,
                    origin.clone(),
                    original,
                    &key,
                    e.to_string(),
                )
                .await;
            }
            Ok(envelope) => {
                let ctx = TaskContext {
                    task: &envelope.payload,
                    origin: origin.clone(),
                    original,
                };
                let mut work = std::pin::pin!(collector.run(&ctx));
                let report = tokio::select! {
                    r = &mut work => Some(r),
                    _ = shutdown.cancelled() => {
                        tokio::time::timeout(options.shutdown_grace, &mut work).await.ok()
                    }
                };
                let Some(report) = report else {
                    tracing::warn!(task = %envelope.payload.id, "shutting down mid-task; it will be redone");
                    metrics
                        .tasks
                        .with_label_values(&[envelope.payload.dataset.as_str(), "abandoned"])
                        .inc();
                    break;
                };
                tracing::info!(task = %envelope.payload.id, ?report, "task done");
            }
        }
        commit(&consumer, &origin);
        if shutdown.is_cancelled() {
            break;
        }
    }
    ready.set(false);
    tracing::info!("collector stopping: leaving the consumer group");
    consumer.unsubscribe();
    Ok(())
}

/// A message on `task-queue` that is not a task goes to `dead-letter` as it is.
async fn reject<Io: crate::budget::GateIo, P: crate::bus::Publisher>(
    collector: &Collector<Io, P>,
    config: &RuntimeConfig,
    origin: MessageOrigin,
    original: serde_json::Value,
    key: &str,
    detail: String,
) {
    tracing::warn!(%detail, ?origin, "unreadable task sent to dead-letter");
    let letter = optionsflow_api::DeadLetter {
        stage: "collect".into(),
        reason: "malformed_task".into(),
        detail,
        origin: Some(origin),
        original,
        evidence: None,
    };
    let envelope = Envelope::new(
        SchemaId::DEAD_LETTER,
        config.pipeline.id(),
        key,
        optionsflow_api::Source::Optionsflow,
        chrono::Utc::now(),
        letter,
    );
    collector
        .publish(
            TopicKind::DeadLetter,
            key,
            serde_json::to_vec(&envelope).expect("serializes"),
        )
        .await;
}

/// Commits the offset after `origin`. A failure (say, the partition was just revoked) only
/// means the task will be done again.
fn commit<C: rdkafka::consumer::ConsumerContext>(
    consumer: &rdkafka::consumer::StreamConsumer<C>,
    origin: &MessageOrigin,
) {
    let mut list = TopicPartitionList::new();
    let added = list.add_partition_offset(
        &origin.topic,
        origin.partition,
        Offset::Offset(origin.offset + 1),
    );
    if let Err(e) = added.and_then(|_| consumer.commit(&list, CommitMode::Sync)) {
        tracing::warn!(error = %e, ?origin, "commit failed; the task may be done again");
    }
}
