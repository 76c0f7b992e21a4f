//! Planner tests: guardrails, freezes, bucket-level actions, determinism.

use std::sync::Arc;

use models::{AccessEvent, OpClass};

use super::*;
use crate::config::Config;

const DAY: i64 = 86_400;
const T0: i64 = 20_000 * DAY;

fn planner(policy: &str) -> Planner {
    planner_on(&Config::embedded(), policy)
}

fn planner_on(config: &Config, policy: &str) -> Planner {
    let loaded = policies::load_from_strs(&[("p.toml", policy)], &config.tier_specs())
        .unwrap_or_else(|d| panic!("{}", d[0]));
    Planner::new(
        Arc::new(loaded.policy),
        CostModel::from_config(config),
        config.planner.clone(),
        "test",
        1,
    )
}

fn ev(t: i64, op: OpClass, key: &str, size: u64) -> AccessEvent {
    AccessEvent {
        time_us: t * 1_000_000,
        op,
        operation: "REST.PUT.OBJECT".into(),
        bucket: "b".into(),
        key: Some(key.into()),
        status: Some(200),
        object_size: Some(size),
        ..AccessEvent::default()
    }
}

const COLD: &str = r#"
[[rule]]
id = "cold"
scope = { bucket = "*" }
when = "tier == 'onprem' and days_since_last_access > 7d"
action = { kind = "move", to = "cloud" }
"#;

#[test]
fn idle_objects_move_once_and_the_decision_explains_itself() {
    let mut p = planner(&format!(
        "{COLD}\n[guardrails]\nmax_objects_per_hour = 20000\nmax_bytes_per_day = \"5TiB\"\nmax_money_per_day = 50.0\n"
    ));
    p.objects.observe(&ev(T0, OpClass::Put, "old", 1 << 30), 0);
    p.objects
        .observe(&ev(T0 + 6 * DAY, OpClass::Put, "new", 1 << 20), 0);
    let plan = p.plan(T0 + 8 * DAY);
    assert_eq!(plan.moves.len(), 1, "{:?}", plan.decisions);
    let d = &plan.decisions[plan.moves[0].decision];
    assert_eq!(
        (d.key.as_deref(), d.to.as_deref()),
        (Some("old"), Some("cloud"))
    );
    assert_eq!(d.state, State::Planned);
    assert!(
        d.reason.contains("days_since_last_access > 7d (8d)"),
        "{}",
        d.reason
    );
    assert_eq!(d.undo.as_deref(), Some("tierd move b/old --to onprem"));
    let guardrails = &d.explanation.as_ref().unwrap().guardrails;
    for line in [
        "minimum residency on \"onprem\": 1d required, 8d on the tier",
        "budget, this move included: this hour 1 object (limit 20000) and 1GiB (no limit); \
         today 1 object (no limit), 1GiB (limit 5TiB) and 0.0000 USD (limit 50)",
    ] {
        assert!(
            guardrails.iter().any(|g| g == line),
            "{line:?} not in {guardrails:?}"
        );
    }
    let cost = d.cost.as_ref().unwrap();
    assert!(cost.storage_saved_per_month.unwrap() > 0.0);
    p.moved(plan.moves[0].row, plan.moves[0].to, T0 + 8 * DAY);
    // Next pass: the object is on the cloud tier, nothing more to do.
    assert!(p.plan(T0 + 9 * DAY).moves.is_empty());
}

#[test]
fn residency_keeps_a_fresh_arrival_in_place() {
    let policy = format!(
        "{COLD}\n[[rule]]\nid = \"back\"\nscope = {{ bucket = \"*\" }}\nwhen = \"tier == 'cloud'\"\naction = {{ kind = \"move\", to = \"onprem\" }}\n"
    );
    let mut p = planner(&policy);
    p.objects.observe(&ev(T0, OpClass::Put, "k", 1000), 0);
    let plan = p.plan(T0 + 8 * DAY);
    p.moved(plan.moves[0].row, plan.moves[0].to, T0 + 8 * DAY);
    // The cloud tier's 90-day minimum (its default residency) holds the object there.
    let plan = p.plan(T0 + 9 * DAY);
    assert!(plan.moves.is_empty());
    assert_eq!(plan.deferred.residency, 1);
    assert_eq!(p.plan(T0 + 99 * DAY).moves.len(), 1);
}

#[test]
fn two_opposite_rules_move_an_object_at_most_once_a_day_on_tiers_without_a_minimum() {
    // "out" and "back" would swap the object between onprem and the third tier (neither
    // charges a minimum storage duration; a data tier here, as a move may not enter a vault) on
    // every pass; the default residency of one day holds it after each move.
    let policy = "[[rule]]\nid = \"out\"\nscope = { bucket = \"*\" }\nwhen = \"tier == 'onprem'\"\naction = { kind = \"move\", to = \"vault\" }\n\n\
                  [[rule]]\nid = \"back\"\nscope = { bucket = \"*\" }\nwhen = \"tier == 'vault'\"\naction = { kind = \"move\", to = \"onprem\" }\n";
    let mut config = Config::embedded();
    config.roles[2] = crate::config::Role::Data;
    let mut p = planner_on(&config, policy);
    p.objects.observe(&ev(T0, OpClass::Put, "k", 1000), 0);
    let vault = p.cost.tier_index("vault").unwrap() as u8;
    // Written a day ago: it may move.
    let t = T0 + DAY;
    let plan = p.plan(t);
    assert_eq!(plan.moves.len(), 1);
    p.moved(plan.moves[0].row, vault, t);
    for hours in [1, 12, 23] {
        let plan = p.plan(t + hours * 3_600);
        assert!(plan.moves.is_empty(), "moved back after {hours}h");
        assert_eq!(plan.deferred.residency, 1);
    }
    let plan = p.plan(t + DAY + 3_600);
    assert_eq!(
        plan.moves.len(),
        1,
        "back after a day: {:?}",
        plan.decisions
    );
}

/// Bucket "b"'s anomalous window of five minutes ending at `t` (it opens an incident).
fn anomalous_window(t: i64) -> models::detect::SubjectScore {
    use models::features::{Subject, SubjectKind, WindowFlags};
    models::detect::SubjectScore {
        subject: Subject {
            kind: SubjectKind::Bucket,
            bucket: Some("b".into()),
            principal: None,
        },
        window_start_us: (t - 300) * 1_000_000,
        window_secs: 300,
        score: 0.944_202_5,
        threshold: 0.8,
        is_anomalous: true,
        learning: false,
        top_features: Vec::new(),
        flags: WindowFlags::default(),
    }
}

#[test]
fn a_move_the_models_verdict_drove_cites_the_anomaly() {
    let policy = "[[rule]]\nid = \"evacuate\"\nscope = { bucket = \"*\" }\nwhen = \"bucket_anomaly > 0.9 and tier == 'onprem'\"\naction = { kind = \"move\", to = \"cloud\" }\n";
    let mut p = planner(policy);
    p.objects.observe(&ev(T0, OpClass::Put, "k", 1000), 0);
    let t = T0 + 2 * DAY;
    let score = anomalous_window(t);
    p.behaviour.observe(&score, 300);
    let plan = p.plan(t);
    assert_eq!(plan.moves.len(), 1, "{:?}", plan.decisions);
    let d = &plan.decisions[plan.moves[0].decision];
    let a = d.anomaly.as_ref().expect("the anomaly behind the move");
    assert_eq!(
        (a.subject.as_str(), a.score, a.threshold),
        ("bucket:b", 0.9442, 0.8)
    );
    // The score reads as a threshold is written, not as float noise.
    assert!(
        d.reason.contains("bucket_anomaly > 0.9 (0.944)"),
        "{}",
        d.reason
    );
    // A move on idle time alone cites none.
    let mut q = planner(COLD);
    q.objects.observe(&ev(T0, OpClass::Put, "k", 1000), 0);
    q.behaviour.observe(&score, 300);
    let plan = q.plan(T0 + 8 * DAY);
    assert!(plan.decisions[plan.moves[0].decision].anomaly.is_none());
}

#[test]
fn budgets_cap_a_pass_and_the_biggest_savings_go_first() {
    let policy = format!("{COLD}\n[guardrails]\nmax_objects_per_hour = 2\n");
    let mut p = planner(&policy);
    for (i, size) in [10u64, 30, 20, 5].iter().enumerate() {
        p.objects
            .observe(&ev(T0, OpClass::Put, &format!("k{i}"), *size << 20), 0);
    }
    let plan = p.plan(T0 + 8 * DAY);
    let keys: Vec<_> = plan
        .decisions
        .iter()
        .filter_map(|d| d.key.clone())
        .collect();
    assert_eq!(keys, vec!["k1", "k2"]);
    assert_eq!(plan.deferred.budget, 2);
    // Which limit held them, and for which rule.
    assert_eq!(
        plan.deferred.by_rule.iter().collect::<Vec<_>>(),
        vec![(
            &(0, Guardrail::Budget(Budget::ObjectsPerHour)),
            &Holds {
                passes: 2,
                objects: 2
            }
        )]
    );
    // The next hour has a fresh budget; the moves then decided say which limit held them.
    for m in &plan.moves {
        p.moved(m.row, m.to, T0 + 8 * DAY);
    }
    let next = p.plan(T0 + 8 * DAY + 3600);
    assert_eq!(next.moves.len(), 2);
    let told = next.decisions[0]
        .explanation
        .as_ref()
        .and_then(|e| e.guardrails.last().cloned());
    assert_eq!(
        told.as_deref(),
        Some(
            "held back before: the rule wanted this move at 1 earlier pass at 2024-10-12T00:00:00Z, held by a budget (objects per hour) (1)"
        )
    );
}

#[test]
fn a_budget_hold_names_the_limit_that_held_it() {
    let policy =
        format!("{COLD}\n[guardrails]\nmax_objects_per_hour = 10\nmax_bytes_per_day = \"15MiB\"\n");
    let mut p = planner(&policy);
    for (i, size) in [10u64, 30, 6].iter().enumerate() {
        p.objects
            .observe(&ev(T0, OpClass::Put, &format!("k{i}"), *size << 20), 0);
    }
    // k1 (30 MiB) alone is over the day's bytes; k0 fits; k2 (6 MiB) after k0 would be 16 MiB.
    let plan = p.plan(T0 + 8 * DAY);
    assert_eq!(plan.moves.len(), 1, "{:?}", plan.decisions);
    let held: Vec<(String, u64)> = plan
        .deferred
        .by_rule
        .iter()
        .map(|((rule, g), h)| (format!("{rule} {}", g.name()), h.passes))
        .collect();
    assert_eq!(held, vec![("0 budget (bytes per day)".to_string(), 2)]);
}

#[test]
fn a_freeze_opens_once_blocks_moves_and_is_lifted_by_an_operator() {
    let policy = format!(
        "{COLD}\n[[rule]]\nid = \"stop\"\nscope = {{ bucket = \"b\", prefix = \"x/\" }}\nwhen = \"true\"\naction = \"freeze\"\npriority = 10\n"
    );
    let mut p = planner(&policy);
    p.objects.observe(&ev(T0, OpClass::Put, "x/1", 1000), 0);
    p.objects.observe(&ev(T0, OpClass::Put, "y/1", 1000), 0);
    let plan = p.plan(T0 + 8 * DAY);
    let actions: Vec<_> = plan
        .decisions
        .iter()
        .map(|d| (d.action, d.key.clone()))
        .collect();
    assert_eq!(
        actions,
        vec![(Action::Freeze, None), (Action::Move, Some("y/1".into()))]
    );
    assert_eq!(
        plan.decisions[0].undo.as_deref(),
        Some("tierd unfreeze b --prefix x/")
    );
    let reason = &plan.decisions[0].reason;
    assert!(
        reason.ends_with("until an operator runs `tierd unfreeze`."),
        "{reason}"
    );
    assert!(p.frozen("b", "x/1").is_some() && p.frozen("b", "y/1").is_none());
    // The move of x/1 the freeze rule outranked is counted as held by the freeze.
    assert_eq!(plan.deferred.frozen, 1, "{:?}", plan.deferred);
    // A move not reported back yet is not planned again.
    assert!(p.plan(T0 + 8 * DAY + 60).decisions.is_empty());
    p.moved(plan.moves[0].row, plan.moves[0].to, T0 + 8 * DAY);
    // Open already: no second freeze decision; the move is still held.
    let later = p.plan(T0 + 9 * DAY);
    assert!(later.decisions.is_empty());
    assert_eq!(later.deferred.frozen, 1, "{:?}", later.deferred);
    assert!(p.lift_freeze("b", "x/").is_some());
    // Lifted, and the freeze rule no longer matching: x/1 moves, and its decision tells the
    // passes the freeze held it back.
    let mut unfrozen = planner(COLD);
    std::mem::swap(&mut unfrozen.objects, &mut p.objects);
    std::mem::swap(&mut unfrozen.waits, &mut p.waits);
    let plan = unfrozen.plan(T0 + 10 * DAY);
    let d = &plan.decisions[plan.moves[0].decision];
    assert_eq!(d.key.as_deref(), Some("x/1"));
    let guardrails = &d.explanation.as_ref().unwrap().guardrails;
    assert!(
        guardrails.iter().any(|g| g
            == "held back before: the rule wanted this move at 3 earlier passes from 2024-10-12T00:00:00Z to 2024-10-13T00:00:00Z, held by an open freeze (3)"),
        "{guardrails:?}"
    );
}

#[test]
fn the_freeze_of_every_bucket_holds_every_move_even_in_a_new_bucket_and_snapshots_still_run() {
    // A snapshot rule on the bucket s (declared first, it wins its rows), the move elsewhere.
    let policy = format!(
        "[[rule]]\nid = \"snap\"\nscope = {{ bucket = \"s\" }}\nwhen = \"true\"\naction = {{ kind = \"snapshot\", to = \"vault\" }}\n{COLD}"
    );
    let mut p = planner(&policy);
    let put = |bucket: &str, key: &str| AccessEvent {
        bucket: bucket.into(),
        ..ev(T0, OpClass::Put, key, 1000)
    };
    p.objects.observe(&put("b", "old"), 0);
    p.objects.observe(&put("s", "kept"), 0);
    p.open_freeze(Freeze {
        bucket: EVERY_BUCKET.into(),
        prefix: String::new(),
        since: T0,
        decision_id: "freeze-all".into(),
        rule: None,
    });
    // A bucket that appears after the freeze opened is held as well.
    p.objects.observe(&put("c", "later"), 0);
    assert_eq!(
        p.frozen("c", "later").map(|f| f.decision_id.as_str()),
        Some("freeze-all")
    );
    let plan = p.plan(T0 + 8 * DAY);
    assert!(plan.moves.is_empty(), "{:?}", plan.decisions);
    assert_eq!(plan.deferred.frozen, 2, "{:?}", plan.deferred);
    // Protection continues.
    assert_eq!(plan.snapshots.len(), 1, "{:?}", plan.decisions);
    assert!(
        plan.decisions.iter().all(|d| d.action == Action::Snapshot),
        "{:?}",
        plan.decisions
    );
    assert_eq!(p.freezes().count(), 1);
    assert!(p.lift_freeze(EVERY_BUCKET, "").is_some());
    let plan = p.plan(T0 + 9 * DAY);
    assert_eq!(plan.moves.len(), 2, "{:?}", plan.decisions);
    assert_eq!(plan.deferred.frozen, 0);
}

#[test]
fn a_freeze_names_the_rule_that_will_lift_it() {
    let policy = r#"
[[rule]]
id = "stop"
scope = { bucket = "b" }
when = "true"
action = "freeze"

[[rule]]
id = "elsewhere"
scope = { bucket = "other" }
when = "true"
action = "unfreeze"

[[rule]]
id = "thaw"
scope = { bucket = "*" }
when = "false"
action = "unfreeze"
"#;
    let mut p = planner(policy);
    p.objects.observe(&ev(T0, OpClass::Put, "k", 1000), 0);
    let plan = p.plan(T0 + 60);
    let reason = &plan.decisions[0].reason;
    assert!(
        reason.ends_with(
            "until rule \"thaw\" lifts it (`false`) or an operator runs `tierd unfreeze`."
        ),
        "{reason}"
    );
}

#[test]
fn snapshots_and_alerts_are_per_bucket_and_respect_cooldowns() {
    let policy = r#"
[[rule]]
id = "snap"
scope = { bucket = "*" }
when = "true"
action = { kind = "snapshot", to = "vault" }
cooldown = "6h"
"#;
    let mut p = planner(policy);
    for i in 0..5 {
        p.objects
            .observe(&ev(T0, OpClass::Put, &format!("k{i}"), 100), 0);
    }
    let plan = p.plan(T0 + 60);
    assert_eq!(plan.snapshots.len(), 1);
    assert_eq!(
        (plan.snapshots[0].objects, plan.snapshots[0].bytes),
        (5, 500)
    );
    // The first snapshot copies every object, and is priced so.
    assert_eq!(
        (plan.snapshots[0].copy_objects, plan.snapshots[0].copy_bytes),
        (5, 500)
    );
    let first = &plan.decisions[plan.snapshots[0].decision];
    assert_eq!(first.cost.as_ref().map(|c| c.bytes), Some(500));
    assert!(
        first
            .reason
            .contains("(5 objects, 500 bytes; its first: every object is copied)"),
        "{}",
        first.reason
    );
    assert!(p.plan(T0 + 3600).snapshots.is_empty(), "cooldown");
    // One object written since: the next snapshot copies it alone, and is priced for it alone.
    p.objects
        .observe(&ev(T0 + 2 * 3600, OpClass::Put, "k1", 300), 0);
    let plan = p.plan(T0 + 7 * 3600);
    assert_eq!(plan.snapshots.len(), 1);
    let s = &plan.snapshots[0];
    assert_eq!(
        (s.objects, s.bytes, s.copy_objects, s.copy_bytes),
        (5, 700, 1, 300)
    );
    let later = &plan.decisions[s.decision];
    let cost = later.cost.as_ref().unwrap();
    assert_eq!(cost.bytes, 300);
    let vault = p.policy().tier_index("vault").unwrap();
    let write = p.cost.write(vault).requests;
    assert!((cost.requests.unwrap() - write).abs() < 1e-9, "{cost:?}");
    assert!(
        later
            .reason
            .contains("1 object, 300 bytes written since the snapshot of "),
        "{}",
        later.reason
    );
    // A snapshot the journal holds (a service restarted): the next one copies what changed
    // since it, not everything.
    let mut restarted = planner(policy);
    for i in 0..5 {
        restarted
            .objects
            .observe(&ev(T0, OpClass::Put, &format!("k{i}"), 100), 0);
    }
    restarted.snapshot_taken("b", "", T0 + 30);
    let plan = restarted.plan(T0 + 60);
    let s = &plan.snapshots[0];
    assert_eq!((s.objects, s.copy_objects, s.copy_bytes), (5, 0, 0));
}

#[test]
fn a_bucket_anomaly_names_its_window_the_principal_that_drove_it_and_each_deviation() {
    use models::detect::{Contribution, SubjectScore};
    use models::features::{Subject, SubjectKind, WindowFlags};
    let policy = "[[rule]]\nid = \"freeze\"\nscope = { bucket = \"*\" }\nwhen = \"incident_open\"\naction = \"freeze\"\n";
    let mut p = planner(policy);
    p.objects.observe(&ev(T0, OpClass::Put, "k", 1000), 0);
    let t = T0 + 2 * DAY;
    let score = |kind, principal: Option<&str>, score: f64| SubjectScore {
        subject: Subject {
            kind,
            bucket: Some("b".into()),
            principal: principal.map(Into::into),
        },
        window_start_us: (t - 300) * 1_000_000,
        window_secs: 300,
        score,
        threshold: 0.8,
        is_anomalous: score > 0.8,
        learning: false,
        top_features: vec![Contribution {
            name: "overwrites".into(),
            value: 1790.0,
            baseline: 0.0,
            deviation: 14.96,
        }],
        flags: WindowFlags::default(),
    };
    // The bucket is scored before the principals in it, as the model orders its rows.
    let scores = [
        score(SubjectKind::Bucket, None, 0.95),
        score(SubjectKind::PrincipalInBucket, Some("alice"), 0.7),
        score(SubjectKind::PrincipalInBucket, Some("bob"), 0.75),
    ];
    p.behaviour.note_drivers(&scores);
    for s in &scores {
        p.behaviour.observe(s, 300);
    }
    let plan = p.plan(t);
    let d = &plan.decisions[0];
    let a = d.anomaly.as_ref().expect("the anomaly behind the freeze");
    assert_eq!(a.principal.as_deref(), Some("bob"));
    assert_eq!(a.window_start.as_deref(), Some("2024-10-05T23:55:00Z"));
    assert_eq!(a.window_secs, Some(300));
    assert_eq!(a.top_features[0].deviation, Some(15.0));
    assert!(
        d.reason.contains(
            "bucket:b scored 0.95 against a threshold of 0.80 (in the 5-min window from 2024-10-05T23:55:00Z, principal bob)"
        ),
        "{}",
        d.reason
    );
}

#[test]
fn a_bucket_rule_fired_while_scores_are_ordinary_names_its_condition_as_the_cause() {
    let a = |score| Anomaly {
        subject: "bucket:b".into(),
        score,
        threshold: 0.8,
        model: "m".into(),
        top_features: Vec::new(),
        window_start: None,
        window_secs: None,
        principal: None,
    };
    assert_eq!(
        cause("lifecycle_changed", Some(&a(0.9))),
        "bucket:b scored 0.90 against a threshold of 0.80"
    );
    assert_eq!(
        cause("lifecycle_changed", Some(&a(0.65))),
        "its condition `lifecycle_changed` holds (bucket:b's strongest recent score, 0.65, is under its threshold of 0.80)"
    );
    assert_eq!(
        cause("lifecycle_changed", None),
        "its condition `lifecycle_changed` holds"
    );
}

#[test]
fn the_same_inputs_give_the_same_decisions() {
    let run = || {
        let mut p = planner(COLD);
        for i in 0..50 {
            p.objects.observe(
                &ev(
                    T0 + i,
                    OpClass::Put,
                    &format!("k{}", i % 17),
                    1000 + i as u64,
                ),
                0,
            );
        }
        let plan = p.plan(T0 + 30 * DAY);
        serde_json::to_string(&plan.decisions).unwrap()
    };
    assert_eq!(run(), run());
}

#[test]
fn a_lifecycle_change_alerts_without_any_model_score_and_a_denied_one_does_not() {
    let policy = r#"
[[rule]]
id = "protection"
scope = { bucket = "*" }
when = "lifecycle_changed"
action = { kind = "alert", severity = "critical", message = "lifecycle changed" }
"#;
    let mut p = planner(policy);
    p.objects.observe(&ev(T0, OpClass::Put, "k", 100), 0);
    let change = |t: i64, status: u16| AccessEvent {
        time_us: t * 1_000_000,
        op: OpClass::ConfigChange,
        operation: "REST.PUT.LIFECYCLE".into(),
        bucket: "b".into(),
        status: Some(status),
        config: Some(models::ConfigKind::Lifecycle),
        ..AccessEvent::default()
    };
    // Refused by the store: nothing changed, no alert.
    assert_eq!(p.behaviour.config_changes(&[change(T0 + 10, 403)]), 0);
    assert!(p.plan(T0 + 20).decisions.is_empty());
    // The model is still learning (no score at all): the change is a fact and alerts.
    assert_eq!(p.behaviour.config_changes(&[change(T0 + 30, 200)]), 1);
    let plan = p.plan(T0 + 40);
    assert_eq!(plan.decisions.len(), 1, "{:?}", plan.decisions);
    assert_eq!(plan.decisions[0].rule.as_deref(), Some("protection"));
}

/// The actions of a plan's decisions, with their rules.
fn actions(plan: &Plan) -> Vec<(Action, &str)> {
    plan.decisions
        .iter()
        .map(|d| (d.action, d.rule.as_deref().unwrap_or_default()))
        .collect()
}

#[test]
fn the_bundled_policy_snapshots_an_incident_in_the_pass_that_alerts_on_its_protection_change() {
    let mut p = planner(crate::config::BUILTIN_POLICY_TEXT);
    p.objects.observe(&ev(T0, OpClass::Put, "k", 1000), 0);
    let t = T0 + 2 * DAY;
    p.behaviour.observe(&anomalous_window(t), 300);
    let versioning = AccessEvent {
        time_us: (t - 60) * 1_000_000,
        op: OpClass::ConfigChange,
        operation: "REST.PUT.VERSIONING".into(),
        bucket: "b".into(),
        status: Some(200),
        config: Some(models::ConfigKind::Versioning),
        ..AccessEvent::default()
    };
    assert_eq!(p.behaviour.config_changes(&[versioning]), 1);
    let plan = p.plan(t);
    // The alerts (priority 980 and 970) no longer outrank the snapshot (950): all at once.
    assert_eq!(
        actions(&plan),
        vec![
            (Action::Freeze, "freeze-on-incident"),
            (Action::Snapshot, "snapshot-on-incident"),
            (Action::Alert, "alert-on-incident"),
            (Action::Alert, "alert-protection-change"),
        ]
    );
    assert_eq!(plan.snapshots.len(), 1);
    let alternatives = |i: usize| {
        plan.decisions[i]
            .explanation
            .as_ref()
            .map(|e| e.alternatives.clone())
            .unwrap_or_default()
    };
    // Each explanation tells the truth about the others: none of them made another lose.
    let snapshot = alternatives(1);
    assert!(
        snapshot.contains(&"rule \"alert-protection-change\" fires beside any decision: alert (alerts never compete); lifecycle_changed (false: no), bucket_policy_changed (false: no), versioning_changed (true: yes), object_lock_changed (false: no)".to_string())
            && snapshot.contains(&"rule \"freeze-on-incident\" applies: freeze, opened on its scope beside the winner; incident_open (true: yes)".to_string()),
        "{snapshot:?}"
    );
    for i in 0..4 {
        let lines = alternatives(i);
        assert!(!lines.iter().any(|l| l.contains("loses")), "{lines:?}");
    }
    // The freeze's and the alerts' explanations name the object's decision, the snapshot.
    for i in [0, 2, 3] {
        let lines = alternatives(i);
        assert!(
            lines[0].starts_with("rule \"snapshot-on-incident\" wins: snapshot to \"vault\""),
            "{lines:?}"
        );
    }
}

#[test]
fn a_pinned_bucket_is_snapshotted_during_an_incident_and_its_freeze_is_lifted_after() {
    let policy = format!(
        "{}\n[[rule]]\nid = \"keep-b\"\nscope = {{ bucket = \"b\" }}\naction = \"pin\"\npriority = 1000\n",
        crate::config::BUILTIN_POLICY_TEXT
    );
    let mut p = planner(&policy);
    // An object that the bundled cold-to-cloud rule would move, were it not pinned.
    p.objects
        .observe(&ev(T0, OpClass::Put, "k", 100_000_000), 0);
    assert!(p.plan(T0 + 60 * DAY).decisions.is_empty());
    let t = T0 + 61 * DAY;
    p.behaviour.observe(&anomalous_window(t), 300);
    let plan = p.plan(t);
    assert_eq!(
        actions(&plan),
        vec![
            (Action::Freeze, "freeze-on-incident"),
            (Action::Snapshot, "snapshot-on-incident"),
            (Action::Alert, "alert-on-incident"),
        ]
    );
    let freeze = &plan.decisions[0];
    assert!(
        freeze
            .reason
            .contains("until rule \"unfreeze-after-incident\" lifts it"),
        "{}",
        freeze.reason
    );
    let shown = &freeze.explanation.as_ref().unwrap().alternatives;
    assert!(
        shown.contains(
            &"rule \"keep-b\" applies: pin, so no move is decided for the object".to_string()
        ),
        "{shown:?}"
    );
    assert!(p.frozen("b", "k").is_some());
    // The incident quiet for a day: the unfreeze rule lifts the freeze, pin or not; the pin
    // still holds the object in place.
    let later = t + p.settings().incident_quiet_secs as i64 + 60;
    let plan = p.plan(later);
    assert_eq!(
        actions(&plan),
        vec![(Action::Unfreeze, "unfreeze-after-incident")]
    );
    assert_eq!(
        plan.decisions[0].undo.as_deref(),
        Some("tierd freeze b"),
        "an unfreeze is undone by freezing again"
    );
    assert!(p.frozen("b", "k").is_none());
    assert!(p.plan(later + DAY).moves.is_empty());
    // An operator's freeze (no rule) is not a rule's to lift, whatever its unfreeze rules say.
    p.open_freeze(Freeze {
        bucket: "b".into(),
        prefix: String::new(),
        since: later + DAY,
        decision_id: "freeze-op".into(),
        rule: None,
    });
    assert!(p.plan(later + 2 * DAY).decisions.is_empty());
    assert!(p.frozen("b", "k").is_some());
}

#[test]
fn a_daily_baseline_snapshot_does_not_keep_an_incidents_freeze_open_for_ever() {
    // The baseline rule (priority 10) wins every object of the bucket over the bundled
    // unfreeze (priority 1); the unfreeze applies beside it (review 21, finding 3).
    let policy = format!(
        "{}\n[[rule]]\nid = \"daily-baseline\"\nscope = {{ bucket = \"b\" }}\nwhen = \"tier != 'vault'\"\naction = {{ kind = \"snapshot\", to = \"vault\" }}\ncooldown = \"1d\"\npriority = 10\n",
        crate::config::BUILTIN_POLICY_TEXT
    );
    let mut p = planner(&policy);
    p.objects.observe(&ev(T0, OpClass::Put, "k", 1000), 0);
    let t = T0 + 3 * DAY;
    p.behaviour.observe(&anomalous_window(t), 300);
    let plan = p.plan(t);
    assert!(
        actions(&plan).contains(&(Action::Freeze, "freeze-on-incident")),
        "{:?}",
        actions(&plan)
    );
    assert!(p.frozen("b", "k").is_some());
    let later = t + p.settings().incident_quiet_secs as i64 + 60;
    let plan = p.plan(later);
    assert!(
        actions(&plan).contains(&(Action::Unfreeze, "unfreeze-after-incident")),
        "{:?}",
        actions(&plan)
    );
    assert!(p.frozen("b", "k").is_none());
}

#[test]
fn an_unfreeze_matching_some_objects_does_not_lift_a_freeze_that_still_matches_others() {
    // The freeze holds for big objects, the unfreeze matches small ones: while the freeze
    // still matches an object of the bucket, nothing lifts it (review 22).
    let policy = "[[rule]]\nid = \"freeze-big\"\nscope = { bucket = \"*\" }\nwhen = \"incident_open and size >= 1MiB\"\naction = \"freeze\"\n\
        [[rule]]\nid = \"thaw-small\"\nscope = { bucket = \"*\" }\nwhen = \"size < 1MiB\"\naction = \"unfreeze\"\n";
    let mut p = planner(policy);
    p.objects
        .observe(&ev(T0, OpClass::Put, "big", 10_000_000), 0);
    p.objects.observe(&ev(T0, OpClass::Put, "small", 1000), 0);
    let t = T0 + 3 * DAY;
    p.behaviour.observe(&anomalous_window(t), 300);
    assert_eq!(actions(&p.plan(t)), vec![(Action::Freeze, "freeze-big")]);
    let plan = p.plan(t + 3600);
    assert!(
        !actions(&plan).contains(&(Action::Unfreeze, "thaw-small")),
        "{:?}",
        actions(&plan)
    );
    assert!(p.frozen("b", "small").is_some());
}

#[test]
fn an_info_alert_reads_an_info_alert_and_a_tiny_negative_amount_is_no_negative_zero() {
    let policy = "[[rule]]\nid = \"note\"\nscope = { bucket = \"*\" }\naction = { kind = \"alert\", severity = \"info\" }\n";
    let mut p = planner(policy);
    p.objects.observe(&ev(T0, OpClass::Put, "k", 100), 0);
    let plan = p.plan(T0 + 60);
    assert_eq!(plan.decisions.len(), 1, "{:?}", plan.decisions);
    assert!(
        plan.decisions[0]
            .reason
            .starts_with("Rule \"note\" raised an info alert on bucket \"b\""),
        "{}",
        plan.decisions[0].reason
    );
    assert_eq!(amount(-0.000_01), "0.0000");
    assert_eq!(amount(-0.5), "-0.5000");
    assert_eq!(amount(0.000_06), "0.0001");
    // A record's amounts: a negative one that rounds to nothing is 0, never -0.
    assert_eq!(serde_json::to_string(&money(-0.000_000_4)).unwrap(), "0.0");
    assert_eq!(money(-0.000_002), -0.000_002);
}

#[test]
fn the_bundled_policy_moves_what_stays_cold_and_keeps_what_its_bucket_reads_back() {
    let mut p = planner(crate::config::BUILTIN_POLICY_TEXT);
    let in_bucket = |mut e: AccessEvent, bucket: &str| {
        e.bucket = bucket.into();
        e
    };
    // Bucket "regular": 400 objects of 100 MB, each read every 50 days (staggered). Bucket
    // "archive": 400 objects of 100 MB written once and never read.
    let mut events = Vec::new();
    for i in 0..400i64 {
        for bucket in ["regular", "archive"] {
            let put = ev(T0, OpClass::Put, &format!("k{i}"), 100_000_000);
            events.push(in_bucket(put, bucket));
        }
        for d in (1..60).filter(|d| (i + d) % 50 == 0) {
            let get = ev(
                T0 + d * DAY + 3600,
                OpClass::Get,
                &format!("k{i}"),
                100_000_000,
            );
            events.push(in_bucket(get, "regular"));
        }
    }
    events.sort_by_key(|e| e.time_us);
    for e in &events {
        p.objects.observe(e, 0);
    }
    let plan = p.plan(T0 + 60 * DAY);
    let moved: Vec<&str> = plan
        .moves
        .iter()
        .map(|m| p.objects.bucket_of(m.row))
        .collect();
    assert_eq!(moved.len(), 400, "{:?}", &plan.decisions.first());
    assert!(moved.iter().all(|&b| b == "archive"), "{moved:?}");
    // The explanation shows the break-even test with the signals it used.
    let d = &plan.decisions[plan.moves[0].decision];
    assert_eq!(d.rule.as_deref(), Some("cold-to-cloud"));
    let test = d
        .explanation
        .as_ref()
        .and_then(|e| {
            e.conditions
                .iter()
                .find(|c| c.test == "savings_per_month > read_back_cost_per_month")
        })
        .expect("the break-even condition is explained");
    assert!(test.holds);
    assert!(
        d.reason.contains(
            "read-back probability 0.00% on the day ahead, 0% in 30 days and 0% in 90 days"
        ) && d
            .reason
            .contains("USD 0.0016/month after the move's one-off charges"),
        "{}",
        d.reason
    );
    // An object of the regular bucket idle for 20 days is due for a read within the 90-day
    // horizon: its expected read-back costs more than a month of what moving it saves.
    let r = p.objects.row("regular", "k10").expect("known");
    assert_eq!(p.objects.cat.last_access[r], T0 + 40 * DAY + 3600);
    assert!(
        p.objects.cat.read_back_cost_per_month[r] > p.objects.cat.savings_per_month[r],
        "read back {} vs saved {}",
        p.objects.cat.read_back_cost_per_month[r],
        p.objects.cat.savings_per_month[r]
    );
}

#[test]
fn the_bundled_policy_recalls_a_reread_cloud_object_only_where_reads_come_in_bursts() {
    let mut p = planner(crate::config::BUILTIN_POLICY_TEXT);
    let cloud = p.cost.tier_index("cloud").expect("embedded tiers") as u8;
    let at = |t: i64, op: OpClass, bucket: &str, key: &str| AccessEvent {
        bucket: bucket.into(),
        ..ev(t, op, key, 1_000_000_000)
    };
    // In "bursty", a read is followed by three more within the day, and again ten days later;
    // in "once", every object is read once and never again.
    let mut events = Vec::new();
    for i in 0..300i64 {
        let key = format!("k{i}");
        for bucket in ["bursty", "once"] {
            events.push(at(T0, OpClass::Put, bucket, &key));
        }
        let first = T0 + (i % 20 + 1) * DAY;
        events.push(at(first, OpClass::Get, "once", &key));
        for burst in [first, first + 10 * DAY] {
            for h in [0, 2, 5, 9] {
                events.push(at(burst + h * 3600, OpClass::Get, "bursty", &key));
            }
        }
    }
    events.sort_by_key(|e| e.time_us);
    for e in &events {
        p.objects.observe(e, 0);
    }
    // k0 of each bucket has been on the cloud tier for 100 days; it is read now.
    let now = T0 + 40 * DAY;
    for bucket in ["bursty", "once"] {
        let r = p.objects.row(bucket, "k0").expect("known");
        p.moved(r, cloud, now - 100 * DAY);
        p.objects.observe(&at(now, OpClass::Get, bucket, "k0"), 0);
    }
    let plan = p.plan(now + 3600);
    let recalled: Vec<&str> = plan
        .moves
        .iter()
        .filter(|m| m.from == cloud)
        .map(|m| p.objects.bucket_of(m.row))
        .collect();
    assert_eq!(recalled, ["bursty"], "{:?}", plan.decisions.first());
    let d = plan
        .decisions
        .iter()
        .find(|d| d.from.as_deref() == Some("cloud"))
        .expect("the recall's decision");
    assert_eq!(d.rule.as_deref(), Some("recall-reheated"));
    // A recall to the dearer tier adds to the storage bill, said as such.
    assert!(
        d.reason.contains("the recall it avoids included")
            && d.reason.contains("; it adds USD ")
            && !d.reason.contains("saves USD -"),
        "{}",
        d.reason
    );
}

#[test]
fn a_thirty_day_horizon_states_the_read_back_odds_once() {
    let mut config = Config::embedded();
    for t in &mut config.tiers {
        t.min_storage_days = 0;
    }
    let loaded = policies::load_from_strs(&[("p.toml", COLD)], &config.tier_specs())
        .unwrap_or_else(|d| panic!("{}", d[0]));
    let cost = CostModel::from_config(&config);
    assert_eq!(cost.horizon_secs(), 30 * DAY, "no minimum storage: a month");
    let mut p = Planner::new(
        Arc::new(loaded.policy),
        cost,
        config.planner.clone(),
        "test",
        1,
    );
    p.objects.observe(&ev(T0, OpClass::Put, "old", 1 << 30), 0);
    let plan = p.plan(T0 + 8 * DAY);
    let d = &plan.decisions[plan.moves[0].decision];
    assert!(
        d.reason
            .contains("on the day ahead, 70% in 30 days (USD 0.3052/month expected)"),
        "{}",
        d.reason
    );
}

#[test]
fn a_failed_move_waits_longer_after_each_failure_and_a_rewrite_ends_the_wait() {
    let mut p = planner(COLD);
    p.objects.observe(&ev(T0, OpClass::Put, "k", 1000), 0);
    let t = T0 + 8 * DAY;
    let plan = p.plan(t);
    assert_eq!(plan.moves.len(), 1);
    let f = p.move_failed(plan.moves[0].row, t);
    assert_eq!((f.count, f.until), (1, t + 3600));
    // Held for an hour, then tried again; the attempt says it is one.
    let plan = p.plan(t + 1800);
    assert!(plan.moves.is_empty());
    assert_eq!(plan.deferred.retry, 1);
    let plan = p.plan(t + 3600);
    assert_eq!(plan.moves.len(), 1, "{:?}", plan.deferred);
    let guardrails = &plan.decisions[0].explanation.as_ref().unwrap().guardrails;
    let line = format!(
        "retry: attempt 2 after 1 failed, the last at {} and followed by a wait of 1h",
        rfc3339(t)
    );
    assert!(guardrails.contains(&line), "{guardrails:?}");
    // A second failure: two hours.
    let f = p.move_failed(plan.moves[0].row, t + 3600);
    assert_eq!((f.count, f.until), (2, t + 3 * 3600));
    assert_eq!(p.plan(t + 3 * 3600 - 1).deferred.retry, 1);
    // The owner writes the object again: it is a new object on the hot tier, and the failures
    // of the old one no longer hold it (the rule's idle time still does, until it is 7 days).
    p.objects
        .observe(&ev(t + 3 * 3600 - 1, OpClass::Put, "k", 1000), 0);
    let plan = p.plan(t + 3 * 3600 - 1 + 8 * DAY);
    assert_eq!(plan.deferred.retry, 0);
    assert_eq!(plan.moves.len(), 1);
    // A move that succeeds after failures leaves nothing behind.
    let m = plan.moves[0].clone();
    p.move_failed(m.row, t + 9 * DAY);
    p.moved(m.row, m.to, t + 10 * DAY);
    assert_eq!(p.retries.of(m.row, t + 10 * DAY), None);
}

#[test]
fn failed_moves_recorded_before_a_restart_still_wait() {
    let mut p = planner(COLD);
    p.objects.observe(&ev(T0, OpClass::Put, "k", 1000), 0);
    let t = T0 + 8 * DAY;
    let mut d = p.plan(t).decisions.remove(0);
    d.state = State::Failed;
    // The restarted service's planner: the same object, the journal's decisions.
    let mut q = planner(COLD);
    q.objects.observe(&ev(T0, OpClass::Put, "k", 1000), 0);
    for _ in 0..3 {
        q.remember(&d, t + 60);
    }
    // Three failures: four hours.
    assert_eq!(q.plan(t + 4 * 3600 - 1).deferred.retry, 1);
    assert_eq!(q.plan(t + 4 * 3600).moves.len(), 1);
    // A later success recorded after them ends the wait.
    let mut r = planner(COLD);
    r.objects.observe(&ev(T0, OpClass::Put, "k", 1000), 0);
    r.remember(&d, t + 60);
    d.state = State::Done;
    r.remember(&d, t + 60);
    assert_eq!(r.plan(t + 60).deferred.retry, 0);
}

#[test]
fn a_move_a_stop_cut_short_is_not_a_failure_to_wait_for() {
    let mut p = planner(COLD);
    p.objects.observe(&ev(T0, OpClass::Put, "k", 1000), 0);
    let t = T0 + 8 * DAY;
    let mut d = p.plan(t).decisions.remove(0);
    let mut q = planner(COLD);
    q.objects.observe(&ev(T0, OpClass::Put, "k", 1000), 0);
    d.state = State::Failed;
    for why in [
        "interrupted before the move started (nothing was copied or deleted); the next pass decides again",
        "undone by recovery after an interruption: the copy was removed; the object stays on onprem",
    ] {
        d.why = Some(why.into());
        q.remember(&d, t + 60);
    }
    let plan = q.plan(t + 60);
    assert_eq!((plan.deferred.retry, plan.moves.len()), (0, 1));
}

#[test]
fn a_move_an_interruption_cut_short_is_not_held_by_its_rules_cooldown_or_counted_in_budgets() {
    let policy = format!("{COLD}cooldown = \"1d\"\n[guardrails]\nmax_objects_per_day = 1\n");
    let mut p = planner(&policy);
    p.objects.observe(&ev(T0, OpClass::Put, "k", 1000), 0);
    let t = T0 + 8 * DAY;
    let mut d = p.plan(t).decisions.remove(0);
    d.state = State::Failed;
    for why in [
        crate::decision::never_started_why(),
        "undone by recovery after an interruption: the copy was removed; the object stays on onprem"
            .to_string(),
    ] {
        let mut q = planner(&policy);
        q.objects.observe(&ev(T0, OpClass::Put, "k", 1000), 0);
        d.why = Some(why.clone());
        q.remember(&d, t + 60);
        let plan = q.plan(t + 60);
        assert_eq!(plan.deferred.cooldown, 0, "{why}: {:?}", plan.deferred);
        if why.starts_with(crate::decision::NEVER_STARTED) {
            assert_eq!(plan.moves.len(), 1, "{why}: {:?}", plan.deferred);
        }
    }
    // A move that did happen still holds the object for the rule's day.
    let mut q = planner(&policy);
    q.objects.observe(&ev(T0, OpClass::Put, "k", 1000), 0);
    d.state = State::Done;
    d.why = None;
    q.remember(&d, t + 60);
    assert_eq!(q.plan(t + 60).deferred.cooldown, 1);
}

#[test]
fn a_rules_freeze_lifted_while_its_condition_holds_opens_again_at_the_next_pass() {
    // What `tierd explain` says of the undo of a rule's freeze on a prefix.
    let policy = format!(
        "{COLD}\n[[rule]]\nid = \"stop\"\nscope = {{ bucket = \"b\", prefix = \"x/\" }}\nwhen = \"true\"\naction = \"freeze\"\npriority = 10\n"
    );
    let mut p = planner(&policy);
    p.objects.observe(&ev(T0, OpClass::Put, "x/1", 1000), 0);
    let first = p.plan(T0 + 8 * DAY);
    assert_eq!(first.decisions[0].action, Action::Freeze);
    assert!(p.lift_freeze("b", "x/").is_some());
    let again = p.plan(T0 + 9 * DAY);
    let freezes: Vec<_> = again
        .decisions
        .iter()
        .filter(|d| d.action == Action::Freeze)
        .map(|d| (d.rule.as_deref(), d.prefix.as_deref()))
        .collect();
    assert_eq!(freezes, vec![(Some("stop"), Some("x/"))]);
    assert!(p.frozen("b", "x/1").is_some());
}

#[test]
fn a_rows_verdict_tells_each_test_the_held_move_and_its_cost_and_changes_no_decision() {
    let policy = format!("{COLD}\n[guardrails]\nmin_residency = {{ onprem = \"10d\" }}\n");
    let (mut p, mut q) = (planner(&policy), planner(&policy));
    for t in [&mut p, &mut q] {
        t.objects.observe(&ev(T0, OpClass::Put, "old", 1 << 30), 0);
        t.objects
            .observe(&ev(T0 + 6 * DAY, OpClass::Put, "new", 1 << 20), 0);
    }
    let (old, new) = (
        p.objects.row("b", "old").unwrap(),
        p.objects.row("b", "new").unwrap(),
    );
    let now = T0 + 8 * DAY;
    let plan = p.plan(now);
    assert!(plan.moves.is_empty());
    // Idle over a week but on onprem for 8 days of the 10 required: held.
    let held = p.held_at(old, now).unwrap();
    assert_eq!(
        (held.rule.as_str(), held.since, held.passes),
        ("cold", now, vec![("the minimum residency", 1)])
    );
    let v = p.evaluate_row(old, now);
    assert_eq!(
        (v.winner.as_deref(), v.action.as_str(), v.moves),
        (Some("cold"), "move to \"cloud\"", true)
    );
    assert_eq!(v.when, "tier == 'onprem' and days_since_last_access > 7d");
    assert!(v.conditions.iter().all(|c| c.holds), "{:?}", v.conditions);
    let cost = v.cost.unwrap();
    assert_eq!((cost.rule.as_str(), cost.to.as_str()), ("cold", "cloud"));
    assert!(cost.storage_saved_per_month > 0.0, "{cost:?}");
    // Written two days ago: no rule wins, and the test that fails says its value.
    assert_eq!(p.held_at(new, now), None);
    let v = p.evaluate_row(new, now);
    assert_eq!((v.winner, v.moves), (None, false));
    assert_eq!(
        v.rules,
        vec![
            "no rule wins".to_string(),
            "rule \"cold\" does not match: tier == 'onprem' ('onprem': yes), days_since_last_access > 7d (2d: no)".to_string()
        ]
    );
    assert_eq!(v.cost.map(|c| c.rule), Some("cold".to_string()));
    // The planner asked (p) decides as the one not asked (q).
    q.plan(now);
    let later = T0 + 11 * DAY;
    let (a, b) = (p.plan(later), q.plan(later));
    assert_eq!(a.decisions.len(), 1);
    assert_eq!(a.decisions, b.decisions);
    assert_eq!(p.held_at(old, later), None, "decided: no longer held");
}
