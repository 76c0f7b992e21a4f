//! `tierd freeze BUCKET [--prefix P] [--reason TEXT]`: an operator opens a freeze — on what tierd
//! did not detect, or again after an unfreeze done too early. It holds every move and delete in
//! its scope as a rule's freeze does (the running service sees it at its next cycle, `tierd move`
//! at once), and only an operator lifts it (`tierd unfreeze`, its undo).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;

use super::common::load_config;
use crate::decision::{Action, Decision, State, config_arg, freeze_command, rfc3339};
use crate::journal::Journal;
use crate::journal::freezes::FreezeRow;

#[derive(Debug, clap::Args)]
pub struct FreezeArgs {
    /// The bucket to freeze.
    pub bucket: String,
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
    if args.bucket.is_empty() || args.bucket.contains('/') {
        bail!(
            "{:?} is not a bucket name; give the bucket, and a prefix within it with --prefix (tierd freeze photos --prefix 2025/)",
            args.bucket
        );
    }
    let config = load_config(args.config.as_deref())?;
    let mut j = Journal::open_existing(&config.journal_path)?;
    if let Some(f) = j
        .open_freezes()?
        .into_iter()
        .find(|f| f.bucket == args.bucket && f.prefix == args.prefix)
    {
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
    let scope = if args.prefix.is_empty() {
        format!("bucket \"{}\"", args.bucket)
    } else {
        format!("\"{}/{}\"", args.bucket, args.prefix)
    };
    let because = match args.reason.as_deref().map(str::trim) {
        Some(r) if !r.is_empty() => format!(": {r}"),
        _ => String::new(),
    };
    let d = operator_decision(
        (&id, &at, Action::Freeze),
        (&args.bucket, &args.prefix),
        format!(
            "An operator froze {scope}{because}; nothing is moved or deleted there until an operator runs `tierd unfreeze`."
        ),
        freeze_command(
            "unfreeze",
            &args.bucket,
            &args.prefix,
            &config_arg(config.path.as_deref()),
        ),
    );
    j.record_freezing(&d, |j| {
        j.open_freeze(&FreezeRow {
            bucket: args.bucket.clone(),
            prefix: args.prefix.clone(),
            since: at,
            decision_id: id.clone(),
            rule: None,
        })
    })?;
    super::common::to_decision_log(&config, std::slice::from_ref(&d))?;
    if !j.catalog_holds(&args.bucket, &args.prefix)? {
        eprintln!(
            "warning: the catalog has no object under {}/{} (a misspelt bucket or prefix?); the freeze holds whatever arrives there",
            args.bucket, args.prefix
        );
    }
    println!(
        "{id}: froze bucket {} prefix {:?}; lift it with `{}`",
        args.bucket,
        args.prefix,
        d.undo.as_deref().unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

/// An operator's freeze or unfreeze (`action`) of `bucket`/`prefix`: no rule, `done` as it is
/// recorded (it takes effect then), with its `reason` and `undo`.
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
        bucket: Some(bucket.to_string()),
        key: None,
        prefix: Some(prefix.to_string()),
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
