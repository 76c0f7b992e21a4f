//! Crash recovery: every move the journal shows in flight is finished or undone, safely.
//!
//! | journalled state | what is true | what recovery does |
//! |---|---|---|
//! | `intent` | the destination may hold this move's complete but unverified copy (writes are atomic) | source intact: remove the destination only if it holds the source's exact bytes, mark `aborted` (the move can be planned again); source gone: keep everything, mark `failed` for an operator |
//! | `copied` | the destination holds a verified copy | the destination still that copy (its etag, or its sha256 read back where the store gives no etag) and the source still the copied version: delete the source; source gone (deleted before the crash): nothing to delete; then `done` and the catalog change. Source changed: remove the copy, `aborted`. Destination changed or gone: keep everything, `failed` for an operator |
//!
//! No step ever deletes the only copy of an object.

use object_store::ObjectStoreExt;

use super::copy::{CopyError, read_checksum};
use super::{ExecError, Executor, now};
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
pub(crate) async fn finish_copied(
    ex: &Executor,
    m: &MoveRow,
    just_verified: bool,
) -> Result<MoveState, FinishError> {
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
            ex.journal()
                .move_end(
                    m.id,
                    MoveState::Failed,
                    Some("the verified copy vanished from the destination; the source was kept"),
                )
                .map_err(FinishError::Journal)?;
            return Ok(MoveState::Failed);
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
        ex.journal()
            .move_end(
                m.id,
                MoveState::Failed,
                Some("the destination no longer matches the verified copy; the source was kept"),
            )
            .map_err(FinishError::Journal)?;
        return Ok(MoveState::Failed);
    }
    match src.head(&src_path).await {
        Ok(smeta) => {
            let same = smeta.e_tag == m.src_etag && Some(smeta.size) == m.src_size;
            if !same {
                // Someone wrote a new version while we copied: it is the truth; drop our copy.
                dst.delete(&dst_path)
                    .await
                    .map_err(|e| transient(e.to_string()))?;
                ex.journal()
                    .move_end(m.id, MoveState::Aborted, Some("the source changed during the move; the copy was removed, the new source kept"))
                    .map_err(FinishError::Journal)?;
                return Ok(MoveState::Aborted);
            }
            match src.delete(&src_path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(transient(e.to_string())),
            }
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
    tracing::info!(message = "Object moved.", bucket = %m.bucket, key = %m.key, from = %m.from_tier, to = %m.to_tier, bytes = dmeta.size);
    Ok(MoveState::Done)
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
}

/// Recovers every move left in flight. Safe to run at any time and any number of times.
///
/// # Errors
/// The journal fails. (Store errors leave a move pending for the next run.)
pub async fn recover(ex: &Executor) -> Result<RecoveryReport, ExecError> {
    let open = ex.journal().open_moves()?;
    let mut r = RecoveryReport::default();
    for m in open {
        match m.state {
            MoveState::Copied => match finish_copied(ex, &m, false).await {
                Ok(MoveState::Done) => r.finished += 1,
                Ok(MoveState::Aborted) => r.undone += 1,
                Ok(_) => r.failed += 1,
                Err(FinishError::Transient(_)) => r.pending += 1,
                Err(FinishError::Journal(e)) => return Err(e.into()),
            },
            _ => match undo_intent(ex, &m).await {
                Ok(MoveState::Aborted) => r.undone += 1,
                Ok(_) => r.failed += 1,
                Err(_) => r.pending += 1,
            },
        }
    }
    if r != RecoveryReport::default() {
        tracing::warn!(
            message = "Recovered moves left in flight.",
            finished = r.finished,
            undone = r.undone,
            failed = r.failed,
            pending = r.pending
        );
    }
    Ok(r)
}

async fn undo_intent(ex: &Executor, m: &MoveRow) -> Result<MoveState, CopyError> {
    let (src, src_path) = ex
        .tiers
        .object(&m.from_tier, &m.bucket, &m.key)
        .map_err(|e| CopyError::Transient(e.to_string()))?;
    let (dst, dst_path) = ex
        .tiers
        .object(&m.to_tier, &m.bucket, &m.key)
        .map_err(|e| CopyError::Transient(e.to_string()))?;
    let journal_err = |e: JournalError| CopyError::Permanent(e.to_string());
    match src.head(&src_path).await {
        Ok(smeta) => {
            // The source is intact. Writes are atomic (a PUT, a completed multipart upload), so
            // the destination holds either nothing, this move's complete copy, or an object that
            // is not this move's. Only a copy with the source's exact bytes is removed.
            let why = match dst.head(&dst_path).await {
                Err(object_store::Error::NotFound { .. }) => {
                    "interrupted before the copy was written; nothing to undo"
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
                .move_end(m.id, MoveState::Aborted, Some(why))
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
                None => "the source vanished during an interrupted move; nothing was deleted"
                    .to_string(),
            };
            ex.journal()
                .move_end(m.id, MoveState::Failed, Some(&why))
                .map_err(journal_err)?;
            Ok(MoveState::Failed)
        }
        Err(e) => Err(CopyError::Transient(e.to_string())),
    }
}
