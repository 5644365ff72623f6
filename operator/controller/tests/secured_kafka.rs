//! The operator's Kafka client against a secured broker: tansu requiring SCRAM logins, behind
//! stunnel for TLS (and client certificates). The credentials come from Secrets in the
//! formats Strimzi writes, read through the API as the reconcile reads them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use optionsflow_api::crd::pipeline::KafkaSecurity;
use optionsflow_operator::reconcile::fetch;
use optionsflow_operator::topics::kafka::KafkaAdmin;
use optionsflow_operator::topics::{TopicError, provision};
use optionsflow_operator::validate::{KafkaPlan, kafka_plan};
use optionsflow_testkit::fake_api::FakeApi;
use optionsflow_testkit::tansu::SecuredKafka;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::json;

const NS: &str = "markets";
const USER: &str = "optionsflow";
const PASSWORD: &str = "a-scram-password";

fn plan(bootstrap: &str, security: &KafkaSecurity) -> KafkaPlan {
    let spec = json!({"bootstrapServers": bootstrap, "replicationFactor": 1,
                      "security": security});
    kafka_plan(&serde_json::from_value(spec).unwrap(), NS, "secured")
}

/// The Secrets Strimzi would have written: the cluster CA, and a KafkaUser's with its
/// password and its client certificate.
fn api_with_secrets(kafka: &SecuredKafka, password: &str) -> FakeApi {
    let api = FakeApi::default();
    let secret = |name: &str, data: serde_json::Value| {
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": name, "namespace": NS}, "stringData": data})
    };
    let c = &kafka.certificates;
    api.put(
        &format!("/api/v1/namespaces/{NS}/secrets"),
        secret(
            "my-cluster-cluster-ca-cert",
            json!({"ca.crt": c.pem("ca.crt")}),
        ),
    );
    api.put(
        &format!("/api/v1/namespaces/{NS}/secrets"),
        secret(
            USER,
            json!({"password": password, "user.crt": c.pem("user.crt"),
                   "user.key": c.pem("user.key")}),
        ),
    );
    api
}

fn security(value: serde_json::Value) -> KafkaSecurity {
    serde_json::from_value(value).unwrap()
}

fn sasl_ssl() -> KafkaSecurity {
    security(json!({
        "protocol": "SASL_SSL",
        "tls": {"caSecret": {"name": "my-cluster-cluster-ca-cert", "key": "ca.crt"}},
        "sasl": {"mechanism": "SCRAM-SHA-512", "username": USER,
                 "passwordSecret": {"name": USER, "key": "password"}}}))
}

async fn properties(api: &FakeApi, security: &KafkaSecurity) -> BTreeMap<String, String> {
    fetch::kafka_properties(&api.client(), NS, Some(security))
        .await
        .expect("the Secrets are read")
}

/// A message produced and consumed back with the same client properties.
async fn round_trip(bootstrap: &str, properties: &BTreeMap<String, String>, topic: &str) {
    let config = |extra: &[(&str, &str)]| {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", bootstrap);
        for (k, v) in properties.iter().map(|(k, v)| (k.as_str(), v.as_str())) {
            config.set(k, v);
        }
        for (k, v) in extra {
            config.set(*k, *v);
        }
        config
    };
    let producer: FutureProducer = config(&[("acks", "all")]).create().unwrap();
    producer
        .send(
            FutureRecord::to(topic).key("k").payload("through TLS"),
            Duration::from_secs(20),
        )
        .await
        .map_err(|(e, _)| e)
        .expect("the message is acknowledged");
    let consumer: BaseConsumer = config(&[
        ("group.id", "secured-test"),
        ("auto.offset.reset", "earliest"),
    ])
    .create()
    .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "nothing consumed from {topic}");
        if let Some(message) = consumer.poll(Duration::from_millis(500)) {
            let message = message.unwrap();
            use rdkafka::Message;
            assert_eq!(message.payload(), Some(&b"through TLS"[..]));
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_ssl_with_scram_creates_topics_and_carries_messages() {
    let kafka = SecuredKafka::start(&[(USER, PASSWORD)], false);
    let api = api_with_secrets(&kafka, PASSWORD);
    let security = sasl_ssl();
    let properties = properties(&api, &security).await;
    assert_eq!(properties["sasl.password"], PASSWORD);
    assert!(properties["ssl.ca.pem"].starts_with("-----BEGIN CERTIFICATE-----"));

    let admin = KafkaAdmin::new(&kafka.bootstrap(), &properties, Duration::from_secs(20)).unwrap();
    let topics = provision(&admin, &plan(&kafka.bootstrap(), &security))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", kafka.tansu.log()));
    assert_eq!(topics.len(), 11);
    assert!(topics.iter().all(|t| t.ready), "{topics:?}");
    round_trip(&kafka.bootstrap(), &properties, &topics[0].name).await;

    // SCRAM-SHA-256 logs in the same way. (PLAIN cannot be tried here: tansu 0.6.0 does not
    // offer it in the SASL handshake.)
    for mechanism in ["SCRAM-SHA-256"] {
        let mut other = properties.clone();
        other.insert("sasl.mechanism".into(), mechanism.into());
        let admin = KafkaAdmin::new(&kafka.bootstrap(), &other, Duration::from_secs(20)).unwrap();
        let topics = provision(&admin, &plan(&kafka.bootstrap(), &security))
            .await
            .unwrap_or_else(|e| panic!("{mechanism}: {e}"));
        assert!(topics.iter().all(|t| t.ready), "{mechanism}: {topics:?}");
    }

    // Without TLS, stunnel's port speaks nothing a Kafka client understands; without a
    // login, tansu refuses: neither gets a topic.
    let mut plain = properties.clone();
    plain.remove("sasl.mechanism");
    plain.remove("sasl.username");
    plain.remove("sasl.password");
    plain.insert("security.protocol".into(), "SSL".into());
    let anonymous = KafkaAdmin::new(&kafka.bootstrap(), &plain, Duration::from_secs(5)).unwrap();
    let refused = provision(&anonymous, &plan(&kafka.bootstrap(), &security)).await;
    assert!(refused.is_err(), "{refused:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_kafka_auth_failed_at_once() {
    let kafka = SecuredKafka::start(&[(USER, PASSWORD)], false);
    let api = api_with_secrets(&kafka, "not-the-password");
    let security = sasl_ssl();
    let properties = properties(&api, &security).await;
    let timeout = Duration::from_secs(60);
    let admin = KafkaAdmin::new(&kafka.bootstrap(), &properties, timeout).unwrap();
    let started = Instant::now();
    let error = provision(&admin, &plan(&kafka.bootstrap(), &security))
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(error, TopicError::AuthFailed { .. }),
        "{error} (after {took:?})"
    );
    assert_eq!(
        optionsflow_operator::error::Error::Topics(error.clone()).reason(),
        "KafkaAuthFailed"
    );
    // Reported when the broker refuses, not when the request gives up.
    assert!(took < timeout / 4, "{error} only after {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_needs_the_client_certificate() {
    let kafka = SecuredKafka::start(&[(USER, PASSWORD)], true);
    let api = api_with_secrets(&kafka, PASSWORD);
    let mut security = sasl_ssl();
    security.tls.as_mut().unwrap().client_cert_secret = Some(USER.into());
    let properties = properties(&api, &security).await;
    assert!(properties["ssl.key.pem"].contains("PRIVATE KEY"));

    let admin = KafkaAdmin::new(&kafka.bootstrap(), &properties, Duration::from_secs(20)).unwrap();
    let topics = provision(&admin, &plan(&kafka.bootstrap(), &security))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", kafka.stunnel.log()));
    assert!(topics.iter().all(|t| t.ready), "{topics:?}");
    round_trip(&kafka.bootstrap(), &properties, &topics[1].name).await;

    // The same login without the certificate: stunnel ends the handshake.
    let mut without = properties.clone();
    without.remove("ssl.certificate.pem");
    without.remove("ssl.key.pem");
    let admin = KafkaAdmin::new(&kafka.bootstrap(), &without, Duration::from_secs(20)).unwrap();
    let started = Instant::now();
    let error = provision(&admin, &plan(&kafka.bootstrap(), &security))
        .await
        .unwrap_err();
    assert!(
        matches!(error, TopicError::TlsFailed { .. }),
        "{error} after {:?}",
        started.elapsed()
    );
    assert!(
        kafka
            .stunnel
            .log()
            .contains("peer did not return a certificate"),
        "{}",
        kafka.stunnel.log()
    );
}
