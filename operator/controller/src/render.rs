//! `optionsflow-operator render -f FILE...`: every object the operator would create for the
//! OptionsPipelines, SymbolSets and Secrets in some manifests, offline, as `helm template`
//! does. GitOps users preview a change with it and reviewers diff it; the golden tests and
//! the worker's contract test use it too. Pure apart from reading the files.
//!
//! What the apiserver would add is filled in with fixed values, so the output is stable: a
//! namespace (`default`) where a manifest has none, and a placeholder uid in the owner
//! references.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::Secret;
use optionsflow_api::crd::{OptionsPipeline, SymbolSet};
use serde_json::Value;

use chrono::NaiveDate;

use crate::budget::{self, Keys};
use crate::build::{Resources, build};
use crate::reconcile::fetch::secret_value;
use crate::validate::{Settings, ValidatedPipeline, ValidationError, validate};

/// The uid owner references get when the manifest has none.
pub const PLACEHOLDER_UID: &str = "00000000-0000-4000-8000-000000000000";

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: document {index} is not YAML: {source}")]
    Yaml {
        path: PathBuf,
        index: usize,
        #[source]
        source: serde_norway::Error,
    },
    #[error("{path}: document {index} ({kind}) does not match its schema: {source}")]
    Schema {
        path: PathBuf,
        index: usize,
        kind: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("no OptionsPipeline in the files given")]
    NoPipeline,
    #[error("OptionsPipeline {namespace}/{name}: {source}")]
    Invalid {
        namespace: String,
        name: String,
        #[source]
        source: ValidationError,
    },
}

/// What the files hold, by namespace and name.
#[derive(Clone, Debug, Default)]
pub struct Manifests {
    pub pipelines: Vec<OptionsPipeline>,
    pub symbol_sets: BTreeMap<(String, String), SymbolSet>,
    pub secrets: BTreeMap<(String, String), Secret>,
}

/// One pipeline, rendered.
#[derive(Clone, Debug)]
pub struct Rendered {
    pub pipeline: ValidatedPipeline,
    pub resources: Resources,
}

impl Manifests {
    /// Reads every document of every file; other kinds are passed over.
    pub fn read(files: &[PathBuf]) -> Result<Manifests, RenderError> {
        let mut manifests = Manifests::default();
        for path in files {
            let text = std::fs::read_to_string(path).map_err(|source| RenderError::Read {
                path: path.clone(),
                source,
            })?;
            manifests.add(path, &text)?;
        }
        Ok(manifests)
    }

    /// Adds the documents of one YAML stream.
    pub fn add(&mut self, path: &Path, text: &str) -> Result<(), RenderError> {
        for (index, document) in serde_norway::Deserializer::from_str(text).enumerate() {
            let value: Value =
                serde::Deserialize::deserialize(document).map_err(|source| RenderError::Yaml {
                    path: path.to_owned(),
                    index,
                    source,
                })?;
            if value.is_null() {
                continue;
            }
            let kind = value["kind"].as_str().unwrap_or_default().to_owned();
            let schema = |source| RenderError::Schema {
                path: path.to_owned(),
                index,
                kind: kind.clone(),
                source,
            };
            match kind.as_str() {
                "OptionsPipeline" => {
                    let mut p: OptionsPipeline = serde_json::from_value(value).map_err(schema)?;
                    let meta = &mut p.metadata;
                    meta.namespace.get_or_insert_with(|| "default".into());
                    meta.uid.get_or_insert_with(|| PLACEHOLDER_UID.into());
                    meta.generation.get_or_insert(1);
                    self.pipelines.push(p);
                }
                "SymbolSet" => {
                    let s: SymbolSet = serde_json::from_value(value).map_err(schema)?;
                    self.symbol_sets.insert(key(&s.metadata), s);
                }
                "Secret" => {
                    let s: Secret = serde_json::from_value(value).map_err(schema)?;
                    self.secrets.insert(key(&s.metadata), s);
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The SymbolSets of one namespace, by name, as the reconcile lists them.
    pub fn symbol_sets_in(&self, namespace: &str) -> BTreeMap<String, SymbolSet> {
        self.symbol_sets
            .iter()
            .filter(|((ns, _), _)| ns == namespace)
            .map(|((_, name), set)| (name.clone(), set.clone()))
            .collect()
    }

    /// A Secret's value, decoded, if the manifests hold it.
    pub fn secret_value(&self, namespace: &str, name: &str, key: &str) -> Option<String> {
        let secret = self.secrets.get(&(namespace.to_owned(), name.to_owned()))?;
        secret_value(secret, key)
    }

    /// Every pipeline, validated and built.
    pub fn render(&self, settings: &Settings) -> Result<Vec<Rendered>, RenderError> {
        if self.pipelines.is_empty() {
            return Err(RenderError::NoPipeline);
        }
        self.pipelines
            .iter()
            .map(|p| {
                let namespace = p.metadata.namespace.clone().unwrap_or_default();
                let pipeline =
                    validate(p, &self.symbol_sets_in(&namespace), settings).map_err(|source| {
                        RenderError::Invalid {
                            namespace,
                            name: p.metadata.name.clone().unwrap_or_default(),
                            source,
                        }
                    })?;
                Ok(Rendered {
                    resources: build(&pipeline),
                    pipeline,
                })
            })
            .collect()
    }
}

/// The YAML stream of every rendered pipeline, in apply order.
pub fn to_yaml(rendered: &[Rendered]) -> String {
    rendered.iter().map(|r| r.resources.to_yaml()).collect()
}

/// What a reviewer should know that the objects do not show: roles left out, and the
/// Twelve Data demand against the keys (counted when the manifests hold their Secret).
pub fn notes(manifests: &Manifests, rendered: &Rendered, today: NaiveDate) -> Vec<String> {
    let p = &rendered.pipeline;
    let name = p.names.pipeline();
    let mut notes: Vec<String> = p
        .omitted
        .iter()
        .map(|o| format!("{name}: {} is not deployed: {}", o.role, o.message()))
        .collect();
    let keys = match &p.credentials.twelvedata_keys {
        None => Keys::NotConfigured,
        Some(r) => match manifests.secret_value(&p.namespace, &r.name, &r.key) {
            Some(value) => Keys::in_value(&value),
            None => Keys::Unknown(format!(
                "Secret {}/{} is not in the files given",
                p.namespace, r.name
            )),
        },
    };
    let v = budget::verdict(&rendered.resources.runtime, &keys, today);
    notes.push(format!("{name}: {}: {}", v.reason, v.message));
    notes
}

fn key(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> (String, String) {
    (
        meta.namespace.clone().unwrap_or_else(|| "default".into()),
        meta.name.clone().unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            worker_image: "worker:test".into(),
            ..Settings::default()
        }
    }

    const SETS: &str = "apiVersion: optionsflow.io/v1alpha1\nkind: SymbolSet\nmetadata: {name: w, namespace: r}\nspec: {symbols: [SPY]}\n";

    #[test]
    fn renders_every_pipeline_and_reads_secrets() {
        let mut m = Manifests::default();
        let text = format!(
            "{SETS}---\napiVersion: optionsflow.io/v1alpha1\nkind: OptionsPipeline\nmetadata: {{name: p, namespace: r}}\nspec: {{symbolSets: [w], kafka: {{bootstrapServers: 'k:9092'}}}}\n---\napiVersion: v1\nkind: Secret\nmetadata: {{name: s, namespace: r}}\ndata: {{k: dG9rZW4=}}\nstringData: {{j: plain}}\n---\n"
        );
        m.add(Path::new("x.yaml"), &text).unwrap();
        assert_eq!(m.secret_value("r", "s", "k").as_deref(), Some("token"));
        assert_eq!(m.secret_value("r", "s", "j").as_deref(), Some("plain"));
        assert_eq!(m.secret_value("other", "s", "k"), None);
        let rendered = m.render(&settings()).unwrap();
        let yaml = to_yaml(&rendered);
        assert!(yaml.contains("name: p-collector"), "{yaml}");
        assert!(yaml.contains(PLACEHOLDER_UID));
        assert!(!yaml.contains("p-db-writer"), "no database, no db-writer");
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let notes = notes(&m, &rendered[0], today);
        assert_eq!(notes.len(), 6, "{notes:?}");
        assert!(notes[5].starts_with("p: NoApiKeys: 28 Twelve Data credits a trading day: daily 1 (1 runs × 1 symbols), intraday 27"), "{notes:?}");
        assert_eq!(yaml, to_yaml(&m.render(&settings()).unwrap()), "stable");
    }

    #[test]
    fn errors_name_the_file_and_document() {
        let mut m = Manifests::default();
        let err = m
            .add(
                Path::new("bad.yaml"),
                &format!("{SETS}---\nkind: OptionsPipeline\nspec: {{kafka: 3}}\n"),
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bad.yaml") && err.contains("document 1"),
            "{err}"
        );
        let mut m = Manifests::default();
        m.add(Path::new("only-sets.yaml"), SETS).unwrap();
        assert!(matches!(
            m.render(&settings()),
            Err(RenderError::NoPipeline)
        ));
    }
}
