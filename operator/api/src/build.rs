//! What every optionsflow binary says about itself on `/metrics`: which build it is
//! (`optionsflow_build_info`) and how its process is doing (CPU, memory, open files: the
//! `process_*` metrics Prometheus' own clients export).

use prometheus::process_collector::ProcessCollector;
use prometheus::{IntGaugeVec, Opts, Registry};

/// The crate version every binary of the workspace shares.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The Git commit the binary was built from: `OPTIONSFLOW_COMMIT` at build time (the
/// Dockerfile passes its `COMMIT` build argument), `unknown` otherwise.
pub const COMMIT: &str = match option_env!("OPTIONSFLOW_COMMIT") {
    Some(commit) => commit,
    None => "unknown",
};

/// Registers `optionsflow_build_info{version, commit, binary} 1` and the process collector.
pub fn register(registry: &Registry, binary: &str) -> prometheus::Result<()> {
    let info = IntGaugeVec::new(
        Opts::new(
            "optionsflow_build_info",
            "Always 1; the labels say which build of which binary this process runs.",
        ),
        &["version", "commit", "binary"],
    )?;
    info.with_label_values(&[VERSION, COMMIT, binary]).set(1);
    registry.register(Box::new(info))?;
    registry.register(Box::new(ProcessCollector::for_self()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus::Encoder;

    #[test]
    fn build_info_and_process_metrics_are_exported() {
        let registry = Registry::new();
        register(&registry, "optionsflow-worker").unwrap();
        let mut out = Vec::new();
        prometheus::TextEncoder::new()
            .encode(&registry.gather(), &mut out)
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains(&format!(
                "optionsflow_build_info{{binary=\"optionsflow-worker\",commit=\"{COMMIT}\",version=\"{VERSION}\"}} 1"
            )),
            "{text}"
        );
        for name in [
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_open_fds",
        ] {
            assert!(text.contains(name), "{name} missing:\n{text}");
        }
    }
}
