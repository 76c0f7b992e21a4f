//! AWS CloudTrail S3 data events: `{"Records":[...]}` documents, as CloudTrail delivers them to a
//! bucket (one document per file, usually on one line) or as people save them (pretty-printed).
//!
//! Each record becomes one [`AccessEvent`]:
//!
//! | event field | CloudTrail record |
//! |---|---|
//! | `time_us` | `eventTime` (RFC 3339, second precision) |
//! | `operation` | `eventName` (`GetObject`, `PutBucketLifecycle`, ...) |
//! | `op`, `config` | `eventName` through [`classify_s3_api`] |
//! | `bucket` | `requestParameters.bucketName` (empty for service calls such as `ListBuckets`) |
//! | `key` | `requestParameters.key`, or `requestParameters.Key` (S3 on Outposts); never URL-encoded |
//! | `principal` | `userIdentity.arn`, else `accessKeyId`, else `principalId`; `invokedBy` for `AWSService`; `None` for `AnonymousPrincipal` |
//! | `source_ip` | `sourceIPAddress` |
//! | `status` | 200 without `errorCode`; else derived from a few well-known codes (see [`status_of_error_code`]) |
//! | `error_code` | `errorCode` |
//! | `bytes_sent`, `bytes_received` | `additionalEventData.bytesTransferredOut`, `bytesTransferredIn` |
//! | `object_size` | `bytesTransferredIn` of a successful `PutObject`/`PostObject` (the body is the object) |
//! | `version_id` | `responseElements.x-amz-version-id`, else `requestParameters.versionId` |
//! | `request_id` | `requestID` |
//! | `sse_customer` | `requestParameters.x-amz-server-side-encryption-customer-algorithm`, or `additionalEventData.SSEApplied` = `SSE_C` |
//! | `lifecycle` | always `false`: CloudTrail does not record S3 Lifecycle actions |
//!
//! Records whose `eventSource` is not S3 (`s3.amazonaws.com`, `s3-outposts.amazonaws.com`,
//! `s3express.amazonaws.com`) are skipped on purpose (`Ok(None)`).
//!
//! # Caveats
//! - `CopyObject` is one record naming the destination (`bucketName`, `key`); the source is only
//!   in `requestParameters.x-amz-copy-source`. tierd emits the [`OpClass::CopyDest`] event; there is
//!   no separate [`OpClass::CopySource`] record in CloudTrail (unlike S3 server access logs).
//! - Nothing else from `requestParameters` is kept: pre-signed URL parameters (`X-Amz-Credential`,
//!   `X-Amz-Signature`, `X-Amz-Security-Token`, ...) and SSE-C key digests never reach an event.
//!
//! This module also holds the small JSON helpers the MinIO and Ceph parsers share (`json`).

use crate::event::{AccessEvent, ConfigKind, OpClass, config_change_kind};

use super::json::{Num, Text, json_error, parse_rfc3339_us, value_kind};

/// One record of a CloudTrail document: its 1-based line in the file and the outcome.
/// `Ok(None)` is a record tierd skips on purpose (not an S3 data event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocRecord {
    pub line: u64,
    pub result: Result<Option<AccessEvent>, String>,
}

/// Whether the first bytes of a file are a CloudTrail document: `{"Records":[` (any whitespace
/// between the tokens, pretty-printed or not). The head may be cut anywhere after that.
///
/// S3 *event notifications* (`{"Records":[{"eventSource":"aws:s3",...`) share the envelope; they
/// are told apart by their `aws:`-prefixed `eventSource` when it is within the head.
pub fn looks_like(head: &str) -> bool {
    let s = head.trim_start_matches('\u{feff}').trim_start();
    let Some(s) = s.strip_prefix('{') else {
        return false;
    };
    let Some(s) = s.trim_start().strip_prefix("\"Records\"") else {
        return false;
    };
    let Some(s) = s.trim_start().strip_prefix(':') else {
        return false;
    };
    if !s.trim_start().starts_with('[') {
        return false;
    }
    // Reject S3 event notifications: CloudTrail's eventSource is a host name, theirs `aws:s3`.
    let mut rest = s;
    while let Some(at) = rest.find("\"eventSource\"") {
        rest = &rest[at + "\"eventSource\"".len()..];
        let value = rest.trim_start().trim_start_matches(':').trim_start();
        if value.starts_with("\"aws:") {
            return false;
        }
    }
    true
}

/// Parses a whole CloudTrail document.
///
/// # Errors
/// `Err((line, reason))` when the text is not JSON, or not an object with a `Records` array; the
/// line is where the problem is. A record that is valid JSON but not a usable S3 event (missing
/// `eventTime`, a time that is not RFC 3339, not an object) is reported in its
/// [`DocRecord::result`] and the other records are still returned.
///
/// # Guarantees
/// [`DocRecord::line`] is the 1-based line on which the record's `{` stands, so pretty-printed
/// documents point at the right record; CloudTrail's own one-line files give line 1 to every
/// record.
pub fn parse_document(text: &str) -> Result<Vec<DocRecord>, (u64, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Documents one after another (files joined with `cat`) are read one by one: a broken one
    // is one bad line, not the loss of every record of the others.
    let mut docs = serde_json::Deserializer::from_str(text).into_iter::<serde::de::IgnoredAny>();
    let mut records = Vec::new();
    let (mut start, mut first) = (0usize, true);
    let line_at = |at: usize| memchr::memchr_iter(b'\n', &text.as_bytes()[..at]).count() as u64;
    while let Some(doc) = docs.next() {
        let end = docs.byte_offset();
        // Lines before this document's start.
        let before = line_at(start);
        // After a syntax error the stream cannot go on: that document is the last.
        let syntax = doc.is_err();
        let outcome = match doc {
            Ok(_) => one_document(&text[start..end]).map_err(|(l, why)| (l + before, why)),
            Err(e) => Err((e.line().max(1) as u64, json_error(&e))),
        };
        match outcome {
            Ok(rs) => records.extend(rs.into_iter().map(|r| DocRecord {
                line: r.line + before,
                ..r
            })),
            // The first document broken: the file is not CloudTrail's, or is cut short.
            Err(bad) if first => return Err(bad),
            Err((line, why)) => {
                records.push(DocRecord {
                    line,
                    result: Err(why),
                });
                if syntax {
                    break;
                }
            }
        }
        first = false;
        start = end;
    }
    Ok(records)
}

/// The records of one valid JSON document, with lines counted from its start.
fn one_document(text: &str) -> Result<Vec<DocRecord>, (u64, String)> {
    let spans = super::json::record_spans(text)?;
    let bytes = text.as_bytes();
    let mut line = 1u64;
    let mut counted = 0usize;
    let mut records = Vec::with_capacity(spans.len());
    for (start, end) in spans {
        line += memchr::memchr_iter(b'\n', &bytes[counted..start]).count() as u64;
        counted = start;
        records.push(DocRecord {
            line,
            result: parse_record(&text[start..end]),
        });
    }
    Ok(records)
}

/// Parses one record (one element of `Records`) on its own.
///
/// # Errors
/// The record is not a JSON object, lacks `eventSource`, `eventName` or `eventTime`, or its
/// `eventTime` is not RFC 3339.
pub fn parse_record(record: &str) -> Result<Option<AccessEvent>, String> {
    let first = record.trim_start().as_bytes().first().copied();
    if first != Some(b'{') {
        return Err(format!(
            "expected a JSON object, found {}",
            value_kind(first)
        ));
    }
    let raw: RawRecord<'_> = serde_json::from_str(record).map_err(|e| {
        let msg = json_error(&e);
        // A record's column means nothing to a reader of a pretty-printed file: drop it.
        match msg.rsplit_once(" at column ") {
            Some((m, _)) => m.to_owned(),
            None => msg,
        }
    })?;
    let source = raw.event_source.required("eventSource")?;
    if !is_s3_source(source) {
        return Ok(None);
    }
    let name = raw.event_name.required("eventName")?;
    let time = raw.event_time.required("eventTime")?;
    let time_us = parse_rfc3339_us(time)
        .ok_or_else(|| format!("field \"eventTime\": expected RFC 3339 time, found {time:?}"))?;

    let (op, config) = classify_s3_api(name);
    let params = raw.request_parameters.unwrap_or_default();
    let response = raw.response_elements.unwrap_or_default();
    let extra = raw.additional_event_data.unwrap_or_default();
    let identity = raw.user_identity.unwrap_or_default();

    let error_code = raw.error_code.into_string();
    let status = match &error_code {
        None => Some(200),
        Some(code) => status_of_error_code(code),
    };
    let bytes_received = extra.bytes_in.0;
    let object_size = match (op, &error_code) {
        (OpClass::Put, None) => bytes_received,
        _ => None,
    };
    let sse_customer = params.sse_customer_algorithm.non_empty().is_some()
        || extra.sse_applied.non_empty() == Some("SSE_C");
    let version_id = response
        .version_id
        .into_string()
        .or_else(|| params.version_id.into_string());
    let key = params
        .key
        .into_string()
        .or_else(|| params.key_outposts.into_string());

    Ok(Some(AccessEvent {
        time_us,
        op,
        operation: name.to_owned(),
        bucket: params.bucket_name.into_string().unwrap_or_default(),
        key,
        principal: identity.principal(),
        source_ip: raw.source_ip.into_string(),
        status,
        error_code,
        bytes_sent: extra.bytes_out.0,
        bytes_received,
        object_size,
        user_agent: raw.user_agent.into_string(),
        version_id,
        request_id: raw.request_id.into_string(),
        sse_customer,
        lifecycle: false,
        config,
        origin: Default::default(),
    }))
}

/// Whether an `eventSource` is S3: general purpose buckets, S3 on Outposts and directory buckets
/// (S3 Express One Zone), in every partition (`.cn` hosts included).
fn is_s3_source(source: &str) -> bool {
    let host = source.strip_suffix(".cn").unwrap_or(source);
    matches!(
        host,
        "s3.amazonaws.com" | "s3-outposts.amazonaws.com" | "s3express.amazonaws.com"
    )
}

/// The HTTP status CloudTrail implies: it records no status, only an `errorCode`. Derived for the
/// codes whose status S3's error reference fixes; any other code gives `None`.
pub fn status_of_error_code(code: &str) -> Option<u16> {
    Some(match code {
        "AccessDenied"
        | "AllAccessDisabled"
        | "InvalidObjectState"
        | "InvalidAccessKeyId"
        | "SignatureDoesNotMatch"
        | "RequestTimeTooSkewed" => 403,
        "NoSuchKey"
        | "NoSuchBucket"
        | "NoSuchVersion"
        | "NoSuchUpload"
        | "NoSuchLifecycleConfiguration"
        | "NoSuchBucketPolicy"
        | "NoSuchTagSet" => 404,
        "MethodNotAllowed" => 405,
        "BucketNotEmpty"
        | "BucketAlreadyExists"
        | "BucketAlreadyOwnedByYou"
        | "OperationAborted" => 409,
        "PreconditionFailed" => 412,
        "InvalidRange" => 416,
        "InternalError" => 500,
        "NotImplemented" => 501,
        "SlowDown" | "ServiceUnavailable" => 503,
        _ => return None,
    })
}

/// The class of an S3 API operation, named as S3's API reference and CloudTrail name it
/// (`GetObject`, `PutBucketLifecycleConfiguration`) or as MinIO's audit log does
/// (`NewMultipartUpload`, `PutObjectPart`, `DeleteMultipleObjects`, `ListObjectsV1`, ...).
///
/// Configuration writes are recognised by [`config_change_kind`], which also gives their
/// [`ConfigKind`]; anything unknown is [`OpClass::Other`].
pub fn classify_s3_api(name: &str) -> (OpClass, Option<ConfigKind>) {
    let op = match name {
        "GetObject" | "SelectObjectContent" => OpClass::Get,
        "PutObject" | "PostObject" | "PostPolicyBucket" | "PutObjectExtract" => OpClass::Put,
        "HeadObject"
        | "GetObjectAttributes"
        | "GetObjectTagging"
        | "GetObjectAcl"
        | "GetObjectACL"
        | "GetObjectRetention"
        | "GetObjectLegalHold" => OpClass::Head,
        "DeleteObject" | "DeleteObjects" | "DeleteMultipleObjects" => OpClass::Delete,
        "CopyObject" => OpClass::CopyDest,
        "UploadPartCopy"
        | "CopyObjectPart"
        | "CreateMultipartUpload"
        | "NewMultipartUpload"
        | "UploadPart"
        | "PutObjectPart"
        | "CompleteMultipartUpload"
        | "AbortMultipartUpload"
        | "ListParts"
        | "ListObjectParts" => OpClass::Multipart,
        "ListObjects"
        | "ListObjectsV1"
        | "ListObjectsV2"
        | "ListObjectVersions"
        | "ListMultipartUploads" => OpClass::List,
        _ => {
            return match config_change_kind(name) {
                Some(kind) => (OpClass::ConfigChange, Some(kind)),
                None => (OpClass::Other, None),
            };
        }
    };
    (op, None)
}

// ---------------------------------------------------------------------------------------------
// Raw record: only the fields tierd maps. Unknown fields are ignored; every optional field is
// lenient (a value of an unexpected type reads as absent).

#[derive(serde::Deserialize)]
#[serde(expecting = "a CloudTrail record (a JSON object)")]
struct RawRecord<'a> {
    #[serde(borrow, default, rename = "eventTime")]
    event_time: Text<'a>,
    #[serde(borrow, default, rename = "eventSource")]
    event_source: Text<'a>,
    #[serde(borrow, default, rename = "eventName")]
    event_name: Text<'a>,
    #[serde(borrow, default, rename = "userIdentity")]
    user_identity: Option<RawIdentity<'a>>,
    #[serde(borrow, default, rename = "sourceIPAddress")]
    source_ip: Text<'a>,
    #[serde(borrow, default, rename = "userAgent")]
    user_agent: Text<'a>,
    #[serde(borrow, default, rename = "requestParameters")]
    request_parameters: Option<RawParams<'a>>,
    #[serde(borrow, default, rename = "responseElements")]
    response_elements: Option<RawResponse<'a>>,
    #[serde(borrow, default, rename = "additionalEventData")]
    additional_event_data: Option<RawExtra<'a>>,
    #[serde(borrow, default, rename = "requestID")]
    request_id: Text<'a>,
    #[serde(borrow, default, rename = "errorCode")]
    error_code: Text<'a>,
}

#[derive(serde::Deserialize, Default)]
#[serde(expecting = "the \"userIdentity\" object")]
struct RawIdentity<'a> {
    #[serde(borrow, default, rename = "type")]
    kind: Text<'a>,
    #[serde(borrow, default)]
    arn: Text<'a>,
    #[serde(borrow, default, rename = "accessKeyId")]
    access_key_id: Text<'a>,
    #[serde(borrow, default, rename = "principalId")]
    principal_id: Text<'a>,
    #[serde(borrow, default, rename = "invokedBy")]
    invoked_by: Text<'a>,
}

impl RawIdentity<'_> {
    /// The ARN names the identity best; an access key id or a principal id are fall-backs.
    /// A service acting on its own (`AWSService`) is named by its service principal
    /// (`s3.amazonaws.com`); anonymous requests have no principal.
    fn principal(self) -> Option<String> {
        match self.kind.non_empty() {
            Some("AnonymousPrincipal") => None,
            Some("AWSService") => self
                .invoked_by
                .into_string()
                .or_else(|| self.principal_id.into_string()),
            _ => self
                .arn
                .into_string()
                .or_else(|| self.access_key_id.into_string())
                .or_else(|| self.principal_id.into_string()),
        }
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(expecting = "the \"requestParameters\" object")]
struct RawParams<'a> {
    #[serde(borrow, default, rename = "bucketName")]
    bucket_name: Text<'a>,
    #[serde(borrow, default)]
    key: Text<'a>,
    #[serde(borrow, default, rename = "Key")]
    key_outposts: Text<'a>,
    #[serde(borrow, default, rename = "versionId")]
    version_id: Text<'a>,
    #[serde(
        borrow,
        default,
        rename = "x-amz-server-side-encryption-customer-algorithm"
    )]
    sse_customer_algorithm: Text<'a>,
}

#[derive(serde::Deserialize, Default)]
#[serde(expecting = "the \"responseElements\" object")]
struct RawResponse<'a> {
    #[serde(borrow, default, rename = "x-amz-version-id")]
    version_id: Text<'a>,
}

#[derive(serde::Deserialize, Default)]
#[serde(expecting = "the \"additionalEventData\" object")]
struct RawExtra<'a> {
    #[serde(default, rename = "bytesTransferredIn")]
    bytes_in: Num,
    #[serde(default, rename = "bytesTransferredOut")]
    bytes_out: Num,
    #[serde(borrow, default, rename = "SSEApplied")]
    sse_applied: Text<'a>,
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;
    use crate::parse::json::{record_spans, strip_array_punctuation, top_level_keys};

    #[test]
    fn documents_one_after_another_are_read_one_by_one() {
        let rec = |t: &str| {
            format!(
                r#"{{"eventVersion":"1.09","eventTime":"{t}","eventSource":"s3.amazonaws.com","eventName":"GetObject","requestParameters":{{"bucketName":"b","key":"k"}}}}"#
            )
        };
        let doc = |t: &str| format!("{{\"Records\":[{},\n{}]}}", rec(t), rec(t));
        // Two documents joined with `cat`: all four records, lines counted across both.
        let two = format!(
            "{}\n{}\n",
            doc("2026-11-02T08:00:00Z"),
            doc("2026-11-02T09:00:00Z")
        );
        let r = parse_document(&two).expect("two documents");
        let lines: Vec<u64> = r.iter().map(|r| r.line).collect();
        assert_eq!(lines, [1, 2, 3, 4]);
        assert!(r.iter().all(|r| matches!(r.result, Ok(Some(_)))));
        // A second document cut short: the first's records, and one bad line for the rest.
        let cut = format!("{}\n{}", doc("2026-11-02T08:00:00Z"), &doc("x")[..30]);
        let r = parse_document(&cut).expect("a first document");
        assert_eq!(r.len(), 3);
        assert!(r[..2].iter().all(|r| matches!(r.result, Ok(Some(_)))));
        assert_eq!(r[2].line, 3);
        assert!(r[2].result.is_err());
        // A first document cut short is the file's error, as before.
        assert!(parse_document(&doc("x")[..30]).is_err());
        // A second value that is not a CloudTrail document is one bad line.
        let r = parse_document(&format!("{}\n[1,2]\n", doc("2026-11-02T08:00:00Z"))).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[2].line, 3);
    }

    #[test]
    fn top_level_keys_reads_a_cut_line_as_far_as_it_goes() {
        let line = r#"{"a":1,"b":{"x":"}"},"c":[1,{"d":2}],"e\"q":"v","f":"cut her"#;
        assert_eq!(top_level_keys(line), ["a", "b", "c", "e\\\"q", "f"]);
        assert_eq!(top_level_keys(r#"  { "a" : true , "b":null}"#), ["a", "b"]);
        assert!(top_level_keys(r#"["a"]"#).is_empty());
        assert!(top_level_keys("").is_empty());
    }

    #[test]
    fn array_punctuation_around_one_object_is_stripped() {
        assert_eq!(strip_array_punctuation("[{\"a\":1},"), Some("{\"a\":1}"));
        assert_eq!(
            strip_array_punctuation(" ,{\"a\":[1]}]\r"),
            Some("{\"a\":[1]}")
        );
        assert_eq!(strip_array_punctuation("[ ]"), None);
        assert_eq!(strip_array_punctuation("\u{feff}"), None);
    }

    #[test]
    fn record_spans_find_each_element_of_records_whatever_comes_first() {
        let doc = r#"{"other":{"Records":[9]},"Records":[{"a":"]"}, 2 ,{}]}"#;
        let spans = record_spans(doc).expect("spans");
        let texts: Vec<&str> = spans.iter().map(|&(s, e)| &doc[s..e]).collect();
        assert_eq!(texts, [r#"{"a":"]"}"#, "2", "{}"]);
    }

    #[test]
    fn cloudtrail_head_is_recognised_pretty_or_compact_and_cut_anywhere() {
        assert!(looks_like("{\"Records\":["));
        assert!(looks_like(
            "\u{feff}{\n  \"Records\" : [\n  {\n \"eventVersion\": \"1.08\", \"eventSo"
        ));
        assert!(!looks_like("{\"Records\""));
        assert!(!looks_like("{\"eventVersion\":\"1.08\"}"));
    }
}
