//! What every worker role shares: config loading, metrics, the admin HTTP server
//! (`/metrics`, `/healthz`, `/readyz`), graceful shutdown and structured logs.

pub mod admin;
pub mod config;
pub mod logging;
pub mod metrics;
pub mod shutdown;
