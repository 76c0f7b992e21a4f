//! Decisions in the journal: the full record as JSON, with indexed scope columns.

use rusqlite::params;

use super::{Journal, Result};
use crate::decision::{Action, Decision, State};

/// A filter for [`Journal::decisions`]: each field given narrows the selection in SQL, so that
/// a query costs what it selects, not the journal's size (a year of decisions is millions).
#[derive(Debug, Clone, Default)]
pub struct DecisionFilter {
    pub bucket: Option<String>,
    /// Decisions on this key, and on a scope that holds it (no key, and a prefix of it: `""`
    /// for a whole bucket's freeze, unfreeze, snapshot or restore).
    pub key: Option<String>,
    /// Decisions on a key or a prefix under this prefix, and on a scope that holds it (no key,
    /// and a shorter prefix).
    pub prefix: Option<String>,
    pub action: Option<String>,
    pub state: Option<String>,
    pub rule: Option<String>,
    /// Decisions taken at or after this RFC 3339 UTC time (`...Z`, as the journal writes them).
    pub since: Option<String>,
    /// Decisions taken before this RFC 3339 UTC time.
    pub until: Option<String>,
    pub limit: Option<usize>,
}

impl DecisionFilter {
    /// The query and its named parameters. Each condition is written so that SQLite can use
    /// an index: `decision_scope (bucket, key)` for a bucket and a key (the key's own decisions
    /// and its scopes' as two indexed branches), `decision_at` for a time range.
    fn sql(&self) -> (String, Vec<(&'static str, &dyn rusqlite::ToSql)>) {
        let mut sql = String::from("SELECT record FROM decision WHERE 1");
        let mut ps: Vec<(&'static str, &dyn rusqlite::ToSql)> = Vec::new();
        let bucket = if self.bucket.is_some() {
            ps.push((":bucket", &self.bucket));
            "bucket = :bucket AND "
        } else {
            ""
        };
        // A freeze of every bucket (and its lift) holds every key: it has no bucket.
        let every = "(bucket IS NULL AND action IN ('freeze', 'unfreeze'))";
        match (&self.key, &self.prefix) {
            (Some(k), _) => {
                sql += &format!(
                    " AND (({bucket}key = :key) OR ({bucket}key IS NULL AND prefix IS NOT NULL
                       AND substr(:key, 1, length(prefix)) = prefix) OR {every})"
                );
                ps.push((":key", k));
            }
            (None, Some(p)) => {
                sql += &format!(
                    " AND (({bucket}(substr(key, 1, length(:prefix)) = :prefix
                       OR substr(prefix, 1, length(:prefix)) = :prefix
                       OR (key IS NULL AND substr(:prefix, 1, length(prefix)) = prefix))) OR {every})"
                );
                ps.push((":prefix", p));
            }
            (None, None) if !bucket.is_empty() => {
                sql += &format!(" AND (bucket = :bucket OR {every})");
            }
            (None, None) => {}
        }
        for (column, name, v) in [
            ("action", ":action", &self.action),
            ("state", ":state", &self.state),
            ("rule", ":rule", &self.rule),
        ] {
            if v.is_some() {
                sql += &format!(" AND {column} = {name}");
                ps.push((name, v));
            }
        }
        if self.since.is_some() {
            sql += " AND at >= :since";
            ps.push((":since", &self.since));
        }
        if self.until.is_some() {
            sql += " AND at < :until";
            ps.push((":until", &self.until));
        }
        // With no condition the table is read in its own order; with one, SQLite would scan it
        // all to avoid sorting what the condition selects.
        sql += if ps.is_empty() {
            " ORDER BY seq"
        } else {
            " ORDER BY +seq"
        };
        if let Some(n) = self.limit {
            sql += &format!(" LIMIT {n}");
        }
        (sql, ps)
    }
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
            "SELECT d.id FROM decision d INDEXED BY decision_unsettled
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
            "SELECT id FROM decision INDEXED BY decision_unsettled
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
             ORDER BY +seq",
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
    /// SQLite errors or a record that no longer parses.
    pub fn decisions(&mut self, f: &DecisionFilter) -> Result<Vec<Decision>> {
        let mut out = Vec::new();
        self.each_decision(f, |d| {
            out.push(d);
            true
        })?;
        Ok(out)
    }

    /// Each decision matching a filter, oldest first, handed to `each` as it is read (until it
    /// returns `false`): a caller that writes them out holds one at a time.
    ///
    /// # Errors
    /// SQLite errors or a record that no longer parses.
    pub fn each_decision(
        &mut self,
        f: &DecisionFilter,
        mut each: impl FnMut(Decision) -> bool,
    ) -> Result<()> {
        let (sql, ps) = f.sql();
        let (conn, err) = self.split();
        let mut st = conn.prepare(&sql).map_err(err)?;
        let mut rows = st.query(ps.as_slice()).map_err(err)?;
        while let Some(row) = rows.next().map_err(err)? {
            let json: String = row.get(0).map_err(err)?;
            let d: Decision = serde_json::from_str(&json).map_err(|e| {
                err(rusqlite::Error::FromSqlConversionFailure(
                    0,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                ))
            })?;
            if !each(d) {
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(id: &str, at: &str, key: Option<&str>, prefix: Option<&str>) -> Decision {
        Decision {
            id: id.into(),
            at: at.into(),
            action: if key.is_some() {
                Action::Move
            } else {
                Action::Freeze
            },
            bucket: Some("b".into()),
            key: key.map(str::to_string),
            prefix: prefix.map(str::to_string),
            from: None,
            to: None,
            rule: Some(if key.is_some() { "idle" } else { "guard" }.into()),
            anomaly: None,
            reason: "test".into(),
            cost: None,
            undo: None,
            state: State::Done,
            why: None,
            explanation: None,
        }
    }

    fn journal() -> (tempfile::TempDir, Journal) {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(&dir.path().join("j.db")).unwrap();
        for d in [
            decision("m1", "2026-11-01T00:00:00Z", Some("logs/a/1"), None),
            decision("m2", "2026-11-02T00:00:00Z", Some("logs/b/2"), None),
            decision("m3", "2026-11-03T00:00:00Z", Some("docs/3"), None),
            decision("f-bucket", "2026-11-04T00:00:00Z", None, Some("")),
            decision("f-logs", "2026-11-05T00:00:00Z", None, Some("logs/")),
            decision("f-logs-a", "2026-11-06T00:00:00Z", None, Some("logs/a/")),
            Decision {
                bucket: None,
                prefix: None,
                ..decision("f-every", "2026-11-07T00:00:00Z", None, None)
            },
        ] {
            j.record_decision(&d).unwrap();
        }
        (dir, j)
    }

    fn ids(j: &mut Journal, f: DecisionFilter) -> Vec<String> {
        j.decisions(&f).unwrap().into_iter().map(|d| d.id).collect()
    }

    #[test]
    fn each_filter_selects_in_sql_what_the_cli_asks_for() {
        let (_dir, mut j) = journal();
        let b = || Some("b".to_string());
        let key = ids(
            &mut j,
            DecisionFilter {
                bucket: b(),
                key: Some("logs/a/1".into()),
                ..DecisionFilter::default()
            },
        );
        assert_eq!(key, ["m1", "f-bucket", "f-logs", "f-logs-a", "f-every"]);
        let prefix = ids(
            &mut j,
            DecisionFilter {
                bucket: b(),
                prefix: Some("logs/".into()),
                ..DecisionFilter::default()
            },
        );
        assert_eq!(
            prefix,
            ["m1", "m2", "f-bucket", "f-logs", "f-logs-a", "f-every"]
        );
        let bucket = ids(
            &mut j,
            DecisionFilter {
                bucket: b(),
                action: Some("freeze".into()),
                ..DecisionFilter::default()
            },
        );
        assert_eq!(bucket, ["f-bucket", "f-logs", "f-logs-a", "f-every"]);
        let window = ids(
            &mut j,
            DecisionFilter {
                since: Some("2026-11-02T00:00:00Z".into()),
                until: Some("2026-11-05T00:00:00Z".into()),
                rule: Some("idle".into()),
                ..DecisionFilter::default()
            },
        );
        assert_eq!(window, ["m2", "m3"]);
        let limited = ids(
            &mut j,
            DecisionFilter {
                action: Some("freeze".into()),
                state: Some("done".into()),
                limit: Some(2),
                ..DecisionFilter::default()
            },
        );
        assert_eq!(limited, ["f-bucket", "f-logs"]);
        // Stopping early reads no further.
        let mut first = Vec::new();
        j.each_decision(&DecisionFilter::default(), |d| {
            first.push(d.id);
            false
        })
        .unwrap();
        assert_eq!(first, ["m1"]);
    }

    #[test]
    fn a_time_window_and_a_key_are_searched_by_index_not_by_scanning_the_journal() {
        let (_dir, mut j) = journal();
        let plan = |j: &mut Journal, f: DecisionFilter| -> String {
            let (sql, ps) = f.sql();
            let (conn, _) = j.split();
            let mut st = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let rows = st
                .query_map(ps.as_slice(), |r| r.get::<_, String>(3))
                .unwrap();
            rows.map(Result::unwrap).collect::<Vec<_>>().join("; ")
        };
        let since = plan(
            &mut j,
            DecisionFilter {
                since: Some("2026-11-02T00:00:00Z".into()),
                ..DecisionFilter::default()
            },
        );
        assert!(since.contains("USING INDEX decision_at"), "{since}");
        let key = plan(
            &mut j,
            DecisionFilter {
                bucket: Some("b".into()),
                key: Some("logs/a/1".into()),
                ..DecisionFilter::default()
            },
        );
        assert!(
            key.contains("decision_scope") && !key.contains("SCAN decision"),
            "{key}"
        );
    }
}
