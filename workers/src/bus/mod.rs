//! How stages exchange messages. On Kubernetes that is Kafka ([`kafka`]); in `local`, the
//! in-process [`local`] bus. Every message is an `optionsflow_api::Envelope` serialized as
//! JSON and keyed by symbol. A consuming role's `run` takes either as a [`Bus`], so the
//! roles `local` runs are the roles Kubernetes runs.

pub mod kafka;
pub mod lag;
pub mod local;
pub mod outbox;
pub mod partitions;
#[cfg(test)]
pub mod testing;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use optionsflow_api::Dataset;
use rdkafka::producer::FutureProducer;

use crate::engine::{Operator, Running};
pub use kafka::BusError;

/// Where a role's messages come from and go.
pub trait Bus: Send + Sync + 'static {
    type Publisher: Publisher + Clone;

    /// Somewhere to publish the role's output.
    fn publisher(&self) -> Result<Self::Publisher, BusError>;

    /// Joins `group` on `topics` (name → dataset) and runs `operator` on every partition it
    /// is given until `running.shutdown` and the grace period are over
    /// ([`crate::engine::run_partitions`]).
    fn consume<O: Operator>(
        &self,
        group: &str,
        topics: HashMap<String, Dataset>,
        operator: Arc<O>,
        running: &Running,
    ) -> impl Future<Output = Result<(), BusError>> + Send;
}

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
