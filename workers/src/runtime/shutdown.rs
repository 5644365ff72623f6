//! Graceful shutdown: the first SIGTERM or Ctrl-C cancels the returned token, so roles finish
//! what they are doing, commit and leave their consumer group; a second one exits at once.

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

pub fn on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: finishing the current work, then stopping"),
            _ = int.recv() => tracing::info!("interrupted: finishing the current work, then stopping"),
        }
        cancel.cancel();
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::warn!("second signal: stopping now");
        std::process::exit(130);
    });
    token
}
