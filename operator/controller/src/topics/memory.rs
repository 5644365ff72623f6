//! A Kafka cluster in memory for tests: unlike tansu it can add partitions, and it records
//! what was asked of it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::{AdminFactory, Outcomes, TopicAdmin, TopicError};

#[derive(Default)]
pub struct MemoryAdmin {
    topics: Mutex<BTreeMap<String, i32>>,
    deleted: Mutex<Vec<String>>,
    /// When set, every call fails as an unreachable cluster would.
    pub down: std::sync::atomic::AtomicBool,
}

impl MemoryAdmin {
    pub fn topics(&self) -> BTreeMap<String, i32> {
        self.topics.lock().unwrap().clone()
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

    async fn create(&self, topics: &[(String, i32)], _: i32) -> Result<Outcomes, TopicError> {
        self.grow(topics).await
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
