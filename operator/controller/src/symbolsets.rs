//! SymbolSet status: how many symbols a set holds and whether every one of them is usable.
//! The pipelines that reference a set are reconciled by the pipeline controller, which
//! watches SymbolSets (see [`referencing`]).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use kube::api::{Patch, PatchParams};
use kube::core::DeserializeGuard;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::{Api, Resource, ResourceExt};
use optionsflow_api::Symbol;
use optionsflow_api::crd::symbolset::SymbolSetStatus;
use optionsflow_api::crd::{OptionsPipeline, SymbolSet};

use crate::names::FIELD_MANAGER;
use crate::reconcile::{Context, RESYNC};
use crate::status::conditions::{READY, Wanted, merge, now};
use crate::topics::AdminFactory;

#[derive(Debug, thiserror::Error)]
pub enum SymbolSetError {
    #[error("writing the status of SymbolSet {name} failed: {source}")]
    Status {
        name: String,
        #[source]
        source: kube::Error,
    },
}

/// The status a set should have. Pure.
pub fn status(
    set: &SymbolSet,
    now: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
) -> SymbolSetStatus {
    let mut seen = BTreeSet::new();
    let mut problems = Vec::new();
    for s in &set.spec.symbols {
        if let Err(e) = Symbol::parse(s) {
            problems.push(format!("{s:?}: {e}"));
        } else if !seen.insert(s.as_str()) {
            problems.push(format!("{s:?} appears more than once"));
        }
    }
    let ready = if problems.is_empty() {
        Wanted::new(READY, true, "Valid", format!("{} symbols", seen.len()))
    } else {
        Wanted::new(READY, false, "InvalidSymbol", problems.join("; "))
    };
    let generation = set.metadata.generation;
    SymbolSetStatus {
        observed_generation: generation,
        count: Some(seen.len() as u32),
        conditions: Some(merge(
            set.status
                .as_ref()
                .and_then(|s| s.conditions.as_deref())
                .unwrap_or_default(),
            vec![ready],
            generation,
            now,
        )),
    }
}

pub async fn reconcile<F: AdminFactory>(
    object: Arc<DeserializeGuard<SymbolSet>>,
    ctx: Arc<Context<F>>,
) -> Result<Action, SymbolSetError> {
    let Ok(set) = &object.0 else {
        // The schema validates sets fully; one that does not parse is from another version.
        return Ok(Action::await_change());
    };
    if !ctx.leading.load(Ordering::Acquire) {
        return Ok(Action::await_change());
    }
    let started = std::time::Instant::now();
    let wanted = status(set, &now());
    let result = if set.status.as_ref() == Some(&wanted) {
        Ok(Action::requeue(RESYNC))
    } else {
        let name = set.name_any();
        let body = serde_json::json!({
            "apiVersion": SymbolSet::api_version(&()),
            "kind": SymbolSet::kind(&()),
            "status": wanted,
        });
        Api::<DeserializeGuard<SymbolSet>>::namespaced(
            ctx.client.clone(),
            &set.namespace().unwrap_or_default(),
        )
        .patch_status(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&body),
        )
        .await
        .map(|_| Action::requeue(RESYNC))
        .map_err(|source| SymbolSetError::Status { name, source })
    };
    ctx.metrics.reconciled(
        "SymbolSet",
        started.elapsed(),
        result.as_ref().err().map(|_| "StatusFailed"),
    );
    result
}

pub fn error_policy<F: AdminFactory>(
    _: Arc<DeserializeGuard<SymbolSet>>,
    error: &SymbolSetError,
    _: Arc<Context<F>>,
) -> Action {
    tracing::warn!(%error, "SymbolSet reconcile failed");
    Action::requeue(std::time::Duration::from_secs(15))
}

/// The pipelines to reconcile when `set` changes: every pipeline of its namespace that names
/// it, including ones waiting for it to exist. Pure over the controller's cache.
pub fn referencing(
    set: &SymbolSet,
    pipelines: &[Arc<DeserializeGuard<OptionsPipeline>>],
) -> Vec<ObjectRef<DeserializeGuard<OptionsPipeline>>> {
    let name = set.name_any();
    let namespace = set.namespace();
    pipelines
        .iter()
        .filter(|p| p.namespace() == namespace)
        .filter(|p| match &p.0 {
            Ok(pipeline) => pipeline.symbol_set_names().contains(name.as_str()),
            Err(_) => false,
        })
        .map(|p| ObjectRef::from_obj(p.as_ref()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use optionsflow_api::crd::symbolset::SymbolSetSpec;

    fn set(symbols: &[&str]) -> SymbolSet {
        let mut s = SymbolSet::new(
            "tech",
            SymbolSetSpec {
                symbols: symbols.iter().map(|s| s.to_string()).collect(),
                description: None,
                tags: None,
            },
        );
        s.metadata.namespace = Some("ns".into());
        s.metadata.generation = Some(3);
        s
    }

    fn at(second: i64) -> Time {
        Time(jiff::Timestamp::from_second(second).unwrap())
    }

    #[test]
    fn a_set_is_ready_when_every_symbol_is_usable() {
        let good = status(&set(&["AAPL", "BRK.B", "SPX"]), &at(10));
        assert_eq!(good.count, Some(3));
        assert_eq!(good.observed_generation, Some(3));
        let ready = &good.conditions.as_ref().unwrap()[0];
        assert_eq!(
            (ready.type_.as_str(), ready.status.as_str()),
            ("Ready", "True")
        );

        let bad = status(&set(&["AAPL", "aapl", "AAPL"]), &at(10));
        let ready = &bad.conditions.as_ref().unwrap()[0];
        assert_eq!(ready.status, "False");
        assert_eq!(ready.reason, "InvalidSymbol");
        assert!(ready.message.contains("\"aapl\""), "{}", ready.message);
        assert!(
            ready.message.contains("more than once"),
            "{}",
            ready.message
        );
    }

    #[test]
    fn an_unchanged_set_keeps_its_status_exactly() {
        let mut s = set(&["AAPL"]);
        s.status = Some(status(&s, &at(10)));
        assert_eq!(status(&s, &at(99)), s.status.clone().unwrap());
    }

    #[test]
    fn a_set_maps_to_the_pipelines_that_name_it() {
        let pipeline = |name: &str, ns: &str, sets: &[&str]| {
            let yaml = format!(
                "apiVersion: optionsflow.io/v1alpha1\nkind: OptionsPipeline\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  symbolSets: [{}]\n  kafka: {{bootstrapServers: 'k:9092'}}\n  datasets: {{options: {{symbolSets: [options-only]}}}}\n",
                sets.join(", ")
            );
            Arc::new(serde_norway::from_str::<DeserializeGuard<OptionsPipeline>>(&yaml).unwrap())
        };
        let pipelines = vec![
            pipeline("a", "ns", &["tech"]),
            pipeline("b", "ns", &["energy"]),
            pipeline("c", "other", &["tech"]),
        ];
        let names = |set: &SymbolSet| {
            referencing(set, &pipelines)
                .into_iter()
                .map(|r| r.name)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&set(&["AAPL"])), ["a"]);
        let mut options_only = set(&["AAPL"]);
        options_only.metadata.name = Some("options-only".into());
        assert_eq!(names(&options_only), ["a", "b"]);
    }
}
