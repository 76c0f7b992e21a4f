//! Log parsers: each store's access-log format into [`AccessEvent`]s.
//!
//! # Layout
//! - [`s3`]: Amazon S3 server access logs (24-, 25-, 26- and 27-field lines, and later ones).
//! - [`minio`]: MinIO audit log JSON, one object per line.
//! - [`cloudtrail`]: CloudTrail S3 data events, `{"Records":[...]}` documents.
//! - [`ceph`]: Ceph RGW ops log JSON.
//! - [`ndjson`]: tierd's own export of normalised events, one JSON object per line.
//!
//! Line formats are parsed with [`parse_events`] (or [`parse_line`], one event a line); CloudTrail documents with
//! [`cloudtrail::parse_document`]. Parquet is read columnar by [`crate::frame`].
//! [`detect`] names the format from the first bytes of a file.

pub mod ceph;
pub mod cloudtrail;
pub(crate) mod json;
pub mod minio;
pub mod ndjson;
pub mod s3;

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use crate::event::AccessEvent;

/// A log format tierd reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    S3,
    Minio,
    Cloudtrail,
    Ceph,
    Ndjson,
    Parquet,
}

impl Format {
    pub const ALL: [Format; 6] = [
        Format::S3,
        Format::Minio,
        Format::Cloudtrail,
        Format::Ceph,
        Format::Ndjson,
        Format::Parquet,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::S3 => "s3",
            Format::Minio => "minio",
            Format::Cloudtrail => "cloudtrail",
            Format::Ceph => "ceph",
            Format::Ndjson => "ndjson",
            Format::Parquet => "parquet",
        }
    }

    /// Whether the format is read line by line with [`parse_line`].
    pub fn is_line_format(self) -> bool {
        matches!(
            self,
            Format::S3 | Format::Minio | Format::Ceph | Format::Ndjson
        )
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown log format {s:?}; expected auto or one of: {}",
                    Format::ALL.map(Format::as_str).join(", ")
                )
            })
    }
}

/// Lines of a file's head [`detect`] tries when the first line fits no format.
pub const DETECT_LINES: usize = 20;

/// Names the format of a log file from its first bytes (already decompressed).
///
/// Looks at the Parquet magic, then at the first non-blank line: a JSON document is told apart by
/// its keys, anything else is tried as an S3 server access log line. When the first line fits no
/// format (one malformed or truncated line, which reading the file then counts as a bad line),
/// the next [`DETECT_LINES`] lines of the head decide, the first that fits a line format naming
/// it. Returns `None` when nothing fits; the caller reports that with the file's name and
/// suggests `--format`.
pub fn detect(head: &[u8]) -> Option<Format> {
    if head.starts_with(b"PAR1") {
        return Some(Format::Parquet);
    }
    let text = String::from_utf8_lossy(head);
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    // Look at the whole head, not just the first line: pretty-printed JSON spans lines.
    if (trimmed.starts_with('{') || trimmed.starts_with('[')) && cloudtrail::looks_like(trimmed) {
        return Some(Format::Cloudtrail);
    }
    let mut lines = trimmed.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next()?;
    detect_line(first).or_else(|| lines.take(DETECT_LINES).find_map(detect_line))
}

/// The line format one line is a record of, if any.
fn detect_line(line: &str) -> Option<Format> {
    let line = line.trim_start_matches('\u{feff}').trim_start();
    if line.starts_with('{') || line.starts_with('[') {
        [
            (ndjson::looks_like as fn(&str) -> bool, Format::Ndjson),
            (minio::looks_like, Format::Minio),
            (ceph::looks_like, Format::Ceph),
        ]
        .into_iter()
        .find_map(|(fits, f)| fits(line).then_some(f))
    } else {
        s3::looks_like(line).then_some(Format::S3)
    }
}

/// Parses one line of a line format into its events, each an event or the reason it is not one:
/// none for a blank line, one for most, one per object for a MinIO or Ceph entry that lists
/// several (a batch delete, a lifecycle action), one per entry for a Ceph line holding several
/// entries. A line that is no record is one `Err`. Each event's `origin` is left for the caller.
pub fn parse_events(format: Format, line: &str) -> Vec<Result<AccessEvent, String>> {
    let all = |events: Vec<AccessEvent>| events.into_iter().map(Ok).collect();
    match format {
        Format::Minio => minio::parse_events(line).map_or_else(|e| vec![Err(e)], all),
        Format::Ceph => ceph::parse_entries(line).unwrap_or_else(|e| vec![Err(e)]),
        _ => parse_line(format, line).transpose().into_iter().collect(),
    }
}

/// Parses one line of a line format that carries at most one event (see [`parse_events`] for
/// lines that carry several). `Ok(None)` means the line carries no event and is skipped
/// silently (blank lines, JSON array brackets). The returned event's `origin` is left empty for
/// the caller to fill. An `Err` is the reason the line is malformed, without its location.
///
/// # Errors
/// A line that is not a valid record of `format`, a line of several events, or `format` is not
/// a line format.
pub fn parse_line(format: Format, line: &str) -> Result<Option<AccessEvent>, String> {
    match format {
        Format::S3 => s3::parse_line(line),
        Format::Minio => minio::parse_line(line),
        Format::Ceph => ceph::parse_line(line),
        Format::Ndjson => ndjson::parse_line(line),
        Format::Cloudtrail | Format::Parquet => Err(format!(
            "{format} is not a line format; read it as a whole document"
        )),
    }
}

/// What an error message says in place of a value that looks like a signed URL or a credential.
const NOT_SHOWN: &str = "a value that looks like a signed URL (not shown)";

/// Whether `s` holds what a presigned URL or an `Authorization` header carries: a signature, a
/// credential, an access key id, a security token.
fn looks_signed(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    [
        "signature=",
        "credential=",
        "awsaccesskeyid=",
        "security-token=",
    ]
    .iter()
    .any(|m| lower.contains(m))
}

/// Quotes a value for an error message (every parser's): at most 48 characters, and never a
/// presigned URL's or a credential's secrets.
pub(crate) fn shown(s: &str) -> String {
    if looks_signed(s) {
        return NOT_SHOWN.to_owned();
    }
    match s.char_indices().nth(48) {
        Some((cut, _)) => format!("{:?}...", &s[..cut]),
        None => format!("{s:?}"),
    }
}

/// A JSON parser's error text (`invalid type: string "...", expected ...`) without the value
/// it quotes when that looks like a signed URL or a credential; what was expected is kept.
pub(crate) fn redacted(message: &str) -> Cow<'_, str> {
    if !looks_signed(message) {
        return Cow::Borrowed(message);
    }
    match message.split_once(", expected ") {
        Some((found, expected)) if !looks_signed(expected) => {
            let kind = found.split_once(": ").map_or("invalid value", |(k, _)| k);
            Cow::Owned(format!("{kind}: {NOT_SHOWN}, expected {expected}"))
        }
        _ => Cow::Borrowed(NOT_SHOWN),
    }
}
