//! `tierd ingest`: read logs, print a summary, optionally export the normalised events.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use models::OpClass;
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
    /// Only events of this principal (exactly as the log names it: an ARN, a user, a key id).
    #[arg(long)]
    pub principal: Option<String>,
    /// Only events of this bucket.
    #[arg(long)]
    pub bucket: Option<String>,
    /// Only events at or after this time (RFC 3339).
    #[arg(long, value_parser = parse_time)]
    pub since: Option<i64>,
    /// Only events before this time (RFC 3339).
    #[arg(long, value_parser = parse_time)]
    pub until: Option<i64>,
    /// Only events of this operation class (repeatable): get, put, head, delete, copy-source,
    /// copy-dest, list, multipart, config-change, other; `write` = put, copy-dest, multipart
    /// and delete (what changes an object).
    #[arg(long = "op", value_name = "CLASS", value_parser = parse_ops)]
    pub ops: Vec<Ops>,
    /// Print each distinct key of the events kept once, sorted, one a line (instead of the
    /// summary): the list `tierd snapshot restore --keys-from` reads.
    #[arg(long)]
    pub keys: bool,
}

/// Operation classes one `--op` names.
#[derive(Debug, Clone)]
pub struct Ops(Vec<OpClass>);

/// Parses `--op`: a class name, or `write`.
fn parse_ops(s: &str) -> Result<Ops, String> {
    if s == "write" {
        return Ok(Ops(vec![
            OpClass::Put,
            OpClass::CopyDest,
            OpClass::Multipart,
            OpClass::Delete,
        ]));
    }
    s.parse::<OpClass>()
        .map(|c| Ops(vec![c]))
        .map_err(|e| format!("{e}, or write"))
}

/// Parses `--since`/`--until`: an RFC 3339 time, as microseconds since the Unix epoch.
fn parse_time(s: &str) -> Result<i64, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_micros())
        .map_err(|e| format!("{s:?} is not an RFC 3339 time (2026-12-01T01:40:00Z): {e}"))
}

/// The events `--principal`, `--bucket`, `--since`, `--until` and `--op` keep.
#[derive(Debug, Clone, Default)]
struct EventFilter {
    principal: Option<String>,
    bucket: Option<String>,
    since: Option<i64>,
    until: Option<i64>,
    /// Empty: every class.
    ops: BTreeSet<OpClass>,
}

impl EventFilter {
    /// No filter given: every event is kept.
    fn is_all(&self) -> bool {
        self.principal.is_none()
            && self.bucket.is_none()
            && self.since.is_none()
            && self.until.is_none()
            && self.ops.is_empty()
    }

    fn admits(&self, e: &models::AccessEvent) -> bool {
        self.principal
            .as_ref()
            .is_none_or(|p| e.principal.as_ref() == Some(p))
            && self.bucket.as_ref().is_none_or(|b| e.bucket == *b)
            && self.since.is_none_or(|t| e.time_us >= t)
            && self.until.is_none_or(|t| e.time_us < t)
            && (self.ops.is_empty() || self.ops.contains(&e.op))
    }
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
    let filter = EventFilter {
        principal: args.principal.clone(),
        bucket: args.bucket.clone(),
        since: args.since,
        until: args.until,
        ops: args.ops.iter().flat_map(|o| o.0.iter().copied()).collect(),
    };
    let journal_path = config.journal_path.clone();
    let resume = args.resume;
    let format_given = args.format.0;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let handle = rt.handle().clone();
    let want_keys = args.keys;
    let filtered = !filter.is_all();
    let (report, summary, written, (keys, kept)) = rt.block_on(async move {
        tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let mut journal = if resume {
                Some(Journal::open(&journal_path)?)
            } else {
                None
            };
            let mut summary = Summary::default();
            let mut export = export;
            // (bucket, key) of every event kept, for --keys.
            let mut keys = BTreeSet::new();
            let mut kept = 0u64;
            let mut consumer = |events: Vec<models::AccessEvent>| -> Result<(), String> {
                let events: Vec<_> = events.into_iter().filter(|e| filter.admits(e)).collect();
                kept += events.len() as u64;
                for e in &events {
                    summary.observe(e);
                    if let (true, Some(k)) = (want_keys, &e.key) {
                        keys.insert((e.bucket.clone(), k.clone()));
                    }
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
            Ok((report, summary, written, (keys, kept)))
        })
        .await?
    })?;
    crate::cli::common::say_named_twice(&report);
    for u in &report.unreadable {
        eprintln!("error: {u}");
    }
    let mut out = std::io::stdout().lock();
    if args.keys {
        print_keys(&mut out, &keys, args.json)?;
    } else if args.json {
        let mut v = summary.to_json(&report);
        if filtered {
            v["kept_by_filters"] = serde_json::json!(kept);
        }
        if let (Some(n), Some(p)) = (written, &args.out) {
            v["written"] = serde_json::json!({"path": p.display().to_string(), "events": n});
        }
        writeln!(out, "{v}")?;
    } else {
        write!(out, "{}", summary.to_text(&report))?;
        if filtered {
            let events = if kept == 1 { "event" } else { "events" };
            writeln!(
                out,
                "\nkept by the filters: {kept} {events} (the summary above is of them)"
            )?;
        }
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

/// `--keys`: each distinct key once, sorted (a JSON array under `--json`). Keys of more than one
/// bucket are listed together, with a warning: a snapshot restores one bucket.
fn print_keys(
    out: &mut impl Write,
    keys: &BTreeSet<(String, String)>,
    json: bool,
) -> anyhow::Result<()> {
    let buckets: BTreeSet<&str> = keys.iter().map(|(b, _)| b.as_str()).collect();
    if buckets.len() > 1 {
        let names: Vec<&str> = buckets.into_iter().collect();
        eprintln!(
            "warning: the keys are of {} buckets ({}); give --bucket B to list one bucket's, as a restore takes them",
            names.len(),
            names.join(", ")
        );
    }
    let sorted: BTreeSet<&str> = keys.iter().map(|(_, k)| k.as_str()).collect();
    if json {
        writeln!(out, "{}", serde_json::json!({ "keys": sorted }))?;
    } else {
        for k in sorted {
            writeln!(out, "{k}")?;
        }
    }
    Ok(())
}
