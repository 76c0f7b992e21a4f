//! Listings over a store that counts what it lists (an idle pass lists nothing it read before; a
//! late object is read at the next full listing; expired objects' checkpoints are forgotten),
//! and the forgetting of deleted local files' checkpoints (a rotated file's is kept).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::memory::InMemory;
use object_store::path::Path as StorePath;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, PutResult,
};

use super::*;
use crate::ingest::testing::*;
use crate::ingest::{IngestOptions, IngestReport, run_with};

/// A store that counts the objects its listings return (S3 returns 1,000 a LIST request).
#[derive(Debug)]
struct Counting {
    inner: InMemory,
    listed: Arc<AtomicUsize>,
}

impl std::fmt::Display for Counting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Counting")
    }
}

#[async_trait]
impl ObjectStore for Counting {
    async fn put_opts(
        &self,
        location: &StorePath,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &StorePath,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &StorePath,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<StorePath>>,
    ) -> BoxStream<'static, object_store::Result<StorePath>> {
        self.inner.delete_stream(locations)
    }

    fn list(
        &self,
        prefix: Option<&StorePath>,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let listed = Arc::clone(&self.listed);
        self.inner
            .list(prefix)
            .inspect(move |_| {
                listed.fetch_add(1, Ordering::SeqCst);
            })
            .boxed()
    }

    fn list_with_offset(
        &self,
        prefix: Option<&StorePath>,
        offset: &StorePath,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        // As S3's StartAfter: the objects before the offset are never returned.
        let listed = Arc::clone(&self.listed);
        self.inner
            .list_with_offset(prefix, offset)
            .inspect(move |_| {
                listed.fetch_add(1, Ordering::SeqCst);
            })
            .boxed()
    }

    async fn list_with_delimiter(
        &self,
        prefix: Option<&StorePath>,
    ) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &StorePath,
        to: &StorePath,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

const SOURCE: &str = "s3://access-logs/photos/";

/// A log bucket behind a counting store, a journal, and the memory of one process.
struct Bucket {
    _dir: tempfile::TempDir,
    store: Arc<Counting>,
    listed: Arc<AtomicUsize>,
    journal: Journal,
    listings: Listings,
    rt: tokio::runtime::Runtime,
}

impl Bucket {
    fn new() -> Bucket {
        let dir = tempfile::tempdir().unwrap();
        let listed = Arc::new(AtomicUsize::new(0));
        let store = Arc::new(Counting {
            inner: InMemory::new(),
            listed: Arc::clone(&listed),
        });
        let journal = Journal::open(&dir.path().join("j.db")).unwrap();
        let mut b = Bucket {
            _dir: dir,
            store,
            listed,
            journal,
            listings: Listings::default(),
            rt: tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap(),
        };
        b.restart();
        b
    }

    /// A new process: nothing remembered.
    fn restart(&mut self) {
        self.listings = Listings::default();
        let store: Arc<dyn ObjectStore> = self.store.clone();
        self.listings.use_store(SOURCE, store, "photos/");
    }

    /// Log object `photos/NAME` holding lines `from..to`.
    fn put(&self, name: &str, from: usize, to: usize) {
        let body: String = (from..to).map(|i| log_line(i) + "\n").collect();
        let p = StorePath::from(format!("photos/{name}"));
        self.rt
            .block_on(self.store.put(&p, PutPayload::from(body.into_bytes())))
            .unwrap();
    }

    fn delete(&self, name: &str) {
        let p = StorePath::from(format!("photos/{name}"));
        self.rt.block_on(self.store.delete(&p)).unwrap();
    }

    /// One pass as the service's (checkpoints deferred, then saved): the keys read, how many
    /// objects the listing returned, and the report.
    fn pass(&mut self) -> (Vec<String>, usize, IngestReport) {
        let opts = IngestOptions {
            follow: true,
            keep_going: true,
            defer_checkpoints: true,
            ..IngestOptions::default()
        };
        let before = self.listed.load(Ordering::SeqCst);
        let mut events = Vec::new();
        let report = run_with(
            &[SOURCE.to_string()],
            &opts,
            self.rt.handle(),
            Some(&mut self.journal),
            &mut self.listings,
            &mut |batch| {
                events.extend(batch);
                Ok(())
            },
        )
        .unwrap();
        self.journal.save_checkpoints(&report.checkpoints).unwrap();
        let listed = self.listed.load(Ordering::SeqCst) - before;
        (keys(&events), listed, report)
    }

    fn checkpoints(&mut self) -> Vec<String> {
        (self.journal.checkpoints_of(SOURCE).unwrap().into_iter())
            .map(|c| c.object)
            .collect()
    }
}

fn keys_of(from: usize, to: usize) -> Vec<String> {
    (from..to).map(|i| format!("logs/{i:06}")).collect()
}

#[test]
fn an_idle_pass_lists_no_log_object_it_read_before_and_a_new_one_alone() {
    let mut b = Bucket::new();
    for i in 0..30 {
        b.put(&format!("2026-11-02-08-{i:02}-00-A1B2"), i * 2, i * 2 + 2);
    }
    let (read, listed, _) = b.pass();
    assert_eq!(read, keys_of(0, 60));
    assert_eq!(listed, 30, "the first pass lists the bucket whole");
    for _ in 0..2 {
        let (read, listed, _) = b.pass();
        assert!(read.is_empty());
        assert_eq!(listed, 0, "an idle pass lists nothing read before");
    }
    b.put("2026-11-02-09-00-00-C3D4", 60, 65);
    let (read, listed, r) = b.pass();
    assert_eq!(read, keys_of(60, 65));
    assert_eq!((listed, r.objects), (1, 1), "the new object alone");
    assert_eq!(b.pass().1, 0);

    // A restart lists whole once, reads nothing, and is idle again.
    b.restart();
    let (read, listed, r) = b.pass();
    assert_eq!((read.len(), listed, r.objects_skipped), (0, 31, 31));
    assert_eq!(b.pass().1, 0);
}

#[test]
fn a_log_object_delivered_late_under_an_earlier_key_is_read_at_the_next_full_listing() {
    let mut b = Bucket::new();
    b.put("2026-11-02-08-00-00-AAAA", 0, 5);
    b.put("2026-11-02-10-00-00-CCCC", 5, 10);
    assert_eq!(b.pass().0, keys_of(0, 10));
    assert_eq!(b.pass().1, 0);
    // S3 delivers its access logs best effort: one named 09:00 arrives after the 10:00 one.
    b.put("2026-11-02-09-00-00-BBBB", 10, 15);
    let (read, listed, _) = b.pass();
    assert_eq!(
        (read.len(), listed),
        (0, 0),
        "not listed between full listings"
    );
    // The full listing (due every FULL_LISTING_EVERY) finds and reads it, once.
    b.listings.list_whole_next();
    let (read, listed, r) = b.pass();
    assert_eq!(read, keys_of(10, 15));
    assert_eq!((listed, r.objects, r.objects_skipped), (3, 1, 2));
    assert_eq!(b.pass().1, 0);
    b.listings.list_whole_next();
    assert!(b.pass().0.is_empty(), "nothing read twice");
}

#[test]
fn an_unreadable_log_object_is_listed_and_retried_at_every_pass() {
    let mut b = Bucket::new();
    b.put("2026-11-02-08-00-00-AAAA", 0, 5);
    let p = StorePath::from("photos/2026-11-02-09-00-00-BBBB");
    b.rt.block_on(
        b.store
            .put(&p, PutPayload::from_static(b"\x1f\x8b\x08\0garbage")),
    )
    .unwrap();
    b.put("2026-11-02-10-00-00-CCCC", 5, 10);
    let (read, _, r) = b.pass();
    assert_eq!((read, r.unreadable.len()), (keys_of(0, 10), 1));
    // The listing starts after the first object only: the broken one is retried every pass.
    let (read, listed, r) = b.pass();
    assert_eq!((read.len(), listed, r.unreadable.len()), (0, 2, 1));
    b.rt.block_on(b.store.put(&p, PutPayload::from(log_text(1).into_bytes())))
        .unwrap();
    let (read, _, r) = b.pass();
    assert_eq!((read, r.unreadable.len()), (keys_of(0, 1), 0));
    b.pass();
    assert_eq!(b.pass().1, 0);
}

#[test]
fn the_checkpoints_of_expired_log_objects_are_forgotten_at_a_full_listing() {
    let mut b = Bucket::new();
    for i in 0..5 {
        b.put(&format!("2026-11-0{}-08-00-00-AAAA", i + 1), i, i + 1);
    }
    b.pass();
    assert_eq!(b.checkpoints().len(), 5);
    b.delete("2026-11-01-08-00-00-AAAA");
    b.delete("2026-11-02-08-00-00-AAAA");
    b.pass();
    assert_eq!(
        b.checkpoints().len(),
        5,
        "only a full listing tells what is gone"
    );
    b.listings.list_whole_next();
    let (read, _, _) = b.pass();
    assert!(read.is_empty());
    assert_eq!(
        b.checkpoints(),
        ["03", "04", "05"].map(|d| format!("s3://access-logs/photos/2026-11-{d}-08-00-00-AAAA"))
    );
    // Everything gone: an empty listing forgets nothing (it may be the wrong store).
    for d in ["03", "04", "05"] {
        b.delete(&format!("2026-11-{d}-08-00-00-AAAA"));
    }
    b.listings.list_whole_next();
    b.pass();
    assert_eq!(b.checkpoints().len(), 3);
}

/// A folder of logs, a journal, and one process's memory.
struct Folder {
    _dir: tempfile::TempDir,
    logs: std::path::PathBuf,
    journal: Journal,
}

impl Folder {
    fn new() -> Folder {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        std::fs::create_dir(&logs).unwrap();
        let journal = Journal::open(&dir.path().join("j.db")).unwrap();
        Folder {
            _dir: dir,
            logs,
            journal,
        }
    }

    fn pass(&mut self) -> Vec<String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let opts = IngestOptions {
            follow: true,
            ..IngestOptions::default()
        };
        let mut events = Vec::new();
        run_with(
            &[self.logs.display().to_string()],
            &opts,
            rt.handle(),
            Some(&mut self.journal),
            &mut Listings::default(),
            &mut |batch| {
                events.extend(batch);
                Ok(())
            },
        )
        .unwrap();
        keys(&events)
    }

    fn checkpoints(&mut self) -> Vec<String> {
        let source = self.logs.display().to_string();
        (self.journal.checkpoints_of(&source).unwrap().into_iter())
            .map(|c| c.object.rsplit('/').next().unwrap().to_string())
            .collect()
    }
}

#[test]
fn the_checkpoints_of_deleted_log_files_are_forgotten_and_a_rotated_files_follows_it() {
    let mut f = Folder::new();
    for (i, name) in ["a.log", "b.log", "c.log", "access.log"].iter().enumerate() {
        std::fs::write(f.logs.join(name), log_text(i * 3 + 3)).unwrap();
    }
    f.pass();
    assert_eq!(f.checkpoints(), ["a.log", "access.log", "b.log", "c.log"]);
    std::fs::remove_file(f.logs.join("a.log")).unwrap();
    std::fs::remove_file(f.logs.join("b.log")).unwrap();
    // Rotated by rename, with more lines appended before: its checkpoint follows it.
    let old = f.logs.join("access.log");
    append(&old, log_line(99) + "\n");
    std::fs::rename(&old, f.logs.join("access.log.1")).unwrap();
    assert_eq!(f.pass(), ["logs/000099"], "read on, not again");
    assert_eq!(f.checkpoints(), ["access.log.1", "c.log"]);
    assert!(f.pass().is_empty());
    assert_eq!(f.checkpoints(), ["access.log.1", "c.log"]);
}

#[test]
fn a_compressed_copy_takes_its_originals_checkpoint_over_while_a_deleted_files_is_forgotten() {
    let mut f = Folder::new();
    let log = f.logs.join("access.log");
    std::fs::write(&log, log_text(10)).unwrap();
    f.pass();
    // `gzip access.log` under way: the copy is there, the original not yet removed, and
    // a pass sees the copy wait; meanwhile another file is deleted.
    std::fs::write(
        f.logs.join("access.log.gz"),
        gzip(log_text(10).as_bytes(), flate2::Compression::fast()),
    )
    .unwrap();
    std::fs::write(f.logs.join("other.log"), log_line(50) + "\n").unwrap();
    f.pass();
    std::fs::remove_file(f.logs.join("other.log")).unwrap();
    std::fs::remove_file(&log).unwrap();
    // The compressed copy takes the checkpoint over: nothing read again.
    assert!(f.pass().is_empty());
    assert_eq!(f.checkpoints(), ["access.log.gz"]);
}

#[test]
fn a_deleted_files_checkpoint_is_kept_while_a_rotation_may_be_under_way() {
    let mut f = Folder::new();
    for name in ["a.log", "b.log"] {
        std::fs::write(f.logs.join(name), log_text(1)).unwrap();
    }
    let source = f.logs.display().to_string();
    let gone = Checkpoint {
        source: source.clone(),
        object: f.logs.join("gone.log").display().to_string(),
        identity: "inode:1:2".into(),
        bytes_done: 10,
        lines_done: 1,
        complete: false,
        head: None,
        stamp: None,
        break_reported: false,
    };
    f.journal
        .save_checkpoints(std::slice::from_ref(&gone))
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let name = |n: &str| f.logs.join(n).display().to_string();
    let a_only: HashSet<String> = [name("a.log")].into();
    let both: HashSet<String> = [name("a.log"), name("b.log")].into();
    let forget = |f: &mut Folder, listed: &HashSet<String>, waited: bool| {
        let orphans = vec![gone.clone()];
        forget_files(
            &source,
            orphans,
            listed,
            waited,
            rt.handle(),
            &mut f.journal,
        )
        .unwrap()
    };
    // b.log appeared after the pass listed: it may be gone.log renamed, not yet taken over.
    assert_eq!(forget(&mut f, &a_only, false), 0);
    // A file of the pass waited (a copy or compression under way).
    assert_eq!(forget(&mut f, &both, true), 0);
    // The pass listed nothing (a file system not mounted).
    assert_eq!(forget(&mut f, &HashSet::new(), false), 0);
    assert_eq!(f.checkpoints(), ["gone.log"]);
    assert_eq!(forget(&mut f, &both, false), 1);
    assert!(f.checkpoints().is_empty());
}
