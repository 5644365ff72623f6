//! `optionsflow-operator`: `run` reconciles pipelines; `crd` prints the CRDs.

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
    /// Print the CustomResourceDefinitions (YAML), or write one file per CRD.
    Crd {
        /// Write `<group>_<plural>.yaml` files here instead of printing.
        #[arg(long)]
        out_dir: Option<std::path::PathBuf>,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Crd { out_dir: None } => {
            print!("{}", optionsflow_operator::crds::all_yaml());
            ExitCode::SUCCESS
        }
        Command::Crd { out_dir: Some(dir) } => {
            for (file, crd) in optionsflow_operator::crds::crds() {
                let path = dir.join(file);
                if let Err(e) = std::fs::write(&path, optionsflow_operator::crds::to_yaml(&crd)) {
                    eprintln!("error: cannot write {}: {e}", path.display());
                    return ExitCode::FAILURE;
                }
            }
            ExitCode::SUCCESS
        }
        Command::Run => {
            eprintln!("optionsflow-operator run: not implemented yet");
            ExitCode::from(2)
        }
    }
}
