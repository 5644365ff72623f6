//! What the writers share: `write-db` ([`db`]), `write-files` ([`files`]) and
//! `write-influx` ([`influx`]) consume the processed topics in their own consumer groups with
//! one worker per assigned partition, gather each partition's messages into a batch, store
//! the batch through a [`Destination`], and commit the partition's offset only once the batch
//! is stored.
//!
//! A batch is stored when it is full or its first message has waited long enough. While the
//! store is unavailable, the worker retries with backoff and reads nothing more from its
//! partition (its queue fills and the partition is paused), so nothing is committed that is
//! not stored. A message that cannot be read goes to `dead-letter` with its reason; rows a
//! store rejects go there too, and the partition moves on. A store that refuses the writer
//! itself (credentials, a missing bucket or database) stops the role with that reason rather
//! than retrying what cannot succeed.

pub mod db;
pub mod dead_letters;
pub mod files;
pub mod freshness;
pub mod influx;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use optionsflow_api::Role;
use optionsflow_api::runtime_config::RuntimeConfig;
use optionsflow_api::{Dataset, DeadLetter, MessageOrigin, Reason, TopicKind};

use crate::bus::kafka::BusError;
use crate::bus::outbox::{Outbox, Outgoing};
use crate::bus::partitions::{Delivery, dataset_topics};
use crate::bus::{Bus, Publisher};
use crate::engine::{Operator, Running, Stop};
use crate::retry::Backoff;
use crate::runtime::metrics::Metrics;
use crate::sinks::WriteError;
use crate::stages::write::{Incoming, decode};
use freshness::Freshness;

/// Where a writer stores its batches.
pub trait Destination: Send + Sync + 'static {
    /// A batch being gathered.
    type Pending: Default + Send + Sync + 'static;

    /// The store's name, for logs and metrics.
    fn store(&self) -> &'static str;

    /// The datasets whose processed topics it consumes.
    fn datasets(&self) -> &'static [Dataset] {
        &Dataset::ALL
    }

    /// Adds one message to the batch.
    fn add(&self, pending: &mut Self::Pending, origin: &MessageOrigin, message: Incoming);

    /// The batch should be stored now.
    fn is_full(&self, pending: &Self::Pending) -> bool;

    /// How long a batch's first message may wait.
    fn max_wait(&self) -> Duration;

    /// Where a batch that starts at `first` must end: a store that names what it wrote by
    /// offsets (files) finds there what a previous owner of the partition stored but did not
    /// commit, so the batch is cut at the same place and replaces it. `day` is the first
    /// message's day.
    fn boundary(
        &self,
        _first: &MessageOrigin,
        _dataset: Dataset,
        _day: NaiveDate,
    ) -> impl Future<Output = Result<Option<i64>, WriteError>> + Send {
        async { Ok(None) }
    }

    /// Stores the batch. Messages (or parts of them) the store refused are returned, to be
    /// dead-lettered; an `Err` means nothing may be committed and the batch is tried again.
    fn flush(
        &self,
        pending: &Self::Pending,
        span: &Span,
    ) -> impl Future<Output = Result<Vec<Refused>, WriteError>> + Send;
}

/// The offsets a batch covers, on one partition of one processed topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub topic: String,
    pub partition: i32,
    pub dataset: Dataset,
    pub first: i64,
    pub last: i64,
}

/// Something a store refused, for `dead-letter`.
#[derive(Clone, Debug)]
pub struct Refused {
    pub origin: Option<MessageOrigin>,
    pub symbol: String,
    pub reason: Reason,
    pub detail: String,
    pub original: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("stopped: {0}")]
    Halted(String),
}

/// A writer's shared parts, used by every partition's worker.
pub struct Writer<D, P> {
    pub destination: D,
    /// Its dead letters' way out; its role is their `stage`.
    pub outbox: Outbox<P>,
    /// What was stored, for the freshness and behind-schedule metrics.
    pub freshness: Freshness,
}

impl<D: Destination, P> Writer<D, P> {
    /// The processed topics it consumes, with their datasets.
    pub fn subscribed(&self) -> std::collections::HashMap<String, Dataset> {
        let mut topics = dataset_topics(&self.outbox.topics, TopicKind::processed);
        topics.retain(|_, d| self.destination.datasets().contains(d));
        topics
    }
}

/// A partition's batch being gathered.
pub struct Batch<T> {
    pending: T,
    first: Option<MessageOrigin>,
    last: Option<MessageOrigin>,
    /// When the first message arrived.
    started: Option<Instant>,
    /// The offset the batch must end at, if a previous owner cut it there.
    boundary: Option<i64>,
    boundary_checked: bool,
    messages: usize,
    dead_letters: Vec<Refused>,
    /// Each message's dataset, symbol and newest record time, noted once the batch is stored.
    newest: Vec<(Dataset, String, DateTime<Utc>)>,
}

impl<T: Default> Default for Batch<T> {
    fn default() -> Batch<T> {
        Batch {
            pending: T::default(),
            first: None,
            last: None,
            started: None,
            boundary: None,
            boundary_checked: false,
            messages: 0,
            dead_letters: Vec::new(),
            newest: Vec::new(),
        }
    }
}

impl<D: Destination, P: Publisher> Writer<D, P> {
    /// Adds a delivered message to the batch (or its dead letter, if it cannot be read).
    async fn push(
        &self,
        batch: &mut Batch<D::Pending>,
        delivery: Delivery,
        stop: Stop<'_>,
    ) -> bool {
        if batch.first.is_none() {
            batch.first = Some(delivery.origin.clone());
            batch.started = Some(Instant::now());
        }
        batch.last = Some(delivery.origin.clone());
        batch.messages += 1;
        match decode(&delivery.payload, delivery.dataset) {
            Ok(message) => {
                // Looked up at the first message with rows: a previous owner's files are in
                // the day folders of messages with rows.
                if !batch.boundary_checked && !message.records.is_empty() {
                    let first = batch.first.clone().expect("set above");
                    let Some(boundary) = self
                        .retry(stop, || {
                            self.destination
                                .boundary(&first, delivery.dataset, message.day())
                        })
                        .await
                    else {
                        return false;
                    };
                    batch.boundary = boundary;
                    batch.boundary_checked = true;
                    if let Some(end) = boundary {
                        tracing::info!(topic = %first.topic, partition = first.partition, from = first.offset, to = end,
                            "a previous owner stored this range without committing it: storing it again as one batch");
                    }
                }
                if let Some(time) = message.records.newest() {
                    batch
                        .newest
                        .push((delivery.dataset, message.symbol.clone(), time));
                }
                self.destination
                    .add(&mut batch.pending, &delivery.origin, message);
            }
            Err(e) => {
                tracing::warn!(origin = ?delivery.origin, reason = %e.reason(), error = %e, "unreadable processed message");
                batch.dead_letters.push(Refused {
                    origin: Some(delivery.origin.clone()),
                    symbol: delivery
                        .key
                        .clone()
                        .unwrap_or_else(|| symbol_of(&delivery.payload)),
                    reason: e.reason(),
                    detail: e.to_string(),
                    original: DeadLetter::original_from_bytes(&delivery.payload),
                });
            }
        }
        true
    }

    /// Stores the batch and its dead letters, retrying until done or `stop`; true if done.
    async fn store(&self, batch: &Batch<D::Pending>, stop: Stop<'_>) -> bool {
        let (Some(first), Some(last)) = (&batch.first, &batch.last) else {
            return true;
        };
        let span = Span {
            topic: first.topic.clone(),
            partition: first.partition,
            dataset: self
                .outbox
                .topics
                .kind_of(&first.topic)
                .and_then(TopicKind::dataset)
                .unwrap_or(Dataset::Options),
            first: first.offset,
            last: last.offset,
        };
        let started = Instant::now();
        let Some(refused) = self
            .retry(stop, || self.destination.flush(&batch.pending, &span))
            .await
        else {
            return false;
        };
        self.outbox
            .metrics
            .writing
            .flush_seconds
            .with_label_values(&[self.destination.store()])
            .observe(started.elapsed().as_secs_f64());
        let letters: Vec<&Refused> = batch.dead_letters.iter().chain(&refused).collect();
        if !self.publish_dead_letters(&letters, stop).await {
            return false;
        }
        self.outbox
            .metrics
            .writing
            .messages
            .with_label_values(&[span.dataset.as_str()])
            .inc_by(batch.messages as u64);
        for (dataset, symbol, time) in &batch.newest {
            self.freshness.stored(*dataset, symbol, *time);
        }
        true
    }

    /// [`retry`] against this writer's store.
    async fn retry<T, F, Fut>(&self, stop: Stop<'_>, attempt: F) -> Option<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, WriteError>>,
    {
        retry(
            self.destination.store(),
            &self.outbox.metrics,
            stop,
            attempt,
        )
        .await
    }

    async fn publish_dead_letters(&self, letters: &[&Refused], stop: Stop<'_>) -> bool {
        let outgoing: Vec<Outgoing> = letters
            .iter()
            .map(|r| {
                let letter = DeadLetter {
                    stage: self.outbox.role,
                    reason: r.reason,
                    detail: r.detail.clone(),
                    origin: r.origin.clone(),
                    original: r.original.clone(),
                    evidence: None,
                };
                self.outbox
                    .dead_letter(&r.symbol, chrono::Utc::now(), None, letter)
            })
            .collect();
        self.outbox.publish_all(&outgoing, Some(stop)).await
    }
}

/// Calls `attempt` until it succeeds, backing off while `store` is unavailable; `None` if
/// `stop` came first, or if the store refuses the writer (the role is halted then).
pub async fn retry<T, F, Fut>(
    store: &'static str,
    metrics: &Metrics,
    stop: Stop<'_>,
    mut attempt: F,
) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, WriteError>>,
{
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(30));
    loop {
        match attempt().await {
            Ok(value) => return Some(value),
            Err(e) => {
                metrics
                    .writing
                    .failures
                    .with_label_values(&[store, e.kind()])
                    .inc();
                if e.is_misconfiguration() {
                    tracing::error!(error = %e, "the store refuses this writer; stopping the role");
                    stop.halt.halt(e.to_string());
                    return None;
                }
                let wait = backoff.next_delay();
                tracing::warn!(error = %e, ?wait, "storing failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.cancelled() => return None,
                }
            }
        }
    }
}

/// The symbol of a message that could not be read, if it has one (it keys the dead letter).
fn symbol_of(bytes: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| v["symbol"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// How often a writer recomputes how far behind schedule its data is.
const FRESHNESS_INTERVAL: Duration = Duration::from_secs(15);

/// Runs a writer on `bus` until `running` stops, or until its store refuses it
/// ([`WriterError::Halted`]): joins `role`'s group on the processed topics of
/// `destination`'s datasets and stores each partition's batches through it.
pub async fn run<B: Bus, D: Destination>(
    bus: &B,
    config: &RuntimeConfig,
    role: Role,
    destination: D,
    metrics: Metrics,
    running: &Running,
) -> Result<(), WriterError> {
    let freshness = Freshness::new(
        destination.store(),
        config,
        destination.datasets(),
        metrics.clone(),
        Utc::now(),
    );
    let writer = Arc::new(Writer {
        destination,
        outbox: Outbox {
            publisher: bus.publisher()?,
            role,
            pipeline: config.pipeline.id(),
            topics: config.topics(),
            metrics,
        },
        freshness,
    });
    let group = writer.outbox.topics.consumer_group(role);
    let topics = writer.subscribed();
    tracing::info!(store = writer.destination.store(), "writer started");
    let reporting = {
        let writer = writer.clone();
        let stop = running.shutdown.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(FRESHNESS_INTERVAL);
            loop {
                tokio::select! {
                    _ = tick.tick() => writer.freshness.report(Utc::now()),
                    _ = stop.cancelled() => return,
                }
            }
        })
    };
    let consumed = bus.consume(&group, topics, writer, running).await;
    reporting.abort();
    consumed?;
    match running.halt.reason() {
        Some(reason) => Err(WriterError::Halted(reason)),
        None => Ok(()),
    }
}

/// A writer in the engine: messages gathered into a batch, stored when full or due.
impl<D: Destination, P: Publisher> Operator for Writer<D, P> {
    type Held = Batch<D::Pending>;

    async fn take(&self, held: &mut Batch<D::Pending>, delivery: Delivery, stop: Stop<'_>) -> bool {
        self.push(held, delivery, stop).await
    }

    /// Full, or (after a previous owner's cut) at its boundary.
    fn due(&self, held: &Batch<D::Pending>) -> bool {
        match (held.boundary, &held.last) {
            (Some(end), Some(last)) => last.offset >= end,
            _ => self.destination.is_full(&held.pending),
        }
    }

    /// When the batch must be stored even if not full (never while it must reach a boundary).
    fn deadline(&self, held: &Batch<D::Pending>) -> Option<Instant> {
        if held.boundary.is_some() {
            return None;
        }
        held.started.map(|s| s + self.destination.max_wait())
    }

    async fn flush(&self, held: &Batch<D::Pending>, stop: Stop<'_>) -> bool {
        self.store(held, stop).await
    }

    fn last<'h>(&self, held: &'h Batch<D::Pending>) -> Option<&'h MessageOrigin> {
        held.last.as_ref()
    }
}

#[cfg(test)]
mod tests;
