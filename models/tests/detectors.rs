//! The detector conformance suite, run against every detector: scores are finite, the order of
//! rows does not matter, an injected outlier ranks high, and empty input is an error. Then the
//! combined model's own contract: calibration, learning mode, explanations, artifacts.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics reports its failure

use models::Error;
use models::detect::{
    AnomalyModel, Detector, FORMAT_VERSION, KMeansDetector, ModelConfig, RobustBaseline,
};
use models::features::{
    FEATURES, History, N_FEATURES, Subject, SubjectKind, WindowFeatures, WindowFlags, feature_index,
};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

const MONDAY_US: i64 = 20_731 * 86_400 * 1_000_000;

fn subjects() -> Vec<Subject> {
    let p = |n: &str| Some(format!("arn:aws:iam::1:user/{n}"));
    vec![
        Subject {
            kind: SubjectKind::Principal,
            bucket: None,
            principal: p("app"),
        },
        Subject {
            kind: SubjectKind::Principal,
            bucket: None,
            principal: p("alice"),
        },
        Subject {
            kind: SubjectKind::Bucket,
            bucket: Some("photos".into()),
            principal: None,
        },
        Subject {
            kind: SubjectKind::Bucket,
            bucket: Some("logs".into()),
            principal: None,
        },
        Subject {
            kind: SubjectKind::PrincipalInBucket,
            bucket: Some("photos".into()),
            principal: p("app"),
        },
        Subject {
            kind: SubjectKind::PrincipalInBucket,
            bucket: Some("logs".into()),
            principal: p("alice"),
        },
    ]
}

fn poisson(rng: &mut Xoshiro256PlusPlus, lambda: f64) -> f64 {
    let l = (-lambda).exp();
    let (mut k, mut p) = (0.0, 1.0);
    loop {
        p *= rng.r#gen::<f64>();
        if p <= l {
            return k;
        }
        k += 1.0;
    }
}

/// `days` of ordinary 5-minute windows for every subject: a daily rhythm of reads and writes.
fn ordinary(days: i64, seed: u64) -> WindowFeatures {
    ordinary_at(days, seed, 300)
}

/// `days` of ordinary windows of `window_secs` for every subject (rates scale with the length).
fn ordinary_at(days: i64, seed: u64, window_secs: i64) -> WindowFeatures {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut rows = WindowFeatures {
        window_secs,
        ..WindowFeatures::default()
    };
    let per_day = 86_400 / window_secs;
    let w_us = window_secs * 1_000_000;
    // Rates below are per 5 minutes.
    let r = window_secs as f64 / 300.0;
    let f = |n: &str| feature_index(n).unwrap();
    for (si, s) in subjects().into_iter().enumerate() {
        let size = 1.0 + si as f64;
        for w in 0..days * per_day {
            let t = MONDAY_US + w * w_us;
            let hour = (w % per_day) as f64 * window_secs as f64 / 3600.0;
            let rhythm = 1.0 + 0.5 * (hour / 24.0 * std::f64::consts::TAU).sin();
            let mut v = [0.0; N_FEATURES];
            v[f("ops_get")] = poisson(&mut rng, 12.0 * r * size * rhythm);
            v[f("ops_put")] = poisson(&mut rng, 3.0 * r * size * rhythm);
            v[f("ops_head")] = poisson(&mut rng, 4.0 * r * size);
            v[f("ops_list")] = poisson(&mut rng, r);
            v[f("ops_delete")] = poisson(&mut rng, 0.3 * r);
            v[f("bytes_out")] = v[f("ops_get")] * rng.gen_range(5e4..5e5);
            v[f("bytes_in")] = v[f("ops_put")] * rng.gen_range(5e4..5e5);
            v[f("distinct_keys")] = (v[f("ops_get")] + v[f("ops_put")]) * 0.8;
            v[f("overwrites")] = poisson(&mut rng, 0.3 * r);
            v[f("overwrite_ratio")] = if v[f("ops_put")] > 0.0 {
                (v[f("overwrites")] / v[f("ops_put")]).min(1.0)
            } else {
                0.0
            };
            v[f("errors")] = poisson(&mut rng, 0.2 * r);
            v[f("distinct_ips")] = 1.0;
            if v.iter().all(|&x| x == 0.0) {
                v[f("ops_get")] = 1.0;
            }
            rows.subjects.push(s.clone());
            rows.window_start_us.push(t);
            rows.values.push(v);
            rows.flags.push(WindowFlags::default());
        }
    }
    rows
}

/// A ransomware-like window: thousands of overwrites from a new IP with a new user agent.
fn outlier() -> (Subject, i64, [f64; N_FEATURES]) {
    let f = |n: &str| feature_index(n).unwrap();
    let mut v = [0.0; N_FEATURES];
    v[f("ops_put")] = 4_000.0;
    v[f("overwrites")] = 3_900.0;
    v[f("overwrite_ratio")] = 0.97;
    v[f("bytes_in")] = 4e9;
    v[f("distinct_keys")] = 4_000.0;
    v[f("distinct_ips")] = 2.0;
    v[f("new_ips")] = 1.0;
    v[f("new_user_agents")] = 1.0;
    (
        subjects()[4].clone(),
        MONDAY_US + 10 * 86_400_000_000 + 14 * 3_600_000_000,
        v,
    )
}

fn with_outlier(mut rows: WindowFeatures) -> (WindowFeatures, usize) {
    let (s, t, v) = outlier();
    rows.subjects.push(s);
    rows.window_start_us.push(t);
    rows.values.push(v);
    rows.flags.push(WindowFlags::default());
    let i = rows.len() - 1;
    (rows, i)
}

fn config() -> ModelConfig {
    ModelConfig {
        learning_days: 1.0,
        ..ModelConfig::default()
    }
}

fn permuted(rows: &WindowFeatures, seed: u64) -> (WindowFeatures, Vec<usize>) {
    let mut idx: Vec<usize> = (0..rows.len()).collect();
    idx.shuffle(&mut Xoshiro256PlusPlus::seed_from_u64(seed));
    let p = WindowFeatures {
        subjects: idx.iter().map(|&i| rows.subjects[i].clone()).collect(),
        window_start_us: idx.iter().map(|&i| rows.window_start_us[i]).collect(),
        values: idx.iter().map(|&i| rows.values[i]).collect(),
        flags: idx.iter().map(|&i| rows.flags[i].clone()).collect(),
        window_secs: rows.window_secs,
    };
    (p, idx)
}

/// Training days for the conformance suite: ten at five minutes, three at shorter windows (as
/// many rows as ten days of five-minute windows would give, and then some).
fn train_days(window_secs: i64) -> i64 {
    if window_secs >= 300 { 10 } else { 3 }
}

fn scores_are_finite<D: Detector>(w: i64) {
    let train = ordinary_at(train_days(w), 1, w);
    let d = D::fit(&train, &config()).unwrap();
    let (test, _) = with_outlier(ordinary_at(3, 2, w));
    let scores = d.score(&test).unwrap();
    assert_eq!(scores.len(), test.len());
    assert!(
        scores.iter().all(|s| s.is_finite() && *s >= 0.0),
        "{}: a score is not finite or negative",
        D::NAME
    );
}

fn row_order_does_not_matter<D: Detector>(w: i64) {
    let train = ordinary_at(train_days(w), 3, w);
    let (test, _) = with_outlier(ordinary_at(2, 4, w));
    let a = D::fit(&train, &config()).unwrap().score(&test).unwrap();
    let (train_p, _) = permuted(&train, 9);
    let (test_p, idx) = permuted(&test, 10);
    let b = D::fit(&train_p, &config()).unwrap().score(&test_p).unwrap();
    for (k, &i) in idx.iter().enumerate() {
        assert!(
            (a[i] - b[k]).abs() <= 1e-9 * a[i].abs().max(1.0),
            "{}: row {i} scored {} in order and {} shuffled",
            D::NAME,
            a[i],
            b[k]
        );
    }
}

fn an_injected_outlier_ranks_high<D: Detector>(w: i64) {
    let train = ordinary_at(train_days(w), 5, w);
    let (test, at) = with_outlier(ordinary_at(3, 6, w));
    let scores = D::fit(&train, &config()).unwrap().score(&test).unwrap();
    let above = scores.iter().filter(|&&s| s >= scores[at]).count();
    assert_eq!(
        above,
        1,
        "{}: the outlier ranks {above} of {} (score {})",
        D::NAME,
        scores.len(),
        scores[at]
    );
}

fn empty_input_is_an_error<D: Detector>(w: i64) {
    let empty = WindowFeatures {
        window_secs: w,
        ..WindowFeatures::default()
    };
    assert!(
        matches!(D::fit(&empty, &config()), Err(Error::EmptyInput(_))),
        "{}: fitting on no rows",
        D::NAME
    );
    let d = D::fit(&ordinary_at(2, 7, w), &config()).unwrap();
    let err = d.score(&empty).err().map(|e| e.to_string());
    assert_eq!(
        err,
        Some(format!(
            "{}: no rows; fitting and scoring need at least one feature row",
            D::NAME
        ))
    );
}

macro_rules! conformance {
    ($module:ident, $detector:ty, $window_secs:expr) => {
        mod $module {
            use super::*;
            #[test]
            fn scores_are_finite() {
                super::scores_are_finite::<$detector>($window_secs);
            }
            #[test]
            fn row_order_does_not_matter() {
                super::row_order_does_not_matter::<$detector>($window_secs);
            }
            #[test]
            fn an_injected_outlier_ranks_high() {
                super::an_injected_outlier_ranks_high::<$detector>($window_secs);
            }
            #[test]
            fn empty_input_is_an_error() {
                super::empty_input_is_an_error::<$detector>($window_secs);
            }
        }
    };
}

// Every detector at the main window (5 minutes) and at the short one (1 minute).
conformance!(robust_baseline, RobustBaseline, 300);
conformance!(kmeans, KMeansDetector, 300);
conformance!(combined, AnomalyModel, 300);
conformance!(robust_baseline_1min, RobustBaseline, 60);
conformance!(kmeans_1min, KMeansDetector, 60);
conformance!(combined_1min, AnomalyModel, 60);

/// The two-window model: fitted on 5-minute and 1-minute rows of the same days.
fn two_window_model(cfg: &ModelConfig) -> AnomalyModel {
    AnomalyModel::fit_windows(
        &[ordinary_at(10, 21, 300), ordinary_at(10, 22, 60)],
        History::new(),
        cfg,
    )
    .unwrap()
}

#[test]
fn a_two_window_model_scores_both_lengths_and_flags_an_outlier_in_either() {
    let model = two_window_model(&config());
    assert_eq!(model.window_lengths(), [300, 60]);
    assert_eq!(model.windows[0].scale, 1.0);
    assert!(model.windows[1].scale.is_finite() && model.windows[1].scale > 0.0);
    for w in [300, 60] {
        let (test, at) = with_outlier(ordinary_at(3, 23, w));
        let scores = model.score_rows(&test).unwrap();
        assert!(scores.iter().all(|s| s.window_secs == w));
        assert!(scores.iter().all(|s| (0.0..1.0).contains(&s.score)));
        assert!(scores[at].is_anomalous, "{w} s: {:?}", scores[at]);
        let above = scores
            .iter()
            .filter(|s| s.score >= scores[at].score)
            .count();
        assert_eq!(above, 1, "{w} s: the outlier ranks {above}");
    }
}

#[test]
fn rows_of_a_window_length_the_model_was_not_fitted_for_are_refused() {
    let model = two_window_model(&config());
    let err = model
        .score_rows(&ordinary_at(1, 24, 120))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the rows have 120 s windows; this model scores windows of [300, 60] s"),
        "{err}"
    );
}

#[test]
fn two_window_lengths_together_keep_the_false_alarm_budget_on_training_days() {
    let cfg = ModelConfig {
        learning_days: 0.0,
        false_alarms_per_bucket_day: 0.1,
        threshold_margin: 1.0,
        ..ModelConfig::default()
    };
    let rows = [ordinary_at(20, 25, 300), ordinary_at(20, 26, 60)];
    let model = AnomalyModel::fit_windows(&rows, History::new(), &cfg).unwrap();
    // 2 buckets x 20 days = 40 bucket-days: 4 alarm-days allowed over both lengths together.
    assert_eq!(model.summary.bucket_days, 40);
    let mut alarm_days = std::collections::BTreeSet::new();
    for r in &rows {
        for s in model
            .score_rows(r)
            .unwrap()
            .iter()
            .filter(|s| s.is_anomalous)
        {
            let group = s
                .subject
                .bucket
                .clone()
                .unwrap_or_else(|| s.subject.to_string());
            alarm_days.insert((group, s.window_start_us / 86_400_000_000));
        }
    }
    assert!(
        alarm_days.len() <= 4,
        "{} alarm-days on the training rows of both lengths",
        alarm_days.len()
    );
}

#[test]
fn combined_scores_lie_in_zero_one_and_the_outlier_is_anomalous_and_explained() {
    let model = AnomalyModel::fit_rows(&ordinary(10, 11), History::new(), &config()).unwrap();
    let (test, at) = with_outlier(ordinary(3, 12));
    let scores = model.score_rows(&test).unwrap();
    assert!(scores.iter().all(|s| (0.0..=1.0).contains(&s.score)));
    assert!(
        model.threshold > 0.0 && model.threshold < 1.0,
        "{}",
        model.threshold
    );
    let s = &scores[at];
    assert!(
        s.is_anomalous,
        "outlier score {} <= threshold {}",
        s.score, s.threshold
    );
    assert!(!s.learning);
    assert_eq!(s.top_features.len(), 3);
    let names: Vec<&str> = s.top_features.iter().map(|c| c.name.as_str()).collect();
    assert!(
        names.iter().any(|n| [
            "overwrites",
            "new_ips",
            "new_user_agents",
            "ops_put",
            "bytes_in",
            "distinct_keys"
        ]
        .contains(n)),
        "{names:?}"
    );
    for c in &s.top_features {
        assert!(c.deviation > 0.0 && c.value > c.baseline, "{c:?}");
        assert!(FEATURES.iter().any(|f| f.name == c.name));
    }
}

#[test]
fn the_threshold_lets_through_at_most_the_false_alarm_budget_on_training_days() {
    let rows = ordinary(20, 13);
    let cfg = ModelConfig {
        learning_days: 0.0,
        false_alarms_per_bucket_day: 0.1,
        // The budget is met exactly at margin 1 (the default; another margin moves the threshold).
        threshold_margin: 1.0,
        ..ModelConfig::default()
    };
    let model = AnomalyModel::fit_rows(&rows, History::new(), &cfg).unwrap();
    // 2 buckets x 20 days = 40 bucket-days: 4 alarm-days allowed.
    assert_eq!(model.summary.bucket_days, 40);
    assert!(
        model.summary.calibration_alarm_days <= 4,
        "{:?}",
        model.summary
    );
    let scores = model.score_rows(&rows).unwrap();
    let mut alarm_days = std::collections::BTreeSet::new();
    for s in scores.iter().filter(|s| s.is_anomalous) {
        let group = s
            .subject
            .bucket
            .clone()
            .unwrap_or_else(|| s.subject.to_string());
        alarm_days.insert((group, s.window_start_us / 86_400_000_000));
    }
    assert!(
        alarm_days.len() <= 4,
        "{} alarm-days on the training rows",
        alarm_days.len()
    );
}

#[test]
fn a_training_period_shorter_than_the_budget_needs_keeps_its_highest_day_below_the_threshold() {
    // 2 buckets x 6 days = 12 bucket-days: at one alarm per 30 bucket-days, not one alarm-day is
    // allowed; the threshold is extrapolated from the highest days, never below the highest.
    let rows = ordinary(6, 17);
    let short = ModelConfig {
        learning_days: 0.0,
        ..ModelConfig::default()
    };
    let model = AnomalyModel::fit_rows(&rows, History::new(), &short).unwrap();
    assert_eq!(model.summary.bucket_days, 12);
    assert_eq!(model.summary.calibration_alarm_days, 0);
    let scores = model.score_rows(&rows).unwrap();
    assert!(scores.iter().all(|s| !s.is_anomalous));
}

#[test]
fn windows_in_the_first_learning_days_are_flagged_learning() {
    let rows = ordinary(4, 14);
    let cfg = ModelConfig {
        learning_days: 2.0,
        ..ModelConfig::default()
    };
    let model = AnomalyModel::fit_rows(&rows, History::new(), &cfg).unwrap();
    assert_eq!(model.learning_until_us, MONDAY_US + 2 * 86_400_000_000);
    let scores = model.score_rows(&rows).unwrap();
    for s in &scores {
        assert_eq!(
            s.learning,
            s.window_start_us < MONDAY_US + 2 * 86_400_000_000
        );
    }
    assert!(scores.iter().any(|s| s.learning) && scores.iter().any(|s| !s.learning));
}

#[test]
fn an_artifact_round_trips_and_scores_the_same() {
    let model = AnomalyModel::fit_rows(&ordinary(8, 15), History::new(), &config()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.json");
    model.save(&path).unwrap();
    let back = AnomalyModel::load(&path).unwrap();
    assert_eq!(back.format_version, FORMAT_VERSION);
    let (test, _) = with_outlier(ordinary(1, 16));
    let a: Vec<f64> = model
        .score_rows(&test)
        .unwrap()
        .iter()
        .map(|s| s.score)
        .collect();
    let b: Vec<f64> = back
        .score_rows(&test)
        .unwrap()
        .iter()
        .map(|s| s.score)
        .collect();
    // JSON keeps floats to within an ulp or so (serde_json without float_roundtrip).
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-12,
            "row {i}: {x} before saving, {y} after loading"
        );
    }
    assert!(
        back.threshold.to_bits() == model.threshold.to_bits()
            || (back.threshold - model.threshold).abs() < 1e-15
    );
}

#[test]
fn an_artifact_of_another_format_version_is_refused_naming_both_versions() {
    let model = AnomalyModel::fit_rows(&ordinary(3, 17), History::new(), &config()).unwrap();
    let mut v = serde_json::to_value(&model).unwrap();
    v["format_version"] = serde_json::json!(99);
    let err = AnomalyModel::from_json(&v.to_string(), "old.json")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "old.json: the model has format_version 99, this tierd reads format_version {FORMAT_VERSION}; retrain it with this tierd (tierd train)"
        )
    );
}

#[test]
fn an_artifact_with_another_feature_list_is_refused_naming_both_lists() {
    let model = AnomalyModel::fit_rows(&ordinary(3, 18), History::new(), &config()).unwrap();
    let mut v = serde_json::to_value(&model).unwrap();
    v["feature_names"][2] = serde_json::json!("ops_teleport");
    let err = AnomalyModel::from_json(&v.to_string(), "m.json")
        .unwrap_err()
        .to_string();
    let names: Vec<&str> = FEATURES.iter().map(|f| f.name).collect();
    let mut theirs = names.clone();
    theirs[2] = "ops_teleport";
    assert_eq!(
        err,
        format!(
            "m.json: the model's feature list differs from this tierd's at position 2: the model has {N_FEATURES} features [{}], this tierd computes {N_FEATURES} [{}]; retrain it with this tierd (tierd train)",
            theirs.join(", "),
            names.join(", ")
        )
    );
}

#[test]
fn a_bad_model_configuration_lists_every_problem() {
    let cfg = ModelConfig {
        learning_days: -1.0,
        kmeans_clusters: 0,
        top_k: 0,
        ..ModelConfig::default()
    };
    let err = cfg.check().unwrap_err().to_string();
    assert!(
        err.starts_with("the model configuration is not valid:\n"),
        "{err}"
    );
    assert!(
        err.contains("learning_days = -1: expected 0 to 3650 days (default 7)"),
        "{err}"
    );
    assert!(
        err.contains("kmeans_clusters = 0: expected 1 to 64 (default 8)"),
        "{err}"
    );
    assert!(
        err.contains("top_k = 0: expected 1 to 26 (default 3)"),
        "{err}"
    );
}
