//! optionsflow's data plane. The `optionsflow-worker` binary runs one role per process on
//! Kubernetes (or all of them in one process on a laptop); this library holds the pieces:
//!
//! - [`market`]: the NYSE calendar and OSI option symbols;
//! - [`sources`]: one client per provider (Twelve Data, Yahoo, Cboe);
//! - [`budget`]: provider budgets shared by collector replicas;
//! - [`bus`]: the message bus (Kafka), and publishing until acknowledged ([`bus::outbox`]);
//! - [`engine`]: the one partition worker every consuming role runs;
//! - [`stages`]: the pure steps between topics (processing, writing);
//! - [`sinks`]: the stores the writers write to (databases, InfluxDB, object stores);
//! - [`roles`]: one module per subcommand;
//! - [`runtime`]: config, metrics, admin server, shutdown and logs for every role.

pub mod budget;
pub mod bus;
pub mod engine;
pub mod market;
pub mod retry;
pub mod roles;
pub mod runtime;
pub mod sinks;
pub mod sources;
pub mod stages;
