//! Snapshots: incremental, verified, tamper-evident copies of a bucket (or a prefix, or a key)
//! in the vault tier, and their restore.
//!
//! In the vault, under the bucket's place (see [`crate::tier::Tiers`]):
//! - `.tierd-snapshots/data/<snapshot id>/<key>`: the objects that changed since the previous
//!   snapshot of the same scope (unchanged ones point at the earlier copy: incremental);
//! - `.tierd-snapshots/manifests/<snapshot id>.json`: the manifest — every key with its size,
//!   etag, sha256 and where its copy is, plus the sha256 of the vault's previous manifest, so the
//!   manifests form a chain in which any edit shows.
//!
//! A `keep-…` snapshot (see [`keep`]) holds only the live objects a `snapshot restore
//! --overwrite` was about to replace: their way back. It is never taken for its scope's state
//! (`restore --at`, the next snapshot's increments).
//!
//! # Layout
//! - this module: making, verifying and reading snapshots;
//! - [`restore`]: restoring one, keeping what it replaces first.
//!
//! # Guarantees
//! Nothing in the vault is ever overwritten (every write is create-only), and nothing a
//! manifest names is deleted by tierd: only the copies of a snapshot that failed or was
//! interrupted before its manifest, which belong to no snapshot. Every copy is verified (size
//! and sha256) before the manifest that names it is written.
//!
//! # Caveats
//! Object lock / retention is not set by tierd (object_store has no API for it): give the vault
//! bucket a default retention (S3 Object Lock) so that even credentials with delete rights cannot
//! remove snapshots.

use std::collections::BTreeMap;
use std::sync::Arc;

use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

mod restore;

pub use restore::{
    KeyFilter, Restore, RestoreOptions, RestoreReport, listed, objects, plan_restore, restore,
};

use crate::executor::copy::{CopyError, Dest, Version, copy_verified, read_checksum};
use crate::executor::{ExecError, Executor};
use crate::journal::catalog::Entry;
use crate::journal::snapshots::SnapshotRow;
use crate::tier::{join, store_path};

/// The folder, under a bucket's place in the vault, that holds snapshots.
pub const SNAPSHOT_DIR: &str = ".tierd-snapshots";
/// The id kind of a snapshot that keeps what a restore replaced (`keep-<time>-<seq>`).
pub const KEEP_KIND: &str = "keep";
/// The manifest format this tierd writes and reads.
pub const MANIFEST_VERSION: u32 = 1;

/// Snapshot errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error("snapshot {0:?} is not in the journal; `tierd snapshot list` shows the snapshots")]
    Unknown(String),
    #[error("no snapshot of bucket {bucket:?} was taken at or before {at}")]
    NoneBefore { bucket: String, at: String },
    #[error("{key}: {source}")]
    Copy {
        key: String,
        #[source]
        source: CopyError,
    },
    #[error("manifest {path}: {message}")]
    Manifest { path: String, message: String },
    #[error(
        "{key}: not replaced: its current bytes were not kept in the vault first (a restore that replaces objects takes a snapshot of them before)"
    )]
    NotKept { key: String },
    #[error(
        "stopped after {copied} of {objects} objects: a stop was asked for; no snapshot was recorded (the copies made are left in the vault)"
    )]
    Stopped { copied: usize, objects: usize },
}

impl From<crate::journal::JournalError> for SnapshotError {
    fn from(e: crate::journal::JournalError) -> Self {
        SnapshotError::Exec(e.into())
    }
}

impl From<crate::tier::StoreError> for SnapshotError {
    fn from(e: crate::tier::StoreError) -> Self {
        SnapshotError::Exec(e.into())
    }
}

/// One object in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    pub key: String,
    pub size: u64,
    pub etag: Option<String>,
    pub sha256: String,
    /// The copy's path in the vault, relative to the bucket's place.
    pub blob: String,
}

/// A snapshot's manifest, as stored in the vault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format_version: u32,
    pub id: String,
    pub created_at: String,
    pub vault: String,
    pub bucket: String,
    pub prefix: String,
    /// sha256 of the vault's previous manifest; `None` for the first.
    pub prev_manifest_hash: Option<String>,
    pub objects: Vec<ManifestEntry>,
}

fn manifest_path(id: &str) -> String {
    format!("{SNAPSHOT_DIR}/manifests/{id}.json")
}

async fn read_manifest(
    store: &Arc<dyn ObjectStore>,
    path: &Path,
) -> Result<(Manifest, String), SnapshotError> {
    let err = |message: String| SnapshotError::Manifest {
        path: path.to_string(),
        message,
    };
    let bytes = store
        .get(path)
        .await
        .map_err(|e| err(e.to_string()))?
        .bytes()
        .await
        .map_err(|e| err(e.to_string()))?;
    let hash = hex::encode(Sha256::digest(&bytes));
    let m: Manifest =
        serde_json::from_slice(&bytes).map_err(|e| err(format!("not a tierd manifest: {e}")))?;
    if m.format_version != MANIFEST_VERSION {
        return Err(err(format!(
            "format_version {} is not the one this tierd reads ({MANIFEST_VERSION})",
            m.format_version
        )));
    }
    Ok((m, hash))
}

/// A snapshot made, and the objects listed for it that were gone when their turn came.
#[derive(Debug, Clone)]
pub struct Created {
    pub row: SnapshotRow,
    /// Keys listed but gone when copied: deleted meanwhile, or (a zero-byte key ending in `/`)
    /// an S3 folder marker, which object_store lists without its `/` and cannot read.
    pub vanished: Vec<String>,
    /// What the manifest holds, object by object.
    pub objects: Vec<ManifestEntry>,
    /// The snapshot of the same scope whose copies of unchanged objects this one points at.
    pub previous: Option<String>,
}

impl Created {
    /// The `why` of the snapshot's decision: [`made_why`], and the objects left out.
    pub fn why(&self) -> String {
        let own = format!("{SNAPSHOT_DIR}/data/{}/", self.row.id);
        let copied = self
            .objects
            .iter()
            .filter(|e| e.blob.starts_with(&own))
            .count();
        format!(
            "{}{}",
            made_why(&self.row, Some((copied, self.previous.as_deref()))),
            vanished_note(&self.vanished)
        )
    }
}

/// What a snapshot decision's `why` says of the snapshot it made: `snapshot ID: N objects
/// (M copied, K unchanged since PREVIOUS), B bytes copied`; `copied`: M and PREVIOUS, when known
/// (`N objects in its manifest` otherwise).
pub fn made_why(row: &SnapshotRow, copied: Option<(usize, Option<&str>)>) -> String {
    let counts = match copied {
        Some((m, previous)) => {
            let unchanged = (row.objects as usize).saturating_sub(m);
            let since = match previous {
                Some(p) if unchanged > 0 => format!(", {unchanged} unchanged since {p}"),
                _ => String::new(),
            };
            format!(
                "{} ({m} copied{since})",
                restore::objects(row.objects as usize)
            )
        }
        None => format!("{} in its manifest", restore::objects(row.objects as usize)),
    };
    format!(
        "snapshot {}: {counts}, {} bytes copied",
        row.id, row.copied_bytes
    )
}

/// What `why` says of objects a snapshot did not find: nothing, or `; N listed objects were gone
/// when copied (KEYS)`, with the first few keys.
pub fn vanished_note(vanished: &[String]) -> String {
    match vanished.len() {
        0 => String::new(),
        n => {
            let (one, verb) = if n == 1 {
                ("object", "was")
            } else {
                ("objects", "were")
            };
            format!(
                "; {n} listed {one} {verb} gone when copied and {verb} left out ({}: deleted meanwhile, or S3 folder markers, zero-byte keys ending in `/`, which tierd cannot read)",
                restore::listed(vanished)
            )
        }
    }
}

/// Takes a snapshot of `bucket/prefix` into `vault` (see [`create_reporting`]).
///
/// # Errors
/// As [`create_reporting`].
pub async fn create(
    ex: &Executor,
    vault: &str,
    bucket: &str,
    prefix: &str,
    id: &str,
) -> Result<SnapshotRow, SnapshotError> {
    Ok(create_reporting(ex, vault, bucket, prefix, id).await?.row)
}

/// Takes a snapshot of `bucket/prefix` into `vault`. Objects unchanged (same etag and size)
/// since the last snapshot of the same scope are not copied again. An object listed but gone
/// when its turn comes (deleted meanwhile; an S3 folder marker) is left out and reported; one
/// rewritten while it was copied is copied again, in its new version. A stop asked for of the
/// executor (`tierd run` stopping) is heeded between two objects.
///
/// # Errors
/// A store or journal error; an object that cannot be copied and verified; a stop
/// ([`SnapshotError::Stopped`]). The snapshot is then not recorded: no manifest is written, so
/// none names a copy that did not verify, and nothing lists a partial snapshot as one. The
/// copies it made are removed (they belong to no snapshot); a stop leaves them to the recovery
/// at the next start, which removes them too.
pub async fn create_reporting(
    ex: &Executor,
    vault: &str,
    bucket: &str,
    prefix: &str,
    id: &str,
) -> Result<Created, SnapshotError> {
    ex.scan_complete(bucket, prefix).await?;
    let entries = ex.journal().catalog_prefix(bucket, prefix)?;
    let previous = ex
        .journal()
        .snapshots(Some(bucket))?
        .into_iter()
        .rev()
        .find(|s| s.vault == vault && s.prefix == prefix && !s.is_keep());
    make(ex, vault, (bucket, prefix), id, &entries, previous).await
}

/// Takes a snapshot of exactly `objects` (where they are now; none copied from an earlier
/// snapshot) into `vault`, as `bucket`/`prefix`: what a restore is about to replace, kept so that
/// the restore can be undone. `id` should be of kind [`KEEP_KIND`], so that it is never taken for
/// the state of its scope.
///
/// # Errors
/// As [`create_reporting`].
pub async fn keep(
    ex: &Executor,
    vault: &str,
    (bucket, prefix): (&str, &str),
    id: &str,
    objects: &[Entry],
) -> Result<Created, SnapshotError> {
    make(ex, vault, (bucket, prefix), id, objects, None).await
}

/// The copies of `entries`, the manifest and the journal's row, or (on a failure) no copy left.
async fn make(
    ex: &Executor,
    vault: &str,
    (bucket, prefix): (&str, &str),
    id: &str,
    entries: &[Entry],
    previous: Option<SnapshotRow>,
) -> Result<Created, SnapshotError> {
    let (vstore, vbase) = ex.tiers().bucket(vault, bucket)?;
    let mut written = Vec::new();
    let made = copy_and_record(
        ex,
        (vault, &vstore, &vbase),
        (bucket, prefix),
        (id, entries, previous),
        &mut written,
    )
    .await;
    if let Err(e) = &made
        && !matches!(e, SnapshotError::Stopped { .. })
    {
        discard(&vstore, &written, id).await;
    }
    made
}

/// Removes the copies a snapshot that failed made (no manifest names them); a store that
/// refuses (a vault under object lock) keeps them, with a warning.
async fn discard(vstore: &Arc<dyn ObjectStore>, written: &[Path], id: &str) {
    let mut left = 0usize;
    for p in written {
        if let Err(e) = vstore.delete(p).await
            && !matches!(e, object_store::Error::NotFound { .. })
        {
            left += 1;
            tracing::warn!(message = "Cannot remove a copy of a failed snapshot.", snapshot = %id, path = %p, error = %crate::tier::with_causes(&e));
        }
    }
    if !written.is_empty() {
        tracing::info!(message = "Removed the copies of a failed snapshot.", snapshot = %id, removed = written.len() - left, left);
    }
}

/// The folder of the vault's store, whose bucket is at `vbase`, that holds the copies the
/// snapshot `id` made (`.tierd-snapshots/data/ID`).
pub fn data_folder(vbase: &Path, id: &str) -> Path {
    join(vbase, &format!("{SNAPSHOT_DIR}/data/{id}"))
}

/// Removes what a snapshot interrupted by a crash or a stop copied into the vault
/// (`.tierd-snapshots/data/ID/` of the bucket): no manifest names it. Returns the copies
/// removed.
///
/// # Errors
/// The vault cannot be listed or a copy cannot be deleted.
pub async fn discard_interrupted(
    ex: &Executor,
    vault: &str,
    bucket: &str,
    id: &str,
) -> Result<usize, SnapshotError> {
    use futures::StreamExt;
    let (vstore, vbase) = ex.tiers().bucket(vault, bucket)?;
    let folder = data_folder(&vbase, id);
    let failed = |source| -> SnapshotError {
        crate::tier::StoreError::Backend {
            url: format!("tier {vault}"),
            source,
        }
        .into()
    };
    let mut listed = vstore.list(Some(&folder));
    let mut paths = Vec::new();
    while let Some(m) = listed.next().await {
        paths.push(m.map_err(failed)?.location);
    }
    for p in &paths {
        match vstore.delete(p).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(failed(e)),
        }
    }
    Ok(paths.len())
}

/// The copies, then the manifest and the journal's row; `written` collects every copy made.
/// `vault`: the vault tier's name, and the store and place of the bucket there; `previous`: the
/// snapshot whose unchanged copies are not made again.
async fn copy_and_record(
    ex: &Executor,
    (vault, vstore, vbase): (&str, &Arc<dyn ObjectStore>, &Path),
    (bucket, prefix): (&str, &str),
    (id, entries, prev_same): (&str, &[Entry], Option<SnapshotRow>),
    written: &mut Vec<Path>,
) -> Result<Created, SnapshotError> {
    let uploads = ex.uploads(vault, bucket)?;
    let prev_chain = ex.journal().last_snapshot(vault)?;
    let previous: BTreeMap<String, ManifestEntry> = match &prev_same {
        Some(s) => read_manifest(vstore, &store_path(&s.manifest_path))
            .await?
            .0
            .objects
            .into_iter()
            .map(|e| (e.key.clone(), e))
            .collect(),
        None => BTreeMap::new(),
    };
    let mut objects = Vec::with_capacity(entries.len());
    let mut vanished = Vec::new();
    let (mut bytes, mut copied_bytes) = (0u64, 0u64);
    'objects: for (done, e) in entries.iter().enumerate() {
        if ex.stop_requested() {
            return Err(SnapshotError::Stopped {
                copied: done,
                objects: entries.len(),
            });
        }
        let (src, src_path) = ex.tiers().object(&e.tier, bucket, &e.key)?;
        let fail = |source| SnapshotError::Copy {
            key: e.key.clone(),
            source,
        };
        // An object rewritten while it is copied is copied again, in its new version (twice
        // at most: a key rewritten without pause fails the snapshot).
        let mut tries = 0;
        let (meta, c, blob) = loop {
            tries += 1;
            let meta = match src.head(&src_path).await {
                Ok(m) => m,
                Err(object_store::Error::NotFound { .. }) => {
                    tracing::warn!(message = "An object listed for a snapshot was gone when copied; left out.", snapshot = %id, bucket = %bucket, key = %e.key, listed_size = e.size);
                    vanished.push(e.key.clone());
                    continue 'objects;
                }
                Err(s) => return Err(fail(CopyError::from_store(s))),
            };
            if let Some(p) = previous.get(&e.key)
                && p.etag.is_some()
                && p.etag == meta.e_tag
                && p.size == meta.size
            {
                bytes += meta.size;
                objects.push(p.clone());
                continue 'objects;
            }
            let blob = format!("{SNAPSHOT_DIR}/data/{id}/{}", e.key);
            let version = Version {
                etag: meta.e_tag.as_deref(),
                size: meta.size,
            };
            let blob_path = join(vbase, &blob);
            match copy_verified(
                &src,
                &src_path,
                version,
                Dest::new(vstore, &blob_path).with_uploads(uploads.as_ref()),
                crate::executor::copy::CopyTuning::default(),
                &crate::executor::limits::Limits::default(),
            )
            .await
            {
                Ok(c) => {
                    written.push(blob_path);
                    break (meta, c, blob);
                }
                // The copy of the version before, if it was written whole, makes room for the
                // new one (it belongs to no snapshot yet).
                Err(CopyError::SourceChanged(_)) if tries < 3 => {
                    match vstore.delete(&blob_path).await {
                        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                        Err(s) => return Err(fail(CopyError::from_store(s))),
                    }
                }
                Err(source) => return Err(fail(source)),
            }
        };
        bytes += meta.size;
        copied_bytes += c.size;
        objects.push(ManifestEntry {
            key: e.key.clone(),
            size: c.size,
            etag: meta.e_tag.clone(),
            sha256: c.checksum,
            blob,
        });
    }
    let created_at = crate::decision::rfc3339(chrono::Utc::now());
    let manifest = Manifest {
        format_version: MANIFEST_VERSION,
        id: id.to_string(),
        created_at: created_at.clone(),
        vault: vault.to_string(),
        bucket: bucket.to_string(),
        prefix: prefix.to_string(),
        prev_manifest_hash: prev_chain.as_ref().map(|s| s.manifest_hash.clone()),
        objects,
    };
    let body = serde_json::to_vec_pretty(&manifest).map_err(|e| SnapshotError::Manifest {
        path: manifest_path(id),
        message: e.to_string(),
    })?;
    let hash = hex::encode(Sha256::digest(&body));
    let mpath = join(vbase, &manifest_path(id));
    vstore
        .put_opts(
            &mpath,
            PutPayload::from(body),
            PutOptions {
                mode: PutMode::Create,
                ..PutOptions::default()
            },
        )
        .await
        .map_err(|e| SnapshotError::Manifest {
            path: mpath.to_string(),
            message: e.to_string(),
        })?;
    let row = SnapshotRow {
        id: id.to_string(),
        created_at,
        vault: vault.to_string(),
        bucket: bucket.to_string(),
        prefix: prefix.to_string(),
        manifest_path: mpath.to_string(),
        manifest_hash: hash,
        prev_hash: manifest.prev_manifest_hash.clone(),
        objects: manifest.objects.len() as u64,
        bytes,
        copied_bytes,
    };
    ex.journal().record_snapshot(&row)?;
    tracing::info!(message = "Snapshot created.", snapshot = %id, bucket = %bucket, objects = row.objects, bytes, copied_bytes, vanished = vanished.len());
    Ok(Created {
        row,
        vanished,
        objects: manifest.objects,
        previous: prev_same.map(|s| s.id),
    })
}

/// One problem `verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The key, or `manifest`.
    pub subject: String,
    pub problem: String,
}

/// Re-reads a snapshot: the manifest's hash against the journal, its link to the previous
/// manifest, and every copy's size and sha256. Returns every problem found (empty: intact).
///
/// # Errors
/// The snapshot is unknown, or the journal fails. (A missing or corrupt object is a problem, not
/// an error.)
pub async fn verify(ex: &Executor, id: &str) -> Result<Vec<Problem>, SnapshotError> {
    let row = ex
        .journal()
        .snapshot(id)?
        .ok_or_else(|| SnapshotError::Unknown(id.to_string()))?;
    let (vstore, vbase) = ex.tiers().bucket(&row.vault, &row.bucket)?;
    let mut problems = Vec::new();
    let manifest = match read_manifest(&vstore, &store_path(&row.manifest_path)).await {
        Ok((m, hash)) => {
            if hash != row.manifest_hash {
                problems.push(Problem {
                    subject: "manifest".into(),
                    problem: format!(
                        "its sha256 is {hash}, the journal recorded {}: it was altered",
                        row.manifest_hash
                    ),
                });
            }
            if m.prev_manifest_hash != row.prev_hash {
                problems.push(Problem {
                    subject: "manifest".into(),
                    problem: "its link to the previous manifest does not match the journal".into(),
                });
            }
            Some(m)
        }
        Err(e) => {
            problems.push(Problem {
                subject: "manifest".into(),
                problem: e.to_string(),
            });
            None
        }
    };
    for e in manifest.map(|m| m.objects).unwrap_or_default() {
        match read_checksum(&vstore, &join(&vbase, &e.blob)).await {
            Ok((size, sum)) if size == e.size && sum == e.sha256 => {}
            Ok((size, sum)) => problems.push(Problem {
                subject: e.key.clone(),
                problem: format!("the copy has {size} bytes with sha256 {sum}; the manifest says {} bytes with sha256 {}", e.size, e.sha256),
            }),
            Err(err) => problems.push(Problem { subject: e.key.clone(), problem: format!("the copy cannot be read: {err}") }),
        }
    }
    Ok(problems)
}

/// The snapshot that holds `bucket` as of `at` (RFC 3339): its newest whole snapshot taken at or
/// before `at`; without one, the newest of a prefix (the caller says it covers only that).
///
/// # Errors
/// None fits, or the journal fails.
pub fn latest_before(ex: &Executor, bucket: &str, at: &str) -> Result<SnapshotRow, SnapshotError> {
    let at_t = chrono::DateTime::parse_from_rfc3339(at).map_err(|e| SnapshotError::Manifest {
        path: "--at".into(),
        message: format!("{at:?} is not an RFC 3339 time: {e}"),
    })?;
    let before: Vec<SnapshotRow> = ex
        .journal()
        .snapshots(Some(bucket))?
        .into_iter()
        .filter(|s| {
            !s.is_keep()
                && chrono::DateTime::parse_from_rfc3339(&s.created_at).is_ok_and(|t| t <= at_t)
        })
        .collect();
    // The bucket as of `at`: its latest whole snapshot, not a later one of one prefix.
    let whole = before.iter().rposition(|s| s.prefix.is_empty());
    whole
        .or_else(|| before.len().checked_sub(1))
        .map(|i| before[i].clone())
        .ok_or_else(|| SnapshotError::NoneBefore {
            bucket: bucket.to_string(),
            at: at.to_string(),
        })
}

/// The snapshots of `bucket` whose manifests hold `key`, newest first, with its entry there
/// (for `tierd locate` of a key on no tier). A manifest that cannot be read is passed by, with
/// a warning.
///
/// # Errors
/// The journal fails, or the vault is not configured.
pub async fn holding(
    ex: &Executor,
    bucket: &str,
    key: &str,
) -> Result<Vec<(SnapshotRow, ManifestEntry)>, SnapshotError> {
    let rows = ex.journal().snapshots(Some(bucket))?;
    let mut found = Vec::new();
    for row in rows.into_iter().rev() {
        if !key.starts_with(row.prefix.as_str()) {
            continue;
        }
        let (vstore, _) = ex.tiers().bucket(&row.vault, &row.bucket)?;
        match read_manifest(&vstore, &store_path(&row.manifest_path)).await {
            Ok((m, _)) => {
                if let Some(e) = m.objects.into_iter().find(|e| e.key == key) {
                    found.push((row, e));
                }
            }
            Err(e) => {
                tracing::warn!(message = "A snapshot's manifest cannot be read; passed by.", snapshot = %row.id, error = %e);
            }
        }
    }
    Ok(found)
}

/// Reads a snapshot's manifest (for `tierd snapshot show`).
///
/// # Errors
/// Unknown snapshot or unreadable manifest.
pub async fn manifest(ex: &Executor, id: &str) -> Result<Manifest, SnapshotError> {
    let row = ex
        .journal()
        .snapshot(id)?
        .ok_or_else(|| SnapshotError::Unknown(id.to_string()))?;
    let (vstore, _) = ex.tiers().bucket(&row.vault, &row.bucket)?;
    Ok(read_manifest(&vstore, &store_path(&row.manifest_path))
        .await?
        .0)
}
