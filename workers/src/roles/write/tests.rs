//! The writers' batching against an in-memory destination and broker: when a batch is
//! stored, that nothing counts as stored before the destination says so, that unreadable
//! messages become dead letters, and that a batch a previous owner cut is cut again at the
//! same offset.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{TimeZone, Utc};
use optionsflow_testkit::records;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::bus::testing::FlakyBroker;

/// Gathers row counts; fails the first `failures` flushes; knows one stale range.
#[derive(Default)]
struct Memory {
    failures: usize,
    attempts: AtomicUsize,
    flushed: Mutex<Vec<(Span, usize)>>,
    stale: Option<(i64, i64)>,
}

impl Destination for Memory {
    type Pending = usize;

    fn store(&self) -> &'static str {
        "memory"
    }

    fn add(&self, pending: &mut usize, _: &MessageOrigin, message: Incoming) {
        *pending += message.records.len();
    }

    fn is_full(&self, pending: &usize) -> bool {
        *pending >= 100
    }

    fn max_wait(&self) -> Duration {
        Duration::from_millis(50)
    }

    async fn boundary(
        &self,
        first: &MessageOrigin,
        _: Dataset,
        _: NaiveDate,
    ) -> Result<Option<i64>, WriteError> {
        Ok(self
            .stale
            .filter(|(from, _)| *from == first.offset)
            .map(|(_, to)| to))
    }

    async fn flush(&self, pending: &usize, span: &Span) -> Result<Vec<Refused>, WriteError> {
        if self.attempts.fetch_add(1, Ordering::SeqCst) < self.failures {
            return Err(WriteError::Unavailable {
                store: "memory",
                detail: "down".into(),
            });
        }
        self.flushed.lock().unwrap().push((span.clone(), *pending));
        Ok(Vec::new())
    }
}

fn writer(destination: Memory) -> Writer<Memory, FlakyBroker> {
    let metrics = Metrics::new();
    Writer {
        destination,
        freshness: super::Freshness::new(
            "memory",
            &RuntimeConfig::from_json(
                r#"{"pipeline":{"namespace":"m","name":"p"},"kafka":{"bootstrapServers":"x"}}"#,
            )
            .unwrap(),
            &Dataset::ALL,
            metrics.clone(),
            chrono::Utc::now(),
        ),
        outbox: Outbox {
            publisher: FlakyBroker::default(),
            role: Role::DbWriter,
            pipeline: "m/p".into(),
            topics: optionsflow_api::TopicNames::new("m.p."),
            metrics,
        },
    }
}

/// A halt no test here triggers (the in-memory store never refuses the writer).
static NEVER_HALTED: std::sync::LazyLock<crate::engine::Halt> =
    std::sync::LazyLock::new(crate::engine::Halt::default);

/// Stops on `token` (standing for both revocation and the hard stop).
fn stop(token: &CancellationToken) -> Stop<'_> {
    Stop::on(token, &NEVER_HALTED)
}

fn delivery(offset: i64, payload: Vec<u8>) -> Delivery {
    Delivery {
        origin: MessageOrigin {
            topic: "m.p.processed-options-data".into(),
            partition: 2,
            offset,
        },
        dataset: Dataset::Options,
        key: Some("AAPL".into()),
        payload,
    }
}

/// The options messages the writer counts as written.
fn options_written(w: &Writer<Memory, FlakyBroker>) -> u64 {
    w.outbox
        .metrics
        .writing
        .messages
        .with_label_values(&["options"])
        .get()
}

fn quotes(count: usize) -> Vec<u8> {
    let at = Utc.with_ymd_and_hms(2024, 11, 25, 21, 0, 0).unwrap();
    records::message(
        Dataset::Options,
        "AAPL",
        at,
        1,
        records::quotes("AAPL", 0, count),
    )
}

#[tokio::test]
async fn a_batch_is_ready_when_full_and_covers_its_offsets() {
    let w = writer(Memory::default());
    let token = CancellationToken::new();
    let stop = stop(&token);
    let mut batch = Batch::default();
    for offset in 10..13 {
        assert!(!w.due(&batch));
        assert!(w.push(&mut batch, delivery(offset, quotes(40)), stop).await);
    }
    assert!(w.due(&batch), "120 rows are more than 100");
    assert!(w.deadline(&batch).is_some());
    assert!(w.store(&batch, stop).await);
    let flushed = w.destination.flushed.lock().unwrap();
    let (span, rows) = &flushed[0];
    assert_eq!((span.first, span.last, span.partition), (10, 12, 2));
    assert_eq!(span.dataset, Dataset::Options);
    assert_eq!(*rows, 120);
    assert_eq!(options_written(&w), 3);
}

#[tokio::test]
async fn an_unavailable_store_is_retried_until_it_takes_the_batch() {
    let w = writer(Memory {
        failures: 2,
        ..Memory::default()
    });
    let token = CancellationToken::new();
    let stop = stop(&token);
    let mut batch = Batch::default();
    w.push(&mut batch, delivery(0, quotes(5)), stop).await;
    assert!(w.store(&batch, stop).await);
    assert_eq!(w.destination.attempts.load(Ordering::SeqCst), 3);
    assert_eq!(
        w.outbox
            .metrics
            .writing
            .failures
            .with_label_values(&["memory", "unavailable"])
            .get(),
        2
    );
}

#[tokio::test]
async fn a_store_that_never_comes_back_stores_nothing_when_stopped() {
    let w = writer(Memory {
        failures: usize::MAX,
        ..Memory::default()
    });
    let token = CancellationToken::new();
    let stop = stop(&token);
    let mut batch = Batch::default();
    w.push(&mut batch, delivery(0, quotes(5)), stop).await;
    let stopper = token.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        stopper.cancel();
    });
    assert!(!w.store(&batch, stop).await);
    assert!(w.destination.flushed.lock().unwrap().is_empty());
    assert_eq!(options_written(&w), 0);
}

#[tokio::test]
async fn unreadable_messages_become_dead_letters_with_the_original() {
    let w = writer(Memory::default());
    let token = CancellationToken::new();
    let stop = stop(&token);
    let mut batch = Batch::default();
    w.push(
        &mut batch,
        delivery(4, b"{\"symbol\": \"TSLA\", oops".to_vec()),
        stop,
    )
    .await;
    w.push(&mut batch, delivery(5, quotes(3)), stop).await;
    assert!(w.store(&batch, stop).await);
    assert_eq!(w.destination.flushed.lock().unwrap()[0].1, 3);
    let stored = w.outbox.publisher.stored.lock().unwrap();
    assert_eq!(stored.len(), 1);
    let (topic, _, letter) = &stored[0];
    assert_eq!(topic, "m.p.dead-letter");
    assert_eq!(letter["payload"]["stage"], "write-db");
    assert_eq!(letter["payload"]["reason"], "malformed_message");
    assert_eq!(letter["payload"]["origin"]["offset"], 4);
    assert_eq!(letter["payload"]["original"], "{\"symbol\": \"TSLA\", oops");
}

#[tokio::test]
async fn a_range_a_previous_owner_stored_is_cut_at_the_same_offset() {
    let w = writer(Memory {
        stale: Some((20, 23)),
        ..Memory::default()
    });
    let token = CancellationToken::new();
    let stop = stop(&token);
    let mut batch = Batch::default();
    for offset in 20..23 {
        // Full long before, and never due by age: only the boundary decides.
        w.push(&mut batch, delivery(offset, quotes(200)), stop)
            .await;
        assert!(!w.due(&batch), "offset {offset}");
        assert!(w.deadline(&batch).is_none());
    }
    w.push(&mut batch, delivery(23, quotes(1)), stop).await;
    assert!(w.due(&batch));
    assert!(w.store(&batch, stop).await);
    let (span, _) = &w.destination.flushed.lock().unwrap()[0];
    assert_eq!((span.first, span.last), (20, 23));
}

#[tokio::test]
async fn the_boundary_is_looked_up_for_the_batch_start_even_when_the_first_message_is_empty() {
    let w = writer(Memory {
        stale: Some((20, 22)),
        ..Memory::default()
    });
    let token = CancellationToken::new();
    let stop = stop(&token);
    let mut batch = Batch::default();
    w.push(&mut batch, delivery(20, quotes(0)), stop).await;
    assert!(!batch.boundary_checked, "no rows yet: no day to look in");
    w.push(&mut batch, delivery(21, quotes(200)), stop).await;
    assert_eq!(batch.boundary, Some(22), "looked up for offset 20");
    assert!(!w.due(&batch));
    w.push(&mut batch, delivery(22, quotes(1)), stop).await;
    assert!(w.due(&batch));
}
