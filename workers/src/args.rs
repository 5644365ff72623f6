//! The command line: the subcommands, one per role and tool, and their flags. `main` runs
//! what they say.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Parser, Subcommand};
use optionsflow_api::role::env;
use optionsflow_api::{Dataset, Role};
use optionsflow_workers::roles::{calendar, local, predict};
use optionsflow_workers::runtime::liveness::{self, Liveness};
use optionsflow_workers::runtime::{RoleOptions, config, logging};

#[derive(Parser)]
#[command(
    name = "optionsflow-worker",
    version,
    about = "optionsflow's workers: collect, process and store U.S. stock and option market data"
)]
pub struct Cli {
    /// Log format on stderr (JSON for the long-running roles by default).
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<logging::LogFormat>,
    /// Parse the arguments, read the config and check that everything the command needs is
    /// there (the environment variables it names, a database, a file store, API tokens), then
    /// exit without starting.
    #[arg(long, global = true, env = env::CHECK)]
    pub check: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Args)]
pub struct ConfigArg {
    /// The runtime config (JSON) the operator renders into a ConfigMap.
    #[arg(long, env = env::CONFIG, default_value = config::DEFAULT_PATH)]
    pub config: PathBuf,
}

#[derive(Subcommand)]
pub enum Command {
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
pub struct RunArgs {
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, env = env::ADMIN_ADDR, default_value = "0.0.0.0:9090")]
    pub admin_addr: SocketAddr,
    /// How long the work in hand (a task, a message, a batch) may go on after SIGTERM.
    #[arg(long, default_value = "20", value_name = "SECONDS")]
    pub shutdown_grace: u64,
    /// /healthz fails when work has been held this long without progress (a hung call, a
    /// store that never answers), so that Kubernetes restarts the pod.
    #[arg(long, env = "OPTIONSFLOW_STALL_SECONDS", value_name = "SECONDS",
          default_value_t = liveness::DEFAULT_STALL_LIMIT.as_secs())]
    pub stall_seconds: u64,
}

impl RunArgs {
    pub fn options(&self) -> RoleOptions {
        RoleOptions {
            admin_addr: self.admin_addr,
            shutdown_grace: Duration::from_secs(self.shutdown_grace),
            liveness: Liveness::new(Duration::from_secs(self.stall_seconds)),
        }
    }
}

impl Command {
    /// The role a command runs, if it runs one: the worker's side of [`Role`]'s contract.
    pub fn role(&self) -> Option<Role> {
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
