//! `tierd check` end to end: the real binary on the shipped example policies (they must pass) and
#![allow(clippy::unwrap_used)]
//! on broken files (exit 1, every diagnostic at once, exact text).

use std::path::Path;

use harness::{tierd, workspace_root};

fn write(dir: &Path, name: &str, text: &str) {
    if let Some(parent) = dir.join(name).parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn the_shipped_example_policies_pass_with_warnings_denied() {
    let root = workspace_root();
    let mut files: Vec<String> = std::fs::read_dir(root.join("examples/policies"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| format!("examples/policies/{}", e.file_name().to_string_lossy()))
        .filter(|f| f.ends_with(".toml"))
        .collect();
    files.sort();
    let mut args = vec!["check", "--deny-warnings"];
    args.extend(files.iter().map(String::as_str));
    let r = tierd(&root, &args);
    assert_eq!(
        r.code,
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        r.stdout,
        r.stderr
    );
    assert_eq!(r.stderr, "");
    assert!(!r.stdout.contains("FAILED"), "{}", r.stdout);
    assert_eq!(
        r.stdout.lines().last(),
        Some(
            "ok: checked 7 policy files, 10 rules; tests: 20 passed, 0 failed; 0 errors, 0 warnings"
        )
    );
}

#[test]
fn a_broken_policy_prints_every_problem_located_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "bad.toml",
        "[[rule]]\nid = \"cold-to-cloud\"\nscope = { bucket = \"logs\" }\nwhen = \"days_since_last_access > 90 and principal_anomaly < 1.5\"\naction = { kind = \"move\", to = \"clod\" }\nprority = 3\n",
    );
    let r = tierd(dir.path(), &["check", "bad.toml"]);
    assert_eq!(r.code, Some(1));
    assert_eq!(
        r.stderr,
        "bad.toml:4:34: error: rule \"cold-to-cloud\": days_since_last_access is a duration but 90 has no unit; write 90d (units: s, m, h, d, w)\n\
         bad.toml:4:61: error: rule \"cold-to-cloud\": principal_anomaly is a score but 1.5 is outside [0, 1]; scores are in [0, 1], write a threshold such as 0.8\n\
         bad.toml:5:32: error: rule \"cold-to-cloud\": unknown tier \"clod\" in action.to; known tiers: cloud, onprem, vault; did you mean \"cloud\"?\n\
         bad.toml:6:1: error: rule \"cold-to-cloud\": unknown field \"prority\"; known fields: action, cooldown, description, id, priority, scope, when; did you mean \"priority\"?\n"
    );
    assert_eq!(
        r.stdout,
        "FAILED: checked 1 policy file, 0 rules; tests: 0 passed, 0 failed; 4 errors, 0 warnings\n"
    );
}

#[test]
fn a_failing_policy_test_is_reported_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "p.toml",
        "[[rule]]\nid = \"cold\"\nscope = { bucket = \"logs\" }\nwhen = \"age > 30d\"\naction = { kind = \"move\", to = \"cloud\" }\n\n[[tests]]\nname = \"young data moves\"\nfacts = { bucket = \"logs\", key = \"a\", age = \"10d\" }\nexpect = { action = \"move\", to = \"cloud\" }\n",
    );
    let r = tierd(dir.path(), &["check", "p.toml"]);
    assert_eq!(r.code, Some(1));
    assert_eq!(r.stderr, "");
    assert_eq!(
        r.stdout,
        "p.toml:7:1: test \"young data moves\" ... FAILED: expected move to \"cloud\", got no action; no rule wins; rule \"cold\" does not match: age > 30d (10d: no)\n\
         FAILED: checked 1 policy file, 1 rule; tests: 0 passed, 1 failed; 0 errors, 0 warnings\n"
    );
}

#[test]
fn warnings_pass_unless_denied() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "p.toml",
        "[guardrails]\nmin_residency = { cloud = \"30d\" }\n\n[[rule]]\nid = \"p\"\nscope = { bucket = \"*\" }\naction = \"pin\"\n",
    );
    let warning = "p.toml:2:27: warning: guardrails: min_residency.cloud is shorter than the 90 days tier \"cloud\" charges for at minimum; objects moved off earlier still pay for 90 days; write \"90d\" or more\n";
    let r = tierd(dir.path(), &["check", "p.toml"]);
    assert_eq!((r.code, r.stderr.as_str()), (Some(0), warning));
    let r = tierd(dir.path(), &["check", "--deny-warnings", "p.toml"]);
    assert_eq!((r.code, r.stderr.as_str()), (Some(1), warning));
    assert_eq!(
        r.stdout,
        "FAILED: checked 1 policy file, 1 rule; tests: 0 passed, 0 failed; 0 errors, 1 warning (denied by --deny-warnings)\n"
    );
}

#[test]
fn the_main_configuration_supplies_the_tiers_and_its_policy_files() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "tierd.toml",
        "[tiers.onprem]\nurl = \"file://data/onprem\"\n[tiers.glacier]\nurl = \"file://data/glacier\"\nmin_storage_days = 180\n[policies]\nfiles = [\"policies/*.toml\"]\n",
    );
    write(
        dir.path(),
        "policies/a.toml",
        "[[rule]]\nid = \"cold\"\nscope = { bucket = \"logs\" }\nwhen = \"age > 30d\"\naction = { kind = \"move\", to = \"cloud\" }\n",
    );
    let r = tierd(dir.path(), &["check", "tierd.toml"]);
    assert_eq!(r.code, Some(1));
    // Policy paths are resolved against the configuration's folder, as given (here: relative).
    let expected = "policies/a.toml:5:32: error: rule \"cold\": unknown tier \"cloud\" in action.to; known tiers: glacier, onprem\n";
    assert_eq!(r.stderr, expected);
    // Fixed to the configured tier, it passes; the default residency of glacier is its 180 days.
    write(
        dir.path(),
        "policies/a.toml",
        "[[rule]]\nid = \"cold\"\nscope = { bucket = \"logs\" }\nwhen = \"age > 30d\"\naction = { kind = \"move\", to = \"glacier\" }\n",
    );
    let r = tierd(dir.path(), &["check", "--config", "tierd.toml"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "tier onprem (file://data/onprem): reachable, writable\ntier glacier (file://data/glacier): reachable, writable\nok: checked 1 policy file and 1 configuration, 1 rule; tests: 0 passed, 0 failed; 0 errors, 0 warnings; tiers: 2 ok, 0 failed\n"
    );
}

#[test]
fn an_invalid_configuration_is_reported_and_policies_wait_for_it() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "tierd.toml",
        "[tiers.onprem]\nurl = \"file://x\"\nmin_storage_dayz = 3\n",
    );
    write(
        dir.path(),
        "p.toml",
        "[[rule]]\nid = \"pin\"\nscope = { bucket = \"hr\" }\naction = \"pin\"\n",
    );
    let r = tierd(dir.path(), &["check", "tierd.toml", "p.toml"]);
    assert_eq!(r.code, Some(1));
    assert_eq!(
        r.stderr,
        "tierd.toml:3:1: error: unknown field `min_storage_dayz`, expected one of `url`, `min_storage_days`, `options`, `role`, `price`; did you mean `min_storage_days`?\n"
    );
    assert_eq!(
        r.stdout,
        "FAILED: checked 1 policy file and 1 configuration, 0 rules; tests: 0 passed, 0 failed; 1 error, 0 warnings; policy files not checked until the configuration is valid\n"
    );
}

#[test]
fn nothing_to_check_is_an_error_not_a_silent_success() {
    let dir = tempfile::tempdir().unwrap();
    let r = tierd(dir.path(), &["check"]);
    // A usage error, exit status 2 as for every other (a bad flag, a missing argument).
    assert_eq!(r.code, Some(2));
    assert_eq!(
        r.stderr,
        "error: nothing to check; give policy files and/or the main configuration, e.g. tierd check tierd.toml policies/*.toml\n"
    );
}

#[test]
fn a_policy_file_named_on_the_command_line_and_in_the_configuration_is_checked_once() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "tierd.toml",
        "[tiers.onprem]\nurl = \"file://data/onprem\"\n[policies]\nfiles = [\"p.toml\"]\n",
    );
    write(
        dir.path(),
        "p.toml",
        "[[rule]]\nid = \"keep\"\nscope = { bucket = \"hr\" }\naction = \"pin\"\n",
    );
    let r = tierd(
        dir.path(),
        &["check", "--no-tier-checks", "tierd.toml", "./p.toml"],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "ok: checked 1 policy file and 1 configuration, 1 rule; tests: 0 passed, 0 failed; 0 errors, 0 warnings; tier checks skipped (--no-tier-checks)\n"
    );
}

#[test]
fn a_staged_edit_is_checked_against_the_live_configuration_in_place_of_its_policy_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "tierd.toml",
        "[tiers.onprem]\nurl = \"file://data/onprem\"\n[policies]\nfiles = [\"policies/*.toml\"]\n",
    );
    let rule = "[[rule]]\nid = \"keep\"\nscope = { bucket = \"BUCKET\" }\naction = \"pin\"\n";
    write(d, "policies/p.toml", &rule.replace("BUCKET", "hr"));
    write(d, "staged/p.toml", &rule.replace("BUCKET", "legal"));
    // With the live files, the edited copy repeats their ids.
    let r = tierd(
        d,
        &[
            "check",
            "--no-tier-checks",
            "--config",
            "tierd.toml",
            "staged/p.toml",
        ],
    );
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("duplicate id"), "{}", r.stderr);
    // Staged: the copy stands in for them.
    let r = tierd(
        d,
        &[
            "check",
            "--no-tier-checks",
            "--config",
            "tierd.toml",
            "--staged",
            "staged/p.toml",
        ],
    );
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert_eq!(
        r.stdout,
        "ok: checked 1 policy file and 1 configuration, 1 rule; tests: 0 passed, 0 failed; 0 errors, 0 warnings; tier checks skipped (--no-tier-checks)\n"
    );
    // --staged needs the configuration whose files it replaces.
    let r = tierd(d, &["check", "--staged", "staged/p.toml"]);
    assert_eq!(r.code, Some(2), "{}{}", r.stdout, r.stderr);
}

#[test]
fn a_policy_glob_that_matches_no_file_is_an_error_as_run_refuses_it() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "tierd.toml",
        "[tiers.onprem]\nurl = \"file://data/onprem\"\n[policies]\nfiles = [\"policies/*.toml\"]\n",
    );
    let r = tierd(dir.path(), &["check", "--no-tier-checks", "tierd.toml"]);
    assert_eq!(r.code, Some(1), "{}", r.stdout);
    assert_eq!(
        r.stderr,
        "tierd.toml:4:10: error: policies.files: \"policies/*.toml\" matches no file\n"
    );
    assert_eq!(
        r.stdout,
        "FAILED: checked 0 policy files and 1 configuration, 0 rules; tests: 0 passed, 0 failed; 1 error, 0 warnings; tier checks skipped (--no-tier-checks)\n"
    );
}

#[test]
fn a_local_log_source_that_does_not_exist_is_a_warning_at_its_entry() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "tierd.toml",
        "[tiers.onprem]\nurl = \"file://data/onprem\"\n[ingest]\nsources = [\n  \"logs/\",\n  \"audit/*.log\",\n  \"there.log\",\n  \"s3://access-logs/photos/\",\n]\noptions = { endpoint = \"http://127.0.0.1:1\" }\n",
    );
    write(dir.path(), "there.log", "");
    let r = tierd(dir.path(), &["check", "--no-tier-checks", "tierd.toml"]);
    // Warnings only: the remote source is never contacted (nothing listens on port 1).
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "tierd.toml:5:3: warning: ingest.sources: \"logs/\" does not exist; `tierd run` cannot read logs from it: fix the path, or create it before the service starts\n\
         tierd.toml:6:3: warning: ingest.sources: \"audit/*.log\" matches no file; `tierd run` cannot read logs from it: fix the path, or create it before the service starts\n"
    );
    assert!(
        r.stdout
            .ends_with("0 errors, 2 warnings; tier checks skipped (--no-tier-checks)\n"),
        "{}",
        r.stdout
    );
    // Created, they pass.
    write(dir.path(), "logs/a.log", "");
    write(dir.path(), "audit/b.log", "");
    let r = tierd(
        dir.path(),
        &["check", "--no-tier-checks", "--deny-warnings", "tierd.toml"],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stderr, "");
}

#[test]
fn what_tierd_run_would_refuse_at_start_fails_the_check_too() {
    // An unset webhook token variable and a journal written by a newer tierd: both pass the
    // file's own checks, and both make `tierd run` exit 2.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "tierd.toml",
        "[journal]\npath = \"tierd.db\"\n[tiers.onprem]\nurl = \"file://data/onprem\"\n[service]\nwebhook_token_env = \"TIERD_TEST_UNSET_TOKEN\"\n",
    );
    let c = rusqlite::Connection::open(d.join("tierd.db")).unwrap();
    c.pragma_update(None, "user_version", 999).unwrap();
    drop(c);
    let r = tierd(d, &["check", "--config", "tierd.toml"]);
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(
        all.contains("tierd.toml:2:1: error: journal.path: ")
            && all.contains(
                "the journal's schema is version 999, newer than this tierd understands ("
            )
            && all.contains("; tierd run would refuse to start"),
        "{all}"
    );
    assert!(
        all.contains("tierd.toml:6:1: error: service.webhook_token_env names TIERD_TEST_UNSET_TOKEN, which is not set in this environment; tierd run would refuse to start"),
        "{all}"
    );
    // The journal was looked at, not migrated.
    let c = rusqlite::Connection::open(d.join("tierd.db")).unwrap();
    let v: i64 = c
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v, 999);
}

#[test]
fn a_damaged_journal_fails_the_check_as_it_fails_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "tierd.toml",
        "[journal]\npath = \"data/tierd.db\"\n[tiers.onprem]\nurl = \"file://data/onprem\"\n[tiers.cloud]\nurl = \"file://data/cloud\"\n",
    );
    std::fs::create_dir_all(d.join("data/onprem/photos")).unwrap();
    std::fs::write(d.join("data/onprem/photos/a.jpg"), b"a").unwrap();
    let r = tierd(
        d,
        &[
            "move",
            "photos/a.jpg",
            "--to",
            "cloud",
            "--config",
            "tierd.toml",
        ],
    );
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    // A sound journal passes.
    let r = tierd(d, &["check", "--config", "tierd.toml"]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    // Cut short on disk (a full disk, a bad copy): every command refuses it, and so does check.
    let journal = d.join("data/tierd.db");
    let len = std::fs::metadata(&journal).unwrap().len();
    let f = std::fs::File::options().write(true).open(&journal).unwrap();
    f.set_len(len / 2).unwrap();
    drop(f);
    let r = tierd(d, &["locate", "photos/a.jpg", "--config", "tierd.toml"]);
    assert_eq!(r.code, Some(2), "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("malformed"), "{}", r.stderr);
    let r = tierd(d, &["check", "--config", "tierd.toml"]);
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(
        all.contains("tierd.toml:2:1: error: journal.path: ")
            && all.contains("data/tierd.db: the journal is damaged (")
            && all.contains("malformed")
            && all.contains("restore the last backup"),
        "{all}"
    );
    // Looked at, not changed.
    assert_eq!(std::fs::metadata(&journal).unwrap().len(), len / 2);
}

#[test]
fn the_service_does_not_start_on_a_journal_with_a_damaged_page() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "tierd.toml",
        "[journal]\npath = \"data/tierd.db\"\n[tiers.onprem]\nurl = \"file://data/onprem\"\n[tiers.cloud]\nurl = \"file://data/cloud\"\n[tiers.vault]\nurl = \"file://data/vault\"\nrole = \"vault\"\n[policies]\nfiles = [\"builtin:default\"]\n[service]\nlisten = \"off\"\n",
    );
    for i in 0..40 {
        std::fs::create_dir_all(d.join("data/onprem/photos")).unwrap();
        std::fs::write(d.join(format!("data/onprem/photos/{i:03}.jpg")), b"a").unwrap();
    }
    let r = tierd(
        d,
        &[
            "move",
            "--bucket",
            "photos",
            "--to",
            "cloud",
            "--config",
            "tierd.toml",
        ],
    );
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    // One page in the middle overwritten (a bad sector, a stray write): the file's length is
    // unchanged.
    let journal = d.join("data/tierd.db");
    let bytes = std::fs::read(&journal).unwrap();
    let pages = bytes.len() / 4096;
    assert!(pages >= 4, "{pages} pages");
    let mut damaged = bytes.clone();
    let at = (pages / 2) * 4096;
    damaged[at..at + 4096].fill(0xA5);
    std::fs::write(&journal, &damaged).unwrap();
    let r = tierd(d, &["run", "--once", "--config", "tierd.toml"]);
    assert_eq!(r.code, Some(2), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("data/tierd.db: the journal is damaged (")
            && r.stderr
                .contains("tierd run does not start on it: restore the last backup"),
        "{}",
        r.stderr
    );
    assert_eq!(
        std::fs::read(&journal).unwrap(),
        damaged,
        "nothing was written to it"
    );
}

#[test]
fn an_endpoint_url_in_the_environment_that_carries_a_password_is_refused_and_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "tierd.toml",
        "[tiers.onprem]\nurl = \"file://data/onprem\"\n[tiers.cloud]\nurl = \"s3://cold/tierd\"\n",
    );
    let out = std::process::Command::new(harness::tierd_bin())
        .args(["check", "--config", "tierd.toml"])
        .current_dir(dir.path())
        .env("AWS_ENDPOINT_URL", "http://admin:EnvPw4242@127.0.0.1:9")
        .env("AWS_ACCESS_KEY_ID", "a")
        .env("AWS_SECRET_ACCESS_KEY", "b")
        .env("AWS_ALLOW_HTTP", "true")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        !stdout.contains("EnvPw4242") && !stderr.contains("EnvPw4242"),
        "{stdout}{stderr}"
    );
    assert!(
        stdout.contains(
            "the environment variable AWS_ENDPOINT_URL=\"http://***@127.0.0.1:9\" carries a user name or password"
        ),
        "{stdout}{stderr}"
    );
}

#[test]
fn a_folder_or_a_quoted_glob_names_its_policy_files_and_a_file_named_twice_is_checked_once() {
    let dir = tempfile::tempdir().unwrap();
    let pin = |id: &str| {
        format!("[[rule]]\nid = \"{id}\"\nscope = {{ bucket = \"{id}\" }}\naction = \"pin\"\n")
    };
    write(dir.path(), "m/a.toml", &pin("a"));
    write(dir.path(), "m/b.toml", &pin("b"));
    write(dir.path(), "m/.a.toml", "not toml at all [");
    write(dir.path(), "m/notes.txt", "not a policy");
    let ok =
        "ok: checked 2 policy files, 2 rules; tests: 0 passed, 0 failed; 0 errors, 0 warnings\n";
    // A folder skips hidden files (an editor's); a glob matches what it says, as in policies.files.
    for given in [
        &["check", "m"][..],
        &["check", "m/"],
        &["check", "m/[ab].toml"],
    ] {
        let r = tierd(dir.path(), given);
        assert_eq!(
            (r.code, r.stdout.as_str(), r.stderr.as_str()),
            (Some(0), ok, ""),
            "{given:?}"
        );
    }
    // Named twice, or once more by a glob: checked once, with no duplicate id against itself.
    let r = tierd(dir.path(), &["check", "m/a.toml", "m/a.toml", "m/?.toml"]);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (Some(0), ok, "")
    );
    let r = tierd(dir.path(), &["check", "m/a.toml", "./m/a.toml"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stdout.starts_with("ok: checked 1 policy file, 1 rule;"),
        "{}",
        r.stdout
    );
    // A glob or a folder that names nothing says so.
    std::fs::create_dir_all(dir.path().join("empty")).unwrap();
    let r = tierd(dir.path(), &["check", "empty", "m/*.tml"]);
    assert_eq!(r.code, Some(1));
    assert_eq!(
        r.stderr,
        "empty:1:1: error: \"empty\" names no policy file: a folder stands for the *.toml files in it, a glob for the files it matches\n\
         m/*.tml:1:1: error: \"m/*.tml\" names no policy file: a folder stands for the *.toml files in it, a glob for the files it matches\n"
    );
}

/// The settings of `tierd check --effective` output, without its comments and `# default` marks.
fn settings(toml: &str) -> Vec<&str> {
    toml.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.trim_end_matches("  # default"))
        .collect()
}

#[test]
fn the_effective_configuration_marks_defaults_hides_secrets_and_is_read_back_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "FakeSecret-zq81-DO-NOT-PRINT";
    write(
        dir.path(),
        "tierd.toml",
        &format!(
            "[tiers.onprem]\nurl = \"file://data/onprem\"\n[tiers.cloud]\nurl = \"s3://cold/tierd\"\nmin_storage_days = 90\noptions = {{ endpoint = \"http://127.0.0.1:9\", allow_http = \"true\", access_key_id = \"AKIDEXAMPLE\", secret_access_key = \"{secret}\" }}\n[planner]\ninterval = \"2h\"\n[service]\nlisten = \"off\"\nmax_bytes_per_sec = \"100MiB\"\n[model]\nretrain_every = \"1w\"\n"
        ),
    );
    let r = tierd(
        dir.path(),
        &["check", "--config", "tierd.toml", "--effective"],
    );
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains(secret), "{}", r.stdout);
    let root = dir.path().canonicalize().unwrap();
    let root = root.display();
    for line in [
        format!("url = \"file://{root}/data/onprem\""),
        format!("path = \"{root}/tierd-data/tierd.db\"  # default"),
        "min_storage_days = 90".to_string(),
        // The key id goes with the secret it belongs to.
        "options = { allow_http = \"true\", endpoint = \"http://127.0.0.1:9\" }".to_string(),
        format!(
            "# options access_key_id, secret_access_key written in {root}/tierd.toml (not shown; left out of this output)"
        ),
        "interval = \"2h\"".to_string(),
        "operator_hold = \"30d\"  # default".to_string(),
        "retrain_every = \"7d\"".to_string(),
        "listen = \"off\"".to_string(),
        "max_bytes_per_sec = \"100MiB\"".to_string(),
        "shutdown_timeout = \"30s\"  # default".to_string(),
        "# max_objects_per_sec not set: no limit on the moves started per second  # default"
            .to_string(),
    ] {
        assert!(
            r.stdout.lines().any(|l| l == line),
            "no line {line:?} in:\n{}",
            r.stdout
        );
    }
    // Read back from another folder: the same settings, the same JSON configuration.
    write(dir.path(), "elsewhere/effective.toml", &r.stdout);
    let again = tierd(
        dir.path(),
        &[
            "check",
            "--config",
            "elsewhere/effective.toml",
            "--effective",
        ],
    );
    assert_eq!(again.code, Some(0), "{}{}", again.stdout, again.stderr);
    assert_eq!(settings(&again.stdout), settings(&r.stdout));
    let json = |config: &str| {
        let r = tierd(
            dir.path(),
            &["check", "--config", config, "--effective", "--json"],
        );
        assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
        assert!(!r.stdout.contains(secret), "{}", r.stdout);
        r.json()
    };
    let first = json("tierd.toml");
    assert_eq!(
        first["configuration"],
        json("elsewhere/effective.toml")["configuration"]
    );
    // The configuration given as a FILE, as `check` takes it, is the same; a policy file is not.
    let positional = tierd(dir.path(), &["check", "tierd.toml", "--effective"]);
    assert_eq!(positional.stdout, r.stdout);
    write(dir.path(), "p.toml", "[[rule]]\nid = \"x\"\n");
    let policy = tierd(dir.path(), &["check", "p.toml", "--effective"]);
    assert_eq!(policy.code, Some(2));
    assert_eq!(
        policy.stderr,
        "error: --effective prints the main configuration only; p.toml is not it (give the configuration with --config, and no policy file)\n"
    );
    assert_eq!(first["configuration"]["planner"]["interval"], "2h");
    let defaults = first["defaults"].as_array().unwrap();
    assert!(
        defaults.contains(&"planner.anomaly_hold".into()),
        "{defaults:?}"
    );
    assert!(
        !defaults.contains(&"planner.interval".into()),
        "{defaults:?}"
    );
}

#[test]
fn credentials_from_the_environment_are_named_by_their_variables_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "tierd.toml",
        "[tiers.onprem]\nurl = \"file://data/onprem\"\n[tiers.cloud]\nurl = \"s3://cold/tierd\"\n",
    );
    let out = std::process::Command::new(harness::tierd_bin())
        .args(["check", "--config", "tierd.toml", "--effective"])
        .current_dir(dir.path())
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "EnvSecret-77-DO-NOT-PRINT")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(!stdout.contains("EnvSecret-77"), "{stdout}");
    assert!(
        stdout.lines().any(|l| l
            == "# credentials from the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (set here; values not shown)"),
        "{stdout}"
    );
}

#[test]
fn without_a_configuration_the_effective_one_is_the_embedded_defaults_and_tierd_accepts_it() {
    let dir = tempfile::tempdir().unwrap();
    let r = tierd(dir.path(), &["check", "--effective"]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let lines: Vec<&str> = r.stdout.lines().filter(|l| l.contains(" = ")).collect();
    assert!(lines.len() > 30, "{}", r.stdout);
    assert!(
        lines.iter().all(|l| l.ends_with("  # default")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("\n[tiers.vault]\n"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("\nsources = [\"builtin:samples\"]  # default\n"),
        "{}",
        r.stdout
    );
    // Both move rates, unset, are said the same way.
    for rate in [
        "# max_bytes_per_sec not set: no limit on the bytes moved per second  # default",
        "# max_objects_per_sec not set: no limit on the moves started per second  # default",
    ] {
        assert!(
            r.stdout.lines().any(|l| l == rate),
            "{rate:?} in {}",
            r.stdout
        );
    }
    write(dir.path(), "defaults.toml", &r.stdout);
    let check = tierd(
        dir.path(),
        &["check", "--config", "defaults.toml", "--no-tier-checks"],
    );
    assert_eq!(check.code, Some(0), "{}{}", check.stdout, check.stderr);
    assert!(
        check
            .stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("ok: checked 1 policy file and 1 configuration"),
        "{}",
        check.stdout
    );
}

#[test]
fn an_invalid_configuration_has_no_effective_configuration_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "tierd.toml",
        "[tiers.onprem]\nurl = \"file://data/onprem\"\n[planner]\ninterval = \"soon\"\n",
    );
    let r = tierd(
        dir.path(),
        &["check", "--config", "tierd.toml", "--effective"],
    );
    assert_eq!(r.code, Some(1));
    assert_eq!(r.stdout, "");
    assert_eq!(
        r.stderr,
        "tierd.toml:4:12: error: planner.interval = \"soon\" is not a duration; write a whole number and a unit, e.g. \"30s\", \"5m\", \"1h\", \"7d\"\n\
         FAILED: 1 error; the effective configuration is printed once the file is valid\n"
    );
}

#[test]
fn the_bundled_policy_is_printed_to_start_one_of_your_own_from() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let r = tierd(d, &["check", "--print", "builtin:default"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stdout, tierd::config::BUILTIN_POLICY_TEXT);
    std::fs::write(d.join("mine.toml"), &r.stdout).unwrap();
    let checked = tierd(d, &["check", "mine.toml", "--no-tier-checks"]);
    assert_eq!(
        checked.code,
        Some(0),
        "{}{}",
        checked.stdout,
        checked.stderr
    );
    let none = tierd(d, &["check", "--print"]);
    assert_eq!(none.code, Some(2));
    assert!(
        none.stderr
            .contains("--print prints the policy files named; give one"),
        "{}",
        none.stderr
    );
}
