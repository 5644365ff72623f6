//! The budget ledger: before credits of a partition with a day limit are spent, the
//! partition's day usage (after the spending) is written to partition `p` of the
//! `budget-ledger` topic. Whoever owns `task-queue` partition `p` next reads the last record
//! of ledger partition `p` and carries on from there. Writing first means a crash can only
//! make us count credits we did not spend, never the reverse.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use optionsflow_api::runtime_config::KafkaSettings;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::FutureProducer;
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};

use super::gate::{GateError, GateIo};
use crate::bus::kafka::{self, BusError};

/// One partition's day usage, per account id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerRecord {
    pub partition: u32,
    /// UTC day the counts are for.
    pub day: NaiveDate,
    /// Credits spent today from this partition's share, by account id.
    pub used: BTreeMap<String, u32>,
    /// Who wrote it (for people reading the topic).
    pub writer: String,
    pub written_at: DateTime<Utc>,
}

/// The ledger on Kafka, plus the `task-queue` partition count the shares depend on.
pub struct KafkaLedger {
    producer: FutureProducer,
    reader: Arc<BaseConsumer>,
    ledger_topic: String,
    task_topic: String,
}

impl KafkaLedger {
    pub fn new(
        settings: &KafkaSettings,
        producer: FutureProducer,
        ledger_topic: String,
        task_topic: String,
    ) -> Result<KafkaLedger, BusError> {
        Ok(KafkaLedger {
            producer,
            reader: Arc::new(kafka::reader(settings, &format!("{ledger_topic}-reader"))?),
            ledger_topic,
            task_topic,
        })
    }
}

impl GateIo for KafkaLedger {
    async fn partition_count(&self) -> Result<u32, GateError> {
        let reader = self.reader.clone();
        let task = self.task_topic.clone();
        let ledger = self.ledger_topic.clone();
        tokio::task::spawn_blocking(move || {
            let tasks = kafka::partition_count(reader.client(), &task)?;
            let records = kafka::partition_count(reader.client(), &ledger)?;
            if records < tasks {
                return Err(GateError::LedgerTooSmall {
                    ledger,
                    ledger_partitions: records,
                    task_partitions: tasks,
                });
            }
            Ok(tasks)
        })
        .await
        .map_err(|e| GateError::Io(e.to_string()))?
    }

    async fn read_ledger(&self, partition: u32) -> Result<Option<LedgerRecord>, GateError> {
        let reader = self.reader.clone();
        let topic = self.ledger_topic.clone();
        tokio::task::spawn_blocking(move || read_last(&reader, &topic, partition as i32))
            .await
            .map_err(|e| GateError::Io(e.to_string()))?
    }

    async fn write_ledger(&self, records: Vec<LedgerRecord>) -> Result<(), GateError> {
        for record in records {
            let value = serde_json::to_vec(&record).expect("ledger records serialize");
            let key = format!("partition-{}", record.partition);
            kafka::publish(
                &self.producer,
                &self.ledger_topic,
                Some(record.partition as i32),
                &key,
                &value,
            )
            .await?;
        }
        Ok(())
    }
}

/// The last record of one ledger partition, if it has any.
fn read_last(
    reader: &BaseConsumer,
    topic: &str,
    partition: i32,
) -> Result<Option<LedgerRecord>, GateError> {
    let timeout = Duration::from_secs(10);
    let (low, high) = reader
        .fetch_watermarks(topic, partition, timeout)
        .map_err(|source| BusError::Metadata {
            topic: topic.to_owned(),
            source,
        })?;
    if high <= low {
        return Ok(None);
    }
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, partition, Offset::Offset(high - 1))
        .map_err(|e| GateError::Io(e.to_string()))?;
    reader
        .assign(&assignment)
        .map_err(|e| GateError::Io(e.to_string()))?;
    let deadline = std::time::Instant::now() + timeout;
    let result = loop {
        if std::time::Instant::now() > deadline {
            break Err(GateError::Io(format!(
                "no record read from {topic}[{partition}] at offset {} within {timeout:?}",
                high - 1
            )));
        }
        match reader.poll(Duration::from_millis(200)) {
            Some(Ok(message)) if message.partition() == partition => {
                let payload = message.payload().unwrap_or_default();
                break serde_json::from_slice(payload)
                    .map(Some)
                    .map_err(|e| GateError::Io(format!("unreadable ledger record: {e}")));
            }
            Some(Ok(_)) | None => continue,
            Some(Err(e)) => break Err(GateError::Io(e.to_string())),
        }
    };
    let _ = reader.unassign();
    result
}
