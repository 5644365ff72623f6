//! The Kafka cluster a pipeline uses.

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
}

/// TLS and SASL settings; credentials come from a Secret.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KafkaSecurity {
    /// The librdkafka `security.protocol`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<SecurityProtocol>,
    /// The SASL mechanism, for the SASL protocols.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sasl_mechanism: Option<SaslMechanism>,
    /// A Secret in the pipeline's namespace with keys `username` and `password`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret: Option<String>,
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SecurityProtocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaslMechanism {
    #[serde(rename = "PLAIN")]
    Plain,
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
}

/// The fate of a pipeline's topics when the pipeline is deleted.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopicsOnDelete {
    /// Keep the topics and their data (the safe choice for GitOps).
    Retain,
    /// Delete the topics. The operator holds a finalizer on the pipeline until it has.
    Delete,
}

impl SecurityProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }
}

impl SaslMechanism {
    pub fn as_str(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}
