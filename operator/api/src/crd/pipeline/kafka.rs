//! The Kafka cluster a pipeline uses.

use std::collections::BTreeMap;

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::SecretKeyRef;
use crate::named_enum;

/// Where the pipeline's topics live and how to reach them.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("(has(self.partitions) ? self.partitions : 5) >= (has(oldSelf.partitions) ? oldSelf.partitions : 5)").message("partitions can only grow (Kafka cannot remove partitions; the default is 5)"))]
pub struct KafkaSpec {
    /// Bootstrap servers, `host:port[,host:port...]`.
    #[schemars(length(min = 1, max = 2048))]
    pub bootstrap_servers: String,
    /// Partitions of each topic (default 5). May grow, never shrink.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub partitions: Option<i32>,
    /// Replication factor of each topic the operator creates (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 32))]
    pub replication_factor: Option<i32>,
    /// Prefix of every topic and consumer group (default `<namespace>.<pipeline>.`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-zA-Z0-9._-]{1,200}$"))]
    pub topic_prefix: Option<String>,
    /// How to authenticate to the cluster (plaintext when left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<KafkaSecurity>,
    /// What happens to the topics when the pipeline is deleted (default Retain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topics_on_delete: Option<TopicsOnDelete>,
    /// Settings of every topic, applied when it is created and kept on it afterwards (the
    /// operator describes each topic and alters what differs). Default: messages kept 7
    /// days (30 for `dead-letter`), the broker's defaults for the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_config: Option<TopicConfigSpec>,
    /// Settings of single topics, by the part of their name after the prefix (`task-queue`,
    /// `daily-data`, `option-data`, `processed-options-data`, `dead-letter`, ...), over
    /// `topicConfig`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.all(k, k in ['task-queue', 'daily-data', '15min-data', 'historical-data', 'option-data', 'processed-daily-data', 'processed-15min-data', 'processed-historical-data', 'processed-options-data', 'dead-letter', 'budget-ledger'])").message("topics are named by their suffix: task-queue, daily-data, 15min-data, historical-data, option-data, processed-daily-data, processed-15min-data, processed-historical-data, processed-options-data, dead-letter, budget-ledger"))]
    pub topics: Option<BTreeMap<String, TopicConfigSpec>>,
}

/// Kafka topic settings. Left out: the level below decides (a topic's own entry, then
/// `topicConfig`, then the operator's default, then the broker's).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TopicConfigSpec {
    /// `retention.ms`: how long messages are kept, in milliseconds (-1: forever). Raw topics
    /// must keep messages as long as you may want to replay them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = -1))]
    pub retention_ms: Option<i64>,
    /// `cleanup.policy`: `delete` (by age), `compact` (the last message per key) or
    /// `compact,delete`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^(delete|compact|compact,delete|delete,compact)$"))]
    pub cleanup_policy: Option<String>,
    /// `min.insync.replicas`: replicas that must have a message before it is acknowledged
    /// (producers use `acks=all`). At most the replication factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 32))]
    pub min_insync_replicas: Option<i32>,
    /// `compression.type`: `producer` (keep what producers send), `uncompressed`, `gzip`,
    /// `snappy`, `lz4` or `zstd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^(producer|uncompressed|gzip|snappy|lz4|zstd)$"))]
    pub compression_type: Option<String>,
}

impl TopicConfigSpec {
    /// These settings over `base`.
    pub fn over(&self, base: &TopicConfigSpec) -> TopicConfigSpec {
        TopicConfigSpec {
            retention_ms: self.retention_ms.or(base.retention_ms),
            cleanup_policy: self.cleanup_policy.clone().or(base.cleanup_policy.clone()),
            min_insync_replicas: self.min_insync_replicas.or(base.min_insync_replicas),
            compression_type: self
                .compression_type
                .clone()
                .or(base.compression_type.clone()),
        }
    }

    /// As Kafka's topic configuration, the settings given only.
    pub fn to_kafka(&self) -> BTreeMap<String, String> {
        [
            ("retention.ms", self.retention_ms.map(|v| v.to_string())),
            ("cleanup.policy", self.cleanup_policy.clone()),
            (
                "min.insync.replicas",
                self.min_insync_replicas.map(|v| v.to_string()),
            ),
            ("compression.type", self.compression_type.clone()),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_owned(), v?)))
        .collect()
    }
}

/// TLS and SASL settings. Credentials are read from Secrets in the pipeline's namespace, in
/// the formats Strimzi writes for a cluster CA and a KafkaUser.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.sasl) || (has(self.protocol) && self.protocol.startsWith('SASL_'))").message("sasl needs protocol SASL_SSL or SASL_PLAINTEXT"))]
#[x_kube(validation = Rule::new("!has(self.tls) || (has(self.protocol) && self.protocol.endsWith('SSL'))").message("tls needs protocol SSL or SASL_SSL"))]
#[x_kube(validation = Rule::new("!has(self.protocol) || !self.protocol.startsWith('SASL_') || has(self.sasl)").message("a SASL protocol needs sasl (mechanism, username, passwordSecret)"))]
pub struct KafkaSecurity {
    /// The librdkafka `security.protocol` (default PLAINTEXT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<SecurityProtocol>,
    /// How the brokers' certificates are checked, and the client certificate for mutual TLS
    /// (protocols SSL and SASL_SSL). Without it, the system's trust store and no client
    /// certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<KafkaTls>,
    /// The SASL login (protocols SASL_SSL and SASL_PLAINTEXT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sasl: Option<KafkaSasl>,
}

/// TLS trust and identity.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KafkaTls {
    /// The PEM certificate(s) of the CA that signed the brokers' certificates, e.g.
    /// `{name: my-cluster-cluster-ca-cert, key: ca.crt}` (Strimzi's cluster CA Secret, copied
    /// into the pipeline's namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_secret: Option<SecretKeyRef>,
    /// A Secret with the client certificate and its private key, PEM, under the keys
    /// `user.crt` and `user.key` (what Strimzi writes for a KafkaUser with `tls`
    /// authentication), for brokers that verify clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub client_cert_secret: Option<String>,
}

/// A SASL login: the user name, and the password from a Secret.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KafkaSasl {
    /// The SASL mechanism.
    pub mechanism: SaslMechanism,
    /// The user name (for Strimzi, the KafkaUser's name).
    #[schemars(length(min = 1, max = 256))]
    pub username: String,
    /// The password, e.g. `{name: <user>, key: password}` (the Secret Strimzi writes for a
    /// KafkaUser with `scram-sha-512` authentication).
    pub password_secret: SecretKeyRef,
}

/// Strimzi's key for the client certificate in a KafkaUser Secret.
pub const CLIENT_CERT_KEY: &str = "user.crt";
/// Strimzi's key for the client's private key in a KafkaUser Secret.
pub const CLIENT_KEY_KEY: &str = "user.key";

/// A client property whose value is secret: the pods get it from the Secret as the
/// environment variable, and the operator reads the Secret itself for its admin client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretProperty {
    /// The librdkafka property (`sasl.password`, `ssl.ca.pem`, ...).
    pub property: &'static str,
    /// The variable the workers read it from.
    pub variable: &'static str,
    pub secret: String,
    pub key: String,
}

impl KafkaSecurity {
    /// The librdkafka properties that are not secret.
    pub fn properties(&self) -> BTreeMap<String, String> {
        let mut properties = BTreeMap::new();
        if let Some(protocol) = self.protocol {
            properties.insert("security.protocol".into(), protocol.as_str().into());
        }
        if let Some(sasl) = &self.sasl {
            properties.insert("sasl.mechanism".into(), sasl.mechanism.as_str().into());
            properties.insert("sasl.username".into(), sasl.username.clone());
        }
        properties
    }

    /// The properties whose values come from Secrets. PEM values rather than files: one
    /// way for the workers (environment) and the operator (read from the API) alike.
    pub fn secret_properties(&self) -> Vec<SecretProperty> {
        let mut secret = Vec::new();
        if let Some(sasl) = &self.sasl {
            secret.push(SecretProperty {
                property: "sasl.password",
                variable: "KAFKA_SASL_PASSWORD",
                secret: sasl.password_secret.name.clone(),
                key: sasl.password_secret.key.clone(),
            });
        }
        let tls = self.tls.as_ref();
        if let Some(ca) = tls.and_then(|t| t.ca_secret.as_ref()) {
            secret.push(SecretProperty {
                property: "ssl.ca.pem",
                variable: "KAFKA_SSL_CA_PEM",
                secret: ca.name.clone(),
                key: ca.key.clone(),
            });
        }
        if let Some(name) = tls.and_then(|t| t.client_cert_secret.as_ref()) {
            for (property, variable, key) in [
                (
                    "ssl.certificate.pem",
                    "KAFKA_SSL_CERTIFICATE_PEM",
                    CLIENT_CERT_KEY,
                ),
                ("ssl.key.pem", "KAFKA_SSL_KEY_PEM", CLIENT_KEY_KEY),
            ] {
                secret.push(SecretProperty {
                    property,
                    variable,
                    secret: name.clone(),
                    key: key.into(),
                });
            }
        }
        secret
    }
}

named_enum! {
    rename_all = "SCREAMING_SNAKE_CASE";
    #[derive(JsonSchema)]
    pub enum SecurityProtocol {
        /// No encryption, no login.
        Plaintext,
        /// TLS; with `tls.clientCertSecret`, mutual TLS.
        Ssl,
        /// A SASL login over an unencrypted connection.
        SaslPlaintext,
        /// A SASL login over TLS (the usual choice for a managed or Strimzi cluster).
        SaslSsl,
    }
}

named_enum! {
    #[derive(JsonSchema)]
    pub enum SaslMechanism {
        /// The password in the clear (only over TLS).
        Plain = "PLAIN",
        /// Salted challenge-response with SHA-256.
        ScramSha256 = "SCRAM-SHA-256",
        /// Salted challenge-response with SHA-512 (Strimzi's `scram-sha-512`).
        ScramSha512 = "SCRAM-SHA-512",
    }
}

/// The fate of a pipeline's topics when the pipeline is deleted.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopicsOnDelete {
    /// Keep the topics and their data (the safe choice for GitOps).
    Retain,
    /// Delete the topics. The operator holds a finalizer on the pipeline until it has.
    Delete,
}
