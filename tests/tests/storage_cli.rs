//! The operator's storage commands as a user runs them: the real `tierd` binary on the embedded
//! defaults (`file://` tiers under ./tierd-data, a SQLite journal), end to end.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics reports its failure

use std::path::Path;
use std::time::Duration;

use harness::tierd;

fn put(root: &Path, tier: &str, key: &str, body: &[u8]) {
    let p = root.join("tierd-data").join(tier).join("photos").join(key);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

fn on(root: &Path, tier: &str, key: &str) -> Option<Vec<u8>> {
    std::fs::read(root.join("tierd-data").join(tier).join("photos").join(key)).ok()
}

/// `photos/2025/a.jpg` (alpha), `2025/b.jpg` (bravo) and `2026/c.jpg` (charlie) on onprem.
fn three_photos(d: &Path) {
    put(d, "onprem", "2025/a.jpg", b"alpha");
    put(d, "onprem", "2025/b.jpg", b"bravo");
    put(d, "onprem", "2026/c.jpg", b"charlie");
}

#[test]
fn move_locate_recall_and_a_snapshot_round_trip_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    three_photos(d);

    let r = tierd(
        d,
        &[
            "move", "--bucket", "photos", "--prefix", "2025/", "--to", "cloud",
        ],
    );
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("2 moved (10 bytes), 0 failed or aborted, 0 skipped"),
        "{}",
        r.stdout
    );
    assert_eq!(on(d, "cloud", "2025/a.jpg").as_deref(), Some(&b"alpha"[..]));
    assert_eq!(on(d, "onprem", "2025/a.jpg"), None);
    assert_eq!(
        on(d, "onprem", "2026/c.jpg").as_deref(),
        Some(&b"charlie"[..]),
        "outside the prefix: untouched"
    );

    let l = tierd(d, &["locate", "photos/2025/a.jpg", "--json"]).json();
    assert_eq!(l["tier"], "cloud");
    assert_eq!(l["decision"]["action"], "move");
    assert_eq!(l["decision"]["state"], "done");
    assert_eq!(
        l["decision"]["undo"],
        "tierd move photos/2025/a.jpg --to onprem"
    );

    let r = tierd(d, &["recall", "photos/2025/a.jpg"]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert_eq!(
        on(d, "onprem", "2025/a.jpg").as_deref(),
        Some(&b"alpha"[..]),
        "recalled to where it came from"
    );
    let back = tierd(d, &["locate", "photos/2025/a.jpg", "--json"]).json();
    assert_eq!(back["tier"], "onprem");
    // The first move's explanation says it is undone, and by which decision.
    let first = l["decision"]["id"].as_str().unwrap();
    let e = tierd(d, &["explain", first]);
    assert!(
        e.stdout.contains(&format!(
            "\nundo: tierd move photos/2025/a.jpg --to onprem\n  not needed now: the object is no longer on cloud but on onprem since {} (put there by decision {}); `tierd locate photos/2025/a.jpg` shows where it is\n",
            back["since"].as_str().unwrap(),
            back["decision"]["id"].as_str().unwrap()
        )),
        "{}",
        e.stdout
    );

    // Snapshot the bucket, damage the live data, restore to the original place.
    let s = tierd(d, &["snapshot", "create", "--bucket", "photos", "--json"]);
    assert_eq!(s.code, Some(0), "{}{}", s.stdout, s.stderr);
    let snap = s.json();
    assert_eq!(snap["objects"], 3);
    let id = snap["id"].as_str().unwrap().to_string();
    // Taking it changed no live data: its decision has nothing to undo (a restore is no undo).
    let taken = tierd(d, &["decisions", "--action", "snapshot", "--json"]).json();
    assert_eq!(
        (&taken["id"], &taken["undo"]),
        (&snap["id"], &serde_json::Value::Null),
        "{taken}"
    );
    put(d, "onprem", "2026/c.jpg", b"encrypted by ransomware");
    let v = tierd(d, &["snapshot", "verify", &id]);
    assert_eq!(v.code, Some(0), "{}", v.stdout);
    let r = tierd(d, &["snapshot", "restore", &id]);
    assert_eq!(
        r.code,
        Some(1),
        "a changed object is a conflict without --overwrite: {}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("kept 2026/c.jpg: it exists with other content"),
        "{}",
        r.stdout
    );
    let r = tierd(
        d,
        &[
            "snapshot",
            "restore",
            "--bucket",
            "photos",
            "--at",
            "2999-01-01T00:00:00Z",
            "--overwrite",
        ],
    );
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert_eq!(
        on(d, "onprem", "2026/c.jpg").as_deref(),
        Some(&b"charlie"[..]),
        "restored byte for byte"
    );
    // Under another prefix, each copy goes beside its original: b.jpg is on the cloud, the
    // others on onprem (never the vault, whatever the tiers' names sort to).
    let r = tierd(d, &["snapshot", "restore", &id, "--to-prefix", "r/"]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert_eq!(
        on(d, "onprem", "r/2025/a.jpg").as_deref(),
        Some(&b"alpha"[..])
    );
    assert_eq!(
        on(d, "cloud", "r/2025/b.jpg").as_deref(),
        Some(&b"bravo"[..])
    );
    assert_eq!(
        on(d, "onprem", "r/2026/c.jpg").as_deref(),
        Some(&b"charlie"[..])
    );
    // Every restore is a decision: the one that kept a conflict says so.
    let restores = tierd(d, &["decisions", "--action", "restore", "--json"]);
    let restores: Vec<serde_json::Value> = restores
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(restores.len(), 3, "{restores:?}");
    assert!(
        restores
            .iter()
            .all(|r| r["state"] == "done" && r["bucket"] == "photos")
    );
    assert_eq!(
        restores[0]["why"],
        "0 objects restored (0 bytes), 2 already identical; 1 object kept: it exists with other content (2026/c.jpg)"
    );
    assert_eq!(restores[2]["prefix"], "r/");

    let list = tierd(d, &["snapshot", "list"]);
    assert!(list.stdout.starts_with(&id), "{}", list.stdout);
    let none = tierd(
        d,
        &[
            "snapshot",
            "restore",
            "--bucket",
            "photos",
            "--at",
            "2000-01-01T00:00:00Z",
        ],
    );
    assert_eq!(none.code, Some(2));
    assert!(
        none.stderr.contains(
            "no snapshot of bucket \"photos\" was taken at or before 2000-01-01T00:00:00Z"
        ),
        "{}",
        none.stderr
    );
}

#[test]
fn a_restore_records_its_scope_and_counts_and_an_overwrite_keeps_what_it_replaces() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    three_photos(d);
    let s = tierd(
        d,
        &[
            "snapshot", "create", "--bucket", "photos", "--prefix", "2025/", "--json",
        ],
    );
    assert_eq!(s.code, Some(0), "{}{}", s.stdout, s.stderr);
    let snap = s.json()["id"].as_str().unwrap().to_string();
    // The application deletes one object and rewrites another.
    std::fs::remove_file(d.join("tierd-data/onprem/photos/2025/a.jpg")).unwrap();
    put(d, "onprem", "2025/b.jpg", b"bravo v2");

    let r = tierd(d, &["snapshot", "restore", &snap]);
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    assert_eq!(
        on(d, "onprem", "2025/a.jpg").as_deref(),
        Some(&b"alpha"[..])
    );
    let restore = tierd(d, &["decisions", "--action", "restore", "--json"]).json();
    assert_eq!(
        (&restore["bucket"], &restore["prefix"], &restore["state"]),
        (&"photos".into(), &"2025/".into(), &"done".into()),
        "{restore}"
    );
    assert_eq!(
        restore["why"],
        "1 object restored (5 bytes), 0 already identical; 1 object kept: it exists with other content (2025/b.jpg)"
    );
    assert_eq!(
        restore["undo"],
        serde_json::Value::Null,
        "nothing was replaced"
    );
    let found = tierd(
        d,
        &[
            "decisions",
            "--prefix",
            "photos/2025/",
            "--action",
            "restore",
        ],
    );
    assert!(
        found.stdout.contains(restore["id"].as_str().unwrap()),
        "{}",
        found.stdout
    );
    // The restored object names the restore that put it there.
    let l = tierd(d, &["locate", "photos/2025/a.jpg"]);
    assert!(
        l.stdout.contains(&format!(
            "put there by decision {}: An operator ran `tierd snapshot restore` of snapshot {snap}",
            restore["id"].as_str().unwrap()
        )),
        "{}",
        l.stdout
    );

    // --overwrite keeps what it replaces in the vault first; its undo brings it back.
    let r = tierd(d, &["snapshot", "restore", &snap, "--overwrite", "--json"]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let out = r.json();
    assert_eq!(
        on(d, "onprem", "2025/b.jpg").as_deref(),
        Some(&b"bravo"[..])
    );
    let keep = out["kept"].as_str().unwrap().to_string();
    assert!(keep.starts_with("keep-"), "{out}");
    let undo = format!("tierd snapshot restore {keep} --overwrite");
    assert_eq!(out["undo"], undo.as_str());
    let restore = tierd(d, &["decisions", "--action", "restore", "--json"]);
    let restore: serde_json::Value =
        serde_json::from_str(restore.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(
        restore["why"],
        format!(
            "1 object restored (5 bytes), 1 already identical; 1 object replaced with --overwrite (2025/b.jpg), the bytes replaced kept in snapshot {keep}"
        )
    );
    assert_eq!(restore["undo"], undo.as_str());
    let kept = tierd(d, &["explain", &keep, "--json"]).json();
    assert_eq!(
        (&kept["action"], &kept["state"], &kept["prefix"]),
        (&"snapshot".into(), &"done".into(), &"2025/".into()),
        "{kept}"
    );
    assert!(
        kept["reason"].as_str().unwrap().starts_with(&format!(
            "Restore {} (--overwrite) is to replace 1 object with other content from snapshot ",
            restore["id"].as_str().unwrap()
        )),
        "{kept}"
    );
    // A point-in-time restore never takes what a restore replaced for the state of the prefix.
    let at = tierd(
        d,
        &[
            "snapshot",
            "restore",
            "--bucket",
            "photos",
            "--at",
            "2999-01-01T00:00:00Z",
        ],
    );
    assert!(
        at.stderr.contains(&format!(
            "restoring {snap}, which holds only the keys under \"2025/\""
        )),
        "{}",
        at.stderr
    );

    // The undo, run as printed, puts back the bytes the overwrite replaced.
    let args: Vec<&str> = undo.split(' ').skip(1).collect();
    let r = tierd(d, &args);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert_eq!(
        on(d, "onprem", "2025/b.jpg").as_deref(),
        Some(&b"bravo v2"[..])
    );
    assert_eq!(
        on(d, "onprem", "2025/a.jpg").as_deref(),
        Some(&b"alpha"[..])
    );
}

#[test]
fn a_move_to_an_unknown_tier_is_refused_with_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let r = tierd(dir.path(), &["move", "photos/a.jpg", "--to", "clod"]);
    assert_eq!(r.code, Some(2));
    assert!(
        r.stderr
            .contains("unknown tier \"clod\"; known tiers: cloud, onprem, vault"),
        "{}",
        r.stderr
    );
    // The vault holds snapshots only: neither a move nor a recall puts live objects there.
    for args in [
        &["move", "photos/a.jpg", "--to", "vault"][..],
        &["recall", "photos/a.jpg", "--to", "vault"],
    ] {
        let r = tierd(dir.path(), args);
        assert_eq!(r.code, Some(2), "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains(
                "tier \"vault\" is a vault (role = \"vault\"): it holds snapshots only, never the live copy of objects; move to a data tier: onprem, cloud"
            ),
            "{args:?}: {}",
            r.stderr
        );
    }
    // A bandwidth takes a size, as in the configuration (the object is on no tier: exit 1).
    let args = [
        "move",
        "photos/a.jpg",
        "--to",
        "cloud",
        "--max-bytes-per-sec",
        "1MiB",
    ];
    assert_eq!(tierd(dir.path(), &args).code, Some(1));
    // A pace too slow for a wait to be held in time is refused before anything starts.
    let args = [
        "move",
        "photos/a.jpg",
        "--to",
        "cloud",
        "--max-objects-per-sec",
        "1e-300",
    ];
    let r = tierd(dir.path(), &args);
    assert_eq!(r.code, Some(2));
    assert!(
        r.stderr.contains(
            "--max-objects-per-sec: 1e-300 objects per second is not a rate tierd takes; write at least 0.0000116 (one a day)"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn moving_an_object_that_is_on_no_tier_fails_and_says_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    put(d, "onprem", "a.jpg", b"alpha");
    let r = tierd(d, &["move", "photos/b.jpg", "--to", "cloud"]);
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(
            "photos/b.jpg is on no tier: not in the catalog, and not found by a scan of cloud, onprem, vault"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("0 moved (0 bytes), 1 failed or aborted"),
        "{}",
        r.stdout
    );
    // `locate` answers "nowhere" with exit 1 too (2 is for misuse).
    let r = tierd(d, &["locate", "photos/b.jpg"]);
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(
            "photos/b.jpg is on no tier (not in the catalog; not found by a scan of: cloud, onprem, vault)"
        ),
        "{}",
        r.stderr
    );
    // `recover` speaks text unless asked for JSON.
    let r = tierd(d, &["recover"]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert_eq!(r.stdout, "no move is left in flight\n");
    let r = tierd(d, &["recover", "--json"]);
    assert_eq!(r.json()["open_moves"], 0, "{}", r.stdout);
    assert_eq!(r.json()["decisions_settled"], 0, "{}", r.stdout);
}

#[test]
fn an_object_found_gone_from_where_the_catalog_had_it_is_forgotten_not_reported_there() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    put(d, "onprem", "a.jpg", b"alpha");
    let r = tierd(d, &["locate", "photos/a.jpg"]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    // Deleted behind the catalog's back.
    std::fs::remove_file(d.join("tierd-data/onprem/photos/a.jpg")).unwrap();
    let r = tierd(d, &["move", "photos/a.jpg", "--to", "cloud"]);
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    assert!(
        format!("{}{}", r.stdout, r.stderr).contains("the object is not on onprem where the catalog had it; nothing was changed, and the catalog forgets it"),
        "{}{}",
        r.stdout,
        r.stderr
    );
    // Neither `locate` nor a move back say it is on onprem.
    let r = tierd(d, &["locate", "photos/a.jpg"]);
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("photos/a.jpg is on no tier"),
        "{}",
        r.stderr
    );
    let r = tierd(d, &["move", "photos/a.jpg", "--to", "onprem"]);
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains("already on"), "{}", r.stdout);
    // `locate` itself finding the catalog's tier empty says what the catalog had, not that it
    // never knew the object.
    put(d, "onprem", "b.jpg", b"beta");
    assert_eq!(tierd(d, &["locate", "photos/b.jpg"]).code, Some(0));
    std::fs::remove_file(d.join("tierd-data/onprem/photos/b.jpg")).unwrap();
    let r = tierd(d, &["locate", "photos/b.jpg"]);
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("photos/b.jpg is on no tier (the catalog had it on onprem, which no longer holds it: the entry is forgotten; not found by a scan of: cloud, onprem, vault)"),
        "{}",
        r.stderr
    );

    // Moved by hand (or the journal restored from a backup older than its move): `locate`
    // finds it where it is, not where the catalog had it.
    put(d, "onprem", "b.jpg", b"bravo");
    assert_eq!(
        tierd(d, &["locate", "photos/b.jpg", "--json"]).json()["tier"],
        "onprem"
    );
    std::fs::create_dir_all(d.join("tierd-data/cloud/photos")).unwrap();
    std::fs::rename(
        d.join("tierd-data/onprem/photos/b.jpg"),
        d.join("tierd-data/cloud/photos/b.jpg"),
    )
    .unwrap();
    let r = tierd(d, &["locate", "photos/b.jpg"]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.starts_with("photos/b.jpg is on cloud since ") && !r.stdout.contains("note:"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_corrupted_snapshot_copy_fails_verify_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    put(d, "onprem", "x.bin", b"original");
    let id = tierd(d, &["snapshot", "create", "--bucket", "photos", "--json"]).json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let blob = d
        .join("tierd-data/vault/photos/.tierd-snapshots/data")
        .join(&id)
        .join("x.bin");
    std::fs::write(&blob, b"tampered").unwrap();
    let v = tierd(d, &["snapshot", "verify", &id]);
    assert_eq!(v.code, Some(1));
    assert!(
        v.stdout.contains(&format!(
            "snapshot {id}: x.bin: the copy has 8 bytes with sha256 "
        )),
        "{}",
        v.stdout
    );
}

/// A `snapshot create` that fails records its decision as failed (exit 1, a store's failure,
/// not a usage error), and its id is never given to the next snapshot.
#[test]
fn a_failed_snapshot_is_a_failed_decision_and_its_id_is_not_reused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    put(d, "onprem", "x.bin", b"original");
    // A file where the vault's snapshot folder should be: every copy fails.
    let blocker = d.join("tierd-data/vault/photos/.tierd-snapshots");
    std::fs::create_dir_all(blocker.parent().unwrap()).unwrap();
    std::fs::write(&blocker, b"in the way").unwrap();
    let failed = tierd(d, &["snapshot", "create", "--bucket", "photos"]);
    assert_eq!(failed.code, Some(1), "{}", failed.stderr);
    assert!(
        failed.stderr.contains("failed: x.bin: "),
        "{}",
        failed.stderr
    );
    std::fs::remove_file(&blocker).unwrap();
    let made = tierd(d, &["snapshot", "create", "--bucket", "photos", "--json"]);
    assert_eq!(made.code, Some(0), "{}", made.stderr);
    let good = made.json()["id"].as_str().unwrap().to_string();
    let r = tierd(d, &["decisions", "--action", "snapshot", "--json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let records: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2, "{}", r.stdout);
    assert_eq!(records[0]["state"], "failed", "{}", r.stdout);
    assert!(records[0]["why"].as_str().unwrap().starts_with("x.bin: "));
    assert_eq!(records[1]["state"], "done");
    assert_eq!(records[1]["id"], good.as_str());
    assert_ne!(records[0]["id"], records[1]["id"]);
    let seq = |id: &str| id.rsplit('-').next().unwrap().to_string();
    assert_ne!(seq(records[0]["id"].as_str().unwrap()), seq(&good));
}

/// `restore --bucket B --at T` restores the bucket as of T: its latest whole snapshot, not a
/// later snapshot of one prefix; with only prefix snapshots, it says what it restores.
#[test]
fn restore_at_a_time_takes_the_whole_bucket_not_a_later_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    put(d, "onprem", "a/x.bin", b"x");
    put(d, "onprem", "b/y.bin", b"y");
    let snap = |args: &[&str]| {
        let mut all = vec!["snapshot", "create", "--json"];
        all.extend_from_slice(args);
        let r = tierd(d, &all);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        r.json()["id"].as_str().unwrap().to_string()
    };
    let prefix_only = snap(&["--bucket", "photos", "--prefix", "a/"]);
    let restore = || {
        tierd(
            d,
            &[
                "snapshot",
                "restore",
                "--bucket",
                "photos",
                "--at",
                "2999-01-01T00:00:00Z",
            ],
        )
    };
    let r = restore();
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(&prefix_only), "{}", r.stdout);
    assert!(
        r.stderr
            .contains("has no whole snapshot taken at or before")
            && r.stderr.contains("only the keys under \"a/\""),
        "{}",
        r.stderr
    );
    let whole = snap(&["--bucket", "photos"]);
    let later_prefix = snap(&["--bucket", "photos", "--prefix", "b/"]);
    let r = restore();
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(&whole), "{}", r.stdout);
    assert!(!r.stdout.contains(&later_prefix), "{}", r.stdout);
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
}

/// A key ending in `/` (an S3 folder marker) is refused with what it is and what to write
/// instead, not looked for on every tier and called "on no tier".
#[test]
fn a_folder_marker_key_is_refused_with_the_prefix_to_give() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    put(d, "onprem", "dir/x.bin", b"x");
    for cmd in [
        vec!["move", "photos/dir/", "--to", "cloud"],
        vec!["locate", "photos/dir/"],
    ] {
        let r = tierd(d, &cmd);
        assert_eq!(r.code, Some(2), "{cmd:?}: {}", r.stderr);
        assert!(
            r.stderr
                .contains("\"photos/dir/\" ends in `/`: an S3 folder marker")
                && r.stderr.contains("give --bucket photos --prefix dir/"),
            "{cmd:?}: {}",
            r.stderr
        );
    }
}

#[test]
fn decisions_are_queried_from_the_journal_and_from_a_decision_log_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    put(d, "onprem", "2025/a.jpg", b"alpha");
    put(d, "onprem", "2026/b.jpg", b"bravo");
    assert_eq!(
        tierd(d, &["move", "--bucket", "photos", "--to", "cloud"]).code,
        Some(0)
    );
    assert_eq!(
        tierd(d, &["move", "photos/2025/a.jpg", "--to", "cloud"]).code,
        Some(0),
        "already there: skipped"
    );

    let lines = |r: harness::Run| -> Vec<serde_json::Value> {
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        r.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let done = lines(tierd(
        d,
        &["decisions", "--action", "move", "--state", "done", "--json"],
    ));
    assert_eq!(done.len(), 2);
    let skipped = lines(tierd(d, &["decisions", "--state", "skipped", "--json"]));
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0]["why"], "already on cloud");
    let under = lines(tierd(
        d,
        &["decisions", "--prefix", "photos/2026/", "--json"],
    ));
    assert_eq!(under.len(), 1);
    assert_eq!(under[0]["key"], "2026/b.jpg");
    let same = lines(tierd(
        d,
        &[
            "decisions",
            "--bucket",
            "photos",
            "--prefix",
            "2026/",
            "--json",
        ],
    ));
    assert_eq!(same, under);
    assert!(
        lines(tierd(
            d,
            &["decisions", "--since", "2999-01-01T00:00:00Z", "--json"]
        ))
        .is_empty()
    );

    // The same records read back from a decision-log file.
    let all = tierd(d, &["decisions", "--json"]);
    std::fs::write(d.join("decisions.jsonl"), &all.stdout).unwrap();
    let from_log = lines(tierd(
        d,
        &[
            "decisions",
            "--log",
            "decisions.jsonl",
            "--state",
            "done",
            "--json",
        ],
    ));
    assert_eq!(from_log, done);
    let table = tierd(d, &["decisions"]);
    assert!(table.stdout.ends_with("3 decisions\n"), "{}", table.stdout);
    // What they add up to: two moves done (operator moves, one way), one skipped; the same from
    // the log, and a relative --since that takes them all.
    let summary = tierd(d, &["decisions", "--summary", "--since", "1d", "--json"]);
    assert_eq!(summary.code, Some(0), "{}", summary.stderr);
    let s: serde_json::Value = serde_json::from_str(&summary.stdout).unwrap();
    assert_eq!(s["decisions"], 3, "{s}");
    assert_eq!(
        (
            &s["by_action"]["move"]["done"],
            &s["by_action"]["move"]["skipped"]
        ),
        (&2.into(), &1.into()),
        "{s}"
    );
    assert_eq!(s["moves_by_rule"]["operator"], 2, "{s}");
    // "alpha" and "bravo": what the moves moved, not priced.
    assert_eq!(s["moved"]["onprem -> cloud"]["bytes"], 10, "{s}");
    assert_eq!(s["unpriced_moves"], 2, "{s}");
    let from_log = tierd(
        d,
        &[
            "decisions",
            "--summary",
            "--log",
            "decisions.jsonl",
            "--json",
        ],
    );
    assert_eq!(from_log.stdout, summary.stdout);

    let bad = tierd(d, &["decisions", "--since", "yesterday"]);
    assert_eq!(bad.code, Some(2));
    assert!(
        bad.stderr
            .contains("--since \"yesterday\" is neither an RFC 3339 time"),
        "{}",
        bad.stderr
    );
}

#[test]
fn a_running_service_keeps_other_movers_out_and_lookers_in() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    put(d, "onprem", "2025/a.jpg", b"alpha");
    std::fs::create_dir_all(d.join("logs")).unwrap();
    std::fs::write(
        d.join("tierd.toml"),
        "[journal]\npath = \"tierd-data/tierd.db\"\n\
         [tiers.onprem]\nurl = \"file://tierd-data/onprem\"\n\
         [tiers.cloud]\nurl = \"file://tierd-data/cloud\"\n\
         [tiers.vault]\nurl = \"file://tierd-data/vault\"\n\
         [ingest]\nsources = [\"logs/\"]\nformat = \"s3\"\n\
         [policies]\nfiles = [\"builtin:default\"]\n\
         [service]\nlisten = \"off\"\n",
    )
    .unwrap();
    let mut svc = harness::daemon::Daemon::start(d, &d.join("tierd.toml"), &[]);
    let lock = d.join("tierd-data/tierd.db.lock");
    let holder = format!("pid {}, `tierd run`", svc.pid());
    svc.until(Duration::from_secs(60), "the service's lock", || {
        std::fs::read_to_string(&lock)
            .ok()
            .filter(|t| t.contains(&holder))
    });

    // A second mover (and its start-up recovery) is refused, naming the holder.
    for args in [
        &["move", "photos/2025/a.jpg", "--to", "cloud"][..],
        &["recover"][..],
        &["snapshot", "create", "--bucket", "photos"][..],
    ] {
        let mut argv = args.to_vec();
        argv.extend(["--config", "tierd.toml"]);
        let r = tierd(d, &argv);
        assert_eq!(r.code, Some(2), "{args:?}: {}{}", r.stdout, r.stderr);
        assert!(
            r.stderr
                .contains("another tierd is moving data with this journal")
                && r.stderr.contains(&holder),
            "{args:?}: {}",
            r.stderr
        );
    }
    assert_eq!(
        on(d, "onprem", "2025/a.jpg").as_deref(),
        Some(&b"alpha"[..])
    );

    // Looking needs no lock.
    let r = tierd(
        d,
        &["locate", "photos/2025/a.jpg", "--config", "tierd.toml"],
    );
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("is on onprem"), "{}", r.stdout);
    let r = tierd(d, &["snapshot", "list", "--config", "tierd.toml"]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);

    // Once the service has stopped, the lock is free again.
    svc.signal("TERM");
    assert!(svc.wait_exit(Duration::from_secs(30)).is_some());
    let r = tierd(
        d,
        &[
            "move",
            "photos/2025/a.jpg",
            "--to",
            "cloud",
            "--config",
            "tierd.toml",
        ],
    );
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert_eq!(on(d, "cloud", "2025/a.jpg").as_deref(), Some(&b"alpha"[..]));
}

#[test]
fn reading_commands_in_a_folder_without_a_journal_say_so_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for args in [
        &["decisions"][..],
        &["explain", "move-1"][..],
        &["unfreeze", "photos"][..],
        &["freeze", "photos"][..],
    ] {
        let r = tierd(d, args);
        assert_eq!(r.code, Some(2), "{args:?}: {}{}", r.stdout, r.stderr);
        assert!(
            r.stderr
                .contains("tierd-data/tierd.db: no journal there; give the service's configuration with --config"),
            "{args:?}: {}",
            r.stderr
        );
    }
    assert!(
        !d.join("tierd-data").exists(),
        "no empty journal is created"
    );
    let r = tierd(d, &["decisions", "--action", "mvoe"]);
    assert_eq!(r.code, Some(2));
    assert!(
        r.stderr.contains("a similar value exists: 'move'"),
        "{}",
        r.stderr
    );
}

#[test]
fn an_operators_move_respects_open_freezes_and_pins_unless_told_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("tierd.toml"),
        r#"
[journal]
path = "tierd-data/tierd.db"
[tiers.onprem]
url = "file://tierd-data/onprem"
[tiers.cloud]
url = "file://tierd-data/cloud"
[tiers.vault]
url = "file://tierd-data/vault"
role = "vault"
[ingest]
sources = ["builtin:samples"]
[policies]
files = ["policy.toml"]
[service]
listen = "off"
decision_log = "tierd-data/decisions.jsonl"
"#,
    )
    .unwrap();
    let policy = "[[rule]]\nid = \"freeze-photos\"\nscope = { bucket = \"photos\" }\naction = \"freeze\"\n\n\
                  [[rule]]\nid = \"pin-media\"\nscope = { bucket = \"media\", prefix = \"eu/\" }\naction = \"pin\"\n";
    std::fs::write(d.join("policy.toml"), policy).unwrap();
    fn with<'a>(args: &[&'a str]) -> Vec<&'a str> {
        [args, &["--config", "tierd.toml"][..]].concat()
    }
    // The service's pass opens the freeze on the bucket photos.
    let r = tierd(d, &with(&["run", "--once"]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.json()["open_freezes"], 1, "{}", r.stdout);
    put(d, "onprem", "a.jpg", b"alpha");
    let media = d.join("tierd-data/onprem/media/eu/b.jpg");
    std::fs::create_dir_all(media.parent().unwrap()).unwrap();
    std::fs::write(&media, b"bravo").unwrap();

    // Frozen: held, recorded as skipped with why, exit 1, nothing moved.
    let r = tierd(d, &with(&["move", "photos/a.jpg", "--to", "cloud"]));
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("held     photos/a.jpg  frozen: the freeze on photos/ (since ")
            && r.stdout.contains(&format!(
                "lift it with `tierd unfreeze photos --config {}/tierd.toml`, or pass --ignore-freezes",
                d.display()
            ))
            && r.stdout.contains(
                "0 moved (0 bytes), 0 failed or aborted, 0 skipped, 1 held by a freeze or a pin"
            ),
        "{}",
        r.stdout
    );
    assert_eq!(on(d, "onprem", "a.jpg").as_deref(), Some(&b"alpha"[..]));
    assert_eq!(on(d, "cloud", "a.jpg"), None);

    // Pinned: the same, whatever the pin's condition.
    let r = tierd(
        d,
        &with(&["move", "media/eu/b.jpg", "--to", "cloud", "--json"]),
    );
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    let j = r.json();
    assert_eq!((&j["state"], &j["held"]), (&"skipped".into(), &true.into()));
    assert_eq!(
        j["why"],
        "pinned: rule \"pin-media\" (bucket \"media\", prefix \"eu/\") keeps every move off this object; pass --ignore-pins to move it anyway"
    );
    assert!(media.exists());
    let held = tierd(d, &with(&["decisions", "--state", "skipped", "--json"]));
    assert_eq!(held.stdout.lines().count(), 2, "{}", held.stdout);

    // A snapshot runs under a freeze; restoring over the live objects is held like a move
    // (it replaces their bytes), unless told otherwise.
    let snap = tierd(
        d,
        &with(&["snapshot", "create", "--bucket", "photos", "--json"]),
    );
    assert_eq!(snap.code, Some(0), "{}{}", snap.stdout, snap.stderr);
    let id = snap.json()["id"].as_str().unwrap().to_string();
    put(d, "onprem", "a.jpg", b"encrypted");
    let r = tierd(d, &with(&["snapshot", "restore", &id, "--overwrite"]));
    assert_eq!(r.code, Some(2), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(
            "holds every replacement there; restore beside the live objects with --to-prefix"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(on(d, "onprem", "a.jpg").as_deref(), Some(&b"encrypted"[..]));
    let r = tierd(
        d,
        &with(&[
            "snapshot",
            "restore",
            &id,
            "--overwrite",
            "--ignore-freezes",
        ]),
    );
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert_eq!(on(d, "onprem", "a.jpg").as_deref(), Some(&b"alpha"[..]));
    let restores = tierd(d, &with(&["decisions", "--action", "restore", "--json"]));
    assert!(
        restores
            .stdout
            .contains("despite the open freeze of decision freeze-"),
        "{}",
        restores.stdout
    );
    // The service's decision log holds the operator's snapshot and restore too.
    let logged = harness::daemon::json_lines(&d.join("tierd-data/decisions.jsonl"));
    for (action, id) in [
        ("snapshot", id.as_str()),
        ("restore", restores.json()["id"].as_str().unwrap()),
    ] {
        assert!(
            logged
                .iter()
                .any(|r| r["id"] == id && r["action"] == action && r["state"] == "done"),
            "no {action} {id} in the decision log: {logged:?}"
        );
    }

    // Told otherwise: the move happens and its decision says why it was allowed.
    let r = tierd(
        d,
        &with(&["move", "photos/a.jpg", "--to", "cloud", "--ignore-freezes"]),
    );
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert_eq!(on(d, "cloud", "a.jpg").as_deref(), Some(&b"alpha"[..]));
    // Already there: nothing to hold, skipped as without a freeze.
    let again = tierd(d, &with(&["move", "photos/a.jpg", "--to", "cloud"]));
    assert_eq!(again.code, Some(0), "{}{}", again.stdout, again.stderr);
    assert!(
        again.stdout.contains("already on cloud"),
        "{}",
        again.stdout
    );
    let l = tierd(d, &with(&["locate", "photos/a.jpg", "--json"])).json();
    assert!(
        l["decision"]["reason"]
            .as_str()
            .unwrap()
            .contains("despite the open freeze on photos/"),
        "{l}"
    );
    // Its undo carries the override (the same freeze would hold it), and works as printed.
    let id = l["decision"]["id"].as_str().unwrap();
    // The service's decision log has the operator's decision too, as it ended.
    let logged = harness::daemon::json_lines(&d.join("tierd-data/decisions.jsonl"));
    assert!(
        logged.iter().any(|r| r["id"] == id && r["state"] == "done"),
        "{id} is not in the decision log: {logged:?}"
    );
    let e = tierd(d, &with(&["explain", id]));
    assert_eq!(e.code, Some(0), "{}{}", e.stdout, e.stderr);
    let undo = format!(
        "tierd move photos/a.jpg --to onprem --ignore-freezes --config {}/tierd.toml",
        d.display()
    );
    assert!(
        e.stdout.contains(&format!("undo: {undo}\n")) && !e.stdout.contains("held now"),
        "{}",
        e.stdout
    );
    // Read through another configuration file naming the same journal (a deployment moved or
    // restored elsewhere), the undo names that file, not the one recorded.
    std::fs::copy(d.join("tierd.toml"), d.join("moved.toml")).unwrap();
    let e = tierd(d, &["explain", id, "--config", "moved.toml"]);
    assert_eq!(e.code, Some(0), "{}{}", e.stdout, e.stderr);
    assert!(
        e.stdout.contains(&format!(
            "undo: tierd move photos/a.jpg --to onprem --ignore-freezes --config {}/moved.toml\n",
            d.display()
        )),
        "{}",
        e.stdout
    );
    let args: Vec<&str> = undo.split(' ').skip(1).collect();
    let r = tierd(d, &args);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert_eq!(on(d, "onprem", "a.jpg").as_deref(), Some(&b"alpha"[..]));

    // A policy that does not load cannot vouch for its pins: refused, unless pins are ignored.
    std::fs::write(d.join("policy.toml"), "[[rule]]\nid = \"x\"\n").unwrap();
    let r = tierd(d, &with(&["move", "media/eu/b.jpg", "--to", "cloud"]));
    assert_eq!(r.code, Some(2), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("the policy is not valid, so its pins cannot be checked"),
        "{}",
        r.stderr
    );
    assert!(media.exists());
    let r = tierd(
        d,
        &with(&["move", "media/eu/b.jpg", "--to", "cloud", "--ignore-pins"]),
    );
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(!media.exists());

    // Lifting the freeze by hand is a decision in the decision log as well.
    let r = tierd(d, &with(&["unfreeze", "photos"]));
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let id = r.stdout.split(':').next().unwrap();
    let logged = harness::daemon::json_lines(&d.join("tierd-data/decisions.jsonl"));
    assert!(
        logged
            .iter()
            .any(|r| r["id"] == id && r["action"] == "unfreeze" && r["state"] == "done"),
        "no unfreeze {id} in the decision log: {logged:?}"
    );
}

#[test]
fn an_operators_freeze_holds_moves_until_an_operator_lifts_it_and_each_undoes_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    two_tier_config(d, "");
    // An unfreeze rule that holds whenever no incident is open: it lifts rules' freezes, not an
    // operator's.
    let lift = "[[rule]]\nid = \"lift\"\nscope = { bucket = \"*\" }\nwhen = \"not incident_open\"\naction = \"unfreeze\"\n";
    let out = "[[rule]]\nid = \"out\"\nscope = { bucket = \"*\" }\nwhen = \"tier == 'onprem'\"\naction = { kind = \"move\", to = \"cloud\" }\n";
    std::fs::write(d.join("policy.toml"), lift).unwrap();
    std::fs::write(d.join("audit.ndjson"), "").unwrap();
    let with = |args: &[&str]| tierd(d, &[args, &["--config", "tierd.toml"][..]].concat());
    let run = || {
        let r = with(&["run", "--once"]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        r.json()
    };
    assert_eq!(run()["open_freezes"], 0);

    // The service is running when the on-call freezes the bucket: it holds it at its next cycle.
    let mut svc = harness::daemon::Daemon::start(d, &d.join("tierd.toml"), &[]);
    let log = svc.stderr_path.clone();
    let cycles = move || std::fs::read_to_string(&log).unwrap_or_default();
    svc.until(Duration::from_secs(60), "a first cycle", || {
        cycles().contains("cycle done").then_some(())
    });
    let r = with(&[
        "freeze",
        "photos",
        "--reason",
        "deletes by svc-backup, not detected",
    ]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let freeze = r.stdout.split(':').next().unwrap().to_string();
    let unfreeze_undo = format!("tierd unfreeze photos --config {}/tierd.toml", d.display());
    assert!(
        freeze.starts_with("freeze-")
            && r.stdout
                .contains(&format!("lift it with `{unfreeze_undo}`")),
        "{}",
        r.stdout
    );
    svc.until(
        Duration::from_secs(60),
        "the freeze seen by the service",
        || {
            cycles()
                .lines()
                .any(|l| l.contains("cycle done") && l.contains("\"open_freezes\":1"))
                .then_some(())
        },
    );
    svc.signal("TERM");
    assert!(
        svc.wait_exit(Duration::from_secs(60))
            .is_some_and(|s| s.success())
    );

    let again = with(&["freeze", "photos"]);
    assert_eq!(again.code, Some(2), "{}{}", again.stdout, again.stderr);
    assert!(
        again
            .stderr
            .contains("bucket \"photos\" prefix \"\" is already frozen, since ")
            && again.stderr.contains(&format!("by decision {freeze}")),
        "{}",
        again.stderr
    );
    let record = with(&["explain", &freeze, "--json"]).json();
    assert_eq!(
        (
            &record["action"],
            &record["state"],
            &record["rule"],
            &record["undo"]
        ),
        (
            &"freeze".into(),
            &"done".into(),
            &serde_json::Value::Null,
            &unfreeze_undo.as_str().into()
        ),
        "{record}"
    );
    assert_eq!(
        record["reason"],
        "An operator froze bucket \"photos\": deletes by svc-backup, not detected; nothing is moved or deleted there until an operator runs `tierd unfreeze`."
    );

    // Honoured as a rule's freeze: the service's move and an operator's move are held; the
    // unfreeze rule leaves it open.
    let no_residency = "[guardrails]\nmin_residency = { onprem = \"0s\", cloud = \"0s\" }\n";
    std::fs::write(
        d.join("policy.toml"),
        format!("{no_residency}\n{out}\n{lift}"),
    )
    .unwrap();
    put(d, "onprem", "a.jpg", b"alpha");
    std::fs::write(
        d.join("audit.ndjson"),
        audit("2026-10-01T10:00:00Z", "GetObject", "a.jpg", 5),
    )
    .unwrap();
    let held = run();
    assert_eq!(
        (&held["open_freezes"], &held["moves_held"]["frozen"]),
        (&1.into(), &1.into()),
        "{held}"
    );
    let r = with(&["move", "photos/a.jpg", "--to", "cloud"]);
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("frozen: the freeze on photos/ (since ") && r.stdout.contains(&freeze),
        "{}",
        r.stdout
    );
    assert_eq!(on(d, "onprem", "a.jpg").as_deref(), Some(&b"alpha"[..]));

    // Its undo lifts it; the unfreeze's undo freezes again; each runs as printed.
    let args: Vec<&str> = unfreeze_undo.split(' ').skip(1).collect();
    let r = tierd(d, &args);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let unfreeze = r.stdout.split(':').next().unwrap();
    let freeze_undo = with(&["explain", unfreeze, "--json"]).json()["undo"].clone();
    assert_eq!(
        freeze_undo,
        format!("tierd freeze photos --config {}/tierd.toml", d.display()).as_str()
    );
    let args: Vec<&str> = freeze_undo.as_str().unwrap().split(' ').skip(1).collect();
    let r = tierd(d, &args);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert_eq!(run()["moves_held"]["frozen"], 1);
    assert_eq!(on(d, "onprem", "a.jpg").as_deref(), Some(&b"alpha"[..]));

    // A prefix freeze's undo names the prefix, quoted for a shell.
    let r = with(&["freeze", "photos", "--prefix", "raw files/"]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(
            "warning: the catalog has no object under photos/raw files/ (a misspelt bucket or prefix?)"
        ),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout.contains(&format!(
            "lift it with `tierd unfreeze photos --prefix 'raw files/' --config {}/tierd.toml`",
            d.display()
        )),
        "{}{}",
        r.stdout,
        r.stderr
    );

    // Lifted by an operator, the move the freeze held happens.
    assert_eq!(with(&["unfreeze", "photos"]).code, Some(0));
    std::thread::sleep(Duration::from_millis(1_100));
    let done = run();
    assert_eq!(done["moves_done"], 1, "{done}");
    assert_eq!(on(d, "cloud", "a.jpg").as_deref(), Some(&b"alpha"[..]));
}

/// tierd.toml: tiers onprem and cloud under tierd-data, the log audit.ndjson, policy.toml, a
/// planning pass every second, no HTTP listener; `service` adds lines to `[service]`.
fn two_tier_config(d: &Path, service: &str) {
    std::fs::write(
        d.join("tierd.toml"),
        "[journal]\npath = \"tierd-data/tierd.db\"\n[tiers.onprem]\nurl = \"file://tierd-data/onprem\"\n\
         [tiers.cloud]\nurl = \"file://tierd-data/cloud\"\n[ingest]\nsources = [\"audit.ndjson\"]\n\
         [policies]\nfiles = [\"policy.toml\"]\n[planner]\ninterval = \"1s\"\n\
         [service]\nlisten = \"off\"\n"
            .to_string()
            + service,
    )
    .unwrap();
}

/// A MinIO audit entry (one JSON line) of `api` on `photos/KEY` at `time`.
fn audit(time: &str, api: &str, key: &str, bytes: u64) -> String {
    format!(
        r#"{{"version":"1","time":"{time}","trigger":"incoming","api":{{"name":"{api}","bucket":"photos","object":"{key}","status":"OK","statusCode":200,"rx":{bytes},"tx":{bytes}}},"remotehost":"10.0.0.5","requestID":"R{time}","userAgent":"ua","accessKey":"user1"}}"#
    ) + "\n"
}

#[test]
fn an_object_written_again_after_its_move_is_found_where_the_new_version_is() {
    // The service moved photos/a.jpg to the cloud; its owner then wrote it again on the hot
    // tier. The journal's catalog must follow: not call the cloud's old copy the object, and
    // never overwrite that copy or delete the new one.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    two_tier_config(d, "decision_log = \"tierd-data/decisions.jsonl\"\n");
    std::fs::write(
        d.join("policy.toml"),
        // No residency on onprem, so that the rewritten object may move at once.
        "[[rule]]\nid = \"to-cloud\"\nscope = { bucket = \"*\" }\nwhen = \"tier == 'onprem'\"\naction = { kind = \"move\", to = \"cloud\" }\n\
         [guardrails]\nmin_residency = { onprem = \"0s\" }\n",
    )
    .unwrap();
    put(d, "onprem", "a.jpg", b"version one");
    put(d, "onprem", "big.bin", b"version one");
    std::fs::write(
        d.join("audit.ndjson"),
        audit("2026-10-01T10:00:00Z", "GetObject", "a.jpg", 11)
            + &audit("2026-10-01T10:00:00Z", "GetObject", "big.bin", 11),
    )
    .unwrap();
    let run = || {
        let r = tierd(d, &["run", "--once", "--config", "tierd.toml"]);
        assert!(r.code.is_some(), "{}", r.stderr);
        r.json()
    };
    assert_eq!(run()["moves_done"], 2);
    let where_ = |key: &str| {
        tierd(
            d,
            &[
                "locate",
                &format!("photos/{key}"),
                "--config",
                "tierd.toml",
                "--json",
            ],
        )
        .json()
    };
    assert_eq!(where_("a.jpg")["tier"], "cloud");

    // The owner writes it again, logged in a later second than the move (times are seconds).
    std::thread::sleep(Duration::from_millis(1_100));
    put(d, "onprem", "a.jpg", b"version two, written again");
    put(d, "onprem", "big.bin", b"version two, in parts");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let later = policies::facts::format_utc(now);
    let mut log = std::fs::read_to_string(d.join("audit.ndjson")).unwrap();
    log.push_str(&audit(&later, "PutObject", "a.jpg", 26));
    // A large object is written again in parts: its completion is the write.
    log.push_str(&audit(&later, "CompleteMultipartUpload", "big.bin", 21));
    std::fs::write(d.join("audit.ndjson"), log).unwrap();
    let second = run();
    let l = where_("a.jpg");
    assert_eq!(l["tier"], "onprem", "{l}");
    assert_eq!(l["size"], 26, "{l}");
    let l = where_("big.bin");
    assert_eq!(
        (l["tier"].as_str(), l["size"].as_u64()),
        (Some("onprem"), Some(21)),
        "{l}"
    );
    // The rule moves them again; the cloud's old copies are in the way, and tierd never
    // overwrites.
    assert_eq!(second["moves_failed"], 2, "{second}");
    let failed_decisions = || {
        tierd(
            d,
            &[
                "decisions",
                "--state",
                "failed",
                "--config",
                "tierd.toml",
                "--json",
            ],
        )
        .stdout
    };
    let failed = failed_decisions();
    assert!(
        failed.contains("cloud already holds photos/a.jpg; tierd never overwrites"),
        "{failed}"
    );
    assert_eq!(
        on(d, "onprem", "a.jpg").as_deref(),
        Some(&b"version two, written again"[..])
    );
    assert_eq!(
        on(d, "cloud", "a.jpg").as_deref(),
        Some(&b"version one"[..])
    );
    assert!(
        failed.contains("(failure 1 in a row; the next attempt waits until "),
        "{failed}"
    );
    // The next passes do not fail again at once: the failed moves wait (an hour after a first
    // failure), also across a restart, and the summary says so.
    std::thread::sleep(Duration::from_millis(1_100));
    let third = run();
    assert_eq!(third["moves_failed"], 0, "{third}");
    assert_eq!(third["moves_held"]["retry"], 2, "{third}");
    let failed = failed_decisions();
    assert_eq!(failed.lines().count(), 2, "{failed}");
}

#[test]
fn a_copy_written_again_before_its_log_is_read_is_shown_and_stops_a_move_that_would_skip() {
    // photos/a.jpg was moved to the cloud; its owner wrote it again on the hot tier, and no log
    // says so yet. The catalog still has the cloud's old copy; locate must show the new one too,
    // and a move to the cloud must not report "already there" as done.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    put(d, "onprem", "a.jpg", b"version one");
    let r = tierd(d, &["move", "photos/a.jpg", "--to", "cloud"]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    put(d, "onprem", "a.jpg", b"version two, written again");

    let r = tierd(d, &["locate", "photos/a.jpg"]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.starts_with("photos/a.jpg is on cloud since "),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("\nnote: onprem also holds photos/a.jpg (26 bytes, written ")
            && r.stdout.contains("), a copy tierd did not put there: its owner wrote the object again after tierd moved it?"),
        "{}",
        r.stdout
    );
    let l = tierd(d, &["locate", "photos/a.jpg", "--json"]).json();
    assert_eq!(l["tier"], "cloud", "{l}");
    assert_eq!(l["other_copies"][0]["tier"], "onprem", "{l}");
    assert_eq!(l["other_copies"][0]["size"], 26, "{l}");

    let r = tierd(d, &["move", "photos/a.jpg", "--to", "cloud"]);
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(
        all.contains(
            "the catalog has it on cloud already, but onprem also holds photos/a.jpg (26 bytes"
        ),
        "{all}"
    );
    assert_eq!(
        on(d, "onprem", "a.jpg").as_deref(),
        Some(&b"version two, written again"[..])
    );
    assert_eq!(
        on(d, "cloud", "a.jpg").as_deref(),
        Some(&b"version one"[..])
    );

    // Once the hot tier's copy is gone again (moved by hand, say), it is "already there".
    std::fs::remove_file(d.join("tierd-data/onprem/photos/a.jpg")).unwrap();
    let r = tierd(d, &["move", "photos/a.jpg", "--to", "cloud"]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let r = tierd(d, &["locate", "photos/a.jpg"]);
    assert!(!r.stdout.contains("note:"), "{}", r.stdout);
}

/// A service folder in `d`: file tiers `onprem` and `cloud`, `photos/a.jpg` on onprem and one
/// audit-log read of it, and the policy `policy`.
fn one_object_service(d: &Path, policy: &str) {
    two_tier_config(d, "");
    std::fs::write(d.join("policy.toml"), policy).unwrap();
    put(d, "onprem", "a.jpg", b"alpha");
    std::fs::write(
        d.join("audit.ndjson"),
        audit("2026-10-01T10:00:00Z", "GetObject", "a.jpg", 5),
    )
    .unwrap();
}

/// `tierd run --once --config tierd.toml` in `d`, which must succeed: its summary.
fn run_once(d: &Path) -> serde_json::Value {
    let r = tierd(d, &["run", "--once", "--config", "tierd.toml"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    r.json()
}

#[test]
fn an_operators_undo_is_not_undone_by_the_rule_it_reversed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A rule that moves everything on onprem, with no residency or cooldown to hold it.
    let policy = "[[rule]]\nid = \"to-cloud\"\nscope = { bucket = \"*\" }\nwhen = \"tier == 'onprem'\"\naction = { kind = \"move\", to = \"cloud\" }\n\
         [guardrails]\nmin_residency = { onprem = \"0s\", cloud = \"0s\" }\n";
    one_object_service(d, policy);
    assert_eq!(run_once(d)["moves_done"], 1);
    assert!(on(d, "cloud", "a.jpg").is_some());

    // The operator undoes it; the rule still matches, and leaves it alone.
    let r = tierd(
        d,
        &[
            "move",
            "photos/a.jpg",
            "--to",
            "onprem",
            "--config",
            "tierd.toml",
        ],
    );
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let second = run_once(d);
    assert_eq!(second["moves_done"], 0, "{second}");
    assert_eq!(second["moves_held"]["operator"], 1, "{second}");
    assert_eq!(on(d, "onprem", "a.jpg").as_deref(), Some(&b"alpha"[..]));

    // Without the hold, the rule moves it again at once.
    let config = std::fs::read_to_string(d.join("tierd.toml")).unwrap();
    let config = config.replace("[service]", "operator_hold = \"0s\"\n[service]");
    std::fs::write(d.join("tierd.toml"), config).unwrap();
    let third = run_once(d);
    assert_eq!(third["moves_done"], 1, "{third}");
    assert!(on(d, "cloud", "a.jpg").is_some());
}

#[test]
fn a_second_journal_on_the_same_tiers_is_warned_of() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    one_object_service(d, "");
    run_once(d);
    let marker = std::fs::read_to_string(d.join("tierd-data/onprem/.tierd-owner.json")).unwrap();
    // Named by its absolute path: two deployments that both write `tierd-data/tierd.db` differ.
    let absolute = format!(
        "\"journal\":\"{}\"",
        d.join("tierd-data/tierd.db").display()
    );
    assert!(marker.contains(&absolute), "{absolute} in {marker}");
    // The same journal again: no warning.
    let r = tierd(d, &["run", "--once", "--config", "tierd.toml"]);
    assert!(
        !r.stderr.contains("managed by another journal"),
        "{}",
        r.stderr
    );
    // A scratch configuration with a journal of its own, on the same tiers.
    let config = std::fs::read_to_string(d.join("tierd.toml")).unwrap();
    std::fs::write(
        d.join("scratch.toml"),
        config.replace("tierd-data/tierd.db", "scratch.db"),
    )
    .unwrap();
    let r = tierd(d, &["run", "--once", "--config", "scratch.toml"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("tier onprem is managed by another journal too: ")
            && r.stderr.contains("tierd-data/tierd.db on "),
        "{}",
        r.stderr
    );
}

#[test]
fn a_journal_deleted_and_made_anew_is_warned_of_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    one_object_service(d, "");
    run_once(d);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(d.join(format!("tierd-data/tierd.db{suffix}")));
    }
    let r = tierd(d, &["run", "--once", "--config", "tierd.toml"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let path = d.join("tierd-data/tierd.db");
    assert!(
        r.stderr.contains("tier onprem was claimed on 20") && r.stderr.contains(&format!(
            " by another journal at this same path ({}) on a host of this name: if the journal was deleted or replaced since, this one started empty",
            path.display()
        )),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("managed by another journal too"),
        "{}",
        r.stderr
    );
}

#[test]
fn two_opposite_rules_move_an_object_once_and_the_residency_hold_is_reported() {
    // "out" and "back" would swap photos/a.jpg between two tiers that charge no minimum on
    // every pass; the default residency of a day holds it after the first move, and the
    // service says so (run --once's summary, /metrics' tierd_moves_held).
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    one_object_service(
        d,
        "[[rule]]\nid = \"out\"\nscope = { bucket = \"*\" }\nwhen = \"tier == 'onprem'\"\naction = { kind = \"move\", to = \"cloud\" }\n\n\
         [[rule]]\nid = \"back\"\nscope = { bucket = \"*\" }\nwhen = \"tier == 'cloud'\"\naction = { kind = \"move\", to = \"onprem\" }\n",
    );
    let run = || run_once(d);
    let first = run();
    assert_eq!(first["moves_done"], 1, "{first}");
    assert!(first.get("moves_held").is_none(), "{first}");
    std::thread::sleep(Duration::from_millis(1_100));
    let second = run();
    assert_eq!(second["moves_done"], 0, "{second}");
    assert_eq!(second["moves_held"]["residency"], 1, "{second}");
    assert_eq!(on(d, "cloud", "a.jpg").as_deref(), Some(&b"alpha"[..]));
}

#[test]
fn objects_the_logs_never_name_are_found_by_listing_the_tiers_and_placed_by_the_rules() {
    // No access logs at all: an archive written a year ago and a file written today. The
    // service lists its data tiers and the idle rule moves the archive only; with the listing
    // off, nothing is known and nothing moves.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let config = |scan: &str| {
        format!(
            "[journal]\npath = \"tierd-data/tierd.db\"\n[tiers.onprem]\nurl = \"file://tierd-data/onprem\"\n\
             [tiers.cloud]\nurl = \"file://tierd-data/cloud\"\n[tiers.vault]\nurl = \"file://tierd-data/vault\"\nrole = \"vault\"\n\
             [ingest]\nsources = []\n[policies]\nfiles = [\"policy.toml\"]\n\
             [service]\nlisten = \"off\"\nscan_interval = \"{scan}\"\n"
        )
    };
    std::fs::write(
        d.join("policy.toml"),
        "[[rule]]\nid = \"idle\"\nscope = { bucket = \"*\" }\nwhen = \"tier == 'onprem' and days_since_last_access > 30d\"\naction = { kind = \"move\", to = \"cloud\" }\n",
    )
    .unwrap();
    put(d, "onprem", "2025/archive.tar", b"old and never read");
    put(d, "onprem", "today.txt", b"new");
    let old = std::time::SystemTime::now() - Duration::from_secs(365 * 86_400);
    std::fs::File::options()
        .write(true)
        .open(d.join("tierd-data/onprem/photos/2025/archive.tar"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let run = || {
        let r = tierd(d, &["run", "--once", "--config", "tierd.toml"]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        r.json()
    };

    std::fs::write(d.join("tierd.toml"), config("off")).unwrap();
    let off = run();
    assert_eq!(
        (off["decisions"].as_u64(), off.get("objects_listed")),
        (Some(0), None),
        "{off}"
    );

    std::fs::write(d.join("tierd.toml"), config("1d")).unwrap();
    let listed = run();
    assert_eq!(listed["objects_listed"], 2, "{listed}");
    assert_eq!(listed["moves_done"], 1, "{listed}");
    assert_eq!(
        on(d, "cloud", "2025/archive.tar").as_deref(),
        Some(&b"old and never read"[..])
    );
    assert_eq!(on(d, "onprem", "today.txt").as_deref(), Some(&b"new"[..]));
}

#[test]
fn a_bucket_the_logs_only_name_in_a_head_is_listed_on_tiers_with_a_store_per_bucket() {
    // Tiers whose URL names one store per bucket cannot be asked which buckets they hold: the
    // logs say. Here the only line of the bucket photos is a HEAD of an object that is not
    // there; the listing still finds the year-old archive in it, and the rule moves it.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("tierd.toml"),
        "[journal]\npath = \"tierd-data/tierd.db\"\n[tiers.onprem]\nurl = \"file://tierd-data/onprem-{bucket}\"\n\
         [tiers.cloud]\nurl = \"file://tierd-data/cloud-{bucket}\"\n\
         [ingest]\nsources = [\"audit.ndjson\"]\n[policies]\nfiles = [\"policy.toml\"]\n\
         [service]\nlisten = \"off\"\n",
    )
    .unwrap();
    std::fs::write(
        d.join("policy.toml"),
        "[[rule]]\nid = \"idle\"\nscope = { bucket = \"*\" }\nwhen = \"tier == 'onprem' and days_since_last_access > 30d\"\naction = { kind = \"move\", to = \"cloud\" }\n",
    )
    .unwrap();
    let archive = d.join("tierd-data/onprem-photos/2025/archive.tar");
    std::fs::create_dir_all(archive.parent().unwrap()).unwrap();
    std::fs::write(&archive, b"old").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&archive)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(365 * 86_400))
        .unwrap();
    std::fs::write(
        d.join("audit.ndjson"),
        audit("2026-10-01T10:00:00Z", "HeadObject", "missing.jpg", 0),
    )
    .unwrap();
    let r = tierd(d, &["run", "--once", "--config", "tierd.toml"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let j = r.json();
    assert_eq!(
        (j["objects_listed"].as_u64(), j["moves_done"].as_u64()),
        (Some(1), Some(1)),
        "{j}"
    );
    assert!(d.join("tierd-data/cloud-photos/2025/archive.tar").exists());
}

#[test]
fn a_tier_that_cannot_be_listed_fails_run_once_and_says_which() {
    // The onprem tier's bucket does not exist on the S3 server: the listing of that tier fails,
    // the cycle goes on with what it could list, and `run --once` says so and exits 1.
    let server = harness::S3Server::start().unwrap();
    server.create_bucket("cold").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let opts: Vec<String> = server
        .options()
        .iter()
        .map(|(k, v)| format!("{k} = \"{v}\""))
        .collect();
    let opts = opts.join(", ");
    std::fs::write(
        d.join("tierd.toml"),
        format!(
            "[journal]\npath = \"tierd-data/tierd.db\"\n\
             [tiers.onprem]\nurl = \"s3://no-such-bucket\"\noptions = {{ {opts} }}\n\
             [tiers.cloud]\nurl = \"s3://cold\"\noptions = {{ {opts} }}\n\
             [ingest]\nsources = []\n[policies]\nfiles = [\"policy.toml\"]\n[service]\nlisten = \"off\"\n"
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("policy.toml"),
        "[[rule]]\nid = \"idle\"\nscope = { bucket = \"*\" }\nwhen = \"tier == 'onprem' and days_since_last_access > 30d\"\naction = { kind = \"move\", to = \"cloud\" }\n",
    )
    .unwrap();
    let r = tierd(d, &["run", "--once", "--config", "tierd.toml"]);
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("error: some tiers could not be listed; see the report above"),
        "{}",
        r.stderr
    );
    let j = r.json();
    let unlisted = j["unlisted"].as_array().unwrap();
    assert_eq!(unlisted.len(), 1, "{j}");
    assert!(
        unlisted[0].as_str().unwrap().starts_with("tier onprem: "),
        "{j}"
    );
    assert_eq!(j["objects_listed"], 0, "{j}");
    // The tier's credentials are in its options; they reach neither the report nor the log.
    assert!(!r.stdout.contains("tierd-test-secret") && !r.stderr.contains("tierd-test-secret"));
}

#[test]
fn a_deployment_that_never_started_can_be_frozen_before_its_first_start_when_its_configuration_is_named()
 {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("tierd.toml"),
        "[journal]\npath = \"state/tierd.db\"\n[tiers.onprem]\nurl = \"file://state/onprem\"\n\
         [tiers.cloud]\nurl = \"file://state/cloud\"\n[tiers.vault]\nurl = \"file://state/vault\"\n\
         role = \"vault\"\n[ingest]\nsources = [\"builtin:samples\"]\n[policies]\nfiles = [\"builtin:default\"]\n[service]\nlisten = \"off\"\n",
    )
    .unwrap();
    let with = |args: &[&str]| tierd(d, &[args, &["--config", "tierd.toml"][..]].concat());
    let r = with(&[
        "freeze",
        "--all-buckets",
        "--reason",
        "before the first start",
    ]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "note: {}: created the journal (the service has not started here yet)",
            d.join("state/tierd.db").display()
        )),
        "{}",
        r.stderr
    );
    let id = r.stdout.split(':').next().unwrap().to_string();
    // The first start holds it; lifted, the next does not.
    let paused =
        "every bucket frozen: nothing is moved or deleted until `tierd unfreeze --all-buckets`";
    let r = with(&["run", "--once"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains(paused), "{}", r.stderr);
    // The default log filter shows when the service started and stopped.
    for line in [
        "\"message\":\"tierd started\"",
        "\"message\":\"tierd stopped\"",
    ] {
        assert!(
            r.stderr
                .lines()
                .any(|l| l.contains(line) && l.contains("\"target\":\"tierd::lifecycle\"")),
            "{line} in {}",
            r.stderr
        );
    }
    let r = with(&["unfreeze", "--all-buckets"]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(&id), "{}", r.stdout);
    let r = with(&["run", "--once"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(!r.stderr.contains(paused), "{}", r.stderr);
}

#[test]
fn a_freeze_of_every_bucket_holds_every_operators_move_until_lifted_and_a_bucket_unfreeze_does_not_lift_it()
 {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("tierd.toml"),
        "[journal]\npath = \"tierd-data/tierd.db\"\n[tiers.onprem]\nurl = \"file://tierd-data/onprem\"\n\
         [tiers.cloud]\nurl = \"file://tierd-data/cloud\"\n[tiers.vault]\nurl = \"file://tierd-data/vault\"\n\
         role = \"vault\"\n[ingest]\nsources = [\"builtin:samples\"]\n[policies]\nfiles = [\"policy.toml\"]\n\
         [service]\nlisten = \"off\"\n",
    )
    .unwrap();
    let pin = "[[rule]]\nid = \"pin-media\"\nscope = { bucket = \"media\" }\naction = \"pin\"\n";
    std::fs::write(d.join("policy.toml"), pin).unwrap();
    let with = |args: &[&str]| tierd(d, &[args, &["--config", "tierd.toml"][..]].concat());
    let r = with(&["run", "--once"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    put(d, "onprem", "a.jpg", b"alpha");
    let config = format!(" --config {}/tierd.toml", d.display());

    // A bucket and every bucket at once: clap says they exclude each other.
    let r = with(&["freeze", "photos", "--all-buckets"]);
    assert_eq!(r.code, Some(2), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("the argument '[BUCKET]' cannot be used with '--all-buckets'"),
        "{}",
        r.stderr
    );
    let r = with(&[
        "freeze",
        "--all-buckets",
        "--reason",
        "array swap, ticket 12",
    ]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let freeze = r.stdout.split(':').next().unwrap().to_string();
    assert_eq!(
        r.stdout.trim_end(),
        format!(
            "{freeze}: froze every bucket; lift it with `tierd unfreeze --all-buckets{config}`"
        )
    );
    let again = with(&["freeze", "--all-buckets"]);
    assert_eq!(again.code, Some(2), "{}{}", again.stdout, again.stderr);
    assert!(
        again
            .stderr
            .contains("every bucket is already frozen, since ")
            && again.stderr.contains(&format!("by decision {freeze}")),
        "{}",
        again.stderr
    );

    // An operator's move is held, and told why and how to lift it.
    let held = |r: &harness::Run| {
        assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
        assert!(
            r.stdout.contains("held     photos/a.jpg  frozen: the freeze on every bucket (since ")
                && r.stdout.contains(&format!(
                    "decision {freeze}) holds every move anywhere; once its cause is understood, lift it with `tierd unfreeze --all-buckets{config}`, or pass --ignore-freezes"
                )),
            "{}",
            r.stdout
        );
        assert_eq!(on(d, "onprem", "a.jpg").as_deref(), Some(&b"alpha"[..]));
        assert_eq!(on(d, "cloud", "a.jpg"), None);
    };
    held(&with(&["move", "photos/a.jpg", "--to", "cloud"]));
    // So is a restore over the live objects; the snapshot itself runs.
    let snap = with(&["snapshot", "create", "--bucket", "photos", "--json"]);
    assert_eq!(snap.code, Some(0), "{}{}", snap.stdout, snap.stderr);
    let id = snap.json()["id"].as_str().unwrap().to_string();
    put(d, "onprem", "a.jpg", b"encrypted");
    let r = with(&["snapshot", "restore", &id, "--overwrite"]);
    assert_eq!(r.code, Some(2), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("the freeze on every bucket (since ")
            && r.stderr.contains(&format!(
                ", decision {freeze}) holds every replacement there"
            )),
        "{}",
        r.stderr
    );
    assert_eq!(on(d, "onprem", "a.jpg").as_deref(), Some(&b"encrypted"[..]));
    put(d, "onprem", "a.jpg", b"alpha");

    // A bucket's unfreeze is not taken for the lift of every bucket: with no freeze of its own
    // it fails, and says what holds the bucket.
    let r = with(&["unfreeze", "photos"]);
    assert_eq!(r.code, Some(2), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(
            "no open freeze on bucket \"photos\" prefix \"\"; open freezes: none; every bucket stays frozen, since "
        ) && r.stderr.contains(&format!(
            "by decision {freeze}; `tierd unfreeze --all-buckets{config}` lifts that"
        )),
        "{}",
        r.stderr
    );
    let r = with(&["unfreeze", ""]);
    assert_eq!(r.code, Some(2), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("\"\" is not a bucket name"),
        "{}",
        r.stderr
    );
    // With one of its own, that one is lifted, and every bucket stays frozen.
    assert_eq!(with(&["freeze", "photos"]).code, Some(0));
    let r = with(&["unfreeze", "photos"]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("note: every bucket stays frozen, since "),
        "{}",
        r.stderr
    );
    held(&with(&["move", "photos/a.jpg", "--to", "cloud"]));

    // The decisions name its scope; its undo is the unfreeze, and the unfreeze's the freeze.
    let table = with(&["decisions", "--action", "freeze"]).stdout;
    assert!(
        table
            .lines()
            .any(|l| l.contains(&freeze) && l.contains("every bucket")),
        "{table}"
    );
    let record = with(&["explain", &freeze, "--json"]).json();
    assert_eq!(
        (&record["bucket"], &record["prefix"], &record["undo"]),
        (
            &serde_json::Value::Null,
            &serde_json::Value::Null,
            &format!("tierd unfreeze --all-buckets{config}")
                .as_str()
                .into()
        ),
        "{record}"
    );
    assert_eq!(
        record["reason"],
        "An operator froze every bucket: array swap, ticket 12; nothing is moved or deleted anywhere until an operator runs `tierd unfreeze --all-buckets`."
    );
    let shown = with(&["explain", &freeze]).stdout;
    assert!(shown.contains("action    freeze — every bucket"), "{shown}");
    // A prefix's own freeze outlives the lift of every bucket, and the lift says so.
    assert_eq!(
        with(&["freeze", "photos", "--prefix", "keep/"]).code,
        Some(0)
    );
    let r = with(&["unfreeze", "--all-buckets"]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(
            "note: the freezes of buckets and prefixes stay open: photos (prefix \"keep/\")"
        ),
        "{}",
        r.stderr
    );
    let unfreeze = r.stdout.split(':').next().unwrap().to_string();
    assert_eq!(
        r.stdout.trim_end(),
        format!("{unfreeze}: lifted the freeze of every bucket (opened by {freeze})")
    );
    assert_eq!(
        with(&["explain", &unfreeze, "--json"]).json()["undo"],
        format!("tierd freeze --all-buckets{config}").as_str()
    );

    // Lifted: the move happens.
    let r = with(&["move", "photos/a.jpg", "--to", "cloud"]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert_eq!(on(d, "cloud", "a.jpg").as_deref(), Some(&b"alpha"[..]));
}

/// Where the catalog says each of bucket photos' objects is: `key tier`, sorted.
fn catalog(d: &Path) -> Vec<String> {
    let db = rusqlite::Connection::open(d.join("tierd-data/tierd.db")).unwrap();
    let mut st = db
        .prepare("SELECT key || ' ' || tier FROM catalog WHERE bucket = 'photos' ORDER BY key")
        .unwrap();
    st.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn reconcile_makes_the_catalog_say_where_each_object_is_and_a_dry_run_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    three_photos(d);
    put(d, "onprem", "2026/d.jpg", b"delta");
    let r = tierd(
        d,
        &[
            "move", "--bucket", "photos", "--prefix", "2026/", "--to", "cloud",
        ],
    );
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    // The move listed only its prefix: a reconcile adds the rest.
    let r = tierd(d, &["reconcile"]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.starts_with("photos: 2 entries checked; 0 forgotten, 0 found on another tier, 2 added, 0 written again in place, 0 with a copy on another tier (decision reconcile-"),
        "{}",
        r.stdout
    );
    let known = [
        "2025/a.jpg onprem",
        "2025/b.jpg onprem",
        "2026/c.jpg cloud",
        "2026/d.jpg cloud",
    ];
    assert_eq!(catalog(d), known);
    // Behind the catalog's back: a.jpg deleted, b.jpg moved to cloud by hand, c.jpg written
    // again on onprem (two copies), e.jpg new.
    let tiers = d.join("tierd-data");
    std::fs::remove_file(tiers.join("onprem/photos/2025/a.jpg")).unwrap();
    std::fs::create_dir_all(tiers.join("cloud/photos/2025")).unwrap();
    std::fs::rename(
        tiers.join("onprem/photos/2025/b.jpg"),
        tiers.join("cloud/photos/2025/b.jpg"),
    )
    .unwrap();
    put(d, "onprem", "2026/c.jpg", b"charlie again");
    put(d, "onprem", "2026/e.jpg", b"echo");
    // d.jpg written again where it is (a store restored from a backup, say).
    put(d, "cloud", "2026/d.jpg", b"delta, longer");

    let r = tierd(d, &["reconcile", "--dry-run"]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    for line in [
        "photos: 4 entries checked; 1 forgotten, 1 found on another tier, 1 added, 1 written again in place, 1 with a copy on another tier (dry run: nothing changed)",
        "  photos/2026/d.jpg on cloud was written again in place (another size or etag): would take its new size, etag and time",
        "  would forget photos/2025/a.jpg: the catalog had it on onprem; it is on no tier",
        "  photos/2025/b.jpg: the catalog had it on onprem; it is on cloud: would follow it",
        "  would add photos/2026/e.jpg on onprem: no entry named it",
        "  photos/2026/c.jpg is on cloud; onprem holds a copy too (tierd changes neither: compare them, and delete the one not wanted)",
    ] {
        assert!(
            r.stdout.contains(line),
            "{line:?} missing from:\n{}",
            r.stdout
        );
    }
    assert_eq!(catalog(d), known, "a dry run changes nothing");

    let r = tierd(d, &["reconcile", "--bucket", "photos", "--json"]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let j = r.json();
    assert_eq!(j["checked"], 4, "{j}");
    assert_eq!(
        j["forgotten"],
        serde_json::json!([["2025/a.jpg", "onprem"]])
    );
    assert_eq!(
        j["relocated"],
        serde_json::json!([["2025/b.jpg", "onprem", "cloud"]])
    );
    assert_eq!(j["changed"], serde_json::json!([["2026/d.jpg", "cloud"]]));
    assert_eq!(j["reconciled"], true);
    // What it changed is an operator's decision on the bucket: "what happened to a.jpg?"
    // finds it, and it says what it forgot.
    let id = j["decision_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("reconcile-"), "{id}");
    let history = tierd(d, &["decisions", "--key", "photos/2025/a.jpg", "--json"]);
    let record: serde_json::Value = history
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{}", history.stdout));
    assert_eq!(record["action"], "reconcile");
    let why = record["why"].as_str().unwrap();
    assert!(
        why.starts_with("forgot (on no tier) 1 (2025/a.jpg); followed to another tier 1 (2025/b.jpg onprem -> cloud); added 1 (2026/e.jpg); took the new size of 1 (2026/d.jpg); no object was touched"),
        "{why}"
    );
    let explained = tierd(d, &["explain", &id]);
    assert!(
        explained.stdout.contains("undo: nothing to undo"),
        "{}",
        explained.stdout
    );
    assert_eq!(
        catalog(d),
        [
            "2025/b.jpg cloud",
            "2026/c.jpg cloud",
            "2026/d.jpg cloud",
            "2026/e.jpg onprem"
        ]
    );
    // Every byte where it was: only the catalog changed.
    assert_eq!(on(d, "cloud", "2025/b.jpg").unwrap(), b"bravo");
    assert_eq!(on(d, "onprem", "2026/c.jpg").unwrap(), b"charlie again");
    assert_eq!(on(d, "cloud", "2026/c.jpg").unwrap(), b"charlie");
    let db = rusqlite::Connection::open(d.join("tierd-data/tierd.db")).unwrap();
    let size: i64 = db
        .query_row(
            "SELECT size FROM catalog WHERE bucket = 'photos' AND key = '2026/d.jpg'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        size, 13,
        "the entry takes the size of the object written again"
    );
    // Agreed now, the two copies of c.jpg aside.
    let r = tierd(d, &["reconcile"]);
    assert!(
        r.stdout.starts_with("photos: 4 entries checked; 0 forgotten, 0 found on another tier, 0 added, 0 written again in place, 1 with a copy on another tier\n"),
        "{}",
        r.stdout
    );
    // A bucket nothing holds is named as such.
    let r = tierd(d, &["reconcile", "--bucket", "phtos"]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(
            "warning: no catalog entry and no tier holds bucket \"phtos\" (a misspelt bucket?)"
        ),
        "{}",
        r.stderr
    );
}
