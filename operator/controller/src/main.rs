//! `optionsflow-operator`: `run` reconciles pipelines and SymbolSets; `render` prints what it
//! would create, offline; `crd` prints the CRDs.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The worker image of this operator's own version.
const DEFAULT_WORKER_IMAGE: &str = concat!(
    "ghcr.io/optionsflow/optionsflow-worker:",
    env!("CARGO_PKG_VERSION")
);

#[derive(Parser)]
#[command(
    name = "optionsflow-operator",
    version,
    about = "The optionsflow Kubernetes operator"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the controllers (leader-elected: of several replicas only one writes).
    Run(RunArgs),
    /// Print, offline, every object the operator would create for the OptionsPipelines,
    /// SymbolSets and Secrets in these files (YAML, in apply order), as `helm template` does.
    Render {
        /// Manifests to read (several documents per file are fine; other kinds are ignored).
        #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
        files: Vec<std::path::PathBuf>,
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// Print the CustomResourceDefinitions (YAML), or write one file per CRD.
    Crd {
        /// Write `<group>_<plural>.yaml` files here instead of printing.
        #[arg(long)]
        out_dir: Option<std::path::PathBuf>,
        /// Annotate them for the Helm chart (`helm.sh/resource-policy: keep`).
        #[arg(long)]
        helm: bool,
    },
}

/// What both `run` and `render` validate pipelines against.
#[derive(clap::Args)]
struct SettingsArgs {
    /// The worker image for pipelines that do not name one.
    #[arg(long, env = "OPTIONSFLOW_WORKER_IMAGE", default_value = DEFAULT_WORKER_IMAGE)]
    worker_image: String,
    /// Prefixes a pipeline's `spec.workers.image` must start with (comma-separated; none:
    /// any image).
    #[arg(long, env = "ALLOWED_WORKER_IMAGE_PREFIXES", value_delimiter = ',')]
    allowed_image_prefixes: Vec<String>,
    /// Hosts a pipeline's provider base URLs may name (comma-separated; none: any host).
    #[arg(long, env = "ALLOWED_PROVIDER_HOSTS", value_delimiter = ',')]
    allowed_provider_hosts: Vec<String>,
}

impl SettingsArgs {
    fn settings(self) -> optionsflow_operator::validate::Settings {
        let nonempty = |list: Vec<String>| list.into_iter().filter(|s| !s.is_empty()).collect();
        optionsflow_operator::validate::Settings {
            worker_image: self.worker_image,
            allowed_image_prefixes: nonempty(self.allowed_image_prefixes),
            allowed_provider_hosts: nonempty(self.allowed_provider_hosts),
        }
    }
}

#[derive(clap::Args)]
struct RunArgs {
    /// Watch only this namespace (all namespaces when left out).
    #[arg(long, env = "WATCH_NAMESPACE")]
    namespace: Option<String>,
    /// The namespace of the leader Lease: the operator's own.
    #[arg(long, env = "POD_NAMESPACE")]
    lease_namespace: String,
    #[arg(long, env = "LEASE_NAME", default_value = "optionsflow-operator")]
    lease_name: String,
    /// This replica's identity in the Lease and in Events (the pod name).
    #[arg(long, env = "POD_NAME")]
    identity: String,
    #[command(flatten)]
    settings: SettingsArgs,
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, env = "ADMIN_ADDR", default_value = "0.0.0.0:8080")]
    admin_addr: std::net::SocketAddr,
    /// Seconds each Kafka Admin request may take.
    #[arg(long, env = "KAFKA_TIMEOUT_SECONDS", default_value_t = 10)]
    kafka_timeout_seconds: u64,
    /// Seconds the Lease stays valid without renewal.
    #[arg(long, env = "LEASE_DURATION_SECONDS", default_value_t = 15)]
    lease_duration_seconds: u64,
    /// Seconds before expiry the leader renews the Lease.
    #[arg(long, env = "LEASE_GRACE_SECONDS", default_value_t = 5)]
    lease_grace_seconds: u64,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Crd { out_dir, helm } => crd(out_dir, helm),
        Command::Run(args) => run(args),
        Command::Render { files, settings } => render(&files, settings.settings()),
    }
}

fn render(
    files: &[std::path::PathBuf],
    settings: optionsflow_operator::validate::Settings,
) -> ExitCode {
    use optionsflow_operator::render::{self, Manifests};
    match Manifests::read(files).and_then(|m| Ok((m.render(&settings)?, m))) {
        Ok((rendered, manifests)) => {
            let today = chrono::Utc::now().date_naive();
            for r in &rendered {
                for note in render::notes(&manifests, r, today) {
                    eprintln!("note: {note}");
                }
            }
            print!("{}", render::to_yaml(&rendered));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: RunArgs) -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .json()
        .flatten_event(true)
        .init();
    let config = optionsflow_operator::run::RunConfig {
        // An empty value (the chart's default) means every namespace.
        watch_namespace: args.namespace.filter(|n| !n.is_empty()),
        lease_namespace: args.lease_namespace,
        lease_name: args.lease_name,
        identity: args.identity,
        settings: args.settings.settings(),
        admin_addr: args.admin_addr,
        kafka_timeout: std::time::Duration::from_secs(args.kafka_timeout_seconds),
        lease_duration: args.lease_duration_seconds,
        lease_grace: args.lease_grace_seconds,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(optionsflow_operator::run::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "the operator stopped");
            ExitCode::FAILURE
        }
    }
}

fn crd(out_dir: Option<std::path::PathBuf>, helm: bool) -> ExitCode {
    use optionsflow_operator::crds;
    let all = crds::crds()
        .into_iter()
        .map(|(file, crd)| (file, if helm { crds::for_helm(crd) } else { crd }));
    match out_dir {
        None => {
            for (_, crd) in all {
                print!("---\n{}", crds::to_yaml(&crd));
            }
        }
        Some(dir) => {
            for (file, crd) in all {
                let path = dir.join(file);
                if let Err(e) = std::fs::write(&path, crds::to_yaml(&crd)) {
                    eprintln!("error: cannot write {}: {e}", path.display());
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    ExitCode::SUCCESS
}
