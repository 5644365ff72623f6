//! `optionsflow-worker write-files`: stores processed records as CSV files in S3 (or a local
//! folder), one file per dataset, day and batch of offsets
//! ([`crate::stages::write::objects`]).
//!
//! A file is closed when it holds `sinks.files.maxBytes` of CSV or its first message is
//! `sinks.files.maxAgeSeconds` old. If a previous owner of the partition uploaded a batch
//! but died before committing, the new owner finds that object by its first offset and cuts
//! its batch at the same last offset, so the upload replaces it instead of repeating rows.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::NaiveDate;
use optionsflow_api::Role;
use optionsflow_api::runtime_config::{FileRolling, RuntimeConfig};
use optionsflow_api::{Dataset, MessageOrigin};

use super::{Destination, Refused, Span, WriterError};
use crate::bus::Bus;
use crate::engine::Running;
use crate::runtime::metrics::Metrics;
use crate::sinks::WriteError;
use crate::sinks::objects::ObjectStore;
use crate::sinks::objects::folder::Folder;
use crate::sinks::objects::s3::S3Store;
use crate::stages::write::{Incoming, csv, objects};

pub struct FilesDestination {
    pub store: ObjectStore,
    pub prefix: String,
    pub rolling: FileRolling,
    pub metrics: Metrics,
}

/// CSV rows (no header yet) by day.
#[derive(Default)]
pub struct FilesPending {
    days: BTreeMap<NaiveDate, Vec<u8>>,
    bytes: usize,
}

impl Destination for FilesDestination {
    type Pending = FilesPending;

    fn store(&self) -> &'static str {
        match self.store {
            ObjectStore::S3(_) => "s3",
            ObjectStore::Folder(_) => "folder",
        }
    }

    fn add(&self, pending: &mut FilesPending, _origin: &MessageOrigin, message: Incoming) {
        if message.records.is_empty() {
            return;
        }
        let rows = csv::rows(&message.records);
        pending.bytes += rows.len();
        pending
            .days
            .entry(message.day())
            .or_default()
            .extend_from_slice(&rows);
    }

    fn is_full(&self, pending: &FilesPending) -> bool {
        pending.bytes as u64 >= self.rolling.max_bytes
    }

    fn max_wait(&self) -> Duration {
        Duration::from_secs(self.rolling.max_age_seconds)
    }

    async fn boundary(
        &self,
        first: &MessageOrigin,
        dataset: Dataset,
        day: NaiveDate,
    ) -> Result<Option<i64>, WriteError> {
        let prefix = objects::batch_prefix(
            &self.prefix,
            dataset,
            day,
            &first.topic,
            first.partition,
            first.offset,
        );
        let keys = self.store.list(&prefix).await?;
        Ok(keys.iter().filter_map(|k| objects::last_offset(k)).max())
    }

    async fn flush(&self, pending: &FilesPending, span: &Span) -> Result<Vec<Refused>, WriteError> {
        for (day, rows) in &pending.days {
            let batch = objects::batch_prefix(
                &self.prefix,
                span.dataset,
                *day,
                &span.topic,
                span.partition,
                span.first,
            );
            let key = objects::key(&batch, span.last);
            let mut body = csv::header(span.dataset);
            body.extend_from_slice(rows);
            self.store.put(&key, body).await?;
            tracing::info!(%key, bytes = rows.len(), "file stored");
            self.metrics
                .writing
                .files
                .with_label_values(&[span.dataset.as_str()])
                .inc();
        }
        Ok(Vec::new())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WriteFilesError {
    #[error("no file store configured: set sinks.s3 or sinks.folder")]
    NoStore,
    #[error(transparent)]
    Writer(#[from] WriterError),
}

/// The store the config names: a local folder if `sinks.folder` is set, else S3.
pub async fn object_store(
    config: &RuntimeConfig,
) -> Result<(ObjectStore, String), WriteFilesError> {
    if let Some(folder) = &config.sinks.folder {
        return Ok((
            ObjectStore::Folder(Folder::new(&folder.path)),
            String::new(),
        ));
    }
    let s3 = config.sinks.s3.as_ref().ok_or(WriteFilesError::NoStore)?;
    Ok((ObjectStore::S3(S3Store::new(s3).await), s3.prefix.clone()))
}

/// The file writer on `bus` until `running` stops ([`super::run`]).
pub async fn run<B: Bus>(
    bus: &B,
    config: RuntimeConfig,
    metrics: Metrics,
    running: &Running,
) -> Result<(), WriteFilesError> {
    let (store, prefix) = object_store(&config).await?;
    tracing::info!(location = %store.location(), %prefix, "writing CSV files");
    let destination = FilesDestination {
        store,
        prefix,
        rolling: config.sinks.files.clone(),
        metrics: metrics.clone(),
    };
    super::run(
        bus,
        &config,
        Role::FileWriter,
        destination,
        metrics,
        running,
    )
    .await?;
    Ok(())
}
