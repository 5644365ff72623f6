//! Bars from Twelve Data: daily and intraday symbols in batches as large as the credits at
//! hand allow, and history in date windows of at most 5,000 bars.

use std::collections::VecDeque;

use chrono::{NaiveDate, Utc};
use optionsflow_api::{Reason, SchemaId, Source, TopicKind};

use super::collector::{Collector, MAX_RATE_LIMITS, TaskContext, TaskReport};
use crate::budget::{GateIo, Pool};
use crate::bus::Publisher;
use crate::market::calendar;
use crate::retry::Backoff;
use crate::sources::ProviderError;
use crate::sources::twelvedata::{Interval, MAX_OUTPUTSIZE, Range, SymbolOutcome};

pub use optionsflow_api::collection::HISTORY_WINDOW_DAYS;
impl<Io: GateIo, P: Publisher> Collector<Io, P> {
    /// Without an API key nothing can be asked of Twelve Data: say so for every symbol.
    async fn without_keys(
        &self,
        ctx: &TaskContext<'_>,
        report: &mut TaskReport,
        symbols: &[String],
    ) {
        for symbol in symbols {
            let detail = "no Twelve Data API key is configured (sources.twelveData.apiKeysEnv)";
            self.dead_letter(ctx, report, symbol, Reason::NoApiKey, detail.into(), None)
                .await;
        }
    }

    /// Bars for several symbols, in batches as large as the credits at hand allow.
    pub(super) async fn bars(
        &self,
        ctx: &TaskContext<'_>,
        report: &mut TaskReport,
        symbols: &[String],
        interval: Interval,
        range: Range,
    ) {
        let topic = TopicKind::raw(ctx.task.dataset);
        if self.keys.is_empty() {
            return self.without_keys(ctx, report, symbols).await;
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
                Err(e) => chunk.iter().map(|_| Err(e.clone())).collect(),
            };
            let mut transient = false;
            for ((symbol, attempts, limits), result) in chunk.into_iter().zip(results) {
                match result {
                    Ok(SymbolOutcome::Series(series)) => {
                        self.publish_raw(
                            report,
                            topic,
                            self.raw(
                                ctx,
                                SchemaId::TWELVEDATA_TIME_SERIES,
                                Source::TwelveData,
                                &symbol,
                                fetched_at,
                                series.raw,
                            ),
                        )
                        .await
                    }
                    Ok(SymbolOutcome::NoData { message }) => {
                        tracing::info!(%symbol, %message, "no bars in range");
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
                    Err(e) => self.provider_failed(ctx, report, &symbol, &e, None).await,
                }
            }
            if transient {
                tokio::time::sleep(backoff.next_delay()).await;
            }
        }
    }

    /// Daily bars from `start` to `end`, a date window per request.
    pub(super) async fn history(
        &self,
        ctx: &TaskContext<'_>,
        report: &mut TaskReport,
        symbol: &str,
        start: NaiveDate,
        end: NaiveDate,
    ) {
        if self.keys.is_empty() {
            return self.without_keys(ctx, report, &[symbol.to_owned()]).await;
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
            let days = calendar::trading_days(from, to).count();
            match result {
                // Possibly truncated: ask again in two halves (a single day cannot be).
                Ok(SymbolOutcome::Series(s))
                    if s.series.values.len() >= MAX_OUTPUTSIZE as usize && days > 1 =>
                {
                    tracing::warn!(%symbol, %from, %to, "history window hit the bar cap; splitting it");
                    for w in history_windows(from, to, days.div_ceil(2))
                        .into_iter()
                        .rev()
                    {
                        windows.push_front(w);
                    }
                }
                Ok(SymbolOutcome::Series(s)) => {
                    self.publish_raw(
                        report,
                        TopicKind::HistoricalData,
                        self.raw(
                            ctx,
                            SchemaId::TWELVEDATA_TIME_SERIES,
                            Source::TwelveData,
                            symbol,
                            Utc::now(),
                            s.raw,
                        ),
                    )
                    .await
                }
                Ok(SymbolOutcome::NoData { .. }) => report.no_data += 1,
                Err(e) => {
                    let context = Some(format!("window {from} to {to}"));
                    self.provider_failed(ctx, report, symbol, &e, context).await
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
}
