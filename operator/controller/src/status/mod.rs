//! Status: what the operator observed, in the shape dashboards and ArgoCD read. Pure: the
//! reconcile gathers the inputs, [`compute`] decides conditions and phase.

pub mod conditions;
pub mod observe;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use optionsflow_api::crd::pipeline::{
    OmittedRoleStatus, OptionsPipelineStatus, PAUSE_ANNOTATION, TopicStatus,
};

use conditions::{
    BUDGET_INSUFFICIENT, DEGRADED, PROGRESSING, READY, RECONCILIATION_PAUSED, ROLES_OMITTED,
    SUSPENDED, Wanted, merge,
};

use crate::budget::Verdict;
pub use observe::{Children, Observed, observe};

/// A problem that keeps the pipeline from being what it says: invalid spec, a failed step,
/// an unreachable Kafka.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub reason: String,
    pub message: String,
}

/// What [`compute`] works from.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    pub generation: Option<i64>,
    pub suspended: bool,
    /// The pause annotation is set: nothing was applied, checked or observed this time.
    pub paused: bool,
    /// Distinct symbols, when the pipeline validated.
    pub symbols: Option<u32>,
    /// Roles not deployed, when the pipeline validated.
    pub omitted: Option<Vec<OmittedRoleStatus>>,
    /// Provider demand against the budget, when the pipeline validated.
    pub budget: Option<Verdict>,
    /// Children, when they were applied this time.
    pub observed: Option<Observed>,
    /// Topics, when Kafka answered.
    pub topics: Option<Vec<TopicStatus>>,
    pub problem: Option<Problem>,
}

/// The status entries of the roles a pipeline leaves out.
pub fn omitted(p: &crate::validate::ValidatedPipeline) -> Vec<OmittedRoleStatus> {
    p.omitted
        .iter()
        .map(|o| OmittedRoleStatus {
            role: o.role.as_str().to_owned(),
            reason: o.reason().to_owned(),
            message: o.message(),
        })
        .collect()
}

pub fn compute(
    previous: Option<&OptionsPipelineStatus>,
    inputs: Inputs,
    now: &Time,
) -> OptionsPipelineStatus {
    let previous = previous.cloned().unwrap_or_default();
    // What was not observed this time keeps its last known value.
    let observed = inputs.observed.unwrap_or_else(|| Observed {
        roles: previous.roles.clone().unwrap_or_default(),
        schedules: previous.schedules.clone().unwrap_or_default(),
        backfill: previous.backfill.clone(),
    });
    let topics = inputs
        .topics
        .or(previous.topics.clone())
        .unwrap_or_default();
    let ready_pods: i32 = observed.roles.iter().map(|r| r.ready.min(r.desired)).sum();
    let desired_pods: i32 = observed.roles.iter().map(|r| r.desired).sum();
    let workers_ready = observed.roles.iter().all(|r| r.ready >= r.desired);
    let unready_topics: Vec<&TopicStatus> = topics.iter().filter(|t| !t.ready).collect();

    let degraded = inputs.problem.clone().or_else(|| {
        (!unready_topics.is_empty()).then(|| Problem {
            reason: "TopicsNotReady".into(),
            message: unready_topics
                .iter()
                .map(|t| format!("{}: {}", t.name, t.message.as_deref().unwrap_or("missing")))
                .collect::<Vec<_>>()
                .join("; "),
        })
    });
    let rolling = !inputs.suspended && !workers_ready;
    let omitted = inputs
        .omitted
        .or(previous.omitted_roles.clone())
        .unwrap_or_default();
    let ready = !inputs.suspended && degraded.is_none() && workers_ready && !topics.is_empty();
    let workers = format!("{ready_pods}/{desired_pods}");

    // What was not assessed this time keeps its last verdict.
    let budget = inputs
        .budget
        .map(|v| Wanted::new(BUDGET_INSUFFICIENT, v.insufficient, v.reason, v.message));
    let budget = budget.or_else(|| {
        previous
            .conditions
            .as_ref()?
            .iter()
            .find(|c| c.type_ == BUDGET_INSUFFICIENT)
            .map(|c| {
                Wanted::new(
                    BUDGET_INSUFFICIENT,
                    c.status == "True",
                    c.reason.clone(),
                    c.message.clone(),
                )
            })
    });
    let mut wanted = vec![
        if ready {
            Wanted::new(
                READY,
                true,
                "Ready",
                format!("{workers} worker pods ready, {} topics ready", topics.len()),
            )
        } else if inputs.suspended {
            Wanted::new(READY, false, "Suspended", "the pipeline is suspended")
        } else if let Some(p) = &degraded {
            Wanted::new(READY, false, p.reason.clone(), p.message.clone())
        } else {
            Wanted::new(
                READY,
                false,
                "WorkersNotReady",
                format!("{workers} worker pods ready"),
            )
        },
        if rolling {
            Wanted::new(
                PROGRESSING,
                true,
                "Rollout",
                format!("{workers} worker pods ready"),
            )
        } else {
            Wanted::new(PROGRESSING, false, "Stable", "nothing is rolling out")
        },
        match &degraded {
            Some(p) => Wanted::new(DEGRADED, true, p.reason.clone(), p.message.clone()),
            None => Wanted::new(
                DEGRADED,
                false,
                "AsExpected",
                "everything works as specified",
            ),
        },
        // Informational: a pipeline without a file store simply has no file writer.
        if omitted.is_empty() {
            Wanted::new(
                ROLES_OMITTED,
                false,
                "AllRolesDeployed",
                "every worker role runs",
            )
        } else {
            Wanted::new(
                ROLES_OMITTED,
                true,
                // Each role's own reason is in status.omittedRoles.
                "RolesOmitted",
                omitted
                    .iter()
                    .map(|o| o.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        },
        if inputs.suspended {
            Wanted::new(
                SUSPENDED,
                true,
                "Suspended",
                "spec.suspend is true: schedules are stopped and every worker is scaled to zero",
            )
        } else {
            Wanted::new(SUSPENDED, false, "Active", "spec.suspend is false")
        },
    ];
    wanted.extend(budget);
    wanted.push(if inputs.paused {
        Wanted::new(
            RECONCILIATION_PAUSED,
            true,
            "ReconciliationPaused",
            format!(
                "{PAUSE_ANNOTATION} is \"true\": the operator changes nothing until it is removed"
            ),
        )
    } else {
        Wanted::new(
            RECONCILIATION_PAUSED,
            false,
            "Reconciling",
            format!("{PAUSE_ANNOTATION} is not set"),
        )
    });
    let phase = if inputs.paused {
        "Paused"
    } else if inputs.suspended {
        "Suspended"
    } else if degraded.is_some() {
        "Degraded"
    } else if ready {
        "Ready"
    } else if rolling {
        "Progressing"
    } else {
        "Pending"
    };
    OptionsPipelineStatus {
        observed_generation: inputs.generation,
        phase: Some(phase.to_owned()),
        conditions: Some(merge(
            previous.conditions.as_deref().unwrap_or_default(),
            wanted,
            inputs.generation,
            now,
        )),
        symbols: inputs.symbols.or(previous.symbols),
        workers: Some(workers),
        last_options_fetch: observe::last_options_fetch(&observed).or(previous.last_options_fetch),
        roles: Some(observed.roles),
        omitted_roles: Some(omitted),
        topics: Some(topics),
        schedules: Some(observed.schedules),
        backfill: observed.backfill,
    }
}

#[cfg(test)]
mod tests;
