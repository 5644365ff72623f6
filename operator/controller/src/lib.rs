//! The optionsflow operator: reconciles `OptionsPipeline` and `SymbolSet` objects into Kafka
//! topics, worker Deployments, CronJobs and the runtime config the workers read.

pub mod budget;
pub mod build;
pub mod crds;
pub mod error;
pub mod metrics;
pub mod names;
pub mod reconcile;
pub mod render;
pub mod roles;
pub mod run;
pub mod status;
pub mod symbolsets;
pub mod topics;
pub mod validate;
