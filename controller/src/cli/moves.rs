//! `tierd move`, `tierd recall`, `tierd locate`, `tierd recover`: an operator's hands on data.

use std::io::Write;
use std::process::ExitCode;

use anyhow::bail;
use serde_json::json;

use super::common::{Access, Pace, StoreArgs, open, runtime, split_object};
use crate::decision::{Action, Decision, State, rfc3339, shell_word};
use crate::executor::{Executor, MoveOutcome, MoveRequest, recover};

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

#[derive(Debug, clap::Args)]
pub struct MoveArgs {
    #[command(flatten)]
    pub scope: Scope,
    /// The tier to move to.
    #[arg(long)]
    pub to: String,
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

async fn run_moves(
    ex: &Executor,
    list: Vec<(String, String, String)>,
    verb: &str,
    json_out: bool,
) -> anyhow::Result<ExitCode> {
    let at = rfc3339(chrono::Utc::now());
    let mut reqs = Vec::new();
    let mut decisions = Vec::new();
    let ids = ex.journal().next_decision_ids("op", &at, list.len())?;
    for ((bucket, key, to), id) in list.into_iter().zip(ids) {
        let from = ex.journal().locate(&bucket, &key)?.map(|e| e.tier);
        let d = Decision {
            id: id.clone(),
            at: at.clone(),
            action: Action::Move,
            bucket: Some(bucket.clone()),
            key: Some(key.clone()),
            prefix: None,
            from: from.clone(),
            to: Some(to.clone()),
            rule: None,
            anomaly: None,
            reason: format!("An operator ran `tierd {verb}` for this object."),
            cost: None,
            undo: from.as_ref().map(|f| {
                let object = format!("{bucket}/{key}");
                format!("tierd move {} --to {}", shell_word(&object), shell_word(f))
            }),
            state: State::Running,
            why: None,
            explanation: None,
        };
        decisions.push(d);
        reqs.push(MoveRequest {
            decision_id: id,
            bucket,
            key,
            to,
        });
    }
    ex.journal().record_decisions(&decisions)?;
    let outcomes = ex.apply(reqs).await;
    let mut states = Vec::with_capacity(outcomes.len());
    let mut out = std::io::stdout().lock();
    let (mut done, mut bytes, mut bad) = (0u64, 0u64, 0u64);
    for (r, o) in &outcomes {
        let (state, why) = match o {
            MoveOutcome::Done { bytes: b, .. } => {
                done += 1;
                bytes += b;
                (State::Done, None)
            }
            MoveOutcome::Skipped(w) => (State::Skipped, Some(w.as_str())),
            // An operator named an object that is not there: a failure of the command.
            MoveOutcome::Aborted(w) | MoveOutcome::Failed(w) | MoveOutcome::NotFound(w) => {
                bad += 1;
                (State::Failed, Some(w.as_str()))
            }
        };
        states.push((r.decision_id.clone(), state, why.map(str::to_string)));
        if json_out {
            writeln!(
                out,
                "{}",
                json!({"decision": r.decision_id, "bucket": r.bucket, "key": r.key, "to": r.to, "state": state.as_str(), "why": why})
            )?;
        } else {
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
                )?,
                _ => writeln!(
                    out,
                    "{:<8} {}/{}  {}",
                    state.as_str(),
                    r.bucket,
                    r.key,
                    why.unwrap_or("")
                )?,
            }
        }
    }
    ex.journal().set_decision_states(&states)?;
    if !json_out {
        writeln!(
            out,
            "{done} moved ({bytes} bytes), {bad} failed or aborted, {} skipped",
            outcomes.len() as u64 - done - bad
        )?;
    }
    Ok(if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn run_move(args: MoveArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let (_, ex) = open(&args.store, &args.pace, Access::Moves("move")).await?;
        if !ex.tiers().contains(&args.to) {
            bail!(
                "unknown tier {:?}; known tiers: {}",
                args.to,
                ex.tiers().names().join(", ")
            );
        }
        let list = objects(&ex, &args.scope)
            .await?
            .into_iter()
            .map(|(b, k)| (b, k, args.to.clone()))
            .collect();
        run_moves(&ex, list, "move", args.store.json).await
    })
}

pub fn run_recall(args: RecallArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let (config, ex) = open(&args.store, &args.pace, Access::Moves("recall")).await?;
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
            list.push((b, k, to));
        }
        run_moves(&ex, list, "recall", args.store.json).await
    })
}

pub fn run_locate(args: LocateArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let (_, ex) = open(&args.store, &Pace::default(), Access::Looks).await?;
        let (b, k) = split_object(&args.object)?;
        ex.scan(&b, &k).await?;
        let Some(e) = ex.journal().locate(&b, &k)? else {
            bail!("{b}/{k} is on no tier (not in the catalog, not found by a scan of: {})", ex.tiers().names().join(", "));
        };
        let decision = match &e.decision_id {
            Some(id) => ex.journal().decision(id)?,
            None => None,
        };
        let mut out = std::io::stdout().lock();
        if args.store.json {
            writeln!(
                out,
                "{}",
                json!({"bucket": e.bucket, "key": e.key, "tier": e.tier, "size": e.size, "etag": e.etag, "sha256": e.checksum, "since": e.since, "decision": decision})
            )?;
        } else {
            writeln!(out, "{b}/{k} is on {} since {} ({} bytes)", e.tier, e.since, e.size)?;
            match decision {
                Some(d) => writeln!(out, "put there by decision {}: {}", d.id, d.reason)?,
                None => writeln!(out, "found there by a scan (no tierd decision moved it)")?,
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

pub fn run_recover(args: RecoverArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        // `open` already recovers; run it once more to report what is left.
        let (_, ex) = open(&args.store, &Pace::default(), Access::Moves("recover")).await?;
        let r = recover::recover(&ex).await?;
        let open_moves = ex.journal().open_moves()?.len();
        println!(
            "{}",
            json!({"pending_after": r.pending, "open_moves": open_moves})
        );
        Ok(if open_moves == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    })
}
