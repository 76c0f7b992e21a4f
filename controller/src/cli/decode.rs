//! Parquet files are decoded in a child `tierd` before this process reads them.
//!
//! A damaged Parquet file can make polars ask for an impossible allocation, and Rust aborts the
//! process on that (see `models::parquet`). [`install`] makes every Parquet read of this process
//! start with `tierd decode-parquet` (a hidden command) on the same file: if the child dies,
//! the file is refused with what the child said, and the service goes on.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

/// Decodes a Parquet file in full, as tierd reads it, and prints nothing when it could.
#[derive(Debug, clap::Args)]
pub struct DecodeArgs {
    /// Rows per slice: the slice size of the read that follows.
    #[arg(long)]
    pub slice: usize,
    /// The Parquet file.
    pub path: PathBuf,
}

/// Runs the command (in the child).
///
/// # Errors
/// The file cannot be decoded.
pub fn run(args: &DecodeArgs) -> anyhow::Result<ExitCode> {
    // The error's own text, once (its source is already in it), for the parent to quote.
    models::parquet::decode_here(&args.path, args.slice).map_err(|e| match e {
        models::Error::Polars(e) => anyhow::anyhow!("not a readable Parquet file ({e})"),
        other => anyhow::anyhow!("{other}"),
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Sets `models::parquet`'s decoder to a child running this executable. Call once, at start,
/// in the `tierd` binary only (a test binary is not `tierd`).
pub fn install() {
    // /proc/self/exe runs this very program even after an upgrade replaced its file.
    let exe = Some(PathBuf::from("/proc/self/exe"))
        .filter(|p| p.exists())
        .or_else(|| std::env::current_exe().ok());
    if let Some(exe) = exe {
        models::parquet::set_decoder(move |path, slice| decode_in_child(&exe, path, slice));
    }
}

/// What a child decoding `path` says of it: nothing when it read the whole file.
fn decode_in_child(exe: &Path, path: &Path, slice: usize) -> Result<(), String> {
    let out = Command::new(exe)
        .arg("decode-parquet")
        .arg("--slice")
        .arg(slice.to_string())
        .arg("--")
        .arg(path)
        .env("RUST_BACKTRACE", "0")
        .env("TIERD_LOG", "off")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    let out = match out {
        Ok(out) => out,
        Err(e) => {
            // Without a child the file is read as before, here; say so once per file.
            tracing::warn!(
                file = %path.display(),
                error = %e,
                "cannot start a child to decode a Parquet file first; reading it directly"
            );
            return Ok(());
        }
    };
    if out.status.success() {
        return Ok(());
    }
    Err(refusal(&out.status, &String::from_utf8_lossy(&out.stderr)))
}

/// The reason a file is refused, from how its child ended and what it wrote.
fn refusal(status: &std::process::ExitStatus, stderr: &str) -> String {
    use std::os::unix::process::ExitStatusExt;
    let said = stderr
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let said: String = said.chars().take(300).collect();
    match status.signal() {
        Some(signal) => {
            let what = if said.is_empty() {
                String::new()
            } else {
                format!(": {said}")
            };
            format!(
                "not a readable Parquet file (decoding it killed the reader with {}{what})",
                signal_name(signal)
            )
        }
        // The child's own error: `error: not a readable Parquet file (...)`, or an error
        // opening the file.
        None => {
            let said = said.strip_prefix("error: ").unwrap_or(&said);
            if said.is_empty() {
                format!("not a readable Parquet file (its decoder exited with {status})")
            } else {
                said.to_string()
            }
        }
    }
}

/// A signal as `SIGABRT (6)`.
fn signal_name(signal: i32) -> String {
    let name = match signal {
        6 => "SIGABRT",
        7 => "SIGBUS",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        _ => return format!("signal {signal}"),
    };
    format!("{name} ({signal})")
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;

    use super::refusal;

    #[test]
    fn an_aborted_child_is_reported_with_its_signal_and_its_first_line() {
        // SIGABRT is 6; a raw wait status of a signal is the signal number.
        let said = "memory allocation of 2305843009213693904 bytes failed\nstack backtrace:\n";
        assert_eq!(
            refusal(&ExitStatus::from_raw(6), said),
            "not a readable Parquet file (decoding it killed the reader with SIGABRT (6): memory allocation of 2305843009213693904 bytes failed)"
        );
    }

    #[test]
    fn a_child_that_failed_is_reported_with_its_own_error() {
        let exited_2 = ExitStatus::from_raw(2 << 8);
        assert_eq!(
            refusal(
                &exited_2,
                "error: not a readable Parquet file (corrupt or truncated: out of spec)\n"
            ),
            "not a readable Parquet file (corrupt or truncated: out of spec)"
        );
        assert_eq!(
            refusal(&exited_2, ""),
            "not a readable Parquet file (its decoder exited with exit status: 2)"
        );
    }
}
