//! `tierd train`: read access logs, fit the behaviour model, write the artifact, print a summary.
//! `tierd train --check model.json` loads an artifact and prints what it holds (or why this
//! tierd refuses it).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use models::AccessEvent;
use models::detect::{AnomalyModel, ModelConfig};

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
    writeln!(
        out,
        "windows: {} ({} fitted, after the learning period)",
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
            "highest training window: {:.3} {} at {}: {}",
            p.score,
            p.subject,
            time(p.window_start_us),
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
    let (report, trained) = rt.block_on(async move {
        tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let mut events: Vec<AccessEvent> = Vec::new();
            let mut consumer = |batch: Vec<AccessEvent>| -> Result<(), String> {
                events.extend(batch.into_iter().map(|mut e| {
                    // Not used by the model: keep memory per event small.
                    e.request_id = None;
                    e.version_id = None;
                    e
                }));
                Ok(())
            };
            let report = ingest::run(&sources, &opts, &handle, None, &mut consumer)?;
            if events.is_empty() {
                return Ok((report, None));
            }
            let trained = AnomalyModel::train(events, &model_config)?;
            Ok((report, Some(trained)))
        })
        .await?
    })?;
    let Some((mut model, _history)) = trained else {
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
    for b in &report.bad_lines_shown {
        writeln!(stdout, "  {b}")?;
    }
    describe(&model, &mut stdout)?;
    writeln!(stdout, "wrote {}", args.out.display())?;
    Ok(ExitCode::SUCCESS)
}
