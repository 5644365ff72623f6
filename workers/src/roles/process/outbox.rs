//! What one raw message makes the processor publish: its records on the dataset's processed
//! topic (in chunks that fit a Kafka message), and dead letters for the message or its
//! dropped rows. Pure, so the exact messages can be tested without a broker.

use optionsflow_api::records::{Batch, DropReason};
use optionsflow_api::{
    DeadLetter, Envelope, MessageOrigin, Part, Reason, Role, TopicKind, TopicNames,
};
use serde::Serialize;
use serde_json::json;

pub use crate::bus::outbox::Outgoing;
use crate::bus::outbox::dead_letter;
use crate::stages::process::{Processed, Records, Unusable};

/// Records per processed message: an option quote is about 700 bytes of JSON, so a chunk
/// stays well under Kafka's default 1 MB message limit.
pub const RECORDS_PER_MESSAGE: usize = 500;

/// Dropped rows kept in one dead letter; more are counted but not copied.
const ROWS_PER_DEAD_LETTER: usize = 1000;

/// The messages for a processed raw message.
pub fn processed(topics: &TopicNames, pipeline: &str, p: &Processed) -> Vec<Outgoing> {
    let topic = topics.name(TopicKind::processed(p.records.dataset()));
    let mut out = match &p.records {
        Records::Bars(b) => chunks(&topic, pipeline, p, b),
        Records::Quotes(b) => chunks(&topic, pipeline, p, b),
    };
    out.extend(dropped_rows(topics, pipeline, p));
    out
}

fn chunks<R: Serialize + Clone>(
    topic: &str,
    pipeline: &str,
    p: &Processed,
    batch: &Batch<R>,
) -> Vec<Outgoing> {
    let count = batch.records.len().div_ceil(RECORDS_PER_MESSAGE);
    batch
        .records
        .chunks(RECORDS_PER_MESSAGE)
        .enumerate()
        .map(|(index, records)| {
            let chunk = (count > 1).then_some(Part {
                index: index as u32,
                count: count as u32,
            });
            let payload = BatchRef {
                dataset: batch.dataset,
                origin: &batch.origin,
                chunk,
                records,
            };
            let mut envelope = Envelope::new(
                p.records.schema(),
                pipeline,
                &p.symbol,
                p.source,
                p.fetched_at,
                payload,
            );
            envelope.task_id = p.task_id.clone();
            envelope.part = p.part;
            Outgoing {
                topic: topic.to_owned(),
                key: p.symbol.clone(),
                value: serde_json::to_vec(&envelope).expect("records serialize"),
                dead_letter: None,
            }
        })
        .collect()
}

/// [`Batch`] by reference, to serialize chunks without copying records.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BatchRef<'a, R> {
    dataset: optionsflow_api::Dataset,
    origin: &'a MessageOrigin,
    #[serde(skip_serializing_if = "Option::is_none")]
    chunk: Option<Part>,
    records: &'a [R],
}

/// One dead letter per drop reason, holding the rows as the provider sent them. Duplicates
/// are only counted: their first copy was kept.
fn dropped_rows(topics: &TopicNames, pipeline: &str, p: &Processed) -> Vec<Outgoing> {
    let origin = match &p.records {
        Records::Bars(b) => &b.origin,
        Records::Quotes(b) => &b.origin,
    };
    p.dropped_by_reason()
        .into_iter()
        .filter(|(reason, _)| *reason != DropReason::Duplicate)
        .map(|(reason, rows)| {
            let detail = format!(
                "{} {} row(s) of {} dropped ({}); first: {}",
                rows.len(),
                reason.as_str(),
                p.symbol,
                p.records.dataset(),
                rows[0].detail
            );
            let kept: Vec<_> = rows
                .iter()
                .take(ROWS_PER_DEAD_LETTER)
                .map(|d| json!({"detail": d.detail, "row": d.row}))
                .collect();
            let letter = DeadLetter {
                stage: Role::Processor,
                reason: Reason::Row(reason),
                detail,
                origin: Some(origin.clone()),
                original: json!({ "rows": kept, "count": rows.len() }),
                evidence: None,
            };
            dead_letter(topics, pipeline, &p.symbol, p.fetched_at, None, letter)
        })
        .collect()
}

/// The dead letter for a message that could not be processed at all.
pub fn unusable(
    topics: &TopicNames,
    pipeline: &str,
    origin: &MessageOrigin,
    bytes: &[u8],
    error: &Unusable,
) -> Outgoing {
    // The key keeps a symbol's dead letters together; an unreadable message has none.
    let symbol = serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| v["symbol"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let letter = DeadLetter {
        stage: Role::Processor,
        reason: error.reason(),
        detail: error.to_string(),
        origin: Some(origin.clone()),
        original: DeadLetter::original_from_bytes(bytes),
        evidence: None,
    };
    dead_letter(topics, pipeline, &symbol, chrono::Utc::now(), None, letter)
}
