//! The OpenAPI 3.1 document of the data API, served at `/openapi.json`, made from the types:
//! the answers' schemas from their types (the rows, the status, the problem), the query
//! parameters from the request type
//! ([`Params`]: each field's doc comment and schema, with its pattern, format and bound), and
//! which endpoint takes which from [`takes`], the lists the handlers refuse others by.
//! `local.rs` checks that the served document is this one, with all eleven paths, and
//! schemathesis (scripts/api-check.sh) that every documented path answers and every
//! parameter's pattern, format and bound is what the server enforces: every value the
//! document allows is accepted, every other one is a 400.

use std::sync::LazyLock;

use axum::Json;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::{JsonSchema, Schema};
use serde_json::{Value, json};

use super::api::schemas;
use super::api::{Params, RealizedRow, SmilePoint, TermPoint, takes};
use super::problem::Problem;
use super::query::{BarRow, ExpiryRow, PredictionRow, QuoteRow, ScoreRow, SymbolRow};
use super::status::Status;

pub async fn document() -> Json<Value> {
    Json(spec())
}

/// A schema fragment of [`schemas`] as JSON.
fn schema(of: fn(&mut SchemaGenerator) -> Schema) -> Value {
    of(&mut SchemaGenerator::default()).into()
}

/// The parameter `name` in `location`, for a path parameter (a query one comes from
/// [`Params`]: [`query`]).
fn param(name: &str, location: &str, description: &str, schema: Value) -> Value {
    json!({
        "name": name,
        "in": location,
        "required": location == "path",
        "description": description,
        "schema": schema,
    })
}

/// [`Params`]' JSON schema, made once.
static PARAMS: LazyLock<Schema> = LazyLock::new(|| {
    Params::json_schema(&mut SchemaGenerator::new(SchemaSettings::draft2020_12()))
});

/// The query parameters `names`, as [`Params`] declares them, and `format`.
fn query(names: &[&str]) -> Vec<Value> {
    names
        .iter()
        .chain(&["format"])
        .map(|name| {
            let mut schema = PARAMS
                .get("properties")
                .and_then(|p| p.get(*name))
                .unwrap_or_else(|| panic!("Params has no field {name}"))
                .clone();
            let description = schema
                .as_object_mut()
                .and_then(|s| s.remove("description"))
                .unwrap_or_default();
            param(
                name,
                "query",
                description.as_str().unwrap_or_default(),
                schema,
            )
        })
        .collect()
}

/// A list's query parameters: `names`, `limit`, `cursor` (the previous page's
/// `next_cursor`, whose shape, `cursor`, is the list's) and `format`.
fn paged(names: &[&str], cursor: Value) -> Vec<Value> {
    let mut params = query(&[names, &["limit", "cursor"]].concat());
    let given = params
        .iter_mut()
        .find(|p| p["name"] == "cursor")
        .expect("listed");
    given["schema"] = cursor;
    params
}

fn symbol(name: &str) -> Value {
    param(
        name,
        "path",
        "A ticker, in either case (AAPL, BRK.B, SPX).",
        schema(schemas::symbol),
    )
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
    json!({
        "get": {
            "summary": "Per dataset: the newest data stored, today's rows and dead letters, the next run",
            "responses": {
                "200": {
                    "description": "The pipeline's status.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Status"}}}
                },
                "401": {"$ref": "#/components/responses/Problem"},
                "503": {"$ref": "#/components/responses/Problem"}
            }
        }
    })
}

/// The answers' schemas, made from their types (fields, types, nullability and doc comments):
/// each row with the schema of a page of it, the status and the problem; named as the
/// operations refer to them.
fn schemas() -> serde_json::Map<String, Value> {
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
    // The answers that are not pages.
    generator.subschema_for::<Status>();
    generator.subschema_for::<Problem>();
    schemas.extend(generator.take_definitions(true));
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
    let with = |first: Vec<Value>, rest: Vec<Value>| [first, rest].concat();
    let schemas = schemas();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "optionsflow data API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Bars, option chains with implied volatility and Greeks, smiles, term structures and predictions collected by optionsflow. Times are UTC (RFC 3339); rows from the sample source say source = sample."
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/symbols": operation("Symbols with data", "Symbol", paged(takes::SYMBOLS, schema(schemas::symbol))),
            "/api/v1/bars/{symbol}": operation("A symbol's bars", "Bar",
                with(vec![symbol("symbol")], paged(takes::BARS, schema(schemas::date_or_time)))),
            "/api/v1/options/{underlying}/expiries": operation("Expiries with quotes and their latest snapshot", "Expiry",
                with(vec![symbol("underlying")], query(takes::EXPIRIES))),
            "/api/v1/options/{underlying}/chain": operation("One expiry's chain at its latest snapshot", "Quote",
                with(vec![symbol("underlying")], paged(takes::CHAIN, schema(schemas::chain_cursor)))),
            "/api/v1/options/{underlying}/smile": operation("The implied-volatility smile of one expiry", "SmilePoint",
                with(vec![symbol("underlying")], query(takes::SMILE))),
            "/api/v1/options/{underlying}/term-structure": operation("At-the-money implied volatility by expiry", "TermPoint",
                with(vec![symbol("underlying")], query(takes::TERM_STRUCTURE))),
            "/api/v1/options/contracts/{contract}/history": operation("One contract's quotes over time", "Quote",
                with(vec![param("contract", "path",
                    "OSI symbol, padded or compact; one that cannot exist (no such date, strike 0) is not found.",
                    schema(schemas::contract))],
                paged(takes::CONTRACT_HISTORY, schema(schemas::date_or_time)))),
            "/api/v1/predictions/{symbol}": operation("A symbol's volatility forecasts, by the session they were made after", "Prediction",
                with(vec![symbol("symbol")], paged(takes::PREDICTIONS, schema(schemas::prediction_cursor)))),
            "/api/v1/status": status_operation(),
            "/api/v1/backtest": operation("The predictor's walk-forward scores per symbol, model and horizon", "Score",
                query(takes::BACKTEST)),
            "/api/v1/volatility/{symbol}": operation("Each session's realized volatility, annualised (a year unless told)", "Realized",
                with(vec![symbol("symbol")], query(takes::VOLATILITY))),
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
        // The answers that are not pages come from their types too.
        let status = &schemas["Status"];
        assert_eq!(status["properties"]["as_of"]["format"], "date-time");
        assert_eq!(
            status["properties"]["datasets"]["items"]["$ref"],
            "#/components/schemas/DatasetStatus"
        );
        assert_eq!(
            schemas["DatasetStatus"]["properties"]["next_run"]["type"],
            json!(["string", "null"])
        );
        assert_eq!(
            schemas["DatasetStatus"]["properties"]["dataset"]["enum"],
            json!(["daily", "intraday", "historical", "options"])
        );
        assert!(schemas["Problem"]["properties"]["type"].is_object());
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

    #[test]
    fn query_parameters_come_from_the_request_type() {
        let spec = spec();
        let parameters = |path: &str| spec["paths"][path]["get"]["parameters"].clone();
        let names = |path: &str| -> Vec<String> {
            parameters(path)
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(
            names("/api/v1/bars/{symbol}"),
            [
                "symbol", "interval", "from", "to", "limit", "cursor", "format"
            ]
        );
        assert_eq!(
            names("/api/v1/options/{underlying}/expiries"),
            ["underlying", "at", "format"]
        );
        let bars = parameters("/api/v1/bars/{symbol}");
        assert_eq!(bars[4]["description"], "Rows per page.");
        assert_eq!(bars[4]["required"], false);
        assert_eq!(
            bars[4]["schema"],
            json!({"type": "integer", "minimum": 1, "maximum": super::super::api::MAX_LIMIT,
                   "default": super::super::api::DEFAULT_LIMIT})
        );
        assert_eq!(bars[1]["schema"]["enum"], json!(["1day", "15min"]));
        assert_eq!(bars[6]["schema"]["enum"], json!(["json", "csv"]));
        // A list's cursor has the list's shape.
        let chain = parameters("/api/v1/options/{underlying}/chain");
        assert_eq!(
            chain[4]["schema"]["pattern"],
            super::super::api::CHAIN_CURSOR
        );
        // Every endpoint documents what its handler takes, and nothing else.
        for (path, takes) in [
            ("/api/v1/options/{underlying}/smile", takes::SMILE),
            ("/api/v1/predictions/{symbol}", takes::PREDICTIONS),
            ("/api/v1/volatility/{symbol}", takes::VOLATILITY),
            ("/api/v1/backtest", takes::BACKTEST),
        ] {
            let documented = names(path);
            for name in takes {
                assert!(documented.iter().any(|d| d == name), "{path}: {name}");
            }
        }
    }
}
