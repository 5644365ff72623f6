//! The operator's own Prometheus metrics: reconciles, failures by reason, how long they take,
//! and whether this replica leads; with `optionsflow_build_info` and the process metrics
//! every binary exports.

use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

/// The prefix of the operator's own metrics (the process and build metrics have none).
const NAMESPACE: &str = "optionsflow_operator";

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    reconciles: IntCounterVec,
    failures: IntCounterVec,
    duration: HistogramVec,
    leader: IntGauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        optionsflow_api::build::register(&registry, "optionsflow-operator")
            .expect("registered once");
        let reconciles = IntCounterVec::new(
            Opts::new("reconciles_total", "Reconciles run, by kind of object").namespace(NAMESPACE),
            &["kind"],
        )
        .expect("valid metric");
        let failures = IntCounterVec::new(
            Opts::new(
                "reconcile_failures_total",
                "Reconciles that failed, by kind of object and reason",
            )
            .namespace(NAMESPACE),
            &["kind", "reason"],
        )
        .expect("valid metric");
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "reconcile_duration_seconds",
                "How long a reconcile took, by kind of object",
            )
            .namespace(NAMESPACE)
            .buckets(vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
            &["kind"],
        )
        .expect("valid metric");
        let leader = IntGauge::with_opts(
            Opts::new("leader", "1 while this replica holds the leader Lease").namespace(NAMESPACE),
        )
        .expect("valid metric");
        for c in [
            Box::new(reconciles.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(failures.clone()),
            Box::new(duration.clone()),
            Box::new(leader.clone()),
        ] {
            registry.register(c).expect("registered once");
        }
        Metrics {
            registry,
            reconciles,
            failures,
            duration,
            leader,
        }
    }

    /// One reconcile of a `kind`, and its reason when it failed.
    pub fn reconciled(&self, kind: &str, took: Duration, failure: Option<&str>) {
        self.reconciles.with_label_values(&[kind]).inc();
        self.duration
            .with_label_values(&[kind])
            .observe(took.as_secs_f64());
        if let Some(reason) = failure {
            self.failures.with_label_values(&[kind, reason]).inc();
        }
    }

    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding does not fail");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_counted_by_reason() {
        let m = Metrics::new();
        m.reconciled("OptionsPipeline", Duration::from_millis(20), None);
        m.reconciled(
            "OptionsPipeline",
            Duration::from_millis(40),
            Some("KafkaUnreachable"),
        );
        m.set_leader(true);
        let text = m.render();
        assert!(text.contains("optionsflow_operator_reconciles_total{kind=\"OptionsPipeline\"} 2"));
        assert!(text.contains(
            "optionsflow_operator_reconcile_failures_total{kind=\"OptionsPipeline\",reason=\"KafkaUnreachable\"} 1"
        ));
        assert!(text.contains(
            "optionsflow_operator_reconcile_duration_seconds_count{kind=\"OptionsPipeline\"} 2"
        ));
        assert!(text.contains("optionsflow_operator_leader 1"));
        assert!(text.contains("binary=\"optionsflow-operator\""), "{text}");
        assert!(text.contains("process_resident_memory_bytes"), "{text}");
    }
}
