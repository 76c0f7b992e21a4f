//! Whole scenarios through the model: generated training days, a trained model, then events as
//! a service would see them after training, scored the way the service scores them (a scorer
//! started from the artifact, without key state).
//!
//! The first scenario is the end-to-end service test's (`tests/tests/service_e2e.rs`): stolen
//! credentials of `bucket-00`'s service overwrite every document in place, in seconds, from a new
//! IP with boto3's own user agent.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics reports its failure

use models::detect::{AnomalyModel, ModelConfig, Scorer, SubjectScore};
use models::event::{AccessEvent, OpClass};
use models::generator::{GeneratorConfig, generate};
use models::parse::s3;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

const DAY_US: i64 = 86_400_000_000;
const HOUR_US: i64 = 3_600_000_000;
const SEC_US: i64 = 1_000_000;
const ACCOUNT: &str = "arn:aws:iam::123456789012";
/// The service principals' SDK, as in the generated training logs.
const JAVA: &str = "aws-sdk-java/2.25.0 Linux/6.1 OpenJDK_64-Bit_Server_VM/21";
/// boto3's own user agent (the intruder's client sets none).
const BOTO3: &str = "Boto3/1.35.36 md/Botocore#1.35.36 ua/2.0 os/linux#6.8.0 md/arch#x86_64 lang/python#3.12.3 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.36";

/// The generated logs as events.
fn generated(cfg: &GeneratorConfig) -> Vec<AccessEvent> {
    let mut buf = Vec::new();
    let truth = generate(cfg, &mut buf).expect("generating into memory cannot fail");
    assert!(truth.incidents.is_empty());
    let text = String::from_utf8(buf).expect("generated lines are UTF-8");
    text.lines()
        .map(|l| s3::parse_line(l).expect("generated lines parse"))
        .map(|e| e.expect("generated lines are events"))
        .collect()
}

/// One request of the scenario, as the S3 parser reads its log line.
fn request(
    time_us: i64,
    who: (&str, &str, &str),
    bucket: &str,
    op: OpClass,
    key: Option<&str>,
    size: Option<u64>,
) -> AccessEvent {
    let (principal, ip, ua) = who;
    let (operation, status) = match op {
        OpClass::Put => ("REST.PUT.OBJECT", 200),
        OpClass::Get if size.is_none() => ("REST.GET.OBJECT", 404),
        OpClass::Get => ("REST.GET.OBJECT", 200),
        OpClass::List => ("REST.GET.BUCKET", 200),
        _ => ("REST.HEAD.OBJECT", 200),
    };
    AccessEvent {
        time_us,
        op,
        operation: operation.into(),
        bucket: bucket.into(),
        key: key.map(str::to_owned),
        principal: Some(format!("{ACCOUNT}:{principal}")),
        source_ip: Some(ip.into()),
        status: Some(status),
        error_code: (status == 404).then(|| "NoSuchKey".into()),
        bytes_sent: match op {
            OpClass::Get => Some(size.unwrap_or(243)),
            OpClass::List => Some(4_000),
            _ => None,
        },
        bytes_received: (op == OpClass::Put).then_some(size.unwrap_or(0)),
        object_size: size,
        user_agent: Some(ua.into()),
        ..AccessEvent::default()
    }
}

/// The service test's story after training, from `today` (the first day after the training
/// logs): the archive written 40 days ago, documents and projects written two days ago, a little
/// live benign traffic at `now_us`, then the intruder's in-place overwrite of every document
/// `attack_after_s` seconds later. Returns the events before the attack and the attack.
fn service_story(
    today_us: i64,
    now_us: i64,
    attack_after_s: i64,
) -> (Vec<AccessEvent>, Vec<AccessEvent>) {
    let app00 = ("user/app-00", "10.0.0.10", JAVA);
    let app01 = ("user/app-01", "10.0.1.10", JAVA);
    let intruder = ("user/app-00", "203.0.113.66", BOTO3);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2026);
    let mut before = Vec::new();
    let day40 = today_us - 40 * DAY_US + 10 * HOUR_US;
    for i in 0..12 {
        let key = format!("archive/2025/{i:03}.parquet");
        let size = rng.gen_range(1_500_000..3_000_000);
        before.push(request(
            day40 + i * 120 * SEC_US,
            app01,
            "bucket-01",
            OpClass::Put,
            Some(&key),
            Some(size),
        ));
    }
    let day2 = today_us - 2 * DAY_US + 9 * HOUR_US;
    let mut docs: Vec<(String, u64)> = (0..160)
        .map(|i| (format!("docs/{i:04}.pdf"), rng.gen_range(4_000..16_000)))
        .collect();
    let mut t = day2;
    for (key, size) in &docs {
        before.push(request(
            t,
            app00,
            "bucket-00",
            OpClass::Put,
            Some(key),
            Some(*size),
        ));
        t += 20 * SEC_US;
    }
    let projects: Vec<(String, u64)> = (0..10)
        .map(|i| (format!("projects/{i:03}.csv"), rng.gen_range(8_000..32_000)))
        .collect();
    for (key, size) in &projects {
        before.push(request(
            t,
            app01,
            "bucket-01",
            OpClass::Put,
            Some(key),
            Some(*size),
        ));
        t += 20 * SEC_US;
    }
    // A little live benign traffic, one request every 50 ms.
    let mut t = now_us;
    let mut tick = || {
        t += 50_000;
        t
    };
    for (key, size) in docs.iter().step_by(16) {
        before.push(request(
            tick(),
            app00,
            "bucket-00",
            OpClass::Get,
            Some(key),
            Some(*size),
        ));
    }
    for i in 0..3u64 {
        let key = format!("docs/new-{i}.pdf");
        let size = 6_000 + 1_000 * i;
        before.push(request(
            tick(),
            app00,
            "bucket-00",
            OpClass::Put,
            Some(&key),
            Some(size),
        ));
        docs.push((key, size));
    }
    before.push(request(
        tick(),
        app00,
        "bucket-00",
        OpClass::Get,
        Some("docs/missing.pdf"),
        None,
    ));
    for (key, size) in projects.iter().take(5) {
        before.push(request(
            tick(),
            app01,
            "bucket-01",
            OpClass::Get,
            Some(key),
            Some(*size),
        ));
    }
    before.push(request(
        tick(),
        app01,
        "bucket-01",
        OpClass::List,
        None,
        None,
    ));
    // Every document overwritten in place, 16 bytes longer, about 30 a second.
    docs.sort();
    let start = now_us + attack_after_s * SEC_US;
    let attack = docs
        .iter()
        .enumerate()
        .map(|(i, (key, size))| {
            request(
                start + i as i64 * 33_000,
                intruder,
                "bucket-00",
                OpClass::Put,
                Some(key),
                Some(size + 16),
            )
        })
        .collect();
    (before, attack)
}

/// The service test's model: `tierd train --learning-days 2` on eight generated benign days.
fn service_model(start_day: i64) -> (AnomalyModel, i64) {
    let cfg = GeneratorConfig {
        seed: 7,
        start_day,
        days: 8,
        buckets: 2,
        objects_per_bucket: 400,
        app_ops_per_day: 3_000,
        incidents_per_bucket: 0,
        ..GeneratorConfig::default()
    };
    let config = ModelConfig {
        learning_days: 2.0,
        ..ModelConfig::default()
    };
    let (model, _) = AnomalyModel::train(generated(&cfg), &config).expect("the model trains");
    (model, (cfg.start_day + i64::from(cfg.days)) * DAY_US)
}

fn describe(s: &SubjectScore) -> String {
    let tops: Vec<String> = s.top_features.iter().map(ToString::to_string).collect();
    format!(
        "{:.3} (threshold {:.3}) {} at {} ({} s): {}",
        s.score,
        s.threshold,
        s.subject,
        s.window_start_us,
        s.window_secs,
        tops.join("; ")
    )
}

#[test]
fn a_mass_in_place_overwrite_from_a_new_ip_and_client_is_caught_at_any_hour() {
    // 2026-11-21 (the run that missed), then every other day of the week.
    for start_day in 20_778..20_785 {
        let (model, today_us) = service_model(start_day);
        for p in &model.summary.calibration_top {
            println!(
                "calibration peak {:.3} {} at {} ({} s): {}",
                p.score,
                p.subject,
                p.window_start_us,
                p.window_secs,
                p.features.join("; ")
            );
        }
        for hour in [3, 10, 14, 22] {
            let now_us = today_us + hour * HOUR_US + 17 * 60 * SEC_US;
            let (before, attack) = service_story(today_us, now_us, 90);
            let attack_from = attack[0].time_us;
            let mut scorer = Scorer::new(&model);
            let events: Vec<AccessEvent> = before.into_iter().chain(attack).collect();
            let scores = scorer.score_events(&events).expect("scores");
            let best = scores
                .iter()
                .filter(|s| s.window_start_us + s.window_secs * SEC_US > attack_from)
                .max_by(|a, b| a.score.total_cmp(&b.score))
                .expect("the attack's windows are scored");
            println!(
                "day {start_day} hour {hour}: best attack window {}",
                describe(best)
            );
            let before: Vec<String> = scores
                .iter()
                .filter(|s| {
                    s.is_anomalous && s.window_start_us + s.window_secs * SEC_US <= attack_from
                })
                .map(describe)
                .collect();
            assert!(
                before.is_empty(),
                "day {start_day} hour {hour}: benign windows before the attack fired:\n{}",
                before.join("\n")
            );
            assert!(
                best.is_anomalous,
                "day {start_day} hour {hour}: missed: {}",
                describe(best)
            );
        }
    }
}

/// The benign days that follow the service test's training days: quiet on the day the service
/// test ran (2026-11-29, after training on 2026-11-21..28), and, for training periods starting
/// on every day of the week, alarms on the two days after training only where those days hold
/// what eight days of training never saw: a principal's first appearance (the month-end ETL
/// role) or a bucket configuration change (the admin's lifecycle edit, which is also how a
/// lifecycle-tampering attack looks).
#[test]
fn the_benign_days_after_training_fire_only_on_what_training_never_saw() {
    for start_day in 20_778..20_785 {
        let cfg = GeneratorConfig {
            seed: 7,
            start_day,
            days: 10,
            buckets: 2,
            objects_per_bucket: 400,
            app_ops_per_day: 3_000,
            incidents_per_bucket: 0,
            ..GeneratorConfig::default()
        };
        let events = generated(&cfg);
        let today_us = (start_day + 8) * DAY_US;
        let split = events.partition_point(|e| e.time_us < today_us);
        let config = ModelConfig {
            learning_days: 2.0,
            ..ModelConfig::default()
        };
        let (model, history) =
            AnomalyModel::train(events[..split].to_vec(), &config).expect("the model trains");
        let mut scorer = Scorer::with_history(&model, history);
        let scores = scorer.score_events(&events[split..]).expect("scores");
        assert!(scores.len() > 1_000, "{} scores", scores.len());
        for s in scores.iter().filter(|s| s.is_anomalous) {
            let unseen = s.flags.principal_is_new || !s.flags.config_changed.is_empty();
            assert!(
                unseen,
                "day {start_day}: a benign window fired: {}",
                describe(s)
            );
            assert!(
                start_day != 20_778 || s.window_start_us >= today_us + DAY_US,
                "the service test's day fired: {}",
                describe(s)
            );
        }
    }
}
