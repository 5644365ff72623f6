//! The handler against an in-memory broker that can refuse: nothing counts as done before
//! every message is acknowledged, and what was dropped is counted by reason.

use std::time::Duration;

use optionsflow_api::{Envelope, MessageOrigin, SchemaId, Source};
use serde_json::json;

use super::*;
use crate::bus::outbox::Outbox;
use crate::bus::testing::FlakyBroker;
use crate::engine::Halt;
use std::sync::atomic::Ordering;
use tokio_util::sync::CancellationToken;

fn handler(failures: usize) -> Handler<FlakyBroker> {
    let config = RuntimeConfig::from_json(
        r#"{"pipeline": {"namespace": "m", "name": "p"}, "kafka": {"bootstrapServers": "x"}}"#,
    )
    .unwrap();
    Handler {
        outbox: Outbox {
            publisher: FlakyBroker {
                failures,
                ..FlakyBroker::default()
            },
            role: Role::Processor,
            pipeline: config.pipeline.id(),
            topics: config.topics(),
            metrics: Metrics::new(),
        },
        config,
    }
}

/// Three daily bars of TAA; the newest has its high below its low.
fn delivery(payload: Vec<u8>) -> Delivery {
    Delivery {
        origin: MessageOrigin {
            topic: "m.p.daily-data".into(),
            partition: 1,
            offset: 7,
        },
        dataset: Dataset::Daily,
        key: None,
        payload,
    }
}

fn bars() -> Vec<u8> {
    let bar = |d: &str, high: &str| json!({"datetime": d, "open": "10", "high": high, "low": "9", "close": "10", "volume": "5"});
    let payload = json!({"meta": {"interval": "1day"}, "status": "ok", "values": [
        bar("2026-11-24", "8"), bar("2026-11-23", "11"), bar("2026-11-20", "11")]});
    serde_json::to_vec(&Envelope::new(
        SchemaId::TWELVEDATA_TIME_SERIES,
        "m/p",
        "TAA",
        Source::TwelveData,
        "2026-11-24T22:00:00Z".parse().unwrap(),
        payload,
    ))
    .unwrap()
}

fn counter(h: &Handler<FlakyBroker>, name: &str, labels: &[&str]) -> u64 {
    let m = &h.outbox.metrics.processing;
    let family = match name {
        "messages" => &m.messages,
        "records" => &m.records,
        "dropped" => &m.dropped,
        _ => unreachable!(),
    };
    family.with_label_values(labels).get()
}

#[tokio::test]
async fn output_is_retried_until_acknowledged_then_counted() {
    let h = handler(2);
    let outcome = h
        .handle(
            &delivery(bars()),
            Stop::on(&CancellationToken::new(), &Halt::default()),
        )
        .await;
    assert_eq!(outcome, Outcome::Done);
    let stored = h.outbox.publisher.stored.lock().unwrap().clone();
    let topics: Vec<&str> = stored.iter().map(|(t, ..)| t.as_str()).collect();
    assert_eq!(topics.len(), 2, "{topics:?}");
    assert!(topics.contains(&"m.p.processed-daily-data"));
    assert!(topics.contains(&"m.p.dead-letter"));
    let (_, key, batch) = stored
        .iter()
        .find(|(t, ..)| t.ends_with("processed-daily-data"))
        .unwrap();
    assert_eq!(key, "TAA");
    assert_eq!(batch["payload"]["origin"]["offset"], 7);
    assert_eq!(batch["payload"]["records"].as_array().unwrap().len(), 2);
    let (_, _, letter) = stored
        .iter()
        .find(|(t, ..)| t.ends_with("dead-letter"))
        .unwrap();
    assert_eq!(letter["payload"]["reason"], "high_below_low");
    assert_eq!(letter["payload"]["original"]["rows"][0]["row"]["high"], "8");
    assert_eq!(counter(&h, "messages", &["daily", "processed"]), 1);
    assert_eq!(counter(&h, "records", &["daily"]), 2);
    assert_eq!(counter(&h, "dropped", &["daily", "high_below_low"]), 1);
}

#[tokio::test]
async fn a_broker_that_never_answers_leaves_the_message_uncommitted_and_uncounted() {
    let h = handler(usize::MAX);
    let stop = CancellationToken::new();
    let stopper = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        stopper.cancel();
    });
    let halt = Halt::default();
    let outcome = h.handle(&delivery(bars()), Stop::on(&stop, &halt)).await;
    assert_eq!(outcome, Outcome::Abandoned);
    assert!(
        h.outbox.publisher.attempts.load(Ordering::SeqCst) >= 4,
        "it retried"
    );
    assert!(h.outbox.publisher.stored.lock().unwrap().is_empty());
    assert_eq!(counter(&h, "messages", &["daily", "processed"]), 0);
}

#[tokio::test]
async fn a_producer_that_failed_for_good_halts_the_role_instead_of_retrying() {
    let mut h = handler(0);
    h.outbox.publisher.fatal = true;
    let (stop, halt) = (CancellationToken::new(), Halt::default());
    let outcome = tokio::time::timeout(
        Duration::from_secs(5),
        h.handle(&delivery(bars()), Stop::on(&stop, &halt)),
    )
    .await
    .expect("no endless retry");
    assert_eq!(outcome, Outcome::Abandoned, "nothing to commit");
    let reason = halt.reason().expect("the role halts");
    assert!(reason.contains("failed for good"), "{reason}");
    assert!(halt.token().is_cancelled());
    assert_eq!(counter(&h, "messages", &["daily", "processed"]), 0);
}

#[tokio::test]
async fn an_unusable_message_becomes_one_dead_letter_with_the_original() {
    let h = handler(0);
    let outcome = h
        .handle(
            &delivery(b"{\"schema\": tru".to_vec()),
            Stop::on(&CancellationToken::new(), &Halt::default()),
        )
        .await;
    assert_eq!(outcome, Outcome::Done);
    let stored = h.outbox.publisher.stored.lock().unwrap().clone();
    assert_eq!(stored.len(), 1);
    let letter = &stored[0].2["payload"];
    assert_eq!(letter["reason"], "malformed_message");
    assert_eq!(letter["stage"], "process");
    assert_eq!(letter["original"], "{\"schema\": tru");
    assert_eq!(counter(&h, "messages", &["daily", "dead_letter"]), 1);
}
