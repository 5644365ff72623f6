//! [`TopicAdmin`] over the Kafka Admin API (rdkafka).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{
    AdminClient, AdminOptions, NewPartitions, NewTopic, OwnedResourceSpecifier, ResourceSpecifier,
    TopicReplication,
};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, DeliveryResult, Producer, ProducerContext};

use super::{
    AdminFactory, DesiredTopic, Outcomes, TopicAdmin, TopicConfig, TopicError, incremental,
};

/// How often a metadata request is retried while it waits: short, so that a login the
/// brokers refuse (reported on the side, through the error callback) ends the wait at once
/// instead of after the whole timeout.
const METADATA_ATTEMPT: Duration = Duration::from_millis(500);

pub struct KafkaAdmin {
    client: Arc<AdminClient<DefaultClientContext>>,
    /// Asks for metadata, and hears why the brokers refuse the client: librdkafka reports a
    /// failed SASL login or TLS handshake only as an event on the client's main queue, which
    /// an admin client never polls, and the request itself just times out. A producer that
    /// never sends polls that queue.
    probe: Arc<BaseProducer<Refusals>>,
    bootstrap: String,
    timeout: Duration,
}

/// Remembers why the brokers last refused the client.
#[derive(Default)]
pub struct Refusals {
    last: Mutex<Option<(RDKafkaErrorCode, String)>>,
}

impl ClientContext for Refusals {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(%error, reason, "kafka admin client");
        let refusal = match error.rdkafka_error_code() {
            Some(code @ (RDKafkaErrorCode::Authentication | RDKafkaErrorCode::SSL)) => code,
            // Under TLS 1.3 a server that wants a client certificate says so after the
            // handshake, so librdkafka sees a failed read carrying OpenSSL's alert.
            Some(RDKafkaErrorCode::BrokerTransportFailure) if reason.contains("SSL routines") => {
                RDKafkaErrorCode::SSL
            }
            _ => return,
        };
        *self.last.lock().expect("not poisoned") = Some((refusal, reason.to_owned()));
    }
}

/// The probe sends nothing, so nothing is ever delivered.
impl ProducerContext for Refusals {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &DeliveryResult<'_>, _: ()) {}
}

impl Refusals {
    fn refused(&self) -> bool {
        self.last.lock().expect("not poisoned").is_some()
    }

    fn take(&self) -> Option<(RDKafkaErrorCode, String)> {
        self.last.lock().expect("not poisoned").take()
    }
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
        let unreachable = |e: KafkaError| TopicError::Unreachable {
            bootstrap: bootstrap.to_owned(),
            message: e.to_string(),
        };
        let client = config.create().map_err(unreachable)?;
        let probe = config
            .create_with_context(Refusals::default())
            .map_err(unreachable)?;
        Ok(KafkaAdmin {
            client: Arc::new(client),
            probe: Arc::new(probe),
            bootstrap: bootstrap.to_owned(),
            timeout,
        })
    }

    /// Why a request failed: a refused login or handshake when the brokers said so,
    /// otherwise the cluster could not be reached.
    fn unreachable(&self, e: impl ToString) -> TopicError {
        let bootstrap = self.bootstrap.clone();
        match self.probe.context().take() {
            Some((RDKafkaErrorCode::Authentication, message)) => {
                TopicError::AuthFailed { bootstrap, message }
            }
            Some((_, message)) => TopicError::TlsFailed { bootstrap, message },
            None => TopicError::Unreachable {
                bootstrap,
                message: e.to_string(),
            },
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
        let deadline = tokio::time::Instant::now() + self.timeout;
        let metadata = loop {
            let probe = self.probe.clone();
            let attempt = tokio::task::spawn_blocking(move || {
                let metadata = probe.client().fetch_metadata(None, METADATA_ATTEMPT);
                probe.poll(Duration::ZERO);
                metadata
            })
            .await
            .map_err(|e| self.unreachable(e))?;
            match attempt {
                Ok(metadata) => {
                    // The brokers answer: whatever they refused before is past.
                    self.probe.context().take();
                    break metadata;
                }
                Err(e) => {
                    if self.probe.context().refused() || tokio::time::Instant::now() >= deadline {
                        return Err(self.unreachable(e));
                    }
                }
            }
        };
        Ok(metadata
            .topics()
            .iter()
            .filter(|t| t.error().is_none() && names.iter().any(|n| n == t.name()))
            .map(|t| (t.name().to_owned(), t.partitions().len() as i32))
            .collect())
    }

    async fn create(
        &self,
        topics: &[DesiredTopic],
        replication_factor: i32,
    ) -> Result<Outcomes, TopicError> {
        let new: Vec<NewTopic> = topics
            .iter()
            .map(|t| {
                t.config.iter().fold(
                    NewTopic::new(
                        &t.name,
                        t.partitions,
                        TopicReplication::Fixed(replication_factor),
                    ),
                    |topic, (k, v)| topic.set(k, v),
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

    async fn configs(&self, names: &[String]) -> Result<BTreeMap<String, TopicConfig>, TopicError> {
        let specifiers: Vec<ResourceSpecifier> =
            names.iter().map(|n| ResourceSpecifier::Topic(n)).collect();
        let results = self
            .client
            .describe_configs(&specifiers, &self.options())
            .await
            .map_err(|e| self.unreachable(e))?;
        let mut configs = BTreeMap::new();
        for result in results {
            let resource = result.map_err(|code| TopicError::Refused {
                action: "describe the settings of",
                topic: names.join(", "),
                message: code.to_string(),
            })?;
            let OwnedResourceSpecifier::Topic(name) = resource.specifier else {
                continue;
            };
            let config: TopicConfig = resource
                .entries
                .into_iter()
                .filter_map(|e| Some((e.name, e.value?)))
                .collect();
            configs.insert(name, config);
        }
        Ok(configs)
    }

    async fn alter(&self, changes: &[(String, TopicConfig)]) -> Result<Outcomes, TopicError> {
        let (client, changes, timeout) = (self.client.clone(), changes.to_vec(), self.timeout);
        tokio::task::spawn_blocking(move || {
            incremental::alter(client.inner().native_ptr(), &changes, timeout)
        })
        .await
        .map_err(|e| self.unreachable(e))?
        .map_err(|e| self.unreachable(e))
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
