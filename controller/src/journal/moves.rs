//! Moves in the journal: every step of the move protocol, so a crash at any point is recovered.
//!
//! States: `intent` (recorded before anything is written) → `copied` (destination written and
//! verified) → `done` (source deleted, catalog updated). Or `aborted` (the source changed, or the
//! destination already held something else; nothing lost) or `failed` (a permanent error).

use rusqlite::{Row, params};

use super::{Journal, Result};
use crate::executor::copy::Version;

/// A move's step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveState {
    Intent,
    Copied,
    Done,
    Aborted,
    Failed,
}

impl MoveState {
    pub fn as_str(self) -> &'static str {
        match self {
            MoveState::Intent => "intent",
            MoveState::Copied => "copied",
            MoveState::Done => "done",
            MoveState::Aborted => "aborted",
            MoveState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> MoveState {
        match s {
            "intent" => MoveState::Intent,
            "copied" => MoveState::Copied,
            "done" => MoveState::Done,
            "aborted" => MoveState::Aborted,
            _ => MoveState::Failed,
        }
    }
}

/// One move as journalled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveRow {
    pub id: i64,
    pub decision_id: String,
    pub bucket: String,
    pub key: String,
    pub from_tier: String,
    pub to_tier: String,
    pub state: MoveState,
    pub src_etag: Option<String>,
    pub src_size: Option<u64>,
    pub checksum: Option<String>,
    pub dest_etag: Option<String>,
    pub error: Option<String>,
    pub attempts: u32,
}

fn row(r: &Row<'_>) -> rusqlite::Result<MoveRow> {
    Ok(MoveRow {
        id: r.get(0)?,
        decision_id: r.get(1)?,
        bucket: r.get(2)?,
        key: r.get(3)?,
        from_tier: r.get(4)?,
        to_tier: r.get(5)?,
        state: MoveState::parse(&r.get::<_, String>(6)?),
        src_etag: r.get(7)?,
        src_size: r.get::<_, Option<i64>>(8)?.map(|v| v as u64),
        checksum: r.get(9)?,
        dest_etag: r.get(10)?,
        error: r.get(11)?,
        attempts: r.get::<_, i64>(12)? as u32,
    })
}

const COLS: &str = "id, decision_id, bucket, key, from_tier, to_tier, state, src_etag, src_size, checksum, dest_etag, error, attempts";

fn now() -> String {
    chrono::Utc::now().to_rfc3339()
}

impl Journal {
    /// Step 1: journals the intent to move `(bucket, key)` between tiers `(from, to)`, with the
    /// source version that will be copied.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn move_intent(
        &mut self,
        decision_id: &str,
        (bucket, key): (&str, &str),
        (from, to): (&str, &str),
        version: Version<'_>,
    ) -> Result<i64> {
        let (src_etag, src_size) = (version.etag, version.size);
        let t = now();
        self.durably(|j| {
            let r = j.conn().execute(
            "INSERT INTO move (decision_id, bucket, key, from_tier, to_tier, state, src_etag, src_size, created_at, updated_at, attempts)
             VALUES (?1, ?2, ?3, ?4, ?5, 'intent', ?6, ?7, ?8, ?8, 1)",
                params![decision_id, bucket, key, from, to, src_etag, src_size as i64, t],
            );
            r.map_err(|e| j.err(e))?;
            Ok(j.conn().last_insert_rowid())
        })
    }

    /// Step 4: the destination holds a verified copy. Only a move still at its intent advances:
    /// one that something else ended meanwhile (a recovery run by another process) stays ended,
    /// and its mover must not go on to delete the source.
    ///
    /// # Errors
    /// SQLite errors; [`super::JournalError::MoveNotInFlight`] when the move is no longer at
    /// its intent.
    pub fn move_copied(&mut self, id: i64, checksum: &str, dest_etag: Option<&str>) -> Result<()> {
        self.durably(|j| {
            let changed = j
                .conn()
                .execute(
                    "UPDATE move SET state = 'copied', checksum = ?2, dest_etag = ?3, updated_at = ?4 WHERE id = ?1 AND state = 'intent'",
                    params![id, checksum, dest_etag, now()],
                )
                .map_err(|e| j.err(e))?;
            if changed == 1 {
                Ok(())
            } else {
                Err(super::JournalError::MoveNotInFlight {
                    path: j.path().to_path_buf(),
                    id,
                })
            }
        })
    }

    /// Ends a move (done, aborted or failed), with the error or reason if any.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn move_end(&mut self, id: i64, state: MoveState, error: Option<&str>) -> Result<()> {
        let r = self.conn().execute(
            "UPDATE move SET state = ?2, error = ?3, updated_at = ?4 WHERE id = ?1",
            params![id, state.as_str(), error, now()],
        );
        r.map(drop).map_err(|e| self.err(e))
    }

    /// Step 6 in one transaction: the move is done and the catalog says the object is on `to`.
    ///
    /// # Errors
    /// SQLite errors; then neither change is made.
    pub fn move_done(&mut self, m: &MoveRow, entry: &super::catalog::Entry) -> Result<()> {
        let path = self.path().to_path_buf();
        let err = |source| super::JournalError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn().transaction().map_err(err)?;
        tx.execute(
            "UPDATE move SET state = 'done', error = NULL, updated_at = ?2 WHERE id = ?1",
            params![m.id, now()],
        )
        .map_err(err)?;
        tx.execute(
            "INSERT INTO catalog (bucket, key, tier, size, etag, checksum, since, decision_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (bucket, key) DO UPDATE SET tier = ?3, size = ?4, etag = ?5, checksum = ?6, since = ?7, decision_id = ?8",
            params![
                entry.bucket,
                entry.key,
                entry.tier,
                entry.size as i64,
                entry.etag,
                entry.checksum,
                entry.since,
                entry.decision_id
            ],
        )
        .map_err(err)?;
        tx.commit().map_err(err)
    }

    /// Moves that were in flight (intent or copied): recovered at start-up.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn open_moves(&mut self) -> Result<Vec<MoveRow>> {
        self.query_moves(
            &format!("SELECT {COLS} FROM move WHERE state IN ('intent', 'copied') ORDER BY id"),
            params![],
        )
    }

    /// Every move of an object, oldest first.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn moves_of(&mut self, bucket: &str, key: &str) -> Result<Vec<MoveRow>> {
        self.query_moves(
            &format!("SELECT {COLS} FROM move WHERE bucket = ?1 AND key = ?2 ORDER BY id"),
            params![bucket, key],
        )
    }

    /// Every move (for checks and reports).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn all_moves(&mut self) -> Result<Vec<MoveRow>> {
        self.query_moves(&format!("SELECT {COLS} FROM move ORDER BY id"), params![])
    }

    /// One move by id.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn move_by_id(&mut self, id: i64) -> Result<Option<MoveRow>> {
        let mut rows = self.query_moves(
            &format!("SELECT {COLS} FROM move WHERE id = ?1"),
            params![id],
        )?;
        Ok(rows.pop())
    }

    /// The latest move of every decision still `planned` or `running` although none of its
    /// moves is in flight: the process that ran them stopped (a crash, a kill) after they
    /// ended and before it recorded the outcome on the decision. Oldest decision first.
    ///
    /// Only meaningful while no process is moving data with this journal (recovery holds the
    /// mover's lock): a live mover's decisions are `running` between a move's end and its
    /// record.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn moves_of_unsettled_decisions(&mut self) -> Result<Vec<MoveRow>> {
        let cols = COLS
            .split(", ")
            .map(|c| format!("m.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        self.query_moves(
            &format!(
                "SELECT {cols} FROM move m JOIN (
                     SELECT d.seq AS seq, MAX(x.id) AS last, SUM(x.state IN ('intent', 'copied')) AS open
                     FROM decision d INDEXED BY decision_unsettled
                     JOIN move x ON x.decision_id = d.id
                     WHERE d.state IN ('planned', 'running')
                     GROUP BY d.id
                 ) u ON m.id = u.last
                 WHERE u.open = 0
                 ORDER BY u.seq"
            ),
            params![],
        )
    }

    fn query_moves(&mut self, sql: &str, p: &[&dyn rusqlite::ToSql]) -> Result<Vec<MoveRow>> {
        self.query_all(sql, p, row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_move_at_its_intent_becomes_copied() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(&dir.path().join("j.db")).unwrap();
        let version = Version {
            etag: Some("e1"),
            size: 3,
        };
        let id = j
            .move_intent("d1", ("b", "k"), ("hot", "cold"), version)
            .unwrap();
        // Another process's recovery ended it meanwhile: its mover must stop there.
        j.move_end(id, MoveState::Aborted, Some("undone")).unwrap();
        let err = j.move_copied(id, "sum", None).unwrap_err();
        assert!(
            matches!(err, crate::journal::JournalError::MoveNotInFlight { id: i, .. } if i == id),
            "{err}"
        );
        assert_eq!(j.moves_of("b", "k").unwrap()[0].state, MoveState::Aborted);
        let id2 = j
            .move_intent("d2", ("b", "k"), ("hot", "cold"), version)
            .unwrap();
        j.move_copied(id2, "sum", Some("e2")).unwrap();
        assert_eq!(j.moves_of("b", "k").unwrap()[1].state, MoveState::Copied);
    }

    fn decision(id: &str, state: crate::decision::State) -> crate::decision::Decision {
        let mut d = crate::decision::Decision::operator_move(
            id.into(),
            "2026-11-29T10:00:00Z".into(),
            ("b", id),
            (Some("hot"), "cold"),
            "An operator ran `tierd move` for this object.".into(),
        );
        d.state = state;
        d
    }

    #[test]
    fn a_decision_is_unsettled_when_its_moves_all_ended_but_it_is_still_open() {
        use crate::decision::State;
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(&dir.path().join("j.db")).unwrap();
        let version = Version {
            etag: None,
            size: 3,
        };
        let ended = |j: &mut Journal, d: &str, state: MoveState| {
            let id = j
                .move_intent(d, ("b", d), ("hot", "cold"), version)
                .unwrap();
            if state != MoveState::Intent {
                j.move_end(id, state, Some(state.as_str())).unwrap();
            }
            id
        };
        // Retried: a failed attempt, then the one that finished.
        j.record_decision(&decision("retried", State::Running))
            .unwrap();
        ended(&mut j, "retried", MoveState::Failed);
        let retried = ended(&mut j, "retried", MoveState::Done);
        // Still in flight: recovery's to end first.
        j.record_decision(&decision("open", State::Planned))
            .unwrap();
        ended(&mut j, "open", MoveState::Failed);
        ended(&mut j, "open", MoveState::Intent);
        // Already final, or never moved: nothing to settle.
        j.record_decision(&decision("final", State::Failed))
            .unwrap();
        ended(&mut j, "final", MoveState::Aborted);
        j.record_decision(&decision("unmoved", State::Planned))
            .unwrap();
        j.record_decision(&decision("aborted", State::Planned))
            .unwrap();
        let aborted = ended(&mut j, "aborted", MoveState::Aborted);

        let got: Vec<(String, i64, MoveState)> = j
            .moves_of_unsettled_decisions()
            .unwrap()
            .into_iter()
            .map(|m| (m.decision_id, m.id, m.state))
            .collect();
        assert_eq!(
            got,
            [
                ("retried".to_string(), retried, MoveState::Done),
                ("aborted".to_string(), aborted, MoveState::Aborted)
            ]
        );
        assert_eq!(
            j.move_by_id(retried).unwrap().unwrap().state,
            MoveState::Done
        );
        assert_eq!(j.move_by_id(9999).unwrap(), None);

        // Settling changes only an open decision, and keeps the rest of its record.
        let d = j
            .settle_decision("retried", State::Done, Some("recorded"))
            .unwrap()
            .unwrap();
        assert_eq!((d.state, d.why.as_deref()), (State::Done, Some("recorded")));
        assert_eq!(j.decision("retried").unwrap().unwrap(), d);
        assert_eq!(
            d.reason, "An operator ran `tierd move` for this object.",
            "the record is kept"
        );
        assert_eq!(j.settle_decision("final", State::Done, None).unwrap(), None);
        assert_eq!(j.decision("final").unwrap().unwrap().state, State::Failed);
        assert_eq!(
            j.settle_decision("missing", State::Done, None).unwrap(),
            None
        );
        let left: Vec<String> = j
            .moves_of_unsettled_decisions()
            .unwrap()
            .into_iter()
            .map(|m| m.decision_id)
            .collect();
        assert_eq!(left, ["aborted"]);
    }
}
