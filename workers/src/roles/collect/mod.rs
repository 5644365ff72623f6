//! `optionsflow-worker collect`: consumes `task-queue` in the collectors' consumer group
//! ([`consumer`]) and runs each task ([`collector`]). One task at a time: a task's offset is
//! committed only after everything it produced was acknowledged by the broker, so a crash
//! redoes the task and loses nothing. A task whose partition is revoked stops uncommitted.
//! On SIGTERM the current task gets a grace period to finish.

mod bars;
mod chains;
pub mod collector;
pub mod consumer;
mod sample;

use std::sync::Arc;
use std::time::Duration;

use optionsflow_api::Role;
use optionsflow_api::runtime_config::RuntimeConfig;
use optionsflow_api::{Envelope, SchemaId, Task, TopicKind};
use tokio_util::sync::CancellationToken;

use crate::budget::ledger::KafkaLedger;
use crate::budget::{AccountSpec, BudgetGate, GateIo, Pool, key_fingerprint};
use crate::bus::Publisher;
use crate::bus::kafka::{self, BusError};
use crate::bus::lag::Lag;
use crate::runtime::RoleOptions;
use crate::runtime::admin;
use crate::runtime::metrics::Metrics;
use collector::{AccountIndex, Collector, TaskContext};
use consumer::{Delivery, TaskConsumer};

/// Requests stay this far from budget-window edges (docs/budgets.md).
pub const WINDOW_GUARD: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("cannot start the admin server: {0}")]
    Admin(#[source] std::io::Error),
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// The API keys, from the environment variable the config names.
pub fn api_keys(config: &RuntimeConfig) -> Vec<String> {
    let value = std::env::var(&config.sources.twelve_data.api_keys_env).unwrap_or_default();
    optionsflow_api::role::env::items(&value)
        .map(str::to_owned)
        .collect()
}

/// One account per Twelve Data key, then Yahoo and Cboe (always paced).
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
        budget: s.yahoo.budget.paced(),
    });
    accounts.push(AccountSpec {
        pool: Pool::Cboe,
        id: "cboe".into(),
        rotation: 0,
        budget: s.cboe.budget.paced(),
    });
    (accounts, index)
}

pub async fn run(
    config: RuntimeConfig,
    options: RoleOptions,
    shutdown: CancellationToken,
) -> Result<(), CollectError> {
    let metrics = Metrics::new();
    let ready = admin::start(&options, &metrics, &shutdown)
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
    // A revocation waits this long for the partitions' requests to finish.
    let drain = Duration::from_secs(config.sources.retry.timeout_seconds + 5);
    let group = topics.consumer_group(Role::Collector);
    let mut tasks = TaskConsumer::start(
        &config.kafka,
        &group,
        &task_topic,
        gate,
        drain,
        Lag::new(&metrics.consumer_lag, &group),
    )?;
    ready.set(true);
    tracing::info!(topic = %task_topic, "collector started");

    loop {
        let delivery = tokio::select! {
            _ = shutdown.cancelled() => break,
            d = tasks.next() => match d {
                Some(d) => d,
                None => break,
            },
        };
        match work_on(
            &collector,
            &delivery,
            &shutdown,
            options.shutdown_grace,
            &metrics,
        )
        .await
        {
            Outcome::Done => tasks.commit(&delivery).await,
            Outcome::Revoked => {
                tracing::info!(origin = ?delivery.origin, "partition revoked mid-task; its new owner redoes it")
            }
            Outcome::Abandoned => {
                tracing::warn!(origin = ?delivery.origin, "shutting down mid-task; it will be redone")
            }
        }
        tasks.finish(&delivery);
        if shutdown.is_cancelled() {
            break;
        }
    }
    ready.set(false);
    tracing::info!("collector stopping: leaving the consumer group");
    tasks.close().await;
    Ok(())
}

enum Outcome {
    /// Everything the task produced is on the broker: commit.
    Done,
    /// The partition went to another collector; do not commit.
    Revoked,
    /// Shutdown came before the task finished; do not commit.
    Abandoned,
}

async fn work_on<Io: GateIo, P: Publisher>(
    collector: &Collector<Io, P>,
    delivery: &Delivery,
    shutdown: &CancellationToken,
    grace: Duration,
    metrics: &Metrics,
) -> Outcome {
    if delivery.revoked.is_cancelled() {
        return Outcome::Revoked;
    }
    let original = optionsflow_api::DeadLetter::original_from_bytes(&delivery.payload);
    let envelope = match Envelope::parse(&delivery.payload)
        .and_then(|e| e.into_typed::<Task>(SchemaId::TASK))
    {
        Ok(e) => e,
        Err(e) => {
            collector
                .reject(
                    delivery.origin.clone(),
                    original,
                    &delivery.key,
                    e.to_string(),
                )
                .await;
            return Outcome::Done;
        }
    };
    let task = &envelope.payload;
    let ctx = TaskContext {
        task,
        origin: delivery.origin.clone(),
        original,
    };
    let mut work = std::pin::pin!(collector.run(&ctx));
    let finished = tokio::select! {
        report = &mut work => Some(report),
        _ = delivery.revoked.cancelled() => return Outcome::Revoked,
        _ = shutdown.cancelled() => tokio::select! {
            report = tokio::time::timeout(grace, &mut work) => report.ok(),
            _ = delivery.revoked.cancelled() => return Outcome::Revoked,
        },
    };
    match finished {
        // The collector logged it, in the task's span.
        Some(_) => Outcome::Done,
        None => {
            metrics
                .tasks
                .with_label_values(&[task.dataset.as_str(), "abandoned"])
                .inc();
            Outcome::Abandoned
        }
    }
}
