//! The journal: one SQLite file holding tierd's durable state.
//!
//! # Layout
//! - [`migrations`]: the versioned schema (`PRAGMA user_version`), applied at open.
//! - [`catalog`]: where every object lives now, since when, by which decision.
//! - [`decisions`]: every decision record, queryable by scope, action and state.
//! - [`moves`]: every step of every move, so a crash is recovered.
//! - [`snapshots`]: every snapshot and its manifest's hash (the chain's links).
//! - [`checkpoints`]: how far each log file or log object has been ingested.
//! - [`freezes`]: open and lifted freezes.
//! - [`uploads`]: multipart uploads in flight on S3 tiers, so a crash does not leave one behind.
//! - [`staging`]: staging files being written on local filesystem tiers, for the same reason.
//! - [`retention`]: forgetting finished history older than `journal.keep_decisions`.
//!
//! The file is opened in WAL mode so the CLI can read while the service writes; every write is a
//! transaction, so a crash leaves either the old or the new state.

pub mod access;
pub mod behaviour;
pub mod catalog;
pub mod checkpoints;
pub mod decisions;
pub mod freezes;
pub mod lock;
mod migrations;
pub mod moves;
pub mod retention;
pub mod snapshots;
pub mod staging;
pub mod uploads;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

/// Journal errors. The message starts with the journal's path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    #[error("{path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{path}: cannot create its folder: {source}")]
    Folder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path}: the journal's schema is version {found}, newer than this tierd understands ({supported}); upgrade tierd or restore a backup"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error(
        "{path}: move {id} is no longer in flight: another process ended it; its source is kept"
    )]
    MoveNotInFlight { path: PathBuf, id: i64 },
    #[error(
        "{path}: no journal there; give the service's configuration with --config (a service that never started has none yet; decisions and explain also read a decision log with --log)"
    )]
    Missing { path: PathBuf },
    #[error(
        "{path}: this user cannot write the journal: {cause}; the journal, its folder and the files beside it (-wal, -shm) must be writable by the user tierd runs as (chown them to it)"
    )]
    ReadOnly { path: PathBuf, cause: String },
}

/// Whether SQLite refused a write for want of permission (not for a lock held elsewhere).
fn write_refused(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode::{CannotOpen, PermissionDenied, ReadOnly};
    matches!(
        e.sqlite_error_code(),
        Some(ReadOnly | CannotOpen | PermissionDenied)
    )
}

/// Why `tierd run` would refuse the journal at `path` for its schema: written by a newer tierd.
/// Read without a write or a migration (`tierd check` looks, it changes nothing); `None` when
/// there is no journal yet or it cannot be read (other checks say so).
pub fn newer_schema(path: &Path) -> Option<String> {
    if !path.exists() {
        return None;
    }
    let c = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .ok()?;
    let found: i64 = c
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .ok()?;
    (found > migrations::LATEST).then(|| {
        format!(
            "the journal's schema is version {found}, newer than this tierd understands ({}); upgrade tierd or restore a backup",
            migrations::LATEST
        )
    })
}

/// How a journal damaged on disk (truncated, a page overwritten: `database disk image is
/// malformed`) shows before every command refuses it: SQLite's `quick_check` of every page,
/// read-only: it reads the whole file (a 1 GB journal: 1.5 s cached, 23 s from a cold disk on
/// the 2-vCPU test VM, docs/BENCHMARKS.md). `None` when the journal is
/// sound, does not exist yet, or cannot be opened for another reason (this user's rights:
/// said by the checks that write).
pub fn damage(path: &Path) -> Option<String> {
    if !path.is_file() {
        return None;
    }
    let c = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .ok()?;
    let damaged = |e: &rusqlite::Error| {
        matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
        )
    };
    let found = c.prepare("PRAGMA quick_check(5)").and_then(|mut st| {
        st.query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<String>>>()
    });
    match found {
        Ok(lines) if lines == ["ok"] => None,
        Ok(lines) => Some(lines.join("; ")),
        Err(e) if damaged(&e) => Some(e.to_string()),
        Err(_) => None,
    }
}

/// A stable, positive 63-bit number for `text` (FNV-1a, its top bit dropped): a journal's
/// identity ([`crate::service::owner::new_journal_id`]), a boot's (the mover's lock).
pub fn stable_id(text: &str) -> i64 {
    let h = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (h >> 1) as i64
}

/// The journal at `path` and the files SQLite keeps beside it (`-wal`, `-shm`): what a process
/// that writes the journal must be able to write. (The `.lock` file needs only to be read.)
pub fn journal_files(path: &Path) -> [PathBuf; 3] {
    let beside = |suffix: &str| {
        let mut p = path.as_os_str().to_os_string();
        p.push(suffix);
        PathBuf::from(p)
    };
    [path.to_path_buf(), beside("-wal"), beside("-shm")]
}

/// Why this user cannot write the journal at `path`: the first of the journal's files that
/// refuses to open for writing (opened to append, so nothing changes), else what SQLite said.
fn write_denied(path: &Path, sqlite: Option<&rusqlite::Error>) -> JournalError {
    let files = journal_files(path);
    let refused = files.iter().filter(|f| f.exists()).find_map(|f| {
        let opened = std::fs::OpenOptions::new().append(true).open(f);
        // The journal itself is named already.
        opened.err().map(|e| {
            if f == path {
                e.to_string()
            } else {
                format!("{}: {e}", f.display())
            }
        })
    });
    let cause = refused
        .or_else(|| sqlite.map(ToString::to_string))
        .unwrap_or_else(|| "SQLite opened it read-only".into());
    JournalError::ReadOnly {
        path: path.to_path_buf(),
        cause,
    }
}

pub type Result<T, E = JournalError> = std::result::Result<T, E>;

/// Locks a shared journal (its calls are short; a poisoned lock still holds a consistent file:
/// every write is a transaction).
pub fn lock(journal: &std::sync::Mutex<Journal>) -> std::sync::MutexGuard<'_, Journal> {
    journal
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs the statement `sql` once for each set of parameters in `rows`, inside `tx` (the saves of
/// the planner's tables: upserts and deletes by key).
pub(crate) fn execute_each<P: rusqlite::Params>(
    tx: &rusqlite::Transaction,
    sql: &str,
    rows: impl IntoIterator<Item = P>,
    err: impl Fn(rusqlite::Error) -> JournalError + Copy,
) -> Result<()> {
    let mut st = tx.prepare_cached(sql).map_err(err)?;
    for p in rows {
        st.execute(p).map_err(err)?;
    }
    Ok(())
}

/// An open journal.
#[derive(Debug)]
pub struct Journal {
    conn: Connection,
    path: PathBuf,
}

impl Journal {
    /// Opens (creating if needed) the journal at `path` and brings its schema up to date.
    ///
    /// # Errors
    /// The file cannot be created or opened, is not a SQLite database, or has a newer schema.
    pub fn open(path: &Path) -> Result<Journal> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| JournalError::Folder {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(|source| JournalError::Sqlite {
            path: path.to_path_buf(),
            source,
        })?;
        let mut j = Journal {
            conn,
            path: path.to_path_buf(),
        };
        j.configure()?;
        migrations::apply(&mut j)?;
        Ok(j)
    }

    /// Opens (creating if needed) the journal at `path` for a process that writes it (the service,
    /// a command that moves data), and proves a write is taken: SQLite opens a file this user
    /// cannot write read-only, without a word, and every write would fail later.
    ///
    /// # Errors
    /// [`JournalError::ReadOnly`], naming the file refused and why; then as [`Journal::open`].
    pub fn open_writable(path: &Path) -> Result<Journal> {
        let mut j = Journal::open(path).map_err(|e| match e {
            JournalError::Sqlite { path, source } if write_refused(&source) => {
                write_denied(&path, Some(&source))
            }
            e => e,
        })?;
        j.check_writable()?;
        Ok(j)
    }

    /// Opens a journal that must already exist, for the commands that only read it (`decisions`,
    /// `explain`, `unfreeze`): run in the wrong folder, or without the service's `--config`,
    /// they say so instead of creating an empty journal and finding nothing in it.
    ///
    /// # Errors
    /// [`JournalError::Missing`] when there is no file; then as [`Journal::open`].
    pub fn open_existing(path: &Path) -> Result<Journal> {
        if !path.is_file() {
            return Err(JournalError::Missing {
                path: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
            });
        }
        Journal::open(path)
    }

    fn configure(&self) -> Result<()> {
        self.conn
            .busy_timeout(Duration::from_secs(10))
            .map_err(|e| self.err(e))?;
        self.conn
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
            )
            .map_err(|e| self.err(e))
    }

    /// Runs `f` with every commit in it synced to disk (`synchronous = FULL`).
    ///
    /// The journal runs with `synchronous = NORMAL` (WAL): a killed process loses nothing
    /// committed, but a power cut may lose the last commits. The commits whose loss could orphan
    /// or lose data use this: a move's intent (before the destination is written), its `copied`
    /// step (before the source is deleted), a multipart upload's id (before its first part is
    /// sent), and ingest checkpoints (so none is double-counted).
    pub(crate) fn durably<T>(&mut self, f: impl FnOnce(&mut Journal) -> Result<T>) -> Result<T> {
        self.conn
            .pragma_update(None, "synchronous", "FULL")
            .map_err(|e| self.err(e))?;
        let r = f(self);
        self.conn
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| self.err(e))?;
        r
    }

    /// The journal file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn conn(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The connection, and the error wrapper naming the file, borrowed apart: for statements
    /// and transactions, which hold the connection while their errors need the path.
    pub(crate) fn split(
        &mut self,
    ) -> (
        &mut Connection,
        impl Fn(rusqlite::Error) -> JournalError + Copy + '_,
    ) {
        let path = &self.path;
        let err = move |source| JournalError::Sqlite {
            path: path.clone(),
            source,
        };
        (&mut self.conn, err)
    }

    /// Every row of the query `sql` with `params`, each turned into a `T` by `row`.
    pub(crate) fn query_all<T>(
        &mut self,
        sql: &str,
        params: impl rusqlite::Params,
        row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let (conn, err) = self.split();
        let mut st = conn.prepare(sql).map_err(err)?;
        let rows = st.query_map(params, row).map_err(err)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(err)
    }

    /// Runs `f` in one transaction: committed when it succeeds, rolled back (nothing of it kept)
    /// when it fails.
    ///
    /// # Errors
    /// `f`'s error, or SQLite's on `BEGIN` or `COMMIT`.
    pub(crate) fn in_transaction<T>(
        &mut self,
        f: impl FnOnce(&mut Journal) -> Result<T>,
    ) -> Result<T> {
        self.conn()
            .execute_batch("BEGIN")
            .map_err(|e| self.err(e))?;
        match f(self) {
            Ok(v) => {
                self.conn()
                    .execute_batch("COMMIT")
                    .map_err(|e| self.err(e))?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.conn().execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    pub(crate) fn err(&self, source: rusqlite::Error) -> JournalError {
        JournalError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Proves the journal takes a write (for start-up and `/readyz`): takes the write lock and
    /// changes the schema in a transaction rolled back, so nothing is left. (Taking the lock alone
    /// succeeds on a file opened read-only.)
    ///
    /// # Errors
    /// [`JournalError::ReadOnly`] when this user cannot write it; the write lock held elsewhere
    /// for longer than the busy timeout; a broken file.
    pub fn check_writable(&mut self) -> Result<()> {
        if self
            .conn
            .is_readonly(rusqlite::MAIN_DB)
            .map_err(|e| self.err(e))?
        {
            return Err(write_denied(&self.path, None));
        }
        let probe = self
            .conn
            .execute_batch("BEGIN IMMEDIATE; CREATE TABLE tierd_write_probe (x); ROLLBACK;");
        let Err(e) = probe else {
            return Ok(());
        };
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        Err(if write_refused(&e) {
            write_denied(&self.path, Some(&e))
        } else {
            self.err(e)
        })
    }

    /// The schema version in the file.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn schema_version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_sqlite_opened_read_only_is_not_called_writable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tierd.db");
        let mut j = Journal::open_writable(&path).unwrap();
        j.check_writable().unwrap();
        // What SQLite does, without a word, with a file this user cannot write (root cannot be
        // refused one here, so the connection is opened read-only as SQLite would).
        let conn =
            Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let mut ro = Journal {
            conn,
            path: path.clone(),
        };
        let e = ro.check_writable().unwrap_err();
        assert!(matches!(e, JournalError::ReadOnly { .. }), "{e:?}");
        assert!(
            e.to_string().starts_with(&format!(
                "{}: this user cannot write the journal: ",
                path.display()
            )),
            "{e}"
        );
        // The probe leaves nothing behind.
        j.check_writable().unwrap();
        let probes: i64 = j
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'tierd_write_probe'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(probes, 0);
    }
}
