//! Kafka topics: the pure plan (what to create, what to grow, what to report) and the
//! provisioning that carries it out through a [`TopicAdmin`]. Topics are created with the
//! pipeline's partitions, grown where the broker allows, never shrunk, and deleted only when
//! the pipeline asks for it as it goes.

pub mod kafka;
#[cfg(test)]
pub mod memory;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use optionsflow_api::crd::pipeline::TopicStatus;

use crate::validate::KafkaPlan;

#[derive(Debug, Clone, thiserror::Error)]
pub enum TopicError {
    #[error("cannot reach Kafka at {bootstrap}: {message}")]
    Unreachable { bootstrap: String, message: String },
    #[error("Kafka refused to {action} topic {topic}: {message}")]
    Refused {
        action: &'static str,
        topic: String,
        message: String,
    },
}

/// One outcome per topic: `Err` holds the broker's words.
pub type Outcomes = Vec<(String, Result<(), String>)>;

/// What the operator needs from a Kafka cluster.
pub trait TopicAdmin: Send + Sync {
    /// Partitions of each of `names` that exists.
    fn describe(
        &self,
        names: &[String],
    ) -> impl Future<Output = Result<BTreeMap<String, i32>, TopicError>> + Send;
    /// Creates topics; one outcome per topic.
    fn create(
        &self,
        topics: &[(String, i32)],
        replication_factor: i32,
    ) -> impl Future<Output = Result<Outcomes, TopicError>> + Send;
    /// Grows topics to the given partition counts; one outcome per topic.
    fn grow(
        &self,
        topics: &[(String, i32)],
    ) -> impl Future<Output = Result<Outcomes, TopicError>> + Send;
    /// Deletes topics (those already gone count as deleted).
    fn delete(&self, names: &[String]) -> impl Future<Output = Result<(), TopicError>> + Send;
}

/// Hands out an admin client for a cluster; the reconcile asks for one per pipeline.
pub trait AdminFactory: Send + Sync + 'static {
    type Admin: TopicAdmin + 'static;
    fn admin(
        &self,
        bootstrap: &str,
        properties: &BTreeMap<String, String>,
    ) -> Result<Arc<Self::Admin>, TopicError>;
}

/// One step of a plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Create { topic: String, partitions: i32 },
    Grow { topic: String, from: i32, to: i32 },
}

/// What to do about the pipeline's topics, given what exists. Pure.
pub fn plan(desired: &[(String, i32)], existing: &BTreeMap<String, i32>) -> Vec<Action> {
    desired
        .iter()
        .filter_map(|(topic, partitions)| match existing.get(topic) {
            None => Some(Action::Create {
                topic: topic.clone(),
                partitions: *partitions,
            }),
            Some(have) if have < partitions => Some(Action::Grow {
                topic: topic.clone(),
                from: *have,
                to: *partitions,
            }),
            Some(_) => None,
        })
        .collect()
}

/// The topics a pipeline wants, with their partitions.
pub fn desired(kafka: &KafkaPlan) -> Vec<(String, i32)> {
    kafka
        .topics
        .all()
        .into_iter()
        .map(|(_, name)| (name, kafka.partitions))
        .collect()
}

/// Creates and grows topics as planned; returns one status per desired topic. Only an
/// unreachable cluster is an error: a topic the broker refuses is reported in its status.
pub async fn provision<A: TopicAdmin>(
    admin: &A,
    kafka: &KafkaPlan,
) -> Result<Vec<TopicStatus>, TopicError> {
    let desired = desired(kafka);
    let names: Vec<String> = desired.iter().map(|(n, _)| n.clone()).collect();
    let mut have = admin.describe(&names).await?;
    let actions = plan(&desired, &have);
    let mut problems: BTreeMap<String, String> = BTreeMap::new();
    let creates: Vec<(String, i32)> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Create { topic, partitions } => Some((topic.clone(), *partitions)),
            Action::Grow { .. } => None,
        })
        .collect();
    if !creates.is_empty() {
        for (topic, outcome) in admin.create(&creates, kafka.replication_factor).await? {
            match outcome {
                Ok(()) => {
                    let partitions = creates.iter().find(|(t, _)| *t == topic).map(|(_, p)| *p);
                    have.insert(topic, partitions.unwrap_or(kafka.partitions));
                }
                Err(message) => {
                    problems.insert(topic, format!("the broker refused to create it: {message}"));
                }
            }
        }
    }
    let grows: Vec<(String, i32)> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Grow { topic, to, .. } => Some((topic.clone(), *to)),
            Action::Create { .. } => None,
        })
        .collect();
    if !grows.is_empty() {
        for (topic, outcome) in admin.grow(&grows).await? {
            match outcome {
                Ok(()) => {
                    let to = grows.iter().find(|(t, _)| *t == topic).map(|(_, p)| *p);
                    have.insert(topic, to.unwrap_or(kafka.partitions));
                }
                Err(message) => {
                    problems.insert(
                        topic,
                        format!("the broker could not add partitions: {message}"),
                    );
                }
            }
        }
    }
    Ok(desired
        .into_iter()
        .map(|(name, wanted)| {
            let partitions = have.get(&name).copied();
            let message = problems.remove(&name).or_else(|| match partitions {
                Some(p) if p > wanted => Some(format!(
                    "has {p} partitions, more than the {wanted} asked for: partitions are never removed"
                )),
                _ => None,
            });
            TopicStatus {
                ready: partitions.is_some_and(|p| p >= wanted),
                name,
                partitions,
                desired_partitions: wanted,
                message,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::memory::MemoryAdmin;
    use super::*;

    use optionsflow_api::TopicNames;
    use optionsflow_api::crd::pipeline::TopicsOnDelete;

    fn kafka(partitions: i32) -> KafkaPlan {
        KafkaPlan {
            bootstrap_servers: "memory".into(),
            partitions,
            replication_factor: 1,
            topics: TopicNames::new("m.p."),
            security: None,
            topics_on_delete: TopicsOnDelete::Retain,
        }
    }

    #[tokio::test]
    async fn topics_grow_where_the_broker_allows() {
        let admin = MemoryAdmin::default();
        let first = provision(&admin, &kafka(5)).await.unwrap();
        assert!(first.iter().all(|t| t.ready && t.partitions == Some(5)));
        assert_eq!(first.len(), 11);
        let grown = provision(&admin, &kafka(8)).await.unwrap();
        assert!(
            grown
                .iter()
                .all(|t| t.ready && t.partitions == Some(8) && t.message.is_none())
        );
        assert!(admin.topics().values().all(|p| *p == 8));
    }

    fn existing(list: &[(&str, i32)]) -> BTreeMap<String, i32> {
        list.iter().map(|(n, p)| (n.to_string(), *p)).collect()
    }

    #[test]
    fn creates_what_is_missing_grows_what_is_short_and_never_shrinks() {
        let desired = vec![
            ("a".to_string(), 5),
            ("b".to_string(), 8),
            ("c".to_string(), 5),
        ];
        let actions = plan(&desired, &existing(&[("b", 5), ("c", 12)]));
        assert_eq!(
            actions,
            [
                Action::Create {
                    topic: "a".into(),
                    partitions: 5
                },
                Action::Grow {
                    topic: "b".into(),
                    from: 5,
                    to: 8
                },
            ]
        );
        assert!(plan(&desired, &existing(&[("a", 5), ("b", 8), ("c", 5)])).is_empty());
    }
}
