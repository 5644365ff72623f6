//! Standard `metav1.Condition`s: built from what is wanted, merged with the previous ones so
//! `lastTransitionTime` only moves when a status really flips.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

pub const READY: &str = "Ready";
pub const PROGRESSING: &str = "Progressing";
pub const DEGRADED: &str = "Degraded";
pub const SUSPENDED: &str = "Suspended";
/// True while the pause annotation holds the operator off the pipeline's children.
pub const RECONCILIATION_PAUSED: &str = "ReconciliationPaused";
/// True when a worker role is not deployed because the spec lacks something it needs.
pub const ROLES_OMITTED: &str = "RolesOmitted";
/// True when the schedules spend more Twelve Data credits a day than the keys allow (a
/// warning: the pipeline runs, and its collection falls behind).
pub const BUDGET_INSUFFICIENT: &str = "BudgetInsufficient";

/// A condition as computed now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wanted {
    pub type_: &'static str,
    pub status: bool,
    pub reason: String,
    pub message: String,
}

impl Wanted {
    pub fn new(
        type_: &'static str,
        status: bool,
        reason: impl Into<String>,
        message: impl Into<String>,
    ) -> Wanted {
        Wanted {
            type_,
            status,
            reason: reason.into(),
            message: message.into(),
        }
    }
}

/// The conditions to publish: `wanted`, each keeping its previous `lastTransitionTime`
/// unless its status changed.
pub fn merge(
    previous: &[Condition],
    wanted: Vec<Wanted>,
    generation: Option<i64>,
    now: &Time,
) -> Vec<Condition> {
    wanted
        .into_iter()
        .map(|w| {
            let status = if w.status { "True" } else { "False" };
            let since = previous
                .iter()
                .find(|c| c.type_ == w.type_ && c.status == status)
                .map(|c| c.last_transition_time.clone())
                .unwrap_or_else(|| now.clone());
            Condition {
                type_: w.type_.to_owned(),
                status: status.to_owned(),
                reason: w.reason,
                message: w.message,
                last_transition_time: since,
                observed_generation: generation,
            }
        })
        .collect()
}

/// Whole seconds: what the apiserver keeps, so values read back compare equal.
pub fn now() -> Time {
    let now = jiff::Timestamp::now();
    Time(jiff::Timestamp::from_second(now.as_second()).expect("in range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(second: i64) -> Time {
        Time(jiff::Timestamp::from_second(second).unwrap())
    }

    #[test]
    fn transition_time_moves_only_on_a_flip() {
        let first = merge(
            &[],
            vec![Wanted::new(READY, false, "Pending", "starting")],
            Some(1),
            &at(100),
        );
        assert_eq!(first[0].last_transition_time, at(100));
        let same = merge(
            &first,
            vec![Wanted::new(READY, false, "WorkersNotReady", "1/2")],
            Some(2),
            &at(200),
        );
        assert_eq!(
            same[0].last_transition_time,
            at(100),
            "reason and message changed, status did not"
        );
        assert_eq!(same[0].observed_generation, Some(2));
        let flipped = merge(
            &same,
            vec![Wanted::new(READY, true, "Ready", "all good")],
            Some(2),
            &at(300),
        );
        assert_eq!(flipped[0].last_transition_time, at(300));
        assert_eq!(flipped[0].status, "True");
    }
}
