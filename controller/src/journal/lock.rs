//! The mover's lock: one tierd process at a time moves data with a journal.
//!
//! Recovery at start-up finishes or undoes every move the journal shows in flight. That is right
//! after a crash, and wrong while another process is still making those moves: a second
//! `tierd move` (or a `tierd recover`) started beside a running `tierd run` would undo a move
//! whose copy was being verified, and the first process would then delete its source. So every
//! process that moves data or recovers moves holds an exclusive lock on `<journal>.lock` for as
//! long as it runs, taken before recovery. The operating system releases it when the process
//! ends, however it ends, so a crash never leaves it held. The file names its holder.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// An exclusive lock on a journal's `.lock` file, held until dropped.
#[derive(Debug)]
pub struct MoverLock {
    _file: File,
    path: PathBuf,
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    #[error(
        "{path}: another tierd is moving data with this journal ({holder}); wait for it to finish, or stop it first: a running `tierd run` moves and recovers by itself"
    )]
    Held { path: PathBuf, holder: String },
    /// (The cause is in the message, and not a `source` as well: it would be printed twice.)
    #[error(
        "{path}: cannot open the journal's lock file: {cause}; the journal's folder must be writable by the user tierd runs as"
    )]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
}

impl MoverLock {
    /// The lock file of the journal at `journal`.
    pub fn path_for(journal: &Path) -> PathBuf {
        let mut name = journal.as_os_str().to_os_string();
        name.push(".lock");
        PathBuf::from(name)
    }

    /// Takes the lock of the journal at `journal` for this process, which `what` names (the
    /// command), or says who holds it. Never waits.
    ///
    /// # Errors
    /// [`LockError::Held`] while another process holds it; [`LockError::Io`] when the file
    /// cannot be opened.
    pub fn acquire(journal: &Path, what: &str) -> Result<MoverLock, LockError> {
        let path = Self::path_for(journal);
        let io = |cause| LockError::Io {
            path: path.clone(),
            cause,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let opened = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path);
        // A lock file another user left (root ran a command once) may not be writable by this
        // one: a lock needs only to read it, so the holder just goes unnamed. (When there is no
        // file to read, the folder refused to create it: that refusal is the cause.)
        let (mut file, writable) = match opened {
            Ok(f) => (f, true),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                (File::open(&path).map_err(|_| io(e))?, false)
            }
            Err(e) => return Err(io(e)),
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                let holder = if holder.is_empty() {
                    "a process that has not named itself yet".to_string()
                } else {
                    holder.to_string()
                };
                return Err(LockError::Held { path, holder });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        // Name the holder for whoever finds the lock taken.
        if writable {
            file.set_len(0).map_err(io)?;
            file.rewind().map_err(io)?;
            writeln!(file, "pid {}, `tierd {what}`", std::process::id()).map_err(io)?;
            file.flush().map_err(io)?;
        }
        Ok(MoverLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_the_refusal_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("data/tierd.db");
        let held = MoverLock::acquire(&journal, "run").unwrap();
        assert_eq!(held.path(), dir.path().join("data/tierd.db.lock"));
        let err = MoverLock::acquire(&journal, "move")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("(pid {}, `tierd run`)", std::process::id())),
            "{err}"
        );
        assert!(err.contains("another tierd is moving data"), "{err}");
        drop(held);
        let again = MoverLock::acquire(&journal, "move").unwrap();
        let text = std::fs::read_to_string(again.path()).unwrap();
        assert_eq!(text, format!("pid {}, `tierd move`\n", std::process::id()));
    }

    #[test]
    fn a_lock_file_that_cannot_be_made_names_its_cause_once() {
        let dir = tempfile::tempdir().unwrap();
        // A journal under a regular file: refused whoever runs the test (root too).
        std::fs::write(dir.path().join("file"), b"").unwrap();
        let journal = dir.path().join("file/tierd.db");
        let e = anyhow::Error::from(MoverLock::acquire(&journal, "run").unwrap_err());
        let text = format!("{e:#}");
        let head = format!(
            "{}.lock: cannot open the journal's lock file: ",
            journal.display()
        );
        assert!(text.starts_with(&head), "{text}");
        assert!(
            text.ends_with("; the journal's folder must be writable by the user tierd runs as"),
            "{text}"
        );
        assert_eq!(text.matches("(os error").count(), 1, "{text}");
    }
}
