//! The ConfigMap holding the runtime config.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;

use super::meta;
use crate::names::CONFIG_FILE;
use crate::validate::ValidatedPipeline;

pub fn config_map(p: &ValidatedPipeline, runtime_json: &str) -> ConfigMap {
    ConfigMap {
        metadata: meta(p, p.names.config_map(), "runtime-config"),
        data: Some(BTreeMap::from([(
            CONFIG_FILE.to_owned(),
            runtime_json.to_owned(),
        )])),
        ..ConfigMap::default()
    }
}
