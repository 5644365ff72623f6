//! Reconcile an `OptionsPipeline`: fetch → validate → build (pure) → apply → prune → topics →
//! status. Every step's failure is an [`Error`] naming the step; whatever happened, the status
//! says it before the reconcile returns.

mod apply;
pub mod fetch;
pub mod finalizer;
mod monitoring;
mod prune;
pub mod report;
mod retries;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;

use kube::core::{DeserializeGuard, error_boundary::InvalidObject};
use kube::runtime::controller::Action;
use kube::runtime::events::Recorder;
use kube::runtime::reflector::ObjectRef;
use kube::{Client, Resource, ResourceExt};
use optionsflow_api::crd::OptionsPipeline;
use optionsflow_api::crd::pipeline::{OmittedRoleStatus, TopicStatus};

use crate::budget::{self, Verdict};
use crate::build::build;
use crate::error::Error;
use crate::metrics::Metrics;
use crate::status::{self, Inputs, Observed, Problem, conditions::now, observe};
use crate::topics::{self, AdminFactory};
use crate::validate::{Settings, validate};
use tracing::Instrument;

pub use retries::Retries;

/// How often a healthy pipeline is looked at again even when nothing changed: schedules'
/// last success times and drift made by hand are picked up this often.
pub const RESYNC: Duration = Duration::from_secs(300);

/// What every reconcile shares.
pub struct Context<F: AdminFactory> {
    pub client: Client,
    pub settings: Settings,
    pub admins: F,
    pub recorder: Recorder,
    pub metrics: Metrics,
    /// True while this replica holds the leader Lease; nothing is written otherwise.
    pub leading: Arc<AtomicBool>,
    pub retries: Retries,
}

/// What the steps learned before they finished or failed, for the status.
#[derive(Default)]
struct Progress {
    symbols: Option<u32>,
    budget: Option<Verdict>,
    omitted: Option<Vec<OmittedRoleStatus>>,
    observed: Option<Observed>,
    topics: Option<Vec<TopicStatus>>,
    pruned: Vec<String>,
    /// Warnings of steps that went on regardless (a PodMonitor the cluster cannot hold).
    warnings: Vec<report::Note>,
}

pub async fn reconcile<F: AdminFactory>(
    object: Arc<DeserializeGuard<OptionsPipeline>>,
    ctx: Arc<Context<F>>,
) -> Result<Action, Error> {
    if !ctx.leading.load(Ordering::Acquire) {
        return Ok(Action::await_change());
    }
    let started = Instant::now();
    // Every line this reconcile logs, the kube clients' included, names the pipeline and the
    // generation it acted on.
    let span = tracing::info_span!(
        "reconcile",
        namespace = %object.namespace().unwrap_or_default(),
        // Not `name`: the JSON log's span objects use that key for the span's own name.
        pipeline = %object.name_any(),
        generation = object.meta().generation.unwrap_or_default()
    );
    let result = async {
        let result = match &object.0 {
            Ok(pipeline) => reconcile_pipeline(pipeline, &ctx).await,
            Err(invalid) => report_invalid(invalid, &ctx).await,
        };
        // A failure is logged by `error_policy`, with its reason.
        if let Ok(action) = &result {
            tracing::debug!(?action, "reconciled");
        }
        result
    }
    .instrument(span)
    .await;
    ctx.metrics.reconciled(
        OptionsPipeline::kind(&()).as_ref(),
        started.elapsed(),
        result.as_ref().err().map(Error::reason),
    );
    if result.is_ok() {
        ctx.retries.reset(&ObjectRef::from_obj(object.as_ref()));
    }
    result
}

/// Permanent errors wait for the object to change; the others retry with a growing delay.
pub fn error_policy<F: AdminFactory>(
    object: Arc<DeserializeGuard<OptionsPipeline>>,
    error: &Error,
    ctx: Arc<Context<F>>,
) -> Action {
    tracing::warn!(
        pipeline = %object.name_any(),
        namespace = %object.namespace().unwrap_or_default(),
        reason = error.reason(),
        error = %error,
        "reconcile failed"
    );
    if error.is_permanent() {
        Action::await_change()
    } else {
        Action::requeue(ctx.retries.next(&ObjectRef::from_obj(object.as_ref())))
    }
}

async fn reconcile_pipeline<F: AdminFactory>(
    p: &OptionsPipeline,
    ctx: &Context<F>,
) -> Result<Action, Error> {
    if p.metadata.deletion_timestamp.is_some() {
        return finalizer::cleanup(ctx, p).await;
    }
    if p.paused() {
        return paused(p, ctx).await;
    }
    finalizer::ensure(ctx, p).await?;
    let mut progress = Progress::default();
    let outcome = steps(p, ctx, &mut progress).await;
    let inputs = Inputs {
        generation: p.metadata.generation,
        suspended: p.suspended(),
        paused: false,
        symbols: progress.symbols,
        omitted: progress.omitted,
        budget: progress.budget,
        observed: progress.observed,
        topics: progress.topics,
        problem: outcome.as_ref().err().map(|e| Problem {
            reason: e.reason().to_owned(),
            message: e.to_string(),
        }),
    };
    publish(ctx, p, inputs, &progress.pruned, outcome.as_ref().err()).await?;
    let reference = p.object_ref(&());
    for warning in progress.warnings {
        report::publish(ctx, &reference, warning).await;
    }
    outcome.map(|()| Action::requeue(RESYNC))
}

/// Paused: no children applied or pruned, no topics touched; only the status says so. The
/// annotation's removal is a change of the object, which reconciles it again.
async fn paused<F: AdminFactory>(p: &OptionsPipeline, ctx: &Context<F>) -> Result<Action, Error> {
    let inputs = Inputs {
        generation: p.metadata.generation,
        suspended: p.suspended(),
        paused: true,
        ..Inputs::default()
    };
    publish(ctx, p, inputs, &[], None).await?;
    Ok(Action::await_change())
}

/// The status computed from `inputs`, written when it changed, and the Events it calls for.
async fn publish<F: AdminFactory>(
    ctx: &Context<F>,
    p: &OptionsPipeline,
    inputs: Inputs,
    pruned: &[String],
    error: Option<&Error>,
) -> Result<(), Error> {
    let previous = p.status.as_ref();
    let status = status::compute(previous, inputs, &now());
    let reference = p.object_ref(&());
    report::status(ctx, &reference, previous, &status).await?;
    for note in report::notes(previous, &status, pruned, error) {
        report::publish(ctx, &reference, note).await;
    }
    Ok(())
}

async fn steps<F: AdminFactory>(
    p: &OptionsPipeline,
    ctx: &Context<F>,
    progress: &mut Progress,
) -> Result<(), Error> {
    let namespace = p.namespace().unwrap_or_default();
    let symbol_sets = fetch::symbol_sets(&ctx.client, &namespace).await?;
    let pipeline = validate(p, &symbol_sets, &ctx.settings)?;
    progress.symbols = Some(pipeline.symbols as u32);
    progress.omitted = Some(status::omitted(&pipeline));
    let wanted = build(&pipeline);
    let keys = fetch::twelve_data_keys(
        &ctx.client,
        &namespace,
        pipeline.credentials.twelvedata_keys.as_ref(),
    )
    .await;
    progress.budget = Some(budget::verdict(
        &wanted.runtime,
        &keys,
        Utc::now().date_naive(),
    ));
    // Workloads before topics: a suspend must take effect even while Kafka is away.
    let children = apply::all(&ctx.client, &namespace, &wanted).await?;
    progress.observed = Some(observe(&pipeline, &children));
    progress.pruned = prune::stale(&ctx.client, &pipeline, &wanted).await?;
    let monitoring = monitoring::sync(&ctx.client, &pipeline, &wanted.pod_monitors).await?;
    progress.pruned.extend(monitoring.pruned);
    progress.warnings.extend(monitoring.warning);
    let properties =
        fetch::kafka_properties(&ctx.client, &namespace, pipeline.kafka.security.as_ref()).await?;
    let admin = ctx
        .admins
        .admin(&pipeline.kafka.bootstrap_servers, &properties)?;
    progress.topics = Some(topics::provision(admin.as_ref(), &pipeline.kafka).await?);
    Ok(())
}

/// A pipeline that does not even deserialize (written against another version of the CRD):
/// say so in its status and wait for it to change. Its previous status is read raw, so an
/// unchanged verdict is not written again (the write would wake the watch, forever).
async fn report_invalid<F: AdminFactory>(
    invalid: &InvalidObject,
    ctx: &Context<F>,
) -> Result<Action, Error> {
    let error = Error::InvalidObject {
        namespace: invalid.metadata.namespace.clone().unwrap_or_default(),
        name: invalid.metadata.name.clone().unwrap_or_default(),
        message: invalid.error.clone(),
    };
    let previous = fetch::raw_status(
        &ctx.client,
        invalid.metadata.namespace.as_deref().unwrap_or_default(),
        invalid.metadata.name.as_deref().unwrap_or_default(),
    )
    .await;
    let status = status::compute(
        previous.as_ref(),
        Inputs {
            generation: invalid.metadata.generation,
            problem: Some(Problem {
                reason: error.reason().to_owned(),
                message: error.to_string(),
            }),
            ..Inputs::default()
        },
        &now(),
    );
    let reference = k8s_openapi::api::core::v1::ObjectReference {
        api_version: Some(OptionsPipeline::api_version(&()).into_owned()),
        kind: Some(OptionsPipeline::kind(&()).into_owned()),
        name: invalid.metadata.name.clone(),
        namespace: invalid.metadata.namespace.clone(),
        uid: invalid.metadata.uid.clone(),
        resource_version: invalid.metadata.resource_version.clone(),
        ..Default::default()
    };
    report::status(ctx, &reference, previous.as_ref(), &status).await?;
    report::publish(
        ctx,
        &reference,
        report::Note::warning(error.reason(), "Reconcile", error.to_string()),
    )
    .await;
    Err(error)
}

#[cfg(test)]
mod tests;
