//! Topic provisioning against a real broker (tansu). tansu does not implement
//! CreatePartitions, so growth is checked here only for being reported; the growth itself is
//! tested against an in-memory admin (src/topics/mod.rs).

use std::collections::BTreeMap;
use std::time::Duration;

use optionsflow_operator::topics::kafka::KafkaAdmin;
use optionsflow_operator::topics::{TopicAdmin, TopicError, provision};
use optionsflow_operator::validate::{KafkaPlan, kafka_plan};
use optionsflow_testkit::tansu::Tansu;

fn plan(bootstrap: &str, partitions: i32) -> KafkaPlan {
    let spec = serde_json::json!({"bootstrapServers": bootstrap, "partitions": partitions,
                                  "replicationFactor": 1});
    kafka_plan(&serde_json::from_value(spec).unwrap(), "markets", "us")
}

fn admin(bootstrap: &str) -> KafkaAdmin {
    KafkaAdmin::new(bootstrap, &BTreeMap::new(), Duration::from_secs(10)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_are_created_kept_reported_and_deleted() {
    let tansu = Tansu::start();
    let admin = admin(&tansu.bootstrap());
    let names: Vec<String> = plan("", 5)
        .topics
        .all()
        .into_iter()
        .map(|(_, n)| n)
        .collect();

    let created = provision(&admin, &plan(&tansu.bootstrap(), 5))
        .await
        .unwrap();
    assert_eq!(created.len(), 11);
    assert!(
        created.iter().all(|t| t.ready && t.partitions == Some(5)),
        "{created:?}"
    );
    let described = admin.describe(&names).await.unwrap();
    assert_eq!(described.len(), 11);
    assert!(described.values().all(|p| *p == 5));
    assert!(described.contains_key("markets.us.task-queue"));

    // Again: nothing to do, same answer.
    assert_eq!(
        provision(&admin, &plan(&tansu.bootstrap(), 5))
            .await
            .unwrap(),
        created
    );

    // Growth: tansu cannot add partitions; the pipeline is told so, per topic.
    let grown = provision(&admin, &plan(&tansu.bootstrap(), 8))
        .await
        .unwrap();
    assert!(
        grown
            .iter()
            .all(|t| !t.ready && t.partitions == Some(5) && t.desired_partitions == 8)
    );
    let message = grown[0].message.clone().unwrap();
    assert!(
        message.starts_with("the broker could not add partitions"),
        "{message}"
    );

    // Asking for fewer never shrinks anything.
    let fewer = provision(&admin, &plan(&tansu.bootstrap(), 3))
        .await
        .unwrap();
    assert!(fewer.iter().all(|t| t.ready && t.partitions == Some(5)));
    assert!(
        fewer[0]
            .message
            .as_deref()
            .unwrap()
            .contains("never removed")
    );

    admin.delete(&names).await.unwrap();
    assert!(admin.describe(&names).await.unwrap().is_empty());
    admin.delete(&names).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_cluster_is_an_error_not_a_status() {
    let port = optionsflow_testkit::tansu::free_port();
    let bootstrap = format!("127.0.0.1:{port}");
    let admin = KafkaAdmin::new(&bootstrap, &BTreeMap::new(), Duration::from_secs(2)).unwrap();
    match provision(&admin, &plan(&bootstrap, 5)).await {
        Err(TopicError::Unreachable { bootstrap: b, .. }) => assert_eq!(b, bootstrap),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_settings_are_set_on_create_and_put_back_when_they_drift() {
    let tansu = Tansu::start();
    let admin = admin(&tansu.bootstrap());
    let mut plan = plan(&tansu.bootstrap(), 5);
    provision(&admin, &plan).await.unwrap();
    let raw = "markets.us.option-data".to_owned();
    let dead = "markets.us.dead-letter".to_owned();
    let configs = admin.configs(&[raw.clone(), dead.clone()]).await.unwrap();
    assert_eq!(configs[&raw]["retention.ms"], "604800000", "{configs:?}");
    assert_eq!(configs[&dead]["retention.ms"], "2592000000", "{configs:?}");

    // A hand edit shortens the raw topic's retention; the pipeline asks for compression.
    let edit = BTreeMap::from([("retention.ms".to_owned(), "60000".to_owned())]);
    let outcome = admin.alter(&[(raw.clone(), edit)]).await.unwrap();
    assert_eq!(outcome, [(raw.clone(), Ok(()))]);
    assert_eq!(
        admin.configs(std::slice::from_ref(&raw)).await.unwrap()[&raw]["retention.ms"],
        "60000"
    );
    plan.topic_config.compression_type = Some("zstd".into());
    let topics = provision(&admin, &plan).await.unwrap();
    assert!(topics.iter().all(|t| t.ready), "{topics:?}");
    let now = admin.configs(std::slice::from_ref(&raw)).await.unwrap();
    assert_eq!(now[&raw]["retention.ms"], "604800000", "put back: {now:?}");
    assert_eq!(now[&raw]["compression.type"], "zstd", "{now:?}");
}
