//! The streaming, verified copy at the heart of a move: read the exact source version, write the
//! destination without ever replacing an existing object, hash on the way, verify after.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use md5::{Digest as _, Md5};
use object_store::path::Path;
use object_store::{GetOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use sha2::Sha256;

use super::limits::Limits;
use super::uploads::Uploads;

/// Why a copy did not happen. `Transient` ones are retried.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("the source changed or vanished since its copy began ({0})")]
    SourceChanged(String),
    #[error("the destination already holds an object; tierd never overwrites")]
    DestinationExists,
    #[error("the copy did not verify: {0}")]
    Verify(String),
    #[error("{0}")]
    Transient(String),
    #[error("{0}")]
    Permanent(String),
}

impl CopyError {
    /// Sorts an error of the destination store: there, "not found" means a missing bucket or
    /// container (a configuration problem), not a changed source.
    pub fn from_dest_store(e: object_store::Error) -> CopyError {
        match e {
            object_store::Error::NotFound { .. } => CopyError::Permanent(format!(
                "the destination does not exist (a missing bucket?): {e}"
            )),
            other => CopyError::from_store(other),
        }
    }

    /// Sorts a store error: missing objects and failed preconditions are final for this attempt,
    /// everything else (timeouts, 5xx, connection errors) may pass.
    pub fn from_store(e: object_store::Error) -> CopyError {
        use object_store::Error as E;
        let text = crate::tier::with_causes(&e);
        match e {
            E::NotFound { .. } | E::Precondition { .. } => CopyError::SourceChanged(text),
            E::AlreadyExists { .. } => CopyError::DestinationExists,
            E::PermissionDenied { .. } | E::Unauthenticated { .. } => {
                CopyError::Permanent(format!(
                    "{text} (refused: the credentials are wrong, a wrong secret key among them, or \
                 lack this permission; `tierd check` shows the store's own words)"
                ))
            }
            E::NotSupported { .. } | E::NotImplemented { .. } => CopyError::Permanent(text),
            // A folder the operating system refuses stays refused until someone changes it.
            other if crate::tier::is_access_refused(&other) => CopyError::Permanent(text),
            _ => CopyError::Transient(text),
        }
    }
}

/// What a successful copy wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub size: u64,
    /// sha256 of the content, hex.
    pub checksum: String,
    pub dest_etag: Option<String>,
    /// How the destination was verified.
    pub verified_by: &'static str,
}

/// Sizes that shape a copy.
#[derive(Debug, Clone, Copy)]
pub struct CopyTuning {
    /// Objects up to this size are written with one create-only PUT.
    pub multipart_threshold: u64,
    /// Part size for larger objects (at least 5 MiB for S3).
    pub part_size: usize,
    /// Parts of one object uploading at once.
    pub parts_in_flight: usize,
}

impl Default for CopyTuning {
    fn default() -> Self {
        CopyTuning {
            multipart_threshold: 16 * 1024 * 1024,
            part_size: 16 * 1024 * 1024,
            parts_in_flight: 4,
        }
    }
}

fn hex(d: &[u8]) -> String {
    hex::encode(d)
}

/// The version of a source object a copy (and the journal's intent) expects: its etag, when the
/// store gives one, and its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version<'a> {
    pub etag: Option<&'a str>,
    pub size: u64,
}

/// Where a copy writes.
#[derive(Debug, Clone, Copy)]
pub struct Dest<'a> {
    pub store: &'a Arc<dyn ObjectStore>,
    pub path: &'a Path,
    /// The store's journalled multipart API, when its uploads have ids (an S3 tier, see
    /// [`super::Executor::uploads`]): a large object is uploaded through it, so that recovery
    /// can abort the upload a kill left behind. On a local filesystem tier, the journal of the
    /// staging files [`super::local`] writes (see [`Uploads::local`]). `None`: object_store's
    /// own multipart upload (a memory store), or, on a local filesystem, an unjournalled
    /// staging file.
    pub uploads: Option<&'a Uploads>,
}

impl<'a> Dest<'a> {
    /// `path` in `store`, uploaded without a journalled id (a local or memory store).
    pub fn new(store: &'a Arc<dyn ObjectStore>, path: &'a Path) -> Dest<'a> {
        Dest {
            store,
            path,
            uploads: None,
        }
    }

    /// Uploads large objects through `uploads` (see [`Dest::uploads`]).
    #[must_use]
    pub fn with_uploads(mut self, uploads: Option<&'a Uploads>) -> Dest<'a> {
        self.uploads = uploads;
        self
    }
}

/// Copies `src` (exactly the `version` expected: its etag when given, and its size) to `dest`,
/// which must not exist.
///
/// Memory is bounded by `tuning.parts_in_flight` parts (or the multipart threshold). The
/// content's sha256 is computed while streaming; the destination is verified by its S3-style
/// MD5 etag when the backend gives one that matches, otherwise by reading it back and comparing
/// sha256 and size. A multipart upload through [`Dest::uploads`] is journalled before its first
/// part is sent, and forgotten once completed or aborted. A copy to a local filesystem is
/// written by [`super::local`], through a staging file journalled the same way.
///
/// # Errors
/// [`CopyError::SourceChanged`] when the source is not the expected version,
/// [`CopyError::DestinationExists`], [`CopyError::Verify`], or a store error sorted by
/// [`CopyError::from_store`]. A failed multipart upload is aborted; a journalled one whose
/// abort fails stays journalled, for recovery to abort.
pub async fn copy_verified(
    src: &Arc<dyn ObjectStore>,
    src_path: &Path,
    version: Version<'_>,
    dest: Dest<'_>,
    tuning: CopyTuning,
    limits: &Limits,
) -> Result<Copied, CopyError> {
    let Dest {
        store: dst,
        path: dst_path,
        uploads,
    } = dest;
    let Version {
        etag: src_etag,
        size: expected_size,
    } = version;
    let opts = GetOptions {
        if_match: src_etag.map(str::to_string),
        ..GetOptions::default()
    };
    let got = src
        .get_opts(src_path, opts)
        .await
        .map_err(CopyError::from_store)?;
    if got.meta.size != expected_size {
        return Err(CopyError::SourceChanged(format!(
            "size is {} bytes, expected {expected_size}",
            got.meta.size
        )));
    }
    if let Some(file) = local_file(dst.as_ref(), dst_path) {
        // A local filesystem: written create-only through a journalled staging file.
        return super::local::copy(dest, &file, got.into_stream(), expected_size, limits).await;
    }
    let mut stream = got.into_stream();
    let mut sha = Sha256::new();
    let mut size = 0u64;

    if expected_size <= tuning.multipart_threshold {
        let mut buf = BytesMut::with_capacity(expected_size as usize);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(CopyError::from_store)?;
            limits.bytes(chunk.len()).await;
            sha.update(&chunk);
            size += chunk.len() as u64;
            buf.extend_from_slice(&chunk);
        }
        if size != expected_size {
            return Err(CopyError::SourceChanged(format!(
                "read {size} bytes, expected {expected_size}"
            )));
        }
        let body = buf.freeze();
        let md5_etag = hex(&Md5::digest(&body));
        let checksum = hex(&sha.finalize());
        let put = match dst
            .put_opts(
                dst_path,
                PutPayload::from(body),
                PutOptions {
                    mode: PutMode::Create,
                    ..PutOptions::default()
                },
            )
            .await
        {
            Ok(p) => p,
            Err(object_store::Error::AlreadyExists { .. }) => {
                return already_present(dst, dst_path, size, checksum).await;
            }
            Err(e) => return Err(CopyError::from_dest_store(e)),
        };
        return verify(dst, dst_path, size, &checksum, put.e_tag, &md5_etag).await;
    }

    // Large object: refuse an existing destination up front, check again before completing,
    // and on S3 complete create-only (crate::create_only): a client's object written at the key
    // during the upload is never replaced.
    still_free(dst, dst_path).await?;
    let mut upload = match uploads.filter(|u| u.has_ids()) {
        Some(uploads) => uploads.start(dst_path).await?,
        None => dst
            .put_multipart(dst_path)
            .await
            .map_err(CopyError::from_dest_store)?,
    };
    let mut part = BytesMut::with_capacity(tuning.part_size);
    let mut part_md5s: Vec<u8> = Vec::new();
    let mut parts = 0usize;
    let mut in_flight = futures::stream::FuturesUnordered::new();
    let result: Result<(), CopyError> = async {
        loop {
            let next = stream.next().await;
            let done = next.is_none();
            if let Some(chunk) = next {
                let chunk: Bytes = chunk.map_err(CopyError::from_store)?;
                limits.bytes(chunk.len()).await;
                sha.update(&chunk);
                size += chunk.len() as u64;
                part.extend_from_slice(&chunk);
            }
            while part.len() >= tuning.part_size || (done && !part.is_empty()) {
                let take = part.len().min(tuning.part_size);
                let body = part.split_to(take).freeze();
                part_md5s.extend_from_slice(&Md5::digest(&body));
                parts += 1;
                // Parts upload concurrently, at most `parts_in_flight` at once (memory stays
                // bounded by that many parts); the upload assembles them in call order.
                in_flight.push(upload.put_part(PutPayload::from(body)));
                if in_flight.len() >= tuning.parts_in_flight.max(1)
                    && let Some(r) = in_flight.next().await
                {
                    r.map_err(CopyError::from_dest_store)?;
                }
            }
            if done {
                while let Some(r) = in_flight.next().await {
                    r.map_err(CopyError::from_dest_store)?;
                }
                return Ok(());
            }
        }
    }
    .await;
    drop(in_flight);
    if let Err(e) = result {
        abandon(upload, dst_path).await;
        return Err(e);
    }
    if size != expected_size {
        abandon(upload, dst_path).await;
        return Err(CopyError::SourceChanged(format!(
            "read {size} bytes, expected {expected_size}"
        )));
    }
    let checksum = hex(&sha.finalize());
    // Still free? The upload took as long as the object's bytes: a client may have written the
    // key meanwhile. (On S3 the completion itself is create-only too, see crate::create_only.)
    if let Err(e) = still_free(dst, dst_path).await {
        abandon(upload, dst_path).await;
        return Err(e);
    }
    let put = match upload.complete().await {
        Ok(put) => put,
        Err(
            object_store::Error::Precondition { .. } | object_store::Error::AlreadyExists { .. },
        ) => {
            // The key was taken at the last moment, or this very completion landed and its
            // answer was lost (a retry then finds the object): ours only if it holds our bytes.
            abandon(upload, dst_path).await;
            return already_present(dst, dst_path, size, checksum).await;
        }
        Err(e) => {
            // A failed completion leaves the parts behind (an S3 store keeps, and bills, them
            // until the upload is aborted).
            abandon(upload, dst_path).await;
            return Err(CopyError::from_dest_store(e));
        }
    };
    let md5_etag = format!("{}-{parts}", hex(&Md5::digest(&part_md5s)));
    verify(dst, dst_path, size, &checksum, put.e_tag, &md5_etag).await
}

/// Refuses a destination that exists: a copy never replaces an object.
///
/// # Errors
/// [`CopyError::DestinationExists`]; store errors, sorted.
async fn still_free(dst: &Arc<dyn ObjectStore>, dst_path: &Path) -> Result<(), CopyError> {
    match dst.head(dst_path).await {
        Ok(_) => Err(CopyError::DestinationExists),
        Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(CopyError::from_store(e)),
    }
}

/// A create-only write found `dst_path` taken: either someone else's object (refused), or this
/// very copy, written by an earlier attempt whose answer was lost (the same bytes: carry on).
///
/// # Errors
/// [`CopyError::DestinationExists`] when it holds other bytes; store errors, sorted.
pub(super) async fn already_present(
    dst: &Arc<dyn ObjectStore>,
    dst_path: &Path,
    size: u64,
    checksum: String,
) -> Result<Copied, CopyError> {
    let (n, sum) = read_checksum(dst, dst_path).await?;
    if n == size && sum == checksum {
        return Ok(Copied {
            size,
            checksum,
            dest_etag: None,
            verified_by: "already present",
        });
    }
    Err(CopyError::DestinationExists)
}

/// Gives up a multipart upload without leaving its parts behind. Best effort: the copy has
/// failed already, and a journalled upload whose abort fails stays journalled, for recovery (or
/// the store's lifecycle rule) to abort.
async fn abandon(mut upload: Box<dyn object_store::MultipartUpload>, dst_path: &Path) {
    if let Err(e) = upload.abort().await {
        tracing::warn!(message = "Cannot abort a failed copy's multipart upload.", path = %dst_path, error = %e);
    }
}

/// Where `path` is on disk when `store` is a local filesystem (object_store's `LocalFileSystem`,
/// which `file://` tiers are), else `None`.
///
/// object_store gives no other way to tell a local store from a `dyn ObjectStore`: this reads
/// the root that its `Display` shows (`LocalFileSystem(file:///srv/cold/)`) and extends it as
/// `LocalFileSystem::path_to_filesystem` does (a test pins both).
pub fn local_file(store: &dyn ObjectStore, path: &Path) -> Option<PathBuf> {
    let shown = store.to_string();
    let root = shown.strip_prefix("LocalFileSystem(")?.strip_suffix(')')?;
    let mut url = url::Url::parse(root).ok()?;
    if url.scheme() != "file" {
        return None;
    }
    url.path_segments_mut()
        .ok()?
        .pop_if_empty()
        .extend(path.parts());
    url.to_file_path().ok()
}

pub(super) async fn verify(
    dst: &Arc<dyn ObjectStore>,
    dst_path: &Path,
    size: u64,
    checksum: &str,
    put_etag: Option<String>,
    md5_etag: &str,
) -> Result<Copied, CopyError> {
    // The store's answer to the write: an MD5 etag equal to the one computed while reading the
    // source proves it stored exactly these bytes (S3 computes it over what it received).
    if put_etag
        .as_deref()
        .map(|e| e.trim_matches('"').to_ascii_lowercase())
        .as_deref()
        == Some(md5_etag)
    {
        return Ok(Copied {
            size,
            checksum: checksum.to_string(),
            dest_etag: put_etag,
            verified_by: "etag",
        });
    }
    let meta = dst.head(dst_path).await.map_err(CopyError::from_store)?;
    if meta.size != size {
        return Err(CopyError::Verify(format!(
            "the destination has {} bytes, expected {size}",
            meta.size
        )));
    }
    let etag = meta.e_tag.clone().or(put_etag);
    let unquoted = etag
        .as_deref()
        .map(|e| e.trim_matches('"').to_ascii_lowercase());
    if unquoted.as_deref() == Some(md5_etag) {
        return Ok(Copied {
            size,
            checksum: checksum.to_string(),
            dest_etag: etag,
            verified_by: "etag",
        });
    }
    let read = read_checksum(dst, dst_path).await?;
    if read.0 != size || read.1 != checksum {
        return Err(CopyError::Verify(format!(
            "read back {} bytes with sha256 {}, expected {size} bytes with sha256 {checksum}",
            read.0, read.1
        )));
    }
    Ok(Copied {
        size,
        checksum: checksum.to_string(),
        dest_etag: etag,
        verified_by: "read-back",
    })
}

/// Streams an object and returns its size and sha256 (hex).
///
/// # Errors
/// Store errors, sorted.
pub async fn read_checksum(
    store: &Arc<dyn ObjectStore>,
    path: &Path,
) -> Result<(u64, String), CopyError> {
    let mut stream = store
        .get(path)
        .await
        .map_err(CopyError::from_store)?
        .into_stream();
    let mut sha = Sha256::new();
    let mut n = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(CopyError::from_store)?;
        sha.update(&chunk);
        n += chunk.len() as u64;
    }
    Ok((n, hex(&sha.finalize())))
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeMap;

    use super::*;
    use crate::config::TierConfig;

    /// A local filesystem tier in `dir`.
    pub(crate) fn file_tier(dir: &std::path::Path) -> Arc<dyn ObjectStore> {
        crate::tier::open_tier(&TierConfig {
            name: "cold".into(),
            url: format!("file://{}", dir.display()),
            min_storage_days: 0,
            options: BTreeMap::new(),
        })
        .unwrap()
    }

    #[tokio::test]
    async fn a_file_tier_object_is_found_on_disk_where_the_store_wrote_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = file_tier(dir.path());
        // Characters a store path keeps as they are, and one it percent-encodes (`%`).
        for key in ["photos/2026/a b.jpg", "photos/café.bin", "photos/100%.txt"] {
            let p = crate::tier::store_path(key);
            store.put(&p, PutPayload::from_static(b"x")).await.unwrap();
            let file = local_file(store.as_ref(), &p).unwrap();
            assert!(
                file.is_file(),
                "{key}: {} is the object's file",
                file.display()
            );
            assert_eq!(std::fs::read(&file).unwrap(), b"x", "{key}");
        }
        let memory: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
        assert_eq!(local_file(memory.as_ref(), &Path::from("photos/a")), None);
    }
}
