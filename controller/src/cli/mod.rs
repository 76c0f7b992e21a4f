//! The `tierd` command line: one module per subcommand, each with an `Args` struct and a `run`.

pub mod check;
pub mod common;
pub mod decisions;
pub mod decode;
pub mod explain;
pub mod freeze;
pub mod ingest;
mod keys;
pub mod moves;
mod outline;
mod output;
pub mod reconcile;
pub mod run;
pub mod simulate;
pub mod snapshot;
mod summary;
pub mod train;
pub mod unfreeze;
mod why;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// tierd: anomaly-driven data mobility for storage tiers.
#[derive(Debug, Parser)]
#[command(name = "tierd", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service: ingest logs, score behaviour, plan and execute decisions.
    Run(run::RunArgs),
    /// Read access logs and print what tierd sees in them.
    Ingest(ingest::IngestArgs),
    /// Validate policy files and the main configuration, and run the tests inside policy files.
    Check(check::CheckArgs),
    /// Move objects to a tier (copy, verify, then delete the source; journalled).
    Move(moves::MoveArgs),
    /// Bring objects back to the tier they came from (a move back).
    Recall(moves::RecallArgs),
    /// Where an object lives now, since when, and by which decision.
    Locate(moves::LocateArgs),
    /// Finish or undo every move a crash left in flight (every command does this at start).
    Recover(moves::RecoverArgs),
    /// Make the catalog say where each object is: list every data tier, follow, forget, add.
    Reconcile(reconcile::ReconcileArgs),
    /// Snapshots into the vault: create, list, show, verify, restore.
    Snapshot(snapshot::SnapshotArgs),
    /// Learn the behaviour model from access logs.
    Train(train::TrainArgs),
    /// Query decisions (from the journal or a decision-log file) as a table or JSON lines.
    Decisions(decisions::DecisionsArgs),
    /// Explain one decision in full: rule, conditions, anomaly, alternatives, guardrails, cost, undo.
    Explain(explain::ExplainArgs),
    /// Freeze a bucket or a prefix (or, with --all-buckets, every bucket): nothing is moved or deleted there until `tierd unfreeze`.
    Freeze(freeze::FreezeArgs),
    /// Lift a freeze (an operator's decision, recorded in the journal).
    Unfreeze(unfreeze::UnfreezeArgs),
    /// Replay past logs through a policy: what it would have done, why, and at what cost.
    Simulate(simulate::SimulateArgs),
    /// Decode a Parquet file in full (run by tierd itself in a child before it reads one).
    #[command(hide = true)]
    DecodeParquet(decode::DecodeArgs),
}

/// Runs the parsed command line.
///
/// # Errors
/// Whatever the subcommand reports; `main` prints it.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(a) => run::run(a),
        Command::Ingest(a) => ingest::run(a),
        Command::Check(a) => check::run(&a),
        Command::Move(a) => moves::run_move(a),
        Command::Recall(a) => moves::run_recall(a),
        Command::Locate(a) => moves::run_locate(a),
        Command::Recover(a) => moves::run_recover(a),
        Command::Reconcile(a) => reconcile::run(a),
        Command::Snapshot(a) => snapshot::run(a),
        Command::Train(a) => train::run(a),
        Command::Decisions(a) => decisions::run(a),
        Command::Simulate(a) => simulate::run(a),
        Command::Explain(a) => explain::run(a),
        Command::Freeze(a) => freeze::run(a),
        Command::Unfreeze(a) => unfreeze::run(a),
        Command::DecodeParquet(a) => decode::run(&a),
    }
}
