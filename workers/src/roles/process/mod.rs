//! `optionsflow-worker process`: consumes the four raw topics in the processors' consumer
//! group with one worker per assigned partition ([`crate::bus::partitions`]), turns each message into
//! clean records ([`crate::stages::process`]), publishes them and any dead letters
//! ([`outbox`]), and commits the message's offset only once the broker acknowledged all of
//! it. While the broker refuses, the worker retries with backoff and commits nothing, so a
//! crash or a revocation means the message is processed again, never lost.

pub mod outbox;

use std::collections::HashMap;
use std::sync::Arc;

use optionsflow_api::Role;
use optionsflow_api::runtime_config::RuntimeConfig;
use optionsflow_api::{Dataset, MessageOrigin, TopicKind};

use crate::bus::kafka::BusError;
use crate::bus::outbox::Outbox;
use crate::bus::partitions::{Delivery, dataset_topics};
use crate::bus::{Bus, Publisher};
use crate::engine::{Operator, Running, Stop};
use crate::runtime::metrics::{self, Metrics};
use crate::stages::process::{self as stage, Processed, Records};

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("stopped: {0}")]
    Halted(String),
}

/// Turns raw messages into published records; shared by every partition's worker.
pub struct Handler<P> {
    pub config: RuntimeConfig,
    pub outbox: Outbox<P>,
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
    /// `stop` comes.
    pub async fn handle(&self, delivery: &Delivery, stop: Stop<'_>) -> Outcome {
        let (topics, pipeline) = (&self.outbox.topics, &self.outbox.pipeline);
        let dataset = delivery.dataset;
        let (outgoing, processed) = match stage::process(
            &delivery.payload,
            dataset,
            delivery.origin.clone(),
            &self.config.processing,
        ) {
            Ok(p) => (outbox::processed(topics, pipeline, &p), Some(p)),
            Err(e) => {
                tracing::warn!(origin = ?delivery.origin, reason = %e.reason(), error = %e, "unusable raw message");
                let letter =
                    outbox::unusable(topics, pipeline, &delivery.origin, &delivery.payload, &e);
                (vec![letter], None)
            }
        };
        if !self.outbox.publish_all(&outgoing, Some(stop)).await {
            return Outcome::Abandoned;
        }
        self.count(dataset, processed.as_ref());
        Outcome::Done
    }

    /// Metrics for a message whose output is on the broker.
    fn count(&self, dataset: Dataset, processed: Option<&Processed>) {
        let m = &self.outbox.metrics.processing;
        let d = dataset.as_str();
        let Some(p) = processed else {
            m.messages.with_label_values(&[d, "dead_letter"]).inc();
            return;
        };
        m.messages.with_label_values(&[d, "processed"]).inc();
        if let Some(newest) = p.records.newest() {
            metrics::newest(&m.newest, &[d, &p.symbol], newest);
        }
        m.records
            .with_label_values(&[d])
            .inc_by(p.records.len() as u64);
        for (reason, rows) in p.dropped_by_reason() {
            m.dropped
                .with_label_values(&[d, reason.as_str()])
                .inc_by(rows.len() as u64);
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

/// The processor on `bus` (Kafka on Kubernetes, the in-process bus in `local`): the
/// processors' group on the raw topics, until `running` stops or the producer fails for
/// good ([`ProcessError::Halted`]).
pub async fn run<B: Bus>(
    bus: &B,
    config: RuntimeConfig,
    metrics: Metrics,
    running: &Running,
) -> Result<(), ProcessError> {
    let topics = config.topics();
    let group = topics.consumer_group(Role::Processor);
    let raw = dataset_topics(&topics, TopicKind::raw);
    let handler = Arc::new(Handler {
        outbox: Outbox {
            publisher: bus.publisher()?,
            role: Role::Processor,
            pipeline: config.pipeline.id(),
            topics,
            metrics,
        },
        config,
    });
    tracing::info!("processor started");
    bus.consume(&group, raw, handler, running).await?;
    match running.halt.reason() {
        Some(reason) => Err(ProcessError::Halted(reason)),
        None => Ok(()),
    }
}

/// The processor in the engine: each message is its own flush, committed once everything
/// it made is on the broker.
impl<P: Publisher> Operator for Handler<P> {
    type Held = Option<Delivery>;

    async fn take(&self, held: &mut Option<Delivery>, delivery: Delivery, _: Stop<'_>) -> bool {
        *held = Some(delivery);
        true
    }

    fn due(&self, held: &Option<Delivery>) -> bool {
        held.is_some()
    }

    fn deadline(&self, _: &Option<Delivery>) -> Option<std::time::Instant> {
        None
    }

    async fn flush(&self, held: &Option<Delivery>, stop: Stop<'_>) -> bool {
        match held {
            Some(delivery) => self.handle(delivery, stop).await == Outcome::Done,
            None => true,
        }
    }

    fn last<'h>(&self, held: &'h Option<Delivery>) -> Option<&'h MessageOrigin> {
        held.as_ref().map(|d| &d.origin)
    }
}

#[cfg(test)]
mod tests;
