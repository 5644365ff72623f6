//! `optionsflow-worker local`: the whole pipeline in one process on embedded defaults.
//!
//! The processor and the writers are the roles that run on Kubernetes: their own `run`
//! functions, on the in-process [`LocalBus`] instead of Kafka ([`crate::bus::Bus`]). The
//! database is SQLite, the file store a folder, and `serve` answers on a local port. The
//! trigger and the collector are the exception: there is no CronJob and no other collector
//! to share budgets with, so the trigger's decisions feed the collector's core directly,
//! which is also what lets each round show its progress per symbol.
//!
//! `/metrics` is served beside the API on the listen address (there is no admin server).
//!
//! With `--once` it collects one round of every dataset (the latest session's data), waits
//! until every stage has committed everything, and prints a [`summary`]; otherwise it runs
//! each dataset on its schedule until Ctrl-C.

pub mod rounds;
pub mod summary;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use optionsflow_api::runtime_config::{FolderSink, RuntimeConfig};
use optionsflow_api::{Dataset, Role, TopicKind};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::budget::BudgetGate;
use crate::bus::local::{LocalBus, LocalCommitter};
use crate::engine::Running;
use crate::roles::collect::collector::Collector;
use crate::roles::collect::{self, WINDOW_GUARD};
use crate::roles::serve::{self, Access, ServeError};
use crate::roles::{predict, process, write};
use crate::runtime::admin::Readiness;
use crate::runtime::config::{LoadError, load};
use crate::runtime::liveness::Liveness;
use crate::runtime::metrics::Metrics;
use crate::sinks::db::{Database, DbError};
use optionsflow_api::schedule::ScheduleError;
use rounds::{Rounds, once_at};
use summary::Summary;

/// The sample config, compiled in so that `local` works from any folder.
pub const BUILTIN_CONFIG: &str = include_str!("../../../../config/samples/local.json");
/// A config `local` reads from the current folder when given none.
pub const CONFIG_FILE: &str = "optionsflow.json";

/// The config `local` runs on: the one given, else [`CONFIG_FILE`] in the current folder,
/// else [`BUILTIN_CONFIG`]. A config given but missing is an error, never a silent fallback.
pub fn config(given: Option<&Path>) -> Result<RuntimeConfig, LoadError> {
    match given {
        Some(path) => load(path),
        None if Path::new(CONFIG_FILE).exists() => load(Path::new(CONFIG_FILE)),
        None => RuntimeConfig::from_json(BUILTIN_CONFIG).map_err(|source| LoadError::Invalid {
            path: PathBuf::from("(built-in sample config)"),
            source,
        }),
    }
}

/// How long a file stays open in `--once` mode.
const ONCE_FILE_AGE_SECONDS: u64 = 1;

/// How often the in-process bus's consumer lag is measured for `/metrics`.
const LAG_INTERVAL: Duration = Duration::from_secs(5);

/// Where the data comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SourceChoice {
    /// Live providers when a Twelve Data key is in the environment, else the sample source.
    Auto,
    /// Generated sample data, offline.
    Sample,
    /// Twelve Data, Yahoo and Cboe, as the config says.
    Live,
}

#[derive(Clone, Debug)]
pub struct LocalOptions {
    /// One round of every dataset, then the summary; otherwise run on the schedules.
    pub once: bool,
    /// After `--once`'s summary, stop instead of serving the page until Ctrl-C.
    pub exit: bool,
    /// Sample data or the providers.
    pub source: SourceChoice,
    /// Where the API and the web page listen.
    pub listen: SocketAddr,
    /// Who may call the API ([`access`]).
    pub access: Access,
    /// Progress bars on the terminal (off when stderr is not one).
    pub progress: bool,
    /// How long Ctrl-C lets the workers finish the batch in hand.
    pub shutdown_grace: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error(
        "local mode needs sinks.sqlite and sinks.folder in the config (see config/samples/local.json)"
    )]
    NoEmbeddedSinks,
    #[error("cannot create {path}: {source}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Database(#[from] DbError),
    #[error("dataset {dataset}: {source}")]
    Schedule {
        dataset: Dataset,
        #[source]
        source: ScheduleError,
    },
    #[error("{}: {reason}", role.subcommand())]
    RoleStopped { role: Role, reason: String },
    #[error("a role's task failed: {0}")]
    RoleTask(String),
    #[error("no dataset has a schedule: give one in the config, or use --once")]
    NothingScheduled,
    #[error(transparent)]
    Serve(#[from] ServeError),
    #[error(
        "{listen} is reachable from other machines, and the API has no tokens: set {} or --tokens-file, or listen on 127.0.0.1",
        serve::TOKENS_ENV
    )]
    OpenOnNetwork { listen: SocketAddr },
}

/// Who may call `local`'s API: the holders of its tokens when it has some; anyone when it has
/// none, but then only on a loopback address (an open API on the network would serve
/// anybody's requests from the user's machine).
pub fn access(
    listen: SocketAddr,
    env: crate::runtime::preflight::Env<'_>,
    tokens_file: Option<&Path>,
) -> Result<Access, LocalError> {
    match serve::access(env, tokens_file, false) {
        Ok(access) => Ok(access),
        Err(ServeError::NoTokens) if listen.ip().is_loopback() => Ok(Access::Open),
        Err(ServeError::NoTokens) => Err(LocalError::OpenOnNetwork { listen }),
        Err(e) => Err(e.into()),
    }
}

/// Applies `--source` to the config; returns whether the data is sample data.
pub fn choose_source(config: &mut RuntimeConfig, choice: SourceChoice) -> bool {
    let has_key = !collect::api_keys(config).is_empty();
    let sample = match choice {
        SourceChoice::Sample => true,
        SourceChoice::Live => false,
        SourceChoice::Auto => !has_key,
    };
    config.sources.sample = if sample {
        Some(config.sources.sample.clone().unwrap_or_default())
    } else {
        None
    };
    sample
}

pub async fn run(
    mut config: RuntimeConfig,
    options: LocalOptions,
    shutdown: CancellationToken,
) -> Result<(), LocalError> {
    let started = Instant::now();
    let sample = choose_source(&mut config, options.source);
    if options.once {
        // A round arrives all at once and nothing follows: close files promptly rather
        // than after the age that suits a steady stream.
        let files = &mut config.sinks.files;
        files.max_age_seconds = files.max_age_seconds.min(ONCE_FILE_AGE_SECONDS);
    }
    let schedules = if options.once {
        Vec::new()
    } else {
        rounds::schedules(&config)?
    };
    let (Some(sqlite), Some(folder)) = (config.sinks.sqlite.clone(), config.sinks.folder.clone())
    else {
        return Err(LocalError::NoEmbeddedSinks);
    };
    let dead_letter_file = prepare_dirs(&sqlite.path, &folder)?;
    let database = Database::open(&sqlite.path)?;
    database.migrate().await?;

    let bus = LocalBus::new();
    let metrics = Metrics::new();
    let topics = config.topics();
    let stop = CancellationToken::new();

    // The consuming roles, as on Kubernetes, on the in-process bus; they must have joined
    // their groups before anything is published.
    let mut roles = JoinSet::new();
    let mut ready = Vec::new();
    for role in std::iter::once(Role::Processor).chain(writer_roles(&config)) {
        let running = Running::new(
            &stop,
            options.shutdown_grace,
            Readiness::default(),
            Liveness::default(),
        );
        ready.push(running.ready.clone());
        let work = run_role(role, bus.clone(), config.clone(), metrics.clone(), running);
        roles.spawn(work);
    }
    // Dead letters go to a file people can read.
    let (letters, committer) = bus
        .subscribe_plain("local-dead-letters", &topics.name(TopicKind::DeadLetter))
        .await;
    let keeper = tokio::spawn(keep_dead_letters(
        letters,
        committer,
        dead_letter_file.clone(),
        stop.clone(),
    ));
    if let Err(e) = until_ready(&ready, &mut roles).await {
        stop.cancel();
        while roles.join_next().await.is_some() {}
        return Err(e);
    }

    // The API and the page.
    let state = serve::ApiState {
        database: database.clone(),
        access: options.access.clone(),
        config: Arc::new(config.clone()),
        metrics: metrics.clone(),
        metrics_page: true,
    };
    let server = serve::start(options.listen, state, stop.clone()).await?;
    // Consumer lag on the in-process bus, for /metrics.
    let lag = tokio::spawn({
        let (bus, gauge, stop) = (bus.clone(), metrics.consumer_lag.clone(), stop.clone());
        async move {
            let mut tick = tokio::time::interval(LAG_INTERVAL);
            loop {
                tokio::select! {
                    _ = tick.tick() => bus.report_lag(&gauge).await,
                    _ = stop.cancelled() => return,
                }
            }
        }
    });
    let url = format!("http://{}/", server.local_addr);

    // The collector, alone with every credit.
    let keys = collect::api_keys(&config);
    let (specs, index) = collect::accounts(&config, &keys);
    let gate = Arc::new(BudgetGate::solo(
        specs,
        WINDOW_GUARD,
        metrics.budget.clone(),
    ));
    let collector = Collector::new(&config, keys, index, gate, bus.clone(), metrics.clone());

    let mut out = std::io::stdout();
    let source_line = if sample {
        "sample data, generated offline (labelled source=sample everywhere)".to_owned()
    } else {
        "live providers (Twelve Data, Yahoo Finance, Cboe)".to_owned()
    };
    let _ = writeln!(out, "optionsflow local: {source_line}");
    let _ = writeln!(out, "web page and API: {url}");

    let place = Places {
        database: PathBuf::from(&sqlite.path),
        files: PathBuf::from(&folder.path),
        dead_letters: dead_letter_file,
        url: url.clone(),
        sample,
    };
    let rounds = Rounds {
        config: &config,
        collector: &collector,
        bus: &bus,
        progress: options.progress,
    };
    let work = async {
        if options.once {
            rounds.collect(&Dataset::ALL, once_at(Utc::now())).await;
            rounds.drain().await;
        } else {
            rounds.on_schedule(&schedules).await;
        }
    };
    // A role that stops on its own (a store that refuses it) stops the run with its reason.
    let mut failed = tokio::select! {
        _ = work => None,
        _ = shutdown.cancelled() => None,
        Some(ended) = roles.join_next() => Some(ended),
    };
    if failed.is_none() {
        let tables = table_counts(&database).await;
        let summary = Summary::of(&metrics, tables, started.elapsed(), &place);
        let _ = write!(out, "\n{}", summary.render());
        if options.once && !options.exit && !shutdown.is_cancelled() {
            let _ = writeln!(out, "\nServing {url} until Ctrl-C.");
            failed = tokio::select! {
                _ = shutdown.cancelled() => None,
                Some(ended) = roles.join_next() => Some(ended),
            };
        }
    }

    // Stop: each role finishes what it holds within its grace period.
    stop.cancel();
    let mut outcome = failed.map_or(Ok(()), ended);
    while let Some(result) = roles.join_next().await {
        if let Err(e) = ended(result) {
            outcome = outcome.and(Err(e));
        }
    }
    let _ = keeper.await;
    server.stopped().await;
    let _ = lag.await;
    database.close().await;
    outcome
}

/// The roles after the processor that `local` runs: the database's and the files' writers,
/// InfluxDB's when the config names one, and the predictor when it asks for predictions.
fn writer_roles(config: &RuntimeConfig) -> Vec<Role> {
    let mut roles = vec![Role::DbWriter, Role::FileWriter];
    if config.sinks.influxdb.is_some() {
        roles.push(Role::InfluxWriter);
    }
    if config.predictions.is_some() {
        roles.push(Role::Predictor);
    }
    roles
}

/// Runs a consuming role's own `run` on the in-process bus; it comes back before `local`
/// stops it only when it stopped on its own, which is an error.
async fn run_role(
    role: Role,
    bus: LocalBus,
    config: RuntimeConfig,
    metrics: Metrics,
    running: Running,
) -> Result<(), LocalError> {
    let result = match role {
        Role::Processor => process::run(&bus, config, metrics, &running)
            .await
            .map_err(|e| e.to_string()),
        Role::DbWriter => write::db::run(&bus, config, metrics, &running)
            .await
            .map_err(|e| e.to_string()),
        Role::FileWriter => write::files::run(&bus, config, metrics, &running)
            .await
            .map_err(|e| e.to_string()),
        Role::InfluxWriter => write::influx::run(&bus, config, metrics, &running)
            .await
            .map_err(|e| e.to_string()),
        Role::Predictor => predict::run(&bus, config, metrics, &running)
            .await
            .map_err(|e| e.to_string()),
        other => unreachable!("local runs no {other} role"),
    };
    match result {
        Err(reason) => Err(LocalError::RoleStopped { role, reason }),
        Ok(()) if !running.shutdown.is_cancelled() => Err(LocalError::RoleStopped {
            role,
            reason: "it stopped without being asked to".into(),
        }),
        Ok(()) => Ok(()),
    }
}

type RoleTasks = JoinSet<Result<(), LocalError>>;

/// What a role's task came to.
fn ended(joined: Result<Result<(), LocalError>, tokio::task::JoinError>) -> Result<(), LocalError> {
    joined.map_err(|e| LocalError::RoleTask(e.to_string()))?
}

/// Waits until every role has joined its groups; a role that stops first is an error.
async fn until_ready(ready: &[Readiness], roles: &mut RoleTasks) -> Result<(), LocalError> {
    while !ready.iter().all(Readiness::get) {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(10)) => {}
            Some(joined) = roles.join_next() => return ended(joined),
        }
    }
    Ok(())
}

/// Rows in each summarised table (empty if the database cannot say).
async fn table_counts(database: &Database) -> std::collections::BTreeMap<String, i64> {
    let mut out = std::collections::BTreeMap::new();
    for table in summary::TABLES {
        match database.count_rows(table).await {
            Ok(n) => {
                out.insert(table.to_owned(), n);
            }
            Err(e) => tracing::warn!(table, error = %e, "cannot count rows"),
        }
    }
    out
}

/// Where a run's data went, for the summary.
pub struct Places {
    pub database: PathBuf,
    pub files: PathBuf,
    pub dead_letters: PathBuf,
    pub url: String,
    pub sample: bool,
}

fn prepare_dirs(database: &str, folder: &FolderSink) -> Result<PathBuf, LocalError> {
    let db_dir = Path::new(database)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    for dir in [&db_dir, &PathBuf::from(&folder.path)] {
        std::fs::create_dir_all(dir).map_err(|source| LocalError::DataDir {
            path: dir.clone(),
            source,
        })?;
    }
    Ok(db_dir.join("dead-letters.jsonl"))
}

/// Appends each dead letter to a JSON-lines file, then commits it, until `stop` (then
/// what is already queued is kept too).
async fn keep_dead_letters(
    mut letters: tokio::sync::mpsc::Receiver<crate::bus::partitions::Delivery>,
    committer: LocalCommitter,
    path: PathBuf,
    stop: CancellationToken,
) {
    use tokio::io::AsyncWriteExt;
    let mut file = None;
    loop {
        let letter = tokio::select! {
            letter = letters.recv() => letter,
            _ = stop.cancelled() => letters.try_recv().ok(),
        };
        let Some(letter) = letter else {
            break;
        };
        if file.is_none() {
            match tokio::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .await
            {
                Ok(f) => file = Some(f),
                Err(e) => {
                    tracing::error!(path = %path.display(), error = %e, "cannot open the dead-letter file")
                }
            }
        }
        if let Some(f) = file.as_mut() {
            let mut line = letter.payload.clone();
            line.push(b'\n');
            if let Err(e) = f.write_all(&line).await {
                tracing::error!(path = %path.display(), error = %e, "cannot write a dead letter");
            }
            let _ = f.flush().await;
        }
        committer.commit(&letter.origin);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_is_sample_without_a_key_unless_live_is_asked_for() {
        let mut config = RuntimeConfig::from_json(
            r#"{"pipeline":{"namespace":"a","name":"b"},"kafka":{"bootstrapServers":"x"},
                "sources":{"twelveData":{"apiKeysEnv":"OPTIONSFLOW_TEST_UNSET_KEYS"},
                           "sample":{"seed":7}}}"#,
        )
        .unwrap();
        assert!(choose_source(&mut config, SourceChoice::Auto));
        assert_eq!(
            config.sources.sample.as_ref().map(|s| s.seed),
            Some(7),
            "the config's settings are kept"
        );
        assert!(!choose_source(&mut config, SourceChoice::Live));
        assert_eq!(config.sources.sample, None);
        assert!(choose_source(&mut config, SourceChoice::Sample));
        assert_eq!(config.sources.sample.as_ref().map(|s| s.seed), Some(0));
    }

    #[test]
    fn the_api_is_open_on_loopback_only_unless_it_has_tokens() {
        let none = |_: &str| None;
        let some = |v: &str| (v == serve::TOKENS_ENV).then(|| "t0ken".to_owned());
        let at = |a: &str| a.parse::<SocketAddr>().unwrap();
        for loopback in ["127.0.0.1:8080", "[::1]:8080"] {
            assert!(matches!(
                access(at(loopback), &none, None),
                Ok(Access::Open)
            ));
        }
        for open in ["0.0.0.0:8080", "192.168.1.5:8080", "[::]:8080"] {
            let error = access(at(open), &none, None).unwrap_err();
            assert!(matches!(error, LocalError::OpenOnNetwork { .. }), "{error}");
            assert!(error.to_string().contains(serve::TOKENS_ENV), "{error}");
            assert!(matches!(
                access(at(open), &some, None),
                Ok(Access::Tokens(_))
            ));
        }
        assert!(matches!(
            access(at("127.0.0.1:1"), &some, None),
            Ok(Access::Tokens(_))
        ));
    }
}
