//! The file writer's destination on a local folder (the one-machine store): files named by
//! dataset, day and offsets, a header row each, a retried batch replacing its files, and the
//! boundary a previous owner left found again.

use chrono::{TimeZone, Utc};
use optionsflow_api::runtime_config::FileRolling;
use optionsflow_api::{Dataset, MessageOrigin};
use optionsflow_testkit::records;
use optionsflow_workers::roles::write::files::FilesDestination;
use optionsflow_workers::roles::write::{Destination, Span};
use optionsflow_workers::runtime::metrics::Metrics;
use optionsflow_workers::sinks::objects::ObjectStore;
use optionsflow_workers::sinks::objects::folder::Folder;
use optionsflow_workers::stages::write::decode;

const TOPIC: &str = "ns.p.processed-options-data";

fn origin(offset: i64) -> MessageOrigin {
    MessageOrigin {
        topic: TOPIC.into(),
        partition: 3,
        offset,
    }
}

fn destination(root: &std::path::Path) -> FilesDestination {
    FilesDestination {
        store: ObjectStore::Folder(Folder::new(root)),
        prefix: "lake".into(),
        rolling: FileRolling {
            max_bytes: 10_000,
            max_age_seconds: 60,
        },
        metrics: Metrics::new(),
    }
}

/// Messages at offsets 10..=15: three fetched on 2024-11-25, three on 2024-11-26.
fn pending(d: &FilesDestination) -> <FilesDestination as Destination>::Pending {
    let mut pending = Default::default();
    for offset in 10..=15 {
        let day = if offset < 13 { 25 } else { 26 };
        let at = Utc.with_ymd_and_hms(2024, 11, day, 21, 0, 0).unwrap();
        let bytes = records::message(
            Dataset::Options,
            "AAPL",
            at,
            offset,
            records::quotes("AAPL", offset as u32, 10),
        );
        d.add(
            &mut pending,
            &origin(offset),
            decode(&bytes, Dataset::Options).unwrap(),
        );
    }
    pending
}

fn span(first: i64, last: i64) -> Span {
    Span {
        topic: TOPIC.into(),
        partition: 3,
        dataset: Dataset::Options,
        first,
        last,
    }
}

fn files(root: &std::path::Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for day in std::fs::read_dir(root.join("lake/options")).unwrap() {
        let day = day.unwrap();
        for file in std::fs::read_dir(day.path()).unwrap() {
            let file = file.unwrap();
            out.push((
                format!(
                    "{}/{}",
                    day.file_name().to_string_lossy(),
                    file.file_name().to_string_lossy()
                ),
                std::fs::read_to_string(file.path()).unwrap(),
            ));
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn a_batch_makes_one_file_per_day_named_by_its_offsets_and_a_retry_replaces_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = destination(dir.path());
    let pending = pending(&d);
    assert!(d.is_full(&pending), "60 quotes of CSV pass 10,000 bytes");
    assert!(d.flush(&pending, &span(10, 15)).await.unwrap().is_empty());
    let first = files(dir.path());
    let names: Vec<&str> = first.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "date=2024-11-25/ns.p.processed-options-data-3-10-15.csv",
            "date=2024-11-26/ns.p.processed-options-data-3-10-15.csv"
        ]
    );
    for (name, body) in &first {
        assert!(
            body.starts_with("contract,snapshot_time,underlying,"),
            "{name}"
        );
        // A header and three messages of ten quotes.
        assert_eq!(body.matches("\r\n").count(), 31, "{name}");
    }

    // The same batch again, as after a crash before the commit: the same files, replaced.
    d.flush(&pending, &span(10, 15)).await.unwrap();
    assert_eq!(files(dir.path()), first);
}

#[tokio::test]
async fn the_next_owner_finds_where_a_stored_but_uncommitted_batch_ended() {
    let dir = tempfile::tempdir().unwrap();
    let d = destination(dir.path());
    d.flush(&pending(&d), &span(10, 15)).await.unwrap();
    let day = "2024-11-25".parse().unwrap();
    assert_eq!(
        d.boundary(&origin(10), Dataset::Options, day)
            .await
            .unwrap(),
        Some(15)
    );
    // Batches starting anywhere else are free to end where they like.
    assert_eq!(
        d.boundary(&origin(16), Dataset::Options, day)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        d.boundary(&origin(1), Dataset::Options, day).await.unwrap(),
        None
    );
}
