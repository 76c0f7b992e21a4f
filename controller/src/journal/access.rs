//! The planner's access history per object (`object_access`): saved by the service at every
//! cycle that read events (before their log checkpoints) and at stop, for the objects events
//! touched since; read back at start-up, so that a restart neither forgets that an object is hot
//! nor takes a busy object for an idle one.

use super::{Journal, Result, execute_each};

/// One planner row as the journal keeps it: two names and a JSON document.
type Row<'a> = (&'a str, &'a str, String);

impl Journal {
    /// Saves access histories (JSON, one per object) and forgets deleted objects', in one
    /// transaction. Not synced to disk at once (a history is not a move): a power cut may lose
    /// the last save, never corrupt the journal.
    ///
    /// # Errors
    /// SQLite errors; then none of them is saved.
    pub fn save_access(&mut self, states: &[Row], forget: &[(&str, &str)]) -> Result<()> {
        let (conn, err) = self.split();
        let tx = conn.transaction().map_err(err)?;
        execute_each(
            &tx,
            "INSERT INTO object_access (bucket, key, state) VALUES (?1, ?2, ?3)
             ON CONFLICT (bucket, key) DO UPDATE SET state = ?3",
            states.iter().map(|(b, k, json)| (b, k, json)),
            err,
        )?;
        execute_each(
            &tx,
            "DELETE FROM object_access WHERE bucket = ?1 AND key = ?2",
            forget.iter().map(|(b, k)| (b, k)),
            err,
        )?;
        tx.commit().map_err(err)
    }

    /// Records the service's fact `name` (see [`Journal::service_state`]), replacing its last.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn set_service_state(&mut self, name: &str, value: i64) -> Result<()> {
        let (conn, err) = self.split();
        conn.execute(
            "INSERT INTO service_state (name, value) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET value = ?2",
            rusqlite::params![name, value],
        )
        .map_err(err)?;
        Ok(())
    }

    /// The service's fact `name` as the last run left it (`newest_event`: the time of the
    /// newest access event read, unix seconds).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn service_state(&mut self, name: &str) -> Result<Option<i64>> {
        let rows = self.query_all(
            "SELECT value FROM service_state WHERE name = ?1",
            [name],
            |r| r.get(0),
        )?;
        Ok(rows.into_iter().next())
    }

    /// Saves read-back life tables: `(bucket, prefix, gaps JSON)`, each replacing its last.
    ///
    /// # Errors
    /// SQLite errors; then none of them is saved.
    pub fn save_readback(&mut self, tables: &[Row]) -> Result<()> {
        let (conn, err) = self.split();
        let tx = conn.transaction().map_err(err)?;
        execute_each(
            &tx,
            "INSERT INTO readback (bucket, prefix, gaps) VALUES (?1, ?2, ?3)
             ON CONFLICT (bucket, prefix) DO UPDATE SET gaps = ?3",
            tables.iter().map(|(b, p, json)| (b, p, json)),
            err,
        )?;
        tx.commit().map_err(err)
    }

    /// Every saved read-back life table: `(bucket, prefix, gaps JSON)`.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn readback_all(&mut self) -> Result<Vec<(String, String, String)>> {
        self.query_all(
            "SELECT bucket, prefix, gaps FROM readback ORDER BY bucket, prefix",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
    }

    /// Every saved access history: `(bucket, key, state JSON)`, in key order.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn access_all(&mut self) -> Result<Vec<(String, String, String)>> {
        self.query_all(
            "SELECT bucket, key, state FROM object_access ORDER BY bucket, key",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_histories_are_saved_replaced_forgotten_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(&dir.path().join("j.db")).unwrap();
        j.save_access(
            &[("b", "k1", "{\"a\":1}".into()), ("b", "k2", "{}".into())],
            &[],
        )
        .unwrap();
        j.save_access(&[("b", "k1", "{\"a\":2}".into())], &[("b", "k2")])
            .unwrap();
        drop(j);
        let mut j = Journal::open(&dir.path().join("j.db")).unwrap();
        assert_eq!(
            j.access_all().unwrap(),
            vec![("b".to_string(), "k1".to_string(), "{\"a\":2}".to_string())]
        );
    }

    #[test]
    fn read_back_tables_are_saved_replaced_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(&dir.path().join("j.db")).unwrap();
        j.save_readback(&[("b", "", "[1]".into()), ("b", "logs/", "[2]".into())])
            .unwrap();
        j.save_readback(&[("b", "logs/", "[3]".into())]).unwrap();
        drop(j);
        let mut j = Journal::open(&dir.path().join("j.db")).unwrap();
        let row = |p: &str, g: &str| ("b".to_string(), p.to_string(), g.to_string());
        assert_eq!(
            j.readback_all().unwrap(),
            vec![row("", "[1]"), row("logs/", "[3]")]
        );
    }

    #[test]
    fn a_service_fact_is_replaced_and_outlives_the_journal_handle() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("j.db");
        let mut j = Journal::open(&db).unwrap();
        assert_eq!(j.service_state("newest_event").unwrap(), None);
        j.set_service_state("newest_event", 10).unwrap();
        j.set_service_state("newest_event", 1_790_000_000).unwrap();
        drop(j);
        let mut j = Journal::open(&db).unwrap();
        assert_eq!(
            j.service_state("newest_event").unwrap(),
            Some(1_790_000_000)
        );
    }
}
