//! A Kafka cluster in memory for tests: unlike tansu it can add partitions, and it records
//! what was asked of it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::{AdminFactory, DesiredTopic, Outcomes, TopicAdmin, TopicConfig, TopicError};

#[derive(Default)]
pub struct MemoryAdmin {
    topics: Mutex<BTreeMap<String, i32>>,
    configs: Mutex<BTreeMap<String, TopicConfig>>,
    deleted: Mutex<Vec<String>>,
    /// When set, every call fails as an unreachable cluster would.
    pub down: std::sync::atomic::AtomicBool,
}

impl MemoryAdmin {
    pub fn topics(&self) -> BTreeMap<String, i32> {
        self.topics.lock().unwrap().clone()
    }

    pub fn config(&self, topic: &str) -> TopicConfig {
        self.configs
            .lock()
            .unwrap()
            .get(topic)
            .cloned()
            .unwrap_or_default()
    }

    pub fn deleted(&self) -> Vec<String> {
        self.deleted.lock().unwrap().clone()
    }

    fn check(&self) -> Result<(), TopicError> {
        if self.down.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(TopicError::Unreachable {
                bootstrap: "memory".into(),
                message: "the cluster is down".into(),
            });
        }
        Ok(())
    }
}

impl TopicAdmin for MemoryAdmin {
    async fn describe(&self, names: &[String]) -> Result<BTreeMap<String, i32>, TopicError> {
        self.check()?;
        Ok(self
            .topics()
            .into_iter()
            .filter(|(n, _)| names.contains(n))
            .collect())
    }

    async fn create(&self, topics: &[DesiredTopic], _: i32) -> Result<Outcomes, TopicError> {
        let mut configs = self.configs.lock().unwrap().clone();
        for t in topics {
            configs.insert(t.name.clone(), t.config.clone());
        }
        *self.configs.lock().unwrap() = configs;
        let sizes: Vec<(String, i32)> = topics
            .iter()
            .map(|t| (t.name.clone(), t.partitions))
            .collect();
        self.grow(&sizes).await
    }

    async fn configs(&self, names: &[String]) -> Result<BTreeMap<String, TopicConfig>, TopicError> {
        self.check()?;
        Ok(names.iter().map(|n| (n.clone(), self.config(n))).collect())
    }

    async fn alter(&self, changes: &[(String, TopicConfig)]) -> Result<Outcomes, TopicError> {
        self.check()?;
        let mut configs = self.configs.lock().unwrap();
        Ok(changes
            .iter()
            .map(|(topic, change)| {
                configs
                    .entry(topic.clone())
                    .or_default()
                    .extend(change.clone());
                (topic.clone(), Ok(()))
            })
            .collect())
    }

    async fn grow(&self, topics: &[(String, i32)]) -> Result<Outcomes, TopicError> {
        self.check()?;
        let mut have = self.topics.lock().unwrap();
        Ok(topics
            .iter()
            .map(|(n, p)| {
                have.insert(n.clone(), *p);
                (n.clone(), Ok(()))
            })
            .collect())
    }

    async fn delete(&self, names: &[String]) -> Result<(), TopicError> {
        self.check()?;
        let mut have = self.topics.lock().unwrap();
        for n in names {
            have.remove(n);
            self.deleted.lock().unwrap().push(n.clone());
        }
        Ok(())
    }
}

/// Always the same cluster, whatever the bootstrap address.
#[derive(Clone, Default)]
pub struct MemoryAdmins(pub Arc<MemoryAdmin>);

impl AdminFactory for MemoryAdmins {
    type Admin = MemoryAdmin;
    fn admin(&self, _: &str, _: &BTreeMap<String, String>) -> Result<Arc<MemoryAdmin>, TopicError> {
        Ok(self.0.clone())
    }
}
