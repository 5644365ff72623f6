//! Apply: the built objects go to the apiserver by server-side apply under one field manager,
//! forced, because the operator is the only writer of the fields it sends. Jobs are the
//! exception: their pod template is immutable, so a backfill Job is created once and after
//! that only its `spec.suspend` is ever changed.

use std::fmt::Debug;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::batch::v1::Job;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::build::Resources;
use crate::error::Error;
use crate::names::FIELD_MANAGER;
use crate::status::Children;

/// Applies everything in `resources`, in order, and returns the workloads as the apiserver
/// answered (their status feeds the pipeline's status).
pub async fn all(
    client: &Client,
    namespace: &str,
    resources: &Resources,
) -> Result<Children, Error> {
    apply(client, namespace, &resources.config_map).await?;
    for service in &resources.services {
        apply(client, namespace, service).await?;
    }
    for ingress in &resources.ingresses {
        apply(client, namespace, ingress).await?;
    }
    for pdb in &resources.pdbs {
        apply(client, namespace, pdb).await?;
    }
    let mut children = Children::default();
    for deployment in &resources.deployments {
        children
            .deployments
            .push(apply(client, namespace, deployment).await?);
    }
    for cron_job in &resources.cron_jobs {
        children
            .cron_jobs
            .push(apply(client, namespace, cron_job).await?);
    }
    for job in &resources.jobs {
        children.jobs.push(job_once(client, namespace, job).await?);
    }
    Ok(children)
}

/// One object, by server-side apply.
pub async fn apply<K>(client: &Client, namespace: &str, object: &K) -> Result<K, Error>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + k8s_openapi::Resource
        + Clone
        + Serialize
        + DeserializeOwned
        + Debug,
{
    let name = object.meta().name.clone().unwrap_or_default();
    Api::<K>::namespaced(client.clone(), namespace)
        .patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(object),
        )
        .await
        .map_err(|source| Error::Apply {
            kind: <K as k8s_openapi::Resource>::KIND,
            name,
            source,
        })
}

/// A Job: created when missing; when present, only suspended or resumed, and only while it
/// still has work to do.
async fn job_once(client: &Client, namespace: &str, job: &Job) -> Result<Job, Error> {
    let name = job.metadata.name.clone().unwrap_or_default();
    let api = Api::<Job>::namespaced(client.clone(), namespace);
    let failed = |source| Error::Apply {
        kind: "Job",
        name: name.clone(),
        source,
    };
    let Some(live) = api.get_opt(&name).await.map_err(failed)? else {
        return apply(client, namespace, job).await;
    };
    let wanted = job.spec.as_ref().and_then(|s| s.suspend).unwrap_or(false);
    let current = live.spec.as_ref().and_then(|s| s.suspend).unwrap_or(false);
    if wanted == current || finished(&live) {
        return Ok(live);
    }
    api.patch(
        &name,
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({ "spec": { "suspend": wanted } })),
    )
    .await
    .map_err(failed)
}

fn finished(job: &Job) -> bool {
    job.status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
        .any(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
}
