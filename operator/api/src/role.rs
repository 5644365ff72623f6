//! The worker roles, defined once for both sides: the operator names Deployments, labels and
//! status entries after them and builds each container's command from them; the worker's
//! CLI names its subcommands after them and checks, before it starts, that what a role
//! [needs](Need) is there.
//!
//! A role added here without a worker subcommand fails the worker's CLI test; one added to
//! the worker without an entry here has no name to use (the subcommands are named from
//! [`Role::subcommand`]).

use std::fmt;

/// The program every worker container runs.
pub const WORKER_PROGRAM: &str = "optionsflow-worker";

/// Environment variables the operator sets and the worker reads.
pub mod env {
    /// The runtime config file.
    pub const CONFIG: &str = "OPTIONSFLOW_CONFIG";
    /// Where `/metrics`, `/healthz` and `/readyz` listen.
    pub const ADMIN_ADDR: &str = "OPTIONSFLOW_ADMIN_ADDR";
    /// Where the api role listens.
    pub const LISTEN: &str = "OPTIONSFLOW_LISTEN";
    /// The api role's bearer tokens, separated by commas or line breaks.
    pub const API_TOKENS: &str = "OPTIONSFLOW_API_TOKENS";
    /// `true`: check arguments, config and environment, then exit without starting.
    pub const CHECK: &str = "OPTIONSFLOW_CHECK";

    /// The values of a variable that holds several (Twelve Data keys, API tokens): separated
    /// by commas or line breaks, as a Secret's key holds them, trimmed, empty ones skipped.
    pub fn items(value: &str) -> impl Iterator<Item = &str> {
        value
            .split([',', '\n', '\r'])
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }
}

/// A long-running worker role: one Deployment on Kubernetes, one task in `local`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Consumes `task-queue`, fetches within budget, publishes raw answers.
    Collector,
    /// Consumes the raw topics, publishes clean, enriched records.
    Processor,
    /// Consumes the processed topics, upserts into PostgreSQL.
    DbWriter,
    /// Consumes the processed topics, stores CSV files in S3.
    FileWriter,
    /// Consumes the processed 15-minute topic, writes intraday bars to InfluxDB: a role of
    /// its own, so an InfluxDB outage or a wrong token never holds PostgreSQL back.
    InfluxWriter,
    /// Serves the data API and the web page over the database.
    Api,
    /// Consumes the processed topics, writes volatility forecasts and their backtest scores
    /// to the database.
    Predictor,
}

/// Something a role cannot start without. The operator deploys a role only when the pipeline
/// provides all of its needs; the worker refuses to start when one is missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Need {
    /// A Kafka cluster to consume from and publish to (and its credentials, if it wants any).
    Kafka,
    /// A database to write or read: PostgreSQL (SQLite in `local`).
    Database,
    /// A place for CSV files: S3 (a folder in `local`).
    FileStore,
    /// An InfluxDB server for intraday bars.
    TimeSeriesStore,
    /// Bearer tokens for the API's callers.
    ApiTokens,
    /// The pipeline asks for predictions.
    Predictions,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Collector,
        Role::Processor,
        Role::DbWriter,
        Role::FileWriter,
        Role::InfluxWriter,
        Role::Api,
        Role::Predictor,
    ];

    /// The name in object names, labels, status and consumer groups.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Collector => "collector",
            Role::Processor => "processor",
            Role::DbWriter => "db-writer",
            Role::FileWriter => "file-writer",
            Role::InfluxWriter => "influx-writer",
            Role::Api => "api",
            Role::Predictor => "predictor",
        }
    }

    /// The `optionsflow-worker` subcommand that runs it.
    pub const fn subcommand(self) -> &'static str {
        match self {
            Role::Collector => "collect",
            Role::Processor => "process",
            Role::DbWriter => "write-db",
            Role::FileWriter => "write-files",
            Role::InfluxWriter => "write-influx",
            Role::Api => "serve",
            Role::Predictor => "predict",
        }
    }

    /// What it cannot start without.
    pub const fn needs(self) -> &'static [Need] {
        match self {
            Role::Collector | Role::Processor => &[Need::Kafka],
            Role::DbWriter => &[Need::Kafka, Need::Database],
            Role::FileWriter => &[Need::Kafka, Need::FileStore],
            Role::InfluxWriter => &[Need::Kafka, Need::TimeSeriesStore],
            Role::Api => &[Need::Database, Need::ApiTokens],
            Role::Predictor => &[Need::Kafka, Need::Database, Need::Predictions],
        }
    }

    /// Consumes topics in a consumer group (see [`crate::TopicNames::consumer_group`]).
    pub const fn consumes(self) -> bool {
        !matches!(self, Role::Api)
    }

    /// Serves HTTP on its own port besides the admin port.
    pub const fn serves_http(self) -> bool {
        matches!(self, Role::Api)
    }
}

/// In messages (a dead letter's `stage`), a role is its subcommand: what the person reading
/// would type to run it.
impl serde::Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.subcommand())
    }
}

impl<'de> serde::Deserialize<'de> for Role {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Role, D::Error> {
        let text = String::deserialize(d)?;
        Role::ALL
            .into_iter()
            .find(|r| r.subcommand() == text)
            .ok_or_else(|| serde::de::Error::custom(format!("no role runs as {text:?}")))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Need {
    /// What it is, for messages: "a database".
    pub const fn describe(self) -> &'static str {
        match self {
            Need::Kafka => "a Kafka cluster",
            Need::Database => "a database",
            Need::FileStore => "a file store",
            Need::TimeSeriesStore => "an InfluxDB server",
            Need::ApiTokens => "API tokens",
            Need::Predictions => "predictions turned on",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_subcommands_are_unique() {
        let names: std::collections::BTreeSet<_> = Role::ALL.iter().map(|r| r.as_str()).collect();
        let subcommands: std::collections::BTreeSet<_> =
            Role::ALL.iter().map(|r| r.subcommand()).collect();
        assert_eq!(names.len(), Role::ALL.len());
        assert_eq!(subcommands.len(), Role::ALL.len());
    }

    #[test]
    fn several_values_split_on_commas_and_line_breaks() {
        let items: Vec<&str> = env::items(" a, b ,,c\r\nd\n\n").collect();
        assert_eq!(items, ["a", "b", "c", "d"]);
    }

    #[test]
    fn roles_travel_as_their_subcommands_and_consumers_need_kafka() {
        assert_eq!(serde_json::to_value(Role::DbWriter).unwrap(), "write-db");
        for role in Role::ALL {
            let back: Role = serde_json::from_value(serde_json::to_value(role).unwrap()).unwrap();
            assert_eq!(back, role);
            assert_eq!(role.consumes(), role.needs().contains(&Need::Kafka));
        }
    }
}
