//! Kafka topics: the pure plan (what to create, what to grow, which settings to change, what
//! to report) and the provisioning that carries it out through a [`TopicAdmin`]. Topics are
//! created with the pipeline's partitions and settings, grown where the broker allows, never
//! shrunk, their settings kept as the pipeline says (described, and what differs altered),
//! and deleted only when the pipeline asks for it as it goes.

mod incremental;
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
    #[error(
        "Kafka at {bootstrap} refused the login (check spec.kafka.security.sasl and its Secret): {message}"
    )]
    AuthFailed { bootstrap: String, message: String },
    #[error(
        "the TLS handshake with Kafka at {bootstrap} failed (check spec.kafka.security.tls and its Secrets): {message}"
    )]
    TlsFailed { bootstrap: String, message: String },
    #[error("Kafka refused to {action} topic {topic}: {message}")]
    Refused {
        action: &'static str,
        topic: String,
        message: String,
    },
}

/// One outcome per topic: `Err` holds the broker's words.
pub type Outcomes = Vec<(String, Result<(), String>)>;

/// Topic settings, Kafka's names to values.
pub type TopicConfig = BTreeMap<String, String>;

/// A topic as the pipeline wants it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredTopic {
    pub name: String,
    pub partitions: i32,
    pub config: TopicConfig,
}

/// What the operator needs from a Kafka cluster.
pub trait TopicAdmin: Send + Sync {
    /// Partitions of each of `names` that exists.
    fn describe(
        &self,
        names: &[String],
    ) -> impl Future<Output = Result<BTreeMap<String, i32>, TopicError>> + Send;
    /// Creates topics with their partitions and settings; one outcome per topic.
    fn create(
        &self,
        topics: &[DesiredTopic],
        replication_factor: i32,
    ) -> impl Future<Output = Result<Outcomes, TopicError>> + Send;
    /// The settings of each of `names` that exists, as the broker reports them.
    fn configs(
        &self,
        names: &[String],
    ) -> impl Future<Output = Result<BTreeMap<String, TopicConfig>, TopicError>> + Send;
    /// Sets the given settings of each topic, leaving the others as they are (Kafka's
    /// IncrementalAlterConfigs); one outcome per topic.
    fn alter(
        &self,
        changes: &[(String, TopicConfig)],
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
pub fn plan(desired: &[DesiredTopic], existing: &BTreeMap<String, i32>) -> Vec<Action> {
    desired
        .iter()
        .filter_map(|t| match existing.get(&t.name) {
            None => Some(Action::Create {
                topic: t.name.clone(),
                partitions: t.partitions,
            }),
            Some(have) if *have < t.partitions => Some(Action::Grow {
                topic: t.name.clone(),
                from: *have,
                to: t.partitions,
            }),
            Some(_) => None,
        })
        .collect()
}

/// The settings of `wanted` that `current` does not have (missing or another value). Pure.
/// Settings the pipeline does not give are left alone.
pub fn config_changes(wanted: &TopicConfig, current: &TopicConfig) -> TopicConfig {
    wanted
        .iter()
        .filter(|(k, v)| current.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The topics a pipeline wants, with their partitions and settings.
pub fn desired(kafka: &KafkaPlan) -> Vec<DesiredTopic> {
    kafka
        .topics
        .all()
        .into_iter()
        .map(|(kind, name)| DesiredTopic {
            name,
            partitions: kafka.partitions,
            config: kafka.topic_config(kind),
        })
        .collect()
}

/// Creates and grows topics as planned; returns one status per desired topic. Only an
/// unreachable cluster is an error: a topic the broker refuses is reported in its status.
pub async fn provision<A: TopicAdmin>(
    admin: &A,
    kafka: &KafkaPlan,
) -> Result<Vec<TopicStatus>, TopicError> {
    let desired = desired(kafka);
    let names: Vec<String> = desired.iter().map(|t| t.name.clone()).collect();
    let mut have = admin.describe(&names).await?;
    let existed: Vec<String> = have.keys().cloned().collect();
    let actions = plan(&desired, &have);
    let mut problems: BTreeMap<String, String> = BTreeMap::new();
    // The plan's creates, with their settings.
    let creates: Vec<DesiredTopic> = desired
        .iter()
        .filter(|t| !have.contains_key(&t.name))
        .cloned()
        .collect();
    if !creates.is_empty() {
        for (topic, outcome) in admin.create(&creates, kafka.replication_factor).await? {
            match outcome {
                Ok(()) => {
                    let partitions = creates
                        .iter()
                        .find(|t| t.name == topic)
                        .map(|t| t.partitions);
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
    // Settings of the topics that were already there (new ones were created with theirs).
    if !existed.is_empty() {
        let current = admin.configs(&existed).await?;
        let changes: Vec<(String, TopicConfig)> = desired
            .iter()
            .filter(|t| existed.contains(&t.name))
            .map(|t| {
                let now = current.get(&t.name).cloned().unwrap_or_default();
                (t.name.clone(), config_changes(&t.config, &now))
            })
            .filter(|(_, change)| !change.is_empty())
            .collect();
        if !changes.is_empty() {
            for (topic, outcome) in admin.alter(&changes).await? {
                if let Err(message) = outcome {
                    let keys: Vec<&String> = changes
                        .iter()
                        .find(|(t, _)| *t == topic)
                        .map(|(_, c)| c.keys().collect())
                        .unwrap_or_default();
                    problems.insert(
                        topic,
                        format!("the broker refused to change {keys:?}: {message}"),
                    );
                }
            }
        }
    }
    Ok(desired
        .into_iter()
        .map(|DesiredTopic { name, partitions: wanted, .. }| {
            let partitions = have.get(&name).copied();
            let refused = problems.contains_key(&name);
            let message = problems.remove(&name).or_else(|| match partitions {
                Some(p) if p > wanted => Some(format!(
                    "has {p} partitions, more than the {wanted} asked for: partitions are never removed"
                )),
                _ => None,
            });
            TopicStatus {
                ready: partitions.is_some_and(|p| p >= wanted) && !refused,
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

    fn kafka(partitions: i32) -> KafkaPlan {
        let spec = serde_json::json!({"bootstrapServers": "memory", "partitions": partitions,
                                      "replicationFactor": 1, "topicPrefix": "m.p."});
        crate::validate::kafka_plan(&serde_json::from_value(spec).unwrap(), "m", "p")
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

    #[tokio::test]
    async fn settings_are_set_on_create_and_put_back_when_they_drift() {
        let admin = MemoryAdmin::default();
        let mut plan = kafka(5);
        provision(&admin, &plan).await.unwrap();
        assert_eq!(
            admin.config("m.p.option-data")["retention.ms"],
            "604800000",
            "7 days"
        );
        assert_eq!(
            admin.config("m.p.dead-letter")["retention.ms"],
            "2592000000",
            "30 days"
        );
        // Someone shortens a raw topic's retention by hand; the pipeline raises every
        // topic's compression and keeps dead letters forever.
        admin
            .alter(&[(
                "m.p.daily-data".into(),
                TopicConfig::from([("retention.ms".into(), "1000".into())]),
            )])
            .await
            .unwrap();
        plan.topic_config.compression_type = Some("zstd".into());
        plan.topic_overrides.insert(
            "dead-letter".into(),
            serde_json::from_value(serde_json::json!({"retentionMs": -1})).unwrap(),
        );
        let topics = provision(&admin, &plan).await.unwrap();
        assert!(topics.iter().all(|t| t.ready), "{topics:?}");
        assert_eq!(admin.config("m.p.daily-data")["retention.ms"], "604800000");
        assert_eq!(admin.config("m.p.daily-data")["compression.type"], "zstd");
        assert_eq!(admin.config("m.p.dead-letter")["retention.ms"], "-1");
    }

    #[test]
    fn only_the_settings_that_differ_are_changed() {
        let config = |pairs: &[(&str, &str)]| -> TopicConfig {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let wanted = config(&[("retention.ms", "604800000"), ("cleanup.policy", "delete")]);
        let current = config(&[
            ("retention.ms", "86400000"),
            ("cleanup.policy", "delete"),
            ("segment.bytes", "1073741824"),
        ]);
        assert_eq!(
            config_changes(&wanted, &current),
            config(&[("retention.ms", "604800000")])
        );
        assert!(config_changes(&wanted, &wanted).is_empty());
    }

    fn topic(name: &str, partitions: i32) -> DesiredTopic {
        DesiredTopic {
            name: name.into(),
            partitions,
            config: TopicConfig::new(),
        }
    }

    #[test]
    fn creates_what_is_missing_grows_what_is_short_and_never_shrinks() {
        let desired = vec![topic("a", 5), topic("b", 8), topic("c", 5)];
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
