//! The `rnnlm` command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use rnnlm::backend::Backend;
use rnnlm::check;

/// The recurrent language model of "Deep Learning from Scratch 2", chapter 5, on Burn.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Compare the Burn model with the manual-backward reference, and the
    /// reference with finite differences; exit 1 if any tolerance fails.
    Check(CheckArgs),
}

#[derive(clap::Args, Debug)]
struct CheckArgs {
    /// Backend to run the Burn model on (default: wgpu if built in, else ndarray).
    #[arg(long, value_enum)]
    backend: Option<Backend>,
    /// Skip the comparison at the notebook's sizes (V = 10,000).
    #[arg(long)]
    small_only: bool,
    /// Optimizer steps in the trajectory comparison.
    #[arg(long, default_value_t = 50)]
    steps: usize,
    /// Seed of the weights and data.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn run_check(args: CheckArgs) -> Result<ExitCode, String> {
    let backend = args.backend.unwrap_or_else(Backend::default_for_build);
    let device = backend.device()?;
    println!("checking the Burn model on {backend} against the manual-backward reference");
    let opts = check::CheckOptions { seed_sizes: !args.small_only, steps: args.steps, seed: args.seed };
    let report = check::run(&device, check::tolerance_for(backend), opts);
    print!("{}", check::format_report(&report));
    Ok(if report.passed() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => run_check(args),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}
