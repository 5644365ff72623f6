//! [`TopicAdmin`] over the Kafka Admin API (rdkafka).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewPartitions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;

use super::{AdminFactory, Outcomes, TopicAdmin, TopicError};

pub struct KafkaAdmin {
    client: Arc<AdminClient<DefaultClientContext>>,
    bootstrap: String,
    timeout: Duration,
}

impl KafkaAdmin {
    /// `properties` are librdkafka client properties (security, credentials); `timeout`
    /// bounds every request.
    pub fn new(
        bootstrap: &str,
        properties: &BTreeMap<String, String>,
        timeout: Duration,
    ) -> Result<KafkaAdmin, TopicError> {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", bootstrap);
        for (k, v) in properties {
            config.set(k, v);
        }
        let client = config.create().map_err(|e| TopicError::Unreachable {
            bootstrap: bootstrap.to_owned(),
            message: e.to_string(),
        })?;
        Ok(KafkaAdmin {
            client: Arc::new(client),
            bootstrap: bootstrap.to_owned(),
            timeout,
        })
    }

    fn unreachable(&self, e: impl ToString) -> TopicError {
        TopicError::Unreachable {
            bootstrap: self.bootstrap.clone(),
            message: e.to_string(),
        }
    }

    fn options(&self) -> AdminOptions {
        AdminOptions::new()
            .operation_timeout(Some(self.timeout))
            .request_timeout(Some(self.timeout))
    }
}

impl TopicAdmin for KafkaAdmin {
    async fn describe(&self, names: &[String]) -> Result<BTreeMap<String, i32>, TopicError> {
        let (client, timeout) = (self.client.clone(), self.timeout);
        let metadata =
            tokio::task::spawn_blocking(move || client.inner().fetch_metadata(None, timeout))
                .await
                .map_err(|e| self.unreachable(e))?
                .map_err(|e| self.unreachable(e))?;
        Ok(metadata
            .topics()
            .iter()
            .filter(|t| t.error().is_none() && names.iter().any(|n| n == t.name()))
            .map(|t| (t.name().to_owned(), t.partitions().len() as i32))
            .collect())
    }

    async fn create(
        &self,
        topics: &[(String, i32)],
        replication_factor: i32,
    ) -> Result<Outcomes, TopicError> {
        let new: Vec<NewTopic> = topics
            .iter()
            .map(|(name, partitions)| {
                NewTopic::new(
                    name,
                    *partitions,
                    TopicReplication::Fixed(replication_factor),
                )
            })
            .collect();
        let results = self
            .client
            .create_topics(&new, &self.options())
            .await
            .map_err(|e| self.unreachable(e))?;
        Ok(results
            .into_iter()
            .map(|r| match r {
                Ok(name) | Err((name, RDKafkaErrorCode::TopicAlreadyExists)) => (name, Ok(())),
                Err((name, code)) => (name, Err(code.to_string())),
            })
            .collect())
    }

    async fn grow(&self, topics: &[(String, i32)]) -> Result<Outcomes, TopicError> {
        let new: Vec<NewPartitions> = topics
            .iter()
            .map(|(name, partitions)| NewPartitions::new(name, *partitions as usize))
            .collect();
        match self.client.create_partitions(&new, &self.options()).await {
            Ok(results) => {
                let mut outcomes: Outcomes = results
                    .into_iter()
                    .map(|r| match r {
                        Ok(name) => (name, Ok(())),
                        Err((name, code)) => (name, Err(code.to_string())),
                    })
                    .collect();
                // A broker that does not answer per topic has not grown them.
                for (name, _) in topics {
                    if !outcomes.iter().any(|(n, _)| n == name) {
                        outcomes.push((name.clone(), Err("no answer for this topic".into())));
                    }
                }
                Ok(outcomes)
            }
            // Some brokers (tansu) do not implement CreatePartitions at all: report it per topic.
            Err(e) => Ok(topics
                .iter()
                .map(|(name, _)| (name.clone(), Err(e.to_string())))
                .collect()),
        }
    }

    async fn delete(&self, names: &[String]) -> Result<(), TopicError> {
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let results = self
            .client
            .delete_topics(&refs, &self.options())
            .await
            .map_err(|e| self.unreachable(e))?;
        for r in results {
            match r {
                Ok(_) | Err((_, RDKafkaErrorCode::UnknownTopicOrPartition)) => {}
                Err((topic, code)) => {
                    return Err(TopicError::Refused {
                        action: "delete",
                        topic,
                        message: code.to_string(),
                    });
                }
            }
        }
        Ok(())
    }
}

/// A cluster as the operator reaches it: bootstrap servers and client properties.
type ClusterKey = (String, BTreeMap<String, String>);

/// Admin clients by cluster and credentials, made once and shared: an rdkafka client owns
/// threads and connections, too much to build on every reconcile.
pub struct KafkaAdmins {
    timeout: Duration,
    clients: Mutex<HashMap<ClusterKey, Arc<KafkaAdmin>>>,
}

impl KafkaAdmins {
    pub fn new(timeout: Duration) -> KafkaAdmins {
        KafkaAdmins {
            timeout,
            clients: Mutex::default(),
        }
    }
}

impl AdminFactory for KafkaAdmins {
    type Admin = KafkaAdmin;

    fn admin(
        &self,
        bootstrap: &str,
        properties: &BTreeMap<String, String>,
    ) -> Result<Arc<KafkaAdmin>, TopicError> {
        let key = (bootstrap.to_owned(), properties.clone());
        let mut clients = self.clients.lock().expect("not poisoned");
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        let client = Arc::new(KafkaAdmin::new(bootstrap, properties, self.timeout)?);
        clients.insert(key, client.clone());
        Ok(client)
    }
}
