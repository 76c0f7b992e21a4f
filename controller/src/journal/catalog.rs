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

    /// Whether the catalog has any object of a bucket under a prefix.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn catalog_holds(&mut self, bucket: &str, prefix: &str) -> Result<bool> {
        let r = self.conn().query_row(
            "SELECT EXISTS (SELECT 1 FROM catalog WHERE bucket = ?1 AND substr(key, 1, length(?2)) = ?2)",
            params![bucket, prefix],
            |r| r.get(0),
        );
        r.map_err(|e| self.err(e))
    }

    /// Writes the entries of listed objects, in one transaction (a listing of millions of
    /// objects is thousands of commits, not millions). An entry with `replace` false is added
    /// only where the catalog has no entry for its key; one with `replace` true replaces an
    /// entry a listing wrote (one no move made), unless a move of the object is under way: a
    /// listing beside the moves never takes a copy a move is still making for the object.
    /// Returns, per entry, whether it was written.
    ///
    /// # Errors
    /// SQLite errors; then none of them is written.
    pub fn add_listed(&mut self, entries: &[(Entry, bool)]) -> Result<Vec<bool>> {
        self.write_entries(entries.iter().map(|(e, replace)| (e, *replace)), true)
    }

    /// Inserts or replaces an object's entry.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn upsert_entry(&mut self, e: &Entry) -> Result<()> {
        self.write_entries([(e, true)], false).map(drop)
    }

    /// [`Journal::add_listed`] (`listed`), or a move's or an operator's upsert.
    fn write_entries<'a>(
        &mut self,
        entries: impl IntoIterator<Item = (&'a Entry, bool)>,
        listed: bool,
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
            let guard = if listed {
                " WHERE catalog.decision_id IS NULL AND NOT EXISTS (SELECT 1 FROM move m \
                 WHERE m.bucket = ?1 AND m.key = ?2 AND m.state IN ('intent', 'copied'))"
            } else {
                ""
            };
            let mut replace = tx
                .prepare(&format!(
                    "{insert} ON CONFLICT (bucket, key) DO UPDATE SET tier = ?3, size = ?4, etag = ?5, checksum = ?6, since = ?7, decision_id = ?8{guard}"
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

    /// Every bucket the catalog has an object of, sorted.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn catalog_buckets(&mut self) -> Result<Vec<String>> {
        self.query_all("SELECT DISTINCT bucket FROM catalog ORDER BY 1", [], |r| {
            r.get(0)
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::copy::Version;

    fn at(tier: &str, since: &str) -> Entry {
        Entry {
            bucket: "b".into(),
            key: "x".into(),
            tier: tier.into(),
            size: 3,
            etag: None,
            checksum: None,
            since: since.into(),
            decision_id: None,
        }
    }

    #[test]
    fn a_listing_takes_no_copy_a_move_is_making_nor_an_entry_a_move_made() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open_writable(&dir.path().join("t.db")).unwrap();
        // A listing finds x on onprem, then a newer copy on cloud: it takes the newer one.
        assert_eq!(
            j.add_listed(&[(at("onprem", "2026-01-01T00:00:00Z"), false)])
                .unwrap(),
            [true]
        );
        assert_eq!(
            j.add_listed(&[(at("cloud", "2026-01-02T00:00:00Z"), true)])
                .unwrap(),
            [true]
        );
        j.add_listed(&[(at("onprem", "2026-01-01T00:00:00Z"), true)])
            .unwrap();
        // A move of x is under way (the listing running beside it sees its copy land on
        // cloud): the listing leaves the entry alone.
        let id = j
            .move_intent(
                "d1",
                ("b", "x"),
                ("onprem", "cloud"),
                Version {
                    etag: None,
                    size: 3,
                },
            )
            .unwrap();
        assert_eq!(
            j.add_listed(&[(at("cloud", "2026-01-03T00:00:00Z"), true)])
                .unwrap(),
            [false]
        );
        assert_eq!(j.locate("b", "x").unwrap().unwrap().tier, "onprem");
        // The move ended and made its entry: a listing does not replace that either.
        j.move_end(id, crate::journal::moves::MoveState::Done, None)
            .unwrap();
        let mut made = at("cloud", "2026-01-03T00:00:00Z");
        made.decision_id = Some("d1".into());
        j.upsert_entry(&made).unwrap();
        assert_eq!(
            j.add_listed(&[(at("onprem", "2026-01-04T00:00:00Z"), true)])
                .unwrap(),
            [false]
        );
        assert_eq!(
            j.locate("b", "x").unwrap().unwrap().decision_id.as_deref(),
            Some("d1")
        );
    }
}
