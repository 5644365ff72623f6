//! Day-2 operations from the pipeline itself: the pause annotation, and the restart, run and
//! backfill nonces.

use super::*;

#[tokio::test]
async fn the_pause_annotation_holds_every_change_until_it_goes() {
    let h = harness(json!({}));
    h.reconcile().await.unwrap();
    h.roll_out();
    h.reconcile().await.unwrap();
    h.calls();
    h.edit(
        PIPELINES,
        "small",
        json!({"metadata": {"annotations": {"optionsflow.io/pause-reconciliation": "true"}}}),
    );
    // A spec change while paused: nothing applied, pruned or created; only the status.
    h.edit(PIPELINES, "small", json!({"spec": {"suspend": true}}));
    assert_eq!(h.reconcile().await.unwrap(), Action::await_change());
    let calls = h.calls();
    assert_eq!(
        lines(&calls)
            .iter()
            .filter(|l| !l.starts_with(&format!("POST {EVENTS}")))
            .cloned()
            .collect::<Vec<_>>(),
        [format!("PATCH {PIPELINES}/small/status")]
    );
    let status = h.status();
    assert_eq!(status["phase"], "Paused");
    assert_eq!(condition(&status, "ReconciliationPaused")["status"], "True");
    let collector = h.api.get(DEPLOYMENTS, "small-collector").unwrap();
    assert_eq!(
        collector["spec"]["replicas"], 2,
        "not scaled down while paused"
    );

    // Unpaused: the held change goes through.
    h.edit(
        PIPELINES,
        "small",
        json!({"metadata": {"annotations": {"optionsflow.io/pause-reconciliation": "false"}}}),
    );
    h.reconcile().await.unwrap();
    let collector = h.api.get(DEPLOYMENTS, "small-collector").unwrap();
    assert_eq!(collector["spec"]["replicas"], 0);
    let status = h.status();
    assert_eq!(status["phase"], "Suspended");
    assert_eq!(
        condition(&status, "ReconciliationPaused")["status"],
        "False"
    );
}

#[tokio::test]
async fn day_two_nonces_roll_the_workers_run_a_dataset_once_and_rerun_the_backfill() {
    let h = harness(json!({"datasets": {"historical": {"startDate": "2026-01-02"}}}));
    h.reconcile().await.unwrap();
    let backfills = h.api.names(JOBS);
    assert_eq!(backfills.len(), 1, "{backfills:?}");
    let template = |name: &str| {
        h.api.get(DEPLOYMENTS, name).unwrap()["spec"]["template"]["metadata"]["annotations"].clone()
    };
    assert!(
        template("small-collector")
            .get("optionsflow.io/restart-nonce")
            .is_none()
    );

    h.edit(
        PIPELINES,
        "small",
        json!({"spec": {"restartNonce": "2026-11-30T09:00",
                        "datasets": {"options": {"runNonce": "first"},
                                     "historical": {"backfillNonce": "provider-fix"}}}}),
    );
    h.reconcile().await.unwrap();
    for role in ROLES {
        assert_eq!(
            template(&format!("small-{role}"))["optionsflow.io/restart-nonce"],
            "2026-11-30T09:00"
        );
    }
    let jobs = h.api.names(JOBS);
    let run: Vec<&String> = jobs
        .iter()
        .filter(|j| j.starts_with("small-options-run-"))
        .collect();
    assert_eq!(run.len(), 1, "{jobs:?}");
    let job = h.api.get(JOBS, run[0]).unwrap();
    let args = &job["spec"]["template"]["spec"]["containers"][0]["args"];
    assert_eq!(args, &json!(["trigger", "--dataset", "options"]));
    let backfill: Vec<&String> = jobs
        .iter()
        .filter(|j| j.starts_with("small-backfill-"))
        .collect();
    assert_eq!(backfill.len(), 1, "the old backfill pruned: {jobs:?}");
    assert_ne!(backfill[0], &backfills[0], "the same dates, a new Job");

    // The same nonce again runs nothing new; a new one replaces the Job.
    h.reconcile().await.unwrap();
    assert_eq!(h.api.names(JOBS), jobs);
    h.edit(
        PIPELINES,
        "small",
        json!({"spec": {"datasets": {"options": {"runNonce": "second"}}}}),
    );
    h.reconcile().await.unwrap();
    let again: Vec<String> = h
        .api
        .names(JOBS)
        .into_iter()
        .filter(|j| j.starts_with("small-options-run-"))
        .collect();
    assert_eq!(again.len(), 1);
    assert_ne!(&again[0], run[0]);
}
