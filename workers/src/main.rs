//! `optionsflow-worker`: one image, one subcommand per role.

use std::future::Future;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use clap::{Parser, Subcommand};
use optionsflow_api::role::env;
use optionsflow_api::{Dataset, Role, RuntimeConfig};
use optionsflow_workers::bus::kafka::{self, KafkaBus};
use optionsflow_workers::engine::Running;
use optionsflow_workers::market::calendar as market;
use optionsflow_workers::roles::serve::Access;
use optionsflow_workers::roles::write;
use optionsflow_workers::roles::{
    calendar, collect, greeks, local, predict, process, serve, trigger,
};
use optionsflow_workers::runtime::liveness::{self, Liveness};
use optionsflow_workers::runtime::metrics::Metrics;
use optionsflow_workers::runtime::preflight::{self, Given};
use optionsflow_workers::runtime::{RoleOptions, config, logging, shutdown};
use optionsflow_workers::sinks::db::Database;
use optionsflow_workers::sources::sample::Sample;

#[derive(Parser)]
#[command(
    name = "optionsflow-worker",
    version,
    about = "optionsflow's workers: collect, process and store U.S. stock and option market data"
)]
struct Cli {
    /// Log format on stderr (JSON for the long-running roles by default).
    #[arg(long, global = true, value_enum)]
    log_format: Option<logging::LogFormat>,
    /// Parse the arguments, read the config and check that everything the command needs is
    /// there (the environment variables it names, a database, a file store, API tokens), then
    /// exit without starting.
    #[arg(long, global = true, env = env::CHECK)]
    check: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct ConfigArg {
    /// The runtime config (JSON) the operator renders into a ConfigMap.
    #[arg(long, env = env::CONFIG, default_value = config::DEFAULT_PATH)]
    config: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// The NYSE calendar: a year's holidays and early closes, or one date's hours.
    Calendar {
        /// Year to list (the current year by default).
        #[arg(long, conflicts_with = "date")]
        year: Option<i32>,
        /// Is the market open this day, and when?
        #[arg(long)]
        date: Option<NaiveDate>,
        #[arg(long, value_enum, default_value = "text")]
        format: calendar::Format,
    },
    /// Consume the raw topics, clean and enrich, publish typed records to the processed
    /// topics (and what cannot be used to dead-letter).
    #[command(name = Role::Processor.subcommand())]
    Process {
        #[command(flatten)]
        config: ConfigArg,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Implied volatility and Greeks for a CSV of option prices on standard input
    /// (`spot,strike,years,rate,dividend_yield,right,price`), written to standard output with
    /// `iv,delta,gamma,theta,vega,rho,status` appended.
    Greeks,
    /// Forecast each symbol's realized volatility: consume the processed topics, write
    /// forecasts and their walk-forward scores to the database. With `--backtest`, evaluate
    /// the models instead and print per model, symbol and horizon the forecasts scored, MSE
    /// and QLIKE.
    #[command(name = Role::Predictor.subcommand())]
    Predict {
        #[command(flatten)]
        config: ConfigArg,
        #[command(flatten)]
        run: RunArgs,
        /// Evaluate the models (walk-forward, no look-ahead) rather than run the role.
        #[arg(long)]
        backtest: bool,
        /// Where a backtest's history comes from: the sample source (offline), or the
        /// database the runtime config names.
        #[arg(long, value_enum, default_value = "sample")]
        source: predict::backtest::HistorySource,
        /// Symbols to evaluate, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = predict::backtest::DEFAULT_SYMBOLS)]
        symbols: Vec<String>,
        /// Years of daily history per symbol.
        #[arg(long, default_value_t = 10)]
        years: u32,
        /// The last day of history (the latest session by default).
        #[arg(long)]
        end: Option<NaiveDate>,
        /// The sample source's seed.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        #[arg(long, value_enum, default_value = "table")]
        format: predict::backtest::Format,
    },
    /// Publish a dataset's collection tasks to task-queue (run by a CronJob).
    Trigger {
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long)]
        dataset: Dataset,
        /// The run's logical time (RFC 3339); now by default. Re-runs a missed schedule.
        #[arg(long, env = "OPTIONSFLOW_SCHEDULED_TIME")]
        at: Option<DateTime<Utc>>,
    },
    /// Create the pipeline's topics that do not exist yet (the operator does this on
    /// Kubernetes); existing topics are left as they are.
    Topics {
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long, default_value = "1")]
        replication_factor: i32,
    },
    /// Consume task-queue, fetch from the providers within budget, publish raw data.
    #[command(name = Role::Collector.subcommand())]
    Collect {
        #[command(flatten)]
        config: ConfigArg,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Apply the database migrations (the writers also apply them when they start).
    Migrate {
        #[command(flatten)]
        config: ConfigArg,
        /// The database URL (postgres://... or sqlite:...), instead of the config's.
        #[arg(long, env = "OPTIONSFLOW_DATABASE_URL")]
        database_url: Option<String>,
    },
    /// Consume the processed topics and upsert the records into PostgreSQL (or SQLite).
    #[command(name = Role::DbWriter.subcommand())]
    WriteDb {
        #[command(flatten)]
        config: ConfigArg,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Consume the processed topics and store them as CSV files in S3 (or a local folder).
    #[command(name = Role::FileWriter.subcommand())]
    WriteFiles {
        #[command(flatten)]
        config: ConfigArg,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Consume the processed 15-minute topic and write the intraday bars to InfluxDB.
    #[command(name = Role::InfluxWriter.subcommand())]
    WriteInflux {
        #[command(flatten)]
        config: ConfigArg,
        #[command(flatten)]
        run: RunArgs,
    },
    /// The data API (JSON and CSV), its OpenAPI document and the web page, over the config's
    /// database.
    #[command(name = Role::Api.subcommand())]
    Serve {
        #[command(flatten)]
        config: ConfigArg,
        #[command(flatten)]
        run: RunArgs,
        /// Where the API listens.
        #[arg(long, env = env::LISTEN, default_value = "0.0.0.0:8080")]
        listen: SocketAddr,
        /// A file of bearer tokens, one per line (a mounted Secret); OPTIONSFLOW_API_TOKENS
        /// (separated by commas or line breaks) is read too.
        #[arg(long, env = "OPTIONSFLOW_API_TOKENS_FILE")]
        tokens_file: Option<PathBuf>,
        /// Serve without authentication (only behind something that authenticates).
        #[arg(long)]
        no_auth: bool,
    },
    /// Everything in one process on embedded defaults: collect (sample data offline, or the
    /// providers), process, store in SQLite and CSV files, and serve the API and web page.
    Local {
        /// The local config: symbols, datasets, schedules, where data goes. Without it,
        /// ./optionsflow.json if there is one, else the built-in sample config.
        #[arg(long, env = env::CONFIG)]
        config: Option<PathBuf>,
        /// Collect one round of every dataset (the latest session), print a summary, and keep
        /// serving the page until Ctrl-C. Without it, datasets run on their schedules.
        #[arg(long)]
        once: bool,
        /// With --once: stop after the summary instead of serving the page.
        #[arg(long, requires = "once")]
        exit: bool,
        /// Where the data comes from: auto is live when TWELVEDATA_API_KEYS is set, else sample.
        #[arg(long, value_enum, default_value = "auto")]
        source: local::SourceChoice,
        /// Where the API and web page listen. Anywhere but loopback needs API tokens.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// A file of bearer tokens for the API (OPTIONSFLOW_API_TOKENS is read too); without
        /// any, the API is open, and so listens on loopback only.
        #[arg(long, env = "OPTIONSFLOW_API_TOKENS_FILE")]
        tokens_file: Option<PathBuf>,
        /// No progress bars (they are off anyway when stderr is not a terminal).
        #[arg(long)]
        no_progress: bool,
    },
}

/// How a long-running role serves and stops.
#[derive(clap::Args)]
struct RunArgs {
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, env = env::ADMIN_ADDR, default_value = "0.0.0.0:9090")]
    admin_addr: SocketAddr,
    /// How long the work in hand (a task, a message, a batch) may go on after SIGTERM.
    #[arg(long, default_value = "20", value_name = "SECONDS")]
    shutdown_grace: u64,
    /// /healthz fails when work has been held this long without progress (a hung call, a
    /// store that never answers), so that Kubernetes restarts the pod.
    #[arg(long, env = "OPTIONSFLOW_STALL_SECONDS", value_name = "SECONDS",
          default_value_t = liveness::DEFAULT_STALL_LIMIT.as_secs())]
    stall_seconds: u64,
}

impl RunArgs {
    fn options(&self) -> RoleOptions {
        RoleOptions {
            admin_addr: self.admin_addr,
            shutdown_grace: Duration::from_secs(self.shutdown_grace),
            liveness: Liveness::new(Duration::from_secs(self.stall_seconds)),
        }
    }
}

impl Command {
    /// The role a command runs, if it runs one: the worker's side of [`Role`]'s contract.
    fn role(&self) -> Option<Role> {
        match self {
            Command::Collect { .. } => Some(Role::Collector),
            Command::Process { .. } => Some(Role::Processor),
            Command::WriteDb { .. } => Some(Role::DbWriter),
            Command::WriteFiles { .. } => Some(Role::FileWriter),
            Command::WriteInflux { .. } => Some(Role::InfluxWriter),
            Command::Serve { .. } => Some(Role::Api),
            Command::Predict {
                backtest: false, ..
            } => Some(Role::Predictor),
            Command::Calendar { .. }
            | Command::Greeks
            | Command::Predict { .. }
            | Command::Trigger { .. }
            | Command::Topics { .. }
            | Command::Migrate { .. }
            | Command::Local { .. } => None,
        }
    }
}

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
                    let database = write::db::database(&config)?;
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
                    (None, Some(config)) => write::db::database(config)?,
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
