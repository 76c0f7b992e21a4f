//! Decisions in the journal: the full record as JSON, with indexed scope columns.

use rusqlite::params;

use super::{Journal, Result};
use crate::decision::{Action, Decision, State};

/// A filter for [`Journal::decisions`].
#[derive(Debug, Clone, Default)]
pub struct DecisionFilter {
    pub bucket: Option<String>,
    /// Decisions on this key, and on a scope that holds it (no key, and a prefix of it: `""`
    /// for a whole bucket's freeze, unfreeze, snapshot or restore).
    pub key: Option<String>,
    pub action: Option<String>,
    pub state: Option<String>,
    /// Decisions taken at or after this RFC 3339 time.
    pub since: Option<String>,
    pub limit: Option<usize>,
}

impl Journal {
    /// A new decision id, unique in this journal: `<kind>-<UTC time>-<sequence>`.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn next_decision_id(&mut self, kind: &str, at: &str) -> Result<String> {
        Ok(self.next_decision_ids(kind, at, 1)?.remove(0))
    }

    /// `n` new decision ids in sequence (for decisions recorded together).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn next_decision_ids(&mut self, kind: &str, at: &str, n: usize) -> Result<Vec<String>> {
        let seq = self.last_decision_seq()? as i64 + 1;
        let compact: String = at.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        Ok((0..n.max(1) as i64)
            .map(|i| format!("{kind}-{compact}-{:06}", seq + i))
            .collect())
    }

    /// Records a decision (or replaces the record of the same id, e.g. on a state change).
    ///
    /// # Errors
    /// SQLite or serialisation errors.
    pub fn record_decision(&mut self, d: &Decision) -> Result<()> {
        let json = serde_json::to_string(d)
            .map_err(|e| self.err(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))?;
        let r = self.conn().execute(
            "INSERT INTO decision (id, at, action, bucket, key, prefix, rule, state, record)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (id) DO UPDATE SET state = ?8, record = ?9",
            params![
                d.id,
                d.at,
                d.action.as_str(),
                d.bucket,
                d.key,
                d.prefix,
                d.rule,
                d.state.as_str(),
                json
            ],
        );
        r.map(drop).map_err(|e| self.err(e))
    }

    /// Records many decisions in one transaction (one disk sync for all of them).
    ///
    /// # Errors
    /// SQLite or serialisation errors; then none is recorded.
    pub fn record_decisions(&mut self, ds: &[Decision]) -> Result<()> {
        self.in_transaction(|j| ds.iter().try_for_each(|d| j.record_decision(d)))
    }

    /// Sets a decision's state (and why), keeping the rest of its record.
    ///
    /// # Errors
    /// SQLite errors, or no decision of that id.
    pub fn set_decision_state(&mut self, id: &str, state: State, why: Option<&str>) -> Result<()> {
        if let Some(mut d) = self.decision(id)? {
            d.state = state;
            d.why = why.map(str::to_string);
            self.record_decision(&d)?;
        }
        Ok(())
    }

    /// Gives a decision still `planned` or `running` its final `state` and why (recovery, for
    /// a decision whose process stopped before recording how it ended). A decision already
    /// final keeps its record: the process that wrote it knew more.
    ///
    /// Returns the updated record, or `None` when there is no such decision or it was final.
    ///
    /// # Errors
    /// SQLite errors or a record that no longer parses.
    pub fn settle_decision(
        &mut self,
        id: &str,
        state: State,
        why: Option<&str>,
    ) -> Result<Option<Decision>> {
        let Some(mut d) = self.decision(id)? else {
            return Ok(None);
        };
        if !matches!(d.state, State::Planned | State::Running) {
            return Ok(None);
        }
        d.state = state;
        d.why = why.map(str::to_string);
        self.record_decision(&d)?;
        Ok(Some(d))
    }

    /// Sets many decisions' states in one transaction.
    ///
    /// # Errors
    /// SQLite errors; then none is changed.
    pub fn set_decision_states(
        &mut self,
        changes: &[(String, State, Option<String>)],
    ) -> Result<()> {
        self.in_transaction(|j| {
            changes
                .iter()
                .try_for_each(|(id, state, why)| j.set_decision_state(id, *state, why.as_deref()))
        })
    }

    /// Ids of move decisions still `planned` or `running` with no move journalled at all: the
    /// process that took them stopped before the first step (the intent), so nothing was
    /// changed. Only meaningful while holding the mover lock (no other process is mid-move).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn moves_never_started(&mut self) -> Result<Vec<String>> {
        self.query_all(
            "SELECT d.id FROM decision d
             WHERE d.state IN ('planned', 'running') AND d.action = 'move'
               AND NOT EXISTS (SELECT 1 FROM move m WHERE m.decision_id = d.id)
             ORDER BY d.seq",
            [],
            |r| r.get(0),
        )
    }

    /// Ids of `action`'s decisions still `planned` or `running` (snapshots, restores): the
    /// process that took them stopped before recording their outcome. Only meaningful while
    /// holding the mover lock (a snapshot or a restore holds it while it runs).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn unsettled(&mut self, action: Action) -> Result<Vec<String>> {
        self.query_all(
            "SELECT id FROM decision
             WHERE state IN ('planned', 'running') AND action = ?1
             ORDER BY seq",
            params![action.as_str()],
            |r| r.get(0),
        )
    }

    /// The objects operators moved (`tierd move`, `tierd recall`: a done move no rule decided)
    /// at or after `since` (RFC 3339), with when: `(bucket, key, at)`, oldest first.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn operator_moves_since(&mut self, since: &str) -> Result<Vec<(String, String, String)>> {
        self.query_all(
            "SELECT bucket, key, at FROM decision
             WHERE action = 'move' AND rule IS NULL AND state = 'done' AND at >= ?1
               AND bucket IS NOT NULL AND key IS NOT NULL
             ORDER BY seq",
            params![since],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
    }

    /// One decision by id.
    ///
    /// # Errors
    /// SQLite errors or a record that no longer parses.
    pub fn decision(&mut self, id: &str) -> Result<Option<Decision>> {
        let r: rusqlite::Result<String> = self.conn().query_row(
            "SELECT record FROM decision WHERE id = ?1",
            params![id],
            |r| r.get(0),
        );
        match r {
            Ok(json) => serde_json::from_str(&json).map(Some).map_err(|e| {
                self.err(rusqlite::Error::FromSqlConversionFailure(
                    0,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                ))
            }),
            Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
            Err(e) => Err(self.err(e)),
        }
    }

    /// Every distinct value of a decision's `bucket` or `rule` column (`column` is one of the
    /// two), sorted: what a filter of `tierd decisions` can name, for its "did you mean".
    ///
    /// # Errors
    /// SQLite errors; a `column` other than `bucket` or `rule` is an empty list.
    pub fn decision_names(&mut self, column: &str) -> Result<Vec<String>> {
        let sql = match column {
            "bucket" => "SELECT DISTINCT bucket FROM decision WHERE bucket IS NOT NULL ORDER BY 1",
            "rule" => "SELECT DISTINCT rule FROM decision WHERE rule IS NOT NULL ORDER BY 1",
            _ => return Ok(Vec::new()),
        };
        self.query_all(sql, [], |r| r.get(0))
    }

    /// Decisions matching a filter, oldest first.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn decisions(&mut self, f: &DecisionFilter) -> Result<Vec<Decision>> {
        let (conn, err) = self.split();
        let mut st = conn
            .prepare(
                "SELECT record FROM decision WHERE (?1 IS NULL OR bucket = ?1) AND (?2 IS NULL OR key = ?2
                   OR (key IS NULL AND prefix IS NOT NULL AND substr(?2, 1, length(prefix)) = prefix))
                 AND (?3 IS NULL OR action = ?3) AND (?4 IS NULL OR state = ?4) AND (?6 IS NULL OR at >= ?6)
                 ORDER BY seq LIMIT ?5",
            )
            .map_err(err)?;
        let limit = f.limit.map_or(-1, |l| l as i64);
        let rows = st
            .query_map(
                params![f.bucket, f.key, f.action, f.state, limit, f.since],
                |r| r.get::<_, String>(0),
            )
            .map_err(err)?;
        let mut out = Vec::new();
        for json in rows {
            let json = json.map_err(err)?;
            let d: Decision = serde_json::from_str(&json).map_err(|e| {
                err(rusqlite::Error::FromSqlConversionFailure(
                    0,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                ))
            })?;
            out.push(d);
        }
        Ok(out)
    }
}
