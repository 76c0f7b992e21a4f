//! `tierd run` across restarts: what the last run learnt (which objects are busy, what the
//! guardrails have spent today) is still known after a restart, so the service neither takes a
//! busy object for an idle one nor spends a day's budget twice.

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

#[test]
fn a_restart_keeps_the_access_history_and_the_days_budget() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
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
    std::fs::write(
        d.join("policy.toml"),
        r#"[[rule]]
id = "idle"
scope = { bucket = "*" }
when = "tier == 'onprem' and days_since_last_access > 7d"
action = { kind = "move", to = "cloud" }

[guardrails]
max_objects_per_day = 1
"#,
    )
    .unwrap();
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
