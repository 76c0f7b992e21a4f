//! Ingest: log sources → normalised [`AccessEvent`]s, with checkpoints and bad-line accounting.
//!
//! [`run`] lists every source's log objects in order, detects each one's format (or uses the
//! one given), reads it (gzip transparently; local files stream in constant memory), hands
//! events on in batches, and counts every malformed line with its `file:line` and reason
//! without stopping. A gzip stream that is damaged (cut short, corrupt, or followed by bytes that
//! are no gzip member) gives the lines before the break, and the break is one bad line. With a
//! journal, each object's progress is checkpointed after its events were handed on, so a restart
//! neither skips nor double-counts; a local file is known by its content as well as its name, so
//! a log rotated by renaming (and compressing) it keeps its checkpoint (see `resume`).
//!
//! The service keeps [`Listings`] from one cycle to the next ([`run_with`]): an object-store
//! source is then listed whole only now and then, and after what was read of it in between;
//! checkpoints of log objects that are gone are forgotten (see `listings`).
//!
//! `run` is synchronous (parsing is CPU work); object-store reads block on the given runtime
//! handle, so call it from `spawn_blocking` or a plain thread.

mod listings;
pub mod merge;
mod resume;
mod source;
pub mod summary;
#[cfg(test)]
mod testing;
mod verified;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::sync::Arc;
use std::time::SystemTime;

use models::parse::{self, Format, cloudtrail};
use models::{AccessEvent, Origin, frame};
use tokio::runtime::Handle;

use crate::journal::checkpoints::Checkpoint;
use crate::journal::{Journal, JournalError};
pub use listings::{FORGET_PER_PASS, FULL_LISTING_EVERY, Listings};
pub use source::{
    BUILTIN_SAMPLES, Content, Listed, LogObject, SAMPLES, STORED_BYTES_READ, content, head_content,
    list,
};

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

impl IngestError {
    /// Whether the error costs one log object only (it cannot be read, or its format told):
    /// with [`IngestOptions::keep_going`], the run lists it and goes on.
    pub fn costs_one_object(&self) -> bool {
        matches!(
            self,
            IngestError::Read { .. }
                | IngestError::UnknownFormat { .. }
                | IngestError::Source { .. }
        )
    }
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
    /// newline yet for the next pass, and never mark such a file complete. A local gzip file
    /// that ends before its stream does, and changed in the last minute, is being written
    /// (logrotate's `compress`): what was read is kept and the rest is read at the next pass,
    /// instead of the break being counted as damage.
    pub follow: bool,
    /// An object that cannot be read (a gzip file damaged before its format could be told, a
    /// vanished object, an unknown format) is reported in [`IngestReport::unreadable`] and the
    /// run goes on with the next one, instead of stopping. Its checkpoint keeps what was read of
    /// it, so the next run retries it from there. The service sets this: one bad log object must
    /// not stop every later one from being read.
    pub keep_going: bool,
    /// Checkpoints are not saved but handed back in [`IngestReport::checkpoints`], for the
    /// caller to save once what it made of the events is saved: the service saves the access
    /// history first, so that a crash between the two reads events again (counted twice in the
    /// history) rather than forgets them (a read object taken for an idle one). Starting
    /// points are still read from the journal.
    pub defer_checkpoints: bool,
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
            defer_checkpoints: false,
        }
    }
}

/// What one run read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Objects read (in part or whole).
    pub objects: u64,
    /// Objects skipped because their checkpoint says they were read completely (or, followed,
    /// that they have not grown).
    pub objects_skipped: u64,
    /// Objects left for a later pass: a copy or compression of a file still being read may be in
    /// progress, or the file was renamed away while the run listed it.
    pub objects_waiting: u64,
    pub events: u64,
    pub bytes: u64,
    pub bad_lines: u64,
    /// The first `bad_lines_kept` bad lines.
    pub bad_lines_shown: Vec<BadLine>,
    /// Events per detected format.
    pub formats: BTreeMap<&'static str, u64>,
    /// With [`IngestOptions::keep_going`]: the sources that could not be listed and the
    /// objects that could not be read, and why.
    pub unreadable: Vec<String>,
    /// With [`IngestOptions::defer_checkpoints`]: the checkpoints to save, in reading order.
    pub checkpoints: Vec<Checkpoint>,
    /// Log objects a source named that an earlier source had named too (a file and its
    /// folder, the same path twice): read once, under the first.
    pub named_twice: Vec<String>,
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

    /// Adds what another read (of other objects) counted; its shown bad lines are kept while
    /// fewer than `keep` are.
    pub fn add(&mut self, other: IngestReport, keep: usize) {
        self.objects += other.objects;
        self.objects_skipped += other.objects_skipped;
        self.objects_waiting += other.objects_waiting;
        self.events += other.events;
        self.bytes += other.bytes;
        self.bad_lines += other.bad_lines;
        let room = keep.saturating_sub(self.bad_lines_shown.len());
        self.bad_lines_shown
            .extend(other.bad_lines_shown.into_iter().take(room));
        for (format, n) in other.formats {
            *self.formats.entry(format).or_default() += n;
        }
        self.unreadable.extend(other.unreadable);
        self.checkpoints.extend(other.checkpoints);
        self.named_twice.extend(other.named_twice);
    }

    /// What an object's read ending with `result` does to the run: nothing; with `keep_going`,
    /// an error that costs that object only is listed as unreadable; any other error stops it.
    ///
    /// # Errors
    /// `result`'s error, unless it is listed.
    pub fn object_ended(
        &mut self,
        result: Result<(), IngestError>,
        keep_going: bool,
    ) -> Result<(), IngestError> {
        match result {
            Err(e) if keep_going && e.costs_one_object() => {
                self.unreadable.push(e.to_string());
                Ok(())
            }
            other => other,
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
/// A source's checkpoints named as its listing names its objects: the journal keeps local
/// paths absolute ([`crate::journal::checkpoints::stored`]), the listing as the source is
/// written. Checkpoints of objects the listing no longer has keep the journal's name.
fn as_listed(mut cps: Vec<Checkpoint>, src: &str, objects: &[LogObject]) -> Vec<Checkpoint> {
    use crate::journal::checkpoints::stored;
    let listed: std::collections::HashMap<String, &str> = objects
        .iter()
        .map(|o| (stored(&o.name).into_owned(), &*o.name))
        .collect();
    for cp in &mut cps {
        cp.source = src.to_string();
        if let Some(name) = listed.get(&cp.object) {
            cp.object = (*name).to_string();
        }
    }
    cps
}

/// The checkpoints other sources hold of the objects source `k` names but an earlier source
/// read (`twice`), that `k` does not hold itself (`own`). When such an object is renamed out of
/// the other source's reach (a glob that no longer matches `access.log.1`), `k` finds it under
/// its new name by its content, as a rename within one source is found, and reads on from where
/// the other source got to instead of from its start.
fn shared_checkpoints(
    before: &[Vec<Checkpoint>],
    k: usize,
    twice: &[String],
    own: &[Checkpoint],
) -> Vec<Checkpoint> {
    use crate::journal::checkpoints::stored;
    if twice.is_empty() {
        return Vec::new();
    }
    let named: std::collections::HashSet<String> =
        twice.iter().map(|n| stored(n).into_owned()).collect();
    let held: std::collections::HashSet<&str> = own.iter().map(|c| c.object.as_str()).collect();
    let mut shared: Vec<Checkpoint> = Vec::new();
    for (j, cps) in before.iter().enumerate() {
        if j == k {
            continue;
        }
        for cp in cps {
            if named.contains(&cp.object)
                && !held.contains(cp.object.as_str())
                && !shared.iter().any(|c| c.object == cp.object)
            {
                shared.push(cp.clone());
            }
        }
    }
    shared
}

pub fn run(
    sources: &[String],
    opts: &IngestOptions,
    rt: &Handle,
    journal: Option<&mut Journal>,
    consumer: &mut dyn FnMut(Vec<AccessEvent>) -> Result<(), String>,
) -> Result<IngestReport, IngestError> {
    run_with(
        sources,
        opts,
        rt,
        journal,
        &mut Listings::default(),
        consumer,
    )
}

/// [`run`], with what earlier passes of this process learned of the sources (`listings`): an
/// object-store source is listed after what was read to its end, and whole only now and then.
///
/// # Errors
/// See [`run`].
pub fn run_with(
    sources: &[String],
    opts: &IngestOptions,
    rt: &Handle,
    mut journal: Option<&mut Journal>,
    listings: &mut Listings,
    consumer: &mut dyn FnMut(Vec<AccessEvent>) -> Result<(), String>,
) -> Result<IngestReport, IngestError> {
    let mut report = IngestReport::default();
    let mut listed = Listed::default();
    // Every local source's checkpoints as they were before this run read anything: overlapping
    // sources share the files they both name (below). (A store object is never taken over.)
    let before: Vec<Option<Vec<Checkpoint>>> = match journal.as_deref_mut() {
        Some(j) if sources.len() > 1 => sources
            .iter()
            .map(|s| {
                (!source::is_store(s))
                    .then(|| j.checkpoints_of(s))
                    .transpose()
            })
            .collect::<Result<_, _>>()?,
        _ => Vec::new(),
    };
    let shared_before: Vec<Vec<Checkpoint>> = before
        .iter()
        .map(|b| b.clone().unwrap_or_default())
        .collect();
    for (k, src) in sources.iter().enumerate() {
        // A store source listed after what was read of it; one named twice (every object of it
        // read under the first) is listed whole, as the memory is the first's.
        let remembered = source::is_store(src) && !sources[..k].contains(src);
        let listing = match journal.as_deref_mut() {
            Some(j) if remembered => listings
                .list_store(src, &opts.store_options, rt, j)
                .map(|l| (l.objects, Some(l.checkpoints))),
            _ => source::list(src, &opts.store_options, rt).map(|o| (o, None)),
        };
        let (objects, twice, store_cps) = match listing {
            Ok((mut objects, store_cps)) => {
                let twice = listed.keep_new(&mut objects);
                report.named_twice.extend(twice.iter().cloned());
                (objects, twice, store_cps)
            }
            // A missing folder or an unreachable log bucket must not stop the other sources.
            Err(e) if opts.keep_going && e.costs_one_object() => {
                report.unreadable.push(e.to_string());
                continue;
            }
            Err(e) => return Err(e),
        };
        let plan = match journal.as_deref_mut() {
            Some(j) => {
                // (Read already when there are several sources: only this source writes its
                // own, and it has not run yet.)
                let mut cps = match (store_cps, before.get(k)) {
                    (Some(own), _) => own,
                    (None, Some(Some(own))) => own.clone(),
                    (None, _) => j.checkpoints_of(src)?,
                };
                cps.extend(shared_checkpoints(&shared_before, k, &twice, &cps));
                let plan = resume::plan(
                    &objects,
                    as_listed(cps, src, &objects),
                    SystemTime::now(),
                    &mut |obj| resume::read_head(obj, rt),
                );
                // Checkpoints taken over by renamed files move before anything is read, so that
                // a new file at the old name cannot overwrite one before it moved.
                if !plan.saved.is_empty() {
                    j.replace_checkpoints(&plan.gone, &plan.saved)?;
                }
                (plan.objects, plan.orphans)
            }
            None => (vec![resume::Planned::fresh(); objects.len()], Vec::new()),
        };
        let (plan, orphans) = plan;
        let waits_before = report.objects_waiting;
        // Per object: whether it ended read to its end (or was skipped so).
        let mut whole = Vec::with_capacity(objects.len());
        for (obj, planned) in objects.iter().zip(plan) {
            whole.push(planned.start == resume::Start::Skip);
            let start = match planned.start {
                resume::Start::Skip => {
                    report.objects_skipped += 1;
                    continue;
                }
                resume::Start::At(start)
                    if !(journal.is_some() && source::replaced_since_listed(obj)) =>
                {
                    start
                }
                // Renamed away since it was listed: its next pass finds it where it is now.
                resume::Start::Wait | resume::Start::At(_) => {
                    report.objects_waiting += 1;
                    continue;
                }
            };
            let mut done = Done::from(start);
            let follow = journal.is_some();
            let outcome = read_object(obj, follow, &mut done, opts, rt, &mut report, consumer);
            // What the consumer accepted is checkpointed even when the object failed part way:
            // those events were delivered, and reading them again would count them twice.
            // A batch the consumer refused was not delivered: no checkpoint past it.
            let progressed = match &outcome {
                Ok(()) => true,
                Err(IngestError::Consumer(_)) => false,
                Err(_) => {
                    (done.bytes_done, done.lines_done) != (start.bytes_done, start.lines_done)
                }
            };
            if let (Some(j), true) = (journal.as_deref_mut(), progressed) {
                let head = match obj.location {
                    source::Location::File(_) => {
                        resume::fingerprint_after(&planned, done.bytes_done, done.complete, || {
                            resume::read_head(obj, rt)
                        })
                    }
                    _ => None,
                };
                let cp = Checkpoint {
                    source: obj.source.clone(),
                    object: obj.name.to_string(),
                    identity: obj.identity.clone(),
                    bytes_done: done.bytes_done,
                    lines_done: done.lines_done,
                    complete: done.complete,
                    head,
                    stamp: obj.stamp.clone(),
                    break_reported: done.break_reported,
                };
                if opts.defer_checkpoints {
                    report.checkpoints.push(cp);
                } else {
                    j.save_checkpoints(&[cp])?;
                }
            }
            if let Some(w) = whole.last_mut() {
                *w = outcome.is_ok() && done.complete;
            }
            report.object_ended(outcome, opts.keep_going)?;
        }
        if let Some(j) = journal.as_deref_mut() {
            if remembered {
                listings.passed(src, &objects, &whole, j)?;
            } else if !orphans.is_empty() && !source::is_store(src) {
                let names = objects.iter().map(|o| o.name.to_string()).chain(twice);
                let waited = report.objects_waiting > waits_before;
                listings::forget_files(src, orphans, &names.collect(), waited, rt, j)?;
            }
        }
    }
    Ok(report)
}

/// Reads one listed object whole, as [`run`] reads each without a journal (nothing followed,
/// no checkpoint), adding what it read to `report`.
///
/// # Errors
/// As [`run`]'s for one object; `keep_going` is the caller's to apply.
pub fn read_one(
    obj: &LogObject,
    opts: &IngestOptions,
    rt: &Handle,
    report: &mut IngestReport,
    consumer: &mut dyn FnMut(Vec<AccessEvent>) -> Result<(), String>,
) -> Result<(), IngestError> {
    let mut done = Done::from(resume::Resume::default());
    read_object(obj, false, &mut done, opts, rt, report, consumer)
}

/// How far an object has been read: updated line by line, so that a failure part way still
/// says what was delivered.
struct Done {
    bytes_done: u64,
    lines_done: u64,
    complete: bool,
    /// The gzip stream broke after `lines_done`, and that was reported as a bad line.
    break_reported: bool,
}

impl From<resume::Resume> for Done {
    fn from(r: resume::Resume) -> Done {
        Done {
            bytes_done: r.bytes_done,
            lines_done: r.lines_done,
            complete: false,
            break_reported: r.break_reported,
        }
    }
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
            match detect_format(obj, &head, following, opts)? {
                Some(f) => f,
                None => {
                    // An empty log object (S3 writes none): nothing to do. An empty file is a
                    // log just rotated in (logrotate's `create`): it is followed, and read once
                    // it grows.
                    report.objects += 1;
                    done.complete = !following;
                    return Ok(());
                }
            }
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
            // Read whole, whatever was read of it before (a Parquet file is rewritten whole).
            *done = Done::from(resume::Resume::default());
            done.complete = true;
            // Its bytes are the file's: it is read columnar, not decompressed to text.
            report.bytes += std::fs::metadata(&path).map_or(obj.size, |m| m.len());
            Ok(())
        }
        Format::Cloudtrail => {
            read_cloudtrail(obj, &content, done, opts, report, &mut batch, consumer)
        }
        line_format => content
            .open(&obj.name, done.bytes_done)
            .and_then(|mut opened| {
                read_lines(
                    obj,
                    line_format,
                    &mut opened,
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

/// The format of an object, told from its head; `None` when there is nothing to read yet: an
/// empty object, a followed file whose first line is still being written, or a gzip file still
/// being written before its first line.
///
/// # Errors
/// No format fits the head ([`IngestError::UnknownFormat`]), or a gzip stream breaks before any
/// format could be told ([`IngestError::Read`]: nothing in it can be read).
fn detect_format(
    obj: &LogObject,
    head: &source::Head,
    following: bool,
    opts: &IngestOptions,
) -> Result<Option<Format>, IngestError> {
    let bytes = &head.bytes;
    let blank = bytes.iter().all(u8::is_ascii_whitespace);
    let found = if blank { None } else { parse::detect(bytes) };
    if let Some(e) = &head.damage {
        // With a format, the lines before the break are read, and the break is a bad line.
        if found.is_some() || still_being_written(obj, e, opts) {
            return Ok(found);
        }
        return Err(IngestError::Read {
            object: obj.name.to_string(),
            message: format!(
                "the gzip stream is damaged ({e}) before a log format could be told from its \
                 first lines; nothing in it can be read"
            ),
        });
    }
    // A followed file whose first line is still being written: its format is told once the line
    // is whole, at a later pass. A whole gzip stream has no writer in the middle of a line (one
    // still being written broke off above): its one line is judged now.
    let first_line_unfinished = following && !head.gzip && !bytes.contains(&b'\n');
    if blank || (first_line_unfinished && found.is_none()) {
        return Ok(None);
    }
    found.map(Some).ok_or_else(|| IngestError::UnknownFormat {
        object: obj.name.to_string(),
    })
}

/// Whether a gzip stream that broke with `e` is a file still being written, to be read on at the
/// next pass: only when following, only a stream that is cut short (a corrupt one is damaged
/// whoever writes it), and only a local file that is changing (see
/// [`source::may_still_be_written`]).
fn still_being_written(obj: &LogObject, e: &std::io::Error, opts: &IngestOptions) -> bool {
    opts.follow
        && e.kind() == std::io::ErrorKind::UnexpectedEof
        && source::may_still_be_written(obj)
}

/// Records that an object's gzip stream broke with `e` after the lines `done` counts: one bad
/// line, just after them (unless that break was reported already, by the read this one goes on
/// from), and the object is complete (the rest cannot be read, so reading it again would only
/// count the same break again; it is read on if it changes).
fn gzip_damaged(
    obj: &LogObject,
    e: &std::io::Error,
    done: &mut Done,
    opts: &IngestOptions,
    report: &mut IngestReport,
) {
    done.complete = true;
    if std::mem::replace(&mut done.break_reported, true) {
        return;
    }
    let after = done.lines_done;
    report.bad(
        opts.bad_lines_kept,
        BadLine {
            file: obj.name.clone(),
            line: after + 1,
            reason: format!(
                "the gzip stream is damaged after line {after} ({e}); the rest of this object \
                 cannot be read"
            ),
        },
    );
}

/// Reads a CloudTrail object whole from `done` (from its start, unless it is read on after it
/// changed): its documents, then their records. Of a gzip stream that breaks, the whole
/// documents before the break are read, then the break is one bad line; the document it cut is
/// read whole if the object is read on.
fn read_cloudtrail(
    obj: &LogObject,
    content: &Content,
    done: &mut Done,
    opts: &IngestOptions,
    report: &mut IngestReport,
    batch: &mut Vec<AccessEvent>,
    consumer: &mut dyn FnMut(Vec<AccessEvent>) -> Result<(), String>,
) -> Result<(), IngestError> {
    let mut opened = content.open(&obj.name, done.bytes_done)?;
    // Bytes, not text: a byte that is not UTF-8 costs its record, not the file.
    let mut bytes = Vec::new();
    let damage = source::read_until_break(&mut opened, &mut bytes, u64::MAX).map_err(|e| {
        IngestError::Read {
            object: obj.name.to_string(),
            message: e.to_string(),
        }
    })?;
    if let Some(e) = &damage
        && still_being_written(obj, e, opts)
    {
        // Read whole at a later pass, once written; nothing was handed on.
        return Ok(());
    }
    report.bytes += bytes.len() as u64;
    let read = match damage {
        // The document the stream broke in is cut: it is part of the damage.
        Some(_) => &bytes[..whole_documents_end(&bytes)],
        None => &bytes[..],
    };
    // Lines are counted from the object's start: `read` begins on line `lines_done + 1`.
    let before = done.lines_done;
    match cloudtrail::parse_document_bytes(read) {
        Ok(records) => {
            for r in records {
                let line = before + r.line;
                match r.result {
                    Ok(Some(mut e)) => {
                        e.origin = Origin {
                            file: obj.name.clone(),
                            line,
                        };
                        push(batch, e, opts, report, consumer)?;
                    }
                    Ok(None) => {}
                    Err(reason) => report.bad(
                        opts.bad_lines_kept,
                        BadLine {
                            file: obj.name.clone(),
                            line,
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
                line: before + line,
                reason,
            },
        ),
    }
    done.bytes_done += read.len() as u64;
    // Whole lines: a document read on after `read` may begin on its last line.
    done.lines_done += read.iter().filter(|&&b| b == b'\n').count() as u64;
    done.complete = true;
    if !read.is_empty() {
        done.break_reported = false;
    }
    if let Some(e) = &damage {
        gzip_damaged(obj, e, done, opts, report);
    }
    Ok(())
}

/// The end of the whole CloudTrail documents in `bytes`, which a gzip stream broke after: just
/// past the last document that is whole, and the end of its line. The last document, cut by the
/// break, is left out. After a document that is not JSON (reading cannot go on past it), the
/// end of the last whole line.
fn whole_documents_end(bytes: &[u8]) -> usize {
    let mut docs = serde_json::Deserializer::from_slice(bytes).into_iter::<serde::de::IgnoredAny>();
    let mut end = 0;
    loop {
        match docs.next() {
            None => return bytes.len(),
            Some(Ok(_)) => end = docs.byte_offset(),
            Some(Err(e)) if e.is_eof() => break,
            Some(Err(_)) => return bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1),
        }
    }
    let rest = &bytes[end..];
    let blank = rest
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\r'))
        .unwrap_or(rest.len());
    end + blank + usize::from(rest.get(blank) == Some(&b'\n'))
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

/// Why a line of `n` bytes, more than [`MAX_LINE_BYTES`], is a bad line (and a webhook entry as
/// long a bad entry).
pub fn too_long(n: usize) -> String {
    format!(
        "{n} bytes long, more than the {} MiB a log line may have; skipped unread",
        MAX_LINE_BYTES >> 20
    )
}

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
    opened: &mut source::Opened,
    done: &mut Done,
    opts: &IngestOptions,
    report: &mut IngestReport,
    batch: &mut Vec<AccessEvent>,
    consumer: &mut dyn FnMut(Vec<AccessEvent>) -> Result<(), String>,
) -> Result<(), IngestError> {
    let mut buf = Vec::with_capacity(1024);
    let growing = opts.follow && !opened.gzip && is_growing_file(obj);
    loop {
        buf.clear();
        let (n, whole, cut) = match read_line_capped(&mut *opened.reader, &mut buf, MAX_LINE_BYTES)
        {
            Ok(read) => read,
            // The lines before the break were read; the one it cut is part of the damage.
            Err(e) if opened.gzip && source::is_gzip_damage(&e) => {
                if !still_being_written(obj, &e, opts) {
                    gzip_damaged(obj, &e, done, opts, report);
                }
                return Ok(());
            }
            Err(e) => {
                return Err(IngestError::Read {
                    object: obj.name.to_string(),
                    // Where it broke: the lines before were read.
                    message: format!("{e} (after line {})", done.lines_done),
                });
            }
        };
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
        done.break_reported = false;
        let line_no = done.lines_done;
        report.bytes += n as u64;
        if cut {
            report.bad(
                opts.bad_lines_kept,
                BadLine {
                    file: obj.name.clone(),
                    line: line_no,
                    reason: too_long(n),
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
        // One line gives one event, except a MinIO or Ceph entry that lists several objects (a
        // batch delete, a lifecycle action) and a Ceph line holding several entries under load.
        for outcome in parse::parse_events(format, text) {
            match outcome {
                Ok(mut e) => {
                    // tierd's own export keeps the origin it was exported with.
                    if e.origin.file.is_empty() || format != Format::Ndjson {
                        e.origin = Origin {
                            file: obj.name.clone(),
                            line: line_no,
                        };
                    }
                    push(batch, e, opts, report, consumer)?;
                }
                Err(reason) => report.bad(
                    opts.bad_lines_kept,
                    BadLine {
                        file: obj.name.clone(),
                        line: line_no,
                        reason,
                    },
                ),
            }
        }
    }
    done.complete = !growing;
    Ok(())
}

/// Whether an object is a plain local file, which may still grow (an audit log being written);
/// not an object-store object, a gzip file, or a bundled sample, which are sealed.
fn is_growing_file(obj: &LogObject) -> bool {
    matches!(&obj.location, source::Location::File(p) if p.extension().is_none_or(|e| e != "gz"))
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_gzip_log_without_its_trailer_gives_its_lines_and_one_bad_line_once() {
        let dir = tempfile::tempdir().unwrap();
        let whole = gzip(log_text(812).as_bytes(), flate2::Compression::default());
        // The 8-byte trailer (CRC and size) is missing: a copy cut short.
        let cut = &whole[..whole.len() - 8];
        let (n, reason) = ingest_damaged(dir.path(), cut, &IngestOptions::default());
        assert_eq!(n, 812, "every line was whole");
        assert_eq!(
            reason,
            "the gzip stream is damaged after line 812 (unexpected end of file); the rest of \
             this object cannot be read"
        );
    }

    #[test]
    fn a_gzip_log_cut_inside_a_deflate_block_gives_its_whole_lines_and_one_bad_line_once() {
        let dir = tempfile::tempdir().unwrap();
        let total = 20_000;
        let whole = gzip(log_text(total).as_bytes(), flate2::Compression::default());
        let cut = &whole[..whole.len() / 2];
        let (n, reason) = ingest_damaged(dir.path(), cut, &IngestOptions::default());
        assert!(n > 0 && n < total, "{n} of {total} lines read");
        assert!(
            reason.starts_with(&format!("the gzip stream is damaged after line {n} (")),
            "{reason}"
        );
    }

    #[test]
    fn garbage_or_zeros_after_a_whole_gzip_member_are_one_bad_line_after_its_lines() {
        let member = gzip(log_text(30).as_bytes(), flate2::Compression::default());
        let two_members = [member.clone(), member.clone()].concat();
        for (what, tail) in [
            ("garbage", b"this is not gzip\n".to_vec()),
            ("zero padding", vec![0u8; 4096]),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let (n, reason) = ingest_damaged(
                dir.path(),
                &[member.clone(), tail].concat(),
                &IngestOptions::default(),
            );
            assert_eq!(n, 30, "{what}: the whole member's lines");
            assert_eq!(
                reason,
                "the gzip stream is damaged after line 30 (invalid gzip header); the rest of \
                 this object cannot be read",
                "{what}"
            );
        }
        // Members one after another are one stream, not damage.
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("two.log.gz");
        std::fs::write(&log, two_members).unwrap();
        let (events, report) = ingest(&log, &dir.path().join("j.db"), &IngestOptions::default());
        assert_eq!((events.len(), report.bad_lines), (60, 0));
    }

    /// Lines `from..to` of [`log_text`], each with its newline.
    fn lines(from: usize, to: usize) -> String {
        (from..to).map(|i| log_line(i) + "\n").collect()
    }

    /// Ingests a gzip file of a whole member of lines `0..1000` then `second`: the reason of its
    /// one bad line, once the first member's lines, and none of the second's, were read.
    fn after_a_whole_member(second: Vec<u8>) -> String {
        let dir = tempfile::tempdir().unwrap();
        let first = gzip(lines(0, 1_000).as_bytes(), flate2::Compression::default());
        let (n, reason) = ingest_damaged(
            dir.path(),
            &[first, second].concat(),
            &IngestOptions::default(),
        );
        assert_eq!(n, 1_000, "the first member's lines, none of the second's");
        reason
    }

    #[test]
    fn a_corrupt_deflate_block_costs_its_gzip_member_whole_and_is_one_bad_line_after_the_members_before()
     {
        // Stored (uncompressed) deflate blocks, so that a block header can be found and broken:
        // a block is a 3-bit header padded to a byte, then LEN and NLEN = !LEN, then LEN bytes.
        let mut second = gzip(lines(1_000, 5_000).as_bytes(), flate2::Compression::none());
        let mut at = 10; // after the gzip header
        for _ in 0..3 {
            assert_eq!(second[at] & 0b110, 0, "a stored block at {at}");
            let len = u16::from_le_bytes([second[at + 1], second[at + 2]]);
            let nlen = u16::from_le_bytes([second[at + 3], second[at + 4]]);
            assert_eq!(len, !nlen, "a stored block at {at}");
            at += 5 + usize::from(len);
        }
        // The fourth block's NLEN no longer matches its LEN: the three before decode.
        second[at + 3] ^= 0x01;
        assert_eq!(
            after_a_whole_member(second),
            "the gzip stream is damaged after line 1000 (corrupt deflate stream); the rest of \
             this object cannot be read"
        );
    }

    #[test]
    fn a_gzip_member_that_decodes_but_fails_its_checksum_hands_on_none_of_its_lines() {
        // What a flipped byte that still decodes gives: records the member never held (the
        // deflate window replayed), known as wrong only by the checksum at the member's end.
        let mut second = gzip(
            lines(1_000, 3_000).as_bytes(),
            flate2::Compression::default(),
        );
        let crc = second.len() - 8;
        second[crc] ^= 0x5a;
        assert_eq!(
            after_a_whole_member(second),
            "the gzip stream is damaged after line 1000 (corrupt gzip stream does not have a \
             matching checksum); the rest of this object cannot be read"
        );
    }

    #[test]
    fn a_cloudtrail_gzip_cut_short_gives_the_records_of_its_whole_documents_and_one_bad_line() {
        let rec = r#"{"eventVersion":"1.09","eventTime":"2026-11-02T08:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","requestParameters":{"bucketName":"b","key":"k"}}"#;
        let doc = format!("{{\"Records\":[{rec},{rec}]}}\n");
        let whole = gzip(doc.repeat(3).as_bytes(), flate2::Compression::default());
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("trail.json.gz");
        std::fs::write(&log, &whole[..whole.len() - 8]).unwrap();
        let db = dir.path().join("j.db");
        let (events, report) = ingest(&log, &db, &IngestOptions::default());
        assert_eq!(events.len(), 6);
        assert_eq!(report.bad_lines, 1);
        assert_eq!(report.bad_lines_shown[0].line, 4);
        assert!(
            report.bad_lines_shown[0]
                .reason
                .starts_with("the gzip stream is damaged after line 3 ("),
            "{:?}",
            report.bad_lines_shown
        );
        nothing_new(&log, &db, &IngestOptions::default(), 1);
    }

    #[test]
    fn a_gzip_log_damaged_before_its_first_line_is_an_unreadable_object_named_with_why() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("b.log.gz");
        // A gzip header, then garbage: nothing in it tells what it is.
        let mut corrupt = vec![0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0xff];
        corrupt.extend(std::iter::repeat_n(0xA5u8, 4096));
        std::fs::write(&log, &corrupt).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let err = run(
            &[log.display().to_string()],
            &IngestOptions::default(),
            rt.handle(),
            None,
            &mut |_| Ok(()),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}: the gzip stream is damaged (corrupt deflate stream) before a log format \
                 could be told from its first lines; nothing in it can be read",
                log.display()
            )
        );
    }

    #[test]
    fn a_followed_gzip_file_still_being_written_is_read_on_at_the_next_pass() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("access.log.1.gz");
        let db = dir.path().join("j.db");
        let opts = IngestOptions {
            follow: true,
            ..IngestOptions::default()
        };
        let total = 20_000;
        let whole = gzip(log_text(total).as_bytes(), flate2::Compression::default());
        // Half written, just now (logrotate compressing it): no trailer yet, not damage.
        let half = whole.len() / 2;
        std::fs::write(&log, &whole[..half]).unwrap();
        let (first, report) = ingest(&log, &db, &opts);
        assert!(!first.is_empty() && first.len() < total, "{}", first.len());
        assert_eq!(keys(&first), first_keys(first.len()));
        assert_eq!(report.bad_lines, 0, "{:?}", report.bad_lines_shown);
        // The writer finishes: the rest is read, once.
        append(&log, &whole[half..]);
        let (rest, report) = ingest(&log, &db, &opts);
        assert_eq!(report.bad_lines, 0, "{:?}", report.bad_lines_shown);
        let all: Vec<_> = first.iter().chain(&rest).cloned().collect();
        assert_eq!(keys(&all), first_keys(total));
        nothing_new(&log, &db, &opts, 1);
    }

    #[test]
    fn a_followed_gzip_file_cut_short_and_left_unchanged_is_damaged_not_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let whole = gzip(log_text(812).as_bytes(), flate2::Compression::default());
        let log = dir.path().join("access.log.gz");
        std::fs::write(&log, &whole[..whole.len() - 8]).unwrap();
        set_modified(&log, source::GZIP_WRITE_QUIET + Duration::from_secs(1));
        let opts = IngestOptions {
            follow: true,
            ..IngestOptions::default()
        };
        let (n, reason) = ingest_damaged_file(&log, &dir.path().join("j.db"), &opts);
        assert_eq!(n, 812);
        assert!(reason.starts_with("the gzip stream is damaged after line 812 ("));
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

    #[test]
    fn batch_deletes_of_minio_and_ceph_give_one_event_per_key_on_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let minio = dir.path().join("audit.log");
        std::fs::write(
            &minio,
            concat!(
                r#"{"time":"2026-11-02T09:10:00Z","api":{"name":"GetObject","bucket":"m","object":"x","statusCode":200}}"#,
                "\n",
                r#"{"time":"2026-11-02T09:10:01Z","api":{"name":"DeleteMultipleObjects","bucket":"m","objects":[{"objectName":"a"},{"objectName":"b"}],"statusCode":200}}"#,
                "\n",
            ),
        )
        .unwrap();
        let ceph = dir.path().join("ops.log");
        std::fs::write(
            &ceph,
            concat!(
                r#"{"bucket":"d","object":"-","time":"2026-11-02T08:00:05Z","remote_addr":"1.2.3.4","operation":"multi_object_delete","http_status":"200","op_data":{"objects":[{"key":"c","http_status":204},{"key":"e","http_status":204}]}}"#,
                "\n"
            ),
        )
        .unwrap();
        let opts = IngestOptions::default();
        for (log, want) in [
            (&minio, vec![("x", 1), ("a", 2), ("b", 2)]),
            (&ceph, vec![("c", 1), ("e", 1)]),
        ] {
            let (events, report) = ingest(log, &dir.path().join("j.db"), &opts);
            let got: Vec<_> = events
                .iter()
                .map(|e| (e.key.as_deref().unwrap_or("-"), e.origin.line))
                .collect();
            assert_eq!(got, want, "{}", log.display());
            assert_eq!(report.bad_lines, 0);
        }
    }

    #[test]
    fn a_whole_gzip_file_of_one_unknown_line_without_a_newline_is_an_unknown_format_when_followed()
    {
        // A CloudTrail digest: one JSON object, no newline, next to the trail's logs.
        let dir = tempfile::tempdir().unwrap();
        let digest = dir.path().join("digest.json.gz");
        let text = r#"{"awsAccountId":"111122223333","digestStartTime":"2026-11-02T08:00:00Z","logFiles":[]}"#;
        std::fs::write(
            &digest,
            gzip(text.as_bytes(), flate2::Compression::default()),
        )
        .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut journal = Journal::open(&dir.path().join("j.db")).unwrap();
        let name = digest.display().to_string();
        let err = run(
            std::slice::from_ref(&name),
            &IngestOptions::default(),
            rt.handle(),
            Some(&mut journal),
            &mut |_| Ok(()),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{name}: cannot tell the log format from its first lines; name it with --format \
                 (one of: s3, minio, cloudtrail, ceph, ndjson, parquet)"
            )
        );
        // As the service reads it: listed as unreadable, every pass.
        let opts = IngestOptions {
            keep_going: true,
            follow: true,
            ..IngestOptions::default()
        };
        let (events, report) = ingest(&digest, &dir.path().join("j.db"), &opts);
        assert!(events.is_empty());
        assert_eq!(report.unreadable, vec![err.to_string()]);
    }

    #[test]
    fn a_key_longer_than_any_store_allows_is_a_bad_line() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("e.ndjson");
        let line = |key: &str| {
            format!(
                r#"{{"time":"2026-11-01T10:00:00Z","op":"get","operation":"REST.GET.OBJECT","bucket":"b","key":"{key}"}}"#
            )
        };
        let (longest, too_long) = ("k".repeat(1024), "é".repeat(513));
        std::fs::write(&log, format!("{}\n{}\n", line(&longest), line(&too_long))).unwrap();
        let (events, report) = ingest(&log, &dir.path().join("j.db"), &IngestOptions::default());
        assert_eq!(keys(&events), [longest]);
        assert_eq!(
            report.bad_lines_shown,
            [BadLine {
                file: Arc::from(log.display().to_string()),
                line: 2,
                reason: "a key of 1026 bytes, longer than the 1024 bytes an object key may have"
                    .to_string(),
            }]
        );
    }

    #[test]
    fn a_parquet_log_counts_the_bytes_of_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let events: Vec<AccessEvent> = log_text(30)
            .lines()
            .filter_map(|l| parse::parse_line(Format::Ndjson, l).unwrap())
            .collect();
        let path = dir.path().join("events.parquet");
        let mut w = frame::EventWriter::create(&path, frame::ExportFormat::Parquet).unwrap();
        w.write(events).unwrap();
        w.finish().unwrap();
        let (read, report) = ingest(&path, &dir.path().join("j.db"), &IngestOptions::default());
        assert_eq!(read.len(), 30);
        assert_eq!(report.bytes, std::fs::metadata(&path).unwrap().len());
    }
}
