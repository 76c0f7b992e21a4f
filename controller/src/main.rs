use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // First: a SIGHUP (a reload) sent to `tierd run` as it starts must not end it.
    tierd::service::catch_early_sighup();
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
                tracing_subscriber::EnvFilter::new(
                    "warn,tierd::decision=info,tierd::lifecycle=info",
                )
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
    use std::io::ErrorKind::BrokenPipe;
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == BrokenPipe)
            // A JSON summary written into the pipe: serde_json keeps the I/O error inside.
            || c.downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(BrokenPipe))
    })
}

#[cfg(test)]
mod tests {
    use super::broken_pipe;

    /// A writer whose reader has gone.
    struct Gone;

    impl std::io::Write for Gone {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_pipe_closed_under_plain_or_json_output_is_a_quiet_stop_and_nothing_else_is() {
        use std::io::Write;
        let plain = anyhow::Error::from(writeln!(Gone, "x").unwrap_err());
        assert!(broken_pipe(&plain));
        let json = anyhow::Error::from(serde_json::to_writer(Gone, &[1, 2, 3]).unwrap_err());
        assert!(broken_pipe(&json.context("writing the summary")));
        let other = anyhow::Error::from(serde_json::from_str::<u8>("x").unwrap_err());
        assert!(!broken_pipe(&other));
    }
}
