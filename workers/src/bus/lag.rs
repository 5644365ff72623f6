//! Consumer lag per group, topic and partition (`optionsflow_consumer_lag_messages`): on
//! Kafka from librdkafka's statistics (high watermark minus the group's committed offset,
//! every [`STATISTICS_INTERVAL`]), in `local` from the in-process bus's offsets.
//!
//! Only the partitions a member works now are shown: a revoked partition's series is removed,
//! so that the new owner's figure is the only one.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::IntGaugeVec;
use rdkafka::statistics::Statistics;

/// How often librdkafka reports its statistics (`statistics.interval.ms`).
pub const STATISTICS_INTERVAL: Duration = Duration::from_secs(10);

/// One consumer group's lag series. Cheap to clone.
#[derive(Clone)]
pub struct Lag {
    gauge: IntGaugeVec,
    group: String,
    shown: Arc<Mutex<HashSet<(String, i32)>>>,
}

impl Lag {
    pub fn new(gauge: &IntGaugeVec, group: &str) -> Lag {
        Lag {
            gauge: gauge.clone(),
            group: group.to_owned(),
            shown: Arc::default(),
        }
    }

    /// Shows exactly these partitions' lags, removing the series of any other.
    pub fn show(&self, lags: impl IntoIterator<Item = (String, i32, i64)>) {
        let mut shown = self.shown.lock().expect("lock");
        let mut now = HashSet::new();
        for (topic, partition, lag) in lags {
            self.gauge
                .with_label_values(&[&self.group, &topic, &partition.to_string()])
                .set(lag);
            now.insert((topic, partition));
        }
        for (topic, partition) in shown.difference(&now) {
            let _ = self
                .gauge
                .remove_label_values(&[&self.group, topic, &partition.to_string()]);
        }
        *shown = now;
    }

    /// The lags in a librdkafka statistics report.
    pub fn from_statistics(&self, statistics: &Statistics) {
        let partitions = statistics.topics.iter().flat_map(|(topic, t)| {
            t.partitions.values().map(move |p| {
                (
                    topic.as_str(),
                    p.partition,
                    p.fetch_state.as_str(),
                    p.consumer_lag,
                )
            })
        });
        self.show(being_fetched(partitions));
    }
}

/// The partitions being fetched whose lag librdkafka knows (it says -1 until the group's
/// committed offset and the high watermark are both known; partition -1 is its own
/// bookkeeping), from (topic, partition, fetch state, lag).
fn being_fetched<'a>(
    partitions: impl Iterator<Item = (&'a str, i32, &'a str, i64)>,
) -> Vec<(String, i32, i64)> {
    partitions
        .filter(|(_, partition, state, lag)| *partition >= 0 && *state == "active" && *lag >= 0)
        .map(|(topic, partition, _, lag)| (topic.to_owned(), partition, lag))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::metrics::Metrics;

    #[test]
    fn revoked_partitions_leave_no_stale_series() {
        let metrics = Metrics::new();
        let lag = Lag::new(&metrics.consumer_lag, "m.p.writers");
        lag.show([("raw".to_owned(), 0, 5), ("raw".to_owned(), 1, 0)]);
        let text = metrics.render();
        assert!(text.contains(
            "optionsflow_consumer_lag_messages{group=\"m.p.writers\",partition=\"0\",topic=\"raw\"} 5"
        ), "{text}");
        lag.show([("raw".to_owned(), 1, 2)]);
        let text = metrics.render();
        assert!(!text.contains("partition=\"0\""), "{text}");
        assert!(text.contains("partition=\"1\",topic=\"raw\"} 2"), "{text}");
    }

    #[test]
    fn only_partitions_being_fetched_with_a_known_lag_count() {
        let partitions = [
            ("t", 0, "active", 7),
            ("t", 1, "active", -1),
            ("t", 2, "none", 3),
            ("t", -1, "none", -1),
        ];
        assert_eq!(
            being_fetched(partitions.into_iter()),
            vec![("t".to_owned(), 0, 7)]
        );
    }
}
