//! S3 server access-log records, written the way a store's log delivery writes them: one
//! space-delimited record per request, 27 fields (see `models/src/parse/s3.rs` for the field
//! list), delivered as log objects named `PREFIX + YYYY-mm-DD-HH-MM-SS-UNIQUE`.
//!
//! moto's own access logs are placeholders, so the end-to-end tests write the records of the
//! requests their real S3 client made (same keys, sizes, times, status) with this module.

use std::fmt::Write as _;

/// One request, as an access-log record holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Request time, µs since the epoch (UTC).
    pub time_us: i64,
    pub bucket: String,
    /// The client's address.
    pub remote_ip: String,
    /// The IAM principal (ARN) that signed the request.
    pub requester: String,
    pub request_id: String,
    /// `REST.PUT.OBJECT`, `REST.GET.OBJECT`, `REST.HEAD.OBJECT`, `REST.DELETE.OBJECT`,
    /// `REST.GET.BUCKET`, `REST.PUT.LIFECYCLE`, ...
    pub operation: String,
    pub key: Option<String>,
    /// `GET`, `PUT`, `HEAD`, `DELETE`, `POST`.
    pub method: String,
    pub status: u16,
    pub error_code: Option<String>,
    pub bytes_sent: u64,
    pub object_size: Option<u64>,
    /// Total request time, ms.
    pub total_ms: u64,
    pub user_agent: String,
}

/// The operation name an S3 log uses for an HTTP method on an object.
pub fn object_operation(method: &str) -> &'static str {
    match method {
        "GET" => "REST.GET.OBJECT",
        "PUT" => "REST.PUT.OBJECT",
        "HEAD" => "REST.HEAD.OBJECT",
        "DELETE" => "REST.DELETE.OBJECT",
        "POST" => "REST.POST.OBJECT",
        _ => "REST.OTHER.OBJECT",
    }
}

/// Percent-encodes a key as S3 logs do (everything but unreserved characters and `/`).
pub fn encode_key(key: &str) -> String {
    let mut s = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            s.push(char::from(b));
        } else {
            let _ = write!(s, "%{b:02X}");
        }
    }
    s
}

/// (year, month, day) of a day number (days since 1970-01-01).
pub fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `(y, m, d, H, M, S)` of a time in µs.
fn parts(time_us: i64) -> (i64, u32, u32, i64, i64, i64) {
    let secs = time_us.div_euclid(1_000_000);
    let (y, m, d) = civil(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    (y, m, d, sod / 3600, sod / 60 % 60, sod % 60)
}

/// The log's time field: `[06/Feb/2019:00:00:38 +0000]`.
pub fn log_time(time_us: i64) -> String {
    let (y, m, d, hh, mm, ss) = parts(time_us);
    format!(
        "[{d:02}/{}/{y}:{hh:02}:{mm:02}:{ss:02} +0000]",
        MONTHS[(m - 1) as usize]
    )
}

/// The name S3 gives a log object delivered at `time_us`: `PREFIX + YYYY-mm-DD-HH-MM-SS-UNIQUE`.
pub fn object_name(prefix: &str, time_us: i64, unique: u64) -> String {
    let (y, m, d, hh, mm, ss) = parts(time_us);
    format!("{prefix}{y}-{m:02}-{d:02}-{hh:02}-{mm:02}-{ss:02}-{unique:016X}")
}

impl Record {
    /// A successful request on an object (`method` on `key` of `size` bytes; a GET sends them)
    /// by an application on 10.0.0.10 with the Java SDK, its request id the time. Other
    /// fields: struct update syntax.
    pub fn object(
        time_us: i64,
        bucket: &str,
        requester: &str,
        method: &str,
        key: &str,
        size: u64,
    ) -> Record {
        Record {
            time_us,
            bucket: bucket.into(),
            remote_ip: "10.0.0.10".into(),
            requester: requester.into(),
            request_id: format!("{time_us:016X}"),
            operation: object_operation(method).into(),
            key: Some(key.into()),
            method: method.into(),
            status: 200,
            error_code: None,
            bytes_sent: if method == "GET" { size } else { 0 },
            object_size: Some(size),
            total_ms: 20,
            user_agent: "aws-sdk-java/2.25.0".into(),
        }
    }

    /// The record as one log line (no newline).
    pub fn line(&self) -> String {
        let dash = |o: Option<&str>| o.map_or_else(|| "-".to_string(), str::to_string);
        let key = self.key.as_deref().map(encode_key);
        let uri = format!(
            "/{}{}",
            self.bucket,
            key.as_deref().map_or_else(String::new, |k| format!("/{k}"))
        );
        let bytes_sent = if self.bytes_sent == 0 {
            "-".to_string()
        } else {
            self.bytes_sent.to_string()
        };
        format!(
            "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be {bucket} {time} {ip} {who} {rid} {op} {key} \"{method} {uri} HTTP/1.1\" {status} {err} {sent} {size} {total} {tat} \"-\" \"{ua}\" - {host_id}= SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader {bucket}.s3.us-east-1.amazonaws.com TLSv1.2 - - us-east-1",
            bucket = self.bucket,
            time = log_time(self.time_us),
            ip = self.remote_ip,
            who = self.requester,
            rid = self.request_id,
            op = self.operation,
            key = dash(key.as_deref()),
            method = self.method,
            status = self.status,
            err = dash(self.error_code.as_deref()),
            sent = bytes_sent,
            size = self
                .object_size
                .map_or_else(|| "-".to_string(), |s| s.to_string()),
            total = self.total_ms,
            tat = self.total_ms.min(10),
            ua = self.user_agent.replace('"', "\\\""),
            host_id = self.request_id,
        )
    }
}

/// Records as the body of one log object (one line each, newline-terminated).
pub fn body(records: &[Record]) -> Vec<u8> {
    let mut s = String::new();
    for r in records {
        s.push_str(&r.line());
        s.push('\n');
    }
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_parses_back_into_the_same_event() {
        let r = Record {
            time_us: 1_793_694_087_000_000,
            bucket: "photos".into(),
            remote_ip: "192.0.2.10".into(),
            requester: "arn:aws:iam::123456789012:user/alice".into(),
            request_id: "C29B62179273C8EB".into(),
            operation: "REST.PUT.OBJECT".into(),
            key: Some("2026/a b.jpg".into()),
            method: "PUT".into(),
            status: 200,
            error_code: None,
            bytes_sent: 0,
            object_size: Some(5_800),
            total_ms: 25,
            user_agent: "Boto3/1.44.8 md/Botocore#1.40".into(),
        };
        let line = r.line();
        let Ok(Some(e)) = models::parse::s3::parse_line(&line) else {
            panic!("the record does not parse: {line}");
        };
        assert_eq!(e.time_us, r.time_us);
        assert_eq!(e.bucket, "photos");
        assert_eq!(e.key.as_deref(), Some("2026/a b.jpg"));
        assert_eq!(e.op, models::OpClass::Put);
        assert_eq!(e.object_size, Some(5_800));
        assert_eq!(e.bytes_received, Some(5_800));
        assert_eq!(e.bytes_sent, Some(0));
        assert_eq!(e.status, Some(200));
        assert_eq!(e.source_ip.as_deref(), Some("192.0.2.10"));
        assert_eq!(
            e.user_agent.as_deref(),
            Some("Boto3/1.44.8 md/Botocore#1.40")
        );
        assert_eq!(log_time(r.time_us), "[03/Nov/2026:08:21:27 +0000]");
        assert_eq!(
            object_name("logs/", r.time_us, 0xAB),
            "logs/2026-11-03-08-21-27-00000000000000AB"
        );
    }
}
