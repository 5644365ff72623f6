//! `GET /api/v1/status`: per dataset, the newest data stored, the rows stored for today's
//! session, the dead letters written today and the next scheduled run, from the database and
//! the NYSE calendar. The page's status view shows it.
//!
//! "Today" is the exchange's calendar day (New York). The stored figures come from one
//! index lookup per symbol of the `symbols` summary, so they cost the same with years of data.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use optionsflow_api::Dataset;
use optionsflow_api::schedule::Schedule;
use serde::Serialize;

use super::ApiState;
use super::api::stored;
use super::problem::Problem;
use super::query::{self, Bind};
use crate::market::{Day, calendar};
use crate::roles::write::freshness::next_run;
use crate::sinks::db::sql::Sql;
use crate::sinks::schema::Kind;

/// The whole answer: the pipeline's status. "Today" is the exchange's (New York) calendar
/// day.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Status {
    /// When it was computed.
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub as_of: DateTime<Utc>,
    /// The exchange's calendar day.
    #[schemars(with = "String", extend("format" = "date"))]
    pub day: NaiveDate,
    /// `open`, `closed` (a trading day outside its session), `weekend` or the holiday's name.
    pub market: String,
    pub datasets: Vec<DatasetStatus>,
    /// Dead letters today whose dataset could not be told.
    pub other_dead_letters_today: i64,
}

/// One dataset's status.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct DatasetStatus {
    #[schemars(schema_with = "dataset_schema")]
    pub dataset: Dataset,
    pub enabled: bool,
    /// Cron expression, in the dataset's time zone.
    pub schedule: Option<String>,
    /// Source time of the newest record stored (the historical backfill's bars are counted
    /// with the daily ones: they share a table).
    pub newest_stored: Option<String>,
    /// Rows stored whose data belongs to today's session.
    pub rows_today: Option<i64>,
    pub dead_letters_today: i64,
    /// The next time the schedule fires on a day and at a time the trigger collects.
    #[schemars(with = "Option<String>", extend("format" = "date-time"))]
    pub next_run: Option<DateTime<Utc>>,
}

/// A dataset's name.
fn dataset_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "string", "enum": Dataset::ALL.map(Dataset::as_str)})
}

#[derive(sqlx::FromRow)]
struct StoredRow {
    dataset: String,
    newest: Option<String>,
    rows_today: i64,
}

#[derive(sqlx::FromRow)]
struct LettersRow {
    dataset: Option<String>,
    letters: i64,
}

/// The newest record and today's rows of each dataset's table, symbol by symbol. `$1` is
/// today's start (UTC, stored form), `$2` today's date.
static STORED: LazyLock<Sql> = LazyLock::new(|| {
    Sql::new(|d| {
        let (start, today) = (d.param_as(1, Kind::Time), d.param_as(2, Kind::Date));
        let newest = |column: &str| d.read(&format!("max({column})"), Kind::Time);
        let rows = |column: &str| d.int8(&format!("coalesce(sum({column}), 0)"));
        format!(
            r#"
WITH per_symbol AS (
  SELECT (SELECT d.bar_time FROM daily_bars d WHERE d.symbol = s.symbol ORDER BY d.trade_date DESC LIMIT 1) AS daily_newest,
         (SELECT count(*) FROM daily_bars d WHERE d.symbol = s.symbol AND d.trade_date >= {today}) AS daily_today,
         (SELECT i.bar_time FROM intraday_bars i WHERE i.symbol = s.symbol AND i."interval" = '15min' ORDER BY i.bar_time DESC LIMIT 1) AS intraday_newest,
         (SELECT count(*) FROM intraday_bars i WHERE i.symbol = s.symbol AND i."interval" = '15min' AND i.bar_time >= {start}) AS intraday_today,
         (SELECT q.snapshot_time FROM option_quotes q WHERE q.underlying = s.symbol ORDER BY q.snapshot_time DESC LIMIT 1) AS options_newest,
         (SELECT count(*) FROM option_quotes q WHERE q.underlying = s.symbol AND q.snapshot_time >= {start}) AS options_today
    FROM symbols s
)
SELECT 'daily' AS dataset, {} AS newest, {} AS rows_today FROM per_symbol
UNION ALL
SELECT 'intraday', {}, {} FROM per_symbol
UNION ALL
SELECT 'options', {}, {} FROM per_symbol"#,
            newest("daily_newest"),
            rows("daily_today"),
            newest("intraday_newest"),
            rows("intraday_today"),
            newest("options_newest"),
            rows("options_today"),
        )
    })
});

/// Dead letters since `$1` (today's start), by dataset.
static LETTERS: LazyLock<Sql> = LazyLock::new(|| {
    Sql::new(|d| {
        format!(
            "SELECT dataset, count(*) AS letters FROM dead_letters WHERE dead_at >= {} GROUP BY dataset",
            d.param_as(1, Kind::Time)
        )
    })
});

/// What the market is doing at `now`.
fn market(now: DateTime<Utc>) -> String {
    match calendar::day(calendar::exchange_date(now)) {
        Day::Open(session) if session.contains(now) => "open".into(),
        Day::Open(_) => "closed".into(),
        Day::Weekend => "weekend".into(),
        Day::Closed(closure) => closure.name.into(),
    }
}

/// `GET /api/v1/status`
pub async fn status(State(state): State<ApiState>) -> Result<Json<Status>, Problem> {
    let now = Utc::now();
    let day = calendar::exchange_date(now);
    let start = calendar::exchange_instant(day, NaiveTime::MIN);
    let binds = [Bind::Text(stored(start)), Bind::Text(day.to_string())];
    let failed = |e: sqlx::Error| {
        tracing::error!(error = %e, "status query failed");
        Problem::unavailable()
    };
    let stored_rows: Vec<StoredRow> = query::fetch(&state.database, &STORED, &binds)
        .await
        .map_err(failed)?;
    let letter_rows: Vec<LettersRow> = query::fetch(&state.database, &LETTERS, &binds[..1])
        .await
        .map_err(failed)?;
    let stored_by: BTreeMap<String, StoredRow> = stored_rows
        .into_iter()
        .map(|r| (r.dataset.clone(), r))
        .collect();
    let mut letters: BTreeMap<Option<String>, i64> = letter_rows
        .into_iter()
        .map(|r| (r.dataset, r.letters))
        .collect();
    let config = &state.config;
    let datasets = Dataset::ALL
        .into_iter()
        .map(|dataset| {
            let common = config.datasets.common(dataset);
            let schedule = common
                .schedule
                .and_then(|s| Schedule::parse(s, common.time_zone).ok());
            let row = stored_by.get(dataset.as_str());
            DatasetStatus {
                dataset,
                enabled: common.enabled,
                schedule: common.schedule.map(str::to_owned),
                newest_stored: row.and_then(|r| r.newest.clone()),
                rows_today: row.map(|r| r.rows_today),
                dead_letters_today: letters
                    .remove(&Some(dataset.as_str().to_owned()))
                    .unwrap_or(0),
                next_run: schedule
                    .filter(|_| common.enabled)
                    .and_then(|s| next_run(config, dataset, &s, now)),
            }
        })
        .collect();
    Ok(Json(Status {
        as_of: now,
        day,
        market: market(now),
        datasets,
        other_dead_letters_today: letters.values().sum(),
    }))
}
