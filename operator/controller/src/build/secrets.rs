//! Which Secret keys reach which pods, and under which environment variable: the runtime
//! config names the variables, the pods get them from the Secrets. Secrets are only ever
//! referenced, never copied.

use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, SecretKeySelector};

use optionsflow_api::role::env::API_TOKENS;

use crate::roles::{Need, Role};
use crate::validate::ValidatedPipeline;

pub const TWELVEDATA_KEYS: &str = optionsflow_api::defaults::TWELVEDATA_KEYS_ENV;
pub const DATABASE_URL: &str = optionsflow_api::defaults::DATABASE_URL_ENV;
pub const INFLUXDB_TOKEN: &str = "INFLUXDB_TOKEN";
pub const AWS_ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
pub const AWS_SECRET_ACCESS_KEY: &str = "AWS_SECRET_ACCESS_KEY";
/// Every credential variable above; the Kafka ones all start with `KAFKA_`.
pub const CREDENTIALS: [&str; 5] = [
    TWELVEDATA_KEYS,
    DATABASE_URL,
    INFLUXDB_TOKEN,
    AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY,
];

/// Who a pod is: a worker role, or a trigger run by a CronJob or the backfill Job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consumer {
    Worker(Role),
    Trigger,
}

/// The secret environment of a pod.
pub fn env(p: &ValidatedPipeline, who: Consumer) -> Vec<EnvVar> {
    let mut env: Vec<EnvVar> = p
        .kafka
        .security
        .iter()
        .flat_map(|s| s.secret_properties())
        .map(|s| from_secret(s.variable, &s.secret, &s.key))
        .collect();
    let Consumer::Worker(role) = who else {
        return env;
    };
    let c = &p.credentials;
    let needs = role.needs();
    let wanted = [
        (role == Role::Collector, TWELVEDATA_KEYS, &c.twelvedata_keys),
        (
            needs.contains(&Need::Database),
            DATABASE_URL,
            &c.database_url,
        ),
        (needs.contains(&Need::ApiTokens), API_TOKENS, &c.api_tokens),
        (
            needs.contains(&Need::TimeSeriesStore),
            INFLUXDB_TOKEN,
            &c.influxdb_token,
        ),
    ];
    for (needed, variable, secret) in wanted {
        if let (true, Some(r)) = (needed, secret) {
            env.push(from_secret(variable, &r.name, &r.key));
        }
    }
    if role == Role::FileWriter
        && let Some(secret) = &c.s3
    {
        for variable in [AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY] {
            env.push(from_secret(variable, secret, variable));
        }
    }
    env
}

fn from_secret(variable: &str, secret: &str, key: &str) -> EnvVar {
    EnvVar {
        name: variable.to_owned(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.to_owned(),
                key: key.to_owned(),
                optional: Some(false),
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}
