//! Structured logs on stderr: JSON for the long-running roles (what log collectors want),
//! plain text for the tools people run by hand. `RUST_LOG` sets the level (default `info`).

use tracing_subscriber::EnvFilter;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Json,
    Text,
}

pub fn init(format: LogFormat, default_level: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        // `spans`: every span the line is in, with its fields (the reconcile, the task, the
        // partition and batch), so a line can be tied to what it belongs to.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .try_init(),
        LogFormat::Text => builder.with_ansi(false).try_init(),
    };
}
