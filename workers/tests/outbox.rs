//! Publishing against a real broker (tansu) through the role's producer: a message larger
//! than Kafka accepts is not retried forever (it would hold its partition), it becomes a
//! `too_large` dead letter carrying its start.

use std::time::Duration;

use optionsflow_api::{Role, RuntimeConfig, TopicKind};
use optionsflow_testkit::kafka;
use optionsflow_testkit::tansu::Tansu;
use optionsflow_workers::bus::kafka::producer;
use optionsflow_workers::bus::outbox::{MAX_ORIGINAL_BYTES, Outbox, Outgoing};
use optionsflow_workers::runtime::metrics::Metrics;

#[tokio::test]
async fn a_message_over_the_size_limit_becomes_a_dead_letter_not_an_endless_retry() {
    let tansu = Tansu::start();
    let config = RuntimeConfig::from_json(&format!(
        r#"{{"pipeline": {{"namespace": "t", "name": "big"}},
             "kafka": {{"bootstrapServers": "{}"}}}}"#,
        tansu.bootstrap()
    ))
    .unwrap();
    let topics = config.topics();
    let names: Vec<String> = topics.all().into_iter().map(|(_, n)| n).collect();
    kafka::create_topics(&tansu.bootstrap(), &names, 5).await;
    let outbox = Outbox {
        publisher: producer(&config.kafka).unwrap(),
        role: Role::Collector,
        pipeline: "t/big".into(),
        topics: topics.clone(),
        metrics: Metrics::new(),
    };
    // Two megabytes: over librdkafka's and Kafka's default limit of about one.
    let body = serde_json::json!({"chain": "x".repeat(2 << 20)});
    let fits = Outgoing {
        topic: topics.name(TopicKind::OptionData),
        key: "SPX".into(),
        value: br#"{"small": true}"#.to_vec(),
        dead_letter: None,
    };
    let big = Outgoing {
        value: serde_json::to_vec(&body).unwrap(),
        ..fits.clone()
    };
    let done = tokio::time::timeout(
        Duration::from_secs(60),
        outbox.publish_all(&[fits.clone(), big], None),
    )
    .await
    .expect("a message the broker refuses for its size is not retried forever");
    assert!(done);

    let raw = kafka::read_all(&tansu.bootstrap(), &fits.topic, Duration::from_secs(20));
    assert_eq!(raw.len(), 1, "only the message that fits");
    let letters = kafka::read_all(
        &tansu.bootstrap(),
        &topics.name(TopicKind::DeadLetter),
        Duration::from_secs(20),
    );
    assert_eq!(letters.len(), 1);
    let letter = &letters[0].value["payload"];
    assert_eq!(letter["stage"], "collect");
    assert_eq!(letter["reason"], "too_large");
    assert_eq!(letter["original"]["capBytes"], MAX_ORIGINAL_BYTES);
    assert_eq!(letters[0].key.as_deref(), Some("SPX"));
    assert_eq!(
        outbox
            .metrics
            .dead_letters
            .with_label_values(&["collect", "too_large"])
            .get(),
        1
    );
}
