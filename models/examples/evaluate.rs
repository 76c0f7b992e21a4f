//! The evaluation benchmark: generated S3 access logs with injected incidents, a model trained on
//! the clean first days, scored on the rest; recall per incident type, false alarms per
//! bucket-day, detection latency and malicious operations before detection.
//!
//! `cargo run -p tierd-models --example evaluate` reports on the held-out seeds;
//! `-- --tune` on the tuning seeds (the ones settings were chosen on); `-- --seeds 7,8` on others;
//! `-- --margin 1.2` overrides the threshold margin; `-- --window 60` the main window in seconds;
//! `-- --extra-windows 60,3600` the other window lengths (`-- --extra-windows none` for none).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::time::Instant;

use models::AccessEvent;
use models::detect::{AnomalyModel, ModelConfig, Scorer, SubjectScore};
use models::features::SubjectKind;
use models::generator::{GeneratorConfig, GroundTruth, Incident, generate};
use models::parse::s3;

const DAY_US: i64 = 86_400_000_000;
const TUNING_SEEDS: [u64; 3] = [1, 2, 3];
const HELD_OUT_SEEDS: [u64; 5] = [101, 102, 103, 104, 105];
const TRAIN_DAYS: u32 = 30;
const TEST_DAYS: u32 = 14;

/// Parses generated lines as they are written and hands each day's events on.
struct DaySink<F: FnMut(Vec<AccessEvent>)> {
    partial: Vec<u8>,
    day: i64,
    events: Vec<AccessEvent>,
    on_day: F,
}

impl<F: FnMut(Vec<AccessEvent>)> Write for DaySink<F> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.partial.extend_from_slice(buf);
        let mut start = 0;
        while let Some(i) = memchr_newline(&self.partial[start..]) {
            let line = std::str::from_utf8(&self.partial[start..start + i])
                .map_err(std::io::Error::other)?;
            if let Some(mut e) = s3::parse_line(line).map_err(std::io::Error::other)? {
                e.request_id = None;
                let day = e.time_us.div_euclid(DAY_US);
                if day != self.day && !self.events.is_empty() {
                    (self.on_day)(std::mem::take(&mut self.events));
                }
                self.day = day;
                self.events.push(e);
            }
            start += i + 1;
        }
        self.partial.drain(..start);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        if !self.events.is_empty() {
            (self.on_day)(std::mem::take(&mut self.events));
        }
        Ok(())
    }
}

fn memchr_newline(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

/// What one seed gave.
struct SeedResult {
    truth: GroundTruth,
    /// Alarms (anomalous, not learning) in the test period.
    alarms: Vec<SubjectScore>,
    /// With --explain: every test-period score of an incident's bucket or principal.
    near: Vec<SubjectScore>,
    train_secs: f64,
    test_start_us: i64,
    threshold: f64,
}

fn run_seed(
    seed: u64,
    config: &ModelConfig,
    explain: bool,
) -> Result<SeedResult, Box<dyn std::error::Error>> {
    let gen_cfg = GeneratorConfig {
        seed,
        days: TRAIN_DAYS + TEST_DAYS,
        buckets: 3,
        objects_per_bucket: 3_000,
        app_ops_per_day: 10_000,
        incidents_from_day: TRAIN_DAYS,
        incidents_per_bucket: 6,
        benign_bursts: true,
        ..GeneratorConfig::default()
    };
    let test_start_us = (gen_cfg.start_day + TRAIN_DAYS as i64) * DAY_US;
    let mut train: Vec<AccessEvent> = Vec::new();
    let mut state: Option<(AnomalyModel, models::features::History)> = None;
    let mut alarms = Vec::new();
    let mut near = Vec::new();
    let mut error: Option<String> = None;
    let mut train_secs = 0.0;
    let sink = DaySink {
        partial: Vec::new(),
        day: i64::MIN,
        events: Vec::new(),
        on_day: |events: Vec<AccessEvent>| {
            if error.is_some() {
                return;
            }
            let day_us = events.first().map_or(0, |e| e.time_us);
            if day_us < test_start_us {
                train.extend(events);
                return;
            }
            if state.is_none() {
                let t = Instant::now();
                match AnomalyModel::train(std::mem::take(&mut train), config) {
                    Ok(s) => state = Some(s),
                    Err(e) => {
                        error = Some(e.to_string());
                        return;
                    }
                }
                train_secs = t.elapsed().as_secs_f64();
            }
            let Some((model, history)) = state.take() else {
                return;
            };
            let mut scorer = Scorer::with_history(&model, history);
            match scorer.score_events(&events) {
                Ok(scores) => {
                    for s in scores {
                        if s.is_anomalous && !s.learning {
                            alarms.push(s);
                        } else if explain && s.score > 0.3 {
                            near.push(s);
                        }
                    }
                }
                Err(e) => error = Some(e.to_string()),
            }
            let history = scorer.history().clone();
            state = Some((model, history));
        },
    };
    let mut sink = sink;
    let truth = generate(&gen_cfg, &mut sink)?;
    sink.flush()?;
    drop(sink);
    if let Some(e) = error {
        return Err(e.into());
    }
    let threshold = state.as_ref().map_or(0.0, |s| s.0.threshold);
    if explain && let Some((m, _)) = &state {
        for p in &m.summary.calibration_top {
            println!(
                "  calibration peak: {:.3} {} at {} ({} s window): {}",
                p.score,
                p.subject,
                p.window_start_us,
                p.window_secs,
                p.features.join("; ")
            );
        }
        for w in &m.windows {
            println!(
                "  window {} s: scale {:.3}, normalisation {:?}; feature scales: {:?}",
                w.window_secs, w.scale, w.normalisation, w.baseline.feature_scale
            );
        }
    }
    Ok(SeedResult {
        truth,
        alarms,
        near,
        train_secs,
        test_start_us,
        threshold,
    })
}

/// Whether an alarm is about the incident: same bucket (bucket or principal-in-bucket subject)
/// or the incident's principal, in a window overlapping the incident.
fn matches(a: &SubjectScore, inc: &Incident) -> bool {
    let w_us = a.window_secs * 1_000_000;
    let overlaps = a.window_start_us + w_us > inc.start_us && a.window_start_us <= inc.end_us;
    let subject_fits = match a.subject.kind {
        SubjectKind::Bucket => a.subject.bucket.as_deref() == Some(&inc.bucket),
        SubjectKind::PrincipalInBucket => {
            a.subject.bucket.as_deref() == Some(&inc.bucket)
                && a.subject.principal.as_deref() == Some(&inc.principal)
        }
        SubjectKind::Principal => a.subject.principal.as_deref() == Some(&inc.principal),
    };
    overlaps && subject_fits
}

#[derive(Default)]
struct Tally {
    incidents: u64,
    detected: u64,
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut seeds: Vec<u64> = HELD_OUT_SEEDS.to_vec();
    let mut label = "held-out";
    let mut config = ModelConfig::default();
    let mut explain = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--tune" => {
                seeds = TUNING_SEEDS.to_vec();
                label = "tuning";
            }
            "--seeds" => {
                seeds = it
                    .next()
                    .ok_or("--seeds needs a list")?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?;
                label = "given";
            }
            "--explain" => explain = true,
            "--margin" => {
                config.threshold_margin = it.next().ok_or("--margin needs a number")?.parse()?
            }
            "--window" => {
                config.features.window_secs = it.next().ok_or("--window needs seconds")?.parse()?
            }
            "--extra-windows" => {
                let list = it.next().ok_or("--extra-windows needs a list of seconds")?;
                config.extra_window_secs = if list == "none" {
                    Vec::new()
                } else {
                    list.split(',').map(str::parse).collect::<Result<_, _>>()?
                };
            }
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    println!(
        "evaluate: {label} seeds {seeds:?}; {TRAIN_DAYS} training days (clean), {TEST_DAYS} test days with incidents; 3 buckets"
    );
    println!(
        "settings: window {} s, extra windows {:?} s, threshold_margin {}, false_alarms_per_bucket_day {:.4}",
        config.features.window_secs,
        config.extra_window_secs,
        config.threshold_margin,
        config.false_alarms_per_bucket_day
    );
    let mut by_kind: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_variant: BTreeMap<String, Tally> = BTreeMap::new();
    let mut latencies = Vec::new();
    let mut ops_before = Vec::new();
    let mut false_alarm_days = 0u64;
    let mut aftermath_days = 0u64;
    let mut bucket_days = 0u64;
    let mut fa_causes: BTreeMap<String, u64> = BTreeMap::new();
    let mut missed: Vec<String> = Vec::new();
    for &seed in &seeds {
        let t = Instant::now();
        let r = run_seed(seed, &config, explain)?;
        let mut seed_detected = 0;
        for inc in &r.truth.incidents {
            // Scores are produced when a window closes: the first alarm is the earliest close.
            let first = r
                .alarms
                .iter()
                .filter(|a| matches(a, inc))
                .map(|a| a.window_start_us + a.window_secs * 1_000_000)
                .min();
            let kind = by_kind.entry(inc.kind.as_str().to_owned()).or_default();
            kind.incidents += 1;
            let variant = by_variant
                .entry(format!("{} {} {}", inc.speed, inc.size, inc.actor))
                .or_default();
            variant.incidents += 1;
            match first {
                Some(at) => {
                    kind.detected += 1;
                    variant.detected += 1;
                    seed_detected += 1;
                    latencies.push((at - inc.start_us).max(0) as f64 / 1e6);
                    ops_before.push(inc.op_times_us.iter().filter(|&&t| t < at).count() as f64);
                }
                None if explain => {
                    let best = r
                        .near
                        .iter()
                        .filter(|a| matches(a, inc))
                        .max_by(|a, b| a.score.total_cmp(&b.score));
                    let why = best.map_or("no score above 0.3".to_string(), |b| {
                        let tops: Vec<String> =
                            b.top_features.iter().map(ToString::to_string).collect();
                        format!(
                            "best {:.3} on {} ({} s window): {}",
                            b.score,
                            b.subject,
                            b.window_secs,
                            tops.join("; ")
                        )
                    });
                    missed.push(format!(
                        "seed {seed}: {} {} {} {} ({} ops): {why}",
                        inc.kind.as_str(),
                        inc.speed,
                        inc.size,
                        inc.actor,
                        inc.malicious_ops
                    ));
                }
                None => missed.push(format!(
                    "seed {seed}: {} {} {} {} ({} ops, {}, {})",
                    inc.kind.as_str(),
                    inc.speed,
                    inc.size,
                    inc.actor,
                    inc.malicious_ops,
                    inc.bucket,
                    inc.principal.rsplit('/').next().unwrap_or("")
                )),
            }
        }
        // False alarms: alarm days (per bucket, or per principal for principal subjects) with
        // an alarm that overlaps no incident.
        let mut fa: BTreeSet<(String, i64)> = BTreeSet::new();
        for a in &r.alarms {
            if r.truth.incidents.iter().any(|inc| matches(a, inc)) {
                continue;
            }
            let group = a
                .subject
                .bucket
                .clone()
                .unwrap_or_else(|| a.subject.to_string());
            if fa.insert((group.clone(), a.window_start_us.div_euclid(DAY_US))) {
                if explain {
                    let tops: Vec<String> = a
                        .top_features
                        .iter()
                        .map(|f| format!("{}={} (baseline {:.1})", f.name, f.value, f.baseline))
                        .collect();
                    println!(
                        "  false alarm: seed {seed}: {:.3} on {} at {} ({} s window): {}",
                        a.score,
                        a.subject,
                        a.window_start_us,
                        a.window_secs,
                        tops.join("; ")
                    );
                }
                let cause = r
                    .truth
                    .benign
                    .iter()
                    .filter(|b| {
                        (b.bucket == group || a.subject.principal.as_deref() == Some(&b.principal))
                            && (a.window_start_us - b.start_us).abs() < 3 * 3_600_000_000
                    })
                    .map(|b| b.kind.clone())
                    .next()
                    .unwrap_or_else(|| "unattributed".into());
                let top = a
                    .top_features
                    .first()
                    .map_or("-".to_string(), |f| f.name.clone());
                *fa_causes
                    .entry(format!("{cause} (top feature {top})"))
                    .or_default() += 1;
            }
        }
        // Of those, alarm-days in a bucket within 24 h after an incident there ended: the
        // incident's aftermath (renamed keys being touched, the attacker's IP still active).
        let aftermath = fa
            .iter()
            .filter(|(group, day)| {
                r.truth.incidents.iter().any(|inc| {
                    (&inc.bucket == group || group.contains(&inc.principal))
                        && *day >= inc.end_us.div_euclid(DAY_US)
                        && *day * DAY_US <= inc.end_us + DAY_US
                })
            })
            .count() as u64;
        aftermath_days += aftermath;
        false_alarm_days += fa.len() as u64;
        bucket_days += r.truth.buckets.len() as u64 * TEST_DAYS as u64;
        println!(
            "seed {seed}: {} lines, {} incidents, {} detected, {} false-alarm days; threshold {:.3}; training {:.1} s; seed total {:.1} s",
            r.truth.lines,
            r.truth.incidents.len(),
            seed_detected,
            fa.len(),
            r.threshold,
            r.train_secs,
            t.elapsed().as_secs_f64()
        );
        let _ = r.test_start_us;
    }
    let total: u64 = by_kind.values().map(|t| t.incidents).sum();
    let detected: u64 = by_kind.values().map(|t| t.detected).sum();
    println!("\n| incident type | detected / injected | recall |\n|---|---|---|");
    for (k, t) in &by_kind {
        println!(
            "| {k} | {} / {} | {:.2} |",
            t.detected,
            t.incidents,
            t.detected as f64 / t.incidents.max(1) as f64
        );
    }
    println!(
        "| **all** | {detected} / {total} | **{:.3}** |",
        detected as f64 / total.max(1) as f64
    );
    println!("\n| variant (speed size actor) | detected / injected |\n|---|---|");
    for (k, t) in &by_variant {
        println!("| {k} | {} / {} |", t.detected, t.incidents);
    }
    let fa_rate = false_alarm_days as f64 / bucket_days.max(1) as f64;
    println!(
        "\nfalse alarms: {false_alarm_days} alarm-days over {bucket_days} bucket-days = {:.3} per bucket-day = {:.2} per 30 bucket-days",
        fa_rate,
        fa_rate * 30.0
    );
    let clean = false_alarm_days - aftermath_days;
    println!(
        "  of which {aftermath_days} within 24 h after an incident in the same bucket (its aftermath); without them: {clean} = {:.2} per 30 bucket-days",
        clean as f64 / bucket_days.max(1) as f64 * 30.0
    );
    for (c, n) in &fa_causes {
        println!("  false alarm cause: {c}: {n}");
    }
    println!(
        "detection latency (window close - incident start): median {:.0} s over {} detections",
        median(&mut latencies),
        latencies.len()
    );
    println!(
        "malicious operations before detection: median {:.0}, mean {:.0}",
        median(&mut ops_before.clone()),
        ops_before.iter().sum::<f64>() / ops_before.len().max(1) as f64
    );
    for m in &missed {
        println!("  missed: {m}");
    }
    Ok(())
}
