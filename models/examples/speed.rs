//! Speed benchmark: the generator, feature extraction + scoring (events/s), and training on 30
//! days of one busy bucket. A benchmark, not a timed test.
//!
//! `cargo run -p tierd-models --example speed` (add `-- --app-ops 100000` to change how busy the
//! bucket is: requests per day of its service principal).

use std::time::Instant;

use models::AccessEvent;
use models::detect::{AnomalyModel, ModelConfig, Scorer};
use models::features::{FeatureConfig, History, extract};
use models::generator::{GeneratorConfig, generate};
use models::parse::s3;

const DAY_US: i64 = 86_400_000_000;

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

struct CountingSink(u64);

impl std::io::Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Parses lines as the generator writes them, timing only the parsing.
struct ParseSink {
    partial: Vec<u8>,
    events: Vec<AccessEvent>,
    secs: f64,
}

impl std::io::Write for ParseSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let t = Instant::now();
        self.partial.extend_from_slice(buf);
        let mut start = 0;
        while let Some(i) = self.partial[start..].iter().position(|&c| c == b'\n') {
            let line = std::str::from_utf8(&self.partial[start..start + i])
                .map_err(std::io::Error::other)?;
            if let Some(mut e) = s3::parse_line(line).map_err(std::io::Error::other)? {
                e.request_id = None;
                self.events.push(e);
            }
            start += i + 1;
        }
        self.partial.drain(..start);
        self.secs += t.elapsed().as_secs_f64();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn by_day(events: &[AccessEvent]) -> Vec<&[AccessEvent]> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < events.len() {
        let day = events[start].time_us.div_euclid(DAY_US);
        let end = start + events[start..].partition_point(|e| e.time_us.div_euclid(DAY_US) == day);
        out.push(&events[start..end]);
        start = end;
    }
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let app_ops: u32 = match args.iter().position(|a| a == "--app-ops") {
        Some(i) => args.get(i + 1).ok_or("--app-ops needs a number")?.parse()?,
        None => 100_000,
    };
    let cfg = GeneratorConfig {
        seed: 7,
        days: 37,
        buckets: 1,
        objects_per_bucket: 20_000,
        app_ops_per_day: app_ops,
        incidents_per_bucket: 0,
        ..GeneratorConfig::default()
    };
    println!(
        "machine: {} logical CPUs",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    // 1. Generator, writing to nowhere.
    let t = Instant::now();
    let mut counter = CountingSink(0);
    let truth = generate(&cfg, &mut counter)?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "generator: {} lines ({:.0} MB) in {:.2} s = {:.2} M lines/min",
        truth.lines,
        counter.0 as f64 / 1e6,
        secs,
        truth.lines as f64 / secs * 60.0 / 1e6
    );

    // 2. Parsing (for reference; the goal covers features and scoring), streamed from
    // the generator so the text is never held whole.
    let mut sink = ParseSink {
        partial: Vec::new(),
        events: Vec::with_capacity(truth.lines as usize),
        secs: 0.0,
    };
    generate(&cfg, &mut sink)?;
    let mut events = sink.events;
    println!(
        "parse: {} events in {:.2} s = {:.2} M events/s",
        events.len(),
        sink.secs,
        events.len() as f64 / sink.secs / 1e6
    );

    let split = events.partition_point(|e| e.time_us < (cfg.start_day + 30) * DAY_US);
    let test = events.split_off(split);
    let train = events;
    println!(
        "busy bucket: {} events in 30 training days ({:.0} per day), {} in 7 test days",
        train.len(),
        train.len() as f64 / 30.0,
        test.len()
    );

    // 3. Feature extraction alone, over the 30 days.
    let t = Instant::now();
    let mut history = History::new();
    let mut rows = 0;
    for day in by_day(&train) {
        rows += extract(day, &mut history, &FeatureConfig::default())?.len();
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "feature extraction: {} events -> {rows} subject-windows in {:.2} s = {:.2} M events/s",
        train.len(),
        secs,
        train.len() as f64 / secs / 1e6
    );

    // 4. Training on the 30 days (extraction + fitting + calibration).
    let t = Instant::now();
    let (model, history) = AnomalyModel::train(train, &ModelConfig::default())?;
    println!(
        "training on 30 days: {:.2} s ({} windows, {} subjects, threshold {:.3})",
        t.elapsed().as_secs_f64(),
        model.summary.windows,
        model.summary.subjects,
        model.threshold
    );

    // 5. Feature extraction + scoring of the 7 following days, one day at a time.
    let t = Instant::now();
    let mut scorer = Scorer::with_history(&model, history);
    let mut scored = 0;
    let mut alarms = 0;
    for day in by_day(&test) {
        let s = scorer.score_events(day)?;
        scored += s.len();
        alarms += s.iter().filter(|s| s.is_anomalous).count();
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "feature extraction + scoring: {} events -> {scored} scores ({alarms} above threshold) in {:.2} s = {:.2} M events/s",
        test.len(),
        secs,
        test.len() as f64 / secs / 1e6
    );
    println!("peak memory (VmHWM): {:.0} MiB", peak_rss_mib());
    Ok(())
}
