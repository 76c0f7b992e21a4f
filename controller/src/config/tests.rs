use super::read_error::unknown_field_fix;
use super::*;

fn load(text: &str) -> Result<Config, Vec<String>> {
    Config::from_str(Path::new("/etc/tierd/tierd.toml"), text)
        .map_err(|d| d.into_iter().map(|d| d.to_string()).collect())
}

#[test]
fn an_option_whose_url_carries_a_password_is_an_error_that_never_shows_it() {
    let errs = load(
        "[tiers.cloud]\nurl = \"s3://b/p\"\noptions = { metadata_endpoint = \"http://u:S3cretPW@127.0.0.1:1\" }\n\
         [ingest]\nsources = [\"s3://logs/\"]\noptions = { proxy_url = \"http://u:S3cretPW@proxy:3128\" }\n",
    )
    .unwrap_err();
    assert_eq!(
        errs,
        vec![
            "/etc/tierd/tierd.toml:3:11: error: tier \"cloud\": option metadata_endpoint = \"http://***@127.0.0.1:1\" carries a user name or password, which tierd would print in its errors and logs; give credentials as options or in the environment instead",
            "/etc/tierd/tierd.toml:6:26: error: ingest: option proxy_url = \"http://***@proxy:3128\" carries a user name or password, which tierd would print in its errors and logs; give credentials as options or in the environment instead",
        ]
    );
}

#[test]
fn every_mistake_of_a_file_is_reported_at_once_not_one_per_run() {
    let errs = load(
        "[service]\ninterval = \"1h\"\n[journal]\npath = 3\n[tiers.onprem]\nurl = \"file:///srv/onprem\"\nurll = \"x\"\n\
         [tiers.cloud]\nurl = 7\n[simulate]\nbaseline_idle_days = [7, \"x\"]\n[tiers.vault]\nurl = \"ftp://x\"\n",
    )
    .unwrap_err();
    let lines: Vec<usize> = errs
        .iter()
        .map(|e| {
            e.split(':')
                .nth(1)
                .and_then(|l| l.parse().ok())
                .unwrap_or(0)
        })
        .collect();
    assert_eq!(lines, [2, 4, 7, 9, 11, 13], "{errs:#?}");
    assert!(errs[0].contains("unknown field `interval`"), "{}", errs[0]);
    assert!(
        errs[1].contains("expected a string; write it in quotes"),
        "{}",
        errs[1]
    );
    assert!(errs[2].contains("did you mean `url`?"), "{}", errs[2]);
    assert!(errs[3].ends_with(":9:7: error: invalid type: integer `7`, expected a string; write it in quotes (a duration or a size takes its unit: \"7d\", \"100MiB\")"), "{}", errs[3]);
    assert!(errs[4].contains("baseline_idle_days"), "{}", errs[4]);
    // A check after reading, on a value the reader took: found in the same run.
    assert!(
        errs[5].contains("tier \"vault\": url \"ftp://x\" has no supported scheme"),
        "{}",
        errs[5]
    );
}

#[test]
fn a_bare_word_the_reader_took_for_a_number_or_a_boolean_is_told_to_be_quoted() {
    for (word, message) in [
        ("InFileSecret", "invalid float, expected `inf`"),
        ("truex", "invalid boolean, expected `true`"),
    ] {
        let errs = load(&format!(
            "[tiers.cloud]\nurl = \"s3://b/p\"\noptions = {{ secret_access_key = {word} }}\n"
        ))
        .unwrap_err();
        assert_eq!(
            errs,
            [format!(
                "/etc/tierd/tierd.toml:3:33: error: {message}; a text value goes in quotes: \"...\""
            )]
        );
    }
}

#[test]
fn a_check_on_the_line_of_a_value_set_aside_is_still_reported() {
    let errs =
        load("[tiers.x]\nurl = \"file:///x\"\n[planner]\ninterval = \"5x\"\nmax_decisions_per_cycle = \"a\"\n")
            .unwrap_err();
    assert_eq!(errs.len(), 2, "{errs:#?}");
    let inline = load(
        "planner = { interval = \"5x\", max_decisions_per_cycle = \"a\" }\n[tiers.x]\nurl = \"file:///x\"\n",
    )
    .unwrap_err();
    assert_eq!(inline.len(), 2, "{inline:#?}");
    assert!(
        inline
            .iter()
            .any(|e| e.contains("planner.interval = \"5x\"")),
        "{inline:#?}"
    );
}

#[test]
fn a_secret_of_the_wrong_type_is_not_quoted_and_a_duplicate_key_is_named() {
    let errs =
        load("[tiers.cloud]\nurl = \"s3://b/p\"\noptions = { secret_access_key = 12345678 }\n")
            .unwrap_err();
    assert!(!errs.iter().any(|e| e.contains("12345678")), "{errs:#?}");
    assert!(
        errs[0].contains("invalid type: integer `***`, expected a string"),
        "{errs:#?}"
    );
    let errs = load("[tiers.cloud]\nurl = \"s3://b/p\"\nurl = \"s3://c/p\"\n").unwrap_err();
    assert!(errs[0].contains("duplicate key `url`"), "{errs:#?}");
    // Masked, a secret's mistake still lets the reader go on to the next one (review 12, #4).
    let errs = load(
        "[tiers.a]\nurl = \"s3://b/p\"\noptions = { secret_access_key = 1 }\n\
         [tiers.b]\nurl = \"s3://c/p\"\noptions = { secret_access_key = 2 }\n",
    )
    .unwrap_err();
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert!(
        errs.iter().all(|e| e.ends_with(
            "integer `***`, expected a string; a key or secret is text: write it in quotes"
        )),
        "{errs:#?}"
    );
}

#[test]
fn more_mistakes_than_are_reported_say_so() {
    let text: String = (0..30)
        .map(|i| format!("[tiers.t{i}]\nurl = {i}\n"))
        .collect();
    let errs = load(&text).unwrap_err();
    assert_eq!(errs.len(), 20, "{errs:#?}");
    assert!(
        errs[19].ends_with("(tierd stops after 20 such mistakes: fix these and check again)"),
        "{}",
        errs[19]
    );
}

#[test]
fn a_value_set_aside_to_read_on_leaves_no_echo_of_its_own() {
    // `url = 7` is read on as `url = ""`, which would be "url is empty"; removing the
    // unknown `role` value would leave nothing missing, but a removed `url` would.
    let errs = load("[tiers.onprem]\nurl = 7\n[tiers.cloud]\nurl = \"file:///c\"\nrole = 3\n")
        .unwrap_err();
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert!(
        errs[0].starts_with("/etc/tierd/tierd.toml:2:7: error: invalid type: integer `7`"),
        "{errs:#?}"
    );
    assert!(
        errs[1].starts_with("/etc/tierd/tierd.toml:5:8: error: "),
        "{errs:#?}"
    );
    let errs = load(
        "[tiers.onprem]\nurl = \"file:///o\"\nmin_storage_days = \"x\"\n[journal]\npath = \"\"\n",
    )
    .unwrap_err();
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert!(
        errs[0].contains(":3:20: error: invalid type: string \"x\", expected"),
        "{errs:#?}"
    );
    assert!(
        errs[1].contains(":5:8: error: journal.path is empty"),
        "{errs:#?}"
    );
}

#[test]
fn a_full_configuration_is_checked_and_paths_resolved() {
    let c = load(
        r#"
[journal]
path = "state/tierd.db"
[tiers.onprem]
url = "file://data/onprem"
[tiers.cloud]
url = "s3://cold/tierd"
min_storage_days = 90
options = { endpoint = "http://127.0.0.1:9000", secret_access_key = "s3cr3t" }
[ingest]
sources = ["logs/", "s3://logs/photos/", "file://more/"]
format = "s3"
"#,
    )
    .unwrap();
    assert_eq!(c.journal_path, PathBuf::from("/etc/tierd/state/tierd.db"));
    assert_eq!(c.tiers[0].url, "file:///etc/tierd/data/onprem");
    assert_eq!(c.tiers[1].name, "cloud");
    assert_eq!(c.tiers[1].min_storage_days, 90);
    assert_eq!(
        c.ingest_sources,
        vec![
            "/etc/tierd/logs/",
            "s3://logs/photos/",
            "file:///etc/tierd/more/"
        ]
    );
    assert_eq!(c.ingest_format, Some(Format::S3));
    let dbg = format!("{:?}", c);
    assert!(!dbg.contains("s3cr3t"), "{dbg}");
    assert!(dbg.contains("<redacted>"));
}

#[test]
fn every_problem_is_reported_with_its_location() {
    let errs = load(
        "[tiers.onprem]\nurl = \"ftp://x\"\n[tiers.\"bad name\"]\nurl = \"file:///x\"\n[ingest]\nformat = \"apache\"\n",
    )
    .unwrap_err();
    assert_eq!(
        errs,
        vec![
            "/etc/tierd/tierd.toml:2:7: error: tier \"onprem\": url \"ftp://x\" has no supported scheme; expected one of: file://, memory://, s3://, gs://, az://, http:// (e.g. \"file:///srv/tiers/onprem\" or \"s3://bucket/prefix\")".to_string(),
            "/etc/tierd/tierd.toml:3:8: error: tier name \"bad name\" is not valid; use letters, digits, '-' and '_' only".to_string(),
            "/etc/tierd/tierd.toml:6:10: error: ingest.format: unknown log format \"apache\"; expected auto or one of: s3, minio, cloudtrail, ceph, ndjson, parquet".to_string(),
        ]
    );
}

#[test]
fn the_idle_baselines_take_one_n_or_a_list() {
    let days = |v: &str| {
        let text =
            format!("[tiers.onprem]\nurl = \"file:///x\"\n[simulate]\nbaseline_idle_days = {v}\n");
        load(&text).map(|c| c.simulate.baseline_idle_days)
    };
    assert_eq!(days("14"), Ok(vec![14]));
    assert_eq!(days("[60, 7, 7]"), Ok(vec![7, 60]), "sorted, once each");
    for zero in ["0", "[7, 0]"] {
        let err = days(zero).unwrap_err();
        assert_eq!(
            err[0],
            format!(
                "/etc/tierd/tierd.toml:4:22: error: simulate.baseline_idle_days = {zero}: a baseline moves after at least 1 day idle; remove the 0 (\"never move\" is always priced)"
            )
        );
    }
    assert_eq!(days("[]"), Ok(vec![]), "never move alone");
    let err = days("\"often\"").unwrap_err();
    assert!(
        err[0].starts_with(
            "/etc/tierd/tierd.toml:4:22: error: simulate.baseline_idle_days: a whole number of days (at least 1), or a list"
        ),
        "{err:?}"
    );
}

#[test]
fn model_settings_and_durations_out_of_range_are_located() {
    let errs = load(
        "[tiers.onprem]\nurl = \"file:///x\"\n[model]\nlearning_days = 1e300\nwindow = \"1s\"\n[simulate]\nlateness = \"100000000w\"\n",
    )
    .unwrap_err();
    assert_eq!(
        errs,
        vec![
            "/etc/tierd/tierd.toml:4:17: error: model.learning_days = 1e300: expected 0 to 3650 days; 7 learns a week of behaviour before scoring".to_string(),
            "/etc/tierd/tierd.toml:5:10: error: model.window = \"1s\": expected 10s to 1d; the default is \"5m\"".to_string(),
            "/etc/tierd/tierd.toml:7:12: error: simulate.lateness = \"100000000w\" is more than 36525d (100 years), the longest duration allowed".to_string(),
        ]
    );
    for bad in ["-1", "nan", "inf"] {
        let text = format!("[tiers.onprem]\nurl = \"file:///x\"\n[model]\nlearning_days = {bad}\n");
        assert!(load(&text).is_err(), "{bad}");
    }
    let ok = load(
        "[tiers.onprem]\nurl = \"file:///x\"\n[model]\nlearning_days = 14\nwindow = \"10m\"\n",
    )
    .unwrap();
    assert_eq!((ok.model.learning_days, ok.model.window_secs), (14.0, 600));
}

#[test]
fn tier_options_the_store_would_not_take_are_located() {
    let errs = load(
        "[tiers.onprem]\nurl = \"file:///x\"\noptions = { secret_acces_key = \"s\" }\n[tiers.cloud]\nurl = \"s3://b/p\"\noptions = { acess_key_id = \"k\", region = \"eu-west-1\", allow_http = \"true\" }\n",
    )
    .unwrap_err();
    assert_eq!(
        errs,
        vec![
            "/etc/tierd/tierd.toml:3:11: error: tier \"onprem\": a file:// tier takes no options (given: secret_acces_key); remove `options`".to_string(),
            "/etc/tierd/tierd.toml:6:11: error: tier \"cloud\": unknown S3 option \"acess_key_id\"; did you mean `access_key_id`? see the configuration reference for valid options".to_string(),
        ]
    );
    let ok = load("[tiers.cloud]\nurl = \"s3://b/p\"\noptions = { access_key_id = \"k\", endpoint = \"http://127.0.0.1:9000\", allow_http = \"true\" }\n").unwrap();
    assert_eq!(ok.tiers[0].options.len(), 3);
}

#[test]
fn credentials_in_a_url_are_refused_at_their_line_and_not_repeated() {
    let errs = load(
        "[tiers.web]\nurl = \"https://admin:S3cretPW@dav.example/store\"\n[ingest]\nsources = [\"s3://logs/a/\", \"https://h/l.gz?X-Amz-Signature=S3cretPW\"]\n",
    )
    .unwrap_err();
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(
        errs[0].starts_with(
            "/etc/tierd/tierd.toml:2:7: error: tier \"web\": the url \"https://***@dav.example/store\" carries a user name or password"
        ),
        "{}",
        errs[0]
    );
    assert!(
        errs[1].contains("\"https://h/l.gz?X-Amz-Signature=***\" carries a signature or token"),
        "{}",
        errs[1]
    );
    assert!(!errs.concat().contains("S3cretPW"), "{errs:?}");
}

#[test]
fn the_services_move_rates_are_sizes_and_counts_per_second() {
    let tiers = "[tiers.onprem]\nurl = \"file://data/onprem\"\n";
    let c = load(&format!(
        "{tiers}[service]\nmax_bytes_per_sec = \"100MiB\"\nmax_objects_per_sec = 2.5\n"
    ))
    .unwrap();
    assert_eq!(c.service.max_bytes_per_sec, Some(100.0 * 1024.0 * 1024.0));
    assert_eq!(c.service.max_objects_per_sec, Some(2.5));
    // Rates too small for a wait to be held in time are refused, not a panic later.
    assert!(
        load(&format!("{tiers}[service]\nmax_objects_per_sec = 1e-300\n")).unwrap_err()[0]
            .contains("max_objects_per_sec = 1e-300 is not a rate")
    );
    assert!(
        load(&format!("{tiers}[service]\nmax_bytes_per_sec = \"0.5B\"\n")).unwrap_err()[0]
            .contains("is not a rate")
    );
    let c = load(&format!("{tiers}[service]\nmax_bytes_per_sec = \"off\"\n")).unwrap();
    assert_eq!(c.service.max_bytes_per_sec, None);
    assert_eq!(load(tiers).unwrap().service.max_objects_per_sec, None);
    assert_eq!(
        load(&format!(
            "{tiers}[service]\nmax_bytes_per_sec = \"fast\"\nmax_objects_per_sec = 0\n"
        ))
        .unwrap_err(),
        vec![
            "/etc/tierd/tierd.toml:4:21: error: service.max_bytes_per_sec = \"fast\" is not a size; write a size per second with a unit, e.g. \"100MiB\" or \"1GB\", or \"off\"".to_string(),
            "/etc/tierd/tierd.toml:5:23: error: service.max_objects_per_sec = 0 is not a rate; write a number of moves per second from 0.0000116 (one a day) to 1000000, e.g. 50".to_string(),
        ]
    );
    assert_eq!(
        load(&format!("{tiers}[service]\nmax_bytes_per_sec = \"0B\"\n")).unwrap_err(),
        vec!["/etc/tierd/tierd.toml:4:21: error: service.max_bytes_per_sec = \"0B\" is not a rate; write a size per second from 1B to 1024PiB, e.g. \"100MiB\", or \"off\"".to_string()]
    );
}

#[test]
fn a_value_of_the_wrong_type_says_what_to_write() {
    let tiers = "[tiers.onprem]\nurl = \"file://data/onprem\"\n";
    let one = |extra: &str| load(&format!("{tiers}{extra}")).unwrap_err().remove(0);
    assert!(
        one("[planner]\nmax_decisions_per_cycle = \"3\"\n")
            .ends_with("; write the number without quotes"),
    );
    assert!(
        one("[planner]\nmax_decisions_per_cycle = -3\n").ends_with("; write a number 0 or more")
    );
    assert!(one("[service]\ningest_interval = 30\n").ends_with(
        "; write it in quotes (a duration or a size takes its unit: \"7d\", \"100MiB\")"
    ));
    assert!(
        one("[service]\ndecision_log_stderr = \"yes\"\n")
            .ends_with("; write true or false without quotes")
    );
}

#[test]
fn an_unknown_field_is_rejected_at_its_line() {
    let errs = load("[tiers.onprem]\nurl = \"file:///x\"\ncolour = \"red\"\n").unwrap_err();
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].starts_with("/etc/tierd/tierd.toml:3:1: error: unknown field `colour`"),
        "{}",
        errs[0]
    );
}

#[test]
fn an_unknown_field_close_to_a_known_one_suggests_it() {
    let tiers = "[tiers.onprem]\nurl = \"file://data/onprem\"\n";
    assert_eq!(
        load(&format!("{tiers}[service]\nmax_byte_per_sec = \"1MiB\"\n")).unwrap_err(),
        vec![
            "/etc/tierd/tierd.toml:4:1: error: unknown field `max_byte_per_sec`, expected one of `listen`, `decision_log`, `decision_log_stderr`, `ingest_interval`, `shutdown_timeout`, `webhook_token_env`, `executor_concurrency`, `max_bytes_per_sec`, `max_objects_per_sec`, `scan_interval`; did you mean `max_bytes_per_sec`?"
        ]
    );
    assert_eq!(
        load(&format!("{tiers}[servic]\nlisten = \"127.0.0.1:9464\"\n")).unwrap_err(),
        vec![
            "/etc/tierd/tierd.toml:3:2: error: unknown field `servic`, expected one of `journal`, `tiers`, `ingest`, `policies`, `costs`, `planner`, `model`, `service`, `simulate`; did you mean `service`?"
        ]
    );
    // serde's other two shapes: one known field, and two.
    assert_eq!(
        load(&format!("{tiers}[journal]\npat = \"j.db\"\n")).unwrap_err(),
        vec![
            "/etc/tierd/tierd.toml:4:1: error: unknown field `pat`, expected `path` or `keep_decisions`; did you mean `path`?"
        ]
    );
    assert_eq!(
        load(&format!("{tiers}[costs]\ncurrenc = \"EUR\"\n")).unwrap_err(),
        vec![
            "/etc/tierd/tierd.toml:4:1: error: unknown field `currenc`, expected `currency`; did you mean `currency`?"
        ]
    );
    assert_eq!(
        unknown_field_fix("unknown field `lisen`, expected `listen` or `decision_log`"),
        "; did you mean `listen`?"
    );
}

#[test]
fn an_unknown_field_far_from_every_known_one_has_no_suggestion() {
    assert_eq!(
        load("[tiers.onprem]\nurl = \"file:///x\"\nto = \"cloud\"\n").unwrap_err(),
        vec![
            "/etc/tierd/tierd.toml:3:1: error: unknown field `to`, expected one of `url`, `min_storage_days`, `options`, `role`, `price`"
        ]
    );
    assert_eq!(
        unknown_field_fix("unknown field `x`, there are no fields"),
        ""
    );
    assert_eq!(unknown_field_fix("missing field `url`"), "");
}

#[test]
fn tiers_written_as_an_array_say_to_write_named_tables() {
    assert_eq!(
        load("[[tiers]]\nname=\"onprem\"\nurl=\"file:///x\"\n").unwrap_err(),
        vec![
            "/etc/tierd/tierd.toml:1:1: error: tiers is a table of named tiers: write [tiers.onprem] with url = \"file:///x\" (not [[tiers]] with name = \"onprem\")"
        ]
    );
    // Every tier at its own header, and every other section written as an array, at once.
    assert_eq!(
        load("# two tiers\n[[tiers]]\nurl = \"file:///x\"\n\n[[tiers]]\nname = \"cold tier\"\nurl = \"s3://b/p\"\n[[service]]\nlisten = \"127.0.0.1:9464\"\n")
            .unwrap_err(),
        vec![
            "/etc/tierd/tierd.toml:2:1: error: tiers is a table of named tiers: write [tiers.onprem] with url = \"file:///x\", the tier's name in the header (not [[tiers]])",
            "/etc/tierd/tierd.toml:5:1: error: tiers is a table of named tiers: write [tiers.\"cold tier\"] with url = \"s3://b/p\" (not [[tiers]] with name = \"cold tier\")",
            "/etc/tierd/tierd.toml:8:1: error: service is one table: write [service] once, not [[service]]",
        ]
    );
    assert_eq!(
        load("tiers = [{ name = \"onprem\", url = \"file:///x\" }]\n").unwrap_err(),
        vec![
            "/etc/tierd/tierd.toml:1:10: error: tiers is a table of named tiers: write [tiers.onprem] with url = \"file:///x\" (not tiers = [...] with name = \"onprem\")"
        ]
    );
    assert_eq!(
        load("tiers = [\"onprem\"]\n").unwrap_err(),
        vec![
            "/etc/tierd/tierd.toml:1:9: error: tiers is a table of named tiers: write [tiers.onprem] with url = \"...\" (not tiers = [...])"
        ]
    );
}

#[test]
fn every_section_written_as_an_array_says_to_write_it_once() {
    let tiers = "[tiers.onprem]\nurl = \"file://data/onprem\"\n";
    // Every top-level section the reader knows (from its own list of fields), and the
    // tables inside a tier and inside [ingest].
    let known = load(&format!("{tiers}[zzzzzzzz]\n")).unwrap_err().remove(0);
    let (_, sections) = known.split_once("expected one of ").unwrap();
    let sections: Vec<&str> = sections.split(", ").map(|s| s.trim_matches('`')).collect();
    assert_eq!(sections.len(), 9, "{known}");
    for section in sections.into_iter().filter(|s| *s != "tiers") {
        assert_eq!(
            load(&format!("{tiers}[[{section}]]\n")).unwrap_err(),
            vec![format!(
                "/etc/tierd/tierd.toml:3:1: error: {section} is one table: write [{section}] once, not [[{section}]]"
            )]
        );
    }
    for (text, section) in [
        ("[[tiers.onprem]]\nurl = \"file:///x\"\n", "tiers.onprem"),
        (
            &format!("{tiers}[[tiers.onprem.options]]\n"),
            "tiers.onprem.options",
        ),
        (
            &format!("{tiers}[[tiers.onprem.price]]\n"),
            "tiers.onprem.price",
        ),
        (&format!("{tiers}[[ingest.options]]\n"), "ingest.options"),
    ] {
        let line = text.lines().position(|l| l.starts_with("[[")).unwrap() + 1;
        assert_eq!(
            load(text).unwrap_err(),
            vec![format!(
                "/etc/tierd/tierd.toml:{line}:1: error: {section} is one table: write [{section}] once, not [[{section}]]"
            )]
        );
    }
    assert_eq!(
        load(&format!(
            "service = [{{ listen = \"127.0.0.1:9464\" }}]\n{tiers}"
        ))
        .unwrap_err(),
        vec![
            "/etc/tierd/tierd.toml:1:11: error: service is one table: write [service] once, not service = [...]"
        ]
    );
}

#[test]
fn no_tiers_is_an_error_with_an_example() {
    let errs = load("[journal]\npath = \"j.db\"\n").unwrap_err();
    assert_eq!(
        errs,
        vec!["/etc/tierd/tierd.toml:1:1: error: no tiers are configured; add at least one, e.g. [tiers.onprem] url = \"file:///srv/onprem\"".to_string()]
    );
}

#[test]
fn embedded_defaults_have_three_file_tiers() {
    let c = Config::embedded();
    let names: Vec<_> = c
        .tier_specs()
        .into_iter()
        .map(|t| (t.name, t.min_storage_days))
        .collect();
    assert_eq!(
        names,
        vec![
            ("onprem".into(), 0),
            ("cloud".into(), 90),
            ("vault".into(), 0)
        ]
    );
}

#[test]
fn the_journal_keeps_decisions_400_days_unless_told_otherwise() {
    let tiers = "[tiers.onprem]\nurl = \"file:///x\"\n";
    let keep = |v: &str| {
        load(&format!("{tiers}[journal]\nkeep_decisions = \"{v}\"\n")).map(|c| c.journal_keep_secs)
    };
    assert_eq!(load(tiers).unwrap().journal_keep_secs, Some(400 * 86_400));
    assert_eq!(Config::embedded().journal_keep_secs, Some(400 * 86_400));
    assert_eq!(keep("90d"), Ok(Some(90 * 86_400)));
    assert_eq!(keep("forever"), Ok(None));
    assert_eq!(keep("Forever"), Ok(None), "as a word, in any case");
    assert_eq!(
        keep("1h"),
        Err(vec![
            "/etc/tierd/tierd.toml:4:18: error: journal.keep_decisions = \"1h\" is shorter than planner.operator_hold (30d), which the journal keeps for the service's start; write at least \"30d\", or \"forever\"".to_string()
        ])
    );
    let short_hold = load(&format!(
        "{tiers}[journal]\nkeep_decisions = \"2h\"\n[planner]\noperator_hold = \"0s\"\n"
    ));
    assert!(
        short_hold.as_ref().is_err_and(|e| e[0].ends_with("is shorter than a day, which the journal keeps for the service's start; write at least \"1d\", or \"forever\"")),
        "{short_hold:?}"
    );
    assert_eq!(
        keep("0s"),
        Err(vec![
            "/etc/tierd/tierd.toml:4:18: error: journal.keep_decisions = \"0s\" is shorter than planner.operator_hold (30d), which the journal keeps for the service's start; write at least \"30d\", or \"forever\"".to_string()
        ])
    );
}

#[test]
fn durations_and_rates_are_printed_as_they_are_written_and_read_back_the_same() {
    for (secs, shown) in [
        (0, "0s"),
        (30, "30s"),
        (90, "90s"),
        (300, "5m"),
        (7200, "2h"),
    ] {
        assert_eq!(shown_duration(secs), shown);
    }
    assert_eq!(shown_duration(7 * 86_400), "7d");
    for secs in [1, 59, 61, 3599, 86_401, 30 * 86_400] {
        assert_eq!(parse_duration(&shown_duration(secs)), Some(secs));
    }
    for (rate, shown) in [
        ("100MiB", "100MiB"),
        ("1.5GB", "1500MB"),
        ("1KiB", "1KiB"),
        ("1000B", "1KB"),
    ] {
        let bytes = bandwidth(rate).unwrap().unwrap();
        assert_eq!(effective::shown_rate_bytes(bytes), shown);
        assert_eq!(bandwidth(shown).unwrap(), Some(bytes));
    }
}

#[test]
fn a_secret_option_is_left_out_of_the_effective_configuration_and_named_with_its_file() {
    let text = "[tiers.cloud]\nurl = \"s3://b/p\"\noptions = { region = \"eu-west-1\", access_key_id = \"AKIAFILE\", secret_access_key = \"Sekr1t-value\" }\n[ingest]\nsources = [\"s3://logs/\"]\noptions = { session_token = \"Tok3n-value\" }\n";
    let c = load(text).unwrap();
    let out = c.effective(Some(text));
    let toml = out.to_toml();
    let json = out.to_json().to_string();
    for shown in [&toml, &json] {
        assert!(
            !shown.contains("Sekr1t") && !shown.contains("Tok3n"),
            "{shown}"
        );
    }
    assert!(toml.contains("\noptions = { region = \"eu-west-1\" }\n# options access_key_id, secret_access_key written in /etc/tierd/tierd.toml (not shown; left out of this output)\n"), "{toml}");
    assert!(
        !toml.contains("AKIAFILE"),
        "the key id goes with its secret: {toml}"
    );
    assert!(
        toml.contains("# options session_token written in /etc/tierd/tierd.toml"),
        "{toml}"
    );
}

#[test]
fn two_tiers_over_the_same_objects_are_refused_at_the_second_ones_url() {
    let err = |toml: &str| load(toml).unwrap_err();
    let same = err(
        "[tiers.onprem]\nurl = \"file:///srv/t/onprem\"\n[tiers.cloud]\nurl = \"file:///srv/t/onprem/\"\n",
    );
    assert_eq!(
        same,
        vec![
            "/etc/tierd/tierd.toml:4:7: error: tier \"cloud\": its url is the same place as tier \"onprem\"'s (file:///srv/t/onprem); two tiers must not share objects, or a move between them would lose track of the object: give each its own folder, bucket or prefix".to_string()
        ]
    );
    let inside = err(
        "[tiers.onprem]\nurl = \"file:///srv/t/onprem\"\n[tiers.vault]\nurl = \"file:///srv/t/onprem/vault\"\n",
    );
    assert!(
        inside[0].contains("tier \"vault\": its url lies inside tier \"onprem\"'s"),
        "{inside:?}"
    );
    let holds = err("[tiers.cold]\nurl = \"s3://b/p/cold\"\n[tiers.all]\nurl = \"s3://b/p\"\n");
    assert!(
        holds[0].contains("tier \"all\": its url holds tier \"cold\"'s"),
        "{holds:?}"
    );
    // Neighbours, other buckets, other endpoints and memory stores are apart.
    for ok in [
        "[tiers.a]\nurl = \"file:///srv/t/a\"\n[tiers.b]\nurl = \"file:///srv/t/ab\"\n",
        "[tiers.a]\nurl = \"s3://b1\"\n[tiers.b]\nurl = \"s3://b2\"\n",
        "[tiers.a]\nurl = \"s3://b\"\noptions = { endpoint = \"http://127.0.0.1:9000\" }\n[tiers.b]\nurl = \"s3://b\"\noptions = { endpoint = \"http://127.0.0.1:9001\" }\n",
        "[tiers.a]\nurl = \"memory://\"\n[tiers.b]\nurl = \"memory://\"\n",
    ] {
        assert!(load(ok).is_ok(), "{ok}: {:?}", load(ok));
    }
}
