//! Ingest checkpoints: for each log file or object, how far it has been read.
//!
//! A checkpoint is saved only after the events read up to it were handed on, so a restart
//! neither skips (the checkpoint is never ahead of the consumer) nor double-counts (it resumes
//! at `bytes_done`, a whole-line boundary). A replaced object (new identity) is read again from
//! its start. A local file's checkpoint also holds its content fingerprint, by which a renamed
//! file keeps it (see `ingest::resume`).

use rusqlite::types::Value;
use rusqlite::{OptionalExtension, params};

use super::{Journal, Result};

/// How far one object has been read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub source: String,
    pub object: String,
    /// What changes when the object is replaced: a store object's etag, a local file's inode.
    pub identity: String,
    pub bytes_done: u64,
    pub lines_done: u64,
    pub complete: bool,
    /// A local file's content fingerprint: a file renamed keeps its checkpoint by it. `None`
    /// for a store object, a file of which nothing was read yet, or a checkpoint saved by a
    /// tierd before fingerprints (it gets one the next time its file is seen).
    pub head: Option<Fingerprint>,
    /// A local file's size and modification time when it was checkpointed (`size:mtime`): a
    /// file marked complete whose stamp changes is read on from `bytes_done`.
    pub stamp: Option<String>,
    /// The object's gzip stream broke after `lines_done` and that break was reported as a bad
    /// line: read on, a break at the same place is not reported again.
    pub break_reported: bool,
}

/// The SHA-256 of a local file's first `len` decompressed bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub len: u64,
    pub sha256: String,
}

/// The columns [`checkpoint_row`] reads, after `object`.
const COLUMNS: &str =
    "identity, bytes_done, lines_done, complete, head_len, head_sha256, stamp, break_reported";

/// A checkpoint from a row of [`COLUMNS`] starting at column `at`.
fn checkpoint_row(
    source: &str,
    object: String,
    r: &rusqlite::Row<'_>,
    at: usize,
) -> rusqlite::Result<Checkpoint> {
    let head_len = r.get::<_, i64>(at + 4)? as u64;
    let head_sha256: Option<String> = r.get(at + 5)?;
    Ok(Checkpoint {
        source: source.to_string(),
        object,
        identity: r.get(at)?,
        bytes_done: r.get::<_, i64>(at + 1)? as u64,
        lines_done: r.get::<_, i64>(at + 2)? as u64,
        complete: r.get::<_, i64>(at + 3)? != 0,
        head: head_sha256
            .filter(|_| head_len > 0)
            .map(|sha256| Fingerprint {
                len: head_len,
                sha256,
            }),
        stamp: r.get(at + 6)?,
        break_reported: r.get::<_, i64>(at + 7)? != 0,
    })
}

/// The name a checkpoint is kept under: a local path made absolute (against the working
/// folder) with its `.` and `..` resolved as written (not through links), so that a
/// configuration read as `tierd.toml` from its folder, as `../etc/tierd.toml` and as
/// `/etc/tierd/tierd.toml`, with a source written `logs/` or `./logs/`, finds the same
/// checkpoints; URLs and `builtin:` names as they are. [`Journal::checkpoints_of`] gives names
/// in this form.
pub fn stored(name: &str) -> std::borrow::Cow<'_, str> {
    // `file:///srv/logs/` and `/srv/logs/` are the same files.
    if let Some(path) = name.strip_prefix("file://") {
        return std::borrow::Cow::Owned(stored(path).into_owned());
    }
    if name.contains("://") || name.starts_with("builtin:") {
        return std::borrow::Cow::Borrowed(name);
    }
    let mut text = crate::decision::absolute_as_written(std::path::Path::new(name))
        .display()
        .to_string();
    // A folder source keeps its trailing `/` (the listing's names do not depend on it, but the
    // source's own name does).
    if name.ends_with('/') && !text.ends_with('/') {
        text.push('/');
    }
    if text == name {
        std::borrow::Cow::Borrowed(name)
    } else {
        std::borrow::Cow::Owned(text)
    }
}

/// Which object a checkpoint is of and how far it got: source, object, identity, bytes_done,
/// lines_done, complete (what a checkpoint that moved is deleted by, if still so).
fn position(c: &Checkpoint) -> Vec<Value> {
    vec![
        Value::from(stored(&c.source).into_owned()),
        Value::from(stored(&c.object).into_owned()),
        Value::from(c.identity.clone()),
        Value::from(c.bytes_done as i64),
        Value::from(c.lines_done as i64),
        Value::from(i64::from(c.complete)),
    ]
}

impl Journal {
    /// The checkpoint of one object, if any.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn checkpoint(&mut self, source: &str, object: &str) -> Result<Option<Checkpoint>> {
        let sql =
            format!("SELECT {COLUMNS} FROM ingest_checkpoint WHERE source = ?1 AND object = ?2");
        // As stored now; then as written, by a build from before names were stored absolute
        // (read on from it: the next save stores it absolute).
        let names = (stored(source), stored(object));
        let mut tries = vec![(names.0.as_ref(), names.1.as_ref())];
        if tries[0] != (source, object) {
            tries.push((source, object));
        }
        for (s, o) in tries {
            let found = self
                .conn()
                .query_row(&sql, params![s, o], |r| {
                    checkpoint_row(source, object.to_string(), r, 0)
                })
                .optional()
                .map_err(|e| self.err(e))?;
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// Saves checkpoints, all in one transaction.
    ///
    /// # Errors
    /// SQLite errors; then none of them is saved.
    pub fn save_checkpoints(&mut self, cps: &[Checkpoint]) -> Result<()> {
        self.replace_checkpoints(&[], cps)
    }

    /// Deletes each of `gone` that is still as it was loaded (a renamed file's checkpoint under
    /// its old name, unless a new file there saved its own since), then saves `cps`, all in one
    /// transaction: a checkpoint moved to a file's new name is never in both places, nor lost.
    ///
    /// # Errors
    /// SQLite errors; then nothing is changed.
    pub fn replace_checkpoints(&mut self, gone: &[Checkpoint], cps: &[Checkpoint]) -> Result<()> {
        self.durably(|j| j.replace_checkpoints_inner(gone, cps))
    }

    fn replace_checkpoints_inner(&mut self, gone: &[Checkpoint], cps: &[Checkpoint]) -> Result<()> {
        let now = chrono::Utc::now().to_rfc3339();
        let (conn, err) = self.split();
        let tx = conn.transaction().map_err(err)?;
        super::execute_each(
            &tx,
            "DELETE FROM ingest_checkpoint WHERE source = ?1 AND object = ?2 AND identity = ?3
               AND bytes_done = ?4 AND lines_done = ?5 AND complete = ?6",
            gone.iter().map(|c| rusqlite::params_from_iter(position(c))),
            err,
        )?;
        super::execute_each(
            &tx,
            "INSERT INTO ingest_checkpoint (source, object, identity, bytes_done, lines_done, complete,
               head_len, head_sha256, stamp, break_reported, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (source, object) DO UPDATE SET identity = ?3, bytes_done = ?4, lines_done = ?5,
               complete = ?6, head_len = ?7, head_sha256 = ?8, stamp = ?9, break_reported = ?10,
               updated_at = ?11",
            cps.iter().map(|c| {
                let mut row = position(c);
                row.extend([
                    Value::from(c.head.as_ref().map_or(0, |h| h.len as i64)),
                    Value::from(c.head.as_ref().map(|h| h.sha256.clone())),
                    Value::from(c.stamp.clone()),
                    Value::from(i64::from(c.break_reported)),
                    Value::from(now.clone()),
                ]);
                rusqlite::params_from_iter(row)
            }),
            err,
        )?;
        tx.commit().map_err(err)
    }

    /// Every checkpoint of a source, by object name.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn checkpoints_of(&mut self, source: &str) -> Result<Vec<Checkpoint>> {
        let sql = format!(
            "SELECT object, {COLUMNS} FROM ingest_checkpoint WHERE source = ?1 ORDER BY object"
        );
        // As stored now; then as written (see [`Journal::checkpoint`]).
        let name = stored(source);
        let mut tries = vec![name.as_ref()];
        if tries[0] != source {
            tries.push(source);
        }
        let mut found = Vec::new();
        for s in tries {
            found = self.query_all(&sql, params![s], |r| {
                checkpoint_row(source, r.get(0)?, r, 1)
            })?;
            if !found.is_empty() {
                break;
            }
        }
        Ok(found)
    }

    /// The checkpoints of a store source's objects named after `after` (an object's URL), in
    /// name order: what a listing that starts after `after` can need.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn checkpoints_after(&mut self, source: &str, after: &str) -> Result<Vec<Checkpoint>> {
        let sql = format!(
            "SELECT object, {COLUMNS} FROM ingest_checkpoint WHERE source = ?1 AND object > ?2
             ORDER BY object"
        );
        self.query_all(&sql, params![stored(source), after], |r| {
            checkpoint_row(source, r.get(0)?, r, 1)
        })
    }

    /// Forgets each of `gone` that is still as it was loaded (its object no longer exists): in
    /// one transaction.
    ///
    /// # Errors
    /// SQLite errors; then nothing is forgotten.
    pub fn forget_checkpoints(&mut self, gone: &[Checkpoint]) -> Result<()> {
        self.replace_checkpoints(gone, &[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_checkpoint_survives_reopening_and_updates_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.db");
        let mut j = Journal::open(&p).unwrap();
        let mut cp = Checkpoint {
            source: "/logs".into(),
            object: "/logs/a.log".into(),
            identity: "10:1".into(),
            bytes_done: 10,
            lines_done: 1,
            complete: false,
            head: Some(Fingerprint {
                len: 10,
                sha256: "ab".repeat(32),
            }),
            stamp: Some("10:1700000000.000000000".into()),
            break_reported: false,
        };
        j.save_checkpoints(std::slice::from_ref(&cp)).unwrap();
        drop(j);
        let mut j = Journal::open(&p).unwrap();
        assert_eq!(
            j.checkpoint("/logs", "/logs/a.log").unwrap(),
            Some(cp.clone())
        );
        cp.bytes_done = 20;
        cp.lines_done = 2;
        cp.complete = true;
        cp.head = None;
        cp.break_reported = true;
        j.save_checkpoints(std::slice::from_ref(&cp)).unwrap();
        assert_eq!(j.checkpoints_of("/logs").unwrap(), vec![cp]);
        assert_eq!(j.checkpoint("/logs", "/logs/b.log").unwrap(), None);
    }

    #[test]
    fn a_moved_checkpoint_leaves_its_old_name_unless_a_new_file_saved_its_own_there() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(&dir.path().join("j.db")).unwrap();
        let old = Checkpoint {
            source: "/logs".into(),
            object: "/logs/a.log".into(),
            identity: "inode:1:7".into(),
            bytes_done: 10,
            lines_done: 1,
            complete: false,
            head: Some(Fingerprint {
                len: 10,
                sha256: "cd".repeat(32),
            }),
            stamp: None,
            break_reported: false,
        };
        let moved = |to: &str| Checkpoint {
            object: to.into(),
            ..old.clone()
        };
        j.save_checkpoints(std::slice::from_ref(&old)).unwrap();
        j.replace_checkpoints(std::slice::from_ref(&old), &[moved("/logs/a.log.1")])
            .unwrap();
        assert_eq!(
            j.checkpoints_of("/logs").unwrap(),
            vec![moved("/logs/a.log.1")]
        );
        // A new a.log saved its own checkpoint since the old one was loaded: it stays.
        let new = Checkpoint {
            identity: "inode:1:8".into(),
            ..old.clone()
        };
        j.save_checkpoints(std::slice::from_ref(&new)).unwrap();
        j.replace_checkpoints(std::slice::from_ref(&old), &[moved("/logs/a.log.2")])
            .unwrap();
        let names: Vec<String> = j
            .checkpoints_of("/logs")
            .unwrap()
            .into_iter()
            .map(|c| c.object)
            .collect();
        assert_eq!(names, ["/logs/a.log", "/logs/a.log.1", "/logs/a.log.2"]);
        assert_eq!(
            j.checkpoint("/logs", "/logs/a.log")
                .unwrap()
                .unwrap()
                .identity,
            "inode:1:8"
        );
    }

    #[test]
    fn a_local_path_finds_its_checkpoint_whether_written_relative_or_absolute() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(&dir.path().join("j.db")).unwrap();
        let cwd = std::env::current_dir().unwrap();
        let cp = Checkpoint {
            source: "logs/".into(),
            object: "logs/a.log".into(),
            identity: "inode:1:2".into(),
            bytes_done: 10,
            lines_done: 1,
            complete: false,
            head: None,
            stamp: None,
            break_reported: false,
        };
        j.save_checkpoints(std::slice::from_ref(&cp)).unwrap();
        let (source, object) = (
            cwd.join("logs/").display().to_string(),
            cwd.join("logs/a.log").display().to_string(),
        );
        let found = j
            .checkpoint(&source, &object)
            .unwrap()
            .expect("the same file");
        assert_eq!((found.bytes_done, found.lines_done), (10, 1));
        assert!(j.checkpoint("s3://logs/", "logs/a.log").unwrap().is_none());
        let of = j.checkpoints_of("logs/").unwrap();
        assert_eq!(of.len(), 1);
        assert_eq!(of[0].object, object, "named as stored: absolute");
    }

    #[test]
    fn dots_in_a_local_path_name_the_same_checkpoint_and_old_relative_names_are_still_found() {
        let cwd = std::env::current_dir().unwrap();
        let abs = |p: &str| cwd.join(p).display().to_string();
        assert_eq!(stored("./logs/"), abs("logs/"));
        assert_eq!(stored("x/../logs/a.log"), abs("logs/a.log"));
        assert_eq!(stored("/etc/tierd/./logs/a.log"), "/etc/tierd/logs/a.log");
        assert_eq!(stored("/etc/tierd/x/../logs/"), "/etc/tierd/logs/");
        assert_eq!(stored("s3://b/../x"), "s3://b/../x");
        assert_eq!(stored("file:///etc/tierd/./logs/"), "/etc/tierd/logs/");

        // A journal of the build before: the relative names as written.
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(&dir.path().join("j.db")).unwrap();
        j.conn()
            .execute(
                "INSERT INTO ingest_checkpoint (source, object, identity, bytes_done, lines_done, complete, updated_at)
                 VALUES ('old/', 'old/a.log', 'inode:1:2', 7, 1, 0, 'then')",
                [],
            )
            .unwrap();
        let found = j
            .checkpoint("old/", "old/a.log")
            .unwrap()
            .expect("found as written");
        assert_eq!(found.bytes_done, 7);
        assert_eq!(j.checkpoints_of("old/").unwrap().len(), 1);
    }
}
