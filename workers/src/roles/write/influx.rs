//! `optionsflow-worker write-influx`: writes intraday bars to InfluxDB as line protocol
//! ([`crate::stages::write::line_protocol`]), consuming the processed 15-minute topic in a
//! consumer group of its own. InfluxDB has its own offsets, so an InfluxDB outage or a
//! refused token holds back only this role: PostgreSQL and the files keep flowing.
//!
//! A batch is one set of write requests; its offset is committed once InfluxDB accepted
//! every line. Lines InfluxDB refuses for their data (400, 413, 422) go to `dead-letter`;
//! when it refuses us (401, 403, or 404 for a database that does not exist) the role stops
//! with that reason, since nothing would get through until the configuration is fixed.

use std::time::Duration;

use optionsflow_api::runtime_config::{Batching, RuntimeConfig};
use optionsflow_api::{Dataset, MessageOrigin, Reason, Role};
use serde_json::json;

use super::{Destination, Refused, Span, WriterError};
use crate::bus::Bus;
use crate::engine::Running;
use crate::runtime::metrics::Metrics;
use crate::sinks::WriteError;
use crate::sinks::influx::{Influx, InfluxError};
use crate::stages::process::Records;
use crate::stages::write::{Incoming, Rows, line_protocol};

pub struct InfluxDestination {
    pub influx: Influx,
    pub batching: Batching,
    pub metrics: Metrics,
}

/// The bars of a batch, as their messages held them.
#[derive(Default)]
pub struct InfluxPending {
    messages: Vec<Records>,
    bars: usize,
}

impl Destination for InfluxDestination {
    type Pending = InfluxPending;

    fn store(&self) -> &'static str {
        "influxdb"
    }

    fn datasets(&self) -> &'static [Dataset] {
        &[Dataset::Intraday]
    }

    fn add(&self, pending: &mut InfluxPending, _origin: &MessageOrigin, message: Incoming) {
        pending.bars += message.records.len();
        pending.messages.push(message.records);
    }

    fn is_full(&self, pending: &InfluxPending) -> bool {
        pending.bars >= self.batching.max_rows as usize
    }

    fn max_wait(&self) -> Duration {
        Duration::from_millis(self.batching.max_wait_ms)
    }

    async fn flush(
        &self,
        pending: &InfluxPending,
        _span: &Span,
    ) -> Result<Vec<Refused>, WriteError> {
        let bars = Rows::of(&pending.messages).intraday_bars;
        if bars.is_empty() {
            return Ok(Vec::new());
        }
        let lines = line_protocol::encode(&bars);
        match self.influx.write(&lines).await {
            Ok(()) => {
                self.metrics
                    .writing
                    .rows
                    .with_label_values(&[self.store(), line_protocol::MEASUREMENT])
                    .inc_by(bars.len() as u64);
                Ok(Vec::new())
            }
            Err(WriteError::Rejected { detail, .. }) => {
                tracing::warn!(%detail, "InfluxDB refused intraday bars");
                Ok(vec![Refused {
                    origin: None,
                    symbol: String::new(),
                    reason: Reason::RejectedByInfluxdb,
                    detail,
                    original: json!({ "lineProtocol": lines }),
                }])
            }
            Err(e) => Err(e),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WriteInfluxError {
    #[error("no InfluxDB configured: set sinks.influxdb")]
    NoInfluxDb,
    #[error("environment variable {0} (the InfluxDB token) is not set")]
    MissingToken(String),
    #[error(transparent)]
    Influx(#[from] InfluxError),
    #[error(transparent)]
    Writer(#[from] WriterError),
}

/// The InfluxDB the config names, with its token from the environment.
pub fn influx(config: &RuntimeConfig) -> Result<Influx, WriteInfluxError> {
    let sink = config
        .sinks
        .influxdb
        .as_ref()
        .ok_or(WriteInfluxError::NoInfluxDb)?;
    let token = match &sink.token_env {
        Some(var) => {
            Some(std::env::var(var).map_err(|_| WriteInfluxError::MissingToken(var.clone()))?)
        }
        None => None,
    };
    Ok(Influx::new(sink, token.as_deref())?)
}

/// The InfluxDB writer on `bus` until `running` stops ([`super::run`]).
pub async fn run<B: Bus>(
    bus: &B,
    config: RuntimeConfig,
    metrics: Metrics,
    running: &Running,
) -> Result<(), WriteInfluxError> {
    let influx = influx(&config)?;
    tracing::info!(
        endpoint = influx.endpoint(),
        "writing intraday bars to InfluxDB"
    );
    let destination = InfluxDestination {
        influx,
        batching: config.sinks.batching.clone(),
        metrics: metrics.clone(),
    };
    super::run(
        bus,
        &config,
        Role::InfluxWriter,
        destination,
        metrics,
        running,
    )
    .await?;
    Ok(())
}
