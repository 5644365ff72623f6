//! OCC/OSI option symbols: `ROOT  YYMMDD[C|P]SSSSSSSS` (21 characters, root padded to six)
//! or the compact form without padding that Yahoo and Cboe send.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Right {
    Call,
    Put,
}

impl Right {
    pub fn letter(self) -> char {
        match self {
            Right::Call => 'C',
            Right::Put => 'P',
        }
    }
}

/// Roots of cash-settled index options, which are European: S&P 500 (`SPX`, the weekly and
/// PM-settled `SPXW`, the mini `XSP`), Nasdaq-100 (`NDX`, `NDXP`, `XND`), Russell 2000
/// (`RUT`, `RUTW`, `MRUT`), Cboe volatility (`VIX`, `VIXW`), Dow (`DJX`) and European
/// S&P 100 (`XEO`). Every other U.S. listed equity, ETF and index option is American,
/// including S&P 100's `OEX`.
pub const EUROPEAN_ROOTS: [&str; 13] = [
    "SPX", "SPXW", "XSP", "NDX", "NDXP", "XND", "RUT", "RUTW", "MRUT", "VIX", "VIXW", "DJX", "XEO",
];

/// How a contract of option root `root` may be exercised.
pub fn exercise(root: &str) -> optionsflow_api::records::Exercise {
    use optionsflow_api::records::Exercise;
    if EUROPEAN_ROOTS.contains(&root) {
        Exercise::European
    } else {
        Exercise::American
    }
}

/// A parsed option symbol.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OsiSymbol {
    /// The option root; usually the underlying, but not always (`SPXW`, adjusted roots).
    pub root: String,
    /// The listed expiration date (already holiday-adjusted).
    pub expiry: NaiveDate,
    pub right: Right,
    /// Strike in thousandths of a dollar, exactly as encoded.
    pub strike_thousandths: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{symbol:?} is not an OSI option symbol: {why}")]
pub struct OsiError {
    pub symbol: String,
    pub why: &'static str,
}

const NO_SUCH_DATE: &str = "expiry is not a calendar date";
const ZERO_STRIKE: &str = "strike must be positive";

impl OsiError {
    /// The symbol is well formed but names a contract that cannot exist (an expiry that is
    /// not a date, a zero strike), rather than not being an OSI symbol at all.
    pub fn is_impossible(&self) -> bool {
        matches!(self.why, NO_SUCH_DATE | ZERO_STRIKE)
    }
}

impl OsiSymbol {
    /// Parses either form. The last 15 characters are always `YYMMDD`, `C|P` and eight strike
    /// digits; the root is whatever precedes them, spaces trimmed.
    pub fn parse(symbol: &str) -> Result<OsiSymbol, OsiError> {
        let err = |why| OsiError {
            symbol: symbol.to_owned(),
            why,
        };
        if !symbol.is_ascii() {
            return Err(err("non-ASCII characters"));
        }
        if symbol.len() < 16 || symbol.len() > 21 {
            return Err(err("length must be 16 to 21 characters"));
        }
        let (root, tail) = symbol.split_at(symbol.len() - 15);
        let root = root.trim_end_matches(' ');
        if root.is_empty() || root.len() > 6 {
            return Err(err("root must be 1 to 6 characters"));
        }
        if !root
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return Err(err("root must be upper-case letters and digits"));
        }
        let (date, rest) = tail.split_at(6);
        let (right, strike) = rest.split_at(1);
        if !date.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err("expiry must be six digits YYMMDD"));
        }
        let number = |s: &str| s.parse::<u32>().expect("digits");
        let expiry = NaiveDate::from_ymd_opt(
            2000 + number(&date[0..2]) as i32,
            number(&date[2..4]),
            number(&date[4..6]),
        )
        .ok_or_else(|| err(NO_SUCH_DATE))?;
        let right = match right {
            "C" => Right::Call,
            "P" => Right::Put,
            _ => return Err(err("right must be C or P")),
        };
        if !strike.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err("strike must be eight digits"));
        }
        let strike_thousandths: u64 = strike.parse().expect("digits");
        if strike_thousandths == 0 {
            return Err(err(ZERO_STRIKE));
        }
        Ok(OsiSymbol {
            root: root.to_owned(),
            expiry,
            right,
            strike_thousandths,
        })
    }

    pub fn strike(&self) -> f64 {
        self.strike_thousandths as f64 / 1000.0
    }

    /// The 21-character padded form.
    pub fn padded(&self) -> String {
        let mut out = String::with_capacity(21);
        out.push_str(&self.root);
        for _ in self.root.len()..6 {
            out.push(' ');
        }
        self.push_tail(&mut out);
        out
    }

    /// The compact form Yahoo and Cboe use.
    pub fn compact(&self) -> String {
        let mut out = String::with_capacity(self.root.len() + 15);
        out.push_str(&self.root);
        self.push_tail(&mut out);
        out
    }

    /// `YYMMDD`, `C|P` and eight strike digits, written by hand: processing formats one
    /// symbol per quote, and `format!` machinery was a tenth of its time.
    fn push_tail(&self, out: &mut String) {
        fn digits(out: &mut String, value: u64, width: u32) {
            for power in (0..width).rev() {
                let digit = (value / 10u64.pow(power)) % 10;
                out.push(char::from(b'0' + digit as u8));
            }
        }
        digits(out, (self.expiry.year() % 100) as u64, 2);
        digits(out, u64::from(self.expiry.month()), 2);
        digits(out, u64::from(self.expiry.day()), 2);
        out.push(self.right.letter());
        digits(out, self.strike_thousandths, 8);
    }
}

impl fmt::Display for OsiSymbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.padded())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_examples_from_the_reference() {
        let spy = OsiSymbol::parse("SPY   260618C00600000").unwrap();
        assert_eq!(spy.root, "SPY");
        assert_eq!(spy.expiry, NaiveDate::from_ymd_opt(2026, 6, 18).unwrap());
        assert_eq!(spy.right, Right::Call);
        assert_eq!(spy.strike(), 600.0);
        assert_eq!(spy.compact(), "SPY260618C00600000");
        assert_eq!(OsiSymbol::parse("SPY260618C00600000").unwrap(), spy);

        let aapl = OsiSymbol::parse("AAPL270115P00192500").unwrap();
        assert_eq!(aapl.strike(), 192.5);
        assert_eq!(aapl.padded(), "AAPL  270115P00192500");

        let spxw = OsiSymbol::parse("SPXW  261218P05500000").unwrap();
        assert_eq!(spxw.root, "SPXW");
        assert_eq!(spxw.strike(), 5500.0);
    }

    #[test]
    fn roots_with_digits_and_six_letters() {
        assert_eq!(
            OsiSymbol::parse("AMD1  261218C00100000").unwrap().root,
            "AMD1"
        );
        assert_eq!(
            OsiSymbol::parse("GOOGL1261218C00100000").unwrap().root,
            "GOOGL1"
        );
    }

    #[test]
    fn rejects_malformed_symbols() {
        for bad in [
            "",
            "SPY",
            "SPY260618X00600000",
            "SPY261318C00600000",
            "SPY260618C0060000A",
            "SPY260618C00000000",
            "spy260618C00600000",
            "TOOLONGROOT260618C00600000",
            "SPY2606l8C00600000",
        ] {
            assert!(OsiSymbol::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn well_formed_but_impossible_contracts_are_told_apart() {
        for impossible in [
            "SPY   260230C00600000",
            "SPY   261301P00600000",
            "SPY260618C00000000",
        ] {
            assert!(
                OsiSymbol::parse(impossible).unwrap_err().is_impossible(),
                "{impossible}"
            );
        }
        for malformed in ["SPY", "spy   260618C00600000", "SPY   260618X00600000"] {
            assert!(
                !OsiSymbol::parse(malformed).unwrap_err().is_impossible(),
                "{malformed}"
            );
        }
    }

    mod never_panics {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2_000))]

            #[test]
            fn any_text(text in "\\PC{0,30}") {
                let _ = OsiSymbol::parse(&text);
            }

            #[test]
            fn symbols_of_the_right_shape_read_back_from_their_padded_form(
                root in "[A-Z0-9 a]{0,7}",
                date in "[0-9]{6}",
                right in "[CPX]",
                strike in "[0-9]{8}",
            ) {
                let text = format!("{root}{date}{right}{strike}");
                if let Ok(osi) = OsiSymbol::parse(&text) {
                    prop_assert_eq!(osi.padded().len(), 21);
                    prop_assert_eq!(OsiSymbol::parse(&osi.padded()).unwrap(), osi);
                }
            }
        }
    }
}
