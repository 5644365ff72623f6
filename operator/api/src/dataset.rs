//! The four datasets optionsflow collects, and how each maps onto raw and processed topics.

use std::fmt;
use std::str::FromStr;

use crate::named_enum;

named_enum! {
    rename_all = "lowercase";
    /// What is being collected. Each dataset has its own schedule, symbols and topics.
    pub enum Dataset {
        /// One bar per trading day, refreshed after the close.
        Daily,
        /// 15-minute bars during the regular session.
        Intraday,
        /// Daily bars backfilled from a start date.
        Historical,
        /// Option chains up to a horizon of days out.
        Options,
    }
}

impl fmt::Display for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown dataset {0:?}: expected one of daily, intraday, historical, options")]
pub struct UnknownDataset(String);

impl FromStr for Dataset {
    type Err = UnknownDataset;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Dataset::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| UnknownDataset(s.to_owned()))
    }
}
