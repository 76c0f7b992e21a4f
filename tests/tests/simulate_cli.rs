//! `tierd simulate`, `tierd explain`, `tierd run --once` and `tierd unfreeze` with the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics reports its failure

use std::path::Path;

use harness::tierd;
use models::generator::{GeneratorConfig, generate};

/// Twenty days of two buckets (no nightly full backup, so that idle data exists) with an
/// incident per bucket from day 12, as one S3 access log.
fn logs(dir: &Path) {
    let cfg = GeneratorConfig {
        seed: 5,
        days: 20,
        buckets: 2,
        objects_per_bucket: 2_000,
        app_ops_per_day: 1_000,
        nightly_backup: false,
        incidents_from_day: 12,
        incidents_per_bucket: 1,
        ..GeneratorConfig::default()
    };
    write_log(dir, &cfg);
}

/// The generator's log for `cfg`, as `access.log` in `dir`.
fn write_log(dir: &Path, cfg: &GeneratorConfig) {
    let file = std::fs::File::create(dir.join("access.log")).unwrap();
    generate(cfg, std::io::BufWriter::new(file)).unwrap();
}

/// `tierd simulate --config tierd.toml --logs access.log --json --out d.jsonl` and `extra` in
/// `d`: its summary, and what it wrote on stderr.
fn simulate_json(d: &Path, extra: &[&str]) -> (serde_json::Value, String) {
    let mut args = vec![
        "simulate",
        "--config",
        "tierd.toml",
        "--logs",
        "access.log",
        "--json",
        "--out",
        "d.jsonl",
    ];
    args.extend_from_slice(extra);
    let r = tierd(d, &args);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    (r.json(), r.stderr)
}

/// The strategies of a `--json` summary, in its order.
fn strategies(v: &serde_json::Value) -> Vec<&str> {
    v["summaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["strategy"].as_str().unwrap())
        .collect()
}

/// A strategy's total in a `--json` summary.
fn total(v: &serde_json::Value, strategy: &str) -> f64 {
    v["summaries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["strategy"] == strategy)
        .unwrap_or_else(|| panic!("no strategy {strategy:?} in {v}"))["total"]
        .as_f64()
        .unwrap()
}

fn config(dir: &Path) {
    std::fs::write(
        dir.join("tierd.toml"),
        r#"
[tiers.onprem]
url = "file://data/onprem"
price = { storage_gb_month = 0.02 }
[tiers.cloud]
url = "file://data/cloud"
min_storage_days = 90
price = { storage_gb_month = 0.004, retrieval_gb = 0.03, egress_gb = 0.09, requests_per_1000 = 0.02 }
[tiers.vault]
url = "file://data/vault"
role = "vault"
price = { storage_gb_month = 0.004 }
[policies]
files = ["builtin:default"]
[model]
learning_days = 7
[simulate]
baseline_idle_days = 3
"#,
    )
    .unwrap();
}

#[test]
fn a_simulation_is_repeatable_priced_and_explainable() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    logs(d);
    config(d);
    // The bundled policy plus an operator's fixed rule.
    std::fs::write(
        d.join("idle.toml"),
        "[[rule]]\nid = \"idle-to-cloud\"\nscope = { bucket = \"*\" }\nwhen = \"tier == 'onprem' and days_since_last_access > 5d and size >= 1MiB\"\naction = { kind = \"move\", to = \"cloud\" }\npriority = 50\n",
    )
    .unwrap();
    let run = |out: &str| {
        let r = tierd(
            d,
            &[
                "simulate",
                "--config",
                "tierd.toml",
                "--logs",
                "access.log",
                "--out",
                out,
                "--json",
                "--policy",
                "builtin:default",
                "idle.toml",
            ],
        );
        assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
        r.json()
    };
    let a = run("a.jsonl");
    let b = run("b.jsonl");
    let (da, db) = (
        std::fs::read(d.join("a.jsonl")).unwrap(),
        std::fs::read(d.join("b.jsonl")).unwrap(),
    );
    assert!(!da.is_empty(), "no decisions at all: {a}");
    assert_eq!(da, db, "the same inputs must give byte-identical decisions");
    assert_eq!(a, b);

    let names = strategies(&a);
    assert_eq!(
        names,
        [
            "tierd policy",
            "never move",
            "move after 3 d idle",
            "move after 3 d idle + recall on access"
        ]
    );
    for s in a["summaries"].as_array().unwrap() {
        assert!(s["total"].as_f64().unwrap() > 0.0, "{s}");
    }
    assert!(a["oracle_total"].as_f64().unwrap() > 0.0);
    // The oracle knows the future: nobody beats it.
    let oracle = a["oracle_total"].as_f64().unwrap();
    for s in a["summaries"].as_array().unwrap() {
        assert!(
            s["total"].as_f64().unwrap() >= oracle * 0.999,
            "{s} vs oracle {oracle}"
        );
    }
    // Days are reported, cumulative costs never fall.
    let days = a["days"].as_array().unwrap();
    assert!(days.len() >= 20, "{}", days.len());
    for w in days.windows(2) {
        assert!(w[1]["cost"][0].as_f64() >= w[0]["cost"][0].as_f64());
    }
    // Every incident opened shows on its bucket's timeline: a score over the threshold at the
    // window it opened in, whichever subject of the bucket (the bucket, a principal in it) and
    // window length it was.
    let opened: Vec<&serde_json::Value> = a["markers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "incident-open")
        .collect();
    assert!(!opened.is_empty(), "{}", a["markers"]);
    for m in opened {
        let series = a["anomaly"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s[0] == m["subject"])
            .unwrap_or_else(|| panic!("no timeline for {m}"));
        let threshold = series[3]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|c| c[0].as_i64() <= m["at"].as_i64())
            .map_or(series[1].as_f64().unwrap(), |c| c[1].as_f64().unwrap());
        let over = series[2].as_array().unwrap().iter().any(|p| {
            p[0].as_i64().unwrap() >= m["at"].as_i64().unwrap()
                && p[0].as_i64().unwrap() <= m["at"].as_i64().unwrap() + 900
                && p[1].as_f64().unwrap() > threshold
        });
        assert!(over, "{m}: no score over {threshold} on its timeline");
    }
    // The incidents' snapshots are the vault's bytes (tiers in configuration order), on the
    // last day as in the summary.
    assert!(a["vault_bytes"].as_u64().unwrap() > 0, "{a}");
    assert_eq!(days.last().unwrap()["bytes"][2], a["vault_bytes"]);

    // Every line is a decision record; explain shows one in full.
    let text = String::from_utf8(da).unwrap();
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for r in &records {
        for field in ["id", "at", "action", "reason", "state"] {
            assert!(!r[field].is_null(), "{field} missing in {r}");
        }
        assert_eq!(r["state"], "dry-run");
    }
    // Every incident is listed with the protective decisions taken on its bucket while it was
    // open: each freeze of the replay under one incident, and nothing of another bucket.
    let incidents = a["incidents"].as_array().unwrap();
    assert_eq!(
        incidents.len() as u64,
        a["incidents_opened"].as_u64().unwrap()
    );
    let freezes: Vec<&serde_json::Value> =
        records.iter().filter(|r| r["action"] == "freeze").collect();
    assert!(!freezes.is_empty(), "{}", a["decisions_by_action"]);
    for f in freezes {
        let under: Vec<&serde_json::Value> = incidents
            .iter()
            .filter(|i| i["decision_ids"].as_array().unwrap().contains(&f["id"]))
            .collect();
        assert_eq!(under.len(), 1, "{f} under {incidents:?}");
        assert_eq!(under[0]["bucket"], f["bucket"]);
    }
    for i in incidents {
        assert!(i["closed_at"].is_null() || i["closed_at"].as_i64() > i["opened_at"].as_i64());
        for id in i["decision_ids"].as_array().unwrap() {
            let r = records.iter().find(|r| &r["id"] == id).unwrap();
            assert_eq!(r["bucket"], i["bucket"], "{r}");
        }
    }
    // The terminal lists them too, one line each, naming the freeze to explain.
    let t = tierd(
        d,
        &["simulate", "--config", "tierd.toml", "--logs", "access.log"],
    );
    assert_eq!(t.code, Some(0), "{}", t.stderr);
    let listed: Vec<&str> = t
        .stdout
        .lines()
        .filter(|l| l.starts_with("  incident "))
        .collect();
    assert_eq!(listed.len(), incidents.len().min(10), "{}", t.stdout);
    for (line, i) in listed.iter().zip(incidents) {
        let bucket = i["bucket"].as_str().unwrap();
        assert!(
            line.starts_with(&format!("  incident {bucket}: opened ")),
            "{line}"
        );
    }
    let mv = records
        .iter()
        .find(|r| r["action"] == "move")
        .unwrap_or_else(|| panic!("no move: {}", a["decisions_by_action"]));
    let id = mv["id"].as_str().unwrap();
    let r = tierd(d, &["explain", id, "--log", "a.jsonl"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let bytes = mv["cost"]["bytes"].as_u64().unwrap();
    // The record says what its money is in (the configuration's `costs.currency`).
    assert_eq!(mv["cost"]["currency"], "USD", "{mv}");
    for part in [
        "condition, test by test:",
        "guardrails checked:",
        "minimum residency",
        "undo: nothing to undo: a dry run changes nothing (had it been done: tierd move",
        &format!("iB ({bytes} bytes)\n"),
    ] {
        assert!(r.stdout.contains(part), "{part:?} missing:\n{}", r.stdout);
    }
    // The record's undo names the configuration, as the service's records do.
    let config = std::path::absolute(d.join("tierd.toml")).unwrap();
    let undo = mv["undo"].as_str().unwrap();
    assert!(
        undo.starts_with("tierd move ")
            && undo.ends_with(&format!(" --config {}", config.display())),
        "{undo}"
    );
    // The HTML report of the same replay (Chromium renders it in controller/tests/report.rs).
    let r = tierd(
        d,
        &[
            "simulate",
            "--config",
            "tierd.toml",
            "--logs",
            "access.log",
            "--report",
            "r.html",
            "--policy",
            "builtin:default",
            "idle.toml",
        ],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let html = std::fs::read_to_string(d.join("r.html")).unwrap();
    assert!(html.matches("<svg").count() >= 4, "four charts");
    // The header names the incidents, each bucket's with when it opened.
    let opened = format!("<dt>incidents</dt><dd>{} opened: ", incidents.len());
    assert!(html.contains(&opened), "{opened:?} missing from the report");
    for i in incidents {
        let from = format!("{} from ", i["bucket"].as_str().unwrap());
        assert!(html.contains(&from), "{from:?} missing from the report");
    }
    for part in [
        "tierd policy",
        "never move",
        "offline oracle",
        "bucket:bucket-00",
        id,
        // What the baselines do and the prices, from tierd.toml.
        "<h2>What is compared, at what prices</h2>",
        "<dt>move after 3 d idle</dt><dd>At every planning pass, an object on the hot tier (onprem) whose last read or write is more than 3 days old moves to the cheapest data tier (cloud).",
        "<tr><th scope=\"row\">cloud</th><td>cheapest data tier (baselines move here)</td><td class=\"num\">0.004</td><td class=\"num\">90</td><td class=\"num\">0.03</td><td class=\"num\">0.09</td><td class=\"num\">0.02</td></tr>",
        "Prices in USD, as configured",
        "Policy vs this",
    ] {
        assert!(html.contains(part), "{part:?} missing from the report");
    }
    let r = tierd(d, &["explain", "move-nope", "--log", "a.jsonl"]);
    assert_ne!(r.code, Some(0));
    assert!(
        r.stderr.contains("no decision \"move-nope\""),
        "{}",
        r.stderr
    );
    piped_into_a_reader_that_stops_early(d, &["decisions", "--log", "a.jsonl", "--json"]);
    // `simulate --out - | head`: the replay stops at the reader's going, quietly.
    piped_into_a_reader_that_stops_early(
        d,
        &[
            "simulate",
            "--config",
            "tierd.toml",
            "--logs",
            "access.log",
            "--out",
            "-",
            "--policy",
            "builtin:default",
            "idle.toml",
        ],
    );
}

/// `tierd ARGS | head -c 16`: the reader goes after 16 bytes, and tierd stops quietly (exit 0,
/// nothing on stderr) at its next write, as Unix tools do.
fn piped_into_a_reader_that_stops_early(d: &Path, args: &[&str]) {
    use std::io::Read;
    let all = tierd(d, args);
    assert!(
        all.stdout.len() > 1 << 20,
        "{} bytes: the output must outgrow the pipe's buffer",
        all.stdout.len()
    );
    let mut child = std::process::Command::new(harness::tierd_bin())
        .args(args)
        .current_dir(d)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut head)
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn a_replay_with_nothing_to_replay_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = harness::workspace_root().join("examples/logs/s3-access.log");
    let log = log.to_str().unwrap();
    // The wrong --format: every line is bad, and the first one is shown where it is.
    let r = tierd(d, &["simulate", "--logs", log, "--format", "ceph"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains("no events to replay")
            && r.stderr.contains("bad lines, the first ")
            && r.stderr.contains(&format!("{log}:1: "))
            && r.stderr.contains(
                "is --format ceph right? without it, each log's format is told from its first lines"
            ),
        "{}",
        r.stderr
    );
    // A time range that misses the logs: where the logs are.
    let r = tierd(d, &["simulate", "--logs", log, "--from", "2030-01-01"]);
    assert!(
        r.stderr.contains(
            "207 events outside --from/--until (the logs span 2026-11-02T08:01:27Z to 2026-11-03T00:06:24Z)"
        ),
        "{}",
        r.stderr
    );
    // An empty file, and a folder that holds no log object, say so.
    std::fs::write(d.join("empty.log"), "").unwrap();
    std::fs::create_dir(d.join("nothing")).unwrap();
    let r = tierd(d, &["simulate", "--logs", "empty.log"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_eq!(
        r.stderr.trim(),
        "error: no events to replay in the given logs and time range: empty.log is empty"
    );
    let r = tierd(d, &["simulate", "--logs", "nothing/"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_eq!(
        r.stderr.trim(),
        "error: no events to replay in the given logs and time range: nothing/ holds no log object"
    );
    // A time range that is empty.
    let r = tierd(
        d,
        &[
            "simulate",
            "--logs",
            log,
            "--from",
            "2026-11-02",
            "--until",
            "2026-11-01",
        ],
    );
    assert_eq!(r.code, Some(2));
    assert!(
        r.stderr.contains(
            "--from (2026-11-02T00:00:00Z) must be before --until (2026-11-01T00:00:00Z)"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn a_bad_policy_is_refused_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    config(d);
    std::fs::write(
        d.join("bad.toml"),
        "[[rule]]\nid = \"x\"\nwhen = \"size > 1XB\"\naction = \"freeze\"\n",
    )
    .unwrap();
    std::fs::write(d.join("access.log"), "").unwrap();
    let r = tierd(
        d,
        &[
            "simulate",
            "--config",
            "tierd.toml",
            "--logs",
            "access.log",
            "--policy",
            "bad.toml",
        ],
    );
    assert_ne!(r.code, Some(0));
    assert!(r.stderr.contains("bad.toml:3:"), "{}", r.stderr);
}

#[test]
fn the_first_readme_command_moves_the_demo_data_and_a_second_run_has_nothing_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let r = tierd(d, &["run", "--once"]);
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    let report: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    let moved = report["moves_done"].as_u64().unwrap();
    assert!(moved > 0, "{report}");
    assert_eq!(report["moves_failed"], 0);
    // Every moved object is on the cloud tier and no longer on-premise.
    let log = std::fs::read_to_string(d.join("tierd-data/decisions.jsonl")).unwrap();
    let done: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["action"] == "move" && r["state"] == "done")
        .collect();
    assert_eq!(done.len() as u64, moved);
    for r in &done {
        let (b, k) = (r["bucket"].as_str().unwrap(), r["key"].as_str().unwrap());
        let cloud = d.join("tierd-data/cloud").join(b).join(k);
        let onprem = d.join("tierd-data/onprem").join(b).join(k);
        assert!(cloud.exists() && !onprem.exists(), "{b}/{k}");
    }
    let r = tierd(
        d,
        &[
            "locate",
            &format!(
                "{}/{}",
                done[0]["bucket"].as_str().unwrap(),
                done[0]["key"].as_str().unwrap()
            ),
        ],
    );
    assert!(r.stdout.contains("cloud"), "{}", r.stdout);
    // Checkpoints: the second pass reads nothing new and decides nothing.
    let r = tierd(d, &["run", "--once"]);
    let report: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(
        (report["events"].as_u64(), report["decisions"].as_u64()),
        (Some(0), Some(0))
    );
    // No freeze is open: unfreeze says so and lists none.
    let r = tierd(d, &["unfreeze", "photos"]);
    assert_ne!(r.code, Some(0));
    assert!(r.stderr.contains("open freezes: none"), "{}", r.stderr);
}

/// An inventory names what the logs never do: 400 large objects written a year ago and never
/// read. The policy moves them to the cold tier; never moving keeps paying for them; the summary
/// says how many the inventory placed; a bad listing line is located and skipped.
#[test]
fn an_inventory_adds_the_objects_the_logs_never_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    logs(d);
    config(d);
    let mut csv = String::from("bucket,key,size,last_modified\n");
    for i in 0..400 {
        csv += &format!("bucket-00,archive/2025/{i:04}.tar,200000000,2025-11-01T00:00:00Z\n");
    }
    csv += "bucket-00,archive/bad.tar,lots,2025-11-01T00:00:00Z\n";
    std::fs::write(d.join("inventory.csv"), csv).unwrap();
    let (without, _) = simulate_json(d, &[]);
    let (with, stderr) = simulate_json(d, &["--inventory", "inventory.csv", "--report", "r.html"]);
    assert_eq!(with["inventory_objects"], 400, "{with}");
    let html = std::fs::read_to_string(d.join("r.html")).unwrap();
    assert!(
        html.contains(
            "<dt>inventory</dt><dd>400 objects placed at the start (written before it)</dd>"
        ),
        "the report's header"
    );
    assert!(
        stderr.contains("inventory.csv:402: size \"lots\" is not a whole number of bytes"),
        "{stderr}"
    );
    let decisions = std::fs::read_to_string(d.join("d.jsonl")).unwrap();
    let archived = decisions
        .lines()
        .filter(|l| l.contains("archive/2025/") && l.contains("\"action\":\"move\""))
        .count();
    assert!(archived >= 300, "{archived} of the 400 idle archives moved");
    // 80 GB held for 20 days: never moving costs about 1 USD more; the policy moves them.
    let (never, policy) = (total(&with, "never move"), total(&with, "tierd policy"));
    assert!(never > total(&without, "never move") + 0.8, "{never}");
    assert!(policy < never - 0.5, "policy {policy} vs never {never}");
    assert!(with["oracle_total"].as_f64().unwrap() <= policy);
}

/// Where `--report` goes is settled before the replay: a folder that does not exist fails at
/// once, with no summary and no replay; `-` writes the page to stdout (the summary goes to
/// stderr); and a report is written whole, readable by others, or not at all.
#[test]
fn a_report_that_cannot_be_written_fails_before_the_replay_and_dash_is_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let r = tierd(d, &["simulate", "--report", "no-such-folder/r.html"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_eq!(
        r.stderr.trim(),
        "error: cannot write the report no-such-folder/r.html: No such file or directory (os error 2)"
    );
    assert!(r.stdout.is_empty(), "no replay: {}", r.stdout);

    let r = tierd(d, &["simulate", "--report", "-", "--out", "-"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains("cannot both write to stdout"),
        "{}",
        r.stderr
    );

    let r = tierd(d, &["simulate", "--report", "-"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.starts_with("<!DOCTYPE html>"), "{}", r.stdout);
    assert!(r.stderr.contains("replayed 283 events"), "{}", r.stderr);
    assert!(!d.join("-").exists());

    // A folder is refused before the replay; a link is written through, not replaced.
    let r = tierd(d, &["simulate", "--report", "."]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("cannot write the report .: it is a folder"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty(), "no replay: {}", r.stdout);
    // A link into a folder that does not exist is refused before the replay too, for the
    // report and the decisions alike.
    std::os::unix::fs::symlink("no-such-folder/x.html", d.join("dangling.html")).unwrap();
    for flag in ["--report", "--out"] {
        let r = tierd(d, &["simulate", flag, "dangling.html"]);
        assert_eq!(r.code, Some(2), "{}", r.stderr);
        let what = if flag == "--out" {
            "the decisions"
        } else {
            "the report"
        };
        assert_eq!(
            r.stderr.trim(),
            format!(
                "error: cannot write {what} dangling.html: it links to no-such-folder/x.html, and no-such-folder: No such file or directory (os error 2)"
            )
        );
        assert!(r.stdout.is_empty(), "no replay: {}", r.stdout);
    }
    std::fs::write(d.join("target.html"), "old").unwrap();
    std::os::unix::fs::symlink("target.html", d.join("link.html")).unwrap();
    let r = tierd(d, &["simulate", "--report", "link.html"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        std::fs::symlink_metadata(d.join("link.html"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let through = std::fs::read_to_string(d.join("target.html")).unwrap();
    assert!(through.starts_with("<!DOCTYPE html>"), "{through:.40}");

    let r = tierd(d, &["simulate", "--report", "r.html"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    written_whole(d, "r.html", 0o644);
}

/// `name` in `d` was written with `mode_wanted` (a new file readable by others, as a file
/// written directly would be; a replaced one with its old mode), and no temporary file of
/// tierd's is left beside it.
fn written_whole(d: &Path, name: &str, mode_wanted: u32) {
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(d.join(name)).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, mode_wanted, "{mode:o}");
    let left: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tierd-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// The bundled samples are four stores' logs of the same day (Ceph, CloudTrail, MinIO, S3):
/// read as one stream in time order, none is late, and the replay starts at the first event of
/// all (08:01:07, in the MinIO log), not at the first of the log read first.
#[test]
fn several_stores_logs_of_the_same_day_are_replayed_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let r = tierd(dir.path(), &["simulate", "--json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["events"], 283, "{v}");
    assert_eq!(v["late_events"], 0, "{v}");
    // 2026-11-02T08:01:07Z
    assert_eq!(v["from"], 1_793_606_467, "{v}");
}

/// A damaged Parquet inventory whose decoding would abort the reader (an impossible allocation)
/// is refused by name; `simulate` does not abort.
#[test]
fn a_parquet_inventory_that_would_abort_its_reader_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    logs(d);
    config(d);
    std::fs::copy(
        harness::workspace_root().join("tests/fixtures/corrupt-inventory-allocation.parquet"),
        d.join("inventory.parquet"),
    )
    .unwrap();
    let r = tierd(
        d,
        &[
            "simulate",
            "--config",
            "tierd.toml",
            "--logs",
            "access.log",
            "--json",
            "--inventory",
            "inventory.parquet",
        ],
    );
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "inventory.parquet: not a readable Parquet file (decoding it killed the reader with SIGABRT (6): memory allocation of 2305843009213693952 bytes failed)"
        ),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty(), "{}", r.stdout);
}

#[test]
fn on_a_log_archive_the_policy_costs_less_than_every_fixed_rule() {
    // 45 days of one bucket: documents read steadily (no nightly backup) beside a log archive
    // (read once by ETL, sometimes while debugging, rarely in an audit).
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = GeneratorConfig {
        seed: 2,
        days: 45,
        buckets: 1,
        objects_per_bucket: 1_000,
        app_ops_per_day: 800,
        nightly_backup: false,
        logs_per_day: 60,
        ..GeneratorConfig::default()
    };
    write_log(d, &cfg);
    config(d);
    let toml = std::fs::read_to_string(d.join("tierd.toml")).unwrap();
    let toml = toml.replace(
        "baseline_idle_days = 3",
        "baseline_idle_days = [3, 7, 14, 30]",
    );
    std::fs::write(d.join("tierd.toml"), toml).unwrap();
    let (v, _) = simulate_json(d, &[]);
    let names = strategies(&v);
    assert_eq!(
        names.len(),
        10,
        "the policy, never move and two rules per N"
    );
    let policy = total(&v, "tierd policy");
    for name in names.iter().filter(|n| **n != "tierd policy") {
        let baseline = total(&v, name);
        assert!(
            policy < 0.95 * baseline,
            "policy {policy} vs {name} {baseline}"
        );
    }
    assert!(v["oracle_total"].as_f64().unwrap() < policy);
    // Read-backs: what moving cost when objects were read again. Never moving has none; every
    // read-back of a rule is priced within its retrieval, egress and requests.
    for s in v["summaries"].as_array().unwrap() {
        let l = &s["ledger"];
        let (n, cost) = (
            l["read_backs"].as_u64().unwrap(),
            l["read_back_cost"].as_f64().unwrap(),
        );
        let c = &l["charges"];
        let reads = c["retrieval"].as_f64().unwrap()
            + c["egress"].as_f64().unwrap()
            + c["requests"].as_f64().unwrap();
        match s["strategy"].as_str().unwrap() {
            "never move" => assert_eq!((n, l["read_back_bytes"].as_u64()), (0, Some(0))),
            "move after 3 d idle" => assert!(n > 100 && cost > 0.0, "{s}"),
            _ => {}
        }
        assert!(cost <= reads + 1e-9, "{s}");
    }
    // It moved logs, and only logs: the documents' reads never thin out enough.
    let decisions = std::fs::read_to_string(d.join("d.jsonl")).unwrap();
    let moves: Vec<&str> = decisions
        .lines()
        .filter(|l| l.contains("\"action\":\"move\""))
        .collect();
    assert!(moves.len() > 500, "{} moves", moves.len());
    assert!(moves.iter().all(|l| l.contains("\"key\":\"logs/")));
    // Each day's moves in the summary are those the decision file dates that day, a pass at
    // 00:00:00Z included (as `tierd decisions --since DAY` counts them).
    let mut by_date = std::collections::BTreeMap::<String, u64>::new();
    for l in &moves {
        let at = serde_json::from_str::<serde_json::Value>(l).unwrap()["at"]
            .as_str()
            .unwrap()[..10]
            .to_string();
        *by_date.entry(at).or_default() += 1;
    }
    assert!(
        moves.iter().any(|l| l.contains("T00:00:00Z\"")),
        "the trace has a pass at midnight that moves"
    );
    let days = v["days"].as_array().unwrap();
    let mut summed = std::collections::BTreeMap::<String, u64>::new();
    for p in days {
        let (y, m, dd) = harness::s3log::civil(p["day"].as_i64().unwrap().div_euclid(86_400));
        let n = p["moves_out"].as_u64().unwrap();
        if n > 0 {
            summed.insert(format!("{y:04}-{m:02}-{dd:02}"), n);
        }
    }
    assert_eq!(summed, by_date);
}

#[test]
fn a_policy_that_alerts_every_hour_keeps_the_report_bounded() {
    // Twelve buckets, twenty days, an alert per bucket every hourly pass: 5,738 alerts, more
    // than the report draws. Every one is in the decision log; the report draws the first 5,000
    // and says how many more there were, so that a replay's memory does not grow with them.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = GeneratorConfig {
        seed: 3,
        days: 20,
        buckets: 12,
        objects_per_bucket: 20,
        app_ops_per_day: 50,
        nightly_backup: false,
        ..GeneratorConfig::default()
    };
    write_log(d, &cfg);
    std::fs::write(
        d.join("tierd.toml"),
        r#"
[tiers.onprem]
url = "file://data/onprem"
price = { storage_gb_month = 0.02 }
[tiers.cloud]
url = "file://data/cloud"
min_storage_days = 90
price = { storage_gb_month = 0.004, retrieval_gb = 0.03, egress_gb = 0.09, requests_per_1000 = 0.02 }
[policies]
files = ["noisy.toml"]
"#,
    )
    .unwrap();
    std::fs::write(
        d.join("noisy.toml"),
        "[[rule]]\nid = \"noisy\"\nscope = { bucket = \"*\" }\nwhen = \"tier == 'onprem'\"\n\
         action = { kind = \"alert\", severity = \"info\", message = \"still here\" }\n",
    )
    .unwrap();
    let (v, _) = simulate_json(d, &["--report", "r.html"]);
    let alerts = v["decisions_by_action"]["alert"].as_u64().unwrap();
    assert!(alerts > 5_000, "{alerts} alerts");
    let logged = std::fs::read_to_string(d.join("d.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"action\":\"alert\""))
        .count() as u64;
    assert_eq!(logged, alerts);
    let drawn = v["markers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "alert")
        .count() as u64;
    assert_eq!(drawn, 5_000);
    assert_eq!(v["markers_omitted"].as_u64().unwrap(), alerts - 5_000);
    let html = std::fs::read_to_string(d.join("r.html")).unwrap();
    let said = format!(
        "{} more protective decisions not drawn (too many to draw; every one is in the decision log).",
        alerts - 5_000
    );
    assert!(html.contains(&said), "the report does not say: {said}");
}

/// Three benign GETs by one principal (two one day, one two months later) under the embedded
/// defaults: the learning period is over, but the model has learnt from far too little to
/// calibrate a threshold. It keeps learning and says so; nothing is frozen or snapshotted.
#[test]
fn a_model_that_learnt_from_three_requests_keeps_learning_and_freezes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let line = |time: &str| {
        format!(
            "79a59df9 photos [{time} +0000] 192.0.2.10 arn:aws:iam::123456789012:user/alice 3E57427F3EXAMPLE REST.GET.OBJECT a.jpg \"GET /photos/a.jpg HTTP/1.1\" 200 - 3 3 20 10 \"-\" \"aws-cli/2.15.0\" - id2 SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader photos.s3.amazonaws.com TLSv1.2 - - us-west-1\n"
        )
    };
    let log: String = [
        "01/Oct/2026:10:00:00",
        "01/Oct/2026:11:00:00",
        "29/Nov/2026:10:00:00",
    ]
    .into_iter()
    .map(line)
    .collect();
    std::fs::write(d.join("access.log"), log).unwrap();
    let r = tierd(
        d,
        &[
            "simulate",
            "--logs",
            "access.log",
            "--json",
            "--out",
            "d.jsonl",
        ],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["events"], 3, "{v}");
    assert_eq!(v["incidents_opened"], 0, "{v}");
    for action in ["freeze", "snapshot"] {
        assert!(v["decisions_by_action"].get(action).is_none(), "{v}");
    }
    assert_eq!(
        v["model"],
        "combined (still learning after the first 7 days of the logs: it has learnt from 3 windows with events of the 100 needed; 2 days with traffic are enough; no anomaly scores until then)"
    );
    let decisions = std::fs::read_to_string(d.join("d.jsonl")).unwrap();
    for record in decisions.lines() {
        let record: serde_json::Value = serde_json::from_str(record).unwrap();
        assert!(
            record["anomaly"].is_null()
                && !["freeze", "snapshot"].contains(&record["action"].as_str().unwrap_or("")),
            "{record}"
        );
    }
}

/// A replay that fails (a wrong path, a wrong `--format`) leaves the decision file of an earlier
/// one as it was; a replay that succeeds replaces it whole, readable by others, and leaves no
/// temporary file behind.
#[test]
fn a_failed_simulate_leaves_the_earlier_decision_file_alone() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = harness::workspace_root().join("examples/logs/s3-access.log");
    let log = log.to_str().unwrap();
    let earlier = "{\"id\":\"move-earlier\"}\n";
    std::fs::write(d.join("keep.jsonl"), earlier).unwrap();
    // A private decision file stays private when it is replaced.
    std::fs::set_permissions(
        d.join("keep.jsonl"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    for args in [
        vec!["simulate", "--logs", "nosuch.log", "--out", "keep.jsonl"],
        vec![
            "simulate",
            "--logs",
            log,
            "--format",
            "minio",
            "--out",
            "keep.jsonl",
        ],
    ] {
        let r = tierd(d, &args);
        assert_eq!(r.code, Some(2), "{args:?}: {}", r.stderr);
        assert_eq!(
            std::fs::read_to_string(d.join("keep.jsonl")).unwrap(),
            earlier,
            "{args:?} emptied the earlier decisions"
        );
    }
    let r = tierd(d, &["simulate", "--logs", log, "--out", "keep.jsonl"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let written = std::fs::read_to_string(d.join("keep.jsonl")).unwrap();
    assert!(written.starts_with("{\"id\":\"") && !written.contains("move-earlier"));
    written_whole(d, "keep.jsonl", 0o600);
}

/// A log named twice, as the same path or as a file and the folder that holds it, is replayed
/// once, and stderr says so.
#[test]
fn a_log_named_twice_is_replayed_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("logs")).unwrap();
    std::fs::copy(
        harness::workspace_root().join("examples/logs/s3-access.log"),
        d.join("logs/a.log"),
    )
    .unwrap();
    let once = tierd(d, &["simulate", "--logs", "logs/a.log", "--json"]);
    assert_eq!(once.code, Some(0), "{}", once.stderr);
    assert!(!once.stderr.contains("named twice"), "{}", once.stderr);
    let events = once.json()["events"].as_u64().unwrap();
    assert!(events > 100, "{events}");
    for logs in [["logs/a.log", "logs/a.log"], ["logs/a.log", "logs/"]] {
        let mut args = vec!["simulate", "--json", "--logs"];
        args.extend(logs);
        let r = tierd(d, &args);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        assert_eq!(r.json()["events"].as_u64(), Some(events), "{logs:?}");
        assert!(
            r.stderr.contains("logs/a.log: named twice; read once\n"),
            "{logs:?}: {}",
            r.stderr
        );
    }
}

/// What `tierd check` warns of in a policy, `simulate` says on stderr before the replay; the
/// `--json` summary on stdout stays one JSON object.
#[test]
fn simulate_prints_the_policys_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("p.toml"),
        "[guardrails]\nmin_residency = { cloud = \"30d\" }\n\n[[rule]]\nid = \"idle\"\nscope = { bucket = \"*\" }\nwhen = \"tier == 'onprem' and days_since_last_access > 5d\"\naction = { kind = \"move\", to = \"cloud\" }\n",
    )
    .unwrap();
    let r = tierd(d, &["simulate", "--policy", "p.toml", "--json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stderr.starts_with(
            "p.toml:2:27: warning: guardrails: min_residency.cloud is shorter than the 90 days tier \"cloud\" charges for at minimum"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(r.json()["events"], 283);
}

/// The report's header says the `--from/--until` given and how many events fell outside, as
/// the terminal does; one bad line is "1 bad line" in both.
#[test]
fn the_report_says_the_time_range_and_the_events_outside_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let r = tierd(
        d,
        &[
            "simulate",
            "--from",
            "2026-11-02T09:00:00Z",
            "--report",
            "r.html",
        ],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let first = r.stdout.lines().next().unwrap();
    let outside: u64 = first
        .split(" late, ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{first}"));
    assert!(outside > 0, "{first}");
    assert!(
        first.contains(" outside the time range, 1 bad line) from "),
        "{first}"
    );
    let html = std::fs::read_to_string(d.join("r.html")).unwrap();
    assert!(
        html.contains(&format!(
            " late, {outside} outside the time range, 1 bad line), "
        )),
        "the events line"
    );
    assert!(html.contains("<dt>time range</dt><dd>from 2026-11-02T09:00:00Z (--from)</dd>"));
    // The bad line stderr shows, where and why, is on the page too.
    let bad = r
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("bad line: "))
        .unwrap_or_else(|| panic!("{}", r.stderr));
    assert!(
        bad.starts_with("builtin:samples/s3-access.log:58: truncated record"),
        "{bad}"
    );
    assert!(
        html.contains(&format!("<dt>bad line</dt><dd>{bad}</dd>")),
        "the bad line"
    );
}

/// `--progress` draws the bar off a terminal, a line per simulated day, and the share it shows
/// is where the replay is in the logs, not how far the readers have run ahead of it (a batch of
/// up to 8,192 events: on this log of about 10,000, the old bar showed 90 % after the first day).
#[test]
fn the_progress_shows_where_the_replay_is_in_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = GeneratorConfig {
        seed: 3,
        days: 3,
        buckets: 1,
        objects_per_bucket: 500,
        app_ops_per_day: 3_000,
        nightly_backup: false,
        ..GeneratorConfig::default()
    };
    write_log(d, &cfg);
    let log = std::fs::read_to_string(d.join("access.log")).unwrap();
    // The share of the log's bytes before each day's first line (the generator starts on
    // 5 October 2026).
    let share_before = |day: &str| {
        let at = log.find(&format!("[{day}/Oct/2026:")).unwrap();
        at as f64 / log.len() as f64 * 100.0
    };
    let r = tierd(d, &["simulate", "--logs", "access.log", "--progress"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let shown = |day: &str| -> f64 {
        let line = r
            .stderr
            .lines()
            .find(|l| l.contains(&format!("up to 2026-10-{day}T00:00:00Z")))
            .unwrap_or_else(|| panic!("no progress line for day {day}: {}", r.stderr));
        assert!(!line.contains('\r') && !line.contains('\x1b'), "{line:?}");
        let pct = line.split('%').next().unwrap().rsplit(' ').next().unwrap();
        pct.trim().parse().unwrap_or_else(|_| panic!("{line:?}"))
    };
    for day in ["06", "07"] {
        let (want, got) = (share_before(day), shown(day));
        assert!(
            (got - want).abs() <= 8.0,
            "day {day}: the bar shows {got}% where the replay is at {want:.1}% of the log\n{}",
            r.stderr
        );
    }
    // Without --progress and off a terminal, nothing is drawn.
    let quiet = tierd(d, &["simulate", "--logs", "access.log"]);
    assert_eq!(quiet.code, Some(0), "{}", quiet.stderr);
    assert!(
        !quiet.stderr.contains("up to 2026-10-06"),
        "{}",
        quiet.stderr
    );
}

/// `--until` past the logs' end runs the clock on where every object looks idle: said on the
/// summary, on stderr with `--json`, and in the report's header; not said without it.
#[test]
fn until_past_the_end_of_the_logs_is_warned_of() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let plain = tierd(d, &["simulate"]);
    assert_eq!(plain.code, Some(0), "{}", plain.stderr);
    assert!(
        !plain.stdout.contains("warning: the logs end at"),
        "{}",
        plain.stdout
    );
    let r = tierd(
        d,
        &["simulate", "--until", "2030-01-01", "--report", "r.html"],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let warning = r
        .stdout
        .lines()
        .find(|l| l.starts_with("warning: the logs end at "))
        .unwrap_or_else(|| panic!("{}", r.stdout));
    assert!(
        warning.ends_with(" days to 2030-01-01T00:00:00Z (--until) were replayed without an event, where every object looks idle and nothing is read back; that favours moving"),
        "{warning}"
    );
    let html = std::fs::read_to_string(d.join("r.html")).unwrap();
    assert!(
        html.contains("<dt>warning</dt><dd>the logs end at "),
        "the report's header"
    );
    let j = tierd(d, &["simulate", "--until", "2030-01-01", "--json"]);
    assert!(
        j.stderr.contains("warning: the logs end at "),
        "{}",
        j.stderr
    );
    let v = j.json();
    assert!(v["last_event"].as_i64().unwrap() < v["until"].as_i64().unwrap() - 86_400);
}

/// Thirty days of two buckets with a log archive whose logs are read back after they were
/// moved, and two incidents per bucket from day 12, under [`config`], in `d`.
fn archive_with_incidents(d: &Path) {
    let cfg = GeneratorConfig {
        seed: 1,
        days: 30,
        buckets: 2,
        objects_per_bucket: 2_000,
        app_ops_per_day: 1_000,
        nightly_backup: false,
        logs_per_day: 50,
        incidents_from_day: 12,
        incidents_per_bucket: 2,
        ..GeneratorConfig::default()
    };
    write_log(d, &cfg);
    config(d);
}

/// Thirty days of two buckets with logs read back after they were moved, and incidents: the
/// summary puts the policy's read-backs to the moves that caused them, lists the costliest
/// with ids `tierd explain` accepts, and names the rules the guardrails held (review 19 #3, #4).
#[test]
fn the_summary_says_which_moves_were_read_back_and_which_rules_guardrails_held() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    archive_with_incidents(d);
    let (v, _) = simulate_json(d, &[]);
    let policy = &v["summaries"][0]["ledger"];
    let o = &v["outcomes"];
    let f = |v: &serde_json::Value| v.as_f64().unwrap();
    let n = |v: &serde_json::Value| v.as_u64().unwrap();
    // Every read-back of the policy is put to a move (no inventory: no object starts colder),
    // and the totals add up to the read-backs the summary prints.
    assert_eq!(n(&o["unattributed_read_backs"]), 0, "{o}");
    assert!(n(&o["read_back_moves"]) > 0, "{o}");
    assert_eq!(n(&o["read_backs"]), n(&policy["read_backs"]), "{o}");
    assert_eq!(
        n(&o["read_back_bytes"]),
        n(&policy["read_back_bytes"]),
        "{o}"
    );
    assert!(
        (f(&o["read_back_cost"]) - f(&policy["read_back_cost"])).abs() < 1e-9,
        "{o} vs {policy}"
    );
    assert_eq!(
        n(&o["moves"]),
        n(&policy["moves"]) + n(&policy["recalls"]),
        "{o}"
    );
    // The costliest moves: cost, highest first, then id; each a move in the decision file.
    let costly = v["costliest_moves"].as_array().unwrap();
    assert!(!costly.is_empty() && costly.len() <= 20, "{}", costly.len());
    for w in costly.windows(2) {
        let (a, b) = (f(&w[0]["cost"]), f(&w[1]["cost"]));
        assert!(
            a > b || (a == b && w[0]["id"].as_str() < w[1]["id"].as_str()),
            "{w:?}"
        );
    }
    let decisions = std::fs::read_to_string(d.join("d.jsonl")).unwrap();
    for m in costly {
        let id = m["id"].as_str().unwrap();
        let record = decisions
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("{id} is not in the decision file"));
        assert_eq!(
            (&record["action"], &record["bucket"], &record["key"]),
            (&"move".into(), &m["bucket"], &m["key"]),
            "{record}"
        );
        assert!(
            f(&m["read_back_cost"]) + f(&m["early_deletion"]) > 0.0,
            "{m}"
        );
    }
    let first = costly[0]["id"].as_str().unwrap();
    let explained = tierd(d, &["explain", first, "--log", "d.jsonl"]);
    assert_eq!(explained.code, Some(0), "{}", explained.stderr);
    assert!(explained.stdout.contains(first), "{}", explained.stdout);
    // Held moves per rule: the bundled recall rule wanted moves the minimum residency held.
    let held = v["held_by_rule"].as_array().unwrap();
    let residency = held
        .iter()
        .find(|h| h["rule"] == "recall-reheated" && h["guardrail"] == "minimum residency")
        .unwrap_or_else(|| panic!("{held:?}"));
    let summed: u64 = held
        .iter()
        .filter(|h| h["guardrail"] == "minimum residency")
        .map(|h| n(&h["passes"]))
        .sum();
    assert_eq!(summed, n(&v["deferred"]["residency"]), "{held:?}");

    // The terminal says the same, byte for byte on every run.
    let text = || {
        let r = tierd(
            d,
            &[
                "simulate",
                "--config",
                "tierd.toml",
                "--logs",
                "access.log",
                "--out",
                "d.jsonl",
                "--report",
                "r.html",
            ],
        );
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        r.stdout
    };
    let out = text();
    // The report's table lists the same moves, costliest first.
    let html = std::fs::read_to_string(d.join("r.html")).unwrap();
    let table = &html[html
        .find("<h2>The policy's costliest moves</h2>")
        .expect("the table")..];
    assert!(
        table.find(first) < table.find(costly[costly.len() - 1]["id"].as_str().unwrap())
            || costly.len() == 1,
        "{table}"
    );
    assert_eq!(
        table[..table.find("</table>").unwrap()]
            .matches("<tr><td class=\"id\">")
            .count(),
        costly.len()
    );
    assert_eq!(out, text(), "a second run prints the same");
    let line = |start: &str| {
        out.lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no line {start:?} in\n{out}"))
            .to_string()
    };
    assert_eq!(
        line("the policy's moves: "),
        format!(
            "the policy's moves: {}; read back later: {} moves ({} reads, {:.3} GB, cost {:.4} USD); deleted or overwritten on the colder tier: {} (early deletion {:.4} USD)",
            o["moves"],
            o["read_back_moves"],
            o["read_backs"],
            n(&o["read_back_bytes"]) as f64 / 1e9,
            f(&o["read_back_cost"]),
            o["deleted_or_overwritten"],
            f(&o["early_deletion"])
        )
    );
    assert!(
        line(&format!("  {first} ")).contains(&format!(
            "{}/{} moved {}, first read back after ",
            costly[0]["bucket"].as_str().unwrap(),
            costly[0]["key"].as_str().unwrap(),
            costly[0]["at"].as_str().unwrap()
        )),
        "{out}"
    );
    line("  (tierd explain ID --log d.jsonl explains one)");
    assert_eq!(
        line("  recall-reheated: "),
        format!(
            "  recall-reheated: minimum residency {} passes ({} objects)",
            residency["passes"], residency["objects"]
        )
    );
}

/// One S3 access-log line of bucket `docs` at `time` (`01/Oct/2026:10:00:00`).
fn docs_line(time: &str, operation: &str, key: &str, size: u64) -> String {
    let method = if operation.contains("PUT") {
        "PUT"
    } else {
        "GET"
    };
    format!(
        "79a59df9 docs [{time} +0000] 192.0.2.10 arn:aws:iam::123456789012:user/alice 3E57427F3EXAMPLE {operation} {key} \"{method} /docs/{key} HTTP/1.1\" 200 - - {size} 20 10 \"-\" \"aws-cli/2.15.0\" - id2 SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader docs.s3.amazonaws.com TLSv1.2 - - us-west-1\n"
    )
}

/// Twenty days of bucket `docs`: `reports/idle.pdf` written on 2026-10-01 and never read,
/// `reports/daily.pdf` written then and read every day after; one rule moves what has been idle
/// over seven days to the cloud, and objects stay on onprem at least `residency`.
fn why_setup(d: &Path, residency: &str) {
    let mut log = docs_line(
        "01/Oct/2026:10:00:00",
        "REST.PUT.OBJECT",
        "reports/idle.pdf",
        5_000_000,
    );
    log += &docs_line(
        "01/Oct/2026:10:00:00",
        "REST.PUT.OBJECT",
        "reports/daily.pdf",
        5_000_000,
    );
    for day in 2..=20 {
        let time = format!("{day:02}/Oct/2026:10:00:00");
        log += &docs_line(&time, "REST.GET.OBJECT", "reports/daily.pdf", 5_000_000);
    }
    std::fs::write(d.join("access.log"), log).unwrap();
    std::fs::write(
        d.join("tierd.toml"),
        r#"
[tiers.onprem]
url = "file://data/onprem"
price = { storage_gb_month = 0.02 }
[tiers.cloud]
url = "file://data/cloud"
min_storage_days = 90
price = { storage_gb_month = 0.004, retrieval_gb = 0.03, egress_gb = 0.09, requests_per_1000 = 0.02 }
[policies]
files = ["why.toml"]
"#,
    )
    .unwrap();
    std::fs::write(
        d.join("why.toml"),
        format!(
            "[[rule]]\nid = \"idle-to-cloud\"\nscope = {{ bucket = \"*\" }}\n\
             when = \"tier == 'onprem' and days_since_last_access > 7d\"\n\
             action = {{ kind = \"move\", to = \"cloud\" }}\n\n\
             [guardrails]\nmin_residency = {{ onprem = \"{residency}\" }}\n"
        ),
    )
    .unwrap();
}

/// `tierd simulate` of [`why_setup`]'s logs, decisions to `out`, with `extra`.
fn simulate_why(d: &Path, out: &str, extra: &[&str]) -> harness::Run {
    let mut args = vec![
        "simulate",
        "--config",
        "tierd.toml",
        "--logs",
        "access.log",
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    tierd(d, &args)
}

#[test]
fn why_names_the_move_of_an_object_its_tests_and_the_guardrail_that_held_it_before() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    why_setup(d, "10d");
    let why = ["--why", "docs/reports/idle.pdf"];
    let r = simulate_why(d, "d.jsonl", &why);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let decisions = std::fs::read_to_string(d.join("d.jsonl")).unwrap();
    let moved: serde_json::Value = serde_json::from_str(decisions.lines().next().unwrap()).unwrap();
    assert_eq!(moved["key"], "reports/idle.pdf", "{decisions}");
    let id = moved["id"].as_str().unwrap();
    let out = &r.stdout;
    for said in [
        "why docs/reports/idle.pdf: 4.8MiB, on \"onprem\" when first seen (2026-10-01T10:00:00Z), on \"cloud\" at the end",
        &format!("    {id}  2026-10-11T10:00:00Z  move onprem -> cloud  rule idle-to-cloud"),
        "    rule \"idle-to-cloud\" wanted a move, held by the minimum residency: 71 passes from 2026-10-08T11:00:00Z to 2026-10-11T09:00:00Z",
        &format!(
            "    from 2026-10-11T10:00:00Z: rule \"idle-to-cloud\" wins (move to \"cloud\": tier == 'onprem' ('onprem': yes), days_since_last_access > 7d (10d: yes)), decided {id} (1 pass)"
        ),
        "  at the last pass (2026-10-20T10:00:00Z): no rule wins",
        "    - rule \"idle-to-cloud\" does not apply: the object already is on its destination",
    ] {
        assert!(out.contains(said), "no {said:?} in\n{out}");
    }
    // The same in --json, and the same decisions with or without --why.
    let json = simulate_why(d, "j.jsonl", &["--json", why[0], why[1]]);
    assert_eq!(json.code, Some(0), "{}", json.stderr);
    let w = &json.json()["why"][0];
    assert_eq!(w["decisions"][0]["id"], id, "{w}");
    assert_eq!(w["tier_at_end"], "cloud");
    assert_eq!(w["held"][0]["guardrail"], "the minimum residency");
    assert_eq!(w["held"][0]["passes"], 71);
    let plain = simulate_why(d, "p.jsonl", &["--json"]);
    assert!(
        plain.json().get("why").is_none(),
        "no why key without --why"
    );
    let read = |f: &str| std::fs::read(d.join(f)).unwrap();
    assert_eq!(read("p.jsonl"), read("d.jsonl"));
    assert_eq!(read("p.jsonl"), read("j.jsonl"));
}

#[test]
fn why_shows_a_move_held_the_whole_replay_and_the_failing_test_of_an_object_no_rule_wants() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    why_setup(d, "30d");
    let r = simulate_why(
        d,
        "d.jsonl",
        &[
            "--why",
            "docs/reports/idle.pdf",
            "--why",
            "docs/reports/daily.pdf",
        ],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let out = &r.stdout;
    for said in [
        // Held from the day it was idle over a week to the end: never moved.
        "    rule \"idle-to-cloud\" wanted a move, held by the minimum residency: 288 passes from 2026-10-08T11:00:00Z to 2026-10-20T10:00:00Z",
        "  at the last pass (2026-10-20T10:00:00Z): rule \"idle-to-cloud\" wins (move to \"cloud\")",
        "    [yes] days_since_last_access > 7d",
        // Read every day: the test that fails, with its value.
        "why docs/reports/daily.pdf: 4.8MiB, on \"onprem\" when first seen (2026-10-01T10:00:00Z), on \"onprem\" at the end",
        "  1 write, the last at 2026-10-01T10:00:00Z; 19 reads, the last at 2026-10-20T10:00:00Z",
        "    from 2026-10-01T11:00:00Z: no rule wins (456 passes)",
        "    - rule \"idle-to-cloud\" does not match: tier == 'onprem' ('onprem': yes), days_since_last_access > 7d (1d: no)",
        "    cost: a move to \"cloud\" (rule \"idle-to-cloud\"): saves USD 0.00008/month in storage, one-off charges USD 0.00002 (retrieval 0, egress 0, requests 0.00002, early deletion 0); savings_per_month USD 0.00006 vs read_back_cost_per_month USD 0.017742",
    ] {
        assert!(out.contains(said), "no {said:?} in\n{out}");
    }
    assert_eq!(out.matches("  decisions: none").count(), 2, "{out}");
}

#[test]
fn why_of_an_object_the_replay_never_saw_says_what_it_saw_and_exits_with_status_1() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    why_setup(d, "10d");
    let r = simulate_why(
        d,
        "d.jsonl",
        &[
            "--why",
            "docs/reports/dialy.pdf",
            "--why",
            "pics/a.jpg",
            "--why",
            "docs/reports/idle.pdf",
        ],
    );
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "error: --why docs/reports/dialy.pdf: the replay saw no object \"reports/dialy.pdf\" in bucket \"docs\" (it saw 2 objects there, deleted ones included); the nearest names: \"reports/daily.pdf\", \"reports/idle.pdf\"\n"
        ),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(
            "error: --why pics/a.jpg: the replay saw no bucket \"pics\"; its buckets: \"docs\"\n"
        ),
        "{}",
        r.stderr
    );
    // The summary and the objects it saw are printed all the same.
    assert!(
        r.stdout.contains("why docs/reports/idle.pdf: "),
        "{}",
        r.stdout
    );
    // A value that is not BUCKET/KEY, or too many, is refused before the replay.
    let r = simulate_why(d, "d.jsonl", &["--why", "docs"]);
    assert_eq!(r.code, Some(2));
    assert!(
        r.stderr.contains(
            "invalid value 'docs' for '--why <BUCKET/KEY>': \"docs\" is not BUCKET/KEY: give the bucket, a \"/\" and the object's key, as in photos/2026/a.jpg"
        ),
        "{}",
        r.stderr
    );
    let many: Vec<String> = (0..21).map(|i| format!("--why=docs/{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let r = simulate_why(d, "d.jsonl", &many);
    assert_eq!(r.code, Some(2));
    assert!(
        r.stderr
            .contains("error: --why names 21 objects; at most 20 may be named in one replay\n"),
        "{}",
        r.stderr
    );
}

/// `n` with thousands separators, as the report prints counts: `1,900`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The part of the report `html` in `<section id="ID">`.
fn report_section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<section id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no section {id} in the report"));
    &html[start..start + html[start..].find("</section>").unwrap()]
}

/// Thirty days of two buckets with incidents and moves read back: the report of a replay with
/// `--why` holds the moves held back per rule, the incidents and the object's answer, with the
/// numbers of the same run's `--json`.
#[test]
fn the_report_holds_the_held_rules_the_incidents_and_the_why_of_an_object_as_json_says_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    archive_with_incidents(d);
    // The object: the costliest move's, moved and read back again.
    let (v, _) = simulate_json(d, &[]);
    let m = &v["costliest_moves"][0];
    let object = format!(
        "{}/{}",
        m["bucket"].as_str().unwrap(),
        m["key"].as_str().unwrap()
    );
    let (v, _) = simulate_json(d, &["--report", "r.html", "--why", &object]);
    let html = std::fs::read_to_string(d.join("r.html")).unwrap();
    let n = |v: &serde_json::Value| v.as_u64().unwrap();
    let s = |v: &serde_json::Value| v.as_str().unwrap().to_string();

    // Held back: the per-pass counts, then a row per rule and guardrail.
    let held = report_section(&html, "held");
    let deferred = &v["deferred"];
    assert!(
        held.contains(&format!(
            "frozen {}, minimum residency {}, cooldown {}, blackout {}, budget {}, per-pass limit {}.",
            grouped(n(&deferred["frozen"])),
            grouped(n(&deferred["residency"])),
            grouped(n(&deferred["cooldown"])),
            grouped(n(&deferred["blackout"])),
            grouped(n(&deferred["budget"])),
            grouped(n(&deferred["cycle_limit"]))
        )),
        "{held}"
    );
    let rules = v["held_by_rule"].as_array().unwrap();
    assert!(rules.len() >= 2, "{rules:?}");
    for h in rules {
        let row = format!(
            "<tr><td class=\"rule\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            s(&h["rule"]),
            s(&h["guardrail"]),
            grouped(n(&h["passes"])),
            grouped(n(&h["objects"]))
        );
        assert!(held.contains(&row), "no {row} in\n{held}");
    }
    assert_eq!(held.matches("<tr><td class=\"rule\">").count(), rules.len());

    // Incidents: a row each, opened and closed, the window's score, the first decision.
    let incidents = report_section(&html, "incidents");
    let list = v["incidents"].as_array().unwrap();
    assert!(!list.is_empty(), "the trace opens incidents");
    assert_eq!(incidents.matches("<tr id=\"incident-").count(), list.len());
    let utc = |v: &serde_json::Value| policies::facts::format_utc(v.as_i64().unwrap());
    for (i, inc) in list.iter().enumerate() {
        let row = format!(
            "<tr id=\"incident-{}\"><td>{}</td><td class=\"at\">{}</td><td class=\"at\">{}</td><td class=\"scope\">{}</td><td class=\"num\">{:.2}</td><td class=\"num\">{:.2}</td><td class=\"scope\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"id\">{}</td></tr>",
            i + 1,
            s(&inc["bucket"]),
            utc(&inc["opened_at"]),
            utc(&inc["closed_at"]),
            s(&inc["subject"]),
            inc["score"].as_f64().unwrap(),
            inc["threshold"].as_f64().unwrap(),
            s(&inc["principal"]),
            n(&inc["snapshots"]),
            n(&inc["freezes"]),
            n(&inc["alerts"]),
            s(&inc["decision_ids"][0])
        );
        assert!(incidents.contains(&row), "no {row} in\n{incidents}");
    }

    // The why section: the object's decisions, held runs, timeline and last pass.
    let why = report_section(&html, "why");
    let w = &v["why"][0];
    assert_eq!(w["object"], object.as_str());
    assert!(
        why.contains(&format!("<h3>why <code>{object}</code></h3>")),
        "{why}"
    );
    assert!(why.contains(&format!("{} bytes)</dd>", grouped(n(&w["size"])))));
    let decisions = w["decisions"].as_array().unwrap();
    assert!(!decisions.is_empty(), "{w}");
    for dec in decisions {
        let row = format!(
            "<tr><td class=\"id\">{}</td><td class=\"at\">{}</td><td>{}</td>",
            s(&dec["id"]),
            s(&dec["at"]),
            s(&dec["action"])
        );
        assert!(why.contains(&row), "no {row} in\n{why}");
    }
    assert!(why.contains(&format!("<tr><td class=\"id\">{}</td>", s(&m["id"]))));
    let runs = w["held"].as_array().unwrap();
    assert!(!runs.is_empty(), "the recall rule was held: {w}");
    for h in runs {
        let row = format!(
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"at\">{}</td><td class=\"at\">{}</td></tr>",
            s(&h["rule"]),
            s(&h["guardrail"]),
            grouped(n(&h["passes"])),
            s(&h["from"]),
            s(&h["to"])
        );
        assert!(why.contains(&row), "no {row} in\n{why}");
    }
    let timeline = &why[why.find("<h4>Timeline").unwrap()..];
    let timeline = &timeline[..timeline.find("</table>").unwrap()];
    let stretches = w["timeline"].as_array().unwrap();
    assert_eq!(
        timeline.matches("<tr><td class=\"at\">").count(),
        stretches.len()
    );
    for st in stretches {
        assert!(
            timeline.contains(&format!(
                "<tr><td class=\"at\">{}</td><td class=\"at\">{}</td><td class=\"num\">{}</td>",
                s(&st["from"]),
                s(&st["to"]),
                grouped(n(&st["passes"]))
            )),
            "{st} in\n{timeline}"
        );
    }
    let last = &w["last_pass"];
    assert!(why.contains(&format!("<h4>At the last pass ({})</h4>", s(&last["at"]))));
    // On the cloud tier, the recall rule's move is weighed: its cost signals.
    let c = last["cost"]
        .as_object()
        .unwrap_or_else(|| panic!("no cost at the last pass: {last}"));
    for k in [
        "retrieval",
        "egress",
        "savings_per_month",
        "read_back_cost_per_month",
    ] {
        let cell = format!("<td class=\"num\">{}</td>", c[k].as_f64().unwrap());
        assert!(why.contains(&cell), "no {k} {cell} in\n{why}");
    }
    // The same run gives the same page, byte for byte; without --why it is the same page
    // without the section.
    simulate_json(d, &["--report", "again.html", "--why", &object]);
    assert!(std::fs::read_to_string(d.join("again.html")).unwrap() == html);
    simulate_json(d, &["--report", "plain.html"]);
    let plain = std::fs::read_to_string(d.join("plain.html")).unwrap();
    assert!(!plain.contains("<section id=\"why\">"));
    assert!(plain == html.replace(&format!("{why}</section>\n"), ""));
}
