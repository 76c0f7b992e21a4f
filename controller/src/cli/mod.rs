//! The `tierd` command line: one module per subcommand, each with an `Args` struct and a `run`.

pub mod check;
pub mod ingest;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// tierd: anomaly-driven data mobility for storage tiers.
#[derive(Debug, Parser)]
#[command(name = "tierd", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read access logs and print what tierd sees in them.
    Ingest(ingest::IngestArgs),
    /// Validate policy files and the main configuration, and run the tests inside policy files.
    Check(check::CheckArgs),
}

/// Runs the parsed command line.
///
/// # Errors
/// Whatever the subcommand reports; `main` prints it.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Ingest(a) => ingest::run(a),
        Command::Check(a) => check::run(&a),
    }
}
