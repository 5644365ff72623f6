//! What every worker role shares: config loading, metrics, the admin HTTP server
//! (`/metrics`, `/healthz`, `/readyz`), graceful shutdown and structured logs.

pub mod admin;
pub mod config;
pub mod liveness;
pub mod logging;
pub mod metrics;
pub mod preflight;
pub mod shutdown;

/// How a long-running role serves and stops.
#[derive(Clone, Debug)]
pub struct RoleOptions {
    /// Address of `/metrics`, `/healthz` and `/readyz`.
    pub admin_addr: std::net::SocketAddr,
    /// How long the work in hand (a task, a message, a batch) may go on after SIGTERM before
    /// it is given up, uncommitted, to be redone elsewhere.
    pub shutdown_grace: std::time::Duration,
    /// What `/healthz` watches: a worker holding work without progress for longer than its
    /// limit fails it.
    pub liveness: liveness::Liveness,
}

impl RoleOptions {
    /// Starts the role's admin server; returns how the role runs under `shutdown`.
    pub async fn start(
        &self,
        metrics: &metrics::Metrics,
        shutdown: &tokio_util::sync::CancellationToken,
    ) -> std::io::Result<crate::engine::Running> {
        let ready = admin::start(self, metrics, shutdown).await?;
        Ok(crate::engine::Running::new(
            shutdown,
            self.shutdown_grace,
            ready,
            self.liveness.clone(),
        ))
    }
}
