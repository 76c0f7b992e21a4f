//! Staging files in the journal: a copy to a local filesystem tier is written into a staging
//! file beside the object (`<file>#<n>`, which listings do not show) and then published under
//! the object's name. Each staging file is recorded here, durably, once created and before its
//! first byte is written, and forgotten once it is published or removed. One still recorded at
//! start-up was left by a crash or a kill, and recovery removes exactly that file
//! (`executor::local`): never another file whose name merely looks like a staging file's.

use rusqlite::params;

use super::{Journal, Result};

/// One staging file being written, or left by an interrupted process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagingRow {
    /// The journal's own id for the row.
    pub id: i64,
    /// The tier written to.
    pub tier: String,
    /// The logical bucket.
    pub bucket: String,
    /// The object's path in the tier's store (a moved key under its bucket, a snapshot's copy,
    /// a restored object).
    pub path: String,
    /// The staging file, an absolute path on disk: what recovery removes.
    pub file: String,
    /// The staging file's inode number: recovery removes the file at `file` only while it is
    /// still this one (a file someone else created there since is not tierd's).
    pub inode: u64,
    /// RFC 3339.
    pub started_at: String,
}

impl Journal {
    /// Records that tierd created the staging file `(file, inode)` for the object `path` in the
    /// store of `(tier, bucket)`, synced to disk before it returns: nothing may be written to the file
    /// before. Returns the row's id.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn staging_started(
        &mut self,
        (tier, bucket): (&str, &str),
        path: &str,
        (file, inode): (&str, u64),
    ) -> Result<i64> {
        let t = chrono::Utc::now().to_rfc3339();
        self.durably(|j| {
            let r = j.conn().execute(
                "INSERT INTO staging_file (tier, bucket, path, file, inode, started_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![tier, bucket, path, file, inode as i64, t],
            );
            r.map_err(|e| j.err(e))?;
            Ok(j.conn().last_insert_rowid())
        })
    }

    /// Forgets the staging file `id`: it was published under the object's name, or removed.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn staging_ended(&mut self, id: i64) -> Result<()> {
        let r = self
            .conn()
            .execute("DELETE FROM staging_file WHERE id = ?1", params![id]);
        r.map(drop).map_err(|e| self.err(e))
    }

    /// Every staging file recorded, oldest first: at start-up, those an interrupted process left.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn open_staging(&mut self) -> Result<Vec<StagingRow>> {
        self.query_all(
            "SELECT id, tier, bucket, path, file, inode, started_at FROM staging_file ORDER BY id",
            [],
            |r| {
                Ok(StagingRow {
                    id: r.get(0)?,
                    tier: r.get(1)?,
                    bucket: r.get(2)?,
                    path: r.get(3)?,
                    file: r.get(4)?,
                    inode: r.get::<_, i64>(5)? as u64,
                    started_at: r.get(6)?,
                })
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_staging_file_is_recorded_until_it_ends_and_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.db");
        let a = {
            let mut j = Journal::open(&p).unwrap();
            j.staging_started(
                ("cold", "photos"),
                "photos/a.bin",
                ("/srv/cold/photos/a.bin#1", 4242),
            )
            .unwrap()
        };
        let mut j = Journal::open(&p).unwrap();
        let open = j.open_staging().unwrap();
        assert_eq!(
            open,
            [StagingRow {
                id: a,
                tier: "cold".into(),
                bucket: "photos".into(),
                path: "photos/a.bin".into(),
                file: "/srv/cold/photos/a.bin#1".into(),
                inode: 4242,
                started_at: open[0].started_at.clone(),
            }]
        );
        j.staging_ended(a).unwrap();
        drop(j);
        let mut j = Journal::open(&p).unwrap();
        assert_eq!(j.open_staging().unwrap(), []);
    }
}
