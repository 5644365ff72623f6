//! The spec's optional settings laid over the runtime config's defaults, once, at
//! validation: what the builders get is the sources, sinks and processing the workers will
//! read, and the Secret keys their pods read credentials from. Pure.

use optionsflow_api::crd::pipeline::{
    ApiSpec, BudgetSpec, InfluxApiVersion, IngressSpec, ProcessingSpec, SecretKeyRef, SinksSpec,
    SourcesSpec,
};
use optionsflow_api::defaults;
use optionsflow_api::runtime_config::{
    Budget, InfluxApi, InfluxSink, PostgresSink, Processing, S3Sink, Sinks, Sources,
};

use crate::build::secrets;

/// Where the pods' credentials come from: Secret keys, referenced and never copied.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Credentials {
    /// Twelve Data's API keys (the collector's).
    pub twelvedata_keys: Option<SecretKeyRef>,
    /// PostgreSQL's URL (the db-writer's, the api's and the predictor's).
    pub database_url: Option<SecretKeyRef>,
    /// The API's bearer tokens.
    pub api_tokens: Option<SecretKeyRef>,
    /// InfluxDB's token (the influx-writer's).
    pub influxdb_token: Option<SecretKeyRef>,
    /// The Secret holding `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` (the
    /// file-writer's).
    pub s3: Option<String>,
}

pub fn credentials(sources: &SourcesSpec, sinks: &SinksSpec, api: &ApiSpec) -> Credentials {
    Credentials {
        twelvedata_keys: sources
            .twelve_data
            .as_ref()
            .and_then(|t| t.api_keys_secret.clone()),
        database_url: sinks.postgres.as_ref().map(|pg| pg.url_secret.clone()),
        api_tokens: api.tokens_secret.clone(),
        influxdb_token: sinks.influxdb.as_ref().and_then(|i| i.token_secret.clone()),
        s3: sinks.s3.as_ref().and_then(|s| s.credentials_secret.clone()),
    }
}

/// The providers' endpoints and budgets.
pub fn sources(spec: &SourcesSpec) -> Sources {
    let mut sources = Sources::default();
    if let Some(td) = &spec.twelve_data {
        over(&mut sources.twelve_data.base_url, td.base_url.clone());
        budget(&mut sources.twelve_data.budget, td.budget.as_ref());
        over(
            &mut sources.twelve_data.symbols_per_task,
            td.symbols_per_task,
        );
    }
    sources.twelve_data.api_keys_env = secrets::TWELVEDATA_KEYS.into();
    if let Some(y) = &spec.yahoo {
        over(&mut sources.yahoo.base_url, y.base_url.clone());
        budget(&mut sources.yahoo.budget, y.budget.as_ref());
    }
    if let Some(c) = &spec.cboe {
        over(&mut sources.cboe.base_url, c.base_url.clone());
        budget(&mut sources.cboe.budget, c.budget.as_ref());
    }
    sources
}

/// The stores, each naming the variable its credential arrives in.
pub fn sinks(spec: &SinksSpec) -> Sinks {
    let mut sinks = Sinks {
        postgres: spec.postgres.as_ref().map(|_| PostgresSink {
            url_env: secrets::DATABASE_URL.into(),
        }),
        influxdb: spec.influxdb.as_ref().map(|i| InfluxSink {
            url: i.url.clone(),
            database: i.database.clone(),
            api: match i.api {
                Some(InfluxApiVersion::V2) => InfluxApi::V2,
                Some(InfluxApiVersion::V1) | None => InfluxApi::V1,
            },
            org: i.org.clone(),
            token_env: i
                .token_secret
                .as_ref()
                .map(|_| secrets::INFLUXDB_TOKEN.into()),
        }),
        s3: spec.s3.as_ref().map(|s| S3Sink {
            bucket: s.bucket.clone(),
            prefix: s.prefix.clone().unwrap_or_default(),
            endpoint: s.endpoint.clone(),
            region: s
                .region
                .clone()
                .unwrap_or_else(|| defaults::S3_REGION.into()),
            path_style: s.path_style.unwrap_or(false),
        }),
        ..Sinks::default()
    };
    if let Some(s3) = &spec.s3 {
        over(&mut sinks.files.max_bytes, s3.max_file_bytes);
        over(&mut sinks.files.max_age_seconds, s3.max_file_age_seconds);
    }
    sinks
}

/// The rates and yields.
pub fn processing(spec: &ProcessingSpec) -> Processing {
    let mut processing = Processing::default();
    over(&mut processing.risk_free_rate, spec.risk_free_rate);
    over(
        &mut processing.default_dividend_yield,
        spec.default_dividend_yield,
    );
    over(
        &mut processing.dividend_yields,
        spec.dividend_yields.clone(),
    );
    over(&mut processing.rate_curve, spec.rate_curve.clone());
    processing
}

/// The Ingress, its class named.
pub fn ingress(api: &ApiSpec) -> Option<IngressSpec> {
    api.ingress.clone().map(|mut ingress| {
        ingress
            .class_name
            .get_or_insert_with(|| defaults::INGRESS_CLASS.into());
        ingress
    })
}

fn budget(budget: &mut Budget, spec: Option<&BudgetSpec>) {
    if let Some(spec) = spec {
        over(&mut budget.per_window, spec.per_minute);
        if spec.per_day.is_some() {
            budget.per_day = spec.per_day;
        }
        if spec.burst.is_some() {
            budget.burst = spec.burst;
        }
    }
}

/// The spec's value, where it gives one, over the default.
fn over<T>(value: &mut T, given: Option<T>) {
    if let Some(given) = given {
        *value = given;
    }
}

#[cfg(test)]
mod tests {
    use optionsflow_api::crd::pipeline::{S3Spec, TwelveDataSpec};

    use super::*;

    #[test]
    fn an_empty_spec_is_the_runtime_configs_defaults() {
        assert_eq!(sources(&SourcesSpec::default()), Sources::default());
        assert_eq!(sinks(&SinksSpec::default()), Sinks::default());
        assert_eq!(
            processing(&ProcessingSpec::default()),
            Processing::default()
        );
        assert_eq!(
            credentials(
                &SourcesSpec::default(),
                &SinksSpec::default(),
                &ApiSpec::default()
            ),
            Credentials::default()
        );
    }

    #[test]
    fn given_values_win_and_the_rest_stay_default() {
        let spec = SourcesSpec {
            twelve_data: Some(TwelveDataSpec {
                budget: Some(BudgetSpec {
                    per_minute: Some(55),
                    per_day: None,
                    burst: Some(3),
                }),
                ..TwelveDataSpec::default()
            }),
            ..SourcesSpec::default()
        };
        let resolved = sources(&spec);
        let default = Sources::default();
        assert_eq!(resolved.twelve_data.budget.per_window, 55);
        assert_eq!(resolved.twelve_data.budget.burst, Some(3));
        assert_eq!(
            resolved.twelve_data.budget.per_day,
            default.twelve_data.budget.per_day
        );
        assert_eq!(resolved.yahoo, default.yahoo);
        let s3 = sinks(&SinksSpec {
            s3: Some(S3Spec {
                bucket: "lake".into(),
                max_file_bytes: Some(1024),
                ..S3Spec::default()
            }),
            ..SinksSpec::default()
        });
        assert_eq!(s3.files.max_bytes, 1024);
        assert_eq!(
            s3.files.max_age_seconds,
            Sinks::default().files.max_age_seconds
        );
        assert_eq!(s3.s3.unwrap().region, defaults::S3_REGION);
    }
}
