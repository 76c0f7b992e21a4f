//! Recovering from an attack with the real `tierd` binary on the embedded defaults (`file://`
//! tiers under ./tierd-data): restoring only the attacked keys of a snapshot (`--key`,
//! `--keys-from`, `--prefix`), and `locate` of a deleted key pointing at the snapshots that
//! hold it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics reports its failure

use std::path::Path;

use harness::tierd;
use sha2::{Digest, Sha256};

fn put(root: &Path, key: &str, body: &[u8]) {
    let p = root.join("tierd-data/onprem/photos").join(key);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

fn remove(root: &Path, key: &str) {
    std::fs::remove_file(root.join("tierd-data/onprem/photos").join(key)).unwrap();
}

/// The sha256 of `photos/KEY` on onprem; `None` when it is not there.
fn sha(root: &Path, key: &str) -> Option<String> {
    let bytes = std::fs::read(root.join("tierd-data/onprem/photos").join(key)).ok()?;
    Some(format!("{:x}", Sha256::digest(bytes)))
}

fn sha_of(body: &[u8]) -> Option<String> {
    Some(format!("{:x}", Sha256::digest(body)))
}

/// `data/1.txt` .. `data/5.txt` (`original N`) and `other/x.txt`, then a snapshot: its id.
fn bucket_and_snapshot(d: &Path) -> String {
    for n in 1..=5 {
        put(
            d,
            &format!("data/{n}.txt"),
            format!("original {n}").as_bytes(),
        );
    }
    put(d, "other/x.txt", b"other x");
    let s = tierd(d, &["snapshot", "create", "--bucket", "photos", "--json"]);
    assert_eq!(s.code, Some(0), "{}{}", s.stdout, s.stderr);
    s.json()["id"].as_str().unwrap().to_string()
}

/// Runs a command as printed (`tierd ARGS...`, arguments without spaces or quotes).
fn run_printed(d: &Path, command: &str) -> harness::Run {
    let args: Vec<&str> = command.split(' ').skip(1).collect();
    tierd(d, &args)
}

#[test]
fn restoring_the_attacked_keys_from_a_list_brings_them_back_and_leaves_later_writes_alone() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let snap = bucket_and_snapshot(d);
    // The attack: two keys encrypted in place, one deleted.
    put(d, "data/1.txt", b"ENCRYPTED 1");
    put(d, "data/2.txt", b"ENCRYPTED 2");
    remove(d, "data/3.txt");
    // A legitimate write after the snapshot, not in the list.
    put(d, "data/4.txt", b"legitimate v2");
    std::fs::write(
        d.join("attacked.txt"),
        "# keys app-00 wrote\ndata/1.txt\r\ndata/2.txt\n\ndata/3.txt\n",
    )
    .unwrap();

    let r = tierd(
        d,
        &[
            "snapshot",
            "restore",
            &snap,
            "--keys-from",
            "attacked.txt",
            "--overwrite",
            "--json",
        ],
    );
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    for n in 1..=3 {
        let key = format!("data/{n}.txt");
        assert_eq!(
            sha(d, &key),
            sha_of(format!("original {n}").as_bytes()),
            "{key}"
        );
    }
    assert_eq!(sha(d, "data/4.txt"), sha_of(b"legitimate v2"));
    let out = r.json();
    assert_eq!(
        out["report"]["replaced"],
        serde_json::json!(["data/1.txt", "data/2.txt"])
    );
    // The kept snapshot holds just what was replaced.
    let keep = out["kept"].as_str().unwrap().to_string();
    let shown = tierd(d, &["snapshot", "show", &keep]).json();
    let kept: Vec<&str> = shown["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["key"].as_str().unwrap())
        .collect();
    assert_eq!(kept, ["data/1.txt", "data/2.txt"]);
    // The decision names the filter.
    let decision = tierd(d, &["explain", out["decision"].as_str().unwrap(), "--json"]).json();
    assert_eq!(
        decision["reason"],
        format!(
            "An operator ran `tierd snapshot restore` of snapshot {snap} restricted to 3 keys (data/1.txt, data/2.txt, data/3.txt), replacing objects that differ."
        )
    );
    // Its undo puts back what it replaced, and nothing else.
    let undo = run_printed(d, out["undo"].as_str().unwrap());
    assert_eq!(undo.code, Some(0), "{}{}", undo.stdout, undo.stderr);
    assert_eq!(sha(d, "data/1.txt"), sha_of(b"ENCRYPTED 1"));
    assert_eq!(sha(d, "data/3.txt"), sha_of(b"original 3"));
    assert_eq!(sha(d, "data/4.txt"), sha_of(b"legitimate v2"));
}

#[test]
fn a_listed_key_the_snapshot_lacks_is_reported_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let snap = bucket_and_snapshot(d);
    remove(d, "data/1.txt");
    let r = tierd(
        d,
        &[
            "snapshot",
            "restore",
            &snap,
            "--key",
            "data/1.txt",
            "--key",
            "data/nope.txt",
        ],
    );
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "error: data/nope.txt is not in snapshot {snap}: nothing restored for it"
        )),
        "{}",
        r.stderr
    );
    assert_eq!(sha(d, "data/1.txt"), sha_of(b"original 1"));
    let why = tierd(d, &["decisions", "--action", "restore", "--json"]).json();
    assert_eq!(
        why["why"],
        "1 object restored (10 bytes), 0 already identical; 1 object asked for not in the snapshot (data/nope.txt)"
    );

    // A bad line of a list is an error at its place, and nothing is restored.
    remove(d, "data/2.txt");
    std::fs::write(d.join("bad.txt"), "data/2.txt\nphotos//data/3.txt\n").unwrap();
    let r = tierd(d, &["snapshot", "restore", &snap, "--keys-from", "bad.txt"]);
    assert_eq!(r.code, Some(2), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("bad.txt:2: \"photos//data/3.txt\" is not an object key"),
        "{}",
        r.stderr
    );
    assert_eq!(sha(d, "data/2.txt"), None);
    // An empty list restores nothing: not the whole snapshot.
    std::fs::write(d.join("empty.txt"), "# no key\n\n").unwrap();
    let r = tierd(
        d,
        &["snapshot", "restore", &snap, "--keys-from", "empty.txt"],
    );
    assert_eq!(r.code, Some(2), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("empty.txt: lists no key; nothing was restored"),
        "{}",
        r.stderr
    );
    assert_eq!(sha(d, "data/2.txt"), None);
}

#[test]
fn a_restore_by_prefix_restores_only_the_keys_under_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let snap = bucket_and_snapshot(d);
    remove(d, "other/x.txt");
    remove(d, "data/5.txt");
    let r = tierd(d, &["snapshot", "restore", &snap, "--prefix", "other/"]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.starts_with("restored 1 object (7 bytes)"),
        "{}",
        r.stdout
    );
    assert_eq!(sha(d, "other/x.txt"), sha_of(b"other x"));
    assert_eq!(sha(d, "data/5.txt"), None);
}

#[test]
fn locate_of_a_deleted_key_lists_the_snapshots_that_hold_it_with_a_working_restore() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut snaps = vec![bucket_and_snapshot(d)];
    for n in 0..5 {
        put(d, "data/1.txt", format!("version {n}").as_bytes());
        let s = tierd(d, &["snapshot", "create", "--bucket", "photos", "--json"]);
        snaps.push(s.json()["id"].as_str().unwrap().to_string());
    }
    remove(d, "data/3.txt");

    let l = tierd(d, &["locate", "photos/data/3.txt"]);
    assert_eq!(l.code, Some(1), "{}{}", l.stdout, l.stderr);
    let lines: Vec<&str> = l.stderr.lines().collect();
    assert!(
        lines[0].starts_with("photos/data/3.txt is on no tier"),
        "{}",
        l.stderr
    );
    assert_eq!(lines[1], "snapshots that hold it, newest first:");
    let newest = &snaps[5];
    assert!(
        lines[2].starts_with(&format!("  {newest}  ")),
        "{}",
        l.stderr
    );
    let command = format!("tierd snapshot restore {newest} --key data/3.txt");
    assert!(
        lines[2].ends_with(&format!("  10 bytes  restore: {command}")),
        "{}",
        l.stderr
    );
    assert_eq!(lines[6].split("  ").nth(1), Some(snaps[1].as_str()));
    assert_eq!(lines[7], "  and 1 older");

    let j = tierd(d, &["locate", "photos/data/3.txt", "--json"]);
    assert_eq!(j.code, Some(1));
    let held = j.json();
    let ids: Vec<&str> = held["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    let newest_first: Vec<&str> = snaps.iter().rev().map(String::as_str).collect();
    assert_eq!(ids, newest_first);
    assert_eq!(held["snapshots"][0]["restore"], command.as_str());

    // The command, run as printed, brings the key back.
    let r = run_printed(d, &command);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert_eq!(sha(d, "data/3.txt"), sha_of(b"original 3"));
}

#[test]
fn a_snapshots_why_tells_the_objects_copied_from_those_unchanged_since_the_previous() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let first = bucket_and_snapshot(d);
    put(d, "data/2.txt", b"changed 2");
    let s = tierd(d, &["snapshot", "create", "--bucket", "photos", "--json"]);
    let second = s.json()["id"].as_str().unwrap().to_string();
    let why = tierd(d, &["explain", &second, "--json"]).json();
    assert_eq!(
        why["why"],
        format!(
            "snapshot {second}: 6 objects (1 copied, 5 unchanged since {first}), 9 bytes copied"
        )
    );
}

#[test]
fn a_freeze_holds_an_overwrite_of_the_keys_named_and_not_of_others() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let snap = bucket_and_snapshot(d);
    put(d, "other/x.txt", b"ENCRYPTED x");
    put(d, "data/1.txt", b"ENCRYPTED 1");
    let f = tierd(d, &["freeze", "photos", "--prefix", "other/"]);
    assert_eq!(f.code, Some(0), "{}{}", f.stdout, f.stderr);
    let held = [
        "snapshot",
        "restore",
        &snap,
        "--overwrite",
        "--prefix",
        "other/",
    ];
    let r = tierd(d, &held);
    assert_eq!(r.code, Some(2), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("the freeze on photos/other/"),
        "{}",
        r.stderr
    );
    assert_eq!(sha(d, "other/x.txt"), sha_of(b"ENCRYPTED x"));
    let r = tierd(
        d,
        &[
            "snapshot",
            "restore",
            &snap,
            "--overwrite",
            "--key",
            "data/1.txt",
        ],
    );
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert_eq!(sha(d, "data/1.txt"), sha_of(b"original 1"));
}
