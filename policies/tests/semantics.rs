//! Conflict semantics, reload, tests-in-files and the one-object/columnar equivalence.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics reports its failure

mod common;
use common::*;

use policies::{BehaviourFacts, Catalog, NO_RULE, ObjectFacts, Verdict, load_from_strs, run_tests};

const NOW: i64 = 1_767_614_400; // Monday 2026-01-05 12:00 UTC
const DAY: i64 = 86_400;

fn obj(bucket: &str, key: &str, tier: &str, idle_days: i64) -> ObjectFacts {
    ObjectFacts {
        bucket: bucket.into(),
        key: key.into(),
        tier: tier.into(),
        size: 10 << 20,
        created: NOW - 400 * DAY,
        last_access: NOW - idle_days * DAY,
        tier_since: NOW - 400 * DAY,
        ..ObjectFacts::default()
    }
}

fn winner(l: &policies::Loaded, o: &ObjectFacts, b: &BehaviourFacts) -> Option<String> {
    l.policy
        .evaluate(o, b, NOW)
        .winner
        .map(|w| l.policy.rules[w].id.clone())
}

const CONFLICTS: &str = r#"
[[rule]]
id = "cold"
priority = 10
scope = { bucket = "data" }
when = "days_since_last_access > 90d"
action = { kind = "move", to = "cloud" }

[[rule]]
id = "colder"
priority = 10
scope = { bucket = "data", prefix = "tmp/" }
when = "days_since_last_access > 30d"
action = { kind = "move", to = "vault" }

[[rule]]
id = "keep-legal"
scope = { bucket = "data", prefix = "legal/" }
action = "pin"

[[rule]]
id = "freeze"
priority = 1
scope = { bucket = "data" }
when = "incident_open"
action = "freeze"

[[rule]]
id = "snap"
priority = 0
scope = { bucket = "data" }
when = "bucket_anomaly >= 0.8"
action = { kind = "snapshot", to = "vault" }
"#;

#[test]
fn a_pin_holds_moves_only_whatever_their_priority() {
    let l = load_ok(CONFLICTS);
    let o = obj("data", "legal/contract.pdf", "onprem", 200);
    // Alone with a move (priority 10 over the pin's 0), the pin wins and the move loses to it.
    let calm = BehaviourFacts::default();
    assert_eq!(winner(&l, &o, &calm).as_deref(), Some("keep-legal"));
    let e = l.policy.evaluate(&o, &calm, NOW);
    assert_eq!(e.outcomes[0].verdict, Verdict::Pinned { by: 2 });
    // An anomaly: the snapshot is not held by the pin; the move still is.
    let anomalous = BehaviourFacts {
        bucket_anomaly: 0.9,
        ..BehaviourFacts::default()
    };
    let e = l.policy.evaluate(&o, &anomalous, NOW);
    assert_eq!(winner(&l, &o, &anomalous).as_deref(), Some("snap"));
    assert_eq!(e.outcomes[0].verdict, Verdict::Pinned { by: 2 });
    assert_eq!(e.outcomes[2].verdict, Verdict::Applies);
    // An incident: the freeze is opened on the pinned object's scope and wins over the snapshot.
    let incident = BehaviourFacts {
        incident_open: true,
        bucket_anomaly: 0.9,
        ..BehaviourFacts::default()
    };
    let e = l.policy.evaluate(&o, &incident, NOW);
    assert_eq!((e.winner, e.frozen_by), (Some(3), Some(3)));
    assert_eq!(
        l.policy.explain(&e)[1..4],
        [
            "rule \"cold\" loses: pinned by rule \"keep-legal\"",
            "rule \"colder\" is out of scope (bucket \"data\", prefix \"tmp/\")",
            "rule \"keep-legal\" applies: pin, so no move is decided for the object",
        ]
    );
    // The same object after the incident, with an unfreeze rule of lower priority than the pin:
    // the unfreeze wins, so the freeze opened during the incident is lifted.
    let thaw = format!(
        "{CONFLICTS}\n[[rule]]\nid = \"thaw\"\npriority = -5\nscope = {{ bucket = \"data\" }}\nwhen = \"not incident_open\"\naction = \"unfreeze\"\n"
    );
    let l = load_ok(&thaw);
    assert_eq!(winner(&l, &o, &calm).as_deref(), Some("thaw"));
}

/// Incident response: a snapshot, a freeze, an alert on a protection change of higher priority
/// than both, one of lower priority on the incident, and a move.
const PROTECT: &str = r#"
[[rule]]
id = "snap"
priority = 950
scope = { bucket = "*" }
when = "incident_open and tier != 'vault'"
action = { kind = "snapshot", to = "vault" }

[[rule]]
id = "stop"
priority = 900
scope = { bucket = "*" }
when = "incident_open"
action = "freeze"

[[rule]]
id = "alert-high"
priority = 980
scope = { bucket = "*" }
when = "versioning_changed"
action = { kind = "alert", severity = "critical" }

[[rule]]
id = "alert-low"
priority = -1
scope = { bucket = "*" }
when = "incident_open"
action = "alert"

[[rule]]
id = "cold"
priority = 100
scope = { bucket = "*" }
when = "days_since_last_access > 30d"
action = { kind = "move", to = "cloud" }
"#;

#[test]
fn alerts_never_compete_every_matching_alert_fires_beside_the_winner() {
    let l = load_ok(PROTECT);
    let o = obj("b", "k", "onprem", 200);
    let attacked = BehaviourFacts {
        incident_open: true,
        versioning_changed: true,
        ..BehaviourFacts::default()
    };
    // The snapshot wins although an alert of higher priority matches; both alerts fire, in
    // precedence order; the alerts make nothing lose.
    let e = l.policy.evaluate(&o, &attacked, NOW);
    assert_eq!((e.winner, e.frozen_by), (Some(0), Some(1)));
    assert_eq!(e.alerts, vec![2, 3]);
    assert_eq!(e.outcomes[2].verdict, Verdict::Fires);
    assert_eq!(e.outcomes[3].verdict, Verdict::Fires);
    assert_eq!(
        l.policy.explain(&e),
        vec![
            "rule \"snap\" wins: snapshot to \"vault\"; incident_open (true: yes), tier != 'vault' ('onprem': yes)",
            "rule \"stop\" applies: freeze, opened on its scope beside the winner; incident_open (true: yes)",
            "rule \"alert-high\" fires beside any decision: alert (alerts never compete); versioning_changed (true: yes)",
            "rule \"alert-low\" fires beside any decision: alert (alerts never compete); incident_open (true: yes)",
            "rule \"cold\" loses: moves are frozen by rule \"stop\"",
        ]
    );
    // A change alone: the move wins, the alert fires beside it.
    let changed = BehaviourFacts {
        versioning_changed: true,
        ..BehaviourFacts::default()
    };
    let e = l.policy.evaluate(&o, &changed, NOW);
    assert_eq!((e.winner, e.alerts.clone()), (Some(4), vec![2]));
    // An alert alone: it fires, and no rule wins.
    let e = l
        .policy
        .evaluate(&obj("b", "k", "onprem", 1), &changed, NOW);
    assert_eq!((e.winner, e.alerts), (None, vec![2]));
    // The columnar evaluator agrees.
    let mut cat = Catalog::default();
    cat.push(&o);
    cat.push(&obj("b", "k2", "vault", 1));
    cat.set_behaviour("b", attacked);
    let fast = l.policy.evaluate_columns_detailed(&cat, NOW);
    assert_eq!(fast.winners, vec![0, 1]);
    assert_eq!(fast.alerts, vec![(0, 2), (0, 3), (1, 2), (1, 3)]);
    assert_eq!(fast.alerts_of(1).collect::<Vec<_>>(), vec![2, 3]);
}

#[test]
fn a_freeze_opened_beside_a_winning_snapshot_is_not_said_to_lose() {
    let text = CONFLICTS.replace(
        "priority = 0\nscope = { bucket = \"data\" }\nwhen = \"bucket_anomaly",
        "priority = 5\nscope = { bucket = \"data\" }\nwhen = \"bucket_anomaly",
    );
    let l = load_ok(&text);
    let frozen = BehaviourFacts {
        incident_open: true,
        bucket_anomaly: 0.9,
        ..BehaviourFacts::default()
    };
    let e = l
        .policy
        .evaluate(&obj("data", "a.bin", "onprem", 200), &frozen, NOW);
    assert_eq!((e.winner, e.frozen_by), (Some(4), Some(3)));
    assert_eq!(e.outcomes[3].verdict, Verdict::Applies);
    let lines = l.policy.explain(&e);
    assert!(
        lines.contains(
            &"rule \"freeze\" applies: freeze, opened on its scope beside the winner; incident_open (true: yes)"
                .to_string()
        ),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|l| l.starts_with("rule \"freeze\" loses")));
}

#[test]
fn a_freeze_blocks_moves_but_not_snapshots() {
    let l = load_ok(CONFLICTS);
    let o = obj("data", "a.bin", "onprem", 200);
    let frozen = BehaviourFacts {
        incident_open: true,
        bucket_anomaly: 0.9,
        ..BehaviourFacts::default()
    };
    // The freeze (priority 1) outranks the snapshot (priority 0); the move (priority 10) is blocked.
    assert_eq!(winner(&l, &o, &frozen).as_deref(), Some("freeze"));
    let e = l.policy.evaluate(&o, &frozen, NOW);
    assert_eq!(e.outcomes[0].verdict, Verdict::Frozen { by: 3 });
    assert_eq!(
        e.outcomes[4].verdict,
        Verdict::Outranked { by: 3 },
        "the snapshot is not blocked, only outranked"
    );
    // With the freeze still matching but outranked by a snapshot of higher priority, the snapshot wins.
    let text = CONFLICTS.replace(
        "priority = 0\nscope = { bucket = \"data\" }\nwhen = \"bucket_anomaly",
        "priority = 5\nscope = { bucket = \"data\" }\nwhen = \"bucket_anomaly",
    );
    let l2 = load_ok(&text);
    assert_eq!(winner(&l2, &o, &frozen).as_deref(), Some("snap"));
    // Without the freeze the move wins by priority.
    let calm = BehaviourFacts {
        bucket_anomaly: 0.9,
        ..BehaviourFacts::default()
    };
    assert_eq!(winner(&l, &o, &calm).as_deref(), Some("cold"));
}

#[test]
fn equal_priorities_are_broken_by_file_order() {
    let l = load_ok(CONFLICTS);
    let o = obj("data", "tmp/x.bin", "onprem", 200);
    assert_eq!(
        winner(&l, &o, &BehaviourFacts::default()).as_deref(),
        Some("cold")
    );
    let e = l.policy.evaluate(&o, &BehaviourFacts::default(), NOW);
    assert_eq!(e.outcomes[1].verdict, Verdict::Outranked { by: 0 });
}

#[test]
fn a_move_never_matches_objects_already_on_its_destination() {
    let l = load_ok(CONFLICTS);
    let o = obj("data", "tmp/x.bin", "cloud", 200);
    assert_eq!(
        winner(&l, &o, &BehaviourFacts::default()).as_deref(),
        Some("colder")
    );
    assert_eq!(
        l.policy
            .evaluate(&o, &BehaviourFacts::default(), NOW)
            .outcomes[0]
            .verdict,
        Verdict::AlreadyOnTarget
    );
}

#[test]
fn explain_names_the_winner_and_why_each_other_rule_lost() {
    let l = load_ok(CONFLICTS);
    let o = obj("data", "tmp/x.bin", "onprem", 200);
    let lines = l
        .policy
        .explain(&l.policy.evaluate(&o, &BehaviourFacts::default(), NOW));
    assert_eq!(
        lines,
        vec![
            "rule \"cold\" wins: move to \"cloud\"; days_since_last_access > 90d (200d: yes)",
            "rule \"colder\" loses to rule \"cold\" (priority 10 vs 10, the same: the first written wins)",
            "rule \"keep-legal\" is out of scope (bucket \"data\", prefix \"legal/\")",
            "rule \"freeze\" does not match: incident_open (false: no)",
            "rule \"snap\" does not match: bucket_anomaly >= 0.8 (0: no)",
        ]
    );
}

#[test]
fn explain_shows_a_written_not_beside_the_leaves_it_negates() {
    // `not incident_open` is false while incident_open holds: the leaf alone ("true: yes")
    // would read as a match, so it is shown as written, `not incident_open`, with whether that
    // holds. A comparison's own negation (`!=`) needs nothing more.
    let text = "[[rule]]\nid = \"calm\"\nscope = { bucket = \"*\" }\nwhen = \"not incident_open and tier != 'vault'\"\naction = \"unfreeze\"\n\n\
                [[rule]]\nid = \"plain\"\nscope = { bucket = \"*\" }\nwhen = \"tier != 'vault' and incident_open\"\naction = \"freeze\"\n";
    let l = load_ok(text);
    let o = obj("data", "x.bin", "onprem", 1);
    let open = BehaviourFacts {
        incident_open: true,
        ..BehaviourFacts::default()
    };
    assert_eq!(
        l.policy.explain(&l.policy.evaluate(&o, &open, NOW)),
        vec![
            "rule \"plain\" wins: freeze; tier != 'vault' ('onprem': yes), incident_open (true: yes)",
            "rule \"calm\" does not match: `not incident_open and tier != 'vault'` is false; not incident_open (true: no), tier != 'vault' ('onprem': yes)",
        ]
    );
    let calm = l
        .policy
        .explain(&l.policy.evaluate(&o, &BehaviourFacts::default(), NOW));
    assert_eq!(
        calm[0],
        "rule \"calm\" wins: unfreeze, which lifts a freeze open on exactly its scope (nothing when none is); `not incident_open and tier != 'vault'` holds; not incident_open (false: yes), tier != 'vault' ('onprem': yes)"
    );
}

#[test]
fn a_test_under_a_written_not_is_shown_as_written_and_holds_when_the_not_does() {
    let text = "[[rule]]\nid = \"calm\"\nscope = { bucket = \"*\" }\nwhen = \"not incident_open\"\naction = \"unfreeze\"\n\n\
                [[rule]]\nid = \"small\"\nscope = { bucket = \"*\" }\nwhen = \"incident_open or not (size > 1GiB)\"\naction = \"alert\"\n";
    let l = load_ok(text);
    let o = obj("data", "x.bin", "onprem", 1);
    let e = l.policy.evaluate(&o, &BehaviourFacts::default(), NOW);
    let shown = |rule: usize| -> Vec<(String, String, bool)> {
        e.outcomes[rule]
            .leaves
            .iter()
            .map(|v| (v.text.clone(), v.value.clone(), v.holds))
            .collect()
    };
    assert_eq!(
        shown(0),
        vec![("not incident_open".to_string(), "false".to_string(), true)]
    );
    assert_eq!(
        shown(1),
        vec![
            ("incident_open".to_string(), "false".to_string(), false),
            ("not (size > 1GiB)".to_string(), "10MiB".to_string(), true),
        ]
    );
}

#[test]
fn every_problem_in_every_file_is_reported_at_once_sorted_by_location() {
    let a = rule_when("age > 30 and size > 1");
    let b = "[[rule]]\nid = \"r\"\nscope = { bucket = \"x\" }\naction = { kind = \"move\", to = \"clod\" }\n";
    let d: Vec<String> = match load_from_strs(&[("b.toml", b), ("a.toml", &a)], &tiers()) {
        Ok(_) => vec![],
        Err(d) => d.iter().map(ToString::to_string).collect(),
    };
    assert_eq!(
        d,
        vec![
            "a.toml:2:6: error: rule \"r\": duplicate id; the first rule \"r\" is at b.toml:2:6; rename one of them",
            "a.toml:4:15: error: rule \"r\": age is a duration but 30 has no unit; write 30d (units: s, m, h, d, w)",
            "a.toml:4:29: error: rule \"r\": size is a size but 1 has no unit; write 1B for bytes, or a size such as 1MiB (units: B, KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB)",
            "b.toml:4:32: error: rule \"r\": unknown tier \"clod\" in action.to; known tiers: cloud, onprem, vault; did you mean \"cloud\"?",
        ]
    );
}

#[test]
fn a_bad_file_among_good_ones_yields_no_policy_at_all() {
    let good = rule_when("age > 30d");
    let bad = rule_when("age > 30").replace("id = \"r\"", "id = \"s\"");
    assert!(load_from_strs(&[("good.toml", &good)], &tiers()).is_ok());
    assert!(load_from_strs(&[("good.toml", &good), ("bad.toml", &bad)], &tiers()).is_err());
}

#[test]
fn guardrails_default_min_residency_to_the_tier_minimum_and_can_raise_it() {
    // The vault's default is a day (no tier minimum); onprem's is raised, and a policy may
    // lower a default to nothing.
    let l = load_ok(
        "[guardrails]\nmin_residency = { onprem = \"7d\" }\nmax_bytes_per_day = \"1TiB\"\ndry_run = true\nblackout = [\"weekday in mon..fri and hour_of_day in 9..17\"]\n",
    );
    let g = &l.policy.guardrails;
    assert_eq!(g.min_residency_secs, vec![7 * 86_400, 90 * 86_400, 86_400]);
    let none = load_ok("[guardrails]\nmin_residency = { vault = \"0s\" }\n");
    assert_eq!(none.policy.guardrails.min_residency_secs[2], 0);
    assert_eq!(g.max_bytes_per_day, Some(1 << 40));
    assert!(g.dry_run);
    assert!(
        l.policy.in_blackout(NOW),
        "Monday 12:00 is inside the window"
    );
    assert!(
        !l.policy.in_blackout(NOW + 6 * 3600),
        "Monday 18:00 is outside"
    );
    assert!(!l.policy.in_blackout(NOW + 5 * DAY), "Saturday is outside");
}

#[test]
fn hour_windows_wrap_around_midnight() {
    let l = load_ok("[guardrails]\nblackout = [\"hour_of_day in 22..6\"]\n");
    assert!(l.policy.in_blackout(NOW - 12 * 3600 + 23 * 3600), "23:00");
    assert!(l.policy.in_blackout(NOW - 12 * 3600 + 5 * 3600), "05:00");
    assert!(
        !l.policy.in_blackout(NOW - 12 * 3600 + 6 * 3600),
        "06:00 is excluded"
    );
}

#[test]
fn tests_in_files_pass_and_fail_with_the_reason() {
    let text = format!(
        "{}\n[[tests]]\nname = \"cold goes\"\nfacts = {{ bucket = \"logs\", tier = \"onprem\", age = \"40d\" }}\nexpect = {{ action = \"move\", to = \"cloud\", rule = \"r\" }}\n\n[[tests]]\nname = \"wrong\"\nfacts = {{ bucket = \"logs\", age = \"10d\" }}\nexpect = {{ action = \"move\", rule = \"r\" }}\n",
        rule_when("age > 30d")
    );
    let l = load_ok(&text);
    let out = run_tests(&l);
    assert_eq!(out.len(), 2);
    assert!(out[0].passed, "{out:?}");
    assert!(!out[1].passed);
    assert_eq!(
        out[1].to_string(),
        "p.toml:12:1: test \"wrong\" ... FAILED: expected rule \"r\" (move), got no action; no rule wins; rule \"r\" does not match: age > 30d (10d: no)"
    );
}

#[test]
fn tests_in_files_assert_the_alerts_that_fire_and_the_freeze_opened() {
    let rules = PROTECT;
    let test = |expect: &str| {
        format!(
            "{rules}\n[[tests]]\nname = \"t\"\nfacts = {{ bucket = \"b\", key = \"k\", incident_open = true, versioning_changed = true }}\nexpect = {expect}\n"
        )
    };
    let run = |expect: &str| {
        let l = load_ok(&test(expect));
        run_tests(&l).remove(0)
    };
    // Exactly the alerts that fire, in any order, with or without the winner.
    for ok in [
        "{ alerts = [\"alert-low\", \"alert-high\"] }",
        "{ action = \"snapshot\", rule = \"snap\", alerts = [\"alert-high\", \"alert-low\"], freeze = \"stop\" }",
        "{ freeze = \"stop\" }",
    ] {
        let out = run(ok);
        assert!(out.passed, "{ok}: {out}");
    }
    let out = run("{ action = \"snapshot\", alerts = [\"alert-high\"], freeze = \"stop\" }");
    assert!(!out.passed);
    assert_eq!(
        out.message
            .as_deref()
            .map(|m| m.split("; rule").next().unwrap_or_default()),
        Some("expected alerts [\"alert-high\"], got [\"alert-high\", \"alert-low\"]")
    );
    // Without the incident: no freeze, and no alert but the change's.
    let l =
        load_ok(&test("{ alerts = [], freeze = \"stop\" }").replace("incident_open = true, ", ""));
    let out = run_tests(&l).remove(0);
    assert!(
        out.to_string().starts_with(
            "p.toml:37:1: test \"t\" ... FAILED: expected alerts [], got [\"alert-high\"]; expected freeze \"stop\", got no freeze; no rule wins; "
        ),
        "{out}"
    );
}

#[test]
fn a_failing_test_won_by_a_pin_without_conditions_has_no_empty_clause() {
    // A pin by scope alone has no conditions to list: its line ends at the action.
    let text = "[[rule]]\nid = \"pin-finance\"\nscope = { bucket = \"finance\" }\naction = \"pin\"\n\n\
                [[rule]]\nid = \"cold\"\nscope = { bucket = \"*\" }\nwhen = \"age > 30d\"\naction = { kind = \"move\", to = \"cloud\" }\n\n\
                [[tests]]\nname = \"old finance goes\"\nfacts = { bucket = \"finance\", tier = \"onprem\", age = \"40d\" }\nexpect = { action = \"move\", to = \"cloud\" }\n";
    let l = load_ok(text);
    let out = run_tests(&l);
    assert_eq!(
        out[0].to_string(),
        "p.toml:12:1: test \"old finance goes\" ... FAILED: expected move to \"cloud\", got rule \"pin-finance\" (pin); rule \"pin-finance\" wins: pin; rule \"cold\" loses: pinned by rule \"pin-finance\""
    );
    assert!(!out[0].to_string().contains("; ;"));
}

/// A tiny xorshift generator: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f32 {
        (self.below(1001) as f32) / 1000.0
    }
}

const MIXED: &str = r#"
[[rule]]
id = "pin-hr"
priority = 5
scope = { bucket = "hr" }
when = "extension in ['pdf', 'docx']"
action = "pin"

[[rule]]
id = "freeze-incident"
priority = 50
scope = { bucket = "*" }
when = "incident_open or (bucket_anomaly > 0.9 and principal_is_new)"
action = "freeze"

[[rule]]
id = "snap-anomaly"
priority = 60
scope = { bucket = "*" }
when = "bucket_anomaly >= 0.7 and not (tier == 'vault')"
action = { kind = "snapshot", to = "vault" }

[[rule]]
id = "cold"
priority = 10
scope = { bucket = "logs", prefix = "app/" }
when = "days_since_last_access > 90d and size >= 1MiB and savings_per_month > read_back_cost_per_month"
action = { kind = "move", to = "cloud" }

[[rule]]
id = "cold-glob"
priority = 10
scope = { bucket = "logs", glob = "**.gz" }
when = "age >= 30d and reads_30d <= 2 and weekday in [sat, sun]"
action = { kind = "move", to = "cloud" }

[[rule]]
id = "recall"
priority = 20
scope = { bucket = "*" }
when = "tier in ['cloud', 'vault'] and reads_7d >= 3 and days_since_last_access < 1d"
action = { kind = "move", to = "onprem" }

[[rule]]
id = "alert-config"
priority = 70
scope = { bucket = "*" }
when = "lifecycle_changed or bucket_policy_changed"
action = { kind = "alert", severity = "critical" }

[[rule]]
id = "hr-new-principal"
priority = 40
scope = { bucket = "hr" }
when = "principal_is_new and size >= 1MiB"
action = { kind = "alert", severity = "warning" }

[[rule]]
id = "quiet-media"
priority = 0
scope = { bucket = "media" }
when = "not (incident_open or principal_anomaly > 0.5)"
action = "unfreeze"

[[rule]]
id = "night"
priority = 1
scope = { bucket = "data" }
when = "hour_of_day in 22..6 or key matches 'tmp/*' or prefix == 'scratch/' or size < 4KiB"
action = { kind = "move", to = "vault" }
"#;

fn random_catalog(rng: &mut Rng, n: usize) -> Catalog {
    let buckets = ["hr", "logs", "data", "media"];
    let tiers = ["onprem", "cloud", "vault", "tape"];
    let prefixes = ["app/", "tmp/", "scratch/", "x/y/", ""];
    let exts = ["pdf", "docx", "gz", "PDF", "log", ""];
    let mut cat = Catalog::with_capacity(n);
    for i in 0..n {
        let p = prefixes[rng.below(5) as usize];
        let e = exts[rng.below(6) as usize];
        let key = if e.is_empty() {
            format!("{p}obj{i}")
        } else {
            format!("{p}obj{i}.{e}")
        };
        let key = if rng.below(10) == 0 {
            format!("{p}deep/dir/{key}")
        } else {
            key
        };
        let days = |r: &mut Rng| NOW - (r.below(200 * DAY as u64) as i64);
        cat.push(&ObjectFacts {
            bucket: buckets[rng.below(4) as usize].into(),
            key,
            tier: tiers[rng.below(4) as usize].into(),
            size: [0, 4095, 4096, 1 << 20, (1 << 20) - 1, 5 << 30][rng.below(6) as usize]
                + rng.below(3),
            created: days(rng),
            last_access: match rng.below(5) {
                0 => NOW - 90 * DAY,
                1 => NOW - rng.below(DAY as u64) as i64,
                _ => days(rng),
            },
            tier_since: days(rng),
            reads: [
                rng.below(5) as u32,
                rng.below(5) as u32,
                rng.below(5) as u32,
                rng.below(50) as u32,
            ],
            writes: [0, 1, 2, 3].map(|_| rng.below(4) as u32),
            read_back_probability: rng.unit(),
            savings_per_month: rng.below(100) as f64 / 10.0 - 2.0,
            read_back_cost_per_month: rng.below(100) as f64 / 10.0,
        });
    }
    for b in buckets {
        cat.set_behaviour(
            b,
            BehaviourFacts {
                principal_anomaly: rng.unit(),
                bucket_anomaly: [0.0, 0.7, 0.95][rng.below(3) as usize],
                incident_open: rng.below(4) == 0,
                principal_is_new: rng.below(2) == 0,
                lifecycle_changed: rng.below(6) == 0,
                ..BehaviourFacts::default()
            },
        );
    }
    cat
}

#[test]
fn columnar_and_one_object_evaluation_pick_the_same_winner_for_random_objects() {
    let l = load_ok(MIXED);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut winners_seen = std::collections::BTreeSet::new();
    let (mut alerts_seen, mut both_alerts) = (std::collections::BTreeSet::new(), false);
    // An unfreeze that applies beside another winner was seen.
    let mut unfrozen_beside = false;
    for round in 0..40 {
        let cat = random_catalog(&mut rng, 3000 + round * 7);
        // Vary the clock over the week and the day.
        let now = NOW + (rng.below(7 * DAY as u64) as i64);
        let fast = l.policy.evaluate_columns_detailed(&cat, now);
        assert_eq!(fast.winners.len(), cat.len());
        assert_eq!(fast.winners, l.policy.evaluate_columns(&cat, now));
        for (i, (&w, &f)) in fast.winners.iter().zip(&fast.frozen_by).enumerate() {
            let slow = l.policy.evaluate(&cat.object(i), &cat.behaviour_of(i), now);
            let as_id = |x: Option<usize>| x.map_or(NO_RULE, |w| w as u32);
            let alerts: Vec<u32> = fast.alerts_of(i as u32).collect();
            let u = fast.unfrozen_by[i];
            unfrozen_beside |= u != NO_RULE && u != w;
            assert_eq!(
                (w, f, u, alerts.clone()),
                (
                    as_id(slow.winner),
                    as_id(slow.frozen_by),
                    as_id(slow.unfrozen_by),
                    slow.alerts.iter().map(|&a| a as u32).collect::<Vec<_>>()
                ),
                "round {round} row {i}: {:?} {:?}",
                cat.object(i),
                cat.behaviour_of(i)
            );
            winners_seen.insert(w);
            both_alerts |= alerts.len() == 2;
            alerts_seen.extend(alerts);
        }
    }
    // The property is only meaningful if every rule but the alerts (and "none") actually won
    // somewhere, and every alert fired, both at once on some object.
    let alerts = l
        .policy
        .rules
        .iter()
        .filter(|r| r.action.is_alert())
        .count();
    assert_eq!(
        winners_seen.len(),
        l.policy.rules.len() - alerts + 1,
        "winners seen: {winners_seen:?}"
    );
    assert_eq!(alerts_seen.len(), alerts, "alerts seen: {alerts_seen:?}");
    assert!(both_alerts, "no object with both alerts");
    assert!(
        unfrozen_beside,
        "no object whose unfreeze applies beside another winner"
    );
}

#[test]
fn explanations_answer_for_the_comparison_as_written_even_when_negated() {
    let l = load_ok(
        "[[rule]]\nid = \"r\"\nscope = { bucket = \"*\" }\nwhen = \"tier != 'vault' and not (size > 1GiB) and incident_open == false and tier not in ['cloud']\"\naction = \"freeze\"\n",
    );
    let e = l
        .policy
        .evaluate(&obj("b", "k", "onprem", 1), &BehaviourFacts::default(), NOW);
    assert_eq!(e.winner, Some(0));
    let shown: Vec<(String, bool)> = e.outcomes[0]
        .leaves
        .iter()
        .map(|v| (v.text.clone(), v.holds))
        .collect();
    assert_eq!(
        shown,
        vec![
            ("tier != 'vault'".to_string(), true),
            // `not (...)` is shown as written, and holds when the comparison does not.
            ("not (size > 1GiB)".to_string(), true),
            ("incident_open == false".to_string(), true),
            ("tier not in ['cloud']".to_string(), true),
        ]
    );
}

#[test]
fn money_in_explanations_names_the_currency_and_keeps_four_significant_digits_below_one() {
    let mut l = load_ok(
        "[[rule]]\nid = \"r\"\nscope = { bucket = \"*\" }\nwhen = \"savings_per_month > read_back_cost_per_month\"\naction = { kind = \"move\", to = \"cloud\" }\n",
    );
    let mut o = obj("b", "k", "onprem", 30);
    for (saving, shown) in [
        (0.000_093_12, "USD 0.00009312"),
        (0.012_34, "USD 0.01234"),
        (12.345, "USD 12.35"),
        (0.0, "USD 0.00"),
    ] {
        o.savings_per_month = saving;
        o.read_back_cost_per_month = 0.0;
        let e = l.policy.evaluate(&o, &BehaviourFacts::default(), NOW);
        assert_eq!(
            e.outcomes[0].leaves[0].value,
            format!("{shown} vs USD 0.00"),
            "{saving}"
        );
    }
    // The configuration's currency, set by the controller; a negative amount after it.
    l.policy.currency = "EUR".into();
    o.savings_per_month = -0.000_009_674;
    let e = l.policy.evaluate(&o, &BehaviourFacts::default(), NOW);
    assert_eq!(
        e.outcomes[0].leaves[0].value,
        "EUR -0.000009674 vs EUR 0.00"
    );
}

/// A daily snapshot of the bucket (priority 10) wins every object over the unfreeze (priority
/// 1): the unfreeze still applies beside it, so a freeze is lifted once the incident closed; a
/// freeze that matches the object holds it (review 21, finding 3).
#[test]
fn an_unfreeze_applies_beside_a_winner_of_higher_priority_unless_a_freeze_matches() {
    let l = load_ok(
        r#"
[[rule]]
id = "freeze-on-incident"
priority = 900
scope = { bucket = "*" }
when = "incident_open"
action = "freeze"

[[rule]]
id = "daily-baseline"
priority = 10
scope = { bucket = "photos" }
when = "tier != 'vault'"
action = { kind = "snapshot", to = "vault" }
cooldown = "1d"

[[rule]]
id = "unfreeze-after-incident"
priority = 1
scope = { bucket = "*" }
when = "not incident_open"
action = "unfreeze"
"#,
    );
    let o = obj("photos", "a.jpg", "onprem", 3);
    let quiet = BehaviourFacts::default();
    let e = l.policy.evaluate(&o, &quiet, NOW);
    assert_eq!(
        (e.winner, e.frozen_by, e.unfrozen_by),
        (Some(1), None, Some(2))
    );
    assert_eq!(e.outcomes[2].verdict, Verdict::Applies);
    assert!(
        l.policy.explain(&e).contains(
            &"rule \"unfreeze-after-incident\" applies: unfreeze, which lifts a freeze open on exactly its scope beside the winner (nothing when none is); not incident_open (false: yes)"
                .to_string()
        ),
        "{:?}",
        l.policy.explain(&e)
    );
    // The same in the columnar evaluator the planner runs.
    let mut cat = Catalog::default();
    cat.push(&o);
    cat.set_behaviour("photos", quiet);
    let fast = l.policy.evaluate_columns_detailed(&cat, NOW);
    assert_eq!((fast.winners[0], fast.unfrozen_by[0]), (1, 2));
    // During the incident the freeze matches: nothing unfreezes.
    let attacked = BehaviourFacts {
        incident_open: true,
        ..BehaviourFacts::default()
    };
    let e = l.policy.evaluate(&o, &attacked, NOW);
    assert_eq!((e.frozen_by, e.unfrozen_by), (Some(0), None));
}
