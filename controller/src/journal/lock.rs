//! The mover's lock: one tierd process at a time moves data with a journal.
//!
//! Recovery at start-up finishes or undoes every move the journal shows in flight. That is right
//! after a crash, and wrong while another process is still making those moves: a second
//! `tierd move` (or a `tierd recover`) started beside a running `tierd run` would undo a move
//! whose copy was being verified, and the first process would then delete its source. So every
//! process that moves data or recovers moves holds an exclusive lock on `<journal>.lock` for as
//! long as it runs, taken before recovery. The operating system releases it when the process
//! ends, however it ends, so a crash never leaves it held. The file names its holder.
//!
//! A lock file deleted by hand while its holder runs (it looks stale to an operator) would let a
//! second mover in, and its recovery would undo the first one's live moves. So the holder is
//! also named in the journal ([`MoverLock::claim`]: its pid, its start time and this boot), and
//! a process that takes a fresh lock refuses to go on while that process still runs.

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
    #[error(
        "{path}: another tierd (pid {pid}) is moving data with this journal, and its lock file was deleted while it runs; stop that process first (a running `tierd run` moves and recovers by itself), and never delete the lock file: the operating system lets it go when its holder ends"
    )]
    Deleted { path: PathBuf, pid: i64 },
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

    /// Names this process as the journal's mover in `journal`, after refusing to go on when the
    /// journal names another process of this boot that still runs: one whose lock file was
    /// deleted. Without `/proc` (not Linux) nothing is checked or named.
    ///
    /// # Errors
    /// [`LockError::Deleted`]; the journal's errors.
    pub fn claim(&self, journal: &mut super::Journal) -> anyhow::Result<()> {
        let Some(me) = Holder::this_process() else {
            return Ok(());
        };
        let recorded = Holder {
            pid: journal.service_state("mover_pid")?.unwrap_or(0),
            started: journal.service_state("mover_started")?.unwrap_or(0),
            boot: journal.service_state("mover_boot")?.unwrap_or(0),
        };
        if recorded.boot == me.boot && recorded.pid != me.pid && recorded.runs() {
            return Err(LockError::Deleted {
                path: self.path.clone(),
                pid: recorded.pid,
            }
            .into());
        }
        journal.set_service_state("mover_pid", me.pid)?;
        journal.set_service_state("mover_started", me.started)?;
        journal.set_service_state("mover_boot", me.boot)?;
        Ok(())
    }
}

/// A process as the journal names its mover: a pid alone could be another process's by now.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Holder {
    pid: i64,
    /// When it started, in clock ticks since boot (`/proc/PID/stat`, field 22).
    started: i64,
    /// This boot of this host (a hash of the host name and the kernel's boot id).
    boot: i64,
}

impl Holder {
    fn this_process() -> Option<Holder> {
        let pid = i64::from(std::process::id());
        Some(Holder {
            pid,
            started: started(pid)?,
            boot: this_boot()?,
        })
    }

    /// The process still runs (the same pid started at the same tick).
    fn runs(&self) -> bool {
        self.pid > 0 && started(self.pid) == Some(self.started)
    }
}

/// When process `pid` started, in clock ticks since boot; `None` when it does not run.
fn started(pid: i64) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command's name, in parentheses (which may hold spaces and parentheses):
    // field 3 (the state) onwards; the start time is field 22.
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    // A process killed but not reaped yet (a zombie) holds no lock and moves nothing.
    if matches!(fields.next()?, "Z" | "X" | "x") {
        return None;
    }
    fields.nth(18)?.parse().ok()
}

/// This boot of this host and pid namespace, as a number: a journal on storage two hosts (or
/// two containers) share names another, whose pids mean nothing here.
fn this_boot() -> Option<i64> {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let ns = std::fs::read_link("/proc/self/ns/pid")
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    Some(super::stable_id(&format!(
        "{}|{}|{ns}",
        boot.trim(),
        host.trim()
    )))
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
    fn a_holder_whose_lock_file_was_deleted_is_found_in_the_journal_while_it_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tierd.db");
        let mut journal = super::super::Journal::open(&path).unwrap();
        let lock = MoverLock::acquire(&path, "run").unwrap();
        lock.claim(&mut journal).unwrap();
        // This process again (a start after a stop in the same process): taken.
        lock.claim(&mut journal).unwrap();
        // A process that runs (the test's parent, pid 1's child...: any live one but this).
        let other = std::os::unix::process::parent_id();
        let me = Holder::this_process().unwrap();
        let live = Holder {
            pid: i64::from(other),
            started: started(i64::from(other)).unwrap(),
            boot: me.boot,
        };
        let name = |j: &mut super::super::Journal, h: Holder| {
            j.set_service_state("mover_pid", h.pid).unwrap();
            j.set_service_state("mover_started", h.started).unwrap();
            j.set_service_state("mover_boot", h.boot).unwrap();
        };
        name(&mut journal, live);
        let err = lock.claim(&mut journal).unwrap_err().to_string();
        assert!(
            err.contains(&format!(
                "another tierd (pid {other}) is moving data with this journal, and its lock file was deleted"
            )),
            "{err}"
        );
        // The same pid started at another tick (reused), or named on another boot: gone.
        for gone in [
            Holder {
                started: live.started + 1,
                ..live
            },
            Holder {
                boot: me.boot ^ 1,
                ..live
            },
        ] {
            name(&mut journal, gone);
            lock.claim(&mut journal).unwrap();
            assert_eq!(journal.service_state("mover_pid").unwrap(), Some(me.pid));
        }
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
