//! The OpenAPI 3.1 document of the data API, served at `/openapi.json`. The rows' schemas
//! are made from the row types (schemars); the paths and their parameters are written here,
//! next to the handlers, from the same constants the handlers check with. `local.rs` checks
//! that the served document is this one, with all eleven paths, and schemathesis
//! (scripts/api-check.sh) that every documented path answers and every parameter's pattern,
//! format and bound is what the server enforces: every value the document allows is
//! accepted, every other one is a 400.

use axum::Json;
use schemars::generate::SchemaSettings;
use serde_json::{Value, json};

use optionsflow_api::symbol::MAX_SYMBOL_LEN;

use crate::stages::predict::backtest::HORIZONS;
use crate::stages::predict::models::Model;

use super::api::{
    CHAIN_CURSOR, DEFAULT_LIMIT, MAX_LIMIT, PREDICTION_CURSOR, RealizedRow, SmilePoint, TermPoint,
};
use super::query::{BarRow, ExpiryRow, PredictionRow, QuoteRow, ScoreRow, SymbolRow};

/// A ticker as the API takes it (either case): a letter, letters and digits, and at most one
/// `.` or `-` part (`BRK.B`, `BF-B`).
pub const SYMBOL_PATTERN: &str = "^[A-Za-z][A-Za-z0-9]*([.-][A-Za-z0-9]+)?$";

/// An OSI symbol, padded (`SPY   250117C00050000`) or compact (`SPY250117C00050000`).
pub const CONTRACT_PATTERN: &str = "^[A-Z0-9]{1,6} *[0-9]{6}[CP][0-9]{8}$";

/// Four-digit years from 0001 (PostgreSQL has no year 0).
const YEAR: &str = "^(?!0000)[0-9]{4}-";

fn date_schema() -> Value {
    json!({"type": "string", "format": "date", "pattern": YEAR})
}

fn time_schema() -> Value {
    json!({"type": "string", "format": "date-time", "pattern": YEAR})
}

/// A date, or an RFC 3339 time.
fn date_or_time() -> Value {
    json!({"type": "string", "pattern": YEAR, "anyOf": [{"format": "date"}, {"format": "date-time"}]})
}

pub async fn document() -> Json<Value> {
    Json(spec())
}

fn param(name: &str, location: &str, description: &str, schema: Value) -> Value {
    json!({
        "name": name,
        "in": location,
        "required": location == "path",
        "description": description,
        "schema": schema,
    })
}

fn format() -> Value {
    param(
        "format",
        "query",
        "json (default) or csv; the Accept header is used when absent.",
        json!({"type": "string", "enum": ["json", "csv"]}),
    )
}

/// `limit`, `cursor` (the previous page's `next_cursor`, whose shape is `cursor`) and
/// `format`.
fn page_params(cursor: Value) -> Vec<Value> {
    vec![
        param(
            "limit",
            "query",
            "Rows per page.",
            json!({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
        ),
        param(
            "cursor",
            "query",
            "The previous page's next_cursor: the position of its last row.",
            cursor,
        ),
        format(),
    ]
}

fn symbol_schema() -> Value {
    json!({"type": "string", "pattern": SYMBOL_PATTERN, "maxLength": MAX_SYMBOL_LEN})
}

fn symbol(name: &str) -> Value {
    param(
        name,
        "path",
        "A ticker, in either case (AAPL, BRK.B, SPX).",
        symbol_schema(),
    )
}

fn at() -> Value {
    param(
        "at",
        "query",
        "Use the latest snapshot at or before this time (RFC 3339); now by default.",
        time_schema(),
    )
}

fn expiry() -> Value {
    param(
        "expiry",
        "query",
        "Expiry date; the nearest one with quotes by default.",
        date_schema(),
    )
}

fn range(description: &str) -> Vec<Value> {
    vec![
        param("from", "query", description, date_or_time()),
        param("to", "query", description, date_or_time()),
    ]
}

fn operation(summary: &str, row: &str, params: Vec<Value>) -> Value {
    json!({
        "get": {
            "summary": summary,
            "parameters": params,
            "responses": {
                "200": {
                    "description": "One page of rows.",
                    "content": {
                        "application/json": {"schema": {"$ref": format!("#/components/schemas/{row}Page")}},
                        "text/csv": {"schema": {"type": "string"}}
                    }
                },
                "400": {"$ref": "#/components/responses/Problem"},
                "401": {"$ref": "#/components/responses/Problem"},
                "404": {"$ref": "#/components/responses/Problem"},
                "406": {"$ref": "#/components/responses/Problem"},
                "503": {"$ref": "#/components/responses/Problem"}
            }
        }
    })
}

/// `/api/v1/status`: one JSON document, not a page.
fn status_operation() -> Value {
    let nullable_time = json!({"type": ["string", "null"], "format": "date-time"});
    let dataset = json!({
        "type": "object",
        "required": ["dataset", "enabled", "schedule", "newest_stored", "rows_today", "dead_letters_today", "next_run"],
        "properties": {
            "dataset": {"type": "string", "enum": ["daily", "intraday", "historical", "options"]},
            "enabled": {"type": "boolean"},
            "schedule": {"type": ["string", "null"], "description": "Cron expression, in the dataset's time zone."},
            "newest_stored": {"type": ["string", "null"], "description": "Source time of the newest record stored (UTC)."},
            "rows_today": {"type": ["integer", "null"], "description": "Rows stored whose data belongs to today's session."},
            "dead_letters_today": {"type": "integer"},
            "next_run": nullable_time,
        }
    });
    json!({
        "get": {
            "summary": "Per dataset: the newest data stored, today's rows and dead letters, the next run",
            "responses": {
                "200": {
                    "description": "The pipeline's status. \"Today\" is the exchange's (New York) calendar day.",
                    "content": {"application/json": {"schema": {
                        "type": "object",
                        "required": ["as_of", "day", "market", "datasets", "other_dead_letters_today"],
                        "properties": {
                            "as_of": {"type": "string", "format": "date-time"},
                            "day": {"type": "string", "format": "date"},
                            "market": {"type": "string", "description": "open, closed, weekend or the holiday's name."},
                            "datasets": {"type": "array", "items": dataset},
                            "other_dead_letters_today": {"type": "integer", "description": "Dead letters today whose dataset could not be told."}
                        }
                    }}}
                },
                "401": {"$ref": "#/components/responses/Problem"},
                "503": {"$ref": "#/components/responses/Problem"}
            }
        }
    })
}

/// The rows' schemas, made from the row types (their fields, types, nullability and doc
/// comments), each with the schema of a page of it; named as the operations refer to them.
fn row_schemas() -> serde_json::Map<String, Value> {
    let mut generator = SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
        .into_generator();
    generator.subschema_for::<SymbolRow>();
    generator.subschema_for::<BarRow>();
    generator.subschema_for::<ExpiryRow>();
    generator.subschema_for::<QuoteRow>();
    generator.subschema_for::<SmilePoint>();
    generator.subschema_for::<TermPoint>();
    generator.subschema_for::<PredictionRow>();
    generator.subschema_for::<ScoreRow>();
    generator.subschema_for::<RealizedRow>();
    let rows = generator.take_definitions(true);
    let mut schemas = serde_json::Map::new();
    for (name, schema) in rows {
        schemas.insert(format!("{name}Page"), page_schema(&name));
        schemas.insert(name, schema);
    }
    schemas
}

fn page_schema(row: &str) -> Value {
    json!({
        "type": "object",
        "required": ["data", "next_cursor", "sample"],
        "properties": {
            "data": {"type": "array", "items": {"$ref": format!("#/components/schemas/{row}")}},
            "next_cursor": {"type": ["string", "null"]},
            "sample": {"type": "boolean", "description": "Some rows are generated sample data, not market data."}
        }
    })
}

pub fn spec() -> Value {
    let with = |mut first: Vec<Value>, rest: Vec<Value>| {
        first.extend(rest);
        first
    };
    let mut schemas = row_schemas();
    schemas.insert(
        "Problem".into(),
        json!({
            "type": "object",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {"type": "string"}, "title": {"type": "string"},
                "status": {"type": "integer"}, "detail": {"type": "string"}
            }
        }),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "optionsflow data API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Bars, option chains with implied volatility and Greeks, smiles, term structures and predictions collected by optionsflow. Times are UTC (RFC 3339); rows from the sample source say source = sample."
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/symbols": operation("Symbols with data", "Symbol", page_params(symbol_schema())),
            "/api/v1/bars/{symbol}": operation("A symbol's bars", "Bar", with(with(vec![symbol("symbol"),
                param("interval", "query", "1day (default) or 15min.", json!({"type": "string", "enum": ["1day", "15min"]}))],
                range("A date (YYYY-MM-DD) or an RFC 3339 time; inclusive (for daily bars a time stands for its UTC day).")), page_params(date_or_time()))),
            "/api/v1/options/{underlying}/expiries": operation("Expiries with quotes and their latest snapshot", "Expiry", vec![symbol("underlying"), at(), format()]),
            "/api/v1/options/{underlying}/chain": operation("One expiry's chain at its latest snapshot", "Quote", with(vec![symbol("underlying"), expiry(), at()],
                page_params(json!({"type": "string", "pattern": CHAIN_CURSOR})))),
            "/api/v1/options/{underlying}/smile": operation("The implied-volatility smile of one expiry", "SmilePoint", vec![symbol("underlying"), expiry(), at(), format()]),
            "/api/v1/options/{underlying}/term-structure": operation("At-the-money implied volatility by expiry", "TermPoint", vec![symbol("underlying"), at(), format()]),
            "/api/v1/options/contracts/{contract}/history": operation("One contract's quotes over time", "Quote", with(with(vec![param("contract", "path",
                "OSI symbol, padded or compact; one that cannot exist (no such date, strike 0) is not found.",
                json!({"type": "string", "pattern": CONTRACT_PATTERN, "minLength": 16, "maxLength": 21}))],
                range("A date or an RFC 3339 time; inclusive.")), page_params(date_or_time()))),
            "/api/v1/predictions/{symbol}": operation("A symbol's volatility forecasts, by the session they were made after", "Prediction",
                with(vec![symbol("symbol"),
                    param("model", "query", "Only this model's forecasts.", json!({"type": "string", "enum": Model::ALL.map(Model::as_str)})),
                    param("horizon", "query", "Only this horizon's, in sessions.", json!({"type": "integer", "enum": HORIZONS}))],
                page_params(json!({"type": "string", "pattern": *PREDICTION_CURSOR})))),
            "/api/v1/status": status_operation(),
            "/api/v1/backtest": operation("The predictor's walk-forward scores per symbol, model and horizon", "Score",
                vec![param("symbol", "query", "Only this symbol's scores.", symbol_schema()), format()]),
            "/api/v1/volatility/{symbol}": operation("Each session's realized volatility, annualised (a year unless told)", "Realized",
                with(vec![symbol("symbol")], with(range("A date (YYYY-MM-DD) or an RFC 3339 time (its UTC day); inclusive."), vec![format()]))),
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
            "responses": {
                "Problem": {
                    "description": "What went wrong (RFC 9457).",
                    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_schemas_come_from_the_row_types() {
        let spec = spec();
        let schemas = &spec["components"]["schemas"];
        let quote = &schemas["Quote"];
        assert_eq!(
            quote["properties"]["bid"]["type"],
            json!(["number", "null"])
        );
        assert_eq!(quote["properties"]["flags"]["type"], "array");
        assert_eq!(quote["properties"]["flags"]["items"]["type"], "string");
        assert_eq!(
            quote["properties"]["otm"]["type"],
            json!(["boolean", "null"])
        );
        assert!(
            quote["required"]
                .as_array()
                .unwrap()
                .contains(&json!("contract"))
        );
        assert_eq!(
            schemas["QuotePage"]["properties"]["data"]["items"]["$ref"],
            "#/components/schemas/Quote"
        );
        // Every page an operation names has its row.
        for name in [
            "Symbol",
            "Bar",
            "Expiry",
            "Quote",
            "SmilePoint",
            "TermPoint",
            "Prediction",
            "Score",
            "Realized",
        ] {
            assert!(schemas[name]["properties"].is_object(), "{name}");
            assert!(schemas[format!("{name}Page")].is_object(), "{name}Page");
        }
    }
}
