//! An in-memory broker for unit tests.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use serde_json::Value;

use super::{BusError, Publisher};

/// Refuses the first `failures` publishes, then stores messages; refuses for good any
/// message larger than `max_bytes`, as Kafka does past `message.max.bytes`.
#[derive(Default)]
pub struct FlakyBroker {
    pub failures: usize,
    pub max_bytes: Option<usize>,
    /// Fails every publish as a producer that failed for good.
    pub fatal: bool,
    pub attempts: AtomicUsize,
    /// (topic, key, value) of every message stored.
    pub stored: Mutex<Vec<(String, String, Value)>>,
}

impl Publisher for FlakyBroker {
    async fn publish(&self, topic: &str, key: &str, value: Vec<u8>) -> Result<(), BusError> {
        if self.max_bytes.is_some_and(|max| value.len() > max) {
            return Err(BusError::Publish {
                topic: topic.to_owned(),
                source: KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge),
            });
        }
        if self.fatal {
            return Err(BusError::ProducerFailed {
                reason: "Fatal: OUT_OF_ORDER_SEQUENCE_NUMBER".into(),
            });
        }
        if self.attempts.fetch_add(1, Ordering::SeqCst) < self.failures {
            return Err(BusError::Publish {
                topic: topic.to_owned(),
                source: KafkaError::MessageProduction(RDKafkaErrorCode::BrokerTransportFailure),
            });
        }
        let value = serde_json::from_slice(&value).unwrap();
        self.stored
            .lock()
            .unwrap()
            .push((topic.to_owned(), key.to_owned(), value));
        Ok(())
    }
}
