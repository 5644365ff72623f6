//! Local stand-ins for the providers' HTTP APIs. Each speaks its provider's exact format
//! (docs/market-data.md), errors included, and records what it answered.

pub mod cboe;
pub mod twelvedata;
pub mod yahoo;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use chrono::{DateTime, NaiveDate, Utc};

/// The market an option-chain stand-in serves (Yahoo's and Cboe's alike).
#[derive(Clone, Debug)]
pub struct Market {
    /// The provider's "today" (the last day with data).
    pub today: NaiveDate,
    /// Symbols it does not know.
    pub unknown: Vec<String>,
    /// Underlyings that are indices, asked for under a mark (`^SPX`, `_SPX`).
    pub indices: Vec<String>,
}

impl Market {
    /// `today`'s market, where ZZZZ is unknown and SPX an index.
    pub fn new(today: NaiveDate) -> Market {
        Market {
            today,
            unknown: vec!["ZZZZ".into()],
            indices: vec!["SPX".into()],
        }
    }

    pub fn is_index(&self, symbol: &str) -> bool {
        self.indices.iter().any(|i| i == symbol)
    }

    /// Whether `symbol`, asked for with or without the index mark, is served: a known
    /// symbol, marked exactly when it is an index.
    pub fn serves(&self, symbol: &str, marked: bool) -> bool {
        !self.unknown.iter().any(|u| u == symbol) && self.is_index(symbol) == marked
    }
}

/// A running fake: its address, and the server task (stopped on drop).
pub struct Server {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    pub async fn start(app: Router, port: u16) -> Server {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("the fake provider binds");
        let addr = listener.local_addr().expect("bound");
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("the fake provider serves");
        });
        Server { addr, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What a stand-in's handlers share: its config, and `S`, what it has answered and been
/// told to do.
pub struct Shared<C, S> {
    config: C,
    state: Arc<Mutex<S>>,
}

impl<C: Clone, S> Clone for Shared<C, S> {
    fn clone(&self) -> Self {
        Shared {
            config: self.config.clone(),
            state: self.state.clone(),
        }
    }
}

/// A provider's stand-in, implemented by the state its handlers keep: its config and its
/// routes.
pub trait Provider: Default + Send + 'static {
    type Config: Clone + Send + Sync + 'static;
    fn routes() -> Router<Shared<Self::Config, Self>>;
}

/// A running stand-in of a provider.
pub struct Fake<P: Provider> {
    pub server: Server,
    shared: Shared<P::Config, P>,
}

impl<P: Provider> Fake<P> {
    pub async fn start(config: P::Config) -> Fake<P> {
        Fake::start_on(config, 0).await
    }

    /// On `port` (0: any free one); a test restarts a fake on the port it had.
    pub async fn start_on(config: P::Config, port: u16) -> Fake<P> {
        let shared = Shared {
            config,
            state: Arc::default(),
        };
        let app = P::routes().with_state(shared.clone());
        Fake {
            server: Server::start(app, port).await,
            shared,
        }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    /// What the stand-in keeps, locked.
    fn state(&self) -> std::sync::MutexGuard<'_, P> {
        self.shared.state.lock().unwrap()
    }
}

/// One request a fake answered.
#[derive(Clone, Debug, PartialEq)]
pub struct Logged {
    pub at: DateTime<Utc>,
    pub path: String,
    /// The API key (Twelve Data) or cookie/crumb state (Yahoo), as the fake saw it.
    pub who: String,
    pub symbols: Vec<String>,
    pub status: u16,
    /// A short label for what the fake did: `ok`, `minute_limit`, `day_limit`, ...
    pub outcome: String,
}
