//! Freezes in the journal: the service opens and lifts them; `tierd unfreeze` lifts them by hand.
//!
//! A freeze over every bucket, present and future (`tierd freeze --all-buckets`), is a row whose
//! bucket is [`EVERY_BUCKET`], the empty name, with the empty prefix.

use rusqlite::params;

use super::{Journal, Result};
use crate::decision::Decision;

/// The bucket of the freeze over every bucket. No store has a bucket of that name: an S3 bucket
/// name has 3 to 63 characters, a `file://` tier's buckets are its folders (a path component is
/// never empty), and `tierd freeze`/`unfreeze` refuse an empty BUCKET. A reserved character
/// (`*`, say) would not do: a `file://` tier may hold a folder of any name. Being a value of the
/// existing column, it needs no migration, and journals written before it read as they did.
pub const EVERY_BUCKET: &str = "";

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

impl FreezeRow {
    /// Whether it is the freeze over every bucket.
    pub fn every_bucket(&self) -> bool {
        self.bucket == EVERY_BUCKET
    }

    /// Whether it holds the object `bucket`/`key`.
    pub fn covers(&self, bucket: &str, key: &str) -> bool {
        (self.every_bucket() || self.bucket == bucket) && key.starts_with(&self.prefix)
    }

    /// Its scope as messages name it: `every bucket`, or `BUCKET/PREFIX`.
    pub fn scope(&self) -> String {
        if self.every_bucket() {
            "every bucket".into()
        } else {
            format!("{}/{}", self.bucket, self.prefix)
        }
    }
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
    fn the_freeze_of_every_bucket_covers_every_object_and_a_bucket_freeze_only_its_own() {
        let row = |bucket: &str, prefix: &str| FreezeRow {
            bucket: bucket.into(),
            prefix: prefix.into(),
            since: "2026-11-29T10:00:00Z".into(),
            decision_id: "freeze-1".into(),
            rule: None,
        };
        let all = row(EVERY_BUCKET, "");
        assert!(all.covers("photos", "a.jpg") && all.covers("a bucket made later", ""));
        assert_eq!(all.scope(), "every bucket");
        let photos = row("photos", "raw/");
        assert!(photos.covers("photos", "raw/a") && !photos.covers("photos", "a"));
        assert!(!photos.covers("media", "raw/a") && !photos.every_bucket());
        assert_eq!(photos.scope(), "photos/raw/");
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
