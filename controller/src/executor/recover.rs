//! Crash recovery: every move the journal shows in flight is finished or undone, safely.
//!
//! Before any move, every multipart upload the journal still records (to an S3 tier, whose
//! incomplete uploads the store keeps and bills, unlisted) is aborted by its id and forgotten;
//! one whose abort fails stays journalled for the next run (see [`super::uploads`]). So is every
//! staging file the journal still records (a local filesystem tier's partial copy, unlisted):
//! removed, that file only, and forgotten (see [`super::local`]).
//!
//! | journalled state | what is true | what recovery does |
//! |---|---|---|
//! | `intent` | the destination may hold this move's complete but unverified copy (writes are atomic), and, on a local filesystem tier, the journalled staging file of an interrupted write (`<file>#<n>`, unlisted) | the staging file was removed (it is never an object); source intact: remove the destination only if it holds the source's exact bytes, mark `aborted` (the move can be planned again); source gone: keep everything, mark `failed` for an operator |
//! | `copied` | the destination holds a verified copy | the destination still that copy (its etag, or its sha256 read back where the store gives no etag) and the source still the copied version: delete the source; source gone (deleted before the crash): nothing to delete; then `done` and the catalog change. Source changed: remove the copy, `aborted`. Destination changed or gone: keep everything, `failed` for an operator (the why says whether the source is still there; the catalog follows what exists) |
//!
//! No step ever deletes the only copy of an object. In a live move (not a recovery), a source
//! found gone before this move deleted it was deleted by a client: the delete stands, and the
//! copy is removed ([`SOURCE_DELETED`]).
//!
//! The decision behind each move recovery ends gets its final state (`done`, or `failed` for a
//! move undone or left for an operator), with a `why` saying recovery finished or undid it after
//! an interruption; so does a decision still `planned` or `running` whose moves had all ended
//! before the interruption (its process stopped before recording the outcome).

use std::sync::Arc;

use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use tracing::Instrument;

use super::copy::{CopyError, read_checksum};
use super::local::StagingRemoved;
use super::{ExecError, Executor, now};
use crate::decision::{Decision, State};
use crate::journal::JournalError;
use crate::journal::catalog::Entry;
use crate::journal::moves::{MoveRow, MoveState};

/// Why finishing a copied move stopped.
#[derive(Debug)]
pub enum FinishError {
    Transient(String),
    Journal(JournalError),
}

/// Steps 5 and 6 for a move whose verified copy is journalled: delete the source if it is still
/// the copied version, then journal `done` with the catalog change. Returns the final state:
/// `Done`, `Aborted` (the source changed) or `Failed` (after a crash, the destination is no
/// longer the verified copy; both are kept).
///
/// # Errors
/// A store error (retry later: the state stays `copied`) or a journal error.
/// Why a live move that found its source deleted before it deleted it ended `aborted`.
pub(crate) const SOURCE_DELETED: &str = "the source was deleted while it was being moved (by a client: this move had not deleted it); the delete stands: the copy was removed";

/// How a move ended: its state, and the why the journal recorded (none when done).
pub(crate) type Finished = (MoveState, Option<String>);

/// Ends a move whose copy at the destination is gone or no longer the verified one as `failed`,
/// for an operator: its why is `what` and whether the source is still there. Where it is not,
/// the catalog follows what exists (the destination's other version, or no object at all)
/// instead of naming a tier that does not hold it.
async fn leave_for_an_operator(
    ex: &Executor,
    m: &MoveRow,
    (src, src_path): (&Arc<dyn ObjectStore>, &Path),
    dest: Option<&object_store::ObjectMeta>,
    what: &str,
) -> Result<Finished, FinishError> {
    let left = match src.head(src_path).await {
        Ok(_) => "the source was kept",
        Err(object_store::Error::NotFound { .. }) => {
            match dest {
                Some(d) => ex.journal().upsert_entry(&Entry {
                    bucket: m.bucket.clone(),
                    key: m.key.clone(),
                    tier: m.to_tier.clone(),
                    size: d.size,
                    etag: d.e_tag.clone(),
                    checksum: None,
                    since: now(),
                    decision_id: None,
                }),
                None => ex.journal().remove_entry(&m.bucket, &m.key),
            }
            .map_err(FinishError::Journal)?;
            if dest.is_some() {
                "the source is gone too (deleted by this move before it was interrupted, or by a client): the destination holds another version, which the catalog now names; the verified bytes are on neither tier"
            } else {
                "the source is gone too (deleted by this move before it was interrupted, or by a client): the object is on neither tier, and the catalog forgets it"
            }
        }
        Err(e) => return Err(FinishError::Transient(e.to_string())),
    };
    end(ex, m, MoveState::Failed, format!("{what}; {left}"))
}

/// Journals the end of move `m` with `why`.
fn end(ex: &Executor, m: &MoveRow, state: MoveState, why: String) -> Result<Finished, FinishError> {
    ex.journal()
        .move_end(m.id, state, Some(&why))
        .map_err(FinishError::Journal)?;
    Ok((state, Some(why)))
}

pub(crate) async fn finish_copied(
    ex: &Executor,
    m: &MoveRow,
    just_verified: bool,
) -> Result<Finished, FinishError> {
    let transient = |e: String| FinishError::Transient(e);
    let (src, src_path) = ex
        .tiers
        .object(&m.from_tier, &m.bucket, &m.key)
        .map_err(|e| transient(e.to_string()))?;
    let (dst, dst_path) = ex
        .tiers
        .object(&m.to_tier, &m.bucket, &m.key)
        .map_err(|e| transient(e.to_string()))?;
    // The destination must still be the verified copy before the source may go (after a crash,
    // check again; in the same run the copy was verified a moment ago).
    let head = if just_verified {
        Ok(object_store::ObjectMeta {
            location: dst_path.clone(),
            last_modified: chrono::Utc::now(),
            size: m.src_size.unwrap_or_default(),
            e_tag: m.dest_etag.clone(),
            version: None,
        })
    } else {
        dst.head(&dst_path).await
    };
    let dmeta = match head {
        Ok(d) => d,
        Err(object_store::Error::NotFound { .. }) => {
            let what = "the verified copy vanished from the destination";
            return leave_for_an_operator(ex, m, (&src, &src_path), None, what).await;
        }
        Err(e) => return Err(transient(e.to_string())),
    };
    // After a crash, the copy must still be the bytes that were verified: by its etag where the
    // store gives one, else read back and hashed (recovery is rare; a delete is forever).
    let trim = |e: &Option<String>| e.as_deref().map(|e| e.trim_matches('"').to_string());
    let mut same_copy = Some(dmeta.size) == m.src_size;
    if same_copy && !just_verified {
        match (trim(&m.dest_etag), trim(&dmeta.e_tag)) {
            (Some(was), Some(now)) => same_copy = was == now,
            _ => match read_checksum(&dst, &dst_path).await {
                Ok((size, sum)) => {
                    same_copy = Some(size) == m.src_size && m.checksum.as_deref() == Some(&sum);
                }
                Err(CopyError::SourceChanged(_)) => same_copy = false,
                Err(e) => return Err(transient(e.to_string())),
            },
        }
    }
    if !same_copy {
        let what = "the destination no longer matches the verified copy";
        return leave_for_an_operator(ex, m, (&src, &src_path), Some(&dmeta), what).await;
    }
    match src.head(&src_path).await {
        Ok(smeta) => {
            let same = smeta.e_tag == m.src_etag && Some(smeta.size) == m.src_size;
            if !same {
                // Someone wrote a new version while we copied: it is the truth; drop our copy.
                dst.delete(&dst_path)
                    .await
                    .map_err(|e| transient(e.to_string()))?;
                let why =
                    "the source changed during the move; the copy was removed, the new source kept";
                return end(ex, m, MoveState::Aborted, why.into());
            }
            match src.delete(&src_path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(transient(e.to_string())),
            }
        }
        // In the same run, the source was there a moment ago and this move has not deleted
        // it: a client deleted it while it was copied. The delete is the truth (an erasure
        // must not come back on another tier): the copy goes, and so does the catalog's entry.
        Err(object_store::Error::NotFound { .. }) if just_verified => {
            dst.delete(&dst_path)
                .await
                .map_err(|e| transient(e.to_string()))?;
            ex.journal()
                .remove_entry(&m.bucket, &m.key)
                .map_err(FinishError::Journal)?;
            return end(ex, m, MoveState::Aborted, SOURCE_DELETED.into());
        }
        // Deleted by this move before a crash: the copy is now the only one, as intended.
        Err(object_store::Error::NotFound { .. }) => {}
        Err(e) => return Err(transient(e.to_string())),
    }
    let entry = Entry {
        bucket: m.bucket.clone(),
        key: m.key.clone(),
        tier: m.to_tier.clone(),
        size: dmeta.size,
        etag: dmeta.e_tag.clone(),
        checksum: m.checksum.clone(),
        since: now(),
        decision_id: Some(m.decision_id.clone()),
    };
    ex.journal()
        .move_done(m, &entry)
        .map_err(FinishError::Journal)?;
    // Logged as the executor's: a live move ends here as a recovered one does.
    tracing::info!(target: "tierd::executor", message = "Object moved.", bucket = %m.bucket, key = %m.key, from = %m.from_tier, to = %m.to_tier, bytes = dmeta.size);
    Ok((MoveState::Done, None))
}

/// What recovery did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RecoveryReport {
    /// Moves finished (copied → done).
    pub finished: u64,
    /// Moves undone safely (intent → aborted, or copied with a changed source).
    pub undone: u64,
    /// Moves left for an operator (failed), with their reasons in the journal.
    pub failed: u64,
    /// Moves still in flight because a store did not answer; tried again next start.
    pub pending: u64,
    /// Incomplete multipart uploads left by an interrupted copy, aborted.
    pub uploads_aborted: u64,
    /// Uploads journalled by an interrupted copy that the store no longer knew (completed
    /// just before the interruption, or expired): nothing to abort.
    pub uploads_gone: u64,
    /// Incomplete multipart uploads whose abort failed; still journalled, tried again next start.
    pub uploads_pending: u64,
    /// Staging files of interrupted copies to local filesystem tiers, removed.
    pub staging_removed: u64,
    /// The bytes those staging files held.
    pub staging_bytes: u64,
    /// Staging files that could not be removed; still journalled, tried again next start.
    pub staging_pending: u64,
}

/// What recovery did, with the decisions whose final state it recorded.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Recovered {
    pub report: RecoveryReport,
    /// The decisions recovery settled, as the journal now holds them: for the decision log,
    /// which recovery cannot reach (the service appends them once its log is open).
    pub decisions: Vec<Decision>,
    /// A stop was asked for part way: the moves not reached are still in flight (counted as
    /// pending), and no decision was settled beyond those of the moves recovered.
    pub stopped: bool,
}

/// Logs that the move `m` stays in flight: its store did not answer (`e`).
fn not_yet(m: &crate::journal::moves::MoveRow, e: &dyn std::fmt::Display) {
    tracing::warn!(
        message = "Cannot recover the move yet; a running service tries again (after 30 s, then less and less often), a command at the next start.",
        bucket = %m.bucket,
        key = %m.key,
        decision = %m.decision_id,
        error = %e
    );
}

/// Recovers every move left in flight. Safe to run at any time and any number of times. See
/// [`recover_settling`], which this is without the settled decisions.
///
/// # Errors
/// The journal fails. (Store errors leave a move pending for the next run.)
pub async fn recover(ex: &Executor) -> Result<RecoveryReport, ExecError> {
    Ok(recover_settling(ex).await?.report)
}

/// Recovers every move left in flight, then gives every decision whose moves have all ended its
/// final state in the journal. Run it only while holding the mover's lock (no other process
/// moving data with this journal). Safe to run any number of times.
///
/// # Errors
/// The journal fails. (Store errors leave a move pending, and its decision open, for the next
/// run.)
pub async fn recover_settling(ex: &Executor) -> Result<Recovered, ExecError> {
    recover_watched(ex, |_, _| {}).await
}

/// [`recover_settling`], telling `progress` before each move how many of how many moves left in
/// flight are recovered (the service says so on `/readyz` while it starts).
///
/// # Errors
/// See [`recover_settling`].
pub async fn recover_watched(
    ex: &Executor,
    mut progress: impl FnMut(usize, usize),
) -> Result<Recovered, ExecError> {
    // First the uploads interrupted copies left (nothing writes to them any more: the mover's
    // lock is held), then the moves they belonged to.
    let uploads = super::uploads::abort_left(&ex.tiers, &ex.journal).await?;
    let staging = super::local::remove_left(&ex.journal)?;
    let open = ex.journal().open_moves()?;
    let total = open.len();
    if total > 0 {
        // Each may wait on a slow store: say why start-up takes long.
        tracing::info!(message = "Recovering moves left in flight.", moves = total);
    }
    let mut r = RecoveryReport {
        uploads_aborted: uploads.aborted,
        uploads_gone: uploads.gone,
        uploads_pending: uploads.pending,
        staging_removed: staging.removed.len() as u64,
        staging_bytes: staging.removed.iter().map(|s| s.bytes).sum(),
        staging_pending: staging.pending,
        ..RecoveryReport::default()
    };
    let mut decisions = Vec::new();
    for (done, m) in open.into_iter().enumerate() {
        progress(done, total);
        // Between two moves every step is journalled: a stop leaves the rest for the next start.
        if ex.stop_requested() {
            let left = (total - done) as u64;
            r.pending += left;
            tracing::warn!(
                message = "Recovery stopped: a stop was asked for; the moves left in flight are recovered at the next start.",
                left
            );
            log_recovered(&r);
            return Ok(Recovered {
                report: r,
                decisions,
                stopped: true,
            });
        }
        let span = tracing::info_span!(
            "recover",
            move_id = m.id,
            bucket = %m.bucket,
            key = %m.key,
            from = %m.from_tier,
            to = %m.to_tier
        );
        let ended = async {
            match m.state {
                MoveState::Copied => match finish_copied(ex, &m, false).await {
                    Ok((MoveState::Done, _)) => {
                        r.finished += 1;
                        Ok(true)
                    }
                    Ok((MoveState::Aborted, _)) => {
                        r.undone += 1;
                        Ok(true)
                    }
                    Ok(_) => {
                        r.failed += 1;
                        Ok(true)
                    }
                    Err(FinishError::Transient(e)) => {
                        not_yet(&m, &e);
                        r.pending += 1;
                        Ok(false)
                    }
                    Err(FinishError::Journal(e)) => Err(e),
                },
                _ => match undo_intent(ex, &m, &staging.removed).await {
                    Ok(MoveState::Aborted) => {
                        r.undone += 1;
                        Ok(true)
                    }
                    Ok(_) => {
                        r.failed += 1;
                        Ok(true)
                    }
                    Err(e) => {
                        not_yet(&m, &e);
                        r.pending += 1;
                        Ok(false)
                    }
                },
            }
        }
        .instrument(span)
        .await?;
        if !ended {
            continue;
        }
        let row = ex.journal().move_by_id(m.id)?;
        if let Some(row) = row
            && let Some(d) = settle(ex, &row, Settled::ByRecovery)?
        {
            decisions.push(d);
        }
    }
    // Moves that ended before the interruption, whose decision was never told.
    let unsettled = ex.journal().moves_of_unsettled_decisions()?;
    for m in unsettled {
        if let Some(d) = settle(ex, &m, Settled::Before)? {
            decisions.push(d);
        }
    }
    // Moves decided but interrupted before their intent: nothing was changed. The service's
    // are `failed` (interrupted; its next pass decides again); an operator's command has no next
    // pass: its are `skipped`, and the operator runs it again.
    let never = ex.journal().moves_never_started()?;
    for id in never {
        let (state, why) = if crate::decision::is_operator_move(&id) {
            (State::Skipped, crate::decision::operator_killed_why())
        } else {
            (State::Failed, crate::decision::never_started_why())
        };
        decisions.extend(ex.journal().settle_decision(&id, state, Some(&why))?);
    }
    // Snapshots cut short: their decisions stay open otherwise, and their cooldown would start.
    let open_snapshots = ex.journal().unsettled(crate::decision::Action::Snapshot)?;
    for id in open_snapshots {
        // Recorded just before the interruption: done, and its copies are the snapshot's.
        // (Bound first: the journal's lock must be let go before the settle below takes it.)
        let recorded = ex.journal().snapshot(&id)?;
        if let Some(row) = recorded {
            let why = format!(
                "{} (settled by recovery after an interruption)",
                crate::snapshot::made_why(&row, None)
            );
            decisions.extend(ex.journal().settle_decision(&id, State::Done, Some(&why))?);
            continue;
        }
        // Not recorded: the copies it made belong to no snapshot, and are removed.
        let d = ex.journal().decision(&id)?;
        let copies = match d
            .as_ref()
            .and_then(|d| Some((d.to.as_deref()?, d.bucket.as_deref()?)))
        {
            Some((vault, bucket)) if ex.tiers().contains(vault) => {
                let partial = partial_copies(ex, &staging.removed, (vault, bucket), &id);
                match crate::snapshot::discard_interrupted(ex, vault, bucket, &id).await {
                    Ok(0) if partial.is_empty() => "no copy had been made".to_string(),
                    Ok(0) => format!("no copy had been completed{partial}"),
                    Ok(n) => format!("its {n} copies were removed from the vault{partial}"),
                    Err(e) => format!(
                        "its copies could not be removed from the vault ({e}); they are under .tierd-snapshots/data/{id}/"
                    ),
                }
            }
            _ => format!(
                "copies already made are left under .tierd-snapshots/data/{id}/ of the vault"
            ),
        };
        let why = crate::decision::snapshot_interrupted_why(&copies);
        decisions.extend(
            ex.journal()
                .settle_decision(&id, State::Failed, Some(&why))?,
        );
    }
    // Restores cut short: what they restored is complete and verified, and the catalog names
    // their decision; what they were about to replace was kept first (its own snapshot decision).
    let open_restores = ex.journal().unsettled(crate::decision::Action::Restore)?;
    for id in open_restores {
        let why = "interrupted: the objects restored before the interruption are complete and verified (`tierd locate` names this decision for them), the others were not written; run the restore again to finish it";
        decisions.extend(
            ex.journal()
                .settle_decision(&id, State::Failed, Some(why))?,
        );
    }
    log_recovered(&r);
    Ok(Recovered {
        report: r,
        decisions,
        stopped: false,
    })
}

/// The one log line saying what recovery did (none when it had nothing to do).
fn log_recovered(r: &RecoveryReport) {
    if *r != RecoveryReport::default() {
        tracing::warn!(
            message = "Recovered moves left in flight.",
            finished = r.finished,
            undone = r.undone,
            failed = r.failed,
            pending = r.pending,
            uploads_aborted = r.uploads_aborted,
            uploads_pending = r.uploads_pending,
            staging_removed = r.staging_removed,
            staging_pending = r.staging_pending
        );
    }
}

/// When the move whose decision is settled ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settled {
    /// Recovery has just finished or undone it.
    ByRecovery,
    /// Before the interruption; only the decision's record was missing.
    Before,
}

/// The final state and why of the decision behind the ended move `m`.
fn decision_end(m: &MoveRow, when: Settled) -> Option<(State, String)> {
    let (from, to) = (&m.from_tier, &m.to_tier);
    let err = m.error.as_deref().unwrap_or("no reason was journalled");
    let end = match (m.state, when) {
        (MoveState::Done, Settled::ByRecovery) => (
            State::Done,
            format!(
                "finished by recovery after an interruption: the verified copy on {to} is the object now; the source on {from} was removed"
            ),
        ),
        (MoveState::Aborted, Settled::ByRecovery) => (
            State::Failed,
            format!(
                "{}: {err}; the object stays on {from}",
                crate::decision::UNDONE_BY_RECOVERY
            ),
        ),
        (MoveState::Failed, Settled::ByRecovery) => (
            State::Failed,
            format!("left for an operator by recovery after an interruption: {err}"),
        ),
        (MoveState::Done, Settled::Before) => (
            State::Done,
            format!("recorded by recovery after an interruption: the move to {to} had finished"),
        ),
        (MoveState::Aborted, Settled::Before) => (
            State::Failed,
            format!(
                "recorded by recovery after an interruption: the move had been undone ({err}); the object stays on {from}"
            ),
        ),
        (MoveState::Failed, Settled::Before) => (
            State::Failed,
            format!("recorded by recovery after an interruption: the move had failed ({err})"),
        ),
        (MoveState::Intent | MoveState::Copied, _) => return None,
    };
    Some(end)
}

/// A decision's final state, recorded by recovery.
struct DecisionSettled<'a> {
    decision: &'a Decision,
    move_id: i64,
}

impl DecisionSettled<'_> {
    fn emit(&self) {
        tracing::info!(
            message = "Decision settled by recovery.",
            decision = %self.decision.id,
            move_id = self.move_id,
            state = %self.decision.state,
            why = self.decision.why.as_deref().unwrap_or_default()
        );
    }
}

/// Gives the decision behind the ended move `m` its final state, if it is still open.
fn settle(ex: &Executor, m: &MoveRow, when: Settled) -> Result<Option<Decision>, JournalError> {
    let Some((state, why)) = decision_end(m, when) else {
        return Ok(None);
    };
    let d = ex
        .journal()
        .settle_decision(&m.decision_id, state, Some(&why))?;
    if let Some(d) = &d {
        DecisionSettled {
            decision: d,
            move_id: m.id,
        }
        .emit();
    }
    Ok(d)
}

/// `; the partial upload it left (N bytes) was removed`: what recovery removed of the interrupted
/// copies whose staging files are `removed` and whose objects were to be at `(tier, bucket)`'s
/// `path`, or under it when `under`; empty when none.
fn partial_removed(
    removed: &[StagingRemoved],
    (tier, bucket): (&str, &str),
    path: &str,
    under: bool,
) -> String {
    let mine: Vec<&StagingRemoved> = removed
        .iter()
        .filter(|s| s.tier == tier && s.bucket == bucket)
        .filter(|s| {
            if under {
                s.path.starts_with(path) && s.path[path.len()..].starts_with('/')
            } else {
                s.path == path
            }
        })
        .collect();
    let bytes: u64 = mine.iter().map(|s| s.bytes).sum();
    match mine.len() {
        0 => String::new(),
        1 => format!("; the partial upload it left ({bytes} bytes) was removed"),
        n => format!("; the {n} partial uploads it left ({bytes} bytes) were removed"),
    }
}

/// [`partial_removed`] for the snapshot `id` into `vault`: its copies' staging files.
fn partial_copies(
    ex: &Executor,
    removed: &[StagingRemoved],
    (vault, bucket): (&str, &str),
    id: &str,
) -> String {
    let Ok((_, base)) = ex.tiers().bucket(vault, bucket) else {
        return String::new();
    };
    let folder = crate::snapshot::data_folder(&base, id);
    partial_removed(removed, (vault, bucket), folder.as_ref(), true)
}

async fn undo_intent(
    ex: &Executor,
    m: &MoveRow,
    staging: &[StagingRemoved],
) -> Result<MoveState, CopyError> {
    let (src, src_path) = ex
        .tiers
        .object(&m.from_tier, &m.bucket, &m.key)
        .map_err(|e| CopyError::Transient(e.to_string()))?;
    let (dst, dst_path) = ex
        .tiers
        .object(&m.to_tier, &m.bucket, &m.key)
        .map_err(|e| CopyError::Transient(e.to_string()))?;
    let journal_err = |e: JournalError| CopyError::Permanent(e.to_string());
    // The staging file a write the interruption cut short left beside the destination (on a
    // local filesystem tier) was removed before the moves were recovered.
    let partial = partial_removed(staging, (&m.to_tier, &m.bucket), dst_path.as_ref(), false);
    match src.head(&src_path).await {
        Ok(smeta) => {
            // The source is intact. Writes are atomic (a PUT, a completed multipart upload), so
            // the destination holds either nothing, this move's complete copy, or an object that
            // is not this move's. Only a copy with the source's exact bytes is removed.
            let why = match dst.head(&dst_path).await {
                Err(object_store::Error::NotFound { .. }) if partial.is_empty() => {
                    "interrupted before the copy was written; nothing to undo"
                }
                Err(object_store::Error::NotFound { .. }) => {
                    "interrupted before the copy was complete, the source kept"
                }
                Err(e) => return Err(CopyError::Transient(e.to_string())),
                Ok(d)
                    if d.size == smeta.size
                        && read_checksum(&dst, &dst_path).await?
                            == read_checksum(&src, &src_path).await? =>
                {
                    match dst.delete(&dst_path).await {
                        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                        Err(e) => return Err(CopyError::Transient(e.to_string())),
                    }
                    "interrupted before the copy was verified; the copy was removed, the source kept"
                }
                Ok(_) => {
                    "interrupted; the destination holds an object that is not this move's copy, left untouched"
                }
            };
            ex.journal()
                .move_end(m.id, MoveState::Aborted, Some(&format!("{why}{partial}")))
                .map_err(journal_err)?;
            Ok(MoveState::Aborted)
        }
        Err(object_store::Error::NotFound { .. }) => {
            // tierd never deletes a source before `copied`: someone else removed it. If the
            // destination holds a complete copy of the journalled size, keep it as the object.
            let kept = match dst.head(&dst_path).await {
                Ok(d) if Some(d.size) == m.src_size => Some(read_checksum(&dst, &dst_path).await?),
                _ => None,
            };
            let why = match kept {
                Some((_, sum)) => format!(
                    "the source vanished during an interrupted move; the destination's complete copy (sha256 {sum}) was kept"
                ),
                None => "the source vanished during an interrupted move; no object was deleted"
                    .to_string(),
            };
            ex.journal()
                .move_end(m.id, MoveState::Failed, Some(&format!("{why}{partial}")))
                .map_err(journal_err)?;
            Ok(MoveState::Failed)
        }
        Err(e) => Err(CopyError::Transient(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use object_store::path::Path;
    use object_store::{ObjectStoreExt, PutPayload};

    use super::*;
    use crate::executor::copy::Version;

    use crate::executor::test_executor as executor;

    fn decision(id: &str, key: &str, state: State) -> Decision {
        let mut d = Decision::operator_move(
            id.into(),
            "2026-11-29T10:00:00Z".into(),
            ("photos", key),
            (Some("hot"), "cold"),
            "An operator ran `tierd move` for this object.".into(),
        );
        d.state = state;
        d
    }

    #[tokio::test]
    async fn an_interrupted_intent_loses_its_partial_upload_and_its_decision_fails_with_why() {
        let d = tempfile::tempdir().unwrap();
        let ex = executor(d.path());
        let (hot, p) = ex.tiers().object("hot", "photos", "big.bin").unwrap();
        hot.put(&p, PutPayload::from(vec![1u8; 4096]))
            .await
            .unwrap();
        ex.journal()
            .record_decision(&decision("op-1", "big.bin", State::Running))
            .unwrap();
        crate::executor::test_intent(&mut ex.journal(), "op-1", "big.bin", 4096);
        // A user's own file beside the destination, named as a staging file is; then what a
        // copy killed part way leaves on a local tier: its journalled staging file.
        let folder = d.path().join("cold/photos");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("big.bin#1"), b"precious user data").unwrap();
        let staged = crate::executor::local::killed_copy(
            &ex.journal,
            ("cold", "photos"),
            (&p, &folder.join("big.bin")),
            &[1u8; 1000],
        );
        assert_eq!(staged, folder.join("big.bin#2"));

        let got = recover_settling(&ex).await.unwrap();
        assert_eq!(
            (
                got.report.undone,
                got.report.staging_removed,
                got.report.staging_bytes
            ),
            (1, 1, 1000),
            "{:?}",
            got.report
        );
        assert!(!staged.exists(), "the staging file is removed");
        assert_eq!(
            std::fs::read(folder.join("big.bin#1")).unwrap(),
            b"precious user data",
            "the user's file is kept"
        );
        assert_eq!(ex.journal().open_staging().unwrap(), []);
        assert_eq!(
            std::fs::read(d.path().join("hot/photos/big.bin")).unwrap(),
            vec![1u8; 4096],
            "the source is intact"
        );
        let why = "undone by recovery after an interruption: interrupted before the copy was complete, the source kept; the partial upload it left (1000 bytes) was removed; the object stays on hot";
        let settled = ex.journal().decision("op-1").unwrap().unwrap();
        assert_eq!(
            (settled.state, settled.why.as_deref()),
            (State::Failed, Some(why))
        );
        assert_eq!(got.decisions, [settled]);
        // Recovering again changes nothing.
        let again = recover_settling(&ex).await.unwrap();
        assert_eq!(again, Recovered::default());
    }

    #[tokio::test]
    async fn no_move_starts_beside_one_an_earlier_run_left_in_flight() {
        // Recovery could not settle it (its store did not answer): a rule's move of the same
        // object must not race it (review 22).
        let d = tempfile::tempdir().unwrap();
        let ex = executor(d.path());
        let (hot, p) = ex.tiers().object("hot", "photos", "a.bin").unwrap();
        hot.put(&p, PutPayload::from(vec![1u8; 100])).await.unwrap();
        crate::executor::test_intent(&mut ex.journal(), "op-1", "a.bin", 100);
        let req = crate::executor::MoveRequest {
            decision_id: "move-2".into(),
            bucket: "photos".into(),
            key: "a.bin".into(),
            to: "cold".into(),
        };
        assert_eq!(
            ex.move_object(&req).await,
            crate::executor::MoveOutcome::Skipped(crate::executor::LEFT_IN_FLIGHT.to_string())
        );
        assert!(hot.head(&p).await.is_ok(), "the source is where it was");
        // Once recovery settled it, the move is no longer held by it.
        recover_settling(&ex).await.unwrap();
        assert_ne!(
            ex.move_object(&req).await,
            crate::executor::MoveOutcome::Skipped(crate::executor::LEFT_IN_FLIGHT.to_string())
        );
    }

    #[tokio::test]
    async fn a_recovered_copied_move_and_a_move_ended_before_the_crash_settle_their_decisions() {
        let d = tempfile::tempdir().unwrap();
        let ex = executor(d.path());
        let (hot, a) = ex.tiers().object("hot", "photos", "a.jpg").unwrap();
        let (cold, _) = ex.tiers().object("cold", "photos", "a.jpg").unwrap();
        hot.put(&a, PutPayload::from_static(b"source bytes"))
            .await
            .unwrap();
        let src_etag = hot.head(&a).await.unwrap().e_tag;
        let copy = cold
            .put(&a, PutPayload::from_static(b"source bytes"))
            .await
            .unwrap();
        let (_, sum) = read_checksum(&cold, &a).await.unwrap();
        {
            let mut j = ex.journal();
            // A move killed after its verified copy was journalled.
            j.record_decision(&decision("move-1", "a.jpg", State::Planned))
                .unwrap();
            let version = Version {
                etag: src_etag.as_deref(),
                size: 12,
            };
            let id = j
                .move_intent("move-1", ("photos", "a.jpg"), ("hot", "cold"), version)
                .unwrap();
            j.move_copied(id, &sum, copy.e_tag.as_deref()).unwrap();
            // A move that ended (its source had changed) just before the process was killed, whose
            // decision was never told.
            j.record_decision(&decision("op-2", "b.jpg", State::Running))
                .unwrap();
            let id2 = j
                .move_intent("op-2", ("photos", "b.jpg"), ("hot", "cold"), version)
                .unwrap();
            j.move_end(id2, MoveState::Aborted, Some("the source changed"))
                .unwrap();
        }

        let got = recover_settling(&ex).await.unwrap();
        assert_eq!(got.report.finished, 1, "{:?}", got.report);
        let states: Vec<(&str, State, Option<&str>)> = got
            .decisions
            .iter()
            .map(|d| (d.id.as_str(), d.state, d.why.as_deref()))
            .collect();
        assert_eq!(
            states,
            [
                (
                    "move-1",
                    State::Done,
                    Some(
                        "finished by recovery after an interruption: the verified copy on cold is the object now; the source on hot was removed"
                    )
                ),
                (
                    "op-2",
                    State::Failed,
                    Some(
                        "recorded by recovery after an interruption: the move had been undone (the source changed); the object stays on hot"
                    )
                ),
            ]
        );
        for d in &got.decisions {
            assert_eq!(ex.journal().decision(&d.id).unwrap().as_ref(), Some(d));
        }
        assert!(hot.head(&a).await.is_err(), "the source was deleted");
        assert_eq!(
            ex.journal()
                .locate("photos", "a.jpg")
                .unwrap()
                .unwrap()
                .tier,
            "cold"
        );
    }

    /// A move of `photos/KEY` from hot to cold whose verified copy is journalled (the move row),
    /// with the object `body` on both tiers and in the catalog on hot.
    async fn copied_move(ex: &Executor, key: &str, body: &'static [u8]) -> MoveRow {
        let (hot, p) = ex.tiers().object("hot", "photos", key).unwrap();
        let (cold, _) = ex.tiers().object("cold", "photos", key).unwrap();
        hot.put(&p, PutPayload::from_static(body)).await.unwrap();
        let meta = hot.head(&p).await.unwrap();
        let copy = cold.put(&p, PutPayload::from_static(body)).await.unwrap();
        let (_, sum) = read_checksum(&cold, &p).await.unwrap();
        let mut j = ex.journal();
        j.upsert_entry(&Entry {
            bucket: "photos".into(),
            key: key.into(),
            tier: "hot".into(),
            size: meta.size,
            etag: meta.e_tag.clone(),
            checksum: None,
            since: now(),
            decision_id: None,
        })
        .unwrap();
        j.record_decision(&decision("move-1", key, State::Running))
            .unwrap();
        let version = Version {
            etag: meta.e_tag.as_deref(),
            size: meta.size,
        };
        let id = j
            .move_intent("move-1", ("photos", key), ("hot", "cold"), version)
            .unwrap();
        j.move_copied(id, &sum, copy.e_tag.as_deref()).unwrap();
        j.move_by_id(id).unwrap().unwrap()
    }

    #[tokio::test]
    async fn a_source_a_client_deleted_during_the_move_stays_deleted_and_the_copy_goes() {
        let d = tempfile::tempdir().unwrap();
        let ex = executor(d.path());
        let m = copied_move(&ex, "gone.jpg", b"erase me").await;
        // The client's delete lands between the verified copy and the source's delete.
        std::fs::remove_file(d.path().join("hot/photos/gone.jpg")).unwrap();
        let state = finish_copied(&ex, &m, true).await.unwrap();
        assert_eq!(
            state,
            (MoveState::Aborted, Some(SOURCE_DELETED.to_string()))
        );
        assert!(
            !d.path().join("cold/photos/gone.jpg").exists(),
            "the erased object does not come back on the other tier"
        );
        assert_eq!(ex.journal().locate("photos", "gone.jpg").unwrap(), None);
        let row = ex.journal().move_by_id(m.id).unwrap().unwrap();
        assert_eq!(row.error.as_deref(), Some(SOURCE_DELETED));
    }

    #[tokio::test]
    async fn after_a_crash_a_source_already_gone_is_this_moves_own_delete_and_the_copy_stays() {
        let d = tempfile::tempdir().unwrap();
        let ex = executor(d.path());
        let m = copied_move(&ex, "a.jpg", b"keep me").await;
        std::fs::remove_file(d.path().join("hot/photos/a.jpg")).unwrap();
        assert_eq!(
            finish_copied(&ex, &m, false).await.unwrap().0,
            MoveState::Done
        );
        assert_eq!(
            std::fs::read(d.path().join("cold/photos/a.jpg")).unwrap(),
            b"keep me"
        );
    }

    #[tokio::test]
    async fn a_move_left_for_an_operator_says_whether_the_source_is_still_there() {
        let d = tempfile::tempdir().unwrap();
        let ex = executor(d.path());
        // The copy was overwritten by a client, and the source is gone too: nothing says "kept".
        let m = copied_move(&ex, "p.bin", b"verified bytes").await;
        std::fs::remove_file(d.path().join("hot/photos/p.bin")).unwrap();
        std::fs::write(d.path().join("cold/photos/p.bin"), b"a client's").unwrap();
        assert_eq!(
            finish_copied(&ex, &m, false).await.unwrap().0,
            MoveState::Failed
        );
        let why = ex
            .journal()
            .move_by_id(m.id)
            .unwrap()
            .unwrap()
            .error
            .unwrap();
        assert!(
            why.starts_with(
                "the destination no longer matches the verified copy; the source is gone too"
            ) && !why.contains("was kept"),
            "{why}"
        );
        // The catalog names what exists: the other version, on cold.
        assert_eq!(
            ex.journal()
                .locate("photos", "p.bin")
                .unwrap()
                .unwrap()
                .tier,
            "cold"
        );

        // The copy vanished and the source is still there: it was kept.
        let d2 = tempfile::tempdir().unwrap();
        let ex2 = executor(d2.path());
        let m2 = copied_move(&ex2, "q.bin", b"verified bytes").await;
        std::fs::remove_file(d2.path().join("cold/photos/q.bin")).unwrap();
        assert_eq!(
            finish_copied(&ex2, &m2, false).await.unwrap().0,
            MoveState::Failed
        );
        let why = ex2
            .journal()
            .move_by_id(m2.id)
            .unwrap()
            .unwrap()
            .error
            .unwrap();
        assert_eq!(
            why,
            "the verified copy vanished from the destination; the source was kept"
        );
        assert_eq!(
            ex2.journal()
                .locate("photos", "q.bin")
                .unwrap()
                .unwrap()
                .tier,
            "hot"
        );
    }

    #[tokio::test]
    async fn a_move_decided_but_never_started_is_settled_with_why_and_others_are_left_alone() {
        let d = tempfile::tempdir().unwrap();
        let ex = executor(d.path());
        {
            let mut j = ex.journal();
            // `tierd move` of two objects, killed before the second one's intent; a decision
            // of the service's, planned and never started; and a decision that ended normally.
            j.record_decision(&decision("op-1", "a.jpg", State::Running))
                .unwrap();
            j.record_decision(&decision("op-2", "b.jpg", State::Done))
                .unwrap();
            j.record_decision(&decision("move-3", "c.jpg", State::Planned))
                .unwrap();
        }
        let got = recover_settling(&ex).await.unwrap();
        let states: Vec<(&str, State)> = got
            .decisions
            .iter()
            .map(|d| (d.id.as_str(), d.state))
            .collect();
        // The operator's command has no next pass: skipped, for the operator to run again.
        assert_eq!(
            states,
            vec![("op-1", State::Skipped), ("move-3", State::Failed)]
        );
        let why = ex.journal().decision("op-1").unwrap().unwrap().why.unwrap();
        assert_eq!(
            why,
            "the operator's command was stopped before this object's move started (the process ended before it could record so: killed, or the machine stopped): nothing was copied or deleted; run the command again to continue"
        );
        let why = ex
            .journal()
            .decision("move-3")
            .unwrap()
            .unwrap()
            .why
            .unwrap();
        assert_eq!(
            why,
            "interrupted before the move started (nothing was copied or deleted); the next pass decides again"
        );
        assert_eq!(
            ex.journal().decision("op-2").unwrap().unwrap().state,
            State::Done
        );
        // Settled once: a second recovery has nothing to say.
        assert!(recover_settling(&ex).await.unwrap().decisions.is_empty());
    }

    #[tokio::test]
    async fn a_snapshot_decision_left_open_is_settled_as_interrupted_and_spends_no_cooldown() {
        let d = tempfile::tempdir().unwrap();
        let ex = executor(d.path());
        let mut snap = decision("svc-1", "a.jpg", State::Planned);
        snap.action = crate::decision::Action::Snapshot;
        ex.journal().record_decision(&snap).unwrap();
        // Killed while it copied its first object into the vault (`cold`).
        let blob = "photos/.tierd-snapshots/data/svc-1/a.jpg";
        let staged = crate::executor::local::killed_copy(
            &ex.journal,
            ("cold", "photos"),
            (&Path::from(blob), &d.path().join("cold").join(blob)),
            &[1u8; 300],
        );
        let got = recover_settling(&ex).await.unwrap();
        assert_eq!(got.decisions.len(), 1);
        assert!(!staged.exists(), "the partial upload is removed");
        let d = ex.journal().decision("svc-1").unwrap().unwrap();
        assert_eq!(d.state, State::Failed);
        assert!(
            d.why.as_deref().is_some_and(|w| w.starts_with(
                "interrupted before the snapshot was recorded (no snapshot was made; no copy had been completed; the partial upload it left (300 bytes) was removed)"
            )),
            "{:?}",
            d.why
        );
        assert!(
            d.never_started(),
            "a snapshot cut short must not hold its rule's cooldown"
        );
        assert!(recover_settling(&ex).await.unwrap().decisions.is_empty());
    }

    #[tokio::test]
    async fn a_restore_left_running_is_settled_as_interrupted_once() {
        let d = tempfile::tempdir().unwrap();
        let ex = executor(d.path());
        let mut restore = decision("restore-1", "a.jpg", State::Running);
        restore.action = crate::decision::Action::Restore;
        ex.journal().record_decision(&restore).unwrap();
        assert_eq!(recover_settling(&ex).await.unwrap().decisions.len(), 1);
        let d = ex.journal().decision("restore-1").unwrap().unwrap();
        assert_eq!(d.state, State::Failed);
        assert!(
            d.why.as_deref().is_some_and(|w| w.starts_with(
                "interrupted: the objects restored before the interruption are complete"
            )),
            "{:?}",
            d.why
        );
        assert!(recover_settling(&ex).await.unwrap().decisions.is_empty());
    }
}
