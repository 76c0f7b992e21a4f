//! `tierd decisions`: query the decisions in the journal, or in a decision-log file, as a table
//! or as JSON lines.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::common::load_config;
use crate::decision::Decision;
use crate::journal::Journal;
use crate::journal::decisions::DecisionFilter;

#[derive(Debug, clap::Args)]
pub struct DecisionsArgs {
    /// Only decisions taken at or after this time: RFC 3339, or a duration ago (`15m`, `2d`).
    #[arg(long)]
    pub since: Option<String>,
    /// Only decisions taken before this time: RFC 3339, or a duration ago.
    #[arg(long)]
    pub until: Option<String>,
    /// Only decisions with this action.
    #[arg(long, value_parser = ["move", "snapshot", "freeze", "unfreeze", "pin", "alert", "restore"])]
    pub action: Option<String>,
    #[arg(long)]
    pub bucket: Option<String>,
    #[arg(long, conflicts_with = "prefix")]
    pub key: Option<String>,
    /// Decisions about keys under this prefix (or about this prefix).
    #[arg(long)]
    pub prefix: Option<String>,
    /// The id of the rule that fired.
    #[arg(long)]
    pub rule: Option<String>,
    /// Only decisions in this state.
    #[arg(long, value_parser = ["planned", "running", "done", "failed", "skipped", "dry-run"])]
    pub state: Option<String>,
    /// Read a decision-log file (JSON lines) instead of the journal.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// The main configuration (for the journal's path). Default: the embedded defaults.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Print JSON lines (the decision records) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Print what the decisions add up to instead of each: counts per action and state, the
    /// moves done per way and per rule, and their savings and charges (with --json, one object).
    #[arg(long)]
    pub summary: bool,
}

/// A time given as RFC 3339, or as a duration before `now` (`15m`, `2d`).
fn parse_time(
    flag: &str,
    s: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<chrono::DateTime<chrono::FixedOffset>> {
    if let Some(ago) = crate::config::parse_duration(s)
        .and_then(|secs| i64::try_from(secs).ok())
        .and_then(chrono::TimeDelta::try_seconds)
        .and_then(|d| now.checked_sub_signed(d))
    {
        return Ok(ago.fixed_offset());
    }
    chrono::DateTime::parse_from_rfc3339(s).with_context(|| {
        format!(
            "--{flag} {s:?} is neither an RFC 3339 time (2026-11-29T10:00:00Z) nor a duration ago (15m, 12h, 2d)"
        )
    })
}

/// How many bad lines of a decision log are named one by one on stderr; the rest are counted.
const BAD_LINES_SHOWN: u64 = 10;

/// Reads a decision-log file (JSON lines, or gzip-compressed as log rotation leaves it, by its
/// `.gz` name) one record at a time, handing each to `f`, so that a log of any size is read in
/// the memory of one record (the service appends to its log for as long as it runs). A line that
/// is not a record (cut short by a crash, not UTF-8, an action this tierd does not know) is
/// named on stderr with its `file:line` and skipped; returns how many were.
///
/// # Errors
/// The file cannot be opened or read.
pub(crate) fn each_logged(
    path: &std::path::Path,
    mut f: impl FnMut(Decision),
) -> anyhow::Result<u64> {
    let file =
        std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let reader: Box<dyn std::io::Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut reader = std::io::BufReader::new(reader);
    let mut bad = 0u64;
    let mut line = Vec::new();
    for n in 1.. {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .with_context(|| format!("{}:{n}: cannot read", path.display()))?;
        if read == 0 {
            break;
        }
        let text = String::from_utf8_lossy(&line);
        if text.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Decision>(&text) {
            Ok(d) => f(d),
            Err(e) => {
                bad += 1;
                if bad <= BAD_LINES_SHOWN {
                    eprintln!(
                        "{}:{n}: not a decision record ({e}); skipped",
                        path.display()
                    );
                }
            }
        }
    }
    if bad > BAD_LINES_SHOWN {
        eprintln!(
            "{}: {} more lines that are not decision records were skipped",
            path.display(),
            bad - BAD_LINES_SHOWN
        );
    }
    Ok(bad)
}

pub fn run(args: DecisionsArgs) -> anyhow::Result<ExitCode> {
    let now = chrono::Utc::now();
    let since = args
        .since
        .as_deref()
        .map(|s| parse_time("since", s, now))
        .transpose()?;
    let until = args
        .until
        .as_deref()
        .map(|s| parse_time("until", s, now))
        .transpose()?;
    let keep = |d: &Decision| -> bool {
        let at = chrono::DateTime::parse_from_rfc3339(&d.at).ok();
        since.is_none_or(|s| at.is_some_and(|t| t >= s))
            && until.is_none_or(|u| at.is_some_and(|t| t < u))
            && args
                .action
                .as_deref()
                .is_none_or(|a| d.action.as_str() == a)
            && args
                .bucket
                .as_deref()
                .is_none_or(|b| d.bucket.as_deref() == Some(b))
            && args
                .key
                .as_deref()
                .is_none_or(|k| d.key.as_deref() == Some(k))
            && args.prefix.as_deref().is_none_or(|p| {
                d.key.as_deref().is_some_and(|k| k.starts_with(p))
                    || d.prefix.as_deref().is_some_and(|q| q.starts_with(p))
            })
            && args
                .rule
                .as_deref()
                .is_none_or(|r| d.rule.as_deref() == Some(r))
            && args.state.as_deref().is_none_or(|s| d.state.as_str() == s)
    };
    let all: Vec<Decision> = match &args.log {
        Some(path) => {
            // Only the matching records are kept: the log may be far larger than memory.
            let mut kept = Vec::new();
            each_logged(path, |d| {
                if keep(&d) {
                    kept.push(d);
                }
            })?;
            kept
        }
        None => {
            let config = load_config(args.config.as_deref())?;
            let mut j = Journal::open_existing(&config.journal_path)?;
            j.decisions(&DecisionFilter {
                bucket: args.bucket.clone(),
                key: args.key.clone(),
                action: args.action.clone(),
                state: args.state.clone(),
                since: None,
                limit: None,
            })?
        }
    };
    let mut out = std::io::stdout().lock();
    if args.summary {
        let mut s = super::summary::Summary::default();
        for d in all.iter().filter(|d| keep(d)) {
            s.add(d);
        }
        if args.json {
            writeln!(out, "{}", serde_json::to_string(&s.rounded())?)?;
        } else {
            s.write(&mut out)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut n = 0;
    if !args.json {
        writeln!(
            out,
            "{:<28} {:<20} {:<9} {:<9} {:<40} {:<15} reason",
            "id", "at", "action", "state", "scope", "from -> to"
        )?;
    }
    for d in all.iter().filter(|d| keep(d)) {
        n += 1;
        if args.json {
            writeln!(out, "{}", serde_json::to_string(d)?)?;
        } else {
            let scope = format!(
                "{}/{}",
                d.bucket.as_deref().unwrap_or("*"),
                d.key.as_deref().or(d.prefix.as_deref()).unwrap_or("")
            );
            let tiers = format!(
                "{} -> {}",
                d.from.as_deref().unwrap_or("-"),
                d.to.as_deref().unwrap_or("-")
            );
            let reason = match &d.why {
                Some(w) => format!("{} ({w})", d.reason),
                None => d.reason.clone(),
            };
            writeln!(
                out,
                "{:<28} {:<20} {:<9} {:<9} {:<40} {:<15} {reason}",
                d.id,
                d.at,
                d.action.as_str(),
                d.state.as_str(),
                scope,
                tiers
            )?;
        }
    }
    if !args.json {
        writeln!(out, "{n} decisions")?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_is_rfc_3339_or_a_duration_ago() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-30T12:00:00Z")
            .unwrap()
            .to_utc();
        let at = |s: &str| parse_time("since", s, now).map(|t| t.to_rfc3339());
        assert_eq!(at("15m").unwrap(), "2026-11-30T11:45:00+00:00");
        assert_eq!(at("2d").unwrap(), "2026-11-28T12:00:00+00:00");
        assert_eq!(
            at("2026-11-29T10:00:00Z").unwrap(),
            "2026-11-29T10:00:00+00:00"
        );
        assert_eq!(
            at("yesterday").unwrap_err().to_string(),
            "--since \"yesterday\" is neither an RFC 3339 time (2026-11-29T10:00:00Z) nor a duration ago (15m, 12h, 2d)"
        );
        // Further back than a time can be: not a duration ago, and not a time either.
        assert!(at("99999999999999w").is_err());
    }

    #[test]
    fn a_decision_log_keeps_its_records_around_lines_that_are_not_and_may_be_gzipped() {
        let dir = tempfile::tempdir().unwrap();
        let d = Decision::operator_move(
            "op-1".into(),
            "2026-11-30T10:00:00Z".into(),
            ("photos", "a.jpg"),
            (Some("onprem"), "cloud"),
            "test".into(),
        );
        let good = serde_json::to_string(&d).unwrap();
        let unknown = good.replace("\"action\":\"move\"", "\"action\":\"archive\"");
        assert_ne!(unknown, good);
        // A good record, one cut short by a crash, one of an action this tierd does not know,
        // a line that is not UTF-8, then a good record again.
        let mut text = format!("{good}\n{}\n{unknown}\n", &good[..good.len() / 2]).into_bytes();
        text.extend_from_slice(b"\xff\xfe\n");
        text.extend_from_slice(format!("{good}\n").as_bytes());
        let plain = dir.path().join("decisions.jsonl");
        std::fs::write(&plain, &text).unwrap();
        let gz = dir.path().join("decisions.jsonl.1.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut enc, &text).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        for path in [plain, gz] {
            let mut seen = Vec::new();
            let bad = each_logged(&path, |d| seen.push(d.id)).unwrap();
            assert_eq!(
                (seen, bad),
                (vec!["op-1".to_string(), "op-1".to_string()], 3)
            );
        }
    }
}
