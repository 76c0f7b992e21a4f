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

/// A record as a line of a decision log.
fn line(d: &Decision) -> String {
    format!("{}\n", serde_json::to_string(d).unwrap())
}

/// A move by `rule` with its price, in `state`, as the planner writes it: `recalls` in the
/// reason of a move back.
fn priced_move(id: &str, key: &str, way: (&str, &str), rule: &str, state: &str) -> Decision {
    let verb = if way.1 == "hot" { "recalls" } else { "moves" };
    let mut d = Decision::operator_move(
        id.into(),
        "2026-11-27T10:00:00Z".into(),
        ("photos", key),
        (Some(way.0), way.1),
        format!(
            "Rule \"{rule}\" {verb} photos/{key} from \"{}\" to \"{}\": ...",
            way.0, way.1
        ),
    );
    d.rule = Some(rule.into());
    d.state = serde_json::from_value(state.into()).unwrap();
    d.cost = Some(tierd::decision::Cost {
        bytes: 1 << 20,
        storage_saved_per_month: Some(if way.1 == "hot" { -0.5 } else { 0.25 }),
        ..Default::default()
    });
    d
}

#[test]
fn a_decision_logged_planned_then_done_is_one_decision_in_its_latest_state() {
    let dir = tempfile::tempdir().unwrap();
    // The service's log: two moves planned, then one done and one skipped.
    let a = priced_move("move-1", "a.jpg", ("hot", "cold"), "idle", "planned");
    let b = priced_move("move-2", "b.jpg", ("hot", "cold"), "idle", "planned");
    let mut a_done = a.clone();
    a_done.state = tierd::decision::State::Done;
    let mut b_skipped = b.clone();
    b_skipped.state = tierd::decision::State::Skipped;
    b_skipped.why = Some("photos/b.jpg is on no tier".into());
    let text = [&a, &b, &a_done, &b_skipped].map(line).concat();
    std::fs::write(dir.path().join("d.jsonl"), text).unwrap();
    let run = |more: &[&str]| {
        let mut args = vec!["decisions", "--log", "d.jsonl"];
        args.extend_from_slice(more);
        let r = tierd(dir.path(), &args);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        r.stdout
    };
    let table = run(&[]);
    assert_eq!(ids(&table), vec!["move-1", "move-2"]);
    assert!(table.contains(" done "), "{table}");
    assert!(table.contains("(photos/b.jpg is on no tier)"), "{table}");
    assert!(table.ends_with("\n2 decisions\n"), "{table}");
    let json: Vec<Decision> = run(&["--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(json, vec![a_done.clone(), b_skipped.clone()]);
    // Filters apply to the latest state: no decision is still planned.
    assert!(run(&["--state", "planned"]).ends_with("\n0 decisions\n"));
    assert_eq!(ids(&run(&["--state", "done"])), vec!["move-1"]);
    // A filter does not change the order: move-2 ended first, move-1 still comes first.
    let mut b_done = b.clone();
    b_done.state = tierd::decision::State::Done;
    let text = [&a, &b, &b_done, &a_done].map(line).concat();
    std::fs::write(dir.path().join("d.jsonl"), text).unwrap();
    assert_eq!(ids(&run(&["--state", "done"])), vec!["move-1", "move-2"]);
    std::fs::write(
        dir.path().join("d.jsonl"),
        [&a, &b, &a_done, &b_skipped].map(line).concat(),
    )
    .unwrap();
    let s: serde_json::Value = serde_json::from_str(&run(&["--summary", "--json"])).unwrap();
    assert_eq!(s["decisions"], 2, "{s}");
    assert_eq!(
        s["by_action"]["move"],
        serde_json::json!({"done": 1, "skipped": 1}),
        "{s}"
    );
    assert_eq!(s["moved"]["hot -> cold"]["objects"], 1, "{s}");
}

#[test]
fn a_summary_of_dry_run_moves_says_what_they_would_have_done() {
    let dir = tempfile::tempdir().unwrap();
    let text = [
        priced_move("move-1", "a.jpg", ("hot", "cold"), "idle", "dry-run"),
        priced_move("move-2", "b.jpg", ("hot", "cold"), "idle", "dry-run"),
        priced_move("move-3", "a.jpg", ("cold", "hot"), "reheated", "dry-run"),
    ]
    .map(|d| line(&d))
    .concat();
    std::fs::write(dir.path().join("sim.jsonl"), text).unwrap();
    let r = tierd(
        dir.path(),
        &["decisions", "--log", "sim.jsonl", "--summary"],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    for part in [
        "\nno move done\n",
        "\ndry-run moves, not done (what they would have done):\n",
        "  cold -> hot                      1 object        1MiB\n",
        "  hot -> cold                      2 objects       2MiB\n",
        "by rule: idle 2, reheated 1\n",
        "storage saved per month by these moves had they been done (recalls count against): 0.0000\n",
    ] {
        assert!(r.stdout.contains(part), "{part:?} not in\n{}", r.stdout);
    }
    let j = tierd(
        dir.path(),
        &["decisions", "--log", "sim.jsonl", "--summary", "--json"],
    );
    let s: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
    assert_eq!(s["moved"], serde_json::json!({}), "{s}");
    assert_eq!(s["dry_run"]["moved"]["hot -> cold"]["objects"], 2, "{s}");
    assert_eq!(s["dry_run"]["storage_saved_per_month"], 0.0, "{s}");
}

#[test]
fn recalls_are_selected_by_action_recall_and_are_moves_too() {
    let dir = tempfile::tempdir().unwrap();
    let mut op = Decision::operator_move(
        "op-4".into(),
        "2026-11-27T11:00:00Z".into(),
        ("photos", "c.jpg"),
        (Some("cold"), "hot"),
        "An operator ran `tierd recall` for this object.".into(),
    );
    op.state = tierd::decision::State::Done;
    let text = [
        line(&priced_move(
            "move-1",
            "a.jpg",
            ("hot", "cold"),
            "idle",
            "dry-run",
        )),
        line(&priced_move(
            "move-2",
            "b.jpg",
            ("cold", "hot"),
            "reheated",
            "dry-run",
        )),
        line(&op),
    ]
    .concat();
    std::fs::write(dir.path().join("d.jsonl"), text).unwrap();
    let r = tierd(
        dir.path(),
        &["decisions", "--log", "d.jsonl", "--action", "recall"],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(ids(&r.stdout), vec!["move-2", "op-4"]);
    let r = tierd(
        dir.path(),
        &["decisions", "--log", "d.jsonl", "--action", "move"],
    );
    assert_eq!(ids(&r.stdout), vec!["move-1", "move-2", "op-4"]);
}

#[test]
fn a_reversed_time_range_is_refused_as_simulate_refuses_it() {
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
            "2026-11-26T12:00:00Z",
        ],
    );
    assert_eq!(r.code, Some(2));
    assert_eq!(
        r.stderr,
        "error: --since (2026-11-27T00:00:00Z) must be before --until (2026-11-26T12:00:00Z): nothing lies between them\n"
    );
    assert_eq!(r.stdout, "");
}

#[test]
fn a_record_cut_short_is_located_by_the_files_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    log(dir.path());
    let mut text = std::fs::read_to_string(dir.path().join("d.jsonl")).unwrap();
    let cut = r#"{"id":"op-9","at":"2026-11-29T10:00:00Z""#;
    text.push_str(&format!("{cut}\n{{\"id\": 7}}\n"));
    std::fs::write(dir.path().join("d.jsonl"), text).unwrap();
    let r = tierd(dir.path(), &["decisions", "--log", "d.jsonl"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "d.jsonl:4:{}: not a decision record (EOF while parsing an object); skipped\n\
             d.jsonl:5:8: not a decision record (invalid type: integer `7`, expected a string); skipped\n",
            cut.len() + 1
        )
    );
    assert!(r.stdout.ends_with("\n3 decisions\n"), "{}", r.stdout);

    // A writer killed mid-line, and the next record appended to the cut line: that one is kept.
    let mut text = std::fs::read_to_string(dir.path().join("d.jsonl")).unwrap();
    let whole = line(&priced_move(
        "move-9",
        "z.jpg",
        ("hot", "cold"),
        "idle",
        "done",
    ));
    text.push_str(&format!("{cut}{whole}"));
    std::fs::write(dir.path().join("d.jsonl"), text).unwrap();
    let r = tierd(dir.path(), &["decisions", "--log", "d.jsonl"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "d.jsonl:6:{}: not a decision record (",
            cut.len() + 1
        )) && r.stderr.contains(&format!(
            "; skipped; the whole record after it, from column {}, is kept\n",
            cut.len() + 1
        )),
        "{}",
        r.stderr
    );
    assert!(r.stdout.ends_with("\n4 decisions\n"), "{}", r.stdout);
    assert!(
        ids(&r.stdout).contains(&"move-9".to_string()),
        "{}",
        r.stdout
    );
}

/// The `undo:` line of `tierd explain ID --log d.jsonl` in `dir`.
fn undo_line(dir: &std::path::Path, id: &str) -> String {
    let r = tierd(dir, &["explain", id, "--log", "d.jsonl"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    r.stdout
        .lines()
        .find_map(|l| l.strip_prefix("undo: "))
        .unwrap_or_else(|| panic!("no undo line in\n{}", r.stdout))
        .to_string()
}

#[test]
fn explain_shows_no_undo_for_a_dry_run_or_a_skipped_decision() {
    let dir = tempfile::tempdir().unwrap();
    let undo = "tierd move photos/a.jpg --to hot --config /etc/tierd/tierd.toml";
    let with_undo = |id: &str, state: &str| {
        let mut d = priced_move(id, "a.jpg", ("hot", "cold"), "idle", state);
        d.undo = Some(undo.into());
        line(&d)
    };
    let text = [
        with_undo("move-1", "dry-run"),
        with_undo("move-2", "skipped"),
        with_undo("move-3", "done"),
    ]
    .concat();
    std::fs::write(dir.path().join("d.jsonl"), text).unwrap();
    let undo_of = |id: &str| undo_line(dir.path(), id);
    assert_eq!(
        undo_of("move-1"),
        format!("nothing to undo: a dry run changes nothing (had it been done: {undo})")
    );
    assert_eq!(
        undo_of("move-2"),
        "nothing to undo: it was skipped, nothing changed"
    );
    assert_eq!(undo_of("move-3"), undo);
}

/// An operator's `action` (freeze, unfreeze, snapshot) of `prefix` in `bucket`, as a log line.
fn on_scope(id: &str, action: &str, (bucket, prefix): (&str, &str)) -> String {
    let mut d = Decision::operator_move(
        id.into(),
        "2026-11-27T12:00:00Z".into(),
        (bucket, "unused"),
        (None, "cloud"),
        format!("an operator's {action}"),
    );
    d.action = serde_json::from_value(action.into()).unwrap();
    d.key = None;
    d.prefix = Some(prefix.into());
    d.to = None;
    line(&d)
}

#[test]
fn a_key_lists_the_decisions_on_scopes_that_hold_it_from_a_log() {
    let dir = tempfile::tempdir().unwrap();
    log(dir.path());
    let mut text = std::fs::read_to_string(dir.path().join("d.jsonl")).unwrap();
    for (id, action, scope) in [
        ("bucket-freeze-1", "freeze", ("photos", "")),
        ("prefix-freeze-2", "freeze", ("photos", "2025/")),
        ("prefix-unfreeze-3", "unfreeze", ("photos", "2025/")),
        ("key-prefix-snapshot-4", "snapshot", ("photos", "2025/a")),
        ("other-prefix-freeze-5", "freeze", ("photos", "2026/")),
        ("deeper-freeze-6", "freeze", ("photos", "2025/a.jpg/")),
        ("other-bucket-freeze-7", "freeze", ("videos", "")),
    ] {
        text.push_str(&on_scope(id, action, scope));
    }
    std::fs::write(dir.path().join("d.jsonl"), text).unwrap();
    let run = |args: &[&str]| {
        let mut all = vec!["decisions", "--log", "d.jsonl"];
        all.extend_from_slice(args);
        let r = tierd(dir.path(), &all);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        ids(&r.stdout)
    };
    assert_eq!(
        run(&["--key", "photos/2025/a.jpg"]),
        vec![
            "op-1",
            "bucket-freeze-1",
            "prefix-freeze-2",
            "prefix-unfreeze-3",
            "key-prefix-snapshot-4"
        ]
    );
    // A prefix lists what is under it and the scopes that hold it.
    assert_eq!(
        run(&["--prefix", "photos/2025/"]),
        vec![
            "op-1",
            "bucket-freeze-1",
            "prefix-freeze-2",
            "prefix-unfreeze-3",
            "key-prefix-snapshot-4",
            "deeper-freeze-6",
            "snapshot-20261127T160000Z-000007"
        ]
    );
}

#[test]
fn a_key_lists_the_freezes_of_its_bucket_and_prefixes_from_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("tierd.toml"),
        "[journal]\npath = \"tierd.db\"\n[tiers.onprem]\nurl = \"file://onprem\"\n[tiers.cloud]\nurl = \"file://cloud\"\n",
    )
    .unwrap();
    {
        let mut j = tierd::journal::Journal::open(&d.join("tierd.db")).unwrap();
        j.record_decision(&Decision::operator_move(
            "move-a".into(),
            "2026-11-26T10:00:00Z".into(),
            ("photos", "2025/a.jpg"),
            (Some("onprem"), "cloud"),
            "idle".into(),
        ))
        .unwrap();
    }
    for args in [
        &["freeze", "photos"][..],
        &["freeze", "photos", "--prefix", "2025/"],
        &["freeze", "photos", "--prefix", "2026/"],
        &["freeze", "videos"],
        &["unfreeze", "photos", "--prefix", "2025/"],
    ] {
        let mut all = args.to_vec();
        all.extend(["--config", "tierd.toml", "--reason", "test"]);
        if args[0] == "unfreeze" {
            all.truncate(all.len() - 2);
        }
        let r = tierd(d, &all);
        assert_eq!(r.code, Some(0), "{args:?}: {}{}", r.stdout, r.stderr);
    }
    let r = tierd(
        d,
        &[
            "decisions",
            "--config",
            "tierd.toml",
            "--key",
            "photos/2025/a.jpg",
            "--json",
        ],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let scopes: Vec<(String, Option<String>, Option<String>)> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Decision>(l).unwrap())
        .map(|d| (d.action.as_str().to_string(), d.key, d.prefix))
        .collect();
    let s = |t: &str| Some(t.to_string());
    assert_eq!(
        scopes,
        vec![
            ("move".into(), s("2025/a.jpg"), None),
            ("freeze".into(), None, s("")),
            ("freeze".into(), None, s("2025/")),
            ("unfreeze".into(), None, s("2025/")),
        ]
    );
}

#[test]
fn explain_says_whether_the_undo_of_a_rules_freeze_is_undone_by_its_rule() {
    let dir = tempfile::tempdir().unwrap();
    let freeze = |id: &str, prefix: &str, when: &str| {
        let mut d: Decision =
            serde_json::from_str(&on_scope(id, "freeze", ("photos", prefix))).unwrap();
        d.rule = Some("ransomware-freeze".into());
        d.reason = "Rule \"ransomware-freeze\" froze ...".into();
        let arg = if prefix.is_empty() {
            String::new()
        } else {
            format!(" --prefix {prefix}")
        };
        d.undo = Some(format!(
            "tierd unfreeze photos{arg} --config /etc/tierd/tierd.toml"
        ));
        d.explanation = Some(tierd::decision::Explanation {
            when: when.into(),
            ..Default::default()
        });
        line(&d)
    };
    let text = [
        freeze("freeze-1", "", "incident_open"),
        freeze("freeze-2", "app/", "incident_open"),
    ]
    .concat();
    std::fs::write(dir.path().join("d.jsonl"), text).unwrap();
    let undo_of = |id: &str| undo_line(dir.path(), id);
    assert_eq!(
        undo_of("freeze-1"),
        "tierd unfreeze photos --config /etc/tierd/tierd.toml; it acknowledges the bucket's incident and the signals behind it (incident_open): rule \"ransomware-freeze\" freezes it again only on new behaviour (a new anomaly or configuration change)"
    );
    assert_eq!(
        undo_of("freeze-2"),
        "tierd unfreeze photos --prefix app/ --config /etc/tierd/tierd.toml; rule \"ransomware-freeze\" will freeze it again at its next pass while its condition (`incident_open`) holds: lifting a prefix's freeze leaves the bucket's behaviour signals as they are (incident_open) until they fade (planner.anomaly_hold, planner.incident_quiet); to acknowledge them at once, lift a freeze of the whole bucket (`tierd freeze photos`, then `tierd unfreeze photos`, when it has none)"
    );
}
