//! `optionsflow-worker`: one image, one subcommand per role.

mod args;

use std::future::Future;
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use chrono::{Datelike, Utc};
use clap::Parser;
use optionsflow_api::{Role, RuntimeConfig};
use optionsflow_workers::bus::kafka::{self, KafkaBus};
use optionsflow_workers::engine::Running;
use optionsflow_workers::market::calendar as market;
use optionsflow_workers::roles::serve::Access;
use optionsflow_workers::roles::write;
use optionsflow_workers::roles::{
    calendar, collect, greeks, local, predict, process, serve, trigger,
};
use optionsflow_workers::runtime::metrics::Metrics;
use optionsflow_workers::runtime::preflight::{self, Given};
use optionsflow_workers::runtime::{config, logging, shutdown};
use optionsflow_workers::sinks::db::Database;
use optionsflow_workers::sources::sample::Sample;

use args::{Cli, Command, RunArgs};

/// A role ready to start: its config, and for the API who may call it.
type Prepared = (RuntimeConfig, Option<Access>);

/// Loads a role's config and runs its start-up checks; `None` when `--check` says to stop
/// there.
fn prepare(
    role: Role,
    path: &Path,
    check: bool,
    given: Given<'_>,
) -> Result<Option<Prepared>, Box<dyn std::error::Error>> {
    let config = config::load(path)?;
    let access = preflight::check(role, &config, &preflight::process_env, given)?;
    if check {
        println!("{role}: start-up checks passed");
        return Ok(None);
    }
    Ok(Some((config, access)))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The roles and the trigger run in pods, whose logs are collected as JSON.
    let (format, level) = match &cli.command {
        command if command.role().is_some() => (logging::LogFormat::Json, "info"),
        Command::Trigger { .. } => (logging::LogFormat::Json, "info"),
        Command::Migrate { .. } => (logging::LogFormat::Text, "info"),
        // The terminal is for output (and `local`'s progress and summary); problems still show.
        _ => (logging::LogFormat::Text, "warn"),
    };
    logging::init(cli.log_format.unwrap_or(format), level);
    match run(cli.command, cli.check) {
        Ok(()) => ExitCode::SUCCESS,
        // Our errors carry their context in their message, so the top-level message is the story.
        Err(error) => {
            tracing::error!(%error, "failed");
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// A consuming role as Kubernetes runs it: its admin server, then the role on Kafka until
/// SIGTERM.
fn on_kafka<F, Fut, E>(
    config: RuntimeConfig,
    run: &RunArgs,
    role: F,
) -> Result<(), Box<dyn std::error::Error>>
where
    F: FnOnce(KafkaBus, RuntimeConfig, Metrics, Running) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::error::Error + 'static,
{
    runtime().block_on(async {
        let shutdown = shutdown::on_signal();
        let metrics = Metrics::new();
        let running = run
            .options()
            .start(&metrics, &shutdown)
            .await
            .map_err(|e| format!("cannot start the admin server: {e}"))?;
        let bus = KafkaBus {
            settings: config.kafka.clone(),
            metrics: metrics.clone(),
        };
        role(bus, config, metrics, running).await?;
        Ok(())
    })
}

fn run(command: Command, check: bool) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        Command::Calendar { .. } | Command::Greeks if check => {
            println!("nothing to check: this command needs no config");
        }
        Command::Calendar { year, date, format } => {
            let text = match date {
                Some(d) => calendar::date_report(d, format),
                None => calendar::year_report(year.unwrap_or_else(|| Utc::now().year()), format),
            };
            print!("{text}");
        }
        Command::Process { config, run } => {
            let Some((config, _)) =
                prepare(Role::Processor, &config.config, check, Given::default())?
            else {
                return Ok(());
            };
            on_kafka(config, &run, |bus, config, metrics, running| async move {
                process::run(&bus, config, metrics, &running).await
            })?;
        }
        Command::Predict {
            config,
            run,
            backtest: false,
            ..
        } => {
            let Some((config, _)) =
                prepare(Role::Predictor, &config.config, check, Given::default())?
            else {
                return Ok(());
            };
            on_kafka(config, &run, |bus, config, metrics, running| async move {
                predict::run(&bus, config, metrics, &running).await
            })?;
        }
        Command::Predict {
            config,
            source,
            symbols,
            years,
            end,
            seed,
            format,
            ..
        } => {
            let end = end.unwrap_or_else(|| {
                market::trading_day_on_or_before(market::exchange_date(Utc::now()))
            });
            let settings = Default::default();
            let scores = match source {
                predict::backtest::HistorySource::Sample if check => {
                    println!("nothing to check: a backtest on the sample needs no config");
                    return Ok(());
                }
                predict::backtest::HistorySource::Sample => {
                    let sample = Sample::new(&optionsflow_api::runtime_config::SampleSource {
                        seed,
                        dirty_per_mille: 0,
                    });
                    predict::backtest::sample_backtest(&sample, &symbols, years, end, &settings)
                }
                predict::backtest::HistorySource::Stored => {
                    let config = config::load(&config.config)?;
                    let database = Database::from_config(&config)?;
                    if check {
                        println!("predict --backtest: the config names a database");
                        return Ok(());
                    }
                    runtime().block_on(predict::backtest::stored_backtest(
                        &database, &symbols, years, end, &settings,
                    ))?
                }
            };
            print!("{}", predict::backtest::render(&scores, format));
        }
        Command::Greeks => {
            let summary = greeks::run(std::io::stdin().lock(), std::io::stdout().lock())?;
            eprintln!(
                "{} rows, {} with an implied volatility",
                summary.rows, summary.with_iv
            );
        }
        Command::Trigger {
            config,
            dataset,
            at,
        } => {
            let config = config::load(&config.config)?;
            preflight::check_trigger(&config, &preflight::process_env)?;
            if check {
                println!("trigger: start-up checks passed");
                return Ok(());
            }
            let at = at.unwrap_or_else(Utc::now);
            match runtime().block_on(trigger::run(&config, dataset, at))? {
                trigger::Plan::Skip(why) => {
                    tracing::info!(%dataset, reason = %why, "nothing to collect");
                    println!("nothing to collect for {dataset}: {why}");
                }
                trigger::Plan::Publish(tasks) => {
                    let symbols: usize = tasks.iter().map(|t| t.symbols.len()).sum();
                    tracing::info!(%dataset, tasks = tasks.len(), symbols, "tasks published");
                    println!(
                        "published {} {dataset} tasks for {symbols} symbols",
                        tasks.len()
                    );
                }
            }
        }
        Command::Topics {
            config,
            replication_factor,
        } => {
            let config = config::load(&config.config)?;
            if check {
                println!("topics: the config is readable");
                return Ok(());
            }
            let names: Vec<String> = config.topics().all().into_iter().map(|(_, n)| n).collect();
            runtime().block_on(kafka::create_topics(
                &config.kafka,
                &names,
                config.kafka.partitions,
                replication_factor,
            ))?;
            for name in &names {
                println!("{name}");
            }
        }
        Command::Collect { config, run } => {
            let Some((config, _)) =
                prepare(Role::Collector, &config.config, check, Given::default())?
            else {
                return Ok(());
            };
            runtime().block_on(async {
                collect::run(config, run.options(), shutdown::on_signal()).await
            })?;
        }
        Command::Migrate {
            config,
            database_url,
        } => {
            let config = match database_url {
                Some(_) => None,
                None => Some(config::load(&config.config)?),
            };
            if check {
                println!("migrate: the config is readable");
                return Ok(());
            }
            // The database's pool needs the runtime even to be created.
            let kind = runtime().block_on(async {
                let database = match (&database_url, &config) {
                    (Some(url), _) => Database::open(url)?,
                    (None, Some(config)) => Database::from_config(config)?,
                    (None, None) => unreachable!("the config is loaded when there is no URL"),
                };
                let result = database.migrate().await;
                database.close().await;
                result?;
                Ok::<_, Box<dyn std::error::Error>>(database.kind())
            })?;
            println!("{kind} schema is up to date");
        }
        Command::WriteDb { config, run } => {
            let Some((config, _)) =
                prepare(Role::DbWriter, &config.config, check, Given::default())?
            else {
                return Ok(());
            };
            on_kafka(config, &run, |bus, config, metrics, running| async move {
                write::db::run(&bus, config, metrics, &running).await
            })?;
        }
        Command::WriteFiles { config, run } => {
            let Some((config, _)) =
                prepare(Role::FileWriter, &config.config, check, Given::default())?
            else {
                return Ok(());
            };
            on_kafka(config, &run, |bus, config, metrics, running| async move {
                write::files::run(&bus, config, metrics, &running).await
            })?;
        }
        Command::WriteInflux { config, run } => {
            let Some((config, _)) =
                prepare(Role::InfluxWriter, &config.config, check, Given::default())?
            else {
                return Ok(());
            };
            on_kafka(config, &run, |bus, config, metrics, running| async move {
                write::influx::run(&bus, config, metrics, &running).await
            })?;
        }
        Command::Serve {
            config,
            run,
            listen,
            tokens_file,
            no_auth,
        } => {
            let given = Given {
                tokens_file: tokens_file.as_deref(),
                no_auth,
            };
            let Some((config, access)) = prepare(Role::Api, &config.config, check, given)? else {
                return Ok(());
            };
            let access = access.expect("the api needs API tokens, so its checks say who may call");
            runtime().block_on(async {
                serve::run(config, listen, access, run.options(), shutdown::on_signal()).await
            })?;
        }
        Command::Local {
            config,
            once,
            exit,
            source,
            listen,
            tokens_file,
            no_progress,
        } => {
            let config = local::config(config.as_deref())?;
            let access = local::access(listen, &preflight::process_env, tokens_file.as_deref())?;
            if check {
                println!("local: the config is readable");
                return Ok(());
            }
            let options = local::LocalOptions {
                once,
                exit,
                source,
                listen,
                access,
                progress: !no_progress && std::io::stderr().is_terminal(),
                shutdown_grace: Duration::from_secs(20),
            };
            runtime()
                .block_on(async { local::run(config, options, shutdown::on_signal()).await })?;
        }
    }
    Ok(())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime starts")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worker's side of the role contract: every role's subcommand parses to that role.
    #[test]
    fn every_role_has_its_subcommand() {
        for role in Role::ALL {
            let cli =
                Cli::try_parse_from([optionsflow_api::role::WORKER_PROGRAM, role.subcommand()])
                    .unwrap_or_else(|e| panic!("{role}: {e}"));
            assert_eq!(cli.command.role(), Some(role));
        }
    }

    #[test]
    fn the_check_flag_goes_anywhere() {
        let cli = Cli::try_parse_from(["optionsflow-worker", "collect", "--check"]).unwrap();
        assert!(cli.check);
        let cli = Cli::try_parse_from(["optionsflow-worker", "--check", "collect"]).unwrap();
        assert!(cli.check);
    }
}
