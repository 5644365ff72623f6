//! One module per `optionsflow-worker` subcommand.

pub mod calendar;
pub mod collect;
pub mod greeks;
pub mod local;
pub mod predict;
pub mod process;
pub mod serve;
pub mod trigger;
pub mod write;
