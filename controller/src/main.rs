use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = tierd::cli::Cli::parse();
    // A corrupt Parquet log or inventory is an error of that file, not a panic report.
    models::parquet::quiet_guarded_panics();
    // ... and a damaged one that would abort the reader is refused, decoded first in a child.
    if !matches!(cli.command, tierd::cli::Command::DecodeParquet(_)) {
        tierd::cli::decode::install();
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TIERD_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("warn,tierd::decision=info")
            }),
        )
        .with_writer(std::io::stderr)
        .json()
        .init();
    // A command whose output is piped into `head` or a pager that quits stops quietly, as
    // Unix tools do; the service reports every error.
    let service = matches!(cli.command, tierd::cli::Command::Run(_));
    match tierd::cli::run(cli) {
        Ok(code) => code,
        Err(e) if !service && broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Whether `e` is a write to a pipe whose reader has gone.
fn broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
