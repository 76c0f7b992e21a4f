//! `tierd run`: the service (see [`crate::service`]).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::common::runtime;
use crate::service::{self, RunOptions};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The main configuration file. Default: the embedded defaults (./tierd-data, the bundled
    /// sample logs and policy, and the demo's objects).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Run one cycle (ingest, score, plan, execute), print what it did as JSON, and exit.
    #[arg(long)]
    pub once: bool,
}

/// Runs the service.
///
/// # Errors
/// Start-up failures; see [`service::run`].
pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(service::run(RunOptions {
        config: args.config,
        once: args.once,
    }))
}
