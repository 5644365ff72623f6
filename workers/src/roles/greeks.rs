//! `optionsflow-worker greeks`: implied volatility and Greeks for a CSV of option prices.
//!
//! Reads `spot,strike,years,rate,dividend_yield,right,price` (more columns are passed
//! through) and writes every row back with `iv,delta,gamma,theta,vega,rho,status` appended.
//! A row without an IV keeps its place, with empty numbers and a status saying why, so the
//! output lines up with the input. Numbers are written in Rust's shortest round-trip form,
//! so a comparison with another library sees every bit.

use std::io::{Read, Write};

use optionsflow_api::records::{IvStatus, OptionRight};

use crate::market::bsm::{self, Inputs};

/// The columns read, in any order.
pub const INPUT_COLUMNS: [&str; 7] = [
    "spot",
    "strike",
    "years",
    "rate",
    "dividend_yield",
    "right",
    "price",
];
/// The columns appended.
pub const OUTPUT_COLUMNS: [&str; 7] = ["iv", "delta", "gamma", "theta", "vega", "rho", "status"];

#[derive(Debug, thiserror::Error)]
pub enum GreeksError {
    #[error("reading the CSV failed: {0}")]
    Read(#[source] csv::Error),
    #[error("the CSV header lacks column {0:?} (expected {cols})", cols = INPUT_COLUMNS.join(","))]
    MissingColumn(&'static str),
    #[error("writing the CSV failed: {0}")]
    Write(#[source] csv::Error),
}

/// Rows read and rows with an IV, for the summary on stderr.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub rows: u64,
    pub with_iv: u64,
}

/// Why a row has no numbers, for the `status` column.
fn status(result: &Result<f64, IvStatus>) -> &'static str {
    match result {
        Ok(_) => IvStatus::Ok.as_str(),
        Err(s) => s.as_str(),
    }
}

/// Parses one row's inputs; `None` if a number or the right cannot be read.
fn inputs(fields: &[&[u8]; 7]) -> Option<(Inputs, f64)> {
    let number = |b: &[u8]| std::str::from_utf8(b).ok()?.trim().parse::<f64>().ok();
    let right = match std::str::from_utf8(fields[5]).ok()?.trim() {
        r if r.eq_ignore_ascii_case("call") || r.eq_ignore_ascii_case("c") => OptionRight::Call,
        r if r.eq_ignore_ascii_case("put") || r.eq_ignore_ascii_case("p") => OptionRight::Put,
        _ => return None,
    };
    Some((
        Inputs {
            spot: number(fields[0])?,
            strike: number(fields[1])?,
            years: number(fields[2])?,
            rate: number(fields[3])?,
            dividend_yield: number(fields[4])?,
            right,
        },
        number(fields[6])?,
    ))
}

pub fn run(input: impl Read, output: impl Write) -> Result<Summary, GreeksError> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
    let mut writer = csv::Writer::from_writer(output);
    let header = reader.byte_headers().map_err(GreeksError::Read)?.clone();
    let mut index = [0usize; 7];
    for (slot, name) in index.iter_mut().zip(INPUT_COLUMNS) {
        *slot = header
            .iter()
            .position(|h| h.trim_ascii() == name.as_bytes())
            .ok_or(GreeksError::MissingColumn(name))?;
    }
    let mut out_header = header.clone();
    for c in OUTPUT_COLUMNS {
        out_header.push_field(c.as_bytes());
    }
    writer
        .write_byte_record(&out_header)
        .map_err(GreeksError::Write)?;

    let mut summary = Summary::default();
    let mut record = csv::ByteRecord::new();
    let mut text = String::new();
    while reader
        .read_byte_record(&mut record)
        .map_err(GreeksError::Read)?
    {
        summary.rows += 1;
        let fields = index.map(|i| record.get(i).unwrap_or_default());
        let result = match inputs(&fields) {
            Some((inputs, price)) => bsm::implied_vol(&inputs, price).map(|iv| (inputs, iv)),
            None => Err(IvStatus::InvalidInput),
        };
        let numbers: [Option<f64>; 6] = match &result {
            Ok((inputs, iv)) => {
                summary.with_iv += 1;
                let g = bsm::greeks(inputs, *iv);
                [
                    Some(*iv),
                    g.map(|g| g.delta),
                    g.map(|g| g.gamma),
                    g.map(|g| g.theta),
                    g.map(|g| g.vega),
                    g.map(|g| g.rho),
                ]
            }
            Err(_) => [None; 6],
        };
        for n in numbers {
            text.clear();
            if let Some(n) = n {
                use std::fmt::Write as _;
                let _ = write!(text, "{n:?}");
            }
            record.push_field(text.as_bytes());
        }
        record.push_field(status(&result.map(|(_, iv)| iv)).as_bytes());
        writer
            .write_byte_record(&record)
            .map_err(GreeksError::Write)?;
    }
    writer.flush().map_err(|e| GreeksError::Write(e.into()))?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_text(input: &str) -> Result<(String, Summary), GreeksError> {
        let mut out = Vec::new();
        let summary = run(input.as_bytes(), &mut out)?;
        Ok((String::from_utf8(out).unwrap(), summary))
    }

    #[test]
    fn appends_iv_greeks_and_status_to_every_row() {
        let input = "id,spot,strike,years,rate,dividend_yield,right,price\n\
                     a,100,105,0.0821917808219178,0.045,0.01,call,1.155982\n\
                     b,100,105,0.0821917808219178,0.045,0.01,put,5.850501\n\
                     c,150,100,0.1643835616438356,0.045,0,call,50.2\n\
                     d,100,100,0.5,0.01,0,call,200\n\
                     e,100,abc,0.5,0.01,0,call,5\n\
                     f,100,100,0.5,0.01,0,straddle,5\n";
        let (out, summary) = run_text(input).unwrap();
        assert_eq!(
            summary,
            Summary {
                rows: 6,
                with_iv: 2
            }
        );
        let mut reader = csv::Reader::from_reader(out.as_bytes());
        let header: Vec<String> = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(
            header,
            "id,spot,strike,years,rate,dividend_yield,right,price,iv,delta,gamma,theta,vega,rho,status"
                .split(',')
                .collect::<Vec<_>>()
        );
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        let num = |r: &csv::StringRecord, i: usize| r[i].parse::<f64>().unwrap();
        assert!((num(&rows[0], 8) - 0.25).abs() < 1e-6);
        assert!((num(&rows[0], 9) - 0.272445).abs() < 1e-6);
        assert!((num(&rows[1], 9) + 0.726734).abs() < 1e-6);
        assert!((num(&rows[1], 11) + 0.031969).abs() < 1e-6);
        assert_eq!(&rows[0][14], "ok");
        assert_eq!(&rows[2][14], "below_intrinsic");
        assert_eq!(&rows[2][8], "");
        assert_eq!(&rows[3][14], "above_maximum");
        assert_eq!(&rows[4][14], "invalid_input");
        assert_eq!(&rows[5][14], "invalid_input");
        assert_eq!(&rows[5][0], "f", "rows keep their place");
    }

    #[test]
    fn a_missing_column_is_a_clear_error() {
        let err = run_text("spot,strike,years,rate,right,price\n1,1,1,0,call,1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("dividend_yield"), "{err}");
    }

    #[test]
    fn ragged_rows_are_an_error_not_a_guess() {
        let err = run_text(
            "spot,strike,years,rate,dividend_yield,right,price\n100,100,0.5,0.01,0,call\n",
        )
        .unwrap_err();
        assert!(matches!(err, GreeksError::Read(_)), "{err}");
    }
}
