//! Writes a generated S3 server access log and its ground-truth labels.
//!
//! `cargo run -p tierd-models --example generate -- OUT.log LABELS.jsonl [--seed N] [--days N]
//! [--buckets N] [--incidents-from-day N] [--incidents-per-bucket N] [--app-ops N]
//! [--objects N] [--no-backup] [--logs-per-day N]`

use std::fs::File;
use std::io::BufWriter;

use models::generator::{GeneratorConfig, generate};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut cfg = GeneratorConfig::default();
    let mut files = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || -> Result<u64, Box<dyn std::error::Error>> {
            Ok(it
                .next()
                .ok_or_else(|| format!("{a} needs a number"))?
                .parse()?)
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
            s if s.starts_with("--") => return Err(format!("unknown option {s:?}").into()),
            path => files.push(path.to_owned()),
        }
    }
    let [log, labels] = files.as_slice() else {
        return Err("usage: generate OUT.log LABELS.jsonl [--seed N] [--days N] [--buckets N] [--objects N] [--app-ops N] [--incidents-from-day N] [--incidents-per-bucket N] [--no-backup] [--logs-per-day N]".into());
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
