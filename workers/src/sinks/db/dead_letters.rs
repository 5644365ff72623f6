//! The `dead_letters` table: one row per letter on the `dead-letter` topic, keyed by the
//! letter's own place there, so a redelivered letter is stored once.

use chrono::{DateTime, Utc};
use optionsflow_api::{Dataset, MessageOrigin};

use super::{Database, classify, sqlite};
use crate::sinks::WriteError;

/// A dead letter as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct DeadLetterRow {
    /// Where the letter itself is on the dead-letter topic.
    pub at: MessageOrigin,
    /// When the letter was written.
    pub dead_at: DateTime<Utc>,
    pub stage: String,
    pub reason: String,
    /// The dataset of the message that could not be used, when it can be told.
    pub dataset: Option<Dataset>,
    pub symbol: String,
    pub detail: String,
    /// The letter's JSON, as published.
    pub letter: String,
}

/// The insert, with each database's placeholders.
macro_rules! insert {
    ($values:literal) => {
        concat!(
            r#"INSERT INTO dead_letters (topic, "partition", "offset", dead_at, stage, reason, dataset, symbol, detail, letter) VALUES "#,
            $values,
            " ON CONFLICT DO NOTHING"
        )
    };
}
const INSERT_POSTGRES: &str = insert!("($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)");
const INSERT_SQLITE: &str = insert!("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");

/// Inserts each row with `$sql` in `$tx`; `$time` turns the letter's time into the
/// database's representation. (The two databases' query types differ, the binds do not.)
macro_rules! insert_each {
    ($tx:expr, $sql:expr, $rows:expr, $time:expr) => {
        for row in $rows {
            sqlx::query($sql)
                .bind(&row.at.topic)
                .bind(row.at.partition)
                .bind(row.at.offset)
                .bind($time(&row.dead_at))
                .bind(&row.stage)
                .bind(&row.reason)
                .bind(row.dataset.map(Dataset::as_str))
                .bind(&row.symbol)
                .bind(&row.detail)
                .bind(&row.letter)
                .execute(&mut *$tx)
                .await?;
        }
    };
}

impl Database {
    /// Stores the letters in one transaction; letters already stored are left as they are.
    pub async fn keep_dead_letters(&self, rows: &[DeadLetterRow]) -> Result<(), WriteError> {
        if rows.is_empty() {
            return Ok(());
        }
        let result: Result<(), sqlx::Error> = match self {
            Database::Postgres(db) => {
                async {
                    let mut tx = db.pool().begin().await?;
                    insert_each!(tx, INSERT_POSTGRES, rows, |t: &DateTime<Utc>| *t);
                    tx.commit().await
                }
                .await
            }
            Database::Sqlite(db) => {
                async {
                    let mut tx = db.pool().begin_with("BEGIN IMMEDIATE").await?;
                    insert_each!(tx, INSERT_SQLITE, rows, sqlite::time);
                    tx.commit().await
                }
                .await
            }
        };
        result.map_err(|e| classify(self.kind(), e))
    }
}
