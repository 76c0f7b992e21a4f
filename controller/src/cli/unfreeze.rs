//! `tierd unfreeze BUCKET [--prefix P]`: an operator lifts a freeze. The running service sees it
//! at its next cycle; the lift is itself a decision in the journal, undone by `tierd freeze`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;

use super::common::load_config;
use crate::decision::{Action, config_arg, freeze_command, rfc3339};
use crate::journal::Journal;

#[derive(Debug, clap::Args)]
pub struct UnfreezeArgs {
    /// The frozen bucket.
    pub bucket: String,
    /// The frozen prefix (as the freeze decision shows it); default: the whole bucket.
    #[arg(long, default_value = "")]
    pub prefix: String,
    /// The main configuration (for the journal's path). Default: the embedded defaults.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// Runs the command.
///
/// # Errors
/// No open freeze on that scope (the open ones are listed); journal errors.
pub fn run(args: UnfreezeArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(args.config.as_deref())?;
    let mut j = Journal::open_existing(&config.journal_path)?;
    let open = j.open_freezes()?;
    let Some(f) = open
        .iter()
        .find(|f| f.bucket == args.bucket && f.prefix == args.prefix)
    else {
        let list: Vec<String> = open
            .iter()
            .map(|f| format!("{} (prefix {:?}, since {})", f.bucket, f.prefix, f.since))
            .collect();
        bail!(
            "no open freeze on bucket {:?} prefix {:?}; open freezes: {}",
            args.bucket,
            args.prefix,
            if list.is_empty() {
                "none".into()
            } else {
                list.join(", ")
            }
        );
    };
    let at = rfc3339(chrono::Utc::now());
    let id = j.next_decision_id("unfreeze", &at)?;
    let reason = if args.prefix.is_empty() {
        format!(
            "An operator lifted the freeze opened by {} at {}, and acknowledged the bucket's incident and the signals behind it.",
            f.decision_id, f.since
        )
    } else {
        format!(
            "An operator lifted the freeze opened by {} at {}.",
            f.decision_id, f.since
        )
    };
    // Its undo freezes again (an operator's freeze: only an operator lifts it).
    let d = super::freeze::operator_decision(
        (&id, &at, Action::Unfreeze),
        (&args.bucket, &args.prefix),
        reason,
        freeze_command(
            "freeze",
            &args.bucket,
            &args.prefix,
            &config_arg(config.path.as_deref()),
        ),
    );
    j.record_freezing(&d, |j| {
        j.lift_freeze(&args.bucket, &args.prefix, &at, &id)
            .map(drop)
    })?;
    if args.prefix.is_empty() {
        // The bucket's incident and the signals behind it are acknowledged: a service started
        // later does not restore them (a running one acknowledges them when it sees the lift).
        j.save_behaviour(&[], &[&args.bucket])?;
    }
    super::common::to_decision_log(&config, std::slice::from_ref(&d))?;
    println!(
        "{id}: lifted the freeze on bucket {} prefix {:?} (opened by {})",
        args.bucket, args.prefix, f.decision_id
    );
    Ok(ExitCode::SUCCESS)
}
