//! The resume rules over real files (rotation by rename, compression, `copytruncate`, a file
//! rewritten in place, a short file, a copy, a gzip whose writer pauses), and the plan over
//! files described by hand where the file system cannot be made to (an inode reused, a file
//! left unchanged for minutes).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::*;
use crate::ingest::testing::*;
use crate::ingest::{IngestOptions, IngestReport, source};
use crate::journal::Journal;

/// Options as the service's: files are followed.
fn follow() -> IngestOptions {
    IngestOptions {
        follow: true,
        ..IngestOptions::default()
    }
}

/// Lines `from..to`, each with its newline.
fn lines(from: usize, to: usize) -> String {
    (from..to).map(|i| log_line(i) + "\n").collect()
}

/// The keys of lines `from..to`.
fn keys_of(from: usize, to: usize) -> Vec<String> {
    (from..to).map(|i| format!("logs/{i:06}")).collect()
}

/// A folder of logs and a journal beside it.
struct Logs {
    _dir: tempfile::TempDir,
    logs: PathBuf,
    db: PathBuf,
}

impl Logs {
    fn new() -> Logs {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        std::fs::create_dir(&logs).unwrap();
        let db = dir.path().join("j.db");
        Logs {
            _dir: dir,
            logs,
            db,
        }
    }

    /// A folder whose `name` holds lines `0..n`, read by a first pass.
    fn read(name: &str, n: usize) -> (Logs, PathBuf) {
        let l = Logs::new();
        let log = l.file(name);
        std::fs::write(&log, lines(0, n)).unwrap();
        assert_eq!(l.pass().0, keys_of(0, n));
        (l, log)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.logs.join(name)
    }

    /// One more pass reads nothing and skips `skipped` files.
    fn nothing_new(&self, skipped: u64) {
        nothing_new(&self.logs, &self.db, &follow(), skipped);
    }

    /// One followed pass over the folder: the keys read, in order, and the report.
    fn pass(&self) -> (Vec<String>, IngestReport) {
        let (events, report) = ingest(&self.logs, &self.db, &follow());
        (keys(&events), report)
    }

    fn checkpoint(&self, name: &str) -> Option<Checkpoint> {
        let source = self.logs.display().to_string();
        let object = self.file(name).display().to_string();
        Journal::open(&self.db)
            .unwrap()
            .checkpoint(&source, &object)
            .unwrap()
    }
}

#[test]
fn a_log_renamed_by_rotation_is_read_on_from_its_checkpoint_and_its_successor_from_its_start() {
    let (l, log) = Logs::read("access.log", 20);
    // Written after that pass, then rotated: `mv access.log access.log.1`, a new access.log.
    append(&log, lines(20, 25));
    std::fs::rename(&log, l.file("access.log.1")).unwrap();
    std::fs::write(&log, lines(100, 110)).unwrap();
    let (read, report) = l.pass();
    // access.log (new) from its start, then access.log.1 from where access.log was left.
    assert_eq!(read, [keys_of(100, 110), keys_of(20, 25)].concat());
    assert_eq!(report.bad_lines, 0);
    assert!(l.checkpoint("access.log.1").is_some());
    l.nothing_new(2);
}

#[test]
fn a_rotated_log_compressed_under_a_new_name_is_not_read_again() {
    let (l, log) = Logs::read("access.log", 30);
    let (one, two) = (l.file("access.log.1"), l.file("access.log.2.gz"));
    std::fs::rename(&log, &one).unwrap();
    std::fs::write(&log, "").unwrap();
    assert!(l.pass().0.is_empty());
    // The writer still had access.log.1 open (delaycompress) and wrote three more lines.
    append(&one, lines(30, 33));
    // `gzip access.log.1` has begun: access.log.2.gz holds part of it, access.log.1 is there.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(lines(0, 20).as_bytes()).unwrap();
    gz.flush().unwrap();
    std::fs::write(&two, gz.get_ref()).unwrap();
    let (read, report) = l.pass();
    assert_eq!(
        read,
        keys_of(30, 33),
        "access.log.1 is read on; its copy waits"
    );
    assert_eq!(report.objects_waiting, 1);
    // gzip is done: access.log.1 is gone.
    gz.write_all(lines(20, 33).as_bytes()).unwrap();
    std::fs::write(&two, gz.finish().unwrap()).unwrap();
    std::fs::remove_file(&one).unwrap();
    let (read, report) = l.pass();
    assert!(read.is_empty(), "{read:?}");
    assert_eq!((report.bad_lines, report.objects_waiting), (0, 0));
    let cp = l.checkpoint("access.log.2.gz").unwrap();
    assert!(cp.complete, "{cp:?}");
    assert_eq!(cp.lines_done, 33);
    assert_eq!(l.checkpoint("access.log.1"), None, "moved, not copied");
    l.nothing_new(2);
}

#[test]
fn copytruncate_reads_the_copy_on_from_the_checkpoint_and_the_emptied_file_from_its_start() {
    let (l, log) = Logs::read("access.log", 20);
    append(&log, lines(20, 23));
    // logrotate's copytruncate: copy, then empty the file in place (same inode); the writer
    // goes on writing to it.
    std::fs::copy(&log, l.file("access.log.1")).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&log, lines(200, 204));
    let (read, _) = l.pass();
    assert_eq!(read, [keys_of(200, 204), keys_of(20, 23)].concat());
    assert!(l.pass().0.is_empty());
}

#[test]
fn a_file_rewritten_in_place_with_other_content_is_read_from_its_start() {
    // Same name, same inode, other content: what a new file reusing the inode looks like.
    let (l, log) = Logs::read("a.log", 10);
    std::fs::write(&log, lines(300, 330)).unwrap();
    assert_eq!(l.pass().0, keys_of(300, 330));
}

#[test]
fn a_short_file_is_known_by_all_that_was_read_of_it_as_it_grows() {
    let (l, log) = Logs::read("access.log", 1);
    let cp = l.checkpoint("access.log").unwrap();
    assert!(cp.bytes_done < HEAD_BYTES as u64);
    assert_eq!(cp.head.as_ref().map(|h| h.len), Some(cp.bytes_done));
    // It grows (still shorter than the fingerprint), then is rotated.
    append(&log, lines(1, 3));
    assert_eq!(l.pass().0, keys_of(1, 3));
    let cp = l.checkpoint("access.log").unwrap();
    assert_eq!(cp.head.as_ref().map(|h| h.len), Some(cp.bytes_done));
    append(&log, lines(3, 4));
    std::fs::rename(&log, l.file("access.log.1")).unwrap();
    std::fs::write(&log, lines(50, 51)).unwrap();
    assert_eq!(l.pass().0, [keys_of(50, 51), keys_of(3, 4)].concat());
    // Past the fingerprint's length, it stays the first KiB.
    append(&l.file("access.log.1"), lines(4, 40));
    assert_eq!(l.pass().0, keys_of(4, 40));
    let cp = l.checkpoint("access.log.1").unwrap();
    assert_eq!(cp.head.map(|h| h.len), Some(HEAD_BYTES as u64));
}

#[test]
fn a_file_whose_first_line_is_unfinished_has_no_fingerprint_and_is_read_whole_once_renamed() {
    let l = Logs::new();
    let log = l.file("access.log");
    let first = log_line(0);
    std::fs::write(&log, &first[..40]).unwrap();
    assert!(l.pass().0.is_empty());
    assert_eq!(l.checkpoint("access.log").and_then(|c| c.head), None);
    append(&log, format!("{}\n", &first[40..]));
    std::fs::rename(&log, l.file("access.log.1")).unwrap();
    assert_eq!(l.pass().0, keys_of(0, 1), "nothing of it was read before");
}

#[test]
fn a_copy_of_a_followed_file_is_not_given_its_checkpoint_while_the_file_is_there() {
    let (l, _) = Logs::read("a.log", 20);
    // The same first KiB, then lines of its own.
    let head = lines(0, 15);
    assert!(head.len() > HEAD_BYTES);
    std::fs::write(l.file("b.log"), head + &lines(500, 505)).unwrap();
    let (read, report) = l.pass();
    assert!(read.is_empty(), "{read:?}");
    assert_eq!((report.objects_skipped, report.objects_waiting), (1, 1));
    assert_eq!(l.checkpoint("b.log"), None);
    // Once it has been left alone for a while it is a file of its own: see
    // `a_file_with_the_head_of_another_that_holds_its_checkpoint_waits_only_while_it_changes`.
}

#[test]
fn a_checkpoint_saved_before_fingerprints_gets_one_and_then_follows_a_rename() {
    let (l, log) = Logs::read("access.log", 10);
    // As an older tierd saved it: no fingerprint, no stamp.
    let mut cp = l.checkpoint("access.log").unwrap();
    (cp.head, cp.stamp) = (None, None);
    Journal::open(&l.db)
        .unwrap()
        .save_checkpoints(std::slice::from_ref(&cp))
        .unwrap();
    assert!(l.pass().0.is_empty(), "held by its inode");
    assert!(l.checkpoint("access.log").unwrap().head.is_some());
    std::fs::rename(&log, l.file("access.log.1")).unwrap();
    std::fs::write(&log, lines(10, 12)).unwrap();
    assert_eq!(l.pass().0, keys_of(10, 12));
}

#[test]
fn a_damaged_gzip_whose_writer_resumes_is_read_on_without_counting_a_line_or_the_break_twice() {
    let dir = tempfile::tempdir().unwrap();
    let (log, db) = (dir.path().join("access.log.1.gz"), dir.path().join("j.db"));
    let total = 20_000;
    let whole = gzip(log_text(total).as_bytes(), flate2::Compression::default());
    let half = whole.len() / 2;
    // The writer paused long enough for the file to be taken as damaged.
    std::fs::write(&log, &whole[..half]).unwrap();
    set_modified(&log, source::GZIP_WRITE_QUIET + Duration::from_secs(5));
    let (n, _) = ingest_damaged_file(&log, &db, &follow());
    assert!(n > 0 && n < total);
    // Its times change, its bytes do not: still the same break, not reported again.
    set_modified(&log, source::GZIP_WRITE_QUIET + Duration::from_secs(1));
    let (again, report) = ingest(&log, &db, &follow());
    assert!(again.is_empty());
    assert_eq!((report.objects, report.bad_lines), (1, 0));
    // The writer resumes and finishes: the lines after those read, once.
    append(&log, &whole[half..]);
    let (rest, report) = ingest(&log, &db, &follow());
    assert_eq!(keys(&rest), first_keys(total)[n..]);
    assert_eq!(rest.first().map(|e| e.origin.line), Some(n as u64 + 1));
    assert_eq!(report.bad_lines, 0, "{:?}", report.bad_lines_shown);
    nothing_new(&log, &db, &follow(), 1);
}

#[test]
fn a_damaged_cloudtrail_gzip_whose_writer_resumes_gives_the_document_it_cut_once() {
    let rec = |k: usize| {
        format!(
            r#"{{"eventVersion":"1.09","eventTime":"2026-11-02T08:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","requestParameters":{{"bucketName":"b","key":"k{k}"}}}}"#
        )
    };
    // Pretty-printed documents, four lines each: a break inside one cuts it over lines.
    let doc = |d: usize| {
        format!(
            "{{\"Records\":[\n{},\n{}\n]}}\n",
            rec(2 * d),
            rec(2 * d + 1)
        )
    };
    let text: String = (0..3).map(doc).collect();
    let cut = text.len() - doc(2).len() / 2;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&text.as_bytes()[..cut]).unwrap();
    gz.flush().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (log, db) = (dir.path().join("trail.json.gz"), dir.path().join("j.db"));
    std::fs::write(&log, gz.get_ref()).unwrap();
    set_modified(&log, source::GZIP_WRITE_QUIET + Duration::from_secs(5));
    let keys_of_records = |events: &[models::AccessEvent]| -> Vec<(String, u64)> {
        events
            .iter()
            .map(|e| (e.key.clone().unwrap(), e.origin.line))
            .collect()
    };
    let (first, report) = ingest(&log, &db, &follow());
    assert_eq!(
        keys_of_records(&first),
        [("k0", 2), ("k1", 3), ("k2", 6), ("k3", 7)].map(|(k, l)| (k.to_string(), l))
    );
    assert_eq!(
        report.bad_lines, 1,
        "only the break: {:?}",
        report.bad_lines_shown
    );
    assert_eq!(report.bad_lines_shown[0].line, 9);
    gz.write_all(&text.as_bytes()[cut..]).unwrap();
    std::fs::write(&log, gz.finish().unwrap()).unwrap();
    let (rest, report) = ingest(&log, &db, &follow());
    assert_eq!(
        keys_of_records(&rest),
        [("k4", 10), ("k5", 11)].map(|(k, l)| (k.to_string(), l))
    );
    assert_eq!(report.bad_lines, 0, "{:?}", report.bad_lines_shown);
}

/// A local file as listed, for plans over files described by hand.
fn listed(name: &str, inode: u64, size: u64, changed_ago: Duration) -> LogObject {
    let now = SystemTime::now();
    LogObject {
        source: "/logs".into(),
        name: Arc::from(format!("/logs/{name}")),
        identity: format!("inode:1:{inode}"),
        size,
        stamp: Some(format!("{size}:{inode}")),
        changed: Some(now - changed_ago),
        location: source::Location::File(PathBuf::from(format!("/logs/{name}"))),
    }
}

/// A checkpoint of `name` read `text.len()` bytes far.
fn read_as(obj: &LogObject, text: &str) -> Checkpoint {
    Checkpoint {
        source: "/logs".into(),
        object: obj.name.to_string(),
        identity: obj.identity.clone(),
        bytes_done: text.len() as u64,
        lines_done: text.lines().count() as u64,
        complete: false,
        head: fingerprint(text.as_bytes(), text.len() as u64),
        stamp: obj.stamp.clone(),
        break_reported: false,
    }
}

/// The starts `plan` gives `objects`, whose heads are `heads`, with the number of heads read.
fn starts(objects: &[LogObject], heads: &[&str], cps: Vec<Checkpoint>) -> (Vec<Start>, usize) {
    let mut read = 0;
    let plan = plan(objects, cps, SystemTime::now(), &mut |obj| {
        read += 1;
        let i = objects.iter().position(|o| o.name == obj.name).unwrap();
        HeadRead::Read {
            bytes: heads[i].as_bytes().to_vec(),
            gzip: false,
        }
    });
    (plan.objects.iter().map(|p| p.start).collect(), read)
}

fn at(cp: &Checkpoint) -> Start {
    Start::At(cp.into())
}

const FRESH: Start = Start::At(Resume {
    bytes_done: 0,
    lines_done: 0,
    break_reported: false,
});

#[test]
fn a_file_unchanged_since_its_checkpoint_is_not_even_opened() {
    let text = lines(0, 20);
    let a = listed("a.log", 7, text.len() as u64, Duration::from_secs(600));
    let cp = read_as(&a, &text);
    assert_eq!(starts(&[a], &[&text], vec![cp]), (vec![Start::Skip], 0));
}

#[test]
fn a_new_file_reusing_a_deleted_files_inode_is_read_from_its_start() {
    let (old, new) = (lines(0, 20), lines(100, 130));
    let quiet = Duration::from_secs(600);
    // At the same name: same inode, other size, other head.
    let before = listed("a.log", 7, old.len() as u64, quiet);
    let after = listed("a.log", 7, new.len() as u64, quiet);
    let cp = read_as(&before, &old);
    assert_eq!(starts(&[after], &[&new], vec![cp.clone()]).0, [FRESH]);
    // At another name, the deleted file's name gone.
    let elsewhere = listed("b.log", 7, new.len() as u64, quiet);
    assert_eq!(starts(&[elsewhere], &[&new], vec![cp]).0, [FRESH]);
}

#[test]
fn a_file_with_the_head_of_another_that_holds_its_checkpoint_waits_only_while_it_changes() {
    let text = lines(0, 20);
    let twin = lines(0, 15) + &lines(500, 505);
    let a = listed("a.log", 7, text.len() as u64, Duration::from_secs(600));
    let cp = read_as(&a, &text);
    for (ago, want) in [(5, Start::Wait), (61, FRESH)] {
        let b = listed("b.log", 8, twin.len() as u64, Duration::from_secs(ago));
        let (got, _) = starts(&[a.clone(), b], &[&text, &twin], vec![cp.clone()]);
        assert_eq!(got, [Start::Skip, want], "changed {ago} s ago");
    }
}

#[test]
fn two_renamed_files_with_the_same_head_keep_their_checkpoints_only_by_inode() {
    let quiet = Duration::from_secs(600);
    let (x, y) = (lines(0, 20), lines(0, 15) + &lines(500, 510));
    let (a, b) = (
        listed("a.log", 7, x.len() as u64, quiet),
        listed("b.log", 8, y.len() as u64, quiet),
    );
    let cps = vec![read_as(&a, &x), read_as(&b, &y)];
    // Renamed: the inodes tell which is which.
    let (a1, b1) = (
        listed("a.log.1", 7, x.len() as u64, quiet),
        listed("b.log.1", 8, y.len() as u64, quiet),
    );
    let (got, _) = starts(&[a1, b1], &[&x, &y], cps.clone());
    assert_eq!(got, [at(&cps[0]), at(&cps[1])]);
    // Compressed (new inodes): they cannot be told apart, and neither is guessed.
    let (a2, b2) = (
        listed("a.log.2.gz", 9, 300, quiet),
        listed("b.log.2.gz", 10, 310, quiet),
    );
    let (got, _) = starts(&[a2, b2], &[&x, &y], cps);
    assert_eq!(got, [FRESH, FRESH]);
}

#[test]
fn a_file_renamed_away_while_listed_waits_and_one_that_cannot_be_read_is_not_skipped_for_good() {
    let text = lines(0, 20);
    let quiet = Duration::from_secs(600);
    let a = listed("a.log", 7, text.len() as u64, quiet);
    let b = listed("b.log.gz", 8, 100, quiet);
    // Both changed since their checkpoints; b was read to its end (its gzip stream broke).
    let (mut cp_a, mut cp_b) = (read_as(&a, &text), read_as(&b, &text));
    cp_a.stamp = Some("before".into());
    (cp_b.stamp, cp_b.complete) = (Some("before".into()), true);
    let p = plan(
        &[a.clone(), b],
        vec![cp_a, cp_b.clone()],
        SystemTime::now(),
        &mut |o| {
            if o.name == a.name {
                HeadRead::Gone
            } else {
                HeadRead::Unreadable
            }
        },
    );
    let got: Vec<Start> = p.objects.iter().map(|o| o.start).collect();
    // b is read on (and its read says why it cannot be), not skipped with its new stamp saved.
    assert_eq!(got, [Start::Wait, at(&cp_b)]);
    assert!(p.saved.is_empty() && p.gone.is_empty(), "{p:?}");
}
