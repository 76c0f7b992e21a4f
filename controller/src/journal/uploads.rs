//! Multipart uploads in the journal: every upload tierd starts on a store whose uploads have ids
//! (an S3 tier) is recorded, durably, before its first part is sent, and forgotten once it is
//! completed or aborted. An upload still recorded at start-up was cut short by a crash or a
//! kill: its parts are on the store, invisible in listings and billed, until recovery aborts it
//! by its id (`executor::uploads`). Only the uploads recorded here are ever aborted.

use rusqlite::params;

use super::{Journal, Result};

/// One upload in flight, or left by an interrupted process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRow {
    /// The journal's own id for the row.
    pub id: i64,
    /// The tier written to.
    pub tier: String,
    /// The logical bucket: with the tier, it names the store (a `{bucket}` tier has one per
    /// bucket).
    pub bucket: String,
    /// The object's path in that store (a moved key under its bucket, or a snapshot's copy).
    pub path: String,
    /// The store's id of the upload: what an abort needs.
    pub upload_id: String,
    /// RFC 3339.
    pub started_at: String,
    /// Aborts tried that failed (a store that did not answer); recovery tries again.
    pub aborts_failed: u32,
    /// Why the last abort failed.
    pub error: Option<String>,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339()
}

impl Journal {
    /// Records that the upload `upload_id` to `path` in the store of `(tier, bucket)` began,
    /// synced to disk before it returns: no part may be sent before. Returns the row's id.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn upload_started(
        &mut self,
        (tier, bucket): (&str, &str),
        path: &str,
        upload_id: &str,
    ) -> Result<i64> {
        let t = now();
        self.durably(|j| {
            let r = j.conn().execute(
                "INSERT INTO upload (tier, bucket, path, upload_id, started_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![tier, bucket, path, upload_id, t],
            );
            r.map_err(|e| j.err(e))?;
            Ok(j.conn().last_insert_rowid())
        })
    }

    /// Forgets the upload `id`: it was completed, aborted, or the store no longer knows it.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn upload_ended(&mut self, id: i64) -> Result<()> {
        let r = self
            .conn()
            .execute("DELETE FROM upload WHERE id = ?1", params![id]);
        r.map(drop).map_err(|e| self.err(e))
    }

    /// Records that an abort of the upload `id` failed, and why; it stays recorded, for the next
    /// recovery to try again.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn upload_abort_failed(&mut self, id: i64, error: &str) -> Result<()> {
        let r = self.conn().execute(
            "UPDATE upload SET aborts_failed = aborts_failed + 1, error = ?2 WHERE id = ?1",
            params![id, error],
        );
        r.map(drop).map_err(|e| self.err(e))
    }

    /// Every upload recorded, oldest first: at start-up, those an interrupted process left.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn open_uploads(&mut self) -> Result<Vec<UploadRow>> {
        self.query_all(
            "SELECT id, tier, bucket, path, upload_id, started_at, aborts_failed, error
             FROM upload ORDER BY id",
            [],
            |r| {
                Ok(UploadRow {
                    id: r.get(0)?,
                    tier: r.get(1)?,
                    bucket: r.get(2)?,
                    path: r.get(3)?,
                    upload_id: r.get(4)?,
                    started_at: r.get(5)?,
                    aborts_failed: r.get::<_, i64>(6)? as u32,
                    error: r.get(7)?,
                })
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upload_is_recorded_until_it_ends_and_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.db");
        let (a, b) = {
            let mut j = Journal::open(&p).unwrap();
            let a = j
                .upload_started(("cloud", "photos"), "photos/big.bin", "upload-a")
                .unwrap();
            let b = j
                .upload_started(("vault", "photos"), "photos/.tierd-snapshots/x", "upload-b")
                .unwrap();
            j.upload_abort_failed(b, "connection refused").unwrap();
            (a, b)
        };
        // What a killed process leaves: both, as recorded.
        let mut j = Journal::open(&p).unwrap();
        let open = j.open_uploads().unwrap();
        let row = |id: i64, tier: &str, path: &str, upload_id: &str, failed: u32| UploadRow {
            id,
            tier: tier.into(),
            bucket: "photos".into(),
            path: path.into(),
            upload_id: upload_id.into(),
            started_at: open[0].started_at.clone(),
            aborts_failed: failed,
            error: (failed > 0).then(|| "connection refused".to_string()),
        };
        let mut expected = vec![
            row(a, "cloud", "photos/big.bin", "upload-a", 0),
            row(b, "vault", "photos/.tierd-snapshots/x", "upload-b", 1),
        ];
        expected[1].started_at = open[1].started_at.clone();
        assert_eq!(open, expected);
        assert!(
            chrono::DateTime::parse_from_rfc3339(&open[0].started_at).is_ok(),
            "{}",
            open[0].started_at
        );
        // Ended (completed or aborted): forgotten, and stays so after a reopen.
        j.upload_ended(a).unwrap();
        drop(j);
        let mut j = Journal::open(&p).unwrap();
        let left: Vec<String> = j
            .open_uploads()
            .unwrap()
            .into_iter()
            .map(|u| u.upload_id)
            .collect();
        assert_eq!(left, ["upload-b"]);
        j.upload_ended(b).unwrap();
        assert_eq!(j.open_uploads().unwrap(), []);
        // Ending one twice is harmless (recovery may find an upload its mover had ended).
        j.upload_ended(b).unwrap();
    }
}
