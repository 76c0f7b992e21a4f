//! A long `tierd move` as an operator runs it, on the real process between two `file://` tiers:
//! its lines come as each object's move ends, SIGINT and SIGTERM end it gracefully (the moves in
//! flight finish, the rest are recorded `skipped`, the exit status tells the signal), and after
//! a `kill -9` recovery records the objects never started as `skipped`, not `failed`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics reports its failure

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Lines, Read};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use harness::{tierd, tierd_bin, write_local_tiers_config};

const OBJECTS: usize = 30;

fn key(i: usize) -> String {
    format!("f{i:02}.dat")
}

fn body(i: usize) -> Vec<u8> {
    format!("object {i}; ").repeat(100 + i).into_bytes()
}

/// `d` with two local tiers and `OBJECTS` objects under `photos/` on `onprem`.
fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_local_tiers_config(d);
    std::fs::create_dir_all(d.join("onprem/photos")).unwrap();
    std::fs::create_dir_all(d.join("cloud")).unwrap();
    for i in 0..OBJECTS {
        std::fs::write(d.join("onprem/photos").join(key(i)), body(i)).unwrap();
    }
    dir
}

/// `tierd move` of the whole bucket to `cloud`, 5 objects a second, its stdout read by line.
fn start_move(d: &Path) -> (Child, Lines<BufReader<ChildStdout>>) {
    start_move_with(d, &[])
}

fn start_move_with(d: &Path, flags: &[&str]) -> (Child, Lines<BufReader<ChildStdout>>) {
    let mut child = Command::new(tierd_bin())
        .args(["move", "--bucket", "photos", "--to", "cloud"])
        .args(["--config", "tierd.toml", "--max-objects-per-sec", "5"])
        .args(flags)
        .current_dir(d)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    (child, lines)
}

/// Reads lines until `n` of them say `moved`: the lines read.
fn read_moved(lines: &mut Lines<BufReader<ChildStdout>>, n: usize) -> Vec<String> {
    read_until(lines, n, |l| l.starts_with("moved "))
}

/// Reads lines until `n` of them are `wanted`: the lines read.
fn read_until(
    lines: &mut Lines<BufReader<ChildStdout>>,
    n: usize,
    wanted: fn(&str) -> bool,
) -> Vec<String> {
    let mut read: Vec<String> = Vec::new();
    while read.iter().filter(|l| wanted(l.as_str())).count() < n {
        let line = lines.next().expect("a line before the end").unwrap();
        read.push(line);
    }
    read
}

/// The keys the `moved` lines name.
fn moved_keys(lines: &[String]) -> BTreeSet<String> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("moved    photos/"))
        .map(|rest| rest.split_whitespace().next().unwrap().to_string())
        .collect()
}

/// Where each object is: the tier that holds it (asserting it is on exactly one, with its bytes).
fn tier_of(d: &Path, i: usize) -> &'static str {
    let on: Vec<&'static str> = ["onprem", "cloud"]
        .into_iter()
        .filter(|t| d.join(t).join("photos").join(key(i)).exists())
        .collect();
    assert_eq!(on.len(), 1, "{} is on {on:?}", key(i));
    let bytes = std::fs::read(d.join(on[0]).join("photos").join(key(i))).unwrap();
    assert!(bytes == body(i), "{} on {} has other bytes", key(i), on[0]);
    on[0]
}

/// Every decision in the journal, by key: (state, why).
fn decisions(d: &Path) -> Vec<(String, String, String)> {
    let r = tierd(d, &["decisions", "--json", "--config", "tierd.toml"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    r.stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let text = |f: &str| v[f].as_str().unwrap_or_default().to_string();
            (text("key"), text("state"), text("why"))
        })
        .collect()
}

fn stderr_of(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut text);
    }
    text
}

#[test]
fn a_rate_limited_bulk_move_prints_each_objects_line_as_its_move_ends() {
    let dir = setup();
    let d = dir.path();
    let (mut child, mut lines) = start_move(d);
    let first = read_moved(&mut lines, 1);
    let key0 = moved_keys(&first).into_iter().next().unwrap();
    // The line came while objects were still waiting for their turn: not after the batch.
    let waiting = (0..OBJECTS)
        .filter(|&i| d.join("onprem/photos").join(key(i)).exists())
        .count();
    assert!(
        waiting > 0,
        "every object had moved before the first line came: {first:?}"
    );
    assert!(
        d.join("cloud/photos").join(&key0).exists(),
        "the line for {key0} came before its move ended"
    );
    let mut all = first;
    all.extend(lines.map(Result::unwrap));
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{all:?}\n{}", stderr_of(&mut child));
    assert_eq!(moved_keys(&all).len(), OBJECTS, "{all:?}");
    let bytes: usize = (0..OBJECTS).map(|i| body(i).len()).sum();
    assert_eq!(
        all.last().unwrap(),
        &format!("{OBJECTS} moved ({bytes} bytes), 0 failed or aborted, 0 skipped")
    );
    for i in 0..OBJECTS {
        assert_eq!(tier_of(d, i), "cloud");
    }
}

/// Sends `kill -SIG` to `child`.
fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(ok.success());
}

/// The why of an object a stop signal (`SIGINT`, `SIGTERM`) kept from starting.
fn stopped_why(sig: &str) -> String {
    format!(
        "the operator's command was stopped before this object's move started (by SIG{sig}): nothing was copied or deleted; run the command again to continue"
    )
}

/// SIGINT or SIGTERM (`sig`, exit status `code`) after 3 objects moved.
fn a_stop_signal_ends_the_move_gracefully(sig: &str, code: i32) {
    let dir = setup();
    let d = dir.path();
    let (mut child, mut lines) = start_move(d);
    let mut all = read_moved(&mut lines, 3);
    signal(&child, sig);
    all.extend(lines.map(Result::unwrap));
    let status = child.wait().unwrap();
    let stderr = stderr_of(&mut child);
    assert_eq!(status.code(), Some(code), "{all:?}\n{stderr}");
    assert!(
        stderr.contains(&format!("stop requested by SIG{sig}: no new move starts")),
        "{stderr}"
    );

    // A line for every move that ended (those in flight at the signal too), then the counts.
    let moved = moved_keys(&all);
    let not_started = OBJECTS - moved.len();
    assert!(not_started > 0, "every object moved before the signal");
    let n = all.len();
    assert_eq!(moved.len(), n - 2, "{all:?}");
    let bytes: usize = (0..OBJECTS)
        .filter(|&i| moved.contains(&key(i)))
        .map(|i| body(i).len())
        .sum();
    assert_eq!(
        all[n - 2],
        format!(
            "{} moved ({bytes} bytes), 0 failed or aborted, 0 skipped",
            moved.len()
        )
    );
    assert_eq!(
        all[n - 1],
        format!(
            "{not_started} objects not started: the command was stopped by SIG{sig} (nothing was copied or deleted for them; run it again to continue)"
        )
    );

    // Nothing is left in flight, and every decision says how it ended.
    let r = tierd(d, &["recover", "--config", "tierd.toml"]);
    assert_eq!(r.stdout, "no move is left in flight\n", "{}", r.stderr);
    let why = stopped_why(sig);
    let ds = decisions(d);
    assert_eq!(ds.len(), OBJECTS);
    for (k, state, w) in &ds {
        let i: usize = k[1..3].parse().unwrap();
        if moved.contains(k) {
            assert_eq!((state.as_str(), tier_of(d, i)), ("done", "cloud"), "{k}");
        } else {
            assert_eq!((state.as_str(), w), ("skipped", &why), "{k}");
            assert_eq!(tier_of(d, i), "onprem", "{k}");
        }
    }
}

#[test]
fn sigint_lets_the_moves_in_flight_finish_and_records_the_rest_skipped_with_status_130() {
    a_stop_signal_ends_the_move_gracefully("INT", 130);
}

#[test]
fn sigterm_lets_the_moves_in_flight_finish_and_records_the_rest_skipped_with_status_143() {
    a_stop_signal_ends_the_move_gracefully("TERM", 143);
}

#[test]
fn under_json_a_stop_gives_each_object_a_line_and_those_not_started_say_so() {
    let dir = setup();
    let d = dir.path();
    let (mut child, mut lines) = start_move_with(d, &["--json"]);
    let mut all = read_until(&mut lines, 3, |l| l.contains(r#""state":"done""#));
    signal(&child, "TERM");
    all.extend(lines.map(Result::unwrap));
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(143),
        "{all:?}\n{}",
        stderr_of(&mut child)
    );
    // One line per object, no line of counts.
    assert_eq!(all.len(), OBJECTS, "{all:?}");
    let mut keys = BTreeSet::new();
    let mut not_started = 0;
    for l in &all {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let k = v["key"].as_str().unwrap().to_string();
        let i: usize = k[1..3].parse().unwrap();
        if v["not_started"] == true {
            not_started += 1;
            assert_eq!(v["state"], "skipped", "{l}");
            assert_eq!(v["why"], stopped_why("TERM").as_str(), "{l}");
            assert_eq!(tier_of(d, i), "onprem", "{l}");
        } else {
            assert_eq!(v["state"], "done", "{l}");
            assert_eq!(tier_of(d, i), "cloud", "{l}");
        }
        keys.insert(k);
    }
    assert_eq!(keys.len(), OBJECTS);
    assert!(not_started > 0, "every object moved before the signal");
}

#[test]
fn after_a_killed_move_recovery_records_the_objects_never_started_as_skipped() {
    let dir = setup();
    let d = dir.path();
    let (mut child, mut lines) = start_move(d);
    let seen = read_moved(&mut lines, 3);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let r = tierd(d, &["recover", "--config", "tierd.toml"]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("decisions settled"), "{}", r.stdout);
    assert!(
        r.stdout.ends_with("no move is left in flight\n"),
        "{}",
        r.stdout
    );
    let why = "the operator's command was stopped before this object's move started (the process ended before it could record so: killed, or the machine stopped): nothing was copied or deleted; run the command again to continue";
    let ds = decisions(d);
    assert_eq!(ds.len(), OBJECTS);
    let mut skipped = 0;
    for (k, state, w) in &ds {
        let i: usize = k[1..3].parse().unwrap();
        match (state.as_str(), tier_of(d, i)) {
            ("done", "cloud") => {}
            ("skipped", "onprem") => {
                assert_eq!(w, why, "{k}");
                skipped += 1;
            }
            // A move in flight at the kill, undone by recovery.
            ("failed", "onprem") => assert!(
                w.starts_with("undone by recovery after an interruption"),
                "{k}: {w}"
            ),
            (state, tier) => panic!("{k}: {state} on {tier}: {w}"),
        }
    }
    assert!(
        skipped > 0,
        "no object was left unstarted by the kill: {seen:?}"
    );
    for k in moved_keys(&seen) {
        assert!(
            ds.contains(&(k.clone(), "done".into(), String::new())),
            "{k}"
        );
    }
}
