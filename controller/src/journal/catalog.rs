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

    /// Writes the entries of listed objects, in one transaction (a listing of millions of
    /// objects is thousands of commits, not millions). An entry with `replace` false is added
    /// only where the catalog has no entry for its key; one with `replace` true replaces it.
    /// Returns, per entry, whether it was written.
    ///
    /// # Errors
    /// SQLite errors; then none of them is written.
    pub fn add_listed(&mut self, entries: &[(Entry, bool)]) -> Result<Vec<bool>> {
        self.write_entries(entries.iter().map(|(e, replace)| (e, *replace)))
    }

    /// Inserts or replaces an object's entry.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn upsert_entry(&mut self, e: &Entry) -> Result<()> {
        self.write_entries([(e, true)]).map(drop)
    }

    /// [`Journal::add_listed`], of borrowed entries.
    fn write_entries<'a>(
        &mut self,
        entries: impl IntoIterator<Item = (&'a Entry, bool)>,
    ) -> Result<Vec<bool>> {
        let insert =
            format!("INSERT INTO catalog ({COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
        let (conn, err) = self.split();
        let tx = conn.transaction().map_err(err)?;
        let mut written = Vec::new();
        {
            let mut add = tx
                .prepare(&format!("{insert} ON CONFLICT (bucket, key) DO NOTHING"))
                .map_err(err)?;
            let mut replace = tx
                .prepare(&format!(
                    "{insert} ON CONFLICT (bucket, key) DO UPDATE SET tier = ?3, size = ?4, etag = ?5, checksum = ?6, since = ?7, decision_id = ?8"
                ))
                .map_err(err)?;
            for (e, replaces) in entries {
                let stmt = if replaces { &mut replace } else { &mut add };
                let n = stmt
                    .execute(params![
                        e.bucket,
                        e.key,
                        e.tier,
                        e.size as i64,
                        e.etag,
                        e.checksum,
                        e.since,
                        e.decision_id
                    ])
                    .map_err(err)?;
                written.push(n > 0);
            }
        }
        tx.commit().map_err(err)?;
        Ok(written)
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

    /// Hands every catalog entry (of `bucket`, or of every bucket) to `f`, by bucket and key,
    /// one at a time: a catalog of millions is read in the memory of one entry.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn catalog_each(&mut self, bucket: Option<&str>, mut f: impl FnMut(Entry)) -> Result<()> {
        let sql = format!(
            "SELECT {COLS} FROM catalog WHERE ?1 IS NULL OR bucket = ?1 ORDER BY bucket, key"
        );
        let (conn, err) = self.split();
        let mut st = conn.prepare(&sql).map_err(err)?;
        let mut rows = st.query(params![bucket]).map_err(err)?;
        while let Some(r) = rows.next().map_err(err)? {
            f(entry(r).map_err(err)?);
        }
        Ok(())
    }
}
