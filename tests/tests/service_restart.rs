//! `tierd run` across restarts: what the last run learnt (which objects are busy, what the
//! guardrails have spent today) is still known after a restart, so the service neither takes a
//! busy object for an idle one nor spends a day's budget twice.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics reports its failure

use std::path::Path;
use std::time::{Duration, SystemTime};

use harness::s3log::Record;
use harness::tierd;

const DAY_US: i64 = 86_400_000_000;

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

fn line(time_us: i64, method: &str, key: &str, size: u64) -> String {
    let app = "arn:aws:iam::123456789012:user/app";
    Record::object(time_us, "photos", app, method, key, size).line() + "\n"
}

fn once(d: &Path) -> serde_json::Value {
    let r = tierd(d, &["run", "--config", "tierd.toml", "--once"]);
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    serde_json::from_str(r.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", r.stdout))
}

fn utc_day() -> i64 {
    now_us().div_euclid(DAY_US)
}

/// A service on two `file://` tiers reading `logs/`, with `policy` in `policy.toml`.
fn config(d: &Path, policy: &str) {
    std::fs::write(
        d.join("tierd.toml"),
        "[journal]\npath = \"tierd.db\"\n\
         [tiers.onprem]\nurl = \"file://onprem\"\n\
         [tiers.cloud]\nurl = \"file://cloud\"\n\
         [ingest]\nsources = [\"logs/\"]\nformat = \"s3\"\n\
         [policies]\nfiles = [\"policy.toml\"]\n\
         [model]\nlearning_days = 365\n\
         [service]\nlisten = \"off\"\ndecision_log = \"decisions.jsonl\"\n",
    )
    .unwrap();
    std::fs::write(d.join("policy.toml"), policy).unwrap();
}

#[test]
fn a_restart_keeps_the_access_history_and_the_days_budget() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    config(
        d,
        r#"[[rule]]
id = "idle"
scope = { bucket = "*" }
when = "tier == 'onprem' and days_since_last_access > 7d"
action = { kind = "move", to = "cloud" }

[guardrails]
max_objects_per_day = 1
"#,
    );
    // Three objects written 60 days ago (their files say so too); `a` was read yesterday.
    let t = now_us();
    let old = t - 60 * DAY_US;
    let sizes = [("a.jpg", 10_000u64), ("b.jpg", 90_000), ("c.jpg", 50_000)];
    std::fs::create_dir_all(d.join("logs")).unwrap();
    std::fs::create_dir_all(d.join("onprem/photos")).unwrap();
    let mut log = String::new();
    for (i, (k, size)) in sizes.iter().enumerate() {
        log += &line(old + i as i64 * 1_000_000, "PUT", k, *size);
        let p = d.join("onprem/photos").join(k);
        std::fs::write(&p, vec![b'x'; *size as usize]).unwrap();
        let f = std::fs::File::options().write(true).open(&p).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(60 * 86_400))
            .unwrap();
    }
    log += &line(t - DAY_US, "GET", "a.jpg", 10_000);
    std::fs::write(d.join("logs/1.log"), log).unwrap();

    let day = utc_day();
    // First run: one move today (the budget), the biggest idle object first; `a` is busy.
    let first = once(d);
    assert_eq!(first["moves_done"], 1, "{first}");
    assert!(d.join("cloud/photos/b.jpg").exists());

    // A restart with nothing new in the logs.
    let second = once(d);
    assert_eq!(second["events"], 0, "the logs were read once: {second}");
    assert!(
        d.join("onprem/photos/a.jpg").exists(),
        "a.jpg was read yesterday: the restarted service must still know it"
    );
    if utc_day() == day {
        assert_eq!(
            second["moves_done"], 0,
            "today's budget of one move was spent before the restart: {second}"
        );
        assert!(d.join("onprem/photos/c.jpg").exists());
    } else {
        eprintln!("the UTC day changed between the runs: the budget check does not apply");
    }
}

#[test]
fn a_restart_keeps_what_the_read_back_estimator_learnt() {
    // 200 documents of 20 MB, each read every nine days for three months, the last time eight
    // and a half days ago: idle longer than the policy's 7 days, but a read is due. The
    // cost-aware default policy leaves them; a restart must too (forgetting the reads that
    // ended the earlier gaps, it would see 200 objects idle for days and never read, and move
    // them all).
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("tierd.toml"),
        "[journal]\npath = \"tierd.db\"\n\
         [tiers.onprem]\nurl = \"file://onprem\"\nprice = { storage_gb_month = 0.02 }\n\
         [tiers.cloud]\nurl = \"file://cloud\"\nmin_storage_days = 90\n\
         price = { storage_gb_month = 0.004, retrieval_gb = 0.03, egress_gb = 0.09, requests_per_1000 = 0.02 }\n\
         [tiers.vault]\nurl = \"file://vault\"\nrole = \"vault\"\n\
         [ingest]\nsources = [\"logs/\"]\nformat = \"s3\"\n\
         [policies]\nfiles = [\"builtin:default\"]\n\
         [model]\nlearning_days = 365\n\
         [service]\nlisten = \"off\"\ndecision_log = \"decisions.jsonl\"\n",
    )
    .unwrap();
    let t = now_us();
    let size = 20_000_000u64;
    std::fs::create_dir_all(d.join("logs")).unwrap();
    std::fs::create_dir_all(d.join("onprem/photos/docs")).unwrap();
    let mut events = Vec::new();
    for i in 0..200i64 {
        let key = format!("docs/{i:03}.pdf");
        let f = std::fs::File::create(d.join("onprem/photos").join(&key)).unwrap();
        f.set_len(size).unwrap();
        let last = t - 8 * DAY_US - DAY_US / 2 - i * 1_000_000;
        events.push((last - 90 * DAY_US, "PUT", key.clone()));
        for k in 0..10 {
            events.push((last - k * 9 * DAY_US, "GET", key.clone()));
        }
    }
    events.sort();
    let log: String = events
        .iter()
        .map(|(at, method, key)| line(*at, method, key, size))
        .collect();
    std::fs::write(d.join("logs/1.log"), log).unwrap();

    let first = once(d);
    assert_eq!(first["events"], 2_200, "{first}");
    assert_eq!(first["moves_done"], 0, "read every nine days: {first}");
    let second = once(d);
    assert_eq!(second["events"], 0, "{second}");
    assert_eq!(second["moves_done"], 0, "after a restart too: {second}");
    for i in 0..200 {
        assert!(d.join(format!("onprem/photos/docs/{i:03}.pdf")).exists());
    }
}

/// `logs/1.log`: an object written in bucket `photos`, then a change of the bucket's lifecycle
/// configuration ten minutes ago.
fn lifecycle_changed_ten_minutes_ago(d: &Path) {
    let t = now_us() - 600_000_000;
    let who = "arn:aws:iam::123456789012:user/x";
    let mut change = Record::object(t, "photos", who, "PUT", "k", 0);
    change.operation = "REST.PUT.LIFECYCLE".into();
    change.key = None;
    change.object_size = None;
    std::fs::create_dir_all(d.join("logs")).unwrap();
    // Bucket-level rules are evaluated over a bucket's objects: it has one.
    let log = line(t - 1_000_000, "PUT", "a.jpg", 10_000) + &change.line() + "\n";
    std::fs::write(d.join("logs/1.log"), log).unwrap();
}

#[test]
fn a_freeze_open_at_a_restart_holds_as_without_the_restart_and_opens_no_incident() {
    // A rule freezes a bucket whose lifecycle configuration changed; the bundled kind of rule
    // lifts a freeze once no incident is open. The service restarts while the freeze is open:
    // the change still holds (it was saved with the bucket's behaviour), so the freeze holds as
    // it would have without the restart, until an operator lifts it. No anomaly opened the
    // freeze, so the restart opens no incident (an incident would fire `incident_open` rules,
    // such as a snapshot, that never fired before it).
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    config(
        d,
        r#"[[rule]]
id = "freeze-on-lifecycle-change"
scope = { bucket = "*" }
when = "lifecycle_changed"
action = "freeze"
priority = 900

[[rule]]
id = "unfreeze-after-incident"
scope = { bucket = "*" }
when = "not incident_open"
action = "unfreeze"
priority = 1
"#,
    );
    lifecycle_changed_ten_minutes_ago(d);

    let first = once(d);
    assert_eq!(first["open_freezes"], 1, "{first}");
    let second = once(d);
    assert_eq!(second["events"], 0, "{second}");
    assert_eq!(second["open_freezes"], 1, "the freeze holds: {second}");
    assert_eq!(second["open_incidents"], 0, "{second}");
    let log = std::fs::read_to_string(d.join("decisions.jsonl")).unwrap();
    assert!(!log.contains("\"action\":\"unfreeze\""), "{log}");

    // An operator lifts it.
    let r = tierd(d, &["unfreeze", "photos", "--config", "tierd.toml"]);
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    let third = once(d);
    assert_eq!(third["open_freezes"], 0, "{third}");
}

#[test]
fn a_configuration_change_read_before_a_restart_is_still_acted_on_after_it() {
    // The first run reads a change of the bucket's lifecycle configuration; its policy has no
    // rule on it. The operator adds one and restarts within `planner.anomaly_hold` (1 h): the
    // change still holds, so the new rule acts on it. (The same keeps a change read just before
    // a crash, or an incident open at a stop, from being forgotten.)
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    config(
        d,
        "[[rule]]\nid = \"nothing-yet\"\nscope = { bucket = \"*\" }\nwhen = \"false\"\naction = \"freeze\"\n",
    );
    lifecycle_changed_ten_minutes_ago(d);
    let first = once(d);
    assert_eq!(
        (&first["events"], &first["open_freezes"]),
        (&2.into(), &0.into()),
        "{first}"
    );

    std::fs::write(
        d.join("policy.toml"),
        "[[rule]]\nid = \"freeze-on-lifecycle-change\"\nscope = { bucket = \"*\" }\nwhen = \"lifecycle_changed\"\naction = \"freeze\"\n",
    )
    .unwrap();
    let second = once(d);
    assert_eq!(second["events"], 0, "nothing new read: {second}");
    assert_eq!(
        second["open_freezes"], 1,
        "the change still holds: {second}"
    );
    let log = std::fs::read_to_string(d.join("decisions.jsonl")).unwrap();
    assert!(
        log.contains("\"rule\":\"freeze-on-lifecycle-change\""),
        "{log}"
    );
}

/// Objects idle a week move to the cloud tier.
const IDLE_TO_CLOUD: &str = r#"[[rule]]
id = "idle"
scope = { bucket = "*" }
when = "tier == 'onprem' and days_since_last_access > 7d"
action = { kind = "move", to = "cloud" }
"#;

#[test]
fn a_kill_after_a_cycle_read_the_logs_forgets_no_read_and_moves_no_busy_object() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    config(d, IDLE_TO_CLOUD);
    // Three objects written 60 days ago; `hot` was read an hour ago, the only line in the logs.
    let t = now_us();
    std::fs::create_dir_all(d.join("logs")).unwrap();
    std::fs::create_dir_all(d.join("onprem/photos")).unwrap();
    for k in ["hot.jpg", "cold1.jpg", "cold2.jpg"] {
        let p = d.join("onprem/photos").join(k);
        std::fs::write(&p, vec![b'x'; 4000]).unwrap();
        let f = std::fs::File::options().write(true).open(&p).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(60 * 86_400))
            .unwrap();
    }
    std::fs::write(
        d.join("logs/1.log"),
        line(t - 3_600_000_000, "GET", "hot.jpg", 4000),
    )
    .unwrap();

    // The service reads the line, moves the idle objects, and is killed (no saving at a stop).
    let mut svc = harness::daemon::Daemon::start(d, &d.join("tierd.toml"), &[]);
    let log = svc.stderr_path.clone();
    svc.until(Duration::from_secs(60), "the first cycle", || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        text.contains("\"cycle done\"").then_some(())
    });
    svc.signal("KILL");
    svc.wait_exit(Duration::from_secs(10));
    assert!(d.join("cloud/photos/cold1.jpg").exists());
    assert!(d.join("onprem/photos/hot.jpg").exists());

    // The restart reads nothing new (the line was read), and must still know the read.
    let config = d.join("tierd.toml").display().to_string();
    let r = tierd(d, &["run", "--config", &config, "--once"]);
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    let after: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(
        after["events"], 0,
        "the log line was read before the kill: {after}"
    );
    assert!(
        d.join("onprem/photos/hot.jpg").exists() && !d.join("cloud/photos/hot.jpg").exists(),
        "hot.jpg was read an hour ago; after the kill it was taken for idle: {after}"
    );
}

#[test]
fn a_log_source_that_is_missing_does_not_stop_the_others_from_being_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    config(d, IDLE_TO_CLOUD);
    let text = std::fs::read_to_string(d.join("tierd.toml")).unwrap();
    std::fs::write(
        d.join("tierd.toml"),
        text.replace(
            "sources = [\"logs/\"]",
            "sources = [\"not-yet/\", \"logs/\"]",
        ),
    )
    .unwrap();
    std::fs::create_dir_all(d.join("logs")).unwrap();
    std::fs::write(
        d.join("logs/1.log"),
        line(now_us() - 3_600_000_000, "PUT", "new.jpg", 100),
    )
    .unwrap();
    let r = tierd(d, &["run", "--config", "tierd.toml", "--once"]);
    assert_eq!(r.code, Some(1), "a source could not be read: {}", r.stderr);
    let report: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(report["events"], 1, "logs/ is read all the same: {report}");
    let unreadable = report["unreadable_logs"].to_string();
    assert!(unreadable.contains("not-yet/"), "{report}");
    assert!(
        r.stderr.contains("some logs could not be read"),
        "{}",
        r.stderr
    );
}
