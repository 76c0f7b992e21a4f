//! `tierd unfreeze BUCKET [--prefix P]`: an operator lifts a freeze. The running service sees it
//! at its next cycle; the lift is itself a decision in the journal, undone by `tierd freeze`.
//! `tierd unfreeze --all-buckets` lifts the freeze of every bucket, and only it: a bucket's
//! unfreeze leaves it open (and says so).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;

use super::common::load_config;
use crate::decision::{Action, config_arg, freeze_command, rfc3339};
use crate::journal::Journal;
use crate::journal::freezes::EVERY_BUCKET;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("scope").required(true).args(["bucket", "all_buckets"])))]
pub struct UnfreezeArgs {
    /// The frozen bucket.
    pub bucket: Option<String>,
    /// Lift the freeze of every bucket (`tierd freeze --all-buckets`); a bucket's own freezes
    /// stay open.
    #[arg(long, conflicts_with = "prefix")]
    pub all_buckets: bool,
    /// The frozen prefix (as the freeze decision shows it); default: the whole bucket.
    #[arg(long, default_value = "")]
    pub prefix: String,
    /// The main configuration (for the journal's path). Default: the embedded defaults.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Why (recorded in the decision's reason: the incident understood, a ticket).
    #[arg(long)]
    pub reason: Option<String>,
}

/// Runs the command.
///
/// # Errors
/// An empty bucket name; no open freeze on that scope (the open ones are listed, and the freeze
/// of every bucket, when open, with how to lift it); journal errors.
pub fn run(args: UnfreezeArgs) -> anyhow::Result<ExitCode> {
    let bucket = match args.bucket.as_deref() {
        _ if args.all_buckets => EVERY_BUCKET,
        Some(b) if !b.is_empty() => b,
        _ => bail!(
            "\"\" is not a bucket name; give the frozen bucket, or lift the freeze of every bucket with --all-buckets"
        ),
    };
    let config = load_config(args.config.as_deref())?;
    let config_arg = config_arg(config.path.as_deref());
    let mut j = Journal::open_existing(&config.journal_path)?;
    let open = j.open_freezes()?;
    // The freeze of every bucket, when a bucket's unfreeze leaves it open.
    let every = open
        .iter()
        .find(|f| f.every_bucket() && !args.all_buckets)
        .map(|f| {
            format!(
                "every bucket stays frozen, since {} by decision {}; `{}` lifts that",
                f.since,
                f.decision_id,
                freeze_command("unfreeze", EVERY_BUCKET, "", &config_arg)
            )
        });
    let Some(f) = open
        .iter()
        .find(|f| f.bucket == bucket && f.prefix == args.prefix)
    else {
        let list: Vec<String> = open
            .iter()
            .filter(|f| !f.every_bucket())
            .map(|f| format!("{} (prefix {:?}, since {})", f.bucket, f.prefix, f.since))
            .collect();
        let list = if list.is_empty() {
            "none".into()
        } else {
            list.join(", ")
        };
        if args.all_buckets {
            bail!("no open freeze of every bucket; open freezes: {list}");
        }
        bail!(
            "no open freeze on bucket {:?} prefix {:?}; open freezes: {list}{}",
            bucket,
            args.prefix,
            every.map_or_else(String::new, |e| format!("; {e}"))
        );
    };
    let at = rfc3339(chrono::Utc::now());
    let id = j.next_decision_id("unfreeze", &at)?;
    let because = match args.reason.as_deref().map(str::trim) {
        Some(r) if !r.is_empty() => format!(" Why: {r}"),
        _ => String::new(),
    };
    let reason = if args.all_buckets {
        format!(
            "An operator lifted the freeze of every bucket opened by {} at {}.{because}",
            f.decision_id, f.since
        )
    } else if args.prefix.is_empty() {
        format!(
            "An operator lifted the freeze opened by {} at {}, and acknowledged the bucket's incident and the signals behind it, if any.{because}",
            f.decision_id, f.since
        )
    } else {
        format!(
            "An operator lifted the freeze opened by {} at {}.{because}",
            f.decision_id, f.since
        )
    };
    // Its undo freezes again (an operator's freeze: only an operator lifts it).
    let d = super::freeze::operator_decision(
        (&id, &at, Action::Unfreeze),
        (bucket, &args.prefix),
        reason,
        freeze_command("freeze", bucket, &args.prefix, &config_arg),
    );
    j.record_freezing(&d, |j| {
        j.lift_freeze(bucket, &args.prefix, &at, &id).map(drop)
    })?;
    if args.prefix.is_empty() && !args.all_buckets {
        // The bucket's incident and the signals behind it are acknowledged: a service started
        // later does not restore them (a running one acknowledges them when it sees the lift).
        j.save_behaviour(&[], &[bucket])?;
    }
    super::common::to_decision_log(&config, std::slice::from_ref(&d))?;
    if args.all_buckets {
        println!(
            "{id}: lifted the freeze of every bucket (opened by {})",
            f.decision_id
        );
        // The freezes of buckets and prefixes are their own: say which still hold (those open
        // before the lift, but for the one lifted).
        let still: Vec<String> = open
            .iter()
            .filter(|f| !f.every_bucket())
            .map(|f| format!("{} (prefix {:?})", f.bucket, f.prefix))
            .collect();
        if !still.is_empty() {
            eprintln!(
                "note: the freezes of buckets and prefixes stay open: {}",
                still.join(", ")
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{id}: lifted the freeze on bucket {bucket} prefix {:?} (opened by {})",
        args.prefix, f.decision_id
    );
    if let Some(e) = every {
        eprintln!("note: {e}");
    }
    Ok(ExitCode::SUCCESS)
}
