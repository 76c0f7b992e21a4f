//! Log sources: what a source string names (a file, a folder, a glob, an object-store prefix, or
//! the bundled samples), the log objects in it in reading order, and how to read one.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use flate2::read::MultiGzDecoder;
use futures::TryStreamExt;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt};
use tokio::runtime::Handle;

use super::IngestError;
use super::verified::Verified;
use crate::tier;

/// The name of the sample logs bundled in the binary, usable wherever a source is.
pub const BUILTIN_SAMPLES: &str = "builtin:samples";

/// The bundled sample logs: one file per format (S3, MinIO, CloudTrail, Ceph).
pub const SAMPLES: [(&str, &[u8]); 4] = [
    (
        "s3-access.log",
        include_bytes!("../../../examples/logs/s3-access.log"),
    ),
    (
        "minio-audit.ndjson",
        include_bytes!("../../../examples/logs/minio-audit.ndjson"),
    ),
    (
        "cloudtrail.json",
        include_bytes!("../../../examples/logs/cloudtrail.json"),
    ),
    (
        "ceph-ops.log",
        include_bytes!("../../../examples/logs/ceph-ops.log"),
    ),
];

/// Stored bytes read from log files and log objects so far, in this process (compressed bytes
/// for gzip): what `tierd simulate`'s progress bar measures against the sources' sizes.
pub static STORED_BYTES_READ: AtomicU64 = AtomicU64::new(0);

/// A reader that adds what passes through it to [`STORED_BYTES_READ`].
struct Counting<R>(R);

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.read(buf)?;
        STORED_BYTES_READ.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Where a log object's bytes are.
#[derive(Debug, Clone)]
pub enum Location {
    File(PathBuf),
    Store {
        store: Arc<dyn ObjectStore>,
        path: StorePath,
    },
    Builtin(&'static [u8]),
}

/// One log file or log object, ready to read.
#[derive(Debug, Clone)]
pub struct LogObject {
    /// The source string it was found under (checkpoints are kept per source).
    pub source: String,
    /// Its printable name: a path, `s3://bucket/key`, or `builtin:samples/NAME`.
    pub name: Arc<str>,
    /// What changes when the object is replaced: a store object's etag, a local file's device
    /// and inode.
    pub identity: String,
    /// Stored size (compressed, for gzip); used to notice a truncated file.
    pub size: u64,
    /// A local file's size and modification time (`size:mtime`), kept with its checkpoint: a
    /// file read to its end whose stamp changes is read on.
    pub stamp: Option<String>,
    /// When a local file's status last changed (its ctime: written, renamed, or its times set),
    /// which no writer can set back: whether a copy or compression may be in progress.
    pub changed: Option<SystemTime>,
    pub location: Location,
}

/// Lists the log objects a source names, in reading order (sorted by name: S3 log objects and
/// rotated files are named by time).
///
/// # Errors
/// A path that does not exist, a glob that is not valid or matches nothing, a store that cannot
/// be listed.
pub fn list(
    source: &str,
    options: &BTreeMap<String, String>,
    rt: &Handle,
) -> Result<Vec<LogObject>, IngestError> {
    if source == BUILTIN_SAMPLES {
        return Ok(SAMPLES
            .iter()
            .map(|(name, bytes)| LogObject {
                source: source.to_string(),
                name: Arc::from(format!("{BUILTIN_SAMPLES}/{name}")),
                identity: format!("builtin:{}", bytes.len()),
                size: bytes.len() as u64,
                stamp: None,
                changed: None,
                location: Location::Builtin(bytes),
            })
            .collect());
    }
    if let Some(path) = source.strip_prefix("file://") {
        return list_local(source, path);
    }
    if source.contains("://") {
        return list_store(source, options, rt);
    }
    list_local(source, source)
}

/// The log objects listed so far in one run, by what each is: a local file by its canonical path,
/// a store object by its URL, a bundled sample by its name. Sources that overlap (a file and
/// the folder or glob that holds it, the same path twice) name some objects twice; each is read
/// once, under the first source that names it.
#[derive(Debug, Default)]
pub struct Listed(HashSet<String>);

impl Listed {
    /// Keeps the objects of `objects` not listed before, and returns the names of the others.
    pub fn keep_new(&mut self, objects: &mut Vec<LogObject>) -> Vec<String> {
        let mut twice = Vec::new();
        objects.retain(|o| {
            let new = self.0.insert(what_it_is(o));
            if !new {
                twice.push(o.name.to_string());
            }
            new
        });
        twice
    }
}

/// What a log object is, whatever name a source gave it.
fn what_it_is(o: &LogObject) -> String {
    match &o.location {
        Location::File(p) => {
            let real = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
            format!("file:{}", real.display())
        }
        Location::Store { .. } | Location::Builtin(_) => o.name.to_string(),
    }
}

fn list_local(source: &str, path: &str) -> Result<Vec<LogObject>, IngestError> {
    let is_glob = path.contains(['*', '?', '[']);
    let mut files = Vec::new();
    if is_glob {
        let paths = glob::glob(path).map_err(|e| IngestError::Source {
            source_name: tier::redact_url(source),
            message: format!("not a valid glob: {e}"),
        })?;
        for p in paths.flatten() {
            if p.is_file() {
                files.push(p);
            }
        }
        if files.is_empty() {
            return Err(IngestError::Source {
                source_name: tier::redact_url(source),
                message: "the glob matches no file".into(),
            });
        }
    } else {
        let p = Path::new(path);
        let meta = std::fs::metadata(p).map_err(|e| IngestError::Source {
            source_name: tier::redact_url(source),
            message: format!("cannot read it: {e}"),
        })?;
        if meta.is_dir() {
            walk(p, &mut files).map_err(|e| IngestError::Source {
                source_name: tier::redact_url(source),
                message: format!("cannot list the folder: {e}"),
            })?;
        } else {
            files.push(p.to_path_buf());
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let meta = std::fs::metadata(&f).map_err(|e| IngestError::Source {
                source_name: tier::redact_url(source),
                message: format!("{}: {e}", f.display()),
            })?;
            use std::os::unix::fs::MetadataExt;
            let changed = u64::try_from(meta.ctime()).ok().map(|s| {
                SystemTime::UNIX_EPOCH
                    + Duration::new(s, meta.ctime_nsec().clamp(0, 999_999_999) as u32)
            });
            Ok(LogObject {
                source: source.to_string(),
                name: Arc::from(f.display().to_string()),
                identity: file_identity(&meta),
                size: meta.len(),
                stamp: Some(format!(
                    "{}:{}.{:09}",
                    meta.len(),
                    meta.mtime(),
                    meta.mtime_nsec()
                )),
                changed,
                location: Location::File(f),
            })
        })
        .collect()
}

/// A local file's identity: its device and inode (a file renamed keeps it; a new file at the
/// same name has another, unless the inode was reused).
fn file_identity(meta: &std::fs::Metadata) -> String {
    use std::os::unix::fs::MetadataExt;
    format!("inode:{}:{}", meta.dev(), meta.ino())
}

/// Whether a listed local file is no longer the one at its path: it was renamed away (nothing
/// there, or another file). A store object or bundled sample never is; a file that cannot be
/// looked at for another reason is left for its read to report.
pub fn replaced_since_listed(obj: &LogObject) -> bool {
    let Location::File(path) = &obj.location else {
        return false;
    };
    match std::fs::metadata(path) {
        Ok(meta) => file_identity(&meta) != obj.identity,
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

/// Files below `dir`, recursively, skipping hidden entries (`.` prefixed: editors' swap files).
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let p = entry.path();
        if entry.file_type()?.is_dir() {
            walk(&p, out)?;
        } else {
            out.push(p);
        }
    }
    Ok(())
}

fn list_store(
    source: &str,
    options: &BTreeMap<String, String>,
    rt: &Handle,
) -> Result<Vec<LogObject>, IngestError> {
    list_opened(source, &open_store(source, options)?, None, rt)
}

/// Whether a source names an object-store prefix (not a local path, `file://` folder or the
/// bundled samples).
pub fn is_store(source: &str) -> bool {
    source.contains("://") && !source.starts_with("file://")
}

/// An object-store source's store, opened once, and the raw prefix it lists.
#[derive(Debug, Clone)]
pub struct OpenedStore {
    pub store: Arc<dyn ObjectStore>,
    /// The key prefix the source names (`photos/`, `logs/2026-`), or empty: the whole bucket.
    pub prefix: String,
}

/// Opens an object-store source's store.
///
/// # Errors
/// The URL or an option is refused, or the store cannot be built.
pub fn open_store(
    source: &str,
    options: &BTreeMap<String, String>,
) -> Result<OpenedStore, IngestError> {
    let loc = tier::open_url(source, options).map_err(|e| IngestError::Source {
        source_name: tier::redact_url(source),
        // The source is named once, by the ingest error.
        message: match e {
            tier::StoreError::Invalid { message, .. } => message,
            other => other.to_string(),
        },
    })?;
    Ok(OpenedStore {
        store: loc.store,
        prefix: loc.listing,
    })
}

/// The name a source gives the object at `key` of its store: `s3://bucket/key`.
pub fn store_object_name(source: &str, key: &str) -> String {
    format!("{}/{key}", split_url(source).0)
}

/// Lists an opened object-store source in key order; with `after`, only the keys after it (S3's
/// `StartAfter`: the objects before it are not listed at all).
///
/// # Errors
/// The store cannot be listed.
pub fn list_opened(
    source: &str,
    opened: &OpenedStore,
    after: Option<&str>,
    rt: &Handle,
) -> Result<Vec<LogObject>, IngestError> {
    let want = opened.prefix.as_str();
    // `photos/` lists that folder; `logs/2026-` lists `logs/` and keeps the names that start
    // so (a sibling `photos-old/` is neither listed nor read). The raw prefix string is kept so
    // that a prefix that is no folder works too.
    let parent = if want.is_empty() {
        None
    } else {
        match want.strip_suffix('/') {
            Some(folder) => Some(tier::store_path(folder)),
            None => want.rsplit_once('/').map(|(d, _)| tier::store_path(d)),
        }
    };
    let store = &opened.store;
    let mut metas = rt
        .block_on(async {
            let listing = match after {
                Some(key) => store.list_with_offset(parent.as_ref(), &tier::store_path(key)),
                None => store.list(parent.as_ref()),
            };
            let all: Vec<_> = listing.try_collect().await?;
            Ok::<_, object_store::Error>(
                all.into_iter()
                    .filter(|m| m.location.as_ref().starts_with(want))
                    .collect::<Vec<_>>(),
            )
        })
        .map_err(|e| IngestError::Source {
            source_name: tier::redact_url(source),
            message: format!("cannot list: {e}"),
        })?;
    metas.sort_by(|a, b| a.location.cmp(&b.location));
    Ok(metas
        .into_iter()
        .map(|m| LogObject {
            source: source.to_string(),
            name: Arc::from(store_object_name(source, m.location.as_ref())),
            identity: m
                .e_tag
                .clone()
                .unwrap_or_else(|| format!("{}:{}", m.size, m.last_modified.timestamp_micros())),
            size: m.size,
            stamp: None,
            changed: None,
            location: Location::Store {
                store: store.clone(),
                path: m.location,
            },
        })
        .collect())
}

/// `s3://bucket/a/b` → (`s3://bucket`, `a/b`).
fn split_url(url: &str) -> (&str, &str) {
    let after = url.find("://").map_or(0, |i| i + 3);
    match url[after..].find('/') {
        Some(i) => (&url[..after + i], &url[after + i + 1..]),
        None => (url, ""),
    }
}

/// An object's content: a local file (read as it streams, in constant memory), or the bytes of
/// an object-store log object or a bundled sample, fetched once (S3 log objects are small) and
/// then used for format detection and reading alike.
#[derive(Debug, Clone)]
pub enum Content {
    File(PathBuf),
    Bytes(Bytes),
}

/// Gets an object's content: nothing is read for a local file; a store object is fetched once.
///
/// # Errors
/// The store object cannot be read.
pub fn content(obj: &LogObject, rt: &Handle) -> Result<Content, IngestError> {
    match &obj.location {
        Location::File(p) => Ok(Content::File(p.clone())),
        Location::Builtin(b) => Ok(Content::Bytes(Bytes::from_static(b))),
        Location::Store { store, path } => rt
            .block_on(async { store.get(path).await?.bytes().await })
            .map(Content::Bytes)
            .map_err(|e| IngestError::Read {
                object: obj.name.to_string(),
                message: e.to_string(),
            }),
    }
}

/// The first `n` stored bytes of an object, as content (a ranged read of a store object, not
/// the whole of it): enough to tell its format and its first lines.
///
/// # Errors
/// The store object cannot be read.
pub fn head_content(obj: &LogObject, rt: &Handle, n: u64) -> Result<Content, IngestError> {
    match &obj.location {
        Location::Store { store, path } => rt
            .block_on(async { store.get_range(path, 0..n.min(obj.size)).await })
            .map(Content::Bytes)
            .map_err(|e| IngestError::Read {
                object: obj.name.to_string(),
                message: e.to_string(),
            }),
        _ => content(obj, rt),
    }
}

fn is_gzip(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b])
}

/// An open log object: decompressed, positioned at `skip` decompressed bytes.
pub struct Opened {
    pub reader: Box<dyn BufRead + Send>,
    pub gzip: bool,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("gzip", &self.gzip)
            .finish_non_exhaustive()
    }
}

impl Content {
    /// Opens the content for reading, decompressing gzip transparently, skipping the first
    /// `skip` decompressed bytes (a checkpoint). `name` is the object's name, for errors. A gzip
    /// member's bytes come only once it was decoded whole and its checksum held
    /// ([`Verified`]): a corrupt member gives none, and its error where it starts.
    ///
    /// # Errors
    /// The file cannot be read, or is shorter than `skip` (it was truncated or replaced).
    pub fn open(&self, name: &str, skip: u64) -> Result<Opened, IngestError> {
        self.open_checked(name, skip, true)
    }

    /// [`Content::open`]; `verify`: a gzip member is checked before its bytes are given.
    fn open_checked(&self, name: &str, skip: u64, verify: bool) -> Result<Opened, IngestError> {
        let read_err = |e: std::io::Error| IngestError::Read {
            object: name.to_string(),
            message: e.to_string(),
        };
        match self {
            Content::File(p) => {
                let mut f = File::open(p).map_err(read_err)?;
                let mut magic = [0u8; 2];
                let n = read_full(&mut f, &mut magic).map_err(read_err)?;
                let gzip = is_gzip(&magic[..n]);
                f.seek(SeekFrom::Start(0)).map_err(read_err)?;
                if gzip {
                    let probe = if verify {
                        Some(Box::new(File::open(p).map_err(read_err)?) as _)
                    } else {
                        None
                    };
                    let mut r = gunzip(Counting(f), probe);
                    skip_bytes(&mut r, skip).map_err(read_err)?;
                    Ok(Opened { reader: r, gzip })
                } else {
                    // Seeked over, not read: a followed file's old bytes are not counted again.
                    f.seek(SeekFrom::Start(skip)).map_err(read_err)?;
                    Ok(Opened {
                        reader: Box::new(BufReader::with_capacity(1 << 16, Counting(f))),
                        gzip,
                    })
                }
            }
            Content::Bytes(bytes) => {
                let gzip = is_gzip(bytes);
                let cursor = Counting(Cursor::new(bytes.clone()));
                let mut r: Box<dyn BufRead + Send> = if gzip {
                    let probe = verify.then(|| Box::new(Cursor::new(bytes.clone())) as _);
                    gunzip(cursor, probe)
                } else {
                    Box::new(BufReader::with_capacity(1 << 16, cursor))
                };
                skip_bytes(&mut r, skip).map_err(read_err)?;
                Ok(Opened { reader: r, gzip })
            }
        }
    }

    /// The first `n` decompressed bytes, to detect the format; of a gzip stream that breaks
    /// sooner, the bytes before the break, and the break. Unchecked (no event is read from
    /// them): checking a member means decoding it whole, and a head is a small part of one.
    ///
    /// # Errors
    /// See [`Content::open`]; a read error that is not a damaged gzip stream.
    pub fn head(&self, name: &str, n: usize) -> Result<Head, IngestError> {
        let mut opened = self.open_checked(name, 0, false)?;
        let mut bytes = Vec::with_capacity(n);
        let damage =
            read_until_break(&mut opened, &mut bytes, n as u64).map_err(|e| IngestError::Read {
                object: name.to_string(),
                message: e.to_string(),
            })?;
        Ok(Head {
            bytes,
            damage,
            gzip: opened.gzip,
        })
    }

    /// The content as a local Parquet path (bytes go to a temporary file, removed on drop).
    ///
    /// # Errors
    /// The temporary file cannot be written.
    pub fn local_parquet(
        &self,
        name: &str,
    ) -> Result<(PathBuf, Option<tempfile::TempPath>), IngestError> {
        match self {
            Content::File(p) => Ok((p.clone(), None)),
            Content::Bytes(bytes) => {
                let tmp = tempfile::NamedTempFile::new()
                    .and_then(|mut t| std::io::Write::write_all(&mut t, bytes).map(|()| t))
                    .map_err(|e| IngestError::Read {
                        object: name.to_string(),
                        message: e.to_string(),
                    })?;
                let path = tmp.into_temp_path();
                Ok((path.to_path_buf(), Some(path)))
            }
        }
    }
}

/// The first bytes of a log object, decompressed (see [`Content::head`]).
#[derive(Debug)]
pub struct Head {
    pub bytes: Vec<u8>,
    /// Where a gzip stream broke within the head: `bytes` is what was decoded before it.
    pub damage: Option<std::io::Error>,
    /// The object is gzip-compressed.
    pub gzip: bool,
}

/// Whether a read error of a gzip stream says the stream is damaged (cut short, corrupt, or
/// followed by bytes that are no gzip member), rather than that the file beneath could not be
/// read. flate2 reports damage as `UnexpectedEof` (cut short) or `InvalidInput` (corrupt).
pub fn is_gzip_damage(e: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        e.kind(),
        ErrorKind::UnexpectedEof | ErrorKind::InvalidInput | ErrorKind::InvalidData
    )
}

/// Reads at most `max` more bytes of `opened` into `buf`: to its end, or, for a gzip stream, to
/// where it breaks, which is returned (the bytes decoded before the break are in `buf`).
///
/// # Errors
/// A read error that is not a damaged gzip stream: the file itself cannot be read.
pub fn read_until_break(
    opened: &mut Opened,
    buf: &mut Vec<u8>,
    max: u64,
) -> std::io::Result<Option<std::io::Error>> {
    match Read::by_ref(&mut opened.reader).take(max).read_to_end(buf) {
        Ok(_) => Ok(None),
        Err(e) if opened.gzip && is_gzip_damage(&e) => Ok(Some(e)),
        Err(e) => Err(e),
    }
}

/// How long a local gzip file that ends before its stream does must have been left unchanged
/// to be taken as cut short rather than still being written (by `gzip`, or logrotate's
/// `compress`, which write a stream continuously and its trailer last).
pub const GZIP_WRITE_QUIET: Duration = Duration::from_secs(60);

/// Whether a local file may still be being written: its size changed since it was listed, or it
/// was modified less than [`GZIP_WRITE_QUIET`] ago (or, by a clock ahead of this one, in the
/// future). An object-store object or a bundled sample never is: they are written whole.
pub fn may_still_be_written(obj: &LogObject) -> bool {
    let Location::File(path) = &obj.location else {
        return false;
    };
    // A file that cannot be looked at now (it was just rotated away) is not being written here.
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    if meta.len() != obj.size {
        return true;
    }
    meta.modified()
        .is_ok_and(|m| match SystemTime::now().duration_since(m) {
            Ok(age) => age < GZIP_WRITE_QUIET,
            Err(_) => true,
        })
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn skip_bytes(r: &mut Box<dyn BufRead + Send>, skip: u64) -> std::io::Result<()> {
    if skip == 0 {
        return Ok(());
    }
    let copied = std::io::copy(&mut r.take(skip), &mut std::io::sink())?;
    if copied < skip {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("it is shorter ({copied} bytes) than its checkpoint ({skip} bytes)"),
        ));
    }
    Ok(())
}

/// The decoded bytes of the gzip stream `compressed`; with a `probe` (a second reader of the same
/// compressed bytes), each member's only once its checksum held ([`Verified`]).
fn gunzip(
    compressed: impl Read + Send + 'static,
    probe: Option<Box<dyn Read + Send>>,
) -> Box<dyn BufRead + Send> {
    let main = MultiGzDecoder::new(compressed);
    let decoded: Box<dyn Read + Send> = match probe {
        Some(probe) => Box::new(Verified::new(main, probe)),
        None => Box::new(main),
    };
    Box::new(BufReader::with_capacity(1 << 16, decoded))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stored_byte_read_is_counted_plain_or_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let text = "a line of a log\n".repeat(10_000);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, text.as_bytes()).unwrap();
        let gz = gz.finish().unwrap();
        for (name, bytes) in [("plain.log", text.as_bytes().to_vec()), ("log.gz", gz)] {
            let path = dir.path().join(name);
            std::fs::write(&path, &bytes).unwrap();
            let before = STORED_BYTES_READ.load(Ordering::Relaxed);
            let mut opened = Content::File(path).open(name, 0).unwrap();
            let mut out = String::new();
            opened.reader.read_to_string(&mut out).unwrap();
            assert_eq!(out, text, "{name}");
            // Other tests read logs at the same time: at least this file's stored bytes.
            let counted = STORED_BYTES_READ.load(Ordering::Relaxed) - before;
            assert!(
                counted >= bytes.len() as u64,
                "{name}: {counted} of {}",
                bytes.len()
            );
        }
    }

    #[test]
    fn an_object_named_by_two_sources_is_kept_once_under_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        std::fs::create_dir(&logs).unwrap();
        for f in ["a.log", "b.log"] {
            std::fs::write(logs.join(f), "x\n").unwrap();
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let a = logs.join("a.log").display().to_string();
        // The same file by another path, its folder, a glob, and the bundled samples twice.
        let dotted = format!("{}/./a.log", logs.display());
        let glob = format!("{}/*.log", logs.display());
        let mut listed = Listed::default();
        let mut kept = Vec::new();
        let mut twice = Vec::new();
        let folder = logs.display().to_string();
        let sources = [
            a.as_str(),
            dotted.as_str(),
            folder.as_str(),
            glob.as_str(),
            BUILTIN_SAMPLES,
            BUILTIN_SAMPLES,
        ];
        for src in sources {
            let mut objects = list(src, &BTreeMap::new(), rt.handle()).unwrap();
            twice.extend(listed.keep_new(&mut objects));
            kept.extend(objects.iter().map(|o| o.name.to_string()));
        }
        let b = logs.join("b.log").display().to_string();
        let samples: Vec<String> = SAMPLES
            .iter()
            .map(|(n, _)| format!("{BUILTIN_SAMPLES}/{n}"))
            .collect();
        let mut want = vec![a.clone(), b.clone()];
        want.extend(samples.iter().cloned());
        assert_eq!(kept, want);
        // The folder and the glob name a.log again, and the glob b.log.
        let mut want = vec![dotted, a.clone(), a, b];
        want.extend(samples);
        assert_eq!(twice, want);
    }

    #[test]
    fn split_url_separates_bucket_and_key() {
        assert_eq!(split_url("s3://logs/a/b.log"), ("s3://logs", "a/b.log"));
        assert_eq!(split_url("s3://logs"), ("s3://logs", ""));
    }
}
