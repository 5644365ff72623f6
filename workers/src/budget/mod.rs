//! Provider budgets as hard limits shared by every collector replica (docs/budgets.md).
//!
//! Each account (a Twelve Data API key, Yahoo, Cboe) has a budget per wall-clock window and
//! optionally per UTC day. Its credits are dealt out to the partitions of `task-queue` by a
//! fixed rule ([`slots`]); a collector may spend exactly the credits of the partitions the
//! consumer group gave it. Nobody talks to anybody: ownership comes from the group, and a
//! partition's day usage survives handovers through a write-ahead ledger topic.

pub mod gate;
pub mod ledger;
pub mod pace;
pub mod slots;
pub mod state;

use optionsflow_api::runtime_config::Budget;

pub use gate::{BudgetGate, GateIo, Permit};
pub use ledger::LedgerRecord;
pub use state::{Grant, Take};

/// A family of accounts one kind of request draws from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pool {
    TwelveData,
    Yahoo,
    Cboe,
}

/// One budget holder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountSpec {
    pub pool: Pool,
    /// Stable and safe to print: never the API key itself.
    pub id: String,
    /// Offsets which partitions get a window's odd credits, so several keys even out.
    pub rotation: u32,
    pub budget: Budget,
}

/// An id for an API key that can be logged and stored: a short SHA-256 fingerprint.
pub fn key_fingerprint(key: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(key.as_bytes());
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}
