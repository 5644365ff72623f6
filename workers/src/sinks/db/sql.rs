//! SQL text made from the table descriptors ([`crate::sinks::schema`]), in each database's
//! dialect: the upserts' column lists and conflict clauses, and the expressions the API's
//! reads select. PostgreSQL's times, dates and arrays are read as the same text SQLite
//! stores (`YYYY-MM-DDTHH:MM:SS.ffffffZ`, `YYYY-MM-DD`, comma-joined flags), so one row type
//! reads both. Values are always parameters, never SQL text.

use crate::sinks::schema::{Kind, OnConflict, TableDef};

/// Which database a statement is written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Sqlite,
}

/// One statement in both dialects, written once as a function of the dialect.
#[derive(Clone, Debug, PartialEq)]
pub struct Sql {
    pub postgres: String,
    pub sqlite: String,
}

impl Sql {
    pub fn new(text: impl Fn(Dialect) -> String) -> Sql {
        Sql {
            postgres: text(Dialect::Postgres),
            sqlite: text(Dialect::Sqlite),
        }
    }

    pub fn of(&self, dialect: Dialect) -> &str {
        match dialect {
            Dialect::Postgres => &self.postgres,
            Dialect::Sqlite => &self.sqlite,
        }
    }
}

/// A time as PostgreSQL reads it out, in the text SQLite stores.
const PG_TIME_TEXT: &str = r#"'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'"#;

impl Dialect {
    /// The `n`th parameter (from 1).
    pub fn param(self, n: usize) -> String {
        match self {
            Dialect::Postgres => format!("${n}"),
            Dialect::Sqlite => format!("?{n}"),
        }
    }

    /// The `n`th parameter, bound as text and compared with a column of `kind` (PostgreSQL
    /// casts it; SQLite stores dates and times as that text already).
    pub fn param_as(self, n: usize, kind: Kind) -> String {
        match (self, kind) {
            (Dialect::Postgres, Kind::Date) => format!("${n}::date"),
            (Dialect::Postgres, Kind::Time) => format!("${n}::timestamptz"),
            _ => self.param(n),
        }
    }

    /// `expression` (a column of `kind`) as the text or number both databases' rows read.
    pub fn read(self, expression: &str, kind: Kind) -> String {
        match (self, kind) {
            (Dialect::Postgres, Kind::Time) => {
                format!("to_char({expression} AT TIME ZONE 'UTC', {PG_TIME_TEXT})")
            }
            (Dialect::Postgres, Kind::Date) => format!("{expression}::text"),
            (Dialect::Postgres, Kind::Flags) => format!("array_to_string({expression}, ',')"),
            (_, Kind::Int) => self.int8(expression),
            _ => expression.to_owned(),
        }
    }

    /// `expression` (an integer, a count or a sum) read as a 64-bit integer: PostgreSQL's
    /// `integer` and `sum` are other types; SQLite's integers are all 64-bit.
    pub fn int8(self, expression: &str) -> String {
        match self {
            Dialect::Postgres => format!("{expression}::int8"),
            Dialect::Sqlite => expression.to_owned(),
        }
    }

    /// The select list of `names` from `table` (each column of it, read as [`Dialect::read`]
    /// reads it, under its own name).
    ///
    /// # Panics
    /// When `table` has no column of one of the names: a programming error that every test
    /// reading the table meets.
    pub fn select<R>(self, table: &TableDef<R>, names: &[&str]) -> String {
        names
            .iter()
            .map(|name| {
                let column = table
                    .column(name)
                    .unwrap_or_else(|| panic!("{} has no column {name}", table.name));
                let quoted = format!("\"{name}\"");
                match self.read(&quoted, column.kind) {
                    read if read == quoted => read,
                    read => format!("{read} AS \"{name}\""),
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// What an insert into `table` does on a stored key: rewrite the value columns when one
    /// differs (and, for a revisable row, only with one given at least as late), or nothing.
    pub fn on_conflict<R>(self, table: &TableDef<R>) -> String {
        let revised_by = match table.on_conflict {
            OnConflict::Ignore => return " ON CONFLICT DO NOTHING".to_owned(),
            OnConflict::Update { revised_by } => revised_by,
        };
        let name = table.name;
        let others = table.value_columns();
        let set = others
            .iter()
            .map(|c| format!("\"{c}\" = excluded.\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let distinct = match self {
            Dialect::Postgres => "IS DISTINCT FROM",
            Dialect::Sqlite => "IS NOT",
        };
        let mut clause = format!(
            " ON CONFLICT ({}) DO UPDATE SET {set} WHERE ({}) {distinct} ({})",
            quoted(table.key, ""),
            quoted(&others, &format!("{name}.")),
            quoted(&others, "excluded.")
        );
        // Times are fixed-width text on SQLite, so text order is time order there too.
        if let Some(t) = revised_by {
            clause.push_str(&format!(
                " AND ({name}.\"{t}\" IS NULL OR excluded.\"{t}\" >= {name}.\"{t}\")"
            ));
        }
        clause
    }
}

/// Column names quoted (`right`, `interval`, `partition` and `offset` are keywords), each
/// after `prefix`, joined with commas.
pub fn quoted(columns: &[&str], prefix: &str) -> String {
    columns
        .iter()
        .map(|c| format!("{prefix}\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinks::schema::{DAILY_BARS, DEAD_LETTERS, OPTION_QUOTES};

    #[test]
    fn reads_give_both_databases_the_same_text() {
        let pg = Dialect::Postgres.select(&OPTION_QUOTES, &["contract", "snapshot_time", "flags"]);
        assert_eq!(
            pg,
            "\"contract\", to_char(\"snapshot_time\" AT TIME ZONE 'UTC', \
             'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS \"snapshot_time\", \
             array_to_string(\"flags\", ',') AS \"flags\""
        );
        let lite = Dialect::Sqlite.select(&OPTION_QUOTES, &["contract", "snapshot_time", "flags"]);
        assert_eq!(lite, "\"contract\", \"snapshot_time\", \"flags\"");
        assert_eq!(Dialect::Postgres.param_as(2, Kind::Date), "$2::date");
        assert_eq!(Dialect::Sqlite.param_as(2, Kind::Date), "?2");
    }

    #[test]
    #[should_panic(expected = "option_quotes has no column strikes")]
    fn a_read_of_a_column_the_table_lacks_is_caught() {
        Dialect::Sqlite.select(&OPTION_QUOTES, &["strikes"]);
    }

    #[test]
    fn a_conflict_rewrites_only_changed_rows_and_never_with_an_older_fetch() {
        let s = Dialect::Postgres.on_conflict(&DAILY_BARS);
        assert!(
            s.starts_with(
                " ON CONFLICT (\"symbol\", \"trade_date\") DO UPDATE SET \"bar_time\" = excluded.\"bar_time\""
            ),
            "{s}"
        );
        assert!(s.ends_with(
            "WHERE (daily_bars.\"bar_time\", daily_bars.\"open\", daily_bars.\"high\", daily_bars.\"low\", \
             daily_bars.\"close\", daily_bars.\"volume\", daily_bars.\"source\", daily_bars.\"fetched_at\", \
             daily_bars.\"flags\") IS DISTINCT FROM \
             (excluded.\"bar_time\", excluded.\"open\", excluded.\"high\", excluded.\"low\", excluded.\"close\", \
             excluded.\"volume\", excluded.\"source\", excluded.\"fetched_at\", excluded.\"flags\") \
             AND (daily_bars.\"fetched_at\" IS NULL OR excluded.\"fetched_at\" >= daily_bars.\"fetched_at\")"
        ), "{s}");
        assert!(
            Dialect::Sqlite
                .on_conflict(&DAILY_BARS)
                .contains(") IS NOT (")
        );
        assert_eq!(
            Dialect::Sqlite.on_conflict(&DEAD_LETTERS),
            " ON CONFLICT DO NOTHING"
        );
    }
}
