//! `optionsflow-worker`: one image, one subcommand per role.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use clap::{Parser, Subcommand};
use optionsflow_api::Dataset;
use optionsflow_workers::bus::kafka;
use optionsflow_workers::roles::{calendar, collect, trigger};
use optionsflow_workers::runtime::{config, logging, shutdown};

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
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct ConfigArg {
    /// The runtime config (JSON) the operator renders into a ConfigMap.
    #[arg(long, env = "OPTIONSFLOW_CONFIG", default_value = config::DEFAULT_PATH)]
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
    Collect {
        #[command(flatten)]
        config: ConfigArg,
        /// Address of /metrics, /healthz and /readyz.
        #[arg(long, env = "OPTIONSFLOW_ADMIN_ADDR", default_value = "0.0.0.0:9090")]
        admin_addr: SocketAddr,
        /// How long the current task may go on after SIGTERM.
        #[arg(long, default_value = "20", value_name = "SECONDS")]
        shutdown_grace: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Calendar { year, date, format } => {
            logging::init(cli.log_format.unwrap_or(logging::LogFormat::Text), "warn");
            let text = match date {
                Some(d) => calendar::date_report(d, format),
                None => calendar::year_report(year.unwrap_or_else(|| Utc::now().year()), format),
            };
            print!("{text}");
            ExitCode::SUCCESS
        }
        Command::Trigger {
            config,
            dataset,
            at,
        } => {
            logging::init(cli.log_format.unwrap_or(logging::LogFormat::Json), "info");
            let config = match config::load(&config.config) {
                Ok(c) => c,
                Err(e) => return fail(&e),
            };
            let at = at.unwrap_or_else(Utc::now);
            match runtime().block_on(trigger::run(&config, dataset, at)) {
                Ok(trigger::Plan::Skip(why)) => {
                    tracing::info!(%dataset, reason = %why, "nothing to collect");
                    println!("nothing to collect for {dataset}: {why}");
                    ExitCode::SUCCESS
                }
                Ok(trigger::Plan::Publish(tasks)) => {
                    let symbols: usize = tasks.iter().map(|t| t.symbols.len()).sum();
                    tracing::info!(%dataset, tasks = tasks.len(), symbols, "tasks published");
                    println!(
                        "published {} {dataset} tasks for {symbols} symbols",
                        tasks.len()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::Topics {
            config,
            replication_factor,
        } => {
            logging::init(cli.log_format.unwrap_or(logging::LogFormat::Text), "warn");
            let config = match config::load(&config.config) {
                Ok(c) => c,
                Err(e) => return fail(&e),
            };
            let names: Vec<String> = config.topics().all().into_iter().map(|(_, n)| n).collect();
            let created = runtime().block_on(kafka::create_topics(
                &config.kafka,
                &names,
                config.kafka.partitions,
                replication_factor,
            ));
            match created {
                Ok(()) => {
                    for name in &names {
                        println!("{name}");
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::Collect {
            config,
            admin_addr,
            shutdown_grace,
        } => {
            logging::init(cli.log_format.unwrap_or(logging::LogFormat::Json), "info");
            let config = match config::load(&config.config) {
                Ok(c) => c,
                Err(e) => return fail(&e),
            };
            let options = collect::CollectOptions {
                admin_addr,
                shutdown_grace: Duration::from_secs(shutdown_grace),
            };
            let result = runtime().block_on(async {
                let token = shutdown::on_signal();
                collect::run(config, options, token).await
            });
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e),
            }
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime starts")
}

/// Our errors carry their context in their message, so the top-level message is the story.
fn fail(error: &dyn std::error::Error) -> ExitCode {
    tracing::error!(error = %error, "failed");
    eprintln!("error: {error}");
    ExitCode::FAILURE
}
