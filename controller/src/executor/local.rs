//! The create-only write of a copy to a local filesystem tier (`file://`), through a journalled
//! staging file.
//!
//! object_store's local filesystem publishes a multipart upload by renaming its staging file over
//! whatever holds the object's name, so an object a client wrote there during a long copy would
//! be replaced; and a kill leaves its staging file, which only a guess by name could find again.
//! Its create-only put stages the bytes the same way (`<file>#<n>`, then a hard link), so a kill
//! there leaves a staging file no journal knows too. A copy to a local tier, of any size, is
//! therefore written here:
//! 1. a staging file `<file>#<n>` is created beside the object's file (create-new: no existing
//!    file is ever opened; object_store's listings skip such names, and no store call can name
//!    one), and its name and inode are journalled, synced, before the first byte is written;
//! 2. the bytes are streamed into it (rate limited and hashed on the way), and it is synced;
//! 3. it is published with `link(2)` under the object's name, which fails when that name exists:
//!    a client's object written meanwhile is never replaced ([`CopyError::DestinationExists`]);
//! 4. the staging name is removed, the folder synced, and the journal forgets the file.
//!
//! A copy that fails removes its staging file. At start-up, [`remove_left`] removes each staging
//! file the journal still holds (a kill cut its copy short), and nothing else.
//!
//! # Guarantees
//! tierd never writes to, replaces or removes a file it did not create: a staging file is
//! created new, published only under a free name, and recovery removes a journalled staging
//! file only while it is still the file tierd created (the same inode).
//!
//! # Caveats
//! A kill between creating a staging file and journalling it leaves an empty file (no byte was
//! written yet) that no journal knows. When the object's own name holds a `#`, the staging file
//! is named after the part before its first `#` (`a#b` is written as `a#<n>`): `a#b#<n>` would
//! be a name a store can list.

use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::ObjectStore;
use object_store::path::Path;
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt as _;

use super::copy::{Copied, CopyError, Dest, already_present, local_file, verify};
use super::limits::Limits;
use crate::journal::{Journal, JournalError, lock};

/// Whether `store` is a local filesystem (a `file://` tier).
pub fn is_local(store: &dyn ObjectStore) -> bool {
    local_file(store, &Path::from("x")).is_some()
}

/// Copies `stream` (the source's bytes, `expected_size` of them) to `file`, the object's file on
/// the local filesystem store of `dest`, create-only; then verifies it by reading it back.
/// The staging file is journalled when `dest` has [`Dest::uploads`] (a copy without a journal,
/// in tests, writes the same way unjournalled).
///
/// # Errors
/// [`CopyError::DestinationExists`] when the object's name holds other bytes (already, or
/// written meanwhile by a client), [`CopyError::SourceChanged`] when the source gives other
/// than `expected_size` bytes, [`CopyError::Verify`], [`CopyError::Permanent`] for a folder in
/// the object's place or a refused write, [`CopyError::Transient`] for other disk errors.
pub(super) async fn copy(
    dest: Dest<'_>,
    file: &FsPath,
    stream: BoxStream<'static, object_store::Result<Bytes>>,
    expected_size: u64,
    limits: &Limits,
) -> Result<Copied, CopyError> {
    if dest.path.filename().is_some_and(staging_like) {
        // Refused before a byte is written: such a file could be neither listed, read back
        // nor removed through the tier's store, which takes it for a partial upload.
        return Err(CopyError::Permanent(format!(
            "{}: a key whose last part ends in #<digits> cannot be kept on a file:// tier (its listings take such names for partial uploads); it stays where it is",
            dest.path
        )));
    }
    match std::fs::symlink_metadata(file) {
        Ok(m) if m.is_dir() => {
            return Err(CopyError::Permanent(format!(
                "a folder is where the object's file would go ({}); tierd never replaces it",
                file.display()
            )));
        }
        // Someone else's object: refused before a byte is copied.
        Ok(m) if m.len() != expected_size => return Err(CopyError::DestinationExists),
        _ => {}
    }
    let journal = dest.uploads.map(|u| {
        let (journal, tier, bucket) = u.journal();
        Journalled {
            journal,
            tier,
            bucket,
            path: dest.path,
        }
    });
    let staging = Staging::create(file, journal)?;
    let (size, checksum) = match staging.fill(stream, expected_size, limits).await {
        Ok(written) => written,
        Err(e) => {
            staging.discard();
            return Err(e);
        }
    };
    if !staging.publish(file).await? {
        // A client's object written meanwhile, or this very copy, published by an earlier
        // attempt whose end failed.
        return already_present(dest.store, dest.path, size, checksum).await;
    }
    // A local store's etag is no MD5: the copy is read back.
    verify(dest.store, dest.path, size, &checksum, None, "").await
}

/// Whether a file name is one a local store takes for a partial upload: it ends in `#` and
/// digits (`doc#1`), which listings skip and store calls refuse.
fn staging_like(name: &str) -> bool {
    name.rsplit_once('#')
        .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Where a staging file is journalled.
#[derive(Clone, Copy)]
struct Journalled<'a> {
    journal: &'a Arc<Mutex<Journal>>,
    tier: &'a str,
    bucket: &'a str,
    /// The object's path in the tier's store.
    path: &'a Path,
}

/// A staging file this copy created, and its journal row.
struct Staging<'a> {
    path: PathBuf,
    file: std::fs::File,
    journal: Option<(Journalled<'a>, i64)>,
}

/// The name of the `n`th staging file for the object file `file`: `<file>#<n>`, or, when the
/// file's name holds a `#`, the part of the name before it followed by `#<n>` (a name that no
/// store call can address and listings skip, as a staging file's must be).
fn staging_name(file: &FsPath, n: u64) -> Option<PathBuf> {
    let name = file.file_name()?.to_str()?;
    let stem = name.split_once('#').map_or(name, |(stem, _)| stem);
    Some(file.with_file_name(format!("{stem}#{n}")))
}

/// Runs a blocking filesystem call (a link, an fsync) off the runtime's threads, so that the
/// copies in flight wait on the disk together rather than one after the other.
async fn blocking(f: impl FnOnce() -> std::io::Result<()> + Send + 'static) -> std::io::Result<()> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)))
}

/// Creates the folder `dir` and those above it that are missing, as the store does, and syncs
/// the folder that holds each new one: the object published in it later must not lose its
/// folder to a power cut once its source is deleted.
fn create_folders(dir: &FsPath) -> std::io::Result<()> {
    let missing: Vec<&FsPath> = dir.ancestors().take_while(|a| !a.exists()).collect();
    std::fs::create_dir_all(dir)?;
    for parent in missing.iter().filter_map(|m| m.parent()) {
        std::fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}

/// Sorts a disk error: a refusal stays until someone changes the folder; others may pass (a
/// full disk, once space is freed).
fn io_error(what: &str, path: &FsPath, e: &std::io::Error) -> CopyError {
    let text = format!("{what} {}: {e}", path.display());
    match e.kind() {
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => CopyError::Permanent(text),
        _ => CopyError::Transient(text),
    }
}

impl<'a> Staging<'a> {
    /// Creates a new staging file beside `file` (and the folders it needs, as the store does),
    /// under a name no file has, and journals it.
    fn create(file: &FsPath, journal: Option<Journalled<'a>>) -> Result<Staging<'a>, CopyError> {
        let mut made_folder = false;
        let mut n = 1;
        let (path, created) = loop {
            let Some(path) = staging_name(file, n) else {
                return Err(CopyError::Permanent(format!(
                    "{} is not a file name tierd can write",
                    file.display()
                )));
            };
            let opened = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path);
            match opened {
                Ok(f) => break (path, f),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => n += 1,
                Err(e) if e.kind() == ErrorKind::NotFound && !made_folder => {
                    made_folder = true;
                    if let Some(dir) = path.parent() {
                        create_folders(dir)
                            .map_err(|e| io_error("cannot create the folder", dir, &e))?;
                    }
                }
                Err(e) => return Err(io_error("cannot create the staging file", &path, &e)),
            }
        };
        let mut staging = Staging {
            path,
            file: created,
            journal: None,
        };
        let Some(j) = journal else {
            return Ok(staging);
        };
        let inode = staging.file.metadata().map(|m| m.ino());
        let recorded = inode.map_err(|e| e.to_string()).and_then(|inode| {
            let file = staging.path.to_string_lossy();
            let row = lock(j.journal).staging_started(
                (j.tier, j.bucket),
                j.path.as_ref(),
                (&file, inode),
            );
            row.map_err(|e| e.to_string())
        });
        match recorded {
            Ok(row) => {
                staging.journal = Some((j, row));
                Ok(staging)
            }
            Err(e) => {
                // A staging file no journal knows must get no byte: a kill would leave it.
                let path = staging.path.clone();
                staging.discard();
                Err(CopyError::Permanent(format!(
                    "cannot journal the staging file {}: {e}",
                    path.display()
                )))
            }
        }
    }

    /// Streams the source's bytes into the staging file, rate limited, and syncs it. Returns
    /// the size and sha256 (hex) written.
    async fn fill(
        &self,
        mut stream: BoxStream<'static, object_store::Result<Bytes>>,
        expected_size: u64,
        limits: &Limits,
    ) -> Result<(u64, String), CopyError> {
        let written = |e: std::io::Error| io_error("cannot write the staging file", &self.path, &e);
        let mut out = tokio::fs::File::from_std(self.file.try_clone().map_err(written)?);
        let mut sha = Sha256::new();
        let mut size = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(CopyError::from_store)?;
            limits.bytes(chunk.len()).await;
            sha.update(&chunk);
            size += chunk.len() as u64;
            if size > expected_size {
                break;
            }
            out.write_all(&chunk).await.map_err(written)?;
        }
        if size != expected_size {
            return Err(CopyError::SourceChanged(format!(
                "read {size} bytes, expected {expected_size}"
            )));
        }
        out.flush().await.map_err(written)?;
        out.sync_all().await.map_err(written)?;
        Ok((size, hex::encode(sha.finalize())))
    }

    /// Publishes the staging file under `file`'s name, only if that name is free; then removes
    /// the staging name. Returns false (the staging file removed) when the name was taken.
    async fn publish(self, file: &FsPath) -> Result<bool, CopyError> {
        let (from, to) = (self.path.clone(), file.to_path_buf());
        let linked = blocking(move || std::fs::hard_link(&from, &to)).await;
        let published = match linked {
            Ok(()) => true,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => false,
            Err(e) => {
                let err = io_error("cannot publish the staging file as", file, &e);
                self.discard();
                return Err(err);
            }
        };
        self.discard();
        if published && let Some(dir) = file.parent() {
            // The new name, and the staging name's removal, survive a power cut.
            let folder = dir.to_path_buf();
            blocking(move || std::fs::File::open(&folder).and_then(|d| d.sync_all()))
                .await
                .map_err(|e| io_error("cannot sync the folder", dir, &e))?;
        }
        Ok(published)
    }

    /// Removes the staging file's name, and forgets it in the journal. A removal that fails
    /// leaves it journalled, for recovery.
    fn discard(self) {
        let Staging {
            path,
            file,
            journal,
        } = self;
        drop(file);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(message = "Cannot remove a staging file; recovery will.", path = %path.display(), error = %e);
                return;
            }
        }
        if let Some((j, row)) = journal {
            let ended = lock(j.journal).staging_ended(row);
            if let Err(e) = ended {
                tracing::warn!(message = "Cannot clear a removed staging file from the journal; recovery will.", path = %path.display(), error = %e);
            }
        }
    }
}

/// What a copy to the object `path` of `(tier, bucket)`, whose file is `file`, leaves when it is
/// killed after writing `bytes` to its journalled staging file; returns the staging file.
#[cfg(test)]
pub(crate) fn killed_copy(
    journal: &Arc<Mutex<Journal>>,
    (tier, bucket): (&str, &str),
    (path, file): (&Path, &FsPath),
    bytes: &[u8],
) -> PathBuf {
    let journalled = Journalled {
        journal,
        tier,
        bucket,
        path,
    };
    #[allow(clippy::unwrap_used)]
    let staging = Staging::create(file, Some(journalled)).unwrap();
    let staged = staging.path.clone();
    #[allow(clippy::unwrap_used)]
    std::fs::write(&staged, bytes).unwrap();
    // Killed: nothing of the copy's own clean-up runs.
    std::mem::forget(staging);
    staged
}

/// A staging file left by an interrupted copy, removed by recovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagingRemoved {
    pub tier: String,
    pub bucket: String,
    /// The object's path in the tier's store.
    pub path: String,
    /// The staging file.
    pub file: PathBuf,
    /// Its size when it was removed: the bytes the interrupted copy had written.
    pub bytes: u64,
}

impl StagingRemoved {
    fn emit(&self) {
        tracing::warn!(
            message = "Removed the staging file of an interrupted copy.",
            tier = %self.tier,
            bucket = %self.bucket,
            path = %self.path,
            file = %self.file.display(),
            bytes = self.bytes
        );
    }
}

/// What [`remove_left`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StagingRecovered {
    /// The staging files removed.
    pub removed: Vec<StagingRemoved>,
    /// Staging files that could not be removed; still journalled, tried again next start.
    pub pending: u64,
}

/// Removes every staging file the journal holds (at start-up, those interrupted copies left)
/// while it is still the file tierd created, and forgets it. Each removal is logged with its
/// size; one that fails stays journalled for the next recovery. Run it only while holding the
/// mover's lock: a live mover's staging files are journalled too.
///
/// # Errors
/// The journal fails.
pub fn remove_left(journal: &Mutex<Journal>) -> Result<StagingRecovered, JournalError> {
    let left = lock(journal).open_staging()?;
    let mut r = StagingRecovered::default();
    for row in left {
        let file = PathBuf::from(&row.file);
        let failed = |e: &std::io::Error| {
            tracing::warn!(message = "Cannot remove the staging file of an interrupted copy; it stays journalled and the next recovery tries again.", tier = %row.tier, path = %row.path, file = %file.display(), error = %e);
        };
        match std::fs::symlink_metadata(&file) {
            Ok(m) if m.is_file() && m.ino() == row.inode => match std::fs::remove_file(&file) {
                Ok(()) => {
                    let removed = StagingRemoved {
                        tier: row.tier.clone(),
                        bucket: row.bucket.clone(),
                        path: row.path.clone(),
                        file: file.clone(),
                        bytes: m.len(),
                    };
                    removed.emit();
                    r.removed.push(removed);
                }
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => {
                    failed(&e);
                    r.pending += 1;
                    continue;
                }
            },
            // Removed already (the copy ended just before the interruption).
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Ok(_) => {
                tracing::warn!(message = "A file at the name of an interrupted copy's staging file is not the one tierd created; left untouched.", tier = %row.tier, path = %row.path, file = %file.display());
            }
            Err(e) => {
                failed(&e);
                r.pending += 1;
                continue;
            }
        }
        lock(journal).staging_ended(row.id)?;
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use object_store::{ObjectStoreExt, PutPayload};

    use super::*;
    use crate::executor::copy::tests::file_tier;
    use crate::executor::copy::{CopyTuning, Version, copy_verified};
    use crate::executor::uploads::Uploads;

    fn names(dir: &FsPath) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    /// A local tier pair and a journal in a temporary folder, the source holding `body` at
    /// `photos/big.bin`.
    struct Local {
        dir: tempfile::TempDir,
        hot: Arc<dyn ObjectStore>,
        cold: Arc<dyn ObjectStore>,
        journal: Arc<Mutex<Journal>>,
        p: Path,
    }

    async fn local(body: &[u8]) -> Local {
        let dir = tempfile::tempdir().unwrap();
        let hot = file_tier(&dir.path().join("hot"));
        let cold = file_tier(&dir.path().join("cold"));
        let journal = Arc::new(Mutex::new(
            Journal::open(&dir.path().join("tierd.db")).unwrap(),
        ));
        let p = Path::from("photos/big.bin");
        hot.put(&p, PutPayload::from(body.to_vec())).await.unwrap();
        Local {
            dir,
            hot,
            cold,
            journal,
            p,
        }
    }

    const TUNING: CopyTuning = CopyTuning {
        multipart_threshold: 1_000,
        part_size: 4_096,
        parts_in_flight: 2,
    };

    #[tokio::test]
    async fn a_copy_is_published_under_a_free_name_and_leaves_no_staging_file_or_journal_row() {
        let l = local(&[7u8; 10_000]).await;
        let cold_photos = l.dir.path().join("cold/photos");
        std::fs::create_dir_all(&cold_photos).unwrap();
        // A user's own file with a staging file's name, and a folder with another.
        std::fs::write(cold_photos.join("big.bin#1"), b"precious user data").unwrap();
        std::fs::create_dir(cold_photos.join("big.bin#2")).unwrap();
        let uploads = Uploads::local(Arc::clone(&l.journal), "cold", "photos");
        for (key, body) in [("photos/big.bin", 10_000), ("photos/small.bin", 10)] {
            let p = Path::from(key);
            l.hot
                .put(&p, PutPayload::from(vec![7u8; body]))
                .await
                .unwrap();
            let version = Version {
                etag: None,
                size: body as u64,
            };
            let dest = Dest::new(&l.cold, &p).with_uploads(Some(&uploads));
            let c = copy_verified(&l.hot, &p, version, dest, TUNING, &Limits::new(None, None))
                .await
                .unwrap();
            assert_eq!((c.size, c.verified_by), (body as u64, "read-back"), "{key}");
        }
        assert_eq!(
            names(&cold_photos),
            ["big.bin", "big.bin#1", "big.bin#2", "small.bin"]
        );
        assert_eq!(
            std::fs::read(cold_photos.join("big.bin#1")).unwrap(),
            b"precious user data"
        );
        assert_eq!(
            std::fs::read(cold_photos.join("big.bin")).unwrap(),
            [7u8; 10_000]
        );
        assert_eq!(lock(&l.journal).open_staging().unwrap(), []);
    }

    #[tokio::test]
    async fn publishing_refuses_a_name_a_client_took_meanwhile_and_removes_the_staging_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("photos/big.bin");
        let staging = Staging::create(&file, None).unwrap();
        assert_eq!(staging.path, dir.path().join("photos/big.bin#1"));
        std::fs::write(&staging.path, b"tierd's copy").unwrap();
        // A client writes the key while the copy runs.
        std::fs::write(&file, b"the client's object").unwrap();
        assert!(!staging.publish(&file).await.unwrap(), "the name was taken");
        assert_eq!(std::fs::read(&file).unwrap(), b"the client's object");
        assert_eq!(names(&dir.path().join("photos")), ["big.bin"]);
    }

    #[tokio::test]
    async fn a_copy_refuses_a_client_object_written_during_the_copy() {
        let l = local(&[7u8; 10_000]).await;
        let target = l.dir.path().join("cold/photos/big.bin");
        // The source's stream writes the client's object once the copy has begun.
        let got = l.hot.get(&l.p).await.unwrap().into_stream();
        let client = target.clone();
        let stream = got
            .enumerate()
            .map(move |(i, chunk)| {
                if i == 0 {
                    std::fs::write(&client, b"the client's object").unwrap();
                }
                chunk
            })
            .boxed();
        let uploads = Uploads::local(Arc::clone(&l.journal), "cold", "photos");
        let dest = Dest::new(&l.cold, &l.p).with_uploads(Some(&uploads));
        let err = copy(dest, &target, stream, 10_000, &Limits::new(None, None))
            .await
            .unwrap_err();
        assert!(matches!(err, CopyError::DestinationExists), "{err}");
        assert_eq!(std::fs::read(&target).unwrap(), b"the client's object");
        assert_eq!(names(&l.dir.path().join("cold/photos")), ["big.bin"]);
        assert_eq!(lock(&l.journal).open_staging().unwrap(), []);
    }

    #[tokio::test]
    async fn a_folder_where_the_object_would_go_fails_the_copy_and_leaves_nothing() {
        let l = local(&[7u8; 10_000]).await;
        let in_the_way = l.dir.path().join("cold/photos/big.bin");
        std::fs::create_dir_all(&in_the_way).unwrap();
        std::fs::write(in_the_way.join("keep"), b"k").unwrap();
        let version = Version {
            etag: None,
            size: 10_000,
        };
        let dest = Dest::new(&l.cold, &l.p);
        let err = copy_verified(
            &l.hot,
            &l.p,
            version,
            dest,
            TUNING,
            &Limits::new(None, None),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, CopyError::Permanent(_)), "{err}");
        assert_eq!(names(&l.dir.path().join("cold/photos")), ["big.bin"]);
        assert_eq!(std::fs::read(in_the_way.join("keep")).unwrap(), b"k");
    }

    #[tokio::test]
    async fn a_key_ending_in_hash_digits_is_refused_before_a_byte_is_written() {
        let l = local(b"draft").await;
        // As tierd names objects (crate::tier::store_path): the `#` as it is.
        let p = crate::tier::store_path("photos/doc#1");
        let mem: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
        mem.put(&p, PutPayload::from_static(b"draft"))
            .await
            .unwrap();
        let version = Version {
            etag: None,
            size: 5,
        };
        let e = copy_verified(
            &mem,
            &p,
            version,
            Dest::new(&l.cold, &p),
            TUNING,
            &Limits::new(None, None),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&e, CopyError::Permanent(w) if w.contains("cannot be kept on a file:// tier")),
            "{e:?}"
        );
        assert!(
            !l.dir.path().join("cold/photos").exists(),
            "nothing written"
        );
        assert!(staging_like("doc#1") && staging_like("#12"));
        assert!(!staging_like("doc#draft") && !staging_like("doc#") && !staging_like("doc"));
    }

    #[test]
    fn a_staging_name_is_one_listings_skip_even_when_the_key_holds_a_hash() {
        let at = |name: &str, n| {
            staging_name(&PathBuf::from("/srv/cold").join(name), n)
                .unwrap()
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(at("big.bin", 1), "big.bin#1");
        assert_eq!(at("big.bin", 12), "big.bin#12");
        assert_eq!(at("a#b", 2), "a#2");
        assert_eq!(at("#draft", 1), "#1");
    }

    #[test]
    fn recovery_removes_only_the_journalled_staging_files_that_are_still_tierds() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("cold/photos");
        std::fs::create_dir_all(&folder).unwrap();
        let j = Arc::new(Mutex::new(
            Journal::open(&dir.path().join("tierd.db")).unwrap(),
        ));
        let at = |key: &str| (Path::from(format!("photos/{key}")), folder.join(key));
        let killed = |key: &str, bytes: &[u8]| {
            let (path, file) = at(key);
            killed_copy(&j, ("cold", "photos"), (&path, &file), bytes)
        };
        // A user's file with the first staging name: tierd's staging file takes the next.
        std::fs::write(folder.join("big.bin#1"), b"precious user data").unwrap();
        let mine_path = killed("big.bin", &[1u8; 1000]);
        assert_eq!(mine_path, folder.join("big.bin#2"));
        // Another journalled staging file that a user's file replaced since, and one that is
        // gone already.
        let other_path = killed("other.bin", b"");
        std::fs::remove_file(&other_path).unwrap();
        std::fs::write(&other_path, b"a user's file, created later").unwrap();
        std::fs::remove_file(killed("gone.bin", b"")).unwrap();
        // A user's files beside the object, named as staging files are, that no journal holds.
        std::fs::write(folder.join("big.bin#3"), b"user").unwrap();
        std::fs::write(folder.join("small.bin#1"), b"user").unwrap();

        let r = remove_left(&j).unwrap();
        assert_eq!(
            r,
            StagingRecovered {
                removed: vec![StagingRemoved {
                    tier: "cold".into(),
                    bucket: "photos".into(),
                    path: "photos/big.bin".into(),
                    file: mine_path,
                    bytes: 1000,
                }],
                pending: 0,
            }
        );
        assert_eq!(
            names(&folder),
            ["big.bin#1", "big.bin#3", "other.bin#1", "small.bin#1"]
        );
        assert_eq!(
            std::fs::read(folder.join("big.bin#1")).unwrap(),
            b"precious user data"
        );
        assert_eq!(
            std::fs::read(&other_path).unwrap(),
            b"a user's file, created later"
        );
        assert_eq!(lock(&j).open_staging().unwrap(), []);
        // Nothing left: a second recovery does nothing.
        assert_eq!(remove_left(&j).unwrap(), StagingRecovered::default());
    }
}
