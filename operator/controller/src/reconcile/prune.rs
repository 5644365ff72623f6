//! Prune: children the pipeline no longer wants are deleted — a disabled dataset's CronJob,
//! the Job of backfill dates that moved. Only objects carrying the pipeline's labels *and*
//! owned by this very pipeline (by uid) are candidates, so nothing made by people or by
//! another pipeline of the same name is ever touched.

use std::collections::BTreeSet;
use std::fmt::Debug;

use k8s_openapi::NamespaceResourceScope;
use kube::api::{DeleteParams, ListParams};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;

use crate::build::Resources;
use crate::error::Error;
use crate::validate::ValidatedPipeline;

/// Deletes every owned child not in `wanted`; returns what it deleted, as `Kind/name`.
pub async fn stale(
    client: &Client,
    p: &ValidatedPipeline,
    wanted: &Resources,
) -> Result<Vec<String>, Error> {
    let mut deleted = Vec::new();
    deleted.extend(kind(client, p, std::slice::from_ref(&wanted.config_map)).await?);
    deleted.extend(kind(client, p, &wanted.services).await?);
    deleted.extend(kind(client, p, &wanted.ingresses).await?);
    deleted.extend(kind(client, p, &wanted.pdbs).await?);
    deleted.extend(kind(client, p, &wanted.deployments).await?);
    deleted.extend(kind(client, p, &wanted.cron_jobs).await?);
    deleted.extend(kind(client, p, &wanted.jobs).await?);
    Ok(deleted)
}

/// Deletes the owned objects of one kind whose names are not in `wanted`. Background
/// propagation: a Job's or a Deployment's pods go with it.
pub async fn kind<K>(
    client: &Client,
    p: &ValidatedPipeline,
    wanted: &[K],
) -> Result<Vec<String>, Error>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + k8s_openapi::Resource
        + Clone
        + DeserializeOwned
        + Debug,
{
    let kind = <K as k8s_openapi::Resource>::KIND;
    let wanted: BTreeSet<String> = wanted.iter().map(|o| o.name_any()).collect();
    let api = Api::<K>::namespaced(client.clone(), &p.namespace);
    let listed = api
        .list_metadata(&ListParams::default().labels(&p.names.owned_selector()))
        .await
        .map_err(|source| Error::Prune {
            kind,
            name: format!("(list {})", p.names.owned_selector()),
            source,
        })?;
    let mut deleted = Vec::new();
    for object in listed.items {
        let name = object.name_any();
        let ours = object
            .owner_references()
            .iter()
            .any(|o| o.uid == p.owner.uid && o.controller == Some(true));
        if !ours || wanted.contains(&name) {
            continue;
        }
        match api.delete(&name, &DeleteParams::background()).await {
            Ok(_) => deleted.push(format!("{kind}/{name}")),
            // Someone was faster; it is gone either way.
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(source) => return Err(Error::Prune { kind, name, source }),
        }
    }
    Ok(deleted)
}
