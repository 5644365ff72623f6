//! Reading the runtime config file the operator mounts from a ConfigMap (or that people
//! write for `local`), with errors that say which file and which field.

use std::path::{Path, PathBuf};

use optionsflow_api::RuntimeConfig;
use optionsflow_api::runtime_config::ConfigError;

/// Where the operator mounts the runtime config.
pub const DEFAULT_PATH: &str = "/etc/optionsflow/runtime.json";

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read runtime config {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("runtime config {path}: {source}")]
    Invalid {
        path: PathBuf,
        #[source]
        source: ConfigError,
    },
}

pub fn load(path: &Path) -> Result<RuntimeConfig, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_owned(),
        source,
    })?;
    RuntimeConfig::from_json(&text).map_err(|source| LoadError::Invalid {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_file_and_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.json");
        let err = load(&missing).unwrap_err().to_string();
        assert!(err.contains("nope.json"), "{err}");

        let bad = dir.path().join("bad.json");
        std::fs::write(
            &bad,
            r#"{"pipeline":{"namespace":"a","name":"b"},"kafka":{"bootstrapServers":"x","partitions":"five"}}"#,
        )
        .unwrap();
        let err = load(&bad).unwrap_err().to_string();
        assert!(
            err.contains("bad.json") && err.contains("kafka.partitions"),
            "{err}"
        );
    }
}
