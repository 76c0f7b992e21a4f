//! Ingest checkpoints: for each log file or object, how far it has been read.
//!
//! A checkpoint is saved only after the events read up to it were handed on, so a restart
//! neither skips (the checkpoint is never ahead of the consumer) nor double-counts (it resumes
//! at `bytes_done`, a whole-line boundary). A replaced object (new identity) is read again from
//! its start.

use rusqlite::{OptionalExtension, params};

use super::{Journal, Result};

/// The name a checkpoint is kept under: a local path made absolute (against the working
/// folder), so that a configuration read as `tierd.toml` from its folder and as
/// `/etc/tierd/tierd.toml` from anywhere finds the same checkpoints; URLs and `builtin:`
/// names as they are.
fn stored(name: &str) -> std::borrow::Cow<'_, str> {
    let local = !name.contains("://") && !name.starts_with("builtin:");
    match std::path::absolute(name) {
        Ok(abs) if local && !std::path::Path::new(name).is_absolute() => {
            std::borrow::Cow::Owned(abs.display().to_string())
        }
        _ => std::borrow::Cow::Borrowed(name),
    }
}

/// How far one object has been read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub source: String,
    pub object: String,
    pub identity: String,
    pub bytes_done: u64,
    pub lines_done: u64,
    pub complete: bool,
}

impl Journal {
    /// The checkpoint of one object, if any.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn checkpoint(&mut self, source: &str, object: &str) -> Result<Option<Checkpoint>> {
        let r = self
            .conn()
            .query_row(
                "SELECT identity, bytes_done, lines_done, complete FROM ingest_checkpoint WHERE source = ?1 AND object = ?2",
                params![stored(source), stored(object)],
                |r| {
                    Ok(Checkpoint {
                        source: source.to_string(),
                        object: object.to_string(),
                        identity: r.get(0)?,
                        bytes_done: r.get::<_, i64>(1)? as u64,
                        lines_done: r.get::<_, i64>(2)? as u64,
                        complete: r.get::<_, i64>(3)? != 0,
                    })
                },
            )
            .optional();
        r.map_err(|e| self.err(e))
    }

    /// Saves checkpoints, all in one transaction.
    ///
    /// # Errors
    /// SQLite errors; then none of them is saved.
    pub fn save_checkpoints(&mut self, cps: &[Checkpoint]) -> Result<()> {
        self.durably(|j| j.save_checkpoints_inner(cps))
    }

    fn save_checkpoints_inner(&mut self, cps: &[Checkpoint]) -> Result<()> {
        let now = chrono::Utc::now().to_rfc3339();
        let (conn, err) = self.split();
        let tx = conn.transaction().map_err(err)?;
        {
            let mut st = tx
                .prepare_cached(
                    "INSERT INTO ingest_checkpoint (source, object, identity, bytes_done, lines_done, complete, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (source, object) DO UPDATE SET identity = ?3, bytes_done = ?4, lines_done = ?5,
                       complete = ?6, updated_at = ?7",
                )
                .map_err(err)?;
            for c in cps {
                st.execute(params![
                    stored(&c.source),
                    stored(&c.object),
                    c.identity,
                    c.bytes_done as i64,
                    c.lines_done as i64,
                    c.complete as i64,
                    now
                ])
                .map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    /// Every checkpoint of a source, by object name (local paths absolute).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn checkpoints_of(&mut self, source: &str) -> Result<Vec<Checkpoint>> {
        self.query_all(
            "SELECT object, identity, bytes_done, lines_done, complete FROM ingest_checkpoint WHERE source = ?1 ORDER BY object",
            params![stored(source)],
            |r| {
                Ok(Checkpoint {
                    source: source.to_string(),
                    object: r.get(0)?,
                    identity: r.get(1)?,
                    bytes_done: r.get::<_, i64>(2)? as u64,
                    lines_done: r.get::<_, i64>(3)? as u64,
                    complete: r.get::<_, i64>(4)? != 0,
                })
            },
        )
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
        j.save_checkpoints(std::slice::from_ref(&cp)).unwrap();
        assert_eq!(j.checkpoints_of("/logs").unwrap(), vec![cp]);
        assert_eq!(j.checkpoint("/logs", "/logs/b.log").unwrap(), None);
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
        assert_eq!(j.checkpoints_of(&source).unwrap().len(), 1);
    }
}
