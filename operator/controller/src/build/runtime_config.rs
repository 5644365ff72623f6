//! The runtime config the workers read, from a validated pipeline (whose sources, sinks and
//! processing validation has resolved already). Pure: the same pipeline and SymbolSets
//! always render the same document, so its hash only changes when it does.

use std::collections::BTreeMap;

use optionsflow_api::crd::pipeline::OptionsSourceName;
use optionsflow_api::runtime_config::{
    DailyDataset, HistoricalDataset, IntradayDataset, KafkaSettings, OptionsDataset, OptionsSource,
    PipelineRef,
};
use optionsflow_api::{Dataset, RuntimeConfig, defaults};

use crate::validate::{DatasetPlan, ValidatedPipeline};

pub fn runtime_config(p: &ValidatedPipeline) -> RuntimeConfig {
    let security = p.kafka.security.as_ref();
    let properties = security.map(|s| s.properties()).unwrap_or_default();
    let properties_from_env: BTreeMap<String, String> = security
        .iter()
        .flat_map(|s| s.secret_properties())
        .map(|s| (s.property.to_owned(), s.variable.to_owned()))
        .collect();

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
        sources: p.sources.clone(),
        sinks: p.sinks.clone(),
        processing: p.processing.clone(),
        predictions: p.predictions.clone(),
    }
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
