//! MinIO audit log: one JSON object per line, as the audit webhook, the Kafka target or a console
//! target writes it (`{"version":"1","deploymentid":...,"time":...,"api":{...},...}`).
//!
//! | event field | audit entry |
//! |---|---|
//! | `time_us` | `time` (RFC 3339 with nanoseconds, truncated to µs); **required** |
//! | `operation` | `api.name` as written (`PutObject`, `s3.PutObject`, `ILMExpiry`); **required** |
//! | `op`, `config` | `api.name` without a `s3.`/`s3:` prefix, through [`super::cloudtrail::classify_s3_api`] (MinIO names its APIs after S3's, with a few of its own: `NewMultipartUpload`, `PutObjectPart`, `DeleteMultipleObjects`, ...) |
//! | `bucket`, `key` | `api.bucket`, `api.object` (MinIO writes object names decoded); for an entry that lists `api.objects`, each object's `objectName` |
//! | `principal` | `parentUser`, else `accessKey`, else `requestClaims.parent`, else `requestClaims.accessKey`, else for a lifecycle entry `minio:ilm` ([`LIFECYCLE_PRINCIPAL`]) |
//! | `source_ip` | `remotehost` (`remoteHost` in some releases) |
//! | `status` | `api.statusCode`, else the code of the `api.status` text (`"Not Found"` → 404) |
//! | `error_code` | the S3 error code whose message `error` carries (`NoSuchKey`, `AccessDenied`, ...), when known |
//! | `bytes_received` | `api.rx`, else the request's `Content-Length` |
//! | `bytes_sent` | `api.tx`, else the response's `Content-Length` |
//! | `object_size` | see below |
//! | `user_agent` | `userAgent` |
//! | `version_id` | response header `x-amz-version-id`, else the `versionId` query parameter; for an entry that lists `api.objects`, each object's `versionId` |
//! | `request_id` | `requestID`, else the response header `X-Amz-Request-Id` |
//! | `sse_customer` | request header `X-Amz-Server-Side-Encryption-Customer-Algorithm` (or its `X-Amz-Copy-Source-` form) present |
//! | `lifecycle` | `trigger`/`event` `ilm:...`, or an `ILM...`/`ExpireObject` API name |
//!
//! **Copies.** An entry whose request carried `X-Amz-Copy-Source` (`CopyObject`,
//! `CopyObjectPart`) gives a `copy-source` event for the object it names (URL-decoded; its
//! `versionId` kept), before the entry's own event, as an S3 access log writes a
//! `REST.COPY.OBJECT_GET` record before the `REST.COPY.OBJECT` one.
//!
//! **Principal.** `parentUser` is preferred because it is the stable identity: an STS session
//! gets a fresh random `accessKey` every time it is issued, which would scatter one user's
//! behaviour over many short-lived principals. Requests of a plain user (no parent) are named by
//! their access key id, which for MinIO users is the user name.
//!
//! **Object size** is only set for successful (2xx) requests that carry it: `GetObject` and
//! `HeadObject` take the total of the response's `Content-Range` (`bytes 0-99/1234` → 1234), else
//! its `Content-Length`; `PutObject`/`PostObject` take the request's
//! `X-Amz-Decoded-Content-Length` (the payload of a streaming-signed upload, without the chunk
//! signatures that `api.rx` counts), else `api.rx`, else the request's `Content-Length`.
//!
//! # Guarantees
//! No header, query parameter or claim is copied except the ones named above: `Authorization`,
//! `X-Amz-Signature`, `X-Amz-Credential`, `X-Amz-Security-Token` and the SSE-C key headers are
//! skipped while parsing and never held.
//!
//! **Entries that list objects.** A `DeleteMultipleObjects` entry (what `mc rm --recursive` and
//! the SDKs' bulk deletes send) and a lifecycle entry (`ILMExpiry`, `ILMTransition`,
//! `ILMFreeVersionDelete`, written by `auditLogInternal`) name their objects in `api.objects`
//! (`[{"objectName": ..., "versionId": ...}]`), a lifecycle entry *only* there. Such an entry
//! gives one event per object, as an S3 access log gives one `BATCH.DELETE.OBJECT` record per key;
//! the request's `rx`/`tx` go with the first only. [`parse_events`] reads them; [`parse_line`]
//! refuses an entry that lists more than one object, since it returns one event.

use crate::event::{AccessEvent, OpClass};

use super::cloudtrail::classify_s3_api;
use super::json::{
    CopySource, ListedNames, Names, Num, Picked, Text, json_error, listed_objects, one_per_object,
    parse_rfc3339_us, strip_array_punctuation, top_level_keys, value_kind,
};
use super::shown;

/// Whether the first line of a file is a MinIO audit entry: a JSON object with top-level `api`
/// and `time` keys (and none of the keys tierd's NDJSON or Ceph's ops log have at top level).
pub fn looks_like(line: &str) -> bool {
    let keys = top_level_keys(line.trim_start_matches('\u{feff}'));
    let has = |k: &str| keys.contains(&k);
    has("api") && has("time") && !has("op") && !has("operation") && !has("http_status")
}

/// Parses one audit log line that carries at most one event (see [`parse_events`] for lines
/// that list several objects).
///
/// # Errors
/// As [`parse_events`]'s, and an entry that lists more than one object in `api.objects`.
pub fn parse_line(line: &str) -> Result<Option<AccessEvent>, String> {
    let mut events = parse_events(line)?;
    match events.len() {
        0 | 1 => Ok(events.pop()),
        n => Err(format!(
            "the entry lists {n} objects, one event each; read it with minio::parse_events"
        )),
    }
}

/// Parses one audit log line into its events: none for a blank line or JSON-array punctuation
/// (`[`, `]`, `,`), one per object for an entry that lists `api.objects` (a batch delete, a
/// lifecycle action), else one. A line that is one object wrapped in such punctuation is
/// accepted.
///
/// # Errors
/// Not JSON, not an object, no `time` or `api.name`, or a `time` that is not RFC 3339, e.g.
/// `missing field "api.name"` or `field "time": expected RFC 3339 time, found "yesterday"`.
pub fn parse_events(line: &str) -> Result<Vec<AccessEvent>, String> {
    let Some(text) = strip_array_punctuation(line) else {
        return Ok(Vec::new());
    };
    if !text.starts_with('{') {
        return Err(format!(
            "expected a JSON object, found {}",
            value_kind(text.as_bytes().first().copied())
        ));
    }
    let raw: RawEntry<'_> = serde_json::from_str(text).map_err(|e| json_error(&e))?;
    let objects = raw
        .api
        .as_ref()
        .map(|api| listed_objects(&api.objects, &OBJECT_NAMES))
        .unwrap_or_default();
    let source = raw
        .request_header
        .get(REQ_COPY_SOURCE)
        .and_then(CopySource::of_header);
    let events = one_per_object(raw.into_event()?, objects);
    // A copy: its source is read first, as S3's access log writes the two records.
    Ok(match (source, events.as_slice()) {
        (Some(source), [dest]) => vec![source.event(dest), dest.clone()],
        _ => events,
    })
}

/// The fields of an element of `api.objects` (MinIO's `ObjectVersion`).
const OBJECT_NAMES: ListedNames = ListedNames {
    key: "objectName",
    version_id: "versionId",
    status: None,
};

#[derive(serde::Deserialize)]
#[serde(expecting = "a MinIO audit entry (a JSON object)")]
struct RawEntry<'a> {
    #[serde(borrow, default)]
    time: Text<'a>,
    #[serde(borrow, default)]
    trigger: Text<'a>,
    #[serde(borrow, default)]
    event: Text<'a>,
    #[serde(borrow, default)]
    api: Option<RawApi<'a>>,
    #[serde(borrow, default, alias = "remoteHost")]
    remotehost: Text<'a>,
    #[serde(borrow, default, rename = "requestID", alias = "requestId")]
    request_id: Text<'a>,
    #[serde(borrow, default, rename = "userAgent")]
    user_agent: Text<'a>,
    #[serde(borrow, default, rename = "accessKey")]
    access_key: Text<'a>,
    #[serde(borrow, default, rename = "parentUser")]
    parent_user: Text<'a>,
    #[serde(borrow, default, rename = "requestClaims")]
    claims: Picked<'a, ClaimNames>,
    #[serde(borrow, default, rename = "requestQuery")]
    query: Picked<'a, QueryNames>,
    #[serde(borrow, default, rename = "requestHeader")]
    request_header: Picked<'a, RequestHeaderNames>,
    #[serde(borrow, default, rename = "responseHeader")]
    response_header: Picked<'a, ResponseHeaderNames>,
    #[serde(borrow, default)]
    error: Text<'a>,
}

#[derive(serde::Deserialize, Default)]
#[serde(expecting = "the \"api\" object")]
struct RawApi<'a> {
    #[serde(borrow, default)]
    name: Text<'a>,
    #[serde(borrow, default)]
    bucket: Text<'a>,
    #[serde(borrow, default)]
    object: Text<'a>,
    /// The objects of a batch delete or lifecycle action, read by [`listed_objects`].
    #[serde(default)]
    objects: serde_json::Value,
    #[serde(borrow, default)]
    status: Text<'a>,
    #[serde(default, rename = "statusCode")]
    status_code: Num,
    #[serde(default)]
    rx: Num,
    #[serde(default)]
    tx: Num,
}

struct ClaimNames;
impl Names for ClaimNames {
    const NAMES: &'static [&'static str] = &["parent", "accessKey"];
}
const CLAIM_PARENT: usize = 0;
const CLAIM_ACCESS_KEY: usize = 1;

struct QueryNames;
impl Names for QueryNames {
    const NAMES: &'static [&'static str] = &["versionId"];
}
const QUERY_VERSION_ID: usize = 0;

struct RequestHeaderNames;
impl Names for RequestHeaderNames {
    const NAMES: &'static [&'static str] = &[
        "Content-Length",
        "X-Amz-Decoded-Content-Length",
        "X-Amz-Server-Side-Encryption-Customer-Algorithm",
        "X-Amz-Copy-Source-Server-Side-Encryption-Customer-Algorithm",
        "X-Amz-Copy-Source",
    ];
}
const REQ_CONTENT_LENGTH: usize = 0;
const REQ_DECODED_LENGTH: usize = 1;
const REQ_SSE_C: usize = 2;
const REQ_COPY_SOURCE_SSE_C: usize = 3;
const REQ_COPY_SOURCE: usize = 4;

struct ResponseHeaderNames;
impl Names for ResponseHeaderNames {
    const NAMES: &'static [&'static str] = &[
        "Content-Length",
        "Content-Range",
        "X-Amz-Version-Id",
        "X-Amz-Request-Id",
    ];
}
const RESP_CONTENT_LENGTH: usize = 0;
const RESP_CONTENT_RANGE: usize = 1;
const RESP_VERSION_ID: usize = 2;
const RESP_REQUEST_ID: usize = 3;

impl RawEntry<'_> {
    fn into_event(mut self) -> Result<AccessEvent, String> {
        let time = self.time.required("time")?;
        let time_us = parse_rfc3339_us(time).ok_or_else(|| {
            format!(
                "field \"time\": expected RFC 3339 time, found {}",
                shown(time)
            )
        })?;
        let api = self.api.take().unwrap_or_default();
        let operation = api
            .name
            .non_empty()
            .ok_or_else(|| "missing field \"api.name\"".to_owned())?;
        let name = operation
            .strip_prefix("s3.")
            .or_else(|| operation.strip_prefix("s3:"))
            .unwrap_or(operation);

        let lifecycle = is_lifecycle(name, &self.trigger) || is_lifecycle(name, &self.event);
        let (op, config) = match name {
            "ILMExpiry" | "ILMFreeVersionDelete" | "ExpireObject" => (OpClass::Delete, None),
            _ => classify_s3_api(name),
        };

        let status = api
            .status_code
            .0
            .filter(|c| (100..=599).contains(c))
            .map(|c| c as u16)
            .or_else(|| api.status.non_empty().and_then(status_of_text));
        let success = status.is_none_or(|s| (200..300).contains(&s));
        let req = &self.request_header;
        let resp = &self.response_header;
        let number = |v: Option<&str>| v.and_then(|v| v.trim().parse::<u64>().ok());

        let object_size = match name {
            _ if !success => None,
            "GetObject" | "HeadObject" => resp
                .get(RESP_CONTENT_RANGE)
                .and_then(range_total)
                .or_else(|| number(resp.get(RESP_CONTENT_LENGTH))),
            "PutObject" | "PostObject" | "PostPolicyBucket" => number(req.get(REQ_DECODED_LENGTH))
                .or(api.rx.0)
                .or_else(|| number(req.get(REQ_CONTENT_LENGTH))),
            _ => None,
        };
        let bytes_received = api.rx.0.or_else(|| number(req.get(REQ_CONTENT_LENGTH)));
        let bytes_sent = api.tx.0.or_else(|| number(resp.get(RESP_CONTENT_LENGTH)));
        let sse_customer = req.get(REQ_SSE_C).is_some() || req.get(REQ_COPY_SOURCE_SSE_C).is_some();
        let version_id = self
            .response_header
            .take(RESP_VERSION_ID)
            .or_else(|| self.query.take(QUERY_VERSION_ID));
        let request_id = self
            .request_id
            .into_string()
            .or_else(|| self.response_header.take(RESP_REQUEST_ID));
        let principal = self
            .parent_user
            .into_string()
            .or_else(|| self.access_key.into_string())
            .or_else(|| self.claims.take(CLAIM_PARENT))
            .or_else(|| self.claims.take(CLAIM_ACCESS_KEY))
            .or_else(|| lifecycle.then(|| LIFECYCLE_PRINCIPAL.to_owned()));

        Ok(AccessEvent {
            time_us,
            op,
            operation: operation.to_owned(),
            bucket: api.bucket.into_string().unwrap_or_default(),
            key: api.object.into_string(),
            principal,
            source_ip: self.remotehost.into_string(),
            status,
            error_code: self
                .error
                .non_empty()
                .and_then(error_code_of_message)
                .map(str::to_owned),
            bytes_sent,
            bytes_received,
            object_size,
            user_agent: self.user_agent.into_string(),
            version_id,
            request_id,
            sse_customer,
            lifecycle,
            config,
            origin: Default::default(),
        })
    }
}

/// The principal of MinIO's own lifecycle actions, which name none: as S3's access log names
/// its lifecycle `AmazonS3`, so that they are not taken for anonymous requests.
pub const LIFECYCLE_PRINCIPAL: &str = "minio:ilm";

/// MinIO's lifecycle (ILM) writes its own audit entries: `trigger`/`event` `ilm:expiry`,
/// `ilm:free-version-delete`, ` ilm:transition` (sic, with a space) and API names `ILMExpiry`,
/// `ILMFreeVersionDelete`, `ILMTransition`; older releases `s3:ExpireObject`.
fn is_lifecycle(name: &str, trigger: &Text<'_>) -> bool {
    name.starts_with("ILM")
        || name == "ExpireObject"
        || trigger
            .non_empty()
            .is_some_and(|t| t.trim_start().starts_with("ilm:"))
}

/// The object's total size from a `Content-Range` response header (`bytes 0-99/1234`).
fn range_total(range: &str) -> Option<u64> {
    range.rsplit_once('/')?.1.trim().parse().ok()
}

/// The status code of the reason phrase MinIO writes in `api.status` (Go's `http.StatusText`).
fn status_of_text(text: &str) -> Option<u16> {
    Some(match text {
        "Continue" => 100,
        "OK" => 200,
        "Created" => 201,
        "Accepted" => 202,
        "No Content" => 204,
        "Partial Content" => 206,
        "Moved Permanently" => 301,
        "Not Modified" => 304,
        "Temporary Redirect" => 307,
        "Bad Request" => 400,
        "Unauthorized" => 401,
        "Forbidden" => 403,
        "Not Found" => 404,
        "Method Not Allowed" => 405,
        "Conflict" => 409,
        "Length Required" => 411,
        "Precondition Failed" => 412,
        "Request Entity Too Large" => 413,
        "Requested Range Not Satisfiable" | "Range Not Satisfiable" => 416,
        "Too Many Requests" => 429,
        "Client Closed Request" => 499,
        "Internal Server Error" => 500,
        "Not Implemented" => 501,
        "Bad Gateway" => 502,
        "Service Unavailable" => 503,
        "Gateway Timeout" => 504,
        "Insufficient Storage" => 507,
        _ => return None,
    })
}

/// The S3 error code of the message MinIO writes in `error` (its messages are S3's own error
/// descriptions). Only unambiguous, common codes are recognised; others give `None`.
fn error_code_of_message(message: &str) -> Option<&'static str> {
    const CODES: &[(&str, &str)] = &[
        ("The specified key does not exist", "NoSuchKey"),
        ("The specified bucket does not exist", "NoSuchBucket"),
        ("The specified version does not exist", "NoSuchVersion"),
        (
            "The specified multipart upload does not exist",
            "NoSuchUpload",
        ),
        ("Access Denied", "AccessDenied"),
        (
            "At least one of the pre-conditions you specified did not hold",
            "PreconditionFailed",
        ),
        ("The requested range is not satisfiable", "InvalidRange"),
        (
            "The bucket you tried to delete is not empty",
            "BucketNotEmpty",
        ),
        ("Please reduce your request rate", "SlowDown"),
        (
            "We encountered an internal error, please try again",
            "InternalError",
        ),
    ];
    CODES
        .iter()
        .find(|(prefix, _)| message.starts_with(prefix))
        .map(|(_, code)| *code)
}
