//! The topics finalizer: held only while the pipeline asks for its topics to be deleted with
//! it (`kafka.topicsOnDelete: Delete`), so a pipeline that keeps its topics — the default —
//! never waits on the operator to go away, and removing the operator never wedges a
//! namespace deletion for it. Changing the field back to `Retain`, even while the pipeline is
//! terminating, releases it.

use kube::api::{Patch, PatchParams};
use kube::core::DeserializeGuard;
use kube::runtime::controller::Action;
use kube::{Api, ResourceExt};
use optionsflow_api::crd::OptionsPipeline;
use optionsflow_api::crd::pipeline::TopicsOnDelete;

use super::Context;
use crate::error::Error;
use crate::names::TOPICS_FINALIZER;
use crate::topics::{AdminFactory, TopicAdmin, desired};
use crate::validate::kafka_plan;

use super::{fetch, report};

/// Whether the pipeline's topics go with it.
pub fn wanted(p: &OptionsPipeline) -> bool {
    p.spec.kafka.topics_on_delete == Some(TopicsOnDelete::Delete)
}

pub fn held(p: &OptionsPipeline) -> bool {
    p.finalizers().iter().any(|f| f == TOPICS_FINALIZER)
}

/// Adds or removes the finalizer to match the spec, before anything external is created.
pub async fn ensure<F: AdminFactory>(ctx: &Context<F>, p: &OptionsPipeline) -> Result<(), Error> {
    match (wanted(p), held(p)) {
        (true, false) => set(ctx, p, true).await,
        (false, true) => set(ctx, p, false).await,
        _ => Ok(()),
    }
}

/// The pipeline is being deleted: delete its topics when it holds the finalizer and still
/// asks for it, then let it go.
pub async fn cleanup<F: AdminFactory>(
    ctx: &Context<F>,
    p: &OptionsPipeline,
) -> Result<Action, Error> {
    if !held(p) {
        // Children go by their owner references; nothing of ours is left outside.
        return Ok(Action::await_change());
    }
    if wanted(p) {
        let namespace = p.namespace().unwrap_or_default();
        let kafka = kafka_plan(&p.spec.kafka, &namespace, &p.name_any());
        let properties =
            fetch::kafka_properties(&ctx.client, &namespace, kafka.security.as_ref()).await?;
        let admin = ctx.admins.admin(&kafka.bootstrap_servers, &properties)?;
        let topics: Vec<String> = desired(&kafka).into_iter().map(|t| t.name).collect();
        admin.delete(&topics).await?;
        report::event(
            ctx,
            p,
            report::Note::normal(
                "TopicsDeleted",
                "Delete",
                format!("deleted {} topics: {}", topics.len(), topics.join(", ")),
            ),
        )
        .await;
    }
    set(ctx, p, false).await?;
    Ok(Action::await_change())
}

/// Writes the finalizer list with or without ours, as of the resourceVersion it was read at:
/// a concurrent change makes this fail with a conflict and retry instead of losing it.
async fn set<F: AdminFactory>(
    ctx: &Context<F>,
    p: &OptionsPipeline,
    hold: bool,
) -> Result<(), Error> {
    let mut finalizers: Vec<String> = p
        .finalizers()
        .iter()
        .filter(|f| *f != TOPICS_FINALIZER)
        .cloned()
        .collect();
    if hold {
        finalizers.push(TOPICS_FINALIZER.to_owned());
    }
    let name = p.name_any();
    let patch = serde_json::json!({
        "metadata": {
            "finalizers": finalizers,
            "resourceVersion": p.resource_version(),
        }
    });
    Api::<DeserializeGuard<OptionsPipeline>>::namespaced(
        ctx.client.clone(),
        &p.namespace().unwrap_or_default(),
    )
    .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
    .await
    .map_err(|source| Error::Finalizer { name, source })?;
    Ok(())
}
