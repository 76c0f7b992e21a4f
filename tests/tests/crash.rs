//! Crash safety, proven on the real process: `tierd move` is killed with SIGKILL at random
//! moments (seeded) while it moves objects between a local tier and a real S3 server, then
//! restarted. After every recovery: every object is exactly where the catalog says, with
//! identical bytes, and no copy exists anywhere that the catalog does not account for.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics reports its failure

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use futures::TryStreamExt;
use harness::{
    S3Server, partial_uploads, put_big_object, tierd, tierd_bin, write_local_tiers_config,
};
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt};
use rand::{Rng, SeedableRng};

const OBJECTS: usize = 40;
const RUNS: usize = 16;

fn content(i: usize) -> Vec<u8> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(i as u64);
    let len = rng.gen_range(1_000..400_000);
    (0..len).map(|_| rng.r#gen::<u8>()).collect()
}

async fn listing(store: &dyn ObjectStore) -> BTreeMap<String, u64> {
    store
        .list(Some(&StorePath::from("photos")))
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .into_iter()
        .map(|m| {
            (
                m.location
                    .to_string()
                    .trim_start_matches("photos/")
                    .to_string(),
                m.size,
            )
        })
        .collect()
}

async fn check_invariants(
    run: usize,
    dir: &Path,
    onprem: &dyn ObjectStore,
    cloud: &dyn ObjectStore,
) {
    let mut j = tierd::journal::Journal::open(&dir.join("tierd.db")).unwrap();
    assert!(
        j.open_moves().unwrap().is_empty(),
        "run {run}: a move is still in flight after recovery"
    );
    let on = listing(onprem).await;
    let off = listing(cloud).await;
    for i in 0..OBJECTS {
        let key = format!("img-{i:03}.bin");
        let e = j
            .locate("photos", &key)
            .unwrap()
            .unwrap_or_else(|| panic!("run {run}: {key} is not in the catalog"));
        let (here, other): (&dyn ObjectStore, &BTreeMap<String, u64>) = match e.tier.as_str() {
            "onprem" => (onprem, &off),
            "cloud" => (cloud, &on),
            t => panic!("run {run}: {key} on unknown tier {t}"),
        };
        let bytes = here
            .get(&StorePath::from(format!("photos/{key}")))
            .await
            .unwrap_or_else(|err| {
                panic!(
                    "run {run}: {key} is not on {} where the catalog has it: {err}",
                    e.tier
                )
            })
            .bytes()
            .await
            .unwrap();
        assert!(
            bytes.as_ref() == content(i).as_slice(),
            "run {run}: {key} on {} has other bytes",
            e.tier
        );
        assert!(
            !other.contains_key(&key),
            "run {run}: an untracked copy of {key} is left on the other tier"
        );
    }
    assert_eq!(
        on.len() + off.len(),
        OBJECTS,
        "run {run}: objects appeared that nobody put: {on:?} {off:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_tierd_at_random_moments_never_loses_or_orphans_an_object() {
    let server = S3Server::start().expect("the S3 server starts");
    server.create_bucket("cold").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    server.write_two_tier_config(d, "cold").unwrap();
    std::fs::create_dir_all(d.join("onprem/photos")).unwrap();
    for i in 0..OBJECTS {
        std::fs::write(d.join(format!("onprem/photos/img-{i:03}.bin")), content(i)).unwrap();
    }
    let onprem = tierd::tier::open_tier(&tierd::config::TierConfig {
        name: "onprem".into(),
        url: format!("file://{}", d.join("onprem").display()),
        min_storage_days: 0,
        options: BTreeMap::new(),
    })
    .unwrap();
    let cloud = server.store("cold").unwrap();
    let cfg = d.join("tierd.toml");
    let cfg = cfg.to_str().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261129);
    let mut kills = 0;
    let mut mid_move = 0;
    for run in 0..RUNS {
        let to = if run % 2 == 0 { "cloud" } else { "onprem" };
        let mut child = Command::new(tierd_bin())
            // A bandwidth limit stretches a pass to about three seconds, so that kills land in copies,
            // between steps and between objects alike.
            .args([
                "move",
                "--bucket",
                "photos",
                "--to",
                to,
                "--config",
                cfg,
                "--concurrency",
                "4",
                "--max-bytes-per-sec",
                "2000000",
            ])
            .current_dir(d)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let wait = Duration::from_millis(rng.gen_range(20..2_500));
        tokio::time::sleep(wait).await;
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
        let r = tierd(d, &["recover", "--config", cfg]);
        assert_eq!(
            r.code,
            Some(0),
            "run {run}: recovery failed: {}{}",
            r.stdout,
            r.stderr
        );
        if r.stdout.contains("recovered what an earlier run left")
            && !r
                .stdout
                .contains(": 0 finished, 0 undone, 0 failed, 0 pending;")
        {
            mid_move += 1;
        }
        check_invariants(run, d, onprem.as_ref(), cloud.as_ref()).await;
    }
    assert!(
        kills >= RUNS / 2,
        "only {kills} of {RUNS} runs were killed mid-flight: the test would prove little"
    );
    assert!(
        mid_move >= 2,
        "only {mid_move} kills left a move in flight to recover: the test would prove little"
    );
    eprintln!(
        "{kills} of {RUNS} runs killed; {mid_move} left moves in flight that recovery finished or undid"
    );
    // Uninterrupted, the move completes.
    let r = tierd(
        d,
        &[
            "move", "--bucket", "photos", "--to", "cloud", "--config", cfg,
        ],
    );
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    check_invariants(RUNS, d, onprem.as_ref(), cloud.as_ref()).await;
    assert_eq!(listing(cloud.as_ref()).await.len(), OBJECTS);
}

/// `tierd move photos/big.bin --to cloud` with the configuration in its folder.
const MOVE_BIG: [&str; 6] = [
    "move",
    "photos/big.bin",
    "--to",
    "cloud",
    "--config",
    "tierd.toml",
];

/// Starts the real `tierd move photos/big.bin --to cloud` in `d`, at 20 MB/s.
fn start_big_move(d: &Path) -> std::process::Child {
    Command::new(tierd_bin())
        .args(MOVE_BIG)
        .args(["--max-bytes-per-sec", "20000000"])
        .current_dir(d)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Runs `tierd move photos/big.bin --to cloud` in `d` to the end, which must succeed.
fn move_big_again(d: &Path) {
    let r = tierd(d, &MOVE_BIG);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
}

#[test]
fn killing_tierd_mid_multipart_copy_leaves_no_partial_upload_after_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_local_tiers_config(d);
    // The upload's staging file fills after four parts have been read, well before the end.
    let big = put_big_object(d);
    std::fs::create_dir_all(d.join("cloud/photos")).unwrap();
    let mut child = start_big_move(d);
    // Kill it as soon as the multipart upload has written bytes (polled, with a deadline).
    let folder = d.join("cloud/photos");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let staged = loop {
        let found = partial_uploads(&folder, "big.bin");
        if found.iter().any(|(_, len)| *len > 0) {
            break found;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "tierd move ended before its upload wrote anything"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "no partial upload appeared in {}",
            folder.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let journal = d.join("tierd.db");
    let decision_id = {
        let mut j = tierd::journal::Journal::open(&journal).unwrap();
        let open = j.open_moves().unwrap();
        assert_eq!(open.len(), 1, "the kill left the move in flight: {open:?}");
        assert_eq!(open[0].state, tierd::journal::moves::MoveState::Intent);
        let d = j.decision(&open[0].decision_id).unwrap().unwrap();
        assert_eq!(d.state, tierd::decision::State::Running);
        d.id
    };
    assert!(
        !partial_uploads(&folder, "big.bin").is_empty(),
        "the kill left the partial upload {staged:?}"
    );

    let r = tierd(d, &["recover", "--config", "tierd.toml"]);
    assert_eq!(r.code, Some(0), "recovery failed: {}{}", r.stdout, r.stderr);
    assert_eq!(
        partial_uploads(&folder, "big.bin"),
        [],
        "recovery removed the partial upload: {}",
        r.stderr
    );
    assert!(!folder.join("big.bin").exists(), "no copy is left on cloud");
    assert!(
        std::fs::read(d.join("onprem/photos/big.bin")).unwrap() == big,
        "the source is intact"
    );
    let mut j = tierd::journal::Journal::open(&journal).unwrap();
    assert!(j.open_moves().unwrap().is_empty());
    assert_eq!(
        j.locate("photos", "big.bin").unwrap().unwrap().tier,
        "onprem"
    );
    let decision = j.decision(&decision_id).unwrap().unwrap();
    assert_eq!(decision.state, tierd::decision::State::Failed);
    let why = decision.why.unwrap_or_default();
    assert!(
        why.starts_with("undone by recovery after an interruption: interrupted before the copy was complete, the source kept; the partial upload it left (")
            && why.ends_with(" bytes) was removed; the object stays on onprem"),
        "{why}"
    );
    // The move can be run again, and completes.
    move_big_again(d);
    assert!(std::fs::read(folder.join("big.bin")).unwrap() == big);
    assert_eq!(partial_uploads(&folder, "big.bin"), []);
}

/// The JSON log line of `stderr` whose message is `message`, if any.
fn log_line(stderr: &str, message: &str) -> Option<serde_json::Value> {
    stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["fields"]["message"] == message)
}

#[test]
fn killing_tierd_mid_multipart_copy_to_s3_leaves_no_incomplete_upload_after_recovery() {
    use harness::boto::{multipart_uploads, wait_for_upload_parts};
    let server = S3Server::start().expect("the S3 server starts");
    server.create_bucket("cold").unwrap();
    let endpoint = server.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    server.write_two_tier_config(d, "cold").unwrap();
    let big = put_big_object(d);
    let mut child = start_big_move(d);
    // Kill it as soon as the server holds a part of its upload (one boto3 process polling).
    let seen = wait_for_upload_parts(&endpoint, "cold", 1, Duration::from_secs(60));
    if let Err(e) = seen {
        let ended = child.try_wait().unwrap();
        let _ = child.kill();
        panic!("{e}; tierd move ended meanwhile: {ended:?}");
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    // The kill left the upload on the server, invisible in listings, and its id in the journal.
    let left = multipart_uploads(&endpoint, "cold").unwrap();
    assert_eq!(left.len(), 1, "the kill left one upload: {left:?}");
    assert_eq!(left[0].key, "photos/big.bin");
    assert!(left[0].parts >= 1, "{left:?}");
    let upload_id = left[0].upload_id.clone();
    let journal = d.join("tierd.db");
    {
        let mut j = tierd::journal::Journal::open(&journal).unwrap();
        let journalled: Vec<(String, String, String)> = j
            .open_uploads()
            .unwrap()
            .into_iter()
            .map(|u| (u.tier, u.path, u.upload_id))
            .collect();
        assert_eq!(
            journalled,
            [("cloud".into(), "photos/big.bin".into(), upload_id.clone())]
        );
        let open = j.open_moves().unwrap();
        assert_eq!(open.len(), 1, "the kill left the move in flight: {open:?}");
        assert_eq!(open[0].state, tierd::journal::moves::MoveState::Intent);
    }

    // Restarted: recovery aborts the upload, says so, then undoes the move.
    let r = tierd(d, &["recover", "--config", "tierd.toml"]);
    assert_eq!(r.code, Some(0), "recovery failed: {}{}", r.stdout, r.stderr);
    let aborted = log_line(
        &r.stderr,
        "Aborted an incomplete multipart upload left by an interrupted copy.",
    )
    .unwrap_or_else(|| panic!("no abort logged: {}", r.stderr));
    let f = &aborted["fields"];
    assert_eq!(
        (&f["tier"], &f["path"], &f["upload_id"], &f["already_gone"]),
        (
            &serde_json::json!("cloud"),
            &serde_json::json!("photos/big.bin"),
            &serde_json::json!(upload_id),
            &serde_json::json!(false)
        ),
        "{aborted}"
    );
    assert!(
        r.stdout
            .contains(": 0 finished, 1 undone, 0 failed, 0 pending; ")
            && r.stdout
                .contains(" settled; 1 incomplete multipart upload aborted\n"),
        "{}",
        r.stdout
    );
    assert!(!r.stderr.contains("tierd-test-secret"), "{}", r.stderr);
    assert_eq!(
        multipart_uploads(&endpoint, "cold").unwrap(),
        [],
        "no incomplete upload is left on the server"
    );
    let cloud = server.store("cold").unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let on_cloud = |rt: &tokio::runtime::Runtime| {
        rt.block_on(async {
            match cloud.get(&StorePath::from("photos/big.bin")).await {
                Ok(got) => Some(got.bytes().await.unwrap()),
                Err(object_store::Error::NotFound { .. }) => None,
                Err(e) => panic!("{e}"),
            }
        })
    };
    assert!(on_cloud(&rt).is_none(), "no copy is left on cloud");
    assert!(
        std::fs::read(d.join("onprem/photos/big.bin")).unwrap() == big,
        "the source is intact on onprem"
    );
    let mut j = tierd::journal::Journal::open(&journal).unwrap();
    assert_eq!(j.open_uploads().unwrap(), []);
    assert!(j.open_moves().unwrap().is_empty());
    assert_eq!(
        j.locate("photos", "big.bin").unwrap().unwrap().tier,
        "onprem"
    );

    // The move runs again and completes: the object is on cloud alone, byte for byte.
    move_big_again(d);
    assert!(
        on_cloud(&rt).is_some_and(|b| b == big),
        "the object is on cloud"
    );
    assert!(!d.join("onprem/photos/big.bin").exists(), "and only there");
    assert_eq!(
        j.locate("photos", "big.bin").unwrap().unwrap().tier,
        "cloud"
    );
    assert_eq!(j.open_uploads().unwrap(), []);
    assert_eq!(multipart_uploads(&endpoint, "cold").unwrap(), []);
}
