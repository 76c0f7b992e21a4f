//! Versioned schema migrations. Each entry moves the schema from version i to i+1, in one
//! transaction together with the `user_version` bump. Never edit a released migration: add one.

use super::{Journal, JournalError, Result};

const MIGRATIONS: &[&str] = &[
    // 1: ingest checkpoints.
    "CREATE TABLE ingest_checkpoint (
        source      TEXT NOT NULL,   -- the source as configured (path, glob, URL)
        object      TEXT NOT NULL,   -- the file path or the object URL inside it
        identity    TEXT NOT NULL,   -- etag, or size+mtime for files: detects a replaced object
        bytes_done  INTEGER NOT NULL,-- decompressed bytes consumed, up to the last whole line
        lines_done  INTEGER NOT NULL,
        complete    INTEGER NOT NULL,-- 1 when the object was read to its end
        updated_at  TEXT NOT NULL,
        PRIMARY KEY (source, object)
    );",
    // 2: the catalog, decisions, moves and snapshots.
    "CREATE TABLE catalog (
        bucket      TEXT NOT NULL,
        key         TEXT NOT NULL,
        tier        TEXT NOT NULL,   -- where the object lives now
        size        INTEGER NOT NULL,
        etag        TEXT,            -- the etag at its current location
        checksum    TEXT,            -- sha256 of the content, when tierd has read it
        since       TEXT NOT NULL,   -- RFC 3339: when it arrived on this tier
        decision_id TEXT,            -- the decision that put it there; NULL when found by a scan
        PRIMARY KEY (bucket, key)
    );
    CREATE INDEX catalog_tier ON catalog (tier);
    CREATE TABLE decision (
        seq      INTEGER PRIMARY KEY AUTOINCREMENT,
        id       TEXT NOT NULL UNIQUE,
        at       TEXT NOT NULL,
        action   TEXT NOT NULL,
        bucket   TEXT,
        key      TEXT,
        prefix   TEXT,
        rule     TEXT,
        state    TEXT NOT NULL,
        record   TEXT NOT NULL     -- the full decision record, JSON
    );
    CREATE INDEX decision_scope ON decision (bucket, key);
    CREATE TABLE move (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        decision_id TEXT NOT NULL,
        bucket      TEXT NOT NULL,
        key         TEXT NOT NULL,
        from_tier   TEXT NOT NULL,
        to_tier     TEXT NOT NULL,
        state       TEXT NOT NULL,   -- intent, copied, done, aborted, failed
        src_etag    TEXT,
        src_size    INTEGER,
        checksum    TEXT,            -- sha256 computed while copying
        dest_etag   TEXT,
        error       TEXT,
        attempts    INTEGER NOT NULL DEFAULT 0,
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL
    );
    CREATE INDEX move_open ON move (state) WHERE state IN ('intent', 'copied');
    CREATE TABLE snapshot (
        id            TEXT PRIMARY KEY,
        created_at    TEXT NOT NULL,
        vault         TEXT NOT NULL,
        bucket        TEXT NOT NULL,
        prefix        TEXT NOT NULL,
        manifest_path TEXT NOT NULL,
        manifest_hash TEXT NOT NULL,  -- sha256 of the manifest's bytes
        prev_hash     TEXT,           -- the previous snapshot's manifest hash (the chain)
        objects       INTEGER NOT NULL,
        bytes         INTEGER NOT NULL,
        copied_bytes  INTEGER NOT NULL
    );",
    // 3: freezes (open while lifted_at is NULL), shared by the service and `tierd unfreeze`.
    "CREATE TABLE freeze (
        bucket      TEXT NOT NULL,
        prefix      TEXT NOT NULL,   -- '' = the whole bucket
        since       TEXT NOT NULL,   -- RFC 3339
        decision_id TEXT NOT NULL,   -- the decision that opened it
        rule        TEXT,
        lifted_at   TEXT,
        lifted_by   TEXT             -- the decision that lifted it
    );
    CREATE INDEX freeze_open ON freeze (bucket, prefix) WHERE lifted_at IS NULL;",
    // 4: the planner's access history per object, so that a restart does not forget it.
    "CREATE TABLE object_access (
        bucket TEXT NOT NULL,
        key    TEXT NOT NULL,
        state  TEXT NOT NULL,        -- JSON: tier, size, created, last access, access counts
        PRIMARY KEY (bucket, key)
    );",
    // 5: the read-back estimator's life tables per bucket and prefix: a restart that kept the
    // objects' idle gaps but forgot the gaps that ended in a read would see every idle object
    // as never read.
    "CREATE TABLE readback (
        bucket TEXT NOT NULL,
        prefix TEXT NOT NULL,        -- empty: the bucket's own table
        gaps   TEXT NOT NULL,        -- JSON: [day, count] pairs, ended by a read and otherwise
        PRIMARY KEY (bucket, prefix)
    );",
    // 6: each bucket's behaviour that still matters (an open incident, signals still held): a
    // restart in the middle of an incident, or between a configuration change and the pass
    // that acts on it, must not forget them.
    "CREATE TABLE behaviour (
        bucket TEXT PRIMARY KEY,
        state  TEXT NOT NULL         -- JSON: the incident, held scores, flags and changes
    );",
    // 7: the service's own facts that outlive a run (the newest access event read, for the
    // ingest lag after a restart).
    "CREATE TABLE service_state (
        name  TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    );",
    // 8: multipart uploads started on stores whose uploads have ids (S3), journalled before
    // their first part is sent and deleted once completed or aborted: a process killed in the
    // middle leaves one here, and recovery aborts it (the store would keep, and bill, its parts).
    "CREATE TABLE upload (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        tier       TEXT NOT NULL,    -- the tier written to
        bucket     TEXT NOT NULL,    -- the logical bucket: with the tier, names the store
        path       TEXT NOT NULL,    -- the object's path in that store
        upload_id  TEXT NOT NULL,    -- the store's id of the upload
        started_at TEXT NOT NULL,
        aborts_failed INTEGER NOT NULL DEFAULT 0, -- aborts tried that failed
        error      TEXT              -- why the last abort failed
    );",
    // 9: what a local log file's checkpoint knows of the file besides its name: its content
    // fingerprint, so that a file renamed (rotated) keeps its checkpoint under its new name; its
    // size and mtime, so that a file marked done that changes again is read on; and whether the
    // gzip break after lines_done was already reported, so that it is not reported twice.
    "ALTER TABLE ingest_checkpoint ADD COLUMN head_len INTEGER NOT NULL DEFAULT 0;
        -- decompressed bytes the fingerprint covers (the first KiB, or all read of a shorter
        -- file); 0: none (a store object, nothing read yet, or saved before version 9)
    ALTER TABLE ingest_checkpoint ADD COLUMN head_sha256 TEXT;  -- hex SHA-256 of those bytes
    ALTER TABLE ingest_checkpoint ADD COLUMN stamp TEXT;
        -- 'size:mtime' of a local file when checkpointed; NULL: not a local file, or unknown
    ALTER TABLE ingest_checkpoint ADD COLUMN break_reported INTEGER NOT NULL DEFAULT 0;",
    // 10: indexes for a journal a year old: `tierd decisions --since`, the guardrails' state
    // read at start and the retention of decisions (by time); the retention's "still needed?"
    // tests (the decision that put an object where it is; a decision's move steps), and
    // recovery's moves-never-started query, which looked for each decision's moves in the whole
    // move table; an object's moves (`tierd recall`, `locate`), the same; the decisions not
    // settled, which every start looks for (three scans of the whole table).
    "CREATE INDEX decision_at ON decision (at);
    CREATE INDEX catalog_decision ON catalog (decision_id) WHERE decision_id IS NOT NULL;
    CREATE INDEX move_decision ON move (decision_id);
    CREATE INDEX move_object ON move (bucket, key);
    CREATE INDEX decision_unsettled ON decision (action) WHERE state IN ('planned', 'running');",
    // 11: the staging files tierd writes a copy into on a local filesystem tier (`<file>#<n>`,
    // hidden from listings), journalled once created and before the first byte, and deleted
    // once the copy is published or the file removed: a process killed in the middle leaves one
    // here, and recovery removes exactly that file, never a neighbour with a similar name.
    "CREATE TABLE staging_file (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        tier       TEXT NOT NULL,    -- the tier written to
        bucket     TEXT NOT NULL,    -- the logical bucket
        path       TEXT NOT NULL,    -- the object's path in the tier's store
        file       TEXT NOT NULL,    -- the staging file's absolute path on disk
        inode      INTEGER NOT NULL, -- its inode: a file put there by anyone else is not it
        started_at TEXT NOT NULL
    );",
];

/// The schema version this build writes.
pub const LATEST: i64 = MIGRATIONS.len() as i64;

pub(super) fn apply(j: &mut Journal) -> Result<()> {
    let found = j.schema_version()?;
    if found > LATEST {
        return Err(JournalError::TooNew {
            path: j.path.clone(),
            found,
            supported: LATEST,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = i as i64 + 1;
        let (conn, err) = j.split();
        let tx = conn.transaction().map_err(err)?;
        tx.execute_batch(sql).map_err(err)?;
        tx.pragma_update(None, "user_version", version)
            .map_err(err)?;
        tx.commit().map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_journal_is_at_the_latest_version_and_reopening_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/j.db");
        let j = Journal::open(&p).unwrap();
        assert_eq!(j.schema_version().unwrap(), LATEST);
        drop(j);
        let j = Journal::open(&p).unwrap();
        assert_eq!(j.schema_version().unwrap(), LATEST);
    }

    #[test]
    fn a_reader_sees_committed_state_while_a_writer_holds_a_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.db");
        let mut writer = Journal::open(&p).unwrap();
        let mut reader = Journal::open(&p).unwrap();
        let e = crate::journal::catalog::Entry {
            bucket: "b".into(),
            key: "k".into(),
            tier: "onprem".into(),
            size: 1,
            etag: None,
            checksum: None,
            since: "2026-11-29T00:00:00Z".into(),
            decision_id: None,
        };
        writer.upsert_entry(&e).unwrap();
        // The service is mid-transaction (WAL): the CLI still reads, and sees the last commit.
        writer
            .conn()
            .execute_batch("BEGIN IMMEDIATE; UPDATE catalog SET tier = 'cloud';")
            .unwrap();
        assert_eq!(reader.locate("b", "k").unwrap().unwrap().tier, "onprem");
        writer.conn().execute_batch("COMMIT").unwrap();
        assert_eq!(reader.locate("b", "k").unwrap().unwrap().tier, "cloud");
    }

    #[test]
    fn checkpoints_saved_before_fingerprints_are_kept_without_one() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.db");
        // A journal as tierd wrote it at version 6, with one checkpoint.
        let mut c = rusqlite::Connection::open(&p).unwrap();
        let tx = c.transaction().unwrap();
        for sql in &MIGRATIONS[..6] {
            tx.execute_batch(sql).unwrap();
        }
        tx.execute(
            "INSERT INTO ingest_checkpoint VALUES ('/logs', '/logs/a.log', 'inode:1:7', 120, 3, 0, 'then')",
            [],
        )
        .unwrap();
        tx.pragma_update(None, "user_version", 6).unwrap();
        tx.commit().unwrap();
        drop(c);
        let mut j = Journal::open(&p).unwrap();
        assert_eq!(j.schema_version().unwrap(), LATEST);
        let cp = j.checkpoint("/logs", "/logs/a.log").unwrap().unwrap();
        assert_eq!(
            (
                cp.identity.as_str(),
                cp.bytes_done,
                cp.lines_done,
                cp.complete
            ),
            ("inode:1:7", 120, 3, false)
        );
        assert_eq!((cp.head, cp.stamp, cp.break_reported), (None, None, false));
    }

    #[test]
    fn a_journal_from_a_newer_tierd_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.db");
        drop(Journal::open(&p).unwrap());
        let c = rusqlite::Connection::open(&p).unwrap();
        c.pragma_update(None, "user_version", LATEST + 5).unwrap();
        drop(c);
        let err = Journal::open(&p).unwrap_err().to_string();
        assert!(err.ends_with(&format!(
            "the journal's schema is version {}, newer than this tierd understands ({LATEST}); upgrade tierd or restore a backup",
            LATEST + 5
        )), "{err}");
    }
}
