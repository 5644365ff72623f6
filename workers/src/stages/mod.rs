//! The pure steps between topics: each takes a message and returns what should be published,
//! with no I/O, so it can be tested row by row and replayed with identical results.

pub mod predict;
pub mod process;
pub mod write;
