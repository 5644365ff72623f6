//! What a collector does with one task: ask the budget gate, call the provider, publish each
//! symbol's raw answer to its dataset's topic, retry what is worth retrying, and send what
//! cannot succeed to `dead-letter` with the reason. This file holds the frame every dataset
//! shares; [`super::bars`] and [`super::chains`] hold the datasets' own steps.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use optionsflow_api::runtime_config::{Datasets, OptionsSource, Processing, RetryPolicy};
use optionsflow_api::{
    Dataset, DeadLetter, Envelope, MessageOrigin, Reason, Role, RuntimeConfig, SchemaId, Source,
    Task, TopicKind,
};
use serde_json::Value;
use tracing::Instrument;

use crate::budget::{BudgetGate, GateIo};
use crate::bus::Publisher;
use crate::bus::outbox::{Outbox, Outgoing};
use crate::retry::Backoff;
use crate::runtime::metrics::Metrics;
use crate::sources::cboe::CboeClient;
use crate::sources::sample::Sample;
use crate::sources::twelvedata::{Interval, Range, TwelveDataClient};
use crate::sources::yahoo::YahooClient;
use crate::sources::{ProviderError, request_timeout};

/// 429s tolerated per request before the work is given up (each one waits for the limit to
/// reset first, so this only trips when someone else is spending our credits).
pub(super) const MAX_RATE_LIMITS: u32 = 10;

/// The task being worked on and where it came from, for dead letters.
pub struct TaskContext<'a> {
    pub task: &'a Task,
    pub origin: MessageOrigin,
    /// The task message as read.
    pub original: Value,
}

/// What became of a task.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskReport {
    pub published: u32,
    pub no_data: u32,
    pub dead_letters: u32,
}

/// The gate's account numbers: Twelve Data keys first, then Yahoo, then Cboe.
#[derive(Clone, Copy, Debug)]
pub struct AccountIndex {
    pub yahoo: usize,
    pub cboe: usize,
}

pub struct Collector<Io, P> {
    /// What it publishes goes out here (as the collector).
    pub(super) outbox: Outbox<P>,
    pub(super) datasets: Datasets,
    /// The processor's rates, which sample chains are priced with.
    pub(super) processing: Processing,
    /// Set when the config asks for sample data instead of the providers.
    pub(super) sample: Option<Sample>,
    pub(super) retry: RetryPolicy,
    pub(super) max_symbols_per_request: u32,
    pub(super) twelve: TwelveDataClient,
    pub(super) yahoo: YahooClient,
    pub(super) cboe: CboeClient,
    pub(super) keys: Vec<String>,
    pub(super) accounts: AccountIndex,
    pub(super) gate: Arc<BudgetGate<Io>>,
}

impl<Io: GateIo, P: Publisher> Collector<Io, P> {
    pub fn new(
        config: &RuntimeConfig,
        keys: Vec<String>,
        accounts: AccountIndex,
        gate: Arc<BudgetGate<Io>>,
        publisher: P,
        metrics: Metrics,
    ) -> Self {
        let timeout = request_timeout(config.sources.retry.timeout_seconds);
        let s = &config.sources;
        Collector {
            datasets: config.datasets.clone(),
            processing: config.processing.clone(),
            sample: s.sample.as_ref().map(Sample::new),
            retry: s.retry,
            max_symbols_per_request: s.twelve_data.max_symbols_per_request,
            twelve: TwelveDataClient::new(&s.twelve_data, timeout, metrics.provider.clone()),
            yahoo: YahooClient::new(
                &s.yahoo,
                &s.index_symbols,
                timeout,
                metrics.provider.clone(),
            ),
            cboe: CboeClient::new(&s.cboe, &s.index_symbols, timeout, metrics.provider.clone()),
            keys,
            accounts,
            gate,
            outbox: Outbox {
                publisher,
                role: Role::Collector,
                pipeline: config.pipeline.id(),
                topics: config.topics(),
                metrics,
            },
        }
    }

    /// Does a task to the end: everything it asked for is published, found to be empty, or
    /// dead-lettered. Only publishing retries forever (the broker must come back).
    pub async fn run(&self, ctx: &TaskContext<'_>) -> TaskReport {
        // Every line the task logs (a retry, a rate limit, a dead letter) names it.
        let task = ctx.task;
        let span = tracing::info_span!(
            "task",
            id = %task.id,
            dataset = %task.dataset,
            symbol = %task.symbols.join(","),
            trading_day = %task.trading_day
        );
        self.run_task(ctx).instrument(span).await
    }

    async fn run_task(&self, ctx: &TaskContext<'_>) -> TaskReport {
        let mut report = TaskReport::default();
        let task = ctx.task;
        if let Some(sample) = &self.sample {
            self.sample_task(sample, ctx, &mut report).await;
            return self.finish(task, report);
        }
        match task.dataset {
            Dataset::Daily => {
                let bars = self.datasets.daily.lookback_bars;
                self.bars(
                    ctx,
                    &mut report,
                    &task.symbols,
                    Interval::OneDay,
                    Range::Latest { bars },
                )
                .await
            }
            Dataset::Intraday => {
                let day = Range::Day(task.trading_day);
                self.bars(ctx, &mut report, &task.symbols, Interval::FifteenMin, day)
                    .await
            }
            Dataset::Historical => {
                let window = task
                    .window
                    .unwrap_or(optionsflow_api::envelope::DateWindow {
                        start: task.trading_day,
                        end: task.trading_day,
                    });
                for symbol in &task.symbols {
                    self.history(ctx, &mut report, symbol, window.start, window.end)
                        .await;
                }
            }
            Dataset::Options => {
                for symbol in &task.symbols {
                    match self.datasets.options.source {
                        OptionsSource::Yahoo => self.yahoo_chains(ctx, &mut report, symbol).await,
                        OptionsSource::Cboe => self.cboe_chains(ctx, &mut report, symbol).await,
                    }
                }
            }
        }
        self.finish(task, report)
    }

    fn finish(&self, task: &Task, report: TaskReport) -> TaskReport {
        let outcome = if report.dead_letters == 0 {
            "done"
        } else {
            "partial"
        };
        self.outbox
            .metrics
            .tasks
            .with_label_values(&[task.dataset.as_str(), outcome])
            .inc();
        tracing::info!(?report, "task done");
        report
    }

    /// Runs one provider call with retries: transient failures back off with jitter, 429s
    /// pause the account in the gate (which then makes the next call wait). The call reports
    /// which account it used with its error.
    pub(super) async fn attempt<T, F, Fut>(&self, mut call: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, (usize, ProviderError)>>,
    {
        let mut backoff = Backoff::from_policy(&self.retry);
        let (mut failures, mut limits) = (0, 0);
        loop {
            match call().await {
                Ok(value) => return Ok(value),
                Err((
                    account,
                    ProviderError::RateLimited {
                        provider,
                        symbols,
                        scope,
                        message,
                    },
                )) if limits < MAX_RATE_LIMITS => {
                    limits += 1;
                    tracing::info!(provider = provider.as_str(), %symbols, ?scope, %message, "rate limited: slowing down");
                    self.gate.rate_limited(account, scope);
                }
                Err((_, e)) if e.is_transient() && failures + 1 < self.retry.max_attempts => {
                    failures += 1;
                    tracing::warn!(error = %e, attempt = failures, "provider request failed; retrying");
                    tokio::time::sleep(backoff.next_delay()).await;
                }
                Err((_, e)) => return Err(e),
            }
        }
    }

    /// A raw envelope for the task at hand.
    pub(super) fn raw(
        &self,
        ctx: &TaskContext<'_>,
        schema: SchemaId,
        source: Source,
        symbol: &str,
        fetched_at: DateTime<Utc>,
        payload: Value,
    ) -> Envelope<Value> {
        Envelope::new(
            schema,
            &self.outbox.pipeline,
            symbol,
            source,
            fetched_at,
            payload,
        )
        .with_task(&ctx.task.id)
    }

    /// Publishes a raw envelope to `kind`, keyed by its symbol.
    pub(super) async fn publish_raw(
        &self,
        report: &mut TaskReport,
        kind: TopicKind,
        envelope: Envelope<Value>,
    ) {
        let value = serde_json::to_vec(&envelope).expect("envelopes serialize");
        self.publish(kind, &envelope.symbol, value).await;
        report.published += 1;
    }

    /// A provider's failure for `symbol` as a dead letter, with the answer's body as
    /// evidence; `context` (the window or expiry asked for) follows the error in the detail.
    pub(super) async fn provider_failed(
        &self,
        ctx: &TaskContext<'_>,
        report: &mut TaskReport,
        symbol: &str,
        error: &ProviderError,
        context: Option<String>,
    ) {
        let detail = match context {
            Some(c) => format!("{error} ({c})"),
            None => error.to_string(),
        };
        let evidence = error.body().map(str::to_owned);
        self.dead_letter(ctx, report, symbol, error.reason(), detail, evidence)
            .await;
    }

    pub(super) async fn dead_letter(
        &self,
        ctx: &TaskContext<'_>,
        report: &mut TaskReport,
        symbol: &str,
        reason: Reason,
        detail: String,
        evidence: Option<String>,
    ) {
        tracing::warn!(%symbol, %reason, %detail, "sending to dead-letter");
        let letter = DeadLetter {
            stage: Role::Collector,
            reason,
            detail,
            origin: Some(ctx.origin.clone()),
            original: ctx.original.clone(),
            evidence,
        };
        self.send_dead_letter(symbol, letter, Some(&ctx.task.id))
            .await;
        report.dead_letters += 1;
    }

    /// A message on `task-queue` that is not a task goes to `dead-letter` as it is.
    pub async fn reject(&self, origin: MessageOrigin, original: Value, key: &str, detail: String) {
        tracing::warn!(%detail, ?origin, "unreadable task sent to dead-letter");
        let letter = DeadLetter {
            stage: Role::Collector,
            reason: Reason::MalformedTask,
            detail,
            origin: Some(origin),
            original,
            evidence: None,
        };
        self.send_dead_letter(key, letter, None).await;
    }

    async fn send_dead_letter(&self, key: &str, letter: DeadLetter, task: Option<&str>) {
        let letter = self.outbox.dead_letter(key, Utc::now(), task, letter);
        self.outbox.publish_all(&[letter], None).await;
    }

    /// Publishes until the broker acknowledges: data already paid for is never dropped.
    pub async fn publish(&self, kind: TopicKind, key: &str, value: Vec<u8>) {
        let message = Outgoing {
            topic: self.outbox.topics.name(kind),
            key: key.to_owned(),
            value,
            dead_letter: None,
        };
        self.outbox.publish_all(&[message], None).await;
    }
}
