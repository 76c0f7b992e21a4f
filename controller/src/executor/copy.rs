//! The streaming, verified copy at the heart of a move: read the exact source version, write the
//! destination without ever replacing an existing object, hash on the way, verify after.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use md5::{Digest as _, Md5};
use object_store::path::Path;
use object_store::{GetOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use sha2::Sha256;

use super::limits::Limits;

/// Why a copy did not happen. `Transient` ones are retried.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("the source changed or vanished since the move began ({0})")]
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
        match e {
            E::NotFound { .. } | E::Precondition { .. } => CopyError::SourceChanged(e.to_string()),
            E::AlreadyExists { .. } => CopyError::DestinationExists,
            E::NotSupported { .. }
            | E::NotImplemented { .. }
            | E::PermissionDenied { .. }
            | E::Unauthenticated { .. } => CopyError::Permanent(e.to_string()),
            other => CopyError::Transient(other.to_string()),
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

/// Copies `src` (exactly the `version` expected: its etag when given, and its size) to `dst`,
/// which must not exist.
///
/// Memory is bounded by one part (or the multipart threshold). The content's sha256 is computed
/// while streaming; the destination is verified by its S3-style MD5 etag when the backend gives
/// one that matches, otherwise by reading it back and comparing sha256 and size.
///
/// # Errors
/// [`CopyError::SourceChanged`] when the source is not the expected version,
/// [`CopyError::DestinationExists`], [`CopyError::Verify`], or a store error sorted by
/// [`CopyError::from_store`]. A failed multipart upload is aborted.
pub async fn copy_verified(
    src: &Arc<dyn ObjectStore>,
    src_path: &Path,
    version: Version<'_>,
    dst: &Arc<dyn ObjectStore>,
    dst_path: &Path,
    tuning: CopyTuning,
    limits: &Limits,
) -> Result<Copied, CopyError> {
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
                // Either someone else's object (refuse), or this very copy, written by an
                // earlier attempt whose answer was lost (the same bytes: carry on).
                let (n, sum) = read_checksum(dst, dst_path).await?;
                if n == size && sum == checksum {
                    return Ok(Copied {
                        size,
                        checksum,
                        dest_etag: None,
                        verified_by: "already present",
                    });
                }
                return Err(CopyError::DestinationExists);
            }
            Err(e) => return Err(CopyError::from_dest_store(e)),
        };
        return verify(dst, dst_path, size, &checksum, put.e_tag, &md5_etag).await;
    }

    // Large object: refuse an existing destination up front (multipart has no create-only mode).
    match dst.head(dst_path).await {
        Ok(_) => return Err(CopyError::DestinationExists),
        Err(object_store::Error::NotFound { .. }) => {}
        Err(e) => return Err(CopyError::from_store(e)),
    }
    let mut upload = dst
        .put_multipart(dst_path)
        .await
        .map_err(CopyError::from_dest_store)?;
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
        let _ = upload.abort().await;
        return Err(e);
    }
    if size != expected_size {
        let _ = upload.abort().await;
        return Err(CopyError::SourceChanged(format!(
            "read {size} bytes, expected {expected_size}"
        )));
    }
    let put = upload
        .complete()
        .await
        .map_err(CopyError::from_dest_store)?;
    let md5_etag = format!("{}-{parts}", hex(&Md5::digest(&part_md5s)));
    let checksum = hex(&sha.finalize());
    verify(dst, dst_path, size, &checksum, put.e_tag, &md5_etag).await
}

async fn verify(
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
