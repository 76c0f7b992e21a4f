//! `tierd decisions` end to end: the real binary reading a decision log, filtered by the
//! BUCKET/KEY form every other command takes, by dates, and saying so when a filter names
//! something no decision has.
#![allow(clippy::unwrap_used)]

use harness::tierd;
use tierd::decision::Decision;

/// A decision log of three moves in bucket `photos`, one by rule `cold-to-cloud`.
fn log(dir: &std::path::Path) {
    let mut text = String::new();
    let moves = [
        ("op-1", "2026-11-26T10:00:00Z", "2025/a.jpg", None),
        (
            "snapshot-20261127T160000Z-000007",
            "2026-11-27T16:00:00Z",
            "2025/a-key-much-longer-than-the-forty-characters-of-old.jpg",
            Some("cold-to-cloud"),
        ),
        ("op-3", "2026-11-28T10:00:00Z", "2026/b.jpg", None),
    ];
    for (id, at, key, rule) in moves {
        let mut d = Decision::operator_move(
            id.into(),
            at.into(),
            ("photos", key),
            (Some("onprem"), "cloud"),
            "idle".into(),
        );
        d.rule = rule.map(str::to_string);
        text.push_str(&serde_json::to_string(&d).unwrap());
        text.push('\n');
    }
    std::fs::write(dir.join("d.jsonl"), text).unwrap();
}

fn ids(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .skip(1)
        .filter(|l| !l.ends_with("decision") && !l.ends_with("decisions"))
        .map(|l| l.split(' ').next().unwrap().to_string())
        .collect()
}

#[test]
fn a_key_given_as_bucket_slash_key_finds_the_object_as_bucket_and_key_do() {
    let dir = tempfile::tempdir().unwrap();
    log(dir.path());
    let whole = tierd(
        dir.path(),
        &[
            "decisions",
            "--log",
            "d.jsonl",
            "--key",
            "photos/2025/a.jpg",
        ],
    );
    assert_eq!(whole.code, Some(0), "{}", whole.stderr);
    assert_eq!(ids(&whole.stdout), vec!["op-1"]);
    assert!(whole.stdout.ends_with("\n1 decision\n"), "{}", whole.stdout);
    let split = tierd(
        dir.path(),
        &[
            "decisions",
            "--log",
            "d.jsonl",
            "--bucket",
            "photos",
            "--key",
            "2025/a.jpg",
        ],
    );
    assert_eq!(split.stdout, whole.stdout);
    let prefix = tierd(
        dir.path(),
        &["decisions", "--log", "d.jsonl", "--prefix", "photos/2025/"],
    );
    assert_eq!(
        ids(&prefix.stdout),
        vec!["op-1", "snapshot-20261127T160000Z-000007"]
    );
}

#[test]
fn dates_select_from_midnight_utc_and_an_impossible_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    log(dir.path());
    let r = tierd(
        dir.path(),
        &[
            "decisions",
            "--log",
            "d.jsonl",
            "--since",
            "2026-11-27",
            "--until",
            "2026-11-28",
        ],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(ids(&r.stdout), vec!["snapshot-20261127T160000Z-000007"]);
    let r = tierd(
        dir.path(),
        &["decisions", "--log", "d.jsonl", "--since", "2026-11-31"],
    );
    // Refused as every bad argument is: exit status 2.
    assert_eq!(r.code, Some(2));
    assert_eq!(
        r.stderr,
        "error: --since \"2026-11-31\" is not a date: 2026-11 has days 01 to 30\n"
    );
}

#[test]
fn a_rule_or_bucket_no_decision_has_is_noted_with_the_nearest() {
    let dir = tempfile::tempdir().unwrap();
    log(dir.path());
    let r = tierd(
        dir.path(),
        &["decisions", "--log", "d.jsonl", "--rule", "cold-to-clod"],
    );
    assert_eq!(r.code, Some(0));
    assert_eq!(
        r.stderr,
        "note: no decision in d.jsonl names the rule \"cold-to-clod\"; did you mean \"cold-to-cloud\"?\n"
    );
    assert!(r.stdout.ends_with("\n0 decisions\n"), "{}", r.stdout);
    let r = tierd(
        dir.path(),
        &["decisions", "--log", "d.jsonl", "--key", "photo/2025/a.jpg"],
    );
    assert_eq!(
        r.stderr,
        "note: no decision in d.jsonl names the bucket \"photo\"; did you mean \"photos\"?\n"
    );
}

#[test]
fn the_table_stays_aligned_with_a_long_id_and_a_long_key() {
    let dir = tempfile::tempdir().unwrap();
    log(dir.path());
    let r = tierd(dir.path(), &["decisions", "--log", "d.jsonl"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    // Each row's tiers and reason start under their headers, whatever the id and key.
    let tiers = lines[0].find("from -> to").unwrap();
    let reason = lines[0].find("reason").unwrap();
    for row in &lines[1..4] {
        assert_eq!(row.find("onprem -> cloud"), Some(tiers), "{}", r.stdout);
        assert_eq!(row.find("idle"), Some(reason), "{}", r.stdout);
    }
    assert_eq!(lines[4], "3 decisions");
}
