//! Writes a generated S3 server access log and its ground-truth labels.
//!
//! `cargo run -p tierd-models --example generate -- OUT.log LABELS.jsonl [--seed N] [--days N]
//! [--buckets N] [--incidents-from-day N] [--incidents-per-bucket N] [--app-ops N]
//! [--objects N] [--no-backup] [--logs-per-day N]`

use std::fs::File;
use std::io::BufWriter;

use models::generator::{GeneratorConfig, generate};

/// What `--help` prints (and a wrong command line, after its error).
const USAGE: &str = "\
usage: generate OUT.log LABELS.jsonl [options]

Writes a generated S3 server access log (OUT.log) and the ground truth of its incidents
(LABELS.jsonl, one JSON line each). The same options give the same files, byte for byte.

options (defaults in brackets):
  --seed N                  seeds every random choice [1]
  --days N                  days of traffic, from 2026-10-05 (a Monday) [14]
  --buckets N               buckets, each with its own principals [2]
  --objects N               objects each bucket starts with [3000]
  --app-ops N               requests per day of each bucket's service principal [20000]
  --incidents-from-day N    incidents start on this day (0-based) or later [7]
  --incidents-per-bucket N  incidents per bucket (ransomware, exfiltration, ...) [0]
  --no-backup               no nightly backup reading every object (for tiering studies)
  --logs-per-day N          log objects per bucket and day under logs/, a log archive [0]
  --help                    this text";

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return Ok(());
    }
    let mut cfg = GeneratorConfig::default();
    let mut files = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || -> Result<u64, Box<dyn std::error::Error>> {
            let v = it.next().ok_or_else(|| format!("{a} needs a number"))?;
            Ok(v.parse()
                .map_err(|e| format!("{a} {v:?}: not a whole number ({e})"))?)
        };
        match a.as_str() {
            "--seed" => cfg.seed = value()?,
            "--days" => cfg.days = value()? as u32,
            "--buckets" => cfg.buckets = value()? as u32,
            "--objects" => cfg.objects_per_bucket = value()? as u32,
            "--app-ops" => cfg.app_ops_per_day = value()? as u32,
            "--incidents-from-day" => cfg.incidents_from_day = value()? as u32,
            "--incidents-per-bucket" => cfg.incidents_per_bucket = value()? as u32,
            "--no-backup" => cfg.nightly_backup = false,
            "--logs-per-day" => cfg.logs_per_day = value()? as u32,
            s if s.starts_with("--") => {
                return Err(format!("unknown option {s:?}\n\n{USAGE}").into());
            }
            path => files.push(path.to_owned()),
        }
    }
    let [log, labels] = files.as_slice() else {
        return Err(format!("name the two files to write\n\n{USAGE}").into());
    };
    for f in [log, labels] {
        if let Some(dir) = std::path::Path::new(f)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)?;
        }
    }
    let truth = generate(&cfg, BufWriter::new(File::create(log)?))?;
    truth.write_labels(BufWriter::new(File::create(labels)?))?;
    println!(
        "wrote {} lines to {log} and {} incidents to {labels} ({} benign bursts not labelled as incidents)",
        truth.lines,
        truth.incidents.len(),
        truth.benign.len()
    );
    Ok(())
}
