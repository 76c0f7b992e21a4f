//! The catalog: where every object managed by tierd lives now.

use rusqlite::{OptionalExtension, Row, params};

use super::{Journal, Result};

/// One object's current place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub bucket: String,
    pub key: String,
    pub tier: String,
    pub size: u64,
    pub etag: Option<String>,
    pub checksum: Option<String>,
    /// RFC 3339: when it arrived on this tier.
    pub since: String,
    pub decision_id: Option<String>,
}

fn entry(r: &Row<'_>) -> rusqlite::Result<Entry> {
    Ok(Entry {
        bucket: r.get(0)?,
        key: r.get(1)?,
        tier: r.get(2)?,
        size: r.get::<_, i64>(3)? as u64,
        etag: r.get(4)?,
        checksum: r.get(5)?,
        since: r.get(6)?,
        decision_id: r.get(7)?,
    })
}

const COLS: &str = "bucket, key, tier, size, etag, checksum, since, decision_id";

impl Journal {
    /// Where an object lives, if tierd knows it.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn locate(&mut self, bucket: &str, key: &str) -> Result<Option<Entry>> {
        let sql = format!("SELECT {COLS} FROM catalog WHERE bucket = ?1 AND key = ?2");
        let r = self
            .conn()
            .query_row(&sql, params![bucket, key], entry)
            .optional();
        r.map_err(|e| self.err(e))
    }

    /// Every object of a bucket under a prefix, by key.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn catalog_prefix(&mut self, bucket: &str, prefix: &str) -> Result<Vec<Entry>> {
        let sql = format!(
            "SELECT {COLS} FROM catalog WHERE bucket = ?1 AND substr(key, 1, length(?2)) = ?2 ORDER BY key"
        );
        self.query_all(&sql, params![bucket, prefix], entry)
    }

    /// Inserts or replaces an object's entry.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn upsert_entry(&mut self, e: &Entry) -> Result<()> {
        let sql = format!(
            "INSERT INTO catalog ({COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (bucket, key) DO UPDATE SET tier = ?3, size = ?4, etag = ?5, checksum = ?6, since = ?7, decision_id = ?8"
        );
        let r = self.conn().execute(
            &sql,
            params![
                e.bucket,
                e.key,
                e.tier,
                e.size as i64,
                e.etag,
                e.checksum,
                e.since,
                e.decision_id
            ],
        );
        r.map(drop).map_err(|e| self.err(e))
    }

    /// Removes an object's entry (it was deleted by its owner).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn remove_entry(&mut self, bucket: &str, key: &str) -> Result<()> {
        let r = self.conn().execute(
            "DELETE FROM catalog WHERE bucket = ?1 AND key = ?2",
            params![bucket, key],
        );
        r.map(drop).map_err(|e| self.err(e))
    }

    /// Every catalog entry (for checks and reports).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn catalog_all(&mut self) -> Result<Vec<Entry>> {
        let sql = format!("SELECT {COLS} FROM catalog ORDER BY bucket, key");
        self.query_all(&sql, [], entry)
    }
}
