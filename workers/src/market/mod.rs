//! Market facts that do not depend on any provider: the NYSE calendar, OSI option symbols,
//! Black-Scholes-Merton and a chain's at-the-money point.

pub mod atm;
pub mod bsm;
pub mod calendar;
pub mod osi;

pub use calendar::{Closure, ClosureKind, Day, EarlyClose, Session};
pub use osi::{OsiSymbol, Right};
