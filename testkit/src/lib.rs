//! Test support for optionsflow's integration tests:
//!
//! - [`tansu`]: a real Kafka-compatible broker per test (tansu), started and killed here;
//! - [`kafka`]: creating topics and reading them back;
//! - [`fake`]: local HTTP servers speaking Twelve Data's, Yahoo's and Cboe's exact formats,
//!   errors and rate limits included, which record every request they answer;
//! - [`data`]: the deterministic market data those servers serve;
//! - [`process`]: worker processes with their logs kept for failure reports.

pub mod data;
pub mod fake;
pub mod kafka;
pub mod process;
pub mod tansu;
