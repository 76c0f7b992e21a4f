//! `tierd ingest`: read logs, print a summary, optionally export the normalised events.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use models::frame::{EventWriter, ExportFormat};
use models::parse::Format;

use crate::ingest::{self, IngestOptions, summary::Summary};
use crate::journal::Journal;

#[derive(Debug, clap::Args)]
pub struct IngestArgs {
    /// Log files, folders, globs or object-store URLs (s3://bucket/prefix), read in this order.
    /// Default: the configuration's ingest.sources (the embedded defaults: the bundled samples).
    #[arg(long = "logs", num_args = 1.., value_name = "PATH")]
    pub logs: Vec<String>,
    /// The log format, or auto to detect it per file from its content.
    #[arg(long, default_value = "auto", value_parser = parse_format)]
    pub format: FormatArg,
    /// Write the normalised events to FILE.parquet or FILE.ndjson.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// The main configuration file (tiers, journal, sources). Default: the embedded defaults.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Keep checkpoints in the journal: skip what an earlier run read, follow growing files.
    #[arg(long)]
    pub resume: bool,
    /// Object-store options for URL sources, e.g. --store-option endpoint=http://127.0.0.1:9000.
    #[arg(long = "store-option", value_name = "KEY=VALUE", value_parser = parse_kv)]
    pub store_options: Vec<(String, String)>,
    /// How many bad lines to print with their location (all are counted).
    #[arg(long, default_value_t = 10)]
    pub show_bad: usize,
}

#[derive(Debug, Clone, Copy)]
pub struct FormatArg(pub Option<Format>);

/// Parses `--format`: `auto` or a format name.
pub(crate) fn parse_format(s: &str) -> Result<FormatArg, String> {
    if s == "auto" {
        Ok(FormatArg(None))
    } else {
        s.parse::<Format>().map(|f| FormatArg(Some(f)))
    }
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected KEY=VALUE, found {s:?}"))
}

pub fn run(args: IngestArgs) -> anyhow::Result<ExitCode> {
    let config = super::common::load_config(args.config.as_deref())?;
    let sources = if args.logs.is_empty() {
        config.ingest_sources.clone()
    } else {
        args.logs.clone()
    };
    if sources.is_empty() {
        bail!("no log sources: give --logs PATH... or set ingest.sources in the configuration");
    }
    let export = match &args.out {
        Some(p) => match ExportFormat::from_path(p) {
            Some(f) => Some(
                EventWriter::create(p, f)
                    .with_context(|| format!("{}: cannot create", p.display()))?,
            ),
            None => bail!("{}: --out must end in .parquet or .ndjson", p.display()),
        },
        None => None,
    };
    let opts = IngestOptions {
        format: args.format.0.or(config.ingest_format),
        // The configuration's `[ingest] options`, then `--store-option`s over them.
        store_options: config
            .ingest_options
            .0
            .clone()
            .into_iter()
            .chain(args.store_options.iter().cloned())
            .collect::<BTreeMap<_, _>>(),
        bad_lines_kept: args.show_bad,
        follow: args.resume,
        // A source or log object that cannot be read is reported, and the others are read.
        keep_going: true,
        ..IngestOptions::default()
    };
    let journal_path = config.journal_path.clone();
    let resume = args.resume;
    let format_given = args.format.0;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let handle = rt.handle().clone();
    let (report, summary, written) = rt.block_on(async move {
        tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let mut journal = if resume {
                Some(Journal::open(&journal_path)?)
            } else {
                None
            };
            let mut summary = Summary::default();
            let mut export = export;
            let mut consumer = |events: Vec<models::AccessEvent>| -> Result<(), String> {
                for e in &events {
                    summary.observe(e);
                }
                if let Some(w) = export.as_mut() {
                    w.write(events).map_err(|e| format!("writing --out: {e}"))?;
                }
                Ok(())
            };
            let report = ingest::run(&sources, &opts, &handle, journal.as_mut(), &mut consumer)?;
            let written = match export {
                Some(w) => Some(
                    w.finish()
                        .map_err(|e| anyhow::anyhow!("writing --out: {e}"))?,
                ),
                None => None,
            };
            Ok((report, summary, written))
        })
        .await?
    })?;
    crate::cli::common::say_named_twice(&report);
    for u in &report.unreadable {
        eprintln!("error: {u}");
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        let mut v = summary.to_json(&report);
        if let (Some(n), Some(p)) = (written, &args.out) {
            v["written"] = serde_json::json!({"path": p.display().to_string(), "events": n});
        }
        writeln!(out, "{v}")?;
    } else {
        write!(out, "{}", summary.to_text(&report))?;
        if let (Some(n), Some(p)) = (written, &args.out) {
            writeln!(out, "\nwrote {n} events to {}", p.display())?;
        }
    }
    // Every line bad under a format the operator named: most likely the wrong one.
    if let (Some(f), 0, 1..) = (format_given, report.events, report.bad_lines) {
        eprintln!(
            "hint: no line was a {f} record; is --format {f} right? without it, each log's format is told from its first lines",
            f = f.as_str()
        );
    }
    Ok(if report.unreadable.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
