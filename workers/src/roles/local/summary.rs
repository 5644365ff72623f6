//! What `local` prints at the end: rows written per table, files written, rows dropped and
//! why, dead letters, and where everything is. Read from the same metrics the roles export
//! on Kubernetes, so the summary and `/metrics` cannot disagree.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use prometheus::proto::MetricFamily;

use super::Places;
use crate::runtime::metrics::Metrics;

/// The counts of one run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counts {
    /// Rows written to the database, by table.
    pub rows: BTreeMap<String, u64>,
    pub files: u64,
    /// Clean records the processor published.
    pub records: u64,
    /// Rows the processor dropped, by reason.
    pub dropped: BTreeMap<String, u64>,
    /// Dead letters, by stage and reason.
    pub dead_letters: BTreeMap<(String, String), u64>,
}

impl Counts {
    pub fn from_families(families: &[MetricFamily]) -> Counts {
        let mut counts = Counts::default();
        for family in families {
            for metric in family.get_metric() {
                let label = |name: &str| {
                    metric
                        .get_label()
                        .iter()
                        .find(|l| l.name() == name)
                        .map(|l| l.value().to_owned())
                        .unwrap_or_default()
                };
                let value = metric.get_counter().get_value() as u64;
                match family.name() {
                    "optionsflow_write_rows_total" => {
                        *counts.rows.entry(label("table")).or_default() += value
                    }
                    "optionsflow_write_files_total" => counts.files += value,
                    "optionsflow_process_records_total" => counts.records += value,
                    "optionsflow_process_rows_dropped_total" => {
                        *counts.dropped.entry(label("reason")).or_default() += value
                    }
                    "optionsflow_dead_letters_total" => {
                        *counts
                            .dead_letters
                            .entry((label("stage"), label("reason")))
                            .or_default() += value
                    }
                    _ => {}
                }
            }
        }
        counts
    }
}

/// The tables the summary lists.
pub const TABLES: [&str; 3] = ["daily_bars", "intraday_bars", "option_quotes"];

/// A run's summary, ready to print.
pub struct Summary<'a> {
    pub counts: Counts,
    /// Rows in each table at the end (fewer than written when a run rewrites rows, as a
    /// history overlapping the daily bars does).
    pub in_tables: BTreeMap<String, i64>,
    pub elapsed: Duration,
    pub places: &'a Places,
}

impl<'a> Summary<'a> {
    pub fn of(
        metrics: &Metrics,
        in_tables: BTreeMap<String, i64>,
        elapsed: Duration,
        places: &'a Places,
    ) -> Summary<'a> {
        Summary {
            counts: Counts::from_families(&metrics.registry.gather()),
            in_tables,
            elapsed,
            places,
        }
    }

    pub fn render(&self) -> String {
        let c = &self.counts;
        let p = self.places;
        let mut out = String::new();
        let _ = writeln!(out, "Summary ({:.1} s)", self.elapsed.as_secs_f64());
        if p.sample {
            let _ = writeln!(
                out,
                "  SAMPLE DATA: generated offline, not market data (source = sample in every row)"
            );
        }
        let _ = writeln!(out, "  Rows written to {}:", p.database.display());
        for table in TABLES {
            let n = c.rows.get(table).copied().unwrap_or(0);
            let now = self.in_tables.get(table).copied().unwrap_or(0);
            let _ = writeln!(out, "    {table:<16}{n:>10} written{now:>10} in the table");
        }
        let _ = writeln!(
            out,
            "  CSV files written to {}: {}",
            p.files.display(),
            c.files
        );
        let dropped: u64 = c.dropped.values().sum();
        let _ = writeln!(
            out,
            "  Records processed: {}; rows dropped: {dropped}",
            c.records
        );
        for (reason, n) in &c.dropped {
            let note = if reason == "duplicate" {
                " (the first copy was kept)"
            } else {
                ""
            };
            let _ = writeln!(out, "    {reason:<24}{n:>8}{note}");
        }
        let letters: u64 = c.dead_letters.values().sum();
        let _ = writeln!(
            out,
            "  Dead letters: {letters}{}",
            if letters > 0 {
                format!(" (in {})", p.dead_letters.display())
            } else {
                String::new()
            }
        );
        for ((stage, reason), n) in &c.dead_letters {
            let _ = writeln!(out, "    {:<24}{n:>8}", format!("{stage}: {reason}"));
        }
        let _ = writeln!(out, "  Web page: {}", p.url);
        let _ = writeln!(
            out,
            "  API: {}api/v1/symbols (OpenAPI: {}openapi.json)",
            p.url, p.url
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn counts_come_from_the_metrics_and_the_summary_says_where_things_are() {
        let metrics = Metrics::new();
        metrics
            .writing
            .rows
            .with_label_values(&["sqlite", "option_quotes"])
            .inc_by(1200);
        metrics
            .writing
            .rows
            .with_label_values(&["sqlite", "daily_bars"])
            .inc_by(40);
        metrics
            .writing
            .files
            .with_label_values(&["options"])
            .inc_by(3);
        metrics.writing.files.with_label_values(&["daily"]).inc();
        metrics
            .processing
            .dropped
            .with_label_values(&["options", "bid_above_ask"])
            .inc_by(7);
        metrics
            .processing
            .dropped
            .with_label_values(&["daily", "duplicate"])
            .inc_by(2);
        metrics
            .dead_letters
            .with_label_values(&["process", "bid_above_ask"])
            .inc();
        let places = Places {
            database: PathBuf::from("data/optionsflow.db"),
            files: PathBuf::from("data/files"),
            dead_letters: PathBuf::from("data/dead-letters.jsonl"),
            url: "http://127.0.0.1:8080/".into(),
            sample: true,
        };
        let tables = BTreeMap::from([
            ("option_quotes".to_owned(), 1100),
            ("daily_bars".to_owned(), 40),
        ]);
        let summary = Summary::of(&metrics, tables, Duration::from_millis(1500), &places);
        assert_eq!(summary.counts.rows["option_quotes"], 1200);
        assert_eq!(summary.counts.files, 4);
        assert_eq!(summary.counts.dropped["bid_above_ask"], 7);
        let text = summary.render();
        for expected in [
            "SAMPLE DATA",
            "data/optionsflow.db",
            "option_quotes         1200 written      1100 in the table",
            "intraday_bars            0 written         0 in the table",
            "data/files: 4",
            "rows dropped: 9",
            "duplicate                      2 (the first copy was kept)",
            "Dead letters: 1 (in data/dead-letters.jsonl)",
            "process: bid_above_ask",
            "http://127.0.0.1:8080/",
        ] {
            assert!(text.contains(expected), "{expected:?} missing from\n{text}");
        }
    }
}
