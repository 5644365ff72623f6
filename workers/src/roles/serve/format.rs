//! Answers as JSON (`{"data": [...], "next_cursor": ..., "sample": ...}`) or CSV (RFC 4180,
//! a header row, flags joined with `;` as in the CSV files). Rows made from sample data
//! are marked: `sample: true` in JSON and an `X-Optionsflow-Sample: true` header in both.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use super::problem::Problem;

/// A row type's columns, in the order CSV writes them.
pub trait Columns: Serialize {
    const COLUMNS: &'static [&'static str];
}

optionsflow_api::named_enum! {
    rename_all = "lowercase";
    /// What a page is written as.
    pub enum Format {
        Json,
        Csv,
    }
}

impl Format {
    /// `format=` wins; otherwise the Accept header; JSON by default.
    pub fn choose(asked: Option<Format>, headers: &HeaderMap) -> Result<Format, Problem> {
        if let Some(f) = asked {
            return Ok(f);
        }
        let accept = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("*/*");
        let wants = |t: &str| accept.split(',').any(|p| p.trim().starts_with(t));
        if wants("application/json") || wants("*/*") || wants("application/*") {
            Ok(Format::Json)
        } else if wants("text/csv") || wants("text/*") {
            Ok(Format::Csv)
        } else {
            Err(Problem::not_acceptable(format!(
                "cannot answer with {accept}: ask for application/json or text/csv"
            )))
        }
    }
}

/// One page of rows.
pub fn page<T: Columns>(format: Format, rows: &[T], next_cursor: Option<String>) -> Response {
    let values: Vec<Value> = rows
        .iter()
        .map(|r| serde_json::to_value(r).expect("rows serialize"))
        .collect();
    let sample = values.iter().any(|v| v["source"] == "sample");
    let mut response = match format {
        Format::Json => {
            let body = serde_json::json!({
                "data": values,
                "next_cursor": next_cursor,
                "sample": sample,
            });
            axum::Json(body).into_response()
        }
        Format::Csv => {
            let mut response = (
                [(
                    header::CONTENT_TYPE,
                    "text/csv; charset=utf-8; header=present",
                )],
                csv_text(T::COLUMNS, &values),
            )
                .into_response();
            if let Some(cursor) = next_cursor.and_then(|c| HeaderValue::from_str(&c).ok()) {
                response.headers_mut().insert("x-next-cursor", cursor);
            }
            response
        }
    };
    if sample {
        response
            .headers_mut()
            .insert("x-optionsflow-sample", HeaderValue::from_static("true"));
    }
    response
}

fn csv_text(columns: &[&str], rows: &[Value]) -> String {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    out.write_record(columns).expect("writing to memory");
    for row in rows {
        let cells = columns.iter().map(|c| match &row[*c] {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(";"),
            other => other.to_string(),
        });
        out.write_record(cells).expect("writing to memory");
    }
    String::from_utf8(out.into_inner().expect("flushed to memory")).expect("UTF-8 cells")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Row {
        name: &'static str,
        value: Option<f64>,
        flags: Vec<&'static str>,
        source: &'static str,
    }

    impl Columns for Row {
        const COLUMNS: &'static [&'static str] = &["name", "value", "flags", "source"];
    }

    #[test]
    fn csv_quotes_joins_flags_and_leaves_nulls_empty() {
        let rows = [
            Row {
                name: "a,b",
                value: Some(1.5),
                flags: vec!["filled", "no_bid"],
                source: "sample",
            },
            Row {
                name: "c",
                value: None,
                flags: vec![],
                source: "yahoo",
            },
        ];
        let values: Vec<Value> = rows
            .iter()
            .map(|r| serde_json::to_value(r).unwrap())
            .collect();
        assert_eq!(
            csv_text(Row::COLUMNS, &values),
            "name,value,flags,source\r\n\"a,b\",1.5,filled;no_bid,sample\r\nc,,,yahoo\r\n"
        );
    }

    #[test]
    fn the_format_comes_from_the_parameter_then_the_accept_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(Format::choose(None, &headers).unwrap(), Format::Json);
        headers.insert(header::ACCEPT, HeaderValue::from_static("text/csv"));
        assert_eq!(Format::choose(None, &headers).unwrap(), Format::Csv);
        assert_eq!(
            Format::choose(Some(Format::Json), &headers).unwrap(),
            Format::Json
        );
        headers.insert(header::ACCEPT, HeaderValue::from_static("image/png"));
        assert_eq!(Format::choose(None, &headers).unwrap_err().status, 406);
    }
}
