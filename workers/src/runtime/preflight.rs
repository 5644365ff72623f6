//! Start-up checks: before a role starts, everything it [needs](optionsflow_api::Need) must be
//! in its runtime config and environment. A pod that lacks one exits at once with a message
//! that names the field or variable, instead of crash-looping on a connection error later.
//!
//! `optionsflow-worker --check <subcommand>` (or `OPTIONSFLOW_CHECK=true`) runs these checks
//! and exits: the contract test runs every container the operator renders that way.

use std::path::Path;

use optionsflow_api::{Need, Role, RuntimeConfig};

use crate::roles::serve::{self, Access};

/// Reads an environment variable: the process's, or a test's.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// What a role was given besides its config: `serve`'s token flags.
#[derive(Clone, Copy, Debug, Default)]
pub struct Given<'a> {
    pub tokens_file: Option<&'a Path>,
    pub no_auth: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error("{role} needs a Kafka cluster: kafka.bootstrapServers is empty")]
    NoKafka { role: String },
    #[error("{role} needs environment variable {variable} ({what}), which is not set")]
    MissingEnv {
        role: String,
        variable: String,
        what: String,
    },
    #[error("{role} needs a database: set sinks.postgres (or sinks.sqlite) in the runtime config")]
    NoDatabase { role: String },
    #[error(
        "{role}: environment variable {variable} is not a PostgreSQL URL (postgres://...): it starts {start:?}"
    )]
    BadDatabaseUrl {
        role: String,
        variable: String,
        start: String,
    },
    #[error("{role} needs a file store: set sinks.s3 (or sinks.folder) in the runtime config")]
    NoFileStore { role: String },
    #[error("{role} needs InfluxDB: set sinks.influxdb in the runtime config")]
    NoInfluxDb { role: String },
    #[error("{role}: {0}", role = Role::Api)]
    Tokens(#[source] serve::ServeError),
    #[error("{role} is off: set predictions in the runtime config (spec.predictions.enabled)")]
    PredictionsOff { role: String },
}

/// Checks that `role` can start; for the API, also returns who may call it.
pub fn check(
    role: Role,
    config: &RuntimeConfig,
    env: Env<'_>,
    given: Given<'_>,
) -> Result<Option<Access>, PreflightError> {
    let mut access = None;
    for need in role.needs() {
        match need {
            Need::Kafka => kafka(role.as_str(), config, env)?,
            Need::Database => database(role, config, env)?,
            Need::FileStore => file_store(role, config)?,
            Need::TimeSeriesStore => influxdb(role, config, env)?,
            Need::ApiTokens => {
                access = Some(
                    serve::access(env, given.tokens_file, given.no_auth)
                        .map_err(PreflightError::Tokens)?,
                );
            }
            Need::Predictions if config.predictions.is_none() => {
                return Err(PreflightError::PredictionsOff {
                    role: role.as_str().into(),
                });
            }
            Need::Predictions => {}
        }
    }
    Ok(access)
}

/// The trigger (a CronJob's or the backfill Job's pod) needs only Kafka.
pub fn check_trigger(config: &RuntimeConfig, env: Env<'_>) -> Result<(), PreflightError> {
    kafka("trigger", config, env)
}

fn kafka(who: &str, config: &RuntimeConfig, env: Env<'_>) -> Result<(), PreflightError> {
    if config.kafka.bootstrap_servers.trim().is_empty() {
        return Err(PreflightError::NoKafka { role: who.into() });
    }
    for (property, variable) in &config.kafka.properties_from_env {
        require(who, env, variable, &format!("Kafka's {property}"))?;
    }
    Ok(())
}

fn database(role: Role, config: &RuntimeConfig, env: Env<'_>) -> Result<(), PreflightError> {
    let who = role.as_str();
    if config.sinks.sqlite.is_none() {
        let pg = config
            .sinks
            .postgres
            .as_ref()
            .ok_or_else(|| PreflightError::NoDatabase { role: who.into() })?;
        let url = require(who, env, &pg.url_env, "the PostgreSQL URL")?;
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(PreflightError::BadDatabaseUrl {
                role: who.into(),
                variable: pg.url_env.clone(),
                // Enough to recognise a mistake, too little to leak a password.
                start: url.chars().take(11).collect(),
            });
        }
    }
    Ok(())
}

fn influxdb(role: Role, config: &RuntimeConfig, env: Env<'_>) -> Result<(), PreflightError> {
    let who = role.as_str();
    let sink = config
        .sinks
        .influxdb
        .as_ref()
        .ok_or_else(|| PreflightError::NoInfluxDb { role: who.into() })?;
    if let Some(variable) = &sink.token_env {
        require(who, env, variable, "the InfluxDB token")?;
    }
    Ok(())
}

fn file_store(role: Role, config: &RuntimeConfig) -> Result<(), PreflightError> {
    let s3 = config.sinks.s3.as_ref().filter(|s| !s.bucket.is_empty());
    if config.sinks.folder.is_none() && s3.is_none() {
        return Err(PreflightError::NoFileStore {
            role: role.as_str().into(),
        });
    }
    Ok(())
}

fn require(who: &str, env: Env<'_>, variable: &str, what: &str) -> Result<String, PreflightError> {
    env(variable)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| PreflightError::MissingEnv {
            role: who.into(),
            variable: variable.into(),
            what: what.into(),
        })
}

/// The process's own environment.
pub fn process_env(variable: &str) -> Option<String> {
    std::env::var(variable).ok()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn config(sinks: &str) -> RuntimeConfig {
        RuntimeConfig::from_json(&format!(
            r#"{{"pipeline":{{"namespace":"n","name":"p"}},
                "kafka":{{"bootstrapServers":"k:9092","propertiesFromEnv":{{"sasl.password":"KAFKA_PASSWORD"}}}},
                "sinks":{sinks}}}"#
        ))
        .unwrap()
    }

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| vars.get(k).cloned()
    }

    #[test]
    fn every_need_is_checked_and_named() {
        let pg = config(r#"{"postgres":{"urlEnv":"DATABASE_URL"}}"#);
        let none = env(&[]);
        let err = check(Role::Processor, &pg, &none, Given::default()).unwrap_err();
        assert!(err.to_string().contains("KAFKA_PASSWORD"), "{err}");

        let kafka = env(&[("KAFKA_PASSWORD", "x")]);
        check(Role::Processor, &pg, &kafka, Given::default()).unwrap();
        let err = check(Role::DbWriter, &pg, &kafka, Given::default()).unwrap_err();
        assert!(err.to_string().contains("DATABASE_URL"), "{err}");
        let err = check(Role::FileWriter, &pg, &kafka, Given::default()).unwrap_err();
        assert!(matches!(err, PreflightError::NoFileStore { .. }), "{err}");

        let wrong = env(&[
            ("KAFKA_PASSWORD", "x"),
            ("DATABASE_URL", "mysql://u:secret@h/db"),
        ]);
        let err = check(Role::DbWriter, &pg, &wrong, Given::default()).unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
        let good = env(&[("KAFKA_PASSWORD", "x"), ("DATABASE_URL", "postgres://h/db")]);
        check(Role::DbWriter, &pg, &good, Given::default()).unwrap();

        let err = check(Role::Predictor, &pg, &good, Given::default()).unwrap_err();
        assert!(
            matches!(err, PreflightError::PredictionsOff { .. }),
            "{err}"
        );
        let mut on = pg.clone();
        on.predictions = Some(Default::default());
        check(Role::Predictor, &on, &good, Given::default()).unwrap();
        let err = check(Role::Predictor, &on, &kafka, Given::default()).unwrap_err();
        assert!(err.to_string().contains("DATABASE_URL"), "{err}");
    }

    #[test]
    fn the_api_needs_tokens_and_a_database_but_not_kafka() {
        let pg = config(r#"{"postgres":{"urlEnv":"DATABASE_URL"}}"#);
        let url = env(&[("DATABASE_URL", "postgresql://h/db")]);
        let err = check(Role::Api, &pg, &url, Given::default()).unwrap_err();
        assert!(matches!(err, PreflightError::Tokens(_)), "{err}");
        let tokens = env(&[
            ("DATABASE_URL", "postgresql://h/db"),
            (serve::TOKENS_ENV, "one\ntwo\n"),
        ]);
        let access = check(Role::Api, &pg, &tokens, Given::default()).unwrap();
        assert!(matches!(access, Some(Access::Tokens(t)) if t.len() == 2));
        let open = Given {
            no_auth: true,
            ..Given::default()
        };
        assert!(matches!(
            check(Role::Api, &pg, &url, open).unwrap(),
            Some(Access::Open)
        ));
    }

    #[test]
    fn embedded_sinks_satisfy_the_writers() {
        let local = config(r#"{"sqlite":{"path":"db"},"folder":{"path":"files"}}"#);
        let kafka = env(&[("KAFKA_PASSWORD", "x")]);
        for role in [Role::DbWriter, Role::FileWriter] {
            check(role, &local, &kafka, Given::default()).unwrap();
        }
    }
}
