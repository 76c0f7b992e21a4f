//! `tierd move`, `tierd recall`, `tierd locate`, `tierd recover`: an operator's hands on data.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{Context, bail};
use serde_json::json;

use super::common::{Access, Pace, StoreArgs, open, runtime, split_object};
use crate::config::{Config, Role};
use futures::StreamExt;

use crate::decision::{
    Cost, Decision, OPERATOR_MOVE_KIND, State, config_arg, freeze_command, move_undo,
    operator_stopped_why, rfc3339, shell_word,
};
use crate::executor::{Executor, MoveOutcome, MoveRequest, recover};
use crate::journal::Journal;
use crate::journal::freezes::FreezeRow;
use crate::journal::snapshots::SnapshotRow;
use crate::shutdown::StopSignal;
use crate::snapshot::ManifestEntry;

/// Which objects: one `BUCKET/KEY`, or `--bucket` with `--prefix`.
#[derive(Debug, Clone, clap::Args)]
pub struct Scope {
    /// One object, as BUCKET/KEY.
    #[arg(conflicts_with_all = ["bucket", "prefix"])]
    pub object: Option<String>,
    /// Every object of this bucket (with --prefix: under the prefix).
    #[arg(long)]
    pub bucket: Option<String>,
    #[arg(long, requires = "bucket", default_value = "")]
    pub prefix: String,
}

/// The safety interlocks an operator's move respects, and the flags that override them.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Interlocks {
    /// Move objects under an open freeze anyway (break glass; the decision says so).
    #[arg(long)]
    pub ignore_freezes: bool,
    /// Move objects a policy pin covers anyway (the decision says so).
    #[arg(long)]
    pub ignore_pins: bool,
}

#[derive(Debug, clap::Args)]
pub struct MoveArgs {
    #[command(flatten)]
    pub scope: Scope,
    /// The tier to move to.
    #[arg(long)]
    pub to: String,
    #[command(flatten)]
    pub interlocks: Interlocks,
    #[command(flatten)]
    pub pace: Pace,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, clap::Args)]
pub struct RecallArgs {
    #[command(flatten)]
    pub scope: Scope,
    /// The tier to bring it back to. Default: where its last move took it from, else the first
    /// configured tier.
    #[arg(long)]
    pub to: Option<String>,
    #[command(flatten)]
    pub interlocks: Interlocks,
    #[command(flatten)]
    pub pace: Pace,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, clap::Args)]
pub struct LocateArgs {
    /// The object, as BUCKET/KEY.
    pub object: String,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, clap::Args)]
pub struct RecoverArgs {
    #[command(flatten)]
    pub store: StoreArgs,
}

/// The objects a scope names, after adding unknown ones found on the tiers to the catalog.
async fn objects(ex: &Executor, scope: &Scope) -> anyhow::Result<Vec<(String, String)>> {
    match (&scope.object, &scope.bucket) {
        (Some(o), _) => {
            let (b, k) = split_object(o)?;
            ex.scan(&b, &k).await?;
            Ok(vec![(b, k)])
        }
        (None, Some(b)) => {
            ex.scan(b, &scope.prefix).await?;
            Ok(ex
                .journal()
                .catalog_prefix(b, &scope.prefix)?
                .into_iter()
                .map(|e| (e.bucket, e.key))
                .collect())
        }
        (None, None) => bail!("name the objects: BUCKET/KEY, or --bucket B [--prefix P]"),
    }
}

/// What holds an operator's move back, as the service's planner is held: open freezes (from the
/// journal) and the policy's pins, unless the operator overrides them.
pub(super) struct Guard {
    freezes: Vec<FreezeRow>,
    /// The policy's pin rules.
    pins: Vec<policies::Rule>,
    interlocks: Interlocks,
    /// ` --config PATH` for the commands the hints name.
    config_arg: String,
}

impl Guard {
    pub(super) fn load(
        config: &Config,
        journal: &mut Journal,
        interlocks: &Interlocks,
    ) -> anyhow::Result<Self> {
        let freezes = journal.open_freezes()?;
        let pins = if interlocks.ignore_pins || config.policy_files.is_empty() {
            Vec::new()
        } else {
            let loaded = crate::policy::load(config, &[]).map_err(|d| {
                let text: Vec<String> = d.iter().map(ToString::to_string).collect();
                anyhow::anyhow!(
                    "the policy is not valid, so its pins cannot be checked (fix it, or pass --ignore-pins):\n{}",
                    text.join("\n")
                )
            })?;
            let rules = loaded.policy.rules.into_iter();
            rules
                .filter(|r| matches!(r.action, policies::Action::Pin))
                .collect()
        };
        Ok(Self {
            freezes,
            pins,
            interlocks: interlocks.clone(),
            config_arg: config_arg(config.path.as_deref()),
        })
    }

    /// Why `bucket/key` must stay where it is; else what its decision's reason adds (an
    /// override) and the override flags its undo needs (the same interlock would hold the move
    /// back).
    pub(super) fn check(&self, bucket: &str, key: &str) -> Result<(String, String), String> {
        let mut notes = String::new();
        let mut flags = String::new();
        // (The freeze of every bucket first: the freezes are in bucket order, and its is "".)
        let freeze = self.freezes.iter().find(|f| f.covers(bucket, key));
        if let Some(f) = freeze {
            let scope = f.scope();
            if !self.interlocks.ignore_freezes {
                let lift = freeze_command("unfreeze", &f.bucket, &f.prefix, &self.config_arg);
                let there = if f.every_bucket() {
                    "anywhere"
                } else {
                    "there"
                };
                return Err(format!(
                    "frozen: the freeze on {scope} (since {}, decision {}) holds every move {there}; \
                     once its cause is understood, lift it with `{lift}`, or pass --ignore-freezes",
                    f.since, f.decision_id
                ));
            }
            notes.push_str(&format!(
                " It was moved despite the open freeze on {scope} (decision {}): --ignore-freezes.",
                f.decision_id
            ));
            flags.push_str(" --ignore-freezes");
        }
        if let Some(p) = self.pins.iter().find(|p| p.scope.matches(bucket, key)) {
            let when = match p.when.as_str() {
                "true" => String::new(),
                // An operator's command has no signals to evaluate a condition on: it holds.
                w => format!(", when `{w}`, not evaluated here"),
            };
            return Err(format!(
                "pinned: rule \"{}\" ({}{when}) keeps every move off this object; pass --ignore-pins to move it anyway",
                p.id,
                p.scope.describe()
            ));
        }
        if self.interlocks.ignore_pins {
            notes.push_str(" The policy's pins were not checked: --ignore-pins.");
            flags.push_str(" --ignore-pins");
        }
        Ok((notes, flags))
    }
}

/// Runs an operator's moves: records every decision, then moves, printing each object's line
/// (flushed) and recording its decision's state as its move ends, in completion order. A stop
/// signal (`stop`) starts no more moves: those not started are recorded `skipped`, counted on a
/// line of their own, and the command exits with the signal's status (130, 143).
async fn run_moves(
    ex: &Executor,
    guard: &Guard,
    list: Vec<(String, String, String)>,
    verb: &str,
    json_out: bool,
    config: &Config,
    stop: &StopSignal,
) -> anyhow::Result<ExitCode> {
    let at = rfc3339(chrono::Utc::now());
    let mut reqs = Vec::new();
    let mut decisions = Vec::new();
    // Objects an interlock holds: recorded as skipped with why, never handed to the executor.
    let mut held = Vec::new();
    // Per decision, what its undo command takes after the move: overrides, then --config.
    let mut undo_args_of = std::collections::HashMap::new();
    let ids = ex
        .journal()
        .next_decision_ids(OPERATOR_MOVE_KIND, &at, list.len())?;
    for ((bucket, key, to), id) in list.into_iter().zip(ids) {
        let from = ex.journal().locate(&bucket, &key)?.map(|e| e.tier);
        // An object already where it is asked to go is not moved: nothing for a freeze or a pin
        // to hold (the executor says "already on").
        let checked = if from.as_deref() == Some(to.as_str()) {
            Ok((String::new(), String::new()))
        } else {
            guard.check(&bucket, &key)
        };
        let (notes, flags, why) = match checked {
            Ok((notes, flags)) => (notes, flags, None),
            Err(why) => (String::new(), String::new(), Some(why)),
        };
        let mut d = Decision::operator_move(
            id.clone(),
            at.clone(),
            (&bucket, &key),
            (from.as_deref(), &to),
            format!("An operator ran `tierd {verb}` for this object.{notes}"),
        );
        let undo_args = format!("{flags}{}", config_arg(config.path.as_deref()));
        if let Some(undo) = &mut d.undo {
            undo.push_str(&undo_args);
        }
        undo_args_of.insert(id.clone(), undo_args);
        if why.is_some() {
            d.state = State::Skipped;
            d.why.clone_from(&why);
        }
        decisions.push(d);
        if let Some(why) = why {
            held.push((id, bucket, key, to, why));
            continue;
        }
        reqs.push(MoveRequest {
            decision_id: id,
            bucket,
            key,
            to,
        });
    }
    ex.journal().record_decisions(&decisions)?;
    let mut out = std::io::stdout().lock();
    for (id, bucket, key, to, why) in &held {
        if json_out {
            writeln!(
                out,
                "{}",
                json!({"decision": id, "bucket": bucket, "key": key, "to": to, "state": State::Skipped.as_str(), "held": true, "why": why})
            )?;
        } else {
            writeln!(out, "held     {bucket}/{key}  {why}")?;
        }
    }
    out.flush()?;
    let mut tally = Tally::default();
    let progress = ProgressLine::new(reqs.len(), json_out);
    let mut each = std::pin::pin!(ex.apply_each(reqs, None));
    while let Some((_, r, o)) = each.next().await {
        let (state, why) = ended(&o, stop.name());
        record_end(ex, &r, &o, (state, why.as_deref()), &undo_args_of)?;
        tally.count(&o);
        progress.clear();
        print_end(&mut out, json_out, &r, &o, (state, why.as_deref()))?;
        out.flush()?;
        progress.draw(&tally);
    }
    progress.clear();
    // The service's decision log (when configured) holds the operator's decisions too, each as
    // it ended.
    if config.service.decision_log.is_some() {
        let mut ended = Vec::with_capacity(decisions.len());
        for d in &decisions {
            ended.extend(ex.journal().decision(&d.id)?);
        }
        super::common::to_decision_log(config, &ended)?;
    }
    // Uploads whose abort failed: parts left on a store, for `tierd recover` to abort.
    let left = ex.journal().open_uploads()?.len();
    if !json_out {
        let held_text = match held.len() {
            0 => String::new(),
            n => format!(", {n} held by a freeze or a pin"),
        };
        writeln!(
            out,
            "{} moved ({} bytes), {} failed or aborted, {} skipped{held_text}",
            tally.done, tally.bytes, tally.bad, tally.skipped
        )?;
        if let (Some(signal), n) = (stop.name(), tally.not_started) {
            writeln!(
                out,
                "{} not started: the command was stopped by {signal} (nothing was copied or deleted for them; run it again to continue)",
                super::common::plural(n, "object", "objects")
            )?;
        }
        // A copy whose upload could not be aborted (the store stopped answering) leaves parts
        // on the store, journalled: what to do about them is said here, not only in the log.
        if left > 0 {
            writeln!(
                out,
                "{} left on a store that did not answer; run `tierd recover` once it answers",
                super::common::uploads(left as u64)
            )?;
        }
    }
    out.flush()?;
    // A stop signal says so to the script that ran the command (as a shell would, had the
    // signal ended it). A held object is one the command did not move as asked; parts left on
    // a store need `tierd recover` (a script reads the exit status, not the advice).
    Ok(if let Some(code) = stop.exit_code() {
        ExitCode::from(code)
    } else if tally.bad == 0 && held.is_empty() && left == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// What an operator's moves came to, for the summary line.
#[derive(Debug, Default)]
struct Tally {
    done: u64,
    bytes: u64,
    /// Failed, aborted, on no tier, or not started for a tier that does not answer.
    bad: u64,
    /// Nothing to do (already there).
    skipped: u64,
    /// Not started: a stop signal came first.
    not_started: usize,
}

impl Tally {
    fn count(&mut self, o: &MoveOutcome) {
        match o {
            MoveOutcome::Done { bytes, .. } => {
                self.done += 1;
                self.bytes += bytes;
            }
            MoveOutcome::Skipped(_) => self.skipped += 1,
            MoveOutcome::NotStarted => self.not_started += 1,
            MoveOutcome::Aborted(_)
            | MoveOutcome::Failed(_)
            | MoveOutcome::NotFound { .. }
            | MoveOutcome::TierDown(_) => self.bad += 1,
        }
    }
}

/// A line on stderr counting the moves ended so far, redrawn as each ends, when stderr is a
/// terminal that can redraw (and not under `--json`); cleared before each stdout line, so that
/// on one terminal the lines of the objects scroll above it.
struct ProgressLine {
    total: usize,
    on: bool,
}

impl ProgressLine {
    fn new(total: usize, json_out: bool) -> ProgressLine {
        let on = !json_out
            && std::io::stderr().is_terminal()
            && std::env::var_os("TERM").is_none_or(|t| t != "dumb");
        ProgressLine { total, on }
    }

    fn clear(&self) {
        if self.on {
            eprint!("\r\x1b[K");
        }
    }

    fn draw(&self, tally: &Tally) {
        if self.on {
            eprint!("\r{}\x1b[K", progress_text(self.total, tally));
        }
    }
}

/// What the progress line says: `120 of 2000 ended: 118 moved (2360000 bytes), 1 failed or
/// aborted, 1 skipped`, and the objects not started once a stop signal came.
fn progress_text(total: usize, t: &Tally) -> String {
    let ended = t.done + t.bad + t.skipped + t.not_started as u64;
    let mut text = format!(
        "{ended} of {total} ended: {} moved ({} bytes), {} failed or aborted, {} skipped",
        t.done, t.bytes, t.bad, t.skipped
    );
    if t.not_started > 0 {
        text.push_str(&format!(", {} not started (stopping)", t.not_started));
    }
    text
}

/// The state and why an operator's decision ends with after the outcome `o`; `stopped_by`: the
/// stop signal that came, if one did.
fn ended(o: &MoveOutcome, stopped_by: Option<&str>) -> (State, Option<String>) {
    match o {
        MoveOutcome::Done { .. } => (State::Done, None),
        MoveOutcome::Skipped(w) => (State::Skipped, Some(w.clone())),
        // An operator named an object that is not there: a failure of the command.
        MoveOutcome::Aborted(w)
        | MoveOutcome::Failed(w)
        | MoveOutcome::NotFound { why: w, .. }
        | MoveOutcome::TierDown(w) => (State::Failed, Some(w.clone())),
        // Not started because the operator stopped the command: no failure, and no next pass
        // takes it (the operator runs the command again).
        MoveOutcome::NotStarted => match stopped_by {
            Some(signal) => (State::Skipped, Some(operator_stopped_why(signal))),
            None => (State::Failed, Some(crate::decision::never_started_why())),
        },
    }
}

/// Records how the move of `r` ended on its decision. A move done is recorded with what it
/// moved: its bytes (for `tierd decisions --summary`), and where from, and how to undo it, when
/// the catalog did not know the object before.
fn record_end(
    ex: &Executor,
    r: &MoveRequest,
    o: &MoveOutcome,
    (state, why): (State, Option<&str>),
    undo_args_of: &std::collections::HashMap<String, String>,
) -> anyhow::Result<()> {
    let mut j = ex.journal();
    let Some(mut d) = j.decision(&r.decision_id)? else {
        return Ok(());
    };
    if let MoveOutcome::Done { from, bytes, .. } = o {
        if d.from.is_none() {
            let args = undo_args_of.get(&r.decision_id);
            d.undo = Some(move_undo(
                &r.bucket,
                &r.key,
                from,
                args.map_or("", String::as_str),
            ));
            d.from = Some(from.clone());
        }
        d.cost = Some(Cost {
            bytes: *bytes,
            ..Cost::default()
        });
    }
    d.state = state;
    d.why = why.map(str::to_string);
    j.record_decision(&d)?;
    Ok(())
}

/// Prints the line of an object whose move ended (none, in text, for one never started: the
/// summary counts them).
fn print_end(
    out: &mut impl Write,
    json_out: bool,
    r: &MoveRequest,
    o: &MoveOutcome,
    (state, why): (State, Option<&str>),
) -> std::io::Result<()> {
    let not_started = matches!(o, MoveOutcome::NotStarted);
    if json_out {
        let mut line = json!({"decision": r.decision_id, "bucket": r.bucket, "key": r.key, "to": r.to, "state": state.as_str(), "why": why});
        if not_started {
            line["not_started"] = json!(true);
        }
        return writeln!(out, "{line}");
    }
    match o {
        MoveOutcome::Done {
            from,
            bytes,
            verified_by,
            ..
        } => writeln!(
            out,
            "moved    {}/{}  {from} -> {}  {bytes} bytes, verified by {verified_by}",
            r.bucket, r.key, r.to
        ),
        MoveOutcome::NotStarted => Ok(()),
        _ => writeln!(
            out,
            "{:<8} {}/{}  {}",
            state.as_str(),
            r.bucket,
            r.key,
            why.unwrap_or("")
        ),
    }
}

/// Refuses a move into a vault (`role = "vault"`): a vault holds snapshots only, and a move puts
/// the live copy of objects on its destination and deletes the source.
fn refuse_vault(config: &Config, to: &str) -> anyhow::Result<()> {
    let vault = |i: usize| config.roles.get(i) == Some(&Role::Vault);
    if config
        .tiers
        .iter()
        .position(|t| t.name == to)
        .is_some_and(vault)
    {
        let data: Vec<&str> = (config.tiers.iter().enumerate())
            .filter(|&(i, _)| !vault(i))
            .map(|(_, t)| t.name.as_str())
            .collect();
        bail!(
            "tier {to:?} is a vault (role = \"vault\"): it holds snapshots only, never the live copy of objects; move to a data tier: {}",
            data.join(", ")
        );
    }
    Ok(())
}

/// Turns the first SIGINT or SIGTERM to `tierd move` or `tierd recall` into a stop that starts no
/// more moves (see [`run_moves`]); a second one ends the command at once.
fn stop_signals() -> anyhow::Result<(crate::shutdown::Shutdown, StopSignal)> {
    let notices = crate::shutdown::Notices {
        first: |name| {
            eprintln!(
                "stop requested by {name}: no new move starts; the moves in flight finish, then the command ends (a second SIGINT or SIGTERM stops at once)"
            );
        },
        second: |name, code| {
            eprintln!(
                "second stop signal ({name}): exiting at once with status {code}; `tierd recover` (or the next command that moves data) finishes or undoes the moves that were in flight"
            );
        },
    };
    crate::shutdown::on_stop_signals(notices).context("installing the SIGINT and SIGTERM handlers")
}

pub fn run_move(args: MoveArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let (shutdown, stop) = stop_signals()?;
        let (config, mut ex) = open(&args.store, &args.pace, Access::Moves("move")).await?;
        ex.stop_on(shutdown);
        if !ex.tiers().contains(&args.to) {
            bail!(
                "unknown tier {:?}; known tiers: {}",
                args.to,
                ex.tiers().names().join(", ")
            );
        }
        refuse_vault(&config, &args.to)?;
        let list = objects(&ex, &args.scope)
            .await?
            .into_iter()
            .map(|(b, k)| (b, k, args.to.clone()))
            .collect();
        let guard = Guard::load(&config, &mut ex.journal(), &args.interlocks)?;
        run_moves(&ex, &guard, list, "move", args.store.json, &config, &stop).await
    })
}

pub fn run_recall(args: RecallArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let (shutdown, stop) = stop_signals()?;
        let (config, mut ex) = open(&args.store, &args.pace, Access::Moves("recall")).await?;
        ex.stop_on(shutdown);
        let first = config
            .tiers
            .first()
            .map(|t| t.name.clone())
            .unwrap_or_default();
        let mut list = Vec::new();
        for (b, k) in objects(&ex, &args.scope).await? {
            let to = match &args.to {
                Some(t) => t.clone(),
                None => ex
                    .journal()
                    .moves_of(&b, &k)?
                    .into_iter()
                    .rev()
                    .find(|m| m.state == crate::journal::moves::MoveState::Done)
                    .map(|m| m.from_tier)
                    .unwrap_or_else(|| first.clone()),
            };
            refuse_vault(&config, &to)?;
            list.push((b, k, to));
        }
        let guard = Guard::load(&config, &mut ex.journal(), &args.interlocks)?;
        run_moves(&ex, &guard, list, "recall", args.store.json, &config, &stop).await
    })
}

pub fn run_locate(args: LocateArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let (config, ex) = open(&args.store, &Pace::default(), Access::Looks).await?;
        let (b, k) = split_object(&args.object)?;
        ex.scan(&b, &k).await?;
        // The catalog's tier no longer holds it (deleted, moved by hand, or a journal restored
        // from a backup older than its last move): forget the entry and look on every tier.
        let in_flight = ex.move_in_flight(&b, &k)?;
        // (The journal's lock is let go before the store is asked and the entry removed.)
        let known = ex.journal().locate(&b, &k)?;
        let mut forgot = None;
        if let Some(e) = known
            && !in_flight
            && !ex.holds(&e.tier, &b, &k).await
        {
            ex.journal().remove_entry(&b, &k)?;
            ex.scan(&b, &k).await?;
            forgot = Some(match &e.decision_id {
                Some(id) => format!("the catalog had it on {} (put there by decision {id}), which no longer holds it: the entry is forgotten", e.tier),
                None => format!("the catalog had it on {}, which no longer holds it: the entry is forgotten", e.tier),
            });
        }
        let Some(e) = ex.journal().locate(&b, &k)? else {
            // Exit 1, as `move` of an object on no tier: the answer is "nowhere", not a misuse.
            let catalog = forgot.unwrap_or_else(|| "not in the catalog".to_string());
            let held = crate::snapshot::holding(&ex, &b, &k).await?;
            let cfg = config_arg(config.path.as_deref());
            if args.store.json {
                let snapshots: Vec<_> = held.iter().map(|(s, e)| json!({"id": s.id, "created": s.created_at, "size": e.size, "sha256": e.sha256, "restore": restore_key(&s.id, &k, &cfg)})).collect();
                println!("{}", json!({"bucket": b, "key": k, "tier": null, "snapshots": snapshots}));
            }
            eprintln!(
                "{b}/{k} is on no tier ({catalog}; not found by a scan of: {})",
                ex.tiers().names().join(", ")
            );
            if !args.store.json {
                eprint!("{}", held_note(&held, &k, &cfg));
            }
            return Ok(ExitCode::from(1));
        };
        let decision = match &e.decision_id {
            Some(id) => ex.journal().decision(id)?,
            None => None,
        };
        // A copy on another tier while no move is in flight: the owner wrote it again there.
        let others = if in_flight {
            Vec::new()
        } else {
            ex.copies_elsewhere(&b, &k, &e.tier).await
        };
        let mut out = std::io::stdout().lock();
        if args.store.json {
            let others: Vec<_> = others
                .iter()
                .map(|(t, m)| json!({"tier": t, "size": m.size, "etag": m.e_tag, "written": crate::decision::rfc3339(m.last_modified)}))
                .collect();
            writeln!(
                out,
                "{}",
                json!({"bucket": e.bucket, "key": e.key, "tier": e.tier, "size": e.size, "etag": e.etag, "sha256": e.checksum, "since": e.since, "decision": decision, "other_copies": others})
            )?;
        } else {
            writeln!(out, "{b}/{k} is on {} since {} ({} bytes)", e.tier, e.since, e.size)?;
            match decision {
                Some(d) => writeln!(out, "put there by decision {}: {}", d.id, d.reason)?,
                None => writeln!(out, "found there by a scan (no tierd decision moved it)")?,
            }
            for (t, m) in &others {
                writeln!(
                    out,
                    "note: {}",
                    crate::executor::scan::other_copy_note(&b, &k, t, m)
                )?;
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// The snapshots that hold a key on no tier (newest first, at most 5), each with the command
/// that restores just that key; or that none does.
fn held_note(held: &[(SnapshotRow, ManifestEntry)], key: &str, config: &str) -> String {
    if held.is_empty() {
        return "no snapshot holds it\n".to_string();
    }
    let mut note = String::from("snapshots that hold it, newest first:\n");
    for (s, e) in held.iter().take(5) {
        note += &format!(
            "  {}  {}  {} bytes  restore: {}\n",
            s.id,
            s.created_at,
            e.size,
            restore_key(&s.id, key, config)
        );
    }
    if held.len() > 5 {
        note += &format!("  and {} older\n", held.len() - 5);
    }
    note
}

/// `tierd snapshot restore SNAPSHOT --key KEY`: what brings back one key.
fn restore_key(snapshot: &str, key: &str, config: &str) -> String {
    format!(
        "tierd snapshot restore {} --key {}{config}",
        shell_word(snapshot),
        shell_word(key)
    )
}

pub fn run_recover(args: RecoverArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let (config, ex) = open(&args.store, &Pace::default(), Access::Recovers).await?;
        let rec = super::common::recover_logged(&config, &ex).await?;
        let (r, settled) = (&rec.report, rec.decisions.len());
        let open_moves = ex.journal().open_moves()?.len();
        let open_uploads = ex.journal().open_uploads()?.len();
        let open_staging = ex.journal().open_staging()?.len();
        if args.store.json {
            println!(
                "{}",
                json!({"finished": r.finished, "undone": r.undone, "failed": r.failed,
                       "decisions_settled": settled, "pending_after": r.pending,
                       "open_moves": open_moves, "open_uploads": open_uploads,
                       "open_staging_files": open_staging})
            );
        } else {
            if *r != recover::RecoveryReport::default() || settled > 0 {
                println!(
                    "recovered what an earlier run left: {} finished, {} undone, {} failed, {} pending; {} settled{}",
                    r.finished,
                    r.undone,
                    r.failed,
                    r.pending,
                    super::common::plural(settled, "decision", "decisions"),
                    super::common::uploads_recovered(r)
                );
            }
            if open_moves == 0 {
                println!("no move is left in flight");
            } else {
                println!(
                    "{open_moves} moves are still open after recovery ({} could not be settled because a store failed); run `tierd recover` again once the stores answer; `tierd locate BUCKET/KEY` finds an object",
                    r.pending
                );
            }
            if open_uploads > 0 {
                println!(
                    "{} could not be aborted (the warnings on stderr name each tier, path and upload id); run `tierd recover` again once the stores answer",
                    super::common::uploads(open_uploads as u64)
                );
            }
        }
        if open_staging > 0 && !args.store.json {
            println!(
                "{} could not be removed (the warnings on stderr name each file); run `tierd recover` again once they can be",
                super::common::staging_files(open_staging as u64)
            );
        }
        Ok(if open_moves == 0 && open_uploads == 0 && open_staging == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_progress_line_counts_what_ended_and_what_a_stop_left_unstarted() {
        let mut t = Tally::default();
        let done = MoveOutcome::Done {
            from: "onprem".into(),
            bytes: 20_000,
            checksum: String::new(),
            verified_by: "read-back",
        };
        for o in [
            done.clone(),
            done,
            MoveOutcome::Skipped("already on cloud".into()),
        ] {
            t.count(&o);
        }
        t.count(&MoveOutcome::Failed(
            "gave up after 5 attempts: refused".into(),
        ));
        assert_eq!(
            progress_text(10, &t),
            "4 of 10 ended: 2 moved (40000 bytes), 1 failed or aborted, 1 skipped"
        );
        t.count(&MoveOutcome::NotStarted);
        assert_eq!(
            progress_text(10, &t),
            "5 of 10 ended: 2 moved (40000 bytes), 1 failed or aborted, 1 skipped, 1 not started (stopping)"
        );
    }

    #[test]
    fn an_object_a_stop_signal_kept_from_starting_is_skipped_saying_so() {
        let (state, why) = ended(&MoveOutcome::NotStarted, Some("SIGTERM"));
        assert_eq!(state, State::Skipped);
        assert_eq!(
            why.as_deref(),
            Some(
                "the operator's command was stopped before this object's move started (by SIGTERM): nothing was copied or deleted; run the command again to continue"
            )
        );
        let (state, _) = ended(&MoveOutcome::TierDown("tier cloud failed".into()), None);
        assert_eq!(state, State::Failed);
    }
}
