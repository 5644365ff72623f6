//! Option chains: Yahoo (expirations first, then one request per expiration) and Cboe (the
//! whole chain in one request), published one expiration per message.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use optionsflow_api::{Reason, SchemaId, Source, Task, TopicKind};

use super::collector::{Collector, TaskContext, TaskReport};
use crate::budget::{GateIo, Pool};
use crate::bus::Publisher;
use crate::sources::cboe;

impl<Io: GateIo, P: Publisher> Collector<Io, P> {
    /// Yahoo: the expirations list, then one chain per expiration within the horizon.
    pub(super) async fn yahoo_chains(
        &self,
        ctx: &TaskContext<'_>,
        report: &mut TaskReport,
        symbol: &str,
    ) {
        let permit = || self.gate.take(Pool::Yahoo, 1);
        let account = self.accounts.yahoo;
        let first = match self
            .attempt(|| async {
                self.yahoo
                    .chain(symbol, None, permit)
                    .await
                    .inspect(|_| self.gate.succeeded(account))
                    .map_err(|e| (account, e))
            })
            .await
        {
            Ok(answer) => (answer, Utc::now()),
            Err(e) => return self.provider_failed(ctx, report, symbol, &e, None).await,
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
                        .inspect(|_| self.gate.succeeded(account))
                        .map_err(|e| (account, e))
                })
                .await
                .map(|a| (a, Utc::now()))
            };
            match answer {
                Ok((a, fetched_at)) => {
                    self.publish_raw(
                        report,
                        TopicKind::OptionData,
                        self.raw(
                            ctx,
                            SchemaId::YAHOO_OPTION_CHAIN,
                            Source::Yahoo,
                            symbol,
                            fetched_at,
                            a.raw,
                        )
                        .with_part(index as u32, count),
                    )
                    .await
                }
                Err(e) => {
                    let when = epoch_date(expiry)
                        .map(|d| d.to_string())
                        .unwrap_or_default();
                    let context = Some(format!("expiration {when}"));
                    self.provider_failed(ctx, report, symbol, &e, context).await
                }
            }
        }
    }

    /// Cboe: the whole chain in one request, published one expiration per message.
    pub(super) async fn cboe_chains(
        &self,
        ctx: &TaskContext<'_>,
        report: &mut TaskReport,
        symbol: &str,
    ) {
        let account = self.accounts.cboe;
        let answer = self
            .attempt(|| async {
                let _permit = self.gate.take(Pool::Cboe, 1).await;
                self.cboe
                    .chain(symbol)
                    .await
                    .inspect(|_| self.gate.succeeded(account))
                    .map_err(|e| (account, e))
            })
            .await;
        let fetched_at = Utc::now();
        let answer = match answer {
            Ok(a) => a,
            Err(e) => return self.provider_failed(ctx, report, symbol, &e, None).await,
        };
        let (from, to) = self.horizon(ctx.task);
        let split = cboe::split_by_expiry(&answer.raw, from, to);
        if !split.unreadable.is_empty() {
            let detail = format!(
                "{} option symbols in the Cboe chain are not OSI symbols: {}",
                split.unreadable.len(),
                split.unreadable.join("; ")
            );
            self.dead_letter(ctx, report, symbol, Reason::MalformedAnswer, detail, None)
                .await;
        }
        if split.parts.is_empty() {
            report.no_data += 1;
        }
        let count = split.parts.len() as u32;
        for (index, (_, part)) in split.parts.into_iter().enumerate() {
            self.publish_raw(
                report,
                TopicKind::OptionData,
                self.raw(
                    ctx,
                    SchemaId::CBOE_DELAYED_QUOTES,
                    Source::Cboe,
                    symbol,
                    fetched_at,
                    part,
                )
                .with_part(index as u32, count),
            )
            .await;
        }
    }

    /// Expirations from the task's trading day to the horizon.
    pub(super) fn horizon(&self, task: &Task) -> (NaiveDate, NaiveDate) {
        let days = i64::from(self.datasets.options.horizon_days);
        (task.trading_day, task.trading_day + Duration::days(days))
    }
}

/// The calendar date of a Yahoo expiration (00:00 UTC of that day).
fn epoch_date(epoch: i64) -> Option<NaiveDate> {
    Utc.timestamp_opt(epoch, 0).single().map(|t| t.date_naive())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn yahoo_expirations_are_utc_dates() {
        assert_eq!(epoch_date(1750377600), Some(d("2025-06-20")));
    }
}
