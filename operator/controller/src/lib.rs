//! The optionsflow operator: reconciles `OptionsPipeline` and `SymbolSet` objects into Kafka
//! topics, worker Deployments, CronJobs and the runtime config the workers read.

pub mod build;
pub mod crds;
pub mod error;
pub mod names;
pub mod roles;
pub mod status;
pub mod topics;
pub mod validate;
