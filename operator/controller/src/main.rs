//! `optionsflow-operator`: reconciles OptionsPipeline and SymbolSet objects into Kafka
//! topics, worker Deployments and schedules. Not built yet (issue 3); the subcommands exist
//! so the image, the chart and the docs can name them.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    /// Run the controller.
    Run,
    /// Print the CustomResourceDefinitions.
    Crd,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let what = match cli.command {
        Command::Run => "run",
        Command::Crd => "crd",
    };
    eprintln!("optionsflow-operator {what}: not implemented yet (see issue 3)");
    ExitCode::from(2)
}
