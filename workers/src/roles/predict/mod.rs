//! `optionsflow-worker predict`: volatility forecasts for every symbol the pipeline collects.
//!
//! The predictor consumes the processed topics in its own group, on the writers' engine
//! ([`super::write`]): each batch is stored before its offsets are committed, a store that is
//! away is retried with backoff, and what cannot be read goes to `dead-letter`. What it
//! stores is not the records but what they say about each symbol:
//! - a symbol's history ([`History`]) starts from the database's stored bars the first time
//!   the symbol is seen, then takes in each message's daily and 15-minute bars and chains;
//! - for every session a batch touched, every model's forecast at every horizon
//!   ([`forecast::at`]), upserted into `predictions`;
//! - the walk-forward backtest of the symbol's history ([`backtest::backtest`]), upserted
//!   into `prediction_scores`.
//!
//! A forecast depends only on the history up to its session, so a replay, a restart or a
//! second look at a session writes the same rows.
//!
//! `predict --backtest` ([`backtest`](self::backtest)) evaluates the models offline.

pub mod backtest;

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use chrono::{Days, NaiveDate, Utc};
use optionsflow_api::MessageOrigin;
use optionsflow_api::Role;
use optionsflow_api::runtime_config::{Batching, RuntimeConfig};
use tokio::sync::Mutex;

use super::write::db::WriteDbError;
use super::write::{self, Destination, Refused, Span};
use crate::bus::Bus;
use crate::engine::Running;
use crate::market::calendar;
use crate::runtime::metrics::Metrics;
use crate::sinks::WriteError;
use crate::sinks::db::Database;
use crate::sinks::schema::StoredScore;
use crate::stages::predict::backtest::{self as walk, Settings};
use crate::stages::predict::forecast;
use crate::stages::predict::history::History;
use crate::stages::predict::models::Fits;
use crate::stages::write::Incoming;

/// The store's name in logs and metrics.
pub const STORE: &str = "predictions";

/// Sessions of history kept per symbol beyond the fit window: enough for the backtest's
/// warm-up and a month of targets.
const MARGIN: usize = 300;

pub struct Predictor {
    pub database: Database,
    pub batching: Batching,
    pub metrics: Metrics,
    /// Sessions each HAR-RV fit reads.
    pub window: usize,
    /// Each symbol's history. One lock for all: a symbol's daily, 15-minute and chain
    /// messages come from different topics' partitions, and a batch updates a history and
    /// stores what it says before the next batch may read it.
    histories: Mutex<HashMap<String, History>>,
}

/// The messages of a batch.
#[derive(Default)]
pub struct Pending {
    messages: Vec<Incoming>,
    rows: usize,
}

impl Predictor {
    pub fn new(database: Database, batching: Batching, metrics: Metrics, window: usize) -> Self {
        Predictor {
            database,
            batching,
            metrics,
            window,
            histories: Mutex::default(),
        }
    }

    /// Sessions of history kept per symbol.
    fn keep(&self) -> usize {
        self.window + MARGIN
    }

    /// The first day a new symbol's history is read from: `keep` sessions back, in
    /// calendar days (7 for every 5 sessions, and a month for holidays).
    fn since(&self, today: NaiveDate) -> NaiveDate {
        today - Days::new((self.keep() * 7 / 5 + 31) as u64)
    }

    /// Updates `symbol`'s history with `messages`, and stores the forecasts of the sessions
    /// they touched and the symbol's scores.
    async fn predict(
        &self,
        histories: &mut HashMap<String, History>,
        symbol: &str,
        messages: &[&Incoming],
    ) -> Result<(), WriteError> {
        if !histories.contains_key(symbol) {
            let today = calendar::exchange_date(Utc::now());
            let stored = self.database.history(symbol, self.since(today)).await?;
            histories.insert(symbol.to_owned(), stored);
        }
        let history = histories.get_mut(symbol).expect("inserted above");
        let mut touched = BTreeSet::new();
        for m in messages {
            touched.extend(history.add_records(&m.records));
        }
        history.trim(self.keep());
        let series = history.series(symbol);
        let mut fits = Fits::default();
        let forecasts: Vec<forecast::Forecast> = series
            .days
            .iter()
            .enumerate()
            .filter(|(_, day)| touched.contains(day))
            .flat_map(|(t, day)| {
                forecast::at(&series, t, self.window, &mut fits, history.atm(*day))
            })
            .collect();
        // 15-minute bars of a session whose daily bar has not come yet, or chains alone:
        // nothing to forecast or score until it does.
        if forecasts.is_empty() {
            return Ok(());
        }
        let settings = Settings {
            window: self.window,
            ..Settings::default()
        };
        let scores: Vec<StoredScore> =
            match (series.days.get(settings.first_scored()), series.days.last()) {
                (Some(first), Some(last)) => walk::backtest(&series, &settings)
                    .into_iter()
                    .map(|score| StoredScore {
                        score,
                        first_day: *first,
                        last_day: *last,
                    })
                    .collect(),
                _ => Vec::new(),
            };
        self.database
            .write_predictions(symbol, &forecasts, &scores)
            .await?;
        self.metrics
            .writing
            .rows
            .with_label_values(&[STORE, "predictions"])
            .inc_by(forecasts.len() as u64);
        Ok(())
    }
}

impl Destination for Predictor {
    type Pending = Pending;

    fn store(&self) -> &'static str {
        STORE
    }

    fn add(&self, pending: &mut Pending, _origin: &MessageOrigin, message: Incoming) {
        pending.rows += message.records.len();
        pending.messages.push(message);
    }

    fn is_full(&self, pending: &Pending) -> bool {
        pending.rows >= self.batching.max_rows as usize
    }

    fn max_wait(&self) -> Duration {
        Duration::from_millis(self.batching.max_wait_ms)
    }

    async fn flush(&self, pending: &Pending, _span: &Span) -> Result<Vec<Refused>, WriteError> {
        let mut by_symbol: HashMap<&str, Vec<&Incoming>> = HashMap::new();
        for m in &pending.messages {
            by_symbol.entry(&m.symbol).or_default().push(m);
        }
        let mut histories = self.histories.lock().await;
        for (symbol, messages) in by_symbol {
            // A failed write leaves the history updated: adding the same records again on the
            // retry changes nothing.
            self.predict(&mut histories, symbol, &messages).await?;
        }
        Ok(Vec::new())
    }
}

/// The predictor on `bus` until `running` stops, after migrating the schema.
pub async fn run<B: Bus>(
    bus: &B,
    config: RuntimeConfig,
    metrics: Metrics,
    running: &Running,
) -> Result<(), WriteDbError> {
    let settings = config
        .predictions
        .clone()
        .ok_or(WriteDbError::PredictionsOff)?;
    let database = Database::migrated(&config, &running.shutdown).await?;
    let predictor = Predictor::new(
        database.clone(),
        config.sinks.batching.clone(),
        metrics.clone(),
        settings.window_days as usize,
    );
    let result = write::run(bus, &config, Role::Predictor, predictor, metrics, running).await;
    database.close().await;
    Ok(result?)
}
