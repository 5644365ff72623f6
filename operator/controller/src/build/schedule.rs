//! Schedules: a CronJob per scheduled dataset, running `optionsflow-worker trigger`, and the
//! historical backfill Job, named after its dates so moving them starts a new one.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, Job, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{PodTemplateSpec, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use optionsflow_api::Dataset;

use super::meta;
use super::pod::{container, template};
use super::secrets::{self, Consumer};
use crate::validate::{BackfillPlan, DatasetPlan, ValidatedPipeline, fingerprint};

/// A run may start this late and still count (a CronJob controller outage, say); later runs
/// are skipped rather than piled up.
const STARTING_DEADLINE_SECONDS: i64 = 300;
/// A trigger run publishes tasks; it has no business running for long.
const TRIGGER_DEADLINE_SECONDS: i64 = 600;

/// The CronJob of a dataset that has a schedule.
pub fn cron_job(p: &ValidatedPipeline, dataset: Dataset, plan: &DatasetPlan) -> Option<CronJob> {
    let schedule = plan.schedule.clone()?;
    let component = dataset.as_str();
    Some(CronJob {
        metadata: meta(p, p.names.cron_job(dataset), component),
        spec: Some(CronJobSpec {
            schedule,
            time_zone: Some(plan.time_zone.clone()),
            concurrency_policy: Some("Forbid".into()),
            starting_deadline_seconds: Some(STARTING_DEADLINE_SECONDS),
            successful_jobs_history_limit: Some(3),
            failed_jobs_history_limit: Some(3),
            suspend: Some(p.suspended),
            job_template: JobTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(p.names.labels(component)),
                    ..ObjectMeta::default()
                }),
                spec: Some(JobSpec {
                    backoff_limit: Some(2),
                    active_deadline_seconds: Some(TRIGGER_DEADLINE_SECONDS),
                    ttl_seconds_after_finished: Some(86_400),
                    template: trigger_pod(p, dataset, component),
                    ..JobSpec::default()
                }),
            },
        }),
        ..CronJob::default()
    })
}

/// The backfill Job: one trigger run of the historical dataset. No TTL: the finished Job
/// records that these dates were done, until they move and it is pruned.
pub fn backfill_job(p: &ValidatedPipeline, plan: &BackfillPlan) -> Job {
    let component = "backfill";
    let mut metadata = meta(p, p.names.backfill_job(&plan.fingerprint), component);
    metadata.annotations = Some(BTreeMap::from([
        (
            "optionsflow.io/start-date".to_owned(),
            plan.start.to_string(),
        ),
        (
            "optionsflow.io/end-date".to_owned(),
            plan.end.map(|d| d.to_string()).unwrap_or_default(),
        ),
    ]));
    Job {
        metadata,
        spec: Some(JobSpec {
            backoff_limit: Some(3),
            suspend: Some(p.suspended),
            template: trigger_pod(p, Dataset::Historical, component),
            ..JobSpec::default()
        }),
        ..Job::default()
    }
}

/// A dataset's trigger run once, now, for its `runNonce`. No TTL, as for the backfill: a Job
/// that vanished would be made again, and run again.
pub fn run_job(p: &ValidatedPipeline, dataset: Dataset, nonce: &str) -> Job {
    let component = dataset.as_str();
    let mut metadata = meta(p, p.names.run_job(dataset, &fingerprint(nonce)), component);
    metadata.annotations = Some(BTreeMap::from([(
        "optionsflow.io/run-nonce".to_owned(),
        nonce.to_owned(),
    )]));
    Job {
        metadata,
        spec: Some(JobSpec {
            backoff_limit: Some(2),
            active_deadline_seconds: Some(TRIGGER_DEADLINE_SECONDS),
            suspend: Some(p.suspended),
            template: trigger_pod(p, dataset, component),
            ..JobSpec::default()
        }),
        ..Job::default()
    }
}

fn trigger_pod(p: &ValidatedPipeline, dataset: Dataset, component: &str) -> PodTemplateSpec {
    let args = vec![
        "trigger".to_owned(),
        "--dataset".to_owned(),
        dataset.as_str().to_owned(),
    ];
    let mut trigger = container(p, "trigger", args, secrets::env(p, Consumer::Trigger));
    trigger.resources = Some(ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_owned(), Quantity("10m".into())),
            ("memory".to_owned(), Quantity("32Mi".into())),
        ])),
        limits: Some(BTreeMap::from([(
            "memory".to_owned(),
            Quantity("64Mi".into()),
        )])),
        ..ResourceRequirements::default()
    });
    template(
        p,
        trigger,
        Some("Never"),
        &p.pod,
        p.names.labels(component),
        BTreeMap::new(),
        None,
    )
}
