//! `tierd reconcile`: the catalog made to say where each object is, a bucket at a time (see
//! [`crate::executor::reconcile`]).

use std::collections::BTreeSet;
use std::io::Write;
use std::process::ExitCode;

use super::common::{Access, Pace, StoreArgs, open, runtime};
use crate::config::Role;
use crate::executor::reconcile::Reconciled;

#[derive(Debug, clap::Args)]
pub struct ReconcileArgs {
    /// Only this bucket. Default: every bucket the catalog or a data tier has.
    #[arg(long)]
    pub bucket: Option<String>,
    /// Say what would change, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub fn run(args: ReconcileArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        // A dry run only looks; a reconcile changes the catalog, so no move may run beside it
        // (the mover lock, and moves a crash left in flight recovered first).
        let access = if args.dry_run {
            Access::Looks
        } else {
            Access::Moves("reconcile")
        };
        let (config, ex) = open(&args.store, &Pace::default(), access).await?;
        let data: Vec<String> = config
            .tiers
            .iter()
            .zip(&config.roles)
            .filter(|(_, role)| **role == Role::Data)
            .map(|(t, _)| t.name.clone())
            .collect();
        let mut failed = 0usize;
        let buckets = match &args.bucket {
            Some(b) => vec![b.clone()],
            None => {
                let mut all: BTreeSet<String> = ex.journal().catalog_buckets()?.into_iter().collect();
                for tier in &data {
                    match ex.tiers().buckets(tier).await {
                        Ok(found) => all.extend(found),
                        Err(e) => {
                            eprintln!("cannot list the buckets of {e}; the catalog's buckets are reconciled, name others with --bucket");
                            failed += 1;
                        }
                    }
                }
                all.into_iter().collect()
            }
        };
        let mut out = std::io::stdout().lock();
        for bucket in buckets {
            match ex.reconcile(&bucket, &data, !args.dry_run).await {
                Ok(mut r) => {
                    // What changed is an operator's decision, in the journal and the log.
                    if !args.dry_run {
                        let at = crate::decision::rfc3339(chrono::Utc::now());
                        let id = ex.journal().next_decision_id("reconcile", &at)?;
                        if let Some(d) = r.decision(id, at) {
                            ex.journal().record_decision(&d)?;
                            super::common::to_decision_log(&config, std::slice::from_ref(&d))?;
                            r.decision_id = Some(d.id);
                        }
                    }
                    if r.checked == 0 && r.listed == 0 {
                        eprintln!(
                            "warning: no catalog entry and no tier holds bucket {bucket:?} (a misspelt bucket?)"
                        );
                    }
                    if args.store.json {
                        let mut v = serde_json::to_value(&r)?;
                        v["reconciled"] = true.into();
                        v["dry_run"] = args.dry_run.into();
                        writeln!(out, "{v}")?;
                    } else {
                        write_text(&mut out, &r, args.dry_run)?;
                    }
                }
                Err(e) => {
                    let e = crate::decision::one_line(&e.to_string()).into_owned();
                    eprintln!("{bucket}: not reconciled, nothing changed: {e}");
                    if args.store.json {
                        let v = serde_json::json!({"bucket": bucket, "reconciled": false, "error": e});
                        writeln!(out, "{v}")?;
                    }
                    failed += 1;
                }
            }
        }
        Ok(if failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    })
}

fn write_text(out: &mut impl Write, r: &Reconciled, dry_run: bool) -> std::io::Result<()> {
    let b = &r.bucket;
    let (forgot, follows, added, takes) = if dry_run {
        ("would forget", "would follow it", "would add", "would take")
    } else {
        ("forgot", "followed it", "added", "took")
    };
    let mut said = format!(
        "{b}: {} checked; {} forgotten, {} found on another tier, {} added, {} written again in place, {} with a copy on another tier",
        super::common::plural(r.checked as usize, "entry", "entries"),
        r.forgotten.len(),
        r.relocated.len(),
        r.added.len(),
        r.changed.len(),
        r.other_copies.len()
    );
    if r.in_flight > 0 {
        said += &format!(", {} left alone (a move in flight)", r.in_flight);
    }
    if dry_run {
        said += " (dry run: nothing changed)";
    }
    if let Some(id) = &r.decision_id {
        said += &format!(" (decision {id})");
    }
    writeln!(out, "{said}")?;
    for (key, had) in &r.forgotten {
        writeln!(
            out,
            "  {forgot} {b}/{key}: the catalog had it on {had}; it is on no tier"
        )?;
    }
    for (key, had, is) in &r.relocated {
        writeln!(
            out,
            "  {b}/{key}: the catalog had it on {had}; it is on {is}: {follows}"
        )?;
    }
    for (key, tier) in &r.added {
        writeln!(out, "  {added} {b}/{key} on {tier}: no entry named it")?;
    }
    for (key, tier) in &r.changed {
        writeln!(
            out,
            "  {b}/{key} on {tier} was written again in place (another size or etag): {takes} its new size, etag and time"
        )?;
    }
    for (key, tier, others) in &r.other_copies {
        writeln!(
            out,
            "  {b}/{key} is on {tier}; {} holds a copy too (tierd changes neither: compare them, and delete the one not wanted)",
            others.join(", ")
        )?;
    }
    Ok(())
}
