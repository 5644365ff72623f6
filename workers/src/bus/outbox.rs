//! Publishing that does not give up, for every role: each message retried with backoff until
//! the bus acknowledges it (data already paid for, or already consumed, is never dropped), and
//! the one way a dead letter becomes a message. A message the broker will never take (larger
//! than it accepts) is not retried: it goes to `dead-letter` as `too_large`, with its start.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::join_all;
use optionsflow_api::{
    DeadLetter, Envelope, Reason, Role, SchemaId, Source, TopicKind, TopicNames,
};

use super::{BusError, Publisher};
use crate::engine::Stop;
use crate::retry::Backoff;
use crate::runtime::metrics::Metrics;

/// A message to publish.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    pub topic: String,
    pub key: String,
    pub value: Vec<u8>,
    /// For a dead letter, its stage and reason: counted in `dead_letters` once acknowledged.
    pub dead_letter: Option<(Role, Reason)>,
}

/// The most of an original message a dead letter carries, as JSON text: a letter must stay
/// well under the broker's message size limit (1 MB by default), or it could not be
/// published and would hold its partition. The raw topics keep the whole message (the
/// letter's `origin` says where) for as long as they retain it.
pub const MAX_ORIGINAL_BYTES: usize = 256 << 10;

/// A role's way onto the bus: its producer, who it publishes as (a role of a pipeline, the
/// stage of the dead letters it makes here), and the metrics its messages count in.
pub struct Outbox<P> {
    pub publisher: P,
    pub role: Role,
    pub pipeline: String,
    pub topics: TopicNames,
    pub metrics: Metrics,
}

impl<P> Outbox<P> {
    /// `letter` on this pipeline's `dead-letter` topic ([`dead_letter`]).
    pub fn dead_letter(
        &self,
        symbol: &str,
        at: DateTime<Utc>,
        task_id: Option<&str>,
        letter: DeadLetter,
    ) -> Outgoing {
        dead_letter(&self.topics, &self.pipeline, symbol, at, task_id, letter)
    }
}

/// `letter` as a message on the pipeline's `dead-letter` topic, keyed by `symbol` (which
/// keeps a symbol's letters together; empty for a message that has none). An original
/// larger than [`MAX_ORIGINAL_BYTES`] is cut, and the letter says so.
pub fn dead_letter(
    topics: &TopicNames,
    pipeline: &str,
    symbol: &str,
    at: DateTime<Utc>,
    task_id: Option<&str>,
    letter: DeadLetter,
) -> Outgoing {
    let letter = capped(letter);
    let counted = (letter.stage, letter.reason);
    let mut envelope = Envelope::new(
        SchemaId::DEAD_LETTER,
        pipeline,
        symbol,
        Source::Optionsflow,
        at,
        letter,
    );
    envelope.task_id = task_id.map(str::to_owned);
    Outgoing {
        topic: topics.name(TopicKind::DeadLetter),
        key: symbol.to_owned(),
        value: serde_json::to_vec(&envelope).expect("dead letters serialize"),
        dead_letter: Some(counted),
    }
}

/// `letter` with its original cut to [`MAX_ORIGINAL_BYTES`] if it is longer: the start of its
/// JSON text, its size and the cap, in place of the whole.
fn capped(mut letter: DeadLetter) -> DeadLetter {
    let text = letter.original.to_string();
    if text.len() <= MAX_ORIGINAL_BYTES {
        return letter;
    }
    let mut end = MAX_ORIGINAL_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    letter.detail.push_str(&format!(
        " (the original, {} bytes of JSON, is cut to the first {MAX_ORIGINAL_BYTES}: the \
         dead-letter cap)",
        text.len()
    ));
    letter.original = serde_json::json!({
        "truncated": true,
        "bytes": text.len(),
        "capBytes": MAX_ORIGINAL_BYTES,
        "start": &text[..end],
    });
    letter
}

/// What to publish in place of `m`, which the broker refused as too large: a message becomes
/// a `too_large` dead letter carrying its start (cut to the dead-letter cap); a dead letter
/// keeps everything but its original. `None` when even that is too large.
fn smaller<P>(outbox: &Outbox<P>, m: &Outgoing, error: &BusError) -> Option<Outgoing> {
    let detail = format!(
        "a {}-byte message for {} is larger than the broker accepts: {error}",
        m.value.len(),
        m.topic
    );
    match &m.dead_letter {
        None => Some(outbox.dead_letter(
            &m.key,
            chrono::Utc::now(),
            None,
            DeadLetter {
                stage: outbox.role,
                reason: Reason::TooLarge,
                detail,
                origin: None,
                original: DeadLetter::original_from_bytes(&m.value),
                evidence: None,
            },
        )),
        Some(_) => {
            let mut envelope: Envelope<DeadLetter> = serde_json::from_slice(&m.value).ok()?;
            if envelope.payload.original.get("omitted").is_some() {
                return None;
            }
            envelope.payload.original = serde_json::json!({"omitted": true, "why": detail});
            Some(Outgoing {
                value: serde_json::to_vec(&envelope).expect("dead letters serialize"),
                ..m.clone()
            })
        }
    }
}

impl<P: Publisher> Outbox<P> {
    /// Publishes every message, each retried with backoff until acknowledged, and counts it
    /// (`published`, and `dead_letters` for a dead letter); one the broker will never take
    /// becomes a `too_large` dead letter ([`smaller`]). False if `stop` came first, or if the
    /// producer failed for good, which halts the role; with no `stop`, it never gives up.
    pub async fn publish_all(&self, outgoing: &[Outgoing], stop: Option<Stop<'_>>) -> bool {
        let (publisher, metrics) = (&self.publisher, &self.metrics);
        let sends = outgoing.iter().map(|m| async move {
            let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(30));
            let mut m = m.clone();
            loop {
                match publisher.publish(&m.topic, &m.key, m.value.clone()).await {
                    Ok(()) => {
                        metrics.published.with_label_values(&[&m.topic]).inc();
                        if let Some((stage, reason)) = &m.dead_letter {
                            metrics
                                .dead_letters
                                .with_label_values(&[stage.subcommand(), reason.as_str()])
                                .inc();
                        }
                        return true;
                    }
                    Err(e) if e.is_too_large() => match smaller(self, &m, &e) {
                        Some(instead) => {
                            tracing::error!(topic = %m.topic, key = %m.key, bytes = m.value.len(), error = %e,
                                "a message the broker will never take; sending a dead letter instead");
                            m = instead;
                        }
                        None => {
                            tracing::error!(topic = %m.topic, key = %m.key, bytes = m.value.len(), error = %e,
                                "not even a bare dead letter fits the broker's size limit; dropped");
                            return true;
                        }
                    },
                    Err(e) if e.is_fatal() && stop.is_some() => {
                        tracing::error!(topic = %m.topic, error = %e, "stopping the role");
                        stop.expect("checked").halt.halt(e.to_string());
                        return false;
                    }
                    Err(e) => {
                        let wait = backoff.next_delay();
                        tracing::warn!(topic = %m.topic, error = %e, ?wait, "publish failed; retrying");
                        tokio::select! {
                            _ = tokio::time::sleep(wait) => {}
                            _ = until(stop) => return false,
                        }
                    }
                }
            }
        });
        join_all(sends).await.into_iter().all(|ok| ok)
    }
}

/// Ends when `stop` does; never, for none.
async fn until(stop: Option<Stop<'_>>) {
    match stop {
        Some(stop) => stop.cancelled().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(original: serde_json::Value) -> DeadLetter {
        DeadLetter {
            stage: Role::Processor,
            reason: Reason::MalformedAnswer,
            detail: "bad".into(),
            origin: None,
            original,
            evidence: None,
        }
    }

    fn sent(letter: DeadLetter) -> DeadLetter {
        let topics = TopicNames::new("p-");
        let out = dead_letter(&topics, "ns/p", "AAPL", chrono::Utc::now(), None, letter);
        Envelope::parse(&out.value)
            .unwrap()
            .into_typed::<DeadLetter>(SchemaId::DEAD_LETTER)
            .unwrap()
            .payload
    }

    #[test]
    fn a_small_original_travels_whole() {
        let original = serde_json::json!({"rows": [1, 2, 3]});
        let got = sent(letter(original.clone()));
        assert_eq!(got.original, original);
        assert_eq!(got.detail, "bad");
    }

    /// Publishes one `bytes`-long message to a broker that takes at most `max_bytes`; returns
    /// what it stored and the dead-letter count.
    async fn too_large(bytes: usize, max_bytes: usize) -> (Vec<serde_json::Value>, f64) {
        let broker = crate::bus::testing::FlakyBroker {
            max_bytes: Some(max_bytes),
            ..Default::default()
        };
        let outbox = Outbox {
            publisher: broker,
            role: Role::Collector,
            pipeline: "ns/p".into(),
            topics: TopicNames::new("p-"),
            metrics: Metrics::new(),
        };
        let message = Outgoing {
            topic: outbox.topics.name(TopicKind::OptionData),
            key: "SPX".into(),
            value: serde_json::to_vec(&serde_json::json!({"body": "x".repeat(bytes)})).unwrap(),
            dead_letter: None,
        };
        assert!(outbox.publish_all(&[message], None).await);
        let stored = outbox.publisher.stored.lock().unwrap();
        assert!(
            stored
                .iter()
                .all(|(topic, key, _)| topic == "p-dead-letter" && key == "SPX")
        );
        let counted = outbox
            .metrics
            .dead_letters
            .with_label_values(&["collect", "too_large"])
            .get();
        (
            stored
                .iter()
                .map(|(_, _, v)| v["payload"].clone())
                .collect(),
            counted as f64,
        )
    }

    #[tokio::test]
    async fn a_message_the_broker_will_never_take_becomes_a_dead_letter_with_its_start() {
        let (letters, counted) = too_large(1 << 20, 300 << 10).await;
        assert_eq!(letters.len(), 1);
        assert_eq!(counted, 1.0);
        let letter = &letters[0];
        assert_eq!(letter["stage"], "collect");
        assert_eq!(letter["reason"], "too_large");
        assert!(
            letter["detail"]
                .as_str()
                .unwrap()
                .contains("larger than the broker accepts")
        );
        assert_eq!(letter["original"]["truncated"], true);
        assert_eq!(letter["original"]["capBytes"], MAX_ORIGINAL_BYTES);

        // A broker that takes even less: the letter goes without its original.
        let (letters, counted) = too_large(1 << 20, 2 << 10).await;
        assert_eq!((letters.len(), counted), (1, 1.0));
        assert_eq!(letters[0]["reason"], "too_large");
        assert_eq!(letters[0]["original"]["omitted"], true);
    }

    #[test]
    fn a_large_original_is_cut_to_the_cap_and_the_letter_says_so() {
        let big = "é".repeat(MAX_ORIGINAL_BYTES);
        let got = sent(letter(serde_json::json!({ "body": big })));
        assert_eq!(got.original["truncated"], true);
        assert_eq!(got.original["capBytes"], MAX_ORIGINAL_BYTES);
        assert_eq!(got.original["bytes"], 2 * MAX_ORIGINAL_BYTES + 11);
        let start = got.original["start"].as_str().unwrap();
        assert!(start.len() <= MAX_ORIGINAL_BYTES && start.starts_with("{\"body\":\"é"));
        assert!(got.detail.contains("dead-letter cap"), "{}", got.detail);
    }
}
