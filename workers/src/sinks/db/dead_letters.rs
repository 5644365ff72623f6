//! The `dead_letters` table: one row per letter on the `dead-letter` topic, keyed by the
//! letter's own place there, so a redelivered letter is stored once.

use chrono::{DateTime, Utc};
use optionsflow_api::{Dataset, MessageOrigin};

use super::{Database, classify};
use crate::sinks::WriteError;
use crate::sinks::schema::DEAD_LETTERS;

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

impl Database {
    /// Stores the letters in one transaction; letters already stored are left as they are.
    pub async fn keep_dead_letters(&self, rows: &[DeadLetterRow]) -> Result<(), WriteError> {
        if rows.is_empty() {
            return Ok(());
        }
        let result = async {
            let mut tx = self.begin().await?;
            tx.upsert(&DEAD_LETTERS, rows).await?;
            tx.commit().await
        };
        result.await.map_err(|e| classify(self.kind(), e))
    }
}
