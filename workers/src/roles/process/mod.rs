//! `optionsflow-worker process`: consumes the four raw topics in the processors' consumer
//! group with one worker per assigned partition ([`crate::bus::partitions`]), turns each message into
//! clean records ([`crate::stages::process`]), publishes them and any dead letters
//! ([`outbox`]), and commits the message's offset only once the broker acknowledged all of
//! it. While the broker refuses, the worker retries with backoff and commits nothing, so a
//! crash or a revocation means the message is processed again, never lost.

pub mod outbox;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use optionsflow_api::Role;
use optionsflow_api::runtime_config::RuntimeConfig;
use optionsflow_api::{Dataset, TopicKind, TopicNames};
use tokio_util::sync::CancellationToken;

use crate::bus::Publisher;
use crate::bus::kafka::{self, BusError};
use crate::bus::partitions::{
    Committer, Delivery, PartitionConsumer, PartitionQueue, dataset_topics,
};
use crate::retry::Backoff;
use crate::runtime::RoleOptions;
use crate::runtime::admin;
use crate::runtime::metrics::Metrics;
use crate::stages::process::{self as stage, Processed, Records};
use outbox::Outgoing;

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("cannot start the admin server: {0}")]
    Admin(#[source] std::io::Error),
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// Turns raw messages into published records; shared by every partition's worker.
pub struct Handler<P> {
    pub config: RuntimeConfig,
    pub topics: TopicNames,
    pub publisher: P,
    pub metrics: Metrics,
}

/// What became of one raw message.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Everything it produced is on the broker: commit.
    Done,
    /// Stopped before everything was acknowledged: do not commit.
    Abandoned,
}

impl<P: Publisher> Handler<P> {
    /// Processes and publishes one message, retrying the broker until it acknowledges or
    /// `stop` is cancelled.
    pub async fn handle(&self, delivery: &Delivery, stop: &CancellationToken) -> Outcome {
        let pipeline = self.config.pipeline.id();
        let dataset = delivery.dataset;
        let (outgoing, processed) = match stage::process(
            &delivery.payload,
            dataset,
            delivery.origin.clone(),
            &self.config.processing,
        ) {
            Ok(p) => (outbox::processed(&self.topics, &pipeline, &p), Some(p)),
            Err(e) => {
                tracing::warn!(origin = ?delivery.origin, reason = e.reason(), error = %e, "unusable raw message");
                let letter = outbox::unusable(
                    &self.topics,
                    &pipeline,
                    &delivery.origin,
                    &delivery.payload,
                    &e,
                );
                self.metrics
                    .dead_letters
                    .with_label_values(&[outbox::STAGE, e.reason()])
                    .inc();
                (vec![letter], None)
            }
        };
        if !self.publish_all(&outgoing, stop).await {
            return Outcome::Abandoned;
        }
        self.count(dataset, processed.as_ref());
        Outcome::Done
    }

    /// Publishes every message, each retried with backoff until acknowledged; false if
    /// `stop` came first.
    async fn publish_all(&self, outgoing: &[Outgoing], stop: &CancellationToken) -> bool {
        let sends = outgoing.iter().map(|m| async move {
            let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(30));
            loop {
                match self.publisher.publish(&m.topic, &m.key, m.value.clone()).await {
                    Ok(()) => {
                        self.metrics.published.with_label_values(&[&m.topic]).inc();
                        return true;
                    }
                    Err(e) => {
                        let wait = backoff.next_delay();
                        tracing::warn!(topic = %m.topic, error = %e, ?wait, "publish failed; retrying");
                        tokio::select! {
                            _ = tokio::time::sleep(wait) => {}
                            _ = stop.cancelled() => return false,
                        }
                    }
                }
            }
        });
        join_all(sends).await.into_iter().all(|ok| ok)
    }

    /// Metrics for a message whose output is on the broker.
    fn count(&self, dataset: Dataset, processed: Option<&Processed>) {
        let m = &self.metrics.processing;
        let d = dataset.as_str();
        let Some(p) = processed else {
            m.messages.with_label_values(&[d, "dead_letter"]).inc();
            return;
        };
        m.messages.with_label_values(&[d, "processed"]).inc();
        m.records
            .with_label_values(&[d])
            .inc_by(p.records.len() as u64);
        for (reason, rows) in p.dropped_by_reason() {
            m.dropped
                .with_label_values(&[d, reason.as_str()])
                .inc_by(rows.len() as u64);
            if reason != optionsflow_api::records::DropReason::Duplicate {
                self.metrics
                    .dead_letters
                    .with_label_values(&[outbox::STAGE, reason.as_str()])
                    .inc();
            }
        }
        if p.gaps_left_open > 0 {
            m.gaps_left_open
                .with_label_values(&[d])
                .inc_by(p.gaps_left_open as u64);
        }
        let mut flags: HashMap<&'static str, u64> = HashMap::new();
        match &p.records {
            Records::Bars(b) => {
                for f in b.records.iter().flat_map(|r| &r.flags) {
                    *flags.entry(f.as_str()).or_default() += 1;
                }
            }
            Records::Quotes(b) => {
                let mut statuses: HashMap<&'static str, u64> = HashMap::new();
                for r in &b.records {
                    *statuses.entry(r.iv_status.as_str()).or_default() += 1;
                    for f in &r.flags {
                        *flags.entry(f.as_str()).or_default() += 1;
                    }
                }
                for (status, n) in statuses {
                    m.implied_vols.with_label_values(&[status]).inc_by(n);
                }
            }
        }
        for (flag, n) in flags {
            m.flagged.with_label_values(&[d, flag]).inc_by(n);
        }
    }
}

pub async fn run(
    config: RuntimeConfig,
    options: RoleOptions,
    shutdown: CancellationToken,
) -> Result<(), ProcessError> {
    let metrics = Metrics::new();
    let ready = admin::start(&options, &metrics, &shutdown)
        .await
        .map_err(ProcessError::Admin)?;
    let topics = config.topics();
    let producer = kafka::producer(&config.kafka)?;
    let consumer = PartitionConsumer::start(
        &config.kafka,
        &topics.consumer_group(Role::Processor),
        dataset_topics(&topics, TopicKind::raw),
        options.shutdown_grace,
    )?;
    let handler = Arc::new(Handler {
        config,
        topics,
        publisher: producer,
        metrics,
    });
    tracing::info!("processor started");
    consumer
        .run_workers(
            options.shutdown_grace,
            shutdown.clone(),
            &ready,
            |queue, committer, hard_stop| {
                work(
                    queue,
                    handler.clone(),
                    committer,
                    shutdown.clone(),
                    hard_stop,
                )
            },
        )
        .await;
    Ok(())
}

/// One partition's worker: its messages in order, each committed once published.
pub(crate) async fn work<P: Publisher>(
    mut queue: PartitionQueue,
    handler: Arc<Handler<P>>,
    committer: Committer,
    shutdown: CancellationToken,
    hard_stop: CancellationToken,
) {
    let stop = CancellationToken::new();
    let partition = format!("{}/{}", queue.topic, queue.partition);
    loop {
        let delivery = tokio::select! {
            _ = queue.revoked.cancelled() => break,
            _ = shutdown.cancelled() => break,
            d = queue.messages.recv() => match d {
                Some(d) => d,
                None => break,
            },
        };
        let _busy = queue.busy.lock().await;
        if queue.revoked.is_cancelled() {
            break;
        }
        let handled = tokio::select! {
            outcome = handler.handle(&delivery, &stop) => outcome,
            _ = queue.revoked.cancelled() => Outcome::Abandoned,
            _ = hard_stop.cancelled() => Outcome::Abandoned,
        };
        match handled {
            Outcome::Done => {
                committer.commit(&delivery.origin).await;
            }
            Outcome::Abandoned => break,
        }
    }
    tracing::info!(%partition, "partition worker stopped");
}

#[cfg(test)]
mod tests;
