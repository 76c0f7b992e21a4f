//! Ingest: log sources → normalised [`AccessEvent`]s, with checkpoints and bad-line accounting.
//!
//! [`run`] lists every source's log objects in order, detects each one's format (or uses the
//! one given), reads it (gzip transparently; local files stream in constant memory), hands
//! events on in batches, and counts every malformed line with its `file:line` and reason
//! without stopping. With a journal, each object's progress is checkpointed after its events
//! were handed on, so a restart neither skips nor double-counts.
//!
//! `run` is synchronous (parsing is CPU work); object-store reads block on the given runtime
//! handle, so call it from `spawn_blocking` or a plain thread.

mod source;
pub mod summary;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::sync::Arc;

use models::parse::{self, Format, cloudtrail};
use models::{AccessEvent, Origin, frame};
use tokio::runtime::Handle;

use crate::journal::checkpoints::Checkpoint;
use crate::journal::{Journal, JournalError};
pub use source::{BUILTIN_SAMPLES, Content, LogObject, SAMPLES, STORED_BYTES_READ, list};

/// Ingest errors: a source or object that cannot be read at all. (A bad *line* is not an error.)
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    #[error("{source_name}: {message}")]
    Source {
        source_name: String,
        message: String,
    },
    #[error("{object}: {message}")]
    Read { object: String, message: String },
    #[error(
        "{object}: cannot tell the log format from its first lines; name it with --format (one of: s3, minio, cloudtrail, ceph, ndjson, parquet)"
    )]
    UnknownFormat { object: String },
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("{0}")]
    Consumer(String),
}

/// One malformed line: where, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BadLine {
    pub file: Arc<str>,
    pub line: u64,
    pub reason: String,
}

impl std::fmt::Display for BadLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

/// How to ingest.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// `None`: detect each object's format from its content.
    pub format: Option<Format>,
    /// Store options for object-store sources (`endpoint`, `region`, ...).
    pub store_options: BTreeMap<String, String>,
    /// How many bad lines to keep with their text (all are counted).
    pub bad_lines_kept: usize,
    /// Events per batch handed to the consumer.
    pub batch_size: usize,
    /// Plain local files may still grow (a log being written): leave a last line that has no
    /// newline yet for the next pass, and never mark such a file complete.
    pub follow: bool,
    /// An object that cannot be read (corrupt gzip, vanished, unknown format) is reported in
    /// [`IngestReport::unreadable`] and the run goes on with the next one, instead of stopping.
    /// Its checkpoint keeps what was read of it, so the next run retries it from there. The
    /// service sets this: one bad log object must not stop every later one from being read.
    pub keep_going: bool,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            format: None,
            store_options: BTreeMap::new(),
            bad_lines_kept: 10,
            batch_size: 8192,
            follow: false,
            keep_going: false,
        }
    }
}

/// What one run read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Objects read (in part or whole).
    pub objects: u64,
    /// Objects skipped because their checkpoint says they were read completely.
    pub objects_skipped: u64,
    pub events: u64,
    pub bytes: u64,
    pub bad_lines: u64,
    /// The first `bad_lines_kept` bad lines.
    pub bad_lines_shown: Vec<BadLine>,
    /// Events per detected format.
    pub formats: BTreeMap<&'static str, u64>,
    /// With [`IngestOptions::keep_going`]: the objects that could not be read, and why.
    pub unreadable: Vec<String>,
}

/// The longest bad-line reason kept whole: a reason may quote the value it refuses, and that value
/// may be a 1 MB key; the rest is left out, and the reason says how many bytes.
pub const MAX_REASON_SHOWN: usize = 512;

impl IngestReport {
    /// Counts one bad line, and keeps it (its reason cut to [`MAX_REASON_SHOWN`]) while fewer
    /// than `keep` are kept.
    fn bad(&mut self, keep: usize, mut b: BadLine) {
        self.bad_lines += 1;
        if self.bad_lines_shown.len() < keep {
            if let Cow::Owned(cut) = policies::diag::shown_cut(&b.reason, MAX_REASON_SHOWN) {
                b.reason = cut;
            }
            self.bad_lines_shown.push(b);
        }
    }
}

/// Reads every source in order and hands events to `consumer` in batches.
///
/// With `journal`, objects already read completely are skipped, a partly read one resumes at its
/// checkpoint, and each object's checkpoint is saved after `consumer` accepted its last batch.
///
/// # Errors
/// A source that cannot be listed, an object that cannot be read or whose format is unknown, a
/// journal error, or an error returned by `consumer`. Malformed lines are never errors.
pub fn run(
    sources: &[String],
    opts: &IngestOptions,
    rt: &Handle,
    mut journal: Option<&mut Journal>,
    consumer: &mut dyn FnMut(Vec<AccessEvent>) -> Result<(), String>,
) -> Result<IngestReport, IngestError> {
    let mut report = IngestReport::default();
    for src in sources {
        for obj in source::list(src, &opts.store_options, rt)? {
            let cp = match journal.as_deref_mut() {
                Some(j) => j.checkpoint(&obj.source, &obj.name)?,
                None => None,
            };
            let start = match cp {
                Some(cp) if cp.identity == obj.identity && cp.complete => {
                    report.objects_skipped += 1;
                    continue;
                }
                // A followed file that has not grown since: nothing to read, not even its head
                // (its checkpoint is a stored offset; a gzip file's is a decompressed one, which
                // is not its stored size, and a gzip file is read whole anyway).
                Some(cp)
                    if cp.identity == obj.identity
                        && cp.bytes_done == obj.size
                        && matches!(obj.location, source::Location::File(_)) =>
                {
                    report.objects_skipped += 1;
                    continue;
                }
                Some(cp) if cp.identity == obj.identity => (cp.bytes_done, cp.lines_done),
                _ => (0, 0),
            };
            let mut done = Done {
                bytes_done: start.0,
                lines_done: start.1,
                complete: false,
            };
            let follow = journal.is_some();
            let outcome = read_object(&obj, follow, &mut done, opts, rt, &mut report, consumer);
            // What the consumer accepted is checkpointed even when the object failed part way:
            // those events were delivered, and reading them again would count them twice.
            // A batch the consumer refused was not delivered: no checkpoint past it.
            let progressed = match &outcome {
                Ok(()) => true,
                Err(IngestError::Consumer(_)) => false,
                Err(_) => (done.bytes_done, done.lines_done) != start,
            };
            if let (Some(j), true) = (journal.as_deref_mut(), progressed) {
                j.save_checkpoints(&[Checkpoint {
                    source: obj.source.clone(),
                    object: obj.name.to_string(),
                    identity: obj.identity.clone(),
                    bytes_done: done.bytes_done,
                    lines_done: done.lines_done,
                    complete: done.complete,
                }])?;
            }
            match outcome {
                Ok(()) => {}
                Err(
                    e @ (IngestError::Read { .. }
                    | IngestError::UnknownFormat { .. }
                    | IngestError::Source { .. }),
                ) if opts.keep_going => report.unreadable.push(e.to_string()),
                Err(e) => return Err(e),
            }
        }
    }
    Ok(report)
}

/// How far an object has been read: updated line by line, so that a failure part way still
/// says what was delivered.
struct Done {
    bytes_done: u64,
    lines_done: u64,
    complete: bool,
}

/// Reads one log object from `done`; `follow`: checkpoints are kept, so a local file is followed
/// as it grows (an empty one, or one whose first line is unfinished, is read at a later pass).
fn read_object(
    obj: &LogObject,
    follow: bool,
    done: &mut Done,
    opts: &IngestOptions,
    rt: &Handle,
    report: &mut IngestReport,
    consumer: &mut dyn FnMut(Vec<AccessEvent>) -> Result<(), String>,
) -> Result<(), IngestError> {
    // Fetched once: detection and reading share it (a local file streams instead).
    let content = source::content(obj, rt)?;
    let format = match opts.format {
        Some(f) => f,
        None => {
            let head = content.head(&obj.name, 64 * 1024)?;
            let following = follow && matches!(obj.location, source::Location::File(_));
            // A followed file whose first line is still being written: its format is told
            // once the line is whole, at a later pass.
            let first_line_unfinished = following && !head.contains(&b'\n');
            if head.iter().all(u8::is_ascii_whitespace)
                || (first_line_unfinished && parse::detect(&head).is_none())
            {
                // An empty log object (S3 writes none): nothing to do. An empty file is a log
                // just rotated in (logrotate's `create`): it is followed, and read once it grows.
                report.objects += 1;
                *done = Done {
                    bytes_done: 0,
                    lines_done: 0,
                    complete: !following,
                };
                return Ok(());
            }
            parse::detect(&head).ok_or_else(|| IngestError::UnknownFormat {
                object: obj.name.to_string(),
            })?
        }
    };
    report.objects += 1;
    let mut batch = Vec::with_capacity(opts.batch_size);
    let before = report.events;
    let read = match format {
        Format::Parquet => {
            let (path, _tmp) = content.local_parquet(&obj.name)?;
            let mut err = None;
            // A bad row is located in the file read (its row, from 1), and says where the event
            // was first read from.
            let mut row = 0u64;
            frame::read_parquet_batches(&path, opts.batch_size, |mut events| {
                events.retain(|e| {
                    row += 1;
                    match e.implausible() {
                        None => true,
                        Some(reason) => {
                            let bad = BadLine {
                                file: obj.name.clone(),
                                line: row,
                                reason: format!(
                                    "row {row}: {reason} (an event first read from {}:{})",
                                    e.origin.file, e.origin.line
                                ),
                            };
                            report.bad(opts.bad_lines_kept, bad);
                            false
                        }
                    }
                });
                report.events += events.len() as u64;
                consumer(events).map_err(|e| {
                    err = Some(e.clone());
                    models::Error::Schema(e)
                })
            })
            .map_err(|e| match err.take() {
                Some(c) => IngestError::Consumer(c),
                None => IngestError::Read {
                    object: obj.name.to_string(),
                    message: e.to_string(),
                },
            })?;
            *done = Done {
                bytes_done: 0,
                lines_done: 0,
                complete: true,
            };
            Ok(())
        }
        Format::Cloudtrail => {
            let mut opened = content.open(&obj.name, 0)?;
            // Bytes, not text: a byte that is not UTF-8 costs its record, not the file.
            let mut bytes = Vec::new();
            let n = opened
                .reader
                .read_to_end(&mut bytes)
                .map_err(|e| IngestError::Read {
                    object: obj.name.to_string(),
                    message: e.to_string(),
                })?;
            report.bytes += n as u64;
            match cloudtrail::parse_document_bytes(&bytes) {
                Ok(records) => {
                    for r in records {
                        match r.result {
                            Ok(Some(mut e)) => {
                                e.origin = Origin {
                                    file: obj.name.clone(),
                                    line: r.line,
                                };
                                push(&mut batch, e, opts, report, consumer)?;
                            }
                            Ok(None) => {}
                            Err(reason) => report.bad(
                                opts.bad_lines_kept,
                                BadLine {
                                    file: obj.name.clone(),
                                    line: r.line,
                                    reason,
                                },
                            ),
                        }
                    }
                }
                Err((line, reason)) => report.bad(
                    opts.bad_lines_kept,
                    BadLine {
                        file: obj.name.clone(),
                        line,
                        reason,
                    },
                ),
            }
            *done = Done {
                bytes_done: n as u64,
                lines_done: (bytes.iter().filter(|b| **b == b'\n').count()
                    + usize::from(!bytes.is_empty() && !bytes.ends_with(b"\n")))
                    as u64,
                complete: true,
            };
            Ok(())
        }
        line_format => content
            .open(&obj.name, done.bytes_done)
            .and_then(|mut opened| {
                read_lines(
                    obj,
                    line_format,
                    &mut *opened.reader,
                    done,
                    opts,
                    report,
                    &mut batch,
                    consumer,
                )
            }),
    };
    // The lines read before a failure are delivered: `done` already counts them.
    if !batch.is_empty() {
        consumer(std::mem::take(&mut batch)).map_err(IngestError::Consumer)?;
    }
    *report.formats.entry(format.as_str()).or_default() += report.events - before;
    read
}

fn push(
    batch: &mut Vec<AccessEvent>,
    e: AccessEvent,
    opts: &IngestOptions,
    report: &mut IngestReport,
    consumer: &mut dyn FnMut(Vec<AccessEvent>) -> Result<(), String>,
) -> Result<(), IngestError> {
    if let Some(reason) = e.implausible() {
        report.bad(opts.bad_lines_kept, bad_event(&e, reason));
        return Ok(());
    }
    report.events += 1;
    batch.push(e);
    if batch.len() >= opts.batch_size {
        let full = std::mem::replace(batch, Vec::with_capacity(opts.batch_size));
        consumer(full).map_err(IngestError::Consumer)?;
    }
    Ok(())
}

/// The longest log line read (1 MiB): a record is a few hundred bytes (an S3 access log line) to
/// tens of KB (a MinIO audit entry with its headers); a longer line is a corrupt file, and
/// reading it whole would take as much memory as it is long.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Reads one line into `buf`, keeping at most `max` bytes of it: returns the bytes consumed
/// (the whole line, newline included, however long), whether it ended with a newline, and
/// whether it was longer than `max` (then `buf` holds only its start, and the rest was read
/// past without being kept).
fn read_line_capped(
    reader: &mut dyn BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<(usize, bool, bool)> {
    let (mut n, mut cut) = (0usize, false);
    loop {
        let chunk = match reader.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok((n, false, cut));
        }
        let (take, ends) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = max.saturating_sub(buf.len());
        if take > room {
            cut = true;
        }
        buf.extend_from_slice(&chunk[..take.min(room)]);
        reader.consume(take);
        n += take;
        if ends {
            return Ok((n, true, cut));
        }
    }
}

/// The bad line an implausible event came from (see [`AccessEvent::implausible`]).
fn bad_event(e: &AccessEvent, reason: String) -> BadLine {
    BadLine {
        file: e.origin.file.clone(),
        line: e.origin.line,
        reason,
    }
}

#[allow(clippy::too_many_arguments)]
fn read_lines(
    obj: &LogObject,
    format: Format,
    reader: &mut dyn BufRead,
    done: &mut Done,
    opts: &IngestOptions,
    report: &mut IngestReport,
    batch: &mut Vec<AccessEvent>,
    consumer: &mut dyn FnMut(Vec<AccessEvent>) -> Result<(), String>,
) -> Result<(), IngestError> {
    let mut buf = Vec::with_capacity(1024);
    let growing = opts.follow && matches!(obj_kind(obj), ObjKind::GrowingFile);
    loop {
        buf.clear();
        let (n, whole, cut) =
            read_line_capped(reader, &mut buf, MAX_LINE_BYTES).map_err(|e| IngestError::Read {
                object: obj.name.to_string(),
                // Where it broke (a gzip stream cut short, a read error): the lines before
                // were read.
                message: format!("{e} (after line {})", done.lines_done),
            })?;
        if n == 0 {
            break;
        }
        if !whole && growing {
            // A local file being appended to: its last line may be half-written. Leave it for
            // the next pass; the checkpoint stays before it.
            break;
        }
        done.bytes_done += n as u64;
        done.lines_done += 1;
        let line_no = done.lines_done;
        report.bytes += n as u64;
        if cut {
            report.bad(
                opts.bad_lines_kept,
                BadLine {
                    file: obj.name.clone(),
                    line: line_no,
                    reason: format!(
                        "{n} bytes long, more than the {} MiB a log line may have; skipped unread",
                        MAX_LINE_BYTES >> 20
                    ),
                },
            );
            continue;
        }
        let mut line = &buf[..];
        while let [rest @ .., b'\n' | b'\r'] = line {
            line = rest;
        }
        let text = match std::str::from_utf8(line) {
            Ok(t) => t,
            Err(e) => {
                report.bad(
                    opts.bad_lines_kept,
                    BadLine {
                        file: obj.name.clone(),
                        line: line_no,
                        reason: format!("not valid UTF-8 (byte {})", e.valid_up_to() + 1),
                    },
                );
                continue;
            }
        };
        // One line gives one event, except Ceph's, which can hold several entries under load
        // ({...}{...}); every outcome is handled the same way.
        let mut handle = |outcome: Result<Option<AccessEvent>, String>,
                          report: &mut IngestReport,
                          batch: &mut Vec<AccessEvent>|
         -> Result<(), IngestError> {
            match outcome {
                Ok(Some(mut e)) => {
                    // tierd's own export keeps the origin it was exported with.
                    if e.origin.file.is_empty() || format != Format::Ndjson {
                        e.origin = Origin {
                            file: obj.name.clone(),
                            line: line_no,
                        };
                    }
                    push(batch, e, opts, report, consumer)
                }
                Ok(None) => Ok(()),
                Err(reason) => {
                    report.bad(
                        opts.bad_lines_kept,
                        BadLine {
                            file: obj.name.clone(),
                            line: line_no,
                            reason,
                        },
                    );
                    Ok(())
                }
            }
        };
        if format == Format::Ceph {
            match parse::ceph::parse_entries(text) {
                Ok(entries) => {
                    for entry in entries {
                        handle(entry.map(Some), report, batch)?;
                    }
                }
                Err(reason) => handle(Err(reason), report, batch)?,
            }
        } else {
            handle(parse::parse_line(format, text), report, batch)?;
        }
    }
    done.complete = !growing;
    Ok(())
}

enum ObjKind {
    /// A plain local file: it may still grow (an audit log being written).
    GrowingFile,
    /// An object-store object, a gzip file, or a bundled sample: sealed.
    Sealed,
}

fn obj_kind(obj: &LogObject) -> ObjKind {
    match &obj.location {
        source::Location::File(p) if p.extension().is_none_or(|e| e != "gz") => {
            ObjKind::GrowingFile
        }
        _ => ObjKind::Sealed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// A tierd NDJSON event line whose key names its number.
    fn log_line(i: usize) -> String {
        format!(
            r#"{{"time":"2026-11-01T10:00:00Z","op":"get","operation":"REST.GET.OBJECT","bucket":"b","key":"logs/{i:06}"}}"#
        )
    }

    /// One ingest run over `source` with the journal at `db`: the events handed on, and the
    /// report.
    fn ingest(source: &Path, db: &Path, opts: &IngestOptions) -> (Vec<AccessEvent>, IngestReport) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut journal = Journal::open(db).unwrap();
        let mut events = Vec::new();
        let report = run(
            &[source.display().to_string()],
            opts,
            rt.handle(),
            Some(&mut journal),
            &mut |batch| {
                events.extend(batch);
                Ok(())
            },
        )
        .unwrap();
        (events, report)
    }

    #[test]
    fn a_bad_line_reason_quoting_a_1_mb_key_is_cut_to_512_bytes_and_says_how_much_is_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let key = "k".repeat(1_000_000);
        let huge = format!(r#"{{"{key}":1,"time":"2026-11-01T10:00:00Z"}}"#);
        let log = dir.path().join("events.ndjson");
        std::fs::write(&log, format!("{}\n{huge}\n", log_line(0))).unwrap();
        let (events, report) = ingest(&log, &dir.path().join("j.db"), &IngestOptions::default());
        assert_eq!((events.len(), report.bad_lines), (1, 1));
        let whole = parse::parse_line(Format::Ndjson, &huge).unwrap_err();
        assert!(whole.len() > 1_000_000, "the parser quotes the key whole");
        let shown = &report.bad_lines_shown[0];
        assert_eq!(shown.line, 2);
        assert_eq!(
            shown.reason,
            format!(
                "{}... ({} more bytes not shown)",
                &whole[..MAX_REASON_SHOWN],
                whole.len() - MAX_REASON_SHOWN
            )
        );
        assert!(
            shown
                .reason
                .starts_with("not a tierd event: unknown field `kkk")
        );
        assert!(shown.reason.len() < MAX_REASON_SHOWN + 40);
    }

    #[test]
    fn a_line_longer_than_the_cap_is_read_past_and_kept_only_in_part() {
        let text = format!("short\n{}\nnext\nlast", "x".repeat(100));
        // A small buffer, so that the long line spans several fills.
        let mut r = std::io::BufReader::with_capacity(8, text.as_bytes());
        let mut buf = Vec::new();
        let mut lines = Vec::new();
        loop {
            buf.clear();
            let (n, whole, cut) = read_line_capped(&mut r, &mut buf, 10).unwrap();
            if n == 0 {
                break;
            }
            lines.push((String::from_utf8(buf.clone()).unwrap(), n, whole, cut));
        }
        assert_eq!(
            lines,
            vec![
                ("short\n".to_string(), 6, true, false),
                ("x".repeat(10), 101, true, true),
                ("next\n".to_string(), 5, true, false),
                ("last".to_string(), 4, false, false),
            ]
        );
    }
}
