//! `tierd train` end to end: the real binary learns from generated S3 access logs, writes an
//! artifact that loads and scores, and refuses artifacts of another version or feature list.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics reports its failure

use std::path::Path;

use harness::tierd;
use models::detect::{AnomalyModel, FORMAT_VERSION, Scorer};
use models::features::{FEATURES, feature_names};
use models::generator::{GeneratorConfig, generate};

/// Eight clean days of one bucket, written as an S3 access log under `dir/logs/`.
fn logs(dir: &Path) -> u64 {
    let cfg = GeneratorConfig {
        seed: 21,
        days: 8,
        buckets: 1,
        objects_per_bucket: 400,
        app_ops_per_day: 3_000,
        incidents_per_bucket: 0,
        ..GeneratorConfig::default()
    };
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    let file = std::fs::File::create(dir.join("logs/access.log")).unwrap();
    generate(&cfg, std::io::BufWriter::new(file)).unwrap().lines
}

fn train(dir: &Path) {
    let r = tierd(
        dir,
        &[
            "train",
            "--logs",
            "logs",
            "--out",
            "model.json",
            "--learning-days",
            "2",
        ],
    );
    assert_eq!(
        r.code,
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        r.stdout,
        r.stderr
    );
}

#[test]
fn train_fits_a_model_from_logs_and_writes_an_artifact_that_loads() {
    let dir = tempfile::tempdir().unwrap();
    let lines = logs(dir.path());
    let r = tierd(
        dir.path(),
        &[
            "train",
            "--logs",
            "logs",
            "--out",
            "model.json",
            "--learning-days",
            "2",
        ],
    );
    assert_eq!(
        r.code,
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        r.stdout,
        r.stderr
    );
    assert!(
        r.stdout.contains(&format!(
            "read {lines} events from 1 log objects (0 bad lines skipped)"
        )),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("subjects: "), "{}", r.stdout);
    assert!(
        r.stdout.contains("calibrated threshold: 0."),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("learning mode ends: 2026-10-07T00:00:00Z (over before the logs ended)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("wrote model.json"), "{}", r.stdout);

    let model = AnomalyModel::load(&dir.path().join("model.json")).unwrap();
    assert_eq!(model.format_version, FORMAT_VERSION);
    assert_eq!(model.feature_names, feature_names());
    assert_eq!(model.summary.events, lines);
    assert!(model.threshold > 0.0 && model.threshold < 1.0);
    // 1 bucket, 1 service principal, 2 people, backup, admin, etl: principal, bucket and
    // principal-in-bucket subjects.
    assert!(model.summary.subjects >= 7, "{:?}", model.summary);
    assert_eq!(model.summary.bucket_days, 6);

    // The artifact scores new events and explains itself: a burst of overwrites from a new IP.
    let mut scorer = Scorer::new(&model);
    let t0 = model.trained_to_us + 3_600_000_000;
    let burst: Vec<models::AccessEvent> = (0..500)
        .map(|i| models::AccessEvent {
            time_us: t0 + i * 100_000,
            op: models::OpClass::Put,
            operation: "REST.PUT.OBJECT".into(),
            bucket: "bucket-00".into(),
            key: Some(format!("data/{i:07}.jpg")),
            principal: Some("arn:aws:iam::123456789012:user/app-00".into()),
            source_ip: Some("203.0.113.66".into()),
            status: Some(200),
            bytes_received: Some(200_000),
            object_size: Some(200_000),
            user_agent: Some("python-requests/2.31.0".into()),
            ..models::AccessEvent::default()
        })
        .collect();
    let scores = scorer.score_events(&burst).unwrap();
    let bucket = scores
        .iter()
        .find(|s| s.subject.to_string() == "bucket:bucket-00")
        .unwrap();
    assert!(bucket.is_anomalous && !bucket.learning, "{bucket:?}");
    assert!(bucket.flags.source_ip_is_new);
    assert!(!bucket.top_features.is_empty());
}

#[test]
fn the_same_logs_train_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    logs(dir.path());
    train(dir.path());
    let first = std::fs::read(dir.path().join("model.json")).unwrap();
    train(dir.path());
    let second = std::fs::read(dir.path().join("model.json")).unwrap();
    assert!(
        first == second,
        "two trainings on the same logs wrote different artifacts"
    );
}

/// The same log split into two files of the same days (as two stores' logs are) is read in
/// time order: no event is late, and the model is the one the single file trains.
#[test]
fn two_logs_of_the_same_days_train_the_model_of_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    logs(d);
    train(d);
    let single = std::fs::read(d.join("model.json")).unwrap();
    let text = std::fs::read_to_string(d.join("logs/access.log")).unwrap();
    let (mut a, mut b) = (String::new(), String::new());
    for (i, line) in text.lines().enumerate() {
        let half = if i % 2 == 0 { &mut a } else { &mut b };
        half.push_str(line);
        half.push('\n');
    }
    std::fs::remove_file(d.join("logs/access.log")).unwrap();
    std::fs::write(d.join("logs/a.log"), a).unwrap();
    std::fs::write(d.join("logs/b.log"), b).unwrap();
    let r = tierd(
        d,
        &[
            "train",
            "--logs",
            "logs",
            "--out",
            "split.json",
            "--learning-days",
            "2",
        ],
    );
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    assert!(
        !r.stdout.contains("arrived more than") && !r.stderr.contains("arrived more than"),
        "{}{}",
        r.stdout,
        r.stderr
    );
    let split = std::fs::read(d.join("split.json")).unwrap();
    assert!(single == split, "the split logs trained another model");
}

#[test]
fn check_accepts_the_artifact_train_wrote() {
    let dir = tempfile::tempdir().unwrap();
    logs(dir.path());
    train(dir.path());
    let r = tierd(dir.path(), &["train", "--check", "model.json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stdout
            .starts_with("model.json: a tierd model artifact this tierd can use\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!(
            "model format_version {FORMAT_VERSION}, {} features",
            FEATURES.len()
        )),
        "{}",
        r.stdout
    );
}

#[test]
fn an_artifact_of_another_format_version_is_refused_with_both_versions_named() {
    let dir = tempfile::tempdir().unwrap();
    logs(dir.path());
    train(dir.path());
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("model.json")).unwrap())
            .unwrap();
    v["format_version"] = serde_json::json!(FORMAT_VERSION + 1);
    std::fs::write(dir.path().join("old.json"), v.to_string()).unwrap();
    let r = tierd(dir.path(), &["train", "--check", "old.json"]);
    assert_eq!(r.code, Some(2));
    assert_eq!(
        r.stderr,
        format!(
            "error: old.json: the model has format_version {}, this tierd reads format_version {FORMAT_VERSION}; retrain it with this tierd (tierd train)\n",
            FORMAT_VERSION + 1
        )
    );
}

#[test]
fn an_artifact_with_another_feature_list_is_refused_with_both_lists_named() {
    let dir = tempfile::tempdir().unwrap();
    logs(dir.path());
    train(dir.path());
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("model.json")).unwrap())
            .unwrap();
    let names = v["feature_names"].as_array_mut().unwrap();
    names.pop();
    std::fs::write(dir.path().join("short.json"), v.to_string()).unwrap();
    let r = tierd(dir.path(), &["train", "--check", "short.json"]);
    assert_eq!(r.code, Some(2));
    let ours: Vec<&str> = FEATURES.iter().map(|f| f.name).collect();
    let n = ours.len();
    assert_eq!(
        r.stderr,
        format!(
            "error: short.json: the model's feature list differs from this tierd's at position {}: the model has {} features [{}], this tierd computes {n} [{}]; retrain it with this tierd (tierd train)\n",
            n - 1,
            n - 1,
            ours[..n - 1].join(", "),
            ours.join(", ")
        )
    );
}

#[test]
fn logs_without_events_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("logs")).unwrap();
    std::fs::write(dir.path().join("logs/empty.log"), "\n").unwrap();
    let r = tierd(dir.path(), &["train", "--logs", "logs", "--out", "m.json"]);
    assert_eq!(r.code, Some(2));
    assert_eq!(
        r.stderr,
        "error: the logs hold no events (1 log objects read, 0 bad lines): nothing to learn from\n"
    );
    assert!(!dir.path().join("m.json").exists());
}

#[test]
fn a_false_alarm_budget_of_none_or_of_more_than_one_per_bucket_day_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for budget in ["0", "1000"] {
        let r = tierd(
            dir.path(),
            &[
                "train",
                "--logs",
                "logs",
                "--out",
                "m.json",
                "--false-alarms-per-30-bucket-days",
                budget,
            ],
        );
        assert_eq!(r.code, Some(2), "{}", r.stderr);
        assert_eq!(
            r.stderr,
            format!(
                "error: --false-alarms-per-30-bucket-days {budget}: expected more than 0 and at most 30 (the threshold is calibrated on each bucket's highest window per day: at most one alarm per bucket-day counts; default 1)\n"
            )
        );
    }
}
