//! Each bucket's behaviour that a restart must not forget (`behaviour`): an open incident, and
//! the anomaly scores, flags and configuration changes whose signals still hold. Saved by the
//! service after every cycle in which it changed, read back at start-up.

use super::{Journal, Result, execute_each};

impl Journal {
    /// Saves the behaviour of buckets (`(bucket, state JSON)`, each replacing its last) and
    /// forgets that of buckets with nothing left to keep, in one transaction.
    ///
    /// # Errors
    /// SQLite errors; then none of it is saved.
    pub fn save_behaviour(&mut self, states: &[(&str, &str)], forget: &[&str]) -> Result<()> {
        let (conn, err) = self.split();
        let tx = conn.transaction().map_err(err)?;
        execute_each(
            &tx,
            "INSERT INTO behaviour (bucket, state) VALUES (?1, ?2)
             ON CONFLICT (bucket) DO UPDATE SET state = ?2",
            states.iter().map(|(b, state)| (b, state)),
            err,
        )?;
        execute_each(
            &tx,
            "DELETE FROM behaviour WHERE bucket = ?1",
            forget.iter().map(|b| (b,)),
            err,
        )?;
        tx.commit().map_err(err)
    }

    /// Every saved behaviour: `(bucket, state JSON)`, in bucket order.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn behaviour_all(&mut self) -> Result<Vec<(String, String)>> {
        self.query_all(
            "SELECT bucket, state FROM behaviour ORDER BY bucket",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaviour_is_saved_replaced_forgotten_and_read_back_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.db");
        let mut j = Journal::open(&path).unwrap();
        j.save_behaviour(&[("a", "{\"x\":1}"), ("b", "{\"x\":2}")], &[])
            .unwrap();
        j.save_behaviour(&[("a", "{\"x\":3}")], &["b"]).unwrap();
        drop(j);
        let mut j = Journal::open(&path).unwrap();
        assert_eq!(
            j.behaviour_all().unwrap(),
            vec![("a".to_string(), "{\"x\":3}".to_string())]
        );
    }
}
