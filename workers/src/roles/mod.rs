//! One module per `optionsflow-worker` subcommand.

pub mod calendar;
pub mod collect;
pub mod greeks;
pub mod process;
pub mod trigger;
pub mod write;
