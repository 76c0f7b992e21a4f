//! Amazon S3 server access logs: one space-delimited record per line.
//!
//! The format is AWS's "Amazon S3 server access log format". Fields, in order (1-based, as the
//! error messages number them):
//!
//! | # | field | # | field |
//! |---|---|---|---|
//! | 1 | Bucket Owner | 15 | Turn-Around Time |
//! | 2 | Bucket | 16 | Referer (quoted) |
//! | 3 | Time, `[06/Feb/2019:00:00:38 +0000]` | 17 | User-Agent (quoted) |
//! | 4 | Remote IP | 18 | Version Id |
//! | 5 | Requester | 19 | Host Id |
//! | 6 | Request ID | 20 | Signature Version |
//! | 7 | Operation | 21 | Cipher Suite |
//! | 8 | Key (URL-encoded) | 22 | Authentication Type |
//! | 9 | Request-URI (quoted) | 23 | Host Header |
//! | 10 | HTTP status | 24 | TLS version |
//! | 11 | Error Code | 25 | Access Point ARN |
//! | 12 | Bytes Sent | 26 | ACL Required |
//! | 13 | Object Size | 27 | Source region |
//! | 14 | Total Time | | |
//!
//! # What is accepted
//! - Any line with at least 18 fields (through Version Id, the last field an event needs). That
//!   covers the 24-field records of 2019, the 25/26/27-field records written since, the shorter
//!   records of older log files (18 fields in the 2014 documentation), and any fields AWS appends
//!   later: fields after the 18th are not read.
//! - `-` in any field means "not known" (`None`), with one exception documented by AWS: Bytes Sent
//!   is `-` when zero bytes were sent, so it becomes `Some(0)`. A Requester of `Anonymous` (the
//!   oldest format's word for an unauthenticated request) is also `None`.
//! - Runs of spaces between fields, a trailing `\r` and a leading byte-order mark are tolerated.
//! - Fractional seconds in the time (`[06/Feb/2019:00:00:38.250 +0000]`) and any UTC offset
//!   (`+0100`, `-0530`) are accepted; the time is converted to UTC microseconds.
//! - A quoted field ends at a `"` that is followed by a space or the end of the line and is not
//!   preceded by a backslash, so user agents containing quotes survive.
//! - Unquoted variants written by some S3-compatible servers:
//!   - Request-URI: either `-` or exactly three tokens `METHOD PATH PROTOCOL`, where METHOD is
//!     upper-case letters and PROTOCOL starts with `HTTP/`.
//!   - Referer: one token (a URL has no spaces).
//!   - User-Agent: may contain spaces. Where it ends is found by counting from the right: the line
//!     must have 24 to 27 fields in all, and for exactly one of those counts the tokens that would
//!     be Signature Version (`SigV…` or `-`), Authentication Type (`AuthHeader`, `QueryString` or
//!     `-`) and TLS version (`TLS…` or `-`) must fit. A fit where one of the three is not `-` wins
//!     over fits made only of `-`. Anything else is rejected as ambiguous: quote the user agent.
//!     An unquoted user agent whose first token is `-` is taken to be `-` (no user agent), so
//!     records written with every field `-` need no counting.
//!
//! # Mapping to [`AccessEvent`]
//! - `operation` is the raw Operation; `op` is classified from it by [`classify`]; `lifecycle` is
//!   set for every `S3.*` operation (S3 itself acting: expiration, transitions, delete markers).
//! - `key` is the Key, percent-decoded (`%XX` only: `+` stays a `+`, as S3 encodes spaces as
//!   `%20`), once or twice as the request's path says (see `key_of`); the source key of a copy
//!   (`REST.COPY.OBJECT_GET`, `REST.COPY.PART_GET`), whose record's path names the destination,
//!   twice. A key whose decoded bytes are not UTF-8 is kept in its encoded form rather than
//!   altered, so two different keys never collapse into one.
//! - `principal` is the Requester (canonical user id or IAM ARN; an assumed role's session is
//!   its role: [`principal_name`]), `source_ip` the Remote IP.
//! - `bytes_received`: S3 logs do not carry it. For a successful (2xx) `REST.PUT.OBJECT`,
//!   `REST.POST.OBJECT` or `REST.PUT.PART` it is set from Object Size, the size of the body the
//!   client uploaded; otherwise `None`.
//! - `sse_customer` is always false (not in S3 logs). `origin` is left for the caller.
//!
//! # Guarantees
//! The Request-URI and the Referer, which can hold presigned query strings
//! (`X-Amz-Signature=`, `X-Amz-Credential=`, `Signature=`, `AWSAccessKeyId=`), are never copied into
//! the event, and error messages never quote a value that looks like one.
//!
//! # Speed
//! One pass over the bytes with `memchr`; no regex, no allocation other than the event's own
//! strings (and a small vector on the rare unquoted-user-agent path); the time is parsed by hand.

use memchr::memchr;

use super::shown;
use crate::event::{AccessEvent, ConfigKind, OpClass, config_change_kind, principal_name};

/// Field names, in order, as AWS documents them; `FIELD_NAMES[n - 1]` names field `n`.
pub const FIELD_NAMES: [&str; 27] = [
    "Bucket Owner",
    "Bucket",
    "Time",
    "Remote IP",
    "Requester",
    "Request ID",
    "Operation",
    "Key",
    "Request-URI",
    "HTTP status",
    "Error Code",
    "Bytes Sent",
    "Object Size",
    "Total Time",
    "Turn-Around Time",
    "Referer",
    "User-Agent",
    "Version Id",
    "Host Id",
    "Signature Version",
    "Cipher Suite",
    "Authentication Type",
    "Host Header",
    "TLS version",
    "Access Point ARN",
    "ACL Required",
    "Source region",
];

/// The fewest fields a record may have: everything up to Version Id.
pub const MIN_FIELDS: usize = 18;

/// Whether `line` is an S3 server access log record (used to detect the format of a file from its
/// first line): true when it parses as one.
pub fn looks_like(line: &str) -> bool {
    matches!(parse_line(line), Ok(Some(_)))
}

/// Parses one S3 server access log line.
///
/// # Errors
/// The reason the line is not a record, naming the field (`field 10 (HTTP status): expected a
/// number or "-", found "abc"`): a truncated line, unbalanced quotes or brackets, a time that does
/// not parse, a number that is not a number, an unquoted user agent that cannot be delimited.
/// The message has no location; the caller adds `file:line:`.
pub fn parse_line(line: &str) -> Result<Option<AccessEvent>, String> {
    let line = line.strip_prefix('\u{feff}').unwrap_or(line).trim_ascii();
    if line.is_empty() {
        return Ok(None);
    }
    let mut f = Fields { line, pos: 0, n: 0 };

    let _bucket_owner = f.plain()?;
    let bucket = f.plain()?;
    let time = f.bracketed()?;
    let time_us = parse_time(time).map_err(|e| field_err(3, &e))?;
    let remote_ip = f.plain()?;
    let requester = f.plain()?;
    let request_id = f.plain()?;
    let operation = f.plain()?;
    let key = f.plain()?;
    let uri_path = f.request_uri()?;
    let status = f.plain()?;
    let status = match number(10, status)? {
        None => None,
        Some(s) => Some(u16::try_from(s).map_err(|_| {
            field_err(
                10,
                &format!("expected an HTTP status code, found {}", shown(status)),
            )
        })?),
    };
    let error_code = f.plain()?;
    let bytes_sent = number(12, f.plain()?)?.unwrap_or(0);
    let object_size = number(13, f.plain()?)?;
    number(14, f.plain()?)?;
    number(15, f.plain()?)?;
    let _referer = f.quoted_or_plain()?;
    let (user_agent, version_id) = f.user_agent_and_version()?;

    let has_key = key != "-";
    let (op, lifecycle) = classify(operation, has_key);
    let config: Option<ConfigKind> = if op == OpClass::ConfigChange {
        config_change_kind(operation)
    } else {
        None
    };
    let success = matches!(status, Some(200..=299));
    let bytes_received = if success
        && matches!(
            operation,
            "REST.PUT.OBJECT" | "REST.POST.OBJECT" | "REST.PUT.PART"
        ) {
        object_size
    } else {
        None
    };

    Ok(Some(AccessEvent {
        time_us,
        op,
        operation: operation.to_owned(),
        bucket: bucket.to_owned(),
        key: has_key.then(|| match op {
            // The Request-URI of a copy names the destination, never the source.
            OpClass::CopySource => decode_key(&decode_key(key)),
            _ => key_of(key, uri_path, bucket),
        }),
        principal: (requester != "Anonymous")
            .then(|| opt(principal_name(requester)))
            .flatten(),
        source_ip: opt(remote_ip),
        status,
        error_code: opt(error_code),
        bytes_sent: Some(bytes_sent),
        bytes_received,
        object_size,
        user_agent: opt(user_agent),
        version_id: opt(version_id),
        request_id: opt(request_id),
        sse_customer: false,
        lifecycle,
        config,
        origin: Default::default(),
    }))
}

/// Classifies an S3 log operation; returns the class and whether S3's lifecycle (not a principal)
/// performed it. `has_key` tells object-level from bucket-level requests (`REST.GET.ACL` of a key
/// is a metadata read; of a bucket it is a configuration read).
///
/// - Get: `REST.GET.OBJECT`, `WEBSITE.GET.OBJECT`, `REST.GET.TORRENT`, `REST.SELECT.OBJECT` (S3
///   Select reads the object's bytes; CloudTrail's `SelectObjectContent` is a get too).
/// - Put: `REST.PUT.OBJECT`, `REST.POST.OBJECT` (browser POST upload).
/// - Head: `REST.HEAD.OBJECT`, `WEBSITE.HEAD.OBJECT`, and GET/HEAD of `OBJECT_*` sub-resources or
///   `ACL` on a key (tagging, retention, legal hold, attributes, ACL).
/// - Delete: `REST.DELETE.OBJECT`, `BATCH.DELETE.OBJECT` (S3 logs one per key of a multi-object
///   delete), `REST.POST.MULTI_OBJECT_DELETE` (the request itself, without a key),
///   `S3.EXPIRE.OBJECT` and `S3.CREATE.DELETEMARKER` (lifecycle).
/// - CopySource: `REST.COPY.OBJECT_GET`, `REST.COPY.PART_GET` (the key is the copy source).
/// - CopyDest: `REST.COPY.OBJECT` (the key is the destination).
/// - List: `REST.GET.BUCKET`, `REST.GET.BUCKETVERSIONS`, `REST.GET.UPLOADS`.
/// - Multipart: `REST.POST.UPLOADS`, `REST.PUT.PART`, `REST.COPY.PART`, `REST.POST.UPLOAD`,
///   `REST.DELETE.UPLOAD`, `REST.GET.UPLOAD`, and `S3.DELETE.UPLOAD` (lifecycle abort).
/// - ConfigChange: any operation [`config_change_kind`] names (`REST.PUT.LIFECYCLE`, ...).
/// - Other: everything else, including `S3.TRANSITION*.OBJECT` (lifecycle).
pub fn classify(operation: &str, has_key: bool) -> (OpClass, bool) {
    let class = match operation {
        "REST.GET.OBJECT" | "WEBSITE.GET.OBJECT" | "REST.GET.TORRENT" | "REST.SELECT.OBJECT" => {
            OpClass::Get
        }
        "REST.PUT.OBJECT" | "REST.POST.OBJECT" => OpClass::Put,
        "REST.HEAD.OBJECT" | "WEBSITE.HEAD.OBJECT" => OpClass::Head,
        "REST.DELETE.OBJECT" | "BATCH.DELETE.OBJECT" | "REST.POST.MULTI_OBJECT_DELETE" => {
            OpClass::Delete
        }
        "REST.COPY.OBJECT_GET" | "REST.COPY.PART_GET" => OpClass::CopySource,
        "REST.COPY.OBJECT" => OpClass::CopyDest,
        "REST.GET.BUCKET" | "REST.GET.BUCKETVERSIONS" | "REST.GET.UPLOADS" => OpClass::List,
        "REST.POST.UPLOADS" | "REST.PUT.PART" | "REST.COPY.PART" | "REST.POST.UPLOAD"
        | "REST.DELETE.UPLOAD" | "REST.GET.UPLOAD" => OpClass::Multipart,
        "S3.EXPIRE.OBJECT" | "S3.CREATE.DELETEMARKER" => return (OpClass::Delete, true),
        "S3.DELETE.UPLOAD" => return (OpClass::Multipart, true),
        _ if operation.starts_with("S3.") => return (OpClass::Other, true),
        _ => {
            let mut parts = operation.splitn(3, '.');
            let _interface = parts.next();
            let method = parts.next().unwrap_or("");
            let resource = parts.next().unwrap_or("");
            if has_key
                && matches!(method, "GET" | "HEAD")
                && (resource.starts_with("OBJECT_") || resource == "ACL")
            {
                OpClass::Head
            } else if config_change_kind(operation).is_some() {
                OpClass::ConfigChange
            } else {
                OpClass::Other
            }
        }
    };
    (class, false)
}

/// A cursor over the fields of one line. `n` counts the fields consumed so far.
struct Fields<'a> {
    line: &'a str,
    pos: usize,
    n: usize,
}

impl<'a> Fields<'a> {
    fn skip_spaces(&mut self) {
        let b = self.line.as_bytes();
        while self.pos < b.len() && b[self.pos] == b' ' {
            self.pos += 1;
        }
    }

    /// Skips spaces and fails as truncated when the line has ended.
    fn start(&mut self) -> Result<u8, String> {
        self.skip_spaces();
        match self.line.as_bytes().get(self.pos) {
            Some(&c) => Ok(c),
            None => Err(truncated(self.n)),
        }
    }

    /// The next space-delimited token, without counting it as a field.
    fn token(&mut self) -> Result<&'a str, String> {
        self.start()?;
        let b = self.line.as_bytes();
        let start = self.pos;
        let end = find_space(&b[start..]).map_or(b.len(), |i| start + i);
        self.pos = end;
        Ok(&self.line[start..end])
    }

    /// The next field, a plain token.
    fn plain(&mut self) -> Result<&'a str, String> {
        let t = self.token()?;
        self.n += 1;
        Ok(t)
    }

    /// The next field, quoted; the cursor is on its opening quote. Returns the text inside.
    fn quoted(&mut self) -> Result<&'a str, String> {
        let field = self.n + 1;
        let b = self.line.as_bytes();
        let start = self.pos + 1;
        let mut from = start;
        loop {
            let Some(i) = memchr(b'"', &b[from..]) else {
                return Err(field_err(field, "the opening quote has no closing quote"));
            };
            let q = from + i;
            let ends_field = q + 1 == b.len() || b[q + 1] == b' ';
            let escaped = q > start && b[q - 1] == b'\\';
            if ends_field && !escaped {
                self.pos = q + 1;
                self.n += 1;
                return Ok(&self.line[start..q]);
            }
            from = q + 1;
        }
    }

    /// The next field, quoted or a single unquoted token.
    fn quoted_or_plain(&mut self) -> Result<&'a str, String> {
        if self.start()? == b'"' {
            self.quoted()
        } else {
            self.plain()
        }
    }

    /// Field 3, `[...]`; returns the text inside the brackets.
    fn bracketed(&mut self) -> Result<&'a str, String> {
        let field = self.n + 1;
        if self.start()? != b'[' {
            let t = self.token()?;
            return Err(field_err(
                field,
                &format!(
                    "expected a time like [06/Feb/2019:00:00:38 +0000], found {}",
                    shown(t)
                ),
            ));
        }
        let b = self.line.as_bytes();
        let start = self.pos + 1;
        let Some(i) = memchr(b']', &b[start..]) else {
            return Err(field_err(
                field,
                "the opening bracket has no closing bracket",
            ));
        };
        let close = start + i;
        if close + 1 < b.len() && b[close + 1] != b' ' {
            return Err(field_err(
                field,
                "expected a space after the closing bracket",
            ));
        }
        self.pos = close + 1;
        self.n += 1;
        Ok(&self.line[start..close])
    }

    /// Field 9: quoted, `-`, or unquoted `METHOD PATH PROTOCOL`. Returns the path, without its
    /// query, to tell how the Key field was encoded ([`key_of`]); the field is never kept (its
    /// query can hold a presigned signature).
    fn request_uri(&mut self) -> Result<Option<&'a str>, String> {
        let path_of = |request: &'a str| {
            let path = request.split_ascii_whitespace().nth(1)?;
            Some(path.split_once('?').map_or(path, |(p, _)| p))
        };
        if self.start()? == b'"' {
            return Ok(path_of(self.quoted()?));
        }
        let method = self.plain()?;
        if method == "-" {
            return Ok(None);
        }
        let unquoted = || {
            field_err(
                9,
                "expected a quoted request like \"GET /bucket/key HTTP/1.1\" or \"-\"; an unquoted \
                 request must be exactly METHOD PATH PROTOCOL",
            )
        };
        if !method.bytes().all(|c| c.is_ascii_uppercase()) {
            return Err(unquoted());
        }
        let path = self.token().map_err(|_| unquoted())?;
        let protocol = self.token().map_err(|_| unquoted())?;
        if !protocol.starts_with("HTTP/") {
            return Err(unquoted());
        }
        Ok(Some(path.split_once('?').map_or(path, |(p, _)| p)))
    }

    /// Fields 17 and 18: the user agent and the version id.
    fn user_agent_and_version(&mut self) -> Result<(&'a str, &'a str), String> {
        if self.start()? == b'"' {
            let ua = self.quoted()?;
            let version = self.plain()?;
            return Ok((ua, version));
        }
        // Unquoted: take every remaining token and count from the right (see the module docs).
        let mut spans: Vec<(usize, usize)> = Vec::with_capacity(24);
        while self.start().is_ok() {
            let s = self.pos;
            let t = self.token()?;
            spans.push((s, s + t.len()));
        }
        let r = spans.len();
        if r < 2 {
            return Err(truncated(self.n + r));
        }
        let tok = |i: usize| &self.line[spans[i].0..spans[i].1];
        if tok(0) == "-" {
            // No user agent: nothing to delimit.
            self.n += 2;
            return Ok(("-", tok(1)));
        }
        let mut strong: Vec<usize> = Vec::new();
        let mut weak: Vec<usize> = Vec::new();
        for total in (24..=27).rev() {
            let tail = total - 17;
            if r <= tail {
                continue;
            }
            let j = r - tail; // index of Version Id; the user agent is tokens 0..j
            let (sig, auth, tls) = (tok(j + 2), tok(j + 4), tok(j + 6));
            let fits = (sig == "-" || sig.starts_with("SigV"))
                && matches!(auth, "-" | "AuthHeader" | "QueryString")
                && (tls == "-" || tls.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("tls")));
            if !fits {
                continue;
            }
            if sig != "-" || auth != "-" || tls != "-" {
                strong.push(j);
            } else {
                weak.push(j);
            }
        }
        let j = match (strong.as_slice(), weak.as_slice()) {
            ([j], _) | ([], [j]) => *j,
            ([], []) => {
                return Err(field_err(
                    17,
                    "unquoted user agent: cannot tell where it ends (a line with an unquoted user \
                     agent must have 24 to 27 fields, with Signature Version, Authentication Type \
                     and TLS version in their places); quote the user agent",
                ));
            }
            _ => {
                return Err(field_err(
                    17,
                    "unquoted user agent: ambiguous, more than one field count fits; quote the \
                     user agent",
                ));
            }
        };
        self.n += 2;
        Ok((&self.line[spans[0].0..spans[j - 1].1], tok(j)))
    }
}

/// The first space in `b`, eight bytes at a time (most fields are shorter than `memchr`'s set-up
/// pays for).
#[inline]
fn find_space(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const SPACES: u64 = 0x2020_2020_2020_2020;
    let mut chunks = b.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        // A byte of `x` is zero where `chunk` has a space; the lowest flagged byte is exact.
        let x = u64::from_le_bytes(word) ^ SPACES;
        let found = x.wrapping_sub(ONES) & !x & HIGHS;
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| c == b' ')
        .map(|i| at + i)
}

fn field_name(field: usize) -> &'static str {
    field
        .checked_sub(1)
        .and_then(|i| FIELD_NAMES.get(i))
        .copied()
        .unwrap_or("unnamed")
}

fn field_err(field: usize, msg: &str) -> String {
    format!("field {field} ({}): {msg}", field_name(field))
}

fn truncated(fields: usize) -> String {
    format!(
        "truncated record: the line ends after field {fields} ({}); an S3 server access log \
         record has at least {MIN_FIELDS} fields (through {})",
        field_name(fields),
        field_name(MIN_FIELDS)
    )
}

/// `None` for `-`.
fn opt(s: &str) -> Option<String> {
    (s != "-").then(|| s.to_owned())
}

/// A decimal number or `-` (`None`).
fn number(field: usize, s: &str) -> Result<Option<u64>, String> {
    if s == "-" {
        return Ok(None);
    }
    let err = || {
        let hint = if s.contains('"') {
            " (is a quote unbalanced earlier in the line?)"
        } else {
            ""
        };
        field_err(
            field,
            &format!("expected a number or \"-\", found {}{hint}", shown(s)),
        )
    };
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 20 {
        return Err(err());
    }
    let mut v: u64 = 0;
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return Err(err());
        }
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d)))
            .ok_or_else(err)?;
    }
    Ok(Some(v))
}

/// The object key of a Key field. AWS writes it URL-encoded, but for most operations twice
/// (`a%2520b` for `a b`) and for some once (`BATCH.DELETE.OBJECT`, `S3.EXPIRE.OBJECT`), and
/// other stores once: both decodings of `foo-%2525Y` are names an object could have. The
/// request's path, encoded once by the client, tells which: the key decoded once that it names
/// is the key; else the key decoded twice, if it names that; else (no path: a batch delete, a
/// lifecycle action) the key decoded once.
///
/// The source key of a copy (`REST.COPY.OBJECT_GET`, `REST.COPY.PART_GET`) is not read here:
/// AWS writes it encoded twice, and the record's path names the copy's destination, which can
/// never tell, so it is decoded twice.
fn key_of(field: &str, uri_path: Option<&str>, bucket: &str) -> String {
    let once = decode_key(field);
    if memchr(b'%', once.as_bytes()).is_none() {
        return once;
    }
    let Some(path) = uri_path else {
        return once;
    };
    let path = decode_key(path);
    // Path style (`/bucket/key`) or virtual-hosted style (`/key`).
    let names = |k: &str| {
        path.strip_suffix(k).is_some_and(|head| {
            head == "/" || head.strip_prefix('/').and_then(|b| b.strip_suffix('/')) == Some(bucket)
        })
    };
    if names(&once) {
        return once;
    }
    let twice = decode_key(&once);
    if names(&twice) { twice } else { once }
}

/// Percent-decodes a key (`%XX` only; `+` stays `+`). Keeps the encoded text when the decoded
/// bytes are not UTF-8.
fn decode_key(key: &str) -> String {
    if memchr(b'%', key.as_bytes()).is_none() {
        return key.to_owned();
    }
    let b = key.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(p) = memchr(b'%', &b[i..]) {
        let p = i + p;
        out.extend_from_slice(&b[i..p]);
        match (
            b.get(p + 1).and_then(|&h| hex(h)),
            b.get(p + 2).and_then(|&l| hex(l)),
        ) {
            (Some(hi), Some(lo)) => {
                out.push(hi << 4 | lo);
                i = p + 3;
            }
            _ => {
                out.push(b'%');
                i = p + 1;
            }
        }
    }
    out.extend_from_slice(&b[i..]);
    String::from_utf8(out).unwrap_or_else(|_| key.to_owned())
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

const MONTHS: [&[u8; 3]; 12] = [
    b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec",
];

/// Parses `06/Feb/2019:00:00:38 +0000` (optionally `:38.123456`) into UTC microseconds.
fn parse_time(s: &str) -> Result<i64, String> {
    let bad = || {
        format!(
            "expected a time like [06/Feb/2019:00:00:38 +0000], found {}",
            shown(&format!("[{s}]"))
        )
    };
    let b = s.as_bytes();
    if b.len() < 26
        || b[2] != b'/'
        || b[6] != b'/'
        || b[11] != b':'
        || b[14] != b':'
        || b[17] != b':'
    {
        return Err(bad());
    }
    let digits = |from: usize, len: usize| -> Option<i64> {
        let mut v = 0i64;
        for &c in b.get(from..from + len)? {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            v = v * 10 + i64::from(d);
        }
        Some(v)
    };
    let (Some(day), Some(year), Some(hour), Some(min), Some(sec)) = (
        digits(0, 2),
        digits(7, 4),
        digits(12, 2),
        digits(15, 2),
        digits(18, 2),
    ) else {
        return Err(bad());
    };
    let mon = [b[3] | 0x20, b[4] | 0x20, b[5] | 0x20];
    let Some(month) = MONTHS.iter().position(|m| **m == mon) else {
        return Err(bad());
    };
    let month = month as i64 + 1;
    // Optional fraction of a second, kept to the microsecond.
    let mut i = 20;
    let mut frac_us = 0i64;
    if b[i] == b'.' {
        i += 1;
        let first = i;
        let mut scale = 100_000i64;
        while i < b.len() && b[i].is_ascii_digit() {
            frac_us += i64::from(b[i] - b'0') * scale;
            scale /= 10;
            i += 1;
        }
        if i == first {
            return Err(bad());
        }
    }
    if b.len() != i + 6 || b[i] != b' ' {
        return Err(bad());
    }
    let sign = match b[i + 1] {
        b'+' => 1,
        b'-' => -1,
        _ => return Err(bad()),
    };
    let (Some(off_h), Some(off_m)) = (digits(i + 2, 2), digits(i + 4, 2)) else {
        return Err(bad());
    };
    if day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || min > 59
        || sec > 60
        || off_h > 23
        || off_m > 59
    {
        return Err(bad());
    }
    let offset = sign * (off_h * 3600 + off_m * 60);
    let secs = days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec - offset;
    Ok(secs * 1_000_000 + frac_us)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone, Utc};

    #[test]
    fn days_from_civil_agrees_with_chrono_over_four_centuries() {
        let mut date = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();
        let end = NaiveDate::from_ymd_opt(2300, 12, 31).unwrap();
        while date <= end {
            use chrono::Datelike;
            let expected = (date - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days();
            assert_eq!(
                days_from_civil(
                    i64::from(date.year()),
                    i64::from(date.month()),
                    i64::from(date.day())
                ),
                expected,
                "{date}"
            );
            date = date.succ_opt().unwrap();
        }
    }

    #[test]
    fn the_documented_time_is_2019_02_06_utc() {
        let expected = Utc
            .with_ymd_and_hms(2019, 2, 6, 0, 0, 38)
            .unwrap()
            .timestamp_micros();
        assert_eq!(parse_time("06/Feb/2019:00:00:38 +0000"), Ok(expected));
    }

    #[test]
    fn an_offset_is_subtracted_to_reach_utc() {
        let utc = Utc
            .with_ymd_and_hms(2024, 2, 29, 23, 30, 0)
            .unwrap()
            .timestamp_micros();
        assert_eq!(parse_time("01/Mar/2024:01:00:00 +0130"), Ok(utc));
        assert_eq!(parse_time("29/Feb/2024:18:00:00 -0530"), Ok(utc));
    }

    #[test]
    fn fractional_seconds_are_kept_to_the_microsecond() {
        let base = Utc
            .with_ymd_and_hms(2019, 2, 6, 0, 0, 38)
            .unwrap()
            .timestamp_micros();
        assert_eq!(
            parse_time("06/Feb/2019:00:00:38.25 +0000"),
            Ok(base + 250_000)
        );
        assert_eq!(
            parse_time("06/Feb/2019:00:00:38.1234567 +0000"),
            Ok(base + 123_456)
        );
    }

    #[test]
    fn month_names_are_read_in_any_case() {
        assert_eq!(
            parse_time("06/FEB/2019:00:00:38 +0000"),
            parse_time("06/feb/2019:00:00:38 +0000")
        );
        assert!(parse_time("06/Feb/2019:00:00:38 +0000").is_ok());
    }

    #[test]
    fn impossible_times_are_rejected() {
        for bad in [
            "29/Feb/2019:00:00:38 +0000",
            "31/Apr/2019:00:00:38 +0000",
            "00/Feb/2019:00:00:38 +0000",
            "06/Fev/2019:00:00:38 +0000",
            "06/Feb/2019:24:00:38 +0000",
            "06/Feb/2019:00:60:38 +0000",
            "06/Feb/2019:00:00:38 0000",
            "06/Feb/2019:00:00:38 +00",
            "06/Feb/2019:00:00:38. +0000",
            "06/Feb/2019 00:00:38 +0000",
            "2019-02-06T00:00:38Z",
            "",
        ] {
            assert!(parse_time(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn numbers_reject_overflow_and_signs() {
        assert_eq!(number(12, "18446744073709551615"), Ok(Some(u64::MAX)));
        assert!(number(12, "18446744073709551616").is_err());
        assert!(number(12, "-1").is_err());
        assert!(number(12, "+1").is_err());
        assert!(number(12, "").is_err());
        assert_eq!(number(12, "-"), Ok(None));
    }

    #[test]
    fn keys_decode_percent_escapes_but_not_plus() {
        assert_eq!(decode_key("a%20b+c%2Bd"), "a b+c+d");
        assert_eq!(decode_key("caf%C3%A9"), "café");
        assert_eq!(decode_key("100%"), "100%");
        assert_eq!(decode_key("bad%FF"), "bad%FF");
    }

    #[test]
    fn a_key_written_encoded_twice_is_decoded_twice_as_its_request_path_says() {
        // AWS, REST.GET.OBJECT: the Key field encoded twice, the path once.
        let get = |key: &str, uri: &str| {
            let line = format!(
                "o b [06/Feb/2019:00:00:38 +0000] 192.0.2.3 r 3E57 REST.GET.OBJECT {key} \"{uri}\" 200 - 10 10 7 - \"-\" \"ua\" -"
            );
            parse_line(&line).unwrap().unwrap().key.unwrap()
        };
        assert_eq!(
            get("a%2520b%2520c.txt", "GET /b/a%20b%20c.txt HTTP/1.1"),
            "a b c.txt"
        );
        assert_eq!(
            get("caf%25C3%25A9/x.txt", "GET /caf%C3%A9/x.txt?x=1 HTTP/1.1"),
            "café/x.txt"
        );
        // A key holding `%25` itself: once encoded twice (`foo-%252525Y`), once encoded once.
        assert_eq!(
            get("foo-%252525Y", "GET /b/foo-%2525Y HTTP/1.1"),
            "foo-%25Y"
        );
        assert_eq!(get("foo-%2525Y", "GET /b/foo-%2525Y HTTP/1.1"), "foo-%25Y");
        // Encoded once (other stores), and a literal `%25` in the key: decoded once.
        assert_eq!(get("a%20b", "GET /b/a%20b HTTP/1.1"), "a b");
        assert_eq!(get("100%2525", "GET /b/100%2525 HTTP/1.1"), "100%25");
        // No path to tell by (a batch delete's key, a lifecycle expiry): once, as AWS writes them.
        let line = "o b [06/Feb/2019:00:00:38 +0000] 192.0.2.3 r 3E57 BATCH.DELETE.OBJECT foo-%2525Y \"POST /b?delete HTTP/1.1\" 204 - - - 7 - \"-\" \"ua\" -";
        assert_eq!(parse_line(line).unwrap().unwrap().key.unwrap(), "foo-%25Y");
    }

    #[test]
    fn error_values_that_look_signed_are_not_shown() {
        assert!(!shown("x?X-Amz-Signature=abc").contains("abc"));
        assert!(!shown("?AWSAccessKeyId=AKIAX&Signature=zz").contains("AKIAX"));
        assert_eq!(shown("abc"), "\"abc\"");
        assert!(shown(&"x".repeat(100)).ends_with("..."));
    }

    #[test]
    fn every_field_number_has_a_name() {
        assert_eq!(field_name(10), "HTTP status");
        assert_eq!(field_name(27), "Source region");
        assert_eq!(field_name(0), "unnamed");
        assert_eq!(field_name(28), "unnamed");
    }
}
