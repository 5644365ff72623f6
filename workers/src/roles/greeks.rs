//! `optionsflow-worker greeks`: implied volatility and Greeks for a CSV of option prices.
//!
//! Reads `spot,strike,years,rate,dividend_yield,right,price` (more columns are passed
//! through) and writes every row back with `iv,delta,gamma,theta,vega,rho,status` appended.
//! A row without an IV keeps its place, with empty numbers and a status saying why, so the
//! output lines up with the input. Numbers are written in shortest round-trip form (the
//! `zmij` crate, several times faster than `{:?}`), so a comparison with another library
//! sees every bit.

use std::io::{BufRead, Read, Write};

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
    #[error("reading the input failed: {0}")]
    Input(#[source] std::io::Error),
    #[error("row {row} has {found} fields where the header has {expected}")]
    Ragged {
        row: u64,
        found: usize,
        expected: usize,
    },
    #[error("the CSV header lacks column {0:?} (expected {cols})", cols = INPUT_COLUMNS.join(","))]
    MissingColumn(&'static str),
    #[error("writing the CSV failed: {0}")]
    Write(#[source] std::io::Error),
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

/// A number as `str::parse` reads it. Plain decimals of at most 15 digits (`101.25`,
/// `-0.0417`) take Clinger's fast path: the digits as an integer below 2^53 and a power of
/// ten up to 10^22 are both exact doubles, so one correctly rounded division gives the
/// correctly rounded value, in a fraction of the general parser's time. Anything else goes
/// to `str::parse`.
fn number(field: &[u8]) -> Option<f64> {
    const POWERS: [f64; 23] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];
    let field = field.trim_ascii();
    let (negative, digits) = match field.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, field),
    };
    let (mut mantissa, mut count, mut decimals): (u64, u32, Option<usize>) = (0, 0, None);
    for &b in digits {
        match b {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(b - b'0');
                count += 1;
                decimals = decimals.map(|d| d + 1);
                if count > 15 {
                    return std::str::from_utf8(field).ok()?.parse().ok();
                }
            }
            b'.' if decimals.is_none() => decimals = Some(0),
            _ => return std::str::from_utf8(field).ok()?.parse().ok(),
        }
    }
    if count == 0 {
        return None;
    }
    let value = mantissa as f64 / POWERS[decimals.unwrap_or(0)];
    Some(if negative { -value } else { value })
}

/// Parses one row's inputs; `None` if a number or the right cannot be read.
fn inputs(fields: &[&[u8]; 7]) -> Option<(Inputs, f64)> {
    let right = match fields[5].trim_ascii() {
        r if r.eq_ignore_ascii_case(b"call") || r.eq_ignore_ascii_case(b"c") => OptionRight::Call,
        r if r.eq_ignore_ascii_case(b"put") || r.eq_ignore_ascii_case(b"p") => OptionRight::Put,
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

/// Bytes of output gathered before they are written.
const FLUSH_AT: usize = 1 << 16;

/// Reads the CSV on `input` and writes it back with the computed columns on `output`.
///
/// Most price files hold no quoted field, and for them this is a fast path: a line is split
/// on its commas and echoed as it came, with the computed columns appended. At the first
/// `"` (the header's or a row's) the rest of the input goes to the `csv` crate instead,
/// which handles quoting and line breaks inside fields, and the fields it returns are
/// quoted again where they must be. Output gathers in one buffer: the numbers and statuses
/// never need quoting (docs/processing.md, "Speed of `greeks`", has the figures).
pub fn run(input: impl Read, output: impl Write) -> Result<Summary, GreeksError> {
    let mut input = std::io::BufReader::with_capacity(1 << 16, input);
    let mut line: Vec<u8> = Vec::with_capacity(512);
    let mut header_line = Vec::new();
    while header_line.is_empty() && next_line(&mut input, &mut line)? {
        header_line = trim_eol(&line).to_vec();
    }
    if header_line.contains(&b'"') {
        let rest = std::io::Cursor::new(line).chain(input);
        return quoted(rest, Sink::new(output), true);
    }
    let header: Vec<&[u8]> = header_line.split(|b| *b == b',').collect();
    let mut sink = Sink::new(output);
    sink.header(&header, |buf| buf.extend_from_slice(&header_line))?;
    // Which of the seven inputs each column is.
    let mut slot_of = vec![None; header.len()];
    for (slot, &column) in sink.index.iter().enumerate() {
        slot_of[column] = Some(slot);
    }
    while next_line(&mut input, &mut line)? {
        let row = trim_eol(&line);
        if row.is_empty() {
            continue;
        }
        if row.contains(&b'"') {
            let rest = std::io::Cursor::new(line).chain(input);
            return quoted(rest, sink, false);
        }
        let mut picked: [&[u8]; 7] = [&[]; 7];
        let mut count = 0;
        for (i, field) in row.split(|b| *b == b',').enumerate() {
            if let Some(Some(slot)) = slot_of.get(i) {
                picked[*slot] = field;
            }
            count = i + 1;
        }
        if count != header.len() {
            return Err(GreeksError::Ragged {
                row: sink.summary.rows + 1,
                found: count,
                expected: header.len(),
            });
        }
        sink.buf.extend_from_slice(row);
        sink.row(picked)?;
    }
    sink.finish()
}

/// The rest of the input through the `csv` crate; `has_header` when the header is still
/// to come.
fn quoted(
    input: impl Read,
    mut sink: Sink<impl Write>,
    has_header: bool,
) -> Result<Summary, GreeksError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .has_headers(has_header)
        .buffer_capacity(1 << 16)
        .from_reader(input);
    if has_header {
        let header = reader.byte_headers().map_err(GreeksError::Read)?.clone();
        let names: Vec<&[u8]> = header.iter().collect();
        sink.header(&names, |buf| fields(buf, &header))?;
    }
    let mut record = csv::ByteRecord::new();
    while reader
        .read_byte_record(&mut record)
        .map_err(GreeksError::Read)?
    {
        let picked = sink.index.map(|i| record.get(i).unwrap_or_default());
        fields(&mut sink.buf, &record);
        sink.row(picked)?;
    }
    sink.finish()
}

/// Reads the next line into `line` (replacing what it held); false at the end.
fn next_line(input: &mut impl BufRead, line: &mut Vec<u8>) -> Result<bool, GreeksError> {
    line.clear();
    Ok(input.read_until(b'\n', line).map_err(GreeksError::Input)? > 0)
}

/// A line without its `\n` or `\r\n`.
fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Where results go: the output buffer, and what rows share.
struct Sink<W> {
    output: W,
    buf: Vec<u8>,
    text: zmij::Buffer,
    /// Rows of one chain share a rate, a yield and an expiry: their carry is worked out once.
    carry: Option<bsm::Carry>,
    /// The columns of the seven inputs.
    index: [usize; 7],
    summary: Summary,
}

impl<W: Write> Sink<W> {
    fn new(output: W) -> Sink<W> {
        Sink {
            output,
            buf: Vec::with_capacity(FLUSH_AT + 4096),
            text: zmij::Buffer::new(),
            carry: None,
            index: [0; 7],
            summary: Summary::default(),
        }
    }

    /// Finds the inputs among `names` and writes the header, echoed by `echo`.
    fn header(
        &mut self,
        names: &[&[u8]],
        echo: impl FnOnce(&mut Vec<u8>),
    ) -> Result<(), GreeksError> {
        for (slot, name) in self.index.iter_mut().zip(INPUT_COLUMNS) {
            *slot = names
                .iter()
                .position(|h| h.trim_ascii() == name.as_bytes())
                .ok_or(GreeksError::MissingColumn(name))?;
        }
        echo(&mut self.buf);
        for c in OUTPUT_COLUMNS {
            self.buf.push(b',');
            self.buf.extend_from_slice(c.as_bytes());
        }
        self.buf.push(b'\n');
        Ok(())
    }

    /// Appends one row's results to its echoed fields.
    fn row(&mut self, fields_in: [&[u8]; 7]) -> Result<(), GreeksError> {
        self.summary.rows += 1;
        let result = match inputs(&fields_in) {
            Some((inputs, price)) => {
                let c = bsm::Carry::cached(&mut self.carry, &inputs);
                bsm::implied_vol_with(&inputs, price, c).map(|iv| (inputs, iv, *c))
            }
            None => Err(IvStatus::InvalidInput),
        };
        let numbers: [Option<f64>; 6] = match &result {
            Ok((inputs, iv, c)) => {
                self.summary.with_iv += 1;
                let g = bsm::greeks_with(inputs, *iv, c);
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
            self.buf.push(b',');
            // Every number here is finite (bsm never returns NaN or an infinity).
            if let Some(n) = n {
                self.buf
                    .extend_from_slice(self.text.format_finite(n).as_bytes());
            }
        }
        self.buf.push(b',');
        self.buf
            .extend_from_slice(status(&result.map(|(_, iv, _)| iv)).as_bytes());
        self.buf.push(b'\n');
        if self.buf.len() >= FLUSH_AT {
            self.output
                .write_all(&self.buf)
                .map_err(GreeksError::Write)?;
            self.buf.clear();
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Summary, GreeksError> {
        self.output
            .write_all(&self.buf)
            .map_err(GreeksError::Write)?;
        self.output.flush().map_err(GreeksError::Write)?;
        Ok(self.summary)
    }
}

/// Appends `record`'s fields, comma-separated, quoting those that hold a comma, a quote or
/// a line break (as RFC 4180 and the `csv` crate do).
fn fields(line: &mut Vec<u8>, record: &csv::ByteRecord) {
    for (i, field) in record.iter().enumerate() {
        if i > 0 {
            line.push(b',');
        }
        if field
            .iter()
            .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
        {
            line.push(b'"');
            for &b in field {
                if b == b'"' {
                    line.push(b'"');
                }
                line.push(b);
            }
            line.push(b'"');
        } else {
            line.extend_from_slice(field);
        }
    }
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
        let header: Vec<&str> = reader.headers().unwrap().iter().collect();
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
    fn the_fast_number_path_agrees_with_the_standard_parser() {
        let mut rng = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        for _ in 0..200_000 {
            let digits = next() % 10u64.pow(1 + (next() % 15) as u32);
            let text = digits.to_string();
            let point = (next() % (text.len() as u64 + 1)) as usize;
            let sign = ["", "-", "+"][(next() % 3) as usize];
            let s = format!("{sign}{}.{}", &text[..point], &text[point..]);
            assert_eq!(
                number(s.as_bytes()).map(f64::to_bits),
                s.parse::<f64>().ok().map(f64::to_bits),
                "{s}"
            );
        }
        for s in [
            "1e-7",
            "12345678901234567",
            "0.1",
            " 42 ",
            "nan",
            "",
            ".",
            "-",
            "1.2.3",
        ] {
            assert_eq!(
                number(s.as_bytes()).map(f64::to_bits),
                s.trim().parse::<f64>().ok().map(f64::to_bits),
                "{s:?}"
            );
        }
    }

    #[test]
    fn a_quote_midway_hands_the_rest_to_the_csv_reader() {
        let row = "100,105,0.0821917808219178,0.045,0.01,call,1.155982";
        let input = format!(
            "note,spot,strike,years,rate,dividend_yield,right,price\r\n\
             plain,{row}\r\n\r\n\"two\nlines\",{row}\nplain again,{row}\n"
        );
        let (out, summary) = run_text(&input).unwrap();
        assert_eq!((summary.rows, summary.with_iv), (3, 3));
        let mut reader = csv::Reader::from_reader(out.as_bytes());
        let notes: Vec<String> = reader.records().map(|r| r.unwrap()[0].to_owned()).collect();
        assert_eq!(notes, ["plain", "two\nlines", "plain again"]);
    }

    #[test]
    fn fields_that_need_quotes_keep_them() {
        let input = "note,spot,strike,years,rate,dividend_yield,right,price\n\
                     \"a, \"\"b\"\"\",100,105,0.0821917808219178,0.045,0.01,call,1.155982\n";
        let (out, _) = run_text(input).unwrap();
        let mut reader = csv::Reader::from_reader(out.as_bytes());
        let row = reader.records().next().unwrap().unwrap();
        assert_eq!(&row[0], "a, \"b\"");
        assert_eq!(&row[14], "ok");
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
        assert!(
            matches!(
                err,
                GreeksError::Ragged {
                    row: 1,
                    found: 6,
                    expected: 7
                }
            ),
            "{err}"
        );
        // The same through the csv crate, once a quote has been seen.
        let err = run_text(
            "spot,strike,years,rate,dividend_yield,right,\"price\"\n100,100,0.5,0.01,0,call\n",
        )
        .unwrap_err();
        assert!(matches!(err, GreeksError::Read(_)), "{err}");
    }
}
