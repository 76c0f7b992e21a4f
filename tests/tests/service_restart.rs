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
    // ([service] is the last table: a cycle a second.)
    let mut toml = std::fs::read_to_string(d.join("tierd.toml")).unwrap();
    toml.push_str("ingest_interval = \"1s\"\n");
    std::fs::write(d.join("tierd.toml"), toml).unwrap();
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
    // (The listing that finds the objects runs beside the first cycle; the cycle after it
    // ends moves them.)
    svc.until(Duration::from_secs(60), "the cycle that moves", || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        text.contains("\"moves_done\":2").then_some(())
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

/// Generous: a debug build on a shared 2-core machine.
const WAIT: Duration = Duration::from_secs(240);

/// `file://` tiers in `d` with `n` objects of the bucket `photos` on onprem (distinct contents,
/// written 60 days ago), a rule that moves idle objects to the cloud with a day's cooldown (as
/// the bundled `cold-to-cloud`), and `service` settings. Returns each key with its content.
fn idle_objects(d: &Path, n: usize, service: &str) -> Vec<(String, Vec<u8>)> {
    std::fs::write(
        d.join("tierd.toml"),
        format!(
            "[journal]\npath = \"tierd.db\"\n\
             [tiers.onprem]\nurl = \"file://onprem\"\n\
             [tiers.cloud]\nurl = \"file://cloud\"\n\
             [policies]\nfiles = [\"policy.toml\"]\n\
             [service]\nlisten = \"off\"\ndecision_log = \"decisions.jsonl\"\n{service}"
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("policy.toml"),
        "[[rule]]\nid = \"cold-to-cloud\"\nscope = { bucket = \"*\" }\n\
         when = \"tier == 'onprem' and days_since_last_access > 7d\"\n\
         action = { kind = \"move\", to = \"cloud\" }\ncooldown = \"1d\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(d.join("onprem/photos")).unwrap();
    (0..n)
        .map(|i| {
            let key = format!("f{i:03}.jpg");
            let body: Vec<u8> = (0..3000u32)
                .map(|j| (j * 7 + i as u32 * 13) as u8)
                .collect();
            let p = d.join("onprem/photos").join(&key);
            std::fs::write(&p, &body).unwrap();
            let f = std::fs::File::options().write(true).open(&p).unwrap();
            f.set_modified(SystemTime::now() - Duration::from_secs(60 * 86_400))
                .unwrap();
            (key, body)
        })
        .collect()
}

/// The log lines of `path` (the service's stderr) with their message.
fn messages(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["fields"]["message"].as_str().map(str::to_string))
        .collect()
}

/// Every object of `objects` is on exactly one tier, with its content; returns how many are on
/// the cloud.
fn each_on_one_tier_intact(d: &Path, objects: &[(String, Vec<u8>)]) -> usize {
    let mut on_cloud = 0;
    for (key, body) in objects {
        let on = |tier: &str| std::fs::read(d.join(tier).join("photos").join(key)).ok();
        match (on("onprem"), on("cloud")) {
            (Some(b), None) => assert!(b == *body, "{key} changed on onprem"),
            (None, Some(b)) => {
                assert!(b == *body, "{key} changed on the cloud");
                on_cloud += 1;
            }
            (a, b) => panic!(
                "{key} is on {} tiers",
                usize::from(a.is_some()) + usize::from(b.is_some())
            ),
        }
    }
    on_cloud
}

#[test]
fn on_sigterm_mid_cycle_no_new_move_starts_and_the_next_run_moves_the_rest_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Slow enough that the cycle is still moving when the signal comes, and a timeout long
    // enough that, should the executor go on starting moves, it would move them all.
    let objects = idle_objects(
        d,
        60,
        "max_objects_per_sec = 4\nexecutor_concurrency = 2\nshutdown_timeout = \"10m\"\n",
    );
    let mut svc = harness::daemon::Daemon::start(d, &d.join("tierd.toml"), &[]);
    let log = svc.stderr_path.clone();
    let moved = |m: &[String]| m.iter().filter(|m| *m == "Object moved.").count();
    svc.until(WAIT, "three moves done", || {
        (moved(&messages(&log)) >= 3).then_some(())
    });
    svc.signal("TERM");
    let status = svc.wait_exit(WAIT).expect("tierd did not stop");
    assert_eq!(status.code(), Some(0), "{}", svc.stderr_tail(20));
    let m = messages(&log);
    let asked = m
        .iter()
        .position(|m| m.starts_with("stop requested"))
        .unwrap_or_else(|| panic!("no stop request logged:\n{}", svc.stderr_tail(20)));
    let after = moved(&m[asked..]);
    assert!(
        after <= 2,
        "{after} moves ended after the stop was asked for; at most the 2 in flight may:\n{}",
        svc.stderr_tail(20)
    );
    let on_cloud = each_on_one_tier_intact(d, &objects);
    assert_eq!(on_cloud, moved(&m));
    assert!(on_cloud < objects.len(), "the stop stopped nothing");
    // The decisions that never started say so, and are not failures to wait for.
    let records = harness::daemon::json_lines(&d.join("decisions.jsonl"));
    let never = records
        .iter()
        .filter(|r| {
            r["state"] == "failed"
                && r["why"]
                    .as_str()
                    .is_some_and(|w| w.starts_with("interrupted before the move started"))
        })
        .count();
    assert_eq!(never, objects.len() - on_cloud);

    // The next run decides them again at once: they were not moved, so no cooldown holds them.
    let next = once(d);
    assert_eq!(
        next["moves_done"].as_u64(),
        Some((objects.len() - on_cloud) as u64),
        "{next}"
    );
    assert!(
        next["moves_held"]["cooldown"].as_u64().unwrap_or(0) == 0,
        "{next}"
    );
    assert_eq!(each_on_one_tier_intact(d, &objects), objects.len());
}

/// SIGTERM stops `svc` with success (`what` names the attempt in a failure).
fn stops_cleanly_on_sigterm(svc: &mut harness::daemon::Daemon, what: &str) {
    svc.signal("TERM");
    let status = svc.wait_exit(WAIT).expect("tierd did not stop");
    assert_eq!(status.code(), Some(0), "{what}: {}", svc.stderr_tail(20));
}

#[test]
fn a_sighup_as_the_service_starts_is_a_reload_once_it_runs_and_sigterm_then_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    idle_objects(d, 0, "");
    for round in 0..5 {
        let mut svc = harness::daemon::Daemon::start(d, &d.join("tierd.toml"), &[]);
        let log = svc.stderr_path.clone();
        // The first line is written once the handlers are in place; start-up goes on after it.
        let deadline = std::time::Instant::now() + WAIT;
        while !messages(&log).iter().any(|m| m == "tierd starting") {
            assert!(
                svc.exited().is_none(),
                "round {round}: {}",
                svc.stderr_tail(20)
            );
            assert!(
                std::time::Instant::now() < deadline,
                "round {round}: no start"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        svc.signal("HUP");
        svc.until(WAIT, "the reload the SIGHUP asked for", || {
            messages(&log)
                .iter()
                .any(|m| m == "policy reloaded")
                .then_some(())
        });
        stops_cleanly_on_sigterm(&mut svc, &format!("round {round}"));
    }
}

/// A bash script that reads a process id on its stdin, waits until that process catches SIGHUP
/// or runs a second thread, and sends it SIGHUP; it exits 2 if the process ends first. Only
/// builtins: no process start delays the signal.
const HUP_AT_ONCE: &str = r#"read -r pid
while :; do
  caught= threads=
  while read -r k v; do
    case $k in
      SigCgt:) caught=$v ;;
      Threads:) threads=$v ;;
      State:) [[ $v == Z* ]] && exit 2 ;;
    esac
  done < "/proc/$pid/status" || exit 2
  if (( 16#$caught & 1 || threads >= 2 )); then
    kill -HUP "$pid"
    exit
  fi
done"#;

#[test]
fn a_sighup_in_the_first_moments_of_the_process_does_not_end_it() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    idle_objects(d, 0, "");
    for round in 0..20 {
        // No program can catch a signal before its own code runs (the dynamic loader comes
        // first): the SIGHUP goes as soon as the process is seen at work, that is once it
        // catches SIGHUP or, should it not do so first thing, once its runtime has started a
        // thread (the service's own handler comes after that). The sender is ready before
        // tierd starts.
        let mut hup = std::process::Command::new("bash")
            .args(["-c", HUP_AT_ONCE])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut svc = harness::daemon::Daemon::start(d, &d.join("tierd.toml"), &[]);
        let log = svc.stderr_path.clone();
        let mut to_sender = hup.stdin.take().unwrap();
        writeln!(to_sender, "{}", svc.pid()).unwrap();
        drop(to_sender);
        let sent = hup.wait().unwrap();
        assert!(
            sent.success(),
            "round {round}: tierd ended before the SIGHUP was sent ({sent}): {}",
            svc.stderr_tail(20)
        );
        svc.until(WAIT, "the start after an early SIGHUP", || {
            messages(&log)
                .iter()
                .any(|m| m == "tierd started")
                .then_some(())
        });
        // Caught, not lost: said at once, or (once the service's handler was in place) a reload.
        svc.until(WAIT, "the early SIGHUP acted on", || {
            messages(&log)
                .iter()
                .any(|m| {
                    m.starts_with("SIGHUP received as tierd started") || m == "policy reloaded"
                })
                .then_some(())
        });
        stops_cleanly_on_sigterm(&mut svc, &format!("round {round}"));
    }
}

/// Journals a move of `photos/KEY` from onprem to cloud as a killed run leaves it: at its intent
/// (the 3,000-byte object of [`idle_objects`]). Returns the journal.
fn move_left_in_flight(d: &Path, key: &str) -> tierd::journal::Journal {
    let mut j = tierd::journal::Journal::open(&d.join("tierd.db")).unwrap();
    let version = tierd::executor::copy::Version {
        etag: None,
        size: 3000,
    };
    j.move_intent("move-1", ("photos", key), ("onprem", "cloud"), version)
        .unwrap();
    j
}

/// Starts the service in `d` on one idle object (`idle_objects`, `shutdown_timeout` 2 s, the
/// endpoint on `listen`), its cloud tier a store that takes connections and never answers, and a
/// move to the cloud that a crash left at its intent: recovery waits on the store. Returns once
/// recovery is under way, with the object and the configuration whose cloud is `file://` again.
fn stuck_in_recovery(
    d: &Path,
    listen: &str,
) -> (harness::daemon::Daemon, Vec<(String, Vec<u8>)>, String) {
    let port = harness::hung_store_port();
    let objects = idle_objects(d, 1, "shutdown_timeout = \"2s\"\n");
    let cfg = std::fs::read_to_string(d.join("tierd.toml"))
        .unwrap()
        .replace("listen = \"off\"", &format!("listen = \"{listen}\""));
    let s3 = format!(
        "[tiers.cloud]\nurl = \"s3://hole/tierd\"\noptions = {{ endpoint = \"http://127.0.0.1:{port}\", \
         allow_http = \"true\", region = \"us-east-1\", access_key_id = \"a\", secret_access_key = \"b\" }}\n"
    );
    std::fs::write(
        d.join("tierd.toml"),
        cfg.replace("[tiers.cloud]\nurl = \"file://cloud\"\n", &s3),
    )
    .unwrap();
    drop(move_left_in_flight(d, &objects[0].0));
    let mut svc = harness::daemon::Daemon::start(d, &d.join("tierd.toml"), &[]);
    let log = svc.stderr_path.clone();
    svc.until(WAIT, "recovery under way", || {
        messages(&log)
            .iter()
            .any(|m| m == "Recovering moves left in flight.")
            .then_some(())
    });
    (svc, objects, cfg)
}

#[test]
fn a_stop_during_a_slow_recovery_ends_the_service_cleanly_and_the_next_start_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut svc, objects, cfg) = stuck_in_recovery(d, "off");
    let log = svc.stderr_path.clone();
    // A reload asked for now must not end the service; a stop ends it, with success.
    svc.signal("HUP");
    svc.signal("TERM");
    let status = svc.wait_exit(WAIT).expect("tierd did not stop");
    assert_eq!(status.code(), Some(0), "{}", svc.stderr_tail(20));
    assert!(
        !messages(&log).iter().any(|m| m == "tierd started"),
        "the stop came during start-up"
    );

    // The move is still in flight; the next start, with the cloud reachable, recovers it.
    std::fs::write(d.join("tierd.toml"), cfg).unwrap();
    let r = tierd(d, &["run", "--config", "tierd.toml", "--once"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stderr.contains("Recovered moves left in flight."),
        "{}",
        r.stderr
    );
    let mut j = tierd::journal::Journal::open(&d.join("tierd.db")).unwrap();
    assert!(j.open_moves().unwrap().is_empty());
    each_on_one_tier_intact(d, &objects);
}

/// Runs the real `tierd` with `args` in `cwd` as a user other than the one who made the journal:
/// this user when it is not root; as root (who may write anything), `nobody` through `setpriv`.
/// `None` (said on stderr) when neither is possible.
fn as_service_user(cwd: &Path, args: &[&str]) -> Option<harness::Run> {
    use std::process::Command;
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let mut cmd = if root {
        let setpriv = Command::new("setpriv").arg("--version").output();
        if !setpriv.is_ok_and(|o| o.status.success()) {
            eprintln!("SKIPPED: running as root without setpriv: no user to be refused");
            return None;
        }
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(harness::tierd_bin());
        c
    } else {
        Command::new(harness::tierd_bin())
    };
    let out = cmd
        .args(args)
        .current_dir(cwd)
        .env("TIERD_LOG", "warn")
        .output()
        .unwrap();
    Some(harness::Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// Lets every user through `d` and read what is in it (a temporary folder is private).
fn open_to_all(d: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for entry in walk(d) {
        let mode = if entry.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

fn walk(d: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![d.to_path_buf()];
    if d.is_dir() {
        for e in std::fs::read_dir(d).unwrap() {
            out.extend(walk(&e.unwrap().path()));
        }
    }
    out
}

#[test]
fn a_journal_this_user_cannot_write_stops_start_up_naming_the_file_and_the_cause() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    idle_objects(d, 1, "");
    // The journal folder as the operator left it: made by another user, closed to this one.
    let cfg = std::fs::read_to_string(d.join("tierd.toml")).unwrap();
    std::fs::write(
        d.join("tierd.toml"),
        cfg.replace("path = \"tierd.db\"", "path = \"state/tierd.db\""),
    )
    .unwrap();
    std::fs::create_dir(d.join("state")).unwrap();
    open_to_all(d);
    let state = d.join("state");
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o555)).unwrap();
    let run = ["run", "--config", "tierd.toml", "--once"];
    let Some(r) = as_service_user(d, &run) else {
        return;
    };
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "error: state/tierd.db.lock: cannot open the journal's lock file: Permission denied (os error 13); the journal's folder must be writable by the user tierd runs as\n"
    );
    // `tierd check`, as the same user, says so before any start.
    let check = as_service_user(d, &["check", "--config", "tierd.toml"]).unwrap();
    assert_eq!(check.code, Some(1), "{}", check.stderr);
    assert!(
        check.stderr.contains(
            "tierd.toml:2:1: error: journal.path: this user cannot write the journal at state/tierd.db: state: cannot create a file in it: Permission denied (os error 13)"
        ),
        "{}",
        check.stderr
    );

    // A journal another user made (root ran a command once), in a folder open to all: SQLite
    // would open it read-only without a word.
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o777)).unwrap();
    let first = tierd(d, &run);
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    open_to_all(d);
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o777)).unwrap();
    let r = as_service_user(d, &run).unwrap();
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "error: opening the journal: state/tierd.db: this user cannot write the journal: Permission denied (os error 13); the journal, its folder and the files beside it (-wal, -shm) must be writable by the user tierd runs as (chown them to it)\n"
    );
    let check = as_service_user(d, &["check", "--config", "tierd.toml"]).unwrap();
    assert_eq!(check.code, Some(1), "{}", check.stderr);
    assert!(
        check.stderr.contains(
            "error: journal.path: this user cannot write the journal at state/tierd.db: state/tierd.db: Permission denied (os error 13)"
        ),
        "{}",
        check.stderr
    );
}

#[test]
fn tierd_recover_after_a_kill_settles_the_decisions_and_writes_them_to_the_decision_log() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let objects = idle_objects(d, 30, "max_objects_per_sec = 4\nexecutor_concurrency = 2\n");
    let mut svc = harness::daemon::Daemon::start(d, &d.join("tierd.toml"), &[]);
    let log = svc.stderr_path.clone();
    svc.until(WAIT, "two moves done", || {
        let m = messages(&log);
        (m.iter().filter(|m| *m == "Object moved.").count() >= 2).then_some(())
    });
    svc.signal("KILL");
    svc.wait_exit(WAIT).expect("tierd did not die");
    let planned = harness::daemon::json_lines(&d.join("decisions.jsonl")).len();
    assert!(
        planned >= objects.len(),
        "every move was planned first: {planned}"
    );

    let r = tierd(d, &["recover", "--config", "tierd.toml"]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.starts_with("recovered what an earlier run left: ")
            && r.stdout.contains(" decisions settled")
            && r.stdout.ends_with("no move is left in flight\n"),
        "{}",
        r.stdout
    );
    // Every decision ends in the decision log with its final state, as after the service's own
    // recovery: none is left `planned` there.
    let records = harness::daemon::json_lines(&d.join("decisions.jsonl"));
    let mut last = std::collections::BTreeMap::new();
    for rec in &records {
        last.insert(
            rec["id"].as_str().unwrap().to_string(),
            rec["state"].clone(),
        );
    }
    assert_eq!(last.len(), objects.len(), "one decision per object");
    let open: Vec<_> = last
        .iter()
        .filter(|(_, s)| *s == "planned" || *s == "running")
        .collect();
    assert!(open.is_empty(), "still open in the decision log: {open:?}");
    assert_eq!(
        each_on_one_tier_intact(d, &objects),
        last.values().filter(|s| *s == "done").count()
    );
}

/// A loopback port nothing listens on (for the service's endpoint).
fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// POSTs MinIO audit entries (JSON lines) to the service's webhook: the status code.
fn post_audit(port: u16, body: &str) -> u16 {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "POST /v1/audit HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    resp.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_read_the_webhook_accepted_just_before_a_stop_is_not_lost() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    // Two objects written 60 days ago; a blackout holds every move while the service runs.
    let blackout = format!("{IDLE_TO_CLOUD}\n[guardrails]\nblackout = [\"hour_of_day >= 0\"]\n");
    config(d, &blackout);
    let text = std::fs::read_to_string(d.join("tierd.toml")).unwrap();
    std::fs::write(
        d.join("tierd.toml"),
        text.replace(
            "listen = \"off\"",
            &format!("listen = \"127.0.0.1:{port}\"\ningest_interval = \"1h\""),
        ),
    )
    .unwrap();
    let old = now_us() - 60 * DAY_US;
    std::fs::create_dir_all(d.join("logs")).unwrap();
    std::fs::create_dir_all(d.join("onprem/photos")).unwrap();
    let mut log = String::new();
    for k in ["a.jpg", "b.jpg"] {
        log += &line(old, "PUT", k, 100);
        let p = d.join("onprem/photos").join(k);
        std::fs::write(&p, vec![b'x'; 100]).unwrap();
        let f = std::fs::File::options().write(true).open(&p).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(60 * 86_400))
            .unwrap();
    }
    std::fs::write(d.join("logs/1.log"), log).unwrap();

    let mut svc = harness::daemon::Daemon::start(d, &d.join("tierd.toml"), &[]);
    let log_path = svc.stderr_path.clone();
    svc.until(WAIT, "the first cycle", || {
        messages(&log_path)
            .iter()
            .any(|m| m == "cycle done")
            .then_some(())
    });
    // a.jpg is read now; the next cycle is an hour away, and the service is stopped first.
    let t = policies::facts::format_utc(now_us() / 1_000_000);
    let entry = format!(
        r#"{{"time":"{t}","api":{{"name":"GetObject","bucket":"photos","object":"a.jpg","statusCode":200,"tx":100}}}}"#
    );
    assert_eq!(post_audit(port, &entry), 200);
    svc.signal("TERM");
    let status = svc.wait_exit(WAIT).expect("tierd did not stop");
    assert_eq!(status.code(), Some(0), "{}", svc.stderr_tail(20));

    // Without the blackout: the idle b.jpg moves, the a.jpg read a moment ago stays.
    std::fs::write(d.join("policy.toml"), IDLE_TO_CLOUD).unwrap();
    let r = once(d);
    assert_eq!(r["moves_done"], 1, "{r}");
    assert!(d.join("cloud/photos/b.jpg").exists(), "{r}");
    assert!(
        d.join("onprem/photos/a.jpg").exists(),
        "the webhook's read of a.jpg was lost at the stop: {r}"
    );
}

#[test]
fn a_second_sigterm_mid_move_exits_at_once_and_the_next_start_leaves_the_object_on_one_tier() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // One big idle object copied at 8 MB/s (twelve seconds), and a shutdown timeout long enough
    // for the first SIGTERM alone to let the move finish.
    idle_objects(
        d,
        0,
        "max_bytes_per_sec = \"8MB\"\nshutdown_timeout = \"10m\"\n",
    );
    let big = harness::put_big_object(d);
    let f = std::fs::File::options()
        .write(true)
        .open(d.join("onprem/photos/big.bin"))
        .unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(60 * 86_400))
        .unwrap();
    std::fs::create_dir_all(d.join("cloud/photos")).unwrap();
    let mut svc = harness::daemon::Daemon::start(d, &d.join("tierd.toml"), &[]);
    let log = svc.stderr_path.clone();
    svc.until(WAIT, "the copy under way", || {
        let partial = harness::partial_uploads(&d.join("cloud/photos"), "big.bin");
        partial.iter().any(|(_, len)| *len > 0).then_some(())
    });
    svc.signal("TERM");
    svc.until(WAIT, "the stop request", || {
        messages(&log)
            .iter()
            .any(|m| m.starts_with("stop requested"))
            .then_some(())
    });
    svc.signal("TERM");
    let status = svc.wait_exit(WAIT).expect("tierd did not stop");
    assert_eq!(status.code(), Some(143), "{}", svc.stderr_tail(20));
    let m = messages(&log);
    assert!(
        m.iter().any(|m| m
            == "second stop signal: exiting at once; recovery finishes or undoes any move in flight at the next start"),
        "{}",
        svc.stderr_tail(20)
    );
    assert!(
        !m.iter().any(|m| m == "tierd stopped"),
        "it stopped gracefully"
    );
    {
        let mut j = tierd::journal::Journal::open(&d.join("tierd.db")).unwrap();
        let open = j.open_moves().unwrap();
        assert_eq!(open.len(), 1, "the move was cut short in flight: {open:?}");
    }

    // The next start recovers the move (and may move the object again): it is whole, on one tier.
    let r = tierd(d, &["run", "--config", "tierd.toml", "--once"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stderr.contains("Recovered moves left in flight."),
        "{}",
        r.stderr
    );
    let mut j = tierd::journal::Journal::open(&d.join("tierd.db")).unwrap();
    assert!(j.open_moves().unwrap().is_empty());
    each_on_one_tier_intact(d, &[("big.bin".to_string(), big)]);
    assert_eq!(
        harness::partial_uploads(&d.join("cloud/photos"), "big.bin"),
        []
    );
    // The decision log says how every decision ended, as the journal does: none is left
    // planned or running there.
    for state in ["planned", "running"] {
        let r = tierd(
            d,
            &[
                "decisions",
                "--log",
                "decisions.jsonl",
                "--state",
                state,
                "--json",
            ],
        );
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        assert_eq!(r.stdout, "", "{state} in the decision log after recovery");
    }
}

/// A GET (or a POST of `body`) to the service's endpoint: the status, the `Retry-After` header
/// (if any) and the body; `None` when nothing listens.
fn http(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, Option<String>, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let (head, body) = resp.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let retry = head
        .lines()
        .find_map(|l| l.strip_prefix("retry-after: "))
        .map(str::to_string);
    Some((status, retry, body.to_string()))
}

#[test]
fn during_a_slow_recovery_healthz_answers_readyz_says_starting_and_the_webhook_asks_to_retry() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let (mut svc, objects, cfg) = stuck_in_recovery(d, &format!("127.0.0.1:{port}"));
    let log = svc.stderr_path.clone();
    let (status, _, body) = http(port, "GET", "/healthz", "").expect("/healthz answers");
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    // (Said as the first move's recovery begins, a moment after the log line.)
    let starting =
        "not ready: starting: recovering the moves the last run left in flight: 0 of 1 done\n";
    let (status, _, body) = svc.until(WAIT, "/readyz saying what start-up does", || {
        http(port, "GET", "/readyz", "").filter(|(_, _, b)| b == starting)
    });
    assert_eq!(status, 503, "{body}");
    let (status, _, body) = http(port, "GET", "/metrics", "").unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("tierd_start_time_seconds"), "{body}");
    let entry = r#"{"time":"2026-11-02T08:00:00Z","api":{"name":"GetObject","bucket":"photos","object":"f000.jpg","statusCode":200,"tx":100}}"#;
    let (status, retry, body) = http(port, "POST", "/v1/audit", entry).unwrap();
    assert_eq!(status, 503, "{body}");
    assert_eq!(retry.as_deref(), Some("5"));
    assert_eq!(
        body,
        "tierd is starting (recovering the moves the last run left in flight: 0 of 1 done); it takes in audit entries once it runs; retry shortly\n"
    );
    assert!(
        !messages(&log).iter().any(|m| m == "tierd started"),
        "recovery is still under way"
    );
    svc.signal("TERM");
    let status = svc.wait_exit(WAIT).expect("tierd did not stop");
    assert_eq!(status.code(), Some(0), "{}", svc.stderr_tail(20));

    // With the cloud reachable the service starts, and is ready.
    std::fs::write(d.join("tierd.toml"), &cfg).unwrap();
    let mut svc = harness::daemon::Daemon::start(d, &d.join("tierd.toml"), &[]);
    let ready = svc.until(WAIT, "/readyz to answer 200", || {
        http(port, "GET", "/readyz", "").filter(|(s, _, _)| *s == 200)
    });
    assert!(ready.2.starts_with("ready\n"), "{}", ready.2);
    let (status, _, body) = http(port, "POST", "/v1/audit", entry).unwrap();
    assert_eq!(status, 200, "{body}");
    svc.signal("TERM");
    let status = svc.wait_exit(WAIT).expect("tierd did not stop");
    assert_eq!(status.code(), Some(0), "{}", svc.stderr_tail(20));
    let mut j = tierd::journal::Journal::open(&d.join("tierd.db")).unwrap();
    assert!(j.open_moves().unwrap().is_empty());
    each_on_one_tier_intact(d, &objects);
}

/// The files under `d` whose path has `part` in it.
fn files_with(d: &Path, part: &str) -> Vec<std::path::PathBuf> {
    walk(d)
        .into_iter()
        .filter(|p| p.is_file() && p.to_string_lossy().contains(part))
        .collect()
}

#[test]
fn a_snapshot_under_way_at_sigterm_stops_between_objects_and_the_next_start_settles_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A rule that snapshots the bucket at the first pass; a shutdown timeout long enough for
    // the whole snapshot, should the stop not be heeded between its objects.
    std::fs::write(
        d.join("tierd.toml"),
        "[journal]\npath = \"tierd.db\"\n\
         [tiers.onprem]\nurl = \"file://onprem\"\n\
         [tiers.vault]\nurl = \"file://vault\"\nrole = \"vault\"\n\
         [policies]\nfiles = [\"policy.toml\"]\n\
         [service]\nlisten = \"off\"\ndecision_log = \"decisions.jsonl\"\nshutdown_timeout = \"10m\"\n",
    )
    .unwrap();
    std::fs::write(
        d.join("policy.toml"),
        "[[rule]]\nid = \"protect\"\nscope = { bucket = \"*\" }\nwhen = \"tier == 'onprem'\"\n\
         action = { kind = \"snapshot\", to = \"vault\" }\ncooldown = \"1d\"\n",
    )
    .unwrap();
    let objects = 3000;
    std::fs::create_dir_all(d.join("onprem/photos")).unwrap();
    for i in 0..objects {
        std::fs::write(d.join(format!("onprem/photos/k{i:04}.txt")), format!("{i}")).unwrap();
    }
    let mut svc = harness::daemon::Daemon::start(d, &d.join("tierd.toml"), &[]);
    let log = svc.stderr_path.clone();
    svc.until(WAIT, "the snapshot's first copy", || {
        (!files_with(&d.join("vault"), ".tierd-snapshots/data/").is_empty()).then_some(())
    });
    stops_cleanly_on_sigterm(&mut svc, "a stop during a snapshot");
    let m = messages(&log);
    assert!(
        m.iter().any(|m| m == "Snapshot stopped."),
        "{}",
        svc.stderr_tail(20)
    );
    assert!(
        !m.iter().any(|m| m == "Snapshot created."),
        "{}",
        svc.stderr_tail(20)
    );
    let copies = files_with(&d.join("vault"), ".tierd-snapshots/data/").len();
    assert!(
        copies < objects,
        "the stop stopped nothing: {copies} copies"
    );
    assert!(files_with(&d.join("vault"), ".tierd-snapshots/manifests/").is_empty());
    // The decision is left open, as a crash leaves it; nothing lists a snapshot.
    let records = harness::daemon::json_lines(&d.join("decisions.jsonl"));
    let snap: Vec<&serde_json::Value> = records
        .iter()
        .filter(|r| r["action"] == "snapshot")
        .collect();
    assert_eq!(snap.len(), 1, "{records:?}");
    assert_eq!(snap[0]["state"], "planned");
    let id = snap[0]["id"].as_str().unwrap().to_string();
    {
        let mut j = tierd::journal::Journal::open(&d.join("tierd.db")).unwrap();
        let decision = j.decision(&id).unwrap().unwrap();
        assert_eq!(decision.state, tierd::decision::State::Planned);
    }
    let list = tierd(d, &["snapshot", "list", "--config", "tierd.toml"]);
    assert_eq!(list.code, Some(0), "{}", list.stderr);
    assert_eq!(list.stdout, "", "no snapshot was recorded");

    // The next start settles it (no cooldown: nothing was recorded) and snapshots again, whole.
    let r = tierd(d, &["run", "--config", "tierd.toml", "--once"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let mut j = tierd::journal::Journal::open(&d.join("tierd.db")).unwrap();
    let settled = j.decision(&id).unwrap().unwrap();
    assert_eq!(settled.state, tierd::decision::State::Failed);
    // The copies it made belong to no snapshot: recovery removed them.
    assert_eq!(
        settled.why.as_deref(),
        Some(
            tierd::decision::snapshot_interrupted_why(&format!(
                "its {copies} copies were removed from the vault"
            ))
            .as_str()
        )
    );
    assert!(
        files_with(&d.join("vault"), &format!(".tierd-snapshots/data/{id}/")).is_empty(),
        "the interrupted snapshot's copies are gone"
    );
    let records = harness::daemon::json_lines(&d.join("decisions.jsonl"));
    let last = records
        .iter()
        .rev()
        .find(|r| r["id"] == id.as_str())
        .unwrap();
    assert_eq!(last["state"], "failed", "{last}");
    let snapshots = j.snapshots(None).unwrap();
    assert_eq!(snapshots.len(), 1, "{snapshots:?}");
    assert_ne!(snapshots[0].id, id);
    assert_eq!(snapshots[0].objects, objects as u64);
    let verify = tierd(
        d,
        &[
            "snapshot",
            "verify",
            &snapshots[0].id,
            "--config",
            "tierd.toml",
        ],
    );
    assert_eq!(verify.code, Some(0), "{}{}", verify.stdout, verify.stderr);
}

#[test]
fn ended_decisions_older_than_the_retention_are_forgotten_and_what_is_still_needed_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    config(d, IDLE_TO_CLOUD);
    let toml = std::fs::read_to_string(d.join("tierd.toml")).unwrap();
    std::fs::write(
        d.join("tierd.toml"),
        toml.replace(
            "path = \"tierd.db\"\n",
            "path = \"tierd.db\"\nkeep_decisions = \"30d\"\n",
        ),
    )
    .unwrap();
    let old = now_us() - 60 * DAY_US;
    std::fs::create_dir_all(d.join("logs")).unwrap();
    std::fs::create_dir_all(d.join("onprem/photos")).unwrap();
    let mut log = String::new();
    for (i, k) in ["a.jpg", "b.jpg"].iter().enumerate() {
        log += &line(old + i as i64 * 1_000_000, "PUT", k, 2_000);
        std::fs::write(d.join("onprem/photos").join(k), vec![b'x'; 2_000]).unwrap();
    }
    std::fs::write(d.join("logs/1.log"), log).unwrap();
    let first = once(d);
    assert_eq!(first["moves_done"], 2, "{first}");

    // A year of history: the move of a.jpg dated 200 days back (the catalog still names it:
    // where a.jpg is, and why), and three alerts of that age that nothing names.
    let db = rusqlite::Connection::open(d.join("tierd.db")).unwrap();
    let long_ago = "2025-05-01T00:00:00Z";
    let placed: String = db
        .query_row(
            "SELECT id FROM decision WHERE key = 'a.jpg' AND action = 'move'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    db.execute(
        "UPDATE decision SET at = ?1 WHERE id = ?2",
        [long_ago, placed.as_str()],
    )
    .unwrap();
    for i in 1..=3 {
        db.execute(
            "INSERT INTO decision (id, at, action, bucket, key, prefix, rule, state, record)
             SELECT 'alert-old-' || ?1, ?2, 'alert', bucket, NULL, '', 'idle', 'done', record
             FROM decision WHERE id = ?3",
            rusqlite::params![i, long_ago, placed],
        )
        .unwrap();
    }
    let last_seq: i64 = db
        .query_row("SELECT MAX(seq) FROM decision", [], |r| r.get(0))
        .unwrap();
    drop(db);

    let r = tierd(d, &["run", "--config", "tierd.toml", "--once"]);
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    let db = rusqlite::Connection::open(d.join("tierd.db")).unwrap();
    let left: Vec<String> = db
        .prepare("SELECT id FROM decision ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left.contains(&placed), "{left:?}");
    assert!(
        !left.iter().any(|id| id.starts_with("alert-old-")),
        "{left:?}"
    );
    drop(db);
    // A forgotten decision is explained as such.
    let r = tierd(d, &["explain", "alert-old-1", "--config", "tierd.toml"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("the journal forgets ended decisions after journal.keep_decisions (30d)"),
        "{}",
        r.stderr
    );
    // The object's story still reads, and the next decisions go on after the highest id.
    let located = tierd(d, &["locate", "photos/a.jpg", "--config", "tierd.toml"]);
    assert_eq!(located.code, Some(0), "{}", located.stderr);
    assert!(located.stdout.contains(&placed), "{}", located.stdout);
    let frozen = tierd(
        d,
        &[
            "freeze",
            "photos",
            "--config",
            "tierd.toml",
            "--reason",
            "test",
        ],
    );
    assert_eq!(frozen.code, Some(0), "{}", frozen.stderr);
    let seq = frozen
        .stdout
        .split(':')
        .next()
        .unwrap()
        .rsplit('-')
        .next()
        .unwrap();
    assert!(
        seq.parse::<i64>().unwrap() > last_seq,
        "{} after {last_seq}",
        frozen.stdout
    );
}

/// The value of the series `series` (name and labels) in `/metrics`, if shown.
fn metric(port: u16, series: &str) -> Option<String> {
    let (_, _, body) = http(port, "GET", "/metrics", "")?;
    body.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')
            .map(str::to_string)
    })
}

#[test]
fn what_recovery_could_not_settle_at_start_the_running_service_settles_once_the_store_answers() {
    let server = harness::S3Server::start().expect("the S3 server starts");
    server.create_bucket("cold").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let objects = idle_objects(
        d,
        1,
        "ingest_interval = \"1s\"\nshutdown_timeout = \"2s\"\n",
    );
    // No rule moves anything: what the journal holds is what the last run left.
    std::fs::write(
        d.join("policy.toml"),
        "[[rule]]\nid = \"none\"\nscope = { bucket = \"elsewhere\" }\n\
         when = \"tier == 'onprem'\"\naction = { kind = \"move\", to = \"cloud\" }\n",
    )
    .unwrap();
    let options: Vec<String> = server
        .options()
        .into_iter()
        .chain([
            ("timeout".to_string(), "1s".to_string()),
            ("connect_timeout".to_string(), "1s".to_string()),
        ])
        .map(|(k, v)| format!("{k} = \"{v}\""))
        .collect();
    let cfg = std::fs::read_to_string(d.join("tierd.toml"))
        .unwrap()
        .replace(
            "listen = \"off\"",
            &format!("listen = \"127.0.0.1:{port}\""),
        )
        .replace(
            "[tiers.cloud]\nurl = \"file://cloud\"\n",
            &format!(
                "[tiers.cloud]\nurl = \"s3://cold\"\noptions = {{ {} }}\n",
                options.join(", ")
            ),
        );
    std::fs::write(d.join("tierd.toml"), cfg).unwrap();
    // The last run was killed during a move to the cloud, with an upload begun.
    let mut j = move_left_in_flight(d, &objects[0].0);
    j.upload_started(("cloud", "photos"), "photos/f000.jpg", "no-such-upload")
        .unwrap();
    drop(j);
    // The store does not answer while the service starts.
    server.pause();
    let mut svc = harness::daemon::Daemon::start(d, &d.join("tierd.toml"), &[]);
    let log = svc.stderr_path.clone();
    svc.until(WAIT, "the service to start", || {
        messages(&log)
            .iter()
            .any(|m| m == "tierd started")
            .then_some(())
    });
    assert!(
        messages(&log)
            .iter()
            .any(|m| m.starts_with("Cannot recover the move yet; a running service tries again")),
        "{}",
        svc.stderr_tail(30)
    );
    assert_eq!(
        metric(port, "tierd_recovery_pending{what=\"moves\"}").as_deref(),
        Some("1")
    );
    assert_eq!(
        metric(port, "tierd_recovery_pending{what=\"uploads\"}").as_deref(),
        Some("1")
    );
    let (_, _, body) = http(port, "GET", "/readyz", "").unwrap();
    assert!(
        body.contains(
            "warn recovery: 1 move, 1 incomplete multipart upload left by the last run wait for a store that did not answer; the service retries"
        ),
        "{body}"
    );

    // The store answers again: a later cycle settles both, without a restart.
    server.resume();
    svc.until(WAIT, "the retry to settle what was left", || {
        (metric(port, "tierd_recovery_pending{what=\"moves\"}").as_deref() == Some("0"))
            .then_some(())
    });
    assert_eq!(
        metric(port, "tierd_recovery_pending{what=\"uploads\"}").as_deref(),
        Some("0")
    );
    assert!(
        messages(&log)
            .iter()
            .any(|m| m == "everything the last run left in flight is recovered"),
        "{}",
        svc.stderr_tail(30)
    );
    let ready = svc.until(WAIT, "/readyz to answer 200", || {
        http(port, "GET", "/readyz", "").filter(|(s, _, _)| *s == 200)
    });
    assert!(!ready.2.contains("recovery"), "{}", ready.2);
    {
        let mut j = tierd::journal::Journal::open(&d.join("tierd.db")).unwrap();
        assert!(j.open_moves().unwrap().is_empty());
        assert_eq!(j.open_uploads().unwrap(), []);
        assert_eq!(
            j.locate("photos", &objects[0].0).unwrap().unwrap().tier,
            "onprem"
        );
    }
    svc.signal("TERM");
    let status = svc.wait_exit(WAIT).expect("tierd did not stop");
    assert_eq!(status.code(), Some(0), "{}", svc.stderr_tail(20));
    let on_onprem = std::fs::read(d.join("onprem/photos").join(&objects[0].0)).unwrap();
    assert!(on_onprem == objects[0].1, "the object is intact on onprem");
}
