//! Market facts that do not depend on any provider: the NYSE calendar, OSI option symbols
//! and Black-Scholes-Merton.

pub mod bsm;
pub mod calendar;
pub mod osi;

pub use calendar::{Closure, ClosureKind, Day, EarlyClose, Session};
pub use osi::{OsiSymbol, Right};
