//! The workload generator: its lines are S3 server access log records, it is deterministic, and
//! its ground truth matches what it wrote.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics reports its failure

use models::OpClass;
use models::generator::{GeneratorConfig, IncidentKind, generate};
use models::parse::s3;

fn small(seed: u64) -> GeneratorConfig {
    GeneratorConfig {
        seed,
        days: 3,
        buckets: 2,
        objects_per_bucket: 400,
        app_ops_per_day: 2_000,
        incidents_from_day: 1,
        incidents_per_bucket: 3,
        ..GeneratorConfig::default()
    }
}

#[test]
fn every_generated_line_parses_back_with_the_s3_parser() {
    let mut out = Vec::new();
    let truth = generate(&small(7), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let mut n = 0u64;
    let mut last = i64::MIN;
    for (i, line) in text.lines().enumerate() {
        let e = s3::parse_line(line)
            .unwrap_or_else(|err| panic!("line {}: {err}\n{line}", i + 1))
            .unwrap();
        assert!(e.time_us >= last, "line {} is out of time order", i + 1);
        last = e.time_us;
        assert!(e.bucket.starts_with("bucket-"), "{}", e.bucket);
        assert!(
            e.principal
                .as_deref()
                .unwrap()
                .starts_with("arn:aws:iam::123456789012:")
        );
        n += 1;
    }
    assert_eq!(n, truth.lines);
    assert!(n > 10_000, "only {n} lines");
}

#[test]
fn the_same_seed_gives_the_same_bytes_and_another_seed_does_not() {
    let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
    generate(&small(3), &mut a).unwrap();
    generate(&small(3), &mut b).unwrap();
    generate(&small(4), &mut c).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn incidents_are_labelled_with_the_exact_number_of_malicious_lines() {
    let mut out = Vec::new();
    let truth = generate(&small(11), &mut out).unwrap();
    assert_eq!(truth.incidents.len(), 6, "{:?}", truth.incidents);
    let text = String::from_utf8(out).unwrap();
    for inc in &truth.incidents {
        assert!(
            inc.start_us >= truth.start_us + 86_400_000_000,
            "incident before incidents_from_day"
        );
        assert_eq!(inc.op_times_us.len() as u64, inc.malicious_ops);
        // Count the lines of this principal from this IP in the incident's bucket and interval.
        let seen = text
            .lines()
            .filter_map(|l| s3::parse_line(l).ok().flatten())
            .filter(|e| {
                e.bucket == inc.bucket
                    && e.principal.as_deref() == Some(inc.principal.as_str())
                    && e.source_ip.as_deref() == Some(inc.source_ip.as_str())
                    && e.user_agent.as_deref().is_some_and(|u| {
                        u.starts_with("python-requests") || u.starts_with("Boto3/")
                    })
                    && e.time_us >= inc.start_us / 1_000_000 * 1_000_000
                    && e.time_us <= inc.end_us
            })
            .count() as u64;
        if inc.actor == "stolen-credentials" {
            assert_eq!(seen, inc.malicious_ops, "{inc:?}");
        }
        assert!(inc.malicious_ops >= 2, "{inc:?}");
    }
    let kinds: std::collections::BTreeSet<_> = truth.incidents.iter().map(|i| i.kind).collect();
    assert_eq!(kinds.len(), 6, "every kind appears once: {kinds:?}");
}

#[test]
fn incidents_write_the_operations_their_kind_names() {
    let mut out = Vec::new();
    let truth = generate(&small(5), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let events: Vec<_> = text
        .lines()
        .filter_map(|l| s3::parse_line(l).ok().flatten())
        .collect();
    for inc in &truth.incidents {
        let ops: Vec<OpClass> = events
            .iter()
            .filter(|e| {
                e.bucket == inc.bucket
                    && e.source_ip.as_deref() == Some(inc.source_ip.as_str())
                    && e.principal.as_deref() == Some(inc.principal.as_str())
                    && e.time_us >= inc.start_us / 1_000_000 * 1_000_000
                    && e.time_us <= inc.end_us
            })
            .map(|e| e.op)
            .collect();
        let has = |c: OpClass| ops.contains(&c);
        match inc.kind {
            IncidentKind::MassOverwrite => assert!(has(OpClass::Put)),
            IncidentKind::CopyInPlace => {
                assert!(has(OpClass::CopySource) && has(OpClass::CopyDest))
            }
            IncidentKind::RenameExtension => assert!(has(OpClass::Put) && has(OpClass::Delete)),
            IncidentKind::Exfiltration => assert!(has(OpClass::Get)),
            IncidentKind::DeleteStorm => assert!(has(OpClass::Delete)),
            IncidentKind::LifecycleTamper => assert!(has(OpClass::ConfigChange)),
        }
    }
}

#[test]
fn the_label_file_has_one_json_object_per_incident() {
    let truth = generate(&small(2), std::io::sink()).unwrap();
    let mut labels = Vec::new();
    truth.write_labels(&mut labels).unwrap();
    let text = String::from_utf8(labels).unwrap();
    assert_eq!(text.lines().count(), truth.incidents.len());
    for (line, inc) in text.lines().zip(&truth.incidents) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["type"], inc.kind.as_str());
        assert_eq!(v["bucket"], inc.bucket);
        assert_eq!(v["principal"], inc.principal);
        assert_eq!(v["malicious_ops"], inc.malicious_ops);
        assert!(v.get("op_times_us").is_none());
    }
}

#[test]
fn a_fast_small_mass_overwrite_with_stolen_credentials_is_the_service_tests_attack() {
    // Every seed's incidents cycle through the variants; look over a few for this one.
    let mut seen = 0;
    for seed in 1..=8 {
        let cfg = GeneratorConfig {
            incidents_per_bucket: 6,
            buckets: 3,
            days: 4,
            ..small(seed)
        };
        let mut out = Vec::new();
        let truth = generate(&cfg, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        for inc in truth.incidents.iter().filter(|i| {
            i.kind == IncidentKind::MassOverwrite
                && i.speed == "fast"
                && i.size == "small"
                && i.actor == "stolen-credentials"
        }) {
            seen += 1;
            assert!((120..200).contains(&inc.malicious_ops), "{inc:?}");
            let lines: Vec<_> = text
                .lines()
                .filter_map(|l| s3::parse_line(l).unwrap())
                .filter(|e| e.source_ip.as_deref() == Some(inc.source_ip.as_str()))
                .collect();
            assert_eq!(lines.len() as u64, inc.malicious_ops);
            for e in &lines {
                assert_eq!(e.op, OpClass::Put);
                assert!(
                    e.user_agent.as_deref().unwrap().starts_with("Boto3/"),
                    "{e:?}"
                );
                assert_eq!(e.principal.as_deref(), Some(inc.principal.as_str()));
            }
            // In place: the keys were there before (the attack starts well after day 0).
            assert!(inc.end_us - inc.start_us < 60_000_000, "{inc:?}");
        }
    }
    assert!(seen > 0, "no seed of 1..=8 has the variant");
}

#[test]
fn a_log_archive_adds_logs_read_as_they_age_and_leaves_the_other_requests_alone() {
    let mut cfg = small(9);
    cfg.days = 12;
    cfg.incidents_per_bucket = 0;
    let (mut plain, mut with_logs) = (Vec::new(), Vec::new());
    generate(&cfg, &mut plain).unwrap();
    generate(
        &GeneratorConfig {
            logs_per_day: 40,
            ..cfg.clone()
        },
        &mut with_logs,
    )
    .unwrap();
    let (plain, with_logs) = (
        String::from_utf8(plain).unwrap(),
        String::from_utf8(with_logs).unwrap(),
    );
    // Every other request is the same, but for the request id (field 7) and the host id (the
    // 16 hex digits and `=` after the user agent) that number the requests.
    let without_ids = |line: &str| {
        let mut f: Vec<&str> = line.split(' ').collect();
        f[6] = "-";
        for t in f.iter_mut().skip(7) {
            if t.len() == 17 && t.ends_with('=') {
                *t = "-";
            }
        }
        f.join(" ")
    };
    let others: Vec<String> = with_logs
        .lines()
        .filter(|l| !l.contains(" logs/"))
        .map(without_ids)
        .collect();
    let expected: Vec<String> = plain.lines().map(without_ids).collect();
    assert_eq!(others, expected);

    // Each log is written once, read by ETL within the hour, and rarely read after a week.
    let mut written = std::collections::HashMap::new();
    let (mut etl_reads, mut reads_after_a_week, mut reads) = (0, 0, 0);
    for line in with_logs.lines().filter(|l| l.contains(" logs/")) {
        let e = s3::parse_line(line).unwrap().unwrap();
        let key = e.key.clone().unwrap();
        assert!(key.starts_with("logs/2026/"), "{key}");
        match e.op {
            OpClass::Put => assert!(written.insert(key, e.time_us).is_none()),
            OpClass::Get => {
                let age_us = e.time_us - written[&key];
                reads += 1;
                if e.principal.as_deref().unwrap().ends_with("role/etl") {
                    etl_reads += 1;
                    assert!(age_us < 3_600_000_000, "{key}: ETL after {age_us} us");
                } else if age_us > 7 * 86_400_000_000 {
                    reads_after_a_week += 1;
                }
            }
            other => panic!("{other:?} on {key}"),
        }
    }
    // 2 buckets x 12 days x about 40 logs a day.
    assert!((800..1_120).contains(&written.len()), "{}", written.len());
    assert_eq!(etl_reads, written.len());
    assert!(reads > etl_reads, "some logs are read again");
    assert!(
        reads_after_a_week < written.len() / 5,
        "{reads_after_a_week}"
    );
}
