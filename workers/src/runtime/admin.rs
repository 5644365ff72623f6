//! The admin HTTP server every long-running role exposes: `/metrics` for Prometheus,
//! `/healthz` (the process is alive and getting on with the work it holds: see
//! [`Liveness`]) and `/readyz` (it can do its work now).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio_util::sync::CancellationToken;

use super::liveness::Liveness;
use super::metrics::Metrics;

/// Readiness, set by the role when it is connected and working.
#[derive(Clone, Debug, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::Relaxed);
    }
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Clone)]
struct AdminState {
    ready: Readiness,
    live: Liveness,
}

/// Starts a role's admin server on its `--admin-addr`; returns the readiness flag the role
/// sets once it is working.
pub async fn start(
    options: &crate::runtime::RoleOptions,
    metrics: &Metrics,
    shutdown: &CancellationToken,
) -> std::io::Result<Readiness> {
    let ready = Readiness::default();
    serve(
        options.admin_addr,
        metrics.clone(),
        ready.clone(),
        options.liveness.clone(),
        shutdown.clone(),
    )
    .await?;
    Ok(ready)
}

/// Binds `addr` and serves until `shutdown`; returns the bound address (useful with port 0).
pub async fn serve(
    addr: SocketAddr,
    metrics: Metrics,
    ready: Readiness,
    live: Liveness,
    shutdown: CancellationToken,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(metrics_route(metrics))
        .with_state(AdminState { ready, live });
    tokio::spawn(async move {
        let result = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "admin server failed");
        }
    });
    tracing::info!(%bound, "admin server listening");
    Ok(bound)
}

/// `/metrics` in Prometheus' text format, for any router (the admin server's, and `local`'s
/// API server, which has no admin server beside it).
pub fn metrics_route<S: Clone + Send + Sync + 'static>(metrics: Metrics) -> Router<S> {
    Router::new().route(
        "/metrics",
        get(move || {
            let text = metrics.render();
            async move { ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text) }
        }),
    )
}

async fn healthz(State(state): State<AdminState>) -> impl IntoResponse {
    let stalled = state.live.stalled();
    if stalled.is_empty() {
        return (StatusCode::OK, "ok\n".to_owned());
    }
    let list: Vec<String> = stalled
        .iter()
        .map(|(holder, quiet)| format!("{holder} ({} s)", quiet.as_secs()))
        .collect();
    tracing::error!(stalled = %list.join(", "), "work held without progress; failing /healthz");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        format!(
            "stalled: no progress for over {} s on the work held by {}\n",
            state.live.limit().as_secs(),
            list.join(", ")
        ),
    )
}

async fn readyz(State(state): State<AdminState>) -> impl IntoResponse {
    if state.ready.get() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}
