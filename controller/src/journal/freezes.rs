//! Freezes in the journal: the service opens and lifts them; `tierd unfreeze` lifts them by hand.

use rusqlite::params;

use super::{Journal, Result};
use crate::decision::Decision;

/// One open freeze.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreezeRow {
    pub bucket: String,
    /// '' = the whole bucket.
    pub prefix: String,
    /// RFC 3339.
    pub since: String,
    pub decision_id: String,
    pub rule: Option<String>,
}

impl Journal {
    /// Records an open freeze.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn open_freeze(&mut self, f: &FreezeRow) -> Result<()> {
        let r = self.conn().execute(
            "INSERT INTO freeze (bucket, prefix, since, decision_id, rule) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![f.bucket, f.prefix, f.since, f.decision_id, f.rule],
        );
        r.map(|_| ()).map_err(|e| self.err(e))
    }

    /// Records an operator's freeze or unfreeze decision `d` and its effect (`apply`: opening or
    /// lifting the freeze) in one transaction: a crash between them leaves neither.
    ///
    /// # Errors
    /// SQLite or serialisation errors; then neither is recorded.
    pub fn record_freezing(
        &mut self,
        d: &Decision,
        apply: impl FnOnce(&mut Journal) -> Result<()>,
    ) -> Result<()> {
        self.in_transaction(|j| {
            j.record_decision(d)?;
            apply(j)
        })
    }

    /// Lifts the open freeze on exactly `bucket` + `prefix`; returns whether one was open.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn lift_freeze(&mut self, bucket: &str, prefix: &str, at: &str, by: &str) -> Result<bool> {
        let r = self.conn().execute(
            "UPDATE freeze SET lifted_at = ?3, lifted_by = ?4
             WHERE bucket = ?1 AND prefix = ?2 AND lifted_at IS NULL",
            params![bucket, prefix, at, by],
        );
        r.map(|n| n > 0).map_err(|e| self.err(e))
    }

    /// Every open freeze, by bucket and prefix.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn open_freezes(&mut self) -> Result<Vec<FreezeRow>> {
        self.query_all(
            "SELECT bucket, prefix, since, decision_id, rule FROM freeze
             WHERE lifted_at IS NULL ORDER BY bucket, prefix",
            [],
            |r| {
                Ok(FreezeRow {
                    bucket: r.get(0)?,
                    prefix: r.get(1)?,
                    since: r.get(2)?,
                    decision_id: r.get(3)?,
                    rule: r.get(4)?,
                })
            },
        )
    }

    /// The highest decision sequence number so far (decision ids continue after it), also when
    /// retention has forgotten the newest decisions (SQLite keeps the highest given).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn last_decision_seq(&mut self) -> Result<u64> {
        let r = self.conn().query_row(
            "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'decision'), 0),
                        COALESCE((SELECT MAX(seq) FROM decision), 0))",
            [],
            |r| r.get::<_, i64>(0),
        );
        r.map(|n| n.max(0) as u64).map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::{Action, State};

    #[test]
    fn an_operators_freeze_and_its_decision_are_recorded_together_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(&dir.path().join("j.db")).unwrap();
        let d = Decision {
            id: "freeze-1".into(),
            at: "2026-11-29T10:00:00Z".into(),
            action: Action::Freeze,
            bucket: Some("b".into()),
            key: None,
            prefix: Some(String::new()),
            from: None,
            to: None,
            rule: None,
            anomaly: None,
            reason: "An operator froze bucket \"b\".".into(),
            cost: None,
            undo: Some("tierd unfreeze b".into()),
            state: State::Done,
            why: None,
            explanation: None,
        };
        let row = FreezeRow {
            bucket: "b".into(),
            prefix: String::new(),
            since: d.at.clone(),
            decision_id: d.id.clone(),
            rule: None,
        };
        // Its effect fails after the freeze row was written: neither is kept.
        let failed = j.record_freezing(&d, |j| {
            j.open_freeze(&row)?;
            Err(j.err(rusqlite::Error::InvalidQuery))
        });
        assert!(failed.is_err());
        assert_eq!(j.decision("freeze-1").unwrap(), None);
        assert!(j.open_freezes().unwrap().is_empty());
        j.record_freezing(&d, |j| j.open_freeze(&row)).unwrap();
        assert_eq!(j.decision("freeze-1").unwrap(), Some(d));
        assert_eq!(j.open_freezes().unwrap(), vec![row]);
    }

    #[test]
    fn a_freeze_is_open_until_lifted_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(&dir.path().join("j.db")).unwrap();
        let f = FreezeRow {
            bucket: "b".into(),
            prefix: String::new(),
            since: "2026-11-29T10:00:00Z".into(),
            decision_id: "freeze-1".into(),
            rule: Some("r".into()),
        };
        j.open_freeze(&f).unwrap();
        assert_eq!(j.open_freezes().unwrap(), vec![f]);
        assert!(
            j.lift_freeze("b", "", "2026-11-29T11:00:00Z", "op-2")
                .unwrap()
        );
        assert!(
            !j.lift_freeze("b", "", "2026-11-29T11:00:00Z", "op-3")
                .unwrap()
        );
        assert!(j.open_freezes().unwrap().is_empty());
    }
}
