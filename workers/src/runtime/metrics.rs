//! Prometheus metrics. One [`Metrics`] per process, registered once; components get cheap
//! clonable handles to the families they update. Every family is listed, with the alerts and
//! dashboards that read it, in docs/observability.md.

use std::time::Duration;

use chrono::{DateTime, Utc};
use optionsflow_api::Source;
use prometheus::{
    GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

use crate::sources::RateScope;

/// Every metric a worker exports.
#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    pub provider: ProviderMetrics,
    pub budget: BudgetMetrics,
    /// Tasks finished, by dataset and outcome (`done`, `dead_letter`, `abandoned`).
    pub tasks: IntCounterVec,
    /// Messages acknowledged by the broker, by topic.
    pub published: IntCounterVec,
    /// Messages and rows sent to `dead-letter`, by stage and reason.
    pub dead_letters: IntCounterVec,
    pub processing: ProcessingMetrics,
    pub writing: WriterMetrics,
    /// Messages not yet committed, by consumer group, topic and partition.
    pub consumer_lag: IntGaugeVec,
    pub http: HttpMetrics,
}

/// The API's requests.
#[derive(Clone)]
pub struct HttpMetrics {
    /// Time to answer, by method, route (its pattern) and status; its `_count` counts them.
    pub duration: HistogramVec,
    /// Requests being answered now.
    pub in_flight: IntGauge,
}

/// What the writers stored, and what kept them waiting.
#[derive(Clone)]
pub struct WriterMetrics {
    /// Processed messages whose rows are stored and offsets committed, by dataset.
    pub messages: IntCounterVec,
    /// Rows written (after merging repeated keys), by store and table.
    pub rows: IntCounterVec,
    /// Files uploaded, by dataset.
    pub files: IntCounterVec,
    /// Failed writes, by store and kind (`unavailable`, `rejected`).
    pub failures: IntCounterVec,
    /// How long a batch took to store, by store.
    pub flush_seconds: HistogramVec,
    /// Source time of the newest record stored, by store, dataset and symbol.
    pub newest: GaugeVec,
    /// How far the newest stored data is behind the schedule, by store and dataset.
    pub behind_schedule: GaugeVec,
}

/// What the processor made of the rows it read: nothing disappears without a count.
#[derive(Clone)]
pub struct ProcessingMetrics {
    /// Raw messages handled, by dataset and outcome (`processed`, `dead_letter`).
    pub messages: IntCounterVec,
    /// Records published, by dataset.
    pub records: IntCounterVec,
    /// Rows dropped, by dataset and reason.
    pub dropped: IntCounterVec,
    /// Records kept with a quality flag, by dataset and flag.
    pub flagged: IntCounterVec,
    /// Option quotes by implied-volatility outcome.
    pub implied_vols: IntCounterVec,
    /// Bar-series gaps too long to fill, by dataset.
    pub gaps_left_open: IntCounterVec,
    /// Source time of the newest record processed, by dataset and symbol.
    pub newest: GaugeVec,
}

/// Requests to providers.
#[derive(Clone)]
pub struct ProviderMetrics {
    requests: IntCounterVec,
    latency: HistogramVec,
}

/// Credits spent and left, and the 429s that paused an account.
#[derive(Clone)]
pub struct BudgetMetrics {
    used: IntCounterVec,
    left: IntGaugeVec,
    rate_limited: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        optionsflow_api::build::register(&registry, "optionsflow-worker").expect("registered once");
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry
                .register(Box::new(c.clone()))
                .expect("registered once");
            c
        };
        let gauge = |name: &str, help: &str, labels: &[&str]| {
            let g = GaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry
                .register(Box::new(g.clone()))
                .expect("registered once");
            g
        };
        let requests = counter(
            "optionsflow_provider_requests_total",
            "Provider HTTP requests by provider and answer status (HTTP code, timeout or error).",
            &["provider", "status"],
        );
        let used = counter(
            "optionsflow_budget_credits_used_total",
            "Provider credits spent by this process, by account.",
            &["account"],
        );
        let rate_limited = counter(
            "optionsflow_budget_rate_limited_total",
            "429 answers that paused an account, by account and the limit hit.",
            &["account", "scope"],
        );
        let tasks = counter(
            "optionsflow_tasks_total",
            "Collection tasks finished, by dataset and outcome.",
            &["dataset", "outcome"],
        );
        let published = counter(
            "optionsflow_messages_published_total",
            "Messages acknowledged by the broker, by topic.",
            &["topic"],
        );
        let dead_letters = counter(
            "optionsflow_dead_letters_total",
            "Messages and rows sent to dead-letter, by stage and reason.",
            &["stage", "reason"],
        );
        let processing = ProcessingMetrics {
            messages: counter(
                "optionsflow_process_messages_total",
                "Raw messages handled by the processor, by dataset and outcome (processed, dead_letter).",
                &["dataset", "outcome"],
            ),
            records: counter(
                "optionsflow_process_records_total",
                "Clean records published by the processor, by dataset.",
                &["dataset"],
            ),
            dropped: counter(
                "optionsflow_process_rows_dropped_total",
                "Rows the processor dropped, by dataset and reason.",
                &["dataset", "reason"],
            ),
            flagged: counter(
                "optionsflow_process_rows_flagged_total",
                "Records published with a quality flag, by dataset and flag.",
                &["dataset", "flag"],
            ),
            implied_vols: counter(
                "optionsflow_process_implied_vols_total",
                "Option quotes by implied-volatility outcome (ok, below_intrinsic, no_price, ...).",
                &["status"],
            ),
            gaps_left_open: counter(
                "optionsflow_process_gaps_left_open_total",
                "Gaps in bar series too long to carry the previous close across, by dataset.",
                &["dataset"],
            ),
            newest: gauge(
                "optionsflow_process_newest_record_timestamp_seconds",
                "Source time (bar open, quote snapshot) of the newest record processed, by dataset and symbol.",
                &["dataset", "symbol"],
            ),
        };
        let flush_seconds = HistogramVec::new(
            HistogramOpts::new(
                "optionsflow_write_flush_duration_seconds",
                "Time to store one batch, retries included, by store.",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0,
            ]),
            &["store"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(flush_seconds.clone()))
            .expect("registered once");
        let writing = WriterMetrics {
            messages: counter(
                "optionsflow_write_messages_total",
                "Processed messages stored and committed by a writer, by dataset.",
                &["dataset"],
            ),
            rows: counter(
                "optionsflow_write_rows_total",
                "Rows written, by store and table (a redelivered row is counted again).",
                &["store", "table"],
            ),
            files: counter(
                "optionsflow_write_files_total",
                "CSV files uploaded, by dataset.",
                &["dataset"],
            ),
            failures: counter(
                "optionsflow_write_failures_total",
                "Failed writes, by store and kind (unavailable: retried; rejected: dead-lettered).",
                &["store", "kind"],
            ),
            flush_seconds,
            newest: gauge(
                "optionsflow_write_newest_record_timestamp_seconds",
                "Source time (bar open, quote snapshot) of the newest record stored, by store, dataset and symbol.",
                &["store", "dataset", "symbol"],
            ),
            behind_schedule: gauge(
                "optionsflow_write_behind_schedule_seconds",
                "How far the newest data stored is behind what the schedule and the NYSE calendar say should be there (0 on days the market is closed), by store and dataset.",
                &["store", "dataset"],
            ),
        };
        let consumer_lag = IntGaugeVec::new(
            Opts::new(
                "optionsflow_consumer_lag_messages",
                "Messages on a partition not yet committed by the group (high watermark minus committed offset), by group, topic and partition.",
            ),
            &["group", "topic", "partition"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(consumer_lag.clone()))
            .expect("registered once");
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "optionsflow_http_request_duration_seconds",
                "Time to answer an API request, by method, route and status.",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ]),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(duration.clone()))
            .expect("registered once");
        let in_flight = IntGauge::new(
            "optionsflow_http_requests_in_flight",
            "API requests being answered now.",
        )
        .expect("valid metric");
        registry
            .register(Box::new(in_flight.clone()))
            .expect("registered once");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "optionsflow_provider_request_duration_seconds",
                "Provider request latency.",
            )
            .buckets(vec![
                0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ]),
            &["provider"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(latency.clone()))
            .expect("registered once");
        let left = IntGaugeVec::new(
            Opts::new(
                "optionsflow_budget_credits_left",
                "Credits this process may still spend, by account and scope (window or day).",
            ),
            &["account", "scope"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(left.clone()))
            .expect("registered once");
        Metrics {
            registry,
            provider: ProviderMetrics { requests, latency },
            budget: BudgetMetrics {
                used,
                left,
                rate_limited,
            },
            tasks,
            published,
            dead_letters,
            processing,
            writing,
            consumer_lag,
            http: HttpMetrics {
                duration,
                in_flight,
            },
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        use prometheus::Encoder;
        let mut out = Vec::new();
        prometheus::TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding cannot fail");
        String::from_utf8(out).expect("metrics are UTF-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// Sets `gauge` to `time` (as Unix seconds) unless it already holds a later one: records of
/// one symbol may be stored out of order (a replay, two partitions' batches).
pub fn newest(gauge: &GaugeVec, labels: &[&str], time: DateTime<Utc>) {
    let g = gauge.with_label_values(labels);
    let seconds = time.timestamp_millis() as f64 / 1000.0;
    if seconds > g.get() {
        g.set(seconds);
    }
}

impl ProviderMetrics {
    pub fn observe(&self, provider: Source, status: &str, elapsed: Duration) {
        self.requests
            .with_label_values(&[provider.as_str(), status])
            .inc();
        self.latency
            .with_label_values(&[provider.as_str()])
            .observe(elapsed.as_secs_f64());
    }
}

impl BudgetMetrics {
    pub fn spent(&self, account: &str, credits: u32, window_left: u32, day_left: Option<u32>) {
        self.used
            .with_label_values(&[account])
            .inc_by(u64::from(credits));
        self.left
            .with_label_values(&[account, "window"])
            .set(i64::from(window_left));
        if let Some(day) = day_left {
            self.left
                .with_label_values(&[account, "day"])
                .set(i64::from(day));
        }
    }

    pub fn rate_limited(&self, account: &str, scope: RateScope) {
        self.rate_limited
            .with_label_values(&[account, scope.as_str()])
            .inc();
    }
}
