//! The normalised access event: one record of one request, whatever store wrote it.
//!
//! Every parser turns its format into [`AccessEvent`]; everything downstream (features, catalog,
//! simulate) reads only this type or its columnar form ([`crate::frame`]).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The class of an operation, the same across every log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[derive(Default)]
pub enum OpClass {
    /// Reads object data (GET, range GET, SELECT).
    Get,
    /// Writes a whole object (PUT, POST upload).
    Put,
    /// Reads metadata only (HEAD, GetObjectAttributes, tagging and ACL reads of an object).
    Head,
    /// Removes an object or a version, or creates a delete marker.
    Delete,
    /// The read side of a server-side copy (`REST.COPY.OBJECT_GET`): the key is the source.
    CopySource,
    /// The write side of a server-side copy: the key is the destination.
    CopyDest,
    /// Lists a bucket, its versions or its uploads.
    List,
    /// Any step of a multipart upload (create, part, complete, abort, list parts).
    Multipart,
    /// Changes a bucket's configuration (lifecycle, policy, versioning, object lock, ...).
    ConfigChange,
    /// Everything else (service listings, bucket reads of configuration, unknown operations).
    #[default]
    Other,
}

impl OpClass {
    /// Every class, in a stable order (used for summaries and feature columns).
    pub const ALL: [OpClass; 10] = [
        OpClass::Get,
        OpClass::Put,
        OpClass::Head,
        OpClass::Delete,
        OpClass::CopySource,
        OpClass::CopyDest,
        OpClass::List,
        OpClass::Multipart,
        OpClass::ConfigChange,
        OpClass::Other,
    ];

    /// The stable lower-case name used in every output (`copy-source`, `config-change`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            OpClass::Get => "get",
            OpClass::Put => "put",
            OpClass::Head => "head",
            OpClass::Delete => "delete",
            OpClass::CopySource => "copy-source",
            OpClass::CopyDest => "copy-dest",
            OpClass::List => "list",
            OpClass::Multipart => "multipart",
            OpClass::ConfigChange => "config-change",
            OpClass::Other => "other",
        }
    }
}

impl fmt::Display for OpClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OpClass {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OpClass::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown operation class {s:?}; expected one of: {}",
                    OpClass::ALL.map(OpClass::as_str).join(", ")
                )
            })
    }
}

/// Which part of a bucket's configuration a [`OpClass::ConfigChange`] event touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConfigKind {
    Lifecycle,
    BucketPolicy,
    Versioning,
    ObjectLock,
    Acl,
    Encryption,
    Replication,
    Logging,
    /// Bucket creation or deletion.
    Bucket,
    /// Any other configuration (CORS, tagging, website, notification, ...).
    Other,
}

impl ConfigKind {
    pub const ALL: [ConfigKind; 10] = [
        ConfigKind::Lifecycle,
        ConfigKind::BucketPolicy,
        ConfigKind::Versioning,
        ConfigKind::ObjectLock,
        ConfigKind::Acl,
        ConfigKind::Encryption,
        ConfigKind::Replication,
        ConfigKind::Logging,
        ConfigKind::Bucket,
        ConfigKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConfigKind::Lifecycle => "lifecycle",
            ConfigKind::BucketPolicy => "bucket-policy",
            ConfigKind::Versioning => "versioning",
            ConfigKind::ObjectLock => "object-lock",
            ConfigKind::Acl => "acl",
            ConfigKind::Encryption => "encryption",
            ConfigKind::Replication => "replication",
            ConfigKind::Logging => "logging",
            ConfigKind::Bucket => "bucket",
            ConfigKind::Other => "other",
        }
    }
}

impl fmt::Display for ConfigKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ConfigKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ConfigKind::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown configuration kind {s:?}; expected one of: {}",
                    ConfigKind::ALL.map(ConfigKind::as_str).join(", ")
                )
            })
    }
}

/// Where an event came from: the log file (or log object URL) and the 1-based line in it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    /// Shared between all events of one file, so it costs a pointer per event.
    pub file: Arc<str>,
    /// 1-based line number; 0 when the format has no lines (Parquet rows keep their source's line).
    pub line: u64,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One normalised log record.
///
/// Optional fields are `None` where the format does not carry them or wrote `-`.
/// No field ever holds a secret: parsers drop `Authorization` headers, signatures, presigned
/// query strings and secret keys; the principal is an ARN, a user name or an access key *id*.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccessEvent {
    /// Request time, UTC, microseconds since the Unix epoch.
    pub time_us: i64,
    /// The operation's class.
    pub op: OpClass,
    /// The operation as the store named it (`REST.GET.OBJECT`, `s3.GetObject`, `GetObject`, ...).
    pub operation: String,
    /// The bucket the request addressed (the source bucket for [`OpClass::CopySource`]).
    pub bucket: String,
    /// The object key, URL-decoded; `None` for bucket-level operations.
    pub key: Option<String>,
    /// Who made the request: an ARN, a user or an access key id. `None` for anonymous requests.
    pub principal: Option<String>,
    /// The client's IP address as the store saw it.
    pub source_ip: Option<String>,
    /// HTTP status of the response.
    pub status: Option<u16>,
    /// The store's error code (`NoSuchKey`, `AccessDenied`, ...).
    pub error_code: Option<String>,
    /// Response body bytes sent to the client.
    pub bytes_sent: Option<u64>,
    /// Request body bytes received from the client.
    pub bytes_received: Option<u64>,
    /// Size of the object the request addressed, when the log says it.
    pub object_size: Option<u64>,
    /// The client's user agent.
    pub user_agent: Option<String>,
    /// Object version id.
    pub version_id: Option<String>,
    /// The store's request id.
    pub request_id: Option<String>,
    /// The request used customer-provided encryption keys (SSE-C). Re-encryption attacks use it.
    pub sse_customer: bool,
    /// The store's lifecycle (not a principal) performed the operation (expire, transition).
    pub lifecycle: bool,
    /// For [`OpClass::ConfigChange`]: what part of the configuration changed.
    pub config: Option<ConfigKind>,
    /// Where this record was read.
    pub origin: Origin,
}

/// The earliest event time tierd reads (2000-01-01T00:00:00Z, microseconds since the epoch).
pub const EARLIEST_US: i64 = 946_684_800_000_000;
/// The end of the event times tierd reads (2100-01-01T00:00:00Z, exclusive).
pub const LATEST_US: i64 = 4_102_444_800_000_000;
/// The largest size a record may give (1 PiB): no object store holds a larger object.
pub const MAX_BYTES: u64 = 1 << 50;
/// The longest object key a record may give, in bytes of UTF-8: S3's limit, which MinIO and
/// Ceph RGW apply by default too.
pub const MAX_KEY_BYTES: usize = 1024;

impl AccessEvent {
    /// Why this record cannot describe a real request, if it cannot: a time outside
    /// [`EARLIEST_US`]..[`LATEST_US`] (a year 0001 or 9999 from a broken clock or a bad field,
    /// which would have a replay walk through millennia), a size over [`MAX_BYTES`] (which
    /// would overflow the sums of the features and the planner), or a key longer than
    /// [`MAX_KEY_BYTES`] (a large row in the access history, and a move that must fail). Readers
    /// count such a record as a bad line, like any malformed one.
    pub fn implausible(&self) -> Option<String> {
        if let Some(key) = self.key.as_deref().filter(|k| k.len() > MAX_KEY_BYTES) {
            return Some(format!(
                "a key of {} bytes, longer than the {MAX_KEY_BYTES} bytes an object key may have",
                key.len()
            ));
        }
        if !(EARLIEST_US..LATEST_US).contains(&self.time_us) {
            let at = chrono::DateTime::from_timestamp_micros(self.time_us)
                .map_or_else(|| format!("{} µs", self.time_us), |t| t.to_rfc3339());
            return Some(format!(
                "time {at} is outside 2000-01-01 to 2100-01-01; a broken clock or a bad field"
            ));
        }
        let sizes = [
            ("object size", self.object_size),
            ("bytes sent", self.bytes_sent),
            ("bytes received", self.bytes_received),
        ];
        sizes.into_iter().find_map(|(name, v)| {
            v.filter(|&v| v > MAX_BYTES).map(|v| {
                format!("{name} {v} is more than 1 PiB, larger than any object a store holds")
            })
        })
    }
}

/// The principal an ARN names, for behaviour: an assumed role's session
/// (`arn:aws:sts::123456789012:assumed-role/etl-role/i-0aaa1111`) is its role
/// (`arn:aws:sts::123456789012:assumed-role/etl-role`). Session names are per instance, task or
/// process (EC2 instance ids, Lambda and ECS task ids, `botocore-session-<epoch>`): kept, each
/// session would be a principal of its own with no history, and a role's behaviour would be
/// scattered over thousands of them. Anything else is returned as it is.
pub fn principal_name(raw: &str) -> &str {
    let Some((head, rest)) = raw.split_once(":assumed-role/") else {
        return raw;
    };
    if !head.starts_with("arn:") {
        return raw;
    }
    match rest.split_once('/') {
        Some((role, _session)) if !role.is_empty() => {
            &raw[..head.len() + ":assumed-role/".len() + role.len()]
        }
        _ => raw,
    }
}

/// Classifies bucket-configuration operations by the name S3's API gives them
/// (`PutBucketLifecycleConfiguration`, `PutBucketPolicy`, ...), case-insensitively and ignoring
/// `_`/`.`/`-`, so that S3 log names (`REST.PUT.LIFECYCLE`), CloudTrail names and MinIO names all
/// map through one table. Returns `None` when the operation is not a configuration write.
pub fn config_change_kind(operation: &str) -> Option<ConfigKind> {
    let norm: String = operation
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let norm = norm.strip_prefix("s3").unwrap_or(&norm);
    let norm = norm.strip_prefix("rest").unwrap_or(norm);
    // Writes only: put/delete of a configuration, or bucket create/delete.
    let body = if let Some(rest) = norm.strip_prefix("put") {
        rest
    } else if let Some(rest) = norm.strip_prefix("delete") {
        rest
    } else if norm == "createbucket" || norm == "makebucket" {
        return Some(ConfigKind::Bucket);
    } else {
        return None;
    };
    let body = body.strip_prefix("bucket").unwrap_or(body);
    let kind = match body {
        "" => ConfigKind::Bucket,
        b if b.starts_with("lifecycle") => ConfigKind::Lifecycle,
        b if b.starts_with("policy") => ConfigKind::BucketPolicy,
        b if b.starts_with("versioning") => ConfigKind::Versioning,
        // Bucket lock configuration, and per-object retention and legal holds (a ransomware
        // tell whichever store logged it).
        b if b.starts_with("objectlock")
            || b.starts_with("objectretention")
            || b.starts_with("objectlegalhold") =>
        {
            ConfigKind::ObjectLock
        }
        b if b.starts_with("acl") => ConfigKind::Acl,
        b if b.starts_with("encryption") => ConfigKind::Encryption,
        b if b.starts_with("replication") => ConfigKind::Replication,
        b if b.starts_with("logging") => ConfigKind::Logging,
        b if b.starts_with("cors")
            || b.starts_with("tagging")
            || b.starts_with("website")
            || b.starts_with("notification")
            || b.starts_with("publicaccessblock")
            || b.starts_with("ownershipcontrols")
            || b.starts_with("accelerate")
            || b.starts_with("requestpayment")
            || b.starts_with("intelligenttiering")
            || b.starts_with("inventory")
            || b.starts_with("metrics")
            || b.starts_with("analytics")
            || b.starts_with("quota") =>
        {
            ConfigKind::Other
        }
        _ => return None,
    };
    Some(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_assumed_roles_session_is_named_by_its_role_and_nothing_else_changes() {
        for (raw, name) in [
            (
                "arn:aws:sts::123456789012:assumed-role/etl-role/i-0aaa1111",
                "arn:aws:sts::123456789012:assumed-role/etl-role",
            ),
            (
                "arn:aws-cn:sts::1:assumed-role/r/alice@example.com",
                "arn:aws-cn:sts::1:assumed-role/r",
            ),
            // Already a role, a user, a key, a name: as they are.
            (
                "arn:aws:sts::1:assumed-role/etl-role",
                "arn:aws:sts::1:assumed-role/etl-role",
            ),
            ("arn:aws:iam::1:user/alice", "arn:aws:iam::1:user/alice"),
            ("AKIAEXAMPLE", "AKIAEXAMPLE"),
            ("x:assumed-role/a/b", "x:assumed-role/a/b"),
            (
                "arn:aws:sts::1:assumed-role//s",
                "arn:aws:sts::1:assumed-role//s",
            ),
        ] {
            assert_eq!(principal_name(raw), name, "{raw}");
        }
    }

    #[test]
    fn op_class_names_round_trip() {
        for c in OpClass::ALL {
            assert_eq!(c.as_str().parse::<OpClass>(), Ok(c));
        }
        assert!("fetch".parse::<OpClass>().is_err());
    }

    #[test]
    fn config_change_kind_maps_names_from_every_format() {
        assert_eq!(
            config_change_kind("REST.PUT.LIFECYCLE"),
            Some(ConfigKind::Lifecycle)
        );
        assert_eq!(
            config_change_kind("PutBucketLifecycleConfiguration"),
            Some(ConfigKind::Lifecycle)
        );
        assert_eq!(
            config_change_kind("REST.PUT.BUCKETPOLICY"),
            Some(ConfigKind::BucketPolicy)
        );
        assert_eq!(
            config_change_kind("s3.PutBucketPolicy"),
            Some(ConfigKind::BucketPolicy)
        );
        assert_eq!(
            config_change_kind("REST.PUT.VERSIONING"),
            Some(ConfigKind::Versioning)
        );
        assert_eq!(
            config_change_kind("PutObjectLockConfiguration"),
            Some(ConfigKind::ObjectLock)
        );
        assert_eq!(
            config_change_kind("REST.PUT.OBJECT_LOCK_CONFIGURATION"),
            Some(ConfigKind::ObjectLock)
        );
        assert_eq!(
            config_change_kind("REST.DELETE.BUCKET"),
            Some(ConfigKind::Bucket)
        );
        assert_eq!(
            config_change_kind("REST.PUT.OBJECT_LEGAL_HOLD"),
            Some(ConfigKind::ObjectLock)
        );
        assert_eq!(
            config_change_kind("PutObjectRetention"),
            Some(ConfigKind::ObjectLock)
        );
        assert_eq!(
            config_change_kind("PutObjectLegalHold"),
            Some(ConfigKind::ObjectLock)
        );
        assert_eq!(
            config_change_kind("REST.PUT.BUCKET"),
            Some(ConfigKind::Bucket)
        );
        assert_eq!(config_change_kind("REST.GET.LIFECYCLE"), None);
        assert_eq!(config_change_kind("REST.PUT.OBJECT"), None);
        assert_eq!(config_change_kind("PutObject"), None);
    }
}
