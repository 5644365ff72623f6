//! What a collector does with one task: ask the budget gate, call the provider, publish each
//! symbol's raw answer to its dataset's topic, retry what is worth retrying, and send what
//! cannot succeed to `dead-letter` with the reason.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use optionsflow_api::runtime_config::{Datasets, OptionsSource, RetryPolicy};
use optionsflow_api::{
    Dataset, DeadLetter, Envelope, MessageOrigin, RuntimeConfig, SchemaId, Source, Task, TopicKind,
    TopicNames,
};
use serde_json::Value;

use crate::budget::{BudgetGate, GateIo, Pool};
use crate::bus::Publisher;
use crate::market::calendar;
use crate::retry::Backoff;
use crate::runtime::metrics::Metrics;
use crate::sources::cboe::{self, CboeClient};
use crate::sources::twelvedata::{
    Interval, MAX_OUTPUTSIZE, Range, SymbolOutcome, TwelveDataClient,
};
use crate::sources::yahoo::YahooClient;
use crate::sources::{ProviderError, request_timeout};

/// Trading days per history request: below the 5,000-bar cap with room for the extra day the
/// client asks for (see `twelvedata::Range::Window`).
pub const HISTORY_WINDOW_DAYS: usize = 4000;
/// 429s tolerated per request before the work is given up (each one waits for the limit to
/// reset first, so this only trips when someone else is spending our credits).
const MAX_RATE_LIMITS: u32 = 10;

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
    pipeline: String,
    topics: TopicNames,
    datasets: Datasets,
    retry: RetryPolicy,
    max_symbols_per_request: u32,
    twelve: TwelveDataClient,
    yahoo: YahooClient,
    cboe: CboeClient,
    keys: Vec<String>,
    accounts: AccountIndex,
    gate: Arc<BudgetGate<Io>>,
    publisher: P,
    metrics: Metrics,
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
            pipeline: config.pipeline.id(),
            topics: config.topics(),
            datasets: config.datasets.clone(),
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
            publisher,
            metrics,
        }
    }

    /// Does a task to the end: everything it asked for is published, found to be empty, or
    /// dead-lettered. Only publishing retries forever (the broker must come back).
    pub async fn run(&self, ctx: &TaskContext<'_>) -> TaskReport {
        let mut report = TaskReport::default();
        let task = ctx.task;
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
        let outcome = if report.dead_letters == 0 {
            "done"
        } else {
            "partial"
        };
        self.metrics
            .tasks
            .with_label_values(&[task.dataset.as_str(), outcome])
            .inc();
        report
    }

    /// Bars for several symbols, in batches as large as the credits at hand allow.
    async fn bars(
        &self,
        ctx: &TaskContext<'_>,
        report: &mut TaskReport,
        symbols: &[String],
        interval: Interval,
        range: Range,
    ) {
        let topic = TopicKind::raw(ctx.task.dataset);
        if self.keys.is_empty() {
            for s in symbols {
                let detail = "no Twelve Data API key is configured (sources.twelveData.apiKeysEnv)";
                self.dead_letter(ctx, report, s, "no_api_key", detail.into(), None)
                    .await;
            }
            return;
        }
        // (symbol, failed attempts, rate limits met)
        let mut pending: VecDeque<(String, u32, u32)> =
            symbols.iter().map(|s| (s.clone(), 0, 0)).collect();
        let mut backoff = Backoff::from_policy(&self.retry);
        while !pending.is_empty() {
            let want = pending
                .len()
                .min(self.max_symbols_per_request.max(1) as usize) as u32;
            let grant = self.gate.take(Pool::TwelveData, want).await;
            let chunk: Vec<(String, u32, u32)> = pending.drain(..grant.credits as usize).collect();
            let names: Vec<String> = chunk.iter().map(|(s, ..)| s.clone()).collect();
            let answer = self
                .twelve
                .time_series(&self.keys[grant.account], &names, interval, range)
                .await;
            // The request is over: its credits are no longer in flight.
            let account = grant.account;
            drop(grant);
            let fetched_at = Utc::now();
            let results: Vec<Result<SymbolOutcome, ProviderError>> = match answer {
                Ok(list) => {
                    self.gate.succeeded(account);
                    list.into_iter().map(|(_, r)| r).collect()
                }
                // The whole request failed: every symbol in it shares the error.
                Err(e) => chunk.iter().map(|_| Err(clone_error(&e))).collect(),
            };
            let mut transient = false;
            for ((symbol, attempts, limits), result) in chunk.into_iter().zip(results) {
                match result {
                    Ok(SymbolOutcome::Series(series)) => {
                        self.publish_raw(
                            ctx,
                            report,
                            topic,
                            &symbol,
                            Source::TwelveData,
                            fetched_at,
                            series.raw,
                            SchemaId::TWELVEDATA_TIME_SERIES,
                            None,
                        )
                        .await
                    }
                    Ok(SymbolOutcome::NoData { message }) => {
                        tracing::info!(%symbol, %message, task = %ctx.task.id, "no bars in range");
                        report.no_data += 1;
                    }
                    Err(ProviderError::RateLimited { scope, .. }) if limits < MAX_RATE_LIMITS => {
                        self.gate.rate_limited(account, scope);
                        pending.push_back((symbol, attempts, limits + 1));
                    }
                    Err(e) if e.is_transient() && attempts + 1 < self.retry.max_attempts => {
                        transient = true;
                        pending.push_back((symbol, attempts + 1, limits));
                    }
                    Err(e) => {
                        let evidence = e.body().map(str::to_owned);
                        self.dead_letter(ctx, report, &symbol, e.reason(), e.to_string(), evidence)
                            .await
                    }
                }
            }
            if transient {
                tokio::time::sleep(backoff.next_delay()).await;
            }
        }
    }

    /// Daily bars from `start` to `end`, a date window per request.
    async fn history(
        &self,
        ctx: &TaskContext<'_>,
        report: &mut TaskReport,
        symbol: &str,
        start: NaiveDate,
        end: NaiveDate,
    ) {
        if self.keys.is_empty() {
            let detail = "no Twelve Data API key is configured (sources.twelveData.apiKeysEnv)";
            self.dead_letter(ctx, report, symbol, "no_api_key", detail.into(), None)
                .await;
            return;
        }
        let mut windows: VecDeque<(NaiveDate, NaiveDate)> =
            history_windows(start, end, HISTORY_WINDOW_DAYS).into();
        while let Some((from, to)) = windows.pop_front() {
            let result = self
                .attempt(|| async {
                    let grant = self.gate.take(Pool::TwelveData, 1).await;
                    let range = Range::Window {
                        start: from,
                        end: to,
                    };
                    let mut list = self
                        .twelve
                        .time_series(
                            &self.keys[grant.account],
                            &[symbol.to_owned()],
                            Interval::OneDay,
                            range,
                        )
                        .await
                        .map_err(|e| (grant.account, e))?;
                    list.pop()
                        .expect("one symbol asked, one answered")
                        .1
                        .map_err(|e| (grant.account, e))
                })
                .await;
            match result {
                Ok(SymbolOutcome::Series(s))
                    if s.series.values.len() >= MAX_OUTPUTSIZE as usize =>
                {
                    // Possibly truncated: ask again in two halves.
                    let halves = history_windows(
                        from,
                        to,
                        calendar::trading_days(from, to).count().div_ceil(2),
                    );
                    tracing::warn!(%symbol, %from, %to, "history window hit the bar cap; splitting it");
                    for w in halves.into_iter().rev() {
                        windows.push_front(w);
                    }
                }
                Ok(SymbolOutcome::Series(s)) => {
                    self.publish_raw(
                        ctx,
                        report,
                        TopicKind::HistoricalData,
                        symbol,
                        Source::TwelveData,
                        Utc::now(),
                        s.raw,
                        SchemaId::TWELVEDATA_TIME_SERIES,
                        None,
                    )
                    .await
                }
                Ok(SymbolOutcome::NoData { .. }) => report.no_data += 1,
                Err(e) => {
                    let evidence = e.body().map(str::to_owned);
                    let detail = format!("{e} (window {from} to {to})");
                    self.dead_letter(ctx, report, symbol, e.reason(), detail, evidence)
                        .await
                }
            }
        }
    }

    /// Yahoo: the expirations list, then one chain per expiration within the horizon.
    async fn yahoo_chains(&self, ctx: &TaskContext<'_>, report: &mut TaskReport, symbol: &str) {
        let permit = || self.gate.take(Pool::Yahoo, 1);
        let account = self.accounts.yahoo;
        let first = match self
            .attempt(|| async {
                self.yahoo
                    .chain(symbol, None, permit)
                    .await
                    .map_err(|e| (account, e))
            })
            .await
        {
            Ok(answer) => (answer, Utc::now()),
            Err(e) => {
                let evidence = e.body().map(str::to_owned);
                return self
                    .dead_letter(ctx, report, symbol, e.reason(), e.to_string(), evidence)
                    .await;
            }
        };
        let (from, to) = self.horizon(ctx.task);
        let expiries: Vec<i64> = first
            .0
            .chain
            .expiration_dates
            .iter()
            .copied()
            .filter(|e| epoch_date(*e).is_some_and(|d| d >= from && d <= to))
            .collect();
        if expiries.is_empty() {
            tracing::info!(%symbol, %from, %to, "no expirations within the horizon");
            report.no_data += 1;
            return;
        }
        let nearest = first
            .0
            .chain
            .options
            .first()
            .and_then(|o| o.expiration_date);
        let count = expiries.len() as u32;
        for (index, expiry) in expiries.into_iter().enumerate() {
            let answer = if nearest == Some(expiry) {
                Ok(first.clone())
            } else {
                self.attempt(|| async {
                    self.yahoo
                        .chain(symbol, Some(expiry), permit)
                        .await
                        .map_err(|e| (account, e))
                })
                .await
                .map(|a| (a, Utc::now()))
            };
            match answer {
                Ok((a, fetched_at)) => {
                    self.publish_raw(
                        ctx,
                        report,
                        TopicKind::OptionData,
                        symbol,
                        Source::Yahoo,
                        fetched_at,
                        a.raw,
                        SchemaId::YAHOO_OPTION_CHAIN,
                        Some((index as u32, count)),
                    )
                    .await
                }
                Err(e) => {
                    let evidence = e.body().map(str::to_owned);
                    let when = epoch_date(expiry)
                        .map(|d| d.to_string())
                        .unwrap_or_default();
                    let detail = format!("{e} (expiration {when})");
                    self.dead_letter(ctx, report, symbol, e.reason(), detail, evidence)
                        .await
                }
            }
        }
    }

    /// Cboe: the whole chain in one request, published one expiration per message.
    async fn cboe_chains(&self, ctx: &TaskContext<'_>, report: &mut TaskReport, symbol: &str) {
        let account = self.accounts.cboe;
        let answer = self
            .attempt(|| async {
                let _permit = self.gate.take(Pool::Cboe, 1).await;
                self.cboe.chain(symbol).await.map_err(|e| (account, e))
            })
            .await;
        let fetched_at = Utc::now();
        let answer = match answer {
            Ok(a) => a,
            Err(e) => {
                let evidence = e.body().map(str::to_owned);
                return self
                    .dead_letter(ctx, report, symbol, e.reason(), e.to_string(), evidence)
                    .await;
            }
        };
        let (from, to) = self.horizon(ctx.task);
        let split = cboe::split_by_expiry(&answer.raw, from, to);
        if !split.unreadable.is_empty() {
            let detail = format!(
                "{} option symbols in the Cboe chain are not OSI symbols: {}",
                split.unreadable.len(),
                split.unreadable.join("; ")
            );
            self.dead_letter(ctx, report, symbol, "malformed_answer", detail, None)
                .await;
        }
        if split.parts.is_empty() {
            report.no_data += 1;
        }
        let count = split.parts.len() as u32;
        for (index, (_, part)) in split.parts.into_iter().enumerate() {
            self.publish_raw(
                ctx,
                report,
                TopicKind::OptionData,
                symbol,
                Source::Cboe,
                fetched_at,
                part,
                SchemaId::CBOE_DELAYED_QUOTES,
                Some((index as u32, count)),
            )
            .await;
        }
    }

    /// Runs one provider call with retries: transient failures back off with jitter, 429s
    /// pause the account in the gate (which then makes the next call wait). The call reports
    /// which account it used with its error.
    async fn attempt<T, F, Fut>(&self, mut call: F) -> Result<T, ProviderError>
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

    /// Expirations from the task's trading day to the horizon.
    fn horizon(&self, task: &Task) -> (NaiveDate, NaiveDate) {
        let days = i64::from(self.datasets.options.horizon_days);
        (task.trading_day, task.trading_day + Duration::days(days))
    }

    #[allow(clippy::too_many_arguments)]
    async fn publish_raw(
        &self,
        ctx: &TaskContext<'_>,
        report: &mut TaskReport,
        kind: TopicKind,
        symbol: &str,
        source: Source,
        fetched_at: DateTime<Utc>,
        raw: Value,
        schema: SchemaId,
        part: Option<(u32, u32)>,
    ) {
        let mut envelope = Envelope::new(schema, &self.pipeline, symbol, source, fetched_at, raw)
            .with_task(&ctx.task.id);
        if let Some((index, count)) = part {
            envelope = envelope.with_part(index, count);
        }
        self.publish(
            kind,
            symbol,
            serde_json::to_vec(&envelope).expect("envelopes serialize"),
        )
        .await;
        report.published += 1;
    }

    async fn dead_letter(
        &self,
        ctx: &TaskContext<'_>,
        report: &mut TaskReport,
        symbol: &str,
        reason: &str,
        detail: String,
        evidence: Option<String>,
    ) {
        tracing::warn!(%symbol, reason, %detail, task = %ctx.task.id, "sending to dead-letter");
        let letter = DeadLetter {
            stage: "collect".into(),
            reason: reason.into(),
            detail,
            origin: Some(ctx.origin.clone()),
            original: ctx.original.clone(),
            evidence,
        };
        let envelope = Envelope::new(
            SchemaId::DEAD_LETTER,
            &self.pipeline,
            symbol,
            Source::Optionsflow,
            Utc::now(),
            letter,
        )
        .with_task(&ctx.task.id);
        self.publish(
            TopicKind::DeadLetter,
            symbol,
            serde_json::to_vec(&envelope).expect("serializes"),
        )
        .await;
        self.metrics
            .dead_letters
            .with_label_values(&["collect", reason])
            .inc();
        report.dead_letters += 1;
    }

    /// A message on `task-queue` that is not a task goes to `dead-letter` as it is.
    pub async fn reject(&self, origin: MessageOrigin, original: Value, key: &str, detail: String) {
        tracing::warn!(%detail, ?origin, "unreadable task sent to dead-letter");
        let letter = DeadLetter {
            stage: "collect".into(),
            reason: "malformed_task".into(),
            detail,
            origin: Some(origin),
            original,
            evidence: None,
        };
        let envelope = Envelope::new(
            SchemaId::DEAD_LETTER,
            &self.pipeline,
            key,
            Source::Optionsflow,
            Utc::now(),
            letter,
        );
        self.publish(
            TopicKind::DeadLetter,
            key,
            serde_json::to_vec(&envelope).expect("serializes"),
        )
        .await;
        self.metrics
            .dead_letters
            .with_label_values(&["collect", "malformed_task"])
            .inc();
    }

    /// Publishes until the broker acknowledges: data already paid for is never dropped.
    pub async fn publish(&self, kind: TopicKind, key: &str, value: Vec<u8>) {
        let topic = self.topics.name(kind);
        let mut backoff = Backoff::new(
            std::time::Duration::from_millis(200),
            std::time::Duration::from_secs(30),
        );
        loop {
            match self.publisher.publish(&topic, key, value.clone()).await {
                Ok(()) => {
                    self.metrics.published.with_label_values(&[&topic]).inc();
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, %topic, "publish failed; retrying");
                    tokio::time::sleep(backoff.next_delay()).await;
                }
            }
        }
    }
}

/// Date windows tiling `start..=end` with no gap, each holding at most `max_days` trading
/// days by our calendar. Windows are cut by trading days (a request's bar count) but cover
/// every calendar day, so a provider whose calendar differs from ours loses nothing.
pub fn history_windows(
    start: NaiveDate,
    end: NaiveDate,
    max_days: usize,
) -> Vec<(NaiveDate, NaiveDate)> {
    let days: Vec<NaiveDate> = calendar::trading_days(start, end).collect();
    if days.is_empty() {
        return vec![(start, end)];
    }
    let firsts: Vec<NaiveDate> = days.chunks(max_days.max(1)).map(|c| c[0]).collect();
    firsts
        .iter()
        .enumerate()
        .map(|(i, first)| {
            let from = if i == 0 { start } else { *first };
            let to = firsts
                .get(i + 1)
                .map_or(end, |next| next.pred_opt().expect("in range"));
            (from, to)
        })
        .collect()
}

/// The calendar date of a Yahoo expiration (00:00 UTC of that day).
fn epoch_date(epoch: i64) -> Option<NaiveDate> {
    Utc.timestamp_opt(epoch, 0).single().map(|t| t.date_naive())
}

/// Errors carry a `reqwest::Error`, which is not `Clone`; a batch-wide failure is shared by
/// every symbol of the batch as an equivalent error.
fn clone_error(e: &ProviderError) -> ProviderError {
    match e {
        ProviderError::Transport {
            provider,
            symbols,
            source,
        } => ProviderError::Server {
            provider: *provider,
            symbols: symbols.clone(),
            code: 0,
            message: format!("transport error: {source}"),
        },
        ProviderError::RateLimited {
            provider,
            symbols,
            scope,
            message,
        } => ProviderError::RateLimited {
            provider: *provider,
            symbols: symbols.clone(),
            scope: *scope,
            message: message.clone(),
        },
        ProviderError::Unauthorized {
            provider,
            symbols,
            message,
        } => ProviderError::Unauthorized {
            provider: *provider,
            symbols: symbols.clone(),
            message: message.clone(),
        },
        ProviderError::NotFound {
            provider,
            symbols,
            message,
        } => ProviderError::NotFound {
            provider: *provider,
            symbols: symbols.clone(),
            message: message.clone(),
        },
        ProviderError::Rejected {
            provider,
            symbols,
            code,
            message,
        } => ProviderError::Rejected {
            provider: *provider,
            symbols: symbols.clone(),
            code: *code,
            message: message.clone(),
        },
        ProviderError::Server {
            provider,
            symbols,
            code,
            message,
        } => ProviderError::Server {
            provider: *provider,
            symbols: symbols.clone(),
            code: *code,
            message: message.clone(),
        },
        ProviderError::Malformed {
            provider,
            symbols,
            detail,
            body,
        } => ProviderError::Malformed {
            provider: *provider,
            symbols: symbols.clone(),
            detail: detail.clone(),
            body: body.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn history_windows_tile_the_range_within_the_cap() {
        let windows = history_windows(d("2000-01-01"), d("2026-11-24"), HISTORY_WINDOW_DAYS);
        assert_eq!(windows.len(), 2);
        assert_eq!(windows[0].0, d("2000-01-01"));
        assert_eq!(windows[1].1, d("2026-11-24"));
        for pair in windows.windows(2) {
            assert_eq!(
                pair[0].1.succ_opt().unwrap(),
                pair[1].0,
                "no gap, no overlap"
            );
        }
        assert!(
            windows
                .iter()
                .all(|(a, b)| calendar::trading_days(*a, *b).count() <= HISTORY_WINDOW_DAYS)
        );
        let holiday = history_windows(d("2026-11-26"), d("2026-11-26"), 10);
        assert_eq!(
            holiday,
            [(d("2026-11-26"), d("2026-11-26"))],
            "asked anyway: the provider decides"
        );
    }

    #[test]
    fn yahoo_expirations_are_utc_dates() {
        assert_eq!(epoch_date(1750377600), Some(d("2025-06-20")));
    }
}
