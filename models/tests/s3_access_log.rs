//! Golden tests for the Amazon S3 server access log parser.
//!
//! The `aws-doc-*` files under `tests/data/s3/` hold the example records of AWS's "Amazon S3 server
//! access log format" page verbatim, in its 2014 (18-field), 2019 (24-field), 26-field and current
//! (27-field) editions. The other records are built here from the same template.

#![allow(clippy::expect_used)]

use std::path::PathBuf;

use models::event::{AccessEvent, ConfigKind, OpClass};
use models::parse::s3::{looks_like, parse_line};

const OWNER: &str = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be";

const DOC_24: &str = include_str!("data/s3/aws-doc-2019-24-field.log");
const DOC_26: &str = include_str!("data/s3/aws-doc-26-field.log");
const DOC_27: &str = include_str!("data/s3/aws-doc-27-field.log");
const DOC_18: &str = include_str!("data/s3/aws-doc-2014-18-field.log");

fn parse(line: &str) -> AccessEvent {
    match parse_line(line) {
        Ok(Some(event)) => event,
        other => panic!("expected an event, got {other:?} for {line}"),
    }
}

fn error(line: &str) -> String {
    match parse_line(line) {
        Err(e) => e,
        other => panic!("expected an error, got {other:?} for {line}"),
    }
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

/// The event every documentation example shares; each test overrides what differs.
fn doc_event(bucket: &str, time_s: i64, request_id: &str, operation: &str) -> AccessEvent {
    AccessEvent {
        time_us: time_s * 1_000_000,
        op: OpClass::Other,
        operation: operation.to_owned(),
        bucket: bucket.to_owned(),
        key: None,
        principal: Some(OWNER.to_owned()),
        source_ip: Some("192.0.2.3".to_owned()),
        status: Some(200),
        error_code: None,
        bytes_sent: None,
        bytes_received: None,
        object_size: None,
        user_agent: Some("S3Console/0.4".to_owned()),
        version_id: None,
        request_id: Some(request_id.to_owned()),
        sse_customer: false,
        lifecycle: false,
        config: None,
        origin: Default::default(),
    }
}

/// One record in the current 27-field layout; fields default to a successful GET.
#[derive(Clone)]
struct Rec {
    bucket: &'static str,
    time: &'static str,
    ip: &'static str,
    requester: &'static str,
    request_id: &'static str,
    op: &'static str,
    key: &'static str,
    request: &'static str,
    status: &'static str,
    error: &'static str,
    sent: &'static str,
    size: &'static str,
    referer: &'static str,
    ua: &'static str,
    version: &'static str,
    sig: &'static str,
    auth: &'static str,
    tail: &'static str,
}

impl Default for Rec {
    fn default() -> Self {
        Rec {
            bucket: "photos",
            time: "[10/Mar/2024:12:00:00 +0000]",
            ip: "203.0.113.7",
            requester: "arn:aws:iam::123456789012:user/alice",
            request_id: "3E57427F3EXAMPLE",
            op: "REST.GET.OBJECT",
            key: "2024/cat.jpg",
            request: "\"GET /photos/2024/cat.jpg HTTP/1.1\"",
            status: "200",
            error: "-",
            sent: "1024",
            size: "1024",
            referer: "\"-\"",
            ua: "\"aws-cli/2.15.0 Python/3.11.6 Linux/6.1.0 exe/x86_64.debian.12\"",
            version: "-",
            sig: "SigV4",
            auth: "AuthHeader",
            tail: "arn:aws:s3:us-west-1:123456789012:accesspoint/example-AP Yes us-east-1",
        }
    }
}

impl Rec {
    fn op(op: &'static str, key: &'static str) -> Rec {
        Rec {
            op,
            key,
            ..Rec::default()
        }
    }

    fn render(&self) -> String {
        format!(
            "{OWNER} {} {} {} {} {} {} {} {} {} {} {} {} 12 10 {} {} {} \
             s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= {} \
             ECDHE-RSA-AES128-GCM-SHA256 {} photos.s3.us-west-1.amazonaws.com TLSv1.2 {}",
            self.bucket,
            self.time,
            self.ip,
            self.requester,
            self.request_id,
            self.op,
            self.key,
            self.request,
            self.status,
            self.error,
            self.sent,
            self.size,
            self.referer,
            self.ua,
            self.version,
            self.sig,
            self.auth,
            self.tail,
        )
    }
}

// ---------------------------------------------------------------------------------------------
// The official examples, field by field.

#[test]
fn a_27_field_line_fills_every_event_field() {
    let doc = lines(DOC_27);
    assert_eq!(
        parse(doc[0]),
        AccessEvent {
            op: OpClass::Other,
            bytes_sent: Some(113),
            ..doc_event(
                "amzn-s3-demo-bucket1",
                1_549_411_238,
                "3E57427F3EXAMPLE",
                "REST.GET.VERSIONING"
            )
        }
    );
    assert_eq!(
        parse(doc[1]),
        AccessEvent {
            bytes_sent: Some(242),
            ..doc_event(
                "amzn-s3-demo-bucket1",
                1_549_411_238,
                "891CE47D2EXAMPLE",
                "REST.GET.LOGGING_STATUS"
            )
        }
    );
}

#[test]
fn every_official_24_field_example_parses_field_by_field() {
    let doc = lines(DOC_24);
    assert_eq!(doc.len(), 5);
    let b = "awsexamplebucket1";
    let expected = [
        AccessEvent {
            bytes_sent: Some(113),
            ..doc_event(b, 1_549_411_238, "3E57427F3EXAMPLE", "REST.GET.VERSIONING")
        },
        AccessEvent {
            bytes_sent: Some(242),
            ..doc_event(
                b,
                1_549_411_238,
                "891CE47D2EXAMPLE",
                "REST.GET.LOGGING_STATUS",
            )
        },
        AccessEvent {
            status: Some(404),
            error_code: Some("NoSuchBucketPolicy".to_owned()),
            bytes_sent: Some(297),
            ..doc_event(
                b,
                1_549_411_238,
                "A1206F460EXAMPLE",
                "REST.GET.BUCKETPOLICY",
            )
        },
        AccessEvent {
            bytes_sent: Some(113),
            ..doc_event(b, 1_549_411_260, "7B4A0FABBEXAMPLE", "REST.GET.VERSIONING")
        },
        AccessEvent {
            op: OpClass::Put,
            key: Some("s3-dg.pdf".to_owned()),
            // AWS: Bytes Sent is "-" when zero.
            bytes_sent: Some(0),
            // A successful PUT received the whole object.
            bytes_received: Some(4_406_583),
            object_size: Some(4_406_583),
            ..doc_event(b, 1_549_411_317, "DD6CC733AEXAMPLE", "REST.PUT.OBJECT")
        },
    ];
    for (line, want) in doc.iter().zip(expected) {
        assert_eq!(parse(line), want, "{line}");
    }
}

#[test]
fn the_26_field_examples_parse_like_their_24_field_twins() {
    let doc24 = lines(DOC_24);
    for (line26, line24) in lines(DOC_26).iter().zip(&doc24[3..]) {
        let (e26, e24) = (parse(line26), parse(line24));
        assert_eq!(e26.bucket, "DOC-EXAMPLE-BUCKET1");
        assert_eq!(
            AccessEvent {
                bucket: e24.bucket.clone(),
                ..e26
            },
            e24
        );
    }
}

#[test]
fn the_18_field_examples_of_2014_are_accepted() {
    let events: Vec<AccessEvent> = lines(DOC_18).iter().map(|l| parse(l)).collect();
    assert_eq!(events.len(), 6);
    assert_eq!(
        events[4],
        AccessEvent {
            op: OpClass::Put,
            key: Some("s3-dg.pdf".to_owned()),
            bytes_sent: Some(0),
            bytes_received: Some(4_406_583),
            object_size: Some(4_406_583),
            ..doc_event(
                "mybucket",
                1_391_644_917,
                "DD6CC733AEXAMPLE",
                "REST.PUT.OBJECT"
            )
        }
    );
    assert_eq!(events[5].time_us, 1_391_645_001_000_000);
    assert_eq!(events[2].error_code.as_deref(), Some("NoSuchBucketPolicy"));
}

#[test]
fn every_sample_file_parses_without_errors_and_is_detected_as_s3() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/s3");
    let mut files = 0;
    let mut records = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/data/s3 exists") {
        let path = entry.expect("readable directory").path();
        let text = std::fs::read_to_string(&path).expect("readable sample");
        let first = text.lines().next().unwrap_or("");
        assert!(looks_like(first), "{} not detected", path.display());
        for (i, line) in text.lines().enumerate() {
            match parse_line(line) {
                Ok(Some(_)) => records += 1,
                Ok(None) => {}
                Err(e) => panic!("{}:{}: {e}", path.display(), i + 1),
            }
        }
        files += 1;
    }
    assert_eq!((files, records), (6, 38));
}

#[test]
fn a_mixed_27_field_file_yields_the_expected_classes_in_order() {
    let text = include_str!("data/s3/operations-27-field.log");
    let events: Vec<AccessEvent> = text.lines().map(parse).collect();
    let classes: Vec<(OpClass, bool)> = events.iter().map(|e| (e.op, e.lifecycle)).collect();
    use OpClass::*;
    assert_eq!(
        classes,
        [
            (Put, false),
            (Get, false),
            (Head, false),
            (Get, false),
            (List, false),
            (CopySource, false),
            (CopyDest, false),
            (Multipart, false),
            (Multipart, false),
            (Multipart, false),
            (Delete, false),
            (Delete, false),
            (Delete, false),
            (Get, false),
            (ConfigChange, false),
            (ConfigChange, false),
            (ConfigChange, false),
            (Other, true),
            (Delete, true),
            (Delete, true),
        ]
    );
    assert_eq!(events[7].key.as_deref(), Some("video/big file.mp4"));
    assert_eq!(events[8].bytes_received, Some(8_388_608));
    assert_eq!(events[11].key.as_deref(), Some("2024/old+thing.jpg"));
    assert_eq!(events[13].error_code.as_deref(), Some("NoSuchKey"));
    assert_eq!(
        events[14..17].iter().map(|e| e.config).collect::<Vec<_>>(),
        [
            Some(ConfigKind::Lifecycle),
            Some(ConfigKind::BucketPolicy),
            Some(ConfigKind::Versioning)
        ]
    );
    assert_eq!(
        events[18].version_id.as_deref(),
        Some("Wt3hw8vhF0sUxxqRp0aiOi0ZBDg8KQAf")
    );
    assert!(!format!("{events:?}").contains("X-Amz-Signature"));
}

#[test]
fn an_s3_compatible_file_without_quotes_parses_field_by_field() {
    let text = include_str!("data/s3/s3-compatible-unquoted-24-field.log");
    let events: Vec<AccessEvent> = text.lines().map(parse).collect();
    type Row<'a> = (OpClass, Option<&'a str>, Option<&'a str>, Option<u64>);
    let got: Vec<Row> = events
        .iter()
        .map(|e| {
            (
                e.op,
                e.key.as_deref(),
                e.user_agent.as_deref(),
                e.bytes_sent,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                OpClass::Put,
                Some("backups/db 1.tar"),
                Some("rclone/v1.66.0"),
                Some(0)
            ),
            (
                OpClass::Get,
                Some("backups/db 1.tar"),
                Some("MinIO (linux; amd64) minio-go/v7.0.70"),
                Some(1_048_576)
            ),
            (
                OpClass::List,
                None,
                Some("aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.1 md/GOOS#linux"),
                Some(512)
            ),
        ]
    );
    assert!(
        events
            .iter()
            .all(|e| e.principal.as_deref() == Some("alice") && e.version_id.is_none())
    );
    assert_eq!(events[0].bytes_received, Some(1_048_576));
}

// ---------------------------------------------------------------------------------------------
// Field layouts: 25 fields, unknown trailing fields, blank lines, offsets.

#[test]
fn a_25_field_line_parses_like_the_27_field_line() {
    let full = Rec::default();
    let short = Rec {
        tail: "arn:aws:s3:us-west-1:123456789012:accesspoint/example-AP",
        ..Rec::default()
    };
    assert_eq!(parse(&short.render()), parse(&full.render()));
}

#[test]
fn unknown_trailing_fields_are_ignored() {
    let rec = Rec::default();
    let longer = format!(
        "{} future-field-28 \"quoted future field\" 42",
        rec.render()
    );
    assert_eq!(parse(&longer), parse(&rec.render()));
}

#[test]
fn blank_lines_are_skipped() {
    assert_eq!(parse_line(""), Ok(None));
    assert_eq!(parse_line("   \t\r"), Ok(None));
}

#[test]
fn crlf_endings_extra_spaces_and_a_byte_order_mark_are_tolerated() {
    let line = Rec::default().render();
    let expected = parse(&line);
    assert_eq!(parse(&format!("{line}\r")), expected);
    assert_eq!(parse(&format!("\u{feff}{line}")), expected);
    assert_eq!(
        parse(&line.replacen(" photos ", "   photos  ", 1)),
        expected
    );
}

#[test]
fn the_time_offset_is_converted_to_utc_microseconds() {
    let utc = parse(&Rec::default().render());
    assert_eq!(utc.time_us, 1_710_072_000_000_000);
    let shifted = Rec {
        time: "[10/Mar/2024:14:00:00.5 +0200]",
        ..Rec::default()
    };
    assert_eq!(parse(&shifted.render()).time_us, 1_710_072_000_500_000);
}

#[test]
fn an_anonymous_request_has_no_principal() {
    for requester in ["-", "Anonymous"] {
        let rec = Rec {
            requester,
            ..Rec::default()
        };
        assert_eq!(parse(&rec.render()).principal, None, "{requester}");
    }
    assert_eq!(
        parse(&Rec::default().render()).principal.as_deref(),
        Some("arn:aws:iam::123456789012:user/alice")
    );
}

#[test]
fn every_session_of_an_assumed_role_is_the_role() {
    for requester in [
        "arn:aws:sts::123456789012:assumed-role/etl-role/i-0aaa1111",
        "arn:aws:sts::123456789012:assumed-role/etl-role/botocore-session-1793606401",
    ] {
        let rec = Rec {
            requester,
            ..Rec::default()
        };
        assert_eq!(
            parse(&rec.render()).principal.as_deref(),
            Some("arn:aws:sts::123456789012:assumed-role/etl-role"),
            "{requester}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Keys.

#[test]
fn an_url_encoded_key_is_decoded_and_plus_stays_a_plus() {
    let rec = Rec::op(
        "REST.GET.OBJECT",
        "reports/Q1%202024/caf%C3%A9+bar%2Bbaz%25.csv",
    );
    let event = parse(&rec.render());
    assert_eq!(
        event.key.as_deref(),
        Some("reports/Q1 2024/café+bar+baz%.csv")
    );
}

#[test]
fn a_key_that_does_not_decode_to_utf8_is_kept_encoded() {
    let event = parse(&Rec::op("REST.GET.OBJECT", "raw%FF%FE").render());
    assert_eq!(event.key.as_deref(), Some("raw%FF%FE"));
}

// ---------------------------------------------------------------------------------------------
// Operations.

#[test]
fn every_documented_object_operation_maps_to_its_class() {
    let table = [
        ("REST.GET.OBJECT", OpClass::Get),
        ("WEBSITE.GET.OBJECT", OpClass::Get),
        ("REST.SELECT.OBJECT", OpClass::Get),
        ("REST.PUT.OBJECT", OpClass::Put),
        ("REST.POST.OBJECT", OpClass::Put),
        ("REST.HEAD.OBJECT", OpClass::Head),
        ("REST.GET.OBJECT_TAGGING", OpClass::Head),
        ("REST.GET.ACL", OpClass::Head),
        ("REST.GET.OBJECT_LOCK_RETENTION", OpClass::Head),
        ("REST.GET.OBJECT_LOCK_LEGAL_HOLD", OpClass::Head),
        ("REST.DELETE.OBJECT", OpClass::Delete),
        ("BATCH.DELETE.OBJECT", OpClass::Delete),
        ("REST.COPY.OBJECT_GET", OpClass::CopySource),
        ("REST.COPY.PART_GET", OpClass::CopySource),
        ("REST.COPY.OBJECT", OpClass::CopyDest),
        ("REST.POST.UPLOADS", OpClass::Multipart),
        ("REST.PUT.PART", OpClass::Multipart),
        ("REST.COPY.PART", OpClass::Multipart),
        ("REST.POST.UPLOAD", OpClass::Multipart),
        ("REST.DELETE.UPLOAD", OpClass::Multipart),
        ("REST.GET.UPLOAD", OpClass::Multipart),
        ("REST.PUT.OBJECT_TAGGING", OpClass::Other),
        ("REST.POST.RESTORE", OpClass::Other),
        ("SOAP.CreateBucket", OpClass::Other),
    ];
    for (op, class) in table {
        let event = parse(&Rec::op(op, "docs/a.txt").render());
        assert_eq!(
            (event.op, event.lifecycle, event.config),
            (class, false, None),
            "{op}"
        );
        assert_eq!(event.operation, op);
        assert_eq!(event.key.as_deref(), Some("docs/a.txt"));
    }
}

#[test]
fn bucket_level_listings_are_lists_and_reads_of_configuration_are_other() {
    let table = [
        ("REST.GET.BUCKET", OpClass::List),
        ("REST.GET.BUCKETVERSIONS", OpClass::List),
        ("REST.GET.UPLOADS", OpClass::List),
        ("REST.GET.ACL", OpClass::Other),
        ("REST.GET.OBJECT_LOCK_CONFIGURATION", OpClass::Other),
        ("REST.GET.LIFECYCLE", OpClass::Other),
        ("REST.GET.VERSIONING", OpClass::Other),
        ("REST.HEAD.BUCKET", OpClass::Other),
        ("REST.GET.SERVICE", OpClass::Other),
    ];
    for (op, class) in table {
        let event = parse(&Rec::op(op, "-").render());
        assert_eq!(
            (event.op, event.key, event.config),
            (class, None, None),
            "{op}"
        );
    }
}

#[test]
fn bucket_configuration_writes_are_config_changes_with_their_kind() {
    let table = [
        ("REST.PUT.LIFECYCLE", ConfigKind::Lifecycle),
        ("REST.DELETE.LIFECYCLE", ConfigKind::Lifecycle),
        ("REST.PUT.BUCKETPOLICY", ConfigKind::BucketPolicy),
        ("REST.DELETE.BUCKETPOLICY", ConfigKind::BucketPolicy),
        ("REST.PUT.VERSIONING", ConfigKind::Versioning),
        ("REST.PUT.OBJECT_LOCK_CONFIGURATION", ConfigKind::ObjectLock),
        ("REST.PUT.ACL", ConfigKind::Acl),
        ("REST.PUT.ENCRYPTION", ConfigKind::Encryption),
        ("REST.DELETE.ENCRYPTION", ConfigKind::Encryption),
        ("REST.PUT.REPLICATION", ConfigKind::Replication),
        ("REST.PUT.LOGGING_STATUS", ConfigKind::Logging),
        ("REST.PUT.BUCKET", ConfigKind::Bucket),
        ("REST.DELETE.BUCKET", ConfigKind::Bucket),
        ("REST.PUT.CORS", ConfigKind::Other),
        ("REST.PUT.PUBLIC_ACCESS_BLOCK", ConfigKind::Other),
        ("REST.DELETE.PUBLIC_ACCESS_BLOCK", ConfigKind::Other),
        ("REST.PUT.NOTIFICATION", ConfigKind::Other),
        ("REST.PUT.WEBSITE", ConfigKind::Other),
        ("REST.PUT.TAGGING", ConfigKind::Other),
        ("REST.PUT.INTELLIGENT_TIERING", ConfigKind::Other),
    ];
    for (op, kind) in table {
        let event = parse(&Rec::op(op, "-").render());
        assert_eq!(
            (event.op, event.config, event.lifecycle),
            (OpClass::ConfigChange, Some(kind), false),
            "{op}"
        );
    }
}

#[test]
fn object_level_acl_and_retention_writes_are_config_changes_too() {
    // config_change_kind names them; a public-read object ACL or a shortened retention matters as
    // much as a bucket policy change.
    let table = [
        ("REST.PUT.ACL", Some(ConfigKind::Acl)),
        (
            "REST.PUT.OBJECT_LOCK_RETENTION",
            Some(ConfigKind::ObjectLock),
        ),
    ];
    for (op, kind) in table {
        let event = parse(&Rec::op(op, "contracts/2024.pdf").render());
        assert_eq!(
            (event.op, event.config),
            (OpClass::ConfigChange, kind),
            "{op}"
        );
        assert_eq!(event.key.as_deref(), Some("contracts/2024.pdf"));
    }
}

#[test]
fn lifecycle_operations_are_flagged_and_classified() {
    let table = [
        ("S3.EXPIRE.OBJECT", OpClass::Delete),
        ("S3.CREATE.DELETEMARKER", OpClass::Delete),
        ("S3.TRANSITION_SIA.OBJECT", OpClass::Other),
        ("S3.TRANSITION_ZIA.OBJECT", OpClass::Other),
        ("S3.TRANSITION_INT.OBJECT", OpClass::Other),
        ("S3.TRANSITION_GIR.OBJECT", OpClass::Other),
        ("S3.TRANSITION.OBJECT", OpClass::Other),
        ("S3.TRANSITION_GDA.OBJECT", OpClass::Other),
        ("S3.DELETE.UPLOAD", OpClass::Multipart),
    ];
    for (op, class) in table {
        // As S3 writes them: requester AmazonS3, no remote IP, no request, no status.
        let rec = Rec {
            op,
            key: "logs/2023/app.log",
            ip: "-",
            requester: "AmazonS3",
            request: "\"-\"",
            status: "-",
            sent: "-",
            size: "38165",
            ua: "\"-\"",
            sig: "-",
            auth: "-",
            ..Rec::default()
        };
        let event = parse(&rec.render());
        assert_eq!(
            (event.op, event.lifecycle, event.config),
            (class, true, None),
            "{op}"
        );
        assert_eq!(event.status, None);
        assert_eq!(event.source_ip, None);
        assert_eq!(event.user_agent, None);
        assert_eq!(event.object_size, Some(38_165));
        assert_eq!(event.bytes_received, None);
        assert_eq!(event.principal.as_deref(), Some("AmazonS3"));
    }
}

#[test]
fn a_copy_is_logged_as_two_records_source_then_destination() {
    // AWS logs the GET part (source bucket and key) and the PUT part (destination) of one copy.
    let get = Rec {
        bucket: "photos",
        op: "REST.COPY.OBJECT_GET",
        key: "2024/cat.jpg",
        request: "\"PUT /archive/2024/cat-copy.jpg HTTP/1.1\"",
        sent: "-",
        size: "52340",
        ..Rec::default()
    };
    let put = Rec {
        bucket: "archive",
        op: "REST.COPY.OBJECT",
        key: "2024/cat-copy.jpg",
        sent: "234",
        size: "52340",
        ..get.clone()
    };
    let (src, dst) = (parse(&get.render()), parse(&put.render()));
    assert_eq!(
        (src.op, src.bucket.as_str(), src.key.as_deref()),
        (OpClass::CopySource, "photos", Some("2024/cat.jpg"))
    );
    assert_eq!(
        (dst.op, dst.bucket.as_str(), dst.key.as_deref()),
        (OpClass::CopyDest, "archive", Some("2024/cat-copy.jpg"))
    );
    assert_eq!(src.request_id, dst.request_id);
    // A server-side copy uploads nothing.
    assert_eq!((src.bytes_received, dst.bytes_received), (None, None));
}

#[test]
fn the_source_key_of_a_copy_is_decoded_twice_as_aws_encodes_it() {
    // The record's path names the destination, so it cannot tell how the source key was
    // encoded; AWS encodes it twice, as the Key field of a GET of the same object.
    for (op, field, want) in [
        ("REST.COPY.OBJECT_GET", "my%2520photo.jpg", "my photo.jpg"),
        ("REST.COPY.OBJECT_GET", "caf%25C3%25A9.txt", "café.txt"),
        ("REST.COPY.OBJECT_GET", "100%2525.txt", "100%.txt"),
        ("REST.COPY.PART_GET", "a%252Bb+c.bin", "a+b+c.bin"),
        ("REST.COPY.OBJECT_GET", "plain/key.txt", "plain/key.txt"),
    ] {
        let rec = Rec {
            bucket: "photos",
            op,
            key: field,
            request: "\"PUT /photos/dst%20dir/out.jpg?partNumber=1 HTTP/1.1\"",
            ..Rec::default()
        };
        assert_eq!(
            parse(&rec.render()).key.as_deref(),
            Some(want),
            "{op} {field}"
        );
    }
    // A GET of the source object names the same key.
    let get = Rec {
        bucket: "photos",
        op: "REST.GET.OBJECT",
        key: "my%2520photo.jpg",
        request: "\"GET /photos/my%20photo.jpg HTTP/1.1\"",
        ..Rec::default()
    };
    assert_eq!(parse(&get.render()).key.as_deref(), Some("my photo.jpg"));
}

#[test]
fn multi_object_delete_records_are_deletes() {
    // One request record without a key, then one BATCH.DELETE.OBJECT record per key.
    let request = parse(
        &Rec {
            request: "\"POST /photos?delete HTTP/1.1\"",
            ..Rec::op("REST.POST.MULTI_OBJECT_DELETE", "-")
        }
        .render(),
    );
    assert_eq!((request.op, request.key), (OpClass::Delete, None));
    for key in ["a.jpg", "b%20c.jpg"] {
        let event = parse(&Rec::op("BATCH.DELETE.OBJECT", key).render());
        assert_eq!(event.op, OpClass::Delete);
        assert!(event.key.is_some());
    }
}

#[test]
fn bytes_received_is_the_object_size_of_a_successful_upload_only() {
    let cases = [
        ("REST.PUT.OBJECT", "200", Some(1024)),
        ("REST.POST.OBJECT", "204", Some(1024)),
        ("REST.PUT.PART", "200", Some(1024)),
        ("REST.PUT.OBJECT", "403", None),
        ("REST.PUT.PART", "-", None),
        ("REST.GET.OBJECT", "200", None),
        ("REST.POST.UPLOAD", "200", None),
    ];
    for (op, status, want) in cases {
        let rec = Rec {
            status,
            ..Rec::op(op, "k")
        };
        assert_eq!(parse(&rec.render()).bytes_received, want, "{op} {status}");
    }
}

// ---------------------------------------------------------------------------------------------
// Secrets.

#[test]
fn a_presigned_request_leaves_no_secret_in_the_event() {
    const SIG4: &str = "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024";
    const KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
    const SIG2: &str = "vjbyPxybdZaNmGa%2ByT272YEAiv4%3D";
    let v4 = Rec {
        request: "\"GET /photos/2024/cat.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20240310%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240310T120000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024 HTTP/1.1\"",
        referer: "\"https://example.com/share?X-Amz-Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024\"",
        auth: "QueryString",
        ..Rec::default()
    };
    let v2 = Rec {
        request: "\"GET /photos/2024/cat.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1710075600&Signature=vjbyPxybdZaNmGa%2ByT272YEAiv4%3D HTTP/1.1\"",
        sig: "SigV2",
        auth: "QueryString",
        ..Rec::default()
    };
    let unquoted = Rec {
        request: "GET /photos/2024/cat.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1710075600&Signature=vjbyPxybdZaNmGa%2ByT272YEAiv4%3D HTTP/1.1",
        ..v2.clone()
    };
    for rec in [v4, v2, unquoted] {
        let line = rec.render();
        let event = parse(&line);
        let shown = format!("{event:?}");
        for secret in [SIG4, KEY_ID, SIG2, "Signature", "Credential"] {
            assert!(!shown.contains(secret), "{secret} leaked into {shown}");
        }
        assert_eq!(event.key.as_deref(), Some("2024/cat.jpg"));
    }
}

#[test]
fn an_error_message_never_quotes_a_signed_url() {
    // A record whose Request-URI lost its quotes and spilled into the status field.
    let line = Rec {
        request: "GET /photos/x?X-Amz-Signature=deadbeefcafe HTTP/1.1 extra",
        ..Rec::default()
    }
    .render();
    let e = error(&line);
    assert!(
        e.starts_with("field 10 (HTTP status): expected a number or \"-\", found "),
        "{e}"
    );
    assert!(!e.contains("deadbeefcafe"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// S3-compatible servers that leave out the quotes.

#[test]
fn an_unquoted_request_uri_and_user_agent_are_accepted() {
    let quoted = Rec::default();
    let unquoted = Rec {
        request: "GET /photos/2024/cat.jpg HTTP/1.1",
        referer: "-",
        ua: "aws-cli/2.15.0 Python/3.11.6 Linux/6.1.0 exe/x86_64.debian.12",
        ..Rec::default()
    };
    let event = parse(&unquoted.render());
    assert_eq!(event, parse(&quoted.render()));
    assert_eq!(
        event.user_agent.as_deref(),
        Some("aws-cli/2.15.0 Python/3.11.6 Linux/6.1.0 exe/x86_64.debian.12")
    );
}

#[test]
fn an_unquoted_user_agent_is_delimited_in_every_layout_from_24_to_27_fields() {
    let ua = "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/123.0";
    for tail in [
        "",
        " arn:aws:s3:us-west-1:123456789012:accesspoint/example-AP",
        " - Yes",
        " - Yes us-east-1",
    ] {
        let line = format!(
            "{OWNER} photos [10/Mar/2024:12:00:00 +0000] 203.0.113.7 - 3E57427F3EXAMPLE \
             REST.GET.OBJECT a.txt GET /photos/a.txt HTTP/1.1 200 - 5 5 1 1 - {ua} 3HL4kqtJvjVBH40Nrjfkd \
             hostid= SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader photos.s3.local TLSv1.2{tail}"
        );
        let event = parse(&line);
        assert_eq!(event.user_agent.as_deref(), Some(ua), "tail {tail:?}");
        assert_eq!(
            event.version_id.as_deref(),
            Some("3HL4kqtJvjVBH40Nrjfkd"),
            "tail {tail:?}"
        );
    }
}

#[test]
fn an_unquoted_user_agent_of_dash_is_no_user_agent_whatever_the_layout() {
    let line = format!(
        "{OWNER} photos [10/Mar/2024:12:00:00 +0000] - AmazonS3 3E57427F3EXAMPLE \
         S3.EXPIRE.OBJECT a.txt - - - - 5 - - - - v1 - - - - - - - - -"
    );
    let event = parse(&line);
    assert_eq!(
        (event.user_agent, event.version_id.as_deref()),
        (None, Some("v1"))
    );
}

#[test]
fn an_ambiguous_unquoted_user_agent_is_rejected() {
    // Unsigned plain-HTTP request: every anchor is "-", so 24, 25 and 26 fields all fit.
    let line = format!(
        "{OWNER} photos [10/Mar/2024:12:00:00 +0000] 203.0.113.7 - 3E57427F3EXAMPLE \
         REST.GET.OBJECT a.txt GET /photos/a.txt HTTP/1.1 200 - 5 5 1 1 - curl/8.5.0 libcurl - - - - - - - - -"
    );
    assert_eq!(
        error(&line),
        "field 17 (User-Agent): unquoted user agent: ambiguous, more than one field count fits; \
         quote the user agent"
    );
}

#[test]
fn an_unquoted_user_agent_in_a_line_of_unknown_length_is_rejected() {
    let line = format!(
        "{OWNER} photos [10/Mar/2024:12:00:00 +0000] 203.0.113.7 - 3E57427F3EXAMPLE \
         REST.GET.OBJECT a.txt GET /photos/a.txt HTTP/1.1 200 - 5 5 1 1 - curl/8.5.0 (x) - hostid= \
         SigV4 ECDHE AuthHeader photos.s3.local TLSv1.2 - - - extra1 extra2"
    );
    assert_eq!(
        error(&line),
        "field 17 (User-Agent): unquoted user agent: cannot tell where it ends (a line with an \
         unquoted user agent must have 24 to 27 fields, with Signature Version, Authentication \
         Type and TLS version in their places); quote the user agent"
    );
}

// ---------------------------------------------------------------------------------------------
// Malformed lines: every error names its field, and the text is pinned.

#[test]
fn a_truncated_line_is_rejected_naming_the_last_field() {
    let doc = lines(DOC_24);
    let cut = doc[0].split(" 113 ").next().unwrap_or_default();
    assert_eq!(
        error(cut),
        "truncated record: the line ends after field 11 (Error Code); an S3 server access log \
         record has at least 18 fields (through Version Id)"
    );
    let no_version = doc[0].split(" - s9lz").next().unwrap_or_default();
    assert_eq!(
        error(no_version),
        "truncated record: the line ends after field 17 (User-Agent); an S3 server access log \
         record has at least 18 fields (through Version Id)"
    );
    assert_eq!(
        error(OWNER),
        "truncated record: the line ends after field 1 (Bucket Owner); an S3 server access log \
         record has at least 18 fields (through Version Id)"
    );
}

#[test]
fn a_time_that_does_not_parse_is_rejected() {
    let line = Rec {
        time: "[10/Mar/2024:25:00:00 +0000]",
        ..Rec::default()
    };
    assert_eq!(
        error(&line.render()),
        "field 3 (Time): expected a time like [06/Feb/2019:00:00:38 +0000], found \
         \"[10/Mar/2024:25:00:00 +0000]\""
    );
    let unbracketed = Rec {
        time: "2024-03-10T12:00:00Z",
        ..Rec::default()
    };
    assert_eq!(
        error(&unbracketed.render()),
        "field 3 (Time): expected a time like [06/Feb/2019:00:00:38 +0000], found \
         \"2024-03-10T12:00:00Z\""
    );
    let unclosed = Rec {
        time: "[10/Mar/2024:12:00:00 +0000",
        ..Rec::default()
    };
    assert_eq!(
        error(&unclosed.render().replace(']', "")),
        "field 3 (Time): the opening bracket has no closing bracket"
    );
}

#[test]
fn numbers_that_are_not_numbers_are_rejected() {
    let status = Rec {
        status: "abc",
        ..Rec::default()
    };
    assert_eq!(
        error(&status.render()),
        "field 10 (HTTP status): expected a number or \"-\", found \"abc\""
    );
    let big_status = Rec {
        status: "70000",
        ..Rec::default()
    };
    assert_eq!(
        error(&big_status.render()),
        "field 10 (HTTP status): expected an HTTP status code, found \"70000\""
    );
    let sent = Rec {
        sent: "12k",
        ..Rec::default()
    };
    assert_eq!(
        error(&sent.render()),
        "field 12 (Bytes Sent): expected a number or \"-\", found \"12k\""
    );
    let size = Rec {
        size: "-5",
        ..Rec::default()
    };
    assert_eq!(
        error(&size.render()),
        "field 13 (Object Size): expected a number or \"-\", found \"-5\""
    );
}

#[test]
fn unbalanced_quotes_are_rejected() {
    let ua = Rec {
        ua: "\"aws-cli/2.15.0 Python/3.11.6",
        tail: "",
        ..Rec::default()
    };
    assert_eq!(
        error(&ua.render()),
        "field 17 (User-Agent): the opening quote has no closing quote"
    );
    let request = Rec {
        request: "\"GET /photos/2024/cat.jpg HTTP/1.1",
        ..Rec::default()
    };
    let e = error(&request.render());
    assert!(
        e.starts_with("field 10 (HTTP status): expected a number or \"-\"")
            && e.ends_with("(is a quote unbalanced earlier in the line?)"),
        "{e}"
    );
    let referer = Rec {
        referer: "\"https://example.com/",
        ua: "-",
        tail: "",
        sig: "-",
        auth: "-",
        ..Rec::default()
    };
    assert_eq!(
        error(&referer.render()),
        "field 16 (Referer): the opening quote has no closing quote"
    );
}

#[test]
fn an_unquoted_request_uri_must_be_method_path_protocol() {
    let rec = Rec {
        request: "GET /photos/2024/cat.jpg",
        ..Rec::default()
    };
    assert_eq!(
        error(&rec.render()),
        "field 9 (Request-URI): expected a quoted request like \"GET /bucket/key HTTP/1.1\" or \
         \"-\"; an unquoted request must be exactly METHOD PATH PROTOCOL"
    );
}

// ---------------------------------------------------------------------------------------------
// Detection.

#[test]
fn looks_like_accepts_records_and_rejects_other_formats() {
    assert!(looks_like(lines(DOC_27)[0]));
    assert!(looks_like(lines(DOC_24)[0]));
    assert!(looks_like(lines(DOC_18)[0]));
    assert!(!looks_like(
        "{\"version\":\"1\",\"api\":{\"name\":\"GetObject\"}}"
    ));
    assert!(!looks_like(
        "127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb.gif HTTP/1.0\" 200 2326"
    ));
    assert!(!looks_like(""));
    assert!(!looks_like("bucket owner time"));
}
