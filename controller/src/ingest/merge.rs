//! Log objects read as one stream, in time order (for `simulate` and `train`, which read history).
//!
//! Several stores' logs (or a MinIO audit log beside S3 access logs, or rotated files named
//! newest first) cover the same days. Read one after another, the second object's events would
//! all be older than the first's last: hours or weeks late, where the reorder buffer allows an
//! hour. So `simulate` and `train` read their objects as a merge: each object's first event time is read from
//! its head ([`first_time`]); objects are opened in that order, when the merge reaches their
//! first time; and every event goes out from whichever open object has the oldest next event.
//!
//! Each open object is read by its own thread ahead of the merge, a few batches at most, so
//! memory is bounded by the objects that overlap in time (about one per store). The merge pulls
//! from one chosen object at a time and waits for it, so the order of events out depends only
//! on the logs, never on the threads' timing.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, SyncSender};
use std::thread::JoinHandle;

use models::AccessEvent;
use models::parse::{self, Format};
use tokio::runtime::Handle;

use crate::ingest::{self, IngestError, IngestOptions, IngestReport, LogObject};

/// What reading one object ended with.
type Outcome = (IngestReport, Result<(), IngestError>);

/// Reads every object of `sources`, merged in time order, handing `consumer` batches of
/// `opts.batch_size` events; returns what was read, counted over all objects in listing order.
///
/// # Errors
/// A source that cannot be listed, an object that cannot be read (with `opts.keep_going`, it is
/// listed in the report instead), or `consumer`'s error.
pub fn read_merged(
    sources: &[String],
    opts: &IngestOptions,
    rt: &Handle,
    consumer: &mut dyn FnMut(Vec<AccessEvent>) -> Result<(), String>,
) -> Result<IngestReport, IngestError> {
    let mut objects = Vec::new();
    let (mut listed, mut named_twice) = (ingest::Listed::default(), Vec::new());
    for src in sources {
        let mut more = ingest::list(src, &opts.store_options, rt)?;
        named_twice.extend(listed.keep_new(&mut more));
        objects.extend(more);
    }
    let mut report = read_listed(objects, opts, rt, consumer)?;
    report.named_twice = named_twice;
    Ok(report)
}

/// Reads `objects` merged in time order (see [`read_merged`]).
fn read_listed(
    objects: Vec<LogObject>,
    opts: &IngestOptions,
    rt: &Handle,
    consumer: &mut dyn FnMut(Vec<AccessEvent>) -> Result<(), String>,
) -> Result<IngestReport, IngestError> {
    if let [only] = objects.as_slice() {
        // Nothing to merge: read on this thread, as `ingest::run` would.
        let mut report = IngestReport::default();
        let result = ingest::read_one(only, opts, rt, &mut report, consumer);
        return combine(vec![(0, (report, result))], opts);
    }
    // The heads read here are not progress: what they count is taken back (no other read runs
    // yet).
    let counted = || ingest::STORED_BYTES_READ.load(Ordering::Relaxed);
    let before = counted();
    let mut order = Vec::new();
    // Objects whose first time cannot be read (a Parquet file, a head with no event) are read
    // one after another, in listing order, from the start, beside the others: one at a time,
    // so that many of them do not hold a reader each.
    let mut untimed = VecDeque::new();
    for (i, o) in objects.iter().enumerate() {
        match first_time(o, opts, rt) {
            Some(t) => order.push((t, i)),
            None => untimed.push_back(i),
        }
    }
    ingest::STORED_BYTES_READ.fetch_sub(counted().saturating_sub(before), Ordering::Relaxed);
    order.sort();
    let mut merge = Merge {
        objects: objects.into_iter().map(Arc::new).collect(),
        untimed,
        untimed_open: false,
        pending: order.into_iter().collect(),
        open: Vec::new(),
        heads: BinaryHeap::new(),
        outcomes: Vec::new(),
        opts: Arc::new(opts.clone()),
        rt: rt.clone(),
    };
    let result = merge.run(consumer);
    // Every reader is joined, also after an error: a reader blocked on a full channel sees its
    // receiver dropped and stops. The merge's own error wins: whatever the readers it stopped
    // met afterwards depends on their timing.
    let outcomes = merge.close();
    result?;
    combine(outcomes, opts)
}

struct Merge {
    objects: Vec<Arc<LogObject>>,
    /// Objects not yet opened: (first event time, index), oldest first.
    pending: VecDeque<(i64, usize)>,
    /// Objects without a first time not yet opened, in listing order; and whether one is open.
    untimed: VecDeque<usize>,
    untimed_open: bool,
    open: Vec<Reader>,
    /// (next event time, slot in `open`), oldest first; ties by slot, so by opening order.
    heads: BinaryHeap<Reverse<(i64, usize)>>,
    /// (object index, outcome) of the objects read to their end.
    outcomes: Vec<(usize, Outcome)>,
    opts: Arc<IngestOptions>,
    rt: Handle,
}

/// An object being read by its own thread.
struct Reader {
    index: usize,
    /// Opened without a first time (see `Merge::untimed`).
    untimed: bool,
    batches: Option<Receiver<Vec<AccessEvent>>>,
    queue: VecDeque<AccessEvent>,
    thread: Option<JoinHandle<Outcome>>,
}

impl Merge {
    fn run(
        &mut self,
        consumer: &mut dyn FnMut(Vec<AccessEvent>) -> Result<(), String>,
    ) -> Result<(), IngestError> {
        let batch_size = self.opts.batch_size.max(1);
        let mut out = Vec::with_capacity(batch_size);
        loop {
            if !self.untimed_open
                && let Some(index) = self.untimed.pop_front()
            {
                self.untimed_open = true;
                self.open_object(index, true)?;
                continue;
            }
            // Open every object whose first event is due before the oldest event open.
            let oldest = self.heads.peek().map(|Reverse((t, _))| *t);
            if let Some(&(start, index)) = self.pending.front()
                && oldest.is_none_or(|t| start <= t)
            {
                self.pending.pop_front();
                self.open_object(index, false)?;
                continue;
            }
            let Some(Reverse((_, slot))) = self.heads.pop() else {
                break;
            };
            // This object's events go out while they come before every other object's next
            // event and before the next object to open: usually its whole batch.
            let next_open = self.pending.front().map_or(i64::MAX, |&(start, _)| start);
            let limit = self
                .heads
                .peek()
                .map_or((i64::MAX, usize::MAX), |Reverse(h)| *h);
            let queue = &mut self.open[slot].queue;
            let due = queue
                .iter()
                .take_while(|e| e.time_us < next_open && (e.time_us, slot) < limit)
                .count()
                .max(1);
            if out.is_empty() && due == queue.len() && due <= batch_size {
                // A batch as it was read goes out whole (no copy).
                consumer(Vec::from(std::mem::take(queue))).map_err(IngestError::Consumer)?;
            } else {
                for e in queue.drain(..due) {
                    out.push(e);
                    if out.len() >= batch_size {
                        consumer(std::mem::replace(&mut out, Vec::with_capacity(batch_size)))
                            .map_err(IngestError::Consumer)?;
                    }
                }
            }
            self.refill(slot)?;
        }
        if !out.is_empty() {
            consumer(out).map_err(IngestError::Consumer)?;
        }
        Ok(())
    }

    /// Starts reading object `index` (`untimed`: one without a first time), and waits for its
    /// first batch.
    fn open_object(&mut self, index: usize, untimed: bool) -> Result<(), IngestError> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<AccessEvent>>(2);
        let (obj, opts, rt) = (
            Arc::clone(&self.objects[index]),
            Arc::clone(&self.opts),
            self.rt.clone(),
        );
        let thread = std::thread::Builder::new()
            .name("tierd-log-object".into())
            .spawn(move || read_object(&obj, &opts, &rt, &tx))
            .map_err(|e| IngestError::Consumer(format!("cannot start a log reader: {e}")))?;
        self.open.push(Reader {
            index,
            untimed,
            batches: Some(rx),
            queue: VecDeque::new(),
            thread: Some(thread),
        });
        self.refill(self.open.len() - 1)
    }

    /// Puts reader `slot` back among the heads with its next event, receiving its next batch
    /// when its queue is empty; a reader at its end is joined.
    fn refill(&mut self, slot: usize) -> Result<(), IngestError> {
        let reader = &mut self.open[slot];
        while reader.queue.is_empty() {
            match reader.batches.as_ref().map(Receiver::recv) {
                Some(Ok(batch)) => reader.queue = VecDeque::from(batch),
                _ => {
                    reader.batches = None;
                    if reader.untimed {
                        self.untimed_open = false;
                    }
                    if let Some(outcome) = reader.thread.take().map(JoinHandle::join) {
                        let outcome = outcome.map_err(|_| {
                            IngestError::Consumer("a log reader thread panicked".into())
                        })?;
                        let (report, result) = outcome;
                        match result {
                            Err(e) if !(self.opts.keep_going && e.costs_one_object()) => {
                                self.outcomes.push((reader.index, (report, Ok(()))));
                                return Err(e);
                            }
                            result => self.outcomes.push((reader.index, (report, result))),
                        }
                    }
                    return Ok(());
                }
            }
        }
        if let Some(e) = reader.queue.front() {
            self.heads.push(Reverse((e.time_us, slot)));
        }
        Ok(())
    }

    /// Stops every reader still running and returns every outcome, in listing order.
    fn close(mut self) -> Vec<(usize, Outcome)> {
        for reader in &mut self.open {
            reader.batches = None;
            if let Some(Ok(outcome)) = reader.thread.take().map(JoinHandle::join) {
                self.outcomes.push((reader.index, outcome));
            }
        }
        self.outcomes.sort_by_key(|(i, _)| *i);
        self.outcomes
    }
}

/// One object read whole on its own thread; its batches go to `tx` (a send fails once the
/// merge has stopped, which stops the read).
fn read_object(
    obj: &LogObject,
    opts: &IngestOptions,
    rt: &Handle,
    tx: &SyncSender<Vec<AccessEvent>>,
) -> Outcome {
    let mut report = IngestReport::default();
    let r = ingest::read_one(obj, opts, rt, &mut report, &mut |batch| {
        tx.send(batch).map_err(|_| "the replay stopped".to_string())
    });
    (report, r)
}

/// The objects' reports of a merge that ended well, added up in listing order; with
/// `keep_going`, an object that could not be read is listed as unreadable.
fn combine(
    outcomes: Vec<(usize, Outcome)>,
    opts: &IngestOptions,
) -> Result<IngestReport, IngestError> {
    let mut total = IngestReport::default();
    for (_, (r, result)) in outcomes {
        total.add(r, opts.bad_lines_kept);
        total.object_ended(result, opts.keep_going)?;
    }
    Ok(total)
}

/// The time of the oldest event among the first lines of `obj` (its first 64 KiB), in
/// microseconds; `None` for a Parquet file, an unreadable object, or a head without an event.
pub fn first_time(obj: &LogObject, opts: &IngestOptions, rt: &Handle) -> Option<i64> {
    let content = ingest::head_content(obj, rt, 64 * 1024).ok()?;
    let head = content.head(&obj.name, 64 * 1024).ok()?.bytes;
    let text = String::from_utf8_lossy(&head);
    match opts.format.or_else(|| parse::detect(&head))? {
        Format::Parquet => None,
        Format::Cloudtrail => cloudtrail_times(&text).min(),
        format => {
            // The last line may be cut by the head's end: not read.
            let whole = text.rfind('\n').map_or("", |end| &text[..end]);
            whole
                .lines()
                .flat_map(|l| parse::parse_events(format, l))
                .filter_map(|e| Some(e.ok()?.time_us))
                .min()
        }
    }
}

/// The `eventTime`s in the head of a CloudTrail document, which a cut document cannot be parsed
/// for.
fn cloudtrail_times(text: &str) -> impl Iterator<Item = i64> + '_ {
    text.split("\"eventTime\"").skip(1).filter_map(|rest| {
        let value = rest
            .trim_start()
            .strip_prefix(':')?
            .trim_start()
            .strip_prefix('"')?;
        let value = &value[..value.find('"')?];
        chrono::DateTime::parse_from_rfc3339(value)
            .ok()
            .map(|t| t.timestamp_micros())
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
    }

    /// An NDJSON log of GETs of `key` at each `HH:MM` on 2 November 2026.
    fn log(path: &Path, key: &str, times: &[&str]) {
        let lines: Vec<String> = times
            .iter()
            .map(|t| {
                format!(
                    r#"{{"time":"2026-11-02T{t}:00Z","op":"get","operation":"GetObject","bucket":"b","key":"{key}","status":200}}"#
                )
            })
            .collect();
        std::fs::write(path, lines.join("\n") + "\n").unwrap();
    }

    /// What `read_merged` hands on, as (HH:MM, key) in order, with its report.
    fn merged(sources: &[String], batch: usize) -> (Vec<(String, String)>, IngestReport) {
        let opts = IngestOptions {
            batch_size: batch,
            ..IngestOptions::default()
        };
        let mut seen = Vec::new();
        let report = read_merged(sources, &opts, rt().handle(), &mut |b| {
            seen.extend(b.into_iter().map(|e| {
                let t = chrono::DateTime::from_timestamp_micros(e.time_us).unwrap();
                (t.format("%H:%M").to_string(), e.key.unwrap_or_default())
            }));
            Ok(())
        })
        .unwrap();
        (seen, report)
    }

    fn source(p: &Path) -> String {
        p.display().to_string()
    }

    #[test]
    fn two_stores_logs_of_the_same_hours_are_read_as_one_stream_in_time_order() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("s3.log"), dir.path().join("minio.log"));
        log(&a, "a", &["08:00", "08:10", "08:20", "08:30"]);
        log(&b, "b", &["08:05", "08:10", "08:25", "09:00"]);
        for batch in [1, 2, 3, 100] {
            let (seen, report) = merged(&[source(&a), source(&b)], batch);
            let want = [
                ("08:00", "a"),
                ("08:05", "b"),
                // A tie goes to the object opened first.
                ("08:10", "a"),
                ("08:10", "b"),
                ("08:20", "a"),
                ("08:25", "b"),
                ("08:30", "a"),
                ("09:00", "b"),
            ];
            let want: Vec<(String, String)> = want
                .iter()
                .map(|(t, k)| ((*t).to_string(), (*k).to_string()))
                .collect();
            assert_eq!(seen, want, "batch {batch}");
            assert_eq!((report.objects, report.events), (2, 8), "{report:?}");
        }
    }

    #[test]
    fn rotated_files_named_newest_first_are_read_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        log(&dir.path().join("audit.log"), "new", &["10:00", "11:00"]);
        log(&dir.path().join("audit.log.1"), "old", &["08:00", "09:00"]);
        let (seen, _) = merged(&[source(dir.path())], 8192);
        let keys: Vec<&str> = seen.iter().map(|(_, k)| k.as_str()).collect();
        assert_eq!(keys, ["old", "old", "new", "new"]);
    }

    #[test]
    fn a_bad_line_is_counted_once_and_shown_in_listing_order() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.log"), dir.path().join("b.log"));
        log(&a, "a", &["08:30", "08:40"]);
        log(&b, "b", &["08:00", "08:50"]);
        for p in [&a, &b] {
            let mut text = std::fs::read_to_string(p).unwrap();
            text.push_str("{\"time\":\"not a time\"}\n");
            std::fs::write(p, text).unwrap();
        }
        let (seen, report) = merged(&[source(&a), source(&b)], 8192);
        assert_eq!(seen.len(), 4);
        assert_eq!(report.bad_lines, 2, "{report:?}");
        let at: Vec<String> = report
            .bad_lines_shown
            .iter()
            .map(|b| {
                format!(
                    "{}:{}",
                    Path::new(&*b.file).file_name().unwrap().to_string_lossy(),
                    b.line
                )
            })
            .collect();
        assert_eq!(at, ["a.log:3", "b.log:3"]);
    }

    #[test]
    fn the_consumers_error_stops_every_reader_and_is_returned() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.log"), dir.path().join("b.log"));
        let many: Vec<String> = (0..600)
            .map(|m| format!("{:02}:{:02}", 8 + m / 60, m % 60))
            .collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        log(&a, "a", &many);
        log(&b, "b", &many);
        let opts = IngestOptions {
            batch_size: 10,
            ..IngestOptions::default()
        };
        let mut batches = 0;
        let r = read_merged(&[source(&a), source(&b)], &opts, rt().handle(), &mut |_| {
            batches += 1;
            if batches == 3 {
                Err("the replay stopped".into())
            } else {
                Ok(())
            }
        });
        assert!(
            matches!(r, Err(IngestError::Consumer(ref m)) if m == "the replay stopped"),
            "{r:?}"
        );
        assert_eq!(batches, 3);
    }

    #[test]
    fn an_object_that_cannot_be_read_stops_the_merge_or_is_listed_with_keep_going() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.log"), dir.path().join("b.log"));
        log(&a, "a", &["08:00", "08:10"]);
        std::fs::write(&b, "this is no access log format tierd knows\n").unwrap();
        let sources = [source(&a), source(&b)];
        let mut n = 0;
        let r = read_merged(
            &sources,
            &IngestOptions::default(),
            rt().handle(),
            &mut |e| {
                n += e.len();
                Ok(())
            },
        );
        assert!(
            matches!(r, Err(IngestError::UnknownFormat { ref object }) if object.ends_with("b.log")),
            "{r:?}"
        );
        let opts = IngestOptions {
            keep_going: true,
            ..IngestOptions::default()
        };
        let report = read_merged(&sources, &opts, rt().handle(), &mut |_| Ok(())).unwrap();
        assert_eq!(report.events, 2);
        assert_eq!(report.unreadable.len(), 1, "{report:?}");
        assert!(report.unreadable[0].contains("b.log"), "{report:?}");
    }

    #[test]
    fn objects_without_a_first_time_are_read_one_after_another_beside_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // More than the 64 KiB head of lines that are no event, then events: no first time.
        let untimed = |name: &str, key: &str, times: &[&str]| {
            log(&d.join("events.tmp"), key, times);
            let events = std::fs::read_to_string(d.join("events.tmp")).unwrap();
            std::fs::write(d.join(name), "not an event\n".repeat(6_000) + &events).unwrap();
        };
        untimed("u1.log", "u1", &["08:00", "09:00"]);
        untimed("u2.log", "u2", &["08:30"]);
        log(&d.join("t.log"), "t", &["08:15", "08:45"]);
        std::fs::remove_file(d.join("events.tmp")).unwrap();
        let opts = IngestOptions {
            format: Some(Format::Ndjson),
            ..IngestOptions::default()
        };
        let sources: Vec<String> = ["u1.log", "u2.log", "t.log"]
            .iter()
            .map(|n| source(&d.join(n)))
            .collect();
        let mut seen = Vec::new();
        let report = read_merged(&sources, &opts, rt().handle(), &mut |b| {
            seen.extend(b.into_iter().map(|e| e.key.unwrap_or_default()));
            Ok(())
        })
        .unwrap();
        // u2 opens only once u1 is done.
        assert_eq!(seen, ["u1", "t", "t", "u1", "u2"]);
        assert_eq!(report.bad_lines, 12_000);
    }

    #[test]
    fn a_cloudtrail_documents_first_time_is_read_from_its_head() {
        let head = r#"{"Records":[{"eventVersion":"1.08","eventTime" : "2026-11-02T08:10:00Z","eventSource":"s3.amazonaws.com"},{"eventTime":"2026-11-02T08:05:00Z"},{"eventTime":"2026-11-0"#;
        let times: Vec<i64> = cloudtrail_times(head).collect();
        let at = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .timestamp_micros()
        };
        assert_eq!(
            times,
            [at("2026-11-02T08:10:00Z"), at("2026-11-02T08:05:00Z")]
        );
    }
}
