//! The `tierd` binary's command line, run as a process. (This file also makes
//! `cargo test --workspace` build the binary that the end-to-end tests in `tests/` run.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics reports its failure

use std::process::Command;

fn tierd(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tierd"))
        .args(args)
        .output()
        .expect("tierd runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_lists_the_subcommands() {
    let (code, out, _) = tierd(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("ingest"), "{out}");
    assert!(out.contains("check"), "{out}");
}

#[test]
fn ingest_without_arguments_reads_the_bundled_samples() {
    let (code, out, err) = tierd(&["ingest", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("one JSON object");
    assert_eq!(v["objects"], 4);
    let formats = v["formats"].as_object().expect("formats");
    for f in ["s3", "minio", "cloudtrail", "ceph"] {
        assert!(
            formats.get(f).and_then(|n| n.as_u64()).unwrap_or(0) > 0,
            "no {f} events: {v}"
        );
    }
}

#[test]
fn an_unknown_format_name_is_refused_with_the_valid_ones() {
    let (code, _, err) = tierd(&["ingest", "--format", "apache", "--logs", "x"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("unknown log format \"apache\"; expected auto or one of: s3, minio, cloudtrail, ceph, ndjson, parquet"),
        "{err}"
    );
}

#[test]
fn a_missing_log_path_is_an_error_naming_it() {
    let (code, _, err) = tierd(&["ingest", "--logs", "/nonexistent/access.log"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("error: /nonexistent/access.log: cannot read it: No such file"),
        "{err}"
    );
}
