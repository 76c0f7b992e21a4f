//! The main configuration is read once, at start. An edit of it on disk would otherwise go
//! unnoticed until the next restart, which then applies it, or refuses to start if it is broken:
//! after each cycle (and on SIGHUP) the file is compared with the one in force, and a change is
//! logged once, checked, and shown by `/readyz` as a warning until a restart applies it or the
//! file is put back.

use std::path::{Path, PathBuf};

use crate::config::Config;

/// The configuration file in force and what `/readyz` says of an edit of it.
#[derive(Debug, Default)]
pub struct ConfigWatch {
    path: Option<PathBuf>,
    /// The file's bytes as the service started with them.
    in_force: Option<Vec<u8>>,
    /// What was last reported on, the bytes or why they could not be read (each edit, and
    /// each failure to read, is logged once).
    reported: Option<Result<Vec<u8>, String>>,
    /// The `/readyz` warning while the file differs from the one in force.
    pub note: Option<String>,
}

impl ConfigWatch {
    /// Watches `path` (none for the embedded defaults), as it is now.
    pub fn new(path: Option<&Path>) -> ConfigWatch {
        ConfigWatch {
            path: path.map(Path::to_path_buf),
            in_force: path.and_then(|p| std::fs::read(p).ok()),
            ..ConfigWatch::default()
        }
    }

    /// Compares the file with the one in force; logs a new edit once, with whether a restart
    /// would take it.
    pub fn check(&mut self) {
        let (Some(path), Some(in_force)) = (&self.path, &self.in_force) else {
            return;
        };
        // What is on disk now: the bytes, or why they cannot be read.
        let now = std::fs::read(path).map_err(|e| e.to_string());
        if now.as_ref().is_ok_and(|bytes| bytes == in_force) {
            if self.reported.take().is_some() {
                tracing::info!(
                    target: "tierd::config",
                    "{} is again the configuration in force",
                    path.display()
                );
            }
            self.note = None;
            return;
        }
        if self.reported.as_ref() == Some(&now) {
            return;
        }
        let note = match &now {
            Ok(_) => describe(path),
            Err(e) => format!(
                "{} cannot be read now ({e}); the configuration read at start stays in force, and a restart would refuse to start",
                path.display()
            ),
        };
        tracing::warn!(target: "tierd::config", "{note}");
        self.reported = Some(now);
        self.note = Some(note);
    }
}

/// What an edit of the configuration at `path` means: a restart applies it, or refuses it.
fn describe(path: &Path) -> String {
    let shown = path.display();
    match Config::load(path) {
        Ok(_) => format!(
            "{shown} changed since tierd started; restart the service to apply it (a SIGHUP reloads only the policy files)"
        ),
        Err(diags) => {
            let first = diags
                .iter()
                .find(|d| d.is_error())
                .or(diags.first())
                .map_or_else(String::new, |d| format!(" ({d})"));
            format!(
                "{shown} changed since tierd started and is not valid{first}; the configuration read at start stays in force, and a restart would refuse to start"
            )
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::ConfigWatch;

    fn note(w: &ConfigWatch) -> Option<String> {
        w.note.clone()
    }

    #[test]
    fn an_edit_is_noted_until_the_file_is_put_back_and_a_broken_one_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tierd.toml");
        let tiers = "[tiers.onprem]\nurl = \"file:///srv/onprem\"\n";
        let good = format!("[journal]\npath = \"j.db\"\n{tiers}");
        std::fs::write(&path, &good).unwrap();
        let mut w = ConfigWatch::new(Some(&path));
        w.check();
        assert_eq!(note(&w), None);

        std::fs::write(&path, format!("[journal]\npath = \"other.db\"\n{tiers}")).unwrap();
        w.check();
        let n = note(&w).unwrap();
        assert!(
            n.ends_with("tierd.toml changed since tierd started; restart the service to apply it (a SIGHUP reloads only the policy files)"),
            "{n}"
        );

        std::fs::write(&path, format!("[journal]\npaht = \"j.db\"\n{tiers}")).unwrap();
        w.check();
        let n = note(&w).unwrap();
        assert!(
            n.contains("tierd.toml changed since tierd started and is not valid (")
                && n.contains("tierd.toml:2:1: error:")
                && n.ends_with("a restart would refuse to start"),
            "{n}"
        );

        std::fs::remove_file(&path).unwrap();
        w.check();
        assert!(
            note(&w).unwrap().contains("cannot be read now"),
            "{:?}",
            note(&w)
        );

        std::fs::write(&path, &good).unwrap();
        w.check();
        assert_eq!(note(&w), None);
    }

    #[test]
    fn the_embedded_defaults_have_no_file_to_watch() {
        let mut w = ConfigWatch::new(None);
        w.check();
        assert_eq!(note(&w), None);
    }
}
