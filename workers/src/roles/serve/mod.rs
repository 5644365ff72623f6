//! `optionsflow-worker serve`: the data API over PostgreSQL or SQLite, its OpenAPI document
//! and the web page.
//!
//! - `/api/v1/...` ([`api`]): symbols, bars, chains, a contract's history, the smile, the
//!   term structure, predictions; JSON or CSV; keyset pagination; bearer tokens; and the
//!   pipeline's [`status`] per dataset.
//! - `/openapi.json` ([`openapi`]) and `/` (the page, [`page`]) need no token: the page asks
//!   for one when the API does.
//! - Errors are `application/problem+json` ([`problem`]).
//!
//! Tokens come from the environment (`OPTIONSFLOW_API_TOKENS`, which a Secret's key fills on
//! Kubernetes) or a file (a mounted Secret), separated by commas or line breaks. `serve` refuses to
//! start without any unless told `--no-auth`; `local` serves without tokens on loopback only.
//!
//! Under load the API stays answerable: at most [`MAX_CONCURRENT_REQUESTS`] requests run at
//! once (the rest wait), a request not answered within [`REQUEST_TIMEOUT`] gets a 503, and
//! PostgreSQL cancels a statement after [`STATEMENT_TIMEOUT`] (a clean 503 problem first).

pub mod api;
pub mod format;
pub mod openapi;
pub mod page;
pub mod problem;
pub mod query;
pub mod status;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use optionsflow_api::RuntimeConfig;
use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::runtime::RoleOptions;
use crate::runtime::admin;
use crate::runtime::metrics::{HttpMetrics, Metrics};
use crate::sinks::db::Database;
use crate::sinks::db::DbError;
use problem::Problem;

/// Environment variable with the API's bearer tokens, separated by commas or line breaks.
pub const TOKENS_ENV: &str = optionsflow_api::role::env::API_TOKENS;

/// Requests served at once; more wait their turn (within [`REQUEST_TIMEOUT`]). Twice the
/// database pool, so that queries, not connections, are what requests wait for.
pub const MAX_CONCURRENT_REQUESTS: usize = 16;

/// A request not answered by then gets `503 Service Unavailable`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// PostgreSQL cancels an API statement that runs longer (shorter than the request timeout,
/// so the caller gets the problem document that says the database was too slow).
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(20);

/// Who may call the API.
#[derive(Clone, Debug)]
pub enum Access {
    /// Anyone (`local`, or `serve --no-auth`).
    Open,
    /// Holders of one of these tokens, kept as SHA-256 digests.
    Tokens(Arc<Vec<[u8; 32]>>),
}

impl Access {
    pub fn tokens<I: IntoIterator<Item = String>>(tokens: I) -> Access {
        let digests: Vec<[u8; 32]> = tokens
            .into_iter()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .map(|t| Sha256::digest(t.as_bytes()).into())
            .collect();
        Access::Tokens(Arc::new(digests))
    }

    /// Compares digests, so the time taken says nothing about how much of a token matched.
    fn allows(&self, presented: Option<&str>) -> bool {
        match self {
            Access::Open => true,
            Access::Tokens(digests) => presented.is_some_and(|token| {
                let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
                digests.iter().any(|d| {
                    d.iter()
                        .zip(digest.iter())
                        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                        == 0
                })
            }),
        }
    }
}

#[derive(Clone)]
pub struct ApiState {
    pub database: Database,
    pub access: Access,
    /// The pipeline's datasets and schedules, for the status view.
    pub config: Arc<RuntimeConfig>,
    /// Where request durations and in-flight requests are counted.
    pub metrics: Metrics,
    /// Serve `/metrics` beside the API too (`local`, which has no admin server; `serve` has
    /// one on its admin address).
    pub metrics_page: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source} (choose another address with --listen)")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the API tokens from {path}: {source}")]
    Tokens {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "no API tokens: set {TOKENS_ENV} or --tokens-file (from a Secret), or pass --no-auth to serve without authentication"
    )]
    NoTokens,
    #[error(transparent)]
    Database(#[from] DbError),
    #[error("cannot start the admin server: {0}")]
    Admin(#[source] std::io::Error),
}

/// The API, the OpenAPI document and the page.
pub fn router(state: ApiState) -> Router {
    let api = Router::new()
        .route("/symbols", get(api::symbols))
        .route("/bars/{symbol}", get(api::bars))
        .route("/options/{underlying}/expiries", get(api::expiries))
        .route("/options/{underlying}/chain", get(api::chain))
        .route("/options/{underlying}/smile", get(api::smile_of))
        .route(
            "/options/{underlying}/term-structure",
            get(api::term_structure),
        )
        .route(
            "/options/contracts/{contract}/history",
            get(api::contract_history),
        )
        .route("/predictions/{symbol}", get(api::predictions))
        .route("/backtest", get(api::backtest))
        .route("/volatility/{symbol}", get(api::volatility))
        .route("/status", get(status::status))
        .fallback(|| async { Problem::not_found("no such API endpoint: see /openapi.json") })
        .route_layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(tower::limit::ConcurrencyLimitLayer::new(
            MAX_CONCURRENT_REQUESTS,
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ));
    let mut app = Router::new()
        .nest("/api/v1", api)
        .route("/", get(page::index))
        .route("/openapi.json", get(openapi::document))
        .route("/healthz", get(|| async { "ok\n" }));
    if state.metrics_page {
        app = app.merge(admin::metrics_route(state.metrics.clone()));
    }
    let http = state.metrics.http.clone();
    app.fallback(|| async { Problem::not_found("no such page: the API is under /api/v1") })
        .layer(middleware::from_fn_with_state(http, track))
        .with_state(state)
}

/// Counts a request in `optionsflow_http_requests_in_flight` while it is answered, then its
/// duration by method, route pattern (`/api/v1/bars/{symbol}`, never the symbol: bounded
/// labels) and status; requests no route matched are `unmatched`.
async fn track(State(http): State<HttpMetrics>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    http.in_flight.inc();
    // Dropped if the client goes away mid-request, so the gauge still comes down.
    let _in_flight = InFlight(http.in_flight.clone());
    let response = next.run(request).await;
    http.duration
        .with_label_values(&[&method, &route, response.status().as_str()])
        .observe(started.elapsed().as_secs_f64());
    response
}

/// Decrements the in-flight gauge when dropped.
struct InFlight(prometheus::IntGauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

async fn authenticate(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if state.access.allows(presented) {
        next.run(request).await
    } else {
        let detail = if presented.is_some() {
            "the bearer token is not one of the API's tokens"
        } else {
            "send Authorization: Bearer <token>"
        };
        Problem::unauthorized(detail).into_response()
    }
}

/// A running API server.
pub struct Server {
    pub local_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Server {
    /// Waits for the server to finish after its shutdown token was cancelled.
    pub async fn stopped(self) {
        let _ = self.task.await;
    }
}

/// Binds `listen` and serves until `shutdown`.
pub async fn start(
    listen: SocketAddr,
    state: ApiState,
    shutdown: CancellationToken,
) -> Result<Server, ServeError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| ServeError::Listen {
            addr: listen,
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| ServeError::Listen {
        addr: listen,
        source,
    })?;
    let app = router(state);
    let task = tokio::spawn(async move {
        let result = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "API server failed");
        }
    });
    tracing::info!(%local_addr, "API listening");
    Ok(Server { local_addr, task })
}

/// The tokens `serve` accepts: the environment's and the file's. Either may hold several,
/// separated by commas or line breaks (a Secret's key often holds one per line).
pub fn access(
    env: crate::runtime::preflight::Env<'_>,
    tokens_file: Option<&Path>,
    no_auth: bool,
) -> Result<Access, ServeError> {
    if no_auth {
        return Ok(Access::Open);
    }
    let mut text = env(TOKENS_ENV).unwrap_or_default();
    if let Some(path) = tokens_file {
        let file = std::fs::read_to_string(path).map_err(|source| ServeError::Tokens {
            path: path.display().to_string(),
            source,
        })?;
        text.push('\n');
        text.push_str(&file);
    }
    let tokens = optionsflow_api::role::env::items(&text).map(str::to_owned);
    match Access::tokens(tokens) {
        Access::Tokens(t) if t.is_empty() => Err(ServeError::NoTokens),
        access => Ok(access),
    }
}

/// `optionsflow-worker serve`: the API on `listen` over the config's database.
pub async fn run(
    config: RuntimeConfig,
    listen: SocketAddr,
    access: Access,
    options: RoleOptions,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    let metrics = Metrics::new();
    let ready = admin::start(&options, &metrics, &shutdown)
        .await
        .map_err(ServeError::Admin)?;
    let database = Database::from_config(&config)?.with_statement_timeout(STATEMENT_TIMEOUT);
    let state = ApiState {
        database: database.clone(),
        access,
        config: Arc::new(config),
        metrics,
        metrics_page: false,
    };
    let server = start(listen, state, shutdown).await?;
    ready.set(true);
    server.stopped().await;
    database.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_checked_whole() {
        let access = Access::tokens(["s3cret".to_owned(), " other ".to_owned(), String::new()]);
        assert!(access.allows(Some("s3cret")));
        assert!(access.allows(Some("other")));
        assert!(!access.allows(Some("s3cre")));
        assert!(!access.allows(Some("")));
        assert!(!access.allows(None));
        assert!(Access::Open.allows(None));
    }
}
