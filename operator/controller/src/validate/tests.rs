use super::*;
use optionsflow_api::crd::pipeline::{
    CollectSpec, DatasetSpec, DatasetsSpec, HistoricalSpec, KafkaSpec, RoleSpec, WorkersSpec,
};
use optionsflow_api::crd::{OptionsPipelineSpec, SymbolSetSpec};

fn settings() -> Settings {
    Settings {
        worker_image: "ghcr.io/optionsflow/optionsflow-worker:test".into(),
        ..Settings::default()
    }
}

fn pipeline(spec: OptionsPipelineSpec) -> OptionsPipeline {
    let mut p = OptionsPipeline::new("us", spec);
    p.metadata.namespace = Some("markets".into());
    p.metadata.uid = Some("0000-1111".into());
    p.metadata.generation = Some(3);
    p
}

fn minimal() -> OptionsPipelineSpec {
    OptionsPipelineSpec {
        symbol_sets: vec!["big".into()],
        datasets: None,
        sources: None,
        kafka: KafkaSpec {
            bootstrap_servers: "kafka:9092".into(),
            ..KafkaSpec::default()
        },
        sinks: None,
        api: None,
        processing: None,
        workers: None,
        monitoring: None,
        predictions: None,
        suspend: None,
        restart_nonce: None,
    }
}

fn sets(list: &[(&str, &[&str])]) -> BTreeMap<String, SymbolSet> {
    list.iter()
        .map(|(name, symbols)| {
            let set = SymbolSet::new(
                name,
                SymbolSetSpec {
                    symbols: symbols.iter().map(|s| s.to_string()).collect(),
                    description: None,
                    tags: None,
                },
            );
            (name.to_string(), set)
        })
        .collect()
}

#[test]
fn a_minimal_pipeline_gets_every_default() {
    let v = validate(
        &pipeline(minimal()),
        &sets(&[("big", &["MSFT", "AAPL", "MSFT"])]),
        &settings(),
    )
    .unwrap();
    assert_eq!(v.kafka.partitions, 5);
    assert_eq!(v.kafka.replication_factor, 3);
    assert_eq!(v.kafka.topics.prefix(), "markets.us.");
    assert_eq!(v.kafka.topics_on_delete, TopicsOnDelete::Retain);
    assert_eq!(v.image, "ghcr.io/optionsflow/optionsflow-worker:test");
    assert!(v.roles.iter().all(|r| r.replicas == 2));
    assert_eq!(
        v.roles.iter().map(|r| r.role).collect::<Vec<_>>(),
        [Role::Collector, Role::Processor],
        "no sinks, no tokens"
    );
    assert_eq!(v.omitted.len(), 5);
    assert_eq!(v.symbols, 2, "distinct symbols");
    assert_eq!(
        v.datasets.keys().copied().collect::<Vec<_>>(),
        [Dataset::Daily, Dataset::Intraday, Dataset::Options],
        "historical needs a start date"
    );
    let daily = &v.datasets[&Dataset::Daily];
    assert_eq!(daily.schedule.as_deref(), Some("30 16 * * 1-5"));
    assert_eq!(daily.time_zone, "America/New_York");
    assert_eq!(
        daily.symbols.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        ["AAPL", "MSFT"]
    );
    assert_eq!(v.options_horizon_days, 90);
    assert!(v.backfill.is_none());
    assert_eq!(v.owner.uid, "0000-1111");
    assert_eq!(v.owner.controller, Some(true));
}

#[test]
fn datasets_may_name_their_own_symbol_sets() {
    let mut spec = minimal();
    spec.datasets = Some(DatasetsSpec {
        intraday: Some(DatasetSpec {
            collect: CollectSpec {
                symbol_sets: Some(vec!["small".into()]),
                ..CollectSpec::default()
            },
            ..DatasetSpec::default()
        }),
        ..DatasetsSpec::default()
    });
    let v = validate(
        &pipeline(spec),
        &sets(&[("big", &["MSFT"]), ("small", &["SPY"])]),
        &settings(),
    )
    .unwrap();
    assert_eq!(v.datasets[&Dataset::Intraday].symbols[0].as_str(), "SPY");
    assert_eq!(v.datasets[&Dataset::Daily].symbols[0].as_str(), "MSFT");
    assert_eq!(v.symbols, 2);
}

#[test]
fn every_missing_symbol_set_is_named() {
    let mut spec = minimal();
    spec.symbol_sets.push("gone".into());
    spec.datasets = Some(DatasetsSpec {
        options: Some(optionsflow_api::crd::pipeline::OptionsDatasetSpec {
            dataset: DatasetSpec {
                collect: CollectSpec {
                    symbol_sets: Some(vec!["also-gone".into()]),
                    ..CollectSpec::default()
                },
                ..DatasetSpec::default()
            },
            ..Default::default()
        }),
        ..DatasetsSpec::default()
    });
    let err = validate(&pipeline(spec), &sets(&[("big", &["MSFT"])]), &settings()).unwrap_err();
    assert_eq!(err.reason(), "SymbolSetNotFound");
    assert_eq!(
        err.to_string(),
        "SymbolSet also-gone, gone not found in namespace markets"
    );
}

#[test]
fn zones_dates_and_symbols_are_checked() {
    let mut spec = minimal();
    spec.datasets = Some(DatasetsSpec {
        daily: Some(DatasetSpec {
            collect: CollectSpec {
                time_zone: Some("America/Nowhere".into()),
                ..CollectSpec::default()
            },
            ..DatasetSpec::default()
        }),
        ..DatasetsSpec::default()
    });
    let err = validate(&pipeline(spec), &sets(&[("big", &["MSFT"])]), &settings()).unwrap_err();
    assert_eq!(err.reason(), "UnknownTimeZone");

    // A range backwards passes the CRD's rule; a CronJob would refuse it, and so does this.
    let mut spec = minimal();
    spec.datasets = Some(DatasetsSpec {
        options: Some(optionsflow_api::crd::pipeline::OptionsDatasetSpec {
            dataset: DatasetSpec {
                collect: CollectSpec {
                    schedule: Some("20 16 * * FRI-MON".into()),
                    ..CollectSpec::default()
                },
                ..DatasetSpec::default()
            },
            ..Default::default()
        }),
        ..DatasetsSpec::default()
    });
    let err = validate(&pipeline(spec), &sets(&[("big", &["MSFT"])]), &settings()).unwrap_err();
    assert_eq!(err.reason(), "InvalidSchedule");
    assert!(
        err.to_string()
            .starts_with("the options dataset's schedule is not one a CronJob takes: schedule \"20 16 * * FRI-MON\": day-of-week field"),
        "{err}"
    );
    // Names and `?`, as a CronJob takes them.
    let mut spec = minimal();
    spec.datasets = Some(DatasetsSpec {
        daily: Some(DatasetSpec {
            collect: CollectSpec {
                schedule: Some("30 16 ? * MON-FRI".into()),
                ..CollectSpec::default()
            },
            ..DatasetSpec::default()
        }),
        ..DatasetsSpec::default()
    });
    validate(&pipeline(spec), &sets(&[("big", &["MSFT"])]), &settings()).unwrap();

    let mut spec = minimal();
    spec.datasets = Some(DatasetsSpec {
        historical: Some(HistoricalSpec {
            start_date: Some("2020-02-30".into()),
            ..HistoricalSpec::default()
        }),
        ..DatasetsSpec::default()
    });
    let err = validate(&pipeline(spec), &sets(&[("big", &["MSFT"])]), &settings()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "historical startDate \"2020-02-30\" is not a date (YYYY-MM-DD)"
    );

    let err = validate(
        &pipeline(minimal()),
        &sets(&[("big", &["msft"])]),
        &settings(),
    )
    .unwrap_err();
    assert_eq!(err.reason(), "InvalidSymbol");
    let err = validate(&pipeline(minimal()), &sets(&[("big", &[])]), &settings()).unwrap_err();
    assert_eq!(err.reason(), "NoSymbols");
}

#[test]
fn the_backfill_follows_its_dates() {
    let with_dates = |start: &str, end: Option<&str>| {
        let mut spec = minimal();
        spec.datasets = Some(DatasetsSpec {
            historical: Some(HistoricalSpec {
                start_date: Some(start.into()),
                end_date: end.map(String::from),
                ..HistoricalSpec::default()
            }),
            ..DatasetsSpec::default()
        });
        validate(&pipeline(spec), &sets(&[("big", &["MSFT"])]), &settings()).unwrap()
    };
    let a = with_dates("2020-01-02", None);
    let b = with_dates("2019-01-02", None);
    let c = with_dates("2020-01-02", Some("2024-12-31"));
    let fp = |v: &ValidatedPipeline| v.backfill.clone().unwrap().fingerprint;
    assert_eq!(fp(&a), fp(&with_dates("2020-01-02", None)), "stable");
    assert_ne!(fp(&a), fp(&b));
    assert_ne!(fp(&a), fp(&c));
    assert!(a.datasets.contains_key(&Dataset::Historical));
    assert_eq!(
        a.datasets[&Dataset::Historical].schedule,
        None,
        "run by its Job only"
    );
}

#[test]
fn suspension_applies_zero_replicas() {
    let mut spec = minimal();
    spec.suspend = Some(true);
    spec.workers = Some(WorkersSpec {
        collector: Some(RoleSpec {
            replicas: Some(4),
            ..RoleSpec::default()
        }),
        ..WorkersSpec::default()
    });
    let v = validate(&pipeline(spec), &sets(&[("big", &["MSFT"])]), &settings()).unwrap();
    let collector = v.roles.iter().find(|r| r.role == Role::Collector).unwrap();
    assert_eq!(collector.replicas, 4);
    assert_eq!(v.applied_replicas(collector), 0);
}

#[test]
fn a_pipeline_may_reference_only_what_the_allowlists_allow() {
    let strict = Settings {
        worker_image: "ghcr.io/optionsflow/optionsflow-worker:test".into(),
        allowed_image_prefixes: vec!["ghcr.io/optionsflow/".into()],
        allowed_provider_hosts: vec!["api.twelvedata.com".into()],
    };
    let sets = sets(&[("big", &["MSFT"])]);
    // The operator's own defaults are always fine.
    assert!(validate(&pipeline(minimal()), &sets, &strict).is_ok());

    let mut spec = minimal();
    spec.workers = Some(WorkersSpec {
        image: Some("docker.io/someone/miner:latest".into()),
        ..WorkersSpec::default()
    });
    let error = validate(&pipeline(spec), &sets, &strict).unwrap_err();
    assert_eq!(error.reason(), "ImageNotAllowed");
    assert!(
        error.to_string().contains("docker.io/someone/miner"),
        "{error}"
    );

    let with_url = |url: &str| {
        let mut spec = minimal();
        spec.sources = Some(
            serde_json::from_value(serde_json::json!({"twelveData": {"baseUrl": url}})).unwrap(),
        );
        validate(&pipeline(spec), &sets, &strict)
    };
    assert!(with_url("https://api.twelvedata.com").is_ok());
    assert!(with_url("https://API.twelvedata.com:443/v2").is_ok());
    let error = with_url("http://169.254.169.254/latest").unwrap_err();
    assert_eq!(error.reason(), "ProviderHostNotAllowed");
    assert!(
        error
            .to_string()
            .contains("spec.sources.twelveData.baseUrl"),
        "{error}"
    );
    assert_eq!(
        with_url("not a url").unwrap_err().reason(),
        "ProviderHostNotAllowed"
    );
    // Without allowlists, anything goes.
    let open = settings();
    let mut spec = minimal();
    spec.sources = Some(
        serde_json::from_value(serde_json::json!({"twelveData": {"baseUrl": "http://10.0.0.1"}}))
            .unwrap(),
    );
    assert!(validate(&pipeline(spec), &sets, &open).is_ok());
}

#[test]
fn every_variable_the_operator_sets_is_refused_as_extra_env() {
    let security: optionsflow_api::crd::pipeline::KafkaSecurity =
        serde_json::from_value(serde_json::json!({
            "protocol": "SASL_SSL",
            "tls": {"caSecret": {"name": "ca", "key": "ca.crt"}, "clientCertSecret": "user"},
            "sasl": {"mechanism": "SCRAM-SHA-512", "username": "u",
                     "passwordSecret": {"name": "user", "key": "password"}}}))
        .unwrap();
    let kafka_variables: Vec<&str> = security
        .secret_properties()
        .iter()
        .map(|p| p.variable)
        .collect();
    assert_eq!(kafka_variables.len(), 4);
    let names = kafka_variables
        .into_iter()
        .chain(crate::build::secrets::CREDENTIALS)
        .chain([
            optionsflow_api::role::env::CONFIG,
            optionsflow_api::role::env::API_TOKENS,
        ]);
    for name in names {
        let mut spec = minimal();
        spec.workers = Some(WorkersSpec {
            pod: Some(
                serde_json::from_value(serde_json::json!({"env": [{"name": name, "value": "x"}]}))
                    .unwrap(),
            ),
            ..WorkersSpec::default()
        });
        let error = validate(&pipeline(spec), &sets(&[("big", &["MSFT"])]), &settings());
        assert_eq!(
            error.map_err(|e| e.reason()).unwrap_err(),
            "ReservedEnvironmentVariable",
            "{name}"
        );
    }
}
