//! Which worker roles a pipeline runs. A role ([`Role`], shared with the worker) is deployed
//! only when the spec provides everything it [needs](Need); otherwise the status names the
//! field that would provide it. Pure.

use optionsflow_api::crd::OptionsPipelineSpec;
pub use optionsflow_api::{Need, Role};

/// A role left out, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Omitted {
    pub role: Role,
    pub need: Need,
}

impl Omitted {
    /// A PascalCase reason for the status.
    pub fn reason(&self) -> &'static str {
        match self.need {
            Need::Kafka => "NoKafka",
            Need::Database => "NoDatabase",
            Need::FileStore => "NoFileStore",
            Need::TimeSeriesStore => "NoInfluxDb",
            Need::ApiTokens => "NoApiTokens",
            Need::Predictions => "PredictionsOff",
        }
    }

    /// What is missing and where to set it.
    pub fn message(&self) -> String {
        let field = match self.need {
            Need::Kafka => "spec.kafka",
            Need::Database => "spec.sinks.postgres",
            Need::FileStore => "spec.sinks.s3",
            Need::TimeSeriesStore => "spec.sinks.influxdb",
            Need::ApiTokens => "spec.api.tokensSecret",
            Need::Predictions => "spec.predictions.enabled",
        };
        format!("{} needs {}: set {field}", self.role, self.need.describe())
    }
}

/// Whether the spec provides a need.
pub fn provided(spec: &OptionsPipelineSpec, need: Need) -> bool {
    let sinks = spec.sinks.as_ref();
    match need {
        // Required by the schema.
        Need::Kafka => true,
        Need::Database => sinks.is_some_and(|s| s.postgres.is_some()),
        Need::FileStore => sinks.is_some_and(|s| s.s3.is_some()),
        Need::TimeSeriesStore => sinks.is_some_and(|s| s.influxdb.is_some()),
        Need::ApiTokens => spec.api.as_ref().is_some_and(|a| a.tokens_secret.is_some()),
        Need::Predictions => spec.predictions.as_ref().is_some_and(|p| p.enabled()),
    }
}

/// Every role, deployed (`Ok`) or omitted for its first missing need (`Err`).
pub fn plan(spec: &OptionsPipelineSpec) -> Vec<Result<Role, Omitted>> {
    Role::ALL
        .into_iter()
        .map(
            |role| match role.needs().iter().find(|n| !provided(spec, **n)) {
                None => Ok(role),
                Some(need) => Err(Omitted { role, need: *need }),
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(extra: serde_json::Value) -> OptionsPipelineSpec {
        let mut spec =
            serde_json::json!({"symbolSets": ["s"], "kafka": {"bootstrapServers": "k:9092"}});
        spec.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value(spec).unwrap()
    }

    fn deployed(spec: &OptionsPipelineSpec) -> Vec<Role> {
        plan(spec).into_iter().filter_map(Result::ok).collect()
    }

    #[test]
    fn roles_follow_the_sinks_and_the_tokens() {
        let bare = spec(serde_json::json!({}));
        assert_eq!(deployed(&bare), [Role::Collector, Role::Processor]);
        let omitted: Vec<_> = plan(&bare).into_iter().filter_map(Result::err).collect();
        assert_eq!(omitted[0].reason(), "NoDatabase");
        assert_eq!(
            omitted[0].message(),
            "db-writer needs a database: set spec.sinks.postgres"
        );
        assert_eq!(omitted[1].reason(), "NoFileStore");
        assert_eq!(omitted[2].reason(), "NoInfluxDb");
        assert_eq!(
            omitted[2].message(),
            "influx-writer needs an InfluxDB server: set spec.sinks.influxdb"
        );
        assert_eq!(omitted[3].reason(), "NoDatabase", "the api needs one too");

        let pg = serde_json::json!({"postgres": {"urlSecret": {"name": "db", "key": "url"}}});
        let with_db = spec(serde_json::json!({"sinks": pg}));
        assert_eq!(
            deployed(&with_db),
            [Role::Collector, Role::Processor, Role::DbWriter]
        );
        let omitted: Vec<_> = plan(&with_db).into_iter().filter_map(Result::err).collect();
        assert_eq!(omitted[2].role, Role::Api);
        assert_eq!(omitted[2].reason(), "NoApiTokens");

        let all = spec(serde_json::json!({
            "sinks": {"postgres": {"urlSecret": {"name": "db", "key": "url"}},
                      "s3": {"bucket": "b"},
                      "influxdb": {"url": "http://influx:8086", "database": "bars"}},
            "api": {"tokensSecret": {"name": "api", "key": "tokens"}},
        }));
        let without_predictions = &Role::ALL[..Role::ALL.len() - 1];
        assert_eq!(deployed(&all), without_predictions);
        let off: Vec<_> = plan(&all).into_iter().filter_map(Result::err).collect();
        assert_eq!(
            off[0].message(),
            "predictor needs predictions turned on: set spec.predictions.enabled"
        );
        assert_eq!(off[0].reason(), "PredictionsOff");

        let mut on = all.clone();
        on.predictions =
            Some(serde_json::from_value(serde_json::json!({"enabled": true})).unwrap());
        assert_eq!(deployed(&on), Role::ALL);
    }
}
