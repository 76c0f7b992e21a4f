use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = tierd::cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TIERD_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("warn,tierd::decision=info")
            }),
        )
        .with_writer(std::io::stderr)
        .json()
        .init();
    match tierd::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
