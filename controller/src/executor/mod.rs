//! The executor: turns move plans into data movement between tiers without ever losing data.
//!
//! # Layout
//! - [`copy`]: the streaming, create-only, checksummed and verified copy.
//! - [`limits`]: objects-per-second and bytes-per-second token buckets.
//! - [`local`]: the create-only write to a local filesystem tier, through a journalled staging
//!   file that recovery removes if a crash left it.
//! - [`recover`]: finishing or undoing every move a crash left in flight.
//! - [`scan`]: learning the objects on the tiers (listing) into the catalog.
//! - [`uploads`]: multipart uploads to S3 tiers, their ids journalled so that recovery can
//!   abort one a crash left behind.
//!
//! # Guarantees
//! A move follows DESIGN.md's protocol, every step journalled before the next begins:
//! 1. the destination is checked absent and the intent (with the source's etag and size) is
//!    journalled; 2. the exact source version is streamed to the destination (create-only),
//!    hashing on the way; 3. the destination is verified (size plus MD5 etag or a read-back
//!    sha256); 4. `copied` is journalled; 5. the source is deleted only if it is still the
//!    version copied (re-checked just before); 6. `done` and the catalog change are journalled
//!    in one transaction. A crash anywhere is repaired by [`recover::recover`].
//!
//! # Caveats
//! Step 5 re-checks the source's etag immediately before deleting it; object_store has no
//! conditional delete, so a write landing in the few milliseconds between the check and the
//! delete would be lost. tierd freezes (and the source store's versioning, where enabled) close
//! that window in practice; DESIGN.md names it.

pub mod copy;
pub mod limits;
pub mod local;
pub mod reconcile;
pub mod recover;
pub mod scan;
pub mod uploads;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use object_store::ObjectStoreExt;
use rand::{Rng, SeedableRng};
use tracing::Instrument;

use crate::journal::catalog::Entry;
use crate::journal::moves::{MoveRow, MoveState};
use crate::journal::{Journal, JournalError};
use crate::tier::{StoreError, Tiers};
use copy::{CopyError, CopyTuning};
use limits::Limits;
use uploads::Uploads;

/// Executor errors: the journal or the tier configuration failed. (A move that fails is an
/// outcome, recorded in the journal, not an error.)
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Tuning and limits.
#[derive(Debug, Clone)]
pub struct ExecutorConfig {
    /// Moves in flight at once.
    pub concurrency: usize,
    /// Objects started per second (None: unlimited).
    pub max_objects_per_sec: Option<f64>,
    /// Bytes copied per second across all moves (None: unlimited).
    pub max_bytes_per_sec: Option<f64>,
    /// Attempts per move for transient errors, with exponential backoff and jitter.
    pub max_attempts: u32,
    pub base_backoff: Duration,
    pub tuning: CopyTuning,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        ExecutorConfig {
            concurrency: 8,
            max_objects_per_sec: None,
            max_bytes_per_sec: None,
            max_attempts: 5,
            base_backoff: Duration::from_millis(200),
            tuning: CopyTuning::default(),
        }
    }
}

/// One requested move: an object (which must be in the catalog) to a tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveRequest {
    pub decision_id: String,
    pub bucket: String,
    pub key: String,
    pub to: String,
}

/// How a move ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoveOutcome {
    Done {
        from: String,
        bytes: u64,
        checksum: String,
        verified_by: &'static str,
    },
    /// Nothing to do (already there) or not allowed; nothing changed.
    Skipped(String),
    /// The object was not found: neither the catalog nor a scan of the tiers knows it (deleted
    /// since, or misnamed); nothing changed. `on_no_tier`: every tier was listed, so it is on
    /// none (otherwise it may be on a tier that could not be listed).
    NotFound { why: String, on_no_tier: bool },
    /// Stopped safely (the source changed, the destination was taken); nothing lost.
    Aborted(String),
    /// A permanent or repeated error; nothing lost, the reason journalled.
    Failed(String),
    /// Not started: a stop was asked for first (see [`Executor::stop_on`]); nothing was touched
    /// or journalled, and the next pass decides again.
    NotStarted,
    /// Not started: the moves to its destination tier before it in this batch failed
    /// [`TIER_DOWN_AFTER`] times in a row (the store does not answer): each would spend its
    /// attempts and retries for nothing. Nothing was touched; the next pass decides again.
    TierDown(String),
}

/// The `why` of a move not started because an earlier run's move of the object is still in
/// flight, waiting for recovery.
pub const LEFT_IN_FLIGHT: &str = "not started: a move of this object that an earlier run left in flight waits for recovery (its store did not answer); the running service retries it, or run `tierd recover` once the store answers";

/// How the `why` of a move whose attempts all failed on errors that may pass begins.
const GAVE_UP: &str = "gave up after";

/// Failed moves in a row to one tier, in one batch of [`Executor::apply`], after which the
/// batch's other moves there are not started ([`MoveOutcome::TierDown`]).
pub const TIER_DOWN_AFTER: usize = 3;

/// The executor: tiers, the journal, limits.
pub struct Executor {
    tiers: Arc<Tiers>,
    journal: Arc<Mutex<Journal>>,
    cfg: ExecutorConfig,
    limits: Limits,
    /// The journal's mover lock, when this executor's process holds it (see [`Executor::hold`]).
    lock: Option<crate::journal::lock::MoverLock>,
    /// Tiers the last scan of a bucket could not list, per bucket: an object they may hold is
    /// not known to be on no tier.
    unlisted: Mutex<BTreeMap<String, Vec<String>>>,
    /// A stop asked for: no move, attempt or recovery step starts after it.
    shutdown: crate::shutdown::Shutdown,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("tiers", &self.tiers)
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

fn now() -> String {
    crate::decision::rfc3339(chrono::Utc::now())
}

impl Executor {
    pub fn new(tiers: Arc<Tiers>, journal: Arc<Mutex<Journal>>, cfg: ExecutorConfig) -> Executor {
        let limits = Limits::new(cfg.max_objects_per_sec, cfg.max_bytes_per_sec);
        Executor {
            tiers,
            journal,
            cfg,
            limits,
            lock: None,
            unlisted: Mutex::default(),
            shutdown: crate::shutdown::Shutdown::never(),
        }
    }

    /// Heeds `shutdown`: once it is asked for, no move (or retry of one) starts and recovery
    /// stops between moves; moves in flight go on to their end.
    pub fn stop_on(&mut self, shutdown: crate::shutdown::Shutdown) {
        self.shutdown = shutdown;
    }

    /// Whether a stop was asked for (then nothing new should start).
    pub fn stop_requested(&self) -> bool {
        self.shutdown.is_requested()
    }

    /// Waits for the objects-per-second limit to let one more move start. False when a stop was
    /// asked for first: then nothing may start.
    async fn may_start(&self) -> bool {
        if self.stop_requested() {
            return false;
        }
        tokio::select! {
            biased;
            () = self.shutdown.requested() => false,
            () = self.limits.object() => !self.stop_requested(),
        }
    }

    /// Keeps the journal's mover lock for as long as this executor lives (a command's).
    pub fn hold(&mut self, lock: crate::journal::lock::MoverLock) {
        self.lock = Some(lock);
    }

    /// Locks the journal (see [`crate::journal::lock`]).
    pub fn journal(&self) -> std::sync::MutexGuard<'_, Journal> {
        crate::journal::lock(&self.journal)
    }

    /// The journalled multipart API of the store that holds `bucket` on `tier`, when that
    /// store's uploads have ids (an S3 tier): what a copy there uploads a large object through.
    /// On a local filesystem tier, the journal of the staging files its copies write (see
    /// [`local`]). `None` on other stores (memory).
    ///
    /// # Errors
    /// An unknown tier, or a per-bucket store that cannot be opened.
    pub fn uploads(&self, tier: &str, bucket: &str) -> Result<Option<Uploads>, StoreError> {
        let journal = Arc::clone(&self.journal);
        if let Some(s) = self.tiers.uploads(tier, bucket)? {
            return Ok(Some(Uploads::new(s, journal, tier, bucket)));
        }
        let (store, _) = self.tiers.bucket(tier, bucket)?;
        Ok(local::is_local(store.as_ref()).then(|| Uploads::local(journal, tier, bucket)))
    }

    pub fn tiers(&self) -> &Arc<Tiers> {
        &self.tiers
    }

    /// Runs moves with the configured concurrency and limits; outcomes in request order.
    pub async fn apply(&self, reqs: Vec<MoveRequest>) -> Vec<(MoveRequest, MoveOutcome)> {
        self.apply_limited(reqs, None).await
    }

    /// [`Executor::apply`] with at most `max` moves in flight (a policy's
    /// `guardrails.max_concurrency`), when that is lower than the configured concurrency.
    pub async fn apply_limited(
        &self,
        reqs: Vec<MoveRequest>,
        max: Option<usize>,
    ) -> Vec<(MoveRequest, MoveOutcome)> {
        let mut out: Vec<(usize, MoveRequest, MoveOutcome)> =
            self.apply_each(reqs, max).collect().await;
        out.sort_by_key(|(i, _, _)| *i);
        out.into_iter().map(|(_, r, o)| (r, o)).collect()
    }

    /// Runs moves as [`Executor::apply_limited`] does, yielding each outcome (with its
    /// request's index) as its move ends: in completion order, so that a caller can report and
    /// record each at once. After a stop is asked for, every request not started yet is yielded
    /// at once as [`MoveOutcome::NotStarted`], while the moves in flight go on to their end.
    ///
    /// # Caveats
    /// Dropping the stream drops the moves in flight at their current step, as a crash would:
    /// every step before is journalled, and recovery finishes or undoes them.
    pub fn apply_each(
        &self,
        reqs: Vec<MoveRequest>,
        max: Option<usize>,
    ) -> impl futures::Stream<Item = (usize, MoveRequest, MoveOutcome)> + '_ {
        let conc = self.cfg.concurrency.min(max.unwrap_or(usize::MAX)).max(1);
        // Per destination tier: failed moves in a row in this batch (a success resets it).
        let failing: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
        futures::stream::iter(reqs.into_iter().enumerate())
            .map(move |(i, r)| {
                let failing = Arc::clone(&failing);
                async move {
                    let down = failing
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .get(&r.to)
                        .is_some_and(|n| *n >= TIER_DOWN_AFTER);
                    let o = if down {
                        MoveOutcome::TierDown(format!(
                            "tier {} failed the {TIER_DOWN_AFTER} moves before this one in a row, so this pass started no more there",
                            r.to
                        ))
                    } else if self.may_start().await {
                        self.move_object(&r).await
                    } else {
                        MoveOutcome::NotStarted
                    };
                    {
                        let mut f = failing
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        match &o {
                            // Attempts used up on errors that may pass: the store does not
                            // answer (not a refusal of this one object).
                            MoveOutcome::Failed(why) if why.starts_with(GAVE_UP) => {
                                *f.entry(r.to.clone()).or_default() += 1;
                            }
                            MoveOutcome::Done { .. } => {
                                f.remove(&r.to);
                            }
                            _ => {}
                        }
                    }
                    (i, r, o)
                }
            })
            .buffer_unordered(conc)
    }

    /// Moves one object, retrying transient errors with exponential backoff and jitter.
    pub async fn move_object(&self, req: &MoveRequest) -> MoveOutcome {
        // Deterministic jitter per object: the same retries in every run.
        let seed = req.key.bytes().fold(0xcbf29ce484222325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
        });
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        // A move of this object that an earlier run left in flight, and recovery could not
        // settle yet (its store did not answer), is recovery's to finish or undo: a second move
        // beside it would race it. (Checked once, before the first attempt: a later attempt may
        // find this process's own earlier attempt still journalled, which is its own to finish.)
        match self.move_in_flight(&req.bucket, &req.key) {
            Ok(false) => {}
            Ok(true) => return MoveOutcome::Skipped(LEFT_IN_FLIGHT.to_string()),
            Err(e) => return MoveOutcome::Failed(e.to_string()),
        }
        let mut attempt = 1;
        loop {
            match self.try_move(req).await {
                Ok(o) => return o,
                Err(Attempt::Transient(why)) if attempt < self.cfg.max_attempts => {
                    let base = self.cfg.base_backoff.as_secs_f64() * 2f64.powi(attempt as i32 - 1);
                    let wait = base * rng.gen_range(0.5..1.5);
                    tracing::warn!(message = "Move attempt failed; retrying.", bucket = %req.bucket, key = %req.key, attempt, error = %why);
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs_f64(wait)) => {}
                        () = self.shutdown.requested() => {}
                    }
                    // The failed attempt is journalled as ended: stopping here leaves nothing in
                    // flight.
                    if self.stop_requested() {
                        return MoveOutcome::Failed(format!(
                            "attempt {attempt} failed and the service is stopping, so no other was made: {why}"
                        ));
                    }
                    attempt += 1;
                }
                Err(Attempt::Transient(why)) => {
                    return MoveOutcome::Failed(format!("{GAVE_UP} {attempt} attempts: {why}"));
                }
                Err(Attempt::Fatal(why)) => return MoveOutcome::Failed(why),
            }
        }
    }

    async fn try_move(&self, req: &MoveRequest) -> Result<MoveOutcome, Attempt> {
        let entry = self
            .journal()
            .locate(&req.bucket, &req.key)
            .map_err(Attempt::fatal)?;
        let Some(entry) = entry else {
            let unlisted = self
                .unlisted
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(&req.bucket)
                .cloned()
                .unwrap_or_default();
            let listed: Vec<String> = self
                .tiers
                .names()
                .into_iter()
                .filter(|t| !unlisted.contains(t))
                .collect();
            let why = if unlisted.is_empty() {
                format!(
                    "{}/{} is on no tier: not in the catalog, and not found by a scan of {}",
                    req.bucket,
                    req.key,
                    listed.join(", ")
                )
            } else {
                format!(
                    "{}/{} was not found: not in the catalog, nor on {}; {} could not be listed (see the warnings), so it may be there",
                    req.bucket,
                    req.key,
                    listed.join(", "),
                    unlisted.join(", ")
                )
            };
            return Ok(MoveOutcome::NotFound {
                why,
                on_no_tier: unlisted.is_empty(),
            });
        };
        if entry.tier == req.to {
            // Not "done" while another tier holds a copy the catalog does not know of (the
            // owner wrote the object again there, and the log saying so is not read yet).
            let in_flight = self
                .move_in_flight(&req.bucket, &req.key)
                .map_err(Attempt::fatal)?;
            if !in_flight
                && let Some((tier, m)) = self
                    .copies_elsewhere(&req.bucket, &req.key, &entry.tier)
                    .await
                    .first()
            {
                return Ok(MoveOutcome::Failed(format!(
                    "the catalog has it on {} already, but {}; nothing was changed",
                    req.to,
                    scan::other_copy_note(&req.bucket, &req.key, tier, m)
                )));
            }
            return Ok(MoveOutcome::Skipped(format!("already on {}", req.to)));
        }
        if !self.tiers.contains(&req.to) {
            return Err(Attempt::Fatal(format!(
                "unknown tier {:?}; known tiers: {}",
                req.to,
                self.tiers.names().join(", ")
            )));
        }
        let (src, src_path) = self
            .tiers
            .object(&entry.tier, &req.bucket, &req.key)
            .map_err(Attempt::fatal)?;
        let (dst, dst_path) = self
            .tiers
            .object(&req.to, &req.bucket, &req.key)
            .map_err(Attempt::fatal)?;

        // The version to move is the one there now.
        let meta = match src.head(&src_path).await {
            Ok(m) => m,
            Err(object_store::Error::NotFound { .. }) => {
                // Deleted, or moved by hand: the catalog forgets it, so that `locate` and the
                // next move look for it on every tier instead of trusting the stale entry.
                self.journal()
                    .remove_entry(&req.bucket, &req.key)
                    .map_err(Attempt::fatal)?;
                return Ok(MoveOutcome::Failed(format!(
                    "the object is not on {} where the catalog had it; nothing was changed, and the catalog forgets it (`tierd locate` looks for it on every tier)",
                    entry.tier
                )));
            }
            // A refusal (403, an unsupported request) stays one: failed now, not 5 times.
            Err(e) => {
                return match copy::CopyError::from_store(e) {
                    copy::CopyError::Permanent(why) => Err(Attempt::Fatal(why)),
                    other => Err(Attempt::Transient(other.to_string())),
                };
            }
        };
        // 1. Journal the intent. (The destination must be free: `copy_verified` writes small
        //    objects create-only and checks before a multipart upload.)
        let id = self
            .journal()
            .move_intent(
                &req.decision_id,
                (&req.bucket, &req.key),
                (&entry.tier, &req.to),
                copy::Version {
                    etag: meta.e_tag.as_deref(),
                    size: meta.size,
                },
            )
            .map_err(Attempt::fatal)?;
        // The span covers the copy, the verification and the delete. (A guard from `enter()`
        // held across an await would leak into the other moves this task interleaves with.)
        let span = tracing::info_span!(
            "move",
            bucket = %req.bucket,
            key = %req.key,
            from = %entry.tier,
            to = %req.to,
            move_id = id
        );
        let ends = Ends {
            src,
            src_path,
            dst,
            dst_path,
        };
        self.copy_then_delete(req, entry, id, &meta, ends)
            .instrument(span)
            .await
    }

    /// Steps 2 to 6 of a move whose intent is journalled as `id`.
    async fn copy_then_delete(
        &self,
        req: &MoveRequest,
        entry: Entry,
        id: i64,
        meta: &object_store::ObjectMeta,
        ends: Ends,
    ) -> Result<MoveOutcome, Attempt> {
        let Ends {
            src,
            src_path,
            dst,
            dst_path,
        } = ends;

        // 2-3. Copy and verify.
        let version = copy::Version {
            etag: meta.e_tag.as_deref(),
            size: meta.size,
        };
        let uploads = self.uploads(&req.to, &req.bucket).map_err(Attempt::fatal)?;
        let dest = copy::Dest::new(&dst, &dst_path).with_uploads(uploads.as_ref());
        let copied = match copy::copy_verified(
            &src,
            &src_path,
            version,
            dest,
            self.cfg.tuning,
            &self.limits,
        )
        .await
        {
            Ok(c) => c,
            Err(e) => {
                let (state, why, retry) = match &e {
                    // A write whose answer was lost may have landed: the next attempt finds it
                    // and recognises its own bytes. Nothing is deleted on a guess.
                    CopyError::Transient(w) => (MoveState::Failed, w.clone(), true),
                    CopyError::SourceChanged(_) => (MoveState::Aborted, e.to_string(), false),
                    CopyError::DestinationExists => (
                        MoveState::Aborted,
                        format!(
                            "{} already holds {}/{}; tierd never overwrites",
                            req.to, req.bucket, req.key
                        ),
                        false,
                    ),
                    CopyError::Verify(_) => {
                        // A destination that does not verify is ours and wrong: remove it.
                        let _ = dst.delete(&dst_path).await;
                        (MoveState::Failed, e.to_string(), true)
                    }
                    CopyError::Permanent(w) => (MoveState::Failed, w.clone(), false),
                };
                self.journal()
                    .move_end(id, state, Some(&why))
                    .map_err(Attempt::fatal)?;
                return if retry {
                    Err(Attempt::Transient(why))
                } else if state == MoveState::Aborted {
                    Ok(MoveOutcome::Aborted(why))
                } else {
                    Ok(MoveOutcome::Failed(why))
                };
            }
        };
        // 4. Journal the verified copy.
        self.journal()
            .move_copied(id, &copied.checksum, copied.dest_etag.as_deref())
            .map_err(Attempt::fatal)?;
        let row = MoveRow {
            id,
            decision_id: req.decision_id.clone(),
            bucket: req.bucket.clone(),
            key: req.key.clone(),
            from_tier: entry.tier.clone(),
            to_tier: req.to.clone(),
            state: MoveState::Copied,
            src_etag: meta.e_tag.clone(),
            src_size: Some(meta.size),
            checksum: Some(copied.checksum.clone()),
            dest_etag: copied.dest_etag.clone(),
            error: None,
            attempts: 1,
        };
        // 5-6. Delete the source if unchanged, then done.
        match recover::finish_copied(self, &row, true).await {
            Ok((MoveState::Done, _)) => Ok(MoveOutcome::Done {
                from: entry.tier,
                bytes: copied.size,
                checksum: copied.checksum,
                verified_by: copied.verified_by,
            }),
            // The why recorded says what is left (the source kept, or gone as well).
            Ok((MoveState::Failed, why)) => Ok(MoveOutcome::Failed(why.unwrap_or_default())),
            Ok((_, Some(why))) if why == recover::SOURCE_DELETED => Ok(MoveOutcome::Aborted(why)),
            Ok(_) => Ok(MoveOutcome::Aborted("the source changed while it was being moved; the copy was removed and the source kept".into())),
            Err(recover::FinishError::Transient(w)) => Err(Attempt::Transient(w)),
            Err(recover::FinishError::Journal(e)) => Err(Attempt::Fatal(e.to_string())),
        }
    }
}

/// Where a move copies from and to.
struct Ends {
    src: Arc<dyn object_store::ObjectStore>,
    src_path: object_store::path::Path,
    dst: Arc<dyn object_store::ObjectStore>,
    dst_path: object_store::path::Path,
}

enum Attempt {
    Transient(String),
    Fatal(String),
}

impl Attempt {
    fn fatal(e: impl std::fmt::Display) -> Attempt {
        Attempt::Fatal(e.to_string())
    }
}

/// Journals the intent of the decision `decision_id` to move `photos/<key>` (`size` bytes, no
/// etag) from `hot` to `cold`, as a move killed after its first step leaves it (for tests).
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) fn test_intent(j: &mut Journal, decision_id: &str, key: &str, size: u64) -> i64 {
    let version = copy::Version { etag: None, size };
    j.move_intent(decision_id, ("photos", key), ("hot", "cold"), version)
        .unwrap()
}

/// An executor over the file tiers `hot` and `cold` in `dir`, journalled there (for tests).
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) fn test_executor(dir: &std::path::Path) -> Executor {
    let tier = |name: &str| crate::config::TierConfig {
        name: name.into(),
        url: format!("file://{}", dir.join(name).display()),
        min_storage_days: 0,
        options: BTreeMap::new(),
    };
    let tiers = crate::tier::Tiers::open(&[tier("hot"), tier("cold")]).unwrap();
    let j = Journal::open(&dir.join("tierd.db")).unwrap();
    Executor::new(
        Arc::new(tiers),
        Arc::new(Mutex::new(j)),
        ExecutorConfig::default(),
    )
}
