//! What the applied children say about themselves: ready pods per role, schedule times,
//! the backfill's state. Read from the objects the apiserver returned when they were applied.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use optionsflow_api::Dataset;
use optionsflow_api::crd::pipeline::{BackfillStatus, RoleStatus, ScheduleStatus};

use crate::validate::ValidatedPipeline;

/// The children as the apiserver returned them.
#[derive(Clone, Debug, Default)]
pub struct Children {
    pub deployments: Vec<Deployment>,
    pub cron_jobs: Vec<CronJob>,
    pub jobs: Vec<Job>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    pub roles: Vec<RoleStatus>,
    pub schedules: Vec<ScheduleStatus>,
    pub backfill: Option<BackfillStatus>,
}

pub fn observe(p: &ValidatedPipeline, children: &Children) -> Observed {
    let roles = p
        .roles
        .iter()
        .map(|plan| {
            let name = p.names.deployment(plan.role);
            let live = children
                .deployments
                .iter()
                .find(|d| d.metadata.name.as_deref() == Some(&name));
            let ready = live
                .and_then(|d| d.status.as_ref())
                .and_then(|s| s.ready_replicas)
                .unwrap_or(0);
            RoleStatus {
                role: plan.role.as_str().to_owned(),
                deployment: name,
                ready,
                desired: p.applied_replicas(plan),
            }
        })
        .collect();
    let schedules = p
        .datasets
        .iter()
        .filter_map(|(dataset, plan)| {
            let schedule = plan.schedule.clone()?;
            let name = p.names.cron_job(*dataset);
            let status = children
                .cron_jobs
                .iter()
                .find(|c| c.metadata.name.as_deref() == Some(&name))
                .and_then(|c| c.status.as_ref());
            Some(ScheduleStatus {
                dataset: dataset.as_str().to_owned(),
                cron_job: name,
                schedule,
                time_zone: plan.time_zone.clone(),
                last_schedule_time: status.and_then(|s| s.last_schedule_time.clone()),
                last_successful_time: status.and_then(|s| s.last_successful_time.clone()),
            })
        })
        .collect();
    let backfill = p.backfill.as_ref().map(|b| {
        let job = p.names.backfill_job(&b.fingerprint);
        let status = children
            .jobs
            .iter()
            .find(|j| j.metadata.name.as_deref() == Some(&job))
            .and_then(|j| j.status.as_ref());
        let state = match status {
            Some(s) if s.succeeded.unwrap_or(0) > 0 => "Succeeded",
            Some(s)
                if s.conditions
                    .iter()
                    .flatten()
                    .any(|c| c.type_ == "Failed" && c.status == "True") =>
            {
                "Failed"
            }
            _ if p.suspended => "Suspended",
            _ => "Running",
        };
        BackfillStatus {
            job,
            start_date: b.start.to_string(),
            end_date: b.end.map(|d| d.to_string()),
            state: state.to_owned(),
        }
    });
    Observed {
        roles,
        schedules,
        backfill,
    }
}

/// When the options schedule last succeeded.
pub fn last_options_fetch(
    observed: &Observed,
) -> Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Time> {
    observed
        .schedules
        .iter()
        .find(|s| s.dataset == Dataset::Options.as_str())
        .and_then(|s| s.last_successful_time.clone())
}
