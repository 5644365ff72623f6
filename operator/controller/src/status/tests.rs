use super::*;
use optionsflow_api::crd::pipeline::RoleStatus;

fn at(second: i64) -> Time {
    Time(jiff::Timestamp::from_second(second).unwrap())
}

fn roles(ready: i32, desired: i32) -> Vec<RoleStatus> {
    ["collector", "processor"]
        .iter()
        .map(|r| RoleStatus {
            role: r.to_string(),
            deployment: format!("p-{r}"),
            ready,
            desired,
        })
        .collect()
}

fn topics(ready: bool) -> Vec<TopicStatus> {
    vec![TopicStatus {
        name: "m.p.task-queue".into(),
        partitions: Some(5),
        desired_partitions: if ready { 5 } else { 8 },
        ready,
        message: (!ready).then(|| "the broker could not add partitions: unsupported".into()),
    }]
}

fn inputs(ready_pods: i32, topics_ready: bool) -> Inputs {
    Inputs {
        generation: Some(4),
        suspended: false,
        paused: false,
        symbols: Some(13),
        omitted: Some(Vec::new()),
        budget: None,
        observed: Some(Observed {
            roles: roles(ready_pods, 2),
            ..Observed::default()
        }),
        topics: Some(topics(topics_ready)),
        problem: None,
    }
}

fn condition<'a>(
    s: &'a OptionsPipelineStatus,
    type_: &str,
) -> &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
    s.conditions
        .as_ref()
        .unwrap()
        .iter()
        .find(|c| c.type_ == type_)
        .unwrap()
}

#[test]
fn everything_up_is_ready() {
    let s = compute(None, inputs(2, true), &at(10));
    assert_eq!(s.phase.as_deref(), Some("Ready"));
    assert_eq!(s.workers.as_deref(), Some("4/4"));
    assert_eq!(s.observed_generation, Some(4));
    assert_eq!(condition(&s, "Ready").status, "True");
    assert_eq!(condition(&s, "Progressing").status, "False");
    assert_eq!(condition(&s, "Degraded").status, "False");
    assert_eq!(condition(&s, "Suspended").status, "False");
    assert!(
        s.conditions
            .as_ref()
            .unwrap()
            .iter()
            .all(|c| c.observed_generation == Some(4))
    );
}

#[test]
fn pods_coming_up_is_progressing() {
    let s = compute(None, inputs(1, true), &at(10));
    assert_eq!(s.phase.as_deref(), Some("Progressing"));
    assert_eq!(condition(&s, "Progressing").status, "True");
    assert_eq!(condition(&s, "Ready").reason, "WorkersNotReady");
    assert_eq!(s.workers.as_deref(), Some("2/4"));
}

#[test]
fn a_topic_short_of_partitions_degrades() {
    let s = compute(None, inputs(2, false), &at(10));
    assert_eq!(s.phase.as_deref(), Some("Degraded"));
    let d = condition(&s, "Degraded");
    assert_eq!(
        (d.status.as_str(), d.reason.as_str()),
        ("True", "TopicsNotReady")
    );
    assert!(
        d.message
            .contains("m.p.task-queue: the broker could not add partitions"),
        "{}",
        d.message
    );
    assert_eq!(condition(&s, "Ready").reason, "TopicsNotReady");
}

#[test]
fn suspension_says_so() {
    let mut i = inputs(0, true);
    i.suspended = true;
    i.observed = Some(Observed {
        roles: roles(0, 0),
        ..Observed::default()
    });
    let s = compute(None, i, &at(10));
    assert_eq!(s.phase.as_deref(), Some("Suspended"));
    assert_eq!(condition(&s, "Suspended").status, "True");
    assert_eq!(condition(&s, "Ready").reason, "Suspended");
    assert_eq!(condition(&s, "Progressing").status, "False");
}

#[test]
fn a_problem_keeps_what_was_last_observed() {
    let before = compute(None, inputs(2, true), &at(10));
    let problem = Inputs {
        generation: Some(5),
        problem: Some(Problem {
            reason: "SymbolSetNotFound".into(),
            message: "SymbolSet gone not found in namespace m".into(),
        }),
        ..Inputs::default()
    };
    let after = compute(Some(&before), problem, &at(20));
    assert_eq!(after.phase.as_deref(), Some("Degraded"));
    assert_eq!(condition(&after, "Degraded").reason, "SymbolSetNotFound");
    assert_eq!(after.roles, before.roles);
    assert_eq!(after.topics, before.topics);
    assert_eq!(after.symbols, Some(13));
    assert_eq!(after.observed_generation, Some(5));
    assert_eq!(
        condition(&after, "Ready").last_transition_time,
        at(20),
        "Ready flipped"
    );
    assert_eq!(
        condition(&after, "Suspended").last_transition_time,
        at(10),
        "Suspended did not"
    );
}
