//! `optionsflow-worker write-db`: stores processed records in PostgreSQL (or SQLite).
//! (InfluxDB has a role of its own, [`super::influx`], so that it cannot hold this one back.)
//!
//! It also keeps the dead letters in the `dead_letters` table ([`super::dead_letters`]).
//!
//! A batch is one transaction of upserts ([`crate::sinks::db`]). If the database refuses
//! the batch for its data (a constraint, a value out of range), each message is written on
//! its own, so only the refused ones go to `dead-letter`.

use std::time::Duration;

use optionsflow_api::MessageOrigin;
use optionsflow_api::records::Batch as RecordBatch;
use optionsflow_api::runtime_config::{Batching, RuntimeConfig};
use optionsflow_api::{Reason, Role};

use super::{Destination, Refused, Span, WriterError};
use crate::bus::Bus;
use crate::engine::Running;
use crate::runtime::admin::Readiness;
use crate::runtime::metrics::Metrics;
use crate::sinks::WriteError;
use crate::sinks::db::{Database, DbError};
use crate::stages::process::Records;
use crate::stages::write::{Incoming, Rows};

pub struct DbDestination {
    pub database: Database,
    pub batching: Batching,
    pub metrics: Metrics,
}

/// The messages of a batch, kept apart so a refused one can be found.
#[derive(Default)]
pub struct DbPending {
    messages: Vec<(MessageOrigin, String, Records)>,
    rows: usize,
}

impl Destination for DbDestination {
    type Pending = DbPending;

    fn store(&self) -> &'static str {
        self.database.kind()
    }

    fn add(&self, pending: &mut DbPending, origin: &MessageOrigin, message: Incoming) {
        pending.rows += message.records.len();
        pending
            .messages
            .push((origin.clone(), message.symbol, message.records));
    }

    fn is_full(&self, pending: &DbPending) -> bool {
        pending.rows >= self.batching.max_rows as usize
    }

    fn max_wait(&self) -> Duration {
        Duration::from_millis(self.batching.max_wait_ms)
    }

    async fn flush(&self, pending: &DbPending, _span: &Span) -> Result<Vec<Refused>, WriteError> {
        let mut refused = Vec::new();
        let rows = Rows::of(pending.messages.iter().map(|m| &m.2));
        let written = match self.database.write(&rows).await {
            Ok(()) => rows,
            Err(e) if e.is_rejection() => {
                tracing::warn!(error = %e, "the database refused a batch; writing its messages one by one");
                self.one_by_one(pending, &mut refused).await?
            }
            Err(e) => return Err(e),
        };
        for (table, n) in written.counts() {
            self.metrics
                .writing
                .rows
                .with_label_values(&[self.database.kind(), table.as_str()])
                .inc_by(n as u64);
        }
        Ok(refused)
    }
}

impl DbDestination {
    /// Writes each message in its own transaction; the refused ones become dead letters.
    /// Returns the rows that were written.
    async fn one_by_one(
        &self,
        pending: &DbPending,
        refused: &mut Vec<Refused>,
    ) -> Result<Rows, WriteError> {
        let mut kept = Vec::new();
        for (origin, symbol, records) in &pending.messages {
            match self.database.write(&Rows::of([records])).await {
                Ok(()) => kept.push(records),
                Err(WriteError::Rejected { detail, .. }) => refused.push(Refused {
                    origin: Some(origin.clone()),
                    symbol: symbol.clone(),
                    reason: match self.database {
                        Database::Postgres(_) => Reason::RejectedByPostgresql,
                        Database::Sqlite(_) => Reason::RejectedBySqlite,
                    },
                    detail,
                    original: original(records),
                }),
                Err(e) => return Err(e),
            }
        }
        Ok(Rows::of(kept))
    }
}

/// A refused message's records, as the processor published them.
fn original(records: &Records) -> serde_json::Value {
    fn batch<R: serde::Serialize>(b: &RecordBatch<R>) -> serde_json::Value {
        serde_json::to_value(b).unwrap_or_default()
    }
    match records {
        Records::Bars(b) => batch(b),
        Records::Quotes(b) => batch(b),
    }
}

/// Why a role on the database (the db-writer, the predictor) stopped.
#[derive(Debug, thiserror::Error)]
pub enum WriteDbError {
    #[error("the predictor is off: set predictions in the runtime config")]
    PredictionsOff,
    #[error(transparent)]
    Database(#[from] DbError),
    #[error(transparent)]
    Writer(#[from] WriterError),
}

/// The database writer on `bus` until `running` stops ([`super::run`]), after migrating
/// the schema, with the dead letters' keeper beside it ([`super::dead_letters`]).
pub async fn run<B: Bus>(
    bus: &B,
    config: RuntimeConfig,
    metrics: Metrics,
    running: &Running,
) -> Result<(), WriteDbError> {
    let database = Database::migrated(&config, &running.shutdown).await?;
    tracing::info!(database = database.kind(), "schema up to date");
    let destination = DbDestination {
        database: database.clone(),
        batching: config.sinks.batching.clone(),
        metrics: metrics.clone(),
    };
    // The keeper has a readiness of its own, and the role is ready (the writer joins its
    // group) only once the keeper is: on the in-process bus a group sees only what is
    // published after it subscribed.
    let keeper = Running {
        ready: Readiness::default(),
        ..running.clone()
    };
    let records = async {
        while !keeper.ready.get() && !running.shutdown.is_cancelled() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        super::run(
            bus,
            &config,
            Role::DbWriter,
            destination,
            metrics.clone(),
            running,
        )
        .await
    };
    let letters = async {
        let kept =
            super::dead_letters::run(bus, &config, database.clone(), metrics.clone(), &keeper)
                .await;
        // A keeper that cannot run stops the role (and the writer waiting for it).
        if let Err(e) = &kept {
            running
                .halt
                .halt(format!("the dead-letter keeper failed: {e}"));
        }
        kept
    };
    let (records, letters) = tokio::join!(records, letters);
    database.close().await;
    // A halt (a refusing database, a failed keeper) stops both, and `records` says so.
    records?;
    letters.map_err(super::WriterError::from)?;
    Ok(())
}
