//! The consumer-group callbacks that tell the budget gate which `task-queue` partitions, and
//! so which credits, this collector owns.

use std::sync::Arc;

use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::topic_partition_list::TopicPartitionList;

use crate::budget::{BudgetGate, GateIo};

pub struct GateContext<Io> {
    gate: Arc<BudgetGate<Io>>,
    topic: String,
}

impl<Io> GateContext<Io> {
    pub fn new(gate: Arc<BudgetGate<Io>>, topic: String) -> Self {
        GateContext { gate, topic }
    }

    fn partitions(&self, list: &TopicPartitionList) -> Vec<u32> {
        list.elements()
            .iter()
            .filter(|e| e.topic() == self.topic)
            .map(|e| e.partition() as u32)
            .collect()
    }
}

impl<Io: GateIo> ClientContext for GateContext<Io> {}

impl<Io: GateIo> ConsumerContext for GateContext<Io> {
    // Revocation happens before anyone else is given the partitions; the collector handles
    // one task at a time and only polls between tasks, so no request is in flight here.
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(list) = rebalance {
            let partitions = self.partitions(list);
            tracing::info!(?partitions, "task-queue partitions revoked");
            self.gate.revoke(&partitions);
        }
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(list) => {
                let partitions = self.partitions(list);
                tracing::info!(?partitions, "task-queue partitions assigned");
                self.gate.assign(&partitions);
            }
            Rebalance::Error(e) => tracing::warn!(error = %e, "rebalance failed"),
            Rebalance::Revoke(_) => {}
        }
    }
}
