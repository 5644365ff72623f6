//! The optionsflow operator: reconciles `OptionsPipeline` and `SymbolSet` objects into Kafka
//! topics, worker Deployments, CronJobs and the runtime config the workers read.

pub mod crds;
