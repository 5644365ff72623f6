//! Kafka names: every topic and consumer group of a pipeline is computed here, and only here.
//!
//! A pipeline's topics share a prefix, by default `<namespace>.<pipeline>.`, so several
//! pipelines can share one cluster. The suffixes are fixed (docs/messages.md).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Dataset, Role};

/// One of a pipeline's topics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TopicKind {
    /// Collection tasks published by the trigger, consumed by collectors.
    TaskQueue,
    /// Raw daily bars.
    DailyData,
    /// Raw 15-minute bars.
    IntradayData,
    /// Raw backfilled daily bars.
    HistoricalData,
    /// Raw option chains.
    OptionData,
    ProcessedDailyData,
    ProcessedIntradayData,
    ProcessedHistoricalData,
    ProcessedOptionsData,
    /// Anything that could not be used, with the reason and the original message.
    DeadLetter,
    /// Write-ahead record of provider credits spent per task-queue partition, so a
    /// collector taking over a partition knows how much of its daily share is gone
    /// (docs/budgets.md). Same partition count as `task-queue`.
    BudgetLedger,
}

impl TopicKind {
    pub const ALL: [TopicKind; 11] = [
        TopicKind::TaskQueue,
        TopicKind::DailyData,
        TopicKind::IntradayData,
        TopicKind::HistoricalData,
        TopicKind::OptionData,
        TopicKind::ProcessedDailyData,
        TopicKind::ProcessedIntradayData,
        TopicKind::ProcessedHistoricalData,
        TopicKind::ProcessedOptionsData,
        TopicKind::DeadLetter,
        TopicKind::BudgetLedger,
    ];

    /// The part of the topic name after the pipeline prefix.
    pub fn suffix(self) -> &'static str {
        match self {
            TopicKind::TaskQueue => "task-queue",
            TopicKind::DailyData => "daily-data",
            TopicKind::IntradayData => "15min-data",
            TopicKind::HistoricalData => "historical-data",
            TopicKind::OptionData => "option-data",
            TopicKind::ProcessedDailyData => "processed-daily-data",
            TopicKind::ProcessedIntradayData => "processed-15min-data",
            TopicKind::ProcessedHistoricalData => "processed-historical-data",
            TopicKind::ProcessedOptionsData => "processed-options-data",
            TopicKind::DeadLetter => "dead-letter",
            TopicKind::BudgetLedger => "budget-ledger",
        }
    }

    /// Where collectors publish a dataset's raw answers.
    pub fn raw(dataset: Dataset) -> TopicKind {
        match dataset {
            Dataset::Daily => TopicKind::DailyData,
            Dataset::Intraday => TopicKind::IntradayData,
            Dataset::Historical => TopicKind::HistoricalData,
            Dataset::Options => TopicKind::OptionData,
        }
    }

    /// Where the processor publishes a dataset's typed records.
    pub fn processed(dataset: Dataset) -> TopicKind {
        match dataset {
            Dataset::Daily => TopicKind::ProcessedDailyData,
            Dataset::Intraday => TopicKind::ProcessedIntradayData,
            Dataset::Historical => TopicKind::ProcessedHistoricalData,
            Dataset::Options => TopicKind::ProcessedOptionsData,
        }
    }

    /// The dataset a raw or processed topic carries, if any.
    pub fn dataset(self) -> Option<Dataset> {
        Dataset::ALL
            .into_iter()
            .find(|d| TopicKind::raw(*d) == self || TopicKind::processed(*d) == self)
    }
}

impl fmt::Display for TopicKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.suffix())
    }
}

/// The topic and consumer-group names of one pipeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicNames {
    prefix: String,
}

impl TopicNames {
    /// The prefix used when the pipeline does not set one: `<namespace>.<pipeline>.`.
    pub fn default_prefix(namespace: &str, pipeline: &str) -> String {
        format!("{namespace}.{pipeline}.")
    }

    pub fn new(prefix: impl Into<String>) -> TopicNames {
        TopicNames {
            prefix: prefix.into(),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn name(&self, kind: TopicKind) -> String {
        format!("{}{}", self.prefix, kind.suffix())
    }

    /// Which of this pipeline's topics a name refers to.
    pub fn kind_of(&self, topic: &str) -> Option<TopicKind> {
        let suffix = topic.strip_prefix(&self.prefix)?;
        TopicKind::ALL.into_iter().find(|k| k.suffix() == suffix)
    }

    /// All topic names of the pipeline, in [`TopicKind::ALL`] order.
    pub fn all(&self) -> Vec<(TopicKind, String)> {
        TopicKind::ALL
            .into_iter()
            .map(|k| (k, self.name(k)))
            .collect()
    }

    /// The consumer group a consuming role's replicas share ([`Role::consumes`]).
    pub fn consumer_group(&self, role: Role) -> String {
        format!("{}{}", self.prefix, role.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_design() {
        let names = TopicNames::new(TopicNames::default_prefix("markets", "us-options"));
        for (kind, name) in [
            (TopicKind::TaskQueue, "task-queue"),
            (TopicKind::IntradayData, "15min-data"),
            (TopicKind::ProcessedOptionsData, "processed-options-data"),
            (TopicKind::DeadLetter, "dead-letter"),
        ] {
            assert_eq!(names.name(kind), format!("markets.us-options.{name}"));
        }
        assert_eq!(
            names.consumer_group(Role::Collector),
            "markets.us-options.collector"
        );
    }

    #[test]
    fn every_topic_name_maps_back_to_its_kind() {
        let names = TopicNames::new("p.");
        for (kind, name) in names.all() {
            assert_eq!(names.kind_of(&name), Some(kind));
        }
        assert_eq!(names.kind_of("other.task-queue"), None);
        let suffixes: std::collections::BTreeSet<_> =
            TopicKind::ALL.iter().map(|k| k.suffix()).collect();
        assert_eq!(
            suffixes.len(),
            TopicKind::ALL.len(),
            "suffixes must be unique"
        );
    }

    #[test]
    fn datasets_map_to_raw_and_processed_topics() {
        for d in Dataset::ALL {
            assert_eq!(TopicKind::raw(d).dataset(), Some(d));
            assert_eq!(TopicKind::processed(d).dataset(), Some(d));
        }
        assert_eq!(TopicKind::TaskQueue.dataset(), None);
    }
}
