//! The decision log: every decision as one JSON line (the record in DESIGN.md), appended to a
//! file and/or written to stderr through `tracing` (target `tierd::decision`). The file is
//! reopened on SIGHUP so logrotate can move it away.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::decision::Decision;

/// Where decisions are written.
#[derive(Debug)]
pub struct DecisionLog {
    path: Option<PathBuf>,
    file: Option<File>,
    stderr: bool,
}

/// `e`, with the decision log's path and what was being done in front of it.
fn located(path: &Path, doing: &str, e: std::io::Error) -> std::io::Error {
    std::io::Error::new(
        e.kind(),
        format!("{}: {doing} the decision log: {e}", path.display()),
    )
}

fn open(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| located(path, "creating the folder of", e))?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| located(path, "opening", e))
}

impl DecisionLog {
    /// Opens (creating, appending) the file when one is configured.
    ///
    /// # Errors
    /// The file or its folder cannot be created; the error names the file.
    pub fn open(path: Option<&Path>, stderr: bool) -> std::io::Result<DecisionLog> {
        let file = path.map(open).transpose()?;
        Ok(DecisionLog {
            path: path.map(Path::to_path_buf),
            file,
            stderr,
        })
    }

    /// Reopens the file (after logrotate moved it).
    ///
    /// # Errors
    /// The file cannot be created; the old handle is kept then.
    pub fn reopen(&mut self) -> std::io::Result<()> {
        if let Some(p) = &self.path {
            self.file = Some(open(p)?);
        }
        Ok(())
    }

    /// Writes decisions, one JSON line each, and flushes.
    ///
    /// # Errors
    /// The file cannot be written (the error names it).
    pub fn write(&mut self, decisions: &[Decision]) -> std::io::Result<()> {
        self.write_lines(decisions).map_err(|e| match &self.path {
            Some(p) => located(p, "writing", e),
            None => e,
        })
    }

    fn write_lines(&mut self, decisions: &[Decision]) -> std::io::Result<()> {
        for d in decisions {
            let mut line = serde_json::to_string(d).map_err(std::io::Error::other)?;
            if self.stderr {
                tracing::info!(target: "tierd::decision", decision = %line);
            }
            if let Some(f) = &mut self.file {
                // One write of the whole line: an operator's command appending to the same
                // file (O_APPEND) between two writes would run two records together.
                line.push('\n');
                f.write_all(line.as_bytes())?;
            }
        }
        if let Some(f) = &mut self.file {
            f.flush()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::{Action, State};

    #[test]
    fn decisions_are_json_lines_and_survive_a_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/decisions.jsonl");
        let mut log = DecisionLog::open(Some(&path), false).unwrap();
        let d = Decision {
            id: "alert-1".into(),
            at: "2026-11-29T10:00:00Z".into(),
            action: Action::Alert,
            bucket: Some("b".into()),
            key: None,
            prefix: Some(String::new()),
            from: None,
            to: None,
            rule: Some("r".into()),
            anomaly: None,
            reason: "x".into(),
            cost: None,
            undo: None,
            state: State::Done,
            why: None,
            explanation: None,
        };
        log.write(std::slice::from_ref(&d)).unwrap();
        std::fs::rename(&path, dir.path().join("logs/decisions.jsonl.1")).unwrap();
        log.reopen().unwrap();
        log.write(std::slice::from_ref(&d)).unwrap();
        let rotated = std::fs::read_to_string(dir.path().join("logs/decisions.jsonl.1")).unwrap();
        let fresh = std::fs::read_to_string(&path).unwrap();
        for text in [rotated, fresh] {
            let back: Decision = serde_json::from_str(text.trim_end()).unwrap();
            assert_eq!(back, d);
        }
    }

    #[test]
    fn a_decision_log_that_cannot_be_opened_is_named_with_the_cause() {
        let dir = tempfile::tempdir().unwrap();
        // A folder where the file should be: refused whoever runs the test (root too).
        let path = dir.path().join("decisions.jsonl");
        std::fs::create_dir(&path).unwrap();
        let e = DecisionLog::open(Some(&path), false).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}: opening the decision log: Is a directory (os error 21)",
                path.display()
            )
        );
        // Under a regular file: no folder can be made there.
        let under = dir.path().join("file/decisions.jsonl");
        std::fs::write(dir.path().join("file"), b"").unwrap();
        let e = DecisionLog::open(Some(&under), false).unwrap_err();
        assert!(
            e.to_string().starts_with(&format!(
                "{}: creating the folder of the decision log: ",
                under.display()
            )),
            "{e}"
        );
    }
}
