//! Local filesystem (`file://`) tiers, on the real process: tierd never replaces or removes a
//! file it did not write. A copy killed part way leaves only its own journalled staging file,
//! which recovery removes, never a user's file named as staging files are (`x.dat#1`); and a
//! client's object written at the destination while a large copy runs is never overwritten.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics reports its failure

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use harness::{names_in, partial_uploads, tierd, tierd_bin, write_local_tiers_config};

/// 40 MiB: over the 16 MiB multipart threshold, ten seconds at 4 MiB/s.
const SIZE: u32 = 40 * 1024 * 1024;
const USER_FILE: &[u8] = b"precious user data, not tierd's";
const CLIENT_OBJECT: &[u8] = b"the client wrote this on the cloud tier";

/// A folder with a two-tier configuration (`onprem`, `cloud`, both local) and the 40 MiB object
/// `onprem/photos/x.dat`; returns the folder and the object's bytes.
fn setup() -> (tempfile::TempDir, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_local_tiers_config(d);
    let body: Vec<u8> = (0..SIZE)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::create_dir_all(d.join("onprem/photos")).unwrap();
    std::fs::create_dir_all(d.join("cloud/photos")).unwrap();
    std::fs::write(d.join("onprem/photos/x.dat"), &body).unwrap();
    (dir, body)
}

/// Starts the real `tierd move photos/x.dat --to cloud` in `d`, at 4 MiB/s.
fn start_move(d: &Path) -> Child {
    Command::new(tierd_bin())
        .args([
            "move",
            "photos/x.dat",
            "--to",
            "cloud",
            "--config",
            "tierd.toml",
        ])
        .args(["--max-bytes-per-sec", "4MiB"])
        .current_dir(d)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until a staging file of `x.dat` other than `users` holds bytes, or the move ends, or
/// 20 s pass (polled); returns the staging files seen.
fn wait_for_copy(child: &mut Child, folder: &Path, users: &[&str]) -> Vec<(String, u64)> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let seen: Vec<(String, u64)> = partial_uploads(folder, "x.dat")
            .into_iter()
            .filter(|(name, len)| !users.contains(&name.as_str()) && *len > 0)
            .collect();
        if !seen.is_empty() || Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            return seen;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Where `photos/x.dat` is, of `onprem` and `cloud`: the files holding it.
fn copies(d: &Path) -> Vec<PathBuf> {
    ["onprem", "cloud"]
        .iter()
        .map(|t| d.join(t).join("photos/x.dat"))
        .filter(|p| p.exists())
        .collect()
}

#[test]
fn recovery_after_a_killed_large_copy_removes_only_tierds_staging_file_and_keeps_a_users_file() {
    let (dir, body) = setup();
    let d = dir.path();
    let folder = d.join("cloud/photos");
    // A user's own file beside the destination, named as a staging file is.
    std::fs::write(folder.join("x.dat#1"), USER_FILE).unwrap();
    let mut child = start_move(d);
    let staged = wait_for_copy(&mut child, &folder, &["x.dat#1"]);
    child.kill().unwrap(); // SIGKILL, wherever the copy is
    child.wait().unwrap();

    let r = tierd(d, &["recover", "--config", "tierd.toml"]);
    assert_eq!(r.code, Some(0), "recovery failed: {}{}", r.stdout, r.stderr);
    assert_eq!(
        std::fs::read(folder.join("x.dat#1")).unwrap(),
        USER_FILE,
        "the user's file is intact (staging files seen before the kill: {staged:?}); {}",
        r.stderr
    );
    assert_eq!(
        partial_uploads(&folder, "x.dat"),
        [("x.dat#1".to_string(), USER_FILE.len() as u64)],
        "no staging file of tierd's is left"
    );
    let found = copies(d);
    assert_eq!(found.len(), 1, "the object exists exactly once: {found:?}");
    assert!(std::fs::read(&found[0]).unwrap() == body, "with its bytes");
    let mut j = tierd::journal::Journal::open(&d.join("tierd.db")).unwrap();
    assert_eq!(j.open_moves().unwrap(), []);
    assert_eq!(j.open_staging().unwrap(), []);
    let tier = j.locate("photos", "x.dat").unwrap().unwrap().tier;
    assert!(
        found[0].starts_with(d.join(&tier)),
        "the catalog says {tier}"
    );
}

#[test]
fn a_large_copy_never_overwrites_a_clients_object_written_at_the_destination_meanwhile() {
    let (dir, body) = setup();
    let d = dir.path();
    let folder = d.join("cloud/photos");
    let mut child = start_move(d);
    let staged = wait_for_copy(&mut child, &folder, &[]);
    if child.try_wait().unwrap().is_some() {
        let out = child.wait_with_output().unwrap();
        panic!(
            "the move ended before its copy was seen ({staged:?}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // A client writes the key on the destination tier while tierd copies it there.
    std::fs::write(folder.join("x.dat"), CLIENT_OBJECT).unwrap();
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("cloud already holds photos/x.dat; tierd never overwrites"),
        "{stdout}{stderr}"
    );
    assert_eq!(
        std::fs::read(folder.join("x.dat")).unwrap(),
        CLIENT_OBJECT,
        "the client's object is intact"
    );
    assert!(
        std::fs::read(d.join("onprem/photos/x.dat")).unwrap() == body,
        "the source is kept"
    );
    assert_eq!(names_in(&folder), ["x.dat"], "no staging file is left");
    let mut j = tierd::journal::Journal::open(&d.join("tierd.db")).unwrap();
    assert_eq!(j.open_staging().unwrap(), []);
}
