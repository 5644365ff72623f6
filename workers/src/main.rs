//! `optionsflow-worker`: one image, one subcommand per role.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use clap::{Parser, Subcommand};
use optionsflow_api::Dataset;
use optionsflow_workers::bus::kafka;
use optionsflow_workers::roles::{calendar, collect, greeks, process, trigger};
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
    /// Consume the raw topics, clean and enrich, publish typed records to the processed
    /// topics (and what cannot be used to dead-letter).
    Process {
        #[command(flatten)]
        config: ConfigArg,
        /// Address of /metrics, /healthz and /readyz.
        #[arg(long, env = "OPTIONSFLOW_ADMIN_ADDR", default_value = "0.0.0.0:9090")]
        admin_addr: SocketAddr,
        /// How long messages in flight may go on after SIGTERM.
        #[arg(long, default_value = "20", value_name = "SECONDS")]
        shutdown_grace: u64,
    },
    /// Implied volatility and Greeks for a CSV of option prices on standard input
    /// (`spot,strike,years,rate,dividend_yield,right,price`), written to standard output with
    /// `iv,delta,gamma,theta,vega,rho,status` appended.
    Greeks,
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
    let (format, level) = match cli.command {
        Command::Calendar { .. } | Command::Topics { .. } | Command::Greeks => {
            (logging::LogFormat::Text, "warn")
        }
        Command::Trigger { .. } | Command::Collect { .. } | Command::Process { .. } => {
            (logging::LogFormat::Json, "info")
        }
    };
    logging::init(cli.log_format.unwrap_or(format), level);
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        // Our errors carry their context in their message, so the top-level message is the story.
        Err(error) => {
            tracing::error!(%error, "failed");
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        Command::Calendar { year, date, format } => {
            let text = match date {
                Some(d) => calendar::date_report(d, format),
                None => calendar::year_report(year.unwrap_or_else(|| Utc::now().year()), format),
            };
            print!("{text}");
        }
        Command::Process {
            config,
            admin_addr,
            shutdown_grace,
        } => {
            let config = config::load(&config.config)?;
            let options = process::ProcessOptions {
                admin_addr,
                shutdown_grace: Duration::from_secs(shutdown_grace),
            };
            runtime()
                .block_on(async { process::run(config, options, shutdown::on_signal()).await })?;
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
        Command::Collect {
            config,
            admin_addr,
            shutdown_grace,
        } => {
            let config = config::load(&config.config)?;
            let options = collect::CollectOptions {
                admin_addr,
                shutdown_grace: Duration::from_secs(shutdown_grace),
            };
            runtime()
                .block_on(async { collect::run(config, options, shutdown::on_signal()).await })?;
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
