//! Retention: the journal forgets finished history older than `journal.keep_decisions`, and
//! keeps everything tierd still needs.
//!
//! A decision is forgotten when it was taken before the cut-off, has ended (`done`, `failed`,
//! `skipped`, `dry-run`), and nothing still names it:
//! - the catalog: the decision that put an object where it is (`tierd locate`, `tierd recall`,
//!   `explain`'s "put there by decision ...");
//! - a freeze the journal still keeps: open, or lifted after the cut-off (the decisions that
//!   opened and lifted it);
//! - a snapshot: a snapshot's decision is its id (`snapshot list`, `restore`, the chain);
//! - a move step still in flight (recovery reads them).
//!
//! Its move steps go with it. A freeze lifted before the cut-off is forgotten too. Nothing else
//! is pruned: ingest checkpoints, the access history and the catalog describe the present.
//! Deleted rows leave free pages that SQLite reuses, so the file stops growing; `VACUUM` (with
//! the service stopped) gives the space back to the file system.

use rusqlite::params;

use super::{Journal, Result};

/// What one [`Journal::prune`] forgot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub decisions: u64,
    pub moves: u64,
    pub freezes: u64,
    /// The limit stopped it: more is due (the next prune goes on).
    pub more: bool,
}

/// Decisions forgotten per transaction: other writers (a `tierd freeze`, the service's next
/// record) wait at most one batch.
const BATCH: usize = 2_000;

/// The decisions [the module](self) says may be forgotten, oldest first.
const FORGETTABLE: &str = "SELECT id FROM decision d
     WHERE d.at < ?1 AND d.state IN ('done', 'failed', 'skipped', 'dry-run')
       AND NOT EXISTS (SELECT 1 FROM catalog c WHERE c.decision_id = d.id)
       AND NOT EXISTS (SELECT 1 FROM freeze f WHERE f.decision_id = d.id OR f.lifted_by = d.id)
       AND NOT EXISTS (SELECT 1 FROM snapshot s WHERE s.id = d.id)
       AND NOT EXISTS (SELECT 1 FROM move m
                       WHERE m.decision_id = d.id AND m.state IN ('intent', 'copied'))
     ORDER BY d.at LIMIT ?2";

impl Journal {
    /// Forgets what [the module](self) says, taken (or lifted) before `before` (RFC 3339 UTC, as
    /// the journal writes times), at most `limit` decisions, a batch per transaction.
    ///
    /// # Errors
    /// SQLite errors; batches committed before one stay forgotten.
    pub fn prune(&mut self, before: &str, limit: usize) -> Result<Pruned> {
        let mut pruned = Pruned::default();
        let r = self.conn().execute(
            "DELETE FROM freeze WHERE lifted_at IS NOT NULL AND lifted_at < ?1",
            [before],
        );
        pruned.freezes = r.map_err(|e| self.err(e))? as u64;
        while (pruned.decisions as usize) < limit {
            let want = BATCH.min(limit - pruned.decisions as usize);
            let (conn, err) = self.split();
            let tx = conn.transaction().map_err(err)?;
            let ids = {
                let mut st = tx.prepare_cached(FORGETTABLE).map_err(err)?;
                let rows = st
                    .query_map(params![before, want as i64], |r| r.get::<_, String>(0))
                    .map_err(err)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(err)?
            };
            {
                let mut moves = tx
                    .prepare_cached("DELETE FROM move WHERE decision_id = ?1")
                    .map_err(err)?;
                let mut decisions = tx
                    .prepare_cached("DELETE FROM decision WHERE id = ?1")
                    .map_err(err)?;
                for id in &ids {
                    pruned.moves += moves.execute([id]).map_err(err)? as u64;
                    decisions.execute([id]).map_err(err)?;
                }
            }
            tx.commit().map_err(err)?;
            pruned.decisions += ids.len() as u64;
            if ids.len() < want {
                return Ok(pruned);
            }
        }
        pruned.more = true;
        Ok(pruned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::{Action, Decision, State};
    use crate::executor::copy::Version;
    use crate::journal::catalog::Entry;
    use crate::journal::freezes::FreezeRow;
    use crate::journal::moves::MoveState;
    use crate::journal::snapshots::SnapshotRow;

    const OLD: &str = "2025-01-10T00:00:00Z";
    const CUT: &str = "2025-06-01T00:00:00Z";
    const NEW: &str = "2026-11-29T00:00:00Z";

    fn decision(id: &str, at: &str, action: Action, state: State) -> Decision {
        Decision {
            id: id.into(),
            at: at.into(),
            action,
            bucket: Some("b".into()),
            key: (action == Action::Move).then(|| id.to_string()),
            prefix: (action != Action::Move).then(String::new),
            from: None,
            to: None,
            rule: Some("r".into()),
            anomaly: None,
            reason: "test".into(),
            cost: None,
            undo: None,
            state,
            why: None,
            explanation: None,
        }
    }

    /// A move decision with one move step ended in `end` (`None`: still at its intent).
    fn moved(j: &mut Journal, id: &str, at: &str, state: State, end: Option<MoveState>) {
        j.record_decision(&decision(id, at, Action::Move, state))
            .unwrap();
        let version = Version {
            etag: Some("e"),
            size: 1,
        };
        let m = j
            .move_intent(id, ("b", id), ("onprem", "cloud"), version)
            .unwrap();
        if let Some(end) = end {
            j.move_end(m, end, None).unwrap();
        }
    }

    fn ids(j: &mut Journal) -> Vec<String> {
        j.query_all("SELECT id FROM decision ORDER BY id", [], |r| r.get(0))
            .unwrap()
    }

    fn move_steps(j: &mut Journal) -> Vec<String> {
        j.query_all(
            "SELECT decision_id FROM move ORDER BY decision_id",
            [],
            |r| r.get(0),
        )
        .unwrap()
    }

    #[test]
    fn only_ended_old_decisions_nothing_names_are_forgotten_with_their_moves() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(&dir.path().join("j.db")).unwrap();
        // Forgettable: old, ended, named by nothing (a move undone since, a failed one, a skip).
        moved(&mut j, "m-done", OLD, State::Done, Some(MoveState::Done));
        moved(
            &mut j,
            "m-failed",
            OLD,
            State::Failed,
            Some(MoveState::Failed),
        );
        j.record_decision(&decision("m-skip", OLD, Action::Move, State::Skipped))
            .unwrap();
        // Kept: newer than the cut-off; still running; a move step in flight; the decision
        // that put an object where it is.
        moved(&mut j, "m-new", NEW, State::Done, Some(MoveState::Done));
        moved(
            &mut j,
            "m-running",
            OLD,
            State::Running,
            Some(MoveState::Done),
        );
        moved(&mut j, "m-open", OLD, State::Failed, None);
        moved(&mut j, "m-placed", OLD, State::Done, Some(MoveState::Done));
        j.upsert_entry(&Entry {
            bucket: "b".into(),
            key: "m-placed".into(),
            tier: "cloud".into(),
            size: 1,
            etag: None,
            checksum: None,
            since: OLD.into(),
            decision_id: Some("m-placed".into()),
        })
        .unwrap();
        // Freezes: one open (kept); one lifted long ago (forgotten with both decisions); one
        // lifted after the cut-off (kept with both).
        let freeze = |j: &mut Journal, id: &str, lift: Option<(&str, &str)>| {
            j.record_decision(&decision(id, OLD, Action::Freeze, State::Done))
                .unwrap();
            j.open_freeze(&FreezeRow {
                bucket: "b".into(),
                prefix: id.into(),
                since: OLD.into(),
                decision_id: id.into(),
                rule: Some("r".into()),
            })
            .unwrap();
            if let Some((by, at)) = lift {
                j.record_decision(&decision(by, at, Action::Unfreeze, State::Done))
                    .unwrap();
                assert!(j.lift_freeze("b", id, at, by).unwrap());
            }
        };
        freeze(&mut j, "f-open", None);
        freeze(&mut j, "f-old", Some(("u-old", OLD)));
        freeze(&mut j, "f-late", Some(("u-late", NEW)));
        // A snapshot's decision is its id.
        j.record_decision(&decision("s-1", OLD, Action::Snapshot, State::Done))
            .unwrap();
        j.record_snapshot(&SnapshotRow {
            id: "s-1".into(),
            created_at: OLD.into(),
            vault: "vault".into(),
            bucket: "b".into(),
            prefix: String::new(),
            manifest_path: "m".into(),
            manifest_hash: "h".into(),
            prev_hash: None,
            objects: 0,
            bytes: 0,
            copied_bytes: 0,
        })
        .unwrap();
        let seq = j.last_decision_seq().unwrap();

        let p = j.prune(CUT, 1_000).unwrap();
        assert_eq!(
            p,
            Pruned {
                decisions: 5,
                moves: 2,
                freezes: 1,
                more: false
            }
        );
        assert_eq!(
            ids(&mut j),
            [
                "f-late",
                "f-open",
                "m-new",
                "m-open",
                "m-placed",
                "m-running",
                "s-1",
                "u-late"
            ]
        );
        assert_eq!(
            move_steps(&mut j),
            ["m-new", "m-open", "m-placed", "m-running"]
        );
        let open: Vec<String> = j
            .open_freezes()
            .unwrap()
            .into_iter()
            .map(|f| f.prefix)
            .collect();
        assert_eq!(open, ["f-open"]);
        // Nothing more, and new decision ids go on after the highest ever given.
        assert_eq!(j.prune(CUT, 1_000).unwrap(), Pruned::default());
        assert_eq!(j.last_decision_seq().unwrap(), seq);
    }

    #[test]
    fn a_limit_forgets_the_oldest_first_and_says_more_is_due() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(&dir.path().join("j.db")).unwrap();
        for (id, at) in [
            ("c", "2025-01-03T00:00:00Z"),
            ("a", "2025-01-01T00:00:00Z"),
            ("b", "2025-01-02T00:00:00Z"),
        ] {
            j.record_decision(&decision(id, at, Action::Alert, State::Done))
                .unwrap();
        }
        let p = j.prune(CUT, 2).unwrap();
        assert_eq!((p.decisions, p.more), (2, true));
        assert_eq!(ids(&mut j), ["c"]);
        let p = j.prune(CUT, 2).unwrap();
        assert_eq!((p.decisions, p.more), (1, false));
        // Every decision forgotten: ids still go on after the highest ever given.
        assert_eq!(j.last_decision_seq().unwrap(), 3);
        let next = j.next_decision_id("move", NEW).unwrap();
        assert!(next.ends_with("-000004"), "{next}");
    }
}
