//! The names of the file writer's objects (docs/storage.md):
//! `<prefix>/<dataset>/date=YYYY-MM-DD/<topic>-<partition>-<first offset>-<last offset>.csv`.
//!
//! The name comes from the offsets of the batch, so uploading the same batch again replaces
//! the same object; the day is the UTC day the provider answered.

use chrono::NaiveDate;
use optionsflow_api::Dataset;

/// The folder of one dataset's files of one day.
fn folder(prefix: &str, dataset: Dataset, day: NaiveDate) -> String {
    let prefix = prefix.trim_matches('/');
    let path = format!("{}/date={}", dataset.as_str(), day.format("%Y-%m-%d"));
    if prefix.is_empty() {
        path
    } else {
        format!("{prefix}/{path}")
    }
}

/// What every key of a batch starting at `first` begins with, on that day.
pub fn batch_prefix(
    prefix: &str,
    dataset: Dataset,
    day: NaiveDate,
    topic: &str,
    partition: i32,
    first: i64,
) -> String {
    format!(
        "{}/{topic}-{partition}-{first}-",
        folder(prefix, dataset, day)
    )
}

/// The key of the file holding a day's rows of the batch `first..=last`: the batch's
/// prefix on that day ([`batch_prefix`]), then its last offset.
pub fn key(batch_prefix: &str, last: i64) -> String {
    format!("{batch_prefix}{last}.csv")
}

/// The last offset in a key made by [`key`].
pub fn last_offset(key: &str) -> Option<i64> {
    let name = key.rsplit('/').next()?.strip_suffix(".csv")?;
    name.rsplit('-').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 11, 25).unwrap()
    }

    #[test]
    fn keys_follow_the_design() {
        assert_eq!(
            key(
                &batch_prefix(
                    "lake/",
                    Dataset::Options,
                    day(),
                    "ns.p.processed-options-data",
                    3,
                    120
                ),
                180
            ),
            "lake/options/date=2024-11-25/ns.p.processed-options-data-3-120-180.csv"
        );
        assert_eq!(
            key(&batch_prefix("", Dataset::Intraday, day(), "t", 0, 0), 0),
            "intraday/date=2024-11-25/t-0-0-0.csv"
        );
    }

    #[test]
    fn a_key_starts_with_its_batch_prefix_and_gives_back_its_last_offset() {
        let prefix = batch_prefix("p", Dataset::Daily, day(), "a-b", 1, 7);
        let k = key(&prefix, 42);
        assert!(k.starts_with(&prefix));
        assert_eq!(last_offset(&k), Some(42));
        assert_eq!(last_offset("p/daily/date=2024-11-25/README"), None);
    }
}
