//! The JSON schemas of the API's inputs, as the OpenAPI document states them: each says
//! exactly what the checks in [`super::params`] accept, so every value the document allows is
//! one the server takes and every other one is a 400 (schemathesis holds both to it).
//!
//! They are schemars `schema_with` functions: [`super::Params`] puts them on its fields, and
//! the document reads the query parameters from that type's schema.

use schemars::generate::SchemaGenerator;
use schemars::{Schema, json_schema};

use optionsflow_api::records::BarInterval;
use optionsflow_api::symbol::MAX_SYMBOL_LEN;

use super::params::{CHAIN_CURSOR, DEFAULT_LIMIT, MAX_LIMIT, PREDICTION_CURSOR};
use crate::roles::serve::format::Format;
use crate::stages::predict::backtest::HORIZONS;
use crate::stages::predict::models::Model;

/// A ticker as the API takes it (either case): a letter, letters and digits, and at most one
/// `.` or `-` part (`BRK.B`, `BF-B`).
pub const SYMBOL_PATTERN: &str = "^[A-Za-z][A-Za-z0-9]*([.-][A-Za-z0-9]+)?$";

/// An OSI symbol, padded (`SPY   250117C00050000`) or compact (`SPY250117C00050000`).
pub const CONTRACT_PATTERN: &str = "^[A-Z0-9]{1,6} *[0-9]{6}[CP][0-9]{8}$";

/// Four-digit years from 0001 (PostgreSQL has no year 0).
const YEAR: &str = "^(?!0000)[0-9]{4}-";

pub fn symbol(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "pattern": SYMBOL_PATTERN, "maxLength": MAX_SYMBOL_LEN})
}

pub fn contract(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "pattern": CONTRACT_PATTERN, "minLength": 16, "maxLength": 21})
}

pub fn date(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "format": "date", "pattern": YEAR})
}

pub fn time(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "format": "date-time", "pattern": YEAR})
}

/// A date, or an RFC 3339 time.
pub fn date_or_time(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "pattern": YEAR, "anyOf": [{"format": "date"}, {"format": "date-time"}]})
}

pub fn limit(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT})
}

/// Any text: a cursor's shape is its list's, stated with the list ([`chain_cursor`], ...).
pub fn text(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string"})
}

pub fn chain_cursor(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "pattern": CHAIN_CURSOR})
}

pub fn prediction_cursor(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "pattern": *PREDICTION_CURSOR})
}

pub fn format(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "enum": Format::ALL.map(Format::as_str)})
}

pub fn interval(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "enum": BarInterval::ALL.map(BarInterval::as_str)})
}

pub fn model(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "enum": Model::ALL.map(Model::as_str)})
}

pub fn horizon(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "integer", "enum": HORIZONS})
}
