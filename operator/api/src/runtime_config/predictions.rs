//! The predictor's settings (docs/predictions.md). Present only when the pipeline asks for
//! predictions.

use serde::{Deserialize, Serialize};

/// Sessions of history each HAR-RV fit reads, when not told.
pub const DEFAULT_WINDOW_DAYS: u32 = 1000;
/// The fewest sessions a fit may read: HAR-RV's monthly regressor alone spans 22.
pub const MIN_WINDOW_DAYS: u32 = 100;
/// The most: a history ten times this long is held per symbol in the predictor's memory.
pub const MAX_WINDOW_DAYS: u32 = 5000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct Predictions {
    /// Sessions of history each HAR-RV fit reads.
    pub window_days: u32,
}

impl Default for Predictions {
    fn default() -> Predictions {
        Predictions {
            window_days: DEFAULT_WINDOW_DAYS,
        }
    }
}

impl Predictions {
    /// The field path and what is wrong, if anything.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if !(MIN_WINDOW_DAYS..=MAX_WINDOW_DAYS).contains(&self.window_days) {
            return Err((
                "predictions.windowDays".into(),
                format!("must be from {MIN_WINDOW_DAYS} to {MAX_WINDOW_DAYS} sessions"),
            ));
        }
        Ok(())
    }
}
