//! Publishing that does not give up, for every role: each message retried with backoff until
//! the bus acknowledges it (data already paid for, or already consumed, is never dropped), and
//! the one way a dead letter becomes a message.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::{join_all, select_all};
use optionsflow_api::{DeadLetter, Envelope, SchemaId, Source, TopicKind, TopicNames};
use tokio_util::sync::CancellationToken;

use super::Publisher;
use crate::retry::Backoff;
use crate::runtime::metrics::Metrics;

/// A message to publish.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    pub topic: String,
    pub key: String,
    pub value: Vec<u8>,
    /// For a dead letter, its stage and reason: counted in `dead_letters` once acknowledged.
    pub dead_letter: Option<(String, String)>,
}

/// `letter` as a message on the pipeline's `dead-letter` topic, keyed by `symbol` (which
/// keeps a symbol's letters together; empty for a message that has none).
pub fn dead_letter(
    topics: &TopicNames,
    pipeline: &str,
    symbol: &str,
    at: DateTime<Utc>,
    task_id: Option<&str>,
    letter: DeadLetter,
) -> Outgoing {
    let counted = (letter.stage.clone(), letter.reason.clone());
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

/// Publishes every message, each retried with backoff until acknowledged, and counts it
/// (`published`, and `dead_letters` for a dead letter). False if one of `stop` was cancelled
/// first; with none, it never gives up.
pub async fn publish_all<P: Publisher>(
    publisher: &P,
    metrics: &Metrics,
    outgoing: &[Outgoing],
    stop: &[&CancellationToken],
) -> bool {
    let sends = outgoing.iter().map(|m| async move {
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(30));
        loop {
            match publisher.publish(&m.topic, &m.key, m.value.clone()).await {
                Ok(()) => {
                    metrics.published.with_label_values(&[&m.topic]).inc();
                    if let Some((stage, reason)) = &m.dead_letter {
                        metrics
                            .dead_letters
                            .with_label_values(&[stage, reason])
                            .inc();
                    }
                    return true;
                }
                Err(e) => {
                    let wait = backoff.next_delay();
                    tracing::warn!(topic = %m.topic, error = %e, ?wait, "publish failed; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = any_cancelled(stop) => return false,
                    }
                }
            }
        }
    });
    join_all(sends).await.into_iter().all(|ok| ok)
}

/// Ends when any of `tokens` is cancelled; never, for none.
async fn any_cancelled(tokens: &[&CancellationToken]) {
    if tokens.is_empty() {
        return std::future::pending().await;
    }
    select_all(tokens.iter().map(|t| Box::pin(t.cancelled()))).await;
}
