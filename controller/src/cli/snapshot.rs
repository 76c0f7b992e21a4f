//! `tierd snapshot create|list|show|verify|restore`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::bail;
use clap::Subcommand;
use serde_json::json;

use super::common::{Access, Pace, StoreArgs, open, runtime, to_decision_log};
use crate::config::{Config, Role};
use crate::decision::{Action, Decision, State, config_arg, rfc3339};
use crate::executor::Executor;
use crate::snapshot::{self, Created, RestoreOptions, RestoreReport, SnapshotError};

#[derive(Debug, clap::Args)]
pub struct SnapshotArgs {
    #[command(subcommand)]
    pub command: SnapshotCommand,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Copy a bucket, a prefix or a key into the vault (incremental, verified, never overwritten).
    Create {
        #[arg(long)]
        bucket: String,
        /// Only keys under this prefix (a full key snapshots one object).
        #[arg(long, default_value = "")]
        prefix: String,
        /// The vault tier.
        #[arg(long, default_value = "vault")]
        vault: String,
    },
    /// List snapshots, oldest first.
    List {
        #[arg(long)]
        bucket: Option<String>,
    },
    /// Show a snapshot's manifest.
    Show { id: String },
    /// Re-read every copy of a snapshot and check every checksum and the manifest chain.
    Verify { id: String },
    /// Restore a snapshot (or the latest one of --bucket before --at) byte for byte.
    Restore {
        /// The snapshot id; or give --bucket and --at.
        #[arg(required_unless_present = "at")]
        id: Option<String>,
        #[arg(long, requires = "at")]
        bucket: Option<String>,
        /// A point in time (RFC 3339): restore the latest snapshot taken at or before it.
        #[arg(long, requires = "bucket")]
        at: Option<String>,
        /// Restore under this prefix instead of the original keys.
        #[arg(long)]
        to_prefix: Option<String>,
        /// The tier to restore to (default: each object's tier in the catalog).
        #[arg(long)]
        tier: Option<String>,
        /// Replace objects that exist with other content even under an open freeze (a
        /// freeze holds every replacement in its scope otherwise; the decision records it).
        #[arg(long, requires = "overwrite")]
        ignore_freezes: bool,
        /// Replace objects that exist with other content (kept and reported otherwise).
        #[arg(long)]
        overwrite: bool,
        /// Restore only the snapshot's keys under this prefix (repeatable).
        #[arg(long = "prefix", value_name = "P")]
        prefixes: Vec<String>,
        /// Restore only this key of the snapshot (repeatable; exit 1 if the snapshot lacks it).
        #[arg(long = "key", value_name = "K")]
        keys: Vec<String>,
        /// Restore only the keys listed in FILE, one a line (`-`: standard input; blank lines
        /// and `#` comments skipped), as `tierd ingest --keys` prints them.
        #[arg(long, value_name = "FILE")]
        keys_from: Option<String>,
    },
}

pub fn run(args: SnapshotArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let access = match &args.command {
            SnapshotCommand::Create { .. } => Access::Moves("snapshot create"),
            SnapshotCommand::Restore { .. } => Access::Moves("snapshot restore"),
            SnapshotCommand::List { .. } | SnapshotCommand::Show { .. } | SnapshotCommand::Verify { .. } => Access::Looks,
        };
        let (config, ex) = open(&args.store, &Pace::default(), access).await?;
        let json_out = args.store.json;
        let mut out = std::io::stdout().lock();
        match args.command {
            SnapshotCommand::Create { bucket, prefix, vault } => {
                if !ex.tiers().contains(&vault) {
                    bail!("unknown vault tier {vault:?}; known tiers: {}", ex.tiers().names().join(", "));
                }
                let at = rfc3339(chrono::Utc::now());
                let id = ex.journal().next_decision_id("snap", &at)?;
                let mut decision = Decision {
                    id: id.clone(),
                    at,
                    action: Action::Snapshot,
                    bucket: Some(bucket.clone()),
                    key: None,
                    prefix: Some(prefix.clone()),
                    from: None,
                    to: Some(vault.clone()),
                    rule: None,
                    anomaly: None,
                    reason: "An operator ran `tierd snapshot create`.".into(),
                    cost: None,
                    // Taking a snapshot changed no live data: nothing to undo (a restore is
                    // not its reverse, it brings deleted objects back).
                    undo: None,
                    state: State::Planned,
                    why: None,
                    explanation: None,
                };
                let made = snapshot::create_reporting(&ex, &vault, &bucket, &prefix, &id);
                let (created, code) = match journalled(&ex, &config, &mut decision, made).await? {
                    Ok(c) => (Some(c), ExitCode::SUCCESS),
                    Err(_) => (None, ExitCode::from(1)),
                };
                let Some(c) = created else {
                    // A store failed (exit 1, as a failed move): no snapshot was recorded, and
                    // the copies made were removed.
                    eprintln!(
                        "error: snapshot {id} of {bucket}/{prefix} failed: {}",
                        decision.why.as_deref().unwrap_or_default()
                    );
                    return Ok(code);
                };
                let row = &c.row;
                if json_out {
                    writeln!(out, "{}", serde_json::to_string(row)?)?;
                } else {
                    writeln!(
                        out,
                        "snapshot {} of {bucket}/{prefix}: {} objects, {} bytes ({} copied, the rest unchanged since the last snapshot)\nmanifest {} sha256 {}",
                        row.id, row.objects, row.bytes, row.copied_bytes, row.manifest_path, row.manifest_hash
                    )?;
                }
                if !c.vanished.is_empty() {
                    eprintln!("warning: {}", snapshot::vanished_note(&c.vanished).trim_start_matches("; "));
                }
            }
            SnapshotCommand::List { bucket } => {
                for s in ex.journal().snapshots(bucket.as_deref())? {
                    if json_out {
                        writeln!(out, "{}", serde_json::to_string(&s)?)?;
                    } else {
                        let kept = if s.is_keep() { "  (what a restore replaced)" } else { "" };
                        writeln!(out, "{}  {}  {}/{}  {} objects  {} bytes{kept}", s.id, s.created_at, s.bucket, s.prefix, s.objects, s.bytes)?;
                    }
                }
            }
            SnapshotCommand::Show { id } => {
                let m = snapshot::manifest(&ex, &id).await?;
                writeln!(out, "{}", serde_json::to_string_pretty(&m)?)?;
            }
            SnapshotCommand::Verify { id } => {
                let problems = snapshot::verify(&ex, &id).await?;
                if json_out {
                    writeln!(out, "{}", json!({"snapshot": id, "ok": problems.is_empty(), "problems": problems}))?;
                } else if problems.is_empty() {
                    writeln!(out, "snapshot {id}: every copy and the manifest chain verified")?;
                } else {
                    for p in &problems {
                        writeln!(out, "snapshot {id}: {}: {}", p.subject, p.problem)?;
                    }
                }
                return Ok(if problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) });
            }
            SnapshotCommand::Restore { id, bucket, at, to_prefix, tier, overwrite, ignore_freezes, prefixes, keys, keys_from } => {
                let listed = match &keys_from {
                    Some(f) => super::keys::read_keys(f)?,
                    None => Vec::new(),
                };
                let only = snapshot::KeyFilter { prefixes, keys: keys.into_iter().chain(listed).collect() };
                // An empty list (no key written to it) restores nothing, never the whole snapshot.
                if let (Some(f), true) = (&keys_from, only.is_all()) {
                    bail!("{}: lists no key; nothing was restored (without a filter, a restore is of the whole snapshot)", if f == "-" { "<stdin>" } else { f });
                }
                let id = match (id, bucket, at) {
                    (Some(id), _, _) => id,
                    (None, Some(b), Some(t)) => {
                        let s = snapshot::latest_before(&ex, &b, &t)?;
                        if !s.prefix.is_empty() {
                            eprintln!(
                                "warning: {b} has no whole snapshot taken at or before {t}; restoring {}, which holds only the keys under {:?} (`tierd snapshot list --bucket {b}` lists the others)",
                                s.id, s.prefix
                            );
                        }
                        s.id
                    }
                    _ => bail!("name a snapshot id, or --bucket B --at TIME"),
                };
                // Replacing live objects deletes their current bytes: an open freeze on the
                // restored keys holds that, as it holds moves. Restoring beside them does not.
                let mut overridden = None;
                let row = ex.journal().snapshot(&id)?; // (the journal's lock is let go here)
                if overwrite && let Some(s) = row {
                    // What it may replace: the snapshot's scope, or (filtered) the keys named.
                    let named: Vec<&String> = if only.is_all() { vec![&s.prefix] } else { only.prefixes.iter().chain(&only.keys).collect() };
                    let targets: Vec<String> = named.iter().map(|p| format!("{}{p}", to_prefix.as_deref().unwrap_or(""))).collect();
                    let frozen = ex.journal().open_freezes()?.into_iter().find(|f| {
                        targets.iter().any(|t| f.covers(&s.bucket, t) || (f.bucket == s.bucket && f.prefix.starts_with(t.as_str())))
                    });
                    match frozen {
                        Some(f) if !ignore_freezes => bail!(
                            "the freeze on {} (since {}, decision {}) holds every replacement there; {}, or, once its cause is understood, pass --ignore-freezes",
                            f.scope(), f.since, f.decision_id,
                            if to_prefix.is_some() { "restore without --overwrite (objects that differ are kept and listed)" } else { "restore beside the live objects with --to-prefix" }
                        ),
                        Some(f) => overridden = Some(f.decision_id),
                        None => {}
                    }
                }
                // The hot tier: the first data tier in the configuration's order.
                let hot_tier = config.tiers.iter().zip(&config.roles).find(|(_, r)| **r == Role::Data).map(|(t, _)| t.name.clone());
                let opts = RestoreOptions { to_prefix, tier, overwrite, hot_tier, decision_id: None, only };
                return restore(&ex, &config, (&id, opts, overridden), json_out, &mut out).await;
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Runs a snapshot under its decision: journalled before the first copy (a snapshot that fails,
/// or a process killed on the way, leaves a decision, settled by recovery, and its id is never
/// given to another), then settled `done` or `failed` with why, and written to the decision log.
///
/// # Errors
/// Journal or decision-log errors; the snapshot's own failure is the inner result.
async fn journalled(
    ex: &Executor,
    config: &Config,
    decision: &mut Decision,
    make: impl Future<Output = Result<Created, SnapshotError>>,
) -> anyhow::Result<Result<Created, SnapshotError>> {
    decision.state = State::Planned;
    ex.journal().record_decision(decision)?;
    let made = make.await;
    (decision.state, decision.why) = match &made {
        Ok(c) => (State::Done, Some(c.why())),
        Err(e) => (State::Failed, Some(e.to_string())),
    };
    ex.journal()
        .set_decision_state(&decision.id, decision.state, decision.why.as_deref())?;
    to_decision_log(config, std::slice::from_ref(decision))?;
    Ok(made)
}

/// `snapshot restore`: a `restore` decision, journalled `running` before anything is written
/// (the catalog names it for every object restored), settled with what it did. Objects that
/// `--overwrite` replaces are first kept in the vault (a `keep-` snapshot, its own decision),
/// and the restore's undo restores them.
async fn restore(
    ex: &Executor,
    config: &Config,
    (id, mut opts, overridden): (&str, RestoreOptions, Option<String>),
    json_out: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    // An unknown snapshot restores nothing: its error is the answer, not a decision.
    let snap = ex
        .journal()
        .snapshot(id)?
        .ok_or_else(|| SnapshotError::Unknown(id.to_string()))?;
    let at = rfc3339(chrono::Utc::now());
    let decision_id = ex.journal().next_decision_id("restore", &at)?;
    opts.decision_id = Some(decision_id.clone());
    let to_prefix = opts.to_prefix.as_deref();
    let mut decision = Decision {
        id: decision_id,
        at,
        action: Action::Restore,
        bucket: Some(snap.bucket.clone()),
        key: None,
        prefix: Some(format!("{}{}", to_prefix.unwrap_or(""), snap.prefix)),
        from: None,
        to: opts.tier.clone(),
        rule: None,
        anomaly: None,
        reason: format!(
            "An operator ran `tierd snapshot restore` of snapshot {id}{}{}{}.",
            opts.only.describe(),
            to_prefix.map_or(String::new(), |p| format!(" under the prefix {p}")),
            if opts.overwrite {
                ", replacing objects that differ"
            } else {
                ""
            },
        ) + &overridden.as_ref().map_or(String::new(), |f| {
            format!(
                " It replaced objects despite the open freeze of decision {f}: --ignore-freezes."
            )
        }),
        cost: None,
        undo: None,
        state: State::Running,
        why: None,
        explanation: None,
    };
    ex.journal().record_decision(&decision)?;
    let mut kept = None;
    let outcome = restore_steps(ex, config, id, &opts, &decision, &mut kept).await;
    (decision.state, decision.why) = match &outcome {
        Ok(r) => (
            State::Done,
            Some(r.why(kept.as_ref().map(|k| k.row.id.as_str()))),
        ),
        Err(e) => (State::Failed, Some(e.to_string())),
    };
    // What was replaced is in the kept snapshot: restoring it over the restored objects undoes
    // the replacement (objects the restore wrote where there were none are left: tierd deletes
    // no object on its own).
    decision.undo = kept.as_ref().map(|k| {
        format!(
            "tierd snapshot restore {} --overwrite{}{}",
            k.row.id,
            if overridden.is_some() {
                " --ignore-freezes"
            } else {
                ""
            },
            config_arg(config.path.as_deref())
        )
    });
    ex.journal().record_decision(&decision)?;
    to_decision_log(config, std::slice::from_ref(&decision))?;
    let r = outcome?;
    if json_out {
        writeln!(
            out,
            "{}",
            json!({"snapshot": id, "decision": decision.id, "kept": kept.as_ref().map(|k| &k.row.id), "undo": decision.undo, "report": r})
        )?;
    } else {
        let objects = if r.restored == 1 { "object" } else { "objects" };
        writeln!(
            out,
            "restored {} {objects} ({} bytes) from {id}; {} already identical",
            r.restored, r.bytes, r.identical
        )?;
        for c in &r.conflicts {
            writeln!(
                out,
                "kept {c}: it exists with other content (use --overwrite to replace it)"
            )?;
        }
        for m in &r.missing {
            eprintln!("error: {m} is not in snapshot {id}: nothing restored for it");
        }
        for c in &r.changed {
            writeln!(
                out,
                "kept {c}: it changed after its bytes were kept for the overwrite; restore again to replace it"
            )?;
        }
        if let (Some(k), Some(undo)) = (&kept, &decision.undo) {
            writeln!(
                out,
                "replaced {}; what {} held is kept in snapshot {} (undo: {undo})",
                snapshot::objects(r.replaced.len()),
                if r.replaced.len() == 1 { "it" } else { "they" },
                k.row.id
            )?;
        }
    }
    let clean = r.conflicts.is_empty() && r.changed.is_empty() && r.missing.is_empty();
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Plans the restore, keeps what it will replace (as a `keep-` snapshot decision) and applies it.
async fn restore_steps(
    ex: &Executor,
    config: &Config,
    id: &str,
    opts: &RestoreOptions,
    restore: &Decision,
    kept: &mut Option<Created>,
) -> anyhow::Result<RestoreReport> {
    let plan = snapshot::plan_restore(ex, id, opts).await?;
    let replaced = plan.to_replace(opts);
    if !replaced.is_empty() {
        let (vault, bucket, scope) = (
            &plan.snapshot.vault,
            &plan.snapshot.bucket,
            plan.scope(opts),
        );
        let at = rfc3339(chrono::Utc::now());
        let keep_id = ex.journal().next_decision_id(snapshot::KEEP_KIND, &at)?;
        let keys: Vec<String> = replaced.iter().map(|e| e.key.clone()).collect();
        let mut decision = Decision {
            id: keep_id.clone(),
            at,
            action: Action::Snapshot,
            bucket: Some(bucket.clone()),
            key: None,
            prefix: Some(scope.clone()),
            from: None,
            to: Some(vault.clone()),
            rule: None,
            anomaly: None,
            reason: format!(
                "Restore {} (--overwrite) is to replace {} with other content from snapshot {id}: this snapshot keeps {} current bytes first: {}.",
                restore.id,
                snapshot::objects(keys.len()),
                if keys.len() == 1 { "its" } else { "their" },
                snapshot::listed(&keys)
            ),
            cost: None,
            undo: None,
            state: State::Planned,
            why: None,
            explanation: None,
        };
        let made = snapshot::keep(ex, vault, (bucket, &scope), &keep_id, &replaced);
        // Nothing is replaced unless its bytes were kept.
        *kept = Some(journalled(ex, config, &mut decision, made).await??);
    }
    Ok(plan.apply(ex, opts, kept.as_ref()).await?)
}
