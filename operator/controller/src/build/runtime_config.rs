//! The runtime config the workers read, from a validated pipeline. Pure: the same pipeline
//! and SymbolSets always render the same document, so its hash only changes when it does.

use std::collections::BTreeMap;

use optionsflow_api::crd::pipeline::{
    BudgetSpec, InfluxApiVersion, OptionsSourceName, ProcessingSpec,
};
use optionsflow_api::runtime_config::{
    Budget, DailyDataset, HistoricalDataset, InfluxApi, InfluxSink, IntradayDataset, KafkaSettings,
    OptionsDataset, OptionsSource, PipelineRef, PostgresSink, Processing, S3Sink, Sinks, Sources,
};
use optionsflow_api::{Dataset, RuntimeConfig, defaults};

use super::secrets;
use crate::validate::{DatasetPlan, ValidatedPipeline};

pub fn runtime_config(p: &ValidatedPipeline) -> RuntimeConfig {
    let mut sources = Sources::default();
    let spec = &p.sources;
    if let Some(td) = &spec.twelve_data {
        if let Some(url) = &td.base_url {
            sources.twelve_data.base_url = url.clone();
        }
        apply_budget(&mut sources.twelve_data.budget, td.budget.as_ref());
        if let Some(n) = td.symbols_per_task {
            sources.twelve_data.symbols_per_task = n;
        }
    }
    sources.twelve_data.api_keys_env = secrets::TWELVEDATA_KEYS.into();
    if let Some(y) = &spec.yahoo {
        if let Some(url) = &y.base_url {
            sources.yahoo.base_url = url.clone();
        }
        apply_budget(&mut sources.yahoo.budget, y.budget.as_ref());
    }
    if let Some(c) = &spec.cboe {
        if let Some(url) = &c.base_url {
            sources.cboe.base_url = url.clone();
        }
        apply_budget(&mut sources.cboe.budget, c.budget.as_ref());
    }

    let security = p.kafka.security.as_ref();
    let properties = security.map(|s| s.properties()).unwrap_or_default();
    let properties_from_env: BTreeMap<String, String> = security
        .iter()
        .flat_map(|s| s.secret_properties())
        .map(|s| (s.property.to_owned(), s.variable.to_owned()))
        .collect();

    let mut sinks = Sinks {
        postgres: p.sinks.postgres.as_ref().map(|_| PostgresSink {
            url_env: secrets::DATABASE_URL.into(),
        }),
        influxdb: p.sinks.influxdb.as_ref().map(|i| InfluxSink {
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
        s3: p.sinks.s3.as_ref().map(|s| S3Sink {
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
    if let Some(s3) = &p.sinks.s3 {
        if let Some(bytes) = s3.max_file_bytes {
            sinks.files.max_bytes = bytes;
        }
        if let Some(seconds) = s3.max_file_age_seconds {
            sinks.files.max_age_seconds = seconds;
        }
    }

    let plan = |d: Dataset| p.datasets.get(&d);
    let (enabled, symbols, schedule, zone) = parts(plan(Dataset::Daily));
    let daily = DailyDataset {
        enabled,
        symbols,
        schedule,
        time_zone: zone,
        ..DailyDataset::default()
    };
    let (enabled, symbols, schedule, zone) = parts(plan(Dataset::Intraday));
    let intraday = IntradayDataset {
        enabled,
        symbols,
        schedule,
        time_zone: zone,
    };
    let (enabled, symbols, schedule, zone) = parts(plan(Dataset::Historical));
    let historical = HistoricalDataset {
        enabled,
        symbols,
        schedule,
        time_zone: zone,
        start_date: p.backfill.as_ref().map(|b| b.start),
        end_date: p.backfill.as_ref().and_then(|b| b.end),
    };
    let (enabled, symbols, schedule, zone) = parts(plan(Dataset::Options));
    let options = OptionsDataset {
        enabled,
        symbols,
        schedule,
        time_zone: zone,
        horizon_days: p.options_horizon_days,
        source: match p.options_source {
            OptionsSourceName::Yahoo => OptionsSource::Yahoo,
            OptionsSourceName::Cboe => OptionsSource::Cboe,
        },
    };

    RuntimeConfig {
        pipeline: PipelineRef {
            namespace: p.namespace.clone(),
            name: p.names.pipeline().to_owned(),
        },
        datasets: optionsflow_api::runtime_config::Datasets {
            daily,
            intraday,
            historical,
            options,
        },
        kafka: KafkaSettings {
            bootstrap_servers: p.kafka.bootstrap_servers.clone(),
            topic_prefix: Some(p.kafka.topics.prefix().to_owned()),
            partitions: p.kafka.partitions as u32,
            session_timeout_ms: defaults::SESSION_TIMEOUT_MS,
            properties,
            properties_from_env,
        },
        sources,
        sinks,
        processing: processing(&p.processing),
        predictions: p.predictions.clone(),
    }
}

/// The spec's rates over the runtime config's defaults.
fn processing(spec: &ProcessingSpec) -> Processing {
    let mut processing = Processing::default();
    if let Some(rate) = spec.risk_free_rate {
        processing.risk_free_rate = rate;
    }
    if let Some(q) = spec.default_dividend_yield {
        processing.default_dividend_yield = q;
    }
    if let Some(yields) = &spec.dividend_yields {
        processing.dividend_yields = yields.clone();
    }
    if let Some(curve) = &spec.rate_curve {
        processing.rate_curve = curve.clone();
    }
    processing
}

/// A dataset's (enabled, symbols, schedule, zone); disabled datasets keep their defaults.
fn parts(
    plan: Option<&DatasetPlan>,
) -> (bool, Vec<optionsflow_api::Symbol>, Option<String>, String) {
    match plan {
        Some(d) => (
            true,
            d.symbols.clone(),
            d.schedule.clone(),
            d.time_zone.clone(),
        ),
        None => (false, Vec::new(), None, defaults::TIME_ZONE.into()),
    }
}

fn apply_budget(budget: &mut Budget, spec: Option<&BudgetSpec>) {
    if let Some(spec) = spec {
        if let Some(per_minute) = spec.per_minute {
            budget.per_window = per_minute;
        }
        if spec.per_day.is_some() {
            budget.per_day = spec.per_day;
        }
        if spec.burst.is_some() {
            budget.burst = spec.burst;
        }
    }
}
