//! The storage schema, written once: a descriptor per table ([`TableDef`]: its name, its
//! columns with their types and how each is read from a record, its key, and how a
//! conflicting row is treated). The PostgreSQL and SQLite upserts, PostgreSQL's `COPY`
//! text, the CSV files and the API's reads are all made from these descriptors
//! ([`tables`] holds them); `tests/schema.rs` fails when a migration and its descriptor
//! disagree about a column's name, type, nullability or the key.
//!
//! Only the descriptors know how a record becomes a row: a [`Column`]'s accessor gives a
//! [`Value`], and each encoder (a bind, a `COPY` field, a CSV cell) turns a value of a
//! [`Kind`] into its own representation.

pub mod tables;

use chrono::{DateTime, NaiveDate, Utc};
use optionsflow_api::records::QualityFlag;

pub use tables::{
    DAILY_BARS, DEAD_LETTERS, INTRADAY_BARS, OPTION_QUOTES, PREDICTION_SCORES, PREDICTIONS,
    StoredForecast, StoredScore,
};

/// A column's type, which decides its declared type in each database and how its values
/// are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// A calendar date (`YYYY-MM-DD` text on SQLite).
    Date,
    /// A UTC time (fixed-width text on SQLite, so text order is time order).
    Time,
    /// A 64-bit integer.
    BigInt,
    /// A 32-bit integer.
    Int,
    Float,
    Bool,
    /// Quality flags: `text[]` on PostgreSQL, comma-joined text on SQLite, `;`-joined in CSV.
    Flags,
}

impl Kind {
    /// The type a PostgreSQL migration declares (as `information_schema` names it) and the
    /// type of the arrays UNNEST binds.
    pub fn postgres(self) -> (&'static str, &'static str) {
        match self {
            Kind::Text => ("text", "text"),
            Kind::Date => ("date", "date"),
            Kind::Time => ("timestamp with time zone", "timestamptz"),
            Kind::BigInt => ("bigint", "int8"),
            Kind::Int => ("integer", "int4"),
            Kind::Float => ("double precision", "float8"),
            Kind::Bool => ("boolean", "bool"),
            // Flags travel through UNNEST and COPY as one joined string.
            Kind::Flags => ("ARRAY", "text"),
        }
    }

    /// The type a SQLite migration declares.
    pub fn sqlite(self) -> &'static str {
        match self {
            Kind::Text | Kind::Date | Kind::Time | Kind::Flags => "TEXT",
            Kind::BigInt | Kind::Int | Kind::Bool => "INTEGER",
            Kind::Float => "REAL",
        }
    }
}

/// One field of a row, as a record gives it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    Null,
    Text(&'a str),
    Date(NaiveDate),
    Time(DateTime<Utc>),
    Int(i64),
    Float(f64),
    Bool(bool),
    Flags(&'a [QualityFlag]),
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Self {
        Value::Text(v)
    }
}
impl<'a> From<&'a String> for Value<'a> {
    fn from(v: &'a String) -> Self {
        Value::Text(v)
    }
}
impl From<NaiveDate> for Value<'_> {
    fn from(v: NaiveDate) -> Self {
        Value::Date(v)
    }
}
impl From<DateTime<Utc>> for Value<'_> {
    fn from(v: DateTime<Utc>) -> Self {
        Value::Time(v)
    }
}
impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<i32> for Value<'_> {
    fn from(v: i32) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<usize> for Value<'_> {
    fn from(v: usize) -> Self {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<f64> for Value<'_> {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<bool> for Value<'_> {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl<'a> From<&'a Vec<QualityFlag>> for Value<'a> {
    fn from(v: &'a Vec<QualityFlag>) -> Self {
        Value::Flags(v)
    }
}
impl<'a, T: Into<Value<'a>>> From<Option<T>> for Value<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

impl<'a> Value<'a> {
    pub fn text(self) -> Option<&'a str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }
    pub fn date(self) -> Option<NaiveDate> {
        match self {
            Value::Date(d) => Some(d),
            _ => None,
        }
    }
    pub fn time(self) -> Option<DateTime<Utc>> {
        match self {
            Value::Time(t) => Some(t),
            _ => None,
        }
    }
    pub fn int(self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(i),
            _ => None,
        }
    }
    pub fn float(self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(f),
            _ => None,
        }
    }
    pub fn bool(self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// Flags joined with `separator` (empty for none, or for another value).
    pub fn joined_flags(&self, separator: &str) -> String {
        match self {
            Value::Flags(flags) => flags
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join(separator),
            _ => String::new(),
        }
    }

    /// Whether this value may be stored in a column of `kind`.
    pub fn fits(&self, kind: Kind, nullable: bool) -> bool {
        matches!(
            (self, kind),
            (Value::Null, _) if nullable
        ) || matches!(
            (self, kind),
            (Value::Text(_), Kind::Text)
                | (Value::Date(_), Kind::Date)
                | (Value::Time(_), Kind::Time)
                | (Value::Int(_), Kind::BigInt | Kind::Int)
                | (Value::Float(_), Kind::Float)
                | (Value::Bool(_), Kind::Bool)
                | (Value::Flags(_), Kind::Flags)
        )
    }
}

/// A column of a table whose rows come from records of type `R`.
pub struct Column<R> {
    pub name: &'static str,
    pub kind: Kind,
    pub nullable: bool,
    /// The column's value in a record.
    pub get: fn(&R) -> Value<'_>,
}

/// What an insert does with a row whose key is stored already.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnConflict {
    /// Rewrite the columns outside the key, when one of them differs (so a redelivery
    /// writes nothing) and, where `revised_by` names a column, only with a row given at
    /// least as late as the stored one.
    Update { revised_by: Option<&'static str> },
    /// Keep the stored row (a row that never changes once written).
    Ignore,
}

/// A table: its columns in the order statements and files list them, and its key.
pub struct TableDef<R: 'static> {
    pub name: &'static str,
    pub columns: &'static [Column<R>],
    /// The primary key (the natural key): every write is an idempotent upsert on it.
    pub key: &'static [&'static str],
    pub on_conflict: OnConflict,
}

impl<R> TableDef<R> {
    pub fn names(&self) -> Vec<&'static str> {
        self.columns.iter().map(|c| c.name).collect()
    }

    /// The columns outside the key: what an upsert of a stored row rewrites.
    pub fn value_columns(&self) -> Vec<&'static str> {
        self.names()
            .into_iter()
            .filter(|c| !self.key.contains(c))
            .collect()
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&Column<R>> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// Every table's name, type and nullability by column, and its key: what a migration must
/// create (the tables without a descriptor of their own, `symbols`, are listed here too).
pub struct Shape {
    pub name: &'static str,
    pub columns: Vec<(&'static str, Kind, bool)>,
    pub key: &'static [&'static str],
}

impl<R> From<&TableDef<R>> for Shape {
    fn from(t: &TableDef<R>) -> Shape {
        Shape {
            name: t.name,
            columns: t
                .columns
                .iter()
                .map(|c| (c.name, c.kind, c.nullable))
                .collect(),
            key: t.key,
        }
    }
}

/// The `symbols` summary the db-writer keeps beside the data tables.
pub const SYMBOLS: &str = "symbols";

/// Every table the migrations create.
pub fn shapes() -> Vec<Shape> {
    vec![
        Shape::from(&DAILY_BARS),
        Shape::from(&INTRADAY_BARS),
        Shape::from(&OPTION_QUOTES),
        Shape::from(&PREDICTIONS),
        Shape::from(&PREDICTION_SCORES),
        Shape::from(&DEAD_LETTERS),
        Shape {
            name: SYMBOLS,
            columns: vec![
                ("symbol", Kind::Text, false),
                ("daily_bars", Kind::BigInt, false),
                ("intraday_bars", Kind::BigInt, false),
            ],
            key: &["symbol"],
        },
    ]
}

#[cfg(test)]
mod tests;
