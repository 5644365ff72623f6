//! Validate: the pipeline as written plus the SymbolSets it names become a
//! [`ValidatedPipeline`], with every default resolved and every reference checked. Pure. What
//! fails here is the user's to fix, so the reconcile waits for a change instead of retrying.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::Resource;
use optionsflow_api::crd::pipeline::{
    CollectSpec, IngressSpec, KafkaSecurity, KafkaSpec, MonitoringSpec, OptionsSourceName,
    PodMonitorSpec, PodSettings, RoleSpec, TopicConfigSpec, TopicsOnDelete,
};
use optionsflow_api::crd::{OptionsPipeline, SymbolSet};
use optionsflow_api::defaults;
use optionsflow_api::runtime_config::{
    DEFAULT_WINDOW_DAYS, Predictions, Processing, Sinks, Sources,
};
use optionsflow_api::schedule::{Schedule, ScheduleError};
use optionsflow_api::{Dataset, Symbol, TopicKind, TopicNames};

use crate::build::secrets;
use crate::names::Names;
use crate::roles::{self, Omitted, Role};
pub use resolve::Credentials;

mod resolve;

/// What the operator is configured with, as opposed to what a pipeline says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// The worker image when a pipeline does not name one.
    pub worker_image: String,
    /// Prefixes a pipeline's own worker image must start with (empty: any image).
    pub allowed_image_prefixes: Vec<String>,
    /// Hosts a pipeline may point a provider's base URL at (empty: any host).
    pub allowed_provider_hosts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("the pipeline has no name, namespace or uid yet")]
    Unnamed,
    #[error("SymbolSet {} not found in namespace {namespace}", missing.join(", "))]
    MissingSymbolSets {
        namespace: String,
        missing: Vec<String>,
    },
    #[error("SymbolSet {set} holds {symbol:?}, which is not a ticker: {reason}")]
    BadSymbol {
        set: String,
        symbol: String,
        reason: String,
    },
    #[error("the {dataset} dataset has no symbols: its SymbolSets are empty")]
    NoSymbols { dataset: Dataset },
    #[error("the {dataset} dataset's time zone {zone:?} is not in the tz database")]
    UnknownTimeZone { dataset: Dataset, zone: String },
    #[error("the {dataset} dataset's schedule is not one a CronJob takes: {source}")]
    InvalidSchedule {
        dataset: Dataset,
        // Boxed: it carries the schedule and what the field takes, and this enum travels in
        // every `Result` the reconcile returns.
        source: Box<ScheduleError>,
    },
    #[error("historical {field} {value:?} is not a date (YYYY-MM-DD)")]
    BadDate { field: &'static str, value: String },
    #[error(
        "the worker image {image:?} is not allowed here: it must start with one of {allowed:?} (the operator's allowedWorkerImagePrefixes)"
    )]
    ImageNotAllowed { image: String, allowed: Vec<String> },
    #[error(
        "{field} {url:?} is not allowed here: its host must be one of {allowed:?} (the operator's allowedProviderHosts)"
    )]
    ProviderHostNotAllowed {
        field: &'static str,
        url: String,
        allowed: Vec<String>,
    },
    #[error(
        "environment variable {name} in {at} is the operator's own (it sets OPTIONSFLOW_*, KAFKA_* and the credentials' variables)"
    )]
    ReservedEnv { at: String, name: String },
}

impl ValidationError {
    /// A PascalCase reason for conditions and Events.
    pub fn reason(&self) -> &'static str {
        match self {
            ValidationError::Unnamed => "Unnamed",
            ValidationError::MissingSymbolSets { .. } => "SymbolSetNotFound",
            ValidationError::BadSymbol { .. } => "InvalidSymbol",
            ValidationError::NoSymbols { .. } => "NoSymbols",
            ValidationError::UnknownTimeZone { .. } => "UnknownTimeZone",
            ValidationError::InvalidSchedule { .. } => "InvalidSchedule",
            ValidationError::BadDate { .. } => "InvalidDate",
            ValidationError::ReservedEnv { .. } => "ReservedEnvironmentVariable",
            ValidationError::ImageNotAllowed { .. } => "ImageNotAllowed",
            ValidationError::ProviderHostNotAllowed { .. } => "ProviderHostNotAllowed",
        }
    }
}

/// One enabled dataset, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct DatasetPlan {
    pub symbols: Vec<Symbol>,
    /// None for a historical dataset run only by its backfill Job.
    pub schedule: Option<String>,
    pub time_zone: String,
    /// `runNonce`: run the trigger once now, as a Job named after it.
    pub run_nonce: Option<String>,
}

/// One worker role, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct RolePlan {
    pub role: Role,
    /// Replicas asked for; 0 is applied while suspended.
    pub replicas: i32,
    pub resources: ResourceRequirements,
    /// `spec.workers.pod` with the role's own settings on top.
    pub pod: PodSettings,
}

/// The backfill: its dates and a fingerprint that names its Job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackfillPlan {
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
    pub fingerprint: String,
}

/// Kafka, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct KafkaPlan {
    pub bootstrap_servers: String,
    pub partitions: i32,
    pub replication_factor: i32,
    pub topics: TopicNames,
    pub security: Option<KafkaSecurity>,
    pub topics_on_delete: TopicsOnDelete,
    /// `spec.kafka.topicConfig`.
    pub topic_config: TopicConfigSpec,
    /// `spec.kafka.topics`, by suffix.
    pub topic_overrides: BTreeMap<String, TopicConfigSpec>,
}

impl KafkaPlan {
    /// A topic's settings: its own entry, over the pipeline's, over the operator's default.
    pub fn topic_config(&self, kind: TopicKind) -> BTreeMap<String, String> {
        let default = TopicConfigSpec {
            retention_ms: Some(if kind == TopicKind::DeadLetter {
                defaults::DEAD_LETTER_RETENTION_MS
            } else {
                defaults::RETENTION_MS
            }),
            ..TopicConfigSpec::default()
        };
        let own = self
            .topic_overrides
            .get(kind.suffix())
            .cloned()
            .unwrap_or_default();
        own.over(&self.topic_config.over(&default)).to_kafka()
    }
}

/// A pipeline ready to be built: nothing left to default, nothing left to look up.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidatedPipeline {
    pub names: Names,
    pub namespace: String,
    pub owner: OwnerReference,
    pub generation: Option<i64>,
    pub suspended: bool,
    /// `spec.restartNonce`, stamped on the worker pods.
    pub restart_nonce: Option<String>,
    pub image: String,
    pub image_pull_policy: String,
    /// `spec.workers.pod`: the settings of pods that belong to no role (the schedules' and
    /// the backfill's triggers).
    pub pod: PodSettings,
    pub datasets: BTreeMap<Dataset, DatasetPlan>,
    pub options_horizon_days: u32,
    pub options_source: OptionsSourceName,
    /// Distinct symbols across every dataset.
    pub symbols: usize,
    /// The roles deployed, in [`Role::ALL`] order.
    pub roles: Vec<RolePlan>,
    /// The roles left out for want of something they need.
    pub omitted: Vec<Omitted>,
    pub kafka: KafkaPlan,
    pub backfill: Option<BackfillPlan>,
    /// The providers, as the workers read them.
    pub sources: Sources,
    /// The stores, as the workers read them.
    pub sinks: Sinks,
    pub processing: Processing,
    /// The Secret keys the pods read credentials from.
    pub credentials: Credentials,
    /// `spec.api.ingress`, its class named.
    pub ingress: Option<IngressSpec>,
    /// `spec.monitoring.podMonitor`, when asked for.
    pub pod_monitor: Option<PodMonitorSpec>,
    /// The predictor's settings, resolved, when `spec.predictions.enabled`.
    pub predictions: Option<Predictions>,
}

impl ValidatedPipeline {
    /// Replicas to apply for a role: zero while suspended.
    pub fn applied_replicas(&self, role: &RolePlan) -> i32 {
        if self.suspended { 0 } else { role.replicas }
    }
}

/// Checks a pipeline against the SymbolSets found in its namespace.
pub fn validate(
    pipeline: &OptionsPipeline,
    symbol_sets: &BTreeMap<String, SymbolSet>,
    settings: &Settings,
) -> Result<ValidatedPipeline, ValidationError> {
    let (Some(name), Some(namespace)) = (
        pipeline.metadata.name.clone(),
        pipeline.metadata.namespace.clone(),
    ) else {
        return Err(ValidationError::Unnamed);
    };
    let owner = pipeline
        .controller_owner_ref(&())
        .ok_or(ValidationError::Unnamed)?;
    let spec = &pipeline.spec;
    let datasets_spec = spec.datasets.clone().unwrap_or_default();

    // Every SymbolSet named anywhere must exist.
    let named = pipeline.symbol_set_names();
    let missing: Vec<String> = named
        .iter()
        .filter(|n| !symbol_sets.contains_key(**n))
        .map(|n| n.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(ValidationError::MissingSymbolSets { namespace, missing });
    }
    let symbols_of = |sets: &[String]| -> Result<Vec<Symbol>, ValidationError> {
        let mut out = BTreeSet::new();
        for set in sets {
            for s in &symbol_sets[set].spec.symbols {
                let symbol = Symbol::parse(s).map_err(|e| ValidationError::BadSymbol {
                    set: set.clone(),
                    symbol: s.clone(),
                    reason: e.to_string(),
                })?;
                out.insert(symbol);
            }
        }
        Ok(out.into_iter().collect())
    };

    let mut datasets = BTreeMap::new();
    let mut plan = |dataset: Dataset,
                    enabled: bool,
                    collect: CollectSpec,
                    run_nonce: Option<&String>|
     -> Result<(), ValidationError> {
        if !enabled {
            return Ok(());
        }
        let symbols = symbols_of(collect.symbol_sets.as_ref().unwrap_or(&spec.symbol_sets))?;
        if symbols.is_empty() {
            return Err(ValidationError::NoSymbols { dataset });
        }
        let schedule = collect.schedule;
        let time_zone = collect
            .time_zone
            .unwrap_or_else(|| defaults::TIME_ZONE.to_owned());
        if time_zone.parse::<chrono_tz::Tz>().is_err() {
            return Err(ValidationError::UnknownTimeZone {
                dataset,
                zone: time_zone,
            });
        }
        // The CRD's rule cannot see a range written backwards; the parser `local` and the
        // budget read schedules with can.
        if let Some(schedule) = &schedule {
            Schedule::parse(schedule, &time_zone).map_err(|source| {
                ValidationError::InvalidSchedule {
                    dataset,
                    source: Box::new(source),
                }
            })?;
        }
        datasets.insert(
            dataset,
            DatasetPlan {
                symbols,
                schedule,
                time_zone,
                run_nonce: run_nonce.cloned(),
            },
        );
        Ok(())
    };
    let options = datasets_spec.options.clone().unwrap_or_default();
    for (dataset, given, default_schedule) in [
        (
            Dataset::Daily,
            datasets_spec.daily.clone().unwrap_or_default(),
            defaults::DAILY_SCHEDULE,
        ),
        (
            Dataset::Intraday,
            datasets_spec.intraday.clone().unwrap_or_default(),
            defaults::INTRADAY_SCHEDULE,
        ),
        (
            Dataset::Options,
            options.dataset,
            defaults::OPTIONS_SCHEDULE,
        ),
    ] {
        let mut collect = given.collect;
        collect
            .schedule
            .get_or_insert_with(|| default_schedule.into());
        plan(
            dataset,
            given.enabled.unwrap_or(true),
            collect,
            given.run_nonce.as_ref(),
        )?;
    }
    let historical = datasets_spec.historical.clone().unwrap_or_default();
    let date = |field: &'static str,
                value: &Option<String>|
     -> Result<Option<NaiveDate>, ValidationError> {
        value
            .as_ref()
            .map(|v| {
                v.parse::<NaiveDate>()
                    .map_err(|_| ValidationError::BadDate {
                        field,
                        value: v.clone(),
                    })
            })
            .transpose()
    };
    let start = date("startDate", &historical.start_date)?;
    let end = date("endDate", &historical.end_date)?;
    let historical_on = historical.enabled.unwrap_or(true) && start.is_some();
    plan(
        Dataset::Historical,
        historical_on,
        historical.collect.clone(),
        None,
    )?;
    let backfill = match (historical_on, start) {
        (true, Some(start)) => Some(BackfillPlan {
            start,
            end,
            // The nonce joins only when given: the Jobs of pipelines without one keep their
            // names.
            fingerprint: fingerprint(&format!(
                "{start}/{}{}",
                end.map(|e| e.to_string()).unwrap_or_default(),
                historical
                    .backfill_nonce
                    .as_ref()
                    .map(|n| format!("/{n}"))
                    .unwrap_or_default()
            )),
        }),
        _ => None,
    };

    let symbols = datasets
        .values()
        .flat_map(|d| d.symbols.iter())
        .collect::<BTreeSet<_>>()
        .len();
    let workers = spec.workers.clone().unwrap_or_default();
    // Each role's field under spec.workers, and what it says.
    let role_spec = |role: Role| -> (&str, Option<&RoleSpec>) {
        match role {
            Role::Collector => ("collector", workers.collector.as_ref()),
            Role::Processor => ("processor", workers.processor.as_ref()),
            Role::DbWriter => ("dbWriter", workers.db_writer.as_ref()),
            Role::FileWriter => ("fileWriter", workers.file_writer.as_ref()),
            Role::InfluxWriter => ("influxWriter", workers.influx_writer.as_ref()),
            Role::Api => ("api", workers.api.as_ref()),
            Role::Predictor => ("predictor", workers.predictor.as_ref()),
        }
    };
    let (deployed, omitted): (Vec<_>, Vec<_>) =
        roles::plan(spec).into_iter().partition(Result::is_ok);
    check_references(spec, settings)?;
    let pod = workers.pod.clone().unwrap_or_default();
    check_env(&pod, "spec.workers.pod")?;
    let roles = deployed
        .into_iter()
        .flatten()
        .map(|role| {
            let (field, given) = role_spec(role);
            let own = given.and_then(|r| r.pod.as_ref());
            if let Some(own) = own {
                check_env(own, &format!("spec.workers.{field}.pod"))?;
            }
            Ok(RolePlan {
                role,
                replicas: given.and_then(|r| r.replicas).unwrap_or(defaults::REPLICAS),
                resources: given
                    .and_then(|r| r.resources.clone())
                    .unwrap_or_else(default_resources),
                pod: pod.overlay(own),
            })
        })
        .collect::<Result<Vec<_>, ValidationError>>()?;
    let kafka = kafka_plan(&spec.kafka, &namespace, &name);
    let sources_spec = spec.sources.clone().unwrap_or_default();
    let sinks_spec = spec.sinks.clone().unwrap_or_default();
    let api_spec = spec.api.clone().unwrap_or_default();
    Ok(ValidatedPipeline {
        names: Names::new(&name),
        namespace,
        owner,
        generation: pipeline.metadata.generation,
        suspended: pipeline.suspended(),
        restart_nonce: spec.restart_nonce.clone(),
        image: workers
            .image
            .clone()
            .unwrap_or_else(|| settings.worker_image.clone()),
        image_pull_policy: workers
            .image_pull_policy
            .clone()
            .unwrap_or_else(|| "IfNotPresent".into()),
        pod,
        datasets,
        options_horizon_days: options.horizon_days.unwrap_or(defaults::HORIZON_DAYS),
        options_source: options.source.unwrap_or(OptionsSourceName::Yahoo),
        symbols,
        roles,
        omitted: omitted.into_iter().filter_map(Result::err).collect(),
        kafka,
        backfill,
        sources: resolve::sources(&sources_spec),
        sinks: resolve::sinks(&sinks_spec),
        processing: resolve::processing(&spec.processing.clone().unwrap_or_default()),
        credentials: resolve::credentials(&sources_spec, &sinks_spec, &api_spec),
        ingress: resolve::ingress(&api_spec),
        pod_monitor: spec
            .monitoring
            .as_ref()
            .and_then(MonitoringSpec::pod_monitor)
            .cloned(),
        predictions: spec
            .predictions
            .as_ref()
            .filter(|p| p.enabled())
            .map(|p| Predictions {
                window_days: p.window_days.unwrap_or(DEFAULT_WINDOW_DAYS),
            }),
    })
}

/// The Kafka side of a pipeline. Needs no SymbolSet, so a pipeline being deleted can always
/// find its topics.
pub fn kafka_plan(kafka: &KafkaSpec, namespace: &str, pipeline: &str) -> KafkaPlan {
    let prefix = kafka
        .topic_prefix
        .clone()
        .unwrap_or_else(|| TopicNames::default_prefix(namespace, pipeline));
    KafkaPlan {
        bootstrap_servers: kafka.bootstrap_servers.clone(),
        partitions: kafka.partitions.unwrap_or(defaults::PARTITIONS),
        replication_factor: kafka
            .replication_factor
            .unwrap_or(defaults::REPLICATION_FACTOR),
        topics: TopicNames::new(prefix),
        security: kafka.security.clone(),
        topics_on_delete: kafka.topics_on_delete.unwrap_or(TopicsOnDelete::Retain),
        topic_config: kafka.topic_config.clone().unwrap_or_default(),
        topic_overrides: kafka.topics.clone().unwrap_or_default(),
    }
}

/// What a pipeline may point at, as the operator's allowlists say: its own worker image, and
/// the providers' base URLs. The operator's defaults are its own choice and always allowed.
fn check_references(
    spec: &optionsflow_api::crd::OptionsPipelineSpec,
    settings: &Settings,
) -> Result<(), ValidationError> {
    let prefixes = &settings.allowed_image_prefixes;
    if let Some(image) = spec.workers.as_ref().and_then(|w| w.image.as_ref())
        && !prefixes.is_empty()
        && !prefixes.iter().any(|p| image.starts_with(p.as_str()))
    {
        return Err(ValidationError::ImageNotAllowed {
            image: image.clone(),
            allowed: prefixes.clone(),
        });
    }
    let hosts = &settings.allowed_provider_hosts;
    if hosts.is_empty() {
        return Ok(());
    }
    let sources = spec.sources.clone().unwrap_or_default();
    let urls = [
        (
            "spec.sources.twelveData.baseUrl",
            sources.twelve_data.and_then(|s| s.base_url),
        ),
        (
            "spec.sources.yahoo.baseUrl",
            sources.yahoo.and_then(|s| s.base_url),
        ),
        (
            "spec.sources.cboe.baseUrl",
            sources.cboe.and_then(|s| s.base_url),
        ),
    ];
    for (field, url) in urls {
        let Some(url) = url else { continue };
        let host = url
            .parse::<http::Uri>()
            .ok()
            .and_then(|u| u.host().map(str::to_owned));
        if !host.is_some_and(|h| hosts.iter().any(|allowed| allowed.eq_ignore_ascii_case(&h))) {
            return Err(ValidationError::ProviderHostNotAllowed {
                field,
                url,
                allowed: hosts.clone(),
            });
        }
    }
    Ok(())
}

/// Extra variables may not shadow the ones the operator sets: those would silently win or
/// lose depending on their order in the container.
fn check_env(pod: &PodSettings, at: &str) -> Result<(), ValidationError> {
    for var in pod.env.iter().flatten() {
        let name = var.name.as_str();
        if name.starts_with("OPTIONSFLOW_")
            || name.starts_with("KAFKA_")
            || secrets::CREDENTIALS.contains(&name)
        {
            return Err(ValidationError::ReservedEnv {
                at: at.to_owned(),
                name: name.to_owned(),
            });
        }
    }
    Ok(())
}

/// Requests that fit a worker's steady state (< 64 MiB), with room for bursts.
fn default_resources() -> ResourceRequirements {
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_owned(), Quantity("50m".into())),
            ("memory".to_owned(), Quantity("64Mi".into())),
        ])),
        limits: Some(BTreeMap::from([(
            "memory".to_owned(),
            Quantity("128Mi".into()),
        )])),
        ..ResourceRequirements::default()
    }
}

/// Eight hex digits of SHA-256: short, stable names for content.
pub fn fingerprint(content: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(content.as_bytes())[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests;
