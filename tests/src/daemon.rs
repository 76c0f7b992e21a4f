//! The real `tierd run` service as a child process: started with its stderr (JSON logs) in a
//! file, signalled with `kill(1)`, polled (never slept on) until what a test waits for shows,
//! and killed if a test leaves it running.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::tierd_bin;

/// A running `tierd run`.
#[derive(Debug)]
pub struct Daemon {
    child: Child,
    /// Its stderr (the JSON log lines), for assertions and for failure messages.
    pub stderr_path: PathBuf,
}

impl Daemon {
    /// Starts `tierd run --config CONFIG` in `cwd` with `TIERD_LOG=info` and extra `env`.
    ///
    /// # Panics
    /// When the binary cannot be started.
    pub fn start(cwd: &Path, config: &Path, env: &[(&str, String)]) -> Daemon {
        let stderr_path = cwd.join("tierd.stderr");
        let err = File::create(&stderr_path)
            .unwrap_or_else(|e| panic!("creating {}: {e}", stderr_path.display()));
        let out = File::create(cwd.join("tierd.stdout"))
            .unwrap_or_else(|e| panic!("creating tierd.stdout: {e}"));
        let mut cmd = Command::new(tierd_bin());
        cmd.arg("run")
            .arg("--config")
            .arg(config)
            .current_dir(cwd)
            .env("TIERD_LOG", "info")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start tierd run: {e}"));
        Daemon { child, stderr_path }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal by name (`TERM`, `HUP`, ...) with `kill(1)`.
    ///
    /// # Panics
    /// When `kill` cannot be run or fails.
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill -{sig} {} failed", self.pid());
    }

    /// Everything the service wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// The last `n` lines of stderr (for failure messages), leaving out the reports of cycles
    /// that found nothing to do.
    pub fn stderr_tail(&self, n: usize) -> String {
        let s = self.stderr();
        let lines: Vec<&str> = s
            .lines()
            .filter(|l| {
                !(l.contains("\"cycle done\"")
                    && l.contains("\"events\":0,\"bad_lines\":0,\"decisions\":0,"))
            })
            .collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// `None` while running; the exit status once it ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits up to `timeout` for the process to end.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.exited() {
                return Some(s);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Polls `f` every 200 ms until it gives a value, for at most `timeout`; on timeout (or when
    /// the service died) panics naming `what`, with the tail of the service's log.
    pub fn until<T>(
        &mut self,
        timeout: Duration,
        what: &str,
        mut f: impl FnMut() -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = f() {
                return v;
            }
            if let Some(s) = self.exited() {
                panic!(
                    "waiting for {what}: tierd exited with {s}; its log:\n{}",
                    self.stderr_tail(40)
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "waiting for {what}: not seen within {timeout:?}; the end of tierd's log:\n{}",
                    self.stderr_tail(40)
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.exited().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The JSON records of a JSON-lines file (a decision log); unparsable lines panic (a torn line
/// is a bug: the log writes whole lines).
pub fn json_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    // The last line may still be being written: only newline-terminated lines count.
    let complete = match text.rfind('\n') {
        Some(i) => &text[..=i],
        None => "",
    };
    complete
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{}: not a JSON line ({e}): {l}", path.display()))
        })
        .collect()
}
