//! Ceph RGW ops log (`rgw_enable_ops_log`), as JSON written to `rgw_ops_log_file_path` (one entry
//! per line) or read from `rgw_ops_log_socket_path` (a JSON array stream: `[` then entries
//! separated by `,` and a newline).
//!
//! The entry is what `rgw_format_ops_log_entry` (`src/rgw/rgw_log.cc`) writes:
//! `bucket`, `object`, `time`, `time_local`, `remote_addr`, `object_owner`, `user`, `operation`,
//! `uri`, `http_status`, `error_code`, `bytes_sent`, `bytes_received`, `object_size`,
//! `total_time`, `user_agent`, `referrer`, `http_x_headers`, `trans_id`, `authentication_type`,
//! `access_key_id`, `subuser`, `temp_url`, ...
//!
//! | event field | ops log entry |
//! |---|---|
//! | `time_us` | `time`, UTC (`2023-01-10T10:05:12.345678Z`, or `2023-01-10 10:05:12.345678Z` before Reef); **required** |
//! | `operation` | `operation` as written (`get_obj`, `put_lifecycle`; an HTTP method in releases before Luminous); **required** |
//! | `op`, `config` | `operation` through [`classify_op`] (RGW's own op names, not S3's) |
//! | `bucket` | `bucket` (empty for `list_buckets`) |
//! | `key` | `object` (`-` means none); entries older than the `object` field take the key from the `uri` path; for a multi-object delete, each `op_data.objects[].key` |
//! | `principal` | `user` (the RGW user id; `anonymous` → `None`), else `access_key_id` |
//! | `source_ip` | `remote_addr` |
//! | `status` | `http_status` (a string of digits); for a multi-object delete, each object's `http_status` |
//! | `error_code` | `error_code` |
//! | `bytes_sent`, `bytes_received` | `bytes_sent`, `bytes_received` |
//! | `object_size` | `object_size` of a successful get, head, put or copy of an object (RGW writes 0 when it does not know, and a part's size for a part upload) |
//! | `user_agent` | `user_agent` |
//! | `version_id` | the `versionId` query parameter of `uri`; for a multi-object delete, each object's `version_id` |
//! | `request_id` | `trans_id` |
//! | `sse_customer` | `HTTP_X_AMZ_SERVER_SIDE_ENCRYPTION_CUSTOMER_ALGORITHM` in `http_x_headers` (only when `rgw_log_http_headers` lists it) |
//! | `lifecycle` | always `false`: RGW's lifecycle does not go through the ops log |
//!
//! **Multi-object deletes.** RGW writes a `multi_object_delete` with `"object":"-"` and the
//! deleted keys in `op_data: {num_ok, num_err, objects: [{key, version_id, http_status, error,
//! delete_marker, ...}]}`. Such an entry gives one event per key, as an S3 access log gives one
//! `BATCH.DELETE.OBJECT` record per key; the request's byte counts go with the first only.
//!
//! # Guarantees
//! The `uri` (which carries pre-signed query strings: `X-Amz-Signature`, `X-Amz-Credential`,
//! `X-Amz-Security-Token`) is read for its method, path, `uploadId` and `versionId` only and is
//! never stored.
//!
//! # Caveats
//! - RGW logs a HEAD as `get_obj`; the `uri`'s method tells it apart ([`OpClass::Head`]).
//! - RGW logs `UploadPart` and `UploadPartCopy` as `put_obj`; an `uploadId` in the `uri` makes
//!   them [`OpClass::Multipart`].
//! - Ceph releases before the fix of ceph/ceph PR #68881 write several entries on one line under
//!   load (`{...}{...}`). [`parse_line`] reports such a line as an error naming the count;
//!   [`parse_entries`] parses all of them.

use percent_encoding::percent_decode_str;

use crate::event::{AccessEvent, ConfigKind, OpClass};

use super::json::{
    ListedNames, Names, Num, Picked, Text, json_error, listed_objects, one_per_object,
    parse_rfc3339_us, strip_array_punctuation, top_level_keys, value_kind,
};
use super::shown;

/// Whether the first line of a file is a Ceph ops log entry (optionally after the `[` of a JSON
/// array stream): a JSON object with `bucket` and `time` at top level and one of `time_local`,
/// `remote_addr`, `http_status` or `trans_id` (all within the first 200 bytes of an entry), but
/// neither tierd's `op` nor MinIO's `api`.
pub fn looks_like(line: &str) -> bool {
    let Some(text) = strip_array_punctuation(line) else {
        return false;
    };
    let keys = top_level_keys(text);
    let has = |k: &str| keys.contains(&k);
    has("bucket")
        && has("time")
        && (has("time_local") || has("remote_addr") || has("http_status") || has("trans_id"))
        && !has("op")
        && !has("api")
}

/// Parses one ops log line. Blank lines and JSON-array punctuation (`[`, `]`, `,`) carry no
/// event; an object with a leading `[` or `,` and a trailing `,` or `]` is accepted.
///
/// # Errors
/// Not JSON, not an object, several entries on one line, a multi-object delete of more than one
/// key (one event each: read it with [`parse_entries`]), no `time` or `operation`, or a `time`
/// that is not RFC 3339.
pub fn parse_line(line: &str) -> Result<Option<AccessEvent>, String> {
    let Some(text) = strip_array_punctuation(line) else {
        return Ok(None);
    };
    if !text.starts_with('{') {
        return Err(format!(
            "expected a JSON object, found {}",
            value_kind(text.as_bytes().first().copied())
        ));
    }
    match serde_json::from_str::<RawEntry<'_>>(text) {
        Ok(raw) => {
            let mut events = raw.into_events()?;
            match events.len() {
                0 | 1 => Ok(events.pop()),
                n => Err(format!(
                    "a multi-object delete of {n} keys, one event each; read the line with \
                     ceph::parse_entries"
                )),
            }
        }
        Err(e) => {
            let count = count_objects(text);
            if count > 1 {
                Err(format!(
                    "{count} ops log entries on one line (Ceph wrote them without newlines); \
                     read the line with ceph::parse_entries"
                ))
            } else {
                Err(json_error(&e))
            }
        }
    }
}

/// Parses every entry on a line, including lines where Ceph concatenated several entries
/// (`{...}{...}`, see the module's caveats), into their events (one per key of a multi-object
/// delete). A blank or punctuation-only line gives an empty list.
///
/// # Errors
/// The outer error is a line that is not a sequence of JSON objects; an inner error is one entry
/// that is valid JSON but not a usable ops log entry.
pub fn parse_entries(line: &str) -> Result<Vec<Result<AccessEvent, String>>, String> {
    let Some(text) = strip_array_punctuation(line) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let stream = serde_json::Deserializer::from_str(text).into_iter::<RawEntry<'_>>();
    for raw in stream {
        let raw = raw.map_err(|e| json_error(&e))?;
        match raw.into_events() {
            Ok(events) => out.extend(events.into_iter().map(Ok)),
            Err(reason) => out.push(Err(reason)),
        }
    }
    Ok(out)
}

/// How many JSON values follow each other in `text` (0 when it does not start with one).
fn count_objects(text: &str) -> usize {
    serde_json::Deserializer::from_str(text)
        .into_iter::<serde::de::IgnoredAny>()
        .take_while(Result::is_ok)
        .count()
}

/// Classifies an RGW op name (`RGWOp::name()` in `src/rgw/rgw_op.h`) into an operation class and,
/// for configuration writes, the part of the configuration. `on_object` says whether the
/// request addressed an object (`put_acls` and `get_acls` serve buckets and objects alike).
///
/// Releases before Luminous logged the HTTP method instead of the op name; those are classified
/// from the method, the key and the `uri`'s sub-resource.
pub fn classify_op(op: &str, on_object: bool) -> (OpClass, Option<ConfigKind>) {
    use ConfigKind as K;
    use OpClass as C;
    let config = |k| (C::ConfigChange, Some(k));
    match op {
        "get_obj" => (C::Get, None),
        "stat_obj" | "get_obj_attrs" | "get_obj_tags" | "get_obj_retention"
        | "get_obj_legal_hold" => (C::Head, None),
        "get_acls" if on_object => (C::Head, None),
        "put_obj" | "post_obj" => (C::Put, None),
        "delete_obj" | "delete_multi_obj" | "multi_object_delete" | "bulk_delete" => {
            (C::Delete, None)
        }
        "copy_obj" => (C::CopyDest, None),
        "list_bucket" | "list_bucket_multiparts" => (C::List, None),
        "init_multipart" | "complete_multipart" | "abort_multipart" | "list_multipart" => {
            (C::Multipart, None)
        }
        "create_bucket" | "delete_bucket" => config(K::Bucket),
        "put_lifecycle" | "delete_lifecycle" => config(K::Lifecycle),
        "put_bucket_policy" | "set_bucket_policy" | "delete_bucket_policy" => {
            config(K::BucketPolicy)
        }
        "set_bucket_versioning" => config(K::Versioning),
        "put_bucket_object_lock" | "put_obj_lock" => config(K::ObjectLock),
        "put_acls" if !on_object => config(K::Acl),
        "put_bucket_encryption" | "delete_bucket_encryption" => config(K::Encryption),
        "put_bucket_replication" | "delete_bucket_replication" => config(K::Replication),
        "put_bucket_logging" | "delete_bucket_logging" => config(K::Logging),
        "put_cors"
        | "delete_cors"
        | "set_bucket_website"
        | "delete_bucket_website"
        | "put_bucket_tags"
        | "delete_bucket_tags"
        | "set_request_payment"
        | "put_bucket_public_access_block"
        | "delete_bucket_public_access_block"
        | "put_bucket_notification"
        | "delete_bucket_notification"
        | "put_bucket_metadata"
        | "config_bucket_meta_search"
        | "delete_bucket_meta_search" => config(K::Other),
        _ => (C::Other, None),
    }
}

/// Classifies an entry of a release that logged the HTTP method as `operation`, from the method,
/// whether a key was addressed, and the `uri`'s query (sub-resources such as `?lifecycle`).
fn classify_method(
    method: &str,
    on_object: bool,
    query: &str,
) -> Option<(OpClass, Option<ConfigKind>)> {
    use ConfigKind as K;
    use OpClass as C;
    let has = |p: &str| query_param(query, p).is_some();
    let subresource = || {
        [
            ("lifecycle", K::Lifecycle),
            ("policy", K::BucketPolicy),
            ("versioning", K::Versioning),
            ("object-lock", K::ObjectLock),
            ("acl", K::Acl),
            ("encryption", K::Encryption),
            ("replication", K::Replication),
            ("logging", K::Logging),
            ("cors", K::Other),
            ("tagging", K::Other),
            ("website", K::Other),
            ("notification", K::Other),
            ("requestPayment", K::Other),
        ]
        .into_iter()
        .find(|(p, _)| has(p))
        .map(|(_, k)| k)
    };
    Some(match (method, on_object) {
        ("GET", true) if has("uploadId") => (C::Multipart, None),
        ("GET", true) if has("acl") || has("tagging") || has("retention") || has("legal-hold") => {
            (C::Head, None)
        }
        ("GET", true) => (C::Get, None),
        ("GET", false) if has("uploads") => (C::List, None),
        ("GET", false) if subresource().is_some() => (C::Other, None),
        ("GET", false) => (C::List, None),
        ("HEAD", true) => (C::Head, None),
        ("HEAD", false) => (C::Other, None),
        ("PUT", true) if has("uploadId") => (C::Multipart, None),
        ("PUT", true) if has("acl") || has("tagging") || has("retention") || has("legal-hold") => {
            (C::Other, None)
        }
        ("PUT", true) => (C::Put, None),
        ("PUT", false) => (C::ConfigChange, Some(subresource().unwrap_or(K::Bucket))),
        ("POST", true) if has("uploads") || has("uploadId") => (C::Multipart, None),
        ("POST", true) => (C::Put, None),
        ("POST", false) if has("delete") => (C::Delete, None),
        ("POST", false) => (C::Put, None),
        ("DELETE", true) if has("uploadId") => (C::Multipart, None),
        ("DELETE", true) if has("tagging") => (C::Other, None),
        ("DELETE", true) => (C::Delete, None),
        ("DELETE", false) => (C::ConfigChange, Some(subresource().unwrap_or(K::Bucket))),
        _ => return None,
    })
}

#[derive(serde::Deserialize)]
#[serde(expecting = "a Ceph ops log entry (a JSON object)")]
struct RawEntry<'a> {
    #[serde(borrow, default)]
    bucket: Text<'a>,
    #[serde(borrow, default)]
    object: Text<'a>,
    #[serde(borrow, default)]
    time: Text<'a>,
    #[serde(borrow, default)]
    remote_addr: Text<'a>,
    #[serde(borrow, default)]
    user: Text<'a>,
    #[serde(borrow, default)]
    operation: Text<'a>,
    #[serde(borrow, default)]
    uri: Text<'a>,
    #[serde(default)]
    http_status: Num,
    #[serde(borrow, default)]
    error_code: Text<'a>,
    #[serde(default)]
    bytes_sent: Num,
    #[serde(default)]
    bytes_received: Num,
    #[serde(default)]
    object_size: Num,
    #[serde(borrow, default)]
    user_agent: Text<'a>,
    #[serde(borrow, default)]
    trans_id: Text<'a>,
    #[serde(borrow, default)]
    access_key_id: Text<'a>,
    #[serde(borrow, default)]
    http_x_headers: Picked<'a, XHeaderNames>,
    /// A multi-object delete's `{"objects": [...], ...}`, read by [`listed_objects`].
    #[serde(default)]
    op_data: serde_json::Value,
}

/// The fields of an element of `op_data.objects` (`rgw_format_ops_log_entry`'s
/// `delete_multi_obj_entry`).
const DELETED_NAMES: ListedNames = ListedNames {
    key: "key",
    version_id: "version_id",
    status: Some("http_status"),
};

struct XHeaderNames;
impl Names for XHeaderNames {
    const NAMES: &'static [&'static str] = &[
        "HTTP_X_AMZ_SERVER_SIDE_ENCRYPTION_CUSTOMER_ALGORITHM",
        "HTTP_X_AMZ_COPY_SOURCE_SERVER_SIDE_ENCRYPTION_CUSTOMER_ALGORITHM",
    ];
}

/// The parts of the `uri` tierd reads. RGW writes `METHOD REQUEST_URI HTTP/x.y` (Luminous and
/// later) or the bare request URI (before).
struct Uri<'u> {
    method: Option<&'u str>,
    path: &'u str,
    query: &'u str,
}

impl<'u> Uri<'u> {
    fn parse(uri: &'u str) -> Self {
        let mut rest = uri.trim();
        let mut method = None;
        if let Some((first, tail)) = rest.split_once(' ')
            && !first.is_empty()
            && first.bytes().all(|b| b.is_ascii_uppercase())
        {
            method = Some(first);
            rest = tail.trim_start();
        }
        if let Some((target, version)) = rest.rsplit_once(' ')
            && version.starts_with("HTTP/")
        {
            rest = target;
        }
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        Uri {
            method,
            path,
            query,
        }
    }

    /// The object key the path names, for entries without an `object` field: `/bucket/key`
    /// (path style) or `/key` (virtual-host style), percent-decoded.
    fn key(&self, bucket: &str) -> Option<String> {
        let name = bucket.rsplit(['/', ':']).next().unwrap_or(bucket);
        let path = self.path.strip_prefix('/').unwrap_or(self.path);
        let key = if name.is_empty() {
            path
        } else if path == name {
            ""
        } else {
            path.strip_prefix(name)
                .and_then(|p| p.strip_prefix('/'))
                .unwrap_or(path)
        };
        (!key.is_empty()).then(|| percent_decode_str(key).decode_utf8_lossy().into_owned())
    }
}

/// The value of query parameter `name` (present without a value gives `Some("")`).
fn query_param<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then_some(v)
    })
}

impl RawEntry<'_> {
    /// The entry's events: one per deleted key of a multi-object delete, else one.
    fn into_events(mut self) -> Result<Vec<AccessEvent>, String> {
        let op_data = std::mem::take(&mut self.op_data);
        let deleted = op_data
            .get("objects")
            .map(|list| listed_objects(list, &DELETED_NAMES))
            .unwrap_or_default();
        Ok(one_per_object(self.into_event()?, deleted))
    }

    fn into_event(self) -> Result<AccessEvent, String> {
        let time = self.time.required("time")?;
        let time_us = parse_rfc3339_us(time).ok_or_else(|| {
            format!(
                "field \"time\": expected RFC 3339 time, found {}",
                shown(time)
            )
        })?;
        let operation = self.operation.required("operation")?;
        if operation.is_empty() {
            return Err("missing field \"operation\"".to_owned());
        }
        let bucket = self.bucket.non_empty().unwrap_or_default();
        let uri = Uri::parse(self.uri.non_empty().unwrap_or_default());

        let key = match &self.object {
            Text::Str(o) if o.as_ref() == "-" || o.is_empty() => None,
            Text::Str(o) => Some(o.as_ref().to_owned()),
            _ => uri.key(bucket),
        };
        let on_object = key.is_some();
        let method = uri.method.unwrap_or(operation);
        let (mut op, config) = if operation.bytes().all(|b| b.is_ascii_uppercase()) {
            classify_method(operation, on_object, uri.query).unwrap_or((OpClass::Other, None))
        } else {
            classify_op(operation, on_object)
        };
        if op == OpClass::Get && method == "HEAD" {
            op = OpClass::Head;
        }
        if op == OpClass::Put && query_param(uri.query, "uploadId").is_some() {
            op = OpClass::Multipart;
        }

        let status = self.http_status.0.and_then(|s| u16::try_from(s).ok());
        let success = status.is_none_or(|s| (200..300).contains(&s));
        // RGW's `object_size` is the part's size for a part upload and 0 when it does not know.
        let sized = matches!(
            op,
            OpClass::Get | OpClass::Head | OpClass::Put | OpClass::CopyDest
        );
        let object_size = match self.object_size.0 {
            Some(0) if op != OpClass::Put => None,
            size if sized && on_object && success => size,
            _ => None,
        };
        let version_id = query_param(uri.query, "versionId")
            .filter(|v| !v.is_empty())
            .map(|v| percent_decode_str(v).decode_utf8_lossy().into_owned());
        let principal = match self.user.non_empty() {
            Some("anonymous") => None,
            Some(user) => Some(user.to_owned()),
            None => self.access_key_id.non_empty().map(str::to_owned),
        };
        let sse_customer =
            (0..XHeaderNames::NAMES.len()).any(|i| self.http_x_headers.get(i).is_some());

        Ok(AccessEvent {
            time_us,
            op,
            operation: operation.to_owned(),
            bucket: bucket.to_owned(),
            key,
            principal,
            source_ip: self.remote_addr.non_empty().map(str::to_owned),
            status,
            error_code: self.error_code.non_empty().map(str::to_owned),
            bytes_sent: self.bytes_sent.0,
            bytes_received: self.bytes_received.0,
            object_size,
            user_agent: self.user_agent.non_empty().map(str::to_owned),
            version_id,
            request_id: self.trans_id.non_empty().map(str::to_owned),
            sse_customer,
            lifecycle: false,
            config,
            origin: Default::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_gives_method_path_and_query_in_both_layouts() {
        let u = Uri::parse("GET /b/k%20x?versionId=1&X-Amz-Signature=s HTTP/1.1");
        assert_eq!(
            (u.method, u.path, u.query),
            (Some("GET"), "/b/k%20x", "versionId=1&X-Amz-Signature=s")
        );
        assert_eq!(u.key("b").as_deref(), Some("k x"));
        let old = Uri::parse("/b/dir/k");
        assert_eq!((old.method, old.path, old.query), (None, "/b/dir/k", ""));
        assert_eq!(old.key("tenant/b").as_deref(), Some("dir/k"));
        assert_eq!(Uri::parse("PUT /b?lifecycle HTTP/1.1").key("b"), None);
        assert_eq!(Uri::parse("GET /?prefix=a HTTP/1.1").key("b"), None);
        assert_eq!(
            Uri::parse("GET /k HTTP/1.1").key("b").as_deref(),
            Some("k"),
            "virtual-host style"
        );
    }

    #[test]
    fn query_param_finds_names_with_and_without_values() {
        assert_eq!(query_param("uploads&prefix=a", "uploads"), Some(""));
        assert_eq!(
            query_param("partNumber=1&uploadId=x", "uploadId"),
            Some("x")
        );
        assert_eq!(query_param("uploadIds=x", "uploadId"), None);
    }

    #[test]
    fn legacy_method_entries_are_classified_from_key_and_sub_resource() {
        assert_eq!(
            classify_method("GET", false, ""),
            Some((OpClass::List, None))
        );
        assert_eq!(classify_method("GET", true, ""), Some((OpClass::Get, None)));
        assert_eq!(
            classify_method("PUT", false, "lifecycle"),
            Some((OpClass::ConfigChange, Some(ConfigKind::Lifecycle)))
        );
        assert_eq!(
            classify_method("PUT", false, ""),
            Some((OpClass::ConfigChange, Some(ConfigKind::Bucket)))
        );
        assert_eq!(
            classify_method("POST", false, "delete"),
            Some((OpClass::Delete, None))
        );
        assert_eq!(
            classify_method("POST", true, "uploads"),
            Some((OpClass::Multipart, None))
        );
        assert_eq!(classify_method("PATCH", true, ""), None);
    }
}
