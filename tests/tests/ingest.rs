//! `tierd ingest` end to end: the real binary over files, folders, globs, gzip, Parquet and
//! NDJSON exports, and a log bucket on a real S3 server, with checkpoints across restarts.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics reports its failure

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use harness::{S3Server, gzip, tierd, workspace_root};
use object_store::path::Path as StorePath;
use object_store::{ObjectStoreExt, PutPayload};

fn samples() -> PathBuf {
    workspace_root().join("examples/logs")
}

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(samples().join(name)).expect("sample exists")
}

/// Events each bundled sample holds (the S3 one has one deliberately truncated line).
const S3_EVENTS: u64 = 207;
const MINIO_EVENTS: u64 = 41;
const CLOUDTRAIL_EVENTS: u64 = 5;
const CEPH_EVENTS: u64 = 30;

#[test]
fn a_file_of_unknown_format_is_reported_and_the_files_after_it_are_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::fs::write(logs.join("a.log"), sample("s3-access.log")).unwrap();
    std::fs::write(logs.join("b.txt"), "hello world\n").unwrap();
    std::fs::write(logs.join("c.log"), sample("ceph-ops.log")).unwrap();
    let out = dir.path().join("x.ndjson");
    let r = tierd(
        dir.path(),
        &[
            "ingest",
            "--logs",
            logs.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    let b = logs.join("b.txt");
    let why = format!(
        "{}: cannot tell the log format from its first lines; name it with --format (one of: \
         s3, minio, cloudtrail, ceph, ndjson, parquet)",
        b.display()
    );
    assert!(r.stderr.contains(&format!("error: {why}")), "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["unreadable"], serde_json::json!([why]));
    assert_eq!(v["events"], S3_EVENTS + CEPH_EVENTS, "a.log and c.log read");
    let written = std::fs::read_to_string(&out).unwrap();
    assert_eq!(written.lines().count() as u64, S3_EVENTS + CEPH_EVENTS);
}

#[test]
fn a_folder_of_all_four_formats_is_read_with_every_format_detected() {
    let dir = tempfile::tempdir().unwrap();
    let r = tierd(
        dir.path(),
        &["ingest", "--logs", samples().to_str().unwrap(), "--json"],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["objects"], 4);
    assert_eq!(v["formats"]["s3"], S3_EVENTS);
    assert_eq!(v["formats"]["minio"], MINIO_EVENTS);
    assert_eq!(v["formats"]["cloudtrail"], CLOUDTRAIL_EVENTS);
    assert_eq!(v["formats"]["ceph"], CEPH_EVENTS);
    assert_eq!(
        v["events"],
        S3_EVENTS + MINIO_EVENTS + CLOUDTRAIL_EVENTS + CEPH_EVENTS
    );
    assert_eq!(v["by_bucket"]["photos"], S3_EVENTS);
    assert_eq!(v["by_bucket"]["media"], MINIO_EVENTS);
    assert_eq!(v["by_bucket"]["finance-archive"], CLOUDTRAIL_EVENTS);
    assert_eq!(v["by_bucket"]["datasets"], CEPH_EVENTS);
    assert!(
        v["first"].as_str().unwrap().starts_with("2026-11-02T08:0"),
        "{}",
        v["first"]
    );
    assert!(
        v["last"].as_str().unwrap().starts_with("2026-11-03T00:0"),
        "{}",
        v["last"]
    );
}

#[test]
fn a_malformed_line_is_counted_located_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let log = samples().join("s3-access.log");
    let r = tierd(
        dir.path(),
        &["ingest", "--logs", log.to_str().unwrap(), "--json"],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["events"], S3_EVENTS);
    assert_eq!(v["bad_lines"]["count"], 1);
    let shown = &v["bad_lines"]["shown"][0];
    assert_eq!(shown["file"], log.display().to_string());
    assert_eq!(shown["line"], 58);
    assert!(!shown["reason"].as_str().unwrap().is_empty());
    // The text form prints it as file:line: reason.
    let t = tierd(dir.path(), &["ingest", "--logs", log.to_str().unwrap()]);
    assert!(
        t.stdout.contains(&format!("{}:58: ", log.display())),
        "{}",
        t.stdout
    );
}

#[test]
fn a_malformed_first_line_is_one_bad_line_and_the_next_lines_name_the_format() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["s3-access.log", "minio-audit.ndjson"] {
        let log = dir.path().join(name);
        let mut text = b"<html>502 Bad Gateway</html>\n".to_vec();
        text.extend(sample(name));
        std::fs::write(&log, text).unwrap();
        let r = tierd(
            dir.path(),
            &["ingest", "--logs", log.to_str().unwrap(), "--json"],
        );
        assert_eq!(r.code, Some(0), "{name}: {}", r.stderr);
        let v = r.json();
        let (events, bad) = if name.starts_with("s3") {
            (S3_EVENTS, 2)
        } else {
            (MINIO_EVENTS, 1)
        };
        assert_eq!(
            (&v["events"], &v["bad_lines"]["count"]),
            (&events.into(), &bad.into()),
            "{name}"
        );
        assert_eq!(v["bad_lines"]["shown"][0]["line"], 1, "{name}");
    }
    // Nothing that fits any format: refused, naming the file and --format.
    let junk = dir.path().join("junk.log");
    std::fs::write(&junk, "<html>\n502 Bad Gateway\n</html>\n").unwrap();
    let r = tierd(dir.path(), &["ingest", "--logs", junk.to_str().unwrap()]);
    assert_ne!(r.code, Some(0));
    assert!(
        r.stderr.contains("junk.log: cannot tell the log format") && r.stderr.contains("--format"),
        "{}",
        r.stderr
    );
}

#[test]
fn gzip_files_a_glob_and_a_mixed_folder_give_the_same_events_as_the_plain_files() {
    let dir = tempfile::tempdir().unwrap();
    let mixed = dir.path().join("mixed");
    std::fs::create_dir_all(mixed.join("nested")).unwrap();
    std::fs::write(mixed.join("a-s3.log.gz"), gzip(&sample("s3-access.log"))).unwrap();
    std::fs::write(
        mixed.join("nested/b-minio.json.gz"),
        gzip(&sample("minio-audit.ndjson")),
    )
    .unwrap();
    std::fs::write(
        mixed.join("c-trail.json.gz"),
        gzip(&sample("cloudtrail.json")),
    )
    .unwrap();
    std::fs::write(mixed.join("d-ceph.log"), sample("ceph-ops.log")).unwrap();
    let r = tierd(
        dir.path(),
        &["ingest", "--logs", mixed.to_str().unwrap(), "--json"],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["objects"], 4);
    assert_eq!(
        v["events"],
        S3_EVENTS + MINIO_EVENTS + CLOUDTRAIL_EVENTS + CEPH_EVENTS
    );
    let glob = format!("{}/*.gz", mixed.display());
    let g = tierd(dir.path(), &["ingest", "--logs", &glob, "--json"]).json();
    assert_eq!(g["objects"], 2, "the glob does not recurse into nested/");
    assert_eq!(g["events"], S3_EVENTS + CLOUDTRAIL_EVENTS);
}

fn export(dir: &Path, logs: &str, out: &str) -> serde_json::Value {
    let r = tierd(dir, &["ingest", "--logs", logs, "--out", out, "--json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    r.json()
}

#[test]
fn parquet_and_ndjson_exports_read_back_to_the_same_events() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let logs = samples();
    let first = export(d, logs.to_str().unwrap(), "events.ndjson");
    assert_eq!(first["written"]["events"], first["events"]);
    let pq = export(d, "events.ndjson", "events.parquet");
    assert_eq!(pq["formats"]["ndjson"], first["events"]);
    let again = export(d, "events.parquet", "again.ndjson");
    assert_eq!(again["formats"]["parquet"], first["events"]);
    let a = std::fs::read_to_string(d.join("events.ndjson")).unwrap();
    let b = std::fs::read_to_string(d.join("again.ndjson")).unwrap();
    assert_eq!(
        a, b,
        "ndjson → parquet → ndjson is lossless, origins included"
    );
    assert_eq!(again["by_op"], first["by_op"]);
}

#[test]
fn an_implausible_event_in_a_parquet_file_is_a_bad_row_of_that_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let event = |secs: i64| models::AccessEvent {
        time_us: secs * 1_000_000,
        op: models::OpClass::Get,
        bucket: "photos".into(),
        key: Some("a.jpg".into()),
        origin: models::event::Origin {
            file: "/var/log/minio/audit.log".into(),
            line: 812,
        },
        ..models::AccessEvent::default()
    };
    let pq = d.join("events.parquet");
    let mut w =
        models::frame::EventWriter::create(&pq, models::frame::ExportFormat::Parquet).unwrap();
    // A good event, then one in the year 9999.
    w.write(vec![event(1_790_000_000), event(253_402_300_799)])
        .unwrap();
    w.finish().unwrap();
    let r = tierd(d, &["ingest", "--logs", pq.to_str().unwrap(), "--json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v = r.json();
    assert_eq!(
        (&v["events"], &v["bad_lines"]["count"]),
        (&1.into(), &1.into()),
        "{v}"
    );
    let shown = &v["bad_lines"]["shown"][0];
    assert_eq!(
        (&shown["file"], &shown["line"]),
        (&pq.display().to_string().into(), &2.into())
    );
    let reason = shown["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("row 2: ")
            && reason.ends_with("(an event first read from /var/log/minio/audit.log:812)"),
        "{reason}"
    );
}

#[test]
fn no_secret_from_any_log_reaches_the_exported_events() {
    let dir = tempfile::tempdir().unwrap();
    export(dir.path(), samples().to_str().unwrap(), "events.ndjson");
    let text = std::fs::read_to_string(dir.path().join("events.ndjson")).unwrap();
    for secret in [
        "X-Amz-Signature",
        "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
        "Signature=",
        "AWS4-HMAC-SHA256",
        "0b5c1a3fbd4e3f8e2a6d5c4b3a2918f7e6d5c4b3a29180f7e6d5c4b3a2918f7e",
        "X-Amz-Credential",
    ] {
        assert!(!text.contains(secret), "{secret:?} leaked into the events");
    }
}

/// `tierd ingest --logs access.log --resume --json` in `d` with a configuration whose journal
/// (and so whose checkpoints) is `d/state/tierd.db`: its summary.
fn resume_ingest(d: &Path) -> serde_json::Value {
    resume_ingest_of(d, &d.join("access.log"))
}

/// [`resume_ingest`] of `logs`, a file or a folder.
fn resume_ingest_of(d: &Path, logs: &Path) -> serde_json::Value {
    let cfg = d.join("tierd.toml");
    if !cfg.exists() {
        std::fs::write(
            &cfg,
            "[journal]\npath = \"state/tierd.db\"\n[tiers.onprem]\nurl = \"file://onprem\"\n",
        )
        .unwrap();
    }
    let cfg = cfg.to_str().unwrap();
    let args = [
        "ingest",
        "--config",
        cfg,
        "--logs",
        logs.to_str().unwrap(),
        "--resume",
        "--json",
    ];
    let r = tierd(d, &args);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    r.json()
}

#[test]
fn a_growing_file_is_resumed_without_skipping_or_double_counting() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("access.log");
    let all = String::from_utf8(sample("s3-access.log")).unwrap();
    let lines: Vec<&str> = all.lines().collect();
    // First pass: 100 whole lines plus half of the 101st (a writer mid-line).
    let half = &lines[100][..lines[100].len() / 2];
    std::fs::write(&log, format!("{}\n{half}", lines[..100].join("\n"))).unwrap();
    let run = || resume_ingest(d);
    let first = run();
    let bad_in_first_100 = u64::from(lines[..100].iter().any(|l| l.split(' ').count() < 20));
    assert_eq!(
        first["events"].as_u64().unwrap() + first["bad_lines"]["count"].as_u64().unwrap(),
        100
    );
    assert_eq!(
        first["bad_lines"]["count"].as_u64().unwrap(),
        bad_in_first_100
    );
    // The writer finishes the line and appends the rest.
    std::fs::write(&log, format!("{}\n", lines.join("\n"))).unwrap();
    let second = run();
    let total = first["events"].as_u64().unwrap() + second["events"].as_u64().unwrap();
    assert_eq!(
        total, S3_EVENTS,
        "every event exactly once across the two passes"
    );
    let third = run();
    assert_eq!(third["events"], 0, "nothing new, nothing read again");
    // Not even its head, to detect the format: a followed file that has not grown is skipped.
    assert_eq!(third["objects_skipped"], 1, "{third}");
    assert_eq!(third["bytes"], 0, "{third}");
    assert!(
        d.join("state/tierd.db").exists(),
        "checkpoints live in the configured journal"
    );
}

#[test]
fn a_file_rotated_in_empty_is_read_once_it_grows() {
    // logrotate's `create`: the new log exists, empty, before the first line is written.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("access.log");
    std::fs::write(&log, "").unwrap();
    let run = || resume_ingest(d);
    assert_eq!(run()["events"], 0);
    let all = String::from_utf8(sample("s3-access.log")).unwrap();
    let first = all.lines().next().unwrap();
    // Its first line half written: not yet a line, not yet a format; nothing fails.
    std::fs::write(&log, &first[..12]).unwrap();
    assert_eq!(run()["events"], 0);
    std::fs::write(&log, format!("{first}\n")).unwrap();
    let grown = run();
    assert_eq!(grown["events"], 1, "{grown}");
}

/// The lines of the S3 sample log in a range, each ended, and how many there are.
fn s3_lines() -> (impl Fn(std::ops::Range<usize>) -> String, usize) {
    let all = String::from_utf8(sample("s3-access.log")).unwrap();
    let lines: Vec<String> = all.lines().map(|l| format!("{l}\n")).collect();
    let n = lines.len();
    (move |r: std::ops::Range<usize>| lines[r].concat(), n)
}

#[test]
fn a_log_folder_rotated_by_rename_then_compression_gives_every_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let logs = d.join("logs");
    std::fs::create_dir(&logs).unwrap();
    let (text, n_lines) = s3_lines();
    let (live, one, two) = (
        logs.join("access.log"),
        logs.join("access.log.1"),
        logs.join("access.log.2.gz"),
    );
    let mut runs = Vec::new();
    let mut run = || {
        let v = resume_ingest_of(d, &logs);
        runs.push((
            v["events"].as_u64().unwrap(),
            v["bad_lines"]["count"].as_u64().unwrap(),
        ));
        v
    };
    std::fs::write(&live, text(0..80)).unwrap();
    run();
    // Written after that run; then logrotate's default: `mv access.log access.log.1`, a new
    // access.log.
    let mut f = std::fs::File::options().append(true).open(&live).unwrap();
    std::io::Write::write_all(&mut f, text(80..120).as_bytes()).unwrap();
    drop(f);
    std::fs::rename(&live, &one).unwrap();
    std::fs::write(&live, text(120..160)).unwrap();
    run();
    // The next rotation, with delaycompress: access.log.1 becomes access.log.2.gz (a new
    // file), access.log becomes access.log.1, and a new access.log is written.
    std::fs::write(&two, gzip(&std::fs::read(&one).unwrap())).unwrap();
    std::fs::remove_file(&one).unwrap();
    std::fs::rename(&live, &one).unwrap();
    std::fs::write(&live, text(160..n_lines)).unwrap();
    run();
    let again = run();
    assert_eq!(again["objects_skipped"], 3, "{again}");
    // Line 58 is the sample's one bad line, in the first run.
    assert_eq!(runs, [(79, 1), (40 + 40, 0), (48, 0), (0, 0)]);
    let total: u64 = runs.iter().map(|(events, _)| events).sum();
    assert_eq!(total, S3_EVENTS, "every event exactly once");
}

#[test]
fn a_log_renamed_out_of_one_overlapping_source_into_another_is_read_on_not_again() {
    // Two sources that overlap: the glob names access.log, the folder names it too (read once,
    // under the glob). logrotate renames it access.log.1, which only the folder names: the
    // folder reads on from where the glob got to, not from its start.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let logs = d.join("logs");
    std::fs::create_dir(&logs).unwrap();
    let (text, _) = s3_lines();
    std::fs::write(
        d.join("tierd.toml"),
        "[journal]\npath = \"state/tierd.db\"\n[tiers.onprem]\nurl = \"file://onprem\"\n",
    )
    .unwrap();
    let glob = format!("{}/*.log", logs.display());
    let folder = format!("{}/", logs.display());
    let run = || {
        let args = [
            "ingest",
            "--config",
            "tierd.toml",
            "--logs",
            &glob,
            &folder,
            "--resume",
            "--json",
        ];
        let r = tierd(d, &args);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        r.json()["events"].as_u64().unwrap()
    };
    let live = logs.join("access.log");
    std::fs::write(&live, text(0..20)).unwrap();
    assert_eq!(run(), 20);
    // Five more lines, then the rotation and five lines in a new access.log.
    let mut f = std::fs::File::options().append(true).open(&live).unwrap();
    std::io::Write::write_all(&mut f, text(20..25).as_bytes()).unwrap();
    drop(f);
    std::fs::rename(&live, logs.join("access.log.1")).unwrap();
    std::fs::write(&live, text(25..30)).unwrap();
    assert_eq!(
        run(),
        10,
        "5 new lines in access.log.1 and 5 in the new access.log"
    );
    assert_eq!(run(), 0);
}

fn s3_ingest(d: &Path, server: &S3Server, url: &str, extra: &[&str]) -> serde_json::Value {
    let mut args: Vec<String> = vec![
        "ingest".into(),
        "--logs".into(),
        url.into(),
        "--json".into(),
    ];
    for (k, v) in server.options() {
        args.push("--store-option".into());
        args.push(format!("{k}={v}"));
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = tierd(d, &argv);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        !r.stderr.contains("tierd-test-secret") && !r.stdout.contains("tierd-test-secret"),
        "secret key printed"
    );
    r.json()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_log_bucket_on_a_real_s3_server_is_read_in_order_with_checkpoints() {
    let server = S3Server::start().expect("the S3 server starts");
    server.create_bucket("access-logs").unwrap();
    let logs = server.store("access-logs").unwrap();
    let all = String::from_utf8(sample("s3-access.log")).unwrap();
    let lines: Vec<&str> = all.lines().collect();
    // S3 delivers log objects named by time under the configured target prefix.
    let put = |name: &str, body: Vec<u8>| {
        let logs = logs.clone();
        let p = StorePath::from(format!("photos/{name}"));
        async move {
            logs.put(&p, PutPayload::from(Bytes::from(body)))
                .await
                .unwrap()
        }
    };
    put(
        "2026-11-02-08-00-00-A1B2C3D4E5F60718",
        format!("{}\n", lines[..80].join("\n")).into_bytes(),
    )
    .await;
    put(
        "2026-11-02-09-00-00-0F1E2D3C4B5A6978",
        gzip(format!("{}\n", lines[80..150].join("\n")).as_bytes()),
    )
    .await;
    // Not under the prefix: must not be read, nor a sibling whose name starts the same.
    for other in [
        "other/2026-11-02-08-00-00-FFFF",
        "photos-old/2026-11-02-08-00-00-EEEE",
    ] {
        logs.put(&StorePath::from(other), PutPayload::from_static(b"junk\n"))
            .await
            .unwrap();
    }

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = d.join("tierd.toml");
    std::fs::write(
        &cfg,
        "[journal]\npath = \"tierd.db\"\n[tiers.onprem]\nurl = \"file://onprem\"\n",
    )
    .unwrap();
    let c = cfg.to_str().unwrap();
    let url = "s3://access-logs/photos/";

    let first = s3_ingest(d, &server, url, &["--config", c, "--resume"]);
    assert_eq!(first["objects"], 2);
    let first_n = first["events"].as_u64().unwrap() + first["bad_lines"]["count"].as_u64().unwrap();
    assert_eq!(first_n, 150);
    let bad = &first["bad_lines"]["shown"];
    if first["bad_lines"]["count"] == 1 {
        assert_eq!(
            bad[0]["file"],
            "s3://access-logs/photos/2026-11-02-08-00-00-A1B2C3D4E5F60718"
        );
        assert_eq!(bad[0]["line"], 58);
    }

    // simulate reads the same objects merged in time order (each one's head a ranged read).
    let mut sim_cfg = String::from(
        "[tiers.onprem]\nurl = \"file://onprem\"\n[tiers.cloud]\nurl = \"file://cloud\"\n[tiers.vault]\nurl = \"file://vault\"\nrole = \"vault\"\n[policies]\nfiles = [\"builtin:default\"]\n[ingest.options]\n",
    );
    for (k, v) in server.options() {
        sim_cfg.push_str(&format!("{k} = {v:?}\n"));
    }
    std::fs::write(d.join("sim.toml"), sim_cfg).unwrap();
    let r = tierd(
        d,
        &["simulate", "--config", "sim.toml", "--logs", url, "--json"],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let sim = r.json();
    assert_eq!(sim["events"], first["events"], "{sim}");
    assert_eq!(sim["late_events"], 0, "{sim}");

    // A restart with nothing new reads nothing again.
    let again = s3_ingest(d, &server, url, &["--config", c, "--resume"]);
    assert_eq!(again["events"], 0);
    assert_eq!(again["objects_skipped"], 2);

    // A new log object arrives: only it is read.
    put(
        "2026-11-02-10-00-00-11223344AABBCCDD",
        format!("{}\n", lines[150..].join("\n")).into_bytes(),
    )
    .await;
    let third = s3_ingest(d, &server, url, &["--config", c, "--resume"]);
    assert_eq!(third["objects"], 1);
    assert_eq!(third["objects_skipped"], 2);
    assert_eq!(
        first["events"].as_u64().unwrap() + third["events"].as_u64().unwrap(),
        S3_EVENTS,
        "every event of the bucket exactly once"
    );

    // Without --resume, the whole prefix is read (what `ingest` shows a user).
    let full = s3_ingest(d, &server, url, &[]);
    assert_eq!(full["events"], S3_EVENTS);
}

#[tokio::test(flavor = "multi_thread")]
async fn log_objects_written_by_the_servers_own_access_logging_are_found_and_read() {
    let server = S3Server::start().expect("the S3 server starts");
    server.create_bucket("photos").unwrap();
    server.create_bucket("access-logs").unwrap();
    server
        .enable_logging("photos", "access-logs", "photos/")
        .expect("bucket logging can be enabled");
    let photos = server.store("photos").unwrap();
    for i in 0..5 {
        let p = StorePath::from(format!("img-{i}.jpg"));
        photos
            .put(&p, PutPayload::from_static(b"jpeg"))
            .await
            .unwrap();
        photos.get(&p).await.unwrap().bytes().await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let v = s3_ingest(
        dir.path(),
        &server,
        "s3://access-logs/photos/",
        &["--format", "s3"],
    );
    // moto's log records carry placeholder fields, so only their discovery is asserted here;
    // the parser itself is tested on documented samples.
    assert!(
        v["objects"].as_u64().unwrap() >= 1,
        "no log object found: {v}"
    );
    assert!(
        v["events"].as_u64().unwrap() + v["bad_lines"]["count"].as_u64().unwrap() >= 1,
        "{v}"
    );
}

#[test]
fn a_ceph_line_holding_several_entries_gives_every_event() {
    // Under load, Ceph releases before the fix of ceph/ceph#68881 write entries back to back.
    let dir = tempfile::tempdir().unwrap();
    let text = String::from_utf8(sample("ceph-ops.log")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let joined = format!("{}{}\n{}\n", lines[0], lines[1], lines[2]);
    let log = dir.path().join("ops.log");
    std::fs::write(&log, joined).unwrap();
    let v = tierd(
        dir.path(),
        &["ingest", "--logs", log.to_str().unwrap(), "--json"],
    )
    .json();
    assert_eq!(v["formats"]["ceph"], 3);
    assert_eq!(v["bad_lines"]["count"], 0);
}

/// The service reads a folder in which one log object is corrupt: the objects before and after
/// it are read and processed in the same cycle, the bad one is named and retried, and nothing is
/// read twice.
#[test]
fn the_service_reads_around_a_corrupt_log_object_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let all = String::from_utf8(sample("s3-access.log")).unwrap();
    let lines: Vec<&str> = all.lines().filter(|l| l.split(' ').count() > 20).collect();
    let (first, second) = lines.split_at(lines.len() / 2);
    std::fs::create_dir_all(d.join("logs")).unwrap();
    std::fs::write(
        d.join("logs/a.log.gz"),
        gzip(format!("{}\n", first.join("\n")).as_bytes()),
    )
    .unwrap();
    // A gzip header, then garbage: not a log anyone can read.
    let mut corrupt = vec![0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0xff];
    corrupt.extend(std::iter::repeat_n(0xA5u8, 4096));
    std::fs::write(d.join("logs/b.log.gz"), &corrupt).unwrap();
    std::fs::write(
        d.join("logs/c.log.gz"),
        gzip(format!("{}\n", second.join("\n")).as_bytes()),
    )
    .unwrap();
    let cfg = d.join("tierd.toml");
    std::fs::write(
        &cfg,
        "[journal]\npath = \"tierd.db\"\n\
         [tiers.onprem]\nurl = \"file://onprem\"\n\
         [tiers.cloud]\nurl = \"file://cloud\"\nmin_storage_days = 90\n\
         [tiers.vault]\nurl = \"file://vault\"\nrole = \"vault\"\n\
         [ingest]\nsources = [\"logs/\"]\n\
         [policies]\nfiles = [\"builtin:default\"]\n\
         [service]\nlisten = \"off\"\n",
    )
    .unwrap();
    let once = || {
        let r = tierd(d, &["run", "--config", cfg.to_str().unwrap(), "--once"]);
        let report: serde_json::Value = serde_json::from_str(r.stdout.trim())
            .unwrap_or_else(|e| panic!("{e}: {}\n{}", r.stdout, r.stderr));
        (r, report)
    };
    let (r, report) = once();
    assert_eq!(
        r.code,
        Some(1),
        "an unreadable log fails --once: {}",
        r.stderr
    );
    assert_eq!(
        report["events"].as_u64(),
        Some(lines.len() as u64),
        "both good objects were read: {report}"
    );
    let unreadable = report["unreadable_logs"].as_array().unwrap();
    assert_eq!(unreadable.len(), 1, "{report}");
    assert!(
        unreadable[0].as_str().unwrap().contains("b.log.gz"),
        "{report}"
    );
    assert!(r.stderr.contains("b.log.gz"), "{}", r.stderr);
    // The next cycle retries the bad object and reads nothing twice.
    let (r, report) = once();
    assert_eq!(r.code, Some(1));
    assert_eq!(report["events"], 0, "{report}");
    assert_eq!(report["unreadable_logs"].as_array().unwrap().len(), 1);
    // Replaced by a readable object, it is read, and the service is clean again.
    std::fs::write(
        d.join("logs/b.log.gz"),
        gzip(format!("{}\n", lines[0]).as_bytes()),
    )
    .unwrap();
    let (r, report) = once();
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(report["events"], 1, "{report}");
    assert!(report.get("unreadable_logs").is_none(), "{report}");
}

#[test]
fn a_source_url_with_a_password_or_a_signature_is_refused_without_printing_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (url, shown) in [
        (
            "https://alice:S3cretPW@127.0.0.1:9/logs/",
            "https://***@127.0.0.1:9/logs/",
        ),
        (
            "https://127.0.0.1:9/logs/a.log?sv=2024&sig=S3cretPW",
            "https://127.0.0.1:9/logs/a.log?sv=2024&sig=***",
        ),
    ] {
        let r = tierd(d, &["ingest", "--logs", url]);
        assert_ne!(r.code, Some(0), "{}", r.stdout);
        assert_eq!(
            r.stderr.matches(shown).count(),
            1,
            "named once: {}",
            r.stderr
        );
        assert!(r.stderr.contains("carries"), "{}", r.stderr);
        assert!(
            !r.stderr.contains("S3cretPW") && !r.stdout.contains("S3cretPW"),
            "{}",
            r.stderr
        );
    }
}

/// Parquet exports with one byte changed, and what reading each says: polars panics on the
/// first (its column chunk metadata); on the second (a length inside a page) it asks for an
/// impossible allocation, which aborts the process that reads it (tierd's child decoder).
fn corrupt_parquets() -> [(Vec<u8>, &'static str); 2] {
    let fixture = |name: &str| {
        std::fs::read(harness::workspace_root().join("tests/fixtures").join(name)).unwrap()
    };
    [
        (
            fixture("corrupt-column-chunk.parquet"),
            "not a readable Parquet file (corrupt or truncated: ",
        ),
        (
            fixture("corrupt-page-allocation.parquet"),
            "not a readable Parquet file (decoding it killed the reader with SIGABRT (6): memory allocation of 2305843009213693904 bytes failed)",
        ),
    ]
}

#[test]
fn a_corrupt_parquet_log_is_an_unreadable_object_not_a_panic() {
    for (corrupt, says) in corrupt_parquets() {
        a_corrupt_parquet_log_is_unreadable(&corrupt, says);
    }
    // Cut short: said once, as what it is.
    let whole = std::fs::read(
        harness::workspace_root().join("tests/fixtures/corrupt-page-allocation.parquet"),
    )
    .unwrap();
    a_corrupt_parquet_log_is_unreadable(
        &whole[..8_000],
        "not a readable Parquet file (parquet: File out of specification: The file must end with PAR1)",
    );
}

fn a_corrupt_parquet_log_is_unreadable(corrupt: &[u8], says: &str) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("bad.parquet"), corrupt).unwrap();
    let r = tierd(d, &["ingest", "--logs", "bad.parquet", "--json"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("bad.parquet: {says}")),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);

    // In the service, the objects after it are still read, and it is retried next cycle.
    let all = String::from_utf8(sample("s3-access.log")).unwrap();
    let lines: Vec<&str> = all.lines().filter(|l| l.split(' ').count() > 20).collect();
    let (first, second) = lines.split_at(lines.len() / 2);
    std::fs::create_dir_all(d.join("logs")).unwrap();
    std::fs::write(d.join("logs/a.log"), format!("{}\n", first.join("\n"))).unwrap();
    std::fs::write(d.join("logs/b.parquet"), corrupt).unwrap();
    std::fs::write(d.join("logs/c.log"), format!("{}\n", second.join("\n"))).unwrap();
    std::fs::write(
        d.join("tierd.toml"),
        "[journal]\npath = \"tierd.db\"\n\
         [tiers.onprem]\nurl = \"file://onprem\"\n\
         [tiers.cloud]\nurl = \"file://cloud\"\n\
         [tiers.vault]\nurl = \"file://vault\"\nrole = \"vault\"\n\
         [ingest]\nsources = [\"logs/\"]\n\
         [policies]\nfiles = [\"builtin:default\"]\n\
         [service]\nlisten = \"off\"\n",
    )
    .unwrap();
    let r = tierd(d, &["run", "--config", "tierd.toml", "--once"]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    let report: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(
        report["events"].as_u64(),
        Some(lines.len() as u64),
        "{report}"
    );
    let unreadable = report["unreadable_logs"].as_array().unwrap();
    assert_eq!(unreadable.len(), 1, "{report}");
    assert!(
        unreadable[0].as_str().unwrap().contains("b.parquet"),
        "{report}"
    );
    assert!(
        r.stderr.contains(says.trim_end_matches(": ")),
        "{}",
        r.stderr
    );
}

#[test]
fn records_no_store_could_write_and_overlong_lines_are_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ev = |time: &str, extra: &str| {
        format!(
            r#"{{"time":"{time}","op":"get","operation":"GetObject","bucket":"b","key":"k","status":200{extra}}}"#
        )
    };
    let lines = [
        ev("2026-11-02T08:00:00Z", ""),
        ev("9999-12-31T23:59:59Z", ""),
        ev("0001-01-01T00:00:00Z", ""),
        ev(
            "2026-11-02T08:01:00Z",
            r#","bytes_sent":18446744073709551615"#,
        ),
        ev(
            "2026-11-02T08:02:00Z",
            r#","object_size":9223372036854775807"#,
        ),
        format!(
            "{}\n{}",
            ev(
                "2026-11-02T08:03:00Z",
                &format!(r#","user_agent":"{}""#, "A".repeat(3 << 20))
            ),
            ev("2026-11-02T08:04:00Z", "")
        ),
    ];
    std::fs::write(d.join("e.ndjson"), format!("{}\n", lines.join("\n"))).unwrap();
    let r = tierd(
        d,
        &[
            "ingest", "--logs", "e.ndjson", "--format", "ndjson", "--json",
        ],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let report = r.json();
    assert_eq!(report["events"], 2, "{report}");
    let bad = &report["bad_lines"];
    assert_eq!(bad["count"], 5, "{bad}");
    let reasons: Vec<(u64, String)> = bad["shown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["line"].as_u64().unwrap(),
                b["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(reasons[0] == (2, "time 9999-12-31T23:59:59+00:00 is outside 2000-01-01 to 2100-01-01; a broken clock or a bad field".to_string()), "{reasons:?}");
    assert_eq!(reasons[1].0, 3, "{reasons:?}");
    assert!(reasons[2] == (4, "bytes sent 18446744073709551615 is more than 1 PiB, larger than any object a store holds".to_string()), "{reasons:?}");
    assert!(
        reasons[3]
            .1
            .starts_with("object size 9223372036854775807 is more than 1 PiB"),
        "{reasons:?}"
    );
    assert_eq!(reasons[4].0, 6, "{reasons:?}");
    assert!(
        reasons[4]
            .1
            .ends_with("bytes long, more than the 1 MiB a log line may have; skipped unread"),
        "{reasons:?}"
    );
}

/// A `--format` under which no line is a record is most likely the wrong one: said on stderr;
/// the right one, or detection, says nothing of the kind.
#[test]
fn a_format_under_which_every_line_is_bad_is_questioned() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("access.log"), sample("s3-access.log")).unwrap();
    let r = tierd(
        d,
        &["ingest", "--logs", "access.log", "--format", "cloudtrail"],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "hint: no line was a cloudtrail record; is --format cloudtrail right? without it, each log's format is told from its first lines"
        ),
        "{}",
        r.stderr
    );
    for args in [&["--format", "s3"][..], &[][..]] {
        let r = tierd(d, &[&["ingest", "--logs", "access.log"][..], args].concat());
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        assert!(!r.stderr.contains("hint:"), "{}", r.stderr);
    }
}

/// A service configuration reading `source` (with `options` for a store) into file tiers, every
/// `ingest_interval`.
fn service_config(d: &Path, source: &str, options: &[(String, String)], interval: &str) -> PathBuf {
    let mut text = format!(
        "[journal]\npath = \"tierd.db\"\n\
         [tiers.onprem]\nurl = \"file://onprem\"\n\
         [tiers.cloud]\nurl = \"file://cloud\"\nmin_storage_days = 90\n\
         [tiers.vault]\nurl = \"file://vault\"\nrole = \"vault\"\n\
         [policies]\nfiles = [\"builtin:default\"]\n\
         [service]\nlisten = \"off\"\ningest_interval = \"{interval}\"\n\
         [ingest]\nsources = [{source:?}]\n[ingest.options]\n"
    );
    for (k, v) in options {
        text.push_str(&format!("{k} = {v:?}\n"));
    }
    let cfg = d.join("tierd.toml");
    std::fs::write(&cfg, text).unwrap();
    cfg
}

/// `tierd run --once`: its report.
fn run_once(d: &Path, cfg: &Path) -> serde_json::Value {
    let r = tierd(d, &["run", "--config", cfg.to_str().unwrap(), "--once"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    serde_json::from_str(r.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", r.stdout))
}

/// The checkpoint rows of the journal at `d/tierd.db`, by object name.
fn checkpoint_rows(d: &Path) -> Vec<String> {
    let c = rusqlite::Connection::open(d.join("tierd.db")).unwrap();
    let mut q = c
        .prepare("SELECT object FROM ingest_checkpoint ORDER BY object")
        .unwrap();
    q.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The service lists a log bucket whole when it starts; its idle cycles then list no log object
/// it read before (review 17: every cycle listed all 16,786), a new one alone. A log object
/// delivered late under an earlier key is read at the next full listing (here, a restart); the
/// checkpoints of objects expired from the bucket are forgotten.
#[tokio::test(flavor = "multi_thread")]
async fn the_service_lists_a_log_bucket_whole_at_start_and_then_only_what_is_new() {
    let server = S3Server::start().expect("the S3 server starts");
    server.create_bucket("access-logs").unwrap();
    let logs = server.store("access-logs").unwrap();
    let all = String::from_utf8(sample("s3-access.log")).unwrap();
    let lines: Vec<&str> = all.lines().filter(|l| l.split(' ').count() > 20).collect();
    let put = |name: &str, range: std::ops::Range<usize>| {
        let logs = logs.clone();
        let p = StorePath::from(format!("photos/{name}"));
        let body = format!("{}\n", lines[range].join("\n"));
        async move { logs.put(&p, PutPayload::from(body)).await.unwrap() }
    };
    put("2026-11-02-08-00-00-AAAA", 0..10).await;
    put("2026-11-02-09-00-00-BBBB", 10..20).await;
    put("2026-11-02-11-00-00-DDDD", 20..30).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let options: Vec<(String, String)> = server.options().into_iter().collect();
    let cfg = service_config(d, "s3://access-logs/photos/", &options, "1s");

    let env = [("TIERD_LOG", "info,tierd::ingest=debug".to_string())];
    let mut svc = harness::daemon::Daemon::start(d, &cfg, &env);
    // (full, listed) of each listing of the source so far.
    let stderr = svc.stderr_path.clone();
    let listings = || -> Vec<(bool, u64)> {
        harness::daemon::json_lines(&stderr)
            .iter()
            .filter(|v| v["fields"]["message"] == "listed a log source")
            .map(|v| {
                let f = &v["fields"];
                (f["full"].as_bool().unwrap(), f["listed"].as_u64().unwrap())
            })
            .collect()
    };
    let seen = svc.until(Duration::from_secs(60), "three listings", || {
        Some(listings()).filter(|l| l.len() >= 3)
    });
    assert_eq!(seen[0], (true, 3), "the first listing is whole: {seen:?}");
    assert!(
        seen[1..].iter().all(|&l| l == (false, 0)),
        "idle listings list nothing: {seen:?}"
    );
    put("2026-11-02-12-00-00-EEEE", 30..35).await;
    let n = listings().len();
    let after = svc.until(Duration::from_secs(60), "the new object listed", || {
        let l = listings();
        l[n..]
            .iter()
            .position(|&x| x == (false, 1))
            .map(|i| l[n + i..].to_vec())
    });
    assert!(after.iter().all(|&(full, _)| !full), "{after:?}");
    svc.until(Duration::from_secs(60), "an idle listing after it", || {
        listings()[n..]
            .iter()
            .skip_while(|&&x| x != (false, 1))
            .any(|&x| x == (false, 0))
            .then_some(())
    });
    svc.signal("TERM");
    assert!(svc.wait_exit(Duration::from_secs(30)).is_some());
    assert_eq!(checkpoint_rows(d).len(), 4);

    // Delivered late under an earlier key: read at the next full listing (a start).
    put("2026-11-02-10-00-00-CCCC", 35..40).await;
    let report = run_once(d, &cfg);
    assert_eq!(report["events"], 5, "the late object alone: {report}");
    // Two objects expire: a full listing forgets their checkpoints.
    for k in ["2026-11-02-08-00-00-AAAA", "2026-11-02-09-00-00-BBBB"] {
        logs.delete(&StorePath::from(format!("photos/{k}")))
            .await
            .unwrap();
    }
    let report = run_once(d, &cfg);
    assert_eq!(report["events"], 0, "{report}");
    let rows = checkpoint_rows(d);
    let keys: Vec<&str> = rows.iter().map(|r| r.rsplit('/').next().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "2026-11-02-10-00-00-CCCC",
            "2026-11-02-11-00-00-DDDD",
            "2026-11-02-12-00-00-EEEE"
        ]
    );
}

/// The checkpoints of deleted log files are forgotten (review 17: 15,000 of 31,786 files
/// deleted, 31,786 rows kept); a rotated file's follows it under its new name.
#[test]
fn the_checkpoints_of_deleted_log_files_are_forgotten_and_a_rotated_files_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let all = String::from_utf8(sample("s3-access.log")).unwrap();
    let lines: Vec<&str> = all.lines().filter(|l| l.split(' ').count() > 20).collect();
    std::fs::create_dir_all(d.join("logs")).unwrap();
    for (i, name) in ["a.log", "b.log", "c.log", "access.log"].iter().enumerate() {
        let body = format!("{}\n", lines[i * 5..i * 5 + 5].join("\n"));
        std::fs::write(d.join("logs").join(name), body).unwrap();
    }
    let cfg = service_config(d, "logs/", &[], "30s");
    assert_eq!(run_once(d, &cfg)["events"], 20);
    assert_eq!(checkpoint_rows(d).len(), 4);
    std::fs::remove_file(d.join("logs/a.log")).unwrap();
    std::fs::remove_file(d.join("logs/b.log")).unwrap();
    std::fs::rename(d.join("logs/access.log"), d.join("logs/access.log.1")).unwrap();
    assert_eq!(
        run_once(d, &cfg)["events"],
        0,
        "the rotated file read on, not again"
    );
    let rows = checkpoint_rows(d);
    let names: Vec<&str> = rows.iter().map(|r| r.rsplit('/').next().unwrap()).collect();
    assert_eq!(names, ["access.log.1", "c.log"]);
}

/// The recovery recipe's first half: the keys one principal wrote or deleted in one bucket in
/// one window, each once, sorted — what `tierd snapshot restore --keys-from` reads.
#[test]
fn ingest_keys_lists_exactly_the_keys_a_principal_wrote_in_a_window() {
    use harness::s3log::{self, Record};
    let dir = tempfile::tempdir().unwrap();
    let t0: i64 = 1_796_089_200_000_000; // 2026-12-01T01:40:00Z
    let min = 60_000_000;
    let app = "arn:aws:iam::123456789012:user/app-00";
    let other = "arn:aws:iam::123456789012:user/app-01";
    let records = [
        Record::object(t0 - min, "photos", app, "PUT", "data/before.txt", 5), // before --since
        Record::object(t0, "photos", app, "PUT", "data/2.txt", 5),
        Record::object(t0 + min, "photos", app, "PUT", "data/1 b.txt", 5),
        Record::object(t0 + 2 * min, "photos", app, "PUT", "data/2.txt", 5), // twice
        Record::object(t0 + 3 * min, "photos", app, "DELETE", "data/3.txt", 0),
        Record::object(t0 + 4 * min, "photos", app, "GET", "data/4.txt", 5), // a read
        Record::object(t0 + 5 * min, "photos", other, "PUT", "data/5.txt", 5), // another principal
        Record::object(t0 + 6 * min, "logs", app, "PUT", "data/6.txt", 5),   // another bucket
        Record::object(t0 + 10 * min, "photos", app, "PUT", "data/after.txt", 5), // at --until
    ];
    std::fs::write(dir.path().join("access.log"), s3log::body(&records)).unwrap();
    let r = tierd(
        dir.path(),
        &[
            "ingest",
            "--logs",
            "access.log",
            "--principal",
            app,
            "--bucket",
            "photos",
            "--since",
            "2026-12-01T01:40:00Z",
            "--until",
            "2026-12-01T01:50:00Z",
            "--op",
            "write",
            "--keys",
        ],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stdout, "data/1 b.txt\ndata/2.txt\ndata/3.txt\n");

    // Without --bucket, keys of two buckets are listed with a warning; --op names one class.
    let r = tierd(
        dir.path(),
        &[
            "ingest",
            "--logs",
            "access.log",
            "--principal",
            app,
            "--op",
            "put",
            "--keys",
        ],
    );
    assert_eq!(
        r.stdout,
        "data/1 b.txt\ndata/2.txt\ndata/6.txt\ndata/after.txt\ndata/before.txt\n"
    );
    assert!(
        r.stderr
            .contains("warning: the keys are of 2 buckets (logs, photos)"),
        "{}",
        r.stderr
    );
    // Without --keys, the summary is of the events kept, and says how many.
    let r = tierd(
        dir.path(),
        &[
            "ingest",
            "--logs",
            "access.log",
            "--principal",
            app,
            "--op",
            "delete",
        ],
    );
    assert!(
        r.stdout
            .contains("\nkept by the filters: 1 event (the summary above is of them)\n"),
        "{}",
        r.stdout
    );
}
