//! Test support for optionsflow's integration tests:
//!
//! - [`tansu`]: a real Kafka-compatible broker per test (tansu), started and killed here,
//!   plain or secured (SASL/SCRAM, with TLS and client certificates from [`stunnel`] and
//!   [`tls`]);
//! - [`kafka`]: creating topics and reading them back;
//! - [`fake`]: local HTTP servers speaking Twelve Data's, Yahoo's and Cboe's exact formats,
//!   errors and rate limits included, which record every request they answer;
//! - [`data`]: the deterministic market data those servers serve;
//! - [`fake_api`]: an in-memory Kubernetes API server for the operator's reconcile;
//! - [`kubelet`]: a container of the operator's output, resolved as a kubelet would;
//! - [`process`]: worker processes with their logs kept for failure reports;
//! - [`postgres`]: a database per test, or a private PostgreSQL server to stop and start;
//! - [`moto`]: an S3-compatible server (moto's);
//! - [`influx`]: an InfluxDB 1.x server;
//! - [`records`]: processed records and messages, as the processor publishes them.

pub mod data;
pub mod fake;
pub mod fake_api;
pub mod influx;
pub mod kafka;
pub mod kubelet;
pub mod moto;
pub mod postgres;
pub mod process;
pub mod records;
pub mod stunnel;
pub mod tansu;
pub mod tls;
