//! Ticker symbols of underlyings, as people write them in a SymbolSet.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An upper-case U.S. ticker: a letter, then letters or digits, optionally one class suffix
/// after `.` or `-` (`BRK.B`, `BF-B`). At most 10 characters. Index underlyings are written
/// without provider decorations (`SPX`, not `^SPX` or `_SPX`); each source adds its own.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Symbol(String);

/// The longest symbol accepted.
pub const MAX_SYMBOL_LEN: usize = 10;

/// The same rule as [`Symbol`], as a regular expression (used in the CRD schema).
pub const SYMBOL_PATTERN: &str = "^[A-Z][A-Z0-9]*([.-][A-Z0-9]+)?$";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SymbolError {
    #[error("symbol is empty")]
    Empty,
    #[error("symbol {0:?} is longer than {MAX_SYMBOL_LEN} characters")]
    TooLong(String),
    #[error(
        "symbol {0:?} is not an upper-case ticker (letters and digits, optionally one '.' or '-' class suffix, e.g. BRK.B)"
    )]
    Invalid(String),
}

impl Symbol {
    pub fn parse(s: &str) -> Result<Symbol, SymbolError> {
        if s.is_empty() {
            return Err(SymbolError::Empty);
        }
        if s.len() > MAX_SYMBOL_LEN {
            return Err(SymbolError::TooLong(s.to_owned()));
        }
        let mut parts = s.splitn(2, ['.', '-']);
        let head = parts.next().unwrap_or_default();
        let tail = parts.next();
        let alnum = |p: &str| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        };
        let starts_with_letter = head.bytes().next().is_some_and(|b| b.is_ascii_uppercase());
        if starts_with_letter && alnum(head) && tail.is_none_or(alnum) {
            Ok(Symbol(s.to_owned()))
        } else {
            Err(SymbolError::Invalid(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Symbol {
    type Err = SymbolError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Symbol::parse(s)
    }
}

impl TryFrom<String> for Symbol {
    type Error = SymbolError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Symbol::parse(&s)
    }
}

impl From<Symbol> for String {
    fn from(s: Symbol) -> String {
        s.0
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Symbol {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_tickers_and_class_suffixes() {
        for s in ["AAPL", "F", "BRK.B", "BF-B", "SPX", "X1", "GOOGL"] {
            assert_eq!(Symbol::parse(s).unwrap().as_str(), s);
        }
    }

    #[test]
    fn rejects_lower_case_decorated_and_malformed() {
        for s in [
            "aapl",
            "^SPX",
            "_SPX",
            "1ABC",
            "BRK.",
            "A.B.C",
            "A B",
            "ABCDEFGHIJK",
        ] {
            assert!(Symbol::parse(s).is_err(), "{s} should be rejected");
        }
        assert_eq!(Symbol::parse(""), Err(SymbolError::Empty));
    }

    #[test]
    fn deserializing_validates() {
        let bad: Result<Symbol, _> = serde_json::from_str("\"msft\"");
        assert!(bad.unwrap_err().to_string().contains("upper-case"));
    }
}
