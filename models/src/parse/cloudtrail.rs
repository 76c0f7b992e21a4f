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
//! | `principal` | `userIdentity.arn` (an assumed role's session: its role, [`principal_name`]), else `accessKeyId`, else `principalId`; `invokedBy` for `AWSService`; `None` for `AnonymousPrincipal` |
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
//! - `CopyObject` (and `UploadPartCopy`) is one record naming the destination (`bucketName`,
//!   `key`); the source is only in `requestParameters.x-amz-copy-source` (`bucket/key`,
//!   URL-encoded). tierd emits an [`OpClass::CopySource`] event for that object (bytes and size
//!   go with the destination), then the record's own event, as an S3 server access log writes
//!   two records. A source named by an access point ARN gives no `copy-source` event.
//! - `DeleteObjects` records carry no keys (an AWS limitation): a batch delete is one keyless
//!   `delete` event.
//! - Nothing else from `requestParameters` is kept: pre-signed URL parameters (`X-Amz-Credential`,
//!   `X-Amz-Signature`, `X-Amz-Security-Token`, ...) and SSE-C key digests never reach an event.
//!
//! This module also holds the small JSON helpers the MinIO and Ceph parsers share (`json`).

use crate::event::{AccessEvent, ConfigKind, OpClass, config_change_kind, principal_name};

use super::json::{CopySource, Num, Text, json_error, parse_rfc3339_us, value_kind};
use super::shown;

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

/// Parses a whole CloudTrail document (or several, one after another).
///
/// # Errors
/// `Err((line, reason))` when the file holds one document and it is not JSON, or not an object
/// with a `Records` array; the line is where the problem is. A record that is valid JSON but not
/// a usable S3 event (missing `eventTime`, a time that is not RFC 3339, not an object) is reported
/// in its [`DocRecord::result`] and the other records are still returned.
///
/// # Guarantees
/// [`DocRecord::line`] is the 1-based line on which the record's `{` stands, so pretty-printed
/// documents point at the right record; CloudTrail's own one-line files give line 1 to every
/// record. Of documents one after another (files joined with `cat`), a broken or cut-short one is
/// one bad [`DocRecord`] and the records of the others are kept: reading starts again at the next
/// `{"Records":[` after the broken document's start.
pub fn parse_document(text: &str) -> Result<Vec<DocRecord>, (u64, String)> {
    parse_document_bytes(text.as_bytes())
}

/// [`parse_document`] over a file's raw bytes, which need not be valid UTF-8.
///
/// # Errors
/// As [`parse_document`].
///
/// # Guarantees
/// A byte that is not valid UTF-8 costs only the record holding it: that record is a bad
/// [`DocRecord`] (`not valid UTF-8 (line L, byte N)`, `N` 1-based in line `L`), the other records
/// and documents are read. One outside every record (in the envelope) is a bad [`DocRecord`] on
/// its own line; one outside any JSON string makes its document not JSON.
pub fn parse_document_bytes(bytes: &[u8]) -> Result<Vec<DocRecord>, (u64, String)> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let (text, invalid) = replace_invalid_utf8(bytes);
    let text: &str = &text;
    let lines_before =
        |at: usize| memchr::memchr_iter(b'\n', &text.as_bytes()[..at]).count() as u64;
    let mut records = Vec::new();
    let (mut start, mut documents) = (0usize, 0usize);
    // The first document's own error (not one of its records'), the file's if it is alone.
    let mut first_error = None;
    loop {
        let mut docs =
            serde_json::Deserializer::from_str(&text[start..]).into_iter::<serde::de::IgnoredAny>();
        let Some(doc) = docs.next() else {
            break;
        };
        documents += 1;
        let before = lines_before(start);
        let (outcome, next) = match doc {
            Ok(_) => {
                let end = start + docs.byte_offset();
                let bad: Vec<usize> = invalid
                    .iter()
                    .filter(|&&i| (start..end).contains(&i))
                    .map(|&i| i - start)
                    .collect();
                let outcome = one_document(&text[start..end], &bad, before);
                (outcome, Some(end))
            }
            Err(e) => {
                // The stream cannot go on after a syntax error: start again at the next
                // document after this one's opening brace.
                let open = start + text[start..].len() - text[start..].trim_start().len();
                let next = next_document(text, open + 1);
                let err_line = before + e.line().max(1) as u64;
                let at = offset_of(text, err_line, e.column());
                let outcome = match next {
                    // The error is past the next document's start, or is the end of the line
                    // before it inside a string: this one was cut short and the parser ran on
                    // into the next. Point at its last line.
                    Some(n) if at >= n || cut_in_a_string(&e, text.get(at..n)) => {
                        let last = text[..n].trim_end().len().max(open + 1);
                        Err((
                            1 + lines_before(last - 1),
                            format!(
                                "not JSON: the document is cut short; the next one starts on line {}",
                                1 + lines_before(n)
                            ),
                        ))
                    }
                    _ => Err((err_line, json_error(&e))),
                };
                (outcome, next)
            }
        };
        match outcome {
            Ok(rs) => records.extend(rs),
            Err((line, why)) => {
                if documents == 1 {
                    first_error = Some((line, why.clone()));
                }
                records.push(DocRecord {
                    line,
                    result: Err(why),
                });
            }
        }
        match next {
            Some(n) => start = n,
            None => break,
        }
    }
    // One document, broken: the file is not CloudTrail's, or is cut short.
    match first_error {
        Some(bad) if documents == 1 => Err(bad),
        _ => Ok(records),
    }
}

/// Whether `e` is a document cut inside a string, just before the next document: serde_json
/// found the line's end in the string (a control character), and in `between` (from the error
/// to the next document) only blanks follow that line's end.
fn cut_in_a_string(e: &serde_json::Error, between: Option<&str>) -> bool {
    e.to_string().starts_with("control character")
        && between.is_some_and(|b| {
            b.split_once('\n')
                .is_some_and(|(_, rest)| rest.trim().is_empty())
        })
}

/// The byte offset of a 1-based `line` and `column` in `text` (serde_json's error position).
fn offset_of(text: &str, line: u64, column: usize) -> usize {
    let line_start = match line.checked_sub(2) {
        None => 0,
        Some(n) => memchr::memchr_iter(b'\n', text.as_bytes())
            .nth(n as usize)
            .map_or(text.len(), |i| i + 1),
    };
    (line_start + column.saturating_sub(1)).min(text.len())
}

/// The byte offset of the next `{"Records":[` (any whitespace between the tokens) at or after
/// `from`.
fn next_document(text: &str, from: usize) -> Option<usize> {
    let b = text.as_bytes();
    let finder = memchr::memmem::Finder::new(b"\"Records\"");
    let mut at = from;
    while let Some(i) = finder.find(&b[at..]) {
        let key = at + i;
        at = key + 1;
        let head = text[..key].trim_end();
        if !head.ends_with('{') || head.len() - 1 < from {
            continue;
        }
        let rest = text[key + "\"Records\"".len()..].trim_start();
        if let Some(rest) = rest.strip_prefix(':')
            && rest.trim_start().starts_with('[')
        {
            return Some(head.len() - 1);
        }
    }
    None
}

/// `bytes` as text, each byte that is not valid UTF-8 replaced by `?` so that offsets and lines
/// stay those of the file, and the offsets of those bytes.
fn replace_invalid_utf8(bytes: &[u8]) -> (std::borrow::Cow<'_, str>, Vec<usize>) {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return (std::borrow::Cow::Borrowed(text), Vec::new());
    }
    let mut text = String::with_capacity(bytes.len());
    let mut invalid = Vec::new();
    for chunk in bytes.utf8_chunks() {
        text.push_str(chunk.valid());
        for _ in chunk.invalid() {
            invalid.push(text.len());
            text.push('?');
        }
    }
    (std::borrow::Cow::Owned(text), invalid)
}

/// The records of one valid JSON document, `before` lines into the file. `invalid` holds the
/// offsets (in `text`) of bytes that were not valid UTF-8.
fn one_document(
    text: &str,
    invalid: &[usize],
    before: u64,
) -> Result<Vec<DocRecord>, (u64, String)> {
    let spans = super::json::record_spans(text).map_err(|(l, why)| (l + before, why))?;
    let bytes = text.as_bytes();
    let line_of = |at: usize| before + 1 + memchr::memchr_iter(b'\n', &bytes[..at]).count() as u64;
    let not_utf8 = |at: usize| {
        let line_start = memchr::memrchr(b'\n', &bytes[..at]).map_or(0, |i| i + 1);
        format!(
            "not valid UTF-8 (line {}, byte {})",
            line_of(at),
            at - line_start + 1
        )
    };
    let mut line = before + 1;
    let mut counted = 0usize;
    let mut records = Vec::with_capacity(spans.len());
    for &(start, end) in &spans {
        line += memchr::memchr_iter(b'\n', &bytes[counted..start]).count() as u64;
        counted = start;
        match invalid.iter().find(|&&i| (start..end).contains(&i)) {
            Some(&at) => records.push(DocRecord {
                line,
                result: Err(not_utf8(at)),
            }),
            None => match parse_record(&text[start..end]) {
                // Another service's record: skipped on purpose.
                Ok(events) if events.is_empty() => records.push(DocRecord {
                    line,
                    result: Ok(None),
                }),
                Ok(events) => records.extend(events.into_iter().map(|e| DocRecord {
                    line,
                    result: Ok(Some(e)),
                })),
                Err(why) => records.push(DocRecord {
                    line,
                    result: Err(why),
                }),
            },
        }
    }
    // A bad byte outside every record (in the envelope) is reported on its own line.
    if let Some(&at) = invalid
        .iter()
        .find(|&&i| !spans.iter().any(|&(s, e)| (s..e).contains(&i)))
    {
        records.push(DocRecord {
            line: line_of(at),
            result: Err(not_utf8(at)),
        });
    }
    Ok(records)
}

/// Parses one record (one element of `Records`) on its own, into its events: none for a record
/// of another service, two for a copy whose `x-amz-copy-source` names its source (the
/// `copy-source` event first), else one.
///
/// # Errors
/// The record is not a JSON object, lacks `eventSource`, `eventName` or `eventTime`, or its
/// `eventTime` is not RFC 3339.
pub fn parse_record(record: &str) -> Result<Vec<AccessEvent>, String> {
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
        return Ok(Vec::new());
    }
    let name = raw.event_name.required("eventName")?;
    let time = raw.event_time.required("eventTime")?;
    let time_us = parse_rfc3339_us(time).ok_or_else(|| {
        format!(
            "field \"eventTime\": expected RFC 3339 time, found {}",
            shown(time)
        )
    })?;

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

    let source = params
        .copy_source
        .non_empty()
        .and_then(CopySource::of_header);
    let event = AccessEvent {
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
    };
    Ok(match source {
        Some(source) => vec![source.event(&event), event],
        None => vec![event],
    })
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
                .map(|arn| match principal_name(&arn) {
                    role if role.len() < arn.len() => role.to_string(),
                    _ => arn,
                })
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
    /// A copy's source, `bucket/key` URL-encoded (`CopyObject`, `UploadPartCopy`).
    #[serde(borrow, default, rename = "x-amz-copy-source")]
    copy_source: Text<'a>,
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

    fn rec(t: &str) -> String {
        format!(
            r#"{{"eventVersion":"1.09","eventTime":"{t}","eventSource":"s3.amazonaws.com","eventName":"GetObject","requestParameters":{{"bucketName":"b","key":"k"}}}}"#
        )
    }

    fn doc(n: usize) -> String {
        let recs: Vec<String> = (0..n).map(|_| rec("2026-11-02T08:00:00Z")).collect();
        format!("{{\"Records\":[{}]}}", recs.join(","))
    }

    fn summary(r: &[DocRecord]) -> Vec<(u64, Result<(), String>)> {
        r.iter()
            .map(|r| (r.line, r.result.clone().map(|_| ())))
            .collect()
    }

    #[test]
    fn a_document_cut_short_is_one_bad_line_and_the_next_is_read() {
        let whole = doc(3);
        // Cut inside a string, between tokens, after a record: every cut point.
        for cut in 1..whole.len() - 1 {
            let text = format!("{}\n{whole}\n{whole}\n", &whole[..cut]);
            let r = parse_document(&text).unwrap_or_else(|e| panic!("cut at {cut}: {e:?}"));
            let bad: Vec<_> = r.iter().filter(|r| r.result.is_err()).collect();
            assert_eq!(bad.len(), 1, "cut at {cut}: {:?}", summary(&r));
            assert_eq!(bad[0].line, 1, "cut at {cut}");
            let good: Vec<u64> = r
                .iter()
                .filter(|r| r.result.is_ok())
                .map(|r| r.line)
                .collect();
            assert_eq!(good, [2, 2, 2, 3, 3, 3], "cut at {cut}");
        }
        // Cut after a record's comma: the parser ran on into the next document, and says so.
        let after_comma = "{\"Records\":[".len() + rec("2026-11-02T08:00:00Z").len() + 1;
        let text = format!("{}\n{whole}", &whole[..after_comma]);
        assert_eq!(
            summary(&parse_document(&text).expect("records")[..1]),
            [(
                1,
                Err("not JSON: the document is cut short; the next one starts on line 2".into())
            )]
        );
        // Cut inside a string, the next document on the next line: cut short too, not a
        // control character (the line's end) in a string.
        let text = format!("{}\n{whole}", &whole[..30]);
        let r = parse_document(&text).expect("records");
        assert_eq!(r.len(), 4);
        assert_eq!(
            r[0].result,
            Err("not JSON: the document is cut short; the next one starts on line 2".into())
        );
        // Pretty-printed: the bad line is the cut document's last line.
        let pretty = "{\n  \"Records\": [\n    {\"eventTime\": \"2026-1\n";
        let r = parse_document(&format!("{pretty}{}\n", doc(1))).expect("records");
        assert_eq!(summary(&r)[0].0, 3);
        assert_eq!(r.len(), 2);
        assert_eq!((r[1].line, r[1].result.is_ok()), (4, true));
        // Cut short and alone, or followed by nothing that starts a document: the file's error.
        assert!(parse_document(&whole[..30]).is_err());
        assert!(parse_document(&format!("{}\n[1,2]", &whole[..30])).is_err());
    }

    #[test]
    fn a_byte_that_is_not_utf8_costs_only_its_record() {
        let mut bytes = format!("{}\n{}\n", doc(1), doc(3)).into_bytes();
        let second = doc(1).len() + 1;
        // In the second record of the second document, inside the key string.
        let at = second + "{\"Records\":[".len() + rec("2026-11-02T08:00:00Z").len() + 1 + 20;
        bytes[at] = 0xFF;
        let r = parse_document_bytes(&bytes).expect("records");
        assert_eq!(
            summary(&r),
            [
                (1, Ok(())),
                (2, Ok(())),
                (
                    2,
                    Err(format!(
                        "not valid UTF-8 (line 2, byte {})",
                        at - second + 1
                    ))
                ),
                (2, Ok(())),
            ]
        );
        // Outside any string: that document is not JSON, the others are read.
        let mut bytes = format!("{}\n{}\n", doc(1), doc(2)).into_bytes();
        bytes[second] = 0xFF;
        let r = parse_document_bytes(&bytes).expect("records");
        assert_eq!(
            summary(&r),
            [
                (1, Ok(())),
                (2, Err("not JSON: expected value at column 1".into())),
            ]
        );
        // In the envelope, outside every record: one bad line, the records are kept.
        let bytes = b"{\"Records\":[],\"x\":\"\xFF\"}".to_vec();
        assert_eq!(
            summary(&parse_document_bytes(&bytes).expect("records")),
            [(1, Err("not valid UTF-8 (line 1, byte 20)".into()))]
        );
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
