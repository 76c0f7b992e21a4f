//! (being written by the policies work; replaced wholesale)
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Policy files and the main configuration file.
    pub files: Vec<PathBuf>,
    #[arg(long)]
    pub deny_warnings: bool,
    #[arg(long)]
    pub config: Option<PathBuf>,
}

pub fn run(_args: &CheckArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("tierd check is not available in this build")
}
