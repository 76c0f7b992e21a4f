//! `tierd train`: read access logs, fit the behaviour model, write the artifact, print a summary.
//! `tierd train --check model.json` loads an artifact and prints what it holds (or why this
//! tierd refuses it).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use models::AccessEvent;
use models::detect::model::extract_by_day;
use models::detect::{AnomalyModel, ModelConfig};
use models::features::{FeatureConfig, History, WindowFeatures};

use crate::cli::ingest::{FormatArg, parse_format};
use crate::ingest::{self, IngestOptions};

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// The main configuration file (log format, sources). Default: the embedded defaults.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Log files, folders, globs or object-store URLs to learn from (a clean period: the model
    /// treats what it sees as normal).
    #[arg(long = "logs", num_args = 1.., value_name = "PATH", required_unless_present = "check")]
    pub logs: Vec<String>,
    /// Where to write the model artifact (JSON).
    #[arg(long, default_value = "model.json", value_name = "FILE")]
    pub out: PathBuf,
    /// The log format, or auto to detect it per file from its content.
    #[arg(long, default_value = "auto", value_parser = parse_format)]
    pub format: FormatArg,
    /// Window length in seconds.
    #[arg(long, default_value_t = 300)]
    pub window_secs: i64,
    /// Days from the start of the logs whose scores are flagged `learning` (no action).
    #[arg(long, default_value_t = 7.0)]
    pub learning_days: f64,
    /// False alarms allowed per 30 bucket-days when calibrating the threshold.
    #[arg(long, default_value_t = 1.0)]
    pub false_alarms_per_30_bucket_days: f64,
    /// Load an existing artifact instead of training, and print what it holds.
    #[arg(long, value_name = "FILE", conflicts_with = "logs")]
    pub check: Option<PathBuf>,
}

fn time(us: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(us).map_or_else(
        || us.to_string(),
        |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    )
}

fn describe(model: &AnomalyModel, out: &mut impl Write) -> std::io::Result<()> {
    let s = &model.summary;
    writeln!(
        out,
        "model format_version {}, {} features",
        model.format_version,
        model.feature_names.len()
    )?;
    writeln!(
        out,
        "trained on {} .. {} (window {} s)",
        time(model.trained_from_us),
        time(model.trained_to_us),
        model.config.features.window_secs
    )?;
    writeln!(out, "events: {}", s.events)?;
    writeln!(out, "subjects: {}", s.subjects)?;
    let fitted = if model.learning_until_us <= model.trained_to_us {
        "after the learning period"
    } else {
        "all of them: the logs end within the learning period"
    };
    writeln!(
        out,
        "windows: {} ({} fitted, {fitted})",
        s.windows, s.fitted_windows
    )?;
    writeln!(out, "bucket-days: {}", s.bucket_days)?;
    writeln!(
        out,
        "calibrated threshold: {:.4} (at most {:.3} false alarms per bucket-day; {} training subject-days above it)",
        model.threshold, model.config.false_alarms_per_bucket_day, s.calibration_alarm_days
    )?;
    let state = if model.learning_until_us <= model.trained_to_us {
        "over before the logs ended"
    } else {
        "continues after the logs end"
    };
    writeln!(
        out,
        "learning mode ends: {} ({state})",
        time(model.learning_until_us)
    )?;
    for p in &s.calibration_top {
        writeln!(
            out,
            "highest training window: {:.3} {} at {} ({} s window): {}",
            p.score,
            p.subject,
            time(p.window_start_us),
            p.window_secs,
            p.features.join("; ")
        )?;
    }
    Ok(())
}

/// Runs `tierd train`.
///
/// # Errors
/// An invalid configuration or model setting, unreadable logs, logs without events, an artifact
/// that cannot be written, or (with `--check`) an artifact this tierd refuses.
pub fn run(args: TrainArgs) -> anyhow::Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    if let Some(path) = &args.check {
        let model = AnomalyModel::load(path)?;
        writeln!(
            stdout,
            "{}: a tierd model artifact this tierd can use",
            path.display()
        )?;
        describe(&model, &mut stdout)?;
        return Ok(ExitCode::SUCCESS);
    }
    let budget = args.false_alarms_per_30_bucket_days;
    if !(budget > 0.0 && budget <= 30.0) {
        anyhow::bail!(
            "--false-alarms-per-30-bucket-days {budget}: expected more than 0 and at most 30 (the threshold is calibrated on each bucket's highest window per day: at most one alarm per bucket-day counts; default 1)"
        );
    }
    let config = super::common::load_config(args.config.as_deref())?;
    let mut model_config = ModelConfig {
        learning_days: args.learning_days,
        false_alarms_per_bucket_day: args.false_alarms_per_30_bucket_days / 30.0,
        ..ModelConfig::default()
    };
    model_config.features.window_secs = args.window_secs;
    model_config.check()?;
    let opts = IngestOptions {
        format: args.format.0.or(config.ingest_format),
        store_options: config.ingest_options.0.clone(),
        ..IngestOptions::default()
    };
    let sources = args.logs.clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let handle = rt.handle().clone();
    let lateness_us = config.simulate.lateness_secs as i64 * 1_000_000;
    let (report, late, trained) = rt.block_on(async move {
        tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let mut feeder = DayFeeder::new(&model_config, lateness_us);
            let mut failed = None;
            let mut consumer = |batch: Vec<AccessEvent>| -> Result<(), String> {
                feeder.push(batch).map_err(|e| {
                    let msg = e.to_string();
                    failed = Some(e);
                    msg
                })
            };
            // In time order across every log object (several stores' logs of the same days).
            let report = ingest::merge::read_merged(&sources, &opts, &handle, &mut consumer);
            if let Some(e) = failed {
                return Err(e.into());
            }
            let report = report?;
            let (events, late, rows, history) = feeder.finish()?;
            if events == 0 {
                return Ok((report, late, None));
            }
            let mut model = AnomalyModel::fit_windows(&rows, history, &model_config)?;
            model.history.freeze();
            Ok((report, late, Some(model)))
        })
        .await?
    })?;
    crate::cli::common::say_named_twice(&report);
    let Some(mut model) = trained else {
        bail!(
            "the logs hold no events ({} log objects read, {} bad lines): nothing to learn from",
            report.objects,
            report.bad_lines
        );
    };
    model.summary.events = report.events;
    model
        .save(&args.out)
        .with_context(|| format!("{}: cannot write the model", args.out.display()))?;
    writeln!(
        stdout,
        "read {} events from {} log objects ({} bad lines skipped)",
        report.events, report.objects, report.bad_lines
    )?;
    if late > 0 {
        writeln!(
            stdout,
            "skipped {late} events that arrived more than simulate.lateness after their day was learnt"
        )?;
    }
    for b in &report.bad_lines_shown {
        writeln!(stdout, "  {b}")?;
    }
    describe(&model, &mut stdout)?;
    writeln!(stdout, "wrote {}", args.out.display())?;
    Ok(ExitCode::SUCCESS)
}

/// Feeds the feature extractor one UTC day at a time, in time order, so that training holds a
/// day of events (plus `lateness`) and the feature rows, not the whole period. Log objects are
/// read in name order and may overlap a little in time: a day is extracted once an event more
/// than `lateness` past its end has been read. The rows are those [`AnomalyModel::train`] would
/// extract from all the events at once.
struct DayFeeder {
    features: FeatureConfig,
    lengths: Vec<i64>,
    lateness_us: i64,
    buffer: Vec<AccessEvent>,
    /// The oldest buffered event's time (kept as events come, not searched for).
    oldest: Option<i64>,
    /// Events before this were extracted; a later one for that time is late.
    done_until: i64,
    newest: i64,
    history: History,
    rows: Vec<WindowFeatures>,
    events: u64,
    late: u64,
}

const DAY_US: i64 = 86_400_000_000;

impl DayFeeder {
    fn new(config: &ModelConfig, lateness_us: i64) -> DayFeeder {
        let lengths = config.window_lengths();
        DayFeeder {
            features: config.features.clone(),
            rows: lengths
                .iter()
                .map(|&w| WindowFeatures {
                    window_secs: w,
                    ..WindowFeatures::default()
                })
                .collect(),
            lengths,
            lateness_us,
            buffer: Vec::new(),
            oldest: None,
            done_until: i64::MIN,
            newest: i64::MIN,
            history: History::new(),
            events: 0,
            late: 0,
        }
    }

    fn push(&mut self, batch: Vec<AccessEvent>) -> models::Result<()> {
        for mut e in batch {
            if e.time_us < self.done_until {
                self.late += 1;
                continue;
            }
            // Not used by the model: keep memory per event small.
            e.request_id = None;
            e.version_id = None;
            self.newest = self.newest.max(e.time_us);
            self.oldest = Some(self.oldest.map_or(e.time_us, |o| o.min(e.time_us)));
            self.buffer.push(e);
        }
        while let Some(first) = self.oldest {
            let day_end = (first.div_euclid(DAY_US) + 1) * DAY_US;
            if self.newest < day_end.saturating_add(self.lateness_us) {
                break;
            }
            self.extract_until(day_end)?;
        }
        Ok(())
    }

    /// Extracts the buffered events before `end` (sorted by time).
    fn extract_until(&mut self, end: i64) -> models::Result<()> {
        self.buffer.sort_by_key(|e| e.time_us);
        let n = self.buffer.partition_point(|e| e.time_us < end);
        let day: Vec<AccessEvent> = self.buffer.drain(..n).collect();
        // What is left is sorted: its first event is the oldest.
        self.oldest = self.buffer.first().map(|e| e.time_us);
        self.events += day.len() as u64;
        let rows = extract_by_day(&day, &mut self.history, &self.features, &self.lengths)?;
        for (all, new) in self.rows.iter_mut().zip(rows) {
            all.extend(new);
        }
        self.done_until = end;
        Ok(())
    }

    /// Extracts what is left; returns the events learnt from, the late ones skipped, the rows
    /// and the baseline history.
    fn finish(mut self) -> models::Result<(u64, u64, Vec<WindowFeatures>, History)> {
        self.extract_until(i64::MAX)?;
        Ok((self.events, self.late, self.rows, self.history))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::generator::GeneratorConfig;

    #[test]
    fn training_a_day_at_a_time_gives_the_rows_of_training_on_everything_at_once() {
        let cfg = GeneratorConfig {
            seed: 9,
            days: 3,
            buckets: 2,
            objects_per_bucket: 200,
            app_ops_per_day: 800,
            ..GeneratorConfig::default()
        };
        let mut events: Vec<AccessEvent> = crate::test_events::generated(&cfg)
            .into_iter()
            .map(|mut e| {
                e.request_id = None;
                e.version_id = None;
                e
            })
            .collect();
        events.sort_by_key(|e| e.time_us);
        let config = ModelConfig::default();
        let mut history = History::new();
        let all = extract_by_day(
            &events,
            &mut history,
            &config.features,
            &config.window_lengths(),
        )
        .unwrap();

        // The same events in batches of 500, each batch reversed (out of order within 10 min).
        let mut feeder = DayFeeder::new(&config, 3_600_000_000);
        for chunk in events.chunks(500) {
            let mut b = chunk.to_vec();
            b.reverse();
            feeder.push(b).unwrap();
            assert!(feeder.buffer.len() < events.len() / 2, "a day at a time");
        }
        // An event from a day already learnt is late: skipped and counted.
        feeder
            .push(vec![AccessEvent {
                time_us: events[0].time_us,
                ..events[0].clone()
            }])
            .unwrap();
        let (n, late, rows, _) = feeder.finish().unwrap();
        assert_eq!((n, late), (events.len() as u64, 1));
        assert_eq!(rows.len(), all.len());
        for (a, b) in rows.iter().zip(&all) {
            assert_eq!(a.len(), b.len());
            assert_eq!(a.subjects, b.subjects);
            assert_eq!(a.window_start_us, b.window_start_us);
            assert_eq!(a.values, b.values);
        }
    }
}
