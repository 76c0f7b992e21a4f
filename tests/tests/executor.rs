//! The move protocol and snapshots, through one conformance suite run against the local
//! filesystem and a real S3 server (moto), plus fault injection: a source that changes
//! mid-move, a destination that is taken, a store that fails or is down.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics reports its failure

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use harness::faults::FaultyStore;
use harness::{S3Server, names_in};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::{MultipartId, ObjectStore, ObjectStoreExt, PutPayload};
use tierd::config::TierConfig;
use tierd::executor::copy::{CopyTuning, Version};
use tierd::executor::{Executor, ExecutorConfig, MoveOutcome, MoveRequest};
use tierd::journal::Journal;
use tierd::snapshot::{self, RestoreOptions};
use tierd::tier::{TierStores, Tiers};

/// A source version known by its size alone (no etag), as a crashed move's intent may hold.
fn version(size: u64) -> Version<'static> {
    Version { etag: None, size }
}

/// An executor over the tiers `hot` and `cold`, journalled in `dir`, with small parts.
fn hot_cold_executor(
    hot: Arc<dyn ObjectStore>,
    cold: Arc<dyn ObjectStore>,
    dir: &std::path::Path,
) -> Executor {
    let tiers = vec![("hot".into(), hot), ("cold".into(), cold)];
    executor(Tiers::from_stores(tiers), dir, small_parts())
}

fn small_parts() -> ExecutorConfig {
    ExecutorConfig {
        // Objects over 5 MiB use multipart with 5 MiB parts (the S3 minimum), so the large-object
        // path is exercised without hundreds of megabytes.
        tuning: CopyTuning {
            multipart_threshold: 5 * 1024 * 1024,
            part_size: 5 * 1024 * 1024,
            parts_in_flight: 2,
        },
        base_backoff: Duration::from_millis(10),
        ..ExecutorConfig::default()
    }
}

fn executor(tiers: Tiers, dir: &std::path::Path, cfg: ExecutorConfig) -> Executor {
    let j = Journal::open(&dir.join("tierd.db")).unwrap();
    Executor::new(Arc::new(tiers), Arc::new(Mutex::new(j)), cfg)
}

fn data(n: usize, seed: u8) -> Bytes {
    Bytes::from(
        (0..n)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect::<Vec<_>>(),
    )
}

async fn read(store: &Arc<dyn ObjectStore>, p: &str) -> Option<Bytes> {
    match store.get(&Path::from(p)).await {
        Ok(r) => Some(r.bytes().await.unwrap()),
        Err(object_store::Error::NotFound { .. }) => None,
        Err(e) => panic!("{e}"),
    }
}

fn req(key: &str, to: &str) -> MoveRequest {
    MoveRequest {
        decision_id: format!("test-{key}"),
        bucket: "photos".into(),
        key: key.into(),
        to: to.into(),
    }
}

/// The suite: `hot` and `cold` are two tier roots; objects live under `photos/`. An S3 tier
/// comes with its multipart API, so large copies there journal their uploads.
async fn conformance(name: &str, hot: TierStores, cold: TierStores, vault: TierStores) {
    let dir = tempfile::tempdir().unwrap();
    let mut tiers = Tiers::from_stores(vec![
        ("hot".into(), hot.store.clone()),
        ("cold".into(), cold.store.clone()),
        ("vault".into(), vault.store.clone()),
    ]);
    for (tier, stores) in [("hot", &hot), ("cold", &cold), ("vault", &vault)] {
        if let Some(uploads) = &stores.uploads {
            tiers = tiers.with_uploads(tier, uploads.clone());
        }
    }
    let (hot, cold, vault) = (hot.store, cold.store, vault.store);
    let ex = executor(tiers, dir.path(), small_parts());
    let small = data(70_000, 1);
    let large = data(12 * 1024 * 1024 + 17, 2);
    hot.put(&Path::from("photos/a.jpg"), PutPayload::from(small.clone()))
        .await
        .unwrap();
    hot.put(
        &Path::from("photos/big/video.mp4"),
        PutPayload::from(large.clone()),
    )
    .await
    .unwrap();
    assert_eq!(
        ex.scan("photos", "").await.unwrap(),
        2,
        "{name}: the scan finds both objects"
    );

    // Out and back, small and multipart-sized.
    let out = ex
        .apply(vec![req("a.jpg", "cold"), req("big/video.mp4", "cold")])
        .await;
    for (r, o) in &out {
        assert!(
            matches!(o, MoveOutcome::Done { .. }),
            "{name}: {} -> {o:?}",
            r.key
        );
    }
    assert_eq!(
        read(&cold, "photos/a.jpg").await,
        Some(small.clone()),
        "{name}"
    );
    assert_eq!(
        read(&cold, "photos/big/video.mp4").await,
        Some(large.clone()),
        "{name}"
    );
    assert_eq!(
        read(&hot, "photos/a.jpg").await,
        None,
        "{name}: the source is gone after a verified copy"
    );
    assert_eq!(
        ex.journal()
            .locate("photos", "big/video.mp4")
            .unwrap()
            .unwrap()
            .tier,
        "cold"
    );
    let back = ex.move_object(&req("big/video.mp4", "hot")).await;
    assert!(
        matches!(back, MoveOutcome::Done { .. }),
        "{name}: recall {back:?}"
    );
    assert_eq!(
        read(&hot, "photos/big/video.mp4").await,
        Some(large.clone()),
        "{name}"
    );
    assert_eq!(read(&cold, "photos/big/video.mp4").await, None, "{name}");

    // Already there: skipped, nothing touched.
    let again = ex.move_object(&req("a.jpg", "cold")).await;
    assert!(
        matches!(again, MoveOutcome::Skipped(_)),
        "{name}: {again:?}"
    );

    // A destination that already holds something: aborted, both objects untouched.
    hot.put(
        &Path::from("photos/c.txt"),
        PutPayload::from_static(b"source"),
    )
    .await
    .unwrap();
    ex.scan("photos", "c.txt").await.unwrap();
    cold.put(
        &Path::from("photos/c.txt"),
        PutPayload::from_static(b"somebody else's"),
    )
    .await
    .unwrap();
    let taken = ex.move_object(&req("c.txt", "cold")).await;
    assert!(
        matches!(taken, MoveOutcome::Aborted(ref w) if w.contains("never overwrites")),
        "{name}: {taken:?}"
    );
    assert_eq!(
        read(&hot, "photos/c.txt").await.as_deref(),
        Some(&b"source"[..])
    );
    assert_eq!(
        read(&cold, "photos/c.txt").await.as_deref(),
        Some(&b"somebody else's"[..])
    );

    // Snapshot, corrupt nothing, restore elsewhere: byte-identical.
    let snap = snapshot::create(&ex, "vault", "photos", "", &format!("s1-{name}"))
        .await
        .unwrap();
    assert_eq!(snap.objects, 3);
    assert!(
        snapshot::verify(&ex, &snap.id).await.unwrap().is_empty(),
        "{name}: a fresh snapshot verifies"
    );
    let r = snapshot::restore(
        &ex,
        &snap.id,
        &RestoreOptions {
            to_prefix: Some("restored/".into()),
            tier: Some("hot".into()),
            overwrite: false,
            hot_tier: None,
            decision_id: None,
            ..RestoreOptions::default()
        },
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.restored, 3, "{name}");
    assert_eq!(
        read(&hot, "photos/restored/big/video.mp4").await,
        Some(large.clone()),
        "{name}: restore is byte-identical"
    );
    assert_eq!(
        read(&hot, "photos/restored/a.jpg").await,
        Some(small.clone()),
        "{name}"
    );
    // A second snapshot copies nothing that did not change, and chains to the first.
    let snap2 = snapshot::create(&ex, "vault", "photos", "big/", &format!("s2-{name}"))
        .await
        .unwrap();
    assert_eq!(
        snap2.prev_hash.as_deref(),
        Some(snap.manifest_hash.as_str())
    );
    // The snapshot of the whole bucket covered `big/` already, but a new scope starts its own
    // increments; snapshot the same scope again: nothing is copied.
    let snap3 = snapshot::create(&ex, "vault", "photos", "big/", &format!("s3-{name}"))
        .await
        .unwrap();
    assert_eq!(
        snap3.copied_bytes, 0,
        "{name}: unchanged objects are not copied again"
    );

    // Corrupt one copy in the vault: verify names it.
    let blob = format!("photos/.tierd-snapshots/data/s1-{name}/a.jpg");
    vault.delete(&Path::from(blob.as_str())).await.unwrap();
    vault
        .put(
            &Path::from(blob.as_str()),
            PutPayload::from_static(b"ransomware was here"),
        )
        .await
        .unwrap();
    let problems = snapshot::verify(&ex, &snap.id).await.unwrap();
    assert_eq!(problems.len(), 1, "{name}: {problems:?}");
    assert_eq!(problems[0].subject, "a.jpg");
    assert!(
        problems[0]
            .problem
            .starts_with("the copy has 19 bytes with sha256 "),
        "{}",
        problems[0].problem
    );

    // The same copy corrupted without changing its size: a restore over a live object that
    // differs refuses it before touching the live object, and leaves nothing staged beside it.
    vault.delete(&Path::from(blob.as_str())).await.unwrap();
    let same_size = vec![b'X'; small.len()];
    vault
        .put(&Path::from(blob.as_str()), same_size.clone().into())
        .await
        .unwrap();
    cold.put(
        &Path::from("photos/a.jpg"),
        PutPayload::from_static(b"newer live data"),
    )
    .await
    .unwrap();
    for overwrite in [true, false] {
        let to_prefix = (!overwrite).then(|| "again/".to_string());
        let opts = RestoreOptions {
            to_prefix,
            tier: Some("cold".into()),
            overwrite,
            hot_tier: None,
            decision_id: None,
            ..RestoreOptions::default()
        };
        let keep = format!("keep-{name}-{overwrite}");
        let err = snapshot::restore(&ex, &snap.id, &opts, Some(&keep))
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("the manifest says"),
            "{name}: {err}"
        );
    }
    assert_eq!(
        read(&cold, "photos/a.jpg").await.as_deref(),
        Some(&b"newer live data"[..]),
        "{name}: the live object is untouched"
    );
    let left: Vec<String> = cold
        .list(Some(&Path::from("photos")))
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .unwrap();
    assert!(
        !left
            .iter()
            .any(|k| k.contains("tierd-restore") || k.starts_with("photos/again/a.jpg")),
        "{name}: nothing staged or half-restored is left: {left:?}"
    );

    // An overwrite replaces nothing it has not kept; it keeps what it replaces first, and
    // restoring what it kept undoes it.
    hot.put(
        &Path::from("photos/k/x.txt"),
        PutPayload::from_static(b"first"),
    )
    .await
    .unwrap();
    let k = snapshot::create(&ex, "vault", "photos", "k/", &format!("sk-{name}"))
        .await
        .unwrap();
    hot.put(
        &Path::from("photos/k/x.txt"),
        PutPayload::from_static(b"second"),
    )
    .await
    .unwrap();
    let over = RestoreOptions {
        overwrite: true,
        ..RestoreOptions::default()
    };
    let err = snapshot::restore(&ex, &k.id, &over, None)
        .await
        .unwrap_err();
    assert!(
        err.to_string().starts_with("k/x.txt: not replaced"),
        "{name}: {err}"
    );
    let keep = format!("keep-1-{name}");
    let r = snapshot::restore(&ex, &k.id, &over, Some(&keep))
        .await
        .unwrap();
    assert_eq!(r.replaced, ["k/x.txt"], "{name}");
    assert_eq!(
        read(&hot, "photos/k/x.txt").await.as_deref(),
        Some(&b"first"[..]),
        "{name}"
    );
    let r = snapshot::restore(&ex, &keep, &over, Some(&format!("keep-2-{name}")))
        .await
        .unwrap();
    assert_eq!((r.restored, r.replaced.len()), (1, 1), "{name}");
    assert_eq!(
        read(&hot, "photos/k/x.txt").await.as_deref(),
        Some(&b"second"[..]),
        "{name}: the undo brings back the bytes replaced"
    );

    // Nothing left in flight: no move, and no multipart upload.
    assert!(ex.journal().open_moves().unwrap().is_empty());
    assert_eq!(ex.journal().open_uploads().unwrap(), []);
}

/// A hot tier that injects faults, holding `keys` (each `x`), and the executor over it and a
/// plain cold tier.
async fn faulty_hot_holding(dir: &std::path::Path, keys: &[&str]) -> (Arc<FaultyStore>, Executor) {
    let hot = FaultyStore::new(local(dir, "hot"));
    let cold = local(dir, "cold");
    for k in keys {
        hot.put(&Path::from(*k), PutPayload::from_static(b"x"))
            .await
            .unwrap();
    }
    let ex = hot_cold_executor(hot.clone(), cold, dir);
    (hot, ex)
}

fn local(dir: &std::path::Path, name: &str) -> Arc<dyn ObjectStore> {
    let t = TierConfig {
        name: name.into(),
        url: format!("file://{}/{name}", dir.display()),
        min_storage_days: 0,
        options: BTreeMap::new(),
    };
    tierd::tier::open_tier(&t).unwrap()
}

/// A tier on a new bucket of the S3 server (its store and multipart API), at `url` (`s3://`
/// and the bucket, then maybe a prefix).
fn s3_tier(server: &S3Server, bucket: &str, url: &str) -> TierStores {
    server.create_bucket(bucket).unwrap();
    let t = TierConfig {
        name: bucket.into(),
        url: url.into(),
        min_storage_days: 0,
        options: server.options(),
    };
    tierd::tier::open_tier_stores(&t).unwrap()
}

fn s3(server: &S3Server, bucket: &str) -> TierStores {
    s3_tier(server, bucket, &format!("s3://{bucket}"))
}

fn local_tier(dir: &std::path::Path, name: &str) -> TierStores {
    TierStores {
        store: local(dir, name),
        uploads: None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_move_protocol_conforms_on_the_local_filesystem() {
    let d = tempfile::tempdir().unwrap();
    conformance(
        "fs",
        local_tier(d.path(), "hot"),
        local_tier(d.path(), "cold"),
        local_tier(d.path(), "vault"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_move_protocol_conforms_between_the_filesystem_and_a_real_s3_server() {
    let server = S3Server::start().expect("the S3 server starts");
    let d = tempfile::tempdir().unwrap();
    conformance(
        "fs-s3",
        local_tier(d.path(), "hot"),
        s3(&server, "cold"),
        s3(&server, "vault"),
    )
    .await;
    for bucket in ["cold", "vault"] {
        assert_eq!(
            harness::boto::multipart_uploads(&server.endpoint(), bucket).unwrap(),
            [],
            "no incomplete upload is left in {bucket}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_move_protocol_conforms_on_a_real_s3_server() {
    let server = S3Server::start().expect("the S3 server starts");
    conformance(
        "s3",
        s3(&server, "hot"),
        s3(&server, "cold"),
        s3(&server, "vault"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_source_changed_during_the_move_keeps_the_new_version_and_drops_the_copy() {
    let d = tempfile::tempdir().unwrap();
    let hot = local(d.path(), "hot");
    let cold = FaultyStore::new(local(d.path(), "cold"));
    let hot2 = hot.clone();
    // While the copy is being written, a client overwrites the source.
    let rt = tokio::runtime::Handle::current();
    cold.on_put(move |_| {
        let hot2 = hot2.clone();
        let _ = std::thread::scope(|s| {
            s.spawn(|| {
                rt.block_on(hot2.put(
                    &Path::from("photos/a.jpg"),
                    PutPayload::from_static(b"new version, written mid-move"),
                ))
            })
            .join()
        });
    });
    hot.put(
        &Path::from("photos/a.jpg"),
        PutPayload::from_static(b"old version"),
    )
    .await
    .unwrap();
    let ex = hot_cold_executor(hot.clone(), cold.clone(), d.path());
    ex.scan("photos", "").await.unwrap();
    let o = ex.move_object(&req("a.jpg", "cold")).await;
    assert!(
        matches!(o, MoveOutcome::Aborted(ref w) if w.contains("source changed")),
        "{o:?}"
    );
    assert_eq!(
        read(&hot, "photos/a.jpg").await.as_deref(),
        Some(&b"new version, written mid-move"[..])
    );
    let cold_dyn: Arc<dyn ObjectStore> = cold;
    assert_eq!(
        read(&cold_dyn, "photos/a.jpg").await,
        None,
        "the stale copy is removed"
    );
    assert_eq!(
        ex.journal()
            .locate("photos", "a.jpg")
            .unwrap()
            .unwrap()
            .tier,
        "hot"
    );
    let moves = ex.journal().moves_of("photos", "a.jpg").unwrap();
    assert_eq!(
        moves.last().unwrap().state,
        tierd::journal::moves::MoveState::Aborted
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_listing_that_fails_part_way_records_no_snapshot() {
    let d = tempfile::tempdir().unwrap();
    let (hot, ex) = faulty_hot_holding(d.path(), &["photos/a.jpg", "photos/b.jpg"]).await;
    hot.fail_lists.store(1, Ordering::SeqCst);
    let err = snapshot::create(&ex, "cold", "photos", "", "s-partial")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("injected transient failure"),
        "{err}"
    );
    assert!(
        ex.journal().snapshots(None).unwrap().is_empty(),
        "no snapshot is recorded from half a listing"
    );
    let whole = snapshot::create(&ex, "cold", "photos", "", "s-whole")
        .await
        .unwrap();
    assert_eq!(whole.objects, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_object_on_a_tier_that_could_not_be_listed_is_not_called_missing() {
    let d = tempfile::tempdir().unwrap();
    let (hot, ex) = faulty_hot_holding(d.path(), &["photos/a.jpg", "photos/b.jpg"]).await;
    // The listing fails after its first object (in the filesystem's order): that one is
    // learnt, the other is not.
    hot.fail_lists.store(1, Ordering::SeqCst);
    ex.scan("photos", "").await.unwrap();
    let known = |k: &str| ex.journal().locate("photos", k).unwrap().is_some();
    let (listed, unlisted) = match (known("a.jpg"), known("b.jpg")) {
        (true, false) => ("a.jpg", "b.jpg"),
        (false, true) => ("b.jpg", "a.jpg"),
        other => panic!("one object of two is learnt, not {other:?}"),
    };
    let o = ex.move_object(&req(listed, "cold")).await;
    assert!(matches!(o, MoveOutcome::Done { .. }), "{o:?}");
    let o = ex.move_object(&req(unlisted, "cold")).await;
    let expected = format!(
        "photos/{unlisted} was not found: not in the catalog, nor on cold; hot could not be listed (see the warnings), so it may be there"
    );
    assert!(
        matches!(o, MoveOutcome::NotFound { ref why, on_no_tier: false } if *why == expected),
        "{o:?}"
    );
    // Listed again, it is found and moved.
    ex.scan("photos", "").await.unwrap();
    let o = ex.move_object(&req(unlisted, "cold")).await;
    assert!(matches!(o, MoveOutcome::Done { .. }), "{o:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn transient_store_errors_are_retried_and_the_move_completes() {
    let d = tempfile::tempdir().unwrap();
    let hot = FaultyStore::new(local(d.path(), "hot"));
    let cold = FaultyStore::new(local(d.path(), "cold"));
    hot.put(
        &Path::from("photos/a.jpg"),
        PutPayload::from_static(b"payload"),
    )
    .await
    .unwrap();
    hot.fail_gets.store(2, Ordering::SeqCst);
    cold.fail_puts.store(1, Ordering::SeqCst);
    let ex = hot_cold_executor(hot.clone(), cold.clone(), d.path());
    ex.scan("photos", "").await.unwrap();
    let o = ex.move_object(&req("a.jpg", "cold")).await;
    assert!(matches!(o, MoveOutcome::Done { .. }), "{o:?}");
    let cold_dyn: Arc<dyn ObjectStore> = cold;
    assert_eq!(
        read(&cold_dyn, "photos/a.jpg").await.as_deref(),
        Some(&b"payload"[..])
    );
    // Two failed reads of the source's metadata stop attempts before anything is journalled;
    // the failed write of the copy is journalled as a failed move with its error, then the
    // fourth attempt completes.
    let moves = ex.journal().moves_of("photos", "a.jpg").unwrap();
    assert_eq!(moves.len(), 2, "{moves:?}");
    assert_eq!(moves[0].state, tierd::journal::moves::MoveState::Failed);
    assert!(
        moves[0]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("injected transient failure"),
        "{moves:?}"
    );
    assert_eq!(moves[1].state, tierd::journal::moves::MoveState::Done);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_that_is_down_fails_the_move_and_loses_nothing() {
    let d = tempfile::tempdir().unwrap();
    let hot = local(d.path(), "hot");
    hot.put(
        &Path::from("photos/a.jpg"),
        PutPayload::from_static(b"keep me"),
    )
    .await
    .unwrap();
    // An S3 endpoint on a loopback port where nothing listens.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut opts = BTreeMap::new();
    for (k, v) in [
        ("endpoint", format!("http://127.0.0.1:{port}")),
        ("allow_http", "true".into()),
        ("region", "us-east-1".into()),
        ("access_key_id", "x".into()),
        ("secret_access_key", "y".into()),
    ] {
        opts.insert(k.to_string(), v);
    }
    let down = tierd::tier::open_tier(&TierConfig {
        name: "cold".into(),
        url: "s3://cold".into(),
        min_storage_days: 0,
        options: opts,
    })
    .unwrap();
    let cfg = ExecutorConfig {
        max_attempts: 3,
        ..small_parts()
    };
    let ex = executor(
        Tiers::from_stores(vec![("hot".into(), hot.clone()), ("cold".into(), down)]),
        d.path(),
        cfg,
    );
    ex.scan("photos", "a.jpg").await.unwrap();
    let o = ex.move_object(&req("a.jpg", "cold")).await;
    assert!(
        matches!(o, MoveOutcome::Failed(ref w) if w.starts_with("gave up after 3 attempts")),
        "{o:?}"
    );
    assert_eq!(
        read(&hot, "photos/a.jpg").await.as_deref(),
        Some(&b"keep me"[..])
    );
    assert_eq!(
        ex.journal()
            .locate("photos", "a.jpg")
            .unwrap()
            .unwrap()
            .tier,
        "hot"
    );
    assert!(
        ex.journal().open_moves().unwrap().is_empty(),
        "a failed move leaves nothing in flight"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_whose_answer_was_lost_is_recognised_by_the_retry_and_not_duplicated() {
    let d = tempfile::tempdir().unwrap();
    let hot = local(d.path(), "hot");
    let cold = FaultyStore::new(local(d.path(), "cold"));
    hot.put(
        &Path::from("photos/a.jpg"),
        PutPayload::from_static(b"payload"),
    )
    .await
    .unwrap();
    cold.lose_put_answers.store(1, Ordering::SeqCst);
    let ex = hot_cold_executor(hot.clone(), cold.clone(), d.path());
    ex.scan("photos", "").await.unwrap();
    let o = ex.move_object(&req("a.jpg", "cold")).await;
    assert!(
        matches!(
            o,
            MoveOutcome::Done {
                verified_by: "already present",
                ..
            }
        ),
        "{o:?}"
    );
    let cold_dyn: Arc<dyn ObjectStore> = cold;
    assert_eq!(
        read(&cold_dyn, "photos/a.jpg").await.as_deref(),
        Some(&b"payload"[..])
    );
    assert_eq!(read(&hot, "photos/a.jpg").await, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn recovery_of_an_interrupted_intent_never_deletes_an_object_that_is_not_its_copy() {
    let d = tempfile::tempdir().unwrap();
    let hot = local(d.path(), "hot");
    let cold = local(d.path(), "cold");
    hot.put(
        &Path::from("photos/a.jpg"),
        PutPayload::from_static(b"source bytes"),
    )
    .await
    .unwrap();
    hot.put(
        &Path::from("photos/b.jpg"),
        PutPayload::from_static(b"b source"),
    )
    .await
    .unwrap();
    let ex = hot_cold_executor(hot.clone(), cold.clone(), d.path());
    ex.scan("photos", "").await.unwrap();
    // Two moves that "crashed" after their intent: one left its own complete copy, the other
    // finds someone else's object at the destination.
    ex.journal()
        .move_intent("d1", ("photos", "a.jpg"), ("hot", "cold"), version(12))
        .unwrap();
    cold.put(
        &Path::from("photos/a.jpg"),
        PutPayload::from_static(b"source bytes"),
    )
    .await
    .unwrap();
    ex.journal()
        .move_intent("d2", ("photos", "b.jpg"), ("hot", "cold"), version(8))
        .unwrap();
    cold.put(
        &Path::from("photos/b.jpg"),
        PutPayload::from_static(b"not ours"),
    )
    .await
    .unwrap();
    let r = tierd::executor::recover::recover(&ex).await.unwrap();
    assert_eq!(r.undone, 2, "{r:?}");
    assert_eq!(
        read(&cold, "photos/a.jpg").await,
        None,
        "the move's own copy is removed"
    );
    assert_eq!(
        read(&cold, "photos/b.jpg").await.as_deref(),
        Some(&b"not ours"[..]),
        "someone else's object is kept"
    );
    assert_eq!(
        read(&hot, "photos/a.jpg").await.as_deref(),
        Some(&b"source bytes"[..])
    );
    assert_eq!(
        read(&hot, "photos/b.jpg").await.as_deref(),
        Some(&b"b source"[..])
    );
    assert!(ex.journal().open_moves().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn recovery_of_a_copied_move_keeps_the_source_when_the_copy_was_replaced_by_other_bytes() {
    let d = tempfile::tempdir().unwrap();
    let hot = local(d.path(), "hot");
    let cold = local(d.path(), "cold");
    let a = Path::from("photos/a.jpg");
    hot.put(&a, PutPayload::from_static(b"source bytes"))
        .await
        .unwrap();
    let ex = hot_cold_executor(hot.clone(), cold.clone(), d.path());
    ex.scan("photos", "").await.unwrap();
    // A move that "crashed" after journalling its verified copy; then, before recovery, someone
    // wrote other bytes of the same size over that copy.
    let src_etag = hot.head(&a).await.unwrap().e_tag;
    let copy = cold
        .put(&a, PutPayload::from_static(b"source bytes"))
        .await
        .unwrap();
    let (_, sum) = tierd::executor::copy::read_checksum(&cold, &a)
        .await
        .unwrap();
    let id = ex
        .journal()
        .move_intent(
            "d1",
            ("photos", "a.jpg"),
            ("hot", "cold"),
            Version {
                etag: src_etag.as_deref(),
                size: 12,
            },
        )
        .unwrap();
    ex.journal()
        .move_copied(id, &sum, copy.e_tag.as_deref())
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    cold.put(&a, PutPayload::from_static(b"SOURCE BYTES"))
        .await
        .unwrap();

    let r = tierd::executor::recover::recover(&ex).await.unwrap();
    assert_eq!(r.failed, 1, "{r:?}");
    assert_eq!(
        read(&hot, "photos/a.jpg").await.as_deref(),
        Some(&b"source bytes"[..]),
        "the source is kept"
    );
    assert_eq!(
        read(&cold, "photos/a.jpg").await.as_deref(),
        Some(&b"SOURCE BYTES"[..]),
        "the other bytes are not ours to remove"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshots_go_into_a_vault_bucket_with_object_lock_retention() {
    let server = S3Server::start().expect("the S3 server starts");
    server.create_locked_bucket("vault", 1).unwrap();
    let d = tempfile::tempdir().unwrap();
    let hot = local(d.path(), "hot");
    hot.put(
        &Path::from("photos/a.jpg"),
        PutPayload::from_static(b"keep this safe"),
    )
    .await
    .unwrap();
    // Such a bucket refuses uploads without a checksum; the tier option provides it.
    let mut opts = server.options();
    opts.insert("checksum_algorithm".into(), "sha256".into());
    let vault = tierd::tier::open_tier(&TierConfig {
        name: "vault".into(),
        url: "s3://vault".into(),
        min_storage_days: 0,
        options: opts,
    })
    .unwrap();
    let ex = executor(
        Tiers::from_stores(vec![("hot".into(), hot), ("vault".into(), vault)]),
        d.path(),
        small_parts(),
    );
    let snap = snapshot::create(&ex, "vault", "photos", "", "locked-1")
        .await
        .unwrap();
    assert_eq!(snap.objects, 1);
    assert!(snapshot::verify(&ex, "locked-1").await.unwrap().is_empty());
}

/// A move decision as an operator's `tierd move` records it before moving.
fn running_decision(id: &str, key: &str) -> tierd::decision::Decision {
    tierd::decision::Decision::operator_move(
        id.into(),
        "2026-11-30T01:28:00Z".into(),
        ("photos", key),
        (Some("hot"), "cold"),
        "An operator ran `tierd move` for this object.".into(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn recovery_of_an_interrupted_local_copy_removes_its_journalled_staging_files_only_and_fails_its_decision()
 {
    let d = tempfile::tempdir().unwrap();
    let hot = local(d.path(), "hot");
    let cold = local(d.path(), "cold");
    let big = data(6 * 1024 * 1024, 3);
    hot.put(&Path::from("photos/big.bin"), PutPayload::from(big.clone()))
        .await
        .unwrap();
    cold.put(
        &Path::from("photos/other.bin"),
        PutPayload::from_static(b"someone else's"),
    )
    .await
    .unwrap();
    let ex = hot_cold_executor(hot.clone(), cold.clone(), d.path());
    ex.scan("photos", "").await.unwrap();
    // A `tierd move` killed in the middle of its copy: its decision is running, its move at the
    // intent, and the local tier holds the copy's journalled staging file beside the
    // destination (and one of an earlier kill).
    ex.journal()
        .record_decision(&running_decision("op-big", "big.bin"))
        .unwrap();
    ex.journal()
        .move_intent(
            "op-big",
            ("photos", "big.bin"),
            ("hot", "cold"),
            version(big.len() as u64),
        )
        .unwrap();
    let folder = d.path().join("cold/photos");
    for (name, bytes) in [
        ("big.bin#1", &big[..5 * 1024 * 1024]),
        ("big.bin#2", &big[..1024]),
    ] {
        let file = folder.join(name);
        std::fs::write(&file, bytes).unwrap();
        let inode = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&file).unwrap());
        ex.journal()
            .staging_started(
                ("cold", "photos"),
                "photos/big.bin",
                (file.to_str().unwrap(), inode),
            )
            .unwrap();
    }
    // Look-alikes that are no copy's staging files: a user's, named as staging files are.
    std::fs::write(folder.join("big.bin#3"), b"kept").unwrap();
    std::fs::write(folder.join("big.bin#old"), b"kept").unwrap();
    std::fs::write(folder.join("other.bin#1"), b"kept").unwrap();

    let r = tierd::executor::recover::recover(&ex).await.unwrap();
    assert_eq!(r.undone, 1, "{r:?}");
    assert_eq!(
        names_in(&folder),
        ["big.bin#3", "big.bin#old", "other.bin", "other.bin#1"],
        "the journalled staging files are removed, nothing else"
    );
    assert!(ex.journal().open_staging().unwrap().is_empty());
    assert_eq!(
        read(&hot, "photos/big.bin").await,
        Some(big),
        "the source is intact"
    );
    assert_eq!(read(&cold, "photos/big.bin").await, None);
    assert_eq!(
        read(&cold, "photos/other.bin").await.as_deref(),
        Some(&b"someone else's"[..])
    );
    let m = ex
        .journal()
        .moves_of("photos", "big.bin")
        .unwrap()
        .remove(0);
    assert_eq!(
        m.error.as_deref(),
        Some(
            "interrupted before the copy was complete, the source kept; the 2 partial uploads it left (5243904 bytes) were removed"
        )
    );
    let decision = ex.journal().decision("op-big").unwrap().unwrap();
    assert_eq!(decision.state, tierd::decision::State::Failed);
    assert_eq!(
        decision.why.as_deref(),
        Some(
            "undone by recovery after an interruption: interrupted before the copy was complete, the source kept; the 2 partial uploads it left (5243904 bytes) were removed; the object stays on hot"
        )
    );
    assert!(ex.journal().open_moves().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_folder_in_the_way_of_a_local_copy_fails_it_at_once_and_leaves_no_staging_file() {
    let d = tempfile::tempdir().unwrap();
    let hot = local(d.path(), "hot");
    let cold = local(d.path(), "cold");
    let big = data(6 * 1024 * 1024, 4);
    hot.put(&Path::from("photos/big.bin"), PutPayload::from(big.clone()))
        .await
        .unwrap();
    // A folder where the object's file would go: no object to the store, but nothing tierd may
    // replace.
    let in_the_way = d.path().join("cold/photos/big.bin");
    std::fs::create_dir_all(&in_the_way).unwrap();
    let cfg = ExecutorConfig {
        max_attempts: 3,
        ..small_parts()
    };
    let ex = executor(
        Tiers::from_stores(vec![("hot".into(), hot.clone()), ("cold".into(), cold)]),
        d.path(),
        cfg,
    );
    ex.scan("photos", "").await.unwrap();
    let o = ex.move_object(&req("big.bin", "cold")).await;
    assert!(
        matches!(o, MoveOutcome::Failed(ref w) if w == &format!(
            "a folder is where the object's file would go ({}); tierd never replaces it",
            in_the_way.display()
        )),
        "{o:?}"
    );
    assert_eq!(
        names_in(&d.path().join("cold/photos")),
        ["big.bin"],
        "no staging file is left"
    );
    assert_eq!(read(&hot, "photos/big.bin").await, Some(big));
    assert!(ex.journal().open_moves().unwrap().is_empty());
}

/// A multipart API that, before sending each part, reads the journal through a connection of
/// its own (what is committed) and notes the upload ids it holds.
struct JournalWatch {
    inner: Arc<dyn MultipartStore>,
    journal: std::path::PathBuf,
    at_parts: Mutex<Vec<Vec<String>>>,
}

#[async_trait::async_trait]
impl MultipartStore for JournalWatch {
    async fn create_multipart(&self, path: &Path) -> object_store::Result<MultipartId> {
        self.inner.create_multipart(path).await
    }

    async fn put_part(
        &self,
        path: &Path,
        id: &MultipartId,
        part_idx: usize,
        data: PutPayload,
    ) -> object_store::Result<PartId> {
        let journalled = Journal::open(&self.journal)
            .unwrap()
            .open_uploads()
            .unwrap();
        self.at_parts
            .lock()
            .unwrap()
            .push(journalled.into_iter().map(|u| u.upload_id).collect());
        self.inner.put_part(path, id, part_idx, data).await
    }

    async fn complete_multipart(
        &self,
        path: &Path,
        id: &MultipartId,
        parts: Vec<PartId>,
    ) -> object_store::Result<object_store::PutResult> {
        self.inner.complete_multipart(path, id, parts).await
    }

    async fn abort_multipart(&self, path: &Path, id: &MultipartId) -> object_store::Result<()> {
        self.inner.abort_multipart(path, id).await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_multipart_copy_to_s3_journals_its_upload_before_the_first_part_and_forgets_it() {
    let server = S3Server::start().expect("the S3 server starts");
    let d = tempfile::tempdir().unwrap();
    let hot = local(d.path(), "hot");
    // A tier under a prefix of its bucket: the upload goes where the tier's store reads.
    let cold = s3_tier(&server, "cold", "s3://cold/archive/");
    let watch = Arc::new(JournalWatch {
        inner: cold.uploads.clone().unwrap(),
        journal: d.path().join("tierd.db"),
        at_parts: Mutex::default(),
    });
    let tiers = Tiers::from_stores(vec![
        ("hot".into(), hot.clone()),
        ("cold".into(), cold.store.clone()),
    ])
    .with_uploads("cold", watch.clone());
    let ex = executor(tiers, d.path(), small_parts());
    let big = data(12 * 1024 * 1024 + 17, 5);
    hot.put(&Path::from("photos/big.bin"), PutPayload::from(big.clone()))
        .await
        .unwrap();
    ex.scan("photos", "").await.unwrap();
    let o = ex.move_object(&req("big.bin", "cold")).await;
    assert!(matches!(o, MoveOutcome::Done { .. }), "{o:?}");
    let at_parts = watch.at_parts.lock().unwrap().clone();
    assert_eq!(at_parts.len(), 3, "three 5 MiB parts: {at_parts:?}");
    assert!(
        at_parts[0].len() == 1 && at_parts.iter().all(|ids| *ids == at_parts[0]),
        "the upload was journalled before each part: {at_parts:?}"
    );
    assert_eq!(
        ex.journal().open_uploads().unwrap(),
        [],
        "and forgotten once complete"
    );
    assert_eq!(
        harness::boto::multipart_uploads(&server.endpoint(), "cold").unwrap(),
        []
    );
    let bucket = server.store("cold").unwrap();
    assert_eq!(read(&bucket, "archive/photos/big.bin").await, Some(big));
    assert_eq!(read(&hot, "photos/big.bin").await, None);
}

/// `tierd.toml`'s tiers: `hot` in `dir/hot`, `cloud` under `archive/` in the bucket `cold` of
/// the server.
fn hot_and_cloud(server: &S3Server, dir: &std::path::Path) -> Tiers {
    Tiers::open(&[
        TierConfig {
            name: "hot".into(),
            url: format!("file://{}/hot", dir.display()),
            min_storage_days: 0,
            options: BTreeMap::new(),
        },
        TierConfig {
            name: "cloud".into(),
            url: "s3://cold/archive/".into(),
            min_storage_days: 0,
            options: server.options(),
        },
    ])
    .unwrap()
}

/// Starts an upload of `path` on `uploads` and sends it one part.
async fn started(uploads: &Arc<dyn MultipartStore>, path: &str) -> MultipartId {
    let p = Path::from(path);
    let id = uploads.create_multipart(&p).await.unwrap();
    uploads
        .put_part(&p, &id, 0, PutPayload::from(data(1024 * 1024, 6)))
        .await
        .unwrap();
    id
}

/// What a `tierd move` killed in the middle of an upload to S3 leaves: the upload of
/// `photos/big.bin` on the `cloud` tier (see [`hot_and_cloud`]) with a part on the server, its
/// id journalled in the folder returned. Returns the tiers, the tier's multipart API and the id.
async fn an_upload_left_by_a_kill(
    server: &S3Server,
) -> (
    tempfile::TempDir,
    Tiers,
    Arc<dyn MultipartStore>,
    MultipartId,
) {
    server.create_bucket("cold").unwrap();
    let d = tempfile::tempdir().unwrap();
    let tiers = hot_and_cloud(server, d.path());
    let uploads = tiers.uploads("cloud", "photos").unwrap().unwrap();
    let mine = started(&uploads, "photos/big.bin").await;
    Journal::open(&d.path().join("tierd.db"))
        .unwrap()
        .upload_started(("cloud", "photos"), "photos/big.bin", &mine)
        .unwrap();
    (d, tiers, uploads, mine)
}

#[tokio::test(flavor = "multi_thread")]
async fn recovery_aborts_the_journalled_uploads_on_a_real_s3_server_and_never_another_clients() {
    let server = S3Server::start().expect("the S3 server starts");
    let (d, tiers, uploads, mine) = an_upload_left_by_a_kill(&server).await;
    let ex = executor(tiers, d.path(), small_parts());
    // And one it completed just before the kill, which the server no longer knows.
    ex.journal()
        .upload_started(("cloud", "photos"), "photos/done.bin", "no-such-upload")
        .unwrap();
    // Another client's upload in the same bucket: no journal of tierd's holds it.
    let theirs = started(&uploads, "photos/theirs.bin").await;
    let endpoint = server.endpoint();
    let mut before = harness::boto::multipart_uploads(&endpoint, "cold").unwrap();
    before.sort_by(|a, b| a.key.cmp(&b.key));
    let keys: Vec<(&str, &str)> = before
        .iter()
        .map(|u| (u.key.as_str(), u.upload_id.as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            ("archive/photos/big.bin", mine.as_str()),
            ("archive/photos/theirs.bin", theirs.as_str())
        ]
    );

    let r = tierd::executor::recover::recover(&ex).await.unwrap();
    // One aborted; one the store no longer knew (counted apart, not as aborted).
    assert_eq!(
        (r.uploads_aborted, r.uploads_gone, r.uploads_pending),
        (1, 1, 0),
        "{r:?}"
    );
    let after = harness::boto::multipart_uploads(&endpoint, "cold").unwrap();
    assert_eq!(
        after,
        [harness::boto::PendingUpload {
            key: "archive/photos/theirs.bin".into(),
            upload_id: theirs,
            parts: 1
        }],
        "only the journalled upload was aborted"
    );
    assert_eq!(ex.journal().open_uploads().unwrap(), []);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_whose_abort_finds_the_s3_server_down_is_aborted_by_the_next_recovery() {
    let server = S3Server::start().expect("the S3 server starts");
    let (d, _, _, mine) = an_upload_left_by_a_kill(&server).await;
    // The same tier on an endpoint where nothing listens (one try per request, to be quick).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(format!("http://127.0.0.1:{port}"))
        .with_bucket_name("cold")
        .with_region("us-east-1")
        .with_access_key_id("tierd-test")
        .with_secret_access_key("tierd-test-secret")
        .with_allow_http(true)
        .with_retry(object_store::RetryConfig {
            max_retries: 0,
            ..object_store::RetryConfig::default()
        })
        .build()
        .unwrap();
    let down = object_store::prefix::PrefixStore::new(down, "archive");
    let down_tiers = Tiers::from_stores(vec![
        ("hot".into(), local(d.path(), "hot")),
        (
            "cloud".into(),
            Arc::new(down.clone()) as Arc<dyn ObjectStore>,
        ),
    ])
    .with_uploads("cloud", Arc::new(down));
    let endpoint = server.endpoint();
    {
        let ex = executor(down_tiers, d.path(), small_parts());
        for attempt in 1..=2 {
            let r = tierd::executor::recover::recover(&ex).await.unwrap();
            assert_eq!((r.uploads_aborted, r.uploads_pending), (0, 1), "{r:?}");
            let left = ex.journal().open_uploads().unwrap();
            assert_eq!(left.len(), 1, "{left:?}");
            assert_eq!(
                (left[0].upload_id.as_str(), left[0].aborts_failed),
                (mine.as_str(), attempt)
            );
            let why = left[0].error.clone().unwrap_or_default();
            assert!(
                why.contains("photos/big.bin") && !why.contains("tierd-test-secret"),
                "{why}"
            );
        }
        assert_eq!(
            harness::boto::multipart_uploads(&endpoint, "cold")
                .unwrap()
                .len(),
            1,
            "the upload is still on the server"
        );
    }
    // The server answers again: the next recovery aborts it.
    let ex = executor(hot_and_cloud(&server, d.path()), d.path(), small_parts());
    let r = tierd::executor::recover::recover(&ex).await.unwrap();
    assert_eq!((r.uploads_aborted, r.uploads_pending), (1, 0), "{r:?}");
    assert_eq!(ex.journal().open_uploads().unwrap(), []);
    assert_eq!(
        harness::boto::multipart_uploads(&endpoint, "cold").unwrap(),
        []
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tier_that_fails_three_moves_in_a_row_gets_no_more_in_that_batch() {
    let d = tempfile::tempdir().unwrap();
    let hot = local(d.path(), "hot");
    let cold = FaultyStore::new(local(d.path(), "cold"));
    let keys: Vec<String> = (0..8).map(|i| format!("f{i}.jpg")).collect();
    for k in &keys {
        hot.put(
            &Path::from(format!("photos/{k}")),
            PutPayload::from_static(b"x"),
        )
        .await
        .unwrap();
    }
    // Every write to the cold tier fails, as a store that does not answer.
    cold.fail_puts.store(usize::MAX / 2, Ordering::SeqCst);
    let cfg = ExecutorConfig {
        concurrency: 1,
        ..small_parts()
    };
    let tiers = vec![
        ("hot".into(), hot.clone()),
        ("cold".into(), cold.clone() as Arc<dyn ObjectStore>),
    ];
    let ex = executor(Tiers::from_stores(tiers), d.path(), cfg);
    ex.scan("photos", "").await.unwrap();
    let out = ex
        .apply(keys.iter().map(|k| req(k, "cold")).collect())
        .await;
    let failed = out
        .iter()
        .filter(|(_, o)| matches!(o, MoveOutcome::Failed(w) if w.starts_with("gave up after")))
        .count();
    let held: Vec<&String> = out
        .iter()
        .filter_map(|(_, o)| match o {
            MoveOutcome::TierDown(w) => Some(w),
            _ => None,
        })
        .collect();
    assert_eq!(failed, 3, "{out:?}");
    assert_eq!(held.len(), 5, "{out:?}");
    assert!(
        held[0].contains("tier cold failed the 3 moves before this one in a row"),
        "{}",
        held[0]
    );
    // Nothing was lost: every object is still on the hot tier.
    for k in &keys {
        assert!(read(&hot, &format!("photos/{k}")).await.is_some(), "{k}");
    }
}

/// `apply_each` hands each outcome over as its move ends, before the next starts (one in
/// flight); a stop asked for then starts no other: the rest come back `NotStarted`, untouched.
#[tokio::test(flavor = "multi_thread")]
async fn each_outcome_comes_as_its_move_ends_and_a_stop_starts_no_other() {
    use futures::StreamExt;
    let d = tempfile::tempdir().unwrap();
    let (hot, cold) = (local(d.path(), "hot"), local(d.path(), "cold"));
    let keys: Vec<String> = (0..5).map(|i| format!("f{i}.jpg")).collect();
    for k in &keys {
        let p = Path::from(format!("photos/{k}"));
        hot.put(&p, PutPayload::from(k.clone().into_bytes()))
            .await
            .unwrap();
    }
    let cfg = ExecutorConfig {
        concurrency: 1,
        ..small_parts()
    };
    let tiers = vec![("hot".into(), hot.clone()), ("cold".into(), cold.clone())];
    let mut ex = executor(Tiers::from_stores(tiers), d.path(), cfg);
    let (trigger, shutdown) = tierd::shutdown::channel();
    ex.stop_on(shutdown);
    ex.scan("photos", "").await.unwrap();
    let reqs = keys.iter().map(|k| req(k, "cold")).collect();
    let mut each = std::pin::pin!(ex.apply_each(reqs, None));
    let (i, first, o) = each.next().await.unwrap();
    assert!(matches!(o, MoveOutcome::Done { .. }), "{o:?}");
    assert_eq!((i, first.key.as_str()), (0, "f0.jpg"));
    assert!(read(&cold, "photos/f0.jpg").await.is_some());
    // Only the first has moved when its outcome comes: the others wait on the stream.
    for k in &keys[1..] {
        assert!(read(&hot, &format!("photos/{k}")).await.is_some(), "{k}");
    }
    trigger.request();
    let rest: Vec<_> = each.collect().await;
    assert_eq!(rest.len(), 4, "{rest:?}");
    for (_, r, o) in &rest {
        assert_eq!(o, &MoveOutcome::NotStarted, "{}", r.key);
        let key = format!("photos/{}", r.key);
        assert_eq!(read(&hot, &key).await.unwrap(), r.key.as_bytes(), "{key}");
        assert!(read(&cold, &key).await.is_none(), "{key}");
    }
    assert!(ex.journal().open_moves().unwrap().is_empty());
}

/// A 403 (wrong credentials, a missing permission) on the source's HEAD is not transient: the
/// move fails at its first attempt, saying what a 403 may mean, instead of trying 5 times.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_head_fails_the_move_at_once() {
    let d = tempfile::tempdir().unwrap();
    let hot = local(d.path(), "hot");
    let cold = FaultyStore::new(local(d.path(), "cold"));
    hot.put(
        &Path::from("photos/f.bin"),
        PutPayload::from_static(b"data"),
    )
    .await
    .unwrap();
    let ex = hot_cold_executor(hot.clone(), cold.clone(), d.path());
    ex.scan("photos", "").await.unwrap();
    let out = ex.move_object(&req("f.bin", "cold")).await;
    assert!(matches!(out, MoveOutcome::Done { .. }), "{out:?}");
    // Now the credentials of the cold tier are refused.
    cold.deny_gets.store(100, Ordering::SeqCst);
    cold.gets.store(0, Ordering::SeqCst);
    let out = ex.move_object(&req("f.bin", "hot")).await;
    let MoveOutcome::Failed(why) = out else {
        panic!("{out:?}")
    };
    assert!(why.contains("credentials are wrong"), "{why}");
    assert!(!why.contains("gave up after"), "{why}");
    assert_eq!(cold.gets.load(Ordering::SeqCst), 1, "one HEAD, no retry");
    assert!(hot.head(&Path::from("photos/f.bin")).await.is_err());
}

/// An object listed for a snapshot but gone when its turn comes (deleted meanwhile; an S3
/// folder marker, which object_store lists without its `/`) is left out and reported, not a
/// failure of the whole snapshot; a snapshot that fails removes the copies it made.
#[tokio::test(flavor = "multi_thread")]
async fn a_snapshot_leaves_out_what_vanished_and_a_failed_one_leaves_no_copy() {
    let d = tempfile::tempdir().unwrap();
    let (hot, ex) =
        faulty_hot_holding(d.path(), &["photos/a.jpg", "photos/b.jpg", "photos/c.jpg"]).await;
    ex.scan("photos", "").await.unwrap();
    // b.jpg is deleted after the listing, before the snapshot reaches it.
    hot.delete(&Path::from("photos/b.jpg")).await.unwrap();
    let made = snapshot::create_reporting(&ex, "cold", "photos", "", "s-gone")
        .await
        .unwrap();
    assert_eq!(made.row.objects, 2);
    assert_eq!(made.vanished, ["b.jpg"]);
    assert!(snapshot::vanished_note(&made.vanished).contains("1 listed object was gone"));

    // A snapshot that fails part way (the third read of the source is refused) records
    // nothing and leaves none of its copies in the vault.
    hot.put(&Path::from("photos/d.jpg"), PutPayload::from_static(b"y"))
        .await
        .unwrap();
    hot.put(&Path::from("photos/a.jpg"), PutPayload::from_static(b"a2"))
        .await
        .unwrap();
    ex.scan("photos", "").await.unwrap();
    let copies = |id: &str| {
        let dir = d
            .path()
            .join(format!("cold/photos/.tierd-snapshots/data/{id}"));
        std::fs::read_dir(dir).map_or(0, |r| r.count())
    };
    // The snapshot copies a.jpg (rewritten), keeps c.jpg (unchanged), and cannot read d.jpg.
    *hot.deny_reads_of.lock().unwrap() = Some(Path::from("photos/d.jpg"));
    let err = snapshot::create_reporting(&ex, "cold", "photos", "", "s-failed")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("credentials are wrong"), "{err}");
    assert_eq!(ex.journal().snapshots(None).unwrap().len(), 1);
    assert_eq!(
        copies("s-failed"),
        0,
        "the failed snapshot's copy of a.jpg is removed"
    );
    // With d.jpg readable again, the next snapshot copies a.jpg and d.jpg.
    *hot.deny_reads_of.lock().unwrap() = None;
    let next = snapshot::create_reporting(&ex, "cold", "photos", "", "s-next")
        .await
        .unwrap();
    assert_eq!(next.row.objects, 3);
    assert_eq!(copies("s-next"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reconcile_whose_listing_fails_part_way_forgets_nothing() {
    let d = tempfile::tempdir().unwrap();
    let (hot, ex) = faulty_hot_holding(d.path(), &["photos/a.jpg", "photos/b.jpg"]).await;
    let tiers = ["hot".to_string(), "cold".to_string()];
    let first = ex.reconcile("photos", &tiers, true).await.unwrap();
    assert_eq!(first.added.len(), 2, "{first:?}");
    // Half a listing would say one of the two is on no tier: the bucket is left as it is.
    hot.fail_lists.store(1, Ordering::SeqCst);
    let err = ex.reconcile("photos", &tiers, true).await.unwrap_err();
    assert!(
        err.to_string().contains("injected transient failure"),
        "{err}"
    );
    for k in ["a.jpg", "b.jpg"] {
        assert_eq!(
            ex.journal().locate("photos", k).unwrap().unwrap().tier,
            "hot"
        );
    }
    let again = ex.reconcile("photos", &tiers, true).await.unwrap();
    assert!(again.agreed() && again.checked == 2, "{again:?}");
}

/// tierd never overwrites by copying: on S3 a multipart upload completes only where the key is
/// still free (`If-None-Match: *` on CompleteMultipartUpload), so a client's object written at
/// the key while the parts were uploading survives (review 20 #2).
#[tokio::test(flavor = "multi_thread")]
async fn an_s3_multipart_upload_completes_only_where_the_key_is_still_free() {
    let server = S3Server::start().expect("the S3 server starts");
    let t = s3(&server, "race");
    let uploads = t.uploads.clone().unwrap();
    let p = Path::from("photos/k.bin");
    let id = uploads.create_multipart(&p).await.unwrap();
    let part = uploads
        .put_part(&p, &id, 0, PutPayload::from(data(5 * 1024 * 1024, 9)))
        .await
        .unwrap();
    // A client writes the key while the upload is under way.
    t.store
        .put(&p, PutPayload::from_static(b"the client's object"))
        .await
        .unwrap();
    let err = uploads
        .complete_multipart(&p, &id, vec![part])
        .await
        .unwrap_err();
    assert!(
        matches!(err, object_store::Error::Precondition { .. }),
        "{err}"
    );
    assert_eq!(
        read(&t.store, "photos/k.bin").await,
        Some(Bytes::from_static(b"the client's object"))
    );
    uploads.abort_multipart(&p, &id).await.unwrap();
    // Where the key is free, the upload completes as before.
    let q = Path::from("photos/free.bin");
    let id = uploads.create_multipart(&q).await.unwrap();
    let body = data(5 * 1024 * 1024, 3);
    let part = uploads
        .put_part(&q, &id, 0, PutPayload::from(body.clone()))
        .await
        .unwrap();
    uploads
        .complete_multipart(&q, &id, vec![part])
        .await
        .unwrap();
    assert_eq!(read(&t.store, "photos/free.bin").await, Some(body));
}
