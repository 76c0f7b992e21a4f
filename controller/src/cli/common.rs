//! What the storage commands share: the configuration, the journal, the tiers, an executor, and
//! crash recovery at start-up.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Context;

use crate::config::Config;
use crate::executor::{Executor, ExecutorConfig, recover};
use crate::journal::Journal;
use crate::journal::lock::MoverLock;
use crate::tier::Tiers;

/// Flags every storage command takes.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreArgs {
    /// The main configuration file. Default: the embedded defaults (./tierd-data).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Print JSON lines instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

/// How fast `tierd move` and `tierd recall` go (flags of those two only).
#[derive(Debug, Clone, clap::Args)]
pub struct Pace {
    /// Moves in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Limit on objects started per second.
    #[arg(long)]
    pub max_objects_per_sec: Option<f64>,
    /// Limit on bytes copied per second: a size (`100MiB`, `1GB`) or a number of bytes.
    #[arg(long, value_parser = bytes_per_sec)]
    pub max_bytes_per_sec: Option<f64>,
}

/// `--max-bytes-per-sec`: a number of bytes, or a size with its unit as in the configuration's
/// `service.max_bytes_per_sec`.
fn bytes_per_sec(text: &str) -> Result<f64, String> {
    if let Ok(n) = text.trim().parse::<f64>() {
        return Ok(n);
    }
    match crate::config::bandwidth(text) {
        Ok(Some(b)) => Ok(b),
        Ok(None) => Err("leave the flag out for no limit".into()),
        Err(why) => Err(format!("{text:?} {}", why.replace(", or \"off\"", ""))),
    }
}

impl Default for Pace {
    fn default() -> Self {
        Pace {
            concurrency: 8,
            max_objects_per_sec: None,
            max_bytes_per_sec: None,
        }
    }
}

/// Loads the configuration (or the embedded defaults), printing every diagnostic on failure.
///
/// # Errors
/// An invalid configuration.
pub fn load_config(path: Option<&std::path::Path>) -> anyhow::Result<Config> {
    match path {
        Some(p) => Config::load(p).map_err(|diags| {
            let text: Vec<String> = diags.iter().map(ToString::to_string).collect();
            anyhow::anyhow!("the configuration is not valid:\n{}", text.join("\n"))
        }),
        None => Ok(Config::embedded()),
    }
}

/// What a storage command does with the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Moves, copies or restores objects: takes the journal's mover lock (one such process at a
    /// time, see [`MoverLock`]) and recovers any move a crash left in flight first.
    Moves(&'static str),
    /// Only looks (and scans into the catalog): no lock, and no recovery, which must never run
    /// beside a process that is moving.
    Looks,
    /// `tierd recover`: the mover lock, and the recovery left to the command (which reports it).
    Recovers,
}

/// Opens the journal and tiers and builds the executor; for a command that moves data, takes
/// the mover lock and recovers any move a crash left in flight before it does anything else.
/// The lock is held as long as the executor lives.
///
/// # Errors
/// Configuration, journal or tier errors; the lock held by another process.
pub async fn open(
    args: &StoreArgs,
    pace: &Pace,
    access: Access,
) -> anyhow::Result<(Config, Executor)> {
    use crate::executor::limits::{MIN_BYTES_PER_SEC, MIN_OBJECTS_PER_SEC, refuse_rate};
    let too_slow = [
        (
            pace.max_objects_per_sec,
            MIN_OBJECTS_PER_SEC,
            "--max-objects-per-sec",
            "objects",
        ),
        (
            pace.max_bytes_per_sec,
            MIN_BYTES_PER_SEC,
            "--max-bytes-per-sec",
            "bytes",
        ),
    ];
    for (rate, min, flag, what) in too_slow {
        if let Some(why) = rate.and_then(|r| refuse_rate(r, min, what)) {
            anyhow::bail!("{flag}: {why}");
        }
    }
    let config = load_config(args.config.as_deref())?;
    let lock = match access {
        Access::Moves(command) => Some(MoverLock::acquire(&config.journal_path, command)?),
        Access::Recovers => Some(MoverLock::acquire(&config.journal_path, "recover")?),
        Access::Looks => None,
    };
    let mut journal = match access {
        Access::Moves(_) | Access::Recovers => Journal::open_writable(&config.journal_path),
        Access::Looks => Journal::open(&config.journal_path),
    }
    .context("opening the journal")?;
    if let Some(lock) = &lock {
        lock.claim(&mut journal)?;
    }
    let tiers = Tiers::open(&config.tiers)?;
    let cfg = ExecutorConfig {
        concurrency: pace.concurrency,
        max_objects_per_sec: pace.max_objects_per_sec,
        max_bytes_per_sec: pace.max_bytes_per_sec,
        ..ExecutorConfig::default()
    };
    let mut ex = Executor::new(Arc::new(tiers), Arc::new(Mutex::new(journal)), cfg);
    let Some(lock) = lock else {
        return Ok((config, ex));
    };
    ex.hold(lock);
    if matches!(access, Access::Recovers) {
        return Ok((config, ex));
    }
    let r = recover_logged(&config, &ex).await?.report;
    if r != recover::RecoveryReport::default() {
        eprintln!(
            "recovered moves left in flight by an earlier run: {} finished, {} undone, {} failed, {} pending{}",
            r.finished,
            r.undone,
            r.failed,
            r.pending,
            uploads_recovered(&r)
        );
    }
    Ok((config, ex))
}

/// Recovers what a crash left in flight, and appends the decisions it settled to the
/// configured decision log (`service.decision_log`), as the service does with its own
/// recovery: otherwise a move settled by an operator's command would stay `planned` there.
///
/// # Errors
/// The journal fails, or the decision log cannot be written.
pub async fn recover_logged(config: &Config, ex: &Executor) -> anyhow::Result<recover::Recovered> {
    let rec = recover::recover_settling(ex).await?;
    to_decision_log(config, &rec.decisions)?;
    Ok(rec)
}

/// Appends an operator command's decisions to the service's decision log
/// (`service.decision_log`), when one is configured, so that it holds every decision and how
/// it ended, not only the service's own.
///
/// # Errors
/// The decision log cannot be opened or written.
pub fn to_decision_log(
    config: &Config,
    decisions: &[crate::decision::Decision],
) -> anyhow::Result<()> {
    if let (Some(path), false) = (&config.service.decision_log, decisions.is_empty()) {
        crate::service::decision_log::DecisionLog::open(Some(path), false)?.write(decisions)?;
    }
    Ok(())
}

/// What recovery did with the incomplete multipart uploads and the staging files interrupted
/// copies left, to end the line that reports recovery: empty when it found none.
pub fn uploads_recovered(r: &recover::RecoveryReport) -> String {
    let gone = match r.uploads_gone {
        0 => String::new(),
        1 => "; 1 upload journalled was already gone from its store (completed before the interruption, or expired)".to_string(),
        n => format!("; {n} uploads journalled were already gone from their stores (completed before the interruption, or expired)"),
    };
    let aborted = match (r.uploads_aborted, r.uploads_pending) {
        (0, 0) => String::new(),
        (a, 0) => format!("; {} aborted", uploads(a)),
        (a, p) => format!(
            "; {} aborted, {p} left journalled because the store refused or did not answer (`tierd recover` tries again)",
            uploads(a)
        ),
    };
    let staging = match (r.staging_removed, r.staging_pending) {
        (0, 0) => String::new(),
        (n, 0) => format!("; {} removed ({} bytes)", staging_files(n), r.staging_bytes),
        (n, p) => format!(
            "; {} removed ({} bytes), {p} left journalled because they could not be removed (`tierd recover` tries again)",
            staging_files(n),
            r.staging_bytes
        ),
    };
    format!("{aborted}{gone}{staging}")
}

/// `1 staging file of an interrupted copy`, `2 staging files of interrupted copies`.
pub fn staging_files(n: u64) -> String {
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    plural(
        n,
        "staging file of an interrupted copy",
        "staging files of interrupted copies",
    )
}

/// Says on stderr which log objects two sources named (a file and its folder, the same path
/// twice): each was read once.
pub fn say_named_twice(report: &crate::ingest::IngestReport) {
    for name in &report.named_twice {
        eprintln!("{name}: named twice; read once");
    }
}

/// `1 decision`, `2 decisions`: `n` and the noun for it.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `1 incomplete multipart upload`, `2 incomplete multipart uploads`.
pub fn uploads(n: u64) -> String {
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    plural(
        n,
        "incomplete multipart upload",
        "incomplete multipart uploads",
    )
}

/// A multi-threaded runtime (polars and blocking journal calls need one).
///
/// # Errors
/// The runtime cannot start.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// Splits `BUCKET/KEY`.
///
/// # Errors
/// No `/`, an empty bucket or key, or a key ending in `/`.
pub fn split_object(s: &str) -> anyhow::Result<(String, String)> {
    match s.split_once('/') {
        // An S3 folder marker: the store client drops the `/`, so it cannot be addressed.
        Some((b, k)) if !b.is_empty() && k.ends_with('/') => anyhow::bail!(
            "{s:?} ends in `/`: an S3 folder marker (a zero-byte key a console makes for a folder), \
             which tierd's store client cannot address and which holds no data; to move or recall \
             the objects under it, give --bucket {b} --prefix {}",
            crate::decision::shell_word(k)
        ),
        Some((b, k)) if !b.is_empty() && !k.is_empty() => Ok((b.to_string(), k.to_string())),
        _ => anyhow::bail!("{s:?} is not BUCKET/KEY (for example photos/2026/a.jpg)"),
    }
}
