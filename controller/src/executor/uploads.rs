//! Multipart uploads whose ids are journalled, to tiers whose uploads have ids (S3).
//!
//! object_store's `put_multipart` keeps an upload's id to itself, so a process killed in the
//! middle of one would leave its parts on an S3 store, where no listing shows them and they are
//! billed until someone aborts the upload by its id. A copy to an S3 tier therefore uploads
//! through the store's `MultipartStore` API with [`Uploads::start`]: the id is journalled, and
//! synced, before the first part is sent; the journal forgets it once the upload is completed
//! or aborted. At start-up, [`abort_left`] aborts every upload the journal still holds, before
//! the moves are recovered.
//!
//! # Guarantees
//! Only uploads tierd journalled are aborted, never one another client started. An abort that
//! fails (the store does not answer) stays journalled, and the next recovery tries again. An
//! upload the store no longer knows (`NoSuchUpload`: completed before the journal heard of it,
//! aborted, or expired by a lifecycle rule) counts as gone. Aborting an upload never touches an
//! object: a completed upload's object stays.
//!
//! # Caveats
//! The id exists only once the store has created the upload: a kill between the store's answer
//! and the journal's commit leaves an empty upload (no part was sent) that no journal knows.
//! The bucket's lifecycle rule for incomplete uploads (docs/moving-data.md) removes it.

use std::sync::{Arc, Mutex, PoisonError};

use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::{MultipartId, MultipartUpload, PutPayload, PutResult, UploadPart};

use super::copy::CopyError;
use crate::journal::uploads::UploadRow;
use crate::journal::{Journal, JournalError, lock};
use crate::tier::{Tiers, store_path};

/// A tier's multipart API for one bucket, with the journal that records each upload started
/// through it; or, for a local filesystem tier, the journal that records each staging file a
/// copy writes (see [`super::local`]).
pub struct Uploads {
    /// `None`: a local filesystem tier, whose copies are written by [`super::local`].
    store: Option<Arc<dyn MultipartStore>>,
    journal: Arc<Mutex<Journal>>,
    /// Where the uploads go, as the journal names it: with the bucket, recovery finds the
    /// store again.
    tier: String,
    bucket: String,
}

impl std::fmt::Debug for Uploads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploads")
            .field("tier", &self.tier)
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

impl Uploads {
    /// `store` is the multipart API of the store that holds `bucket` on `tier` (see
    /// [`Tiers::uploads`]), addressing the same paths.
    pub fn new(
        store: Arc<dyn MultipartStore>,
        journal: Arc<Mutex<Journal>>,
        tier: &str,
        bucket: &str,
    ) -> Uploads {
        Uploads {
            store: Some(store),
            journal,
            tier: tier.to_string(),
            bucket: bucket.to_string(),
        }
    }

    /// The journal of the staging files written to `bucket` on the local filesystem tier
    /// `tier` (see [`super::local`]); such a tier has no multipart API.
    pub fn local(journal: Arc<Mutex<Journal>>, tier: &str, bucket: &str) -> Uploads {
        Uploads {
            store: None,
            journal,
            tier: tier.to_string(),
            bucket: bucket.to_string(),
        }
    }

    /// Whether uploads have ids here (an S3 tier), so that [`Uploads::start`] can be used.
    pub fn has_ids(&self) -> bool {
        self.store.is_some()
    }

    /// The journal, and the tier and bucket as the journal names them.
    pub(super) fn journal(&self) -> (&Arc<Mutex<Journal>>, &str, &str) {
        (&self.journal, &self.tier, &self.bucket)
    }

    /// Starts a multipart upload to `path` and journals its id before returning it: the
    /// returned upload is journalled before any part is sent, and forgotten by the journal when
    /// it is completed or aborted.
    ///
    /// # Errors
    /// The store refuses the upload (sorted as [`CopyError::from_dest_store`]), or the journal
    /// cannot record it ([`CopyError::Permanent`]; the upload is then aborted at once, no part
    /// having been sent).
    pub async fn start(&self, path: &Path) -> Result<Box<dyn MultipartUpload>, CopyError> {
        let Some(store) = &self.store else {
            return Err(CopyError::Permanent(format!(
                "tier {} has no multipart uploads with ids (a local filesystem)",
                self.tier
            )));
        };
        let upload_id = store
            .create_multipart(path)
            .await
            .map_err(CopyError::from_dest_store)?;
        let row = lock(&self.journal).upload_started(
            (&self.tier, &self.bucket),
            path.as_ref(),
            &upload_id,
        );
        let row = match row {
            Ok(row) => row,
            Err(e) => {
                // An upload no journal knows must get no part: a kill would leave it for ever.
                if let Err(abort) = store.abort_multipart(path, &upload_id).await {
                    tracing::warn!(message = "Cannot abort an upload the journal could not record.", tier = %self.tier, path = %path, upload_id = %upload_id, error = %abort);
                }
                return Err(CopyError::Permanent(format!(
                    "cannot journal the multipart upload to {path} on {}: {e}",
                    self.tier
                )));
            }
        };
        Ok(Box::new(JournaledUpload {
            store: Arc::clone(store),
            journal: Arc::clone(&self.journal),
            upload: Journaled {
                row,
                tier: self.tier.clone(),
                bucket: self.bucket.clone(),
                path: path.clone(),
                upload_id,
            },
            next_part: 0,
            parts: Arc::default(),
        }))
    }
}

/// An upload as the journal holds it.
#[derive(Debug, Clone)]
struct Journaled {
    /// The journal's row.
    row: i64,
    tier: String,
    bucket: String,
    path: Path,
    upload_id: MultipartId,
}

/// A journalled upload, as object_store's `MultipartUpload` (which the copy drives).
struct JournaledUpload {
    store: Arc<dyn MultipartStore>,
    journal: Arc<Mutex<Journal>>,
    upload: Journaled,
    /// The index of the next part.
    next_part: usize,
    /// The parts sent, by index: they may finish out of order, and completion lists them in
    /// order.
    parts: Arc<Mutex<Vec<Option<PartId>>>>,
}

impl std::fmt::Debug for JournaledUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournaledUpload")
            .field("upload", &self.upload)
            .field("next_part", &self.next_part)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl MultipartUpload for JournaledUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let idx = self.next_part;
        self.next_part += 1;
        let store = Arc::clone(&self.store);
        let parts = Arc::clone(&self.parts);
        let (path, id) = (self.upload.path.clone(), self.upload.upload_id.clone());
        Box::pin(async move {
            let part = store.put_part(&path, &id, idx, data).await?;
            let mut parts = parts.lock().unwrap_or_else(PoisonError::into_inner);
            if parts.len() <= idx {
                parts.resize(idx + 1, None);
            }
            parts[idx] = Some(part);
            Ok(())
        })
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        let parts = {
            let sent = self.parts.lock().unwrap_or_else(PoisonError::into_inner);
            (0..self.next_part)
                .map(|i| {
                    sent.get(i)
                        .cloned()
                        .flatten()
                        .ok_or_else(|| object_store::Error::Generic {
                            store: "tierd",
                            source: format!("part {} of the upload was never sent", i + 1).into(),
                        })
                })
                .collect::<object_store::Result<Vec<_>>>()?
        };
        let u = &self.upload;
        let put = self
            .store
            .complete_multipart(&u.path, &u.upload_id, parts)
            .await?;
        // Completed: nothing is left to abort. Were this not journalled, recovery would try,
        // hear that the store no longer knows the upload, and forget it then.
        if let Err(e) = lock(&self.journal).upload_ended(u.row) {
            tracing::warn!(message = "Cannot clear a completed upload from the journal; recovery will.", tier = %u.tier, path = %u.path, upload_id = %u.upload_id, error = %e);
        }
        Ok(put)
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        match abort(self.store.as_ref(), &self.journal, &self.upload, false).await {
            Ok(_) => Ok(()),
            Err(Failed::Store(e)) => Err(e),
            Err(Failed::Journal(e)) => {
                // Aborted on the store, still in the journal: the next recovery hears that the
                // store no longer knows it, and forgets it.
                tracing::warn!(message = "Cannot clear an aborted upload from the journal; recovery will.", tier = %self.upload.tier, path = %self.upload.path, upload_id = %self.upload.upload_id, error = %e);
                Ok(())
            }
        }
    }
}

/// Why an abort did not end with the upload forgotten.
enum Failed {
    /// The store did not abort it: it stays journalled (and the failure is recorded there).
    Store(object_store::Error),
    Journal(JournalError),
}

/// Aborts a journalled upload and forgets it; returns whether the store had already forgotten
/// it. A failure is recorded on the journal's row, which stays.
async fn abort(
    store: &dyn MultipartStore,
    journal: &Mutex<Journal>,
    u: &Journaled,
    at_recovery: bool,
) -> Result<bool, Failed> {
    let gone = match store.abort_multipart(&u.path, &u.upload_id).await {
        Ok(()) => false,
        // `NoSuchUpload` (or its bucket gone): nothing of it is left on the store.
        Err(object_store::Error::NotFound { .. }) => true,
        Err(e) => {
            left_journalled(journal, u, e.to_string()).map_err(Failed::Journal)?;
            return Err(Failed::Store(e));
        }
    };
    UploadAborted {
        upload: u,
        gone,
        at_recovery,
    }
    .emit();
    lock(journal).upload_ended(u.row).map_err(Failed::Journal)?;
    Ok(gone)
}

/// A journalled upload was aborted, or found already gone.
struct UploadAborted<'a> {
    upload: &'a Journaled,
    /// The store no longer knew it.
    gone: bool,
    /// Recovery aborted it (left by an interrupted process), rather than the copy that failed.
    at_recovery: bool,
}

impl UploadAborted<'_> {
    fn emit(&self) {
        let u = self.upload;
        if self.at_recovery {
            tracing::warn!(
                message = "Aborted an incomplete multipart upload left by an interrupted copy.",
                tier = %u.tier,
                bucket = %u.bucket,
                path = %u.path,
                upload_id = %u.upload_id,
                already_gone = self.gone
            );
        } else {
            tracing::info!(
                message = "Aborted the multipart upload of a failed copy.",
                tier = %u.tier,
                path = %u.path,
                upload_id = %u.upload_id,
                already_gone = self.gone
            );
        }
    }
}

/// A journalled upload could not be aborted; it stays journalled.
struct UploadAbortFailed<'a> {
    upload: &'a Journaled,
    error: String,
}

impl UploadAbortFailed<'_> {
    fn emit(&self) {
        let u = self.upload;
        tracing::warn!(
            message = "Cannot abort an incomplete multipart upload; it stays journalled and the next recovery tries again.",
            tier = %u.tier,
            bucket = %u.bucket,
            path = %u.path,
            upload_id = %u.upload_id,
            error = %self.error
        );
    }
}

/// What [`abort_left`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct UploadsRecovered {
    /// Uploads aborted, and forgotten.
    pub aborted: u64,
    /// Uploads the store no longer knew (completed just before the interruption, or expired),
    /// forgotten.
    pub gone: u64,
    /// Uploads still journalled: their abort failed, or their tier no longer has them.
    pub pending: u64,
}

/// Aborts every upload the journal holds: at start-up, those are what interrupted copies left.
/// Each abort is logged with its tier, path and upload id; one that fails stays journalled for
/// the next recovery. Run it only while holding the mover's lock: a live mover's uploads are
/// journalled too.
///
/// # Errors
/// The journal fails. (Store errors leave the upload journalled.)
pub async fn abort_left(
    tiers: &Tiers,
    journal: &Mutex<Journal>,
) -> Result<UploadsRecovered, JournalError> {
    let left = lock(journal).open_uploads()?;
    let mut r = UploadsRecovered::default();
    for row in left {
        let UploadRow {
            id,
            tier,
            bucket,
            path,
            upload_id,
            ..
        } = row;
        let u = Journaled {
            row: id,
            path: store_path(&path),
            tier,
            bucket,
            upload_id,
        };
        let store = match tiers.uploads(&u.tier, &u.bucket) {
            Ok(Some(store)) => store,
            Ok(None) => {
                let error = format!(
                    "tier {} is no longer an S3 store, so the upload cannot be aborted through it; configure the tier as it was, or abort the upload on the store",
                    u.tier
                );
                left_journalled(journal, &u, error)?;
                r.pending += 1;
                continue;
            }
            Err(e) => {
                left_journalled(journal, &u, e.to_string())?;
                r.pending += 1;
                continue;
            }
        };
        match abort(store.as_ref(), journal, &u, true).await {
            Ok(false) => r.aborted += 1,
            Ok(true) => r.gone += 1,
            Err(Failed::Store(_)) => r.pending += 1,
            Err(Failed::Journal(e)) => return Err(e),
        }
    }
    Ok(r)
}

/// Records why the upload `u` cannot be aborted now; it stays journalled.
fn left_journalled(
    journal: &Mutex<Journal>,
    u: &Journaled,
    error: String,
) -> Result<(), JournalError> {
    let failed = UploadAbortFailed { upload: u, error };
    failed.emit();
    lock(journal).upload_abort_failed(u.row, &failed.error)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::{AtomicBool, Ordering};

    use bytes::Bytes;
    use object_store::memory::InMemory;
    use object_store::{ObjectStore, ObjectStoreExt};

    use super::*;
    use crate::executor::copy::{CopyTuning, Dest, Version, copy_verified};
    use crate::executor::limits::Limits;
    use crate::executor::{Executor, ExecutorConfig};
    use crate::journal::uploads::UploadRow;

    /// An in-memory store's multipart API answering as S3 does (an upload it does not know is
    /// `NotFound`, S3's `NoSuchUpload`), that notes what the journal held at each part and each
    /// abort, and fails parts or aborts on demand.
    struct Watched {
        inner: InMemory,
        journal: Arc<Mutex<Journal>>,
        /// Parts with this index or a higher one fail.
        fail_parts_from: Option<usize>,
        /// Aborts fail as when the store does not answer.
        aborts_fail: AtomicBool,
        /// The upload ids the journal held as each part was sent.
        at_parts: Mutex<Vec<Vec<String>>>,
        /// The open moves' states the journal held as each abort was sent.
        at_aborts: Mutex<Vec<Vec<&'static str>>>,
    }

    impl Watched {
        fn new(inner: &InMemory, journal: &Arc<Mutex<Journal>>) -> Watched {
            Watched {
                inner: inner.clone(),
                journal: Arc::clone(journal),
                fail_parts_from: None,
                aborts_fail: AtomicBool::new(false),
                at_parts: Mutex::default(),
                at_aborts: Mutex::default(),
            }
        }
    }

    fn down() -> object_store::Error {
        object_store::Error::Generic {
            store: "test",
            source: "connection refused".into(),
        }
    }

    #[async_trait::async_trait]
    impl MultipartStore for Watched {
        async fn create_multipart(&self, path: &Path) -> object_store::Result<MultipartId> {
            self.inner.create_multipart(path).await
        }

        async fn put_part(
            &self,
            path: &Path,
            id: &MultipartId,
            part_idx: usize,
            data: PutPayload,
        ) -> object_store::Result<PartId> {
            let ids = lock(&self.journal).open_uploads().unwrap();
            self.at_parts
                .lock()
                .unwrap()
                .push(ids.into_iter().map(|u| u.upload_id).collect());
            if self.fail_parts_from.is_some_and(|from| part_idx >= from) {
                return Err(down());
            }
            self.inner.put_part(path, id, part_idx, data).await
        }

        async fn complete_multipart(
            &self,
            path: &Path,
            id: &MultipartId,
            parts: Vec<PartId>,
        ) -> object_store::Result<PutResult> {
            self.inner.complete_multipart(path, id, parts).await
        }

        async fn abort_multipart(&self, path: &Path, id: &MultipartId) -> object_store::Result<()> {
            let moves = lock(&self.journal).open_moves().unwrap();
            self.at_aborts
                .lock()
                .unwrap()
                .push(moves.iter().map(|m| m.state.as_str()).collect());
            if self.aborts_fail.load(Ordering::SeqCst) {
                return Err(down());
            }
            match self.inner.abort_multipart(path, id).await {
                Err(object_store::Error::Generic { source, .. })
                    if source.to_string().starts_with("MultipartUpload not found") =>
                {
                    Err(object_store::Error::NotFound {
                        path: path.to_string(),
                        source,
                    })
                }
                r => r,
            }
        }
    }

    /// Whether the store still holds the upload `id` (a part can still be sent to it; the probe
    /// replaces its first part).
    async fn known(store: &InMemory, id: &str) -> bool {
        let p = Path::from("photos/probe");
        store
            .put_part(&p, &id.to_string(), 0, PutPayload::from_static(b"x"))
            .await
            .is_ok()
    }

    const TUNING: CopyTuning = CopyTuning {
        multipart_threshold: 1_000,
        part_size: 4_096,
        parts_in_flight: 2,
    };

    /// Copies `photos/big.bin` (10,000 bytes, three parts) from a memory store into `cold`
    /// through `watched`, journalled in `journal`.
    async fn copy_big(
        cold: &InMemory,
        watched: Watched,
        journal: &Arc<Mutex<Journal>>,
    ) -> (
        Result<crate::executor::copy::Copied, CopyError>,
        Arc<Watched>,
    ) {
        let hot: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let p = Path::from("photos/big.bin");
        hot.put(&p, PutPayload::from(Bytes::from(vec![7u8; 10_000])))
            .await
            .unwrap();
        let watched = Arc::new(watched);
        let uploads = Uploads::new(watched.clone(), Arc::clone(journal), "cold", "photos");
        let dst: Arc<dyn ObjectStore> = Arc::new(cold.clone());
        let version = Version {
            etag: None,
            size: 10_000,
        };
        let dest = Dest::new(&dst, &p).with_uploads(Some(&uploads));
        let r = copy_verified(&hot, &p, version, dest, TUNING, &Limits::new(None, None)).await;
        (r, watched)
    }

    fn journal(dir: &std::path::Path) -> Arc<Mutex<Journal>> {
        Arc::new(Mutex::new(Journal::open(&dir.join("tierd.db")).unwrap()))
    }

    #[tokio::test]
    async fn a_large_copy_journals_its_upload_before_the_first_part_and_forgets_it_once_complete() {
        let d = tempfile::tempdir().unwrap();
        let j = journal(d.path());
        let cold = InMemory::new();
        let (r, watched) = copy_big(&cold, Watched::new(&cold, &j), &j).await;
        let copied = r.unwrap();
        assert_eq!(copied.size, 10_000);
        let at_parts = watched.at_parts.lock().unwrap().clone();
        assert_eq!(at_parts.len(), 3, "three parts: {at_parts:?}");
        let id = &at_parts[0];
        assert_eq!(id.len(), 1, "one upload journalled: {at_parts:?}");
        assert!(
            at_parts.iter().all(|ids| ids == id),
            "journalled before every part: {at_parts:?}"
        );
        assert_eq!(
            lock(&j).open_uploads().unwrap(),
            [],
            "forgotten once complete"
        );
        let got = cold.get(&Path::from("photos/big.bin")).await.unwrap();
        assert_eq!(got.bytes().await.unwrap(), vec![7u8; 10_000]);
    }

    #[tokio::test]
    async fn a_failed_large_copy_aborts_its_upload_and_keeps_it_journalled_only_if_the_abort_fails()
    {
        let d = tempfile::tempdir().unwrap();
        let j = journal(d.path());
        let cold = InMemory::new();
        let failing = || Watched {
            fail_parts_from: Some(1),
            ..Watched::new(&cold, &j)
        };
        // The store answers the abort: the upload is gone, and so is its journal row.
        let (r, watched) = copy_big(&cold, failing(), &j).await;
        assert!(matches!(r, Err(CopyError::Transient(_))), "{r:?}");
        let id = watched.at_parts.lock().unwrap()[0][0].clone();
        assert!(!known(&cold, &id).await, "the upload was aborted");
        assert_eq!(lock(&j).open_uploads().unwrap(), []);
        // It does not: the upload stays journalled, with why, for recovery.
        let w = failing();
        w.aborts_fail.store(true, Ordering::SeqCst);
        let (r, watched) = copy_big(&cold, w, &j).await;
        assert!(matches!(r, Err(CopyError::Transient(_))), "{r:?}");
        let id = watched.at_parts.lock().unwrap()[0][0].clone();
        assert!(known(&cold, &id).await, "the abort failed");
        let left = lock(&j).open_uploads().unwrap();
        assert_eq!(left.len(), 1, "{left:?}");
        let UploadRow {
            tier,
            bucket,
            path,
            upload_id,
            aborts_failed,
            error,
            ..
        } = &left[0];
        assert_eq!(
            (
                tier.as_str(),
                bucket.as_str(),
                path.as_str(),
                upload_id,
                *aborts_failed
            ),
            ("cold", "photos", "photos/big.bin", &id, 1)
        );
        assert!(
            error.as_deref().unwrap().contains("connection refused"),
            "{error:?}"
        );
        assert!(cold.head(&Path::from("photos/big.bin")).await.is_err());
    }

    /// What a recovery test runs on: an executor over the memory tiers `hot` and `cold`,
    /// `cold`'s multipart API watched, journalled in a temporary folder.
    struct Recovering {
        _dir: tempfile::TempDir,
        j: Arc<Mutex<Journal>>,
        hot: InMemory,
        cold: InMemory,
        watched: Arc<Watched>,
        ex: Executor,
    }

    fn recovering() -> Recovering {
        let dir = tempfile::tempdir().unwrap();
        let j = journal(dir.path());
        let (hot, cold) = (InMemory::new(), InMemory::new());
        let watched = Arc::new(Watched::new(&cold, &j));
        let store = |s: &InMemory| Arc::new(s.clone()) as Arc<dyn ObjectStore>;
        let tiers = Tiers::from_stores(vec![
            ("hot".into(), store(&hot)),
            ("cold".into(), store(&cold)),
        ])
        .with_uploads("cold", watched.clone());
        let ex = Executor::new(Arc::new(tiers), Arc::clone(&j), ExecutorConfig::default());
        Recovering {
            _dir: dir,
            j,
            hot,
            cold,
            watched,
            ex,
        }
    }

    #[tokio::test]
    async fn recovery_aborts_only_journalled_uploads_before_it_recovers_the_moves() {
        let Recovering {
            _dir,
            j,
            hot,
            cold,
            watched,
            ex,
        } = recovering();
        let p = Path::from("photos/big.bin");
        hot.put(&p, PutPayload::from(vec![1u8; 4096]))
            .await
            .unwrap();
        // A move killed in the middle of its upload: its intent, its upload journalled with a
        // part sent.
        crate::executor::test_intent(&mut lock(&j), "op-1", "big.bin", 4096);
        let mine = cold.create_multipart(&p).await.unwrap();
        cold.put_part(&p, &mine, 0, PutPayload::from(vec![1u8; 1000]))
            .await
            .unwrap();
        lock(&j)
            .upload_started(("cold", "photos"), p.as_ref(), &mine)
            .unwrap();
        // One the store no longer knows (completed just before the kill), one on a tier the
        // configuration no longer has, and another client's upload, which no journal holds.
        lock(&j)
            .upload_started(("cold", "photos"), "photos/done.bin", "4242")
            .unwrap();
        lock(&j)
            .upload_started(("archive", "photos"), "photos/old.bin", "7")
            .unwrap();
        let theirs = cold
            .create_multipart(&Path::from("photos/theirs.bin"))
            .await
            .unwrap();

        let r = crate::executor::recover::recover_settling(&ex)
            .await
            .unwrap()
            .report;
        // One aborted, one the store no longer knew, one whose abort failed.
        assert_eq!(
            (
                r.uploads_aborted,
                r.uploads_gone,
                r.uploads_pending,
                r.undone
            ),
            (1, 1, 1, 1),
            "{r:?}"
        );
        assert!(
            !known(&cold, &mine).await,
            "the journalled upload was aborted"
        );
        assert!(
            known(&cold, &theirs).await,
            "another client's upload is never touched"
        );
        assert_eq!(
            *watched.at_aborts.lock().unwrap(),
            [vec!["intent"], vec!["intent"]],
            "the uploads were aborted before the move was recovered"
        );
        let left = lock(&j).open_uploads().unwrap();
        let kept: Vec<(&str, &str, u32, Option<&str>)> = left
            .iter()
            .map(|u| {
                (
                    u.tier.as_str(),
                    u.upload_id.as_str(),
                    u.aborts_failed,
                    u.error.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            kept,
            [(
                "archive",
                "7",
                1,
                Some("archive: unknown tier; known tiers: cold, hot")
            )]
        );
        assert_eq!(lock(&j).open_moves().unwrap(), []);
        assert_eq!(
            hot.get(&p).await.unwrap().bytes().await.unwrap(),
            vec![1u8; 4096]
        );
    }

    #[tokio::test]
    async fn an_upload_whose_abort_fails_stays_journalled_and_the_next_recovery_aborts_it() {
        let Recovering {
            _dir,
            j,
            hot: _,
            cold,
            watched,
            ex,
        } = recovering();
        let p = Path::from("photos/big.bin");
        let id = cold.create_multipart(&p).await.unwrap();
        lock(&j)
            .upload_started(("cold", "photos"), p.as_ref(), &id)
            .unwrap();
        // The store is down.
        watched.aborts_fail.store(true, Ordering::SeqCst);
        for attempt in 1..=2 {
            let r = crate::executor::recover::recover(&ex).await.unwrap();
            assert_eq!((r.uploads_aborted, r.uploads_pending), (0, 1), "{r:?}");
            let left = lock(&j).open_uploads().unwrap();
            assert_eq!(left.len(), 1);
            assert_eq!(left[0].aborts_failed, attempt);
            assert!(known(&cold, &id).await);
        }
        // It answers again: the next recovery aborts it.
        watched.aborts_fail.store(false, Ordering::SeqCst);
        let r = crate::executor::recover::recover(&ex).await.unwrap();
        assert_eq!((r.uploads_aborted, r.uploads_pending), (1, 0), "{r:?}");
        assert_eq!(lock(&j).open_uploads().unwrap(), []);
        assert!(!known(&cold, &id).await);
        // Nothing left: recovering again does nothing.
        let r = crate::executor::recover::recover(&ex).await.unwrap();
        assert_eq!(r, crate::executor::recover::RecoveryReport::default());
    }
}
