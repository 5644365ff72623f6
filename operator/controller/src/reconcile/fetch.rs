//! Fetch: what a reconcile reads besides the pipeline itself — the SymbolSets of its
//! namespace and the Kafka credentials the operator needs for the Admin API.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{ApiResource, DynamicObject, ListParams};
use kube::{Api, Client, ResourceExt};
use optionsflow_api::crd::pipeline::{KafkaSecurity, OptionsPipelineStatus, SecretKeyRef};
use optionsflow_api::crd::{OptionsPipeline, SymbolSet};

use crate::budget::Keys;
use crate::error::Error;

/// Every SymbolSet in `namespace`, by name.
pub async fn symbol_sets(
    client: &Client,
    namespace: &str,
) -> Result<BTreeMap<String, SymbolSet>, Error> {
    let list = Api::<SymbolSet>::namespaced(client.clone(), namespace)
        .list(&ListParams::default())
        .await
        .map_err(|source| Error::FetchSymbolSets {
            namespace: namespace.to_owned(),
            source,
        })?;
    Ok(list.items.into_iter().map(|s| (s.name_any(), s)).collect())
}

/// librdkafka properties for the operator's own Admin client: those of the pipeline's
/// security settings, with the secret ones (password, PEMs) read from their Secrets.
pub async fn kafka_properties(
    client: &Client,
    namespace: &str,
    security: Option<&KafkaSecurity>,
) -> Result<BTreeMap<String, String>, Error> {
    let Some(security) = security else {
        return Ok(BTreeMap::new());
    };
    let mut props = security.properties();
    let secrets = Api::<Secret>::namespaced(client.clone(), namespace);
    let mut read: BTreeMap<String, Secret> = BTreeMap::new();
    for wanted in security.secret_properties() {
        if !read.contains_key(&wanted.secret) {
            let secret =
                secrets
                    .get(&wanted.secret)
                    .await
                    .map_err(|source| Error::FetchSecret {
                        namespace: namespace.to_owned(),
                        name: wanted.secret.clone(),
                        source,
                    })?;
            read.insert(wanted.secret.clone(), secret);
        }
        let value = secret_value(&read[&wanted.secret], &wanted.key).ok_or_else(|| {
            Error::SecretKeyMissing {
                namespace: namespace.to_owned(),
                name: wanted.secret.clone(),
                key: wanted.key.clone(),
            }
        })?;
        props.insert(wanted.property.into(), value);
    }
    Ok(props)
}

/// How many Twelve Data keys the pipeline's Secret holds. Never fails the reconcile: a
/// Secret that cannot be read is reported in the budget condition (and keeps the collector's
/// pods from starting, which their status shows).
pub async fn twelve_data_keys(
    client: &Client,
    namespace: &str,
    reference: Option<&SecretKeyRef>,
) -> Keys {
    let Some(r) = reference else {
        return Keys::NotConfigured;
    };
    match Api::<Secret>::namespaced(client.clone(), namespace)
        .get(&r.name)
        .await
    {
        Ok(secret) => match secret_value(&secret, &r.key) {
            Some(value) => Keys::in_value(&value),
            None => Keys::Unknown(format!(
                "Secret {namespace}/{} has no key {:?}",
                r.name, r.key
            )),
        },
        Err(e) => Keys::Unknown(format!("Secret {namespace}/{}: {e}", r.name)),
    }
}

/// A Secret's value, decoded (`data`, or `stringData` in a manifest not yet applied).
pub fn secret_value(secret: &Secret, key: &str) -> Option<String> {
    if let Some(bytes) = secret.data.as_ref().and_then(|d| d.get(key)) {
        return String::from_utf8(bytes.0.clone()).ok();
    }
    secret
        .string_data
        .as_ref()
        .and_then(|d| d.get(key))
        .cloned()
}

/// The status of a pipeline read without its spec, for one whose spec no longer
/// deserializes. `None` when it has none or it cannot be read.
pub async fn raw_status(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Option<OptionsPipelineStatus> {
    let resource = ApiResource::erase::<OptionsPipeline>(&());
    let object = Api::<DynamicObject>::namespaced_with(client.clone(), namespace, &resource)
        .get(name)
        .await
        .ok()?;
    serde_json::from_value(object.data.get("status")?.clone()).ok()
}
