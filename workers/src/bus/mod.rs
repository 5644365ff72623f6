//! How stages exchange messages. On Kubernetes that is Kafka ([`kafka`]); in `local`, the
//! in-process [`local`] bus. Every message is an `optionsflow_api::Envelope` serialized as
//! JSON and keyed by symbol.

pub mod kafka;
pub mod local;
pub mod outbox;
pub mod partitions;
#[cfg(test)]
pub mod testing;

use std::future::Future;

use rdkafka::producer::FutureProducer;

pub use kafka::BusError;

/// Somewhere to put messages; returns once the message is safely stored (on Kafka: once the
/// broker acknowledged it).
pub trait Publisher: Send + Sync + 'static {
    fn publish(
        &self,
        topic: &str,
        key: &str,
        value: Vec<u8>,
    ) -> impl Future<Output = Result<(), BusError>> + Send;
}

impl Publisher for FutureProducer {
    async fn publish(&self, topic: &str, key: &str, value: Vec<u8>) -> Result<(), BusError> {
        kafka::publish(self, topic, None, key, &value)
            .await
            .map(|_| ())
    }
}
