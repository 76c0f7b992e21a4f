//! tierd's own export format: one normalised [`AccessEvent`] per line, as JSON.
//!
//! `tierd ingest --out events.ndjson` writes it and every tierd command reads it back, so a
//! normalised trace can be kept, diffed, filtered with `jq` and replayed.
//!
//! ```json
//! {"time":"2026-11-01T10:00:00.123456Z","op":"get","operation":"REST.GET.OBJECT","bucket":"photos",
//!  "key":"2026/a.jpg","principal":"arn:aws:iam::1:user/alice","source_ip":"10.0.0.1","status":200,
//!  "error_code":null,"bytes_sent":1024,"bytes_received":null,"object_size":1024,
//!  "user_agent":"aws-cli/2","version_id":null,"request_id":"R1","sse_customer":false,
//!  "lifecycle":false,"config":null,"origin_file":"access.log","origin_line":1}
//! ```

use std::borrow::Cow;
use std::io::Write;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::{redacted, shown};
use crate::event::{AccessEvent, ConfigKind, OpClass, Origin};

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record<'a> {
    #[serde(borrow)]
    time: Cow<'a, str>,
    op: OpClass,
    #[serde(borrow)]
    operation: Cow<'a, str>,
    #[serde(borrow)]
    bucket: Cow<'a, str>,
    #[serde(borrow, default)]
    key: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    principal: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    source_ip: Option<Cow<'a, str>>,
    #[serde(default)]
    status: Option<u16>,
    #[serde(borrow, default)]
    error_code: Option<Cow<'a, str>>,
    #[serde(default)]
    bytes_sent: Option<u64>,
    #[serde(default)]
    bytes_received: Option<u64>,
    #[serde(default)]
    object_size: Option<u64>,
    #[serde(borrow, default)]
    user_agent: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    version_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    request_id: Option<Cow<'a, str>>,
    #[serde(default)]
    sse_customer: bool,
    #[serde(default)]
    lifecycle: bool,
    #[serde(default)]
    config: Option<ConfigKind>,
    #[serde(borrow, default)]
    origin_file: Option<Cow<'a, str>>,
    #[serde(default)]
    origin_line: Option<u64>,
}

/// Whether a line looks like one of tierd's own event records.
pub fn looks_like(line: &str) -> bool {
    let l = line.trim_start();
    l.starts_with('{')
        && l.contains("\"op\":")
        && l.contains("\"operation\":")
        && l.contains("\"bucket\":")
}

/// Parses one exported event. The event keeps the `origin_file`/`origin_line` it was exported
/// with (the caller overrides them only when they are missing).
///
/// # Errors
/// Not JSON, an unknown field, a missing required field (`time`, `op`, `operation`, `bucket`), a
/// `time` that is not RFC 3339, or an event [`AccessEvent::implausible`] rejects (a year 9999, a
/// size over 1 PiB).
pub fn parse_line(line: &str) -> Result<Option<AccessEvent>, String> {
    let line = line.trim();
    if line.is_empty() {
        return Ok(None);
    }
    let r: Record<'_> = serde_json::from_str(line)
        .map_err(|e| format!("not a tierd event: {}", redacted(&e.to_string())))?;
    let time = DateTime::parse_from_rfc3339(&r.time).map_err(|e| {
        format!(
            "field \"time\": expected RFC 3339 time, found {} ({e})",
            shown(&r.time)
        )
    })?;
    let s = |c: Option<Cow<'_, str>>| c.map(Cow::into_owned);
    let event = AccessEvent {
        time_us: time.timestamp_micros(),
        op: r.op,
        operation: r.operation.into_owned(),
        bucket: r.bucket.into_owned(),
        key: s(r.key),
        principal: s(r.principal),
        source_ip: s(r.source_ip),
        status: r.status,
        error_code: s(r.error_code),
        bytes_sent: r.bytes_sent,
        bytes_received: r.bytes_received,
        object_size: r.object_size,
        user_agent: s(r.user_agent),
        version_id: s(r.version_id),
        request_id: s(r.request_id),
        sse_customer: r.sse_customer,
        lifecycle: r.lifecycle,
        config: r.config,
        origin: Origin {
            file: r
                .origin_file
                .map(|f| Arc::from(f.as_ref()))
                .unwrap_or_default(),
            line: r.origin_line.unwrap_or(0),
        },
    };
    // Checked here, not by the reader: the event keeps its exported origin, and a bad line must
    // point at the line of this file, not at the log the event was first read from.
    match event.implausible() {
        Some(reason) => Err(reason),
        None => Ok(Some(event)),
    }
}

/// Formats µs since the epoch as RFC 3339 UTC with microseconds (`2026-11-01T10:00:00.123456Z`).
pub fn format_time_us(time_us: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(time_us)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Micros, true))
        .unwrap_or_else(|| format!("invalid-time({time_us})"))
}

/// Writes one event as one JSON line (with the trailing newline).
///
/// # Errors
/// Only the writer's I/O errors.
pub fn write_event<W: Write>(out: &mut W, e: &AccessEvent) -> std::io::Result<()> {
    fn b(s: &Option<String>) -> Option<Cow<'_, str>> {
        s.as_deref().map(Cow::Borrowed)
    }
    let r = Record {
        time: Cow::Owned(format_time_us(e.time_us)),
        op: e.op,
        operation: Cow::Borrowed(&e.operation),
        bucket: Cow::Borrowed(&e.bucket),
        key: b(&e.key),
        principal: b(&e.principal),
        source_ip: b(&e.source_ip),
        status: e.status,
        error_code: b(&e.error_code),
        bytes_sent: e.bytes_sent,
        bytes_received: e.bytes_received,
        object_size: e.object_size,
        user_agent: b(&e.user_agent),
        version_id: b(&e.version_id),
        request_id: b(&e.request_id),
        sse_customer: e.sse_customer,
        lifecycle: e.lifecycle,
        config: e.config,
        origin_file: Some(Cow::Borrowed(&e.origin.file)),
        origin_line: Some(e.origin.line),
    };
    serde_json::to_writer(&mut *out, &r).map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> AccessEvent {
        AccessEvent {
            time_us: 1_793_527_200_123_456,
            op: OpClass::ConfigChange,
            operation: "REST.PUT.LIFECYCLE".into(),
            bucket: "photos".into(),
            key: None,
            principal: Some("arn:aws:iam::1:user/alice".into()),
            source_ip: Some("10.0.0.1".into()),
            status: Some(200),
            bytes_sent: Some(0),
            config: Some(ConfigKind::Lifecycle),
            origin: Origin {
                file: Arc::from("a.log"),
                line: 7,
            },
            ..AccessEvent::default()
        }
    }

    #[test]
    fn an_exported_event_reads_back_identical() {
        let e = sample();
        let mut buf = Vec::new();
        write_event(&mut buf, &e).unwrap();
        let line = String::from_utf8(buf).unwrap();
        assert!(line.ends_with('\n'));
        assert!(looks_like(&line));
        assert_eq!(parse_line(&line).unwrap(), Some(e));
    }

    #[test]
    fn time_is_written_in_utc_with_microseconds() {
        assert_eq!(
            format_time_us(1_793_527_200_123_456),
            "2026-11-01T10:00:00.123456Z"
        );
    }

    #[test]
    fn an_unknown_field_is_an_error_naming_it() {
        let err = parse_line(
            r#"{"time":"2026-11-01T10:00:00Z","op":"get","operation":"x","bucket":"b","colour":1}"#,
        )
        .unwrap_err();
        assert!(
            err.starts_with("not a tierd event: unknown field `colour`"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_time_names_the_field_and_the_value() {
        let err = parse_line(r#"{"time":"yesterday","op":"get","operation":"x","bucket":"b"}"#)
            .unwrap_err();
        assert!(
            err.starts_with("field \"time\": expected RFC 3339 time, found \"yesterday\""),
            "{err}"
        );
    }

    #[test]
    fn an_implausible_event_is_this_lines_error_not_one_at_its_origin() {
        let line = |time: &str, size: &str| {
            format!(
                r#"{{"time":"{time}","op":"get","operation":"x","bucket":"b","object_size":{size},"origin_file":"/var/log/a.log","origin_line":812}}"#
            )
        };
        assert_eq!(
            parse_line(&line("9999-12-31T23:59:59Z", "1")),
            Err(
                "time 9999-12-31T23:59:59+00:00 is outside 2000-01-01 to 2100-01-01; a broken \
                 clock or a bad field"
                    .to_owned()
            )
        );
        assert_eq!(
            parse_line(&line("2026-11-01T10:00:00Z", "18446744073709551615")),
            Err(
                "object size 18446744073709551615 is more than 1 PiB, larger than any object a \
                 store holds"
                    .to_owned()
            )
        );
        let ok = parse_line(&line("2026-11-01T10:00:00Z", "1"))
            .unwrap()
            .unwrap();
        assert_eq!(
            (ok.origin.file.as_ref(), ok.origin.line),
            ("/var/log/a.log", 812)
        );
    }
}
