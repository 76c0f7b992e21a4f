//! Snapshots in the journal: one row per snapshot, with its manifest's hash (the chain's link).

use rusqlite::{OptionalExtension, Row, params};

use super::{Journal, Result};

/// One snapshot as journalled.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SnapshotRow {
    pub id: String,
    pub created_at: String,
    pub vault: String,
    pub bucket: String,
    pub prefix: String,
    pub manifest_path: String,
    pub manifest_hash: String,
    pub prev_hash: Option<String>,
    pub objects: u64,
    pub bytes: u64,
    /// Bytes actually copied (the rest was already in the vault: snapshots are incremental).
    pub copied_bytes: u64,
}

impl SnapshotRow {
    /// A snapshot that keeps only what a restore replaced (id kind `keep`), not the state of its
    /// scope: `restore --at` and the next snapshot's increments pass it by.
    pub fn is_keep(&self) -> bool {
        self.id.starts_with("keep-")
    }
}

fn row(r: &Row<'_>) -> rusqlite::Result<SnapshotRow> {
    Ok(SnapshotRow {
        id: r.get(0)?,
        created_at: r.get(1)?,
        vault: r.get(2)?,
        bucket: r.get(3)?,
        prefix: r.get(4)?,
        manifest_path: r.get(5)?,
        manifest_hash: r.get(6)?,
        prev_hash: r.get(7)?,
        objects: r.get::<_, i64>(8)? as u64,
        bytes: r.get::<_, i64>(9)? as u64,
        copied_bytes: r.get::<_, i64>(10)? as u64,
    })
}

const COLS: &str = "id, created_at, vault, bucket, prefix, manifest_path, manifest_hash, prev_hash, objects, bytes, copied_bytes";

impl Journal {
    /// Records a snapshot whose manifest is already in the vault.
    ///
    /// # Errors
    /// SQLite errors (a duplicate id among them).
    pub fn record_snapshot(&mut self, s: &SnapshotRow) -> Result<()> {
        let sql = format!(
            "INSERT INTO snapshot ({COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
        );
        let r = self.conn().execute(
            &sql,
            params![
                s.id,
                s.created_at,
                s.vault,
                s.bucket,
                s.prefix,
                s.manifest_path,
                s.manifest_hash,
                s.prev_hash,
                s.objects as i64,
                s.bytes as i64,
                s.copied_bytes as i64
            ],
        );
        r.map(drop).map_err(|e| self.err(e))
    }

    /// One snapshot by id.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn snapshot(&mut self, id: &str) -> Result<Option<SnapshotRow>> {
        let sql = format!("SELECT {COLS} FROM snapshot WHERE id = ?1");
        let r = self.conn().query_row(&sql, params![id], row).optional();
        r.map_err(|e| self.err(e))
    }

    /// Snapshots, oldest first (in the order recorded within a second); of one bucket when
    /// given.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn snapshots(&mut self, bucket: Option<&str>) -> Result<Vec<SnapshotRow>> {
        let sql = format!(
            "SELECT {COLS} FROM snapshot WHERE (?1 IS NULL OR bucket = ?1) ORDER BY created_at, rowid"
        );
        self.query_all(&sql, params![bucket], row)
    }

    /// Per vault: the snapshots recorded in it and the bytes they copied into it (what the
    /// vault holds for tierd: a later snapshot copies only what changed), `(vault, snapshots,
    /// bytes)` by vault name.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn vault_usage(&mut self) -> Result<Vec<(String, u64, u64)>> {
        self.query_all(
            "SELECT vault, COUNT(*), COALESCE(SUM(copied_bytes), 0) FROM snapshot GROUP BY vault ORDER BY vault",
            params![],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get::<_, i64>(1)? as u64,
                    r.get::<_, i64>(2)? as u64,
                ))
            },
        )
    }

    /// The newest snapshot of a vault (the head of its manifest chain).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn last_snapshot(&mut self, vault: &str) -> Result<Option<SnapshotRow>> {
        let sql = format!(
            "SELECT {COLS} FROM snapshot WHERE vault = ?1 ORDER BY created_at DESC, rowid DESC LIMIT 1"
        );
        let r = self.conn().query_row(&sql, params![vault], row).optional();
        r.map_err(|e| self.err(e))
    }
}
