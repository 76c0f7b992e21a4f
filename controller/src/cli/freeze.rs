//! `tierd freeze BUCKET [--prefix P] [--reason TEXT]`: an operator opens a freeze — on what tierd
//! did not detect, or again after an unfreeze done too early. It holds every move and delete in
//! its scope as a rule's freeze does (the running service sees it at its next cycle, `tierd move`
//! at once), and only an operator lifts it (`tierd unfreeze`, its undo).
//!
//! `tierd freeze --all-buckets` pauses all data movement: one freeze over every bucket, present
//! and future ([`EVERY_BUCKET`] in the journal), lifted by `tierd unfreeze --all-buckets` only.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;

use super::common::load_config;
use crate::decision::{
    Action, Decision, State, config_arg, every_bucket_freeze_reason, freeze_command, rfc3339,
};
use crate::journal::Journal;
use crate::journal::freezes::{EVERY_BUCKET, FreezeRow};

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("scope").required(true).args(["bucket", "all_buckets"])))]
pub struct FreezeArgs {
    /// The bucket to freeze.
    pub bucket: Option<String>,
    /// Every bucket, present and future: nothing moves or is deleted anywhere until
    /// `tierd unfreeze --all-buckets` (snapshots still run).
    #[arg(long, conflicts_with = "prefix")]
    pub all_buckets: bool,
    /// Only keys under this prefix; default: the whole bucket.
    #[arg(long, default_value = "")]
    pub prefix: String,
    /// Why (recorded in the decision's reason, for whoever reads or lifts it).
    #[arg(long)]
    pub reason: Option<String>,
    /// The main configuration (for the journal's path). Default: the embedded defaults.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// Runs the command.
///
/// # Errors
/// An empty bucket name; a freeze already open on exactly that scope (named with its decision);
/// journal errors.
pub fn run(args: FreezeArgs) -> anyhow::Result<ExitCode> {
    let bucket = match args.bucket.as_deref() {
        _ if args.all_buckets => EVERY_BUCKET,
        Some(b) if !b.is_empty() && !b.contains('/') => b,
        b => bail!(
            "{:?} is not a bucket name; give the bucket, and a prefix within it with --prefix (tierd freeze photos --prefix 2025/), or freeze every bucket with --all-buckets",
            b.unwrap_or_default()
        ),
    };
    let config = load_config(args.config.as_deref())?;
    // With the service's configuration named, a deployment that never started can be frozen
    // before its first start (the journal is created, as `tierd run` would); without one, a
    // folder with no journal is more likely the wrong folder, and nothing is created there.
    let created = config.path.is_some() && !config.journal_path.exists();
    let mut j = if config.path.is_some() {
        Journal::open_writable(&config.journal_path)?
    } else {
        Journal::open_existing(&config.journal_path)?
    };
    if created {
        eprintln!(
            "note: {}: created the journal (the service has not started here yet); it holds this freeze from its first start",
            std::path::absolute(&config.journal_path)
                .unwrap_or_else(|_| config.journal_path.clone())
                .display()
        );
    }
    if let Some(f) = j
        .open_freezes()?
        .into_iter()
        .find(|f| f.bucket == bucket && f.prefix == args.prefix)
    {
        if f.every_bucket() {
            bail!(
                "every bucket is already frozen, since {} by decision {}",
                f.since,
                f.decision_id
            );
        }
        bail!(
            "bucket {:?} prefix {:?} is already frozen, since {} by decision {}",
            f.bucket,
            f.prefix,
            f.since,
            f.decision_id
        );
    }
    let at = rfc3339(chrono::Utc::now());
    let id = j.next_decision_id("freeze", &at)?;
    let because = match args.reason.as_deref().map(str::trim) {
        Some(r) if !r.is_empty() => format!(": {r}"),
        _ => String::new(),
    };
    let reason = if args.all_buckets {
        every_bucket_freeze_reason(&because)
    } else {
        let scope = if args.prefix.is_empty() {
            format!("bucket \"{bucket}\"")
        } else {
            format!("\"{bucket}/{}\"", args.prefix)
        };
        format!(
            "An operator froze {scope}{because}; nothing is moved or deleted there until an operator runs `tierd unfreeze`."
        )
    };
    let d = operator_decision(
        (&id, &at, Action::Freeze),
        (bucket, &args.prefix),
        reason,
        freeze_command(
            "unfreeze",
            bucket,
            &args.prefix,
            &config_arg(config.path.as_deref()),
        ),
    );
    j.record_freezing(&d, |j| {
        j.open_freeze(&FreezeRow {
            bucket: bucket.to_string(),
            prefix: args.prefix.clone(),
            since: at,
            decision_id: id.clone(),
            rule: None,
        })
    })?;
    super::common::to_decision_log(&config, std::slice::from_ref(&d))?;
    let undo = d.undo.as_deref().unwrap_or_default();
    if args.all_buckets {
        println!("{id}: froze every bucket; lift it with `{undo}`");
        return Ok(ExitCode::SUCCESS);
    }
    if !j.catalog_holds(bucket, &args.prefix)? {
        eprintln!(
            "warning: the catalog has no object under {bucket}/{} (a misspelt bucket or prefix?); the freeze holds whatever arrives there",
            args.prefix
        );
    }
    println!(
        "{id}: froze bucket {bucket} prefix {:?}; lift it with `{undo}`",
        args.prefix
    );
    Ok(ExitCode::SUCCESS)
}

/// An operator's freeze or unfreeze (`action`) of `bucket`/`prefix`: no rule, `done` as it is
/// recorded (it takes effect then), with its `reason` and `undo`. The freeze of every bucket
/// ([`EVERY_BUCKET`]) is recorded with no bucket and no prefix: its scope is every bucket.
pub(super) fn operator_decision(
    (id, at, action): (&str, &str, Action),
    (bucket, prefix): (&str, &str),
    reason: String,
    undo: String,
) -> Decision {
    Decision {
        id: id.to_string(),
        at: at.to_string(),
        action,
        bucket: (bucket != EVERY_BUCKET).then(|| bucket.to_string()),
        key: None,
        prefix: (bucket != EVERY_BUCKET).then(|| prefix.to_string()),
        from: None,
        to: None,
        rule: None,
        anomaly: None,
        reason,
        cost: None,
        undo: Some(undo),
        state: State::Done,
        why: None,
        explanation: None,
    }
}
