//! Local stand-ins for the providers' HTTP APIs. Each speaks its provider's exact format
//! (docs/market-data.md), errors included, and records what it answered.

pub mod cboe;
pub mod twelvedata;
pub mod yahoo;

use std::net::SocketAddr;

use axum::Router;
use chrono::{DateTime, Utc};

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
