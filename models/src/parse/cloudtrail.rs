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
//! This module also holds the small JSON helpers the MinIO and Ceph parsers share ([`json`]).

use crate::event::{AccessEvent, ConfigKind, OpClass, config_change_kind};

use self::json::{Num, Text, json_error, parse_rfc3339_us, value_kind};

/// One record of a CloudTrail document: its 1-based line in the file and the outcome.
/// `Ok(None)` is a record tierd skips on purpose (not an S3 data event).
#[derive(Debug)]
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
    // Validate the whole document first: the scanner below then only ever sees valid JSON.
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
        return Err((e.line().max(1) as u64, json_error(&e)));
    }
    let spans = json::record_spans(text)?;
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
        return Err(format!("expected a JSON object, found {}", value_kind(first)));
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
    let key = params.key.into_string().or_else(|| params.key_outposts.into_string());

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
        "AccessDenied" | "AllAccessDisabled" | "InvalidObjectState" | "InvalidAccessKeyId"
        | "SignatureDoesNotMatch" | "RequestTimeTooSkewed" => 403,
        "NoSuchKey" | "NoSuchBucket" | "NoSuchVersion" | "NoSuchUpload"
        | "NoSuchLifecycleConfiguration" | "NoSuchBucketPolicy" | "NoSuchTagSet" => 404,
        "MethodNotAllowed" => 405,
        "BucketNotEmpty" | "BucketAlreadyExists" | "BucketAlreadyOwnedByYou"
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
        "HeadObject" | "GetObjectAttributes" | "GetObjectTagging" | "GetObjectAcl"
        | "GetObjectACL" | "GetObjectRetention" | "GetObjectLegalHold" => OpClass::Head,
        "DeleteObject" | "DeleteObjects" | "DeleteMultipleObjects" => OpClass::Delete,
        "CopyObject" => OpClass::CopyDest,
        "UploadPartCopy" | "CopyObjectPart" | "CreateMultipartUpload" | "NewMultipartUpload"
        | "UploadPart" | "PutObjectPart" | "CompleteMultipartUpload" | "AbortMultipartUpload"
        | "ListParts" | "ListObjectParts" => OpClass::Multipart,
        "ListObjects" | "ListObjectsV1" | "ListObjectsV2" | "ListObjectVersions"
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

/// JSON helpers shared by the CloudTrail, MinIO and Ceph parsers: lenient field types that never
/// fail a record over schema drift, a header picker that keeps only named keys (so secrets such
/// as `Authorization` are never even copied out of the input), a tolerant top-level key scanner
/// for format detection, and error texts without locations.
pub(crate) mod json {
    use std::borrow::Cow;
    use std::fmt;
    use std::marker::PhantomData;

    use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

    /// A string field as the log wrote it. Anything that is not a JSON string is kept only as its
    /// kind, so an optional field of an unexpected type reads as absent while a required one can
    /// still say what it found.
    #[derive(Debug, Default)]
    pub(crate) enum Text<'a> {
        #[default]
        Absent,
        Str(Cow<'a, str>),
        /// Present but not a string: `null`, a number, an object, ...
        Other(&'static str),
    }

    impl<'a> Text<'a> {
        /// The value when it is a non-empty string.
        pub(crate) fn non_empty(&self) -> Option<&str> {
            match self {
                Text::Str(s) if !s.is_empty() => Some(s),
                _ => None,
            }
        }

        /// The value when it is a non-empty string, owned.
        pub(crate) fn into_string(self) -> Option<String> {
            match self {
                Text::Str(s) if !s.is_empty() => Some(s.into_owned()),
                _ => None,
            }
        }

        /// A required string field (it may be empty).
        ///
        /// # Errors
        /// `missing field "<name>"` when absent or null, `field "<name>": expected a string,
        /// found ...` for another type.
        pub(crate) fn required(&self, name: &str) -> Result<&str, String> {
            match self {
                Text::Str(s) => Ok(s),
                Text::Absent | Text::Other("null") => Err(format!("missing field \"{name}\"")),
                Text::Other(kind) => Err(format!("field \"{name}\": expected a string, found {kind}")),
            }
        }
    }

    struct TextVisitor;

    impl<'de> Visitor<'de> for TextVisitor {
        type Value = Text<'de>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Text::Str(Cow::Borrowed(v)))
        }
        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Text::Str(Cow::Owned(v.to_owned())))
        }
        fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
            Ok(Text::Str(Cow::Owned(v)))
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Text::Other("a boolean"))
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Text::Other("a number"))
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Text::Other("a number"))
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Text::Other("a number"))
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(Text::Other("null"))
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(Text::Other("null"))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Text::Other("an array"))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Text::Other("an object"))
        }
    }

    impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(TextVisitor)
        }
    }

    /// A non-negative integer field; a JSON number or a string of digits. Anything else (a
    /// negative or fractional number, `null`, an object) reads as absent.
    #[derive(Debug, Default, Clone, Copy)]
    pub(crate) struct Num(pub(crate) Option<u64>);

    struct NumVisitor;

    impl<'de> Visitor<'de> for NumVisitor {
        type Value = Num;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a non-negative integer")
        }
        fn visit_u64<E>(self, v: u64) -> Result<Num, E> {
            Ok(Num(Some(v)))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Num, E> {
            Ok(Num(u64::try_from(v).ok()))
        }
        fn visit_f64<E>(self, v: f64) -> Result<Num, E> {
            let ok = v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < u64::MAX as f64;
            Ok(Num(ok.then_some(v as u64)))
        }
        fn visit_str<E>(self, v: &str) -> Result<Num, E> {
            Ok(Num(v.trim().parse().ok()))
        }
        fn visit_bool<E>(self, _: bool) -> Result<Num, E> {
            Ok(Num(None))
        }
        fn visit_unit<E>(self) -> Result<Num, E> {
            Ok(Num(None))
        }
        fn visit_none<E>(self) -> Result<Num, E> {
            Ok(Num(None))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Num, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Num(None))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Num, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Num(None))
        }
    }

    impl<'de> Deserialize<'de> for Num {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(NumVisitor)
        }
    }

    /// The names a [`Picked`] keeps (matched ASCII case-insensitively). At most four.
    pub(crate) trait Names {
        const NAMES: &'static [&'static str];
    }

    /// The string values of a few named keys of a JSON object (headers, query parameters,
    /// claims); every other key is skipped without being copied. An array of such objects (Ceph's
    /// `http_x_headers`) is merged. Any other value reads as empty.
    pub(crate) struct Picked<'a, N> {
        values: [Option<Cow<'a, str>>; 4],
        names: PhantomData<N>,
    }

    impl<N> Default for Picked<'_, N> {
        fn default() -> Self {
            Picked {
                values: [None, None, None, None],
                names: PhantomData,
            }
        }
    }

    impl<N> fmt::Debug for Picked<'_, N> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_list().entries(self.values.iter()).finish()
        }
    }

    impl<'a, N: Names> Picked<'a, N> {
        /// The non-empty value of the `i`-th name of `N::NAMES`.
        pub(crate) fn get(&self, i: usize) -> Option<&str> {
            self.values.get(i)?.as_deref().filter(|v| !v.is_empty())
        }

        /// Moves the `i`-th value out, owned.
        pub(crate) fn take(&mut self, i: usize) -> Option<String> {
            let v = self.values.get_mut(i)?.take()?;
            (!v.is_empty()).then(|| v.into_owned())
        }
    }

    /// A map key, borrowed when it has no escapes.
    struct Key<'a>(Cow<'a, str>);

    impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            match d.deserialize_str(TextVisitor)? {
                Text::Str(s) => Ok(Key(s)),
                _ => Ok(Key(Cow::Borrowed(""))),
            }
        }
    }

    struct PickedVisitor<N>(PhantomData<N>);

    impl<'de, N: Names> Visitor<'de> for PickedVisitor<N> {
        type Value = Picked<'de, N>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut picked = Picked::default();
            while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                let slot = N::NAMES
                    .iter()
                    .take(4)
                    .position(|name| name.eq_ignore_ascii_case(&key));
                match slot {
                    Some(i) => {
                        if let Text::Str(v) = map.next_value::<Text<'de>>()? {
                            picked.values[i] = Some(v);
                        }
                    }
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(picked)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut merged: Picked<'de, N> = Picked::default();
            while let Some(item) = seq.next_element::<Picked<'de, N>>()? {
                for (slot, value) in merged.values.iter_mut().zip(item.values) {
                    if value.is_some() {
                        *slot = value;
                    }
                }
            }
            Ok(merged)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok(Picked::default())
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Picked::default())
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Picked::default())
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Picked::default())
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Picked::default())
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(Picked::default())
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(Picked::default())
        }
    }

    impl<'de: 'a, 'a, N: Names> Deserialize<'de> for Picked<'a, N> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(PickedVisitor(PhantomData))
        }
    }

    /// RFC 3339 time (`2019-08-12T21:34:37.187817748Z`; a space instead of `T` is accepted) as
    /// UTC microseconds since the epoch. Sub-microsecond digits are truncated.
    pub(crate) fn parse_rfc3339_us(s: &str) -> Option<i64> {
        chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp_micros())
    }

    /// A serde_json error as a reason without its line (the caller reports the location):
    /// `not JSON: expected value at column 1` for syntax errors, the data error otherwise.
    pub(crate) fn json_error(e: &serde_json::Error) -> String {
        let text = e.to_string();
        let core = match text.rsplit_once(" at line ") {
            Some((core, _)) => core,
            None => &text,
        };
        match e.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                format!("not JSON: {core} at column {}", e.column())
            }
            _ => format!("{core} at column {}", e.column()),
        }
    }

    /// What a JSON value starting with `first` is, for messages.
    pub(crate) fn value_kind(first: Option<u8>) -> &'static str {
        match first {
            None => "nothing",
            Some(b'{') => "an object",
            Some(b'[') => "an array",
            Some(b'"') => "a string",
            Some(b't' | b'f') => "a boolean",
            Some(b'n') => "null",
            Some(b'-' | b'0'..=b'9') => "a number",
            Some(_) => "text that is not JSON",
        }
    }

    /// Strips what a JSON-array stream puts around one object on a line: a leading `[` or `,`, a
    /// trailing `,` or `]`. Returns the object text, or `None` when nothing else is on the line.
    pub(crate) fn strip_array_punctuation(line: &str) -> Option<&str> {
        let mut s = line.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\u{feff}');
        while let Some(rest) = s.strip_prefix(['[', ',']) {
            s = rest.trim_start();
        }
        while let Some(rest) = s.strip_suffix([']', ',']) {
            s = rest.trim_end();
        }
        (!s.is_empty()).then_some(s)
    }

    fn skip_ws(b: &[u8], mut i: usize) -> usize {
        while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\r' | b'\n') {
            i += 1;
        }
        i
    }

    /// The index just past the string starting at `b[i] == '"'`, or `None` when cut short.
    fn skip_string(b: &[u8], i: usize) -> Option<usize> {
        let mut j = i + 1;
        while j < b.len() {
            match b[j] {
                b'\\' => j += 2,
                b'"' => return Some(j + 1),
                _ => j += 1,
            }
        }
        None
    }

    /// The index just past the JSON value starting at `b[i]`, or `None` when cut short.
    fn skip_value(b: &[u8], i: usize) -> Option<usize> {
        match *b.get(i)? {
            b'"' => skip_string(b, i),
            b'{' | b'[' => {
                let mut depth = 0usize;
                let mut j = i;
                while j < b.len() {
                    match b[j] {
                        b'"' => {
                            j = skip_string(b, j)?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                return Some(j + 1);
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                None
            }
            _ => {
                let mut j = i;
                while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n') {
                    j += 1;
                }
                (j < b.len()).then_some(j)
            }
        }
    }

    /// The top-level keys of the JSON object that `text` starts with, as far as the text goes (a
    /// file head may be cut anywhere). Keys are raw (escapes are not decoded). Empty when the
    /// text does not start with `{`.
    pub(crate) fn top_level_keys(text: &str) -> Vec<&str> {
        let b = text.as_bytes();
        let mut keys = Vec::new();
        let mut i = skip_ws(b, 0);
        if b.get(i) != Some(&b'{') {
            return keys;
        }
        i += 1;
        loop {
            i = skip_ws(b, i);
            if b.get(i) != Some(&b'"') {
                return keys;
            }
            let Some(end) = skip_string(b, i) else {
                return keys;
            };
            keys.push(&text[i + 1..end - 1]);
            i = skip_ws(b, end);
            if b.get(i) != Some(&b':') {
                return keys;
            }
            i = skip_ws(b, i + 1);
            let Some(next) = skip_value(b, i) else {
                return keys;
            };
            i = skip_ws(b, next);
            if b.get(i) != Some(&b',') {
                return keys;
            }
            i += 1;
        }
    }

    /// The byte spans of the elements of the top-level `Records` array of a CloudTrail document
    /// already known to be valid JSON.
    ///
    /// # Errors
    /// `(line, reason)` when the document is not an object or has no `Records` array.
    pub(crate) fn record_spans(text: &str) -> Result<Vec<(usize, usize)>, (u64, String)> {
        let b = text.as_bytes();
        let line_at = |i: usize| 1 + memchr::memchr_iter(b'\n', &b[..i.min(b.len())]).count() as u64;
        let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
        let start = skip_ws(b, bom);
        if b.get(start) != Some(&b'{') {
            return Err((
                line_at(start),
                format!(
                    "expected a CloudTrail document {{\"Records\": [...]}}, found {}",
                    value_kind(b.get(start).copied())
                ),
            ));
        }
        let mut i = start + 1;
        loop {
            i = skip_ws(b, i);
            if b.get(i) != Some(&b'"') {
                break;
            }
            let key_end = skip_string(b, i).unwrap_or(b.len());
            let is_records = &b[i + 1..key_end.saturating_sub(1).max(i + 1)] == b"Records";
            i = skip_ws(b, key_end);
            i = skip_ws(b, i + 1); // the ':'
            if is_records {
                if b.get(i) != Some(&b'[') {
                    return Err((
                        line_at(i),
                        format!(
                            "field \"Records\": expected an array, found {}",
                            value_kind(b.get(i).copied())
                        ),
                    ));
                }
                let mut spans = Vec::new();
                let mut j = i + 1;
                loop {
                    j = skip_ws(b, j);
                    match b.get(j) {
                        Some(b']') | None => return Ok(spans),
                        Some(b',') => j += 1,
                        Some(_) => {
                            let end = skip_value(b, j).unwrap_or(b.len());
                            spans.push((j, end));
                            j = end;
                        }
                    }
                }
            }
            i = skip_value(b, i).unwrap_or(b.len());
            i = skip_ws(b, i);
            if b.get(i) == Some(&b',') {
                i += 1;
            }
        }
        Err((line_at(start), "missing field \"Records\"".to_owned()))
    }
}
