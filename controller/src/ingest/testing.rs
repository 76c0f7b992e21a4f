//! What the ingest tests share: log lines that name their number, gzip, and one checkpointed
//! run over a source.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use models::AccessEvent;

use super::{IngestOptions, IngestReport, run};
use crate::journal::Journal;

/// A tierd NDJSON event line whose key names its number.
pub(super) fn log_line(i: usize) -> String {
    format!(
        r#"{{"time":"2026-11-01T10:00:00Z","op":"get","operation":"REST.GET.OBJECT","bucket":"b","key":"logs/{i:06}"}}"#
    )
}

/// Lines `0..n`, each with its newline.
pub(super) fn log_text(n: usize) -> String {
    (0..n).map(|i| log_line(i) + "\n").collect()
}

pub(super) fn gzip(data: &[u8], level: flate2::Compression) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), level);
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

/// One ingest run over `source` with the journal at `db`: the events handed on, and the
/// report.
pub(super) fn ingest(
    source: &Path,
    db: &Path,
    opts: &IngestOptions,
) -> (Vec<AccessEvent>, IngestReport) {
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

/// The keys of `events`, in order.
pub(super) fn keys(events: &[AccessEvent]) -> Vec<String> {
    events.iter().filter_map(|e| e.key.clone()).collect()
}

/// The keys of lines `0..n`.
pub(super) fn first_keys(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("logs/{i:06}")).collect()
}

/// Writes `bytes` at the end of the file at `path`.
pub(super) fn append(path: &Path, bytes: impl AsRef<[u8]>) {
    std::fs::File::options()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(bytes.as_ref())
        .unwrap();
}

/// Checks that one more run over `source` reads nothing, and skips `skipped` objects.
pub(super) fn nothing_new(source: &Path, db: &Path, opts: &IngestOptions, skipped: u64) {
    let (again, report) = ingest(source, db, opts);
    assert!(again.is_empty(), "{} events read again", again.len());
    assert_eq!(report.objects_skipped, skipped, "{report:?}");
}

pub(super) fn set_modified(path: &Path, ago: Duration) {
    std::fs::File::options()
        .append(true)
        .open(path)
        .unwrap()
        .set_modified(SystemTime::now() - ago)
        .unwrap();
}

/// Ingests a damaged gzip log twice with one journal, checks what a damaged object must give
/// (its lines before the break, as events located at their lines; one bad line just after
/// them; a checkpoint that says complete; nothing at all the second time), and returns the
/// number of lines read and the bad line's reason.
pub(super) fn ingest_damaged(dir: &Path, bytes: &[u8], opts: &IngestOptions) -> (usize, String) {
    let log = dir.join("access.log.gz");
    std::fs::write(&log, bytes).unwrap();
    ingest_damaged_file(&log, &dir.join("j.db"), opts)
}

/// [`ingest_damaged`] of a file already written.
pub(super) fn ingest_damaged_file(log: &Path, db: &Path, opts: &IngestOptions) -> (usize, String) {
    let (events, report) = ingest(log, db, opts);
    let n = events.len();
    assert_eq!(
        keys(&events),
        first_keys(n),
        "the lines before the break, in order"
    );
    assert_eq!(events.last().map(|e| e.origin.line), Some(n as u64));
    assert_eq!(report.events, n as u64);
    assert_eq!(report.bad_lines, 1, "{:?}", report.bad_lines_shown);
    assert_eq!(report.unreadable, Vec::<String>::new());
    let bad = &report.bad_lines_shown[0];
    assert_eq!(
        (&*bad.file, bad.line),
        (&*log.display().to_string(), n as u64 + 1)
    );
    let cp = Journal::open(db)
        .unwrap()
        .checkpoint(&log.display().to_string(), &log.display().to_string())
        .unwrap()
        .expect("a checkpoint");
    assert!(cp.complete, "{cp:?}");
    assert_eq!(cp.lines_done, n as u64);
    // The next run neither retries it nor counts anything twice.
    let (again, report) = ingest(log, db, opts);
    assert!(again.is_empty(), "{} events read again", again.len());
    assert_eq!(
        (report.objects, report.objects_skipped, report.bad_lines),
        (0, 1, 0)
    );
    (n, bad.reason.clone())
}
